//! The negative evidence lower bound and its parts, in nats per datapoint.
//!
//! Every function here maps a batch to one value per row (`[N]`), so callers can average, sum or
//! log-sum-exp over rows as the estimator needs.

use burn::prelude::*;

use crate::config::{Estimator, VaeConfig};
use crate::model::{DecoderOutput, Vae};

/// ln(2π).
const LN_2PI: f64 = 1.837_877_066_409_345_5;

fn row_sum(x: Tensor<2>) -> Tensor<1> {
    x.sum_dim(1).squeeze_dim::<1>(1)
}

/// KL(N(μ, diag σ²) ‖ N(0, I)) in closed form, per row (the paper's appendix B):
/// `−½ Σ_j (1 + log σ²_j − μ_j² − σ²_j)`. `[N, D]` → `[N]`.
pub fn kl_standard_normal(mu: Tensor<2>, log_var: Tensor<2>) -> Tensor<1> {
    let terms = log_var.clone().add_scalar(1.0) - mu.square() - log_var.exp();
    row_sum(terms).mul_scalar(-0.5)
}

/// log N(z; μ, diag σ²), per row: `−½ Σ_j (ln 2π + log σ²_j + (z_j − μ_j)² / σ²_j)`. `[N, D]` → `[N]`.
pub fn log_normal(z: Tensor<2>, mu: Tensor<2>, log_var: Tensor<2>) -> Tensor<1> {
    let sq = (z - mu).square() * log_var.clone().neg().exp();
    row_sum((sq + log_var).add_scalar(LN_2PI)).mul_scalar(-0.5)
}

/// log N(z; 0, I), per row. `[N, D]` → `[N]`.
pub fn log_standard_normal(z: Tensor<2>) -> Tensor<1> {
    row_sum(z.square().add_scalar(LN_2PI)).mul_scalar(-0.5)
}

/// How far from zero a logit's softplus correction `ln(1 + e^−|ℓ|)` follows it: beyond ±30 it is
/// taken as `ln(1 + e^−30)` ≈ 9.4e-14 nats, and its gradient is exactly zero.
///
/// Why: a pixel that is black in every digit (MNIST's borders) has its cross-entropy's infimum at
/// ℓ = −∞, and Adam, which normalises each step by the gradient's own scale, keeps pushing its
/// logit down however small the gradient e^ℓ gets. Within 30,000 steps of the 2-D model such
/// logits passed −400; from about −87 on, e^−|ℓ|, the softplus and the gradients through them are
/// subnormal floats, and the matrix products of the backward pass that read them ran 2.5 times
/// slower on x86 without flush-to-zero, which WebAssembly does not have (docs/benchmarks.md). With
/// the tail cut at 30 the gradient of an all-black pixel stays above ~1e-15 until it is exactly
/// zero, so neither it, its square in Adam's second moment, nor the products it enters go
/// subnormal, and the drift stops near −30; the loss moves by less than 1e-13 nats a pixel.
/// A target above zero still pulls such a logit back up through the linear term `x·ℓ`.
pub const SOFTPLUS_TAIL: f32 = 30.0;

/// log p(x|z) for independent Bernoulli pixels given logits ℓ, per row:
/// `Σ_i x_i ℓ_i − softplus(ℓ_i)`, i.e. the negative binary cross-entropy, computed stably as
/// softplus(ℓ) = max(ℓ, 0) + ln(1 + e^−|ℓ|), the second term with |ℓ| at most [`SOFTPLUS_TAIL`].
/// `x` may be grey levels in [0, 1]. `[N, 784]` → `[N]`.
pub fn bernoulli_log_likelihood(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    let softplus = logits.clone().clamp_min(0.0) + softplus_correction(logits.clone());
    row_sum(x * logits - softplus)
}

/// `ln(1 + e^−min(|ℓ|, SOFTPLUS_TAIL))`, element-wise: softplus(ℓ) − max(ℓ, 0) with the tail cut
/// (see [`SOFTPLUS_TAIL`]).
pub fn softplus_correction<const D: usize>(logits: Tensor<D>) -> Tensor<D> {
    logits.abs().neg().clamp_min(-SOFTPLUS_TAIL).exp().log1p()
}

/// log p(x|z) for independent Gaussian pixels, per row. `[N, 784]` → `[N]`.
pub fn gaussian_log_likelihood(mean: Tensor<2>, log_var: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    log_normal(x, mean, log_var)
}

/// log p_θ(x|z) for whichever decoder produced `output`. `[N, 784]` → `[N]`.
pub fn log_likelihood(output: DecoderOutput, x: Tensor<2>) -> Tensor<1> {
    match output {
        DecoderOutput::Bernoulli { logits } => bernoulli_log_likelihood(logits, x),
        DecoderOutput::Gaussian { mean, log_var } => gaussian_log_likelihood(mean, log_var, x),
    }
}

/// The objective of one minibatch and its parts, each a one-element tensor still on the device.
#[derive(Debug, Clone)]
pub struct LossParts {
    /// What is minimised: `reconstruction + β · kl`; with β = 1, the negative ELBO.
    pub loss: Tensor<1>,
    /// −E_q[log p_θ(x|z)], the mean over the batch (and over the L samples).
    pub reconstruction: Tensor<1>,
    /// KL(q_φ(z|x) ‖ p(z)): closed form for SGVB-B, the sampled estimate for SGVB-A.
    pub kl: Tensor<1>,
}

/// The parts of two batches (or pieces of one) added.
impl std::ops::Add for LossParts {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            loss: self.loss + other.loss,
            reconstruction: self.reconstruction + other.reconstruction,
            kl: self.kl + other.kl,
        }
    }
}

/// The SGVB estimate of the negative ELBO of a minibatch, averaged over its M datapoints.
///
/// `x` is `[M, 784]`; `eps` is `[L·M, D]` standard-normal noise (row `l·M + i` is sample l of
/// datapoint i), drawn by the caller so that every backend sees the same noise.
pub fn negative_elbo(model: &Vae, x: Tensor<2>, eps: Tensor<2>, config: &VaeConfig) -> LossParts {
    let l = config.samples;
    let (mu, log_var) = model.encode(x.clone());
    let (mu_l, log_var_l, x_l) = if l == 1 {
        (mu.clone(), log_var.clone(), x)
    } else {
        (mu.clone().repeat_dim(0, l), log_var.clone().repeat_dim(0, l), x.repeat_dim(0, l))
    };
    let z = Vae::reparameterize(mu_l.clone(), log_var_l.clone(), eps);
    let reconstruction = log_likelihood(model.decode(z.clone()), x_l).mean().neg();
    let kl = match config.estimator {
        Estimator::SgvbB => kl_standard_normal(mu, log_var).mean(),
        Estimator::SgvbA => (log_normal(z.clone(), mu_l, log_var_l) - log_standard_normal(z)).mean(),
    };
    LossParts {
        loss: reconstruction.clone() + kl.clone().mul_scalar(config.beta),
        reconstruction,
        kl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2(rows: &[&[f32]]) -> Tensor<2> {
        let cols = rows[0].len();
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), cols]), &Device::flex())
    }

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_into_vec().unwrap()
    }

    fn close(a: f32, b: f64, tol: f64) {
        assert!((a as f64 - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn kl_is_zero_at_the_prior() {
        let kl = values(kl_standard_normal(t2(&[&[0.0, 0.0, 0.0]]), t2(&[&[0.0, 0.0, 0.0]])));
        close(kl[0], 0.0, 1e-7);
    }

    #[test]
    fn kl_matches_a_hand_computed_case() {
        // μ = (1, −2), log σ² = (0, ln 4): −½[(1+0−1−1) + (1+ln4−4−4)] = −½(−1 − 7 + ln 4) = 4 − ln 2.
        let kl = values(kl_standard_normal(
            t2(&[&[1.0, -2.0]]),
            t2(&[&[0.0, 4f32.ln()]]),
        ));
        close(kl[0], 4.0 - std::f64::consts::LN_2, 1e-5);
    }

    #[test]
    fn standard_normal_density_at_zero_and_one() {
        // log N(0; 0, 1) = −½ ln 2π; two dims at z = (1, 0): −ln 2π − ½.
        let v = values(log_standard_normal(t2(&[&[0.0], &[1.0]])));
        close(v[0], -0.5 * LN_2PI, 1e-6);
        close(v[1], -0.5 * LN_2PI - 0.5, 1e-6);
        let v = values(log_normal(t2(&[&[3.0]]), t2(&[&[1.0]]), t2(&[&[4f32.ln()]])));
        // N(3; 1, 4): −½(ln 2π + ln 4 + 4/4).
        close(v[0], -0.5 * (LN_2PI + 4f64.ln() + 1.0), 1e-5);
    }

    #[test]
    fn bernoulli_log_likelihood_by_hand() {
        // ℓ = 0 gives p = ½ for any target: ln ½ per pixel. ℓ = ln 3 gives p = ¾:
        // target 1 → ln ¾, target 0 → ln ¼, target 0.5 → ½ ln ¾ + ½ ln ¼.
        let v = values(bernoulli_log_likelihood(
            t2(&[&[0.0, 0.0], &[3f32.ln(), 3f32.ln()], &[3f32.ln(), 0.0]]),
            t2(&[&[1.0, 0.0], &[1.0, 0.0], &[0.5, 0.25]]),
        ));
        close(v[0], 2.0 * 0.5f64.ln(), 1e-6);
        close(v[1], 0.75f64.ln() + 0.25f64.ln(), 1e-6);
        close(v[2], 0.5 * 0.75f64.ln() + 0.5 * 0.25f64.ln() + 0.5f64.ln(), 1e-6);
    }

    #[test]
    fn bernoulli_log_likelihood_is_stable_for_large_logits() {
        let v = values(bernoulli_log_likelihood(t2(&[&[100.0, -100.0]]), t2(&[&[1.0, 0.0]])));
        close(v[0], 0.0, 1e-6);
        let v = values(bernoulli_log_likelihood(t2(&[&[100.0]]), t2(&[&[0.0]])));
        close(v[0], -100.0, 1e-4);
    }

    #[test]
    fn logits_far_below_zero_give_no_subnormal_gradients() {
        // ℓ from −600 to 600: with a black target, −log p(x|z) and its gradient σ(ℓ) (here e^ℓ)
        // would be subnormal floats for ℓ below about −87; past the tail they are exactly
        // ln(1 + e^−30) and zero, in reach of them the gradient is σ(ℓ) as before.
        let device = Device::flex().autodiff();
        let logits: Vec<f32> = (-120..=120).map(|i| i as f32 * 5.0).collect();
        let n = logits.len();
        let leaf = Tensor::<2>::from_data(TensorData::new(logits.clone(), [1, n]), &device).require_grad();
        let nll = bernoulli_log_likelihood(leaf.clone(), Tensor::zeros([1, n], &device)).neg();
        let grads = nll.clone().sum().backward();
        let grad: Vec<f32> = leaf.grad(&grads).unwrap().into_data().try_into_vec().unwrap();
        for (&l, &g) in logits.iter().zip(&grad) {
            assert!(!g.is_subnormal(), "ℓ = {l}: subnormal gradient {g:e}");
            if l == 0.0 {
                // The kink of max(ℓ, 0) and |ℓ|: Burn's subgradients give 1 there, not σ(0).
                continue;
            }
            let sigmoid = 1.0 / (1.0 + (-(l as f64)).exp());
            if l < -SOFTPLUS_TAIL {
                assert_eq!(g, 0.0, "ℓ = {l}");
            } else {
                assert!((g as f64 - sigmoid).abs() <= 1e-6 * sigmoid, "ℓ = {l}: {g:e} vs σ(ℓ) = {sigmoid:e}");
            }
        }
        // Each pixel's −log p is one value of its own here (one column per logit of one row).
        let per_pixel = |l: f32, x: f32| {
            let leaf = Tensor::<2>::from_data(TensorData::new(vec![l], [1, 1]), &device).require_grad();
            let target = Tensor::<2>::from_data(TensorData::new(vec![x], [1, 1]), &device);
            let nll = bernoulli_log_likelihood(leaf.clone(), target).neg();
            let grad = leaf.grad(&nll.clone().sum().backward()).unwrap().into_scalar::<f32>();
            (nll.into_scalar::<f32>(), grad)
        };
        let (nll, g) = per_pixel(-500.0, 0.0);
        assert!(nll > 0.0 && nll < 1e-13 && !nll.is_subnormal(), "{nll:e}");
        assert_eq!(g, 0.0);
        // A grey target pulls a logit that has gone far down back up, at full strength.
        let (nll, g) = per_pixel(-500.0, 0.5);
        close(nll, 250.0, 1e-3);
        assert_eq!(g, -0.5);
    }

    #[test]
    fn gaussian_log_likelihood_by_hand() {
        // x = 0.5 under N(0.5, e^0): −½ ln 2π; under N(0, e^{−2}): −½(ln 2π − 2 + 0.25 e²).
        let v = values(gaussian_log_likelihood(
            t2(&[&[0.5], &[0.0]]),
            t2(&[&[0.0], &[-2.0]]),
            t2(&[&[0.5], &[0.5]]),
        ));
        close(v[0], -0.5 * LN_2PI, 1e-6);
        close(v[1], -0.5 * (LN_2PI - 2.0 + 0.25 * std::f64::consts::E.powi(2)), 1e-5);
    }
}
