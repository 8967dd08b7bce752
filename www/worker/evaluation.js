// The test bound, over every test digit, computed a piece at a time in the normal lane, so it
// never stalls training or the explorer (training chunks and refreshes run between the pieces).

import { record } from '../chart-history.js';
import { Event } from '../protocol.js';
import { emit, messageOf } from './messages.js';
import { requireData } from './state.js';

/** @typedef {import('./state.js').WorkerState} WorkerState */

/** Test digits per piece of an evaluation (about 30 ms on one CPU core). */
const EVALUATION_PIECE = 500;

/**
 * The test bound of the model as it is now; then 'evaluated'. One evaluation at a time: a call
 * while one runs returns that one.
 * @param {WorkerState} worker
 */
export function evaluateAndEmit(worker) {
  worker.evaluation ??= (async () => {
    try {
      for (;;) {
        const bound = await worker.queue.enqueue(() => requireData(worker).evaluate(EVALUATION_PIECE));
        if (bound) {
          worker.lastEvaluatedStep = bound.step;
          record(worker.runLog.test, bound);
          emit(Event.evaluated, bound);
          return bound;
        }
        await worker.queue.nextTask();
      }
    } finally {
      worker.evaluation = null;
    }
  })();
  return worker.evaluation;
}

/** @param {WorkerState} worker */
export function evaluateInBackground(worker) {
  evaluateAndEmit(worker).catch((error) => emit(Event.error, { message: `Evaluation failed: ${messageOf(error)}` }));
}
