//! The optimizers of φ and θ: Adam (Kingma & Ba) and Adagrad (the paper's), with Adam's moments
//! kept out of the subnormal range.
//!
//! Why: a weight whose gradient is zero for a while (an encoder weight of a pixel that is black in
//! every digit of recent batches, a ReLU unit that is off) has its first moment decay by β₁ = 0.9
//! per step; after about 830 steps it leaves f32's normal range (0.9⁸³⁰ ≈ 1e-38). Arithmetic on
//! subnormal floats is many times slower on x86, and WebAssembly has no flush-to-zero mode, so a
//! few thousand such weights slowed every step by a third or more after ~800 steps. Values below
//! [`FLUSH_BELOW`] are set to zero every [`FLUSH_EVERY`] steps: they moved the weight by at most
//! `1e-30 / ε = 1e-22` per step, far below f32's resolution of any weight that matters, and in
//! the steps between two flushes a value above it decays by at most 0.9⁶⁴ ≈ 1e-3, staying far
//! above f32's smallest normal number (1.2e-38). Not every step: each flush is a pass over the
//! whole model.
//!
//! Their states are saved from any backend and rebuilt on the CPU (`src/optim_state.rs`).

use burn::optim::decay::{WeightDecay, WeightDecayConfig};
use burn::optim::{
    AdaGradState, Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, LrDecayState, ModuleOptimizer,
    Optimizer, RecordState, StateSink, StateSource,
};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::prelude::*;

use crate::config::{OptimizerKind, VaeConfig};
use crate::flex::{contiguous, flex, plain, AdamPass};
use crate::pool::spread_model_passes;
use crate::optim_state::{flat, host_like, OnHost, StateTensors};

/// Moments smaller than this in magnitude become exactly zero.
pub const FLUSH_BELOW: f32 = 1e-30;
/// Adam's moments are flushed at every step that is a multiple of this (counted by the optimizer's
/// own step count, which a saved run keeps, so a resumed run flushes at the same steps).
pub const FLUSH_EVERY: usize = 64;

/// `t` with every element of magnitude below [`FLUSH_BELOW`] set to zero.
pub fn flush_tiny<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let tiny = t.clone().abs().lower_elem(FLUSH_BELOW);
    t.mask_fill(tiny, 0.0)
}

/// The running sum of squared gradients of Adagrad, and the number of steps summed.
#[derive(Clone)]
pub struct SquaredSum<const D: usize> {
    time: usize,
    sum: Tensor<D>,
}

/// Adagrad's per-parameter state, saved as Burn's `AdaGradState` is (so either reads the other's).
#[derive(Clone)]
pub struct AdagradState<const D: usize> {
    lr_decay: SquaredSum<D>,
}

impl<const D: usize> RecordState for AdagradState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let SquaredSum { time, sum } = self.lr_decay.clone();
        AdaGradState::new(LrDecayState::new(time, sum)).state_flatten(prefix, out);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let prefix = format!("{prefix}.lr_decay");
        let time = usize::try_from(src.take_scalar(&prefix, "time")?).ok()?;
        let sum = src.take_tensor(&prefix, "sum")?;
        (sum.rank() == D).then(|| Self { lr_decay: SquaredSum { time, sum: Tensor::from_data(sum, device) } })
    }
}

impl<const D: usize> StateTensors for AdagradState<D> {
    fn tensors(&self) -> Vec<Tensor<1>> {
        vec![flat(&self.lr_decay.sum)]
    }

    fn on_host(&self, values: Vec<Tensor<1>>) -> Self {
        let mut values = values.into_iter();
        let sum = host_like(&self.lr_decay.sum, &mut values);
        Self { lr_decay: SquaredSum { time: self.lr_decay.time, sum } }
    }
}

/// Adagrad (Duchi et al.), the paper's optimizer: each weight's step is the learning rate over the
/// root of the sum of its squared gradients so far. The same arithmetic as Burn's `AdaGrad`
/// without learning-rate decay; its own state so that the state can be saved from WebGPU. The
/// accumulator only grows, so it never goes subnormal.
#[derive(Clone)]
pub struct Adagrad {
    epsilon: f32,
    weight_decay: Option<WeightDecay>,
}

impl Optimizer for Adagrad {
    type State<const D: usize> = OnHost<AdagradState<D>>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let grad = match &self.weight_decay {
            Some(decay) => decay.transform(grad, tensor.clone()),
            None => grad,
        };
        let sum = match state {
            Some(OnHost(AdagradState { lr_decay: SquaredSum { time, sum } })) => {
                SquaredSum { time: time + 1, sum: sum.add(grad.clone().square()) }
            }
            None => SquaredSum { time: 1, sum: grad.clone().square() },
        };
        let delta = grad.div(sum.sum.clone().sqrt().add_scalar(self.epsilon)).mul_scalar(lr);
        (tensor - delta, Some(OnHost(AdagradState { lr_decay: sum })))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        let SquaredSum { time, sum } = state.0.lr_decay;
        OnHost(AdagradState { lr_decay: SquaredSum { time, sum: sum.to_device(device) } })
    }
}

/// Burn's Adam, with both moments flushed to zero below [`FLUSH_BELOW`] every [`FLUSH_EVERY`]
/// steps, its state rebuilt on the host (see [`OnHost`]).
///
/// On the CPU the update is one fused pass over each parameter's values instead of Burn's
/// thirteen element-wise tensor operations (each a pass over memory and a new buffer): the same
/// arithmetic, in the same order, so the same numbers as Burn's Adam to the last bit
/// (`tests::fused_adam_is_burns_adam`). On WebGPU Burn's tensor operations run as they are.
#[derive(Clone)]
pub struct FlushAdam {
    inner: Adam,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: Option<f32>,
}

impl FlushAdam {
    fn new(epsilon: f32, weight_decay: Option<f32>) -> Self {
        // Kingma & Ba's β₁ and β₂ (Burn's defaults too).
        let (beta_1, beta_2) = (0.9, 0.999);
        let config = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay.map(WeightDecayConfig::new));
        Self { inner: config.build(), beta_1, beta_2, epsilon, weight_decay }
    }

    /// The step as Burn's tensor operations (on WebGPU), then the flush.
    fn tensor_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        let (tensor, state) = self.inner.step(lr, tensor, grad, state);
        let mut state = state.expect("Adam always returns a state");
        if state.momentum.time % FLUSH_EVERY == 0 {
            state.momentum.moment_1 = flush_tiny(state.momentum.moment_1);
            state.momentum.moment_2 = flush_tiny(state.momentum.moment_2);
        }
        (tensor, state)
    }

    /// The step on the CPU: one pass, Burn's formulas (`burn_optim::adam`), on Flex's own buffers.
    /// Where the weights and moments are this step's alone (most steps) they are updated in
    /// place; where something else still holds them (the save point a chunk of steps keeps, to
    /// undo it after a divergence; a run being saved) the step writes new buffers, reading the
    /// shared ones without copying them first.
    fn fused_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        let shape = tensor.shape();
        let p = flex(tensor);
        let g = contiguous(flex(grad));
        // A first step is the general one from zero moments (0·β + x is exactly x).
        let (time, m, v) = match state {
            Some(s) => (s.momentum.time + 1, flex(s.momentum.moment_1), flex(s.momentum.moment_2)),
            None => {
                let zeros = || FlexTensor::zeros(p.layout().shape().clone(), p.dtype());
                (1, zeros(), zeros())
            }
        };
        let (b1, b2) = (self.beta_1, self.beta_2);
        let bias_correction2_sqrt = (1.0 - b2.powi(time as i32)).sqrt();
        let combined_factor = bias_correction2_sqrt / (1.0 - b1.powi(time as i32));
        let denominator_epsilon = self.epsilon * bias_correction2_sqrt;
        let pass = AdamPass {
            b1,
            b2,
            combined_factor,
            denominator_epsilon,
            lr: lr as f32,
            // No decay is a penalty of 0 (p·0 + g is exactly g for a finite p): one branch-free loop.
            penalty: self.weight_decay.unwrap_or(0.0),
            flush: time % FLUSH_EVERY == 0,
        };
        let own = |t: &FlexTensor| t.is_unique() && plain(t);
        let (p, m, v) = if own(&p) && own(&m) && own(&v) {
            let (mut p, mut m, mut v) = (p, m, v);
            if spread_model_passes() {
                pass.run_on_threads(p.storage_mut(), g.storage(), m.storage_mut(), v.storage_mut());
            } else {
                pass.run(p.storage_mut(), g.storage(), m.storage_mut(), v.storage_mut());
            }
            pass.flush_moments(m.storage_mut(), v.storage_mut());
            (p, m, v)
        } else {
            let (p, m, v) = (contiguous(p), contiguous(m), contiguous(v));
            let (p, mut m, mut v) = pass.run_into(p.storage(), g.storage(), m.storage(), v.storage());
            pass.flush_moments(&mut m, &mut v);
            let tensor = |values: Vec<f32>| FlexTensor::from_data(TensorData::new(values, shape.clone()));
            (tensor(p), tensor(m), tensor(v))
        };
        let tensor = |t: FlexTensor| Tensor::<D>::from_primitive::<Flex>(t);
        let momentum = AdaptiveMomentumState { time, moment_1: tensor(m), moment_2: tensor(v), max_moment_2: None };
        (tensor(p), AdamState { momentum })
    }
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
        let state = state.map(|s| s.0);
        let (tensor, state) = if tensor.device() == Device::flex() {
            self.fused_step(lr, tensor, grad, state)
        } else {
            self.tensor_step(lr, tensor, grad, state)
        };
        (tensor, Some(OnHost(state)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        OnHost(Adam::to_device(state.0, device))
    }
}

/// The optimizer `config` asks for.
pub fn optimizer(config: &VaeConfig) -> ModuleOptimizer {
    let weight_decay = (config.weight_decay > 0.0).then_some(config.weight_decay as f32);
    match config.optimizer {
        // ε = 1e-8 as in Kingma & Ba and in PyTorch (Burn's default is 1e-5).
        OptimizerKind::Adam => ModuleOptimizer::from(FlushAdam::new(1e-8, weight_decay)),
        // ε = 1e-8 keeps the first steps (accumulated squares near zero) close to the paper's
        // Adagrad.
        OptimizerKind::Adagrad => ModuleOptimizer::from(Adagrad {
            epsilon: 1e-8,
            weight_decay: weight_decay.map(|penalty| WeightDecay::new(&WeightDecayConfig::new(penalty))),
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

#[cfg(test)]
mod saving {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdaGradConfig, GradientsParams};
    use futures::executor::block_on;

    use super::*;

    fn start() -> Linear {
        LinearConfig::new(5, 3).init(&Device::flex().autodiff())
    }

    fn steps(mut linear: Linear, mut optim: ModuleOptimizer, n: usize) -> (Linear, ModuleOptimizer) {
        let device = Device::flex().autodiff();
        for i in 0..n {
            let x = Tensor::<2>::from_data(TensorData::new((0..10).map(|k| ((k * 7 + i) % 5) as f32 - 2.0).collect(), [2, 5]), &device);
            let grads = GradientsParams::from_grads(linear.forward(x).powf_scalar(2.0).sum().backward(), &linear);
            linear = optim.step(0.1, linear, grads);
        }
        (linear, optim)
    }

    fn values(linear: &Linear) -> Vec<f32> {
        linear.weight.val().into_data().try_into_vec().unwrap()
    }

    #[test]
    fn our_adagrad_takes_burns_steps_and_reads_its_state() {
        let ours = || ModuleOptimizer::from(Adagrad { epsilon: 1e-8, weight_decay: None });
        let linear = start();
        let (a, _) = steps(linear.clone(), ours(), 5);
        let (b, burns) = steps(linear, AdaGradConfig::new().with_epsilon(1e-8).init(), 5);
        assert_eq!(values(&a), values(&b));
        // Burn's saved state, loaded into ours, goes on as Burn's does.
        let loaded = ours().from_bytes(burns.into_bytes().unwrap()).unwrap();
        let (a, _) = steps(b.clone(), loaded, 3);
        let (b, _) = steps(b, burns, 3);
        assert_eq!(values(&a), values(&b));
    }

    /// Burn's own Adam with the flush, as it runs on WebGPU: the reference the fused pass must equal.
    #[derive(Clone)]
    struct Reference(FlushAdam);

    impl Optimizer for Reference {
        type State<const D: usize> = AdamState<D>;

        fn step<const D: usize>(
            &self,
            lr: LearningRate,
            tensor: Tensor<D>,
            grad: Tensor<D>,
            state: Option<Self::State<D>>,
        ) -> (Tensor<D>, Option<Self::State<D>>) {
            let (tensor, state) = self.0.tensor_step(lr, tensor, grad, state);
            (tensor, Some(state))
        }

        fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
            Adam::to_device(state, device)
        }
    }

    #[test]
    fn fused_adam_is_burns_adam() {
        for decay in [None, Some(0.01)] {
            let ours = ModuleOptimizer::from(FlushAdam::new(1e-8, decay));
            let burns = ModuleOptimizer::from(Reference(FlushAdam::new(1e-8, decay)));
            // Past a flush (step 64), with gradients that are zero for some weights.
            let linear = start();
            let (a, ours) = steps(linear.clone(), ours, FLUSH_EVERY + 3);
            let (b, burns) = steps(linear, burns, FLUSH_EVERY + 3);
            assert_eq!(values(&a), values(&b), "weight decay {decay:?}");
            assert_eq!(a.bias.as_ref().unwrap().val().into_data(), b.bias.as_ref().unwrap().val().into_data());
            drop((ours, burns));
        }
    }

    #[test]
    fn fused_adam_on_shared_weights_writes_new_ones_and_keeps_the_old() {
        // A save point holds the weights and moments of every step: each update writes new
        // buffers (no copy first), the same numbers as in place, and the kept ones stay as they were.
        let device = Device::flex().autodiff();
        let first = start();
        let (reference, _) = steps(first.clone(), ModuleOptimizer::from(FlushAdam::new(1e-8, None)), FLUSH_EVERY + 3);
        let (mut linear, mut optim) = (first, ModuleOptimizer::from(FlushAdam::new(1e-8, None)));
        for i in 0..FLUSH_EVERY + 3 {
            let kept = (linear.clone(), optim.clone(), values(&linear));
            let x = Tensor::<2>::from_data(TensorData::new((0..10).map(|k| ((k * 7 + i) % 5) as f32 - 2.0).collect(), [2, 5]), &device);
            let grads = GradientsParams::from_grads(linear.forward(x).powf_scalar(2.0).sum().backward(), &linear);
            linear = optim.step(0.1, linear, grads);
            assert_eq!(values(&kept.0), kept.2, "step {i} changed the kept weights");
            assert_ne!(values(&linear), kept.2, "step {i} did not move the weights");
        }
        assert_eq!(values(&linear), values(&reference));
    }

    #[test]
    fn saving_by_asynchronous_reads_writes_what_burn_writes() {
        for config in [VaeConfig::default(), VaeConfig { optimizer: OptimizerKind::Adagrad, ..VaeConfig::default() }] {
            let (_, optim) = steps(start(), optimizer(&config), 3);
            let plain = optim.into_bytes().unwrap().to_vec();
            assert_eq!(block_on(crate::optim_state::optimizer_bytes(&optim)).unwrap(), plain, "{:?}", config.optimizer);
            // And the pass is back to plain flattening afterwards.
            assert_eq!(optim.into_bytes().unwrap().to_vec(), plain);
        }
    }
}
