// The model's home: a module worker, the only place the model's WebAssembly runs (docs/facade.md).
// The page talks to it only through www/client.js; the messages are those of www/protocol.js.
//
// This file starts the model and answers the page's requests; the rest is in www/worker/, each
// module handed the one state object made here (`worker`, www/worker/state.js):
//   facade.js      which build of the model runs (WebGPU and one CPU thread, or CPU threads)
//   race.js        'auto' with a WebGPU adapter: the CPU trains at once, WebGPU warms up beside
//                  it, both are timed on the same steps and the faster keeps the run
//   queue.js       the order of session calls: an urgent lane for the explorer's decode and
//                  encode, and control requests (start, pause, reset, open) one after another
//   data.js        the MNIST files: fetched with progress, inflated (a visitor's own set comes
//                  from the page, as IDX files: useDataSet)
//   training.js    the loop of short chunks (yielding to requests between them), their size,
//                  start, pause, and swapping the model for a new one
//   evaluation.js  the test bound, a few hundred digits at a time between chunks
//   checkpoints.js the run saved in the browser and as a file, and resumed

import { ErrorKind, Event, LANE_OF, Lane, PLANE_DIGITS, Request, kindOf } from './protocol.js';
import { fetchMnist, releaseMnist } from './worker/data.js';
import { evaluateInBackground } from './worker/evaluation.js';
import { emit, messageOf, post } from './worker/messages.js';
import { describeBrowserAdapter, loadBuild, planBuild } from './worker/facade.js';
import { gpuLostInRace, raceDataChanged, raceState, startRace } from './worker/race.js';
import { adoptResumed, checkpointBytes, resumedNow, saveInBackground, saveNow, savedRun, savedRunRecord } from './worker/checkpoints.js';
import { createWorkerState, requireData, requireSession } from './worker/state.js';
import { catchUp, pause, raceTrial, start, startOver } from './worker/training.js';

const worker = createWorkerState();

// A lost GPU device (a driver reset, a GPU taken away, a crash of the GPU process) is announced by
// the GPUDevice's `lost` promise, which Burn's runtime does not watch: keep the device Burn asks
// for, and when it is lost, say so as a crash with the CPU as the way on (the client restarts
// the worker, the page restores the saved run on the CPU).
if (typeof GPUAdapter === 'function' && GPUAdapter.prototype.requestDevice) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (descriptor) {
    const device = await requestDevice.call(this, descriptor);
    worker.gpuDevice = device;
    device.lost.then((info) => {
      const why = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
      // A device only warming up for the race takes nothing with it: the CPU keeps the run.
      if (worker.backend !== 'webgpu') return gpuLostInRace(worker, why);
      worker.running = false;
      emit(Event.crashed, { message: `the GPU device was lost (${why})`, backend: 'cpu' });
    });
    return device;
  };
}

/**
 * The buffers of typed arrays in `value` (one level deep) that can be handed over without a copy:
 * never wasm's own memory, and only arrays that own their whole buffer.
 */
function transferables(value) {
  const list = [];
  const visit = (item) => {
    if (ArrayBuffer.isView(item) && item.buffer instanceof ArrayBuffer && item.byteOffset === 0 &&
        item.byteLength === item.buffer.byteLength && item.buffer !== worker.wasm?.memory?.buffer && !list.includes(item.buffer)) {
      list.push(item.buffer);
    }
  };
  if (ArrayBuffer.isView(value)) visit(value);
  else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  return list;
}

/**
 * Imports and initialises the build of the model `wanted` calls for (www/worker/facade.js), once:
 * the first request that needs the model decides (`schema` or `ready`, both carry the page's
 * `backend` and `?threads=`).
 */
function loadFacade(wanted = {}) {
  // The data do not depend on the build: fetch them while the module compiles. A failure is
  // reported when loadData asks for them.
  fetchMnist().catch(() => {});
  worker.facadeLoading ??= (async () => {
    const { module, wasm, plan } = await loadBuild(await planBuild(wanted));
    worker.wasm = wasm;
    worker.facade = module;
    worker.plan = plan;
    return module;
  })();
  return worker.facadeLoading;
}

/** The model's default config and the checks of each field (protocol.js, ConfigSchema). */
async function schema(wanted) {
  return (await loadFacade(wanted)).configSchema();
}

/**
 * Imports the wasm package, starts the device, builds the model. `race` ('webgpu' | 'cpu', tests
 * only) makes the race's trial hand the run to that backend whatever it measures.
 */
async function ready({ backend: wanted = 'auto', threads = null, config = null, race = null }) {
  if (worker.session) throw new Error('ready was already called');
  worker.forceRaceWinner = ['webgpu', 'cpu'].includes(race) ? race : null;
  await loadFacade({ backend: wanted, threads });
  const { facade, plan } = worker;
  const { defaults } = facade.configSchema();
  let configError = null;
  try {
    worker.session = new facade.VaeSession({ ...defaults, ...(config ?? {}) });
  } catch (error) {
    // The page checks settings before sending them; if the model still refuses them, keep going
    // with the defaults and tell the page why.
    configError = `${messageOf(error)}; using the default configuration instead.`;
    worker.session = new facade.VaeSession(defaults);
  }
  let info;
  try {
    info = await worker.session.init(plan.backend);
  } catch (error) {
    worker.session.free?.();
    worker.session = null;
    throw error;
  }
  worker.backend = info.backend;
  worker.stepsPerChunk = 1;
  // In the browser, wgpu's adapter info is nearly empty (the facade reports e.g. "0 adapter
  // (BrowserWebGpu)"); the browser's own GPUAdapterInfo names the adapter, so show that.
  const browserAdapter = info.backend === 'webgpu' ? await describeBrowserAdapter() : null;
  return {
    backend: info.backend,
    adapter: browserAdapter ?? info.adapter,
    facadeAdapter: info.adapter,
    fallbackReason: plan.fallbackReason,
    threads: info.backend === 'cpu' ? plan.threads : null,
    threadsNote: info.backend === 'cpu' ? plan.threadsNote : null,
    racing: plan.race,
    config: worker.session.config(),
    configError,
  };
}

/** Fetches the four IDX files (in parallel, with progress) and hands them to the model once. */
async function loadData(id) {
  requireSession(worker);
  const files = await fetchMnist((progress) => post({ id, progress }));
  // The wasm memory before and after, so the page (and a test) can see what the data costs.
  const before = worker.wasm.memory.buffer.byteLength;
  const counts = await worker.queue.enqueue(() => worker.session.loadData(...files));
  releaseMnist();
  worker.dataLoaded = true;
  const after = worker.wasm.memory.buffer.byteLength;
  if (worker.plan.race && !worker.race) startRace(worker, files, { forceWinner: worker.forceRaceWinner });
  return { ...counts, wasmMemory: { before, after } };
}

/**
 * Trains on other data from now on: a visitor's own set (`files`, its four IDX files, described by
 * `dataSet`), or MNIST again (`dataSet` null). The model starts over at step 0, as the data it
 * learned are gone; bytes the model refuses leave the model and its data as they were.
 */
async function useDataSet({ files = null, dataSet = null }) {
  requireSession(worker);
  /** @type {import('./worker/data.js').IdxFiles} */
  const idx = dataSet ? files : await fetchMnist();
  /** @type {{train: number, test: number}} */
  let counts = null;
  const config = await startOver(worker, async () => {
    counts = await worker.session.loadData(...idx);
    worker.dataSet = dataSet;
  });
  if (!dataSet) releaseMnist();
  worker.dataLoaded = true;
  raceDataChanged(worker, idx);
  return { ...counts, config };
}

/** A fresh model with `config`. */
function reset({ config }) {
  requireSession(worker);
  return startOver(worker, () => worker.session.reset(config));
}

/** The model saved by `vae train --out` (weights, and their config if given), at step 0. */
async function loadWeights({ bytes, config }) {
  requireData(worker);
  const applied = await startOver(worker, () => worker.session.loadWeights(bytes, config ?? null));
  // The loaded model's test bound, as the chart's first point.
  evaluateInBackground(worker);
  return applied;
}

/**
 * The data set a saved run records in its extra bytes (protocol.js's DataSet; null: MNIST, or a
 * run saved without one, as the native trainer's on MNIST).
 * @param {Uint8Array} extra
 */
function trainedOn(extra) {
  try {
    return JSON.parse(new TextDecoder().decode(extra)).dataSet ?? null;
  } catch {
    return null;
  }
}

/** Continues the run in `bytes` (a checkpoint) exactly where it was: its model, step and chart. */
async function resumeFrom(bytes) {
  requireData(worker);
  // Read before the model is touched: a run is only continued on the images it was trained on.
  const saved = trainedOn(worker.facade.checkpointInfo(bytes).extra);
  if ((saved?.hash ?? null) !== (worker.dataSet?.hash ?? null)) {
    const named = (set) => (set ? `your images "${set.name}"` : 'MNIST');
    const error = new Error(`this run was trained on ${named(saved)}, and the model has ${named(worker.dataSet)} now: choose that data first`);
    error.name = ErrorKind.record; // what the page answers with how to give the model those images
    throw error;
  }
  let info = null;
  await startOver(worker, async () => {
    info = await worker.session.resume(bytes);
  });
  return adoptResumed(worker, info);
}

/**
 * Continues the run saved in this browser; with `toStep` (the step the page had reached, past the
 * save), trains it on to there first, with progress messages, and saves it.
 */
async function resumeSaved({ toStep = null }, id) {
  const run = await savedRunRecord();
  const resumed = await resumeFrom(run.bytes);
  if (!(toStep > resumed.step)) return resumed;
  const m = await catchUp(worker, toStep, (progress) => post({ id, progress }));
  saveInBackground(worker);
  return resumedNow(worker, resumed, m);
}

/** A new step size for the run: saved at once, since taking its last steps again would not use it. */
async function setLearningRate({ learningRate }) {
  const applied = await worker.queue.enqueue(() => requireSession(worker).setLearningRate(learningRate));
  worker.savedStep = -1;
  saveInBackground(worker);
  return applied;
}

/** The race's trial now, outside the training loop (tests): waits for WebGPU to be warm. */
async function raceTrialNow() {
  if (!worker.race) throw new Error('there is no race (it runs for backend=auto with a WebGPU adapter, once the data is in)');
  if (worker.running) throw new Error('pause training first');
  await worker.race.warming;
  if (worker.race.phase !== 'warm') throw new Error(`the race is ${worker.race.phase}${worker.race.result?.reason ? `: ${worker.race.result.reason}` : ''}`);
  worker.running = true; // the trial's CPU steps run as the loop's would
  try {
    return await raceTrial(worker);
  } finally {
    worker.running = false;
  }
}

/** Runs a session call in the lane protocol.js gives its request. */
const inLane = (type, call) => worker.queue.enqueue(call, LANE_OF[type] ?? Lane.normal);
const inOrder = (op) => worker.queue.inOrder(op);
const session = () => requireSession(worker);
const withData = () => requireData(worker);

const handlers = {
  [Request.schema]: (wanted) => schema(wanted),
  [Request.ready]: ready,
  [Request.loadData]: (_, id) => loadData(id),
  [Request.useDataSet]: (args) => inOrder(() => useDataSet(args)),
  [Request.start]: () => inOrder(() => start(worker)),
  [Request.pause]: () => inOrder(() => pause(worker)),
  [Request.reset]: (args) => inOrder(() => reset(args)),
  [Request.loadWeights]: (args) => inOrder(() => loadWeights(args)),
  [Request.panicForTesting]: async () => (await loadFacade()).panicForTesting(),
  [Request.trainStepsForTesting]: ({ n }) => inOrder(() => worker.queue.enqueue(() => withData().trainSteps(n))),
  [Request.raceTrialForTesting]: () => inOrder(raceTrialNow),
  [Request.raceState]: () => raceState(worker.race),
  [Request.loseGpuForTesting]: () => {
    if (!worker.gpuDevice) throw new Error('there is no GPU device to lose');
    worker.gpuDevice.destroy();
    return null;
  },
  [Request.save]: () => saveNow(worker),
  [Request.savedRun]: () => savedRun(),
  [Request.resumeSaved]: (args, id) => inOrder(() => resumeSaved(args, id)),
  [Request.resume]: ({ bytes }) => inOrder(() => resumeFrom(bytes)),
  [Request.checkpoint]: () => checkpointBytes(worker),
  [Request.setLearningRate]: setLearningRate,
  [Request.reconstruct]: ({ n }) => inLane(Request.reconstruct, () => withData().reconstruct(n)),
  [Request.testImages]: ({ count = PLANE_DIGITS }) => inLane(Request.testImages, () => withData().testImages(count)),
  [Request.encodeTest]: ({ count = PLANE_DIGITS }) => inLane(Request.encodeTest, () => withData().encodeTest(count)),
  [Request.encode]: ({ images, n }) => inLane(Request.encode, () => session().encode(images, n)),
  [Request.decode]: ({ z, n }) => inLane(Request.decode, () => session().decode(z, n)),
  [Request.sample]: ({ n }) => inLane(Request.sample, () => session().sample(n)),
  [Request.quantiles]: async ({ n }) => (await loadFacade()).manifoldQuantiles(n),
  [Request.posterior]: ({ image, points, n }) => inLane(Request.posterior, () => session().posterior(image, points, n)),
  [Request.digitBound]: ({ image, k }) => inLane(Request.digitBound, () => session().digitBound(image, k)),
  [Request.repair]: ({ image, corruption, method, scored, seed }) => inLane(Request.repair, () => session().repair(image, corruption, method, scored, seed)),
};

self.onmessage = async ({ data }) => {
  const { id, type, ...args } = data ?? {};
  const handler = handlers[type];
  try {
    if (!handler) throw new Error(`unknown request "${type}"`);
    const result = await handler(args, id);
    post({ id, ok: true, result }, transferables(result));
  } catch (error) {
    post({ id, ok: false, error: messageOf(error), kind: kindOf(error) });
    if (isTrap(error)) reportUncaught(error, messageOf(error));
  }
};

// Anything that escapes a handler still reaches the page as a readable message.
// preventDefault keeps the worker alive in the page's eyes (the client treats a Worker 'error' event
// as fatal: a worker that could not load).
// A trap of the wasm module (a Rust panic, out of memory) leaves it unusable: say so, and the
// client replaces this worker.
// An uncaught error's event may carry only its text: the kind of a trap is then its message's
// "RuntimeError" (Chromium writes "Uncaught RuntimeError: unreachable").
const isTrap = (error) => error instanceof WebAssembly.RuntimeError || (typeof error === 'string' && error.includes('RuntimeError'));
function reportUncaught(error, text) {
  if (isTrap(error)) {
    worker.running = false;
    emit(Event.crashed, { message: text });
  } else {
    emit(Event.error, { message: `Worker error: ${text}` });
  }
}
self.addEventListener('error', (event) => {
  event.preventDefault();
  reportUncaught(event.error ?? event.message, event.message ?? messageOf(event.error));
});
self.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  reportUncaught(event.reason, messageOf(event.reason));
});
