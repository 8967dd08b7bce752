// The model's home: a module worker, and the only importer of ../pkg/vae_web.js (docs/facade.md).
// The page talks to it only through www/client.js; the messages are those of www/protocol.js.
//
// Training runs as a loop of short chunks (`trainSteps(k)`), with a yield to this worker's event
// loop after each one, so requests that arrive during a chunk (a drag in the explorer asking for
// decode) are served before the next chunk starts. Every call into the session goes through one
// queue with an urgent lane for the explorer's decode and encode (see `enqueue`). The test bound
// is computed a few hundred digits at a time between chunks, so it never stalls training or the
// explorer.

import { Event, LANE_OF, Lane, PLANE_DIGITS, Request } from './protocol.js';
import { RunStoreError, loadRun, saveRun } from './runs.js';

/** The MNIST files, gzip-compressed (about 11 MB in all; 55 MB once inflated). */
const DATA_FILES = [
  ['trainImages', 'train-images-idx3-ubyte.gz'],
  ['trainLabels', 'train-labels-idx1-ubyte.gz'],
  ['testImages', 't10k-images-idx3-ubyte.gz'],
  ['testLabels', 't10k-labels-idx1-ubyte.gz'],
];
const DATA_DIR = new URL('../data/mnist/', import.meta.url);

// A lost GPU device (a driver reset, a GPU taken away, a crash of the GPU process) is announced by
// the GPUDevice's \`lost\` promise, which Burn's runtime does not watch: keep the device Burn asks
// for, and when it is lost, say so as a crash with the CPU as the way on (the client restarts
// the worker, the page restores the saved run on the CPU).
let gpuDevice = null;
if (typeof GPUAdapter === 'function' && GPUAdapter.prototype.requestDevice) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    gpuDevice = device;
    device.lost.then((info) => {
      running = false;
      emit(Event.crashed, { message: `the GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`, backend: 'cpu' });
    });
    return device;
  };
}

/** Test digits per piece of an evaluation (about 30 ms on one CPU core). */
const EVALUATION_PIECE = 500;

/** While training, the run is saved in the browser this often (and on pause, and when hidden). */
const SAVE_EVERY_MS = 10_000;

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

let facade = null; // the module ../pkg/vae_web.js, once imported and initialised
let wasm = null; // init()'s exports: wasm.memory tells arrays that are views on wasm memory apart
let facadeLoading = null;
let session = null;
let backend = null;
let dataLoaded = false;

let running = false; // wanted state: the loop keeps going while true
let loop = null; // the promise of the running loop, null when stopped
let stepsPerChunk = 1;
let lastStep = 0;
let lastEvaluatedStep = -1;
let evaluation = null; // the promise of the evaluation in progress

// The run's record, saved with it: the chart's points (x = examples seen) and the last test bound.
const emptyLog = () => ({
  train: { x: [], loss: [], reconstruction: [], kl: [] },
  test: { x: [], loss: [], reconstruction: [], kl: [] },
});
let runLog = emptyLog();
let lastSaveAt = performance.now();
let saving = null; // the promise of the save in progress
let storageWarned = false;

// Every session call runs one at a time, each after the previous one settled, in the lanes of
// protocol.js: urgent calls go before whatever waits in the normal lane, so a drag is answered as
// soon as the chunk in progress ends, even while training runs.
const lanes = { [Lane.urgent]: [], [Lane.normal]: [] };
let pumping = false;
let lastUrgentAt = -Infinity; // performance.now() of the last urgent request
function enqueue(call, lane = Lane.normal) {
  if (lane === Lane.urgent) lastUrgentAt = performance.now();
  return new Promise((resolve, reject) => {
    lanes[lane].push({ call, resolve, reject });
    pump();
  });
}
async function pump() {
  if (pumping) return;
  pumping = true;
  for (let job; (job = lanes[Lane.urgent].shift() ?? lanes[Lane.normal].shift()); ) {
    try {
      job.resolve(await job.call());
    } catch (error) {
      job.reject(error);
    }
  }
  pumping = false;
}

const post = (message, transfer = []) => self.postMessage(message, transfer);
const emit = (event, detail, transfer) => post({ event, detail }, transfer);
const messageOf = (error) =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);

/** Resolves on the next task of this worker's event loop (no 4 ms clamp, unlike setTimeout). */
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
function nextTask() {
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}

/**
 * The buffers of typed arrays in `value` (one level deep) that can be handed over without a copy:
 * never wasm's own memory, and only arrays that own their whole buffer.
 */
function transferables(value) {
  const list = [];
  const visit = (item) => {
    if (ArrayBuffer.isView(item) && item.buffer instanceof ArrayBuffer && item.byteOffset === 0 &&
        item.byteLength === item.buffer.byteLength && item.buffer !== wasm?.memory?.buffer && !list.includes(item.buffer)) {
      list.push(item.buffer);
    }
  };
  if (ArrayBuffer.isView(value)) visit(value);
  else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  return list;
}

function requireSession() {
  if (!session) throw new Error('the model is not ready yet (call ready first)');
  return session;
}

function requireData() {
  requireSession();
  if (!dataLoaded) throw new Error('the training data is not loaded yet');
  return session;
}

/** Imports and initialises the wasm package, once. */
function loadFacade() {
  facadeLoading ??= (async () => {
    let module;
    try {
      module = await import('../pkg/vae_web.js');
    } catch (error) {
      throw new Error(`could not load the WebAssembly package (pkg/vae_web.js): ${messageOf(error)}. Was it built (wasm-pack build)?`);
    }
    wasm = await module.default();
    facade = module;
    return module;
  })();
  return facadeLoading;
}

/** The model's default config and the checks of each field (protocol.js, ConfigSchema). */
async function schema() {
  return (await loadFacade()).configSchema();
}

/** Imports the wasm package, starts the device, builds the model. */
async function ready({ backend: wanted = 'auto', config = null }) {
  if (session) throw new Error('ready was already called');
  await loadFacade();
  const { defaults } = facade.configSchema();
  let configError = null;
  try {
    session = new facade.VaeSession({ ...defaults, ...(config ?? {}) });
  } catch (error) {
    // The page checks settings before sending them; if the model still refuses them, keep going
    // with the defaults and tell the page why.
    configError = `${messageOf(error)}; using the default configuration instead.`;
    session = new facade.VaeSession(defaults);
  }
  let info;
  try {
    info = await session.init(wanted);
  } catch (error) {
    session.free?.();
    session = null;
    throw error;
  }
  backend = info.backend;
  stepsPerChunk = 1;
  // In the browser, wgpu's adapter info is nearly empty (the facade reports e.g. "0 adapter
  // (BrowserWebGpu)"); the browser's own GPUAdapterInfo names the adapter, so show that.
  const browserAdapter = info.backend === 'webgpu' ? await describeBrowserAdapter() : null;
  return {
    backend: info.backend,
    adapter: browserAdapter ?? info.adapter,
    facadeAdapter: info.adapter,
    fallbackReason: info.fallbackReason ?? null,
    config: session.config(),
    configError,
  };
}

/** "google swiftshader", "nvidia ampere", or the adapter's description; null if unknown. */
async function describeBrowserAdapter() {
  try {
    const info = (await navigator.gpu?.requestAdapter())?.info;
    if (!info) return null;
    return info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || null;
  } catch {
    return null;
  }
}

/**
 * Fetches one gzip-compressed file and inflates it (the browser's own DecompressionStream),
 * reporting compressed bytes as they arrive: `onBytes(n)` for each piece, `onLength(total)` once.
 */
async function fetchInflated(name, onBytes, onLength) {
  const url = new URL(name, DATA_DIR);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url.pathname}: HTTP ${response.status} ${response.statusText}`);
  onLength(Number(response.headers.get('Content-Length')) || 0);
  const counted = response.body.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        onBytes(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
  // A server that already inflated it (Content-Encoding: gzip) hands over the IDX bytes.
  const stream = response.headers.get('Content-Encoding') ? counted : counted.pipeThrough(new DecompressionStream('gzip'));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new Error(`${url.pathname} is not a valid gzip file: ${messageOf(error)}`);
  }
}

/** Fetches the four IDX files (in parallel, with progress) and hands them to the model once. */
async function loadData(id) {
  requireSession();
  let loaded = 0;
  let total = 0;
  let lengthsKnown = 0;
  let lastPost = 0;
  const progress = (file, force = false) => {
    const now = performance.now();
    if (!force && now - lastPost < 50) return;
    lastPost = now;
    // Until every Content-Length is in, the total is not known: report it as 0 (indeterminate).
    post({ id, progress: { loaded, total: lengthsKnown === DATA_FILES.length ? total : 0, file } });
  };
  const files = await Promise.all(
    DATA_FILES.map(([, name]) =>
      fetchInflated(
        name,
        (n) => {
          loaded += n;
          progress(name);
        },
        (length) => {
          total += length;
          lengthsKnown += length > 0 ? 1 : 0;
        },
      ),
    ),
  );
  total = Math.max(total, loaded);
  lengthsKnown = DATA_FILES.length;
  progress('', true);
  // The wasm memory before and after, so the page (and a test) can see what the data costs.
  const before = wasm.memory.buffer.byteLength;
  const counts = await enqueue(() => session.loadData(...files));
  dataLoaded = true;
  return { ...counts, wasmMemory: { before, after: wasm.memory.buffer.byteLength } };
}

/**
 * The test bound of the model as it is now, over every test digit, computed a piece at a time in
 * the normal lane (training chunks and refreshes run between the pieces); then 'evaluated'. One
 * evaluation at a time: a call while one runs returns that one.
 */
function evaluateAndEmit() {
  evaluation ??= (async () => {
    try {
      for (;;) {
        const bound = await enqueue(() => requireData().evaluate(EVALUATION_PIECE));
        if (bound) {
          lastEvaluatedStep = bound.step;
          record(runLog.test, bound);
          emit(Event.evaluated, bound);
          return bound;
        }
        await nextTask();
      }
    } finally {
      evaluation = null;
    }
  })();
  return evaluation;
}

function evaluateInBackground() {
  evaluateAndEmit().catch((error) => emit(Event.error, { message: `Evaluation failed: ${messageOf(error)}` }));
}

/** Training loop: chunks until `running` goes false or a call fails. */
async function trainLoop() {
  emit(Event.running, { running: true });
  try {
    while (running) {
      // While the user drags or draws, one step per chunk, so the next decode waits less.
      const interactive = performance.now() - lastUrgentAt < INTERACTIVE_MS;
      const m = await enqueue(() => requireData().trainSteps(interactive ? 1 : stepsPerChunk));
      if (m.diverged) {
        // The facade rolled the run back to m.step (the start of its last healthy chunk). Pause,
        // and suggest a tenth of the rate, no more than the default (a rate far above it rarely
        // works for this model).
        running = false;
        lastStep = m.step;
        const learningRate = session.config().learningRate;
        const fallback = facade.configSchema().defaults.learningRate;
        const suggested = Number(Math.min(learningRate / 10, fallback).toPrecision(2));
        emit(Event.diverged, { step: m.step, learningRate, suggested, loss: m.loss });
        break;
      }
      if (!Number.isFinite(m.loss) || m.loss === 0) {
        throw new Error(`training produced a loss of ${m.loss} at step ${m.step}`);
      }
      lastStep = m.step;
      record(runLog.train, m);
      emit(Event.metrics, m);
      adaptChunk(m.msPerStep);
      if (m.epochEnded) evaluateInBackground();
      if (performance.now() - lastSaveAt > SAVE_EVERY_MS) saveInBackground();
      // Let requests that came in during the chunk run before the next chunk is queued.
      await nextTask();
    }
  } catch (error) {
    running = false;
    if (backend === 'webgpu' && /all-zero|device|lost/i.test(messageOf(error))) {
      // A GPU device that failed silently reads back zeros (the trainer undid the chunk).
      emit(Event.crashed, { message: `the GPU device failed: ${messageOf(error)}`, backend: 'cpu' });
    } else {
      emit(Event.error, { message: `Training stopped: ${messageOf(error)}` });
    }
  }
  emit(Event.running, { running: false });
}

/** Sizes the next chunk from the last one's time per step (measured inside the facade). */
function adaptChunk(perStep) {
  if (!(perStep > 0)) return;
  const { targetMs, maxSteps } = CHUNK[backend] ?? CHUNK.cpu;
  const ideal = Math.max(1, Math.min(maxSteps, Math.floor(targetMs / Math.max(perStep, 0.01))));
  // Move half way, so one slow chunk (a garbage collection, a shader compile) does not swing it.
  stepsPerChunk = Math.max(1, Math.round((stepsPerChunk + ideal) / 2));
}

// The control requests (start, pause, reset, open a model or a run) run one after another, in the
// order they came, each to its end: a Start clicked while a Reset is half done waits for it, so
// the sequence of 'running' and 'reset' events the page sees is the worker's own, in order.
let controlChain = Promise.resolve();
function inOrder(op) {
  const run = controlChain.then(op);
  controlChain = run.catch(() => {});
  return run;
}

function start() {
  requireData();
  running = true;
  loop ??= trainLoop().finally(() => {
    loop = null;
  });
  return null;
}

async function pause() {
  running = false;
  await loop;
  // A test bound for where the user paused, unless one was just taken. Not awaited: the pause
  // itself is done; the bound follows as an 'evaluated' event.
  if (dataLoaded && !running && lastStep > 0 && lastEvaluatedStep !== lastStep) evaluateInBackground();
  if (dataLoaded && !running && lastStep > 0) saveInBackground();
  return null;
}

/**
 * Swaps the model for a new one made by `make` (a session call), starting over at step 0. Training
 * stops first; if `make` fails, the model in use is kept (and training resumes if it was running)
 * and the page shows why.
 */
async function startOver(make) {
  const wasRunning = running;
  running = false;
  await loop;
  try {
    await enqueue(make);
  } catch (error) {
    if (wasRunning) start();
    throw error;
  }
  stepsPerChunk = 1;
  lastStep = 0;
  lastEvaluatedStep = -1;
  runLog = emptyLog();
  await evaluation?.catch(() => {}); // an evaluation of the old model ends (with an error) first
  const applied = session.config();
  emit(Event.reset, { config: applied });
  return applied;
}

/** Appends a metrics or test-bound payload to one of the run log's series (x = examples seen). */
function record(series, point) {
  const last = series.x.length - 1;
  if (last >= 0 && series.x[last] === point.examplesSeen) for (const key of Object.keys(series)) series[key].pop();
  series.x.push(point.examplesSeen);
  series.loss.push(point.loss);
  series.reconstruction.push(point.reconstruction);
  series.kl.push(point.kl);
}

/**
 * Saves the run in the browser (www/runs.js): a checkpoint with the run log as its extra bytes.
 * On the CPU backend only (WebGPU cannot be read back synchronously yet). One save at a time.
 */
function saveNow() {
  saving ??= (async () => {
    try {
      if (!dataLoaded || lastStep === 0 || backend !== 'cpu') return null;
      lastSaveAt = performance.now();
      const extra = new TextEncoder().encode(JSON.stringify(runLog));
      let ms = 0;
      const bytes = await enqueue(async () => {
        const started = performance.now();
        const made = await session.checkpoint(extra);
        ms = performance.now() - started;
        return made;
      });
      const config = session.config();
      const test = runLog.test;
      const run = {
        bytes,
        step: lastStep,
        examplesSeen: lastStep * config.batchSize,
        testLoss: test.loss.length ? test.loss[test.loss.length - 1] : null,
        latentDim: config.latentDim,
        savedAt: Date.now(),
      };
      await saveRun(run);
      lastSaveAt = performance.now();
      emit(Event.saved, { step: run.step, savedAt: run.savedAt, bytes: bytes.byteLength, ms });
      return run.step;
    } catch (error) {
      if (!(error instanceof RunStoreError)) throw error;
      if (!storageWarned) emit(Event.error, { message: `${error.message[0].toUpperCase()}${error.message.slice(1)}; training goes on.` });
      storageWarned = true;
      return null;
    } finally {
      saving = null;
    }
  })();
  return saving;
}

function saveInBackground() {
  saveNow().catch((error) => emit(Event.error, { message: `Saving the run failed: ${messageOf(error)}; training goes on.` }));
}

/** The saved run's description (not its bytes), or null. */
async function savedRun() {
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

/** Continues the run in `bytes` (a checkpoint) exactly where it was: its model, step and chart. */
async function resumeFrom(bytes) {
  requireData();
  let info = null;
  await startOver(async () => {
    info = await session.resume(bytes);
  });
  lastStep = info.step;
  lastEvaluatedStep = -1;
  try {
    runLog = { ...emptyLog(), ...JSON.parse(new TextDecoder().decode(info.extra)) };
  } catch {
    runLog = emptyLog(); // a run saved by the native trainer carries no chart
  }
  const test = runLog.test;
  if (test.x.length && test.x[test.x.length - 1] === info.examplesSeen) lastEvaluatedStep = info.step;
  return { config: info.config, step: info.step, epoch: info.epoch, examplesSeen: info.examplesSeen, history: runLog };
}

async function resumeSaved() {
  const run = await loadRun();
  if (!run) throw new Error('there is no saved run in this browser');
  return resumeFrom(run.bytes);
}

/** The run as a file's bytes, for "Download model". */
function checkpointBytes() {
  requireData();
  const extra = new TextEncoder().encode(JSON.stringify(runLog));
  return enqueue(() => session.checkpoint(extra));
}

/** A fresh model with `config`. */
function reset({ config }) {
  requireSession();
  return startOver(() => session.reset(config));
}

/** The model saved by `vae train --out` (weights, and their config if given), at step 0. */
async function loadWeights({ bytes, config }) {
  requireData();
  const applied = await startOver(() => session.loadWeights(bytes, config ?? null));
  // The loaded model's test bound, as the chart's first point.
  evaluateInBackground();
  return applied;
}

/** Runs a session call in the lane protocol.js gives its request. */
const inLane = (type, call) => enqueue(call, LANE_OF[type] ?? Lane.normal);

const handlers = {
  [Request.schema]: schema,
  [Request.ready]: ready,
  [Request.loadData]: (_, id) => loadData(id),
  [Request.start]: () => inOrder(start),
  [Request.pause]: () => inOrder(pause),
  [Request.reset]: (args) => inOrder(() => reset(args)),
  [Request.loadWeights]: (args) => inOrder(() => loadWeights(args)),
  [Request.panicForTesting]: async () => (await loadFacade()).panicForTesting(),
  [Request.loseGpuForTesting]: () => {
    if (!gpuDevice) throw new Error('there is no GPU device to lose');
    gpuDevice.destroy();
    return null;
  },
  [Request.save]: () => saveNow(),
  [Request.savedRun]: () => savedRun(),
  [Request.resumeSaved]: () => inOrder(resumeSaved),
  [Request.resume]: ({ bytes }) => inOrder(() => resumeFrom(bytes)),
  [Request.checkpoint]: () => checkpointBytes(),
  [Request.setLearningRate]: ({ learningRate }) => inLane(Request.setLearningRate, () => requireSession().setLearningRate(learningRate)),
  [Request.reconstruct]: ({ n }) => inLane(Request.reconstruct, () => requireData().reconstruct(n)),
  [Request.testImages]: ({ count = PLANE_DIGITS }) => inLane(Request.testImages, () => requireData().testImages(count)),
  [Request.encodeTest]: ({ count = PLANE_DIGITS }) => inLane(Request.encodeTest, () => requireData().encodeTest(count)),
  [Request.encode]: ({ images, n }) => inLane(Request.encode, () => requireSession().encode(images, n)),
  [Request.decode]: ({ z, n }) => inLane(Request.decode, () => requireSession().decode(z, n)),
  [Request.sample]: ({ n }) => inLane(Request.sample, () => requireSession().sample(n)),
  [Request.quantiles]: async ({ n }) => (await loadFacade()).manifoldQuantiles(n),
  [Request.posterior]: ({ image, points, n }) => inLane(Request.posterior, () => requireSession().posterior(image, points, n)),
  [Request.digitBound]: ({ image, k }) => inLane(Request.digitBound, () => requireSession().digitBound(image, k)),
};

self.onmessage = async ({ data }) => {
  const { id, type, ...args } = data ?? {};
  const handler = handlers[type];
  try {
    if (!handler) throw new Error(`unknown request "${type}"`);
    const result = await handler(args, id);
    post({ id, ok: true, result }, transferables(result));
  } catch (error) {
    post({ id, ok: false, error: messageOf(error) });
    if (isTrap(error)) reportUncaught(error, messageOf(error));
  }
};

// Anything that escapes a handler still reaches the page as a readable message.
// preventDefault keeps the worker alive in the page's eyes (the client treats a Worker 'error' event
// as fatal: a worker that could not load).
// A trap of the wasm module (a Rust panic, out of memory) leaves it unusable: say so, and the
// client replaces this worker.
const isTrap = (error) => error instanceof WebAssembly.RuntimeError || /RuntimeError|unreachable/.test(String(error?.message ?? error));
function reportUncaught(error, text) {
  if (isTrap(error)) {
    running = false;
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
