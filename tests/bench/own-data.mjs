#!/usr/bin/env node
// How soon the page trains on a visitor's own images: 10,000 PNGs (40×40, three shapes in three
// sub-folders, tests/fixtures/shapes.mjs) chosen through the page's folder input, and as one .zip
// through its file input, in headless Chromium on the CPU backend. For each, `runs` times on a
// fresh page, in ms from choosing the images:
//   read        the images read, made 28×28 and shown (the contact sheet, the counts, the split)
//   in page     of which the page's own part, from the input's change event (the status's
//               data-ms); the rest is the browser handing the files over to the page
//   first step  after "Train on these" is pressed at once: the step readout says 1
// The target is a first step within 5 s of choosing 10,000 images. Medians are printed; the last
// line is one JSON object.
//   node tests/bench/own-data.mjs [--runs 3] [--images 10000]

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { zipSync } from 'fflate';
import { shapeImages } from '../fixtures/shapes.mjs';
import { openApp } from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => Number(args[args.indexOf(name) + 1] || 0) || fallback;
const RUNS = option('--runs', 3);
const IMAGES = option('--images', 10_000);

const images = shapeImages({ perShape: Math.ceil(IMAGES / 3), root: 'shapes/' }).slice(0, IMAGES);
const dir = mkdtempSync(join(tmpdir(), 'own-bench-'));
const zip = {};
for (const { path, bytes } of images) {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), bytes);
  zip[path] = new Uint8Array(bytes);
}
const zipped = Buffer.from(zipSync(zip, { level: 6 }));
console.log(`# ${IMAGES.toLocaleString('en-US')} PNGs, ${(images.reduce((s, i) => s + i.bytes.length, 0) / 1e6).toFixed(1)} MB; as a zip ${(zipped.length / 1e6).toFixed(1)} MB`);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return Math.round(sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2);
};

const app = await openApp({ webgpu: false });
const results = {};
try {
  for (const [name, choose] of [
    ['folder', (p) => p.page.setInputFiles('[data-testid="data-folder"]', join(dir, 'shapes'))],
    ['zip', (p) => p.page.setInputFiles('[data-testid="data-files"]', { name: 'shapes.zip', mimeType: 'application/zip', buffer: zipped })],
  ]) {
    const runs = [];
    for (let run = 0; run < RUNS; run++) {
      const p = await app.page({ backend: 'cpu' });
      await p.page.check('[data-testid="data-own"]');
      const started = performance.now();
      await choose(p);
      await p.waitFor('data-status', 'data-state', (v) => v === 'ready' || v === 'refused', { timeout: 300_000, message: 'the images read' });
      const read = performance.now() - started;
      if ((await p.read('data-status', 'data-state')) !== 'ready') throw new Error(`refused: ${await p.text('data-status')}`);
      const taken = await p.readNumber('data-status', 'data-taken');
      await p.click('data-use');
      await p.waitForNumber('step', 'data-step', (s) => s >= 1, { timeout: 300_000, message: 'the first step' });
      const firstStep = performance.now() - started;
      const inPage = await p.readNumber('data-status', 'data-ms');
      runs.push({ read, firstStep, inPage, handOver: read - inPage });
      console.log(`# ${name} run ${run + 1}: ${taken} images taken; read and shown ${read.toFixed(0)} ms (handed over ${(read - inPage).toFixed(0)} ms, in the page ${inPage} ms), first step ${firstStep.toFixed(0)} ms`);
      if (p.errors.length) console.log(`# errors: ${JSON.stringify(p.errors)}`);
      await p.close();
    }
    results[name] = { read: median(runs.map((r) => r.read)), firstStep: median(runs.map((r) => r.firstStep)), inPage: median(runs.map((r) => r.inPage)), handOver: median(runs.map((r) => r.handOver)) };
    const m = results[name];
    console.log(`${name}: median read ${m.read} ms (handed over ${m.handOver}, in the page ${m.inPage}), first step ${m.firstStep} ms (target 5000)`);
  }
} finally {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ images: IMAGES, runs: RUNS, ...results }));
