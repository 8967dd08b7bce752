// The page's handle on the worker (www/client.js), with a fake Worker: requests matched to
// answers by id, and the restart after a crash: pending requests reject, a fresh worker replaces
// the old one, 'restarted' tells the page, and the dead worker is no longer heard.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { RESTARTED, VaeClient } from '../../www/client.js';
import { ErrorKind, Event, Request, kindOf } from '../../www/protocol.js';

/** Stands in for a module Worker: keeps what it was sent, answers when the test says. */
class FakeWorker {
  static made = [];
  constructor(url, options) {
    Object.assign(this, { url, options, sent: [], terminated: false, onmessage: null, onerror: null, onmessageerror: null });
    FakeWorker.made.push(this);
  }
  postMessage(message) {
    this.sent.push(message);
  }
  terminate() {
    this.terminated = true;
  }
  /** The worker posts `data` to the page. */
  send(data) {
    this.onmessage({ data });
  }
  /** The last request of `type`. */
  last(type) {
    return this.sent.findLast((m) => m.type === type);
  }
}

let realWorker;
beforeEach(() => {
  realWorker = globalThis.Worker;
  globalThis.Worker = FakeWorker;
  FakeWorker.made = [];
});
afterEach(() => {
  globalThis.Worker = realWorker;
});

/** Events of `types` the client emits, in order, as `[type, detail]`. */
function record(client, types) {
  const seen = [];
  for (const type of types) client.addEventListener(type, (e) => seen.push([type, e.detail]));
  return seen;
}

/** A client whose worker answered `ready`. */
async function readyClient() {
  const client = new VaeClient('worker.js');
  const worker = FakeWorker.made[0];
  const ready = client.ready({ backend: 'cpu' });
  worker.send({ id: worker.last(Request.ready).id, ok: true, result: { backend: 'cpu', config: { latentDim: 2 } } });
  await ready;
  return { client, worker };
}

test('a request is answered by the message with its id; an error answer rejects with its text', async () => {
  const client = new VaeClient('worker.js');
  const worker = FakeWorker.made[0];
  assert.deepEqual(worker.options, { type: 'module' });
  const sample = client.sample(4);
  const reset = client.reset({ latentDim: 3 });
  const [s, r] = [worker.last(Request.sample), worker.last(Request.reset)];
  assert.notEqual(s.id, r.id);
  worker.send({ id: r.id, ok: false, error: 'invalid config: latentDim' });
  worker.send({ id: s.id, ok: true, result: 'pixels' });
  assert.equal(await sample, 'pixels');
  await assert.rejects(reset, /^Error: invalid config: latentDim$/);
});

test("an error answer's kind becomes the rejection's name, which the page decides on", async () => {
  const client = new VaeClient('worker.js');
  const worker = FakeWorker.made[0];
  const reset = client.reset({ latentDim: 0 });
  const sample = client.sample(2);
  worker.send({ id: worker.last(Request.reset).id, ok: false, error: 'invalid config: latentDim: must be at least 1', kind: ErrorKind.config });
  await assert.rejects(reset, (e) => e.name === 'Config' && kindOf(e) === ErrorKind.config && /latentDim/.test(e.message));
  worker.send({ id: worker.sent.at(-1).id, ok: false, error: 'a message of the page itself', kind: null });
  await assert.rejects(sample, (e) => e.name === 'Error' && kindOf(e) === null);
});

test('a crash after ready: pending requests reject, a fresh worker, then running=false and restarted', async () => {
  const { client, worker } = await readyClient();
  const events = record(client, [Event.running, RESTARTED]);
  const pending = client.sample(4);
  worker.send({ event: Event.crashed, detail: { message: 'unreachable executed' } });
  await assert.rejects(pending, /The model crashed: unreachable executed/);
  assert.equal(worker.terminated, true);
  assert.equal(FakeWorker.made.length, 2, 'a fresh worker');
  assert.deepEqual(events, [
    [Event.running, { running: false }],
    [RESTARTED, { message: 'The model crashed: unreachable executed', backend: null }],
  ]);
  assert.equal(client.backend, null, 'the backend is not known until the page starts the model again');

  // The fresh worker serves new requests; the dead one is no longer heard.
  const fresh = FakeWorker.made[1];
  const again = client.sample(2);
  const id = fresh.last(Request.sample).id;
  worker.send({ id, ok: true, result: 'from the dead worker' });
  fresh.send({ id, ok: true, result: 'from the fresh worker' });
  assert.equal(await again, 'from the fresh worker');
});

test('a lost GPU: the restart names the way on (the CPU), in the worker’s words', async () => {
  const { client, worker } = await readyClient();
  const events = record(client, [RESTARTED]);
  worker.send({ event: Event.crashed, detail: { message: 'the GPU device was lost (destroyed)', backend: 'cpu' } });
  assert.deepEqual(events, [[RESTARTED, { message: 'The GPU device was lost (destroyed)', backend: 'cpu' }]]);
});

test('a worker error after ready restarts it; before ready, the client fails for good', async () => {
  const { client, worker } = await readyClient();
  const events = record(client, [RESTARTED]);
  worker.onerror({ message: 'out of memory', filename: 'worker.js', lineno: 7, preventDefault() {} });
  assert.equal(FakeWorker.made.length, 2);
  assert.equal(events[0][1].message, 'The training worker failed: out of memory (worker.js:7)');

  FakeWorker.made = [];
  const early = new VaeClient('worker.js');
  const errors = record(early, [Event.error, RESTARTED]);
  const schema = early.schema();
  FakeWorker.made[0].onerror({ message: '', preventDefault() {} });
  await assert.rejects(schema, /could not start/);
  assert.equal(FakeWorker.made.length, 1, 'no restart before the worker ever answered ready');
  assert.deepEqual(errors.map(([type]) => type), [Event.error]);
  await assert.rejects(early.sample(1), /could not start/, 'every later request rejects with the same reason');
});

test('the worker’s events update what the client knows, and reach the page as they are', async () => {
  const { client, worker } = await readyClient();
  const events = record(client, [Event.running, Event.reset, Event.race]);
  worker.send({ event: Event.running, detail: { running: true } });
  assert.equal(client.running, true);
  worker.send({ event: Event.reset, detail: { config: { latentDim: 20 } } });
  assert.equal(client.latentDim, 20);
  worker.send({ event: Event.race, detail: { phase: 'done', winner: 'webgpu' } });
  assert.equal(client.backend, 'webgpu');
  assert.equal(events.length, 3);
});
