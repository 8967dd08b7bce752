// The main thread's handle on the worker. The model lives only in www/worker.js; this object turns
// its messages (www/protocol.js) into promises, one per request matched by id, and into events:
// an EventTarget whose events are protocol.js's `Event`s, `event.detail` carrying the payload.

import { DEADLINE_MS, DEFAULT_DEADLINE_MS, Event, PLANE_DIGITS, Request } from './protocol.js';

/**
 * The error an answer `{ error, kind }` stands for: its message, and its kind (protocol.js's
 * `ErrorKind`) as its `name` when the model gave one.
 * @param {{error: string, kind?: string|null}} answer
 */
function errorOf({ error, kind }) {
  const e = new Error(error);
  if (kind) e.name = kind;
  return e;
}

/** The client's own event: the worker crashed and a fresh one replaced it (`detail.message`). */
export const RESTARTED = 'restarted';
/**
 * The client's own event: the model has other data (`detail.dataSet`, protocol.js's DataSet, null
 * for MNIST), after `useDataSet` or a restart (a fresh worker starts on MNIST).
 */
export const DATA_SET = 'dataset';

export class VaeClient extends EventTarget {
  #worker;
  #nextId = 1;
  #pending = new Map(); // id -> { resolve, reject, onProgress }
  #config = null;
  #dataSet = null;
  #backend = null;
  #running = false;
  #failure = null; // set once the worker itself has died: every later request rejects with it

  #workerUrl;
  #started = false; // the worker answered `ready` once: from then on a crash restarts it

  constructor(workerUrl = new URL('./worker.js', import.meta.url)) {
    super();
    this.#workerUrl = workerUrl;
    this.#spawn();
  }

  #spawn() {
    const worker = new Worker(this.#workerUrl, { type: 'module' });
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      if (worker === this.#worker) this.#receive(data);
    };
    // A module worker that fails to load or throws at top level reports only a bare ErrorEvent.
    worker.onerror = (event) => {
      event.preventDefault();
      if (worker !== this.#worker) return;
      const message = event.message
        ? `The training worker failed: ${event.message}${event.filename ? ` (${event.filename}:${event.lineno})` : ''}`
        : 'The training worker could not start (www/worker.js failed to load or threw while loading).';
      if (this.#started) this.#restart(message);
      else this.#fail(message);
    };
    worker.onmessageerror = () => this.#emit(Event.error, { message: 'A message from the training worker could not be read.' });
  }

  /**
   * The worker crashed (its module trapped, or it stopped answering): every pending request
   * rejects, a fresh worker replaces it, and 'restarted' `{ message }` tells the page, which
   * starts the model again (ready, loadData; on `backend` when given) and restores the saved run.
   */
  #restart(message, backend = null) {
    this.#worker.terminate();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#running = false;
    this.#backend = null;
    const had = this.#dataSet;
    this.#dataSet = null; // a fresh worker starts on MNIST
    this.#spawn();
    for (const { reject, timer } of pending) {
      clearTimeout(timer);
      reject(new Error(message));
    }
    this.#emit(Event.running, { running: false });
    if (had) this.#emit(DATA_SET, { dataSet: null });
    this.#emit(RESTARTED, { message, backend });
  }

  /**
   * The model's default config and the checks of each field: protocol.js's ConfigSchema. The
   * worker loads the model's build for `backend` and `threads` (the address's raw `?backend=`
   * and `?threads=`) to answer, so give the ones `ready` will get.
   */
  schema({ backend = 'auto', threads = null } = {}) {
    return this.#request(Request.schema, { backend, threads });
  }

  /**
   * Loads the wasm and the device, builds the model: protocol.js's ReadyInfo. `threads` (text
   * from `?threads=`, or null for one per core) applies when the model runs on the CPU.
   */
  async ready({ backend = 'auto', threads = null, config = null, race = null } = {}) {
    const info = await this.#request(Request.ready, { backend, threads, config, race });
    this.#backend = info.backend;
    this.#config = info.config;
    this.#started = true;
    return info;
  }

  /** Makes the wasm module panic (fault-injection tests only): 'restarted' follows. */
  panicForTesting() {
    return this.#request(Request.panicForTesting).catch(() => null);
  }

  /** Takes `n` training steps now, outside the training loop; resolves to their metrics (tests only). */
  trainStepsForTesting(n) {
    return this.#request(Request.trainStepsForTesting, { n });
  }

  /** Once WebGPU is warm, times it against the CPU now and hands the run over (tests only): protocol.js's TrialRecord. */
  raceTrialForTesting() {
    return this.#request(Request.raceTrialForTesting);
  }

  /** The backend race's state (protocol.js's RaceState), or null when there is none. */
  raceState() {
    return this.#request(Request.raceState);
  }

  /** Destroys the GPU device, as a lost one would be (fault-injection tests only). */
  loseGpuForTesting() {
    return this.#request(Request.loseGpuForTesting).catch(() => null);
  }

  /** The worker fetches data/mnist/*.gz; `onProgress({ loaded, total, file })`, total 0 while unknown. */
  loadData(onProgress) {
    return this.#request(Request.loadData, {}, [], onProgress);
  }

  /**
   * Trains on other data from now on: `files`, the four IDX files of a visitor's own set
   * (protocol.js's DataSet describes it), or MNIST again (`dataSet` null, no files). A fresh model
   * at step 0 ('reset' follows); resolves to `{ train, test, config }`, or rejects with the reason,
   * the model and its data kept. The files are handed over (the caller's arrays are emptied).
   * @param {Uint8Array[] | null} files
   * @param {import('./protocol.js').DataSet | null} dataSet
   */
  async useDataSet(files, dataSet) {
    const result = await this.#request(Request.useDataSet, { files, dataSet }, files ? files.map((f) => f.buffer) : []);
    this.#config = result.config;
    this.#dataSet = dataSet;
    this.#emit(DATA_SET, { dataSet });
    return result;
  }

  /** The data set the model trains on (protocol.js's DataSet), or null for MNIST. */
  get dataSet() {
    return this.#dataSet;
  }

  /** Starts (or keeps) training; 'running' follows. Errors arrive as 'error' events. */
  start() {
    this.#request(Request.start).catch((error) => this.#emit(Event.error, { message: error.message }));
  }

  /** Stops training after the current chunk; 'running' { running: false } follows, then a test bound. */
  pause() {
    this.#request(Request.pause).catch((error) => this.#emit(Event.error, { message: error.message }));
  }

  /** Rebuilds the model with `config` (a full config); rejects with the reason, keeping the model. */
  async reset(config) {
    const applied = await this.#request(Request.reset, { config });
    this.#config = applied;
    return applied;
  }

  /**
   * Replaces the model with weights saved by `vae train --out` (`bytes`: the .bpk file) and, if
   * given, the config saved beside them (the .json, parsed); a fresh start at step 0. Rejects with
   * the reason, keeping the model.
   */
  async loadWeights(bytes, config = null) {
    const applied = await this.#request(Request.loadWeights, { bytes, config }, [bytes.buffer]);
    this.#config = applied;
    return applied;
  }

  /** Saves the run in the browser now; resolves to the step saved, or null. */
  save() {
    return this.#request(Request.save);
  }

  /** The run saved in this browser (its description), or null. */
  savedRun() {
    return this.#request(Request.savedRun);
  }

  /**
   * Continues the run saved in this browser: protocol.js's Resumed. `toStep`: the step the page had
   * reached after the save; the steps up to it are taken again first (`onProgress({ done, total })`).
   */
  async resumeSaved({ toStep = null, onProgress = null } = {}) {
    const resumed = await this.#request(Request.resumeSaved, { toStep }, [], onProgress);
    this.#config = resumed.config;
    return resumed;
  }

  /** Continues the run in a file's bytes (a saved run): protocol.js's Resumed. */
  async resume(bytes) {
    const resumed = await this.#request(Request.resume, { bytes }, [bytes.buffer]);
    this.#config = resumed.config;
    return resumed;
  }

  /**
   * Repairs `image` (Float32Array 784) seen through `corruption` (protocol.js's Corruption) with
   * `method` ('grid' | 'importanceSampling' | 'metropolisWithinGibbs' | 'pseudoGibbs');
   * `scored`: `image` is the truth to score against. Resolves to protocol.js's Repaired.
   */
  repair(image, corruption, method, { scored = false, seed = 1 } = {}) {
    return this.#request(Request.repair, { image: copy(image), corruption, method, scored, seed });
  }

  /** The whole run as a file's bytes (Uint8Array). */
  checkpoint() {
    return this.#request(Request.checkpoint);
  }

  /** A new learning rate from the next step on, keeping the model; resolves to the config in use. */
  async setLearningRate(learningRate) {
    const applied = await this.#request(Request.setLearningRate, { learningRate });
    this.#config = applied;
    return applied;
  }

  /** `{ originals, reconstructions }`: Float32Array n×784 each, the first n test digits, row-major, [0, 1]. */
  reconstruct(n) {
    return this.#request(Request.reconstruct, { n });
  }

  /** The explorer's `count` test digits: `{ images: Float32Array N×784, labels: Uint8Array N }`. */
  testImages(count = PLANE_DIGITS) {
    return this.#request(Request.testImages, { count });
  }

  /** The same digits as `testImages(count)`, encoded: `{ mu, logVar, labels }`. */
  encodeTest(count = PLANE_DIGITS) {
    return this.#request(Request.encodeTest, { count });
  }

  /** images: Float32Array n×784 in [0, 1] -> `{ mu, logVar }`, Float32Array n×D each. */
  encode(images, n) {
    return this.#request(Request.encode, { images: copy(images), n });
  }

  /** z: Float32Array n×D -> Float32Array n×784. */
  decode(z, n) {
    return this.#request(Request.decode, { z: copy(z), n });
  }

  /** Float32Array n×784 decoded from z ~ N(0, I). */
  sample(n) {
    return this.#request(Request.sample, { n });
  }

  /** Float32Array n: the manifold's coordinates along an axis, Φ⁻¹((k + ½)/n), increasing. */
  quantiles(n) {
    return this.#request(Request.quantiles, { n });
  }

  /**
   * The true posterior of one image (Float32Array 784) at n latent points (Float32Array n×D),
   * unnormalised: `{ logJoint }`, Float32Array n of log p(x|z) + log p(z) (the caller normalises
   * over all the points it asked for).
   */
  posterior(image, points, n) {
    return this.#request(Request.posterior, { image: copy(image), points: copy(points), n });
  }

  /** How likely one image is: protocol.js's DigitBound (k importance samples from q). */
  digitBound(image, k = 1000) {
    return this.#request(Request.digitBound, { image: copy(image), k });
  }

  /** Stops the worker; every pending request rejects. */
  terminate() {
    this.#worker.terminate();
    this.#fail('The training worker was stopped.', false);
  }

  get latentDim() {
    return this.#config?.latentDim ?? null;
  }
  get config() {
    return this.#config;
  }
  /** True while the worker's training loop runs (as last reported by the worker). */
  get running() {
    return this.#running;
  }
  get backend() {
    return this.#backend;
  }

  #request(type, args = {}, transfer = [], onProgress = null) {
    if (this.#failure) return Promise.reject(new Error(this.#failure));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // A request unanswered past its deadline means a worker that is stuck or dead.
      const deadline = DEADLINE_MS[type] ?? DEFAULT_DEADLINE_MS;
      const timer = setTimeout(() => {
        if (!this.#pending.has(id)) return;
        const message = `The model did not answer a "${type}" request within ${deadline / 1000} s`;
        if (this.#started) this.#restart(message);
        else this.#fail(message);
      }, deadline);
      this.#pending.set(id, { resolve, reject, onProgress, timer });
      this.#worker.postMessage({ id, type, ...args }, transfer);
    });
  }

  #receive(message) {
    if (message.event) {
      if (message.event === Event.crashed) {
        const { message: why, backend } = message.detail;
        this.#restart(backend ? `${why[0].toUpperCase()}${why.slice(1)}` : `The model crashed: ${why}`, backend ?? null);
        return;
      }
      if (message.event === Event.running) this.#running = message.detail.running;
      if (message.event === Event.reset) this.#config = message.detail.config;
      if (message.event === Event.race && message.detail.winner) this.#backend = message.detail.winner;
      this.#emit(message.event, message.detail);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    if (message.progress) {
      pending.onProgress?.(message.progress);
      return;
    }
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(errorOf(message));
  }

  #fail(message, announce = true) {
    this.#failure = message;
    this.#running = false;
    for (const { reject, timer } of this.#pending.values()) {
      clearTimeout(timer);
      reject(new Error(message));
    }
    this.#pending.clear();
    if (announce) this.#emit(Event.error, { message });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** @param {Float32Array | ArrayLike<number>} array */
const copy = (array) => (ArrayBuffer.isView(array) ? array.slice() : Float32Array.from(array));
