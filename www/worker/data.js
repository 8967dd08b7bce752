// The MNIST files for the worker: fetched in parallel with progress. Each is asked for by its own
// name first (data/mnist/train-images-idx3-ubyte): a host that sends it compressed (the built
// site has .br and .gz siblings; scripts/serve.mjs and many hosts send brotli, 9.2 MB for all four)
// has the browser inflate it (the repository, which has only the .gz files, is served that way
// too). A host that would send it as it is (55 MB), or that does not have it, gets that request
// cancelled, and the .gz file is fetched by name and inflated here (DecompressionStream), 11.2 MB.
// The bytes go to the model once (www/worker.js).

import { messageOf } from './messages.js';

/** The MNIST files, by the name the page asks for first. */
const DATA_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const DATA_DIR = new URL('../../data/mnist/', import.meta.url);

/**
 * The IDX file `name`, as bytes. `onBytes(n)` for each piece as it arrives (bytes over the wire,
 * estimated when the browser inflates them), `onLength(total)` once (0 while unknown).
 */
async function fetchIdx(name, onBytes, onLength) {
  const url = new URL(name, DATA_DIR);
  const abort = new AbortController();
  const direct = await fetch(url, { signal: abort.signal }).catch(() => null);
  if (direct?.ok && direct.headers.get('Content-Encoding')) return readInflatedByBrowser(direct, url, onBytes, onLength);
  abort.abort();
  return fetchGzip(`${name}.gz`, onBytes, onLength);
}

/**
 * The body of a response the browser inflates (Content-Encoding): Content-Length counts the
 * compressed bytes and the body gives the inflated ones, so progress is the inflated share of the
 * size the IDX header announces, in compressed bytes.
 */
async function readInflatedByBrowser(response, url, onBytes, onLength) {
  const wire = Number(response.headers.get('Content-Length')) || 0;
  onLength(wire);
  const pieces = [];
  let received = 0;
  let expected = 0;
  let reported = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pieces.push(value);
      received += value.byteLength;
      if (!expected && received >= 4) expected = idxLength(concat(pieces, received));
      if (expected && wire) {
        const now = Math.min(wire, Math.round((received / expected) * wire));
        onBytes(now - reported);
        reported = now;
      }
    }
  } catch (error) {
    throw new Error(`could not fetch ${url.pathname}: ${messageOf(error)}`);
  }
  if (wire > reported) onBytes(wire - reported);
  return concat(pieces, received);
}

/** The size in bytes an IDX file's header announces (its magic and dimensions), or 0 if unknown yet. */
function idxLength(bytes) {
  const dims = bytes[3];
  if (bytes.length < 4 + 4 * dims) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const length = 4 + 4 * dims;
  let items = 1;
  for (let i = 0; i < dims; i++) items *= view.getUint32(4 + 4 * i);
  return length + items; // unsigned bytes (type 0x08), as MNIST is; the model checks the rest
}

function concat(pieces, length) {
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  pieces.splice(0, pieces.length, out);
  return out;
}

/**
 * Fetches one gzip-compressed file and inflates it (the browser's own DecompressionStream),
 * reporting compressed bytes as they arrive: `onBytes(n)` for each piece, `onLength(total)` once.
 */
async function fetchGzip(name, onBytes, onLength) {
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
 * @typedef {[Uint8Array, Uint8Array, Uint8Array, Uint8Array]} IdxFiles training images and
 *   labels, test images and labels (the arguments of `loadData`)
 */

/**
 * The four IDX files' bytes (train images, train labels, test images, test labels), fetched in
 * parallel, once per worker: the first call starts the fetches (the worker starts them with its
 * first request, so they overlap the module's compilation), later calls share them.
 * `report(progress)` (protocol.js's LoadProgress) at most every 50 ms, and once at the end; a
 * caller that comes late hears the progress from then on.
 * @param {((progress: import('../protocol.js').LoadProgress) => void) | null} [report]
 * @returns {Promise<IdxFiles>}
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
    DATA_FILES.map((name) =>
      fetchIdx(
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
