//! The WebAssembly facade: the only module that knows about JavaScript.
//!
//! One handle, [`VaeSession`], with a synchronous constructor and asynchronous methods that each
//! return a `Promise`. Every method takes `&self` and queues on one async lock inside, so
//! JavaScript may call them concurrently (a drag while training) without "recursive use of an
//! object" panics. Data goes in once as IDX bytes; results come out as `Float32Array`s whose layout
//! each method documents; config and metrics cross as plain objects (serde-wasm-bindgen).
//! `docs/facade.md` shows the whole surface as JavaScript sees it.

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
use crate::device::{self, BackendKind, ComputeDevice};
use crate::error::VaeError;
use crate::eval::{self, EvaluationRun};
use crate::posterior;
use crate::repair::{self, ChainOptions, Corruption, ImportanceOptions, Method, RepairGrid};
use crate::train::Trainer;

extern "C" {
    /// The static constructors wasm-ld collects (cubecl registers its IR dialects through
    /// `inventory`, which runs as such constructors).
    fn __wasm_call_ctors();
}

/// Runs the static constructors once.
///
/// Unless a program calls `__wasm_call_ctors` itself, wasm-ld wraps *every* export so that it runs
/// all constructors first: each call into the module then paid about 0.2 ms and re-registered
/// cubecl's inventory. Referencing it here turns the wrappers off, so it must run before anything
/// touches Burn: at start-up, and again (a no-op) from the constructors of the exports.
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
pub fn config_schema() -> Result<JsValue, JsError> {
    run_static_constructors();
    to_js(&VaeConfig::schema()).map_err(|e| JsError::new(&e.to_string()))
}

/// Starts `threads` WebAssembly threads (Web Workers sharing this module's memory) for rayon's
/// pool, on which the CPU backend's steps then run (threaded build only; call it once, before
/// `VaeSession.init`). Resolves to the number started. Needs a cross-origin-isolated page.
#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = initThreads)]
pub async fn init_threads(threads: u32) -> Result<u32, JsValue> {
    run_static_constructors();
    let threads = threads.clamp(1, 64) as usize;
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
pub fn manifold_quantiles(n: u32) -> Result<Float32Array, JsError> {
    eval::manifold_quantiles(n as usize)
        .map(|q| Float32Array::from(q.as_slice()))
        .map_err(|e| JsError::new(&e.to_string()))
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

fn js_err(e: VaeError) -> JsValue {
    JsError::new(&e.to_string()).into()
}

fn f32_array(values: &[f32]) -> JsValue {
    Float32Array::from(values).into()
}

fn object(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &JsValue::from_str(k), v).expect("setting a field of a new object should work");
    }
    o.into()
}

/// The repair's grid in the page: 64² points over [−4, 4]² (cells of 0.125), the decoder's
/// probabilities kept for them (39 MB), made again when the model has moved on.
const REPAIR_GRID_SIDE: usize = 64;
const REPAIR_GRID_HALF_WIDTH: f64 = 4.0;

/// An evaluation of the test bound in progress, and the training position it measures.
struct PendingEvaluation {
    run: EvaluationRun,
    step: u64,
    examples_seen: u64,
}

/// Everything the session owns; behind one async lock.
struct State {
    device: Option<ComputeDevice>,
    config: VaeConfig,
    trainer: Option<Trainer>,
    train: Option<Dataset>,
    test: Option<Dataset>,
    samples_drawn: u64,
    evaluation: Option<PendingEvaluation>,
    /// The decoder on the repair's grid (2-D models), for the model as it was at that step; a
    /// new model or a step taken since makes a new one.
    repair_grid: Option<(u64, RepairGrid)>,
}

impl State {
    fn device(&self) -> Result<&ComputeDevice, VaeError> {
        self.device
            .as_ref()
            .ok_or_else(|| VaeError::Backend("call init() before using the model".into()))
    }

    fn trainer(&self) -> Result<&Trainer, VaeError> {
        self.trainer.as_ref().ok_or(VaeError::NoData)
    }

    fn test(&self) -> Result<&Dataset, VaeError> {
        self.test.as_ref().ok_or(VaeError::NoData)
    }

    /// A fresh trainer for `config` on the current device and data, if both are there, holding
    /// `weights` (a burnpack file's bytes) when given. Nothing changes unless all of it succeeds.
    fn rebuild(&mut self, config: VaeConfig, weights: Option<Vec<u8>>) -> Result<(), VaeError> {
        let mut trainer = match (&self.device, &self.train) {
            (Some(device), Some(train)) => Some(on_threads(Trainer::new(config.clone(), &device.device, train.len())?, device)),
            _ => None,
        };
        if let Some(bytes) = weights {
            trainer.as_mut().ok_or(VaeError::NoData)?.load_weights(bytes)?;
        }
        self.config = config;
        self.trainer = trainer;
        self.samples_drawn = 0;
        self.evaluation = None;
        self.repair_grid = None;
        Ok(())
    }

    /// The test digits the explorer shows: a fixed, class-balanced choice of `count`.
    fn test_subset(&self, count: u32) -> Result<(&Dataset, Vec<usize>), VaeError> {
        let test = self.test()?;
        Ok((test, test.balanced_subset(count as usize)))
    }
}

/// `trainer`, its steps spread over the threads of `device` (one on WebGPU and in the
/// single-threaded build).
fn on_threads(mut trainer: Trainer, device: &ComputeDevice) -> Trainer {
    trainer.set_threads(device.threads);
    trainer
}

/// What the synchronous getters read without waiting for the lock.
struct Snapshot {
    config: VaeConfig,
    backend: Option<BackendKind>,
}

/// A VAE, its data and its device, driven from JavaScript (in the page's worker).
#[wasm_bindgen]
pub struct VaeSession {
    state: Rc<Mutex<State>>,
    snapshot: Rc<RefCell<Snapshot>>,
}

/// Runs `body` with the state locked and turns its result into a settled promise.
fn with_state<F, Fut>(state: &Rc<Mutex<State>>, body: F) -> Promise
where
    F: FnOnce(Rc<Mutex<State>>) -> Fut + 'static,
    Fut: std::future::Future<Output = Result<JsValue, VaeError>> + 'static,
{
    let state = state.clone();
    future_to_promise(async move { body(state).await.map_err(js_err) })
}

#[wasm_bindgen]
impl VaeSession {
    /// A session for `config` (a plain object; missing fields take their defaults). Throws an
    /// `Error` naming the bad field when the config is invalid. Call `init()` next.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<VaeSession, JsError> {
        run_static_constructors();
        let config = parse_config(config).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Self {
            snapshot: Rc::new(RefCell::new(Snapshot {
                config: config.clone(),
                backend: None,
            })),
            state: Rc::new(Mutex::new(State {
                device: None,
                config,
                trainer: None,
                train: None,
                test: None,
                samples_drawn: 0,
                evaluation: None,
                repair_grid: None,
            })),
        })
    }

    /// Picks the device: `'webgpu'`, `'cpu'` or `'auto'` (WebGPU when there is an adapter, else
    /// the CPU). Resolves to `{ backend: 'webgpu' | 'cpu', adapter, fallbackReason }`, where
    /// `fallbackReason` says why `'auto'` fell back to the CPU (null otherwise). Rejects when
    /// `'webgpu'` is asked for and unavailable.
    pub fn init(&self, backend: String) -> Promise {
        let snapshot = self.snapshot.clone();
        with_state(&self.state, move |state| async move {
            let (device, reason) = device::choose(&backend).await?;
            let mut s = state.lock().await;
            let info = object(&[
                ("backend", to_js(&device.kind)?),
                ("adapter", JsValue::from_str(&device.adapter)),
                ("fallbackReason", reason.map_or(JsValue::NULL, |r| JsValue::from_str(&r))),
            ]);
            snapshot.borrow_mut().backend = Some(device.kind);
            s.device = Some(device);
            let config = s.config.clone();
            s.rebuild(config, None)?;
            Ok(info)
        })
    }

    /// Loads the training and test sets from IDX files (each plain or gzip) and builds the model.
    /// The bytes are kept as they are (a byte per pixel); batches become floats when they are
    /// made. Resolves to `{ train, test }` (digit counts); rejects with a clear message on bad
    /// bytes, in which case the data and model already loaded are kept.
    #[wasm_bindgen(js_name = loadData)]
    pub fn load_data(
        &self,
        train_images: Vec<u8>,
        train_labels: Vec<u8>,
        test_images: Vec<u8>,
        test_labels: Vec<u8>,
    ) -> Promise {
        with_state(&self.state, move |state| async move {
            let train = Dataset::from_idx(train_images, train_labels)
                .map_err(|e| VaeError::Argument(format!("training set: {e}")))?;
            let test = Dataset::from_idx(test_images, test_labels)
                .map_err(|e| VaeError::Argument(format!("test set: {e}")))?;
            let counts = object(&[
                ("train", JsValue::from(train.len() as u32)),
                ("test", JsValue::from(test.len() as u32)),
            ]);
            let mut s = state.lock().await;
            // The old sets go before the model is rebuilt, so two copies never coexist.
            s.trainer = None;
            s.train = Some(train);
            s.test = Some(test);
            let config = s.config.clone();
            s.rebuild(config, None)?;
            Ok(counts)
        })
    }

    /// Validates `config` and rebuilds the model and optimizer with it, keeping device and data.
    /// On a bad config it rejects with the field's name and keeps the current model.
    pub fn reset(&self, config: JsValue) -> Promise {
        let parsed = parse_config(config);
        let snapshot = self.snapshot.clone();
        with_state(&self.state, move |state| async move {
            let config = parsed?;
            let mut s = state.lock().await;
            s.rebuild(config.clone(), None)?;
            snapshot.borrow_mut().config = config.clone();
            to_js(&config)
        })
    }

    /// Replaces the model with weights saved by `vae train --out` (the `.bpk` file's bytes) and,
    /// when given, the config saved beside them (the `.json`, as a plain object; otherwise the
    /// config in use). Starts a fresh optimizer at step 0. Resolves to the config in use; on bytes
    /// that are not weights, or weights that do not fit the config, rejects and keeps the model.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: Vec<u8>, config: JsValue) -> Promise {
        let parsed = if config.is_undefined() || config.is_null() {
            Ok(None)
        } else {
            parse_config(config).map(Some)
        };
        let snapshot = self.snapshot.clone();
        with_state(&self.state, move |state| async move {
            let mut s = state.lock().await;
            let config = parsed?.unwrap_or_else(|| s.config.clone());
            let before = (s.config.clone(), s.trainer.take());
            let checked = match s.rebuild(config.clone(), Some(bytes)) {
                Ok(()) => match s.trainer.as_ref() {
                    Some(t) if !t.weights_are_finite().await? => {
                        Err(VaeError::Record("these weights hold NaN or infinite values".into()))
                    }
                    _ => Ok(()),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = checked {
                // Nothing changes: the model in use comes back.
                (s.config, s.trainer) = before;
                return Err(e);
            }
            snapshot.borrow_mut().config = config.clone();
            to_js(&config)
        })
    }

    /// Takes the whole run as it is now (config, weights, optimizer and generator state, the
    /// batcher's place, the step; `extra` is bytes of the caller's: the page keeps its chart's
    /// history there) and resolves at once to `{ step, bytes }`, where `bytes` is a promise of the
    /// run file's bytes (`Uint8Array`, see `src/checkpoint.rs`). The tensors are read back after
    /// the session is free again (asynchronously, on either backend), so training and the
    /// explorer go on while a run is saved.
    pub fn checkpoint(&self, extra: Vec<u8>) -> Promise {
        with_state(&self.state, move |state| async move {
            let saved = state.lock().await.trainer()?.save_point();
            let step = saved.step();
            let bytes = future_to_promise(async move {
                let bytes = saved.checkpoint(extra).await.map_err(js_err)?.to_bytes();
                Ok(Uint8Array::from(bytes.as_slice()).into())
            });
            Ok(object(&[("step", JsValue::from(step as f64)), ("bytes", bytes.into())]))
        })
    }

    /// Continues the run saved in `bytes` (a `checkpoint()` file, from the page or from
    /// `vae train --checkpoint`) exactly where it was. Resolves to `{ config, step, epoch,
    /// epochProgress, examplesSeen, extra: Uint8Array }`; on bytes that are not a run, a run from another format
    /// version or of another data set, rejects with the reason and keeps the model in use.
    pub fn resume(&self, bytes: Vec<u8>) -> Promise {
        let snapshot = self.snapshot.clone();
        with_state(&self.state, move |state| async move {
            let checkpoint = Checkpoint::from_bytes(&bytes)?;
            drop(bytes);
            let mut s = state.lock().await;
            let (device, train) = match (&s.device, &s.train) {
                (Some(d), Some(t)) => (d.clone(), t.len()),
                _ => return Err(VaeError::NoData),
            };
            let extra = checkpoint.extra.clone();
            let config = checkpoint.config.clone();
            let trainer = on_threads(Trainer::resume(checkpoint, &device.device, train)?, &device);
            let out = object(&[
                ("config", to_js(&config)?),
                ("step", JsValue::from(trainer.step_count() as f64)),
                ("epoch", JsValue::from(trainer.epoch() as f64)),
                ("epochProgress", JsValue::from(trainer.epoch_progress())),
                ("examplesSeen", JsValue::from(trainer.examples_seen() as f64)),
                ("extra", Uint8Array::from(extra.as_slice()).into()),
            ]);
            s.trainer = Some(trainer);
            s.config = config.clone();
            s.samples_drawn = 0;
            s.evaluation = None;
            s.repair_grid = None;
            snapshot.borrow_mut().config = config;
            Ok(out)
        })
    }

    /// Changes the learning rate from the next step on, keeping the model and the optimizer's
    /// state (the remedy for a divergence). Resolves to the config in use; rejects, changing
    /// nothing, when the rate is out of range.
    #[wasm_bindgen(js_name = setLearningRate)]
    pub fn set_learning_rate(&self, learning_rate: f64) -> Promise {
        let snapshot = self.snapshot.clone();
        with_state(&self.state, move |state| async move {
            let mut s = state.lock().await;
            let config = VaeConfig { learning_rate, ..s.config.clone() };
            config.validate()?;
            if let Some(trainer) = s.trainer.as_mut() {
                trainer.set_learning_rate(learning_rate)?;
            }
            s.config = config.clone();
            snapshot.borrow_mut().config = config.clone();
            to_js(&config)
        })
    }

    /// Runs `n` training steps, then reads the losses back once. Resolves to
    /// `{ step, epoch, epochProgress, examplesSeen, loss, reconstruction, kl, steps,
    ///    examplesPerSecond, msPerStep, epochEnded }` (losses: means over the chunk, nats per
    /// datapoint; `epochEnded`: an epoch was completed, time for a test bound). When the loss comes
    /// back NaN or infinite the run is rolled back to the start of its last healthy chunk, and the
    /// promise resolves to `{ diverged: true, loss, step }` (`step`: where it is now).
    #[wasm_bindgen(js_name = trainSteps)]
    pub fn train_steps(&self, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let mut guard = state.lock().await;
            let s = &mut *guard;
            let (trainer, train) = match (s.trainer.as_mut(), s.train.as_ref()) {
                (Some(t), Some(d)) => (t, d),
                _ => return Err(VaeError::NoData),
            };
            match trainer.train_steps(train, n as usize).await {
                Ok(metrics) => to_js(&metrics),
                Err(VaeError::NonFinite { loss, step }) => Ok(object(&[
                    ("diverged", JsValue::TRUE),
                    ("loss", JsValue::from(loss)),
                    ("step", JsValue::from(step as f64)),
                ])),
                Err(e) => Err(e),
            }
        })
    }

    /// The test-set bound of the model as it is now, a piece at a time so that it never holds the
    /// worker for long: each call does up to `count` more test digits of the evaluation in
    /// progress (starting one on the current weights when none is) and resolves to null while
    /// digits remain, then to `{ loss, reconstruction, kl, elbo, examples, step, examplesSeen }`
    /// (nats per datapoint, loss = −ELBO, over every test digit; one z per datapoint with fixed
    /// noise, closed-form KL; `step` and `examplesSeen` say which model it measured).
    pub fn evaluate(&self, count: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let mut guard = state.lock().await;
            let s = &mut *guard;
            let test = s.test.as_ref().ok_or(VaeError::NoData)?;
            let mut pending = match s.evaluation.take() {
                Some(p) => p,
                None => {
                    let trainer = s.trainer.as_ref().ok_or(VaeError::NoData)?;
                    let device = s.device.as_ref().ok_or(VaeError::NoData)?;
                    PendingEvaluation {
                        run: EvaluationRun::new(trainer.inference_model(), &s.config, &device.device, trainer.evaluation_seed())
                            .on_threads(device.threads),
                        step: trainer.step_count(),
                        examples_seen: trainer.examples_seen(),
                    }
                }
            };
            if pending.run.advance(test, count as usize) {
                s.evaluation = Some(pending);
                return Ok(JsValue::NULL);
            }
            let (step, examples_seen) = (pending.step, pending.examples_seen);
            let out = to_js(&pending.run.finish().await?)?;
            Reflect::set(&out, &"step".into(), &JsValue::from(step as f64)).expect("an evaluation is an object");
            Reflect::set(&out, &"examplesSeen".into(), &JsValue::from(examples_seen as f64))
                .expect("an evaluation is an object");
            Ok(out)
        })
    }

    /// The first `n` test digits and their reconstructions E[x|z = μ(x)]:
    /// `{ originals: Float32Array n×784, reconstructions: Float32Array n×784 }`, row-major, [0, 1].
    pub fn reconstruct(&self, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let test = s.test()?;
            let n = (n as usize).min(test.len());
            let originals = test.range(0, n);
            let recon = eval::reconstruct(&s.trainer()?.inference_model(), &originals, n, &s.device()?.device).await?;
            Ok(object(&[("originals", f32_array(&originals)), ("reconstructions", f32_array(&recon))]))
        })
    }

    /// The explorer's test digits: a fixed, class-balanced choice of `count` (all when `count`
    /// is at least the test set's size), the same digits in the same order as
    /// `encodeTest(count)`: `{ images: Float32Array N×784 (row-major, [0, 1]), labels: Uint8Array N }`.
    #[wasm_bindgen(js_name = testImages)]
    pub fn test_images(&self, count: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let (test, indices) = s.test_subset(count)?;
            let labels: Vec<u8> = indices.iter().map(|&i| test.labels()[i]).collect();
            Ok(object(&[
                ("images", f32_array(&test.images(&indices))),
                ("labels", Uint8Array::from(labels.as_slice()).into()),
            ]))
        })
    }

    /// Encodes the explorer's test digits (see `testImages`):
    /// `{ mu: Float32Array N×D, logVar: Float32Array N×D, labels: Uint8Array N }`, row-major.
    #[wasm_bindgen(js_name = encodeTest)]
    pub fn encode_test(&self, count: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let (test, indices) = s.test_subset(count)?;
            let labels: Vec<u8> = indices.iter().map(|&i| test.labels()[i]).collect();
            let (mu, log_var) =
                eval::encode(&s.trainer()?.inference_model(), &test.images(&indices), indices.len(), &s.device()?.device)
                    .await?;
            Ok(object(&[
                ("mu", f32_array(&mu)),
                ("logVar", f32_array(&log_var)),
                ("labels", Uint8Array::from(labels.as_slice()).into()),
            ]))
        })
    }

    /// Encodes `n` images (`Float32Array` n×784, row-major, values in [0, 1]):
    /// `{ mu: Float32Array n×D, logVar: Float32Array n×D }`, row-major.
    pub fn encode(&self, images: Vec<f32>, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let (mu, log_var) = eval::encode(&s.trainer()?.inference_model(), &images, n as usize, &s.device()?.device).await?;
            Ok(object(&[("mu", f32_array(&mu)), ("logVar", f32_array(&log_var))]))
        })
    }

    /// Decodes `n` latent points (`Float32Array` n×D, row-major) to pixel means:
    /// `Float32Array` n×784, row-major, in [0, 1].
    pub fn decode(&self, z: Vec<f32>, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let pixels = eval::decode(&s.trainer()?.inference_model(), &z, n as usize, &s.device()?.device).await?;
            Ok(f32_array(&pixels))
        })
    }

    /// `n` digits decoded from z ~ N(0, I) (the paper's figure 5), fresh ones on every call:
    /// `Float32Array` n×784, row-major, in [0, 1].
    pub fn sample(&self, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let mut s = state.lock().await;
            s.samples_drawn += 1;
            let seed = s.config.seed ^ s.samples_drawn.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let pixels = eval::sample(&s.trainer()?.inference_model(), n.clamp(1, 1024) as usize, &s.device()?.device, seed).await?;
            Ok(f32_array(&pixels))
        })
    }

    /// The true posterior of one image (`Float32Array` 784, [0, 1]) at `n` latent points
    /// (`Float32Array` n×D, row-major, e.g. a grid over the visible plane):
    /// `{ logJoint: Float32Array n (log p(x|z) + log p(z)), posterior: Float32Array n (normalised
    /// over the points: they sum to 1) }`.
    pub fn posterior(&self, image: Vec<f32>, points: Vec<f32>, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let model = s.trainer()?.inference_model();
            let log_joint = posterior::log_joint(&model, &image, &points, n as usize, &s.device()?.device).await?;
            let normalised = posterior::normalise(&log_joint);
            Ok(object(&[("logJoint", f32_array(&log_joint)), ("posterior", f32_array(&normalised))]))
        })
    }

    /// Repairs a digit seen through a corruption, by conditional inference under the model
    /// (`src/repair.rs`). `image`: the digit (`Float32Array` 784, [0, 1]); `corruption`:
    /// `{ kind: 'missing', seen: boolean[784] } | { kind: 'flip', rate } | { kind: 'noise', sigma }
    /// | { kind: 'lowResolution', block: 2 | 4 }`, applied with noise from `seed`; `method`:
    /// `'grid'` (exact, 2-D models only) | `'importanceSampling'` | `'metropolisWithinGibbs'` |
    /// `'pseudoGibbs'`; `scored`: `image` is the truth (a test digit), so the repair is scored
    /// against it. Resolves to `{ observed: Float32Array 784 (what the encoder is shown: hidden
    /// pixels 0, block means spread over their blocks), mean: Float32Array 784 (E[x|y]),
    /// imputations: Float32Array 8×784, std: Float32Array 784, logEvidence (log p(y), nats, or
    /// null for the chains), effectiveSampleSize, acceptanceRate (or null), truth: { pixels, mse,
    /// logLikelihood } or null, qMu: number[] }`. Bad input rejects with the reason; the model is
    /// untouched.
    pub fn repair(&self, image: Vec<f32>, corruption: JsValue, method: String, scored: bool, seed: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let corruption: Corruption = serde_wasm_bindgen::from_value(corruption)
                .map_err(|e| VaeError::Argument(format!("not a corruption this page knows: {e}")))?;
            let method: Method = serde_wasm_bindgen::from_value(JsValue::from_str(&method))
                .map_err(|_| VaeError::Argument(format!("no method of inference is called {method:?}")))?;
            let observation = repair::corrupt(&image, &corruption, seed as u64)?;
            let truth = scored.then_some(image.as_slice());
            let mut s = state.lock().await;
            let model = s.trainer()?.inference_model();
            let device = s.device()?.device.clone();
            let seed = seed as u64 ^ 0x4e9a1;
            let repaired = match method {
                Method::Grid => {
                    let step = s.trainer()?.step_count();
                    if s.repair_grid.as_ref().is_none_or(|(at, _)| *at != step) {
                        s.repair_grid = None; // the old grid's tensors go before the new ones are made
                        s.repair_grid = Some((step, RepairGrid::new(&model, REPAIR_GRID_SIDE, REPAIR_GRID_HALF_WIDTH, &device)?));
                    }
                    let (_, grid) = s.repair_grid.as_ref().expect("the grid was just made");
                    repair::repair_on_grid(&model, grid, &observation, truth, seed).await?
                }
                Method::ImportanceSampling => repair::importance_sampling(&model, &observation, &ImportanceOptions::default(), truth, seed, &device).await?,
                Method::MetropolisWithinGibbs => repair::metropolis_within_gibbs(&model, &observation, &ChainOptions::default(), truth, seed, &device).await?,
                Method::PseudoGibbs => repair::pseudo_gibbs(&model, &observation, &ChainOptions::default(), truth, seed, &device).await?,
            };
            let truth = match repaired.truth {
                Some(t) => object(&[("pixels", JsValue::from(t.pixels as f64)), ("mse", JsValue::from(t.mse)), ("logLikelihood", JsValue::from(t.log_likelihood))]),
                None => JsValue::NULL,
            };
            let number = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from);
            Ok(object(&[
                ("observed", f32_array(&observation.encoder_input())),
                ("mean", f32_array(&repaired.mean)),
                ("imputations", f32_array(&repaired.imputations)),
                ("std", f32_array(&repaired.std)),
                ("logEvidence", number(repaired.log_evidence)),
                ("effectiveSampleSize", number(repaired.effective_sample_size)),
                ("acceptanceRate", number(repaired.acceptance_rate)),
                ("truth", truth),
                ("qMu", to_js(&repaired.q_mu)?),
            ]))
        })
    }

    /// How likely one image (`Float32Array` 784, [0, 1]) is, in nats: `{ elbo, reconstruction,
    /// kl, logLikelihood (importance-sampled with k draws from q), samples, gridLogLikelihood
    /// (log p(x) integrated on a grid; 2-D latent spaces only, else null), mu, logVar }`.
    #[wasm_bindgen(js_name = digitBound)]
    pub fn digit_bound(&self, image: Vec<f32>, k: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let model = s.trainer()?.inference_model();
            let seed = s.config.seed ^ 0x1c5;
            to_js(&posterior::digit_bound(&model, &image, k as usize, seed, &s.device()?.device).await?)
        })
    }

    /// The config in use, as a plain object.
    pub fn config(&self) -> Result<JsValue, JsError> {
        to_js(&self.snapshot.borrow().config).map_err(|e| JsError::new(&e.to_string()))
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
