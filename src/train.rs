//! Our own training loop: a trainer that owns the model, the optimizer and the seeded randomness.
//!
//! `burn-train`'s `Learner` does not run in the browser. A step returns its loss tensors without
//! reading them back, so the caller decides when to pay for a read (on WebGPU in wasm only async
//! reads exist); [`Trainer::train_steps`] reads once per chunk.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::prelude::*;
use rand::SeedableRng;
use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::config::{VaeConfig, PIXELS};
use crate::data::{Batcher, Dataset};
use crate::pool::{map_on_threads, on_pool, pieces_then, spread_model_passes, SLICE};
use crate::error::{Result, VaeError};
use crate::loss::{negative_elbo, LossParts};
use crate::model::Vae;
use crate::optim::{contiguous, flex, optimizer};
use crate::optim_state::{check_optimizer_bytes, optimizer_bytes};
use crate::transfer::{module_on_host, yield_to_other_tasks, HostRng, now_ms, read_scalars, restore_rng, save_rng, standard_normal, tensor2};

/// The fewest rows worth a piece of their own when a step is spread over threads. Every piece
/// writes gradients as large as the model, however few its rows, and they are all summed: with 16
/// threads on 16 cores, M = 100, 16 pieces of 6 rows trained at 12,100 examples/s, 8 pieces at
/// 17,700, 2 to 4 pieces (the other threads on the matrix products) at 20,300 – 22,600
/// (docs/benchmarks.md).
pub const ROWS_PER_PIECE: usize = 25;

/// Salt of the evaluation noise: the test bound of a model is computed with the noise of
/// `config.seed ^ EVALUATION_SALT`, the same in the page and in the native trainer, so the two
/// report the same number for the same weights.
pub const EVALUATION_SALT: u64 = 0x7e57;

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
    /// awake for them: [`spread_model_passes`]).
    pub spread: f64,
}

impl StepProfile {
    fn per_step(self, n: usize) -> Self {
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

/// Everything a training step changes: the parameters (Burn's tensors are shared, so taking one
/// copies nothing), the optimizer's state, the host generator, the batcher's place and the step
/// count, with the config. Kept before a chunk so that a chunk whose loss comes back non-finite can
/// be undone, and taken to save the run: its tensors are read back while training goes on.
pub struct SavePoint {
    config: VaeConfig,
    model: Vae,
    optim: ModuleOptimizer,
    rng: [u8; 49],
    batcher: Batcher,
    step: u64,
}

impl SavePoint {
    /// Steps taken when it was taken.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The run as it was (see [`Checkpoint`]), with `extra` bytes of the caller's, from any
    /// backend: the tensors are read back asynchronously.
    ///
    /// On the CPU the reads are copies on this thread; the two halves (weights, optimizer) run in
    /// separate tasks of the browser's event loop, so neither holds it for long.
    pub async fn checkpoint(self, extra: Vec<u8>) -> Result<Checkpoint> {
        yield_to_other_tasks().await;
        let weights = weights_bytes(self.model.valid()).await?;
        yield_to_other_tasks().await;
        let optimizer = optimizer_bytes(&self.optim).await?;
        let (epoch, cursor, order) = self.batcher.to_parts();
        Ok(Checkpoint {
            config: self.config,
            weights,
            optimizer,
            rng: self.rng,
            epoch,
            cursor,
            order: order.to_vec(),
            step: self.step,
            extra,
        })
    }
}

/// `model`'s weights as a burnpack file's bytes (what `vae train --out` writes), from any
/// backend: the parameters are read back asynchronously.
async fn weights_bytes(model: Vae) -> Result<Vec<u8>> {
    let bytes = module_on_host(model).await?.into_record().into_bytes().map_err(|e| VaeError::Record(e.to_string()))?;
    Ok(bytes.to_vec())
}

/// Owns a model, its optimizer and the randomness of training.
pub struct Trainer {
    config: VaeConfig,
    device: Device,
    /// The model being trained (taken out only while the optimizer updates it, so that its
    /// parameters are not shared then and the CPU update can reuse their memory).
    model: Option<Vae>,
    optim: ModuleOptimizer,
    rng: HostRng,
    batcher: Batcher,
    step: u64,
    /// The state at the start of the latest chunk whose loss looked healthy: where a divergence
    /// rolls back to (see [`Trainer::train_steps`]).
    anchor: Option<SavePoint>,
    /// The lowest chunk loss so far.
    best_loss: f64,
    /// How many pieces each minibatch is cut into, each propagated forward and back on a thread
    /// of its own (see [`Trainer::set_threads`]).
    shards: usize,
    /// Where the time of the chunk in progress went (totals, see [`StepProfile`]).
    profile: StepProfile,
}

/// The largest weights file read (a 4-layer 4096-unit model is about 300 MB).
pub const MAX_WEIGHTS_BYTES: usize = 512 << 20;

/// A chunk is healthy when its mean loss is at most this many times the lowest so far.
const HEALTHY_RATIO: f64 = 1.5;

impl Trainer {
    /// A fresh model and optimizer for `config`, to train on a set of `train_len` datapoints.
    ///
    /// `device` is a plain device (Flex or WebGPU); the trainer adds autodiff itself.
    pub fn new(config: VaeConfig, device: &Device, train_len: usize) -> Result<Self> {
        config.validate()?;
        if train_len == 0 {
            return Err(VaeError::NoData);
        }
        let device = device.clone().autodiff();
        let mut rng = HostRng::seed_from_u64(config.seed);
        let model = Vae::new(&config, &mut rng, &device);
        let optim = optimizer(&config);
        let batcher = Batcher::new(train_len, config.batch_size, &mut rng);
        Ok(Self {
            config,
            device,
            model: Some(model),
            optim,
            rng,
            batcher,
            step: 0,
            anchor: None,
            best_loss: f64::INFINITY,
            shards: 1,
            profile: StepProfile::default(),
        })
    }

    /// The config this trainer was built from.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    fn model(&self) -> &Vae {
        self.model.as_ref().expect("the model is only taken out during an update")
    }

    /// The model without autodiff, for evaluation and inference.
    pub fn inference_model(&self) -> Vae {
        self.model().valid()
    }

    /// Replaces the model's parameters with weights saved by `vae train --out` (a burnpack
    /// file's bytes). The weights must fit this trainer's config (latent dimension, hidden sizes,
    /// decoder); otherwise the model is left as it was.
    pub fn load_weights(&mut self, bytes: Vec<u8>) -> Result<()> {
        if bytes.len() > MAX_WEIGHTS_BYTES {
            return Err(VaeError::Record(format!(
                "the weights file is {} MB; the largest this app reads is {} MB",
                bytes.len() >> 20,
                MAX_WEIGHTS_BYTES >> 20
            )));
        }
        let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| VaeError::Record(format!("not a weights file (burnpack) this model can read: {e}")))?;
        self.model = Some(self.model().clone().try_load_record(record).map_err(|e| {
            VaeError::Record(format!(
                "these weights do not fit a model with latent dimension {} and hidden layers {:?} \
                 (load the config saved beside them too): {e}",
                self.config.latent_dim, self.config.hidden
            ))
        })?);
        Ok(())
    }

    /// The whole run (see [`Checkpoint`]), with `extra` bytes of the caller's, from any backend:
    /// the tensors are read back asynchronously.
    pub async fn checkpoint(&self, extra: Vec<u8>) -> Result<Checkpoint> {
        self.save_point().checkpoint(extra).await
    }

    /// The run `checkpoint` saved, continuing exactly where it was, on `device`, to train on a set
    /// of `train_len` datapoints (the one it was trained on).
    pub fn resume(checkpoint: Checkpoint, device: &Device, train_len: usize) -> Result<Self> {
        let mut trainer = Self::new(checkpoint.config.clone(), device, train_len)?;
        trainer.load_weights(checkpoint.weights)?;
        check_optimizer_bytes(&checkpoint.optimizer, &trainer.model)?;
        trainer.optim = trainer
            .optim
            .clone()
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(checkpoint.optimizer))
            .map_err(|e| VaeError::Record(format!("the optimizer state cannot be read: {e}")))?;
        let order_len = checkpoint.order.len();
        trainer.batcher = Batcher::from_parts(checkpoint.epoch, checkpoint.cursor, checkpoint.order, checkpoint.config.batch_size, train_len)
            .ok_or_else(|| {
                VaeError::Record(format!(
                    "this run was trained on {order_len} digits, not the {train_len} loaded here"
                ))
            })?;
        trainer.rng = restore_rng(&checkpoint.rng);
        trainer.step = checkpoint.step;
        Ok(trainer)
    }

    /// Whether every weight is a finite number (one asynchronous read): weights from a file are
    /// checked before the model that holds them is used.
    pub async fn weights_are_finite(&self) -> Result<bool> {
        struct Sums(Vec<Tensor<1>>);
        impl burn::module::ModuleVisitor for Sums {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                self.0.push(param.val().abs().sum());
            }
        }
        let mut sums = Sums(Vec::new());
        self.inference_model().visit(&mut sums);
        let total = Tensor::cat(sums.0, 0).sum();
        let [total] = read_scalars([total]).await?;
        Ok(total.is_finite())
    }

    /// The model's weights as a burnpack file's bytes (what `vae train --out` writes), from any
    /// backend: the parameters are read back asynchronously.
    pub async fn weights_bytes(&self) -> Result<Vec<u8>> {
        weights_bytes(self.inference_model()).await
    }

    /// Changes the step size from the next step on, keeping the model and the optimizer's state
    /// (what a user does after a divergence). Refused, changing nothing, when out of range.
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        let config = VaeConfig { learning_rate, ..self.config.clone() };
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// The state of the run now (see [`SavePoint`]).
    pub fn save_point(&self) -> SavePoint {
        SavePoint {
            config: self.config.clone(),
            model: self.model().clone(),
            optim: self.optim.clone(),
            rng: save_rng(&self.rng),
            batcher: self.batcher.clone(),
            step: self.step,
        }
    }

    /// Goes back to `saved`, keeping the config in use (a learning rate lowered since stays).
    fn restore(&mut self, saved: SavePoint) {
        self.model = Some(saved.model);
        self.optim = saved.optim;
        self.rng = restore_rng(&saved.rng);
        self.batcher = saved.batcher;
        self.step = saved.step;
    }

    /// The seed of the test bound's noise (see [`EVALUATION_SALT`]).
    pub fn evaluation_seed(&self) -> u64 {
        self.config.seed ^ EVALUATION_SALT
    }

    /// Complete epochs so far.
    pub fn epoch(&self) -> usize {
        self.batcher.epoch()
    }

    /// Fraction of the current epoch done, in [0, 1] (1 at the end of an epoch, before the next
    /// step starts a new one).
    pub fn epoch_progress(&self) -> f64 {
        self.batcher.epoch_progress()
    }

    /// Steps in one epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.batcher.batches_per_epoch()
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Datapoints seen so far.
    pub fn examples_seen(&self) -> u64 {
        self.step * self.batcher.batch_size() as u64
    }

    /// Spreads each step over `threads` threads (natively, and in the threaded browser build): the
    /// minibatch is cut into as many pieces of consecutive rows (but no more than pieces of
    /// [`ROWS_PER_PIECE`] rows), each propagated forward and back through its own fork of the model
    /// on a thread of rayon's pool, and their gradients summed before the one update; threads beyond
    /// the pieces share Flex's matrix products, the sum and the update. The same batch and noise as
    /// on one thread, so the same step up to the order of floating-point sums; the same result for
    /// the same number of threads.
    pub fn set_threads(&mut self, threads: usize) {
        self.shards = threads.clamp(1, self.batcher.batch_size().div_ceil(ROWS_PER_PIECE));
    }

    /// One SGVB step on the next minibatch of `data`: estimate the negative ELBO, back-propagate,
    /// update φ and θ. Returns the minibatch's loss parts as one-element tensors on the plain
    /// device, **not read back**.
    pub fn step(&mut self, data: &Dataset) -> LossParts {
        let m = self.batcher.batch_size();
        let d = self.config.latent_dim;
        let started = now_ms();
        let indices = self.batcher.next_batch(&mut self.rng).to_vec();
        let x = data.batch(&indices, self.config.binarization, &mut self.rng);
        let eps = standard_normal(&mut self.rng, self.config.samples * m * d);
        let batched = now_ms();
        self.profile.batch += batched - started;

        if self.shards > 1 {
            return self.sharded_step(x, eps, batched);
        }
        let x = tensor2(x, m, PIXELS, &self.device);
        let eps = tensor2(eps, self.config.samples * m, d, &self.device);
        let parts = negative_elbo(self.model(), x, eps, &self.config);
        let grads = GradientsParams::from_grads(parts.loss.backward(), self.model());
        let parts = LossParts {
            loss: parts.loss.inner(),
            reconstruction: parts.reconstruction.inner(),
            kl: parts.kl.inner(),
        };
        self.profile.gradients += now_ms() - batched;
        self.update(grads);
        parts
    }

    /// Updates φ and θ with `grads` (Adam or Adagrad), and counts the step.
    fn update(&mut self, grads: GradientsParams) {
        let updating = now_ms();
        if spread_model_passes() {
            self.profile.spread += 1.0;
        }
        let model = self.model.take().expect("the model is only taken out during an update");
        self.model = Some(self.optim.step(self.config.learning_rate, model, grads));
        self.profile.update += now_ms() - updating;
        self.step += 1;
    }

    /// The step of the minibatch `x` (host rows) with noise `eps` (made by `batched`, in ms), in
    /// `self.shards` pieces on as many threads (see [`Trainer::set_threads`]): their gradients
    /// summed, then the update, while the threads that computed the other pieces wait awake to
    /// share the update's passes ([`pieces_then`]).
    fn sharded_step(&mut self, x: Vec<f32>, eps: Vec<f32>, batched: f64) -> LossParts {
        let (m, l, d) = (self.batcher.batch_size(), self.config.samples, self.config.latent_dim);
        // The first piece runs on the pool thread that takes the step, the others only once another
        // thread has woken up (in the browser ~0.3 ms later, timed at each piece's start; see
        // docs/benchmarks.md): the first piece gets a twenty-fifth of a piece's rows more, taken
        // from the last.
        let head_start = m / self.shards / 25;
        let cut = |s: usize| match s {
            0 => 0,
            s if s == self.shards => m,
            s => s * m / self.shards + head_start,
        };
        // Each piece owns its fork of the model (its own autodiff graph), so that once the pieces
        // are done only the trainer holds the weights and the update writes them in place (a copy
        // of the model kept for the whole step made every update copy the weights, src/optim.rs).
        // The forks are made here, one after the other: made by the pieces at once, they queued on
        // the autodiff graphs' one lock and the later piece started later.
        let pieces: Vec<_> = (0..self.shards)
            .map(|s| {
                let (r0, r1) = (cut(s), cut(s + 1));
                // The noise of sample `j` of row `r` is row `j·m + r` (the rows of x repeated L times).
                let eps: Vec<f32> = (0..l).flat_map(|j| eps[(j * m + r0) * d..(j * m + r1) * d].iter().copied()).collect();
                (self.model().clone().fork(&self.device), x[r0 * PIXELS..r1 * PIXELS].to_vec(), eps, r1 - r0)
            })
            .collect();
        let (device, config) = (self.device.clone(), self.config.clone());
        let piece = |(replica, x, eps, rows): (Vae, Vec<f32>, Vec<f32>, usize)| {
            let x = tensor2(x, rows, PIXELS, &device);
            let eps = tensor2(eps, l * rows, d, &device);
            let parts = negative_elbo(&replica, x, eps, &config);
            // Each piece's means, weighted by its share of the rows, sum to the minibatch's.
            let share = rows as f64 / m as f64;
            let loss = parts.loss.mul_scalar(share);
            let grads = GradientsParams::from_grads(loss.backward(), &replica);
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
        let parts = parts
            .into_iter()
            .reduce(|a, b| LossParts {
                loss: a.loss + b.loss,
                reconstruction: a.reconstruction + b.reconstruction,
                kl: a.kl + b.kl,
            })
            .expect("at least one piece");
        (parts, sum.1)
    }

    /// The census of subnormal floats in the tensors of a step on the first minibatch of `data`
    /// (fixed noise, the trainer's own generator untouched) and in the optimizer's state: a
    /// diagnostic that reads everything back synchronously (Flex only), see [`crate::subnormal`].
    pub fn subnormal_census(&self, data: &Dataset) -> Vec<crate::subnormal::Census> {
        let m = self.batcher.batch_size().min(data.len());
        let indices: Vec<usize> = (0..m).collect();
        let mut rng = HostRng::seed_from_u64(self.config.seed ^ EVALUATION_SALT);
        let x = tensor2(data.batch(&indices, self.config.binarization, &mut rng), m, PIXELS, &self.device);
        let rows = self.config.samples * m;
        let eps = tensor2(standard_normal(&mut rng, rows * self.config.latent_dim), rows, self.config.latent_dim, &self.device);
        crate::subnormal::census(self.model(), &self.optim, x, eps, &self.config)
    }

    /// Runs `n` steps and reads their mean losses back once, asynchronously.
    ///
    /// Fails with [`VaeError::Backend`] when every loss is exactly zero (how a device that failed
    /// silently shows itself), the chunk undone. Fails with [`VaeError::NonFinite`] when the loss
    /// is NaN or infinite: the run diverged, and is rolled back to the start of the latest chunk
    /// whose loss looked healthy (at most 1.5 times the lowest so far: a loss is measured before
    /// the step's update, so it vouches for the state the chunk started from; the chunks that blew
    /// the weights up before the loss overflowed are undone too). Model, optimizer, generator and
    /// step are restored, so nothing non-finite ever reaches the weights.
    pub async fn train_steps(&mut self, data: &Dataset, n: usize) -> Result<ChunkMetrics> {
        if n == 0 {
            return Err(VaeError::Argument("train_steps needs at least one step".into()));
        }
        let started = now_ms();
        self.profile = StepProfile::default();
        let saved = self.save_point();
        self.profile.save_point = now_ms() - started;
        let epoch_before = self.batcher.epoch();
        // The steps run on a thread of rayon's pool, so that a step's pieces start from there: from
        // any other thread each step would be handed to the pool and its end handed back.
        let sum = on_pool(|| {
            (0..n)
                .map(|_| self.step(data))
                .reduce(|s, parts| LossParts {
                    loss: s.loss + parts.loss,
                    reconstruction: s.reconstruction + parts.reconstruction,
                    kl: s.kl + parts.kl,
                })
                .expect("n > 0 steps should have produced a loss")
        });
        let reading = now_ms();
        let read = read_scalars([sum.loss, sum.reconstruction, sum.kl]).await;
        self.profile.read_back = now_ms() - reading;
        let [loss, reconstruction, kl] = match read {
            Ok(values) => values,
            Err(e) => {
                self.restore(saved);
                return Err(e);
            }
        };
        if !loss.is_finite() {
            let anchor = self.anchor.take().unwrap_or(saved);
            self.restore(anchor);
            return Err(VaeError::NonFinite { loss, step: self.step });
        }
        if loss == 0.0 && reconstruction == 0.0 && kl == 0.0 {
            // What a WebGPU device that failed without raising an error reads back.
            self.restore(saved);
            return Err(VaeError::Backend("the device returned all-zero losses: it has probably failed".into()));
        }
        let elapsed = (now_ms() - started).max(1e-3);
        let per = |v: f32| v as f64 / n as f64;
        let mean = per(loss);
        if mean <= HEALTHY_RATIO * self.best_loss || self.anchor.is_none() {
            self.anchor = Some(saved);
        }
        self.best_loss = self.best_loss.min(mean);
        Ok(ChunkMetrics {
            step: self.step,
            epoch: self.batcher.epoch(),
            epoch_progress: self.epoch_progress(),
            examples_seen: self.examples_seen(),
            loss: per(loss),
            reconstruction: per(reconstruction),
            kl: per(kl),
            steps: n,
            examples_per_second: (n * self.batcher.batch_size()) as f64 / elapsed * 1000.0,
            ms_per_step: elapsed / n as f64,
            epoch_ended: self.batcher.epoch() > epoch_before,
            profile: self.profile.per_step(n),
        })
    }
}

/// The sum of the pieces' gradients of one parameter, value by value in the pieces' order (so the
/// same numbers however it is spread), into the first piece's buffer (no new one). On Flex, while
/// another thread waits for the pass ([`spread_model_passes`]), on slices of the values on rayon's
/// pool; otherwise as tensor additions.
fn sum_of_pieces<const D: usize>(pieces: Vec<Tensor<D>>) -> Option<Tensor<D>> {
    if pieces.len() < 2 || !spread_model_passes() || pieces[0].device() != Device::flex() {
        return pieces.into_iter().reduce(|a, b| a + b);
    }
    let mut pieces = pieces.into_iter().map(|g| contiguous(flex(g)));
    let mut total = pieces.next().expect("at least two pieces");
    let rest: Vec<FlexTensor> = pieces.collect();
    let values: Vec<&[f32]> = rest.iter().map(|g| g.storage()).collect();
    let n = total.layout().shape().num_elements();
    let slices: Vec<_> = total.storage_mut::<f32>()[..n].chunks_mut(SLICE).enumerate().collect();
    map_on_threads(slices, |(i, total)| {
        let range = i * SLICE..i * SLICE + total.len();
        for piece in &values {
            for (t, g) in total.iter_mut().zip(&piece[range.clone()]) {
                *t += g;
            }
        }
    });
    Some(Tensor::from_primitive::<Flex>(total))
}

#[cfg(test)]
mod tests {
    use burn::module::{ModuleVisitor, Param};

    use super::*;

    /// Where each parameter's values are in memory.
    fn addresses(model: &Vae) -> Vec<usize> {
        struct Addresses(Vec<usize>);
        impl ModuleVisitor for Addresses {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let values = contiguous(flex(param.val().inner()));
                self.0.push(values.storage::<f32>().as_ptr() as usize);
            }
        }
        let mut visitor = Addresses(Vec::new());
        model.visit(&mut visitor);
        visitor.0
    }

    /// The model's decoding of z = 0 (the test's latent dimension is 2).
    fn decoded_origin(trainer: &Trainer) -> Vec<f32> {
        let z = Tensor::zeros([1, 2], &Device::flex());
        trainer.inference_model().decode(z).mean().into_data().try_into_vec().unwrap()
    }

    #[test]
    fn a_step_updates_the_weights_where_they_are() {
        // Nothing but the trainer holds the weights after a step's gradients, on one thread or in
        // pieces, so Adam writes them in place (src/optim.rs) instead of copying the whole model:
        // a copy of the model kept for the pieces once made every update on threads copy it.
        let pixels: Vec<u8> = (0..200 * PIXELS).map(|i| (i * 37 % 251) as u8).collect();
        let data = Dataset::new(pixels, (0..200).map(|i| (i % 10) as u8).collect()).unwrap();
        for threads in [1, 2] {
            let config = VaeConfig { hidden: vec![32], latent_dim: 2, ..VaeConfig::default() };
            let mut trainer = Trainer::new(config, &Device::flex(), data.len()).unwrap();
            trainer.set_threads(threads);
            trainer.step(&data);
            let before = addresses(trainer.model());
            let decoded_before = decoded_origin(&trainer);
            for _ in 0..3 {
                trainer.step(&data);
            }
            assert_eq!(addresses(trainer.model()), before, "{threads} thread(s): the update moved the weights");
            assert_ne!(decoded_origin(&trainer), decoded_before, "{threads} thread(s): the steps changed the model");
        }
    }
}
