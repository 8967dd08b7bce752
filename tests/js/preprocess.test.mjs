// The MNIST-style preprocessing of uploads and drawings (www/explorer/preprocess.js), on
// synthetic digits whose answers are known: polarity, the 20-px box, centring by centre of mass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BlankImageError,
  MNIST_BOX,
  MNIST_SIZE,
  centreOfMass,
  preprocessGrey,
  resample,
  rgbaToGrey,
} from '../../www/explorer/preprocess.js';

/** Grey image w×h filled with `bg`, with thick strokes of value `ink` along the segments. */
function strokes(w, h, segments, { bg, ink, thickness }) {
  const img = new Float32Array(w * h).fill(bg);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const px = x + 0.5, py = y + 0.5;
      for (const [x0, y0, x1, y1] of segments) {
        const dx = x1 - x0, dy = y1 - y0;
        const t = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)));
        if (Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy)) <= thickness / 2) {
          img[y * w + x] = ink;
          break;
        }
      }
    }
  }
  return img;
}

/** A "7" in the top-left part of a 200×160 image: far from centred, far larger than 28×28. */
const SEVEN = [
  [20, 20, 90, 20],
  [90, 20, 45, 110],
];

/** Bounding box of values above `t` in a 28×28 image. */
function inkBox(pixels, t = 0.05) {
  let x0 = 28, y0 = 28, x1 = -1, y1 = -1;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if (pixels[y * 28 + x] > t) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  return { width: x1 - x0 + 1, height: y1 - y0 + 1, x0, y0, x1, y1 };
}

test('a dark-on-light off-centre digit comes out inverted, 20 px tall, centred by its mass', () => {
  const grey = strokes(200, 160, SEVEN, { bg: 0.95, ink: 0.05, thickness: 14 });
  const r = preprocessGrey(grey, 200, 160);

  assert.equal(r.pixels.length, MNIST_SIZE * MNIST_SIZE);
  assert.equal(r.inverted, true);
  assert.ok(r.background > 0.9, `background ${r.background}`);
  for (const v of r.pixels) assert.ok(v >= 0 && v <= 1, `value ${v} outside [0, 1]`);

  // Inverted: the corners (background) are 0, the strokes bright.
  for (const i of [0, 27, 27 * 28, 28 * 28 - 1]) assert.equal(r.pixels[i], 0);
  assert.ok(Math.max(...r.pixels) > 0.9, 'the strokes should be near 1');

  // The ink's box in the input is the 7 and its stroke width, about 85 × 104 px.
  assert.ok(Math.abs(r.bbox.width - 84) <= 2 && Math.abs(r.bbox.height - 104) <= 2, JSON.stringify(r.bbox));
  // Longer side (the height) scaled to 20 px, aspect kept.
  const box = inkBox(r.pixels);
  assert.ok(box.height <= MNIST_BOX && box.width <= MNIST_BOX, JSON.stringify(box));
  assert.ok(box.height >= MNIST_BOX - 1, `height ${box.height}`);
  assert.equal(r.size.height, 20);
  assert.equal(r.size.width, Math.round(r.bbox.width * (20 / r.bbox.height)));

  const com = centreOfMass(r.pixels, 28, 28);
  assert.ok(Math.abs(com.x - 14) <= 1 && Math.abs(com.y - 14) <= 1, `centre of mass ${com.x}, ${com.y}`);
  assert.deepEqual([r.centreOfMass.x, r.centreOfMass.y], [com.x, com.y]);
});

test('a light-on-dark digit is not inverted and keeps a zero background', () => {
  const grey = strokes(200, 160, SEVEN, { bg: 0, ink: 1, thickness: 14 });
  const r = preprocessGrey(grey, 200, 160);
  assert.equal(r.inverted, false);
  assert.equal(r.pixels[0], 0);
  const light = preprocessGrey(strokes(200, 160, SEVEN, { bg: 1, ink: 0, thickness: 14 }), 200, 160);
  // Both polarities give the same MNIST image.
  let maxDiff = 0;
  for (let i = 0; i < 784; i++) maxDiff = Math.max(maxDiff, Math.abs(r.pixels[i] - light.pixels[i]));
  assert.ok(maxDiff < 1e-6, `polarities differ by ${maxDiff}`);
});

test('grey paper and grey pencil are stretched to a 0 background and bright ink', () => {
  const grey = strokes(120, 120, [[60, 20, 60, 100]], { bg: 0.7, ink: 0.4, thickness: 10 });
  const r = preprocessGrey(grey, 120, 120);
  assert.equal(r.inverted, true);
  assert.equal(r.pixels[0], 0);
  assert.ok(Math.max(...r.pixels) > 0.95);
  // A "1": tall and thin, still 20 px tall and centred.
  const box = inkBox(r.pixels);
  assert.ok(box.height >= 19 && box.height <= 20 && box.width <= 4, JSON.stringify(box));
  assert.ok(Math.abs(r.centreOfMass.x - 14) <= 0.5 && Math.abs(r.centreOfMass.y - 14) <= 0.5);
});

test('a digit smaller than 20 px is enlarged smoothly to 20 px', () => {
  const grey = strokes(28, 28, [[4, 4, 4, 12], [4, 12, 10, 12]], { bg: 0, ink: 1, thickness: 2 });
  const r = preprocessGrey(grey, 28, 28);
  assert.ok(r.scale > 1);
  assert.equal(Math.max(r.size.width, r.size.height), 20);
  // Bilinear: some grey levels between 0 and 1, not only the two of the input.
  const levels = new Set(Array.from(r.pixels, (v) => v.toFixed(2)));
  assert.ok(levels.size > 3, `only ${levels.size} grey levels`);
});

test('blank, uniform and too faint images throw BlankImageError', () => {
  assert.throws(() => preprocessGrey(new Float32Array(64 * 48).fill(1), 64, 48), BlankImageError);
  assert.throws(() => preprocessGrey(new Float32Array(64 * 48).fill(0), 64, 48), BlankImageError);
  assert.throws(() => preprocessGrey(new Float32Array(10 * 10).fill(0.5), 10, 10), (e) => e instanceof BlankImageError && e.code === 'blank' && /no ink found/.test(e.message));
  const faint = strokes(50, 50, [[25, 10, 25, 40]], { bg: 0.9, ink: 0.85, thickness: 6 });
  assert.throws(() => preprocessGrey(faint, 50, 50), BlankImageError);
});

test('bad sizes are rejected with a RangeError', () => {
  assert.throws(() => preprocessGrey(new Float32Array(10), 3, 3), RangeError);
  assert.throws(() => preprocessGrey(new Float32Array(0), 0, 0), RangeError);
  assert.throws(() => rgbaToGrey(new Uint8ClampedArray(12), 2, 2), RangeError);
});

test('rgbaToGrey: luminance, white behind transparency, alpha as ink on a transparent image', () => {
  // 3×3 opaque: border white, centre pure green.
  const rgba = new Uint8ClampedArray(3 * 3 * 4).fill(255);
  rgba.set([0, 255, 0, 255], 4 * 4);
  const g = rgbaToGrey(rgba, 3, 3);
  assert.ok(Math.abs(g[4] - 0.587) < 1e-6);
  assert.equal(g[0], 1);

  // Transparent black background with an opaque black stroke: alpha is the ink.
  const w = 60, h = 60;
  const cut = new Uint8ClampedArray(w * h * 4); // all (0, 0, 0, 0)
  for (let y = 10; y < 50; y++) for (let x = 27; x < 33; x++) cut[4 * (y * w + x) + 3] = 255;
  const grey = rgbaToGrey(cut, w, h);
  assert.equal(grey[0], 1);
  assert.equal(grey[30 * w + 30], 0);
  const r = preprocessGrey(grey, w, h);
  assert.equal(r.inverted, true);
  assert.ok(Math.abs(r.centreOfMass.y - 14) <= 1);
});

test('resample averages areas when shrinking and keeps the mean', () => {
  // 4×2 → 2×1: each output pixel is the mean of a 2×2 block.
  const out = resample(Float32Array.from([1, 0, 0, 0, 1, 0, 1, 1]), 4, 2, 2, 1);
  assert.deepEqual(Array.from(out), [0.5, 0.5]);
  // Non-integer ratio 3 → 2: weights 1, 0.5 | 0.5, 1, normalised by 1.5.
  const odd = resample(Float32Array.from([3, 0, 3]), 3, 1, 2, 1);
  assert.deepEqual(Array.from(odd, (v) => +v.toFixed(6)), [2, 2]);
  // Enlarging a constant keeps it constant.
  for (const v of resample(new Float32Array(9).fill(0.25), 3, 3, 7, 5)) assert.ok(Math.abs(v - 0.25) < 1e-7);
});
