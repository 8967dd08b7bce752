#!/usr/bin/env node
// WebGPU work per training step, counted in the page's model worker:
//   node tests/bench/dispatches.mjs [--warmup-steps 3] [--steps 4] [--steps-only] [--latent-dim 20]
//
// Wraps, inside the worker (the only place the model lives), the WebGPU calls that cost a GPU
// time whatever its speed: compute dispatches (GPUComputePassEncoder.dispatchWorkgroups),
// queue submissions (GPUQueue.submit), buffer writes (GPUQueue.writeBuffer), read-backs
// (GPUBuffer.mapAsync), new buffers (GPUDevice.createBuffer) and compute pipelines compiled
// (createComputePipeline, and its async form). The app is not changed: the wrappers are installed
// from the benchmark when the worker starts. These counts do not depend on the machine, so they
// say what a real GPU would be asked to do where there is none (SwiftShader here).
//
// For the standard configuration (784-400-20, M = 100): the training step alone, one step per
// call as TF.js is driven below (a fresh model, nothing else asked of the worker); then, unless
// --steps-only, the live page with the explorer blocked (training alone, with the page's chunks
// and test bounds) and with it (the page as a visitor has it): pipelines compiled by the end of the first step, then
// per step over `--steps` steps after `--warmup-steps`, and examples/s over those steps. Then the
// same model in TF.js 4.22's WebGPU backend (tests/bench/tfjs/vae-worker.js, in a worker of the
// same browser, with the same counters; a dev-dependency of this benchmark only), one read-back per
// step as the page makes on a software adapter. The last line is one JSON object.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingArtifacts, openApp } from '../e2e/harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TFJS = join(HERE, '..', '..', 'node_modules', '@tensorflow');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const WARMUP_STEPS = option('--warmup-steps', 3);
const STEPS = option('--steps', 4);
// The standard configuration, or the page's 2-D model with `--latent-dim 2`.
const CONFIG = { latentDim: option('--latent-dim', 20), hidden: 400, batch: 100 };

const missing = missingArtifacts();
if (missing.length) {
  console.error(`dispatches: missing ${missing.join(', ')}: build pkg/ and the data first`);
  process.exit(1);
}

/** Runs in the worker: counts calls to the WebGPU methods named here. */
function installCounters() {
  if (self.__gpuCounts) return;
  const counts = { dispatches: 0, submits: 0, writes: 0, reads: 0, buffers: 0, pipelines: 0 };
  self.__gpuCounts = counts;
  const wrap = (proto, name, key) => {
    const original = proto?.[name];
    if (typeof original !== 'function') return;
    proto[name] = function counted(...rest) {
      counts[key] += 1;
      return original.apply(this, rest);
    };
  };
  wrap(self.GPUComputePassEncoder?.prototype, 'dispatchWorkgroups', 'dispatches');
  wrap(self.GPUComputePassEncoder?.prototype, 'dispatchWorkgroupsIndirect', 'dispatches');
  wrap(self.GPUQueue?.prototype, 'submit', 'submits');
  wrap(self.GPUQueue?.prototype, 'writeBuffer', 'writes');
  wrap(self.GPUBuffer?.prototype, 'mapAsync', 'reads');
  wrap(self.GPUDevice?.prototype, 'createBuffer', 'buffers');
  wrap(self.GPUDevice?.prototype, 'createComputePipeline', 'pipelines');
  wrap(self.GPUDevice?.prototype, 'createComputePipelineAsync', 'pipelines');
}

async function waitForStep(p, predicate, timeout = 600_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const step = Number((await p.read('step', 'data-step')) ?? NaN);
    if (Number.isFinite(step) && predicate(step)) return step;
    if (Date.now() > deadline) throw new Error(`timed out at step ${step}; page says: ${await p.text('error')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Opens the page on WebGPU with `query`, the counters installed in its model worker (the explorer
 * blocked unless `explorer`), and waits until Start is enabled: `{ p, counts }`, where `counts()`
 * reads the worker's counters.
 */
async function openCounted(app, query, { explorer }) {
  let worker = null;
  const setup = (page) => {
    page.on('worker', (w) => {
      worker = w;
      w.evaluate(installCounters).catch(() => {});
    });
    if (!explorer) return page.route('**/www/explorer/index.js', (route) => route.abort());
    return null;
  };
  const p = await app.page({ backend: 'webgpu', ...CONFIG, ...query }, { waitForReady: false, setup });
  await p.page.waitForSelector('[data-testid="start"]:not([disabled])', { timeout: 300_000 });
  if (!worker) throw new Error('no worker started');
  return { p, counts: () => worker.evaluate(() => ({ ...self.__gpuCounts })) };
}

/** Counts per step between two readings of the counters, over `steps` steps. */
const perStepOf = (c0, c1, steps) => Object.fromEntries(Object.keys(c1).map((k) => [k, Number(((c1[k] - c0[k]) / steps).toFixed(1))]));

async function measure(app, { explorer }) {
  const { p, counts } = await openCounted(app, {}, { explorer });
  const atReady = await counts();
  await p.click('start');
  await waitForStep(p, (s) => s >= 1);
  const afterFirst = await counts();
  // Counted between two step readouts; the page pauses nothing in between, so whole steps only.
  const s0 = await waitForStep(p, (s) => s >= WARMUP_STEPS);
  const c0 = await counts();
  const t0 = performance.now();
  const s1 = await waitForStep(p, (s) => s >= s0 + STEPS);
  const seconds = (performance.now() - t0) / 1000;
  const c1 = await counts();
  await p.click('pause');
  await p.close();
  const perStep = perStepOf(c0, c1, s1 - s0);
  const examplesPerSecond = Number((((s1 - s0) * CONFIG.batch) / seconds).toFixed(1));
  const result = { who: explorer ? 'ours, page' : 'ours, training alone', steps: s1 - s0, pipelinesAtReady: atReady.pipelines, pipelinesByFirstStep: afterFirst.pipelines, perStep, examplesPerSecond };
  report(result);
  return result;
}

/**
 * The training step alone, driven as TF.js's is: one step per call (`?faults=1`'s trainSteps, a
 * fresh model, nothing else asked of the worker), so the counts are the step's own.
 */
async function measureSteps(app) {
  const { p, counts } = await openCounted(app, { model: 'scratch', faults: '1' }, { explorer: false });
  const step = () => p.page.evaluate(() => window.__faults.trainSteps(1));
  const atReady = await counts();
  await step();
  const afterFirst = await counts();
  for (let i = 1; i < WARMUP_STEPS; i++) await step();
  const c0 = await counts();
  let ms = 0;
  for (let i = 0; i < STEPS; i++) ms += (await step()).msPerStep;
  const c1 = await counts();
  await p.close();
  const perStep = perStepOf(c0, c1, STEPS);
  const examplesPerSecond = Number(((STEPS * CONFIG.batch) / (ms / 1000)).toFixed(1));
  const result = { who: 'ours, one step a call', steps: STEPS, pipelinesAtReady: atReady.pipelines, pipelinesByFirstStep: afterFirst.pipelines, perStep, examplesPerSecond };
  report(result);
  return result;
}

function report({ who, steps, pipelinesAtReady, pipelinesByFirstStep, perStep, examplesPerSecond }) {
  console.log(
    `webgpu ${CONFIG.latentDim === 20 ? 'standard' : `${CONFIG.latentDim}-D`}, ${who.padEnd(20)} per step over ${steps} steps: ${perStep.dispatches} dispatches, ` +
      `${perStep.submits} submits, ${perStep.writes} buffer writes, ${perStep.reads} read-backs, ${perStep.buffers} new buffers; ` +
      `pipelines compiled: ${pipelinesAtReady} at ready, ${pipelinesByFirstStep} by the first step; ${examplesPerSecond} examples/s`,
  );
}

/** Serves TF.js's UMD builds, the counters and the VAE worker on a port of its own. */
async function tfjsServer() {
  const files = {
    '/index.html': ['text/html', '<!doctype html><title>TF.js VAE</title>'],
    '/counters.js': ['text/javascript', `self.__installCounters = ${installCounters.toString()};`],
    '/vae-worker.js': ['text/javascript', readFileSync(join(HERE, 'tfjs', 'vae-worker.js'))],
    '/tf.js': ['text/javascript', readFileSync(join(TFJS, 'tfjs', 'dist', 'tf.min.js'))],
    '/tf-backend-webgpu.js': ['text/javascript', readFileSync(join(TFJS, 'tfjs-backend-webgpu', 'dist', 'tf-backend-webgpu.min.js'))],
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url, 'http://x').pathname];
    if (!file) return response.writeHead(404).end();
    response.writeHead(200, { 'Content-Type': file[0] }).end(file[1]);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** The same counts for TF.js's WebGPU backend training the same model in the same browser. */
async function measureTfjs(app) {
  const server = await tfjsServer();
  const page = await app.browser.newPage();
  try {
    await page.goto(`${server.url}index.html`);
    await page.evaluate((latent) => {
      const worker = new Worker(`vae-worker.js?latent=${latent}`);
      let next = 0;
      const pending = new Map();
      worker.onmessage = ({ data }) => {
        const { resolve, reject } = pending.get(data.id);
        pending.delete(data.id);
        if (data.ok) resolve(data.result);
        else reject(new Error(data.error));
      };
      worker.onerror = (event) => pending.forEach(({ reject }) => reject(new Error(event.message)));
      window.ask = (type, n) => new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, type, n });
      });
    }, CONFIG.latentDim);
    const ask = (type, n) => page.evaluate(([t, k]) => window.ask(t, k), [type, n]);
    await ask('ready');
    const atReady = await ask('counts');
    await ask('train', 1);
    const afterFirst = await ask('counts');
    for (let i = 1; i < WARMUP_STEPS; i++) await ask('train', 1);
    const c0 = await ask('counts');
    let ms = 0;
    for (let i = 0; i < STEPS; i++) ms += (await ask('train', 1)).ms;
    const c1 = await ask('counts');
    const perStep = perStepOf(c0, c1, STEPS);
    const examplesPerSecond = Number(((STEPS * CONFIG.batch) / (ms / 1000)).toFixed(1));
    const result = { who: 'TF.js 4.22 WebGPU', steps: STEPS, pipelinesAtReady: atReady.pipelines, pipelinesByFirstStep: afterFirst.pipelines, perStep, examplesPerSecond };
    report(result);
    return result;
  } finally {
    await page.close();
    await server.close();
  }
}

const app = await openApp({ webgpu: true });
const runs = [];
try {
  runs.push(await measureSteps(app));
  if (!args.includes('--steps-only')) for (const explorer of [false, true]) runs.push(await measure(app, { explorer }));
  runs.push(await measureTfjs(app));
} finally {
  await app.close();
}
console.log(JSON.stringify({ bench: 'dispatches', config: CONFIG, runs }));
