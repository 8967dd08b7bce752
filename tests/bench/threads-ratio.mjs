#!/usr/bin/env node
// What the threaded build gains over the single-threaded one in the page, as a ratio of runs
// alternated in one series on one machine:
//   node tests/bench/threads-ratio.mjs [--threads 2] [--rounds 4] [--seconds 30]
//
// Runs tests/bench/steady.mjs alternately on one thread (the single-threaded build, pkg/) and on
// `--threads` (pkg-threads/), `--rounds` times each, and prints every run, the ratio of each pair,
// and the ratio of the medians of all their 10 s windows. Each run also says how far apart the
// machine's cores were (steady.mjs's round trip of a value between two cores, before and after):
// on this virtual machine the host places them near each other (~100 ns) or far apart (~400 ns)
// for minutes at a time, and the threaded build gains less when they are far; so the ratio is
// also given over the runs whose cores stayed near, and over the rest. The last line is one JSON
// object.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const THREADS = option('--threads', 2);
const ROUNDS = option('--rounds', 4);
const SECONDS = option('--seconds', 30);
/** A round trip above this (ns) means the cores were far apart (measured: 80–150 near, 400–470 far). */
const NEAR_NS = 250;

const steady = fileURLToPath(new URL('./steady.mjs', import.meta.url));

/** One steady.mjs run on `threads`: its JSON (windows, roundTripNs) and whether the cores stayed near. */
function run(threads) {
  const out = execFileSync(process.execPath, [steady, '--seconds', String(SECONDS), '--threads', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const result = JSON.parse(out.trim().split('\n').at(-1));
  const rates = result.windows.map((w) => w.examplesPerSecond);
  const near = result.roundTripNs.every((ns) => ns < NEAR_NS);
  console.log(
    `${threads} thread${threads > 1 ? 's' : ' '}: ${rates.map((r) => r.toLocaleString('en-US')).join(', ')} examples/s ` +
      `(median ${median(rates).toLocaleString('en-US')}); cores ${near ? 'near' : 'far'} (${result.roundTripNs.join(' / ')} ns)`,
  );
  return { threads, rates, near, roundTripNs: result.roundTripNs };
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : Math.round((v[mid - 1] + v[mid]) / 2);
}

/** The ratio of the medians of all windows of the `many`-thread runs and of the one-thread runs. */
function ratioOf(runs) {
  const one = runs.filter((r) => r.threads === 1).flatMap((r) => r.rates);
  const many = runs.filter((r) => r.threads === THREADS).flatMap((r) => r.rates);
  if (!one.length || !many.length) return null;
  return { one: median(one), many: median(many), ratio: Number((median(many) / median(one)).toFixed(3)) };
}

const describe = (r) => (r ? `${r.many.toLocaleString('en-US')} / ${r.one.toLocaleString('en-US')} = ${r.ratio.toFixed(2)}x` : 'no runs');

const runs = [];
const pairs = [];
for (let round = 1; round <= ROUNDS; round++) {
  // The order flips every round, so neither build always runs first.
  const order = round % 2 ? [1, THREADS] : [THREADS, 1];
  const pair = order.map(run);
  runs.push(...pair);
  const [one, many] = [pair.find((r) => r.threads === 1), pair.find((r) => r.threads === THREADS)];
  const ratio = Number((median(many.rates) / median(one.rates)).toFixed(3));
  pairs.push(ratio);
  console.log(`pair ${round}: ${ratio.toFixed(2)}x${one.near && many.near ? '' : ' (cores far in at least one run)'}`);
}
const all = ratioOf(runs);
// The single-threaded build does not depend on where the cores are: every one-thread run counts.
const near = ratioOf(runs.filter((r) => r.threads === 1 || r.near));
const far = ratioOf(runs.filter((r) => r.threads === 1 || !r.near));
console.log(`${THREADS} threads against 1, medians of all windows: ${describe(all)}`);
console.log(`  runs with the cores near: ${describe(near)}; far: ${describe(far)}`);
console.log(JSON.stringify({ threads: THREADS, rounds: ROUNDS, seconds: SECONDS, runs, pairs, all, near, far }));
