// The train/test split of a visitor's own images: seeded and fixed, so that the same images always
// split the same way (a run saved on them resumes on the same training set), a tenth held out for
// the test bound, at least one image on each side.

import { mulberry32 } from '../seeded.js';
import { writeIdxImages, writeIdxLabels } from './idx.js';

/** The split's seed: any constant would do; this one makes it the same in every browser. */
export const SPLIT_SEED = 0x5eed_0026;
/** The share of the images held out to measure the test bound. */
export const TEST_SHARE = 0.1;

/**
 * Which of `count` images train and which test: a tenth (rounded, at least one) held out, chosen
 * by a seeded shuffle; each side keeps the images' own order.
 * @param {number} count  at least 2
 * @returns {{train: Uint32Array, test: Uint32Array}} indices into the images
 */
export function splitSet(count, seed = SPLIT_SEED) {
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`a split needs at least 2 images (one to train on, one to test), not ${count}`);
  const testCount = splitSizes(count).test;
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  const random = mulberry32(seed);
  // Fisher–Yates: the first testCount of the shuffled order are held out.
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const test = order.slice(0, testCount).sort();
  const held = new Uint8Array(count);
  for (const i of test) held[i] = 1;
  const train = new Uint32Array(count - testCount);
  let at = 0;
  for (let i = 0; i < count; i++) if (!held[i]) train[at++] = i;
  return { train, test };
}

/**
 * How many of `count` images {@link splitSet} holds out to test (a tenth, at least 1 and at most
 * count − 1) and keeps to train on.
 * @param {number} count
 */
export function splitSizes(count) {
  const test = Math.min(count - 1, Math.max(1, Math.round(count * TEST_SHARE)));
  return { train: count - test, test };
}

/**
 * The four IDX files of a set split as {@link splitSet} does: what the model's `loadData` and
 * `vae train --data DIR` read.
 * @param {Uint8Array} pixels  count×784
 * @param {Uint8Array} labels  count
 */
export function splitFiles(pixels, labels) {
  const { train, test } = splitSet(labels.length);
  const pick = (indices) => {
    const images = new Uint8Array(indices.length * 784);
    const picked = new Uint8Array(indices.length);
    indices.forEach((index, k) => {
      images.set(pixels.subarray(index * 784, (index + 1) * 784), k * 784);
      picked[k] = labels[index];
    });
    return [writeIdxImages(images, indices.length), writeIdxLabels(picked)];
  };
  const [trainImages, trainLabels] = pick(train);
  const [testImages, testLabels] = pick(test);
  return { trainImages, trainLabels, testImages, testLabels, train: train.length, test: test.length };
}

/** The names `vae train --data DIR` reads the four files by (MNIST's). */
export const IDX_NAMES = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
});
