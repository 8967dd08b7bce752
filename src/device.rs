//! Where the model runs: WebGPU when the platform has an adapter, the CPU (Burn's Flex) otherwise.

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
}

/// The CPU device (always available).
pub fn cpu() -> ComputeDevice {
    let adapter = if cfg!(target_family = "wasm") {
        "CPU (Flex, WebAssembly SIMD, one thread)"
    } else {
        "CPU (Flex)"
    };
    ComputeDevice {
        device: Device::flex(),
        kind: BackendKind::Cpu,
        adapter: adapter.into(),
    }
}

/// Initialises Burn's WebGPU runtime, asynchronously (the only way in a browser).
///
/// Fails, without panicking, when the platform has no WebGPU adapter. Call it once per process:
/// the runtime cannot be initialised twice, so the caller keeps the device it returns.
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
    })
}
