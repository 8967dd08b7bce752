//! What p(x) is for: repairing a digit by conditional inference. A digit `x` is seen only through a
//! corruption `y` — pixels missing, pixels flipped, Gaussian noise, or a low-resolution copy — and
//! the trained generative model p_θ(x|z) p(z) says what the digit probably was: the posterior
//! p(z|y) ∝ p(y|z) p(z), then p(x|y) = ∫ p(x|z, y) p(z|y) dz.
//!
//! Each corruption is an observation model p(y|z) built from the decoder's own per-pixel
//! distribution (a Bernoulli decoder's pixels are independent given z), see [`Observation`]. Four
//! ways to infer, each returning a [`Repair`]:
//! 1. [`repair_on_grid`]: exact on a grid of the plane (latent dimension 2), with the grid decoded
//!    once per model state ([`RepairGrid`]) so that a new mask is a masked sum;
//! 2. [`importance_sampling`]: self-normalised importance sampling with q(z|x̃) as the proposal
//!    (Mattei & Frellsen, *MIWAE*, ICML 2019);
//! 3. [`metropolis_within_gibbs`]: Mattei & Frellsen, *Leveraging the exact likelihood of deep
//!    latent variable models*, NeurIPS 2018 — asymptotically exact;
//! 4. [`pseudo_gibbs`]: Rezende, Mohamed & Wierstra, *Stochastic backpropagation and approximate
//!    inference in deep generative models*, ICML 2014 — the classic baseline, exact only if q
//!    were the true posterior.
//!
//! The module's rooms: [`observation`] (the corruptions, and the observation models' shared
//! pieces), [`pixels`] (the decoder's pixels and what each p(y|z) makes of them: the likelihood,
//! the pixels' posterior given z), [`grid`] (the exact repair), [`sampling`] (importance sampling
//! and its proposals), [`chains`] (the two Markov chains); here, what a repair returns and how
//! draws are summarised into one.
//!
//! Every function reads back asynchronously (a handful of reads per repair; a chain reads once a
//! step) and draws its noise from a seeded host generator, so it runs alike on Flex and WebGPU.
//! Both decoders are supported, each corruption in its own terms (`Pixels`); flips, which are for
//! binary pixels, are refused under the Gaussian decoder.

mod chains;
mod grid;
mod observation;
mod pixels;
mod sampling;
#[cfg(test)]
mod test_support;

pub use chains::{metropolis_within_gibbs, pseudo_gibbs, run_chains, ChainOptions};
pub use grid::{repair_on_grid, RepairGrid};
pub use observation::{block_means, corrupt, preset_mask, Corruption, MaskPreset, Observation};
pub use sampling::{importance_sampling, ImportanceOptions, Proposal, COMPLETIONS, COMPLETION_STEPS};

use observation::*;
use pixels::*;

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::config::{DecoderKind, PIXELS};
use crate::error::{Result, VaeError};
use crate::eval::log_mean_exp;
use crate::loss::{log_normal, log_standard_normal};
use crate::model::{DecoderOutput, Vae};
use crate::posterior::{grid_points, log_sum_exp};
use crate::transfer::{read_values, standard_normal, tensor2, HostRng};

/// Pixels per side of a digit.
const SIDE: usize = 28;
/// Imputations (samples of the repaired digit) each repair returns.
pub const IMPUTATIONS: usize = 8;
/// Latent points decoded per batch.
const ROWS_PER_BATCH: usize = 2048;
/// Most importance samples, grid points per side, and chain steps one call may ask for.
pub const MAX_SAMPLES: usize = 100_000;
/// Largest grid side ([`RepairGrid::new`]): 256² × 784 floats is 200 MB per kept tensor.
pub const MAX_GRID_SIDE: usize = 256;
/// Probabilities are kept in [ε, 1 − ε] where their logarithm scores the true digit (a pixel
/// predicted with certainty and wrong would otherwise cost infinitely many nats).
pub const PROB_FLOOR: f64 = 1e-6;
/// The floor on the standard deviation of a low-resolution block mean (see
/// [`Observation::LowResolution`]).
pub const LOW_RES_FLOOR: f32 = 0.05;
const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// Grid points whose log joint is this far below the largest are left out of the repair (not of
/// log p(y) or the posterior's masses).
const NEGLIGIBLE_LOG_MASS: f32 = 30.0;
/// A method of inference (see the module's documentation); in the page `'grid'`,
/// `'importanceSampling'`, `'metropolisWithinGibbs'`, `'pseudoGibbs'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Method {
    /// [`repair_on_grid`].
    Grid,
    /// [`importance_sampling`].
    ImportanceSampling,
    /// [`metropolis_within_gibbs`].
    MetropolisWithinGibbs,
    /// [`pseudo_gibbs`].
    PseudoGibbs,
}

/// How well a repair fits the true digit, on the pixels [`Observation::hidden`] names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthScore {
    /// Pixels scored.
    pub pixels: usize,
    /// Mean squared error of the repaired digit (the single imputation, [`Repair::mean`]) over
    /// them (0 when none are scored).
    pub mse: f64,
    /// log p(x_h | y) in nats, summed over them: the true pixels' Bernoulli log-likelihood (grey
    /// levels as targets, as in training) under the method's mixture of E[x | z, y] over its
    /// posterior draws of z, `log Σ_s w_s p(x_h | z_s, y)` (the grid's masses, the importance
    /// weights, or 1/S over a chain's kept states).
    pub log_likelihood: f64,
}

/// A repaired digit.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repair {
    /// How it was inferred.
    pub method: Method,
    /// The repaired digit, E[x | y]: 784 values in [0, 1], row-major (seen pixels unchanged when
    /// pixels are missing).
    pub mean: Vec<f32>,
    /// [`IMPUTATIONS`] samples of the repaired digit, `[8, 784]` row-major: E[x | z_s, y] for z_s
    /// drawn from the method's posterior (resampled by weight, or a chain's states spread over its
    /// length), so they differ where the posterior is unsure; a Bernoulli draw of each pixel on
    /// top would only add speckle.
    pub imputations: Vec<f32>,
    /// Per pixel, the standard deviation of E[x_i | z, y] over the posterior p(z|y): how much the
    /// plausible repairs disagree there (0 on seen pixels). 784 values.
    pub std: Vec<f32>,
    /// log p(y) in nats: the grid's integral, or the log-mean of the importance weights; none for
    /// the chains.
    pub log_evidence: Option<f64>,
    /// The importance weights' effective sample size, (Σ w)² / Σ w².
    pub effective_sample_size: Option<f64>,
    /// Share of the chain's proposals accepted (1 for pseudo-Gibbs, which accepts them all).
    pub acceptance_rate: Option<f64>,
    /// The grid's posterior masses p(z|y), `side²` values in the order of [`RepairGrid::points`].
    pub posterior: Option<Vec<f32>>,
    /// The latent points behind the imputations, `[8, D]`, or a chain's kept states,
    /// `[chains × kept, D]` row-major (chain by chain).
    pub z: Vec<f32>,
    /// q(z|x̃)'s mean for the encoder's input x̃ ([`Observation::encoder_input`]): the encoder's
    /// guess beside the truth.
    pub q_mu: Vec<f32>,
    /// q(z|x̃)'s log-variance.
    pub q_log_var: Vec<f32>,
    /// Against the true digit, when it was given.
    pub truth: Option<TruthScore>,
}

fn check_truth(truth: Option<&[f32]>) -> Result<()> {
    truth.map_or(Ok(()), |t| check_pixels("true digit", t, false))
}

/// Mean squared error over the flagged pixels (0 when none is).
fn hidden_mse(mean: &[f32], truth: &[f32], hidden: &[bool]) -> (usize, f64) {
    let (n, sum) = mean.iter().zip(truth).zip(hidden).filter(|(_, &h)| h).fold((0, 0.0), |(n, s), ((&m, &t), _)| {
        (n + 1, s + ((m - t) as f64).powi(2))
    });
    (n, if n == 0 { 0.0 } else { sum / n as f64 })
}

/// The baseline that ignores y: the training set's mean image `mean_image` as the repair of every
/// digit, scored like a method's (its log-likelihood with the probabilities kept within
/// [`PROB_FLOOR`]).
pub fn mean_image_score(mean_image: &[f32], observation: &Observation, truth: &[f32]) -> Result<TruthScore> {
    check_pixels("mean image", mean_image, false)?;
    observation.validate()?;
    check_truth(Some(truth))?;
    let hidden = observation.hidden();
    let (pixels, mse) = hidden_mse(mean_image, truth, &hidden);
    let log_likelihood = mean_image
        .iter()
        .zip(truth)
        .zip(&hidden)
        .filter(|(_, &h)| h)
        .map(|((&m, &t), _)| {
            let q = (m as f64).clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
            t as f64 * q.ln() + (1.0 - t as f64) * (1.0 - q).ln()
        })
        .sum();
    Ok(TruthScore { pixels, mse, log_likelihood })
}

/// The repaired digit as a weighted set of decoded points: E[x | z_s, y] for each point, or, when
/// pixels are missing, the decoder's p with the seen pixels put back (so that a mask on a kept
/// grid costs matrix products, not a new `[G, 784]` tensor).
enum PixelMeans {
    Dense(Tensor<2>),
    Masked { p: Tensor<2>, fixed: Tensor<2>, y: Tensor<2> },
}

impl PixelMeans {
    /// `w [r, N]` (rows summing to 1) → `(w · E[x|z,y] [r, 784], first row of w · E[x|z,y]² [1, 784])`.
    fn weighted(&self, w: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let first = w.clone().slice(0..1);
        match self {
            Self::Dense(means) => (w.matmul(means.clone()), first.matmul(means.clone().square())),
            Self::Masked { p, fixed, y } => {
                let free = fixed.clone().neg().add_scalar(1.0);
                let seen = fixed.clone() * y.clone();
                (
                    seen.clone() + free.clone() * w.matmul(p.clone()),
                    seen * y.clone() + free * first.matmul(p.clone().square()),
                )
            }
        }
    }
}

/// What the weighted methods (the grid, importance sampling) share once the log weights are on the
/// host: the mean, the spread, [`IMPUTATIONS`] draws resampled by weight, and the truth's score.
struct Weighted {
    mean: Vec<f32>,
    std: Vec<f32>,
    imputations: Vec<f32>,
    picks: Vec<usize>,
    effective_sample_size: f64,
    truth: Option<TruthScore>,
}

/// The first index at which the running sum of `weights` passes `u`.
pub(super) fn pick_by_weight(weights: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    weights.iter().position(|&w| { acc += w; acc > u }).unwrap_or(weights.len() - 1)
}

async fn summarise(
    log_w: &[f32],
    means: PixelMeans,
    truth_log_likelihood: Option<Tensor<1>>,
    truth: Option<(&[f32], Vec<bool>)>,
    rng: &mut HostRng,
    device: &Device,
) -> Result<Weighted> {
    let n = log_w.len();
    let total = log_sum_exp(log_w);
    if !total.is_finite() {
        return Err(VaeError::Argument("every latent point gives this observation zero probability".into()));
    }
    let w: Vec<f64> = log_w.iter().map(|&v| (v as f64 - total).exp()).collect();
    let effective_sample_size = 1.0 / w.iter().map(|w| w * w).sum::<f64>();
    let picks: Vec<usize> = (0..IMPUTATIONS).map(|_| pick_by_weight(&w, rng.random())).collect();
    let mut rows = w.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    for &pick in &picks {
        rows.extend((0..n).map(|i| (i == pick) as u8 as f32));
    }
    let (weighted, square) = means.weighted(tensor2(rows, 1 + IMPUTATIONS, n, device));
    let mut parts = vec![weighted.reshape([(1 + IMPUTATIONS) * PIXELS]), square.reshape([PIXELS])];
    if let Some(t) = truth_log_likelihood {
        parts.push(t);
    }
    let values = read_values(Tensor::cat(parts, 0)).await?;
    let mean = values[..PIXELS].to_vec();
    let imputations = values[PIXELS..(1 + IMPUTATIONS) * PIXELS].to_vec();
    let square = &values[(1 + IMPUTATIONS) * PIXELS..(2 + IMPUTATIONS) * PIXELS];
    let std = mean.iter().zip(square).map(|(m, s)| (s - m * m).max(0.0).sqrt()).collect();
    let truth = truth.map(|(t, hidden)| {
        let per_point = &values[(2 + IMPUTATIONS) * PIXELS..];
        let mixture: Vec<f32> = per_point.iter().zip(log_w).map(|(&l, &lw)| l + lw).collect();
        let (pixels, mse) = hidden_mse(&mean, t, &hidden);
        TruthScore { pixels, mse, log_likelihood: log_sum_exp(&mixture) - total }
    });
    Ok(Weighted { mean, std, imputations, picks, effective_sample_size, truth })
}
