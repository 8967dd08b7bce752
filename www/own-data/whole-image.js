// "Whole image": a photo, an icon or a drawing made 28×28 without cropping it to its ink (which
// "like MNIST", www/explorer/preprocess.js, does for digits and symbols): the longer side scaled
// to 28 (area-averaged), the shorter one padded evenly. Inversion is decided as the upload's
// preprocessing decides it: a light border means a light background, so the image is inverted and
// what stands out of it becomes bright on dark, as the model's inputs are. Pure (tests/js/own-data.test.mjs).

import { MNIST_SIZE, resample } from '../explorer/preprocess.js';

/**
 * @param {Float32Array} grey  width×height, row-major, 0 = black, 1 = white (preprocess.js's rgbaToGrey)
 * @param {number} width
 * @param {number} height
 * @returns {{pixels: Float32Array, inverted: boolean}}  pixels: 28×28 in [0, 1], padding 0
 */
export function fitWhole(grey, width, height) {
  const inverted = borderMean(grey, width, height) > 0.5;
  const scale = MNIST_SIZE / Math.max(width, height);
  const w = Math.max(1, Math.min(MNIST_SIZE, Math.round(width * scale)));
  const h = Math.max(1, Math.min(MNIST_SIZE, Math.round(height * scale)));
  const scaled = resample(grey, width, height, w, h);
  const ox = Math.floor((MNIST_SIZE - w) / 2);
  const oy = Math.floor((MNIST_SIZE - h) / 2);
  const pixels = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = scaled[y * w + x];
      pixels[(oy + y) * MNIST_SIZE + ox + x] = Math.min(1, Math.max(0, inverted ? 1 - v : v));
    }
  }
  return { pixels, inverted };
}

/** The mean grey of the image's outermost ring of pixels. */
function borderMean(grey, width, height) {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y === 0 || y === height - 1 || x === 0 || x === width - 1) {
        sum += grey[y * width + x];
        n++;
      }
    }
  }
  return sum / n;
}
