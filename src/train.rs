//! Our own training loop: a trainer that owns the model, the optimizer and the seeded randomness.
//!
//! `burn-train`'s `Learner` does not run in the browser. A step returns its loss tensors without
//! reading them back, so the caller decides when to pay for a read (on WebGPU in wasm only async
//! reads exist); [`Trainer::train_steps`] reads once per chunk.

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdaGradConfig, AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Transaction;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::config::{OptimizerKind, VaeConfig, PIXELS};
use crate::data::{Batcher, Dataset};
use crate::error::{Result, VaeError};
use crate::loss::{negative_elbo, LossParts};
use crate::model::Vae;

/// `n` standard-normal draws from `rng`: the ε of the reparameterisation, drawn on the host so that
/// every backend sees the same noise for the same seed.
pub fn standard_normal(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// A `[rows, cols]` tensor on `device` from row-major host values.
pub fn tensor2(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

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
}

/// Owns a model, its optimizer and the randomness of training.
pub struct Trainer {
    config: VaeConfig,
    device: Device,
    model: Vae,
    optim: ModuleOptimizer,
    rng: StdRng,
    batcher: Batcher,
    step: u64,
}

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
        let mut rng = StdRng::seed_from_u64(config.seed);
        let model = Vae::new(&config, &mut rng, &device);
        let weight_decay = (config.weight_decay > 0.0)
            .then(|| WeightDecayConfig::new(config.weight_decay as f32));
        let optim = match config.optimizer {
            // ε = 1e-8 as in Kingma & Ba and in PyTorch (Burn's default is 1e-5).
            OptimizerKind::Adam => AdamConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(weight_decay)
                .init(),
            // ε = 1e-8 keeps the first steps (accumulated squares near zero) close to the paper's Adagrad.
            OptimizerKind::Adagrad => AdaGradConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(weight_decay)
                .init(),
        };
        let batcher = Batcher::new(train_len, config.batch_size, &mut rng);
        Ok(Self {
            config,
            device,
            model,
            optim,
            rng,
            batcher,
            step: 0,
        })
    }

    /// The config this trainer was built from.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// The model without autodiff, for evaluation and inference.
    pub fn inference_model(&self) -> Vae {
        self.model.valid()
    }

    /// Replaces the model's parameters with weights saved by `vae train --out` (a burnpack
    /// file's bytes). The weights must fit this trainer's config (latent dimension, hidden sizes,
    /// decoder); otherwise the model is left as it was.
    pub fn load_weights(&mut self, bytes: Vec<u8>) -> Result<()> {
        let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(|e| VaeError::Record(format!("not a weights file (burnpack) this model can read: {e}")))?;
        self.model = self.model.clone().try_load_record(record).map_err(|e| {
            VaeError::Record(format!(
                "these weights do not fit a model with latent dimension {} and hidden layers {:?} \
                 (load the config saved beside them too): {e}",
                self.config.latent_dim, self.config.hidden
            ))
        })?;
        Ok(())
    }

    /// The model's weights as a burnpack file's bytes (what `vae train --out` writes).
    ///
    /// Reads every parameter back synchronously: on the CPU only (it panics on WebGPU in wasm).
    pub fn weights_bytes(&self) -> Result<Vec<u8>> {
        let bytes = self
            .inference_model()
            .into_record()
            .into_bytes()
            .map_err(|e| VaeError::Record(e.to_string()))?;
        Ok(bytes.to_vec())
    }

    /// Complete epochs so far.
    pub fn epoch(&self) -> usize {
        self.batcher.epoch()
    }

    /// Steps in one epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.batcher.batches_per_epoch()
    }

    /// Datapoints seen so far.
    pub fn examples_seen(&self) -> u64 {
        self.step * self.batcher.batch_size() as u64
    }

    /// One SGVB step on the next minibatch of `data`: estimate the negative ELBO, back-propagate,
    /// update φ and θ. Returns the minibatch's loss parts as one-element tensors on the plain
    /// device, **not read back**.
    pub fn step(&mut self, data: &Dataset) -> LossParts {
        let m = self.batcher.batch_size();
        let d = self.config.latent_dim;
        let indices = self.batcher.next_batch(&mut self.rng).to_vec();
        let x = tensor2(data.batch(&indices, self.config.binarization, &mut self.rng), m, PIXELS, &self.device);
        let l_m = self.config.samples * m;
        let eps = tensor2(standard_normal(&mut self.rng, l_m * d), l_m, d, &self.device);

        let parts = negative_elbo(&self.model, x, eps, &self.config);
        let grads = GradientsParams::from_grads(parts.loss.backward(), &self.model);
        self.model = self
            .optim
            .step(self.config.learning_rate, self.model.clone(), grads);
        self.step += 1;
        LossParts {
            loss: parts.loss.inner(),
            reconstruction: parts.reconstruction.inner(),
            kl: parts.kl.inner(),
        }
    }

    /// Runs `n` steps and reads their mean losses back once, asynchronously.
    ///
    /// Fails with [`VaeError::NonFinite`] when the loss is NaN or infinite, which is also how a
    /// device that failed silently shows itself.
    pub async fn train_steps(&mut self, data: &Dataset, n: usize) -> Result<ChunkMetrics> {
        if n == 0 {
            return Err(VaeError::Argument("train_steps needs at least one step".into()));
        }
        let mut sum: Option<LossParts> = None;
        for _ in 0..n {
            let parts = self.step(data);
            sum = Some(match sum {
                None => parts,
                Some(s) => LossParts {
                    loss: s.loss + parts.loss,
                    reconstruction: s.reconstruction + parts.reconstruction,
                    kl: s.kl + parts.kl,
                },
            });
        }
        let sum = sum.expect("n > 0 steps should have produced a loss");
        let [loss, reconstruction, kl] = read_scalars([sum.loss, sum.reconstruction, sum.kl]).await?;
        if !loss.is_finite() {
            return Err(VaeError::NonFinite(loss));
        }
        if loss == 0.0 && reconstruction == 0.0 && kl == 0.0 {
            // What a WebGPU device that failed without raising an error reads back.
            return Err(VaeError::Backend("the device returned all-zero losses: it has probably failed".into()));
        }
        let per = |v: f32| v as f64 / n as f64;
        Ok(ChunkMetrics {
            step: self.step,
            epoch: self.batcher.epoch(),
            epoch_progress: self.batcher.epoch_progress(),
            examples_seen: self.examples_seen(),
            loss: per(loss),
            reconstruction: per(reconstruction),
            kl: per(kl),
            steps: n,
        })
    }
}

/// Reads one-element tensors back in one asynchronous transaction.
pub async fn read_scalars<const N: usize>(tensors: [Tensor<1>; N]) -> Result<[f32; N]> {
    let mut tx = Transaction::default();
    for t in tensors {
        tx = tx.register(t);
    }
    let data = tx.execute_async().await.map_err(|e| VaeError::Read(format!("{e:?}")))?;
    let mut out = [0.0; N];
    for (o, d) in out.iter_mut().zip(data) {
        *o = d
            .try_into_vec::<f32>()
            .map_err(|e| VaeError::Read(format!("{e:?}")))?
            .first()
            .copied()
            .ok_or_else(|| VaeError::Read("empty tensor".into()))?;
    }
    Ok(out)
}

/// Reads a tensor back as row-major host values, asynchronously.
pub async fn read_values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data_async()
        .await
        .map_err(|e| VaeError::Read(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| VaeError::Read(format!("{e:?}")))
}
