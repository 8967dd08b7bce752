// What a visitor gave, sorted into what can become images: picked or dropped files, the files of
// a picked or dropped folder (with their paths, for the classes), the entries of a .zip, and IDX
// files (images, with or without labels; gzipped or not). Everything that cannot be used is
// listed with its reason; nothing here throws on what a visitor gives.

import { gunzipSync } from '../../node_modules/fflate/esm/browser.js';
import { messageOf } from '../protocol.js';
import { readIdx } from './idx.js';
import { isClutter, readZip } from './zip.js';

/** Largest file taken (an image, or a zip or IDX file read whole). */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
/** Largest zip or IDX file read (they are read whole, in the page's memory). */
export const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

/**
 * One image to decode, with its path ('/'-separated): a file (`blob`), or a zip's entry (`bytes`,
 * already in the page: reading a Blob back costs a round trip to the browser's blob store).
 * @typedef {{path: string, blob: Blob | null, bytes: Uint8Array | null}} ImageSource
 * An IDX images file's images (grey levels 0–255, `side`×`side` each), with labels if given.
 * @typedef {{path: string, count: number, rows: number, cols: number, values: Uint8Array, labels: Uint8Array | null}} IdxSource
 * @typedef {{path: string, reason: string}} Skipped
 * @typedef {{images: ImageSource[], idx: IdxSource[], skipped: Skipped[]}} Collected
 */

/** Names of files taken as images without a look inside (the others are tried by their first bytes). */
export const IMAGE_NAME = /\.(png|jpe?g|gif|webp|bmp|avif|ico|svg|tiff?)$/i;

/**
 * Whether a file's first bytes are those of an image format a browser may decode (PNG, JPEG,
 * GIF, WebP, BMP, ICO, AVIF and HEIF, TIFF) or markup (SVG): a file named as no image is tried
 * only then, so that a text file or a program is "not an image" without a decode.
 * @param {Uint8Array} head  the first 16 bytes (or all, if fewer)
 */
export function looksLikeImage(head) {
  const at = (offset, ...bytes) => bytes.every((b, i) => head[offset + i] === b);
  const text = (offset, s) => at(offset, ...Array.from(s, (c) => c.charCodeAt(0)));
  return (
    at(0, 0x89, 0x50, 0x4e, 0x47) || // PNG
    at(0, 0xff, 0xd8, 0xff) || // JPEG
    text(0, 'GIF8') ||
    (text(0, 'RIFF') && text(8, 'WEBP')) ||
    text(0, 'BM') ||
    at(0, 0, 0, 1, 0) || // ICO
    text(4, 'ftyp') || // AVIF, HEIF
    at(0, 0x49, 0x49, 0x2a, 0) || at(0, 0x4d, 0x4d, 0, 0x2a) || // TIFF
    /^\s*</.test(String.fromCharCode(...head.subarray(0, 16))) // SVG (or other markup: tried, and said)
  );
}

/** A file's path: within the picked folder if it came with one, else its name. */
const pathOf = (file) => /** @type {any} */ (file).relativePath || file.webkitRelativePath || file.name;

/**
 * Sorts the files into images to decode and IDX sets, reading zips and IDX files as it goes.
 * @param {File[]} files
 * @returns {Promise<Collected>}
 */
export async function collect(files) {
  /** @type {Collected} */
  const out = { images: [], idx: [], skipped: [] };
  const idxFiles = []; // { path, read } before images and labels are paired
  for (const file of files) {
    const path = pathOf(file);
    if (isClutter(path)) continue;
    // An image's size is checked once it is read (www/own-data/process.js): asking each of
    // 10,000 picked files its size here takes a synchronous round trip to the browser each.
    if (IMAGE_NAME.test(path) || file.type.startsWith('image/')) {
      out.images.push({ path, blob: file, bytes: null });
      continue;
    }
    if (file.size === 0) {
      out.skipped.push({ path, reason: 'empty file' });
      continue;
    }
    const head = new Uint8Array(await readSlice(file, 0, 16));
    const zip = head[0] === 0x50 && head[1] === 0x4b; // "PK"
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    const idx = head[0] === 0 && head[1] === 0 && head[2] === 0x08;
    if (!zip && !gzip && !idx) {
      // Not named as an image, and not a zip or IDX file: an image saved without its extension
      // is still taken.
      if (!looksLikeImage(head)) out.skipped.push({ path, reason: 'not an image' });
      else if (file.size > MAX_FILE_BYTES) out.skipped.push({ path, reason: tooLarge(file.size, MAX_FILE_BYTES) });
      else out.images.push({ path, blob: file, bytes: null });
      continue;
    }
    if (file.size > MAX_ARCHIVE_BYTES) {
      out.skipped.push({ path, reason: tooLarge(file.size, MAX_ARCHIVE_BYTES) });
      continue;
    }
    let bytes;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (error) {
      out.skipped.push({ path, reason: `unreadable (${messageOf(error)})` });
      continue;
    }
    if (zip) {
      const base = path.replace(/\.zip$/i, '');
      const { entries, skipped, refused } = readZip(bytes, file.name);
      if (refused) out.skipped.push({ path, reason: refused });
      for (const s of skipped) out.skipped.push({ path: `${base}/${s.path}`, reason: s.reason });
      for (const entry of entries) {
        const inner = `${base}/${entry.path}`;
        if (isIdxBytes(entry.bytes)) idxFiles.push({ path: inner, read: readIdx(entry.bytes) });
        else if (IMAGE_NAME.test(inner) || looksLikeImage(entry.bytes.subarray(0, 16))) out.images.push({ path: inner, blob: null, bytes: entry.bytes });
        else out.skipped.push({ path: inner, reason: 'not an image' });
      }
      continue;
    }
    if (gzip) {
      try {
        bytes = gunzipSync(bytes);
      } catch (error) {
        out.skipped.push({ path, reason: `a damaged gzip file (${messageOf(error)})` });
        continue;
      }
      if (!isIdxBytes(bytes)) {
        out.skipped.push({ path, reason: 'a gzip file that does not hold an IDX file' });
        continue;
      }
    }
    idxFiles.push({ path, read: readIdx(bytes) });
  }
  pairIdx(idxFiles, out);
  return out;
}

/** IDX's start: two zero bytes, then the type of unsigned bytes. */
const isIdxBytes = (bytes) => bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x08;

/**
 * IDX images files with their labels files: `x-images-idx3-ubyte` goes with `x-labels-idx1-ubyte`
 * (MNIST's naming), or a single images file with a single labels file whatever their names.
 * @param {Array<{path: string, read: ReturnType<typeof readIdx>}>} files
 * @param {Collected} out
 */
function pairIdx(files, out) {
  const images = [];
  const labels = [];
  for (const { path, read } of files) {
    if ('reason' in read) out.skipped.push({ path, reason: read.reason });
    else if (read.dims.length === 3) images.push({ path, read });
    else if (read.dims.length === 1) labels.push({ path, read });
    else out.skipped.push({ path, reason: 'an IDX file of 2 dimensions: neither images (3) nor labels (1)' });
  }
  const partner = (path) => path.replace(/images/g, 'labels').replace(/idx3/g, 'idx1');
  const used = new Set();
  for (const { path, read } of images) {
    const [count, rows, cols] = read.dims;
    let match = labels.find((l) => l.path === partner(path));
    if (!match && images.length === 1 && labels.length === 1) match = labels[0];
    let imageLabels = null;
    if (match && 'dims' in match.read) {
      used.add(match);
      if (match.read.dims[0] === count) imageLabels = match.read.values;
      else out.skipped.push({ path: match.path, reason: `${match.read.dims[0]} labels for the ${count} images of ${path}` });
    }
    if (rows < 1 || cols < 1 || rows > 1024 || cols > 1024) {
      out.skipped.push({ path, reason: `images of ${rows}×${cols} px; IDX images are read up to 1024×1024` });
      continue;
    }
    out.idx.push({ path, count, rows, cols, values: read.values, labels: imageLabels });
  }
  for (const l of labels) if (!used.has(l)) out.skipped.push({ path: l.path, reason: 'labels without an IDX images file to go with' });
}

async function readSlice(file, start, end) {
  try {
    return await file.slice(start, end).arrayBuffer();
  } catch {
    return new ArrayBuffer(0);
  }
}

const tooLarge = (size, limit) => `too large (${(size / 2 ** 20).toFixed(1)} MB; the limit is ${(limit / 2 ** 20).toFixed(0)} MB)`;
