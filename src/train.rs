//! Our own training loop: a trainer that owns the model, the optimizer and the seeded randomness.
//!
//! `burn-train`'s `Learner` does not run in the browser. A step returns its loss tensors without
//! reading them back, so the caller decides when to pay for a read (on WebGPU in wasm only async
//! reads exist); [`Trainer::train_steps`] reads once per chunk.

use std::sync::OnceLock;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;

use crate::checkpoint::{weights_bytes, Checkpoint, SavePoint};
use crate::config::{VaeConfig, PIXELS};
use crate::data::{Batcher, Dataset};
use crate::error::{Result, VaeError};
use crate::eval::EvaluationRun;
use crate::kernels::FlatRun;
use crate::loss::{negative_elbo, LossParts};
use crate::metrics::{ChunkMetrics, StepProfile};
use crate::model::Vae;
use crate::optim::optimizer;
use crate::optim_state::check_optimizer_bytes;
use crate::pool::{on_pool, spread_model_passes};
use crate::salt;
use crate::transfer::{now_ms, read_scalars, restore_rng, save_rng, standard_normal, tensor2, HostRng};

mod pieces;

pub use pieces::ROWS_PER_PIECE;

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
    pieces: usize,
    /// Where the time of the chunk in progress went (totals, see [`StepProfile`]).
    profile: StepProfile,
    /// The run's parameters and Adam's moments while it steps in our own kernels (see
    /// [`crate::kernels::applies`]). `model` is then only the model's structure and parameter ids, and
    /// the model is `view`.
    flat: Option<FlatRun>,
    /// The model made of views into `flat`, made when first asked for after a step: views cost
    /// dispatches when Burn first uses them, so a step does not make them.
    view: OnceLock<Vae>,
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
            pieces: 1,
            profile: StepProfile::default(),
            flat: None,
            view: OnceLock::new(),
        })
    }

    /// The config this trainer was built from.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    fn model(&self) -> &Vae {
        let model = self.model.as_ref().expect("the model is only taken out during an update");
        match &self.flat {
            Some(flat) => self.view.get_or_init(|| flat.model(model.clone())),
            None => model,
        }
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
        self.flat = self.flat.take().map(|flat| flat.with_params(self.model.as_ref().expect("just loaded")));
        self.view = OnceLock::new();
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
            // On the kernel path, the structure the save point's `flat` fills in when it is saved.
            model: self.model.clone().expect("the model is only taken out during an update"),
            optim: self.optim.clone(),
            rng: save_rng(&self.rng),
            batcher: self.batcher.clone(),
            step: self.step,
            flat: self.flat.clone(),
        }
    }

    /// Goes back to `saved`, keeping the config in use (a learning rate lowered since stays).
    fn restore(&mut self, saved: SavePoint) {
        self.model = Some(saved.model);
        self.optim = saved.optim;
        self.rng = restore_rng(&saved.rng);
        self.batcher = saved.batcher;
        self.step = saved.step;
        self.flat = saved.flat;
        self.view = OnceLock::new();
    }

    /// An evaluation of the test bound of the weights as they are now (see [`EvaluationRun`]): on
    /// the kernel path in the step's own forward kernels, without making the model's views.
    pub fn evaluation_run(&self, device: &Device) -> EvaluationRun {
        match &self.flat {
            Some(flat) => EvaluationRun::in_kernels(flat.clone(), &self.config, device, self.evaluation_seed()),
            None => EvaluationRun::new(self.inference_model(), &self.config, device, self.evaluation_seed()),
        }
    }

    /// The seed of the test bound's noise (see [`salt::EVALUATION`]).
    pub fn evaluation_seed(&self) -> u64 {
        self.config.seed ^ salt::EVALUATION
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
        self.pieces = threads.clamp(1, self.batcher.batch_size().div_ceil(ROWS_PER_PIECE));
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

        if self.pieces > 1 {
            return self.step_in_pieces(x, eps, batched);
        }
        #[cfg(feature = "webgpu")]
        if crate::kernels::applies(&self.config, &self.device) {
            let run = match self.flat.take() {
                Some(run) => run,
                None => FlatRun::pack(self.model(), &self.optim, &self.config),
            };
            let (run, parts) = crate::kernels::step(&run, &x, &eps, &self.config);
            self.flat = Some(run);
            self.view = OnceLock::new();
            self.profile.gradients += now_ms() - batched;
            self.step += 1;
            return parts;
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

    /// The census of subnormal floats in the tensors of a step on the first minibatch of `data`
    /// (fixed noise, the trainer's own generator untouched) and in the optimizer's state: a
    /// diagnostic that reads everything back synchronously (Flex only), see [`crate::subnormal`].
    pub fn subnormal_census(&self, data: &Dataset) -> Vec<crate::subnormal::Census> {
        let m = self.batcher.batch_size().min(data.len());
        let indices: Vec<usize> = (0..m).collect();
        let mut rng = HostRng::seed_from_u64(self.evaluation_seed());
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
                .reduce(|sum, parts| sum + parts)
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

#[cfg(test)]
mod tests {
    use burn::module::{ModuleVisitor, Param};

    use super::*;
    use crate::flex::{contiguous, flex};

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
        // pieces, so Adam writes them in place (src/optim.rs) instead of copying the whole model.
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
