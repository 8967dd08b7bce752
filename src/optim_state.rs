//! Optimizer states saved from any backend and loaded safely.
//!
//! Burn saves an optimizer's state by reading its tensors synchronously, which WebGPU in wasm
//! cannot do, and rebuilds it on `Device::default()` (the WebGPU device in the browser build).
//! [`optimizer_bytes`] reads the tensors asynchronously first and has each state flatten a host
//! copy; [`OnHost`] rebuilds a state on the CPU; [`check_optimizer_bytes`] refuses, with a
//! reason, a saved state Burn would panic on.

use std::cell::RefCell;
use std::collections::HashMap;

use burn::optim::{AdamState, ModuleOptimizer, RecordState, StateSink, StateSource};
use burn::prelude::*;

use crate::error::{Result, VaeError};
use crate::transfer::on_host;

/// A per-parameter state whose tensors can be listed and replaced by host copies: what saving it
/// from a device that is read asynchronously (WebGPU) needs.
pub trait StateTensors: Sized {
    /// The state's tensors, each flattened to one dimension.
    fn tensors(&self) -> Vec<Tensor<1>>;
    /// The same state with its tensors replaced, in [`tensors`](Self::tensors)' order, by these
    /// values on the CPU.
    fn on_host(&self, values: Vec<Tensor<1>>) -> Self;
    /// The steps the state has counted, where it counts them (Adam's bias correction needs it).
    fn time(&self) -> Option<usize> {
        None
    }
}

pub(crate) fn host_like<const D: usize>(like: &Tensor<D>, values: &mut impl Iterator<Item = Tensor<1>>) -> Tensor<D> {
    values.next().expect("one host copy per state tensor").reshape(like.shape())
}

pub(crate) fn flat<const D: usize>(t: &Tensor<D>) -> Tensor<1> {
    t.clone().reshape([t.shape().num_elements()])
}

impl<const D: usize> StateTensors for AdamState<D> {
    fn tensors(&self) -> Vec<Tensor<1>> {
        let m = &self.momentum;
        [Some(&m.moment_1), Some(&m.moment_2), m.max_moment_2.as_ref()].into_iter().flatten().map(flat).collect()
    }

    fn on_host(&self, values: Vec<Tensor<1>>) -> Self {
        let mut values = values.into_iter();
        let mut state = self.clone();
        let m = &mut state.momentum;
        m.moment_1 = host_like(&m.moment_1, &mut values);
        m.moment_2 = host_like(&m.moment_2, &mut values);
        m.max_moment_2 = m.max_moment_2.as_ref().map(|t| host_like(t, &mut values));
        state
    }

    fn time(&self) -> Option<usize> {
        Some(self.momentum.time)
    }
}

/// One parameter's state as [`state_tensors`] lists it.
pub struct Listed {
    /// The state's prefix: its parameter's id.
    pub prefix: String,
    /// Its tensors, each flattened (Adam: the first moment, then the second).
    pub tensors: Vec<Tensor<1>>,
    /// The steps it has counted, for a state that counts them.
    pub time: Option<usize>,
}

/// What [`OnHost`]'s `state_flatten` does: flatten as usual, or take part in
/// [`optimizer_bytes`]' two passes.
enum Pass {
    Flatten,
    /// First pass: list every state's tensors by its prefix, flatten nothing.
    Collect(Vec<Listed>),
    /// Second pass: flatten a host copy made of these values, by prefix.
    Replay(HashMap<String, Vec<Tensor<1>>>),
}

thread_local! {
    static PASS: RefCell<Pass> = const { RefCell::new(Pass::Flatten) };
}

/// Puts [`PASS`] back to `Flatten` when dropped, even if a pass panics.
struct PassGuard;

impl PassGuard {
    fn set(pass: Pass) -> Self {
        PASS.with(|p| *p.borrow_mut() = pass);
        PassGuard
    }

    fn take() -> Pass {
        PASS.with(|p| std::mem::replace(&mut *p.borrow_mut(), Pass::Flatten))
    }
}

impl Drop for PassGuard {
    fn drop(&mut self) {
        PASS.with(|p| *p.borrow_mut() = Pass::Flatten);
    }
}

/// An optimizer state that a saved run rebuilds on the CPU, and that can be saved from WebGPU.
///
/// Burn rebuilds a saved optimizer state on `Device::default()`, which in the browser build is the
/// WebGPU device: without an initialised WebGPU runtime that panics, and on the CPU backend there
/// is none. The state is rebuilt on Flex instead; the next step moves it to its parameter's device.
///
/// Burn saves a state by reading its tensors synchronously, which WebGPU in wasm cannot do;
/// [`optimizer_bytes`] reads them asynchronously first and has each state flatten a host copy.
#[derive(Clone)]
pub struct OnHost<S>(pub(crate) S);

impl<S: RecordState + StateTensors> RecordState for OnHost<S> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let host = PASS.with(|p| match &mut *p.borrow_mut() {
            Pass::Flatten => None,
            Pass::Collect(list) => {
                list.push(Listed { prefix: prefix.to_string(), tensors: self.0.tensors(), time: self.0.time() });
                Some(None)
            }
            Pass::Replay(values) => {
                Some(Some(self.0.on_host(values.remove(prefix).expect("every state was collected"))))
            }
        });
        match host {
            None => self.0.state_flatten(prefix, out),
            Some(Some(host)) => host.state_flatten(prefix, out),
            Some(None) => {}
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, _device: &Device) -> Option<Self> {
        S::state_unflatten(prefix, src, &Device::flex()).map(OnHost)
    }
}

/// Every per-parameter state's tensors (flattened), keyed by the state's prefix (the parameter's
/// id): what [`optimizer_bytes`] reads back, listed without reading anything.
pub fn state_tensors(optim: &ModuleOptimizer) -> Vec<Listed> {
    let _guard = PassGuard::set(Pass::Collect(Vec::new()));
    let _ = optim.to_record();
    match PassGuard::take() {
        Pass::Collect(list) => list,
        _ => unreachable!("the pass is only changed here"),
    }
}

/// The optimizer's state as a burnpack file's bytes, from any device: its tensors are read back
/// in one asynchronous transaction (on WebGPU in wasm no other read exists), then saved as Burn
/// saves them.
pub async fn optimizer_bytes(optim: &ModuleOptimizer) -> Result<Vec<u8>> {
    let collected = state_tensors(optim);
    let all = collected.iter().flat_map(|listed| listed.tensors.iter().cloned()).collect();
    let mut copies = on_host(all).await?.into_iter();
    let values = collected
        .into_iter()
        .map(|listed| (listed.prefix, copies.by_ref().take(listed.tensors.len()).collect()))
        .collect();
    let _guard = PassGuard::set(Pass::Replay(values));
    let bytes = optim.to_record().into_bytes().map_err(|e| VaeError::Record(e.to_string()))?;
    Ok(bytes.to_vec())
}

/// Checks a saved optimizer state (`optimizer_bytes`' output) against the parameters of `model`
/// before Burn reads it, since Burn panics on a record it cannot use: every tensor must belong to
/// one of the model's parameters and have its shape, as `f32` of the right length, and every
/// parameter's recorded rank must be its own.
pub fn check_optimizer_bytes<M: Module>(bytes: &[u8], model: &M) -> Result<()> {
    struct Shapes(HashMap<u64, Vec<usize>>);
    impl burn::module::ModuleVisitor for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            self.0.insert(param.id.val(), param.shape().to_vec());
        }
    }
    let bad = |why: String| VaeError::Record(format!("the optimizer state cannot be read: {why}"));
    let mut shapes = Shapes(HashMap::new());
    model.visit(&mut shapes);
    let shapes = shapes.0;
    let reader = burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec())).map_err(|e| bad(e.to_string()))?;
    for (name, value) in reader.scalars() {
        let Some(id) = name.strip_suffix(".__rank") else { continue };
        let shape = id.parse::<u64>().ok().and_then(|id| shapes.get(&id));
        match (shape, usize::try_from(*value)) {
            (Some(shape), Ok(rank)) if rank == shape.len() => {}
            _ => return Err(bad(format!("{name} does not fit this model"))),
        }
    }
    for tensor in reader.into_tensors().map_err(|e| bad(e.to_string()))? {
        let shape = tensor.param_id.and_then(|id| shapes.get(&id));
        let fits = shape.is_some_and(|shape| {
            tensor.shape.as_slice() == shape.as_slice()
                && tensor.dtype == burn::tensor::DType::F32
                && tensor.byte_len() == 4 * shape.iter().product::<usize>()
                && tensor.name.starts_with(&format!("{}.", tensor.param_id.unwrap_or_default()))
        });
        if !fits {
            return Err(bad(format!("the tensor {} does not fit this model", tensor.name)));
        }
    }
    Ok(())
}
