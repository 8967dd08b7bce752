//! Evaluation and inference on a trained model: the test-set ELBO, an importance-sampled estimate
//! of log p(x), and what the views draw (encodings, decodings, samples, the manifold grid).
//!
//! Every function takes a model without autodiff (`trainer.inference_model()`), reads back
//! asynchronously and only once, and draws its noise from a seeded host rng.

use burn::prelude::*;
use crate::transfer::HostRng;
use rand::SeedableRng;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::config::{Estimator, VaeConfig, PIXELS};
use crate::data::Dataset;
use crate::pool::{map_on_threads, on_pool};
use crate::error::{Result, VaeError};
use crate::kernels::FlatRun;
use crate::loss::{log_likelihood, log_normal, log_standard_normal, negative_elbo};
use crate::model::Vae;
use crate::transfer::{read_pair, read_scalars, read_values, standard_normal, tensor2};

/// Datapoints per evaluation batch.
const EVAL_BATCH: usize = 500;
/// Rows (datapoints × importance samples) per batch of the log p(x) estimate.
const IS_ROWS: usize = 5000;

/// The test-set bound, in nats per datapoint.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// −ELBO = reconstruction + KL (β plays no part here).
    pub loss: f64,
    /// −E_q[log p(x|z)], one sample of z per datapoint.
    pub reconstruction: f64,
    /// KL(q(z|x) ‖ p(z)) in closed form.
    pub kl: f64,
    /// The ELBO itself (= −loss).
    pub elbo: f64,
    /// Datapoints evaluated.
    pub examples: usize,
}

/// An evaluation of the test bound that can be done a few hundred digits at a time, between
/// training chunks, so that a long one never stalls the page. It holds its own copy of the model
/// (parameters are shared, not copied, until training replaces them), so every piece measures the
/// same weights however long the whole takes.
pub struct EvaluationRun {
    model: Evaluated,
    config: VaeConfig,
    device: Device,
    rng: HostRng,
    next: usize,
    recon: Option<Tensor<1>>,
    kl: Option<Tensor<1>>,
    /// Pieces each batch is cut into, one a thread (see [`EvaluationRun::on_threads`]).
    threads: usize,
}

/// The weights an evaluation measures: a model, through Burn's operations, or a run on the kernel
/// path (`crate::kernels`), through the step's own forward kernels.
#[cfg_attr(not(feature = "webgpu"), allow(dead_code))]
enum Evaluated {
    Model(Vae),
    Kernels(FlatRun),
}

impl EvaluationRun {
    /// A run over a data set, for `model` (without autodiff) with noise from `seed`.
    ///
    /// One z per datapoint and the closed-form KL, so that SGVB-A and SGVB-B models are measured
    /// alike; β plays no part.
    pub fn new(model: Vae, config: &VaeConfig, device: &Device, seed: u64) -> Self {
        Self::of(Evaluated::Model(model), config, device, seed)
    }

    /// The same for a run on the kernel path, its weights as they are in `run` (see
    /// [`crate::kernels::loss`]: the same bound as Burn's operations compute, in fewer dispatches).
    pub fn in_kernels(run: FlatRun, config: &VaeConfig, device: &Device, seed: u64) -> Self {
        Self::of(Evaluated::Kernels(run), config, device, seed)
    }

    fn of(model: Evaluated, config: &VaeConfig, device: &Device, seed: u64) -> Self {
        Self {
            model,
            config: VaeConfig {
                samples: 1,
                estimator: Estimator::SgvbB,
                beta: 1.0,
                ..config.clone()
            },
            device: device.clone(),
            rng: HostRng::seed_from_u64(seed),
            next: 0,
            recon: None,
            kl: None,
            threads: 1,
        }
    }

    /// Spreads each batch over `threads` threads of rayon's pool (the threaded browser build, and
    /// natively): its rows cut into as many pieces, each propagated on a thread, their sums added.
    /// The same datapoints and noise, so the same bound up to the order of the sums. Where there is
    /// no pool, one piece.
    pub fn on_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Queues the bound of the next (up to) `count` datapoints of `data`, without reading
    /// anything back. Returns whether datapoints remain.
    pub fn advance(&mut self, data: &Dataset, count: usize) -> bool {
        on_pool(|| self.advance_here(data, count))
    }

    fn advance_here(&mut self, data: &Dataset, count: usize) -> bool {
        let end = self.next.saturating_add(count.max(1)).min(data.len());
        for start in (self.next..end).step_by(EVAL_BATCH) {
            let indices: Vec<usize> = (start..(start + EVAL_BATCH).min(end)).collect();
            let m = indices.len();
            let d = self.config.latent_dim;
            let x = data.batch(&indices, self.config.binarization, &mut self.rng);
            let eps = standard_normal(&mut self.rng, m * d);
            let (r, k) = self.sums(&x, &eps, m);
            self.recon = Some(self.recon.take().map_or(r.clone(), |s| s + r));
            self.kl = Some(self.kl.take().map_or(k.clone(), |s| s + k));
        }
        self.next = end;
        self.next < data.len()
    }

    /// The sums over the `m` rows of `x` (host, m × 784) with noise `eps` (m × d) of the
    /// reconstruction term and the KL, not read back: in pieces on threads where there are several.
    fn sums(&self, x: &[f32], eps: &[f32], m: usize) -> (Tensor<1>, Tensor<1>) {
        let d = self.config.latent_dim;
        let model = match &self.model {
            Evaluated::Model(model) => model,
            #[cfg(feature = "webgpu")]
            Evaluated::Kernels(run) => {
                let parts = crate::kernels::loss(run, x, eps, &self.config);
                return (parts.reconstruction.mul_scalar(m as f64), parts.kl.mul_scalar(m as f64));
            }
            #[cfg(not(feature = "webgpu"))]
            Evaluated::Kernels(_) => unreachable!("the kernel path runs on WebGPU, which this build has not"),
        };
        let piece = |(r0, r1): (usize, usize)| {
            let rows = r1 - r0;
            let x = tensor2(x[r0 * PIXELS..r1 * PIXELS].to_vec(), rows, PIXELS, &self.device);
            let eps = tensor2(eps[r0 * d..r1 * d].to_vec(), rows, d, &self.device);
            let parts = negative_elbo(model, x, eps, &self.config);
            // Means weighted by their rows: the sums add up to the batch's, and the batches' to the
            // whole set's.
            (parts.reconstruction.mul_scalar(rows as f64), parts.kl.mul_scalar(rows as f64))
        };
        let pieces = self.threads.min(m);
        let ranges = (0..pieces).map(|s| (s * m / pieces, (s + 1) * m / pieces)).collect();
        map_on_threads(ranges, piece).into_iter().reduce(|(r, k), (r2, k2)| (r + r2, k + k2)).expect("at least one row")
    }

    /// Reads the bound back (one asynchronous read) as the mean over the datapoints done.
    pub async fn finish(self) -> Result<Evaluation> {
        let n = self.next;
        let (recon, kl) = (self.recon.ok_or(VaeError::NoData)?, self.kl.ok_or(VaeError::NoData)?);
        let [recon, kl] = read_scalars([recon, kl]).await?;
        let (recon, kl) = (recon as f64 / n as f64, kl as f64 / n as f64);
        Ok(Evaluation {
            loss: recon + kl,
            reconstruction: recon,
            kl,
            elbo: -(recon + kl),
            examples: n,
        })
    }
}

/// The ELBO on all of `data` (mean over every datapoint); see [`EvaluationRun`].
pub async fn evaluate(model: &Vae, data: &Dataset, config: &VaeConfig, device: &Device, seed: u64) -> Result<Evaluation> {
    let mut run = EvaluationRun::new(model.clone(), config, device, seed);
    while run.advance(data, usize::MAX) {}
    run.finish().await
}

/// `log mean_k exp(w_k)` over dim 0 of `w [k, n]`, computed stably (max subtracted first). → `[n]`.
pub fn log_mean_exp(w: Tensor<2>) -> Tensor<1> {
    let k = w.dims()[0] as f64;
    let max = w.clone().max_dim(0);
    ((w - max.clone()).exp().sum_dim(0).log() + max)
        .sub_scalar(k.ln())
        .squeeze_dim::<1>(0)
}

/// The importance-sampled estimate of the mean of log p(x) over `data`, with `k` samples per
/// datapoint drawn from q(z|x) (Burda et al.'s bound; the paper's appendix D uses the same idea):
/// `log p(x) ≈ log (1/k) Σ_k exp(log p(x|z_k) + log p(z_k) − log q(z_k|x))`.
///
/// At k = 1 its expectation is the ELBO; it does not decrease in expectation as k grows.
pub async fn log_likelihood_estimate(
    model: &Vae,
    data: &Dataset,
    config: &VaeConfig,
    device: &Device,
    k: usize,
    seed: u64,
) -> Result<f64> {
    if k == 0 {
        return Err(VaeError::Argument("importance samples k must be at least 1".into()));
    }
    let mut rng = HostRng::seed_from_u64(seed);
    let d = model.latent_dim();
    let n = data.len();
    let per_batch = (IS_ROWS / k).max(1);
    let mut total: Option<Tensor<1>> = None;
    for start in (0..n).step_by(per_batch) {
        let indices: Vec<usize> = (start..(start + per_batch).min(n)).collect();
        let m = indices.len();
        let x = tensor2(data.batch(&indices, config.binarization, &mut rng), m, PIXELS, device);
        let (mu, log_var) = model.encode(x.clone());
        // Row j·m + i holds sample j of datapoint i.
        let (mu, log_var, x) = (mu.repeat_dim(0, k), log_var.repeat_dim(0, k), x.repeat_dim(0, k));
        let eps = tensor2(standard_normal(&mut rng, k * m * d), k * m, d, device);
        let z = Vae::reparameterize(mu.clone(), log_var.clone(), eps);
        let log_w = log_likelihood(model.decode(z.clone()), x) + log_standard_normal(z.clone())
            - log_normal(z, mu, log_var);
        let batch_sum = log_mean_exp(log_w.reshape([k, m])).sum();
        total = Some(total.map_or(batch_sum.clone(), |t| t + batch_sum));
    }
    let [total] = read_scalars([total.ok_or(VaeError::NoData)?]).await?;
    Ok(total as f64 / n as f64)
}

/// Most rows one call may ask for (a decode of this many digits is 3 GB of pixels).
pub const MAX_ROWS: usize = 1 << 20;

fn check_len(what: &'static str, values: &[f32], rows: usize, cols: usize) -> Result<()> {
    if rows > MAX_ROWS {
        return Err(VaeError::Argument(format!("{what}: {rows} rows is more than the {MAX_ROWS} one call may take")));
    }
    let expected = rows.checked_mul(cols).ok_or_else(|| VaeError::Argument(format!("{what}: {rows} × {cols} is too large")))?;
    if values.len() != expected || rows == 0 {
        return Err(VaeError::Shape {
            what,
            rows,
            cols,
            expected,
            found: values.len(),
        });
    }
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(VaeError::Argument(format!("{what}: values must be finite, found {v}")));
    }
    Ok(())
}

/// q(z|x) of `n` images (`[n, 784]` row-major in [0, 1]) → `(μ, log σ²)`, each `[n, D]` row-major.
pub async fn encode(model: &Vae, images: &[f32], n: usize, device: &Device) -> Result<(Vec<f32>, Vec<f32>)> {
    check_len("images", images, n, PIXELS)?;
    let (mu, log_var) = model.encode(tensor2(images.to_vec(), n, PIXELS, device));
    let [mu, log_var] = read_pair(mu, log_var).await?;
    Ok((mu, log_var))
}

/// E[x|z] for `n` latent points (`[n, D]` row-major) → `[n, 784]` row-major pixel means in [0, 1].
pub async fn decode(model: &Vae, z: &[f32], n: usize, device: &Device) -> Result<Vec<f32>> {
    let d = model.latent_dim();
    check_len("z", z, n, d)?;
    read_values(model.decode(tensor2(z.to_vec(), n, d, device)).mean()).await
}

/// Reconstructions of `n` images: E[x|z = μ(x)] → `[n, 784]` row-major in [0, 1].
pub async fn reconstruct(model: &Vae, images: &[f32], n: usize, device: &Device) -> Result<Vec<f32>> {
    check_len("images", images, n, PIXELS)?;
    let (mu, _) = model.encode(tensor2(images.to_vec(), n, PIXELS, device));
    read_values(model.decode(mu).mean()).await
}

/// `n` digits decoded from z ~ N(0, I) (the paper's figure 5) → `[n, 784]` row-major in [0, 1].
pub async fn sample(model: &Vae, n: usize, device: &Device, seed: u64) -> Result<Vec<f32>> {
    let d = model.latent_dim();
    let z = standard_normal(&mut HostRng::seed_from_u64(seed), n * d);
    decode(model, &z, n, device).await
}

/// The coordinates of the paper's manifold figure along one axis: `n` points evenly spaced in the
/// open unit interval mapped through the inverse Gaussian CDF, `Φ⁻¹((k + ½)/n)` for k = 0..n,
/// increasing. The one place these are computed (the page asks for them too).
pub fn manifold_quantiles(n: usize) -> Result<Vec<f32>> {
    if n == 0 || n > 64 {
        return Err(VaeError::Argument(format!("manifold size must be 1 to 64, got {n}")));
    }
    let normal = Normal::standard();
    Ok((0..n).map(|k| normal.inverse_cdf((k as f64 + 0.5) / n as f64) as f32).collect())
}

/// The latent points of the paper's manifold figure (its figure 4): an `n × n` grid evenly spaced
/// in the open unit square, mapped through the inverse Gaussian CDF.
///
/// Cell (row i, column j) sets `z[dim_x] = Φ⁻¹((j + ½)/n)` and `z[dim_y] = Φ⁻¹(1 − (i + ½)/n)`
/// (y grows upwards, as on a plot); the other coordinates come from `base` (length D).
/// Returns `[n·n, D]` row-major.
pub fn manifold_points(n: usize, dim_x: usize, dim_y: usize, base: &[f32]) -> Result<Vec<f32>> {
    let d = base.len();
    let q = manifold_quantiles(n)?;
    if dim_x >= d || dim_y >= d || (dim_x == dim_y && d > 1) {
        return Err(VaeError::Argument(format!(
            "manifold dimensions {dim_x} and {dim_y} must differ and be below the latent dimension {d}"
        )));
    }
    let mut z = Vec::with_capacity(n * n * d);
    for i in 0..n {
        for j in 0..n {
            let mut point = base.to_vec();
            point[dim_x] = q[j];
            point[dim_y] = q[n - 1 - i];
            z.extend(point);
        }
    }
    Ok(z)
}

/// The manifold grid decoded: `[n·n, 784]` row-major pixel means (see [`manifold_points`]).
pub async fn manifold(model: &Vae, n: usize, dim_x: usize, dim_y: usize, base: &[f32], device: &Device) -> Result<Vec<f32>> {
    let z = manifold_points(n, dim_x, dim_y, base)?;
    decode(model, &z, n * n, device).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifold_grid_is_symmetric_with_known_quantiles() {
        let z = manifold_points(3, 0, 1, &[0.0, 0.0]).unwrap();
        // Φ⁻¹(1/6) ≈ −0.967422, Φ⁻¹(1/2) = 0, Φ⁻¹(5/6) ≈ 0.967422.
        let q = 0.967_422_f32;
        let expect = [
            [-q, q], [0.0, q], [q, q],
            [-q, 0.0], [0.0, 0.0], [q, 0.0],
            [-q, -q], [0.0, -q], [q, -q],
        ];
        for (cell, want) in z.chunks(2).zip(expect) {
            assert!((cell[0] - want[0]).abs() < 1e-5 && (cell[1] - want[1]).abs() < 1e-5, "{cell:?} vs {want:?}");
        }
        // An even n: the grid is symmetric about 0 on both axes and the middle is Φ⁻¹(0.5 ± 1/(2n)).
        let n = 20;
        let z = manifold_points(n, 0, 1, &[0.0, 0.0]).unwrap();
        for j in 0..n {
            assert!((z[2 * j] + z[2 * (n - 1 - j)]).abs() < 1e-5);
        }
        // Φ⁻¹(0.975) ≈ 1.959964: the last column of a 20-grid is at (19.5/20) = 0.975.
        assert!((z[2 * (n - 1)] - 1.959_964).abs() < 1e-5);
    }

    #[test]
    fn manifold_keeps_other_coordinates_and_rejects_bad_dims() {
        let z = manifold_points(2, 2, 0, &[9.0, 8.0, 7.0]).unwrap();
        for cell in z.chunks(3) {
            assert_eq!(cell[1], 8.0);
        }
        assert!(manifold_points(2, 3, 0, &[0.0; 3]).is_err());
        assert!(manifold_points(2, 1, 1, &[0.0; 3]).is_err());
        assert!(manifold_points(0, 0, 1, &[0.0; 2]).is_err());
    }

    #[test]
    fn log_mean_exp_is_stable_and_exact() {
        let device = Device::flex();
        // Columns: (0, ln 3) → ln 2; (1000, 1000) → 1000; (−1000, −1000 + ln 3) → −1000 + ln 2.
        let w = tensor2(vec![0.0, 1000.0, -1000.0, 3f32.ln(), 1000.0, -1000.0 + 3f32.ln()], 2, 3, &device);
        let v: Vec<f32> = log_mean_exp(w).into_data().try_into_vec().unwrap();
        assert!((v[0] - 2f32.ln()).abs() < 1e-5, "{v:?}");
        assert!((v[1] - 1000.0).abs() < 1e-3, "{v:?}");
        assert!((v[2] - (-1000.0 + 2f32.ln())).abs() < 1e-3, "{v:?}");
    }
}
