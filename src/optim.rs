//! The optimizers of φ and θ: Adam (Kingma & Ba) and Adagrad (the paper's), with Adam's moments
//! kept out of the subnormal range.
//!
//! Why: a weight whose gradient is zero for a while (an encoder weight of a pixel that is black in
//! every digit of recent batches, a ReLU unit that is off) has its first moment decay by β₁ = 0.9
//! per step; after about 830 steps it leaves f32's normal range (0.9⁸³⁰ ≈ 1e-38). Arithmetic on
//! subnormal floats is many times slower on x86, and WebAssembly has no flush-to-zero mode, so a
//! few thousand such weights slowed every step by a third or more after ~800 steps. Values below
//! [`FLUSH_BELOW`] are set to zero after each step: they moved the weight by at most
//! `1e-30 / ε = 1e-22` per step, far below f32's resolution of any weight that matters.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{
    AdaGrad, AdaGradConfig, AdaGradState, Adam, AdamConfig, AdamState, LearningRate, ModuleOptimizer, Optimizer,
    RecordState, StateSink, StateSource,
};
use burn::prelude::*;

use crate::config::{OptimizerKind, VaeConfig};

/// Moments smaller than this in magnitude become exactly zero.
pub const FLUSH_BELOW: f32 = 1e-30;

/// `t` with every element of magnitude below [`FLUSH_BELOW`] set to zero.
pub fn flush_tiny<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let tiny = t.clone().abs().lower_elem(FLUSH_BELOW);
    t.mask_fill(tiny, 0.0)
}

/// An optimizer state that a saved run rebuilds on the CPU.
///
/// Burn rebuilds a saved optimizer state on `Device::default()`, which in the browser build is the
/// WebGPU device: without an initialised WebGPU runtime that panics, and on the CPU backend there
/// is none. The state is rebuilt on Flex instead; the next step moves it to its parameter's device.
#[derive(Clone)]
pub struct OnHost<S>(S);

impl<S: RecordState> RecordState for OnHost<S> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        self.0.state_flatten(prefix, out);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, _device: &Device) -> Option<Self> {
        S::state_unflatten(prefix, src, &Device::flex()).map(OnHost)
    }
}

/// Burn's Adagrad, its state rebuilt on the host (see [`OnHost`]).
#[derive(Clone)]
pub struct HostAdagrad {
    inner: AdaGrad,
}

impl Optimizer for HostAdagrad {
    type State<const D: usize> = OnHost<AdaGradState<D>>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (tensor, state) = self.inner.step(lr, tensor, grad, state.map(|s| s.0));
        (tensor, state.map(OnHost))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        OnHost(AdaGrad::to_device(state.0, device))
    }
}

/// Burn's Adam, with both moments flushed to zero below [`FLUSH_BELOW`] after every step, its
/// state rebuilt on the host (see [`OnHost`]).
#[derive(Clone)]
pub struct FlushAdam {
    inner: Adam,
}

impl Optimizer for FlushAdam {
    type State<const D: usize> = OnHost<AdamState<D>>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (tensor, state) = self.inner.step(lr, tensor, grad, state.map(|s| s.0));
        let state = state.map(|mut s| {
            s.momentum.moment_1 = flush_tiny(s.momentum.moment_1);
            s.momentum.moment_2 = flush_tiny(s.momentum.moment_2);
            OnHost(s)
        });
        (tensor, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        OnHost(Adam::to_device(state.0, device))
    }
}

/// The optimizer `config` asks for.
pub fn optimizer(config: &VaeConfig) -> ModuleOptimizer {
    let weight_decay = (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
    match config.optimizer {
        // ε = 1e-8 as in Kingma & Ba and in PyTorch (Burn's default is 1e-5).
        OptimizerKind::Adam => ModuleOptimizer::from(FlushAdam {
            inner: AdamConfig::new().with_epsilon(1e-8).with_weight_decay(weight_decay).build(),
        }),
        // ε = 1e-8 keeps the first steps (accumulated squares near zero) close to the paper's
        // Adagrad. Its accumulator only grows, so it never goes subnormal.
        OptimizerKind::Adagrad => ModuleOptimizer::from(HostAdagrad {
            inner: AdaGradConfig::new().with_epsilon(1e-8).with_weight_decay(weight_decay).build(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_values_become_zero_and_the_rest_stay() {
        let device = Device::flex();
        let t = Tensor::<1>::from_data(TensorData::new(vec![1e-31f32, -1e-35, 1e-29, -0.5, 0.0, 3.0], [6]), &device);
        let v: Vec<f32> = flush_tiny(t).into_data().try_into_vec().unwrap();
        assert_eq!(v, vec![0.0, 0.0, 1e-29, -0.5, 0.0, 3.0]);
    }
}
