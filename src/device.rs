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

/// `f` applied to each of `items`, each on a thread of rayon's pool where there is one (natively,
/// and in the threaded browser build), one after another otherwise; the results in order.
pub fn map_on_threads<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    #[cfg(any(not(target_family = "wasm"), feature = "threads"))]
    {
        use rayon::prelude::*;
        items.into_par_iter().map(f).collect()
    }
    #[cfg(all(target_family = "wasm", not(feature = "threads")))]
    {
        items.into_iter().map(f).collect()
    }
}

/// `f`, run on a thread of rayon's pool where there is one (natively, and in the threaded browser
/// build), the caller waiting for it; here otherwise. Work that `f` spreads over the pool then
/// starts on a pool thread that is already awake, instead of being handed over and back each time.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(any(not(target_family = "wasm"), feature = "threads"))]
    {
        rayon::scope(|_| f())
    }
    #[cfg(all(target_family = "wasm", not(feature = "threads")))]
    {
        f()
    }
}

/// Pool threads that finished their piece of a step and wait, awake, for the work that follows it
/// (see [`pieces_then`]).
#[cfg(any(not(target_family = "wasm"), feature = "threads"))]
static WAITING_AWAKE: AtomicUsize = AtomicUsize::new(0);

/// Whether element-wise passes over the whole model (the sum of a step's pieces' gradients, Adam's
/// update) are worth spreading over rayon's pool: with more than two threads, or while another
/// thread waits awake for work ([`pieces_then`]). With two threads otherwise asleep, waking the
/// other cost more than half of the update it would share (measured in the browser); with 16
/// threads the serial sums of 16 pieces' gradients held the step back (`vae --threads 16` slower
/// than `--threads 4`, docs/benchmarks.md).
pub fn spread_model_passes() -> bool {
    #[cfg(any(not(target_family = "wasm"), feature = "threads"))]
    {
        rayon::current_num_threads() > 2 || WAITING_AWAKE.load(Ordering::SeqCst) > 0
    }
    #[cfg(all(target_family = "wasm", not(feature = "threads")))]
    {
        false
    }
}

/// Values per slice when an element-wise pass over a parameter is spread over the pool.
pub const SLICE: usize = 16 * 1024;

/// `f` applied to each of `items` on the threads of rayon's pool (the first on this thread), then
/// `then` of the results in order, on this thread. In the browser, each thread that took an item
/// other than the first stays awake until `then` returns, taking work from the pool as it comes (the passes `then` spreads,
/// see [`spread_model_passes`]): a sleeping thread would otherwise have to be woken for them, which in
/// the browser costs a good part of what it would share. An item no other thread has started by the
/// time this thread is free is run here, so this ends however busy the pool is.
pub fn pieces_then<T: Send, R: Send, O: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
    then: impl FnOnce(Vec<R>) -> O + Send,
) -> O {
    #[cfg(any(not(target_family = "wasm"), feature = "threads"))]
    {
        use std::sync::atomic::AtomicBool;
        use std::sync::Mutex;

        /// Sets its flag when dropped: also when `then` panics, so that the waiting threads stop
        /// and the panic reaches the caller.
        struct SetOnDrop<'a>(&'a AtomicBool);
        impl Drop for SetOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        /// Counts a thread in [`WAITING_AWAKE`] while it lives.
        struct Awake;
        impl Awake {
            fn new() -> Self {
                WAITING_AWAKE.fetch_add(1, Ordering::SeqCst);
                Awake
            }
        }
        impl Drop for Awake {
            fn drop(&mut self) {
                WAITING_AWAKE.fetch_sub(1, Ordering::SeqCst);
            }
        }
        /// Runs a job of the pool if there is one, else pauses a moment.
        fn help() {
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                std::hint::spin_loop();
            }
        }

        // Natively a sleeping thread wakes within microseconds, and two threads sharing the update
        // were slower than one (`vae --threads 2`: 32,773 / 31,794 examples/s against 34,964 /
        // 35,182): only the browser's threads wait awake.
        const WAIT_AWAKE: bool = cfg!(target_family = "wasm");
        let n = items.len();
        let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
        let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let finished = AtomicUsize::new(0);
        let done = AtomicBool::new(false);
        /// Counts an item as finished when dropped: also when it panicked, so that this thread
        /// stops waiting for it (and finds its result missing).
        struct Finished<'a>(&'a AtomicUsize);
        impl Drop for Finished<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        // Runs item k unless a thread already took it.
        let run = |k: usize| {
            let item = items[k].lock().expect("an item's lock is never poisoned").take();
            if let Some(item) = item {
                let _finished = Finished(&finished);
                let result = f(item);
                *results[k].lock().expect("a result's lock is never poisoned") = Some(result);
            }
        };
        rayon::scope(|scope| {
            let owner = rayon::current_thread_index();
            for k in 1..n {
                let (run, done) = (&run, &done);
                scope.spawn(move |_| {
                    // Counted before its item ends, so that `then` already sees it.
                    let helper = (WAIT_AWAKE && rayon::current_thread_index() != owner).then(Awake::new);
                    run(k);
                    if helper.is_some() {
                        while !done.load(Ordering::SeqCst) {
                            help();
                        }
                    }
                });
            }
            for k in 0..n {
                run(k);
            }
            while finished.load(Ordering::SeqCst) < n {
                help();
            }
            let results = results
                .iter()
                .map(|r| r.lock().expect("a result's lock is never poisoned").take().expect("every item ran"))
                .collect();
            let _done = SetOnDrop(&done);
            then(results)
        })
    }
    #[cfg(all(target_family = "wasm", not(feature = "threads")))]
    {
        then(items.into_iter().map(f).collect())
    }
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

/// Why this JavaScript context visibly has no WebGPU (no `navigator.gpu`), if so.
#[cfg(target_family = "wasm")]
fn missing_webgpu() -> Option<String> {
    use js_sys::Reflect;
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    match Reflect::get(&navigator, &"gpu".into()).ok() {
        Some(gpu) if !gpu.is_undefined() && !gpu.is_null() => None,
        _ => Some("this browser has no WebGPU (navigator.gpu is missing)".into()),
    }
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
    let outcome = match missing_webgpu() {
        Some(reason) => Err(reason),
        None => webgpu().await.map_err(|e| match e {
            VaeError::Backend(m) if m.contains("No adapter") => "the browser offers no WebGPU adapter".to_string(),
            other => other.to_string(),
        }),
    };
    WEBGPU.with(|w| *w.borrow_mut() = Some(outcome.clone()));
    outcome
}

/// The device for `wanted` (`"webgpu"`, `"cpu"` or `"auto"`), and, for `"auto"` on the CPU, why
/// WebGPU was not used.
#[cfg(target_family = "wasm")]
pub async fn choose(wanted: &str) -> Result<(ComputeDevice, Option<String>)> {
    match wanted {
        "cpu" => Ok((cpu(), None)),
        "webgpu" => Ok((browser_webgpu().await.map_err(VaeError::Backend)?, None)),
        "auto" => Ok(match browser_webgpu().await {
            Ok(d) => (d, None),
            Err(reason) => (cpu(), Some(reason)),
        }),
        other => Err(VaeError::Argument(format!("backend must be 'auto', 'webgpu' or 'cpu', got '{other}'"))),
    }
}
