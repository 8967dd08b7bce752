// The run between visits and as a file: saved in the browser (www/runs.js) every ~10 s while
// training, on pause and on request, as a checkpoint with the run log as its extra bytes; the
// saved run's description; a resumed run's step and chart taken back from its checkpoint.

import { Event } from '../protocol.js';
import { RunStoreError, loadRun, saveRun } from '../runs.js';
import { emit, messageOf } from './messages.js';
import { emptyLog, requireData } from './state.js';

/**
 * While training, the run is saved in the browser this often (and at its first chunk, on pause,
 * and when the page is hidden). The steps after the last save are not lost to a reload: the page
 * notes the step it reached, and resuming takes them again (`catchUp`, www/worker/training.js).
 */
const SAVE_EVERY_MS = 10_000;

/**
 * Saves the run in the browser: a checkpoint with the run log as its extra bytes, from either
 * backend (on WebGPU its tensors are read back asynchronously). One save at a time; nothing to
 * save (null) when the run has no steps past the ones it was saved or opened with.
 */
export function saveNow(trainer) {
  trainer.saving ??= (async () => {
    try {
      if (!trainer.dataLoaded || trainer.lastStep === 0 || trainer.lastStep === trainer.savedStep) return null;
      trainer.lastSaveAt = performance.now();
      let ms = 0;
      let config = null;
      let testLoss = null;
      // Only taking the run holds the queue; its tensors are read back while training goes on.
      const made = await trainer.queue.enqueue(async () => {
        const started = performance.now();
        const extra = new TextEncoder().encode(JSON.stringify(trainer.runLog));
        config = trainer.session.config();
        const test = trainer.runLog.test;
        testLoss = test.loss.length ? test.loss[test.loss.length - 1] : null;
        const taken = await trainer.session.checkpoint(extra);
        ms = performance.now() - started;
        return taken;
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
      };
      await saveRun(run);
      trainer.savedStep = run.step;
      trainer.lastSaveAt = performance.now();
      emit(Event.saved, { step: run.step, savedAt: run.savedAt, bytes: bytes.byteLength, ms, readMs });
      return run.step;
    } catch (error) {
      if (!(error instanceof RunStoreError)) throw error;
      if (!trainer.storageWarned) emit(Event.error, { message: `${error.message[0].toUpperCase()}${error.message.slice(1)}; training goes on.` });
      trainer.storageWarned = true;
      return null;
    } finally {
      trainer.saving = null;
    }
  })();
  return trainer.saving;
}

export function saveInBackground(trainer) {
  saveNow(trainer).catch((error) => emit(Event.error, { message: `Saving the run failed: ${messageOf(error)}; training goes on.` }));
}

/** Saves in the background when the last save is SAVE_EVERY_MS old (called after each chunk). */
export function saveIfDue(trainer) {
  if (performance.now() - trainer.lastSaveAt > SAVE_EVERY_MS) saveInBackground(trainer);
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

/** The checkpoint of the run saved in this browser. */
export async function savedRunBytes() {
  const run = await loadRun();
  if (!run) throw new Error('there is no saved run in this browser');
  return run.bytes;
}

/**
 * Takes the step and the chart back from a resumed checkpoint (`info`, the facade's answer to
 * `resume`), after the model was replaced: protocol.js's Resumed.
 */
export function adoptResumed(trainer, info) {
  trainer.lastStep = info.step;
  trainer.savedStep = info.step; // it is where it came from: nothing new to save yet
  trainer.lastEvaluatedStep = -1;
  try {
    trainer.runLog = { ...emptyLog(), ...JSON.parse(new TextDecoder().decode(info.extra)) };
  } catch {
    trainer.runLog = emptyLog(); // a run saved by the native trainer carries no chart
  }
  const test = trainer.runLog.test;
  if (test.x.length && test.x[test.x.length - 1] === info.examplesSeen) trainer.lastEvaluatedStep = info.step;
  return { config: info.config, step: info.step, epoch: info.epoch, epochProgress: info.epochProgress, examplesSeen: info.examplesSeen, history: trainer.runLog };
}

/** The step, epoch and chart of the run as it is now, after `Resumed` and a catch-up. */
export function resumedNow(trainer, resumed, m) {
  if (!m) return resumed;
  return { ...resumed, step: m.step, epoch: m.epoch, epochProgress: m.epochProgress, examplesSeen: m.examplesSeen, history: trainer.runLog };
}

/** The run as a file's bytes, for "Download model". */
export function checkpointBytes(trainer) {
  requireData(trainer);
  return trainer.queue
    .enqueue(() => trainer.session.checkpoint(new TextEncoder().encode(JSON.stringify(trainer.runLog))))
    .then((made) => made.bytes);
}
