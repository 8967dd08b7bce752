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
pub(super) fn joint(model: &Vae, seen: &Seen, z: Tensor<2>) -> Result<(Tensor<1>, Tensor<2>, Tensor<2>)> {
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
