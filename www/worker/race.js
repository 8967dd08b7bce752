// The backend race, for `auto` on a machine with a WebGPU adapter: no one can tell in advance
// whether the visitor's GPU trains this small model faster than their CPU, so the page measures.
//
//   1. Training starts on the CPU at once (www/worker/facade.js plans the CPU build).
//   2. Beside it, a second session of the WebGPU build warms up: its own copy of the model takes a
//      few throw-away steps and explorer calls, which compile every pipeline (about 20 s on a
//      software adapter). It never holds the queue: the CPU run and the explorer go on, their
//      calls interleaved with the warm-up's at its awaits.
//   3. Once it is warm and training runs, the trial: the CPU trains the run's next steps, timed;
//      then the WebGPU session resumes the run's checkpoint from before them and trains the same
//      steps (the same batches and noise: the checkpoint carries the batcher and the generator),
//      timed. The faster keeps the run: when it is WebGPU, its session (at the same step as the
//      CPU's) becomes the model, and the run goes on as if nothing happened.
//
// Events: Event.race with protocol.js's RaceState; the page's badge says what was measured.

import { Event } from '../protocol.js';
import { loadGpuBuild } from './facade.js';
import { emit, messageOf } from './messages.js';

/** @typedef {import('./state.js').WorkerState} WorkerState */
/** @typedef {import('./data.js').IdxFiles} IdxFiles */

/** The warm-up waits for the run's first step this long at most (the page may not train at once). */
const WARM_UP_DELAY_MS = 1500;
/** Throw-away training chunks of the warm-up (the first compiles every training pipeline). */
const WARM_UP_CHUNKS = [1, 1, 2];
/** The CPU trains this long in the trial (after one untimed step); WebGPU the same steps. */
const TRIAL_MS = 1000;
/** WebGPU stops trying to reach the CPU's steps after this many times the CPU's time. */
const GPU_PATIENCE = 3;
/** Timed steps of a trial whose winner the page set (tests). */
const FORCED_TRIAL_STEPS = 2;
/** Most steps in one trial chunk on WebGPU (its chunks end with one read-back each). */
const TRIAL_CHUNK_MAX = 8;

/**
 * Starts warming WebGPU beside the CPU run: `files`, the four IDX files as loaded (the WebGPU
 * session gets its own copy). Sets `worker.race` and emits its phases; never throws (a failure
 * ends the race, and the CPU keeps the run).
 * @param {WorkerState} worker
 * @param {IdxFiles} files
 */
export function startRace(worker, files, { forceWinner = null } = {}) {
  const race = {
    phase: 'warming',
    startedAt: performance.now(),
    forceWinner, // 'webgpu' | 'cpu' | null: tests make the hand-over happen whatever the numbers
    session: null,
    module: null,
    adapter: null,
    warmMs: null,
    result: null,
    files: null,
    dataIn: false,
  };
  worker.race = race;
  announce(worker);
  race.files = files; // the data the run trains on: the WebGPU session's must be the same
  race.warming = warmUp(worker, race).catch((error) => end(worker, { reason: `WebGPU could not start: ${messageOf(error)}` }));
  return race;
}

/** The race as the page sees it (protocol.js, RaceState). */
export function raceState(race) {
  if (!race) return null;
  const { phase, warmMs, result, adapter } = race;
  return { phase, warmMs, adapter, ...(result ?? {}) };
}

/** @param {WorkerState} worker */
function announce(worker) {
  emit(Event.race, raceState(worker.race));
}

/**
 * Ends the race (CPU keeps the run unless `result.winner` says otherwise), once.
 * @param {WorkerState} worker
 */
function end(worker, result) {
  const race = worker.race;
  if (!race || race.phase === 'done') return;
  if (result.winner !== 'webgpu') {
    race.session?.free?.();
    race.session = null;
  }
  race.module = null;
  race.wasm = null;
  race.phase = 'done';
  race.result = { winner: 'cpu', ...result };
  announce(worker);
}

/**
 * The GPU device was lost while it was only racing: the CPU keeps the run.
 * @param {WorkerState} worker
 */
export function gpuLostInRace(worker, why) {
  if (worker.race && worker.race.phase !== 'done') end(worker, { reason: `the GPU device was lost (${why})` });
}

/**
 * The run's data changed (the page sent a set of its own, or MNIST again): a WebGPU session that
 * already holds the old data takes the new, so that a trial and a hand-over train on the same.
 * @param {WorkerState} worker
 * @param {IdxFiles} files
 */
export async function raceDataChanged(worker, files) {
  const race = worker.race;
  if (!race || race.phase === 'done') return;
  race.files = files;
  if (!race.dataIn) return; // the warm-up has not loaded its data yet: it takes these
  try {
    await race.session.loadData(...files);
  } catch (error) {
    end(worker, { reason: `WebGPU could not take the new data: ${messageOf(error)}` });
  }
}

/** @param {WorkerState} worker */
async function warmUp(worker, race) {
  // The first training step goes first: loading the WebGPU build and its copy of the data holds
  // this worker's thread for a moment.
  await firstStepOrIdle(worker);
  const { module, wasm, adapter } = await loadGpuBuild();
  race.module = module;
  race.wasm = wasm;
  race.adapter = adapter;
  const session = new module.VaeSession(worker.session.config());
  race.session = session;
  const info = await session.init('webgpu');
  if (info.backend !== 'webgpu') throw new Error('the WebGPU build started on the CPU');
  /** @type {IdxFiles} */
  let files;
  do {
    files = race.files;
    await session.loadData(...files);
  } while (files !== race.files); // new data came while these loaded
  race.dataIn = true;
  for (const steps of WARM_UP_CHUNKS) {
    if (race.phase === 'done') return;
    if ((await session.trainSteps(steps)).diverged) throw new Error('the warm-up steps diverged');
  }
  // The explorer's calls compile their own pipelines: warm them too, so the first drag after a
  // hand-over does not wait for a compile.
  const z = new Float32Array(session.latentDim);
  await session.decode(z, 1);
  await session.encode(new Float32Array(784), 1);
  await session.reconstruct(8);
  if (race.phase === 'done') return;
  race.warmMs = performance.now() - race.startedAt;
  race.phase = 'warm';
  announce(worker);
}

/**
 * Resolves once the run has taken a training step, or after WARM_UP_DELAY_MS without one.
 * @param {WorkerState} worker
 */
async function firstStepOrIdle(worker) {
  const started = performance.now();
  while (worker.lastStep === 0 && performance.now() - started < WARM_UP_DELAY_MS) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether the trial should run now (called by the training loop before each chunk). */
export const trialDue = (worker) => worker.race?.phase === 'warm';

/**
 * The trial (called by the training loop, which waits for it). `cpuChunk(n)` runs n training
 * steps of the run on the CPU as the loop does (its metrics are the run's own), resolving to those
 * metrics, or null once training was stopped.
 *
 * From the run's checkpoint at step s, the CPU trains on for TRIAL_MS (one untimed step, then n
 * timed ones); then WebGPU, from the same checkpoint, trains the same 1 + n steps (the same batches
 * and noise: the checkpoint carries the batcher and the generator), unless it has taken
 * GPU_PATIENCE times the CPU's time by then (it has lost; its rate is over the steps it did).
 * When WebGPU is faster it is at the CPU's step, and takes the run.
 *
 * Resolves to the trial's record (protocol.js, TrialRecord), or null when it did not finish.
 * @param {WorkerState} worker
 */
export async function runTrial(worker, cpuChunk) {
  const race = worker.race;
  race.phase = 'trial';
  announce(worker);
  const gpu = race.session;
  try {
    const made = await worker.queue.enqueue(() => worker.session.checkpoint(new Uint8Array()));
    const fromStep = made.step;
    const cpuChunks = [];
    const cpuStep = async (n) => {
      const m = await cpuChunk(n);
      cpuChunks.push(m);
      return m;
    };
    // One untimed step on each side: the first step after a resume allocates.
    await cpuStep(1);
    // A winner set by the page (tests) needs WebGPU at the CPU's step: a few steps, no time limit.
    const forced = race.forceWinner !== null;
    const cpu = await timed(cpuStep, forced ? { steps: FORCED_TRIAL_STEPS, maxChunk: 1 } : { ms: TRIAL_MS, maxChunk: 64 });
    if (cpuChunks.some((m) => !m || m.diverged) || cpu.steps === 0) {
      // Paused, reset or diverged meanwhile: compare again when training runs next.
      race.phase = 'warm';
      announce(worker);
      return null;
    }
    await gpu.resume(await made.bytes);
    const gpuChunks = [await gpu.trainSteps(1)];
    const gpuTimed = await timed(
      async (n) => {
        const m = await gpu.trainSteps(n);
        gpuChunks.push(m);
        return m;
      },
      { steps: cpu.steps, ms: forced ? Infinity : Math.max(TRIAL_MS, cpu.ms) * GPU_PATIENCE, maxChunk: TRIAL_CHUNK_MAX },
    );
    if (gpuChunks.some((m) => m.diverged)) {
      end(worker, { reason: 'the WebGPU steps diverged where the CPU did not' });
      return null;
    }
    const { winner, rates } = verdict(cpu, gpuTimed, worker.session.config().batchSize, race.forceWinner);
    const steps = 1 + cpu.steps;
    if (winner === 'webgpu') await handOver(worker, gpu);
    end(worker, { winner, steps, fromStep, rates, forced });
    return { winner, steps, fromStep, rates, forced, gpuChunks, cpuChunks };
  } catch (error) {
    end(worker, { reason: `the comparison failed: ${messageOf(error)}` });
    return null;
  }
}

/**
 * The trial's verdict, from what each side did from the same checkpoint: `{ steps, ms }` of the
 * CPU's timed steps and of WebGPU's (which stopped early if it ran out of patience). WebGPU takes
 * the run only when it reached the CPU's step and trained more examples per second; a winner set
 * by the page (`forceWinner`, tests) stands whatever the numbers, but WebGPU can only take the
 * run at the CPU's step (else this throws). `rates`: examples/s of each.
 * @param {{steps: number, ms: number}} cpu
 * @param {{steps: number, ms: number}} gpu
 * @param {number} batchSize
 * @param {'webgpu'|'cpu'|null} [forceWinner]
 * @returns {{winner: 'webgpu'|'cpu', rates: {webgpu: number, cpu: number}}}
 */
export function verdict(cpu, gpu, batchSize, forceWinner = null) {
  const rate = ({ steps, ms }) => (steps * batchSize * 1000) / ms;
  const rates = { webgpu: rate(gpu), cpu: rate(cpu) };
  const sameStep = gpu.steps === cpu.steps;
  const winner = forceWinner ?? (sameStep && rates.webgpu > rates.cpu ? 'webgpu' : 'cpu');
  if (winner === 'webgpu' && !sameStep) throw new Error('WebGPU did not reach the CPU\'s step');
  return { winner, rates };
}

/**
 * Runs `chunk(n)` until `steps` are done or `ms` have passed (whichever comes first; either may
 * be absent), chunks growing from one step to at most `maxChunk`; resolves to `{ steps, ms }`
 * (the steps done and the wall clock of their chunks). Stops early when a chunk comes back null
 * or diverged.
 */
export async function timed(chunk, { steps: wanted = Infinity, ms: limit = Infinity, maxChunk }) {
  let steps = 0;
  let ms = 0;
  let size = 1;
  while (steps < wanted && ms < limit) {
    const n = Math.min(size, wanted - steps);
    const started = performance.now();
    const m = await chunk(n);
    if (!m || m.diverged) break;
    ms += performance.now() - started;
    steps += n;
    // A quarter of the window per chunk: short enough to stop near its end.
    const window = Number.isFinite(limit) ? limit : TRIAL_MS;
    size = Math.max(1, Math.min(maxChunk, Math.floor(window / 4 / (ms / steps))));
  }
  return { steps, ms };
}

/**
 * The WebGPU session takes the run: it is at the same step as the CPU session, which goes.
 * @param {WorkerState} worker
 */
async function handOver(worker, gpu) {
  await worker.queue.enqueue(async () => {
    const cpu = worker.session;
    worker.session = gpu;
    worker.facade = worker.race.module;
    worker.wasm = worker.race.wasm;
    worker.backend = 'webgpu';
    worker.stepsPerChunk = 1;
    cpu.free?.();
  });
}
