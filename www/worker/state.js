// The worker's state, in one object (`worker`) that www/worker.js makes and hands to every module
// of www/worker/; none of them keeps state in variables of its own (the queue is an object held here).
// (Rust's `Trainer`, src/train.rs, is the training loop inside the session, not this.)

import { emptyHistory } from '../chart-history.js';
import { RequestQueue } from './queue.js';

/**
 * @typedef {typeof import('../../pkg/vae_web.js') | typeof import('../../pkg-threads/vae_web.js')} Facade
 * @typedef {object} WorkerState
 * @property {Facade | null} facade
 * @property {Awaited<ReturnType<typeof import('./facade.js').planBuild>> | null} plan
 * @property {import('../../pkg/vae_web.js').InitOutput | import('../../pkg-threads/vae_web.js').InitOutput | null} wasm
 * @property {Promise<Facade> | null} facadeLoading
 * @property {import('../../pkg/vae_web.js').VaeSession | import('../../pkg-threads/vae_web.js').VaeSession | null} session
 * @property {'webgpu' | 'cpu' | null} backend
 * @property {boolean} dataLoaded
 * @property {import('../protocol.js').DataSet | null} dataSet the data in the model: a visitor's own set, or null for MNIST
 * @property {GPUDevice | null} gpuDevice
 * @property {RequestQueue} queue
 * @property {ReturnType<typeof import('./race.js').startRace> | null} race the backend race, once started
 * @property {'webgpu' | 'cpu' | null} forceRaceWinner
 * @property {boolean} running
 * @property {Promise<void> | null} loop
 * @property {number} stepsPerChunk
 * @property {number} lastStep
 * @property {number} lastEvaluatedStep
 * @property {Promise<unknown> | null} evaluation
 * @property {import('../chart-history.js').ChartHistory} runLog the run's record, saved with it: the chart's points
 * @property {number} savedStep
 * @property {number} lastSaveAt
 * @property {Promise<number | null> | null} saving
 * @property {Promise<number | null> | null} nextSave
 * @property {boolean} storageWarned
 */

/** @returns {WorkerState} */
export function createWorkerState() {
  return {
    facade: null, // the module pkg/vae_web.js or pkg-threads/vae_web.js, once imported and initialised
    plan: null, // which of the two, and why (www/worker/facade.js)
    wasm: null, // init()'s exports: wasm.memory tells arrays that are views on wasm memory apart
    facadeLoading: null,
    session: null,
    backend: null,
    dataLoaded: false,
    dataSet: null, // MNIST until the page sends a set of its own (useDataSet)
    gpuDevice: null, // the WebGPU device Burn asked for, watched for loss
    queue: new RequestQueue(),
    race: null, // the backend race (www/worker/race.js), once started
    forceRaceWinner: null, // tests only: the backend the race hands the run to, whatever it measures

    running: false, // wanted state: the loop keeps going while true
    loop: null, // the promise of the running loop, null when stopped
    stepsPerChunk: 1,
    lastStep: 0,
    lastEvaluatedStep: -1,
    evaluation: null, // the promise of the evaluation in progress

    runLog: emptyHistory(),
    // The run is saved when it has steps that are not in storage yet: at its first chunk, then
    // every ~10 s (www/worker/checkpoints.js). `savedStep` is the step it was last saved or opened at.
    savedStep: 0,
    lastSaveAt: -Infinity,
    saving: null, // the promise of the save in progress
    nextSave: null, // the promise of a save asked for meanwhile, to follow it
    storageWarned: false,
  };
}

export function requireSession(worker) {
  if (!worker.session) throw new Error('the model is not ready yet (call ready first)');
  return worker.session;
}

export function requireData(worker) {
  requireSession(worker);
  if (!worker.dataLoaded) throw new Error('the training data is not loaded yet');
  return worker.session;
}
