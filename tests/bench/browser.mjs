#!/usr/bin/env node
// Browser benchmark: the real page in headless Chromium, as a visitor would run it.
//   node tests/bench/browser.mjs [--cpu-seconds 10] [--gpu-steps 3] [--no-webgpu]
//
// Prints, for the standard configuration (latentDim 20, hidden 400, batch 100) and the 2-D one
// (latentDim 2, hidden 400, batch 100), on the CPU backend and on WebGPU:
//   - time from opening the page to ready (wasm loaded, device up, data in) and to the first
//     training step (Start clicked as soon as it is enabled);
//   - training examples per second after warm-up, measured from the page's examples-seen readout
//     against the wall clock (so chunking, messaging, test evaluations and the explorer's requests
//     count), and the page's own examples/s readout at the end (wall clock over its last 4 s);
//     also with the explorer blocked (CPU: both configurations; WebGPU: the standard one), to show
//     what the live explorer costs training;
// and the size of the .wasm as served and gzipped (-9). The last line is one JSON object.
//
// WebGPU in headless Chromium here is SwiftShader, a software adapter: its numbers say the code
// path works, not how fast a GPU is. It is kept to a few steps after warm-up.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { missingArtifacts, openApp, ROOT } from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const CPU_SECONDS = option('--cpu-seconds', 10);
const CPU_WARMUP_SECONDS = option('--cpu-warmup', 3);
const GPU_WARMUP_STEPS = option('--gpu-warmup', 3);
const GPU_STEPS = option('--gpu-steps', 3);
const WITH_WEBGPU = !args.includes('--no-webgpu');

const CONFIGS = {
  standard: { latentDim: 20, hidden: 400, batch: 100 },
  '2d': { latentDim: 2, hidden: 400, batch: 100 },
};

const missing = missingArtifacts();
if (missing.length) {
  console.error(`bench: missing ${missing.join(', ')}: build pkg/ and the data first`);
  process.exit(1);
}

const log = (line) => console.log(line);
const round = (x, digits = 1) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/** Polls until the number at testid[attr] passes `predicate`; returns { value, at } (ms, performance.now). */
async function waitNumber(p, testid, attr, predicate, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = Number((await p.read(testid, attr)) ?? NaN);
    if (Number.isFinite(value) && predicate(value)) return { value, at: performance.now() };
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${testid}[${attr}] (last ${value}); page says: ${await p.text('error')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * One run. With `explorer: false` the explorer's module is blocked, so the worker trains alone:
 * the explorer asks the same worker for encodings and decodings while training runs (by design,
 * it stays live), and the difference between the two runs is what it costs training.
 */
async function measure(app, backend, name, { explorer = true } = {}) {
  const query = { backend, ...CONFIGS[name] };
  const setup = explorer ? null : (page) => page.route('**/www/explorer/index.js', (route) => route.abort());
  const opened = performance.now();
  const p = await app.page(query, { waitForReady: false, setup });
  await p.page.waitForSelector('[data-testid="start"]:not([disabled])', { timeout: 300_000 }).catch(async (error) => {
    throw new Error(`${error.message}; page says: ${await p.text('error')}`);
  });
  const ready = performance.now();
  const actual = await p.read('backend', 'data-backend');
  const adapter = await p.read('backend', 'data-adapter');
  if (actual !== backend) throw new Error(`asked for ${backend}, the page runs on ${actual}: ${await p.text('backend')}`);
  await p.click('start');
  const first = await waitNumber(p, 'step', 'data-step', (s) => s >= 1, 300_000);

  let start;
  let end;
  if (backend === 'cpu') {
    await new Promise((resolve) => setTimeout(resolve, CPU_WARMUP_SECONDS * 1000));
    const seen = await p.readNumber('examples-seen', 'data-examples-seen');
    start = await waitNumber(p, 'examples-seen', 'data-examples-seen', (v) => v > seen, 60_000);
    await new Promise((resolve) => setTimeout(resolve, CPU_SECONDS * 1000));
    const seenLater = await p.readNumber('examples-seen', 'data-examples-seen');
    end = await waitNumber(p, 'examples-seen', 'data-examples-seen', (v) => v > seenLater, 60_000);
  } else {
    // Timed from one step's arrival to a later one's (polled every 25 ms, against steps of seconds).
    const warm = await waitNumber(p, 'step', 'data-step', (s) => s >= GPU_WARMUP_STEPS, 600_000);
    start = { value: await p.readNumber('examples-seen', 'data-examples-seen'), at: warm.at };
    await waitNumber(p, 'step', 'data-step', (s) => s >= warm.value + GPU_STEPS, 600_000);
    end = { value: await p.readNumber('examples-seen', 'data-examples-seen'), at: performance.now() };
  }
  const readoutRate = await p.readNumber('examples-per-second', 'data-examples-per-second');
  const steps = await p.readNumber('step', 'data-step');
  const loss = await p.readNumber('loss', 'data-loss');
  await p.click('pause');
  await p.close();
  const result = {
    backend,
    adapter,
    config: name,
    explorer,
    ...CONFIGS[name],
    readyMs: round(ready - opened, 0),
    firstStepMs: round(first.at - opened, 0),
    examplesPerSecond: round(((end.value - start.value) / (end.at - start.at)) * 1000),
    readoutExamplesPerSecond: round(readoutRate),
    measuredExamples: end.value - start.value,
    steps,
    loss: round(loss, 2),
    // The blocked explorer module is one expected console error.
    errors: p.errors.filter((e) => explorer || !e.includes('explorer')).length,
  };
  log(
    `${backend.padEnd(6)} ${name.padEnd(8)} ${explorer ? 'page    ' : 'no expl.'} ready ${(result.readyMs / 1000).toFixed(1)} s, first step ${(result.firstStepMs / 1000).toFixed(1)} s, ` +
      `${result.examplesPerSecond} examples/s (readout: ${result.readoutExamplesPerSecond}) over ${result.measuredExamples} examples; ` +
      `step ${steps}, loss ${result.loss}${result.errors ? `; console errors: ${p.errors.join(' | ')}` : ''}`,
  );
  return result;
}

async function wasmSize(app) {
  const file = readFileSync(join(ROOT, 'pkg', 'vae_web_bg.wasm'));
  const response = await fetch(`${app.url}pkg/vae_web_bg.wasm`);
  const served = new Uint8Array(await response.arrayBuffer());
  const result = {
    bytes: file.length,
    servedBytes: served.length,
    servedContentEncoding: response.headers.get('content-encoding'),
    gzip9Bytes: gzipSync(file, { level: 9 }).length,
  };
  log(
    `wasm: ${(result.servedBytes / 1e6).toFixed(2)} MB as served (${result.servedContentEncoding ?? 'no content-encoding'}), ` +
      `${(result.gzip9Bytes / 1e6).toFixed(2)} MB gzipped (-9)`,
  );
  return result;
}

const report = { runs: [], wasm: null, chromium: null };
const cpuApp = await openApp({ webgpu: false });
try {
  report.chromium = cpuApp.browser.version();
  report.wasm = await wasmSize(cpuApp);
  for (const name of Object.keys(CONFIGS)) {
    report.runs.push(await measure(cpuApp, 'cpu', name));
    report.runs.push(await measure(cpuApp, 'cpu', name, { explorer: false }));
  }
} finally {
  await cpuApp.close();
}
if (WITH_WEBGPU) {
  const gpuApp = await openApp({ webgpu: true });
  try {
    const runs = [...Object.keys(CONFIGS).map((name) => [name, true]), ['standard', false]];
    for (const [name, explorer] of runs) {
      try {
        report.runs.push(await measure(gpuApp, 'webgpu', name, { explorer }));
      } catch (error) {
        log(`webgpu ${name}: ${error.message}`);
        report.runs.push({ backend: 'webgpu', config: name, explorer, error: error.message });
      }
    }
  } finally {
    await gpuApp.close();
  }
}
console.log(JSON.stringify({ bench: 'browser', ...report }));
