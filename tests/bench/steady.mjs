#!/usr/bin/env node
// Steady-state training speed in the page, as a visitor sees it over a minute or more:
//   node tests/bench/steady.mjs [--seconds 60] [--warmup 5] [--latent-dim 20] [--backend cpu] [--threads N] [--no-explorer]
//
// Opens the real page (from scratch, the standard configuration: 784-400-20, M = 100), presses
// Start, waits out the warm-up, then reads the examples-seen readout once a second. Prints the
// examples/s of every 10 s window, the first and the last window, and their ratio: a ratio well
// below 1 is a slowdown that sets in as training goes on (the subnormal-float cliff after ~800
// steps was one: 5,700 → 4,000 examples/s). The last line is one JSON object.

import { missingArtifacts, openApp } from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(option('--seconds', 60));
const WARMUP = Number(option('--warmup', 5));
const LATENT = Number(option('--latent-dim', 20));
const BACKEND = option('--backend', 'cpu');
// The page's ?threads= (the CPU's threads; the page's own choice when not given).
const THREADS = option('--threads', null);
const WINDOW = 10;
// Without the explorer (its module blocked): the worker trains alone, as the native trainer does.
const EXPLORER = !args.includes('--no-explorer');

const missing = missingArtifacts();
if (missing.length) {
  console.error(`steady: missing ${missing.join(', ')}: run bash scripts/setup.sh and wasm-pack build first`);
  process.exit(1);
}

const app = await openApp({ webgpu: BACKEND !== 'cpu' });
try {
  const setup = EXPLORER ? null : (page) => page.route('**/www/explorer/index.js', (route) => route.abort());
  const p = await app.page({ backend: BACKEND, latentDim: String(LATENT), hidden: '400', batch: '100', ...(THREADS ? { threads: THREADS } : {}) }, { setup });
  const threads = await p.read('backend', 'data-threads');
  console.log(`backend ${await p.read('backend', 'data-backend')}, threads ${threads || '—'}: ${(await p.text('backend')).trim()}`);
  await p.click('start');
  const seen = async () => Number((await p.read('examples-seen', 'data-examples-seen')) ?? NaN);
  await p.page.waitForTimeout(WARMUP * 1000);
  const samples = [{ t: performance.now(), seen: await seen(), step: Number(await p.read('step', 'data-step')) }];
  for (let s = 1; s <= SECONDS; s++) {
    await p.page.waitForTimeout(1000 - ((performance.now() - samples[0].t) % 1000));
    samples.push({ t: performance.now(), seen: await seen(), step: Number(await p.read('step', 'data-step')) });
  }
  const rate = (a, b) => ((b.seen - a.seen) / (b.t - a.t)) * 1000;
  const windows = [];
  for (let i = 0; i + WINDOW < samples.length; i += WINDOW) {
    const w = { from: i, to: i + WINDOW, steps: [samples[i].step, samples[i + WINDOW].step], examplesPerSecond: Math.round(rate(samples[i], samples[i + WINDOW])) };
    windows.push(w);
    console.log(`seconds ${String(w.from).padStart(3)}–${String(w.to).padEnd(3)} steps ${w.steps[0]}–${w.steps[1]}: ${w.examplesPerSecond.toLocaleString('en-US')} examples/s`);
  }
  const first = windows[0].examplesPerSecond;
  const last = windows[windows.length - 1].examplesPerSecond;
  const ratio = last / first;
  console.log(`first 10 s ${first.toLocaleString('en-US')}, last 10 s ${last.toLocaleString('en-US')} examples/s: ratio ${ratio.toFixed(3)}${ratio < 0.95 ? ' — a slowdown set in' : ' — no cliff'}`);
  console.log(JSON.stringify({ backend: BACKEND, threads: Number(threads) || null, latentDim: LATENT, seconds: SECONDS, windows, first, last, ratio: Number(ratio.toFixed(3)) }));
  await p.click('pause');
} finally {
  await app.close();
}
