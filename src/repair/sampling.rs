//! Self-normalised importance sampling, with the encoder's guess or the refined mixture as the
//! proposal.

use super::*;

/// Where importance sampling draws z from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Proposal {
    /// q(z|x̃), the encoder's guess for the observation as it is (missing pixels zero-filled):
    /// MIWAE's. With an encoder trained on whole digits it can miss p(z|y) badly (a half-blank
    /// digit is not a digit it has seen), and the weights then degenerate.
    Encoder,
    /// Placed, then adapted to its own weights. First [`COMPLETIONS`] short pseudo-Gibbs chains
    /// ([`COMPLETION_STEPS`] steps from x̃, on the device) complete the digit in as many plausible
    /// ways x̂_c, which place the mixture r₀ = ½ q(z|x̃) + ½ (1/C) Σ_c q'(z|x̂_c) (q' being
    /// q(z|x̂_c) with its volume four times larger, since q for a whole digit is narrower than a
    /// posterior given part of one), one tenth of it the prior p(z). Then [`ADAPTATIONS`] pilot
    /// rounds of K / [`PILOT_SHARE`] draws each fit a mixture of Gaussians to the weighted draws so
    /// far (centres resampled by weight, one kernel width by Silverman's rule, doubled: population
    /// Monte Carlo, Cappé et al. 2004), each to a tempered posterior p(y|z)^β p(z) whose β is the
    /// largest that keeps a tenth of the draws effective (adaptive tempering), so that a posterior
    /// too narrow for the pilots to hit is approached through broader ones. The K draws that
    /// count come from ⅓ r₀ + ⅓ the last tempered fit + ⅓ a fit to p(z|y) itself (Hesterberg's
    /// defensive importance sampling: no weight exceeds 30 p(y|z)). The completions and pilots
    /// only place the proposal: the last K draws are weighted against its exact density, so the
    /// estimate stays exact as K grows (and log p(y) a lower bound in expectation), where
    /// pseudo-Gibbs alone is not. The pilots cost K / 2 decoder passes more and a read each.
    Refined,
}

/// Completions of the digit that place the refined proposal ([`Proposal::Refined`]).
pub const COMPLETIONS: usize = 16;
/// Pseudo-Gibbs steps of each completion.
pub const COMPLETION_STEPS: usize = 20;
/// Pilot rounds that adapt the refined proposal ([`Proposal::Refined`]).
pub const ADAPTATIONS: usize = 2;
/// Each pilot round draws K / `PILOT_SHARE` points.
pub const PILOT_SHARE: usize = 4;
/// The share of the refined proposal's last mixture kept at the completions' placement r₀.
const DEFENSIVE_SHARE: f64 = 1.0 / 3.0;
/// The prior's share of r₀.
const PRIOR_SHARE: f64 = 0.1;
/// Components of the mixture fitted to the pilots' weighted draws.
const FITTED_COMPONENTS: usize = 16;
/// The effective sample size, as a share of the pilots' draws, that each tempered target keeps.
const TEMPERING_ESS: f64 = 0.1;
/// The fitted components' standard deviation is at least this (in each dimension of z).
const FITTED_FLOOR: f64 = 0.01;

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

/// log p(y|z) p(z) and the decoded pixels of `z` (`[n, D]`).
pub(super) fn joint(model: &Vae, seen: &Seen, z: Tensor<2>) -> (Tensor<1>, Pixels) {
    let pixels = Pixels::decode(model, z.clone());
    (pixels.observation_log_likelihood(seen) + log_standard_normal(z), pixels)
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
    check_decoder(model, observation)?;
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
            let placed = placed_by_completions(model, observation, mu.clone(), log_var.clone(), &mut rng, device)?;
            let mut found = Draws::default();
            let mut proposal = placed.clone();
            let mut temperature = 0.0;
            for round in 1..=ADAPTATIONS {
                let pilot = proposal.draw((n / PILOT_SHARE).max(2 * COMPLETIONS), &mut rng, device);
                let log_likelihood = Pixels::decode(model, pilot.clone()).observation_log_likelihood(&seen);
                let log_rest = log_standard_normal(pilot.clone()) - proposal.log_density(pilot.clone());
                let values = read_values(Tensor::cat(vec![log_likelihood, log_rest, pilot.reshape([-1])], 0)).await?;
                let k = values.len() / (d + 2);
                found.extend(&values[..k], &values[k..2 * k], &values[2 * k..]);
                temperature = found.next_temperature(temperature);
                let fitted = found.fitted(temperature, d, &mut rng, device);
                proposal = if round < ADAPTATIONS {
                    Mixture::join(vec![placed.clone().scaled(DEFENSIVE_SHARE), fitted.scaled(1.0 - DEFENSIVE_SHARE)])
                } else {
                    // The last mixture also fits p(z|y) itself: where the pilots found it, the
                    // tempered fit (broader) costs a share of the draws; where they did not,
                    // it keeps the estimate from resting on a stray draw.
                    let exact = found.fitted(1.0, d, &mut rng, device);
                    let share = (1.0 - DEFENSIVE_SHARE) / 2.0;
                    Mixture::join(vec![placed.clone().scaled(DEFENSIVE_SHARE), fitted.scaled(share), exact.scaled(share)])
                };
            }
            let z = proposal.draw(n, &mut rng, device);
            let log_r = proposal.log_density(z.clone());
            (z, log_r)
        }
    };
    let (log_joint, pixels) = joint(model, &seen, z.clone());
    let log_w = log_joint - log_proposal;
    let first = read_values(Tensor::cat(vec![log_w, mu.reshape([d]), log_var.reshape([d]), z.reshape([n * d])], 0)).await?;
    let (log_w, q_mu, q_log_var, z) = (&first[..n], first[n..n + d].to_vec(), first[n + d..n + 2 * d].to_vec(), &first[n + 2 * d..]);
    let means = pixels.means(&seen);
    let truth_ll = truth.map(|t| pixels.truth_log_likelihood(&seen, tensor2(t.to_vec(), 1, PIXELS, device), means.clone()));
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

/// r₀ of [`Proposal::Refined`]: the prior, q(z|x̃) (`mu`, `log_var`, `[1, D]`) and the widened
/// q(z|x̂_c) of the digit's completions.
fn placed_by_completions(model: &Vae, observation: &Observation, mu: Tensor<2>, log_var: Tensor<2>, rng: &mut HostRng, device: &Device) -> Result<Mixture> {
    let d = model.latent_dim();
    let completed = complete_by_pseudo_gibbs(model, observation, rng, device)?;
    let (mu_c, log_var_c) = model.encode(completed);
    let log_var_c = log_var_c.add_scalar(2.0 * 4f64.ln() / d as f64);
    let rest = 1.0 - PRIOR_SHARE;
    Ok(Mixture::join(vec![
        Mixture::new(Tensor::zeros([1, d], device), Tensor::zeros([1, d], device), PRIOR_SHARE),
        Mixture::new(mu, log_var, rest / 2.0),
        Mixture::new(mu_c, log_var_c, rest / 2.0),
    ]))
}

/// A mixture of Gaussians over z with diagonal covariances: the components' means and
/// log-variances `[C, D]` on the device, their weights' logs on the host.
#[derive(Clone)]
struct Mixture {
    mu: Tensor<2>,
    log_var: Tensor<2>,
    log_weight: Vec<f64>,
}

impl Mixture {
    /// The components `mu`, `log_var` (`[C, D]`) with equal weights that sum to `weight`.
    fn new(mu: Tensor<2>, log_var: Tensor<2>, weight: f64) -> Self {
        let c = mu.dims()[0];
        Self { mu, log_var, log_weight: vec![(weight / c as f64).ln(); c] }
    }

    /// The components of all `parts`, each keeping its weight.
    fn join(parts: Vec<Mixture>) -> Self {
        let log_weight = parts.iter().flat_map(|m| m.log_weight.iter().copied()).collect();
        let (mu, log_var): (Vec<_>, Vec<_>) = parts.into_iter().map(|m| (m.mu, m.log_var)).unzip();
        Self { mu: Tensor::cat(mu, 0), log_var: Tensor::cat(log_var, 0), log_weight }
    }

    /// The same mixture with its weights multiplied by `share`.
    fn scaled(self, share: f64) -> Self {
        Self { log_weight: self.log_weight.iter().map(|w| w + share.ln()).collect(), ..self }
    }

    /// `n` draws, `[n, D]`: each picks a component by weight on the host.
    fn draw(&self, n: usize, rng: &mut HostRng, device: &Device) -> Tensor<2> {
        let [c, d] = self.mu.dims();
        let weights: Vec<f64> = self.log_weight.iter().map(|w| w.exp()).collect();
        let picks: Vec<f32> = (0..n)
            .flat_map(|_| {
                let pick = pick_by_weight(&weights, rng.random::<f64>() * weights.iter().sum::<f64>());
                (0..c).map(move |j| (j == pick) as u8 as f32)
            })
            .collect();
        let picks = tensor2(picks, n, c, device);
        Vae::reparameterize(picks.clone().matmul(self.mu.clone()), picks.matmul(self.log_var.clone()), tensor2(standard_normal(rng, n * d), n, d, device))
    }

    /// log r(z) of each row of `z` (`[n, D]` → `[n]`).
    fn log_density(&self, z: Tensor<2>) -> Tensor<1> {
        let ([n, d], c) = (z.dims(), self.log_weight.len());
        let device = z.device();
        let z = z.reshape([n, 1, d]);
        let (mu, log_var) = (self.mu.clone().reshape([1, c, d]), self.log_var.clone().reshape([1, c, d]));
        let square = (z - mu).square() * log_var.clone().neg().exp();
        let log_normal = (square + log_var).add_scalar(LN_2PI).sum_dim(2).mul_scalar(-0.5).reshape([n, c]);
        let log_weight = Tensor::<1>::from_data(TensorData::new(self.log_weight.iter().map(|&w| w as f32).collect::<Vec<f32>>(), [c]), &device);
        log_sum_exp_rows(log_normal + log_weight.reshape([1, c]))
    }
}

/// The pilots' draws so far, on the host: each one's log p(y|z), log p(z) − log r(z) and z.
#[derive(Default)]
struct Draws {
    log_likelihood: Vec<f32>,
    log_rest: Vec<f32>,
    z: Vec<f32>,
}

impl Draws {
    fn extend(&mut self, log_likelihood: &[f32], log_rest: &[f32], z: &[f32]) {
        self.log_likelihood.extend_from_slice(log_likelihood);
        self.log_rest.extend_from_slice(log_rest);
        self.z.extend_from_slice(z);
    }

    /// The draws' normalised weights for the tempered target p(y|z)^β p(z), and their effective
    /// sample size.
    fn weights(&self, temperature: f64) -> (Vec<f64>, f64) {
        let log_w: Vec<f32> = self.log_likelihood.iter().zip(&self.log_rest).map(|(&l, &r)| (temperature * l as f64) as f32 + r).collect();
        let total = log_sum_exp(&log_w);
        let w: Vec<f64> = log_w.iter().map(|&v| if total.is_finite() { (v as f64 - total).exp() } else { 1.0 / log_w.len() as f64 }).collect();
        let effective = 1.0 / w.iter().map(|w| w * w).sum::<f64>();
        (w, effective)
    }

    /// The next β of the tempered targets (adaptive tempering, as in Jasra et al. 2011): 1 if the
    /// draws' weights for p(z|y) itself keep an effective sample size of [`TEMPERING_ESS`] of
    /// them, else the largest β above `from` that does (by bisection). A posterior too narrow for
    /// the pilots to hit is then approached through broader ones instead of fitted to a stray draw.
    fn next_temperature(&self, from: f64) -> f64 {
        let wanted = TEMPERING_ESS * self.log_likelihood.len() as f64;
        if self.weights(1.0).1 >= wanted {
            return 1.0;
        }
        let (mut low, mut high) = (from, 1.0);
        for _ in 0..30 {
            let middle = 0.5 * (low + high);
            if self.weights(middle).1 >= wanted { low = middle } else { high = middle }
        }
        low.max(from)
    }

    /// A mixture of [`FITTED_COMPONENTS`] Gaussians fitted to the weighted draws: centres
    /// resampled by weight, one diagonal kernel whose variance is the weighted variance scaled
    /// by Silverman's factor (4 / ((D + 2) n))^(2 / (D + 4)) with n the effective sample size.
    fn fitted(&self, temperature: f64, d: usize, rng: &mut HostRng, device: &Device) -> Mixture {
        let (w, effective) = self.weights(temperature);
        let at = |i: usize, j: usize| self.z[i * d + j] as f64;
        let mean: Vec<f64> = (0..d).map(|j| w.iter().enumerate().map(|(i, w)| w * at(i, j)).sum()).collect();
        let factor = 2.0 * (4.0 / ((d as f64 + 2.0) * effective)).powf(2.0 / (d as f64 + 4.0));
        let log_var: Vec<f32> = (0..d)
            .map(|j| {
                let variance: f64 = w.iter().enumerate().map(|(i, w)| w * (at(i, j) - mean[j]).powi(2)).sum();
                (factor * variance).max(FITTED_FLOOR * FITTED_FLOOR).ln() as f32
            })
            .collect();
        let centres: Vec<f32> = (0..FITTED_COMPONENTS)
            .flat_map(|_| {
                let i = pick_by_weight(&w, rng.random::<f64>());
                self.z[i * d..(i + 1) * d].to_vec()
            })
            .collect();
        let log_var = (0..FITTED_COMPONENTS).flat_map(|_| log_var.clone()).collect();
        Mixture::new(tensor2(centres, FITTED_COMPONENTS, d, device), tensor2(log_var, FITTED_COMPONENTS, d, device), 1.0)
    }
}

/// `log Σ_j exp(x_ij)` of each row, stable.
pub(super) fn log_sum_exp_rows(x: Tensor<2>) -> Tensor<1> {
    let max = x.clone().max_dim(1);
    (x - max.clone()).exp().sum_dim(1).log().add(max).squeeze_dim::<1>(1)
}

/// [`COMPLETIONS`] completions of the observed digit, `[C, 784]`: side-by-side pseudo-Gibbs chains
/// of [`COMPLETION_STEPS`] steps from x̃ (z ~ q(z | x̂), then x̂ ~ p(x | z, y)), their last states'
/// pixel means, all on the device.
pub(super) fn complete_by_pseudo_gibbs(model: &Vae, observation: &Observation, rng: &mut HostRng, device: &Device) -> Result<Tensor<2>> {
    let (rows, d) = (COMPLETIONS, model.latent_dim());
    let seen = Seen::new(&[observation], rows, device)?;
    let start: Vec<f32> = (0..rows).flat_map(|_| observation.encoder_input()).collect();
    let mut x = tensor2(start, rows, PIXELS, device);
    let mut means = x.clone();
    for _ in 0..COMPLETION_STEPS {
        let (mu, log_var) = model.encode(x);
        let z = Vae::reparameterize(mu, log_var, tensor2(standard_normal(rng, rows * d), rows, d, device));
        let pixels = Pixels::decode(model, z);
        means = pixels.means(&seen);
        x = pixels.draw(&seen, means.clone(), rng, device);
    }
    Ok(means)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::t2;

    /// Two components in 2-D, weights ¼ and ¾.
    fn two() -> Mixture {
        Mixture::join(vec![
            Mixture::new(t2(vec![-1.0, 0.5], 1), t2(vec![0.0, -1.0], 1), 0.25),
            Mixture::new(t2(vec![2.0, -2.0], 1), t2(vec![-2.0, 0.5], 1), 0.75),
        ])
    }

    #[test]
    fn a_mixtures_density_is_its_weighted_sum_of_gaussians() {
        let normal = |x: f64, mu: f64, log_var: f64| (-(x - mu).powi(2) / (2.0 * log_var.exp()) - 0.5 * (LN_2PI + log_var)).exp();
        let points = [(0.0, 0.0), (-1.0, 0.5), (2.1, -1.7), (5.0, 5.0)];
        let z = t2(points.iter().flat_map(|&(a, b)| [a as f32, b as f32]).collect(), points.len());
        let got = two().log_density(z).into_data().try_into_vec::<f32>().unwrap();
        for (&(a, b), got) in points.iter().zip(got) {
            let want = 0.25 * normal(a, -1.0, 0.0) * normal(b, 0.5, -1.0) + 0.75 * normal(a, 2.0, -2.0) * normal(b, -2.0, 0.5);
            assert!((got as f64 - want.ln()).abs() < 1e-4, "at ({a}, {b}): {got} vs {}", want.ln());
        }
    }

    #[test]
    fn a_mixtures_draws_pick_components_by_weight() {
        let n = 20_000;
        let z = two().draw(n, &mut HostRng::seed_from_u64(3), &Device::flex()).into_data().try_into_vec::<f32>().unwrap();
        let mean = |j: usize| z.iter().skip(j).step_by(2).map(|&v| v as f64).sum::<f64>() / n as f64;
        // E z = ¼ (−1, ½) + ¾ (2, −2).
        assert!((mean(0) - 1.25).abs() < 0.03 && (mean(1) + 1.375).abs() < 0.05, "{} {}", mean(0), mean(1));
    }

    #[test]
    fn the_fitted_mixture_sits_on_the_heavy_draws() {
        // Three draws, nearly all the weight on the one at (3, 3).
        let draws = Draws { log_likelihood: vec![0.0, 20.0, 0.0], log_rest: vec![0.0; 3], z: vec![-3.0, -3.0, 3.0, 3.0, 0.0, 0.0] };
        let fitted = draws.fitted(1.0, 2, &mut HostRng::seed_from_u64(1), &Device::flex());
        let centres = fitted.mu.into_data().try_into_vec::<f32>().unwrap();
        assert!(centres.iter().all(|&c| c == 3.0), "{centres:?}");
        let sd = fitted.log_var.into_data().try_into_vec::<f32>().unwrap().iter().map(|v| (0.5 * v).exp()).fold(0f32, f32::max);
        assert!(sd < 0.1, "one draw holds the weight, the kernel is narrow: {sd}");
    }
}
