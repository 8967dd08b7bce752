// A visitor's images made into a data set the model can take: each read, decoded (small PNGs by
// www/own-data/png.js, anything else the browser decodes by createImageBitmap), made 28×28 grey
// the chosen way (www/own-data/frame.js: "like MNIST" or "whole image"), and kept as bytes with
// its label; what cannot be used is listed with its reason. The set is refused as a whole, with
// the reason, when it is too large or when fewer than two images remain (one to train on, one to
// test).
//
// The page's thread reads the files, many at a time, and hands their bytes in batches to framers
// on threads of their own (www/own-data/frame-worker.js), so that reading and framing go on side
// by side: each read of a picked file is a round trip to the browser, and decoding and framing are
// work of their own (docs/benchmarks.md, "Your own images", has the figures).

import { UNLABELLED, folderClasses, labelsFor } from './classes.js';
import { IMAGE_NAME, MAX_FILE_BYTES } from './collect.js';
import { frameGrey } from './frame.js';

/** Most images in one set: 100,000 28×28 images are 78 MB in the page and as much in the model. */
export const MAX_IMAGES = 100_000;
/**
 * Files read at once. Each read of a picked file is a round trip to the browser, which serves
 * many at a time; 64 in flight read 10,000 small files in about 2 s on a busy 2-core machine
 * (one Blob made of 2,000 files at a time took twice as long: making it asks each file's size,
 * one synchronous round trip each).
 */
const READING = 64;
/** Images handed to a framer in one message, and their bytes at most (a batch of photos is smaller). */
const BATCH = { images: 256, bytes: 8 * 2 ** 20 };
/** Bytes read and not yet framed, at most: reading waits beyond (the framers are behind). */
const AHEAD_BYTES = 64 * 2 ** 20;
const PIXELS = 784;

/** @typedef {import('./frame.js').Framing} Framing */

/**
 * @typedef {object} OwnSet  A visitor's images, processed.
 * @property {string} name
 * @property {Framing} framing
 * @property {number} count
 * @property {Uint8Array} pixels     count×784, row-major, 0 background, 255 ink
 * @property {Uint8Array} labels     count, 0–9 (all 255 when unlabelled)
 * @property {boolean} labelled
 * @property {string[]} names        names[label]: the class each label stands for
 * @property {Array<{name: string, label: number, count: number}>} classes
 * @property {number} inverted       how many images were inverted (a light background)
 * @property {Array<{path: string, reason: string}>} skipped
 * @property {string} hash           SHA-256 of the pixels and labels, hex
 * @property {number} binaryShare    the share of pixels that are background or full ink
 * @property {'bernoulli' | 'gaussian'} decoder  the decoder these images suggest
 */

/**
 * The set, or why it cannot be used (`refused`, with what was skipped on the way).
 * @param {import('./collect.js').Collected} collected
 * @param {{name: string, framing: Framing, onProgress?: (done: number, total: number) => void}} options
 * @returns {Promise<OwnSet | {refused: string, skipped: Array<{path: string, reason: string}>}>}
 */
export async function processSet(collected, { name, framing, onProgress = () => {} }) {
  const skipped = [...collected.skipped];
  const images = [...collected.images].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const total = images.length + collected.idx.reduce((sum, s) => sum + s.count, 0);
  if (total > MAX_IMAGES) {
    return { refused: `${total.toLocaleString('en-US')} images are more than this page takes (${MAX_IMAGES.toLocaleString('en-US')}); pick fewer`, skipped };
  }
  const pixels = new Uint8Array(total * PIXELS);
  const classNames = [];
  let count = 0;
  let inverted = 0;
  let done = 0;
  let reported = 0;
  const progress = () => {
    done++;
    const now = performance.now();
    if (now - reported > 100) {
      reported = now;
      onProgress(done, total);
    }
  };

  // Images: read, and framed beside the reading, kept in path order.
  const folders = folderClasses(images.map((s) => s.path));
  const results = await frameImages(images, framing, progress);
  results.forEach((result, i) => {
    if ('reason' in result) {
      skipped.push({ path: images[i].path, reason: result.reason });
      return;
    }
    pixels.set(result.bytes, count * PIXELS);
    classNames.push(folders[i]);
    inverted += result.inverted ? 1 : 0;
    count++;
  });

  // IDX images: 28×28 ones are taken as they are (already made for a model like this one);
  // others are made 28×28 the chosen way.
  for (const source of collected.idx) {
    const side = source.rows * source.cols;
    for (let k = 0; k < source.count; k++) {
      const values = source.values.subarray(k * side, (k + 1) * side);
      // A labels file's 255 is "no label" (what Download data set writes for a set without classes).
      const label = source.labels && source.labels[k] !== UNLABELLED ? String(source.labels[k]) : null;
      if (source.rows === 28 && source.cols === 28) {
        pixels.set(values, count * PIXELS);
      } else {
        const framed = frameGrey(Float32Array.from(values, (v) => v / 255), source.cols, source.rows, framing);
        if ('reason' in framed) {
          skipped.push({ path: `${source.path} #${k}`, reason: framed.reason });
          progress();
          continue;
        }
        pixels.set(framed.bytes, count * PIXELS);
        inverted += framed.inverted ? 1 : 0;
      }
      classNames.push(label);
      count++;
      progress();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  onProgress(total, total);

  if (count < 2) {
    const given = total + collected.skipped.length;
    const what = count === 0 ? `none of the ${given.toLocaleString('en-US')} files given is an image this page can read` : 'only one image could be read; a set needs at least two (one to train on, one to test)';
    return { refused: what, skipped };
  }
  const kept = pixels.slice(0, count * PIXELS);
  const { labels, labelled, names, classes } = labelsFor(classNames);
  const binaryShare = shareBinary(kept);
  return {
    name,
    framing,
    count,
    pixels: kept,
    labels,
    labelled,
    names,
    classes,
    inverted,
    skipped,
    hash: await hashOf(kept, labels),
    binaryShare,
    // Near-binary images (ink on a plain background) are what the Bernoulli decoder models;
    // grey photos want the Gaussian one.
    decoder: binaryShare >= 0.75 ? 'bernoulli' : 'gaussian',
  };
}

/**
 * Each image read and framed, or why not, in the order given. The page's thread reads READING
 * files at a time and gathers their bytes into batches (BATCH); the framers frame a batch while
 * the next is read. Reading waits while AHEAD_BYTES are read and not yet framed.
 * @param {import('./collect.js').ImageSource[]} images
 * @param {Framing} framing
 * @param {() => void} onEach  called once per image, read and framed or not
 * @returns {Promise<import('./frame.js').Framed[]>}
 */
async function frameImages(images, framing, onEach) {
  const results = new Array(images.length);
  /** @type {Set<Promise<void>>} */
  const inFlight = new Set(); // batches handed to the framers and not yet back
  let ahead = 0; // their bytes
  let failure = null; // a framer's error: reading stops, and processSet throws it
  let batch = newBatch();

  const handOver = () => {
    if (!batch.indices.length) return;
    const { indices, files, size } = batch;
    batch = newBatch();
    ahead += size;
    const framed = framerPool()
      .frame(packBatch(files, size, framing))
      .then(({ pixels, inverted, reasons }) => {
        indices.forEach((i, k) => {
          results[i] = reasons[k] !== null ? { reason: reasons[k] } : { bytes: pixels.subarray(k * PIXELS, (k + 1) * PIXELS), inverted: inverted[k] === 1 };
          onEach();
        });
      })
      .finally(() => {
        ahead -= size;
        inFlight.delete(framed);
      });
    framed.catch((error) => (failure ??= error)); // thrown below, once the reads in flight are back
    inFlight.add(framed);
  };

  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(READING, images.length) }, async () => {
      while (next < images.length && !failure) {
        while (ahead > AHEAD_BYTES && inFlight.size) await Promise.race(inFlight).catch(() => {});
        const i = next++;
        const read = await readImage(images[i]);
        if ('reason' in read) {
          results[i] = read;
          onEach();
          continue;
        }
        batch.indices.push(i);
        batch.files.push(read);
        batch.size += read.bytes.length;
        if (batch.indices.length >= BATCH.images || batch.size >= BATCH.bytes) handOver();
      }
    }),
  );
  if (!failure) handOver();
  await Promise.allSettled(inFlight);
  if (failure) throw failure;
  return results;
}

/** @returns {{indices: number[], files: Array<{bytes: Uint8Array, type: string, named: boolean}>, size: number}} */
const newBatch = () => ({ indices: [], files: [], size: 0 });

/**
 * An image's bytes, with what frameImage needs to know of its file; or why it cannot be used.
 * Its emptiness and size are checked on the bytes read: asking a picked file its size first is a
 * synchronous round trip to the browser.
 * @param {import('./collect.js').ImageSource} source
 * @returns {Promise<{bytes: Uint8Array, type: string, named: boolean} | {reason: string}>}
 */
async function readImage(source) {
  let bytes = source.bytes;
  try {
    bytes ??= new Uint8Array(await source.blob.arrayBuffer());
  } catch (error) {
    return { reason: `unreadable (${error instanceof Error ? error.message : error})` };
  }
  if (bytes.length === 0) return { reason: 'empty file' };
  if (bytes.length > MAX_FILE_BYTES) return { reason: `too large (${(bytes.length / 2 ** 20).toFixed(1)} MB; the limit is ${MAX_FILE_BYTES / 2 ** 20} MB)` };
  const type = source.blob?.type ?? '';
  return { bytes, type, named: IMAGE_NAME.test(source.path) || type.startsWith('image/') };
}

let batches = 0;

/**
 * The files of a batch as one message (frame.js's FrameBatch): their bytes one after another.
 * @param {Array<{bytes: Uint8Array, type: string, named: boolean}>} files
 * @param {number} size  their bytes in all
 * @param {Framing} framing
 * @returns {import('./frame.js').FrameBatch}
 */
function packBatch(files, size, framing) {
  const bytes = new Uint8Array(size);
  const ends = new Uint32Array(files.length);
  let at = 0;
  files.forEach((file, k) => {
    bytes.set(file.bytes, at);
    ends[k] = at += file.bytes.length;
  });
  return { id: ++batches, framing, bytes, ends, types: files.map((f) => f.type), named: Uint8Array.from(files, (f) => (f.named ? 1 : 0)) };
}

/**
 * The framers: frame-worker.js on threads of their own, one per core (at most four), made when
 * first needed and kept. A batch goes to the framer with the fewest waiting. On 2 cores, two
 * framers took a .zip of 10,000 PNGs from 1.7 s to 1.4 s (the page's thread has nothing to read
 * there) and left a folder's 4.4 s as it was (the page's thread reads, the framers keep up).
 * @type {{frame: (batch: import('./frame.js').FrameBatch) => Promise<import('./frame.js').FramedBatch>} | null}
 */
let pool = null;

function framerPool() {
  if (pool) return pool;
  const count = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
  const framers = Array.from({ length: count }, () => {
    const worker = new Worker(new URL('./frame-worker.js', import.meta.url), { type: 'module' });
    /** @type {Map<number, {resolve: (framed: import('./frame.js').FramedBatch) => void, reject: (error: Error) => void}>} */
    const waiting = new Map();
    worker.onmessage = ({ data }) => {
      const { resolve, reject } = waiting.get(data.id);
      waiting.delete(data.id);
      if ('error' in data) reject(new Error(data.error));
      else resolve(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      fail(new Error(`the images could not be framed${event.message ? ` (${event.message})` : ''}`));
    };
    return { worker, waiting };
  });
  /** A framer that fails (its module did not load, say) fails every batch: fresh framers next time. */
  const fail = (error) => {
    for (const { worker, waiting } of framers) {
      worker.terminate();
      for (const { reject } of waiting.values()) reject(error);
      waiting.clear();
    }
    if (pool === made) pool = null;
  };
  const made = {
    frame(batch) {
      const framer = framers.reduce((best, f) => (f.waiting.size < best.waiting.size ? f : best));
      return new Promise((resolve, reject) => {
        framer.waiting.set(batch.id, { resolve, reject });
        framer.worker.postMessage(batch, [batch.bytes.buffer, batch.ends.buffer, batch.named.buffer]);
      });
    },
  };
  pool = made;
  return pool;
}

/** The share of pixels that are background (0) or nearly full ink (≥ 90%). */
export function shareBinary(pixels) {
  let binary = 0;
  for (let i = 0; i < pixels.length; i++) if (pixels[i] === 0 || pixels[i] >= 230) binary++;
  return pixels.length ? binary / pixels.length : 0;
}

/** SHA-256 of the pixels then the labels, as hex. */
async function hashOf(pixels, labels) {
  const both = new Uint8Array(pixels.length + labels.length);
  both.set(pixels);
  both.set(labels, pixels.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', both));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
