//! Where the model runs: WebGPU when the platform has an adapter, the CPU (Burn's Flex) otherwise.

use std::sync::atomic::{AtomicUsize, Ordering};

use burn::prelude::*;
use serde::Serialize;

use crate::error::{Result, VaeError};

/// The kind of device a model runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Burn's Flex backend: pure Rust on the CPU (WebAssembly SIMD in the browser).
    Cpu,
    /// Burn's wgpu backend on WebGPU.
    WebGpu,
}

/// A device with a description a user can read.
#[derive(Debug, Clone)]
pub struct ComputeDevice {
    /// The plain (non-autodiff) Burn device.
    pub device: Device,
    /// CPU or WebGPU.
    pub kind: BackendKind,
    /// What the adapter calls itself, e.g. "SwiftShader Device (Subzero) (Vulkan)".
    pub adapter: String,
    /// How many threads a training step is spread over (see `Trainer::set_threads`): 1 on
    /// WebGPU and in the single-threaded browser build.
    pub threads: usize,
}

/// Threads of the browser's CPU path: 1 until the threaded build has started its pool.
static BROWSER_CPU_THREADS: AtomicUsize = AtomicUsize::new(1);

/// Records that a pool of `threads` WebAssembly threads runs rayon's work (web.rs's `initThreads`).
pub fn set_browser_cpu_threads(threads: usize) {
    BROWSER_CPU_THREADS.store(threads.max(1), Ordering::Relaxed);
}

/// The CPU device (always available).
pub fn cpu() -> ComputeDevice {
    let (threads, adapter) = if cfg!(target_family = "wasm") {
        let threads = BROWSER_CPU_THREADS.load(Ordering::Relaxed);
        let adapter = match threads {
            1 => "CPU (Flex, WebAssembly SIMD, one thread)".to_string(),
            n => format!("CPU (Flex, WebAssembly SIMD, {n} threads)"),
        };
        (threads, adapter)
    } else {
        (1, "CPU (Flex)".to_string())
    };
    ComputeDevice {
        device: Device::flex(),
        kind: BackendKind::Cpu,
        adapter,
        threads,
    }
}

/// Initialises Burn's WebGPU runtime, asynchronously (the only way in a browser).
///
/// Fails, without panicking, when the platform has no WebGPU adapter. Call it once per process:
/// the runtime cannot be initialised twice, so the caller keeps the device it returns.
#[cfg(feature = "webgpu")]
pub async fn webgpu() -> Result<ComputeDevice> {
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| VaeError::Backend(e.to_string()))?;
    // In a browser wgpu's adapter info is empty (the page asks the browser's GPUAdapterInfo).
    let info = setup.adapter.get_info();
    let adapter = if info.name.is_empty() {
        "WebGPU adapter".to_string()
    } else {
        format!("{} ({:?})", info.name, info.backend)
    };
    Ok(ComputeDevice {
        device,
        kind: BackendKind::WebGpu,
        adapter,
        threads: 1,
    })
}

/// Without the `webgpu` feature (the threaded browser build) there is no WebGPU backend.
#[cfg(not(feature = "webgpu"))]
pub async fn webgpu() -> Result<ComputeDevice> {
    Err(VaeError::Backend("this build of the model has no WebGPU backend (it is the CPU build with threads)".into()))
}

#[cfg(target_family = "wasm")]
thread_local! {
    /// Burn's WebGPU runtime can be initialised once per thread: the outcome is kept here.
    static WEBGPU: std::cell::RefCell<Option<std::result::Result<ComputeDevice, String>>> =
        const { std::cell::RefCell::new(None) };
}

/// The WebGPU device of this browser thread, initialised on the first call (later calls return
/// the same device, or the same reason there is none, in words a user can read).
#[cfg(target_family = "wasm")]
pub async fn browser_webgpu() -> std::result::Result<ComputeDevice, String> {
    if let Some(done) = WEBGPU.with(|w| w.borrow().clone()) {
        return done;
    }
    let outcome = webgpu().await.map_err(|e| match e {
        VaeError::Backend(reason) => reason,
        other => other.to_string(),
    });
    WEBGPU.with(|w| *w.borrow_mut() = Some(outcome.clone()));
    outcome
}

/// The device for `wanted`: `"webgpu"` or `"cpu"`. Which one to ask for, and why WebGPU is not
/// there when it is not, is the page's to decide before it loads the model (`www/worker/facade.js`).
#[cfg(target_family = "wasm")]
pub async fn choose(wanted: &str) -> Result<ComputeDevice> {
    match wanted {
        "cpu" => Ok(cpu()),
        "webgpu" => browser_webgpu().await.map_err(VaeError::Backend),
        other => Err(VaeError::Argument(format!("backend must be 'webgpu' or 'cpu', got '{other}'"))),
    }
}
