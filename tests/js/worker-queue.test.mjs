// The worker's order of session calls (www/worker/queue.js): one call at a time, the urgent lane
// before the normal one, a failure rejecting only its own call, control requests in order.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lane } from '../../www/protocol.js';
import { RequestQueue } from '../../www/worker/queue.js';

/** A promise and the function that settles it. */
function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

test('calls run one at a time, each after the previous one settled', async () => {
  const queue = new RequestQueue();
  let running = 0;
  let most = 0;
  const call = (value) => async () => {
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, 2));
    running--;
    return value;
  };
  const results = await Promise.all([1, 2, 3, 4].map((v) => queue.enqueue(call(v), v % 2 ? Lane.urgent : Lane.normal)));
  assert.deepEqual(results, [1, 2, 3, 4], 'each caller gets its own call’s result');
  assert.equal(most, 1, 'never two calls at once');
});

test('an urgent call goes before every normal call that waits, after the call in progress', async () => {
  const queue = new RequestQueue();
  const order = [];
  const gate = deferred();
  const first = queue.enqueue(async () => {
    order.push('chunk 1');
    await gate.promise;
  });
  const rest = [
    queue.enqueue(() => order.push('chunk 2')),
    queue.enqueue(() => order.push('refresh')),
    queue.enqueue(() => order.push('decode'), Lane.urgent),
    queue.enqueue(() => order.push('encode'), Lane.urgent),
  ];
  await Promise.resolve();
  assert.deepEqual(order, ['chunk 1'], 'the call in progress is not interrupted');
  gate.resolve();
  await Promise.all([first, ...rest]);
  assert.deepEqual(order, ['chunk 1', 'decode', 'encode', 'chunk 2', 'refresh']);
});

test('a call that throws rejects its own promise only; the queue goes on', async () => {
  const queue = new RequestQueue();
  const failing = queue.enqueue(() => {
    throw new Error('bad input');
  });
  const next = queue.enqueue(async () => 'still served');
  await assert.rejects(failing, /bad input/);
  assert.equal(await next, 'still served');
});

test('an urgent call notes when it came (chunks stay small for a while after it)', async () => {
  const queue = new RequestQueue();
  assert.equal(queue.lastUrgentAt, -Infinity);
  await queue.enqueue(() => null);
  assert.equal(queue.lastUrgentAt, -Infinity, 'a normal call does not');
  const before = performance.now();
  await queue.enqueue(() => null, Lane.urgent);
  assert.ok(queue.lastUrgentAt >= before && queue.lastUrgentAt <= performance.now());
});

test('control requests run in the order they came, each to its end, past a failed one', async () => {
  const queue = new RequestQueue();
  const log = [];
  const gate = deferred();
  const reset = queue.inOrder(async () => {
    log.push('reset begins');
    await gate.promise;
    log.push('reset ends');
    throw new Error('bad config');
  });
  const start = queue.inOrder(() => log.push('start'));
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(log, ['reset begins'], 'start waits for the reset in progress');
  gate.resolve();
  await assert.rejects(reset, /bad config/);
  await start;
  assert.deepEqual(log, ['reset begins', 'reset ends', 'start']);
});

test('nextTask resolves on a later task, in the order asked', async () => {
  const queue = new RequestQueue();
  const order = [];
  const alive = setTimeout(() => {}, 10_000); // the queue's port does not hold Node's event loop open
  const a = queue.nextTask().then(() => order.push('a'));
  const b = queue.nextTask().then(() => order.push('b'));
  order.push('sync');
  await Promise.all([a, b]);
  clearTimeout(alive);
  assert.deepEqual(order, ['sync', 'a', 'b']);
});
