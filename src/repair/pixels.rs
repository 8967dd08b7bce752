//! The decoder's distribution of each pixel at a batch of latent points, Bernoulli or Gaussian,
//! and what each corruption's observation model makes of it: log p(y|z), the pixels' posterior
//! given z and y, the truth's score, a completed digit drawn.

use super::*;

/// The decoder's distribution of each pixel at N latent points, `[N, 784]` tensors each.
#[derive(Clone)]
pub(super) enum Pixels {
    /// The Bernoulli decoder: log p_i and log (1 − p_i).
    Bernoulli { log_p: Tensor<2>, log_1mp: Tensor<2> },
    /// The Gaussian decoder (the paper's appendix C.2): each pixel N(μ_i, σ_i²).
    Gaussian { mean: Tensor<2>, log_var: Tensor<2> },
}

/// log N(x; μ, v) elementwise, for a variance `var` (not its log).
fn log_density(x: Tensor<2>, mean: Tensor<2>, var: Tensor<2>) -> Tensor<2> {
    ((x - mean).square() / var.clone() + var.log()).add_scalar(LN_2PI).mul_scalar(-0.5)
}

impl Pixels {
    /// Decodes `z` (`[N, D]`) in batches of [`ROWS_PER_BATCH`] rows.
    pub(super) fn decode(model: &Vae, z: Tensor<2>) -> Self {
        let n = z.dims()[0];
        let (mut first, mut second) = (Vec::new(), Vec::new());
        let mut gaussian = false;
        for start in (0..n).step_by(ROWS_PER_BATCH) {
            let (a, b) = match model.decode(z.clone().slice(start..(start + ROWS_PER_BATCH).min(n))) {
                DecoderOutput::Bernoulli { logits } => log_probabilities(logits),
                DecoderOutput::Gaussian { mean, log_var } => {
                    gaussian = true;
                    (mean, log_var)
                }
            };
            first.push(a);
            second.push(b);
        }
        let (a, b) = (Tensor::cat(first, 0), Tensor::cat(second, 0));
        if gaussian { Self::Gaussian { mean: a, log_var: b } } else { Self::Bernoulli { log_p: a, log_1mp: b } }
    }

    /// The same kind of pixels with `f` applied to both tensors.
    fn map(&self, f: impl Fn(Tensor<2>) -> Tensor<2>) -> Self {
        match self {
            Self::Bernoulli { log_p, log_1mp } => Self::Bernoulli { log_p: f(log_p.clone()), log_1mp: f(log_1mp.clone()) },
            Self::Gaussian { mean, log_var } => Self::Gaussian { mean: f(mean.clone()), log_var: f(log_var.clone()) },
        }
    }

    fn parts(&self) -> (Tensor<2>, Tensor<2>) {
        match self {
            Self::Bernoulli { log_p, log_1mp } => (log_p.clone(), log_1mp.clone()),
            Self::Gaussian { mean, log_var } => (mean.clone(), log_var.clone()),
        }
    }

    /// The rows `rows`.
    pub(super) fn select(&self, rows: Tensor<1, Int>) -> Self {
        self.map(|t| t.select(0, rows.clone()))
    }

    /// Row r from `proposed` where `take[r]` (`[R, 1]`, 0 or 1) is 1, else from `self`.
    pub(super) fn blend(&self, take: &Tensor<2>, proposed: &Self) -> Self {
        let keep = take.clone().neg().add_scalar(1.0);
        let (a, b) = proposed.parts();
        let (c, d) = self.parts();
        let mix = |new: Tensor<2>, old: Tensor<2>| take.clone() * new + keep.clone() * old;
        match self {
            Self::Bernoulli { .. } => Self::Bernoulli { log_p: mix(a, c), log_1mp: mix(b, d) },
            Self::Gaussian { .. } => Self::Gaussian { mean: mix(a, c), log_var: mix(b, d) },
        }
    }

    /// E[x_i | z], the decoder's own mean (p_i or μ_i).
    pub(super) fn decoder_mean(&self) -> Tensor<2> {
        match self {
            Self::Bernoulli { log_p, .. } => log_p.clone().exp(),
            Self::Gaussian { mean, .. } => mean.clone(),
        }
    }

    /// log p(x | z) of whole digits `x` (`[N, 784]`, or one row for all), per row: the chain's
    /// completed digit under each point.
    pub(super) fn log_likelihood_of(&self, x: Tensor<2>) -> Tensor<1> {
        match self {
            Self::Bernoulli { log_p, log_1mp } => row_sum(x.clone() * log_p.clone() + x.neg().add_scalar(1.0) * log_1mp.clone()),
            Self::Gaussian { mean, log_var } => row_sum(log_density(x, mean.clone(), log_var.clone().exp())),
        }
    }

    /// log p(y|z) of observations `seen` (one row, or one per point) at the points: `[N]`.
    pub(super) fn observation_log_likelihood(&self, seen: &Seen) -> Tensor<1> {
        let (log_p, log_1mp) = match self {
            Self::Bernoulli { log_p, log_1mp } => (log_p.clone(), log_1mp.clone()),
            Self::Gaussian { mean, log_var } => return gaussian_log_likelihood(seen, mean.clone(), log_var.clone()),
        };
        let y = seen.y.clone();
        match seen.kind {
            Kind::Missing => row_sum(seen.fixed.clone() * (y.clone() * log_p + (y.neg().add_scalar(1.0)) * log_1mp)),
            Kind::Flipped { rate } => {
                // p L₁ + (1 − p) L₀ = L₀ + p (L₁ − L₀), both L at least ε^1: no underflow.
                let (keep, flip) = ((1.0 - rate as f64).ln(), (rate as f64).ln());
                let one = y.clone().mul_scalar(keep - flip).add_scalar(flip).exp();
                let zero = y.mul_scalar(flip - keep).add_scalar(keep).exp();
                row_sum((zero.clone() + log_p.exp() * (one - zero)).log())
            }
            Kind::Noisy { .. } => {
                let (a, b) = branches(seen.kind, y, log_p, log_1mp);
                row_sum(log_add_exp(a, b))
            }
            Kind::LowResolution { block, floor } => {
                let (mean, var) = block_moments(log_p.exp(), block, floor);
                let sq = (y - mean).square() / var.clone();
                row_sum((sq + var.log()).add_scalar(LN_2PI)).mul_scalar(-0.5)
            }
        }
    }

    /// The same sum for a single row of observed values `y` with flags `fixed` (`[1, 784]`) of
    /// missing pixels, as matrix products over all N points at once: the grid's per-mask cost.
    pub(super) fn masked_log_likelihood(&self, fixed: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        match self {
            Self::Bernoulli { log_p, log_1mp } => {
                let one = (fixed.clone() * y.clone()).transpose();
                let zero = (fixed * y.neg().add_scalar(1.0)).transpose();
                row_sum(log_p.clone().matmul(one) + log_1mp.clone().matmul(zero))
            }
            Self::Gaussian { mean, log_var } => {
                // −½ Σ_seen [y²/σ² − 2 y μ/σ² + μ²/σ² + log σ² + ln 2π].
                let precision = log_var.clone().neg().exp();
                let constant = (mean.clone().square() * precision.clone() + log_var.clone()).add_scalar(LN_2PI);
                let cross = (mean.clone() * precision.clone()).matmul((fixed.clone() * y.clone()).transpose()).mul_scalar(-2.0);
                let square = precision.matmul((fixed.clone() * y.square()).transpose());
                row_sum((square + cross + constant.matmul(fixed.transpose())).mul_scalar(-0.5))
            }
        }
    }

    /// E[x_i | z, y] at the points, `[N, 784]`: the repaired digit under one z.
    ///
    /// Bernoulli, missing pixels: the seen value where seen, p_i elsewhere. Flips and noise: the
    /// pixel's own posterior, σ(a − b) of its two [`branches`]. Low resolution: each pixel's
    /// posterior given its block mean with the block's other pixels taken at their Gaussian
    /// moments (a mean-field approximation, the same Gaussian as the likelihood):
    /// `σ(ℓ_i + (d/n − 1/(2n²)) / V₋ᵢ)`, with d = y_k − S₋ᵢ/n, S₋ᵢ = Σ_{j≠i} p_j and
    /// V₋ᵢ = Σ_{j≠i} p_j(1 − p_j)/n² + floor². Gaussian: see [`gaussian_posterior`].
    pub(super) fn means(&self, seen: &Seen) -> Tensor<2> {
        let (log_p, log_1mp) = match self {
            Self::Bernoulli { log_p, log_1mp } => (log_p.clone(), log_1mp.clone()),
            Self::Gaussian { mean, log_var } => return gaussian_posterior(seen, mean.clone(), log_var.clone()).0,
        };
        match seen.kind {
            Kind::Missing => {
                let fixed = seen.fixed.clone();
                fixed.clone() * seen.y.clone() + fixed.neg().add_scalar(1.0) * log_p.exp()
            }
            Kind::Flipped { .. } | Kind::Noisy { .. } => {
                let (a, b) = branches(seen.kind, seen.y.clone(), log_p, log_1mp);
                sigmoid(a - b)
            }
            Kind::LowResolution { block, floor } => {
                let n = (block * block) as f64;
                let logits = log_p.clone() - log_1mp;
                let p = log_p.exp();
                let sum = spread_blocks(block_sum(p.clone(), block), block) - p.clone();
                let var = spread_blocks(block_moments(p.clone(), block, floor).1, block) - (p.clone() - p.square()).div_scalar(n * n);
                let d = spread_blocks(seen.y.clone(), block) - sum.div_scalar(n);
                sigmoid(logits + (d.div_scalar(n).sub_scalar(0.5 / (n * n))) / var)
            }
        }
    }

    /// log p(x_h | z, y) of the true digit's scored pixels, `[N]`. Bernoulli: a cross-entropy
    /// against `means` (for missing pixels, the decoder's own p_i, exactly; otherwise kept within
    /// [`PROB_FLOOR`]). Gaussian: the density of each true pixel under its posterior given z and y.
    pub(super) fn truth_log_likelihood(&self, seen: &Seen, truth: Tensor<2>, means: Tensor<2>) -> Tensor<1> {
        let (log_q, log_1mq) = match (self, seen.kind) {
            (Self::Gaussian { mean, log_var }, _) => {
                let (m, v) = gaussian_posterior(seen, mean.clone(), log_var.clone());
                return row_sum(seen.hidden.clone() * log_density(truth, m, v.clamp_min(VARIANCE_FLOOR)));
            }
            (Self::Bernoulli { log_p, log_1mp }, Kind::Missing) => (log_p.clone(), log_1mp.clone()),
            (Self::Bernoulli { .. }, _) => {
                let q = means.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
                (q.clone().log(), q.neg().add_scalar(1.0).log())
            }
        };
        row_sum(seen.hidden.clone() * (truth.clone() * log_q + truth.neg().add_scalar(1.0) * log_1mq))
    }

    /// A draw of the completed digit x̂ ~ p(x | z, y) at each point, given its `means`
    /// ([`Pixels::means`]): the seen pixels as they are, the rest drawn from their posterior
    /// (Bernoulli: a coin of each pixel's mean; Gaussian: the pixel's posterior Gaussian).
    pub(super) fn draw(&self, seen: &Seen, means: Tensor<2>, rng: &mut HostRng, device: &Device) -> Tensor<2> {
        let [rows, cols] = means.dims();
        match self {
            Self::Bernoulli { .. } => {
                let u = tensor2((0..rows * cols).map(|_| rng.random::<f32>()).collect(), rows, cols, device);
                let fixed = seen.fixed.clone();
                let fixed_values = match seen.kind {
                    Kind::Missing => fixed.clone() * seen.y.clone(),
                    _ => fixed.clone(),
                };
                fixed_values + fixed.neg().add_scalar(1.0) * means.greater(u).float()
            }
            Self::Gaussian { mean, log_var } => {
                let variance = gaussian_posterior(seen, mean.clone(), log_var.clone()).1;
                means + variance.sqrt() * tensor2(standard_normal(rng, rows * cols), rows, cols, device)
            }
        }
    }
}

/// Smallest posterior variance of a pixel scored by its density (seen pixels have none).
const VARIANCE_FLOOR: f64 = 1e-8;

/// log p(y|z) under the Gaussian decoder, `[N]`: missing pixels, the decoder's density over the
/// seen ones; additive noise of σ, N(y_i; μ_i, σ_i² + σ²); low resolution, each block mean
/// exactly N(Σ μ_i / n, Σ σ_i² / n² + floor²) (a mean of independent Gaussians); flips are for
/// binary pixels, refused before ([`check_decoder`]).
fn gaussian_log_likelihood(seen: &Seen, mean: Tensor<2>, log_var: Tensor<2>) -> Tensor<1> {
    let y = seen.y.clone();
    let var = log_var.exp();
    match seen.kind {
        Kind::Missing => row_sum(seen.fixed.clone() * log_density(y, mean, var)),
        Kind::Noisy { sigma } => row_sum(log_density(y, mean, var.add_scalar((sigma as f64).powi(2)))),
        Kind::LowResolution { block, floor } => {
            let n = (block * block) as f64;
            let block_var = block_sum(var, block).div_scalar(n * n).add_scalar((floor as f64).powi(2));
            row_sum(log_density(y, block_sum(mean, block).div_scalar(n), block_var))
        }
        Kind::Flipped { .. } => unreachable!("flips under a Gaussian decoder are refused by check_decoder"),
    }
}

/// Each pixel's posterior given z and y under the Gaussian decoder, `(mean, variance)` `[N, 784]`,
/// exact: missing pixels, the seen value (variance 0) or N(μ_i, σ_i²); additive noise of variance
/// s², the product of two Gaussians, mean (s² μ_i + σ_i² y_i) / (σ_i² + s²) and variance
/// σ_i² s² / (σ_i² + s²); low resolution, the pixel conditioned on its block's mean
/// (covariance σ_i²/n with it): mean μ_i + (σ_i²/n)(y_k − m_k)/V_k, variance σ_i² − (σ_i²/n)²/V_k.
pub(super) fn gaussian_posterior(seen: &Seen, mean: Tensor<2>, log_var: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let var = log_var.exp();
    match seen.kind {
        Kind::Missing => {
            let fixed = seen.fixed.clone();
            let free = fixed.clone().neg().add_scalar(1.0);
            (fixed * seen.y.clone() + free.clone() * mean, free * var)
        }
        Kind::Noisy { sigma } => {
            let s2 = (sigma as f64).powi(2);
            let total = var.clone().add_scalar(s2);
            ((mean.mul_scalar(s2) + var.clone() * seen.y.clone()) / total.clone(), var.mul_scalar(s2) / total)
        }
        Kind::LowResolution { block, floor } => {
            let n = (block * block) as f64;
            let block_var = block_sum(var.clone(), block).div_scalar(n * n).add_scalar((floor as f64).powi(2));
            let surprise = (seen.y.clone() - block_sum(mean.clone(), block).div_scalar(n)) / block_var.clone();
            let share = var.clone().div_scalar(n);
            (mean + share.clone() * spread_blocks(surprise, block), var - share.square() * spread_blocks(block_var.recip(), block))
        }
        Kind::Flipped { .. } => unreachable!("flips under a Gaussian decoder are refused by check_decoder"),
    }
}

/// Refuses an observation the model's decoder has no observation model for: flips, which are
/// for binary pixels, under the Gaussian decoder.
pub(super) fn check_decoder(model: &Vae, observation: &Observation) -> Result<()> {
    if model.decoder_kind() == DecoderKind::Gaussian && matches!(observation, Observation::Flipped { .. }) {
        return Err(VaeError::Argument(
            "flip noise is an observation model for binary pixels; this model's decoder is Gaussian (grey levels): choose Gaussian noise instead".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{close, t2, values};

    /// Every pixel N(μ = 0.25, σ² = 0.04) under the Gaussian decoder.
    fn gaussian() -> Pixels {
        Pixels::Gaussian { mean: t2(vec![0.25; PIXELS], 1), log_var: t2(vec![0.04f32.ln(); PIXELS], 1) }
    }

    fn normal(x: f64, mean: f64, var: f64) -> f64 {
        -0.5 * ((x - mean).powi(2) / var + var.ln() + LN_2PI)
    }

    #[test]
    fn the_gaussian_decoders_observation_models_by_hand() {
        let at = |o: &Observation| {
            let seen = Seen::new(&[o], 1, &Device::flex()).unwrap();
            (values(gaussian().observation_log_likelihood(&seen))[0], gaussian().means(&seen).into_data().try_to_vec::<f32>().unwrap(), seen)
        };
        // Missing: two pixels seen, 0.5 and 0; the rest keep μ.
        let seen: Vec<bool> = (0..PIXELS).map(|i| i < 2).collect();
        let mut pixels = vec![0.9; PIXELS];
        pixels[..2].copy_from_slice(&[0.5, 0.0]);
        let missing = Observation::Missing { pixels, seen };
        let (ll, means, s) = at(&missing);
        close(ll, normal(0.5, 0.25, 0.04) + normal(0.0, 0.25, 0.04), 1e-4);
        close(means[0] as f64, 0.5, 1e-6);
        close(means[2] as f64, 0.25, 1e-6);
        // The grid's matrix-product form gives the same sum.
        let masked = values(gaussian().masked_log_likelihood(s.fixed.clone(), s.y.clone()))[0];
        close(masked, ll, 1e-3);
        // Noise σ = 0.3 on y = 1: N(1; μ, σ_i² + 0.09) each; posterior mean (0.09 μ + 0.04 y) / 0.13.
        let (ll, means, _) = at(&Observation::Noisy { pixels: vec![1.0; PIXELS], sigma: 0.3 });
        close(ll, PIXELS as f64 * normal(1.0, 0.25, 0.13), 0.05);
        close(means[7] as f64, (0.09 * 0.25 + 0.04) / 0.13, 1e-5);
        // 7×7 of block means 0.5: each N(0.5; 0.25, 16 · 0.04 / 256 + 0.05²); a pixel moves by
        // (0.04 / 16) (0.5 − 0.25) / V.
        let v = 0.04 / 16.0 + 0.0025;
        let (ll, means, _) = at(&Observation::LowResolution { means: vec![0.5; 49], block: 4, floor: 0.05 });
        close(ll, 49.0 * normal(0.5, 0.25, v), 2e-3);
        close(means[0] as f64, 0.25 + 0.04 / 16.0 * 0.25 / v, 1e-5);
    }

    #[test]
    fn the_gaussian_pixel_posterior_is_exact_for_noise() {
        // Prior N(0.25, 0.04) times likelihood N(y = 1; x, 0.09): variance 0.04 · 0.09 / 0.13.
        let o = Observation::Noisy { pixels: vec![1.0; PIXELS], sigma: 0.3 };
        let seen = Seen::new(&[&o], 1, &Device::flex()).unwrap();
        let Pixels::Gaussian { mean, log_var } = gaussian() else { unreachable!() };
        let (_, var) = gaussian_posterior(&seen, mean, log_var);
        close(var.into_data().try_to_vec::<f32>().unwrap()[3] as f64, 0.04 * 0.09 / 0.13, 1e-6);
        // The truth's density under that posterior.
        let truth = t2(vec![0.5; PIXELS], 1);
        let means = gaussian().means(&seen);
        let ll = values(gaussian().truth_log_likelihood(&seen, truth, means))[0];
        close(ll, PIXELS as f64 * normal(0.5, (0.09 * 0.25 + 0.04) / 0.13, 0.04 * 0.09 / 0.13), 0.05);
    }
}
