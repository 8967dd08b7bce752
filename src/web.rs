//! The WebAssembly facade: the only module that knows about JavaScript.
//!
//! One handle, [`VaeSession`], with a synchronous constructor and asynchronous methods that each
//! return a `Promise`. Every method takes `&self` and queues on one async lock inside, so
//! JavaScript may call them concurrently (a drag while training) without "recursive use of an
//! object" panics. What each method does is [`Session`]'s (natively tested); here values are only
//! converted: data goes in once as IDX bytes, results come out as `Float32Array`s whose layout each
//! method documents, config and metrics cross as plain objects (serde-wasm-bindgen), and an error
//! crosses as an `Error` whose `name` is its kind ([`VaeError::kind`]), so the page decides on the
//! kind, never on the wording. `docs/facade.md` shows the whole surface as JavaScript sees it.
//! The host's clock and event loop, which the crate's other modules use, are in [`host`].

pub mod host;

use std::cell::RefCell;
use std::rc::Rc;

use futures::lock::Mutex;
use js_sys::{Float32Array, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::checkpoint::Checkpoint;
use crate::config::VaeConfig;
use crate::data::Dataset;
use crate::device::{self, BackendKind};
use crate::error::VaeError;
use crate::eval;
use crate::repair::{Corruption, Method};
use crate::session::{Encoded, Session, TestDigits, REPAIR_GRID_HALF_WIDTH, REPAIR_GRID_SIDE};

extern "C" {
    /// The static constructors wasm-ld collects (cubecl registers its IR dialects through
    /// `inventory`, which runs as such constructors).
    fn __wasm_call_ctors();
}

/// Runs the static constructors once.
///
/// Unless a program calls `__wasm_call_ctors` itself, wasm-ld wraps *every* export so that it runs
/// all constructors first, on every call into the module, re-registering cubecl's inventory each
/// time. Referencing it here turns the wrappers off, so it must run before anything touches Burn:
/// at start-up, and again (a no-op) from the constructors of the exports.
fn run_static_constructors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: wasm-ld synthesises this function; `Once` makes sure it runs exactly once.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}

/// Runs the static constructors and installs the panic hook, so a Rust panic reaches the console
/// with its message.
#[wasm_bindgen(start)]
pub fn start() {
    run_static_constructors();
    console_error_panic_hook::set_once();
}

/// The default config and how each field is checked: `{ defaults, fields: [{ key, kind, min,
/// max, minExclusive, choices, minItems, maxItems }] }` (see `VaeConfig::schema`). The page builds
/// its settings form and its checks from this; Rust's validation stays the authority.
#[wasm_bindgen(js_name = configSchema)]
pub fn config_schema() -> Result<JsValue, JsValue> {
    run_static_constructors();
    to_js(&VaeConfig::schema()).map_err(js_err)
}

/// What a saved run (a `checkpoint()` file) says of itself, read without resuming it: `{ config,
/// step, extra: Uint8Array }` (extra: the caller's bytes saved with it; the page's chart and the
/// data set it was trained on). Throws (name `Record`) on bytes that are not a run.
#[wasm_bindgen(js_name = checkpointInfo)]
pub fn checkpoint_info(bytes: &[u8]) -> Result<JsValue, JsValue> {
    run_static_constructors();
    let checkpoint = Checkpoint::from_bytes(bytes).map_err(js_err)?;
    Ok(object(&[
        ("config", to_js(&checkpoint.config).map_err(js_err)?),
        ("step", JsValue::from(checkpoint.step as f64)),
        ("extra", u8_array(&checkpoint.extra)),
    ]))
}

/// Starts `threads` WebAssembly threads (Web Workers sharing this module's memory) for rayon's
/// pool, on which the CPU backend's steps then run (threaded build only; call it once, before
/// `VaeSession.init`). Resolves to the number started. Needs a cross-origin-isolated page; how many
/// the page asks for is the page's choice (`www/worker/facade.js`).
#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = initThreads)]
pub async fn init_threads(threads: u32) -> Result<u32, JsValue> {
    run_static_constructors();
    let threads = threads.max(1) as usize;
    wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads)).await?;
    device::set_browser_cpu_threads(threads);
    Ok(threads as u32)
}

/// Panics inside the module, for the tests that prove a crash loses nothing (the page restarts
/// its worker and resumes the saved run). The page calls it only when opened with `?faults=1`.
#[wasm_bindgen(js_name = panicForTesting)]
pub fn panic_for_testing() {
    panic!("a panic asked for by a fault-injection test");
}

/// The manifold's coordinates along one axis: `Float32Array` n of Φ⁻¹((k + ½)/n), increasing
/// (the paper's figure 4). n is 1 to 64.
#[wasm_bindgen(js_name = manifoldQuantiles)]
pub fn manifold_quantiles(n: u32) -> Result<Float32Array, JsValue> {
    eval::manifold_quantiles(n as usize).map(|q| Float32Array::from(q.as_slice())).map_err(js_err)
}

/// A plain JavaScript object (not a `Map`) from a serialisable value.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, VaeError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| VaeError::Argument(format!("cannot pass a value to JavaScript: {e}")))
}

fn parse_config(value: JsValue) -> Result<VaeConfig, VaeError> {
    let config: VaeConfig = if value.is_undefined() || value.is_null() {
        VaeConfig::default()
    } else {
        serde_wasm_bindgen::from_value(value).map_err(|e| {
            VaeError::Config(crate::error::ConfigError {
                field: "config",
                reason: e.to_string(),
            })
        })?
    };
    config.validate()?;
    Ok(config)
}

/// `e` as a JavaScript `Error`: its message, and its kind as its `name`.
fn js_err(e: VaeError) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name(e.kind());
    error.into()
}

fn f32_array(values: &[f32]) -> JsValue {
    Float32Array::from(values).into()
}

fn u8_array(values: &[u8]) -> JsValue {
    Uint8Array::from(values).into()
}

fn object(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &JsValue::from_str(k), v).expect("setting a field of a new object should work");
    }
    o.into()
}

/// What the synchronous getters read without waiting for the lock: a copy of the session's config
/// and backend, brought up to date after every method (in [`VaeSession::run`]).
struct Snapshot {
    config: VaeConfig,
    backend: Option<BackendKind>,
}

/// A VAE, its data and its device, driven from JavaScript (in the page's worker).
#[wasm_bindgen]
pub struct VaeSession {
    session: Rc<Mutex<Session>>,
    snapshot: Rc<RefCell<Snapshot>>,
}

impl VaeSession {
    /// Runs `body` on the session, locked, and settles the promise with its result; the snapshot
    /// is brought up to date afterwards, whatever happened.
    fn run<F>(&self, body: F) -> Promise
    where
        F: AsyncFnOnce(&mut Session) -> Result<JsValue, VaeError> + 'static,
    {
        let (session, snapshot) = (self.session.clone(), self.snapshot.clone());
        future_to_promise(async move {
            let mut session = session.lock().await;
            let result = body(&mut session).await;
            let mut snapshot = snapshot.borrow_mut();
            snapshot.config = session.config().clone();
            snapshot.backend = session.device().ok().map(|d| d.kind);
            result.map_err(js_err)
        })
    }
}

/// `{ mu, logVar }` of an encoding.
fn encoded(Encoded { mu, log_var }: &Encoded) -> [(&'static str, JsValue); 2] {
    [("mu", f32_array(mu)), ("logVar", f32_array(log_var))]
}

#[wasm_bindgen]
impl VaeSession {
    /// A session for `config` (a plain object; missing fields take their defaults). Throws an
    /// `Error` (name `Config`) naming the bad field when the config is invalid. Call `init()` next.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<VaeSession, JsValue> {
        run_static_constructors();
        let session = parse_config(config).and_then(Session::new).map_err(js_err)?;
        Ok(Self {
            snapshot: Rc::new(RefCell::new(Snapshot { config: session.config().clone(), backend: None })),
            session: Rc::new(Mutex::new(session)),
        })
    }

    /// Picks the device: `'webgpu'` or `'cpu'`. Resolves to `{ backend: 'webgpu' | 'cpu', adapter }`;
    /// rejects (name `Backend`) when `'webgpu'` is asked for and the browser cannot give it (the
    /// page finds out why before asking: `www/worker/facade.js`).
    pub fn init(&self, backend: String) -> Promise {
        self.run(async move |session: &mut Session| {
            let device = device::choose(&backend).await?;
            let info = object(&[("backend", to_js(&device.kind)?), ("adapter", JsValue::from_str(&device.adapter))]);
            session.set_device(device)?;
            Ok(info)
        })
    }

    /// Loads the training and test sets from IDX files (each plain or gzip) and builds the model.
    /// The bytes are kept as they are (a byte per pixel); batches become floats when they are
    /// made. Resolves to `{ train, test }` (digit counts); rejects with a clear message on bad
    /// bytes (name `Idx`), in which case the data and model already loaded are kept.
    #[wasm_bindgen(js_name = loadData)]
    pub fn load_data(&self, train_images: Vec<u8>, train_labels: Vec<u8>, test_images: Vec<u8>, test_labels: Vec<u8>) -> Promise {
        self.run(async move |session: &mut Session| {
            let train = Dataset::from_idx(train_images, train_labels).map_err(|e| e.in_set("training set"))?;
            let test = Dataset::from_idx(test_images, test_labels).map_err(|e| e.in_set("test set"))?;
            let counts = object(&[("train", JsValue::from(train.len() as u32)), ("test", JsValue::from(test.len() as u32))]);
            session.load_data(train, test)?;
            Ok(counts)
        })
    }

    /// Validates `config` and rebuilds the model and optimizer with it, keeping device and data.
    /// Resolves to the config in use. On a bad config it rejects with the field's name (name
    /// `Config`) and keeps the current model.
    pub fn reset(&self, config: JsValue) -> Promise {
        let parsed = parse_config(config);
        self.run(async move |session: &mut Session| {
            session.reset(parsed?)?;
            to_js(session.config())
        })
    }

    /// Replaces the model with weights saved by `vae train --out` (the `.bpk` file's bytes) and,
    /// when given, the config saved beside them (the `.json`, as a plain object; otherwise the
    /// config in use). Starts a fresh optimizer at step 0. Resolves to the config in use; on bytes
    /// that are not weights, or weights that do not fit the config, rejects (name `Record`) and
    /// keeps the model.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: Vec<u8>, config: JsValue) -> Promise {
        let parsed = if config.is_undefined() || config.is_null() { Ok(None) } else { parse_config(config).map(Some) };
        self.run(async move |session: &mut Session| {
            session.load_weights(bytes, parsed?).await?;
            to_js(session.config())
        })
    }

    /// Takes the whole run as it is now (config, weights, optimizer and generator state, the
    /// batcher's place, the step; `extra` is bytes of the caller's: the page keeps its chart's
    /// history there) and resolves at once to `{ step, bytes }`, where `bytes` is a promise of the
    /// run file's bytes (`Uint8Array`, see `src/checkpoint.rs`). The tensors are read back after
    /// the session is free again (asynchronously, on either backend), so training and the
    /// explorer go on while a run is saved.
    pub fn checkpoint(&self, extra: Vec<u8>) -> Promise {
        self.run(async move |session: &mut Session| {
            let saved = session.save_point()?;
            let step = saved.step();
            let bytes = future_to_promise(async move {
                let bytes = saved.checkpoint(extra).await.map_err(js_err)?.to_bytes();
                Ok(u8_array(&bytes))
            });
            Ok(object(&[("step", JsValue::from(step as f64)), ("bytes", bytes.into())]))
        })
    }

    /// Continues the run saved in `bytes` (a `checkpoint()` file, from the page or from
    /// `vae train --checkpoint`) exactly where it was. Resolves to `{ config, step, epoch,
    /// epochProgress, examplesSeen, extra: Uint8Array }`; on bytes that are not a run, a run from
    /// another format version or of another data set, rejects with the reason (name `Record`) and
    /// keeps the model in use.
    pub fn resume(&self, bytes: Vec<u8>) -> Promise {
        self.run(async move |session: &mut Session| {
            let checkpoint = Checkpoint::from_bytes(&bytes)?;
            drop(bytes);
            let resumed = session.resume(checkpoint)?;
            Ok(object(&[
                ("config", to_js(session.config())?),
                ("step", JsValue::from(resumed.step as f64)),
                ("epoch", JsValue::from(resumed.epoch as f64)),
                ("epochProgress", JsValue::from(resumed.epoch_progress)),
                ("examplesSeen", JsValue::from(resumed.examples_seen as f64)),
                ("extra", u8_array(&resumed.extra)),
            ]))
        })
    }

    /// Changes the learning rate from the next step on, keeping the model and the optimizer's
    /// state (the remedy for a divergence). Resolves to the config in use; rejects (name
    /// `Config`), changing nothing, when the rate is out of range.
    #[wasm_bindgen(js_name = setLearningRate)]
    pub fn set_learning_rate(&self, learning_rate: f64) -> Promise {
        self.run(async move |session: &mut Session| {
            session.set_learning_rate(learning_rate)?;
            to_js(session.config())
        })
    }

    /// Runs `n` training steps, then reads the losses back once. Resolves to
    /// `{ step, epoch, epochProgress, examplesSeen, loss, reconstruction, kl, steps,
    ///    examplesPerSecond, msPerStep, epochEnded, profile }` (losses: means over the chunk, nats
    /// per datapoint; `epochEnded`: an epoch was completed, time for a test bound; `profile`: where
    /// the time went, ms per step). When the loss comes back NaN or infinite the run is rolled back
    /// to the start of its last healthy chunk, and the promise resolves to `{ diverged: true, loss,
    /// step }` (`step`: where it is now). A device that failed rejects with name `Backend`.
    #[wasm_bindgen(js_name = trainSteps)]
    pub fn train_steps(&self, n: u32) -> Promise {
        self.run(async move |session: &mut Session| match session.train_steps(n as usize).await {
            Ok(metrics) => to_js(&metrics),
            Err(VaeError::NonFinite { loss, step }) => Ok(object(&[
                ("diverged", JsValue::TRUE),
                ("loss", JsValue::from(loss)),
                ("step", JsValue::from(step as f64)),
            ])),
            Err(e) => Err(e),
        })
    }

    /// The test-set bound of the model as it is now, a piece at a time so that it never holds the
    /// worker for long: each call does up to `count` more test digits of the evaluation in
    /// progress (starting one on the current weights when none is) and resolves to null while
    /// digits remain, then to `{ loss, reconstruction, kl, elbo, examples, step, examplesSeen }`
    /// (nats per datapoint, loss = −ELBO, over every test digit; one z per datapoint with fixed
    /// noise, closed-form KL; `step` and `examplesSeen` say which model it measured).
    pub fn evaluate(&self, count: u32) -> Promise {
        self.run(async move |session: &mut Session| {
            let Some(bound) = session.evaluate(count as usize).await? else { return Ok(JsValue::NULL) };
            let out = to_js(&bound.evaluation)?;
            Reflect::set(&out, &"step".into(), &JsValue::from(bound.step as f64)).expect("an evaluation is an object");
            Reflect::set(&out, &"examplesSeen".into(), &JsValue::from(bound.examples_seen as f64)).expect("an evaluation is an object");
            Ok(out)
        })
    }

    /// The first `n` test digits and their reconstructions E[x|z = μ(x)]:
    /// `{ originals: Float32Array n×784, reconstructions: Float32Array n×784 }`, row-major, [0, 1].
    pub fn reconstruct(&self, n: u32) -> Promise {
        self.run(async move |session: &mut Session| {
            let (originals, reconstructions) = session.reconstruct(n as usize).await?;
            Ok(object(&[("originals", f32_array(&originals)), ("reconstructions", f32_array(&reconstructions))]))
        })
    }

    /// The explorer's test digits: a fixed, class-balanced choice of `count` (all when `count`
    /// is at least the test set's size), the same digits in the same order as
    /// `encodeTest(count)`: `{ images: Float32Array N×784 (row-major, [0, 1]), labels: Uint8Array N }`.
    #[wasm_bindgen(js_name = testImages)]
    pub fn test_images(&self, count: u32) -> Promise {
        self.run(async move |session: &mut Session| {
            let TestDigits { images, labels } = session.test_digits(count as usize)?;
            Ok(object(&[("images", f32_array(&images)), ("labels", u8_array(&labels))]))
        })
    }

    /// Encodes the explorer's test digits (see `testImages`):
    /// `{ mu: Float32Array N×D, logVar: Float32Array N×D, labels: Uint8Array N }`, row-major.
    #[wasm_bindgen(js_name = encodeTest)]
    pub fn encode_test(&self, count: u32) -> Promise {
        self.run(async move |session: &mut Session| {
            let (encoding, labels) = session.encode_test(count as usize).await?;
            let [mu, log_var] = encoded(&encoding);
            Ok(object(&[mu, log_var, ("labels", u8_array(&labels))]))
        })
    }

    /// Encodes `n` images (`Float32Array` n×784, row-major, values in [0, 1]):
    /// `{ mu: Float32Array n×D, logVar: Float32Array n×D }`, row-major.
    pub fn encode(&self, images: Vec<f32>, n: u32) -> Promise {
        self.run(async move |session: &mut Session| Ok(object(&encoded(&session.encode(&images, n as usize).await?))))
    }

    /// Decodes `n` latent points (`Float32Array` n×D, row-major) to pixel means:
    /// `Float32Array` n×784, row-major, in [0, 1].
    pub fn decode(&self, z: Vec<f32>, n: u32) -> Promise {
        self.run(async move |session: &mut Session| Ok(f32_array(&session.decode(&z, n as usize).await?)))
    }

    /// `n` digits (1 to 1,024) decoded from z ~ N(0, I) (the paper's figure 5), fresh ones on every
    /// call: `Float32Array` n×784, row-major, in [0, 1].
    pub fn sample(&self, n: u32) -> Promise {
        self.run(async move |session: &mut Session| Ok(f32_array(&session.sample(n as usize).await?)))
    }

    /// The true posterior of one image (`Float32Array` 784, [0, 1]) at `n` latent points
    /// (`Float32Array` n×D, row-major, e.g. a grid over the visible plane), unnormalised:
    /// `{ logJoint: Float32Array n }`, log p(x|z) + log p(z) at each point (the page normalises
    /// over all the points it asked for, a piece at a time).
    pub fn posterior(&self, image: Vec<f32>, points: Vec<f32>, n: u32) -> Promise {
        self.run(async move |session: &mut Session| {
            let log_joint = session.log_joint(&image, &points, n as usize).await?;
            Ok(object(&[("logJoint", f32_array(&log_joint))]))
        })
    }

    /// Repairs a digit seen through a corruption, by conditional inference under the model
    /// (`src/repair/`). `image`: the digit (`Float32Array` 784, [0, 1]); `corruption`:
    /// `{ kind: 'missing', seen: boolean[784] } | { kind: 'flip', rate } | { kind: 'noise', sigma }
    /// | { kind: 'lowResolution', block: 2 | 4 }`, applied with noise from `seed`; `method`:
    /// `'grid'` (exact, 2-D models only) | `'importanceSampling'` | `'metropolisWithinGibbs'` |
    /// `'pseudoGibbs'`; `scored`: `image` is the truth (a test digit), so the repair is scored
    /// against it. Resolves to `{ observed: Float32Array 784 (what the encoder is shown: hidden
    /// pixels 0, block means spread over their blocks), mean: Float32Array 784 (E[x|y]),
    /// imputations: Float32Array 8×784, std: Float32Array 784, logEvidence (log p(y), nats, or
    /// null for the chains), effectiveSampleSize, acceptanceRate (or null), truth: { pixels, mse,
    /// logLikelihood } or null, qMu: number[], qLogVar: number[] (q(z|x̃) of what was seen),
    /// posterior: { side, halfWidth, masses: Float32Array side² } (the grid's p(z|y), rows up the
    /// plane from z₂ = −halfWidth) or null, z: Float32Array (the latent points behind the eight
    /// repairs, 8×D, or a chain's kept states in order) }`. Bad input rejects with the reason (name
    /// `Argument` or `Shape`); the model is untouched.
    pub fn repair(&self, image: Vec<f32>, corruption: JsValue, method: String, scored: bool, seed: u32) -> Promise {
        let corruption: Result<Corruption, VaeError> = serde_wasm_bindgen::from_value(corruption)
            .map_err(|e| VaeError::Argument(format!("not a corruption this page knows: {e}")));
        let parsed: Result<Method, VaeError> = serde_wasm_bindgen::from_value(JsValue::from_str(&method))
            .map_err(|_| VaeError::Argument(format!("no method of inference is called {method:?}")));
        self.run(async move |session: &mut Session| {
            let repaired = session.repair(&image, &corruption?, parsed?, scored, seed as u64).await?;
            let (observation, repair) = (repaired.observation, repaired.repair);
            let truth = match repair.truth {
                Some(t) => object(&[
                    ("pixels", JsValue::from(t.pixels as f64)),
                    ("mse", JsValue::from(t.mse)),
                    ("logLikelihood", JsValue::from(t.log_likelihood)),
                ]),
                None => JsValue::NULL,
            };
            let number = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from);
            Ok(object(&[
                ("observed", f32_array(&observation.encoder_input())),
                ("mean", f32_array(&repair.mean)),
                ("imputations", f32_array(&repair.imputations)),
                ("std", f32_array(&repair.std)),
                ("logEvidence", number(repair.log_evidence)),
                ("effectiveSampleSize", number(repair.effective_sample_size)),
                ("acceptanceRate", number(repair.acceptance_rate)),
                ("truth", truth),
                ("qMu", to_js(&repair.q_mu)?),
                ("qLogVar", to_js(&repair.q_log_var)?),
                ("posterior", match &repair.posterior {
                    Some(masses) => object(&[
                        ("side", JsValue::from(REPAIR_GRID_SIDE as u32)),
                        ("halfWidth", JsValue::from(REPAIR_GRID_HALF_WIDTH)),
                        ("masses", f32_array(masses)),
                    ]),
                    None => JsValue::NULL,
                }),
                ("z", f32_array(&repair.z)),
            ]))
        })
    }

    /// How likely one image (`Float32Array` 784, [0, 1]) is, in nats: `{ elbo, reconstruction,
    /// kl, logLikelihood (importance-sampled with k draws from q), samples, gridLogLikelihood
    /// (log p(x) integrated on a grid; 2-D latent spaces only, else null), mu, logVar }`.
    #[wasm_bindgen(js_name = digitBound)]
    pub fn digit_bound(&self, image: Vec<f32>, k: u32) -> Promise {
        self.run(async move |session: &mut Session| to_js(&session.digit_bound(&image, k as usize).await?))
    }

    /// The config in use, as a plain object.
    pub fn config(&self) -> Result<JsValue, JsValue> {
        to_js(&self.snapshot.borrow().config).map_err(js_err)
    }

    /// Dimension of z.
    #[wasm_bindgen(getter, js_name = latentDim)]
    pub fn latent_dim(&self) -> u32 {
        self.snapshot.borrow().config.latent_dim as u32
    }

    /// `'webgpu'`, `'cpu'`, or undefined before `init()`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> Option<String> {
        self.snapshot.borrow().backend.map(|b| match b {
            BackendKind::Cpu => "cpu".into(),
            BackendKind::WebGpu => "webgpu".into(),
        })
    }
}
