#!/usr/bin/env node
// Steady-state training speed in the page, as a visitor sees it over a minute or more:
//   node tests/bench/steady.mjs [--seconds 60] [--warmup 5] [--window 10] [--latent-dim 20] [--backend cpu] [--threads N]
//                               [--no-explorer | --explorer-in-view] [--batch 100] [--profile]
//
// Opens the real page (from scratch, the standard configuration: 784-400-20, M = 100 unless --batch), presses
// Start, waits out the warm-up, then reads the examples-seen readout once a second. Prints the
// examples/s of every window (10 s unless --window), the first and the last window, and their
// ratio: a ratio well below 1 is a slowdown that sets in as training goes on (the subnormal-float
// cliff after ~800 steps was one: 5,700 → 4,000 examples/s; the 2-D model's decoder logits sinking
// into subnormal floats after a few minutes another). The last line is one JSON object.
// --explorer-in-view scrolls the latent-space explorer into view, so that its views (the plane
// re-encoded as training goes, the manifold, the samples) are drawn live, as a visitor sees them.
//
// The steady state over minutes, as the 2-D model's visitors train it (the last 30 s against the
// first 30 s after a 30 s warm-up):
//   node tests/bench/steady.mjs --seconds 300 --warmup 30 --window 30 --latent-dim 2 --explorer-in-view [--threads 1]
//
// --profile adds, for every window, where the time went: the milliseconds of a step in each of its
// parts (the chunks' own StepProfile, src/train.rs: save point, batch, gradients, sum, update,
// read-back; and `spread`, the share of steps whose sum and update were shared by the pool's
// threads, not milliseconds) and between the chunks (the test bound, the explorer, the messages), the share of the
// model worker's wall time inside chunks, chunks per second, the page's main thread busy (Chrome's
// TaskDuration) and the machine's cores busy (/proc/stat, all processes).
//
// Before and after the run it prints how long a value takes to go from one core to the other and
// back (tests/bench/core-latency.mjs): on this virtual machine that changes from run to run (~100 or
// ~400 ns), and with it how much the threaded build gains from its second thread.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { missingArtifacts, openApp } from '../e2e/harness.mjs';
import { coreRoundTrip } from './core-latency.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(option('--seconds', 60));
const WARMUP = Number(option('--warmup', 5));
const LATENT = Number(option('--latent-dim', 20));
const BATCH = Number(option('--batch', 100));
const BACKEND = option('--backend', 'cpu');
// The page's ?threads= (the CPU's threads; the page's own choice when not given).
const THREADS = option('--threads', null);
const WINDOW = Number(option('--window', 10));
const EXPLORER_IN_VIEW = args.includes('--explorer-in-view');
// Without the explorer (its module blocked): the worker trains alone, as the native trainer does.
const EXPLORER = !args.includes('--no-explorer');
const PROFILE = args.includes('--profile');

/** Runs in the model worker: sums the training chunks' own time from the metrics it posts. */
function installChunkClock() {
  if (self.__chunks) return;
  const chunks = { ms: 0, count: 0, steps: 0, parts: {} };
  self.__chunks = chunks;
  const post = self.postMessage;
  self.postMessage = function timed(message, ...rest) {
    const m = message?.event === 'metrics' ? message.detail : null;
    if (m && Number.isFinite(m.msPerStep)) {
      chunks.ms += m.msPerStep * m.steps;
      chunks.count += 1;
      chunks.steps += m.steps;
      for (const [part, ms] of Object.entries(m.profile ?? {})) chunks.parts[part] = (chunks.parts[part] ?? 0) + ms * m.steps;
    }
    return post.call(this, message, ...rest);
  };
}

/** Busy and total jiffies of all cores (Linux), or null. */
function cpuTimes() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

const missing = missingArtifacts();
if (missing.length) {
  console.error(`steady: missing ${missing.join(', ')}: run bash scripts/setup.sh and wasm-pack build first`);
  process.exit(1);
}

const roundTripBefore = await coreRoundTrip();
const app = await openApp({ webgpu: BACKEND !== 'cpu' });
let result = null;
try {
  let worker = null;
  const setup = async (page) => {
    if (PROFILE) {
      page.on('worker', (w) => {
        // The model's worker is the page's first; wasm-bindgen-rayon's start later (blob: URLs).
        if (worker || w.url().startsWith('blob:')) return;
        worker = w;
        w.evaluate(installChunkClock).catch(() => {});
      });
    }
    if (!EXPLORER) await page.route('**/www/explorer/index.js', (route) => route.abort());
  };
  const p = await app.page({ backend: BACKEND, latentDim: String(LATENT), hidden: '400', batch: String(BATCH), ...(THREADS ? { threads: THREADS } : {}) }, { setup });
  const threads = await p.read('backend', 'data-threads');
  console.log(`backend ${await p.read('backend', 'data-backend')}, threads ${threads || '—'}: ${(await p.text('backend')).trim()}`);
  if (EXPLORER_IN_VIEW) await p.page.locator('[data-testid="explorer"]').scrollIntoViewIfNeeded();
  await p.click('start');
  const seen = async () => Number((await p.read('examples-seen', 'data-examples-seen')) ?? NaN);
  const cdp = PROFILE ? await p.page.context().newCDPSession(p.page) : null;
  await cdp?.send('Performance.enable');
  const mainThreadSeconds = async () =>
    cdp ? (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN : NaN;
  const sample = async () => ({
    t: performance.now(),
    seen: await seen(),
    step: Number(await p.read('step', 'data-step')),
    ...(PROFILE ? { chunks: await worker?.evaluate(() => ({ ...self.__chunks })), main: await mainThreadSeconds(), cpu: cpuTimes() } : {}),
  });
  await p.page.waitForTimeout(WARMUP * 1000);
  const samples = [await sample()];
  for (let s = 1; s <= SECONDS; s++) {
    await p.page.waitForTimeout(1000 - ((performance.now() - samples[0].t) % 1000));
    samples.push(await sample());
  }
  const rate = (a, b) => ((b.seen - a.seen) / (b.t - a.t)) * 1000;
  const windows = [];
  for (let i = 0; i + WINDOW < samples.length; i += WINDOW) {
    const [a, b] = [samples[i], samples[i + WINDOW]];
    const w = { from: i, to: i + WINDOW, steps: [a.step, b.step], examplesPerSecond: Math.round(rate(a, b)) };
    if (PROFILE) w.profile = profileOf(a, b);
    windows.push(w);
    console.log(`seconds ${String(w.from).padStart(3)}–${String(w.to).padEnd(3)} steps ${w.steps[0]}–${w.steps[1]}: ${w.examplesPerSecond.toLocaleString('en-US')} examples/s${w.profile ? `  ${describeProfile(w.profile)}` : ''}`);
  }
  if (PROFILE) {
    console.log(`profile, medians of the windows: ${describeProfile(medianProfile(windows.map((w) => w.profile)))}`);
  }
  const first = windows[0].examplesPerSecond;
  const last = windows[windows.length - 1].examplesPerSecond;
  const ratio = last / first;
  console.log(`first ${WINDOW} s ${first.toLocaleString('en-US')}, last ${WINDOW} s ${last.toLocaleString('en-US')} examples/s: ratio ${ratio.toFixed(3)}${ratio < 0.95 ? ' — a slowdown set in' : ' — no cliff'}`);
  await p.click('pause');
  result = { backend: BACKEND, threads: Number(threads) || null, latentDim: LATENT, seconds: SECONDS, window: WINDOW, explorerInView: EXPLORER_IN_VIEW, windows, first, last, ratio: Number(ratio.toFixed(3)) };
} finally {
  await app.close();
}
// Measured with the browser closed: while it is open its threads take the cores.
const roundTripAfter = await coreRoundTrip();
console.log(`round trip between two cores: ${roundTripBefore} ns before the run, ${roundTripAfter} ns after`);
console.log(JSON.stringify({ ...result, roundTripNs: [roundTripBefore, roundTripAfter] }));

/** Where a window's time went, between two samples (see --profile). */
function profileOf(a, b) {
  const wallMs = b.t - a.t;
  const round = (x, d = 3) => Number(x.toFixed(d));
  const cores = a.cpu && b.cpu ? ((b.cpu.busy - a.cpu.busy) / (b.cpu.total - a.cpu.total)) * availableParallelism() : NaN;
  const steps = b.chunks.steps - a.chunks.steps;
  const perStep = Object.fromEntries(Object.keys(b.chunks.parts).map((k) => [k, round((b.chunks.parts[k] - (a.chunks.parts[k] ?? 0)) / steps)]));
  perStep.betweenChunks = round((wallMs - (b.chunks.ms - a.chunks.ms)) / steps);
  perStep.wall = round(wallMs / steps);
  return {
    inChunks: round((b.chunks.ms - a.chunks.ms) / wallMs),
    chunksPerSecond: round(((b.chunks.count - a.chunks.count) / wallMs) * 1000, 1),
    mainThread: round(((b.main - a.main) * 1000) / wallMs),
    coresBusy: round(cores, 2),
    perStep,
  };
}

/** The median of each number in `profiles` (objects of numbers, one level nested). */
function medianProfile(profiles) {
  const median = (xs) => xs.filter(Number.isFinite).sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return Object.fromEntries(Object.keys(profiles[0]).map((k) =>
    typeof profiles[0][k] === 'object' ? [k, medianProfile(profiles.map((p) => p[k]))] : [k, median(profiles.map((p) => p[k]))]));
}

function describeProfile(f) {
  const parts = Object.entries(f.perStep).filter(([k]) => k !== 'wall').map(([k, ms]) => `${k} ${ms.toFixed(2)}`).join(', ');
  return `worker in chunks ${(f.inChunks * 100).toFixed(0)} %, ${f.chunksPerSecond} chunks/s, page's main thread ${(f.mainThread * 100).toFixed(0)} %, ` +
    `cores busy ${f.coresBusy} of ${availableParallelism()}; ms a step ${f.perStep.wall.toFixed(2)}: ${parts}`;
}
