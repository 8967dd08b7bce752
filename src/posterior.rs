//! What the paper is about, for one digit: the true posterior p_θ(z|x) that the recognition model
//! q_φ(z|x) stands in for, and how likely the digit is, log p_θ(x).
//!
//! With a latent space of two dimensions the posterior can be computed outright on a grid:
//! `p(z|x) ∝ p(x|z) p(z)`, normalised over the grid's points, and `log p(x) = log ∫ p(x|z) p(z) dz`
//! as a Riemann sum. Beside it, the importance-sampled estimate with k samples from q (Burda et
//! al.), the ELBO, and their gap `log p(x) − ELBO = KL(q(z|x) ‖ p(z|x))`: how far the encoder's
//! guess is from the truth.

use burn::prelude::*;
use crate::transfer::HostRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::config::PIXELS;
use crate::error::{Result, VaeError};
use crate::eval::log_mean_exp;
use crate::loss::{kl_standard_normal, log_likelihood, log_normal, log_standard_normal};
use crate::model::Vae;
use crate::transfer::{read_pair, read_values, standard_normal, tensor2};

/// Latent points decoded per batch (a batch of decoded digits is this × 784 floats).
const POINTS_PER_BATCH: usize = 2048;
/// Half the side of the square the grid estimate of log p(x) first looks in (in z's units).
const SEARCH_HALF_WIDTH: f64 = 6.0;
/// Points per side of the grid estimate's two passes.
const COARSE: usize = 128;
const FINE: usize = 128;
/// Cells whose posterior mass is below this fraction of the largest cell's are outside the
/// fine pass's window (exp(−16): the mass they hold together is far below a thousandth of a nat).
const NEGLIGIBLE: f64 = 1.1e-7;

fn check_image(image: &[f32]) -> Result<()> {
    if image.len() != PIXELS {
        return Err(VaeError::Shape { what: "image", rows: 1, cols: PIXELS, expected: PIXELS, found: image.len() });
    }
    if image.iter().any(|v| !v.is_finite()) {
        return Err(VaeError::Argument("image: values must be finite".into()));
    }
    Ok(())
}

/// `log p_θ(x|z) + log p(z)` for one image (784 values in [0, 1]) at each of `n` latent points
/// (`[n, D]` row-major): the unnormalised log posterior. → `n` values.
pub async fn log_joint(model: &Vae, image: &[f32], points: &[f32], n: usize, device: &Device) -> Result<Vec<f32>> {
    check_image(image)?;
    let d = model.latent_dim();
    let expected = n.checked_mul(d).ok_or_else(|| VaeError::Argument(format!("{n} points is too many")))?;
    if n == 0 || points.len() != expected {
        return Err(VaeError::Shape { what: "points", rows: n, cols: d, expected, found: points.len() });
    }
    if points.iter().any(|v| !v.is_finite()) {
        return Err(VaeError::Argument("points: values must be finite".into()));
    }
    let x = tensor2(image.to_vec(), 1, PIXELS, device);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(POINTS_PER_BATCH) {
        let m = (n - start).min(POINTS_PER_BATCH);
        let z = tensor2(points[start * d..(start + m) * d].to_vec(), m, d, device);
        let joint = log_likelihood(model.decode(z.clone()), x.clone().repeat_dim(0, m)) + log_standard_normal(z);
        out.extend(read_values(joint).await?);
    }
    Ok(out)
}

/// `log Σ exp(v)`, in f64, stable.
pub fn log_sum_exp(values: &[f32]) -> f64 {
    let max = values.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    if !max.is_finite() {
        return max;
    }
    max + values.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln()
}

/// The log joint normalised over the points: the posterior mass of each (they sum to 1).
pub fn normalise(log_joint: &[f32]) -> Vec<f32> {
    let total = log_sum_exp(log_joint);
    log_joint.iter().map(|&v| (v as f64 - total).exp() as f32).collect()
}

/// The `side × side` cell centres of the square `[x0, x1] × [y0, y1]`, `[side², 2]` row-major
/// (row i, column j: x = x0 + (j + ½)·h_x, y = y0 + (i + ½)·h_y).
pub fn grid_points(side: usize, (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> Vec<f32> {
    let (hx, hy) = ((x1 - x0) / side as f64, (y1 - y0) / side as f64);
    let mut z = Vec::with_capacity(side * side * 2);
    for i in 0..side {
        for j in 0..side {
            z.push((x0 + (j as f64 + 0.5) * hx) as f32);
            z.push((y0 + (i as f64 + 0.5) * hy) as f32);
        }
    }
    z
}

/// log p(x) by integrating p(x|z) p(z) over a grid, for a model with a 2-D latent space.
///
/// Two passes: a coarse grid over [−6, 6]² finds where the posterior's mass is, then a fine grid
/// over that window (one coarse cell wider on each side) gives `log Σ p(x|z) p(z) + log(cell
/// area)`. Returns the estimate and the fine window `((x0, x1), (y0, y1))`.
pub async fn grid_log_likelihood(model: &Vae, image: &[f32], device: &Device) -> Result<(f64, [(f64, f64); 2])> {
    if model.latent_dim() != 2 {
        return Err(VaeError::Argument(format!(
            "the grid estimate of log p(x) needs a 2-D latent space, not {}",
            model.latent_dim()
        )));
    }
    let r = SEARCH_HALF_WIDTH;
    let coarse = log_joint(model, image, &grid_points(COARSE, (-r, r), (-r, r)), COARSE * COARSE, device).await?;
    let max = coarse.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let h = 2.0 * r / COARSE as f64;
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for (c, &v) in coarse.iter().enumerate() {
        if (v as f64 - max) >= NEGLIGIBLE.ln() {
            let (i, j) = (c / COARSE, c % COARSE);
            let (x, y) = (-r + j as f64 * h, -r + i as f64 * h);
            lo = [lo[0].min(x), lo[1].min(y)];
            hi = [hi[0].max(x + h), hi[1].max(y + h)];
        }
    }
    let window = [(lo[0] - h, hi[0] + h), (lo[1] - h, hi[1] + h)];
    let fine_points = grid_points(FINE, window[0], window[1]);
    let fine = log_joint(model, image, &fine_points, FINE * FINE, device).await?;
    let area = (window[0].1 - window[0].0) * (window[1].1 - window[1].0) / (FINE * FINE) as f64;
    Ok((log_sum_exp(&fine) + area.ln(), window))
}

/// How likely one digit is, in nats.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigitBound {
    /// The ELBO: E_q[log p(x|z)] (from the k samples) − KL(q ‖ p(z)) (closed form).
    pub elbo: f64,
    /// −E_q[log p(x|z)].
    pub reconstruction: f64,
    /// KL(q(z|x) ‖ p(z)).
    pub kl: f64,
    /// The importance-sampled log p(x) with `samples` draws from q.
    pub log_likelihood: f64,
    /// k.
    pub samples: usize,
    /// log p(x) integrated on a grid (2-D latent spaces only).
    pub grid_log_likelihood: Option<f64>,
    /// q's mean and log-variance for this digit.
    pub mu: Vec<f32>,
    /// q's log σ².
    pub log_var: Vec<f32>,
}

/// The ELBO, the importance-sampled log p(x) (k samples from q, noise from `seed`), and in 2-D
/// the grid's log p(x), of one image.
pub async fn digit_bound(model: &Vae, image: &[f32], k: usize, seed: u64, device: &Device) -> Result<DigitBound> {
    check_image(image)?;
    if !(1..=100_000).contains(&k) {
        return Err(VaeError::Argument(format!("importance samples must be 1 to 100000, got {k}")));
    }
    let d = model.latent_dim();
    let x = tensor2(image.to_vec(), 1, PIXELS, device);
    let (mu, log_var) = model.encode(x.clone());
    let kl = kl_standard_normal(mu.clone(), log_var.clone());
    let (mu_k, log_var_k) = (mu.clone().repeat_dim(0, k), log_var.clone().repeat_dim(0, k));
    let eps = tensor2(standard_normal(&mut HostRng::seed_from_u64(seed), k * d), k, d, device);
    let z = Vae::reparameterize(mu_k.clone(), log_var_k.clone(), eps);
    let recon = log_likelihood(model.decode(z.clone()), x.repeat_dim(0, k));
    let log_w = recon.clone() + log_standard_normal(z.clone()) - log_normal(z, mu_k, log_var_k);
    let ll = log_mean_exp(log_w.reshape([k, 1]));
    let stats = Tensor::cat(vec![recon.mean(), kl, ll], 0).reshape([1, 3]);
    let [stats, q] = read_pair(stats, Tensor::cat(vec![mu, log_var], 1)).await?;
    let (reconstruction, kl, log_likelihood) = (-(stats[0] as f64), stats[1] as f64, stats[2] as f64);
    let grid_log_likelihood = if d == 2 { Some(grid_log_likelihood(model, image, device).await?.0) } else { None };
    Ok(DigitBound {
        elbo: -reconstruction - kl,
        reconstruction,
        kl,
        log_likelihood,
        samples: k,
        grid_log_likelihood,
        mu: q[..d].to_vec(),
        log_var: q[d..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sum_exp_and_normalise_are_exact_and_stable() {
        assert!((log_sum_exp(&[0.0, 3f32.ln()]) - 4f64.ln()).abs() < 1e-6);
        assert!((log_sum_exp(&[-1000.0, -1000.0]) - (-1000.0 + 2f64.ln())).abs() < 1e-6);
        let p = normalise(&[-80.0, -80.0 + 3f32.ln()]);
        assert!((p[0] - 0.25).abs() < 1e-5 && (p[1] - 0.75).abs() < 1e-5, "{p:?}");
    }

    #[test]
    fn grid_points_are_cell_centres() {
        let z = grid_points(2, (0.0, 2.0), (-1.0, 1.0));
        assert_eq!(z, vec![0.5, -0.5, 1.5, -0.5, 0.5, 0.5, 1.5, 0.5]);
    }
}
