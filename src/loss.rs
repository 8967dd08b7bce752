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

/// log p(x|z) for independent Bernoulli pixels given logits ℓ, per row:
/// `Σ_i x_i ℓ_i − softplus(ℓ_i)`, i.e. the negative binary cross-entropy, computed stably as
/// softplus(ℓ) = max(ℓ, 0) + ln(1 + e^−|ℓ|). `x` may be grey levels in [0, 1]. `[N, 784]` → `[N]`.
pub fn bernoulli_log_likelihood(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    let softplus = logits.clone().clamp_min(0.0) + logits.clone().abs().neg().exp().log1p();
    row_sum(x * logits - softplus)
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
