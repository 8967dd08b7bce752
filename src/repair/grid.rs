//! The exact repair on a grid of the plane (latent dimension 2), the grid's decoder output kept
//! per model state.

use super::*;

/// The decoder's output on a grid of the plane, kept (per model state) so that each repair is a
/// few matrix products: for missing pixels under the Bernoulli decoder,
/// log p(y|z) = log p · (m ⊙ y) + log(1 − p) · (m ⊙ (1 − y)) over the G points at once (see
/// `Pixels::masked_log_likelihood`).
///
/// Holds three `[G, 784]` tensors (log p and log(1 − p), or μ and log σ², and the decoder's mean,
/// kept rather than taken anew from the points that hold mass on every repair): 87 MB at side 96,
/// 154 MB at 128.
pub struct RepairGrid {
    side: usize,
    half_width: f64,
    points: Vec<f32>,
    log_prior: Tensor<1>,
    pixels: Pixels,
    mean: Tensor<2>,
    device: Device,
}

impl RepairGrid {
    /// Decodes the `side × side` cell centres of `[−half_width, half_width]²` (a model with a 2-D
    /// latent space only).
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
        let pixels = Pixels::decode(model, z.clone());
        Ok(Self {
            side,
            half_width,
            mean: pixels.decoder_mean(),
            pixels,
            log_prior: log_standard_normal(z),
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

/// The exact repair on a grid (latent dimension 2): p(z|y) ∝ p(y|z) p(z) normalised over the
/// grid's points, log p(y) = log Σ_g p(y|z_g) p(z_g) + log(cell area) (a Riemann sum), the
/// repaired digit Σ_g p(z_g|y) E[x | z_g, y], imputations from points drawn by their mass (points
/// below e^−30 of the largest left out). Two reads.
pub async fn repair_on_grid(model: &Vae, grid: &RepairGrid, observation: &Observation, truth: Option<&[f32]>, seed: u64) -> Result<Repair> {
    observation.validate()?;
    check_decoder(model, observation)?;
    check_truth(truth)?;
    let device = &grid.device;
    let seen = Seen::new(&[observation], 1, device)?;
    let log_likelihood = match seen.kind {
        Kind::Missing => grid.pixels.masked_log_likelihood(seen.fixed.clone(), seen.y.clone()),
        _ => grid.pixels.observation_log_likelihood(&seen),
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
    let pixels = grid.pixels.select(rows.clone());
    let means = match seen.kind {
        Kind::Missing => PixelMeans::Masked { p: grid.mean.clone().select(0, rows), fixed: seen.fixed.clone(), y: seen.y.clone() },
        _ => PixelMeans::Dense(pixels.means(&seen)),
    };
    let truth_ll = truth.map(|t| {
        let t = tensor2(t.to_vec(), 1, PIXELS, device);
        match &means {
            PixelMeans::Masked { p, .. } => pixels.truth_log_likelihood(&seen, t, p.clone()),
            PixelMeans::Dense(m) => pixels.truth_log_likelihood(&seen, t, m.clone()),
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
