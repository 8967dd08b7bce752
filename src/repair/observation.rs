//! The corruptions a digit is seen through, each an observation model p(y|z) built from the
//! decoder's own per-pixel distribution, and what each says of the pixels given z.

use super::*;

/// A corrupted digit: what was seen of it, and how. The observation model p(y|z) of each variant is
/// built from the decoder's own per-pixel distribution, pixels independent given z. Below, for the
/// Bernoulli decoder's p_i = σ(ℓ_i(z)), with grey-level values used as targets the way the model's
/// own cross-entropy uses them; the Gaussian decoder's N(μ_i, σ_i²) gives each one exactly (see
/// `gaussian_log_likelihood`), except flips, which are for binary pixels.
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

pub(super) fn check_block(block: usize) -> Result<()> {
    if block < 2 || SIDE % block != 0 {
        return Err(VaeError::Argument(format!("a low-resolution block must be 2, 4, 7 or 14 pixels wide, got {block}")));
    }
    Ok(())
}

pub(super) fn check_pixels(what: &'static str, values: &[f32], any_real: bool) -> Result<()> {
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
pub(super) enum Kind {
    Missing,
    Flipped { rate: f32 },
    Noisy { sigma: f32 },
    LowResolution { block: usize, floor: f32 },
}

/// A batch of observations of one kind on the device, one row each (or one row for all).
pub(super) struct Seen {
    pub(super) kind: Kind,
    /// The observed values `[R, 784]` (block means: `[R, (28/block)²]`).
    pub(super) y: Tensor<2>,
    /// 1 where a pixel is seen exactly (missing pixels' observed ones), else 0. `[R, 784]`.
    pub(super) fixed: Tensor<2>,
    /// 1 where a pixel is scored against the truth. `[R, 784]`.
    pub(super) hidden: Tensor<2>,
}

impl Seen {
    /// `observations[r / repeat]` on row r.
    pub(super) fn new(observations: &[&Observation], repeat: usize, device: &Device) -> Result<Self> {
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

pub(super) fn row_sum(x: Tensor<2>) -> Tensor<1> {
    x.sum_dim(1).squeeze_dim::<1>(1)
}

/// `log(e^a + e^b)`, elementwise and stable.
pub(super) fn log_add_exp(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let d = a.clone() - b.clone();
    let max = (a + b + d.clone().abs()).mul_scalar(0.5);
    max + d.abs().neg().exp().log1p()
}

/// log p_i and log (1 − p_i) of Bernoulli logits ℓ, stably: log(1 − p) = −softplus(ℓ).
pub(super) fn log_probabilities(logits: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
    let softplus = logits.clone().clamp_min(0.0) + logits.clone().abs().neg().exp().log1p();
    (logits - softplus.clone(), softplus.neg())
}

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

/// For flips and noise, a pixel's two branches: log p_i + log p(y_i | x_i = 1) and
/// log (1 − p_i) + log p(y_i | x_i = 0). `y` is `[R, 784]` with R = 1 or N.
pub(super) fn branches(kind: Kind, y: Tensor<2>, log_p: Tensor<2>, log_1mp: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
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
pub(super) fn block_sum(x: Tensor<2>, block: usize) -> Tensor<2> {
    let (n, s) = (x.dims()[0], SIDE / block);
    x.reshape([n, s, block, s, block]).sum_dim(4).sum_dim(2).reshape([n, s * s])
}

/// Each block's value on each of its pixels: `[N, (28/block)²]` → `[N, 784]`.
pub(super) fn spread_blocks(x: Tensor<2>, block: usize) -> Tensor<2> {
    let (n, s) = (x.dims()[0], SIDE / block);
    x.reshape([n, s, 1, s, 1]).repeat_dim(2, block).repeat_dim(4, block).reshape([n, PIXELS])
}

/// The Gaussian on each block mean of [`Observation::LowResolution`]: `(mean, variance)`, each
/// `[N, (28/block)²]`.
pub(super) fn block_moments(p: Tensor<2>, block: usize, floor: f32) -> (Tensor<2>, Tensor<2>) {
    let n = (block * block) as f64;
    let var = block_sum(p.clone() - p.clone().square(), block).div_scalar(n * n).add_scalar((floor as f64).powi(2));
    (block_sum(p, block).div_scalar(n), var)
}

/// Encodes the observation's x̃ (host values) → `(μ, log σ²)` `[1, D]` each.
pub(super) fn encode_input(model: &Vae, observation: &Observation, device: &Device) -> (Tensor<2>, Tensor<2>) {
    model.encode(tensor2(observation.encoder_input(), 1, PIXELS, device))
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
        values(Pixels::Bernoulli { log_p, log_1mp }.observation_log_likelihood(&seen))[0]
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
            Pixels::Bernoulli { log_p, log_1mp }.means(&seen).into_data().try_into_vec().unwrap()
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
