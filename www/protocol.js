// The protocol between the page (www/client.js) and the model's worker (www/worker.js), as code:
// both import it, so a request or event name exists once.
//
//   page -> worker   { id, type: Request.*, ...args }          answered exactly once:
//   worker -> page   { id, ok: true, result } | { id, ok: false, error: 'message', kind }
//                    { id, progress: LoadProgress }           (loadData, while fetching)
//                    { id, progress: { done, total } }        (resumeSaved, steps taken again)
//                    { event: Event.*, detail }               (unsolicited)
//
// Typed arrays sent to the worker are copies (the sender keeps its own); typed arrays in answers
// are transferred, so each answer's arrays belong to the caller.

/** Request types, with their arguments and results. */
export const Request = Object.freeze({
  /** `{ backend, threads }` (as for ready: which build to load) -> {@link ConfigSchema}: the model's default config and the checks of each field. */
  schema: 'schema',
  /**
   * `{ backend: 'auto'|'webgpu'|'cpu', threads: '?threads=' text | null, config, race: 'webgpu'|'cpu'|null }`
   * -> {@link ReadyInfo}: imports the wasm, starts the device, builds the model (`race`, tests only:
   * the race's winner whatever it measures).
   */
  ready: 'ready',
  /** `{}` -> `{ train, test }` digit counts; progress messages while the files arrive. */
  loadData: 'loadData',
  /**
   * `{ files: [trainImages, trainLabels, testImages, testLabels] (Uint8Array IDX files), dataSet: DataSet }`,
   * or `{ dataSet: null }` for MNIST again -> `{ train, test, config }`: the model trains on these
   * from now on, a fresh model at step 0 ('reset' follows); bytes the model refuses reject and
   * leave the model and its data as they were.
   */
  useDataSet: 'useDataSet',
  /** `{}` -> null: starts (or keeps) training; 'running' follows. */
  start: 'start',
  /** `{}` -> null: stops after the current chunk; 'running' { running: false } follows, then a test bound. */
  pause: 'pause',
  /** `{ config }` -> the config applied: a fresh model at step 0 ('reset' follows); rejects and keeps the model on a bad config. */
  reset: 'reset',
  /** `{}` -> the step saved, or null (no steps since the run was saved or opened, or no storage): saves the run in the browser now. */
  save: 'save',
  /** `{}` -> `{ step, examplesSeen, testLoss, latentDim, savedAt, bytes, dataSet: DataSet|null }` of the run saved in this browser, or null. */
  savedRun: 'savedRun',
  /**
   * `{ toStep: number|null }` -> {@link Resumed}: continues the run saved in this browser exactly
   * where it was; with `toStep` (the step the page had reached after that save, www/page/resume-download-open.js),
   * first takes the steps after the save again (progress messages `{ done, total }`), then saves.
   * Refused, the model kept, when the run was trained on other data than the model has now
   * (its `dataSet`: the page loads that set first).
   */
  resumeSaved: 'resumeSaved',
  /**
   * `{ bytes: Uint8Array }` -> {@link Resumed}: continues the run in a file ("Open model"). Refused,
   * the model kept, when the run records other data than the model has now (read from the file
   * first, `checkpointInfo`), with the kind `Record`.
   */
  resume: 'resume',
  /** `{}` -> Uint8Array: the whole run as a file ("Download model"). */
  checkpoint: 'checkpoint',
  /** `{}` -> never answers: makes the wasm module panic (fault-injection tests; `?faults=1`). */
  panicForTesting: 'panicForTesting',
  /** `{}` -> null: destroys the GPU device, as a lost device would be (fault-injection tests). */
  loseGpuForTesting: 'loseGpuForTesting',
  /** `{ n }` -> {@link ChunkMetrics}: n training steps now, outside the loop (tests that compare the losses of two builds; `?faults=1`). */
  trainStepsForTesting: 'trainStepsForTesting',
  /** `{}` -> the race's {@link TrialRecord} (or null if it did not finish): once WebGPU is warm, its trial now, training paused (tests; `?faults=1`). */
  raceTrialForTesting: 'raceTrialForTesting',
  /** `{}` -> {@link RaceState} of the backend race, or null when there is none. */
  raceState: 'raceState',
  /** `{ learningRate }` -> the config applied: a new step size, the model and optimizer kept; the run is saved. */
  setLearningRate: 'setLearningRate',
  /** `{ bytes: Uint8Array (.bpk), config: object|null }` -> the config applied; step 0. */
  loadWeights: 'loadWeights',
  /** `{ n }` -> `{ originals, reconstructions }`: Float32Array n×784 each, the first n test digits. */
  reconstruct: 'reconstruct',
  /** `{ count }` -> `{ images: Float32Array N×784, labels: Uint8Array N }`: the explorer's test digits (labels 255 when the data set has none). */
  testImages: 'testImages',
  /** `{ count }` -> `{ mu, logVar: Float32Array N×D, labels: Uint8Array N }`: the same digits, encoded (labels as testImages's). */
  encodeTest: 'encodeTest',
  /** `{ images: Float32Array n×784, n }` -> `{ mu, logVar }`: Float32Array n×D each. Urgent lane. */
  encode: 'encode',
  /** `{ z: Float32Array n×D, n }` -> Float32Array n×784 pixel means. Urgent lane. */
  decode: 'decode',
  /** `{ n }` -> Float32Array n×784 decoded from z ~ N(0, I). */
  sample: 'sample',
  /** `{ n }` -> Float32Array n: Φ⁻¹((k + ½)/n), the manifold's coordinates along an axis. */
  quantiles: 'quantiles',
  /**
   * `{ image: Float32Array 784, points: Float32Array n×D, n }` -> `{ logJoint }`: Float32Array n,
   * log p(x|z) + log p(z) at each point (the caller normalises over all the points it asked for).
   */
  posterior: 'posterior',
  /** `{ image: Float32Array 784, k }` -> {@link DigitBound}: how likely one digit is. */
  digitBound: 'digitBound',
  /**
   * `{ image: Float32Array 784, corruption: Corruption, method, scored, seed }` -> {@link Repaired}:
   * the digit seen through the corruption, repaired by conditional inference (src/repair/).
   */
  repair: 'repair',
});

/** Unsolicited events from the worker, with their `detail`. */
export const Event = Object.freeze({
  /** {@link ChunkMetrics}: a training chunk finished. */
  metrics: 'metrics',
  /** {@link TestBound}: the test-set bound of the model at `step`. */
  evaluated: 'evaluated',
  /** `{ running: boolean }`: the training loop started or stopped. */
  running: 'running',
  /**
   * `{ step, learningRate, suggested, loss }`: the loss became NaN or infinite; the run was rolled
   * back to `step` (the start of its last healthy chunk) and training paused.
   */
  diverged: 'diverged',
  /**
   * `{ message, backend? }`: the wasm module trapped (a panic, out of memory), or the GPU device
   * was lost (then `backend: 'cpu'`, the way on): the worker is unusable. The client replaces it
   * and emits 'restarted'; the page starts the model again and restores the saved run.
   */
  crashed: 'crashed',
  /** `{ step, savedAt, bytes, ms, readMs }`: the run was saved in the browser (`ms`: the time it held the worker's queue; `readMs`: reading its tensors back, while training went on). */
  saved: 'saved',
  /** `{ config }`: a new model (reset or loaded weights); views clear and refetch. */
  reset: 'reset',
  /** `{ message }`: something failed; nothing was lost, the page shows the message. */
  error: 'error',
  /**
   * {@link RaceState}: the backend race ('auto' with a WebGPU adapter) moved on: WebGPU warming
   * beside the CPU run, warm, being timed against it, or done (and which backend has the run).
   */
  race: 'race',
});

/**
 * The worker serves requests one at a time in two lanes: 'urgent' (the explorer's decode and
 * encode, answering a drag or a stroke) goes before whatever waits in 'normal' (training chunks,
 * refreshes, evaluations).
 */
export const Lane = Object.freeze({ urgent: 'urgent', normal: 'normal' });

/** The lane each request runs in; requests not listed do not touch the model or run in 'normal'. */
export const LANE_OF = Object.freeze({
  [Request.encode]: Lane.urgent,
  [Request.decode]: Lane.urgent,
});

/**
 * How long a request may go unanswered before the client calls the worker dead, in ms, by
 * request type (others: DEFAULT_DEADLINE_MS). Generous: a first WebGPU compile takes ~20 s.
 */
export const DEADLINE_MS = Object.freeze({
  [Request.ready]: 120_000,
  [Request.loadData]: 120_000,
  [Request.useDataSet]: 120_000, // MNIST again is fetched again
  [Request.resumeSaved]: 120_000, // catching up on the steps after the save: up to its interval's worth
  [Request.raceTrialForTesting]: 300_000,
});
export const DEFAULT_DEADLINE_MS = 60_000;

/**
 * A readable message for anything thrown: an Error, a string, a value.
 * Errors cross the protocol as this text (`{ id, ok: false, error, kind }`).
 * @param {unknown} error
 * @returns {string}
 */
export const messageOf = (error) =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);

/**
 * The kinds of the model's errors: the `name` of the `Error` the facade rejects with (Rust's
 * `VaeError::kind`, src/error.rs), kept as the `name` of the `Error` the client rejects with. The
 * page decides on these, never on an error's wording.
 */
export const ErrorKind = Object.freeze({
  /** A config field out of range (the message names it). */
  config: 'Config',
  /** An IDX file that cannot be read. */
  idx: 'Idx',
  /** Asked for before the data were loaded. */
  noData: 'NoData',
  /** Values of the wrong length for their shape. */
  shape: 'Shape',
  /** An argument out of range. */
  argument: 'Argument',
  /** The device could not start, or failed while running (on WebGPU: a lost device). */
  backend: 'Backend',
  /** Reading results back from the device failed (on WebGPU: a lost device). */
  read: 'Read',
  /** The loss came back NaN or infinite. */
  nonFinite: 'NonFinite',
  /** Weights or a saved run that cannot be used. */
  record: 'Record',
  /** A file could not be read or written (native only). */
  io: 'Io',
});

/**
 * The kind of anything thrown: its `name` when it is one of {@link ErrorKind}'s, else null (an
 * error of the page's own, or a trap of the WebAssembly module: a `RuntimeError`).
 * @param {unknown} error
 * @returns {string|null}
 */
export const kindOf = (error) => {
  const name = error instanceof Error ? error.name : null;
  return name !== null && /** @type {readonly string[]} */ (Object.values(ErrorKind)).includes(name) ? name : null;
};

/** How many test digits the explorer's plane shows by default (a fixed, class-balanced choice). */
export const PLANE_DIGITS = 2000;

/**
 * @typedef {object} FieldSpec  How the model checks one config field (src/config.rs, `FieldSpec`).
 * @property {string} key       the config field, e.g. 'latentDim'
 * @property {'integer'|'number'|'choice'|'integerList'} kind
 * @property {number} [min]     smallest value (of each item, for a list)
 * @property {number} [max]     largest value
 * @property {boolean} [minExclusive]  min itself is not allowed
 * @property {string[]} [choices]      a choice's values
 * @property {number} [minItems]       a list's fewest items
 * @property {number} [maxItems]       a list's most items
 *
 * @typedef {object} ConfigSchema
 * @property {object} defaults   the default config (camelCase fields)
 * @property {FieldSpec[]} fields
 *
 * @typedef {object} ReadyInfo
 * @property {'webgpu'|'cpu'} backend
 * @property {string} adapter          the browser's name for the adapter, or the CPU's description
 * @property {string} facadeAdapter    the facade's own description
 * @property {string|null} fallbackReason  why 'auto' fell back to the CPU
 * @property {number|null} threads     on the CPU, the threads a step is spread over (null on WebGPU)
 * @property {string|null} threadsNote on the CPU, why fewer threads run than asked (e.g. the host
 *                                     does not make the page cross-origin isolated)
 * @property {boolean} racing          'auto' with a WebGPU adapter: the run starts on the CPU and
 *                                     WebGPU warms up beside it to race it ({@link RaceState})
 * @property {object} config           the config in use
 * @property {string|null} configError why the config sent was refused and the defaults used
 *
 * @typedef {object} RaceState  The backend race (www/worker/race.js).
 * @property {'warming'|'warm'|'trial'|'done'} phase
 * @property {number|null} warmMs      how long WebGPU took to warm up (ms, from the data being in)
 * @property {string|null} adapter     the browser's name for the adapter
 * @property {'webgpu'|'cpu'} [winner] (done) the backend that has the run
 * @property {{webgpu: number, cpu: number}} [rates]  (done, after a trial) examples/s of each on the same steps
 * @property {number} [steps]          (done, after a trial) steps each trained in the trial
 * @property {number} [fromStep]       (done, after a trial) the run's step where the trial started
 * @property {boolean} [forced]        (done) the winner was set by the page (tests), not measured
 * @property {string} [reason]         (done without a trial) why: WebGPU failed, the device was lost
 *
 * @typedef {object} TrialRecord  RaceState's trial, with each side's chunk metrics.
 * @property {'webgpu'|'cpu'} winner
 * @property {number} steps
 * @property {number} fromStep
 * @property {{webgpu: number, cpu: number}} rates
 * @property {ChunkMetrics[]} gpuChunks
 * @property {ChunkMetrics[]} cpuChunks
 * @property {boolean} forced
 *
 * @typedef {object} LoadProgress
 * @property {number} loaded  bytes so far
 * @property {number} total   bytes in all (0 while unknown)
 * @property {string} file    the file the last bytes were of
 *
 * @typedef {object} ChunkMetrics  Means over the chunk, nats per datapoint (src/train.rs).
 * @property {number} step
 * @property {number} epoch
 * @property {number} epochProgress
 * @property {number} examplesSeen
 * @property {number} loss
 * @property {number} reconstruction
 * @property {number} kl
 * @property {number} steps
 * @property {number} examplesPerSecond
 * @property {number} msPerStep
 * @property {boolean} epochEnded
 * @property {StepProfile} profile
 *
 * @typedef {object} StepProfile  Where a chunk's time went, ms per step (src/train.rs; printed by
 *   tests/bench/steady.mjs --profile).
 * @property {number} savePoint
 * @property {number} batch
 * @property {number} gradients
 * @property {number} sum
 * @property {number} update
 * @property {number} readBack
 * @property {number} spread   the share of steps whose sum and update were spread over the pool
 *
 * @typedef {object} DigitBound  One digit, in nats (src/posterior.rs).
 * @property {number} elbo
 * @property {number} reconstruction   −E_q[log p(x|z)]
 * @property {number} kl               KL(q(z|x) ‖ p(z))
 * @property {number} logLikelihood    log p(x), importance-sampled with `samples` draws from q
 * @property {number} samples
 * @property {number|null} gridLogLikelihood  log p(x) integrated on a grid (2-D latent spaces only)
 * @property {number[]} mu
 * @property {number[]} logVar
 *
 * @typedef {{kind: 'missing', seen: boolean[]}|{kind: 'flip', rate: number}|{kind: 'noise', sigma: number}|{kind: 'lowResolution', block: 2|4}} Corruption
 *   How the digit is seen (784 `seen` flags; a flip rate in (0, ½); the noise's σ; blocks of 2 or 4 pixels).
 *
 * @typedef {object} Repaired  A digit repaired from what was seen of it (src/repair/, `Repair`).
 * @property {Float32Array} observed     784: what the encoder is shown (hidden pixels 0, block means spread)
 * @property {Float32Array} mean         784: the repaired digit, E[x | y]
 * @property {Float32Array} imputations  8×784: E[x | z, y] for 8 draws of z from p(z | y)
 * @property {Float32Array} std          784: how much the plausible repairs disagree, per pixel
 * @property {number|null} logEvidence   log p(y), nats (null for the chains)
 * @property {number|null} effectiveSampleSize  (importance sampling)
 * @property {number|null} acceptanceRate       (the chains)
 * @property {{pixels: number, mse: number, logLikelihood: number}|null} truth  against the true digit, when scored
 * @property {number[]} qMu              the encoder's guess for what was seen: q(z | x̃)'s mean
 * @property {number[]} qLogVar          and its log-variance
 * @property {{side: number, halfWidth: number, masses: Float32Array}|null} posterior  the exact method's p(z | y)
 *   on its grid (side² masses, rows up the plane from z₂ = −halfWidth), else null
 * @property {Float32Array} z            the latent points behind the eight repairs (8×D), or a chain's kept
 *   states in order (kept×D)
 *
 * @typedef {object} DataSet  A visitor's own images the model trains on (www/own-data/), as the
 *   worker knows them and a saved run records them; null stands for MNIST.
 * @property {string} name       what the visitor picked (a folder's or a zip's name, or "12 files")
 * @property {string} hash       SHA-256 of the processed images and their labels, hex
 * @property {number} count      images in all (train and test)
 * @property {boolean} labelled  false: every label is 255, no class
 * @property {string[]} names    names[label]: the class each label 0–9 stands for
 *
 * @typedef {object} Resumed  A run continued where it was saved.
 * @property {object} config
 * @property {number} step
 * @property {number} epoch          complete epochs
 * @property {number} epochProgress  the fraction of the current one done, in [0, 1]
 * @property {number} examplesSeen
 * @property {{train: object, test: object}} history  the chart's series, `{ x, loss, reconstruction, kl }` each
 * @property {DataSet|null} dataSet  the data the run was trained on (null: MNIST, or not recorded)
 *
 * @typedef {object} TestBound  Over every test digit (src/eval.rs, `Evaluation`).
 * @property {number} step
 * @property {number} examplesSeen
 * @property {number} loss   −ELBO
 * @property {number} reconstruction
 * @property {number} kl
 * @property {number} elbo
 * @property {number} examples
 */
