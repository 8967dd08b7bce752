// The explorer's pure view logic: its text (www/explorer/format.js) and what it draws on the
// plane and asks the decoder for (www/explorer/geometry.js), with answers worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisNames, coordsText, fmt, muText, nearText, planeText, posteriorCaption, selectedText, sliceNoteText, statusText, testDigitName, vectorData, zName } from '../../www/explorer/format.js';
import { chooseDims, interpolationPath, markerFor, nearestPoints, pathOnPlane, planeGrid } from '../../www/explorer/geometry.js';
import { Slice } from '../../www/explorer/slice.js';
import { MNIST_WORDS, className, inWords, wordsFor } from '../../www/words.js';

const close = (a, b, tol, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('names and numbers', () => {
  assert.equal(zName(0), 'z₁');
  assert.equal(zName(11), 'z₁₂');
  assert.equal(fmt(1.234), '1.23');
  assert.equal(fmt(-1.236), '−1.24');
  assert.equal(fmt(-0.001), '0.00', 'no negative zero');
  assert.equal(muText(Float32Array.of(0.5, -2)), '(0.50, −2.00)');
  assert.equal(muText(new Float32Array(10)), '(0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, … 10 values)');
  assert.equal(vectorData(Float32Array.of(0.5, -0.25)), '0.5000,-0.2500');
  assert.equal(statusText(1000, 0, 2), '1,000 test digits encoded; latent dimension 2.');
  assert.equal(statusText(1000, 12345, 5), '1,000 test digits encoded at training step 12,345; latent dimension 5.');
});

test('words for who cannot see the plane: the digits near the handle, the plane itself', () => {
  assert.equal(nearText([]), null);
  assert.equal(nearText([7, 7, 7]), 'among 7s (all 3 nearest test digits)');
  assert.equal(nearText([7, 1, 7, 7, 9]), 'mostly 7s (3 of the 5 nearest test digits)');
  // No majority: the three commonest, ties in digit order.
  assert.equal(nearText([4, 9, 4, 9, 7, 1]), 'between 4s, 9s and 1s (the 6 nearest test digits)');
  assert.equal(testDigitName({ labels: [3, 8] }, 1), 'test digit #1, labelled 8');

  const plane = {
    count: 2000, range: { cx: 0.5, cy: -1, half: 2 }, axes: ['z₁', 'z₂'], flat: false, handle: 'z = (0.41, −1.20)',
    outside: false, near: null, selected: null, layers: [], message: null,
  };
  assert.equal(planeText(plane),
    "The latent plane, z₁ from −1.50 to 2.50 and z₂ from −3.00 to 1.00: 2,000 test digits' encodings μ as dots coloured by their label; the handle at z = (0.41, −1.20).");
  assert.equal(planeText({ ...plane, flat: true, axes: ['z₁', ''], outside: true, near: 'near 1s', selected: 'test digit #3, labelled 0', layers: ['your upload at its μ'] }),
    "The latent plane, z₁ from −1.50 to 2.50: 2,000 test digits' encodings μ as dots coloured by their label; the handle at z = (0.41, −1.20), " +
      'beyond the part shown (drawn at its edge), near 1s; selected: test digit #3, labelled 0; also shown: your upload at its μ.');
  assert.equal(planeText({ ...plane, message: 'waiting for the model' }), 'The latent plane: waiting for the model');
});

test('in the words of the data: MNIST’s digits and their numbers, or a visitor’s images and the classes their folders name', () => {
  const shapes = wordsFor({ name: 'shapes', hash: 'h', count: 300, labelled: true, names: ['circles', 'squares', 'triangles'] });
  const loose = wordsFor({ name: '60 files', hash: 'h', count: 60, labelled: false, names: [] });
  assert.equal(wordsFor(null), MNIST_WORDS);
  assert.deepEqual({ ...shapes, names: [...shapes.names] }, { source: 'own', digit: 'image', digits: 'images', labelled: true, names: ['circles', 'squares', 'triangles'], train: 270, test: 30 });
  assert.equal(className(shapes, 2), 'triangles');
  assert.equal(className(loose, 255), null, 'a set without labels names no class');
  assert.equal(className(MNIST_WORDS, 7), '7');

  assert.equal(nearText([1, 1, 1], shapes), 'among “squares” (all 3 nearest test images)');
  assert.equal(nearText([0, 2, 0, 0, 1], shapes), 'mostly “circles” (3 of the 5 nearest test images)');
  assert.equal(nearText([0, 2, 1, 2, 1, 0], shapes), 'between “circles”, “squares” and “triangles” (the 6 nearest test images)');
  assert.equal(nearText([255, 255], loose), null);
  assert.equal(testDigitName({ labels: [3, 2] }, 1, shapes), 'test image #1, labelled triangles');
  assert.equal(testDigitName({ labels: [255] }, 0, loose), 'test image #0');
  assert.equal(statusText(30, 0, 2, shapes), '30 test images encoded; latent dimension 2.');
  const test = { mu: Float32Array.from({ length: 10 }, (_, i) => i / 10), labels: Uint8Array.of(0, 1), n: 2 };
  assert.match(sliceNoteText({ dim: 5, slice: new Slice(5), selected: 1, test, words: shapes }), /stay at those of the selected test image #1 \(labelled squares\)\.$/);
  assert.equal(selectedText({ selected: 0, test, dim: 5, words: shapes }, { short: true }), 'Test image #0, labelled circles');
  assert.equal(posteriorCaption(2, 'drawing', null, 96, shapes), 'No drawing yet: draw an image below.');
  assert.match(posteriorCaption(2, 'test', null, 96, shapes), /^Click a test image on the plane/);
  const plane = { count: 6, range: { cx: 0, cy: 0, half: 1 }, axes: ['z₁', 'z₂'], flat: false, handle: 'z = (0.00, 0.00)', outside: false, near: null, selected: null, layers: [], message: null };
  assert.match(planeText({ ...plane, words: loose }), /: 6 test images' encodings μ as dots of one colour \(the images have no labels\);/);

  // The markup's phrases: MNIST's kept as they are, the visitor's in their words and numbers.
  const markup = 'Upload a digit image. Repair a digit: the 10,000 test digits, all 10,000, the 60,000 training digits. Digits decoded. Colours of the digits';
  assert.equal(inWords(markup, MNIST_WORDS), markup);
  assert.equal(inWords(markup, shapes), 'Upload an image. Repair an image: the 30 test images, all 30, the 270 training images. Images decoded. Colours of the classes');
  assert.equal(inWords('Each dot is a test digit’s encoding μ, coloured by its label', loose), 'Each dot is a test image’s encoding μ, all one colour (these images have no labels)');
});

test('axis names and the handle’s coordinates', () => {
  const slice = new Slice(5);
  slice.setDims(3, 1);
  assert.deepEqual(axisNames(slice), ['z₄', 'z₂']);
  assert.deepEqual(axisNames(new Slice(1)), ['z₁', '']);
  const z = slice.toLatent(1.5, -0.5);
  assert.equal(coordsText({ dim: 5, slice, handle: { a: 1.5, b: -0.5, z } }), 'z₄ = 1.50, z₂ = −0.50');
  const small = new Slice(2);
  assert.equal(coordsText({ dim: 2, slice: small, handle: { a: 1, b: 2, z: small.toLatent(1, 2) } }), 'z = (1.00, 2.00)');
  slice.setAxes([1, 0, 0, 0, 0], [0, 1, 0, 0, 0]);
  assert.deepEqual(axisNames(slice), ['PC 1', 'PC 2']);
  assert.equal(coordsText({ dim: 5, slice, handle: { a: 0.25, b: 1, z: slice.toLatent(0.25, 1) } }), 'PC 1 = 0.25, PC 2 = 1.00');
});

test('the slice note and the selected digit’s caption', () => {
  const slice = new Slice(5);
  const test = { mu: Float32Array.from({ length: 10 }, (_, i) => i / 10), labels: Uint8Array.of(3, 8), n: 2 };
  assert.equal(sliceNoteText({ dim: 2, slice: new Slice(2), selected: null, test }), null);
  assert.match(sliceNoteText({ dim: 5, slice, selected: null, test }), /^The latent space has 5 dimensions, .* spanned by z₁ and z₂; the other coordinates stay at those of the selected point/);
  assert.match(sliceNoteText({ dim: 5, slice, selected: 1, test }), /stay at those of the selected test digit #1 \(a 8\)\.$/);
  assert.equal(selectedText({ selected: 1, test, dim: 5 }), 'Test digit #1, labelled 8. μ = (0.50, 0.60, 0.70, 0.80, 0.90)');
  assert.equal(selectedText({ selected: 1, test, dim: 5 }, { short: true }), 'Test digit #1, labelled 8');
});

test('markers and the interpolation path on the plane', () => {
  const slice = new Slice(3);
  slice.setDims(2, 0);
  const item = { mu: Float32Array.of(1, 2, 3), logVar: Float32Array.of(0, Math.log(4), Math.log(9)) };
  const marker = markerFor('upload', item, slice);
  assert.deepEqual([marker.a, marker.b], [3, 1]);
  assert.deepEqual(Array.from(marker.cov), [9, 0, 1], 'variances along z3 and z1');
  assert.equal(marker.shape, 'diamond');
  assert.equal(markerFor('drawing', item, slice).labelSide, 'left');
  assert.equal(markerFor('upload', { mu: null, logVar: null }, slice), null);
  assert.equal(markerFor('upload', { mu: Float32Array.of(1, 2), logVar: Float32Array.of(0, 0) }, slice), null, 'μ of another dimension');
  assert.equal(markerFor('upload', null, slice), null);

  assert.deepEqual(Array.from(pathOnPlane({ a: Float32Array.of(1, 2, 3), b: Float32Array.of(0, 0, -1) }, slice).points), [3, 1, -1, 0]);
  assert.equal(pathOnPlane(null, slice), null);
});

test('the interpolation path runs from μA to μB in equal steps', () => {
  const z = interpolationPath(Float32Array.of(0, 10), Float32Array.of(9, -8), 10);
  assert.equal(z.length, 20);
  assert.deepEqual(Array.from(z.subarray(0, 2)), [0, 10]);
  assert.deepEqual(Array.from(z.subarray(18)), [9, -8]);
  assert.deepEqual(Array.from(z.subarray(2, 4)), [1, 8]);
  assert.throws(() => interpolationPath(Float32Array.of(0), Float32Array.of(0, 1), 3), RangeError);
});

test('the manifold grid: columns from the left, rows from the top, the rest from the base', () => {
  const q = [-1, 0, 2]; // any increasing quantiles
  const flat = new Slice(3);
  flat.setDims(2, 0);
  flat.setBase([5, 6, 7]);
  const z = planeGrid(flat, q);
  assert.equal(z.length, 3 * 3 * 3);
  // Cell (row 0, column 2): a = q[2] along z3, b = q[2] along z1 (the top row has the largest b).
  assert.deepEqual(Array.from(z.subarray(3 * 2, 3 * 3)), [2, 6, 2]);
  // Cell (row 2, column 0): a = q[0], b = q[0].
  assert.deepEqual(Array.from(z.subarray(3 * 6, 3 * 7)), [-1, 6, -1]);

  const tilted = new Slice(3);
  const s = Math.SQRT1_2;
  tilted.setAxes([s, s, 0], [0, 0, 1]);
  const zt = planeGrid(tilted, q);
  const [a, b] = tilted.coords(zt, 3 * 1); // row 0, column 1
  close(a, 0, 1e-6);
  close(b, 2, 1e-6);
});

test('choosing the plane’s two dimensions: the same one twice swaps them', () => {
  assert.deepEqual(chooseDims([0, 1], 2, 1, 'x'), [2, 1]);
  assert.deepEqual(chooseDims([0, 1], 1, 1, 'x'), [1, 0], 'horizontal takes the vertical’s: they swap');
  assert.deepEqual(chooseDims([0, 1], 0, 0, 'y'), [1, 0], 'vertical takes the horizontal’s: they swap');
  assert.deepEqual(chooseDims([3, 4], 3, 3, 'y'), [4, 3]);
});

test('the true posterior panel says whose posterior it is', () => {
  assert.match(posteriorCaption(1, 'test', null, 96), /at least two dimensions/);
  assert.match(posteriorCaption(2, 'test', null, 96), /^Click a test digit/);
  assert.equal(posteriorCaption(2, 'drawing', null, 96), 'No drawing yet: draw a digit below.');
  assert.equal(posteriorCaption(2, 'test', { text: 'test digit #3 (a 5)' }, 96), 'Of test digit #3 (a 5), on a 96×96 grid over the plane as shown.');
  assert.match(posteriorCaption(20, 'upload', { text: 'your upload a.png' }, 96), /^Of your upload a\.png, .* On this plane through the latent space only/);
});

test('the points nearest to the handle: nearest first, NaN skipped, by the first coordinate alone in 1-D', () => {
  // (0, 0), (3, 0), (1, 1), (NaN, 0), (0, -2), (-1, 0)
  const xy = Float32Array.of(0, 0, 3, 0, 1, 1, NaN, 0, 0, -2, -1, 0);
  assert.deepEqual(nearestPoints(xy, 6, 0.1, 0, 3), [0, 5, 2]); // d² 0.01, 1.21, 1.81
  assert.deepEqual(nearestPoints(xy, 6, 2.5, 0, 1), [1]);
  assert.deepEqual(nearestPoints(xy, 6, 0, 0, 10), [0, 5, 2, 4, 1], 'all there are, the NaN left out');
  assert.deepEqual(nearestPoints(xy, 6, 0.9, null, 2), [2, 0], '1-D: |a − 0.9| only, so (1, 1) first');
  assert.deepEqual(nearestPoints(xy, 0, 0, 0, 3), []);
});
