//! The training step in kernels of our own, on WebGPU: the whole step (forward, loss, backward,
//! Adam) in fourteen dispatches of four CubeCL kernels (`cube.rs`, launched by `step.rs`) over the
//! parameters in one flat buffer.
//!
//! Where it applies is decided by one function, [`applies`]; elsewhere (the CPU, the Gaussian
//! decoder, L > 1, SGVB-A, Adagrad) the trainer steps with Burn's operations and autodiff. A run
//! on the kernel path keeps its parameters and Adam's moments in a [`FlatRun`]; the model Burn's
//! operations use everywhere else (the explorer, the test bound, saving) is made of views into
//! those buffers ([`FlatRun::model`]), so nothing is copied between the two.
//!
//! The layout: each linear layer is one `[d_in + 1, d_out]` block, its weight's rows then its
//! bias as the last row, so that `[x, 1] · block` is the layer and the weight's gradient and the
//! bias's are one product, `[x, 1]ᵀ · dy`. The two heads (μ and log σ²) share one block
//! `[h + 1, 2D]`, μ's columns first.

use std::collections::HashMap;

use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::optim::{AdamState, AdaptiveMomentumState, GradientsParams, ModuleOptimizer, RecordState, StateSink};
use burn::prelude::*;

use crate::config::{DecoderKind, Estimator, OptimizerKind, VaeConfig, PIXELS};
use crate::error::{Result, VaeError};
use crate::loss::{negative_elbo, LossParts};
use crate::model::Vae;
use crate::optim_state::state_tensors;
use crate::transfer::on_host;

#[cfg(feature = "webgpu")]
mod cube;
#[cfg(feature = "webgpu")]
mod step;
#[cfg(feature = "webgpu")]
pub use step::{gradients, loss, step};

/// Whether a step of `config`'s model on `device` runs in our kernels: on WebGPU, for the model
/// they are written for (Bernoulli pixels, one sample per datapoint, the closed-form KL, Adam).
pub fn applies(config: &VaeConfig, device: &Device) -> bool {
    cfg!(feature = "webgpu")
        // The project's two backends: Flex, or WebGPU.
        && device.clone().inner() != Device::flex()
        && config.decoder == DecoderKind::Bernoulli
        && config.samples == 1
        && config.estimator == Estimator::SgvbB
        && config.optimizer == OptimizerKind::Adam
}

/// The gradients of the negative ELBO of the minibatch `x` (`[m, 784]`) with noise `eps` (`[m, D]`)
/// by Burn's operations and autodiff on `model`'s device, laid out as [`Layout`] says, and the
/// loss parts: what the kernels' [`gradients`] must give.
pub fn burn_gradients(model: &Vae, x: Tensor<2>, eps: Tensor<2>, config: &VaeConfig) -> (Tensor<1>, LossParts) {
    let parts = negative_elbo(model, x, eps, config);
    let grads = GradientsParams::from_grads(parts.loss.backward(), model);
    let mut by_id: HashMap<ParamId, Tensor<1>> = HashMap::new();
    for linear in model.linears() {
        let weight = grads.get::<2>(linear.weight.id).expect("every weight has a gradient");
        by_id.insert(linear.weight.id, weight.reshape([-1]));
        let bias = linear.bias.as_ref().expect("every layer has a bias").id;
        by_id.insert(bias, grads.get::<1>(bias).expect("every bias has a gradient"));
    }
    let flat = flatten(&Layout::new(config), model, &|id, _| by_id[&id].clone());
    let parts = LossParts { loss: parts.loss.inner(), reconstruction: parts.reconstruction.inner(), kl: parts.kl.inner() };
    (flat, parts)
}

/// One linear layer's place in the flat buffer: a `[d_in + 1, d_out]` block at `offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    pub offset: usize,
    pub d_in: usize,
    pub d_out: usize,
}

impl Block {
    fn len(&self) -> usize {
        (self.d_in + 1) * self.d_out
    }
}

/// Where each layer of a model lives in the flat buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub encoder: Vec<Block>,
    /// μ's and log σ²'s layers side by side: `d_out` is 2D.
    pub heads: Block,
    pub decoder: Vec<Block>,
    pub out: Block,
    /// Values in the buffer.
    pub len: usize,
}

impl Layout {
    pub fn new(config: &VaeConfig) -> Self {
        let mut offset = 0;
        let mut block = |d_in: usize, d_out: usize| {
            let b = Block { offset, d_in, d_out };
            offset += b.len();
            b
        };
        let mut sizes = vec![PIXELS];
        sizes.extend(&config.hidden);
        let encoder = sizes.windows(2).map(|w| block(w[0], w[1])).collect();
        let heads = block(*sizes.last().expect("a hidden layer"), 2 * config.latent_dim);
        let mut sizes = vec![config.latent_dim];
        sizes.extend(config.hidden.iter().rev());
        let decoder = sizes.windows(2).map(|w| block(w[0], w[1])).collect();
        let out = block(config.hidden[0], PIXELS);
        Self { encoder, heads, decoder, out, len: offset }
    }

    /// The latent dimension D.
    pub fn latent_dim(&self) -> usize {
        self.heads.d_out / 2
    }
}

/// A run on the kernel path: the parameters, Adam's first moments and its second moments, each
/// laid out as [`Layout`] says, one after the other in one buffer on the plain (non-autodiff)
/// device. Never written in place: a step makes a new buffer, so a copy of a `FlatRun` (what a
/// save point keeps) stays as it was.
#[derive(Clone)]
pub struct FlatRun {
    pub state: Tensor<1>,
    /// Adam's step count (its bias correction's t).
    pub time: usize,
    pub layout: Layout,
}

/// A linear layer's `[d_in + 1, d_out]` block: the weight's rows, then the bias.
fn block(weight: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
    let [d_out] = bias.dims();
    Tensor::cat(vec![weight, bias.reshape([1, d_out])], 0)
}

/// Something kept per parameter of `model` (`pick(id, its values)`, each flattened), laid out as
/// `layout` says, on the model's plain device.
fn flatten(layout: &Layout, model: &Vae, pick: &dyn Fn(ParamId, Tensor<1>) -> Tensor<1>) -> Tensor<1> {
    let linears = model.linears();
    let value = |linear: &Linear| -> (Tensor<2>, Tensor<1>) {
        let weight = linear.weight.val().inner();
        let bias = linear.bias.as_ref().expect("every layer has a bias");
        let shape = weight.shape();
        let n = shape.num_elements();
        (pick(linear.weight.id, weight.reshape([n])).reshape(shape), pick(bias.id, bias.val().inner()))
    };
    let n_enc = layout.encoder.len();
    let mut blocks: Vec<Tensor<2>> = linears[..n_enc]
        .iter()
        .map(|l| {
            let (w, b) = value(l);
            block(w, b)
        })
        .collect();
    let (w_mu, b_mu) = value(linears[n_enc]);
    let (w_lv, b_lv) = value(linears[n_enc + 1]);
    blocks.push(block(Tensor::cat(vec![w_mu, w_lv], 1), Tensor::cat(vec![b_mu, b_lv], 0)));
    blocks.extend(linears[n_enc + 2..].iter().map(|l| {
        let (w, b) = value(l);
        block(w, b)
    }));
    Tensor::cat(blocks.into_iter().map(|b| b.reshape([-1])).collect(), 0)
}

impl FlatRun {
    /// The run of `model` (on the autodiff device) and `optim` (Adam's states, when it has any)
    /// packed into one flat buffer on the model's device (plain).
    pub fn pack(model: &Vae, optim: &ModuleOptimizer, config: &VaeConfig) -> Self {
        let layout = Layout::new(config);
        let listed = state_tensors(optim);
        let time = listed.iter().filter_map(|l| l.time).max().unwrap_or(0);
        let states: HashMap<u64, Vec<Tensor<1>>> = listed
            .into_iter()
            .filter_map(|l| Some((l.prefix.parse().ok()?, l.tensors)))
            .collect();
        let moment = |k: usize| {
            flatten(&layout, model, &|id, p| match states.get(&id.val()) {
                // A saved run's states are rebuilt on the CPU (`OnHost`).
                Some(tensors) => tensors[k].clone().to_device(&p.device()),
                None => p.zeros_like(),
            })
        };
        let state = Tensor::cat(vec![flatten(&layout, model, &|_, p| p), moment(0), moment(1)], 0);
        Self { state, time, layout }
    }

    /// The same run with `model`'s parameters (weights loaded from a file) and the moments kept.
    pub fn with_params(&self, model: &Vae) -> Self {
        let state = Tensor::cat(vec![flatten(&self.layout, model, &|_, p| p), self.part(1), self.part(2)], 0);
        Self { state, ..self.clone() }
    }

    /// Part `k` of the state: 0 the parameters, 1 and 2 Adam's moments.
    fn part(&self, k: usize) -> Tensor<1> {
        let len = self.layout.len;
        self.state.clone().slice([k * len..(k + 1) * len])
    }

    /// `template` (the run's model, on the autodiff device) with its parameters replaced by views
    /// into [`FlatRun::params`], each keeping its id.
    pub fn model(&self, template: Vae) -> Vae {
        let device = template.linears()[0].weight.val().device();
        let views = self.layer_values(&self.part(0));
        template.map_linears(|i, linear| {
            let (w, b) = views[i].clone();
            fn tracked<const D: usize>(t: Tensor<D>, device: &Device) -> Tensor<D> {
                Tensor::from_inner(t).to_device(device).set_require_grad(true)
            }
            Linear {
                weight: Param::initialized(linear.weight.id, tracked(w, &device)),
                bias: linear.bias.map(|bias| Param::initialized(bias.id, tracked(b, &device))),
            }
        })
    }

    /// `flat` (laid out as the parameters are) cut into each linear layer's weight and bias, in
    /// [`Vae::linears`]' order.
    fn layer_values(&self, flat: &Tensor<1>) -> Vec<(Tensor<2>, Tensor<1>)> {
        let piece = |b: &Block| flat.clone().slice([b.offset..b.offset + b.len()]).reshape([b.d_in + 1, b.d_out]);
        let split = |t: Tensor<2>, d_in: usize| -> (Tensor<2>, Tensor<1>) {
            let d_out = t.dims()[1];
            (t.clone().slice([0..d_in]), t.slice([d_in..d_in + 1]).reshape([d_out]))
        };
        let mut out: Vec<_> = self.layout.encoder.iter().map(|b| split(piece(b), b.d_in)).collect();
        let heads = piece(&self.layout.heads);
        let (h, d) = (self.layout.heads.d_in, self.layout.latent_dim());
        out.push(split(heads.clone().slice([0..h + 1, 0..d]), h));
        out.push(split(heads.slice([0..h + 1, d..2 * d]), h));
        out.extend(self.layout.decoder.iter().chain([&self.layout.out]).map(|b| split(piece(b), b.d_in)));
        out
    }

    /// Adam's state as Burn saves it (what `optimizer_bytes` writes for a run on Burn's
    /// operations, so either path resumes the other's runs), the moments read back in one
    /// asynchronous transaction. `model` gives the parameters' ids and shapes.
    pub async fn optimizer_bytes(&self, model: &Vae) -> Result<Vec<u8>> {
        let mut host = on_host(vec![self.part(1), self.part(2)]).await?.into_iter();
        let (m1, m2) = (host.next().expect("two moments"), host.next().expect("two moments"));
        let (m1, m2) = (self.layer_values(&m1), self.layer_values(&m2));
        let mut tensors = Vec::new();
        let mut scalars = Vec::new();
        let mut add = |id: ParamId, moment_1: TensorData, moment_2: TensorData, rank: usize| {
            let prefix = id.val().to_string();
            let mut sink = StateSink::default();
            let device = Device::flex();
            let state = |data: &TensorData| {
                let values: Vec<f32> = data.try_to_vec().expect("moments are f32");
                let n = values.len();
                Tensor::<1>::from_data(TensorData::new(values, [n]), &device)
            };
            let momentum = AdaptiveMomentumState::<1> {
                time: self.time,
                moment_1: state(&moment_1),
                moment_2: state(&moment_2),
                max_moment_2: None,
            };
            // Burn's own flattening names the entries; the tensors are then written with their
            // parameter's shape (a state of any rank flattens the same way but for the shapes).
            AdamState { momentum }.state_flatten(&prefix, &mut sink);
            for (name, _) in sink.tensors {
                let data = if name.ends_with("moment_1") { moment_1.clone() } else { moment_2.clone() };
                let (bytes, shape, dtype) = data.into_parts();
                tensors.push(burn_pack::Tensor::new(name, dtype, shape, Some(id.val()), bytes));
            }
            scalars.extend(sink.scalars);
            scalars.push((format!("{prefix}.__rank"), burn_pack::Scalar::from(rank)));
        };
        for (i, linear) in model.linears().into_iter().enumerate() {
            add(linear.weight.id, m1[i].0.clone().into_data(), m2[i].0.clone().into_data(), 2);
            let bias = linear.bias.as_ref().expect("every layer has a bias").id;
            add(bias, m1[i].1.clone().into_data(), m2[i].1.clone().into_data(), 1);
        }
        let mut writer = burn_pack::Writer::new(tensors);
        for (key, value) in &scalars {
            writer = writer.with_scalar(key, *value);
        }
        let bytes = writer.into_bytes().map_err(|e| VaeError::Record(e.to_string()))?;
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use burn::optim::GradientsParams;
    use futures::executor::block_on;
    use rand::SeedableRng;

    use super::*;
    use crate::optim::optimizer;
    use crate::optim_state::optimizer_bytes;
    use crate::transfer::{standard_normal, tensor2, HostRng};

    /// A model and Adam after `steps` steps on Flex (Burn's operations).
    fn trained(config: &VaeConfig, steps: usize) -> (Vae, ModuleOptimizer) {
        let device = Device::flex().autodiff();
        let mut rng = HostRng::seed_from_u64(3);
        let mut model = Vae::new(config, &mut rng, &device);
        let mut optim = optimizer(config);
        let m = 8;
        for _ in 0..steps {
            let x: Vec<f32> = standard_normal(&mut rng, m * PIXELS).iter().map(|v| (v > &0.0) as u8 as f32).collect();
            let eps = standard_normal(&mut rng, m * config.latent_dim);
            let parts = negative_elbo(&model, tensor2(x, m, PIXELS, &device), tensor2(eps, m, config.latent_dim, &device), config);
            let grads = GradientsParams::from_grads(parts.loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
        }
        (model, optim)
    }

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn a_run_packed_and_saved_is_the_run_burn_saves() {
        let config = VaeConfig { latent_dim: 3, hidden: vec![16, 12], ..VaeConfig::default() };
        let (model, optim) = trained(&config, 3);
        let flat = FlatRun::pack(&model, &optim, &config);
        assert_eq!(flat.time, 3);
        assert_eq!(flat.state.dims(), [3 * Layout::new(&config).len]);

        // The model made of views is the model.
        let again = flat.model(model.clone());
        for (a, b) in model.linears().into_iter().zip(again.linears()) {
            assert_eq!(a.weight.id, b.weight.id);
            assert_eq!(values(a.weight.val().inner().reshape([-1])), values(b.weight.val().inner().reshape([-1])));
            let (ab, bb) = (a.bias.as_ref().unwrap(), b.bias.as_ref().unwrap());
            assert_eq!(values(ab.val().inner()), values(bb.val().inner()));
        }

        // Adam's state written from the flat run loads into Burn's optimizer as Burn's own does.
        let ours = block_on(flat.optimizer_bytes(&model)).unwrap();
        crate::optim_state::check_optimizer_bytes(&ours, &model).unwrap();
        let loaded = optimizer(&config).from_bytes(burn::tensor::Bytes::from_bytes_vec(ours)).unwrap();
        let theirs = optimizer(&config)
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(block_on(optimizer_bytes(&optim)).unwrap()))
            .unwrap();
        let listed = |o: &ModuleOptimizer| {
            let mut l: Vec<_> = state_tensors(o).into_iter().map(|l| (l.prefix, l.time, l.tensors.into_iter().map(values).collect::<Vec<_>>())).collect();
            l.sort_by(|a, b| a.0.cmp(&b.0));
            l
        };
        assert_eq!(listed(&loaded), listed(&theirs));
        // And packs back into the same flat run.
        assert_eq!(values(FlatRun::pack(&model, &loaded, &config).state), values(flat.state.clone()));
    }
}
