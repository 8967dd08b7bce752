// The IDX format (LeCun's, as MNIST ships and `vae train --data DIR` reads it), written and read
// for a visitor's own images: a big-endian header (two zero bytes, the type 0x08 for unsigned
// bytes, the number of dimensions, then each dimension as a u32) followed by the values.
//
//   images  0x00000803, count, 28, 28, then count×784 bytes (0 background, 255 ink)
//   labels  0x00000801, count, then count bytes (0–9: the model refuses anything else)
//
// Reading never throws: a file that is not IDX (any bytes at all) comes back as a reason.
// Pure functions over typed arrays (tests/js/own-data.test.mjs).

/** IDX's type byte for unsigned bytes, the only type the model reads. */
const UNSIGNED_BYTE = 0x08;

/**
 * An IDX file of unsigned bytes with the shape `dims` (e.g. [count, 28, 28]) and `values`.
 * @param {number[]} dims
 * @param {Uint8Array} values  row-major, as many as the dims' product
 * @returns {Uint8Array}
 */
export function writeIdx(dims, values) {
  const items = dims.reduce((a, b) => a * b, 1);
  if (values.length !== items) throw new RangeError(`an IDX file of shape ${dims.join('×')} holds ${items} values, not ${values.length}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + items);
  const view = new DataView(out.buffer);
  view.setUint8(2, UNSIGNED_BYTE);
  view.setUint8(3, dims.length);
  dims.forEach((dim, i) => view.setUint32(4 + 4 * i, dim));
  out.set(values, header);
  return out;
}

/** The images file for `count` images of `side`×`side` bytes (row-major, one after another). */
export const writeIdxImages = (pixels, count, side = 28) => writeIdx([count, side, side], pixels);

/** The labels file: one byte per image. */
export const writeIdxLabels = (labels) => writeIdx([labels.length], labels);

/**
 * @typedef {{ok: true, dims: number[], values: Uint8Array}} IdxRead  the shape and the values (a
 *   view on the input, not a copy)
 * @typedef {{ok: false, reason: string}} IdxRefused
 */

/**
 * An IDX file's shape and values, or why these bytes are not one this page can use.
 * @param {Uint8Array} bytes
 * @returns {IdxRead | IdxRefused}
 */
export function readIdx(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) return { ok: false, reason: 'too short to be an IDX file' };
  if (bytes[0] !== 0 || bytes[1] !== 0) return { ok: false, reason: 'not an IDX file (it does not start with two zero bytes)' };
  if (bytes[2] !== UNSIGNED_BYTE) return { ok: false, reason: `an IDX file of type 0x${bytes[2].toString(16).padStart(2, '0')}; only unsigned bytes (0x08) are read` };
  const rank = bytes[3];
  if (rank < 1 || rank > 3) return { ok: false, reason: `an IDX file of ${rank} dimensions; images have 3 and labels 1` };
  const header = 4 + 4 * rank;
  if (bytes.length < header) return { ok: false, reason: 'an IDX file cut short in its header' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = [];
  let items = 1;
  for (let i = 0; i < rank; i++) {
    const dim = view.getUint32(4 + 4 * i);
    dims.push(dim);
    items *= dim;
  }
  if (bytes.length - header !== items) {
    return { ok: false, reason: `an IDX file of shape ${dims.join('×')} needs ${items} bytes of values; it has ${bytes.length - header}` };
  }
  return { ok: true, dims, values: bytes.subarray(header) };
}
