//! A training step spread over threads: the minibatch cut into pieces of consecutive rows, each
//! propagated forward and back through its own fork of the model on a thread of rayon's pool,
//! their gradients summed before the one update (see [`Trainer::set_threads`]).

use burn::optim::GradientsParams;
use burn::prelude::*;

use super::Trainer;
use crate::config::PIXELS;
use crate::flex::sum_into_first;
use crate::loss::{negative_elbo, LossParts};
use crate::model::Vae;
use crate::pool::{pieces_then, spread_model_passes};
use crate::transfer::{now_ms, tensor2};

/// The fewest rows worth a piece of their own. Every piece writes gradients as large as the model,
/// however few its rows, and they are all summed: below this, more pieces cost more than they
/// save (measured in docs/benchmarks.md).
pub const ROWS_PER_PIECE: usize = 25;

/// The first piece of a step gets a `1 / HEAD_START_SHARE` share of a piece's rows more than the
/// others, for the time the other threads take to wake up (docs/benchmarks.md).
const HEAD_START_SHARE: usize = 25;

impl Trainer {
    /// The step of the minibatch `x` (host rows) with noise `eps` (made by `batched`, in ms), in
    /// `self.pieces` pieces on as many threads (see [`Trainer::set_threads`]): their gradients
    /// summed, then the update, while the threads that computed the other pieces wait awake to
    /// share the update's passes ([`pieces_then`]).
    pub(super) fn step_in_pieces(&mut self, x: Vec<f32>, eps: Vec<f32>, batched: f64) -> LossParts {
        let (m, l, d) = (self.batcher.batch_size(), self.config.samples, self.config.latent_dim);
        // The first piece runs on the pool thread that takes the step, the others only once another
        // thread has woken up: the first piece starts with more rows, taken from the last.
        let head_start = m / self.pieces / HEAD_START_SHARE;
        let cut = |s: usize| match s {
            0 => 0,
            s if s == self.pieces => m,
            s => s * m / self.pieces + head_start,
        };
        // Each piece owns its fork of the model (its own autodiff graph), so that once the pieces
        // are done only the trainer holds the weights and the update writes them in place
        // (src/optim.rs). The forks are made here, one after the other: made by the pieces at once,
        // they would queue on the autodiff graphs' one lock and the later pieces start later.
        let pieces: Vec<_> = (0..self.pieces)
            .map(|s| {
                let (r0, r1) = (cut(s), cut(s + 1));
                // The noise of sample `j` of row `r` is row `j·m + r` (the rows of x repeated L times).
                let eps: Vec<f32> = (0..l).flat_map(|j| eps[(j * m + r0) * d..(j * m + r1) * d].iter().copied()).collect();
                (self.model().clone().fork(&self.device), x[r0 * PIXELS..r1 * PIXELS].to_vec(), eps, r1 - r0)
            })
            .collect();
        let (device, config) = (self.device.clone(), self.config.clone());
        let piece = |(fork, x, eps, rows): (Vae, Vec<f32>, Vec<f32>, usize)| {
            let x = tensor2(x, rows, PIXELS, &device);
            let eps = tensor2(eps, l * rows, d, &device);
            let parts = negative_elbo(&fork, x, eps, &config);
            // Each piece's means, weighted by its share of the rows, sum to the minibatch's.
            let share = rows as f64 / m as f64;
            let loss = parts.loss.mul_scalar(share);
            let grads = GradientsParams::from_grads(loss.backward(), &fork);
            let parts = LossParts {
                loss: loss.inner(),
                reconstruction: parts.reconstruction.inner().mul_scalar(share),
                kl: parts.kl.inner().mul_scalar(share),
            };
            (parts, grads)
        };
        pieces_then(pieces, piece, |results| {
            let summing = now_ms();
            self.profile.gradients += summing - batched;
            let (parts, grads) = self.sum_pieces(results);
            self.profile.sum += now_ms() - summing;
            self.update(grads);
            parts
        })
    }

    /// The pieces' loss parts and gradients, summed.
    fn sum_pieces(&self, results: Vec<(LossParts, GradientsParams)>) -> (LossParts, GradientsParams) {
        struct Sum(Vec<GradientsParams>, GradientsParams);
        impl burn::module::ModuleVisitor for Sum {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                let pieces: Vec<_> = self.0.iter_mut().filter_map(|g| g.remove::<D>(param.id)).collect();
                if let Some(total) = sum_of_pieces(pieces) {
                    self.1.register(param.id, total);
                }
            }
        }
        let (parts, grads): (Vec<LossParts>, Vec<GradientsParams>) = results.into_iter().unzip();
        let mut sum = Sum(grads, GradientsParams::new());
        self.model().visit(&mut sum);
        let parts = parts.into_iter().reduce(|a, b| a + b).expect("at least one piece");
        (parts, sum.1)
    }
}

/// The sum of the pieces' gradients of one parameter, value by value in the pieces' order (so the
/// same numbers however it is spread). On Flex, while another thread waits for the pass
/// ([`spread_model_passes`]), on slices of the values on rayon's pool; otherwise as tensor
/// additions.
fn sum_of_pieces<const D: usize>(pieces: Vec<Tensor<D>>) -> Option<Tensor<D>> {
    if pieces.len() < 2 || !spread_model_passes() || pieces[0].device() != Device::flex() {
        return pieces.into_iter().reduce(|a, b| a + b);
    }
    Some(sum_into_first(pieces))
}
