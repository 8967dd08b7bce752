//! Between the host and the device: tensors made from host values, host noise, and the
//! asynchronous read-backs (on WebGPU in wasm only async reads exist). Training and evaluation
//! both use these, as peers.

use std::collections::HashMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::tensor::Transaction;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Result, VaeError};

/// The generator of every random draw on the host: ChaCha with 12 rounds, the generator rand's
/// `StdRng` wraps, used directly because its state can be saved (49 bytes, [`save_rng`]) and restored ([`restore_rng`]).
pub type HostRng = chacha20::ChaCha12Rng;

/// The generator's whole state.
pub fn save_rng(rng: &HostRng) -> [u8; 49] {
    rng.serialize_state()
}

/// A generator that continues exactly where the saved one was.
pub fn restore_rng(state: &[u8; 49]) -> HostRng {
    HostRng::deserialize_state(state)
}

/// `n` standard-normal draws from `rng`: the ε of the reparameterisation, drawn on the host so that
/// every backend sees the same noise for the same seed.
pub fn standard_normal(rng: &mut HostRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// A `[rows, cols]` tensor on `device` from row-major host values.
pub fn tensor2(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

fn read_error(e: impl std::fmt::Debug) -> VaeError {
    VaeError::Read(format!("{e:?}"))
}

/// Reads one-element tensors back, in one read: they are joined into one tensor first (on
/// WebGPU each tensor of a transaction is a read-back of its own, a `mapAsync` and its round trip).
pub async fn read_scalars<const N: usize>(tensors: [Tensor<1>; N]) -> Result<[f32; N]> {
    let values = read_values(Tensor::cat(tensors.into(), 0)).await?;
    values.try_into().map_err(|v: Vec<f32>| VaeError::Read(format!("expected {N} values, read {}", v.len())))
}

/// Reads a tensor back as row-major host values, asynchronously.
pub async fn read_values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data_async().await.map_err(read_error)?.try_into_vec::<f32>().map_err(read_error)
}

/// Reads two tensors back, each row-major, in one read (flattened and joined, then split on the
/// host).
pub async fn read_pair<const D: usize, const E: usize>(a: Tensor<D>, b: Tensor<E>) -> Result<[Vec<f32>; 2]> {
    let (na, nb) = (a.shape().num_elements(), b.shape().num_elements());
    let mut first = read_values(Tensor::cat(vec![a.reshape([na]), b.reshape([nb])], 0)).await?;
    let second = first.split_off(na);
    Ok([first, second])
}

/// A copy of `module` on the CPU (Flex), its parameters read back in one asynchronous transaction:
/// how a model on WebGPU is saved (Burn's own saving reads synchronously, which WebGPU in wasm
/// cannot do).
pub async fn module_on_host<M: Module>(module: M) -> Result<M> {
    struct Collect(Vec<(ParamId, Tensor<1>)>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let n = t.shape().num_elements();
            self.0.push((param.id, t.reshape([n])));
        }
    }
    struct Place(HashMap<ParamId, Tensor<1>>);
    impl ModuleMapper for Place {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, t, mapper) = param.consume();
            let host = self.0.remove(&id).expect("every parameter was read").reshape(t.shape());
            Param::from_mapped_value(id, host, mapper)
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    let (ids, tensors): (Vec<ParamId>, Vec<Tensor<1>>) = collect.0.into_iter().unzip();
    let values = ids.into_iter().zip(on_host(tensors).await?).collect();
    Ok(module.map(&mut Place(values)))
}

/// Copies of `tensors` on the CPU (Flex), read back in one asynchronous transaction.
pub async fn on_host(tensors: Vec<Tensor<1>>) -> Result<Vec<Tensor<1>>> {
    let mut tx = Transaction::default();
    for t in tensors {
        tx = tx.register(t);
    }
    let host = Device::flex();
    Ok(tx.execute_async().await.map_err(read_error)?.into_iter().map(|d| Tensor::from_data(d, &host)).collect())
}

/// Lets the thread's other work run before going on: in a browser, the rest of this task is
/// continued in a new one, so messages waiting for the worker (a decode for the explorer) are
/// handled in between; natively, nothing.
pub async fn yield_to_other_tasks() {
    #[cfg(target_family = "wasm")]
    crate::web::host::next_task().await;
}

/// Milliseconds from an arbitrary origin, for measuring how long training takes: the worker's
/// `performance.now()` in a browser, a monotonic clock natively.
pub fn now_ms() -> f64 {
    #[cfg(target_family = "wasm")]
    {
        crate::web::host::now_ms()
    }
    #[cfg(not(target_family = "wasm"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
    }
}
