#!/usr/bin/env node
// WebGPU work per training step, counted in the page's model worker:
//   node tests/bench/dispatches.mjs [--warmup-steps 3] [--steps 4]
//
// Wraps, inside the worker (the only place the model lives), the WebGPU calls that cost a GPU
// time whatever its speed: compute dispatches (GPUComputePassEncoder.dispatchWorkgroups),
// queue submissions (GPUQueue.submit), buffer writes (GPUQueue.writeBuffer), read-backs
// (GPUBuffer.mapAsync), new buffers (GPUDevice.createBuffer) and compute pipelines compiled
// (createComputePipeline, and its async form). The app is not changed: the wrappers are installed
// from the benchmark when the worker starts. These counts do not depend on the machine, so they
// say what a real GPU would be asked to do where there is none (SwiftShader here).
//
// For the standard configuration (784-400-20, M = 100), with the explorer blocked (training alone)
// and with it (the page as a visitor has it): pipelines compiled by the end of the first step, then
// per step over `--steps` steps after `--warmup-steps`. The last line is one JSON object.

import { missingArtifacts, openApp } from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const WARMUP_STEPS = option('--warmup-steps', 3);
const STEPS = option('--steps', 4);
const CONFIG = { latentDim: 20, hidden: 400, batch: 100 };

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

async function measure(app, { explorer }) {
  let worker = null;
  const setup = (page) => {
    page.on('worker', (w) => {
      worker = w;
      w.evaluate(installCounters).catch(() => {});
    });
    if (!explorer) return page.route('**/www/explorer/index.js', (route) => route.abort());
    return null;
  };
  const p = await app.page({ backend: 'webgpu', ...CONFIG }, { waitForReady: false, setup });
  await p.page.waitForSelector('[data-testid="start"]:not([disabled])', { timeout: 300_000 });
  if (!worker) throw new Error('no worker started');
  const counts = () => worker.evaluate(() => ({ ...self.__gpuCounts }));
  const atReady = await counts();
  await p.click('start');
  await waitForStep(p, (s) => s >= 1);
  const afterFirst = await counts();
  // Counted between two step readouts; the page pauses nothing in between, so whole steps only.
  const s0 = await waitForStep(p, (s) => s >= WARMUP_STEPS);
  const c0 = await counts();
  const s1 = await waitForStep(p, (s) => s >= s0 + STEPS);
  const c1 = await counts();
  await p.click('pause');
  await p.close();
  const perStep = Object.fromEntries(Object.keys(c1).map((k) => [k, Number(((c1[k] - c0[k]) / (s1 - s0)).toFixed(1))]));
  const result = { explorer, steps: s1 - s0, pipelinesAtReady: atReady.pipelines, pipelinesByFirstStep: afterFirst.pipelines, perStep };
  console.log(
    `webgpu standard ${explorer ? 'page    ' : 'no expl.'} per step over ${s1 - s0} steps: ${perStep.dispatches} dispatches, ` +
      `${perStep.submits} submits, ${perStep.writes} buffer writes, ${perStep.reads} read-backs, ${perStep.buffers} new buffers; ` +
      `pipelines compiled: ${atReady.pipelines} at ready, ${afterFirst.pipelines} by the first step`,
  );
  return result;
}

const app = await openApp({ webgpu: true });
const runs = [];
try {
  for (const explorer of [false, true]) runs.push(await measure(app, { explorer }));
} finally {
  await app.close();
}
console.log(JSON.stringify({ bench: 'dispatches', config: CONFIG, runs }));
