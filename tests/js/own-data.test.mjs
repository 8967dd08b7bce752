// "Train on your own images" (www/own-data/): IDX written and read back, the seeded split, labels
// from folder names, zips read with what is skipped and why, images fitted whole, IDX sets
// processed, PNGs decoded, a batch framed as the framers do; and, fed random bytes as a zip or an
// IDX file, never a throw.
//   node --test tests/js/own-data.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { zipSync } from 'fflate';
import { NO_FOLDER, OTHER, classesOf, labelsFor } from '../../www/own-data/classes.js';
import { collect, looksLikeImage } from '../../www/own-data/collect.js';
import { readIdx, writeIdx, writeIdxImages, writeIdxLabels } from '../../www/own-data/idx.js';
import { frameBatch, frameGrey } from '../../www/own-data/frame.js';
import { decodePng } from '../../www/own-data/png.js';
import { rgbaToGrey } from '../../www/explorer/preprocess.js';
import { MAX_IMAGES, processSet, shareBinary } from '../../www/own-data/process.js';
import { IDX_NAMES, splitFiles, splitSet } from '../../www/own-data/split.js';
import { mulberry32 } from '../../www/seeded.js';
import { fitWhole } from '../../www/own-data/whole-image.js';
import { readZip } from '../../www/own-data/zip.js';
import { png, shapeImages } from '../fixtures/shapes.mjs';

const bytesOf = (random, n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));

test('IDX images and labels written and read back: the header MNIST has, the same values', () => {
  const random = mulberry32(7);
  const pixels = bytesOf(random, 5 * 784);
  const labels = Uint8Array.from([0, 9, 3, 3, 1]);
  const images = writeIdxImages(pixels, 5);
  assert.deepEqual([...images.subarray(0, 16)], [0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28]);
  const readImages = readIdx(images);
  assert.ok(readImages.ok);
  assert.deepEqual(readImages.dims, [5, 28, 28]);
  assert.deepEqual(readImages.values, pixels);
  const file = writeIdxLabels(labels);
  assert.deepEqual([...file.subarray(0, 8)], [0, 0, 8, 1, 0, 0, 0, 5]);
  const readLabels = readIdx(file);
  assert.ok(readLabels.ok);
  assert.deepEqual(readLabels.dims, [5]);
  assert.deepEqual(readLabels.values, labels);
  assert.throws(() => writeIdx([2, 28, 28], new Uint8Array(784)), /holds 1568 values, not 784/);
});

test('IDX files that cannot be used come back as reasons', () => {
  const good = writeIdxImages(new Uint8Array(2 * 784), 2);
  const cases = [
    [new Uint8Array([0, 0]), /too short/],
    [Uint8Array.from([1, ...good.subarray(1)]), /two zero bytes/],
    [Uint8Array.from([0, 0, 0x0d, ...good.subarray(3)]), /type 0x0d/],
    [Uint8Array.from([0, 0, 8, 4, ...good.subarray(4)]), /4 dimensions/],
    [good.subarray(0, good.length - 1), /needs 1568 bytes of values; it has 1567/],
    [good.subarray(0, 10), /cut short in its header/],
  ];
  for (const [bytes, reason] of cases) {
    const read = readIdx(bytes);
    assert.equal(read.ok, false);
    assert.match(/** @type {any} */ (read).reason, reason);
  }
});

test('the split: seeded and fixed, a tenth held out (at least one on each side), disjoint, covering', () => {
  for (const [count, test] of [[2, 1], [3, 1], [10, 1], [14, 1], [15, 2], [300, 30], [10_001, 1000]]) {
    const split = splitSet(count);
    assert.equal(split.test.length, test, `${count} images: ${test} to test`);
    assert.equal(split.train.length, count - test);
    const all = [...split.train, ...split.test].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: count }, (_, i) => i), `${count}: every image once`);
    assert.ok(split.train.every((v, i) => i === 0 || v > split.train[i - 1]), 'the training side keeps the images in order');
    assert.deepEqual(splitSet(count), split, 'the same split every time');
  }
  assert.notDeepEqual(splitSet(300, 1).test, splitSet(300, 2).test, 'another seed, another split');
  assert.notDeepEqual([...splitSet(300).test], Array.from({ length: 30 }, (_, i) => i), 'held out at random, not the first');
  assert.throws(() => splitSet(1), /at least 2 images/);
  assert.throws(() => splitSet(0), /at least 2 images/);
});

test("the split's IDX files: each image with its own label, on the side the split puts it", () => {
  const count = 40;
  const pixels = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    pixels.fill(i, i * 784, (i + 1) * 784); // image i is all i
    labels[i] = i % 10;
  }
  const files = splitFiles(pixels, labels);
  const { train, test } = splitSet(count);
  assert.equal(files.train, 36);
  assert.equal(files.test, 4);
  const check = (imagesFile, labelsFile, indices) => {
    const images = readIdx(imagesFile);
    const read = readIdx(labelsFile);
    assert.ok(images.ok && read.ok);
    assert.deepEqual(images.dims, [indices.length, 28, 28]);
    indices.forEach((index, k) => {
      assert.equal(images.values[k * 784], index);
      assert.equal(images.values[k * 784 + 783], index);
      assert.equal(read.values[k], index % 10);
    });
  };
  check(files.trainImages, files.trainLabels, train);
  check(files.testImages, files.testLabels, test);
  assert.deepEqual(Object.values(IDX_NAMES), ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']);
});

test('labels from folders: up to ten classes each their own, in natural order; the shared top folder says nothing', () => {
  const paths = ['shapes/square/1.png', 'shapes/circle/2.png', 'shapes/triangle/3.png', 'shapes/circle/4.png', 'shapes/class10/5.png', 'shapes/class2/6.png'];
  const c = classesOf(paths);
  assert.equal(c.labelled, true);
  assert.deepEqual(c.names, ['circle', 'class2', 'class10', 'square', 'triangle']);
  assert.deepEqual([...c.labels], [3, 0, 4, 0, 2, 1]);
  assert.deepEqual(c.classes.map((k) => [k.name, k.label, k.count]), [['circle', 0, 2], ['class2', 1, 1], ['class10', 2, 1], ['square', 3, 1], ['triangle', 4, 1]]);
  // The same without the shared folder: the same labels.
  assert.deepEqual([...classesOf(paths.map((p) => p.replace('shapes/', ''))).labels], [...c.labels]);
});

test('labels from folders: folders named 0–9 keep their digit; more than ten classes, the first nine keep theirs and the rest are "other"', () => {
  assert.deepEqual([...classesOf(['d/7/a.png', 'd/3/b.png', 'd/7/c.png']).labels], [7, 3, 7]);
  const names = Array.from({ length: 13 }, (_, i) => `k${String(i).padStart(2, '0')}`);
  const c = classesOf(names.map((n) => `root/${n}/x.png`));
  assert.deepEqual([...c.labels], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9]);
  assert.equal(c.names.length, 10);
  assert.equal(c.names[8], 'k08');
  assert.equal(c.names[9], OTHER);
  assert.equal(c.classes.length, 13);
  assert.ok(c.labels.every((l) => l <= 9), 'every label is one the model takes');
});

test('no sub-folders: unlabelled (every label 255, and the set says so); files beside sub-folders are a class of their own', () => {
  const none = classesOf(['a.png', 'b.png', 'c.png']);
  assert.equal(none.labelled, false);
  assert.deepEqual([...none.labels], [255, 255, 255]);
  assert.deepEqual(none.names, []);
  assert.equal(classesOf(['pics/a.png', 'pics/b.png']).labelled, false, 'one folder for all is no class');
  const mixed = classesOf(['x/cat/1.png', 'x/2.png']);
  assert.deepEqual(mixed.names, [NO_FOLDER, 'cat']);
  assert.equal(labelsFor([null, null]).labelled, false);
});

test('a zip with images, a text file and an empty file: the images taken, the other two skipped with their reasons', async () => {
  const image = new Uint8Array(png(2, 2, Uint8Array.from([0, 255, 255, 0])));
  const zip = zipSync({
    'set/a/one.png': image,
    'set/b/two': image, // an image without its extension: known by its bytes
    'set/notes.txt': new TextEncoder().encode('hello'),
    'set/a/empty.png': new Uint8Array(0),
    '__MACOSX/set/._one.png': new Uint8Array(10),
    'set/': new Uint8Array(0),
  });
  const read = readZip(zip, 'set.zip');
  assert.equal(read.refused, null);
  assert.deepEqual(read.entries.map((e) => e.path).sort(), ['set/a/one.png', 'set/b/two', 'set/notes.txt']);
  assert.deepEqual(read.skipped, [{ path: 'set/a/empty.png', reason: 'empty file' }]);

  // The same zip picked as a file: the text file is "not an image" before any decoding.
  const collected = await collect([new File([zip], 'set.zip', { type: 'application/zip' })]);
  assert.deepEqual(collected.images.map((s) => s.path).sort(), ['set/set/a/one.png', 'set/set/b/two']);
  assert.deepEqual(collected.skipped.sort((a, b) => a.path.localeCompare(b.path)), [
    { path: 'set/set/a/empty.png', reason: 'empty file' },
    { path: 'set/set/notes.txt', reason: 'not an image' },
  ]);
  assert.equal(readZip(new TextEncoder().encode('not a zip at all, just some text'), 'x.zip').refused, 'x.zip is not a zip file');
});

test('IDX files picked (gzipped or not) pair images with their labels; a labels file that does not fit is skipped', async () => {
  const pixels = new Uint8Array(3 * 784).fill(200);
  const files = [
    new File([writeIdxImages(pixels, 3)], 'my-images-idx3-ubyte'),
    new File([writeIdxLabels(Uint8Array.from([4, 4, 2]))], 'my-labels-idx1-ubyte'),
    new File([writeIdxLabels(Uint8Array.from([1, 2]))], 'other-labels-idx1-ubyte'),
  ];
  const collected = await collect(files);
  assert.equal(collected.images.length, 0);
  assert.equal(collected.idx.length, 1);
  assert.deepEqual([...collected.idx[0].labels], [4, 4, 2]);
  assert.deepEqual(collected.skipped, [{ path: 'other-labels-idx1-ubyte', reason: 'labels without an IDX images file to go with' }]);

  const set = await processSet(collected, { name: 'mine', framing: 'digit' });
  assert.ok(!('refused' in set));
  assert.equal(set.count, 3);
  assert.deepEqual(set.pixels, pixels, '28×28 IDX images are taken as they are');
  assert.deepEqual([...set.labels], [4, 4, 2], 'digit labels keep their digit');
  assert.equal(set.labelled, true);
  assert.match(set.hash, /^[0-9a-f]{64}$/);
  const again = await processSet(await collect(files), { name: 'mine', framing: 'digit' });
  assert.equal(!('refused' in again) && again.hash, set.hash, 'the same images, the same hash');
});

test('IDX labels of 255 (what Download data set writes for a set without classes) read back as no labels', async () => {
  const pixels = new Uint8Array(3 * 784).fill(90);
  const files = [new File([writeIdxImages(pixels, 3)], 'train-images-idx3-ubyte'), new File([writeIdxLabels(new Uint8Array(3).fill(255))], 'train-labels-idx1-ubyte')];
  const set = await processSet(await collect(files), { name: 'plain', framing: 'digit' });
  assert.ok(!('refused' in set));
  assert.equal(set.labelled, false);
  assert.deepEqual([...set.labels], [255, 255, 255]);
});

test('sets refused as a whole: too many images, or fewer than two', async () => {
  const idx = (count) => ({ path: 'x', count, rows: 28, cols: 28, values: new Uint8Array(count * 784), labels: null });
  const tooMany = await processSet({ images: [], idx: [idx(MAX_IMAGES + 1)], skipped: [] }, { name: 'x', framing: 'digit' });
  assert.match(/** @type {any} */ (tooMany).refused, /100,001 images are more than this page takes \(100,000\)/);
  const one = await processSet({ images: [], idx: [idx(1)], skipped: [] }, { name: 'x', framing: 'digit' });
  assert.match(/** @type {any} */ (one).refused, /only one image/);
  const none = await processSet({ images: [], idx: [], skipped: [{ path: 'a.txt', reason: 'not an image' }] }, { name: 'x', framing: 'digit' });
  assert.match(/** @type {any} */ (none).refused, /none of the 1 files given/);
  assert.deepEqual(/** @type {any} */ (none).skipped, [{ path: 'a.txt', reason: 'not an image' }]);
});

test('whole image: the longer side fitted to 28, the other padded evenly; a light background inverted', () => {
  // 56×28, white, with a black block in its left half.
  const w = 56, h = 28;
  const grey = new Float32Array(w * h).fill(1);
  for (let y = 4; y < 24; y++) for (let x = 4; x < 24; x++) grey[y * w + x] = 0;
  const { pixels, inverted } = fitWhole(grey, w, h);
  assert.equal(inverted, true);
  // Scaled by ½ to 28×14, placed at rows 7–20: the padding is 0, the block (rows 2–11, columns 2–11 of the scaled image) 1.
  assert.equal(pixels[3 * 28 + 14], 0, 'padding above');
  assert.equal(pixels[24 * 28 + 14], 0, 'padding below');
  assert.equal(pixels[(7 + 6) * 28 + 6], 1, 'the block, inverted to full ink');
  assert.equal(pixels[(7 + 6) * 28 + 20], 0, 'the white right half, inverted to background');
  const dark = fitWhole(new Float32Array(28 * 28).fill(0.2), 28, 28);
  assert.equal(dark.inverted, false);
  assert.ok(Math.abs(dark.pixels[400] - 0.2) < 1e-6, 'a dark image keeps its grey levels');
});

test('near-binary images suggest Bernoulli, grey ones Gaussian', () => {
  assert.equal(shareBinary(Uint8Array.from([0, 0, 255, 240, 128])), 0.8);
  assert.equal(shareBinary(new Uint8Array(0)), 0);
});

test('file signatures: images known by their bytes, text not', () => {
  const enc = (s) => new TextEncoder().encode(s);
  assert.ok(looksLikeImage(new Uint8Array(png(1, 1, Uint8Array.of(0))).subarray(0, 16)));
  assert.ok(looksLikeImage(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0)));
  assert.ok(looksLikeImage(enc('GIF89a')));
  assert.ok(looksLikeImage(enc('  <svg xmlns=')));
  assert.ok(!looksLikeImage(enc('hello, world')));
  assert.ok(!looksLikeImage(Uint8Array.of(0, 0, 8, 3)));
});

test('random bytes as a zip, as an IDX file or as picked files: an answer every time, never a throw', async () => {
  const random = mulberry32(26);
  for (let trial = 0; trial < 300; trial++) {
    const n = Math.floor(random() * 400);
    const bytes = bytesOf(random, n);
    // Half the time, plant what a reader looks for first, so that it gets further in.
    if (trial % 2 && n >= 22) bytes.set([0x50, 0x4b, 0x05, 0x06], n - 22); // a zip's end record
    const zip = readZip(bytes, 'r.zip');
    assert.ok(zip.refused === null || typeof zip.refused === 'string', `trial ${trial}`);
    if (trial % 2 && n >= 8) bytes.set([0, 0, 8, 1 + Math.floor(random() * 3)]);
    const idx = readIdx(bytes);
    assert.ok(idx.ok === true || typeof /** @type {any} */ (idx).reason === 'string', `trial ${trial}`);
  }
  // A zip whose entries are damaged: its central directory kept, the data replaced by noise.
  const good = zipSync({ 'a.png': new Uint8Array(png(8, 8, new Uint8Array(64))), 'b.txt': new Uint8Array(500).fill(65) });
  for (let trial = 0; trial < 100; trial++) {
    const damaged = good.slice();
    for (let k = 0; k < 8; k++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
    const read = readZip(damaged, 'd.zip');
    assert.ok(read.refused === null || typeof read.refused === 'string', `damaged trial ${trial}`);
  }
  for (let trial = 0; trial < 50; trial++) {
    const files = Array.from({ length: 3 }, (_, k) => new File([bytesOf(random, Math.floor(random() * 300))], k === 0 ? 'x.zip' : k === 1 ? 'y.gz' : 'z-idx3-ubyte'));
    const collected = await collect(files);
    assert.ok(Array.isArray(collected.skipped));
  }
});

/** A PNG of `rgba`-like samples (`channels` per pixel, 8-bit, colour `type`), each row with `filters[y % n]`. */
function filteredPng(width, height, type, channels, samples, filters, extra = []) {
  const { deflateSync } = zlib;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const filter = filters[y % filters.length];
    raw[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) {
      const x = samples[y * stride + i];
      const a = i >= channels ? samples[y * stride + i - channels] : 0;
      const b = y > 0 ? samples[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? samples[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter];
      raw[y * (stride + 1) + 1 + i] = (x - predicted) & 0xff;
    }
  }
  const chunk = (name, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(name, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(zlib.crc32 ? zlib.crc32(out.subarray(4, 8 + data.length)) : 0, 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = type;
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), ...extra.map(([n, d]) => chunk(n, d)), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
}

test('PNG decoded in the page: grey, grey and alpha, RGB, RGBA and palettes, under each of the five filters', () => {
  const random = mulberry32(5);
  const w = 7, h = 6;
  for (const [type, channels] of [[0, 1], [4, 2], [2, 3], [6, 4]]) {
    const samples = bytesOf(random, w * h * channels);
    const decoded = decodePng(filteredPng(w, h, type, channels, samples, [0, 1, 2, 3, 4]));
    assert.ok(decoded, `colour type ${type}`);
    assert.equal(decoded.width, w);
    for (let i = 0; i < w * h; i++) {
      const s = samples.subarray(i * channels, (i + 1) * channels);
      const expected = channels === 1 ? [s[0], s[0], s[0], 255] : channels === 2 ? [s[0], s[0], s[0], s[1]] : channels === 3 ? [...s, 255] : [...s];
      assert.deepEqual([...decoded.rgba.subarray(4 * i, 4 * i + 4)], expected, `type ${type}, pixel ${i}`);
    }
  }
  const palette = Uint8Array.from([10, 20, 30, 200, 100, 50, 0, 0, 255]);
  const indices = Uint8Array.from({ length: w * h }, (_, i) => i % 3);
  const paletted = decodePng(filteredPng(w, h, 3, 1, indices, [4, 2], [['PLTE', Buffer.from(palette)], ['tRNS', Buffer.from([255, 128])]]));
  assert.ok(paletted);
  assert.deepEqual([...paletted.rgba.subarray(0, 12)], [10, 20, 30, 255, 200, 100, 50, 128, 0, 0, 255, 255]);
  assert.deepEqual([...decodePng(new Uint8Array(png(3, 1, Uint8Array.of(0, 128, 255)))).rgba], [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255]);
  // Left to the browser: not a PNG, cut short, 16-bit.
  assert.equal(decodePng(new TextEncoder().encode('not a png at all, not at all')), null);
  const whole = filteredPng(w, h, 0, 1, bytesOf(random, w * h), [1]);
  assert.equal(decodePng(whole.subarray(0, whole.length - 20)), null);
  const sixteen = whole.slice();
  sixteen[24] = 16;
  assert.equal(decodePng(sixteen), null);
});

test('a PNG whose compressed rows run on past the image, in a stored block: decoded all the same', () => {
  const { deflateSync } = zlib;
  const grey = Uint8Array.from({ length: 20 }, (_, i) => i * 12);
  const raw = Buffer.alloc(4 * 6 + 9); // four rows of a filter byte and 5 pixels, and 9 bytes more
  for (let y = 0; y < 4; y++) raw.set(grey.subarray(y * 5, y * 5 + 5), y * 6 + 1);
  const whole = Buffer.from(png(5, 4, grey));
  const idat = deflateSync(raw, { level: 0 });
  const chunk = Buffer.alloc(12 + idat.length);
  chunk.writeUInt32BE(idat.length, 0);
  chunk.write('IDAT', 4, 'latin1');
  idat.copy(chunk, 8);
  const at = whole.indexOf('IDAT') - 4;
  const longer = Buffer.concat([whole.subarray(0, at), chunk, whole.subarray(whole.indexOf('IEND') - 4)]);
  const decoded = decodePng(new Uint8Array(longer));
  assert.ok(decoded);
  assert.deepEqual(Array.from({ length: 20 }, (_, i) => decoded.rgba[4 * i]), [...grey]);
});

test('a batch framed as the framers do: each PNG as frameGrey makes it, in order, and what is not an image with its reason', async () => {
  const pngs = shapeImages({ perShape: 3 }).map(({ bytes }) => new Uint8Array(bytes));
  const text = new TextEncoder().encode('not an image at all');
  const files = [...pngs.slice(0, 4), text, ...pngs.slice(4)];
  const ends = new Uint32Array(files.length);
  files.reduce((at, f, k) => (ends[k] = at + f.length), 0);
  const bytes = new Uint8Array(ends[ends.length - 1]);
  files.forEach((f, k) => bytes.set(f, k ? ends[k - 1] : 0));
  const named = Uint8Array.from(files, (f) => (f === text ? 0 : 1));
  const framed = await frameBatch({ id: 7, framing: 'digit', bytes, ends, types: files.map(() => ''), named }, /** @type {any} */ (null));
  assert.equal(framed.id, 7);
  assert.deepEqual(framed.reasons, files.map((f) => (f === text ? 'not an image' : null)));
  files.forEach((f, k) => {
    if (f === text) return;
    const { rgba, width, height } = decodePng(f);
    const alone = frameGrey(rgbaToGrey(rgba, width, height), width, height, 'digit');
    assert.ok('bytes' in alone);
    assert.deepEqual(framed.pixels.subarray(k * 784, (k + 1) * 784), alone.bytes, `image ${k}`);
    assert.equal(framed.inverted[k], alone.inverted ? 1 : 0);
  });
});

test("the explorer's words for a set without labels (label 255) name no class", async () => {
  const { nearText, testDigitName } = await import('../../www/explorer/format.js');
  assert.equal(nearText(Uint8Array.of(255, 255, 255)), null);
  assert.equal(nearText(Uint8Array.of(7, 7, 3)), 'mostly 7s (2 of the 3 nearest test digits)');
  assert.equal(testDigitName({ labels: Uint8Array.of(255) }, 0), 'test digit #0');
  assert.equal(testDigitName({ labels: Uint8Array.of(4) }, 0), 'test digit #0, labelled 4');
  const { wordsFor } = await import('../../www/words.js');
  const loose = wordsFor({ name: '60 files', hash: 'h', count: 60, labelled: false, names: [] });
  assert.equal(nearText(Uint8Array.of(255, 255, 255), loose), null);
  assert.equal(testDigitName({ labels: Uint8Array.of(255) }, 0, loose), 'test image #0');
});
