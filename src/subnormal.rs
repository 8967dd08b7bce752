//! Counting subnormal floats in the tensors a training step reads and writes: a diagnostic, never
//! run by a training step itself (`vae steady --census`, the tests).
//!
//! Why: arithmetic on subnormal f32 values (exponent bits zero, mantissa not) takes many times
//! longer on x86 CPUs unless the flush-to-zero bits are set, and WebAssembly has no such mode: a
//! model whose tensors fill with them slows down as it trains (docs/benchmarks.md).

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, tanh};

use crate::config::{Activation, DecoderKind, Estimator, VaeConfig};
use crate::loss::{bernoulli_log_likelihood, negative_elbo, softplus_correction, SOFTPLUS_TAIL};
use crate::model::Vae;
use crate::optim_state::state_tensors;

/// What one tensor holds, as far as the speed of arithmetic on it goes.
#[derive(Debug, Clone)]
pub struct Census {
    /// Which tensor (a parameter's path, `grad(…)`, `adam.m(…)`, or an activation's name).
    pub name: String,
    /// Values with a zero exponent and a non-zero mantissa.
    pub subnormal: usize,
    /// Values that are exactly ±0.
    pub zero: usize,
    /// All values.
    pub total: usize,
    /// The smallest and largest value.
    pub min: f32,
    pub max: f32,
}

impl Census {
    /// The census of `values`.
    pub fn of(name: impl Into<String>, values: &[f32]) -> Self {
        let (mut subnormal, mut zero, mut min, mut max) = (0, 0, f32::INFINITY, f32::NEG_INFINITY);
        for &v in values {
            subnormal += v.is_subnormal() as usize;
            zero += (v == 0.0) as usize;
            min = min.min(v);
            max = max.max(v);
        }
        Self { name: name.into(), subnormal, zero, total: values.len(), min, max }
    }

    /// The census of a tensor's values (read back synchronously: Flex, natively).
    pub fn of_tensor<const D: usize>(name: impl Into<String>, t: Tensor<D>) -> Self {
        let values: Vec<f32> = t.into_data().convert::<f32>().try_into_vec().expect("f32 values");
        Self::of(name, &values)
    }
}

impl std::fmt::Display for Census {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<28} {:>8} subnormal / {:>7} ({:>6.2} %), {:>7} zero, range [{:.3e}, {:.3e}]",
            self.name,
            self.subnormal,
            self.total,
            100.0 * self.subnormal as f64 / self.total.max(1) as f64,
            self.zero,
            self.min,
            self.max
        )
    }
}

/// Every float parameter of `model` with its path (`out.weight`, `decoder.layers.0.bias`), id and
/// rank, flattened.
fn named_params(model: &Vae) -> Vec<(String, u64, usize, Tensor<1>)> {
    #[derive(Default)]
    struct Named {
        path: Vec<String>,
        params: Vec<(String, u64, usize, Tensor<1>)>,
    }
    impl ModuleVisitor for Named {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let n = t.shape().num_elements();
            self.params.push((self.path.join("."), param.id.val(), D, t.reshape([n])));
        }
    }
    let mut named = Named::default();
    model.visit(&mut named);
    named.params
}

/// The census of the tensors of one training step of `model` (on an autodiff device) on the
/// minibatch `x` (`[M, 784]`) with noise `eps` (`[M, D]`), and of `optim`'s state: the weights,
/// the activations of the forward pass (decoder logits, the softplus's `exp(−|ℓ|)` as the loss
/// computes it, the sigmoid the views draw), the gradients of the loss with respect to the decoder's logits and hidden layer and to
/// z, the gradient of every parameter, and Adam's two moments of every parameter.
///
/// Only the default set-up's path is traced in detail (one hidden layer, Bernoulli decoder,
/// SGVB-B, L = 1); for others the parameters, their gradients and the moments are still counted.
pub fn census(model: &Vae, optim: &ModuleOptimizer, x: Tensor<2>, eps: Tensor<2>, config: &VaeConfig) -> Vec<Census> {
    let mut out = Vec::new();
    let params = named_params(model);
    let name_of = |id: u64| params.iter().find(|p| p.1 == id).map_or_else(|| id.to_string(), |p| p.0.clone());
    for (name, _, _, value) in &params {
        out.push(Census::of_tensor(name.clone(), value.clone().inner()));
    }

    // The gradients of every parameter, from the step's own loss.
    let parts = negative_elbo(model, x.clone(), eps.clone(), config);
    let mut grads = GradientsParams::from_grads(parts.loss.backward(), model);
    for (name, id, rank, _) in &params {
        let id = ParamId::from(*id);
        let name = format!("grad({name})");
        match rank {
            1 => grads.remove::<1>(id).map(|g| out.push(Census::of_tensor(name, g))),
            _ => grads.remove::<2>(id).map(|g| out.push(Census::of_tensor(name, g))),
        };
    }

    // Adam's moments (Adagrad's sum), by parameter.
    for crate::optim_state::Listed { prefix, tensors, .. } in state_tensors(optim) {
        let id = prefix.split('.').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        for (k, t) in tensors.into_iter().enumerate() {
            let kind = ["m", "v", "vmax"].get(k).copied().unwrap_or("state");
            out.push(Census::of_tensor(format!("adam.{kind}({})", name_of(id)), t));
        }
    }

    let traced = config.hidden.len() == 1
        && config.decoder == DecoderKind::Bernoulli
        && config.estimator == Estimator::SgvbB
        && config.samples == 1;
    if traced {
        out.extend(trace(model, x, eps, config));
    }
    out
}

/// The activations and the gradients with respect to them, of the one-hidden-layer Bernoulli
/// model: each gradient through a detached leaf at that point, back-propagated through Burn's own
/// operations as in a training step.
fn trace(model: &Vae, x: Tensor<2>, eps: Tensor<2>, config: &VaeConfig) -> Vec<Census> {
    let mut out = Vec::new();
    let activate = |t: Tensor<2>| match config.activation {
        Activation::Relu => relu(t),
        Activation::Tanh => tanh(t),
    };
    let leaf = |t: &Tensor<2>| t.clone().detach().require_grad();
    let (mu, log_var) = model.encode(x.clone());
    out.push(Census::of_tensor("mu", mu.clone().inner()));
    out.push(Census::of_tensor("log_var", log_var.clone().inner()));
    let std = log_var.clone().mul_scalar(0.5).exp();
    out.push(Census::of_tensor("exp(log_var/2)", std.inner()));
    let z = Vae::reparameterize(mu, log_var, eps);
    let dec_layer = &model.decoder.layers[0];
    let hidden_pre = dec_layer.forward(z.clone());
    out.push(Census::of_tensor("decoder pre-activation", hidden_pre.clone().inner()));
    let hidden = activate(hidden_pre);
    out.push(Census::of_tensor("decoder hidden", hidden.clone().inner()));
    let logits = model.out.forward(hidden.clone());
    out.push(Census::of_tensor("logits", logits.clone().inner()));
    let tail = logits.clone().inner().abs().neg().clamp_min(-SOFTPLUS_TAIL);
    out.push(Census::of_tensor("exp(-min(|logits|, tail))", tail.exp()));
    out.push(Census::of_tensor("softplus correction", softplus_correction(logits.clone().inner())));
    // Not a step's: what the views draw (`DecoderOutput::mean`).
    out.push(Census::of_tensor("sigmoid(logits), views", sigmoid(logits.clone().inner())));

    // −mean log p(x|z) from a leaf: what the step's loss back-propagates through there.
    let reconstruction = |leaf_logits: Tensor<2>| bernoulli_log_likelihood(leaf_logits, x.clone()).mean().neg();
    let l = leaf(&logits);
    let g = reconstruction(l.clone()).backward();
    out.push(Census::of_tensor("grad(logits)", l.grad(&g).expect("a leaf has a gradient")));
    let h = leaf(&hidden);
    let g = reconstruction(model.out.forward(h.clone())).backward();
    out.push(Census::of_tensor("grad(decoder hidden)", h.grad(&g).expect("a leaf has a gradient")));
    let zl = leaf(&z);
    let g = reconstruction(model.out.forward(activate(dec_layer.forward(zl.clone())))).backward();
    out.push(Census::of_tensor("grad(z) of reconstruction", zl.grad(&g).expect("a leaf has a gradient")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_subnormals_zeros_and_the_range() {
        let c = Census::of("t", &[1e-40, -1e-39, 0.0, -0.0, 1.0, f32::MIN_POSITIVE, -2.0]);
        assert_eq!((c.subnormal, c.zero, c.total, c.min, c.max), (2, 2, 7, -2.0, 1.0));
    }
}
