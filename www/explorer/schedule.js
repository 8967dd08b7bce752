// Two ways of keeping requests to the worker from piling up while the user drags or training
// sends metrics many times a second.

/**
 * Runs `run(value)` for the newest submitted value only: at most one run in flight; values
 * submitted meanwhile replace each other, and the last one runs when the current run ends. A
 * drag that outpaces the decoder therefore skips positions instead of queuing them.
 *
 * @template T
 * @param {(value: T) => Promise<void>} run
 * @param {(error: unknown) => void} [onError]
 * @returns {{submit: (value: T) => void, idle: () => Promise<void>, readonly busy: boolean}}
 */
export function latestOnly(run, onError = (e) => console.error(e)) {
  let pending = null;
  let hasPending = false;
  let busy = false;
  let waiters = [];

  async function pump() {
    busy = true;
    while (hasPending) {
      const value = pending;
      pending = null;
      hasPending = false;
      try {
        await run(value);
      } catch (error) {
        onError(error);
      }
    }
    busy = false;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  }

  return {
    submit(value) {
      pending = value;
      hasPending = true;
      if (!busy) pump();
    },
    /** Resolves when nothing is running or pending. */
    idle() {
      return busy ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve();
    },
    get busy() {
      return busy;
    },
  };
}

/**
 * Runs `run()` at most once per `intervalMs`, never two at once: a request while a run is in
 * flight marks it dirty and one more run follows it; requests while waiting for the interval
 * fold into the one waiting run.
 *
 * @param {() => (void | Promise<void>)} run
 * @param {number} intervalMs
 * @param {{now?: () => number, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout,
 *          onError?: (error: unknown) => void}} [env]
 */
export function throttle(run, intervalMs, env = {}) {
  const now = env.now ?? (() => performance.now());
  const setTimer = env.setTimer ?? setTimeout;
  const clearTimer = env.clearTimer ?? clearTimeout;
  const onError = env.onError ?? ((e) => console.error(e));
  let last = -Infinity;
  let timer = null;
  let busy = false;
  let dirty = false;
  let stopped = false;

  async function go() {
    timer = null;
    busy = true;
    last = now();
    try {
      await run();
    } catch (error) {
      onError(error);
    }
    busy = false;
    if (dirty && !stopped) {
      dirty = false;
      request();
    }
  }

  function request({ immediate = false } = {}) {
    if (stopped) return;
    if (busy) {
      dirty = true;
      return;
    }
    if (timer !== null) {
      if (!immediate) return;
      clearTimer(timer);
    }
    const wait = immediate ? 0 : Math.max(0, last + intervalMs - now());
    timer = setTimer(go, wait);
  }

  return {
    /** Asks for a run; `{immediate: true}` skips the interval (a reset, a user action). */
    request,
    /** Cancels any waiting run; a run in flight finishes. */
    stop() {
      stopped = true;
      if (timer !== null) clearTimer(timer);
      timer = null;
    },
    get busy() {
      return busy;
    },
  };
}
