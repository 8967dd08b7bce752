// A thread that frames a visitor's images (www/own-data/frame.js): batches of image files' bytes
// in, their 28×28 images out, while the page's own thread reads the next files
// (www/own-data/process.js). A batch that fails answers with the error's message.
//
//   in   FrameBatch                      (frame.js)
//   out  FramedBatch, or { id, error }

import { frameBatch } from './frame.js';

const surface = new OffscreenCanvas(1, 1);

self.onmessage = async ({ data }) => {
  /** @type {import('./frame.js').FrameBatch} */
  const batch = data;
  try {
    const framed = await frameBatch(batch, surface);
    self.postMessage(framed, { transfer: [framed.pixels.buffer, framed.inverted.buffer] });
  } catch (error) {
    self.postMessage({ id: batch.id, error: error instanceof Error ? error.message : String(error) });
  }
};
