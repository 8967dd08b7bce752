// The MNIST files for the worker: fetched in parallel with progress, inflated by the browser's own
// DecompressionStream; the bytes go to the model once (www/worker.js).

import { messageOf } from './messages.js';

/** The MNIST files, gzip-compressed (about 11 MB in all; 55 MB once inflated). */
const DATA_FILES = [
  ['trainImages', 'train-images-idx3-ubyte.gz'],
  ['trainLabels', 'train-labels-idx1-ubyte.gz'],
  ['testImages', 't10k-images-idx3-ubyte.gz'],
  ['testLabels', 't10k-labels-idx1-ubyte.gz'],
];
const DATA_DIR = new URL('../../data/mnist/', import.meta.url);

/**
 * Fetches one gzip-compressed file and inflates it (the browser's own DecompressionStream),
 * reporting compressed bytes as they arrive: `onBytes(n)` for each piece, `onLength(total)` once.
 */
async function fetchInflated(name, onBytes, onLength) {
  const url = new URL(name, DATA_DIR);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url.pathname}: HTTP ${response.status} ${response.statusText}`);
  onLength(Number(response.headers.get('Content-Length')) || 0);
  const counted = response.body.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        onBytes(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
  // A server that already inflated it (Content-Encoding: gzip) hands over the IDX bytes.
  const stream = response.headers.get('Content-Encoding') ? counted : counted.pipeThrough(new DecompressionStream('gzip'));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new Error(`${url.pathname} is not a valid gzip file: ${messageOf(error)}`);
  }
}

/**
 * The four IDX files' bytes (train images, train labels, test images, test labels), fetched in
 * parallel, once per worker: the first call starts the fetches (the worker starts them with its
 * first request, so they overlap the module's compilation), later calls share them.
 * `report(progress)` (protocol.js's LoadProgress) at most every 50 ms, and once at the end; a
 * caller that comes late hears the progress from then on.
 */
export function fetchMnist(report = null) {
  if (report) download.listeners.add(report);
  download.files ??= fetchAll()
    .catch((error) => {
      download.files = null; // a later call tries again
      throw error;
    })
    .finally(() => download.listeners.clear());
  return download.files;
}

/** Lets go of the fetched files (the model has its own copy): a later fetchMnist fetches again. */
export function releaseMnist() {
  download.files = null;
}

const download = { files: null, listeners: new Set() };

async function fetchAll() {
  let loaded = 0;
  let total = 0;
  let lengthsKnown = 0;
  let lastPost = 0;
  const progress = (file, force = false) => {
    const now = performance.now();
    if (!force && now - lastPost < 50) return;
    lastPost = now;
    // Until every Content-Length is in, the total is not known: report it as 0 (indeterminate).
    const state = { loaded, total: lengthsKnown === DATA_FILES.length ? total : 0, file };
    for (const report of download.listeners) report(state);
  };
  const files = await Promise.all(
    DATA_FILES.map(([, name]) =>
      fetchInflated(
        name,
        (n) => {
          loaded += n;
          progress(name);
        },
        (length) => {
          total += length;
          lengthsKnown += length > 0 ? 1 : 0;
        },
      ),
    ),
  );
  total = Math.max(total, loaded);
  lengthsKnown = DATA_FILES.length;
  progress('', true);
  return files;
}
