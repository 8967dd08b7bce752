// PNG decoded in the page's own code, for speed: a data set is mostly small PNGs, and the
// browser's decoder (createImageBitmap, then a canvas to read the pixels back) costs far more per
// image than the image itself (10,000 40×40 PNGs, on a busy 2-core machine: about 0.7 ms each
// through the browser, 0.06 ms here). Only what is common is read: 8-bit grey, grey with alpha,
// RGB, RGBA, and palettes (1, 2, 4 or 8 bits), not interlaced, up to MAX_PIXELS. Anything else,
// or anything damaged, answers null, and the caller lets the browser decode it (and say why it
// cannot). Colour profiles and gamma are not applied: the grey levels of a data set's images need
// no more.

import { unzlibSync } from '../../node_modules/fflate/esm/browser.js';

/** Largest image decoded here; larger ones go through the browser, which also scales them down. */
export const MAX_PIXELS = 256 * 256;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Samples per pixel of each colour type. */
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * @param {Uint8Array} bytes  a whole file
 * @returns {{width: number, height: number, rgba: Uint8ClampedArray} | null}
 */
export function decodePng(bytes) {
  try {
    return decode(bytes);
  } catch {
    return null; // damaged: the browser says what is wrong
  }
}

/** @param {Uint8Array} bytes */
function decode(bytes) {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, depth = 0, type = -1, interlace = 0;
  let palette = null;
  let alpha = null; // tRNS: a palette's alpha per entry
  const data = [];
  let size = 0;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const name = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (body.length !== length) return null;
    if (name === 'IHDR') {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      depth = body[8];
      type = body[9];
      interlace = body[12];
    } else if (name === 'PLTE') {
      palette = body;
    } else if (name === 'tRNS') {
      if (type !== 3) return null; // a transparent colour key: left to the browser
      alpha = body;
    } else if (name === 'IDAT') {
      data.push(body);
      size += length;
    } else if (name === 'IEND') {
      break;
    }
    at += 12 + length;
  }
  const channels = CHANNELS[type];
  if (!channels || interlace !== 0 || !width || !height || width * height > MAX_PIXELS) return null;
  if (type === 3 ? ![1, 2, 4, 8].includes(depth) || !palette : depth !== 8) return null;
  const zlib = new Uint8Array(size);
  let offset = 0;
  for (const piece of data) {
    zlib.set(piece, offset);
    offset += piece.length;
  }
  const stride = Math.ceil((width * channels * depth) / 8);
  const raw = inflate(zlib, (stride + 1) * height);
  if (raw.length < (stride + 1) * height) return null;
  const bpp = Math.max(1, (channels * depth) >> 3); // bytes per pixel, for the filters
  const rows = unfilter(raw, stride, height, bpp);
  if (!rows) return null;

  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (type === 3) {
        const bits = depth * x;
        const index = depth === 8 ? rows[row + x] : (rows[row + (bits >> 3)] >> (8 - depth - (bits & 7))) & ((1 << depth) - 1);
        rgba[o] = palette[3 * index];
        rgba[o + 1] = palette[3 * index + 1];
        rgba[o + 2] = palette[3 * index + 2];
        rgba[o + 3] = alpha && index < alpha.length ? alpha[index] : 255;
        continue;
      }
      const p = row + x * channels;
      if (channels <= 2) {
        rgba[o] = rgba[o + 1] = rgba[o + 2] = rows[p];
        rgba[o + 3] = channels === 2 ? rows[p + 1] : 255;
      } else {
        rgba[o] = rows[p];
        rgba[o + 1] = rows[p + 1];
        rgba[o + 2] = rows[p + 2];
        rgba[o + 3] = channels === 4 ? rows[p + 3] : 255;
      }
    }
  }
  return { width, height, rgba };
}

/**
 * A zlib stream inflated into the `size` bytes the rows take. Told the size, fflate writes into
 * that buffer (anything past the rows is dropped, and not needed); left to guess, it grows one to
 * 128 kB beyond what it has before each block, which costs more than all the rest of a small
 * PNG's decoding. A stored block that runs past the rows does not fit: that stream is inflated
 * whole, fflate sizing the buffer itself.
 * @param {Uint8Array} zlib
 * @param {number} size
 */
function inflate(zlib, size) {
  try {
    return unzlibSync(zlib, { out: new Uint8Array(size) });
  } catch {
    return unzlibSync(zlib); // a stored block past the rows' end: the whole stream
  }
}

/**
 * The scanlines without their filters (PNG's five: none, sub, up, average, Paeth), `height` rows
 * of `stride` bytes; null for an unknown filter.
 */
function unfilter(raw, stride, height, bpp) {
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const up = row - stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i];
      const a = i >= bpp ? out[row + i - bpp] : 0;
      const b = y > 0 ? out[up + i] : 0;
      const c = y > 0 && i >= bpp ? out[up + i - bpp] : 0;
      let v;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      } else return null;
      out[row + i] = v;
    }
  }
  return out;
}
