//! The two Markov chains on (z, x̂): Metropolis-within-Gibbs and pseudo-Gibbs, many digits side by
//! side.

use super::*;

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
    /// steps are the exact chain's. None by default: on the trained models it helped the 20-D
    /// model under flips and hurt elsewhere, the 2-D model most (docs/benchmarks.md).
    pub warm_up: usize,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self { steps: 300, burn_in: 50, chains: 1, warm_up: 0 }
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
/// noise; for a low-resolution observation x̂ is drawn pixel by pixel from each one's posterior
/// given its block mean (`Pixels::means`), an approximation. The first steps of the burn-in may
/// move by pseudo-Gibbs (a warm start, [`ChainOptions::warm_up`]); the acceptance rate counts the
/// kept steps only. `truth` scores the repair. One read per step.
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
pub(super) async fn metropolis_step(log_ratio: Tensor<1>, proposal: Tensor<2>, current: &mut [f32], rng: &mut HostRng) -> Result<Vec<bool>> {
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
    for o in observations {
        check_decoder(model, o)?;
    }
    let mut rng = HostRng::seed_from_u64(seed);

    let start = observations.iter().flat_map(|o| { let x = o.encoder_input(); (0..chains).flat_map(move |_| x.clone()) }).collect();
    let mut x = tensor2(start, rows, PIXELS, device);
    let (mu, log_var) = model.encode(x.clone());
    let (q_mu, q_log_var) = (mu.clone(), log_var.clone());
    let mut z = Vae::reparameterize(mu, log_var, tensor2(standard_normal(&mut rng, rows * d), rows, d, device));
    let mut pixels = Pixels::decode(model, z.clone());
    // The chains' states on the host too, for the trace.
    let mut current = read_values(z.clone()).await?;
    // The pixels' posterior means given the chain's state, carried along with it.
    let mut means = pixels.means(&seen);
    x = pixels.draw(&seen, means.clone(), &mut rng, device);

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
        let proposed_pixels = Pixels::decode(model, proposal.clone());
        let proposed = proposed_pixels.means(&seen);
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
                let new = proposed_pixels.log_likelihood_of(x.clone()) + log_standard_normal(proposal.clone())
                    - log_normal(proposal.clone(), mu.clone(), log_var.clone());
                let old = pixels.log_likelihood_of(x.clone()) + log_standard_normal(z.clone()) - log_normal(z.clone(), mu, log_var);
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
            let truth_of = |pixels: &Pixels, means: &Tensor<2>| {
                truth.as_ref().map(|t| pixels.truth_log_likelihood(&seen, t.clone(), means.clone()).reshape([rows, 1]))
            };
            let proposed_truth = truth_of(&proposed_pixels, &proposed);
            let (mean, mean_square, truth_term) = match acceptance {
                None => (proposed.clone(), proposed.clone().square(), proposed_truth),
                Some(alpha) => {
                    let stay = alpha.clone().neg().add_scalar(1.0);
                    let kept = means.clone();
                    let kept_truth = truth_of(&pixels, &kept);
                    // log(α e^a + (1 − α) e^b) with the weights inside the exponents, so that the
                    // larger of the two weighted terms sets the scale: with α = 0 (a ratio under
                    // e^−104 in f32) and a far above b, α · e^(a − a) + e^(b − a) is 0 + 0, −∞.
                    let (log_take, log_stay) = (alpha.clone().log(), stay.clone().log());
                    let truth_term = proposed_truth.zip(kept_truth).map(|(a, b)| {
                        let (a, b) = (a + log_take, b + log_stay);
                        let top = a.clone().max_pair(b.clone());
                        ((a - top.clone()).exp() + (b - top.clone()).exp()).log() + top
                    });
                    (
                        proposed.clone() * alpha.clone() + kept.clone() * stay.clone(),
                        proposed.clone().square() * alpha + kept.square() * stay,
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
        pixels = pixels.blend(&a, &proposed_pixels);
        means = a * proposed + keep * means;
        // Fewer kept steps than imputations: a step serves as several.
        for _ in keep_at.iter().filter(|&&at| at == step) {
            kept_means.push(means.clone());
        }
        x = pixels.draw(&seen, means.clone(), &mut rng, device);
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
