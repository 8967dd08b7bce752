// The run between visits and as a file: saved in the browser (www/run-store.js) every ~10 s while
// training, on pause and on request, as a checkpoint with the run log as its extra bytes; the
// saved run's description; a resumed run's step and chart taken back from its checkpoint.

import { emptyHistory } from '../chart-history.js';
import { Event } from '../protocol.js';
import { RunStoreError, loadRun, saveRun } from '../run-store.js';
import { emit, messageOf } from './messages.js';
import { requireData } from './state.js';

/** @typedef {import('./state.js').WorkerState} WorkerState */

/**
 * While training, the run is saved in the browser this often (and at its first chunk, on pause,
 * and when the page is hidden). The steps after the last save are not lost to a reload: the page
 * notes the step it reached, and resuming takes them again (`catchUp`, www/worker/training.js).
 */
const SAVE_EVERY_MS = 10_000;

/**
 * Saves the run in the browser: a checkpoint with the run log as its extra bytes, from either
 * backend (on WebGPU its tensors are read back asynchronously). One save at a time; nothing to
 * save (null) when the run has no steps past the ones it was saved or opened with. Asked for
 * while a save runs, it saves once that one is done: the run may have moved on since that one
 * took its checkpoint (a pause during a periodic save), and the caller wants the run as it is.
 * @param {WorkerState} worker
 * @returns {Promise<number | null>} the step saved
 */
export function saveNow(worker) {
  if (worker.saving) {
    worker.nextSave ??= worker.saving
      .catch(() => null)
      .then(() => {
        worker.nextSave = null;
        return saveNow(worker);
      });
    return worker.nextSave;
  }
  if (!worker.dataLoaded || worker.lastStep === 0 || worker.lastStep === worker.savedStep) return Promise.resolve(null);
  const saving = store(worker);
  worker.saving = saving;
  // Cleared once it settled, after the assignment above (whatever the save did synchronously).
  const done = () => {
    if (worker.saving === saving) worker.saving = null;
  };
  saving.then(done, done);
  return saving;
}

/**
 * Takes the run and stores it (saveNow's one save at a time).
 * @param {WorkerState} worker
 */
async function store(worker) {
  try {
    worker.lastSaveAt = performance.now();
    // Only taking the run holds the queue; its tensors are read back while training goes on.
    const { made, config, testLoss, ms } = await worker.queue.enqueue(async () => {
      const started = performance.now();
      const extra = runExtra(worker);
      const config = worker.session.config();
      const test = worker.runLog.test;
      const testLoss = test.loss.length ? test.loss[test.loss.length - 1] : null;
      const made = await worker.session.checkpoint(extra);
      return { made, config, testLoss, ms: performance.now() - started };
    });
    const readStarted = performance.now();
    const bytes = await made.bytes;
    const readMs = performance.now() - readStarted;
    const run = {
      bytes,
      step: made.step,
      examplesSeen: made.step * config.batchSize,
      testLoss,
      latentDim: config.latentDim,
      savedAt: Date.now(),
      dataSet: worker.dataSet,
    };
    await saveRun(run);
    worker.savedStep = run.step;
    worker.lastSaveAt = performance.now();
    emit(Event.saved, { step: run.step, savedAt: run.savedAt, bytes: bytes.byteLength, ms, readMs });
    return run.step;
  } catch (error) {
    if (!(error instanceof RunStoreError)) throw error;
    if (!worker.storageWarned) emit(Event.error, { message: `${error.message[0].toUpperCase()}${error.message.slice(1)}; training goes on.` });
    worker.storageWarned = true;
    return null;
  }
}

/**
 * What a checkpoint carries beside the model: the run log (the chart), and the data set it was
 * trained on (null for MNIST), so that a run is never resumed on other data unnoticed.
 * @param {WorkerState} worker
 */
const runExtra = (worker) => new TextEncoder().encode(JSON.stringify({ ...worker.runLog, dataSet: worker.dataSet }));

/** @param {WorkerState} worker */
export function saveInBackground(worker) {
  saveNow(worker).catch((error) => emit(Event.error, { message: `Saving the run failed: ${messageOf(error)}; training goes on.` }));
}

/**
 * Saves in the background when the last save is SAVE_EVERY_MS old (called after each chunk).
 * @param {WorkerState} worker
 */
export function saveIfDue(worker) {
  if (performance.now() - worker.lastSaveAt > SAVE_EVERY_MS) saveInBackground(worker);
}

/** The saved run's description (not its bytes), or null. */
export async function savedRun() {
  try {
    const run = await loadRun();
    if (!run) return null;
    const { bytes, ...about } = run;
    return { ...about, bytes: bytes?.byteLength ?? 0 };
  } catch (error) {
    if (error instanceof RunStoreError) return null;
    throw error;
  }
}

/** The run saved in this browser: its checkpoint (`bytes`) and what the store keeps beside it. */
export async function savedRunRecord() {
  const run = await loadRun();
  if (!run) throw new Error('there is no saved run in this browser');
  return run;
}

/**
 * Takes the step and the chart back from a resumed checkpoint (`info`, the facade's answer to
 * `resume`), after the model was replaced: protocol.js's Resumed.
 * @param {WorkerState} worker
 */
export function adoptResumed(worker, info) {
  worker.lastStep = info.step;
  worker.savedStep = info.step; // it is where it came from: nothing new to save yet
  worker.lastEvaluatedStep = -1;
  let dataSet = null;
  try {
    const { dataSet: trainedOn = null, ...log } = JSON.parse(new TextDecoder().decode(info.extra));
    worker.runLog = { ...emptyHistory(), ...log };
    dataSet = trainedOn;
  } catch {
    worker.runLog = emptyHistory(); // a run saved by the native worker carries no chart
  }
  const test = worker.runLog.test;
  if (test.x.length && test.x[test.x.length - 1] === info.examplesSeen) worker.lastEvaluatedStep = info.step;
  return { config: info.config, step: info.step, epoch: info.epoch, epochProgress: info.epochProgress, examplesSeen: info.examplesSeen, history: worker.runLog, dataSet };
}

/**
 * The step, epoch and chart of the run as it is now, after `Resumed` and a catch-up.
 * @param {WorkerState} worker
 */
export function resumedNow(worker, resumed, m) {
  if (!m) return resumed;
  return { ...resumed, step: m.step, epoch: m.epoch, epochProgress: m.epochProgress, examplesSeen: m.examplesSeen, history: worker.runLog };
}

/**
 * The run as a file's bytes, for "Download model".
 * @param {WorkerState} worker
 */
export function checkpointBytes(worker) {
  requireData(worker);
  return worker.queue
    .enqueue(() => worker.session.checkpoint(runExtra(worker)))
    .then((made) => made.bytes);
}
