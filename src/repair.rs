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
//! Every function reads back asynchronously (a handful of reads per repair; a chain reads once a
//! step) and draws its noise from a seeded host generator, so it runs alike on Flex and WebGPU.
//! Only the Bernoulli decoder is supported; a model with a Gaussian decoder is refused.

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::config::PIXELS;
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

/// A corrupted digit: what was seen of it, and how. The observation model p(y|z) of each variant is
/// built from the Bernoulli decoder's pixel probabilities p_i = σ(ℓ_i(z)), pixels independent given
/// z, with grey-level values used as targets the way the model's own cross-entropy uses them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Observation {
    /// Some pixels seen as they are, the rest hidden: `pixels` (784 grey levels in [0, 1]; hidden
    /// ones are ignored) and `seen` (784 flags). p(y|z) = Π_{i seen} p_i^{y_i} (1 − p_i)^{1 − y_i},
    /// the decoder's likelihood over the observed pixels only (Mattei & Frellsen 2019, eq. 2).
    /// Every pixel hidden is allowed: the repair is then the prior's.
    Missing { pixels: Vec<f32>, seen: Vec<bool> },
    /// Every pixel seen, each flipped (x → 1 − x) with probability `rate` in (0, ½). With a binary
    /// x, p(y_i|z) = p_i L₁(y_i) + (1 − p_i) L₀(y_i), with L₁(y) = (1 − ε)^y ε^{1−y} and
    /// L₀(y) = ε^y (1 − ε)^{1−y}: for y_i ∈ {0, 1} that is (1 − ε) p_i + ε (1 − p_i) when
    /// y_i = 1 (and its complement when 0); grey levels enter as exponents, as in a cross-entropy.
    Flipped { pixels: Vec<f32>, rate: f32 },
    /// Every pixel seen with additive Gaussian noise of standard deviation `sigma`:
    /// p(y_i|z) = p_i N(y_i; 1, σ²) + (1 − p_i) N(y_i; 0, σ²) (a binary x under the Bernoulli
    /// decoder).
    Noisy { pixels: Vec<f32>, sigma: f32 },
    /// Only the means of `block` × `block` blocks seen (`block` 4: a 7×7 image; 2: 14×14), row-major,
    /// `(28 / block)²` values. The exact p(y|z) of a mean of n = block² independent Bernoulli
    /// pixels is a scaled Poisson-binomial, a lattice distribution that grey-level means fall
    /// between; instead each block mean is Gaussian (the central limit theorem):
    /// `y_k ~ N(Σ_{i∈k} p_i / n, Σ_{i∈k} p_i (1 − p_i) / n² + floor²)`. The floor (default
    /// [`LOW_RES_FLOOR`]) stands for what the Bernoulli picture leaves out, grey levels and blur,
    /// and keeps a block the decoder is sure of from having a likelihood of infinite height.
    LowResolution { means: Vec<f32>, block: usize, floor: f32 },
}

/// Which pixels of a digit stay visible: presets for [`Observation::Missing`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum MaskPreset {
    /// The top 14 rows hidden.
    TopHalf,
    /// The bottom 14 rows hidden.
    BottomHalf,
    /// The left 14 columns hidden.
    LeftHalf,
    /// The right 14 columns hidden.
    RightHalf,
    /// The centred 14 × 14 square hidden.
    CentreSquare,
    /// Each pixel hidden with probability `fraction` (0.5, 0.8, 0.9 in the page), from `seed`.
    Random { fraction: f64, seed: u64 },
}

/// The 784 `seen` flags of a preset (true: the pixel is observed).
pub fn preset_mask(preset: MaskPreset) -> Result<Vec<bool>> {
    let at = |f: &dyn Fn(usize, usize) -> bool| -> Vec<bool> { (0..PIXELS).map(|i| !f(i / SIDE, i % SIDE)).collect() };
    Ok(match preset {
        MaskPreset::TopHalf => at(&|r, _| r < SIDE / 2),
        MaskPreset::BottomHalf => at(&|r, _| r >= SIDE / 2),
        MaskPreset::LeftHalf => at(&|_, c| c < SIDE / 2),
        MaskPreset::RightHalf => at(&|_, c| c >= SIDE / 2),
        MaskPreset::CentreSquare => at(&|r, c| (7..21).contains(&r) && (7..21).contains(&c)),
        MaskPreset::Random { fraction, seed } => {
            if !(0.0..=1.0).contains(&fraction) {
                return Err(VaeError::Argument(format!("the hidden fraction must be 0 to 1, got {fraction}")));
            }
            let mut rng = HostRng::seed_from_u64(seed);
            (0..PIXELS).map(|_| rng.random::<f64>() >= fraction).collect()
        }
    })
}

/// How to corrupt a clean digit ([`corrupt`]): what the benchmark and the page's presets do. As a
/// plain object in the page: `{ kind: 'missing', seen: boolean[784] }`, `{ kind: 'flip', rate }`,
/// `{ kind: 'noise', sigma }`, `{ kind: 'lowResolution', block }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Corruption {
    /// Hide the pixels whose flag is false.
    Missing { seen: Vec<bool> },
    /// Flip each pixel (x → 1 − x) with probability `rate`.
    Flip { rate: f32 },
    /// Add N(0, σ²) to each pixel.
    Noise { sigma: f32 },
    /// Keep only the `block` × `block` block means.
    LowResolution { block: usize },
}

/// The observation a corruption makes of the clean digit `image` (784 grey levels), its noise drawn
/// from `seed`.
pub fn corrupt(image: &[f32], corruption: &Corruption, seed: u64) -> Result<Observation> {
    check_pixels("image", image, false)?;
    let mut rng = HostRng::seed_from_u64(seed);
    let observation = match corruption {
        Corruption::Missing { seen } => Observation::Missing {
            pixels: image.iter().zip(seen).map(|(&v, &s)| if s { v } else { 0.0 }).collect(),
            seen: seen.clone(),
        },
        &Corruption::Flip { rate } => Observation::Flipped {
            pixels: image.iter().map(|&v| if rng.random::<f32>() < rate { 1.0 - v } else { v }).collect(),
            rate,
        },
        &Corruption::Noise { sigma } => {
            let noise = standard_normal(&mut rng, PIXELS);
            Observation::Noisy { pixels: image.iter().zip(noise).map(|(&v, n)| v + sigma * n).collect(), sigma }
        }
        &Corruption::LowResolution { block } => {
            check_block(block)?;
            Observation::LowResolution { means: block_means(image, block), block, floor: LOW_RES_FLOOR }
        }
    };
    observation.validate()?;
    Ok(observation)
}

/// The means of the `block` × `block` blocks of a 28 × 28 image, row-major.
pub fn block_means(image: &[f32], block: usize) -> Vec<f32> {
    let s = SIDE / block;
    let mut means = vec![0.0; s * s];
    for (i, &v) in image.iter().enumerate() {
        means[(i / SIDE / block) * s + (i % SIDE) / block] += v / (block * block) as f32;
    }
    means
}

fn check_block(block: usize) -> Result<()> {
    if block < 2 || SIDE % block != 0 {
        return Err(VaeError::Argument(format!("a low-resolution block must be 2, 4, 7 or 14 pixels wide, got {block}")));
    }
    Ok(())
}

fn check_pixels(what: &'static str, values: &[f32], any_real: bool) -> Result<()> {
    if values.is_empty() {
        return Err(VaeError::Argument(format!("{what}: the observation is empty (no pixel values were given)")));
    }
    if values.len() != PIXELS {
        return Err(VaeError::Shape { what, rows: 1, cols: PIXELS, expected: PIXELS, found: values.len() });
    }
    if let Some(v) = values.iter().find(|v| !v.is_finite() || (!any_real && !(0.0..=1.0).contains(*v))) {
        let range = if any_real { "finite" } else { "grey levels in [0, 1]" };
        return Err(VaeError::Argument(format!("{what}: values must be {range}, found {v}")));
    }
    Ok(())
}

impl Observation {
    /// Checks sizes and values; every method calls it before touching the model.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Missing { pixels, seen } => {
                check_pixels("pixels", pixels, false)?;
                if seen.len() != PIXELS {
                    return Err(VaeError::Shape { what: "mask", rows: 1, cols: PIXELS, expected: PIXELS, found: seen.len() });
                }
            }
            Self::Flipped { pixels, rate } => {
                check_pixels("pixels", pixels, false)?;
                if !(*rate > 0.0 && *rate < 0.5) {
                    return Err(VaeError::Argument(format!("the flip rate must be above 0 and below 0.5, got {rate}")));
                }
            }
            Self::Noisy { pixels, sigma } => {
                check_pixels("pixels", pixels, true)?;
                if !(0.001..=10.0).contains(sigma) {
                    return Err(VaeError::Argument(format!("the noise's σ must be 0.001 to 10, got {sigma}")));
                }
            }
            Self::LowResolution { means, block, floor } => {
                check_block(*block)?;
                let n = (SIDE / block).pow(2);
                if means.is_empty() {
                    return Err(VaeError::Argument("means: the observation is empty (no block means were given)".into()));
                }
                if means.len() != n {
                    return Err(VaeError::Shape { what: "block means", rows: 1, cols: n, expected: n, found: means.len() });
                }
                if let Some(v) = means.iter().find(|v| !v.is_finite() || !(0.0..=1.0).contains(*v)) {
                    return Err(VaeError::Argument(format!("block means must be grey levels in [0, 1], found {v}")));
                }
                if !(0.001..=1.0).contains(floor) {
                    return Err(VaeError::Argument(format!("the block mean's σ floor must be 0.001 to 1, got {floor}")));
                }
            }
        }
        Ok(())
    }

    /// The pixels whose repair is scored against the truth: the hidden ones when pixels are missing;
    /// every pixel otherwise (no pixel's clean value is known for sure).
    pub fn hidden(&self) -> Vec<bool> {
        match self {
            Self::Missing { seen, .. } => seen.iter().map(|s| !s).collect(),
            _ => vec![true; PIXELS],
        }
    }

    /// The image x̃ the encoder is shown: the missing pixels zero-filled (as MIWAE does), the flipped
    /// image itself, the noisy one clipped to [0, 1], or each block mean spread over its block.
    pub fn encoder_input(&self) -> Vec<f32> {
        match self {
            Self::Missing { pixels, seen } => pixels.iter().zip(seen).map(|(&v, &s)| if s { v } else { 0.0 }).collect(),
            Self::Flipped { pixels, .. } => pixels.clone(),
            Self::Noisy { pixels, .. } => pixels.iter().map(|v| v.clamp(0.0, 1.0)).collect(),
            Self::LowResolution { means, block, .. } => {
                let s = SIDE / block;
                (0..PIXELS).map(|i| means[(i / SIDE / block) * s + (i % SIDE) / block]).collect()
            }
        }
    }

    /// The observed values: 784 pixels, or the block means.
    fn values(&self) -> &[f32] {
        match self {
            Self::Missing { pixels, .. } | Self::Flipped { pixels, .. } | Self::Noisy { pixels, .. } => pixels,
            Self::LowResolution { means, .. } => means,
        }
    }

    fn kind(&self) -> Kind {
        match *self {
            Self::Missing { .. } => Kind::Missing,
            Self::Flipped { rate, .. } => Kind::Flipped { rate },
            Self::Noisy { sigma, .. } => Kind::Noisy { sigma },
            Self::LowResolution { block, floor, .. } => Kind::LowResolution { block, floor },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Missing,
    Flipped { rate: f32 },
    Noisy { sigma: f32 },
    LowResolution { block: usize, floor: f32 },
}

/// A batch of observations of one kind on the device, one row each (or one row for all).
struct Seen {
    kind: Kind,
    /// The observed values `[R, 784]` (block means: `[R, (28/block)²]`).
    y: Tensor<2>,
    /// 1 where a pixel is seen exactly (missing pixels' observed ones), else 0. `[R, 784]`.
    fixed: Tensor<2>,
    /// 1 where a pixel is scored against the truth. `[R, 784]`.
    hidden: Tensor<2>,
}

impl Seen {
    /// `observations[r / repeat]` on row r.
    fn new(observations: &[&Observation], repeat: usize, device: &Device) -> Result<Self> {
        let kind = observations.first().ok_or_else(|| VaeError::Argument("no observation was given".into()))?.kind();
        if observations.iter().any(|o| o.kind() != kind) {
            return Err(VaeError::Argument("a batch of observations must all be of one kind, with the same parameters".into()));
        }
        let rows = observations.len() * repeat;
        let width = observations[0].values().len();
        let flat = |f: &dyn Fn(&Observation) -> Vec<f32>| -> Vec<f32> {
            observations.iter().flat_map(|o| { let v = f(o); (0..repeat).flat_map(move |_| v.clone()) }).collect()
        };
        let flags = |v: Vec<bool>| v.into_iter().map(|b| b as u8 as f32).collect::<Vec<f32>>();
        Ok(Self {
            kind,
            y: tensor2(flat(&|o| o.values().to_vec()), rows, width, device),
            fixed: tensor2(flat(&|o| match o { Observation::Missing { seen, .. } => flags(seen.clone()), _ => vec![0.0; PIXELS] }), rows, PIXELS, device),
            hidden: tensor2(flat(&|o| flags(o.hidden())), rows, PIXELS, device),
        })
    }
}

fn row_sum(x: Tensor<2>) -> Tensor<1> {
    x.sum_dim(1).squeeze_dim::<1>(1)
}

/// `log(e^a + e^b)`, elementwise and stable.
fn log_add_exp(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let d = a.clone() - b.clone();
    let max = (a + b + d.clone().abs()).mul_scalar(0.5);
    max + d.abs().neg().exp().log1p()
}

/// log p_i and log (1 − p_i) of Bernoulli logits ℓ, stably: log(1 − p) = −softplus(ℓ).
fn log_probabilities(logits: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let softplus = logits.clone().clamp_min(0.0) + logits.clone().abs().neg().exp().log1p();
    (logits - softplus.clone(), softplus.neg())
}

/// The decoder's pixel probabilities as logs, `[N, 784]` each; a Gaussian decoder is refused.
fn decoded(model: &Vae, z: Tensor<2>) -> Result<(Tensor<2>, Tensor<2>)> {
    let n = z.dims()[0];
    let mut log_p = Vec::new();
    let mut log_1mp = Vec::new();
    for start in (0..n).step_by(ROWS_PER_BATCH) {
        let end = (start + ROWS_PER_BATCH).min(n);
        match model.decode(z.clone().slice(start..end)) {
            DecoderOutput::Bernoulli { logits } => {
                let (a, b) = log_probabilities(logits);
                log_p.push(a);
                log_1mp.push(b);
            }
            DecoderOutput::Gaussian { .. } => return Err(gaussian_refused()),
        }
    }
    Ok((Tensor::cat(log_p, 0), Tensor::cat(log_1mp, 0)))
}

fn gaussian_refused() -> VaeError {
    VaeError::Argument("repairing a digit is implemented for the Bernoulli decoder; this model's decoder is Gaussian".into())
}

/// For flips and noise, a pixel's two branches: log p_i + log p(y_i | x_i = 1) and
/// log (1 − p_i) + log p(y_i | x_i = 0). `y` is `[R, 784]` with R = 1 or N.
fn branches(kind: Kind, y: Tensor<2>, log_p: Tensor<2>, log_1mp: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let (one, zero) = match kind {
        Kind::Flipped { rate } => {
            let (keep, flip) = ((1.0 - rate as f64).ln(), (rate as f64).ln());
            // L₁(y) = y ln(1 − ε) + (1 − y) ln ε, L₀(y) = y ln ε + (1 − y) ln(1 − ε).
            (y.clone().mul_scalar(keep - flip).add_scalar(flip), y.mul_scalar(flip - keep).add_scalar(keep))
        }
        Kind::Noisy { sigma } => {
            let v = (sigma as f64).powi(2);
            let norm = -0.5 * (LN_2PI + v.ln());
            (y.clone().sub_scalar(1.0).square().mul_scalar(-0.5 / v).add_scalar(norm), y.square().mul_scalar(-0.5 / v).add_scalar(norm))
        }
        _ => unreachable!("only flips and noise have per-pixel branches"),
    };
    (log_p + one, log_1mp + zero)
}

/// Sums over each `block` × `block` block: `[N, 784]` → `[N, (28/block)²]`.
fn block_sum(x: Tensor<2>, block: usize) -> Tensor<2> {
    let (n, s) = (x.dims()[0], SIDE / block);
    x.reshape([n, s, block, s, block]).sum_dim(4).sum_dim(2).reshape([n, s * s])
}

/// Each block's value on each of its pixels: `[N, (28/block)²]` → `[N, 784]`.
fn spread_blocks(x: Tensor<2>, block: usize) -> Tensor<2> {
    let (n, s) = (x.dims()[0], SIDE / block);
    x.reshape([n, s, 1, s, 1]).repeat_dim(2, block).repeat_dim(4, block).reshape([n, PIXELS])
}

/// The Gaussian on each block mean of [`Observation::LowResolution`]: `(mean, variance)`, each
/// `[N, (28/block)²]`.
fn block_moments(p: Tensor<2>, block: usize, floor: f32) -> (Tensor<2>, Tensor<2>) {
    let n = (block * block) as f64;
    let var = block_sum(p.clone() - p.clone().square(), block).div_scalar(n * n).add_scalar((floor as f64).powi(2));
    (block_sum(p, block).div_scalar(n), var)
}

/// log p(y|z) of observations `seen` (one row, or one per z) at the decoded points: `[N]`.
fn observation_log_likelihood(seen: &Seen, log_p: Tensor<2>, log_1mp: Tensor<2>) -> Tensor<1> {
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

/// E[x_i | z, y] at the decoded points, `[N, 784]` in [0, 1]: the repaired digit under one z.
///
/// Missing pixels: the seen value where seen, p_i elsewhere. Flips and noise: the pixel's own
/// posterior, σ(a − b) of its two [`branches`]. Low resolution: each pixel's posterior given its
/// block mean with the block's other pixels taken at their Gaussian moments (a mean-field
/// approximation, the same Gaussian as the likelihood):
/// `σ(ℓ_i + (d/n − 1/(2n²)) / V₋ᵢ)`, with d = y_k − S₋ᵢ/n, S₋ᵢ = Σ_{j≠i} p_j and
/// V₋ᵢ = Σ_{j≠i} p_j(1 − p_j)/n² + floor².
fn pixel_means(seen: &Seen, log_p: Tensor<2>, log_1mp: Tensor<2>) -> Tensor<2> {
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

/// log p(x_h | z, y) of the true digit's scored pixels, `[N]`: a Bernoulli cross-entropy against
/// [`pixel_means`] (for missing pixels, the decoder's own p_i, exactly; otherwise kept within
/// [`PROB_FLOOR`]).
fn truth_log_likelihood(seen: &Seen, truth: Tensor<2>, log_p: Tensor<2>, log_1mp: Tensor<2>, means: Tensor<2>) -> Tensor<1> {
    let (log_q, log_1mq) = match seen.kind {
        Kind::Missing => (log_p, log_1mp),
        _ => {
            let q = means.clamp(PROB_FLOOR, 1.0 - PROB_FLOOR);
            (q.clone().log(), q.neg().add_scalar(1.0).log())
        }
    };
    row_sum(seen.hidden.clone() * (truth.clone() * log_q + truth.neg().add_scalar(1.0) * log_1mq))
}

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
    let picks: Vec<usize> = (0..IMPUTATIONS)
        .map(|_| {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            w.iter().position(|&wi| { acc += wi; acc > u }).unwrap_or(n - 1)
        })
        .collect();
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

/// The decoder's output on a grid of the plane, kept (per model state) so that each repair is a
/// few matrix products: for missing pixels, log p(y|z) = log p · (m ⊙ y) + log(1 − p) · (m ⊙ (1 − y))
/// over the G points at once.
///
/// Holds three `[G, 784]` tensors (log p, log(1 − p), p): 87 MB at side 96, 154 MB at 128.
pub struct RepairGrid {
    side: usize,
    half_width: f64,
    points: Vec<f32>,
    log_prior: Tensor<1>,
    log_p: Tensor<2>,
    log_1mp: Tensor<2>,
    p: Tensor<2>,
    device: Device,
}

impl RepairGrid {
    /// Decodes the `side × side` cell centres of `[−half_width, half_width]²` (a model with a 2-D
    /// latent space and a Bernoulli decoder only).
    pub fn new(model: &Vae, side: usize, half_width: f64, device: &Device) -> Result<Self> {
        if model.latent_dim() != 2 {
            return Err(VaeError::Argument(format!("the exact repair needs a 2-D latent space, not {}", model.latent_dim())));
        }
        if !(2..=MAX_GRID_SIDE).contains(&side) {
            return Err(VaeError::Argument(format!("the grid's side must be 2 to {MAX_GRID_SIDE} points, got {side}")));
        }
        if !(half_width > 0.0 && half_width <= 20.0) {
            return Err(VaeError::Argument(format!("the grid's half width must be above 0 and at most 20, got {half_width}")));
        }
        let points = grid_points(side, (-half_width, half_width), (-half_width, half_width));
        let z = tensor2(points.clone(), side * side, 2, device);
        let (log_p, log_1mp) = decoded(model, z.clone())?;
        Ok(Self {
            side,
            half_width,
            log_prior: log_standard_normal(z),
            p: log_p.clone().exp(),
            log_p,
            log_1mp,
            points,
            device: device.clone(),
        })
    }

    /// The grid's points, `[side², 2]` row-major (see [`grid_points`]).
    pub fn points(&self) -> &[f32] {
        &self.points
    }

    /// Points per side.
    pub fn side(&self) -> usize {
        self.side
    }

    /// The area of one cell, `(2 · half_width / side)²`.
    pub fn cell_area(&self) -> f64 {
        (2.0 * self.half_width / self.side as f64).powi(2)
    }
}

/// Encodes the observation's x̃ (host values) → `(μ, log σ²)` `[1, D]` each.
fn encode_input(model: &Vae, observation: &Observation, device: &Device) -> (Tensor<2>, Tensor<2>) {
    model.encode(tensor2(observation.encoder_input(), 1, PIXELS, device))
}

/// The exact repair on a grid (latent dimension 2): p(z|y) ∝ p(y|z) p(z) normalised over the
/// grid's points, log p(y) = log Σ_g p(y|z_g) p(z_g) + log(cell area) (a Riemann sum), the
/// repaired digit Σ_g p(z_g|y) E[x | z_g, y], imputations from points drawn by their mass (points
/// below e^−30 of the largest left out). Two reads.
pub async fn repair_on_grid(model: &Vae, grid: &RepairGrid, observation: &Observation, truth: Option<&[f32]>, seed: u64) -> Result<Repair> {
    observation.validate()?;
    check_truth(truth)?;
    let device = &grid.device;
    let seen = Seen::new(&[observation], 1, device)?;
    let log_likelihood = match seen.kind {
        Kind::Missing => {
            let (fixed, y) = (seen.fixed.clone(), seen.y.clone());
            let one = (fixed.clone() * y.clone()).transpose();
            let zero = (fixed * y.neg().add_scalar(1.0)).transpose();
            row_sum(grid.log_p.clone().matmul(one) + grid.log_1mp.clone().matmul(zero))
        }
        _ => observation_log_likelihood(&seen, grid.log_p.clone(), grid.log_1mp.clone()),
    };
    let log_joint = log_likelihood + grid.log_prior.clone();
    let (mu, log_var) = encode_input(model, observation, device);
    let g = grid.side * grid.side;
    let first = read_values(Tensor::cat(vec![log_joint, mu.reshape([2]), log_var.reshape([2])], 0)).await?;
    let log_joint = &first[..g];
    // Only the points that hold any mass go on: below e^−30 of the largest, the G points together
    // hold less than 1e-8 of it.
    let max = log_joint.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let kept: Vec<usize> = (0..g).filter(|&i| log_joint[i] >= max - NEGLIGIBLE_LOG_MASS).collect();
    let rows = Tensor::<1, Int>::from_data(TensorData::new(kept.iter().map(|&i| i as i64).collect::<Vec<i64>>(), [kept.len()]), device);
    let (log_p, log_1mp) = (grid.log_p.clone().select(0, rows.clone()), grid.log_1mp.clone().select(0, rows.clone()));
    let means = match seen.kind {
        Kind::Missing => PixelMeans::Masked { p: grid.p.clone().select(0, rows), fixed: seen.fixed.clone(), y: seen.y.clone() },
        _ => PixelMeans::Dense(pixel_means(&seen, log_p.clone(), log_1mp.clone())),
    };
    let truth_ll = truth.map(|t| {
        let t = tensor2(t.to_vec(), 1, PIXELS, device);
        match &means {
            PixelMeans::Masked { .. } => truth_log_likelihood(&seen, t, log_p.clone(), log_1mp.clone(), log_p.clone()),
            PixelMeans::Dense(m) => truth_log_likelihood(&seen, t, log_p.clone(), log_1mp.clone(), m.clone()),
        }
    });
    let mut rng = HostRng::seed_from_u64(seed);
    let kept_log_joint: Vec<f32> = kept.iter().map(|&i| log_joint[i]).collect();
    let summary = summarise(&kept_log_joint, means, truth_ll, truth.map(|t| (t, observation.hidden())), &mut rng, device).await?;
    let total = log_sum_exp(log_joint);
    Ok(Repair {
        method: Method::Grid,
        log_evidence: Some(total + grid.cell_area().ln()),
        effective_sample_size: None,
        acceptance_rate: None,
        posterior: Some(log_joint.iter().map(|&v| (v as f64 - total).exp() as f32).collect()),
        z: summary.picks.iter().flat_map(|&i| grid.points[2 * kept[i]..2 * kept[i] + 2].to_vec()).collect(),
        q_mu: first[g..g + 2].to_vec(),
        q_log_var: first[g + 2..].to_vec(),
        mean: summary.mean,
        imputations: summary.imputations,
        std: summary.std,
        truth: summary.truth,
    })
}

/// Where importance sampling draws z from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Proposal {
    /// q(z|x̃), the encoder's guess for the observation as it is (missing pixels zero-filled):
    /// MIWAE's. With an encoder trained on whole digits it can miss p(z|y) badly (a half-blank
    /// digit is not a digit it has seen), and the weights then degenerate.
    Encoder,
    /// Two stages. First [`COMPLETIONS`] short pseudo-Gibbs chains ([`COMPLETION_STEPS`] steps
    /// from x̃, on the device, nothing read back) complete the digit in as many plausible ways
    /// x̂_c; then every draw comes from the defensive mixture ½ q(z|x̃) + ½ (1/C) Σ_c q'(z|x̂_c),
    /// q' being q(z|x̂_c) with its volume four times larger (σ scaled by 4^{1/D}, since q for a
    /// whole digit is narrower than a posterior given part of one), weighted against the
    /// mixture's density (Hesterberg's defensive importance sampling). The chains only place the
    /// proposal: the weights keep the estimate exact as K grows, where pseudo-Gibbs alone is not.
    Refined,
}

/// Completions of the digit that place the refined proposal ([`Proposal::Refined`]).
pub const COMPLETIONS: usize = 16;
/// Pseudo-Gibbs steps of each completion.
pub const COMPLETION_STEPS: usize = 20;

/// How [`importance_sampling`] samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportanceOptions {
    /// K, the draws of z.
    pub samples: usize,
    /// Where they come from.
    pub proposal: Proposal,
}

impl Default for ImportanceOptions {
    fn default() -> Self {
        Self { samples: 1000, proposal: Proposal::Refined }
    }
}

/// log p(y|z) p(z) and the decoded probabilities of `z` (`[n, D]`).
fn joint(model: &Vae, seen: &Seen, z: Tensor<2>) -> Result<(Tensor<1>, Tensor<2>, Tensor<2>)> {
    let (log_p, log_1mp) = decoded(model, z.clone())?;
    Ok((observation_log_likelihood(seen, log_p.clone(), log_1mp.clone()) + log_standard_normal(z), log_p, log_1mp))
}

/// Self-normalised importance sampling (Mattei & Frellsen, *MIWAE*, ICML 2019, section 4): K
/// draws z_l from a proposal r(z) built on the encoder (see [`Proposal`]), weights
/// w_l = p(y|z_l) p(z_l) / r(z_l); log p(y) ≈ log (1/K) Σ w_l (a lower bound in expectation); the
/// repaired digit Σ w̄_l E[x | z_l, y] (their eq. 12), multiple imputations by resampling z in
/// proportion to w; the effective sample size (Σ w)² / Σ w². Noise from `seed`; two reads.
pub async fn importance_sampling(
    model: &Vae,
    observation: &Observation,
    options: &ImportanceOptions,
    truth: Option<&[f32]>,
    seed: u64,
    device: &Device,
) -> Result<Repair> {
    observation.validate()?;
    check_truth(truth)?;
    let n = options.samples;
    if !(1..=MAX_SAMPLES).contains(&n) {
        return Err(VaeError::Argument(format!("importance samples must be 1 to {MAX_SAMPLES}, got {n}")));
    }
    let d = model.latent_dim();
    let seen = Seen::new(&[observation], 1, device)?;
    let (mu, log_var) = encode_input(model, observation, device);
    let mut rng = HostRng::seed_from_u64(seed);
    let noise = |n: usize, rng: &mut HostRng| tensor2(standard_normal(rng, n * d), n, d, device);
    let (z, log_proposal) = match options.proposal {
        Proposal::Encoder => {
            let z = Vae::reparameterize(mu.clone(), log_var.clone(), noise(n, &mut rng));
            let log_q = log_normal(z.clone(), mu.clone(), log_var.clone());
            (z, log_q)
        }
        Proposal::Refined => {
            let completed = complete_by_pseudo_gibbs(model, observation, &mut rng, device)?;
            let (mu_c, log_var_c) = model.encode(completed);
            let log_var_c = log_var_c.add_scalar(2.0 * 4f64.ln() / d as f64);
            // The components: q(z|x̃) (index C, half the draws) and the C widened q(z|x̂_c).
            let components_mu = Tensor::cat(vec![mu_c, mu.clone()], 0);
            let components_log_var = Tensor::cat(vec![log_var_c, log_var.clone()], 0);
            let pick: Vec<f32> = (0..n)
                .flat_map(|_| {
                    let c = if rng.random::<f64>() < 0.5 { COMPLETIONS } else { rng.random_range(0..COMPLETIONS) };
                    (0..=COMPLETIONS).map(move |j| (j == c) as u8 as f32)
                })
                .collect();
            let pick = tensor2(pick, n, COMPLETIONS + 1, device);
            let z = Vae::reparameterize(pick.clone().matmul(components_mu.clone()), pick.matmul(components_log_var.clone()), noise(n, &mut rng));
            // log r(z) = log [½ q(z|x̃) + ½ (1/C) Σ_c q'(z|x̂_c)].
            let log_weight = |c: usize| if c == COMPLETIONS { 0.5f64.ln() } else { (0.5 / COMPLETIONS as f64).ln() };
            let columns: Vec<Tensor<2>> = (0..=COMPLETIONS)
                .map(|c| {
                    let (m, v) = (components_mu.clone().slice(c..c + 1), components_log_var.clone().slice(c..c + 1));
                    log_normal(z.clone(), m, v).add_scalar(log_weight(c)).reshape([n, 1])
                })
                .collect();
            (z, log_sum_exp_rows(Tensor::cat(columns, 1)))
        }
    };
    let (log_joint, log_p, log_1mp) = joint(model, &seen, z.clone())?;
    let log_w = log_joint - log_proposal;
    let first = read_values(Tensor::cat(vec![log_w, mu.reshape([d]), log_var.reshape([d]), z.reshape([n * d])], 0)).await?;
    let (log_w, q_mu, q_log_var, z) = (&first[..n], first[n..n + d].to_vec(), first[n + d..n + 2 * d].to_vec(), &first[n + 2 * d..]);
    let means = pixel_means(&seen, log_p.clone(), log_1mp.clone());
    let truth_ll = truth.map(|t| truth_log_likelihood(&seen, tensor2(t.to_vec(), 1, PIXELS, device), log_p, log_1mp, means.clone()));
    let summary = summarise(log_w, PixelMeans::Dense(means), truth_ll, truth.map(|t| (t, observation.hidden())), &mut rng, device).await?;
    Ok(Repair {
        method: Method::ImportanceSampling,
        log_evidence: Some(log_sum_exp(log_w) - (n as f64).ln()),
        effective_sample_size: Some(summary.effective_sample_size),
        acceptance_rate: None,
        posterior: None,
        z: summary.picks.iter().flat_map(|&i| z[i * d..(i + 1) * d].to_vec()).collect(),
        q_mu,
        q_log_var,
        mean: summary.mean,
        imputations: summary.imputations,
        std: summary.std,
        truth: summary.truth,
    })
}

/// `log Σ_j exp(x_ij)` of each row, stable.
fn log_sum_exp_rows(x: Tensor<2>) -> Tensor<1> {
    let max = x.clone().max_dim(1);
    (x - max.clone()).exp().sum_dim(1).log().add(max).squeeze_dim::<1>(1)
}

/// [`COMPLETIONS`] completions of the observed digit, `[C, 784]`: side-by-side pseudo-Gibbs chains
/// of [`COMPLETION_STEPS`] steps from x̃ (z ~ q(z | x̂), then x̂ ~ p(x | z, y)), their last states'
/// pixel means, all on the device.
fn complete_by_pseudo_gibbs(model: &Vae, observation: &Observation, rng: &mut HostRng, device: &Device) -> Result<Tensor<2>> {
    let (rows, d) = (COMPLETIONS, model.latent_dim());
    let seen = Seen::new(&[observation], rows, device)?;
    let chain = ChainPixels::new(&seen);
    let start: Vec<f32> = (0..rows).flat_map(|_| observation.encoder_input()).collect();
    let mut x = tensor2(start, rows, PIXELS, device);
    let mut means = x.clone();
    for _ in 0..COMPLETION_STEPS {
        let (mu, log_var) = model.encode(x);
        let z = Vae::reparameterize(mu, log_var, tensor2(standard_normal(rng, rows * d), rows, d, device));
        let (log_p, log_1mp) = decoded(model, z)?;
        means = pixel_means(&seen, log_p, log_1mp);
        x = chain.draw(means.clone(), rng, device);
    }
    Ok(means)
}

/// How a chain completes its digit: x̂ ~ p(x | z, y), the seen pixels as they are and the rest
/// drawn from their posterior.
struct ChainPixels {
    /// 1 where a pixel is free to be drawn.
    free: Tensor<2>,
    /// The values of the pixels seen exactly, 0 elsewhere (the block means of a low-resolution
    /// observation are not pixels).
    fixed_values: Tensor<2>,
}

impl ChainPixels {
    fn new(seen: &Seen) -> Self {
        let fixed_values = match seen.kind {
            Kind::Missing => seen.fixed.clone() * seen.y.clone(),
            _ => seen.fixed.clone(),
        };
        Self { free: seen.fixed.clone().neg().add_scalar(1.0), fixed_values }
    }

    /// A draw of x̂ from the pixel means `means` (`[R, 784]`), noise from `rng`.
    fn draw(&self, means: Tensor<2>, rng: &mut HostRng, device: &Device) -> Tensor<2> {
        let [rows, cols] = means.dims();
        let u = tensor2((0..rows * cols).map(|_| rng.random::<f32>()).collect(), rows, cols, device);
        self.fixed_values.clone() + self.free.clone() * means.greater(u).float()
    }
}

/// The length of a Markov chain run ([`metropolis_within_gibbs`], [`pseudo_gibbs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainOptions {
    /// Steps of each chain.
    pub steps: usize,
    /// First steps left out of the repair (the chain forgetting its start).
    pub burn_in: usize,
    /// Independent chains per digit, run side by side as one batch.
    pub chains: usize,
    /// The first steps of a Metropolis-within-Gibbs chain's burn-in that move by pseudo-Gibbs
    /// instead (every proposal taken): a warm start towards the digit's likely region, where a
    /// Metropolis chain from the encoder's guess creeps. At most the burn-in, so that the kept
    /// steps are the exact chain's.
    pub warm_up: usize,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self { steps: 300, burn_in: 50, chains: 1, warm_up: 25 }
    }
}

impl ChainOptions {
    fn validate(&self) -> Result<()> {
        if !(1..=MAX_SAMPLES).contains(&self.steps) || self.burn_in >= self.steps || self.warm_up > self.burn_in {
            return Err(VaeError::Argument(format!(
                "a chain needs 1 to {MAX_SAMPLES} steps, more than its burn-in, and a warm-up no longer than the burn-in; got {} steps, burn-in {}, warm-up {}",
                self.steps, self.burn_in, self.warm_up
            )));
        }
        if !(1..=4096).contains(&self.chains) {
            return Err(VaeError::Argument(format!("chains per digit must be 1 to 4096, got {}", self.chains)));
        }
        Ok(())
    }
}

/// Metropolis-within-Gibbs (Mattei & Frellsen, NeurIPS 2018, algorithm 1), on the pair (z, x̂)
/// with x̂ the completed digit: propose z̃ ~ q(z | x̂), accept with probability
/// min(1, [p(x̂|z̃) p(z̃) / q(z̃|x̂)] / [p(x̂|z) p(z) / q(z|x̂)]), then draw x̂ ~ p(x | z, y)
/// (the hidden pixels from the decoder when pixels are missing, every pixel's own posterior under
/// flips and noise). Its z marginal converges to p(z|y) exactly for missing pixels, flips and
/// noise; for a low-resolution observation x̂ is drawn from the mean-field pixel posterior of
/// `pixel_means`, an approximation. The first steps of the burn-in may move by pseudo-Gibbs (a warm
/// start, [`ChainOptions::warm_up`]); the acceptance rate counts the kept steps only. `truth`
/// scores the repair. One read per step.
pub async fn metropolis_within_gibbs(model: &Vae, observation: &Observation, options: &ChainOptions, truth: Option<&[f32]>, seed: u64, device: &Device) -> Result<Repair> {
    let truths = truth.map(|t| vec![t.to_vec()]);
    let mut repairs = run_chains(model, &[observation.clone()], truths.as_deref(), options, Method::MetropolisWithinGibbs, seed, device).await?;
    Ok(repairs.remove(0))
}

/// Pseudo-Gibbs sampling (Rezende, Mohamed & Wierstra, ICML 2014, section 6.1): z ~ q(z | x̂),
/// x̂ ~ p(x | z, y), repeated, every proposal kept. Exact only if q(z|x) were the true posterior;
/// with a real encoder its stationary distribution is not p(z|y), the baseline the Metropolis
/// step corrects. One read per step.
pub async fn pseudo_gibbs(model: &Vae, observation: &Observation, options: &ChainOptions, truth: Option<&[f32]>, seed: u64, device: &Device) -> Result<Repair> {
    let truths = truth.map(|t| vec![t.to_vec()]);
    let mut repairs = run_chains(model, &[observation.clone()], truths.as_deref(), options, Method::PseudoGibbs, seed, device).await?;
    Ok(repairs.remove(0))
}

/// Reads the log acceptance ratios and the proposals in one read, accepts each with probability
/// min(1, ratio), and puts the accepted proposals into `current` (`[R, D]` on the host).
async fn metropolis_step(log_ratio: Tensor<1>, proposal: Tensor<2>, current: &mut [f32], rng: &mut HostRng) -> Result<Vec<bool>> {
    let [rows, d] = proposal.dims();
    let values = read_values(Tensor::cat(vec![log_ratio, proposal.reshape([rows * d])], 0)).await?;
    let (log_ratio, proposed) = values.split_at(rows);
    let take: Vec<bool> = log_ratio.iter().map(|&r| rng.random::<f64>().ln() < r as f64).collect();
    for (r, _) in take.iter().enumerate().filter(|(_, t)| **t) {
        current[r * d..(r + 1) * d].copy_from_slice(&proposed[r * d..(r + 1) * d]);
    }
    Ok(take)
}

/// [`metropolis_within_gibbs`] or [`pseudo_gibbs`] (`method`) for many digits at once, their chains
/// side by side in one batch (one read per step for all): `observations` all of one kind with the
/// same parameters (missing pixels may each have their own mask), `truths` (if given) one per
/// observation. Returns one repair per observation, in order.
pub async fn run_chains(
    model: &Vae,
    observations: &[Observation],
    truths: Option<&[Vec<f32>]>,
    options: &ChainOptions,
    method: Method,
    seed: u64,
    device: &Device,
) -> Result<Vec<Repair>> {
    if !matches!(method, Method::MetropolisWithinGibbs | Method::PseudoGibbs) {
        return Err(VaeError::Argument(format!("{method:?} is not a Markov chain")));
    }
    options.validate()?;
    for o in observations {
        o.validate()?;
    }
    if let Some(t) = truths {
        if t.len() != observations.len() {
            return Err(VaeError::Argument(format!("{} true digits for {} observations", t.len(), observations.len())));
        }
        for t in t {
            check_truth(Some(t))?;
        }
    }
    let (digits, chains, d) = (observations.len(), options.chains, model.latent_dim());
    let rows = digits * chains;
    let refs: Vec<&Observation> = observations.iter().collect();
    let seen = Seen::new(&refs, chains, device)?;
    let truth = truths.map(|t| {
        let flat = t.iter().flat_map(|t| (0..chains).flat_map(move |_| t.iter().copied())).collect();
        tensor2(flat, rows, PIXELS, device)
    });
    let chain = ChainPixels::new(&seen);
    let mut rng = HostRng::seed_from_u64(seed);

    let start = observations.iter().flat_map(|o| { let x = o.encoder_input(); (0..chains).flat_map(move |_| x.clone()) }).collect();
    let mut x = tensor2(start, rows, PIXELS, device);
    let (mu, log_var) = model.encode(x.clone());
    let (q_mu, q_log_var) = (mu.clone(), log_var.clone());
    let mut z = Vae::reparameterize(mu, log_var, tensor2(standard_normal(&mut rng, rows * d), rows, d, device));
    let (mut log_p, mut log_1mp) = decoded(model, z.clone())?;
    // The chains' states on the host too, for the trace.
    let mut current = read_values(z.clone()).await?;
    let means = pixel_means(&seen, log_p.clone(), log_1mp.clone());
    x = chain.draw(means, &mut rng, device);

    let kept = options.steps - options.burn_in;
    let keep_at: Vec<usize> = (0..IMPUTATIONS).map(|k| options.burn_in + 1 + k * kept / IMPUTATIONS).collect();
    let mut accepted = vec![0usize; rows];
    let mut trace = vec![Vec::with_capacity(kept * d); rows];
    let (mut sum, mut square): (Option<Tensor<2>>, Option<Tensor<2>>) = (None, None);
    let mut truth_terms = Vec::new();
    let mut kept_means = Vec::new();
    for step in 1..=options.steps {
        let (mu, log_var) = model.encode(x.clone());
        let proposal = Vae::reparameterize(mu.clone(), log_var.clone(), tensor2(standard_normal(&mut rng, rows * d), rows, d, device));
        let (proposal_log_p, proposal_log_1mp) = decoded(model, proposal.clone())?;
        // The warm-up moves by pseudo-Gibbs (see `ChainOptions::warm_up`); the chain that follows
        // is exact whatever its start.
        let metropolis = method == Method::MetropolisWithinGibbs && step > options.warm_up;
        let (take, acceptance) = match metropolis {
            false => {
                current = read_values(proposal.clone()).await?;
                (vec![true; rows], None)
            }
            true => {
                // The target is p(z | x̂), x̂ the completed digit.
                let completed = |log_p: Tensor<2>, log_1mp: Tensor<2>| row_sum(x.clone() * log_p + x.clone().neg().add_scalar(1.0) * log_1mp);
                let new = completed(proposal_log_p.clone(), proposal_log_1mp.clone()) + log_standard_normal(proposal.clone())
                    - log_normal(proposal.clone(), mu.clone(), log_var.clone());
                let old = completed(log_p.clone(), log_1mp.clone()) + log_standard_normal(z.clone()) - log_normal(z.clone(), mu, log_var);
                let log_ratio = new - old;
                let acceptance = log_ratio.clone().clamp_max(0.0).exp().reshape([rows, 1]);
                (metropolis_step(log_ratio, proposal.clone(), &mut current, &mut rng).await?, Some(acceptance))
            }
        };
        if step > options.burn_in {
            for (r, &t) in take.iter().enumerate() {
                accepted[r] += t as usize;
            }
            for (r, t) in trace.iter_mut().enumerate() {
                t.extend_from_slice(&current[r * d..(r + 1) * d]);
            }
            // What the step contributes to the repair: the next state's, or for a Metropolis step
            // its expectation given the proposal, α · f(proposal) + (1 − α) · f(current) (waste
            // recycling, Frenkel 2004: the same limit, and the rejected proposals' information
            // kept).
            let proposed = pixel_means(&seen, proposal_log_p.clone(), proposal_log_1mp.clone());
            let truth_of = |log_p: &Tensor<2>, log_1mp: &Tensor<2>, means: &Tensor<2>| {
                truth.as_ref().map(|t| truth_log_likelihood(&seen, t.clone(), log_p.clone(), log_1mp.clone(), means.clone()).reshape([rows, 1]))
            };
            let proposed_truth = truth_of(&proposal_log_p, &proposal_log_1mp, &proposed);
            let (mean, mean_square, truth_term) = match acceptance {
                None => (proposed.clone(), proposed.square(), proposed_truth),
                Some(alpha) => {
                    let stay = alpha.clone().neg().add_scalar(1.0);
                    let kept = pixel_means(&seen, log_p.clone(), log_1mp.clone());
                    let kept_truth = truth_of(&log_p, &log_1mp, &kept);
                    let truth_term = proposed_truth.zip(kept_truth).map(|(a, b)| {
                        let top = a.clone().max_pair(b.clone());
                        ((a - top.clone()).exp() * alpha.clone() + (b - top.clone()).exp() * stay.clone()).log() + top
                    });
                    (
                        proposed.clone() * alpha.clone() + kept.clone() * stay.clone(),
                        proposed.square() * alpha + kept.square() * stay,
                        truth_term,
                    )
                }
            };
            if let Some(term) = truth_term {
                truth_terms.push(term.reshape([1, rows]));
            }
            square = Some(square.map_or(mean_square.clone(), |s| s + mean_square));
            sum = Some(sum.map_or(mean.clone(), |s| s + mean));
        }
        let a = tensor2(take.iter().map(|&t| t as u8 as f32).collect(), rows, 1, device);
        let keep = a.clone().neg().add_scalar(1.0);
        z = a.clone() * proposal + keep.clone() * z;
        log_p = a.clone() * proposal_log_p + keep.clone() * log_p;
        log_1mp = a * proposal_log_1mp + keep * log_1mp;
        let means = pixel_means(&seen, log_p.clone(), log_1mp.clone());
        if keep_at.contains(&step) {
            kept_means.push(means.clone());
        }
        x = chain.draw(means, &mut rng, device);
    }

    let (sum, square) = (sum.expect("a chain keeps at least one step"), square.expect("a chain keeps at least one step"));
    let mut parts = vec![sum.reshape([rows * PIXELS]), square.reshape([rows * PIXELS])];
    parts.extend(kept_means.into_iter().map(|m| m.reshape([rows * PIXELS])));
    if !truth_terms.is_empty() {
        parts.push(log_mean_exp(Tensor::cat(truth_terms, 0)));
    }
    parts.push(q_mu.reshape([rows * d]));
    parts.push(q_log_var.reshape([rows * d]));
    let values = read_values(Tensor::cat(parts, 0)).await?;
    let block = rows * PIXELS;
    let (sums, squares) = (&values[..block], &values[block..2 * block]);
    let imputation_blocks = &values[2 * block..(2 + IMPUTATIONS) * block];
    let mut at = (2 + IMPUTATIONS) * block;
    let truth_values = truths.map(|_| { at += rows; &values[at - rows..at] });
    let (q_mu, q_log_var) = (&values[at..at + rows * d], &values[at + rows * d..]);

    let count = (kept * chains) as f64;
    Ok((0..digits)
        .map(|i| {
            let chain_rows = i * chains..(i + 1) * chains;
            let pixel = |values: &[f32], j: usize| chain_rows.clone().map(|r| values[r * PIXELS + j] as f64).sum::<f64>() / count;
            let mean: Vec<f32> = (0..PIXELS).map(|j| pixel(sums, j) as f32).collect();
            let std = (0..PIXELS).map(|j| (pixel(squares, j) - (mean[j] as f64).powi(2)).max(0.0).sqrt() as f32).collect();
            let imputations = (0..IMPUTATIONS)
                .flat_map(|k| {
                    let r = i * chains + k % chains;
                    imputation_blocks[k * block + r * PIXELS..k * block + (r + 1) * PIXELS].to_vec()
                })
                .collect();
            let truth = truths.map(|t| {
                let per_chain: Vec<f32> = chain_rows.clone().map(|r| truth_values.expect("read with the truths")[r]).collect();
                let (pixels, mse) = hidden_mse(&mean, &t[i], &observations[i].hidden());
                TruthScore { pixels, mse, log_likelihood: log_sum_exp(&per_chain) - (chains as f64).ln() }
            });
            Repair {
                method,
                acceptance_rate: Some(chain_rows.clone().map(|r| accepted[r]).sum::<usize>() as f64 / (kept * chains) as f64),
                log_evidence: None,
                effective_sample_size: None,
                posterior: None,
                z: chain_rows.clone().flat_map(|r| trace[r].clone()).collect(),
                q_mu: q_mu[i * chains * d..i * chains * d + d].to_vec(),
                q_log_var: q_log_var[i * chains * d..i * chains * d + d].to_vec(),
                mean,
                imputations,
                std,
                truth,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t2(values: Vec<f32>, rows: usize) -> Tensor<2> {
        let cols = values.len() / rows;
        tensor2(values, rows, cols, &Device::flex())
    }

    fn values(t: Tensor<1>) -> Vec<f64> {
        t.into_data().try_into_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
    }

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    /// An observation's log-likelihood at one decoded point whose logits are `logits` (784).
    fn log_likelihood(observation: &Observation, logits: Vec<f32>) -> f64 {
        let seen = Seen::new(&[observation], 1, &Device::flex()).unwrap();
        let (log_p, log_1mp) = log_probabilities(t2(logits, 1));
        values(observation_log_likelihood(&seen, log_p, log_1mp))[0]
    }

    #[test]
    fn missing_pixels_count_only_the_seen_ones() {
        // p = ¾ (ℓ = ln 3) everywhere; seen: pixel 0 (y = 1 → ln ¾), pixel 1 (y = 0 → ln ¼),
        // pixel 2 (y = ½ → ½ ln ¾ + ½ ln ¼); the other 781 pixels hidden whatever their value.
        let mut pixels = vec![0.7; PIXELS];
        pixels[..3].copy_from_slice(&[1.0, 0.0, 0.5]);
        let seen = (0..PIXELS).map(|i| i < 3).collect();
        let o = Observation::Missing { pixels, seen };
        let want = 0.75f64.ln() + 0.25f64.ln() + 0.5 * (0.75f64.ln() + 0.25f64.ln());
        close(log_likelihood(&o, vec![3f32.ln(); PIXELS]), want, 1e-5);
        // Nothing seen: log p(y|z) = 0.
        let o = Observation::Missing { pixels: vec![0.0; PIXELS], seen: vec![false; PIXELS] };
        close(log_likelihood(&o, vec![3f32.ln(); PIXELS]), 0.0, 1e-9);
    }

    #[test]
    fn flips_mix_the_two_readings_of_each_pixel() {
        // ε = 0.1, p = ¾, y = 1: (1 − ε) p + ε (1 − p) = 0.675 + 0.025 = 0.7 on each of 784 pixels.
        let o = Observation::Flipped { pixels: vec![1.0; PIXELS], rate: 0.1 };
        close(log_likelihood(&o, vec![3f32.ln(); PIXELS]), 784.0 * 0.7f64.ln(), 2e-3);
        // y = 0: ε p + (1 − ε)(1 − p) = 0.075 + 0.225 = 0.3.
        let o = Observation::Flipped { pixels: vec![0.0; PIXELS], rate: 0.1 };
        close(log_likelihood(&o, vec![3f32.ln(); PIXELS]), 784.0 * 0.3f64.ln(), 2e-3);
        // y = ½: L₁ = L₀ = √(0.9 · 0.1) = 0.3, whatever p.
        let o = Observation::Flipped { pixels: vec![0.5; PIXELS], rate: 0.1 };
        close(log_likelihood(&o, vec![3f32.ln(); PIXELS]), 784.0 * 0.3f64.ln(), 2e-3);
    }

    #[test]
    fn gaussian_noise_mixes_a_dark_and_a_bright_pixel() {
        // p = ½, σ = 1, y = 0: ½ N(0; 1, 1) + ½ N(0; 0, 1) = ½ (e^{−½} + 1) / √(2π) per pixel.
        let o = Observation::Noisy { pixels: vec![0.0; PIXELS], sigma: 1.0 };
        let per_pixel = (0.5 * ((-0.5f64).exp() + 1.0) / (2.0 * std::f64::consts::PI).sqrt()).ln();
        close(log_likelihood(&o, vec![0.0; PIXELS]), 784.0 * per_pixel, 2e-3);
        // p = ¾, σ = ½, y = 1: ¾ N(1; 1, ¼) + ¼ N(1; 0, ¼) = (¾ + ¼ e^{−2}) · 2/√(2π).
        let o = Observation::Noisy { pixels: vec![1.0; PIXELS], sigma: 0.5 };
        let per_pixel = ((0.75 + 0.25 * (-2.0f64).exp()) * 2.0 / (2.0 * std::f64::consts::PI).sqrt()).ln();
        close(log_likelihood(&o, vec![3f32.ln(); PIXELS]), 784.0 * per_pixel, 2e-3);
    }

    #[test]
    fn a_block_mean_is_gaussian_with_the_bernoulli_variance_and_a_floor() {
        // Blocks of 2 × 2, p = ½: mean ½, variance 4 · ¼ / 16 + 0.05² = 0.065 for each of 196
        // blocks. Seen means ½: each −½ (ln 2π + ln 0.065); seen means 0.7: add −½ · 0.04 / 0.065.
        let v: f64 = 0.0625 + 0.0025;
        let o = Observation::LowResolution { means: vec![0.5; 196], block: 2, floor: 0.05 };
        close(log_likelihood(&o, vec![0.0; PIXELS]), 196.0 * -0.5 * (LN_2PI + v.ln()), 2e-3);
        let o = Observation::LowResolution { means: vec![0.7; 196], block: 2, floor: 0.05 };
        close(log_likelihood(&o, vec![0.0; PIXELS]), 196.0 * -0.5 * (LN_2PI + v.ln() + 0.04 / v), 2e-3);
        // 7 × 7 blocks of 4 × 4, p = ¾: mean ¾, variance 16 · 3/16 / 256 + 0.05² per block.
        let v: f64 = 3.0 / 256.0 + 0.0025;
        let o = Observation::LowResolution { means: vec![0.75; 49], block: 4, floor: 0.05 };
        close(log_likelihood(&o, vec![3f32.ln(); PIXELS]), 49.0 * -0.5 * (LN_2PI + v.ln()), 2e-3);
    }

    #[test]
    fn pixel_posteriors_by_hand() {
        let means = |o: &Observation, logits: Vec<f32>| -> Vec<f32> {
            let seen = Seen::new(&[o], 1, &Device::flex()).unwrap();
            let (log_p, log_1mp) = log_probabilities(t2(logits, 1));
            pixel_means(&seen, log_p, log_1mp).into_data().try_into_vec().unwrap()
        };
        // Flip ε = 0.1, p = ¾, y = 1: P(x = 1 | y) = 0.675 / 0.7.
        let m = means(&Observation::Flipped { pixels: vec![1.0; PIXELS], rate: 0.1 }, vec![3f32.ln(); PIXELS]);
        close(m[5] as f64, 0.675 / 0.7, 1e-5);
        // Missing: seen pixels keep their value, hidden ones get p.
        let seen: Vec<bool> = (0..PIXELS).map(|i| i == 0).collect();
        let m = means(&Observation::Missing { pixels: vec![0.3; PIXELS], seen }, vec![3f32.ln(); PIXELS]);
        close(m[0] as f64, 0.3, 1e-6);
        close(m[1] as f64, 0.75, 1e-6);
        // Low resolution, blocks of 2 × 2, p = ½, block mean 1: the other three pixels sum to 1.5
        // (variance 3/64 + 0.05²); x_i = 1 moves the mean from 3/8 to 5/8.
        let m = means(&Observation::LowResolution { means: vec![1.0; 196], block: 2, floor: 0.05 }, vec![0.0; PIXELS]);
        let v: f64 = 3.0 / 64.0 + 0.0025;
        let want = 1.0 / (1.0 + (-((1.0f64 - 0.375).powi(2) - (1.0f64 - 0.625).powi(2)) / (2.0 * v)).exp());
        close(m[0] as f64, want, 1e-4);
    }

    #[test]
    fn presets_hide_what_they_say() {
        let hidden = |p| preset_mask(p).unwrap().iter().filter(|s| !**s).count();
        assert_eq!(hidden(MaskPreset::BottomHalf), 392);
        assert!(!preset_mask(MaskPreset::BottomHalf).unwrap()[14 * 28] && preset_mask(MaskPreset::BottomHalf).unwrap()[13 * 28 + 27]);
        assert!(!preset_mask(MaskPreset::LeftHalf).unwrap()[28] && preset_mask(MaskPreset::LeftHalf).unwrap()[14]);
        assert_eq!(hidden(MaskPreset::CentreSquare), 196);
        let random = hidden(MaskPreset::Random { fraction: 0.8, seed: 3 });
        assert!((560..700).contains(&random), "{random}");
        assert_eq!(preset_mask(MaskPreset::Random { fraction: 0.8, seed: 3 }).unwrap(), preset_mask(MaskPreset::Random { fraction: 0.8, seed: 3 }).unwrap());
        assert!(preset_mask(MaskPreset::Random { fraction: 1.5, seed: 3 }).is_err());
    }

    #[test]
    fn block_means_and_bad_observations() {
        let image: Vec<f32> = (0..PIXELS).map(|i| (i % 2) as f32).collect();
        assert!(block_means(&image, 4).iter().all(|&m| (m - 0.5).abs() < 1e-6));
        let e = |o: Observation| o.validate().unwrap_err().to_string();
        assert!(e(Observation::Missing { pixels: vec![0.0; 700], seen: vec![true; PIXELS] }).contains("expected 784"));
        assert!(e(Observation::Missing { pixels: vec![0.0; PIXELS], seen: vec![true; 10] }).contains("mask"));
        assert!(e(Observation::Missing { pixels: vec![], seen: vec![] }).contains("empty"));
        let mut nan = vec![0.0; PIXELS];
        nan[3] = f32::NAN;
        assert!(e(Observation::Flipped { pixels: nan.clone(), rate: 0.1 }).contains("NaN"));
        assert!(e(Observation::Noisy { pixels: nan, sigma: 0.1 }).contains("NaN"));
        assert!(e(Observation::Flipped { pixels: vec![0.0; PIXELS], rate: 0.5 }).contains("flip rate"));
        assert!(e(Observation::LowResolution { means: vec![0.0; 49], block: 3, floor: 0.05 }).contains("block"));
        assert!(e(Observation::LowResolution { means: vec![0.0; 48], block: 4, floor: 0.05 }).contains("expected 49"));
    }
}
