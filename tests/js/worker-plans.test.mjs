// What the worker decides before and during a run, without a browser: which build to load
// (www/worker/facade.js's planBuild) and which backend wins the race (www/worker/race.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_THREADS, defaultThreads, planBuild } from '../../www/worker/facade.js';
import { timed, verdict } from '../../www/worker/race.js';

/** A browser for planBuild: an adapter or not, its cores, cross-origin isolated or not. */
const env = ({ adapter = true, cores = 8, isolated = true } = {}) => ({
  missingWebGpu: async () => (adapter ? null : 'the browser offers no WebGPU adapter'),
  cores: () => cores,
  crossOriginIsolated: () => isolated,
});

test('defaultThreads: one per core but one, both on two cores, one when unknown', () => {
  assert.deepEqual([1, 2, 3, 8, 16].map(defaultThreads), [1, 2, 2, 7, 15]);
  assert.equal(defaultThreads(undefined), 1);
  assert.equal(defaultThreads(0), 1);
});

test("'auto' with an adapter: the threaded CPU build at once, and a race", async () => {
  assert.deepEqual(await planBuild({ backend: 'auto' }, env()), {
    build: 'pkg-threads', backend: 'cpu', fallbackReason: null, race: true, threads: 7, threadsNote: null,
  });
});

test("'auto' without an adapter: no race, and why", async () => {
  const plan = await planBuild({}, env({ adapter: false, cores: 4 }));
  assert.equal(plan.race, false);
  assert.equal(plan.fallbackReason, 'the browser offers no WebGPU adapter');
  assert.deepEqual([plan.build, plan.backend, plan.threads], ['pkg-threads', 'cpu', 3]);
});

test("'webgpu' asks for it in pkg/, whatever the cores; a bad backend reads as 'auto'", async () => {
  assert.deepEqual(await planBuild({ backend: 'webgpu', threads: '4' }, env()), {
    build: 'pkg', backend: 'webgpu', fallbackReason: null, race: false, threads: 1, threadsNote: null,
  });
  const bad = await planBuild({ backend: 'tpu' }, env());
  assert.deepEqual([bad.backend, bad.race], ['cpu', true]);
});

test('?threads= overrides the default when it is a whole number in range, and is reported when not', async () => {
  const two = await planBuild({ backend: 'cpu', threads: '2' }, env());
  assert.deepEqual([two.build, two.threads, two.threadsNote], ['pkg-threads', 2, null]);
  const bad = await planBuild({ backend: 'cpu', threads: 'lots' }, env({ cores: 4 }));
  assert.deepEqual([bad.build, bad.threads], ['pkg-threads', 3]);
  assert.equal(bad.threadsNote, `?threads=lots is not a whole number from 1 to ${MAX_THREADS}; using 3`);
  const tooMany = await planBuild({ backend: 'cpu', threads: String(MAX_THREADS + 1) }, env({ cores: 4 }));
  assert.match(tooMany.threadsNote, /is not a whole number from 1 to/);
  const one = await planBuild({ backend: 'cpu', threads: '1' }, env());
  assert.deepEqual([one.build, one.threads, one.threadsNote], ['pkg', 1, null], 'one thread asked for: the plain build, no note');
});

test('one core, or a page that is not cross-origin isolated: the single-threaded build, saying why', async () => {
  const single = await planBuild({ backend: 'cpu' }, env({ cores: 1 }));
  assert.deepEqual([single.build, single.threads, single.threadsNote], ['pkg', 1, 'this machine has one core']);
  const open = await planBuild({ backend: 'cpu' }, env({ isolated: false }));
  assert.deepEqual([open.build, open.threads], ['pkg', 1]);
  assert.match(open.threadsNote, /not cross-origin isolated/);
});

test('the verdict: WebGPU takes the run only at the CPU’s step and faster', () => {
  const cpu = { steps: 40, ms: 1000 }; // 40 steps of 100: 4,000 examples/s
  assert.deepEqual(verdict(cpu, { steps: 40, ms: 500 }, 100), { winner: 'webgpu', rates: { webgpu: 8000, cpu: 4000 } });
  assert.equal(verdict(cpu, { steps: 40, ms: 2000 }, 100).winner, 'cpu', 'slower');
  assert.equal(verdict(cpu, { steps: 40, ms: 1000 }, 100).winner, 'cpu', 'a tie keeps the run where it is');
  const gaveUp = verdict(cpu, { steps: 10, ms: 100 }, 100); // a faster rate, but it stopped short
  assert.equal(gaveUp.winner, 'cpu');
  assert.equal(gaveUp.rates.webgpu, 10_000);
});

test('the verdict: a winner set by the page stands, but WebGPU only at the CPU’s step', () => {
  const cpu = { steps: 2, ms: 10 };
  assert.equal(verdict(cpu, { steps: 2, ms: 1000 }, 100, 'webgpu').winner, 'webgpu');
  assert.equal(verdict(cpu, { steps: 2, ms: 1 }, 100, 'cpu').winner, 'cpu');
  assert.throws(() => verdict(cpu, { steps: 1, ms: 1 }, 100, 'webgpu'), /did not reach the CPU's step/);
});

test('timed: chunks grow from one step, never past maxChunk, and stop at the steps wanted', async () => {
  const sizes = [];
  const result = await timed(async (n) => (sizes.push(n), { step: 0 }), { steps: 20, maxChunk: 8 });
  assert.equal(result.steps, 20);
  assert.equal(sizes[0], 1);
  assert.ok(sizes.every((n) => n >= 1 && n <= 8), `chunk sizes ${sizes}`);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 20);
});

test('timed: a chunk that comes back null (paused) or diverged ends it, uncounted', async () => {
  let calls = 0;
  const paused = await timed(async () => (++calls === 3 ? null : {}), { steps: 100, maxChunk: 1 });
  assert.equal(paused.steps, 2);
  calls = 0;
  const diverged = await timed(async () => (++calls === 2 ? { diverged: true } : {}), { steps: 100, maxChunk: 1 });
  assert.equal(diverged.steps, 1);
});

test('timed: stops once the time is up', async () => {
  const result = await timed(() => new Promise((r) => setTimeout(() => r({}), 5)), { ms: 40, maxChunk: 1 });
  assert.ok(result.ms >= 40 && result.steps >= 1 && result.steps < 20, `${result.steps} steps in ${result.ms} ms`);
});
