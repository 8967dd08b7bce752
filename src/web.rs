//! The WebAssembly facade: the only module that knows about JavaScript.
//!
//! One handle, [`VaeSession`], with a synchronous constructor and asynchronous methods that each
//! return a `Promise`. Every method takes `&self` and queues on one async lock inside, so
//! JavaScript may call them concurrently (a drag while training) without "recursive use of an
//! object" panics. Data goes in once as IDX bytes; results come out as `Float32Array`s whose layout
//! each method documents; config and metrics cross as plain objects (serde-wasm-bindgen).

use std::cell::RefCell;
use std::rc::Rc;

use futures::lock::Mutex;
use js_sys::{Float32Array, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::config::{VaeConfig, PIXELS};
use crate::data::Dataset;
use crate::device::{self, BackendKind, ComputeDevice};
use crate::error::VaeError;
use crate::eval;
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

/// The default config as a plain object (see `docs/facade.md` for the fields).
#[wasm_bindgen(js_name = defaultConfig)]
pub fn default_config() -> Result<JsValue, JsError> {
    run_static_constructors();
    to_js(&VaeConfig::default()).map_err(|e| JsError::new(&e.to_string()))
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

fn now_ms() -> f64 {
    js_sys::Date::now()
}

thread_local! {
    /// Burn's WebGPU runtime can be initialised once per thread: the outcome is kept here.
    static WEBGPU: RefCell<Option<Result<ComputeDevice, String>>> = const { RefCell::new(None) };
}

/// Why this JavaScript context has no WebGPU, if it visibly has none.
fn missing_webgpu() -> Option<String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).ok();
    match gpu {
        Some(gpu) if !gpu.is_undefined() && !gpu.is_null() => None,
        _ => Some("this browser has no WebGPU (navigator.gpu is missing)".into()),
    }
}

async fn webgpu_device() -> Result<ComputeDevice, String> {
    if let Some(done) = WEBGPU.with(|w| w.borrow().clone()) {
        return done;
    }
    let outcome = match missing_webgpu() {
        Some(reason) => Err(reason),
        None => device::webgpu().await.map_err(|e| match e {
            VaeError::Backend(m) if m.contains("No adapter") => "the browser offers no WebGPU adapter".to_string(),
            other => other.to_string(),
        }),
    };
    WEBGPU.with(|w| *w.borrow_mut() = Some(outcome.clone()));
    outcome
}

/// Everything the session owns; behind one async lock.
struct State {
    device: Option<ComputeDevice>,
    config: VaeConfig,
    trainer: Option<Trainer>,
    train: Option<Dataset>,
    test: Option<Dataset>,
    samples_drawn: u64,
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
            (Some(device), Some(train)) => Some(Trainer::new(config.clone(), &device.device, train.len())?),
            _ => None,
        };
        if let Some(bytes) = weights {
            trainer.as_mut().ok_or(VaeError::NoData)?.load_weights(bytes)?;
        }
        self.config = config;
        self.trainer = trainer;
        self.samples_drawn = 0;
        Ok(())
    }
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
            let (device, reason) = match backend.as_str() {
                "cpu" => (device::cpu(), None),
                "webgpu" => (webgpu_device().await.map_err(VaeError::Backend)?, None),
                "auto" => match webgpu_device().await {
                    Ok(d) => (d, None),
                    Err(reason) => (device::cpu(), Some(reason)),
                },
                other => {
                    return Err(VaeError::Argument(format!(
                        "backend must be 'auto', 'webgpu' or 'cpu', got '{other}'"
                    )))
                }
            };
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
    /// Resolves to `{ train, test }` (digit counts); rejects with a clear message on bad bytes, in
    /// which case the data and model already loaded are kept.
    #[wasm_bindgen(js_name = loadData)]
    pub fn load_data(
        &self,
        train_images: Vec<u8>,
        train_labels: Vec<u8>,
        test_images: Vec<u8>,
        test_labels: Vec<u8>,
    ) -> Promise {
        with_state(&self.state, move |state| async move {
            let train = Dataset::from_idx(&train_images, &train_labels)
                .map_err(|e| VaeError::Argument(format!("training set: {e}")))?;
            let test = Dataset::from_idx(&test_images, &test_labels)
                .map_err(|e| VaeError::Argument(format!("test set: {e}")))?;
            let counts = object(&[
                ("train", JsValue::from(train.len() as u32)),
                ("test", JsValue::from(test.len() as u32)),
            ]);
            let mut s = state.lock().await;
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
            s.rebuild(config.clone(), Some(bytes))?;
            snapshot.borrow_mut().config = config.clone();
            to_js(&config)
        })
    }

    /// Runs `n` training steps, then reads the losses back once. Resolves to
    /// `{ step, epoch, epochProgress, examplesSeen, loss, reconstruction, kl, steps,
    ///    examplesPerSecond, msPerStep }` (losses: means over the chunk, nats per datapoint).
    #[wasm_bindgen(js_name = trainSteps)]
    pub fn train_steps(&self, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let mut guard = state.lock().await;
            let s = &mut *guard;
            let (trainer, train) = match (s.trainer.as_mut(), s.train.as_ref()) {
                (Some(t), Some(d)) => (t, d),
                _ => return Err(VaeError::NoData),
            };
            let started = now_ms();
            let metrics = trainer.train_steps(train, n as usize).await?;
            let elapsed = (now_ms() - started).max(1e-3);
            let examples = n as f64 * s.config.batch_size.min(train.len()) as f64;
            let out = to_js(&metrics)?;
            Reflect::set(&out, &"examplesPerSecond".into(), &(examples / elapsed * 1000.0).into())
                .expect("metrics should be an object");
            Reflect::set(&out, &"msPerStep".into(), &(elapsed / n as f64).into())
                .expect("metrics should be an object");
            Ok(out)
        })
    }

    /// The test-set bound: `{ loss, reconstruction, kl, elbo, examples }` (nats per datapoint,
    /// loss = −ELBO, one z per datapoint, closed-form KL, fixed noise so values are comparable).
    pub fn evaluate(&self) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let (trainer, test) = (s.trainer()?, s.test()?);
            let e = eval::evaluate(&trainer.inference_model(), test, &s.config, &s.device()?.device, s.config.seed ^ 0x7e57).await?;
            to_js(&e)
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

    /// Encodes `n` images (`Float32Array` n×784, row-major, values in [0, 1]):
    /// `{ mu: Float32Array n×D, logVar: Float32Array n×D }`, row-major.
    pub fn encode(&self, images: Vec<f32>, n: u32) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let (mu, log_var) = eval::encode(&s.trainer()?.inference_model(), &images, n as usize, &s.device()?.device).await?;
            Ok(object(&[("mu", f32_array(&mu)), ("logVar", f32_array(&log_var))]))
        })
    }

    /// Encodes every test digit: `{ mu: Float32Array N×D, logVar: Float32Array N×D, labels: Uint8Array N }`.
    #[wasm_bindgen(js_name = encodeTest)]
    pub fn encode_test(&self) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let test = s.test()?;
            let images = test.range(0, test.len());
            let (mu, log_var) = eval::encode(&s.trainer()?.inference_model(), &images, test.len(), &s.device()?.device).await?;
            Ok(object(&[
                ("mu", f32_array(&mu)),
                ("logVar", f32_array(&log_var)),
                ("labels", Uint8Array::from(test.labels()).into()),
            ]))
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

    /// The paper's manifold (its figure 4): an n×n grid decoded from points evenly spaced in the
    /// open unit square mapped through the inverse Gaussian CDF, spanning dimensions `dimX`
    /// (columns, left to right) and `dimY` (rows, upwards); other coordinates from `base`
    /// (`Float32Array` D, or null for zeros). `Float32Array` (n·n)×784, row-major grid of digits.
    pub fn manifold(&self, n: u32, dim_x: u32, dim_y: u32, base: Option<Vec<f32>>) -> Promise {
        with_state(&self.state, move |state| async move {
            let s = state.lock().await;
            let model = s.trainer()?.inference_model();
            let d = model.latent_dim();
            let base = base.unwrap_or_else(|| vec![0.0; d]);
            if base.len() != d {
                return Err(VaeError::Argument(format!("manifold base must have {d} values, got {}", base.len())));
            }
            let pixels = eval::manifold(&model, n as usize, dim_x as usize, dim_y as usize, &base, &s.device()?.device).await?;
            Ok(f32_array(&pixels))
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

    /// Pixels per digit (784).
    #[wasm_bindgen(getter)]
    pub fn pixels(&self) -> u32 {
        PIXELS as u32
    }
}
