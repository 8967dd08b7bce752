//! The recognition model q_φ(z|x) and the generative model p_θ(x|z) (the paper's appendix C).

use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softplus, tanh};
use crate::transfer::HostRng;
use rand::RngExt;

use crate::config::{Activation, DecoderKind, VaeConfig, PIXELS};

/// Smallest per-pixel variance the Gaussian decoder may reach: log σ² ≥ ln(1e-4), i.e. σ ≥ 0.01.
///
/// MNIST's border pixels are exactly 0 in every image, so an unbounded Gaussian decoder can drive
/// their variance to zero and its likelihood to infinity. The floor is applied smoothly (a shifted
/// softplus) so the gradient never vanishes.
pub const GAUSSIAN_MIN_LOG_VAR: f64 = -9.210_340_371_976_182;

/// Numbers the parameters of a model in the order they are made, so that the same config always
/// gives the same parameter ids: the optimizer's saved state is keyed by them, and a checkpoint's
/// optimizer state must find its parameters again in the model rebuilt from it.
struct ParamIds(u64);

impl ParamIds {
    fn next<const D: usize>(&mut self, tensor: Tensor<D>) -> Param<Tensor<D>> {
        self.0 += 1;
        let mut param = Param::from_tensor(tensor);
        param.id = ParamId::from(self.0);
        param
    }
}

/// A fully connected layer initialised on the host from `rng`, the same way on every backend:
/// weights and biases uniform in ±1/√fan_in (PyTorch's and Burn's default for linear layers).
fn linear(d_in: usize, d_out: usize, rng: &mut HostRng, ids: &mut ParamIds, device: &Device) -> Linear {
    let bound = 1.0 / (d_in as f32).sqrt();
    let mut uniform = |n: usize| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-bound..bound)).collect()
    };
    let weight = Tensor::<2>::from_data(TensorData::new(uniform(d_in * d_out), [d_in, d_out]), device);
    let bias = Tensor::<1>::from_data(TensorData::new(uniform(d_out), [d_out]), device);
    Linear {
        weight: ids.next(weight),
        bias: Some(ids.next(bias)),
    }
}

/// A stack of linear layers, each followed by the non-linearity.
#[derive(Module, Debug)]
pub struct Mlp {
    pub(crate) layers: Vec<Linear>,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    fn new(sizes: &[usize], activation: Activation, rng: &mut HostRng, ids: &mut ParamIds, device: &Device) -> Self {
        let layers = sizes
            .windows(2)
            .map(|w| linear(w[0], w[1], rng, ids, device))
            .collect();
        Self { layers, activation }
    }

    /// `[N, sizes[0]]` → `[N, sizes.last()]`.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for layer in &self.layers {
            x = layer.forward(x);
            x = match self.activation {
                Activation::Tanh => tanh(x),
                Activation::Relu => relu(x),
            };
        }
        x
    }
}

/// What the decoder gives for a batch of z: the parameters of p_θ(x|z), per pixel.
// A value lives for one forward pass, on the stack: boxing the Gaussian's tensors would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum DecoderOutput {
    /// Bernoulli logits `[N, 784]`.
    Bernoulli { logits: Tensor<2> },
    /// Gaussian means in [0, 1] and log-variances, each `[N, 784]`.
    Gaussian { mean: Tensor<2>, log_var: Tensor<2> },
}

impl DecoderOutput {
    /// The expected pixel values E[x|z], `[N, 784]` in [0, 1]: what the views draw.
    pub fn mean(self) -> Tensor<2> {
        match self {
            Self::Bernoulli { logits } => sigmoid(logits),
            Self::Gaussian { mean, .. } => mean,
        }
    }
}

/// The variational auto-encoder: encoder MLP → (μ, log σ²); decoder MLP → p_θ(x|z).
#[derive(Module, Debug)]
pub struct Vae {
    pub(crate) encoder: Mlp,
    mu: Linear,
    log_var: Linear,
    pub(crate) decoder: Mlp,
    /// Bernoulli logits, or the Gaussian means (before the sigmoid).
    pub(crate) out: Linear,
    /// The Gaussian decoder's log-variances; absent for a Bernoulli decoder.
    out_log_var: Option<Linear>,
    #[module(skip)]
    latent_dim: usize,
}

impl Vae {
    /// Builds the model `config` describes, its parameters drawn from `rng` on the host, so the same
    /// seed gives the same weights on every backend.
    pub fn new(config: &VaeConfig, rng: &mut HostRng, device: &Device) -> Self {
        let d = config.latent_dim;
        let mut enc_sizes = vec![PIXELS];
        enc_sizes.extend(&config.hidden);
        let mut dec_sizes = vec![d];
        dec_sizes.extend(config.hidden.iter().rev());
        let last_hidden = *config.hidden.last().expect("a validated config should have a hidden layer");
        let first_hidden = config.hidden[0];
        let ids = &mut ParamIds(0);
        Self {
            encoder: Mlp::new(&enc_sizes, config.activation, rng, ids, device),
            mu: linear(last_hidden, d, rng, ids, device),
            log_var: linear(last_hidden, d, rng, ids, device),
            decoder: Mlp::new(&dec_sizes, config.activation, rng, ids, device),
            out: linear(first_hidden, PIXELS, rng, ids, device),
            out_log_var: (config.decoder == DecoderKind::Gaussian)
                .then(|| linear(first_hidden, PIXELS, rng, ids, device)),
            latent_dim: d,
        }
    }

    /// Dimension of z.
    pub fn latent_dim(&self) -> usize {
        self.latent_dim
    }

    /// The linear layers in the order their parameters were made: the encoder's, μ's, log σ²'s, the
    /// decoder's, the output's (and the Gaussian decoder's log-variances last).
    pub(crate) fn linears(&self) -> Vec<&Linear> {
        let mut all: Vec<&Linear> = self.encoder.layers.iter().collect();
        all.extend([&self.mu, &self.log_var]);
        all.extend(&self.decoder.layers);
        all.push(&self.out);
        all.extend(&self.out_log_var);
        all
    }

    /// The same model with each linear layer replaced by `f(i, layer)`, `i` counting in
    /// [`Vae::linears`]' order.
    pub(crate) fn map_linears(self, mut f: impl FnMut(usize, Linear) -> Linear) -> Self {
        let mut i = 0;
        let mut next = |layer: Linear| {
            i += 1;
            f(i - 1, layer)
        };
        let encoder = Mlp { layers: self.encoder.layers.into_iter().map(&mut next).collect(), activation: self.encoder.activation };
        let mu = next(self.mu);
        let log_var = next(self.log_var);
        let decoder = Mlp { layers: self.decoder.layers.into_iter().map(&mut next).collect(), activation: self.decoder.activation };
        let out = next(self.out);
        let out_log_var = self.out_log_var.map(&mut next);
        Self { encoder, mu, log_var, decoder, out, out_log_var, latent_dim: self.latent_dim }
    }

    /// The decoder's distribution of a pixel.
    pub fn decoder_kind(&self) -> DecoderKind {
        if self.out_log_var.is_some() { DecoderKind::Gaussian } else { DecoderKind::Bernoulli }
    }

    /// q_φ(z|x): `x [N, 784]` → `(μ [N, D], log σ² [N, D])`.
    pub fn encode(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = self.encoder.forward(x);
        (self.mu.forward(h.clone()), self.log_var.forward(h))
    }

    /// The reparameterisation trick (the paper's eq. 10 with g = μ + σ ⊙ ε):
    /// `z = μ + exp(½ log σ²) ⊙ ε`, all `[N, D]`, so that z is differentiable in φ.
    pub fn reparameterize(mu: Tensor<2>, log_var: Tensor<2>, eps: Tensor<2>) -> Tensor<2> {
        mu + log_var.mul_scalar(0.5).exp() * eps
    }

    /// p_θ(x|z): `z [N, D]` → the decoder's distribution parameters, each `[N, 784]`.
    pub fn decode(&self, z: Tensor<2>) -> DecoderOutput {
        let h = self.decoder.forward(z);
        match &self.out_log_var {
            None => DecoderOutput::Bernoulli {
                logits: self.out.forward(h),
            },
            Some(out_log_var) => {
                let raw = out_log_var.forward(h.clone());
                DecoderOutput::Gaussian {
                    mean: sigmoid(self.out.forward(h)),
                    log_var: softplus(raw.sub_scalar(GAUSSIAN_MIN_LOG_VAR), 1.0)
                        .add_scalar(GAUSSIAN_MIN_LOG_VAR),
                }
            }
        }
    }
}
