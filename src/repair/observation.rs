//! The corruptions a digit is seen through, each an observation model p(y|z) built from the
//! decoder's own per-pixel distribution (the models themselves in `pixels`), and the pieces the
//! models share: block sums and moments, stable log-sums, the Bernoulli branches.

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
    use crate::repair::test_support::{close, t2, values};

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

}
