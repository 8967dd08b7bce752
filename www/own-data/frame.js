// One image's bytes made 28×28 grey the chosen way, or why not: decoded (small PNGs by
// www/own-data/png.js, anything else by the browser's createImageBitmap), then framed
//
//   "like MNIST" ('digit')   www/explorer/preprocess.js, as the explorer's upload: ink found and
//                            cropped, scaled to 20×20, centred by its centre of mass, inverted
//                            when its background is light. For digits, letters, symbols.
//   "whole image" ('whole')  www/own-data/whole-image.js: fitted and padded, inverted the same way.
//                            For photos and icons.
//
// No DOM: it runs in www/own-data/frame-worker.js, beside the page's thread that reads the files.

import { BlankImageError, preprocessGrey, rgbaToGrey } from '../explorer/preprocess.js';
import { decodePng } from './png.js';
import { fitWhole } from './whole-image.js';

/** Largest image decoded, in pixels on a side (as the explorer's upload). */
export const MAX_SIDE = 8192;
/** Longest side an image is drawn at before it is made 28×28: more adds time, not information. */
const WORK_SIDE = 256;
const PIXELS = 784;

/** @typedef {'digit' | 'whole'} Framing */
/** @typedef {{bytes: Uint8Array, inverted: boolean} | {reason: string}} Framed */

/**
 * One image file's bytes decoded and made 28×28, or why not.
 * @param {Uint8Array} bytes  the whole file, not empty
 * @param {{type: string, named: boolean}} file  its media type as the browser gave it ('' if
 *   none), and whether it says it is an image (by its name or that type): one the browser cannot
 *   decode is then "unreadable", not "not an image"
 * @param {Framing} framing
 * @param {OffscreenCanvas} surface  reused between images
 * @returns {Promise<Framed>}
 */
export async function frameImage(bytes, { type, named }, framing, surface) {
  const png = decodePng(bytes);
  if (png) return frameGrey(rgbaToGrey(png.rgba, png.width, png.height), png.width, png.height, framing);
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)], { type }));
  } catch {
    return { reason: named ? 'unreadable: the browser could not decode it (a damaged or unsupported image)' : 'not an image' };
  }
  try {
    const { width, height } = bitmap;
    if (width > MAX_SIDE || height > MAX_SIDE) return { reason: `too large (${width}×${height} px; the limit is ${MAX_SIDE} px on a side)` };
    const s = Math.min(1, WORK_SIDE / Math.max(width, height));
    const w = Math.max(1, Math.round(width * s));
    const h = Math.max(1, Math.round(height * s));
    surface.width = w;
    surface.height = h;
    const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (surface.getContext('2d', { willReadFrequently: true }));
    ctx.clearRect(0, 0, w, h);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, w, h);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    return frameGrey(rgbaToGrey(rgba, w, h), w, h, framing);
  } finally {
    bitmap.close();
  }
}

/**
 * A grey image (0 black, 1 white) made 28×28 bytes the chosen way, or why not.
 * @param {Float32Array} grey
 * @param {number} width
 * @param {number} height
 * @param {Framing} framing
 * @returns {Framed}
 */
export function frameGrey(grey, width, height, framing) {
  let framed;
  try {
    framed = framing === 'whole' ? fitWhole(grey, width, height) : preprocessGrey(grey, width, height);
  } catch (error) {
    if (error instanceof BlankImageError) return { reason: 'blank: no ink stands out of its background' };
    throw error;
  }
  const bytes = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) bytes[i] = Math.round(framed.pixels[i] * 255);
  return { bytes, inverted: framed.inverted };
}

/**
 * @typedef {object} FrameBatch  Images to frame, in one message to a framer.
 * @property {number} id
 * @property {Framing} framing
 * @property {Uint8Array} bytes   the image files one after another
 * @property {Uint32Array} ends   where each file ends in `bytes`
 * @property {string[]} types     each file's media type ('' if none)
 * @property {Uint8Array} named   1 where the file says it is an image (see frameImage)
 *
 * @typedef {object} FramedBatch  The same images framed, in the same order.
 * @property {number} id
 * @property {Uint8Array} pixels   n×784, row-major, 0 background, 255 ink (zeros where not framed)
 * @property {Uint8Array} inverted 1 where the image was inverted (a light background)
 * @property {(string | null)[]} reasons  why an image was not framed; null where it was
 */

/**
 * Frames a batch of images, one after another (frameImage's results, packed).
 * @param {FrameBatch} batch
 * @param {OffscreenCanvas} surface  reused between images
 * @returns {Promise<FramedBatch>}
 */
export async function frameBatch({ id, framing, bytes, ends, types, named }, surface) {
  const n = ends.length;
  const pixels = new Uint8Array(n * PIXELS);
  const inverted = new Uint8Array(n);
  const reasons = new Array(n).fill(null);
  for (let k = 0; k < n; k++) {
    const file = bytes.subarray(k ? ends[k - 1] : 0, ends[k]);
    const framed = await frameImage(file, { type: types[k], named: named[k] === 1 }, framing, surface);
    if ('reason' in framed) {
      reasons[k] = framed.reason;
      continue;
    }
    pixels.set(framed.bytes, k * PIXELS);
    inverted[k] = framed.inverted ? 1 : 0;
  }
  return { id, pixels, inverted, reasons };
}
