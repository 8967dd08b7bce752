// The training loop: short chunks (`trainSteps(k)`), each followed by a yield to this worker's
// event loop, so requests that arrive during a chunk (a drag in the explorer asking for a decode)
// are served before the next chunk starts; the chunk's size follows its measured time. Also
// start, pause, and swapping the model for a new one (startOver).

import { dropAfter, emptyHistory, record } from '../chart-history.js';
import { ErrorKind, Event, kindOf } from '../protocol.js';
import { saveIfDue, saveInBackground } from './checkpoints.js';
import { evaluateInBackground } from './evaluation.js';
import { emit, messageOf } from './messages.js';
import { runTrial, trialDue } from './race.js';
import { requireData } from './state.js';

/** @typedef {import('./state.js').WorkerState} WorkerState */

/**
 * Chunk sizing: aim at TARGET_MS of training per chunk. On the CPU the worker is blocked for the
 * whole chunk, so 30 ms keeps explorer requests live. On WebGPU the chunk is mostly waiting on the
 * GPU, and each chunk ends with one read of the metrics, so a few steps per chunk amortise it.
 */
const CHUNK = {
  cpu: { targetMs: 30, maxSteps: 64 },
  webgpu: { targetMs: 50, maxSteps: 8 },
};

/** For this long after a drag's or a drawing's request, training chunks are a single step. */
const INTERACTIVE_MS = 500;

/**
 * One chunk of `n` training steps of the run: its metrics are recorded and sent, an epoch's end
 * starts a test bound, the run is saved when due. Resolves to the metrics; on a divergence (the
 * facade rolled the run back to m.step, the start of its last healthy chunk) training pauses, the
 * page is told, and the metrics say `diverged`.
 * @param {WorkerState} worker
 */
export async function runChunk(worker, n) {
  const m = await worker.queue.enqueue(() => requireData(worker).trainSteps(n));
  if (m.diverged) {
    // Suggest a tenth of the rate, no more than the default (a rate far above it rarely works
    // for this model).
    worker.running = false;
    worker.lastStep = m.step;
    const { learningRate, batchSize } = worker.session.config();
    // The saved chart goes back with the run, as the page's does (www/page/readouts.js, rollBack).
    dropAfter(worker.runLog.train, m.step * batchSize);
    const fallback = worker.facade.configSchema().defaults.learningRate;
    const suggested = Number(Math.min(learningRate / 10, fallback).toPrecision(2));
    emit(Event.diverged, { step: m.step, learningRate, suggested, loss: m.loss });
    return m;
  }
  if (!Number.isFinite(m.loss) || m.loss === 0) {
    throw new Error(`training produced a loss of ${m.loss} at step ${m.step}`);
  }
  worker.lastStep = m.step;
  record(worker.runLog.train, m);
  emit(Event.metrics, m);
  if (m.epochEnded) evaluateInBackground(worker);
  saveIfDue(worker);
  return m;
}

/** The backend race's trial, its CPU steps the run's own chunks (null once training stops). */
export const raceTrial = (worker) => runTrial(worker, (n) => (worker.running ? runChunk(worker, n) : null));

/**
 * Training loop: chunks until `worker.running` goes false or a call fails.
 * @param {WorkerState} worker
 */
async function trainLoop(worker) {
  emit(Event.running, { running: true });
  try {
    while (worker.running) {
      if (trialDue(worker)) {
        // WebGPU is warm: time it against the CPU on the run's next steps (www/worker/race.js).
        await raceTrial(worker);
        continue;
      }
      // While the user drags or draws, one step per chunk, so the next decode waits less.
      const interactive = performance.now() - worker.queue.lastUrgentAt < INTERACTIVE_MS;
      const m = await runChunk(worker, interactive ? 1 : worker.stepsPerChunk);
      if (m.diverged) break;
      adaptChunk(worker, m.msPerStep);
      // Let requests that came in during the chunk run before the next chunk is queued.
      await worker.queue.nextTask();
    }
  } catch (error) {
    worker.running = false;
    const kind = kindOf(error);
    if (worker.backend === 'webgpu' && (kind === ErrorKind.backend || kind === ErrorKind.read)) {
      // A GPU device that failed silently reads back zeros (Rust's `Trainer` undid the chunk).
      emit(Event.crashed, { message: `the GPU device failed: ${messageOf(error)}`, backend: 'cpu' });
    } else {
      emit(Event.error, { message: `Training stopped: ${messageOf(error)}` });
    }
  }
  emit(Event.running, { running: false });
}

/** Steps per chunk while catching up: long enough to be quick, short enough to let requests in. */
const CATCH_UP_CHUNK = 64;

/**
 * Trains the run on to `step` without showing each chunk: the steps a reload or a closed tab cut
 * off after the run's last save, taken again (a resumed run continues exactly as it went, so they
 * are the same steps). Recorded in the run log; `onProgress({ done, total })` after each chunk.
 * Resolves to the last chunk's metrics, or null when there was nothing to take; stops early at
 * a divergence (the run is then where the facade rolled it back to).
 * @param {WorkerState} worker
 * @param {number} step
 * @param {(progress: {done: number, total: number}) => void} [onProgress]
 */
export async function catchUp(worker, step, onProgress = () => {}) {
  const from = worker.lastStep;
  let m = null;
  while (worker.lastStep < step) {
    const n = Math.min(step - worker.lastStep, CATCH_UP_CHUNK);
    m = await worker.queue.enqueue(() => requireData(worker).trainSteps(n));
    worker.lastStep = m.step;
    if (m.diverged) {
      dropAfter(worker.runLog.train, m.step * worker.session.config().batchSize);
      break;
    }
    record(worker.runLog.train, m);
    onProgress({ done: m.step - from, total: step - from });
    await worker.queue.nextTask();
  }
  return m;
}

/**
 * Sizes the next chunk from the last one's time per step (measured inside the facade).
 * @param {WorkerState} worker
 */
function adaptChunk(worker, perStep) {
  if (!(perStep > 0)) return;
  const { targetMs, maxSteps } = CHUNK[worker.backend] ?? CHUNK.cpu;
  const ideal = Math.max(1, Math.min(maxSteps, Math.floor(targetMs / Math.max(perStep, 0.01))));
  // Move half way, so one slow chunk (a garbage collection, a shader compile) does not swing it.
  worker.stepsPerChunk = Math.max(1, Math.round((worker.stepsPerChunk + ideal) / 2));
}

/** @param {WorkerState} worker */
export function start(worker) {
  requireData(worker);
  worker.running = true;
  worker.loop ??= trainLoop(worker).finally(() => {
    worker.loop = null;
  });
  return null;
}

/** @param {WorkerState} worker */
export async function pause(worker) {
  worker.running = false;
  await worker.loop;
  // A test bound for where the user paused, unless one was just taken. Not awaited: the pause
  // itself is done; the bound follows as an 'evaluated' event.
  const t = worker;
  if (t.dataLoaded && !t.running && t.lastStep > 0 && t.lastEvaluatedStep !== t.lastStep) evaluateInBackground(t);
  if (t.dataLoaded && !t.running && t.lastStep > 0) saveInBackground(t);
  return null;
}

/**
 * Swaps the model for a new one made by `make` (a session call), starting over at step 0. Training
 * stops first; if `make` fails, the model in use is kept (and training resumes if it was running)
 * and the page shows why.
 * @param {WorkerState} worker
 */
export async function startOver(worker, make) {
  const wasRunning = worker.running;
  worker.running = false;
  await worker.loop;
  try {
    await worker.queue.enqueue(make);
  } catch (error) {
    if (wasRunning) start(worker);
    throw error;
  }
  worker.stepsPerChunk = 1;
  worker.lastStep = 0;
  worker.savedStep = 0;
  worker.lastSaveAt = -Infinity;
  worker.lastEvaluatedStep = -1;
  worker.runLog = emptyHistory();
  await worker.evaluation?.catch(() => {}); // an evaluation of the old model ends (with an error) first
  const applied = worker.session.config();
  emit(Event.reset, { config: applied });
  return applied;
}
