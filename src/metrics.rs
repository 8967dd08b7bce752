//! What a chunk of training steps reports: the losses, the speed, and where the time went.

use serde::Serialize;

/// What a chunk of training steps reports (means over the chunk's steps, nats per datapoint).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkMetrics {
    /// Steps taken since the start.
    pub step: u64,
    /// Complete epochs so far.
    pub epoch: usize,
    /// Fraction of the current epoch done.
    pub epoch_progress: f64,
    /// Datapoints seen since the start (the paper's x-axis).
    pub examples_seen: u64,
    /// The minimised objective: reconstruction + β · KL (the negative ELBO when β = 1).
    pub loss: f64,
    /// −E_q[log p(x|z)].
    pub reconstruction: f64,
    /// KL(q(z|x) ‖ p(z)).
    pub kl: f64,
    /// Steps in this chunk.
    pub steps: usize,
    /// Training speed over this chunk (compute only, the read-back included).
    pub examples_per_second: f64,
    /// Milliseconds per step over this chunk.
    pub ms_per_step: f64,
    /// Whether an epoch was completed during this chunk: the moment to evaluate the test bound
    /// (the policy the page and the native trainer share).
    pub epoch_ended: bool,
    /// Where the chunk's time went, per step.
    pub profile: StepProfile,
}

/// Where a chunk's time went, in milliseconds per step, as the thread that runs the steps sees it
/// (on WebGPU: the time to queue the work, not to do it). What the benchmarks print with
/// `--profile` (`tests/bench/steady.mjs`): the parts that the threads do not share.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepProfile {
    /// Keeping the chunk's start to undo it (the save point), once per chunk.
    pub save_point: f64,
    /// The minibatch and its noise, on the host.
    pub batch: f64,
    /// Forward and back: on several threads, the pieces' (in parallel) until the last is done.
    pub gradients: f64,
    /// The pieces' gradients summed (several threads only).
    pub sum: f64,
    /// The optimizer's update of every parameter.
    pub update: f64,
    /// Reading the chunk's losses back, once per chunk.
    pub read_back: f64,
    /// The share of steps whose sum and update were spread over the pool (another thread waited
    /// awake for them: [`crate::pool::spread_model_passes`]).
    pub spread: f64,
}

impl StepProfile {
    pub(crate) fn per_step(self, n: usize) -> Self {
        let n = n.max(1) as f64;
        let Self { save_point, batch, gradients, sum, update, read_back, spread } = self;
        Self {
            save_point: save_point / n,
            batch: batch / n,
            gradients: gradients / n,
            sum: sum / n,
            update: update / n,
            read_back: read_back / n,
            spread: spread / n,
        }
    }
}
