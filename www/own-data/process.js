// A visitor's images made into a data set the model can take: each decoded (small PNGs by
// www/own-data/png.js, anything else the browser decodes by createImageBitmap), made 28×28 grey the chosen way, and kept as bytes with its label;
// what cannot be used is listed with its reason. The set is refused as a whole, with the reason,
// when it is too large or when fewer than two images remain (one to train on, one to test).
//
//   "like MNIST" ('digit')   www/explorer/preprocess.js, as the explorer's upload: ink found and
//                            cropped, scaled to 20×20, centred by its centre of mass, inverted
//                            when its background is light. For digits, letters, symbols.
//   "whole image" ('whole')  www/own-data/whole-image.js: fitted and padded, inverted the same way.
//                            For photos and icons.

import { BlankImageError, preprocessGrey, rgbaToGrey } from '../explorer/preprocess.js';
import { labelsFor, folderClasses } from './classes.js';
import { MAX_FILE_BYTES } from './collect.js';
import { decodePng } from './png.js';
import { fitWhole } from './whole-image.js';

/** Most images in one set: 100,000 28×28 images are 78 MB in the page and as much in the model. */
export const MAX_IMAGES = 100_000;
/** Largest image decoded, in pixels on a side (as the explorer's upload). */
export const MAX_SIDE = 8192;
/** Longest side an image is drawn at before it is made 28×28: more adds time, not information. */
const WORK_SIDE = 256;
/**
 * Images read and decoded at once. Each read of a file is a round trip to the browser, which
 * serves many at a time; 64 in flight read 10,000 small files in about 2 s on a busy 2-core
 * machine (one Blob made of 2,000 files at a time took twice as long: making it asks each file's
 * size, one synchronous round trip each).
 */
const DECODING = 64;
const PIXELS = 784;

/** @typedef {'digit' | 'whole'} Framing */

/**
 * @typedef {object} OwnSet  A visitor's images, processed.
 * @property {string} name
 * @property {Framing} framing
 * @property {number} count
 * @property {Uint8Array} pixels     count×784, row-major, 0 background, 255 ink
 * @property {Uint8Array} labels     count, 0–9 (all 0 when unlabelled)
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

  // Images: read and decoded DECODING at a time, kept in path order.
  const folders = folderClasses(images.map((s) => s.path));
  const results = new Array(images.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DECODING, images.length) }, async () => {
      const surface = new OffscreenCanvas(1, 1);
      while (next < images.length) {
        const i = next++;
        results[i] = await frameImage(images[i], framing, surface);
        progress();
      }
    }),
  );
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
      const label = source.labels ? String(source.labels[k]) : null;
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
 * One image file decoded and made 28×28, or why not.
 * @param {import('./collect.js').ImageSource} source
 * @param {Framing} framing
 * @param {OffscreenCanvas} surface  reused between images
 * @returns {Promise<{bytes: Uint8Array, inverted: boolean} | {reason: string}>}
 */
async function frameImage(source, framing, surface) {
  let bytes = source.bytes;
  try {
    bytes ??= new Uint8Array(await source.blob.arrayBuffer());
  } catch (error) {
    return { reason: `unreadable (${error instanceof Error ? error.message : error})` };
  }
  // Checked on the bytes read: asking a picked file its size first is a synchronous round trip.
  if (bytes.length === 0) return { reason: 'empty file' };
  if (bytes.length > MAX_FILE_BYTES) return { reason: `too large (${(bytes.length / 2 ** 20).toFixed(1)} MB; the limit is ${MAX_FILE_BYTES / 2 ** 20} MB)` };
  const png = decodePng(bytes);
  if (png) return frameGrey(rgbaToGrey(png.rgba, png.width, png.height), png.width, png.height, framing);
  let bitmap;
  try {
    bitmap = await createImageBitmap(source.blob ?? new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)]));
  } catch {
    const named = /\.(png|jpe?g|gif|webp|bmp|avif|ico|svg|tiff?)$/i.test(source.path) || Boolean(source.blob?.type.startsWith('image/'));
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
