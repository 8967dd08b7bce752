// The order in which the worker calls the model. Every session call runs one at a time, each after
// the previous one settled, in the lanes of protocol.js: urgent calls go before whatever waits in
// the normal lane, so a drag is answered as soon as the chunk in progress ends, even while
// training runs. Control requests (start, pause, reset, open a model or a run) also run one after
// another, in the order they came, each to its end.

import { Lane } from '../protocol.js';

export class RequestQueue {
  #lanes = { [Lane.urgent]: [], [Lane.normal]: [] };
  #pumping = false;
  #controlChain = Promise.resolve();
  #channel = new MessageChannel();
  #waiting = [];
  /** performance.now() of the last urgent request: training chunks are a single step for a while after it. */
  lastUrgentAt = -Infinity;

  constructor() {
    this.#channel.port1.onmessage = () => this.#waiting.shift()?.();
    // Under Node (the unit tests) a listening port would keep the process alive; browsers have no unref.
    /** @type {MessagePort & {unref?: () => void}} */ (this.#channel.port1).unref?.();
  }

  /**
   * Runs `call` (a session call) in `lane` when its turn comes; resolves or rejects with it.
   * @template T
   * @param {() => Promise<T> | T} call
   * @param {keyof typeof Lane} [lane]
   * @returns {Promise<T>}
   */
  enqueue(call, lane = Lane.normal) {
    if (lane === Lane.urgent) this.lastUrgentAt = performance.now();
    return new Promise((resolve, reject) => {
      this.#lanes[lane].push({ call, resolve, reject });
      this.#pump();
    });
  }

  async #pump() {
    if (this.#pumping) return;
    this.#pumping = true;
    for (let job; (job = this.#lanes[Lane.urgent].shift() ?? this.#lanes[Lane.normal].shift()); ) {
      try {
        job.resolve(await job.call());
      } catch (error) {
        job.reject(error);
      }
    }
    this.#pumping = false;
  }

  /** Resolves on the next task of this worker's event loop (no 4 ms clamp, unlike setTimeout). */
  nextTask() {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#channel.port2.postMessage(null);
    });
  }

  /**
   * Runs the control request `op` after the ones before it are done: a Start clicked while a Reset
   * is half done waits for it, so the sequence of 'running' and 'reset' events the page sees is
   * the worker's own, in order.
   */
  inOrder(op) {
    const run = this.#controlChain.then(op);
    this.#controlChain = run.catch(() => {});
    return run;
  }
}
