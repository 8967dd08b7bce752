//! A model, its data and its device, and every change the page asks of them, all or nothing.
//!
//! What the page's worker drives through the facade ([`crate::web`], which only converts values
//! between JavaScript and these types), here in plain Rust so that it is tested natively
//! (`tests/session.rs`). Each method either does all it says or fails with the reason and changes
//! nothing: a bad config, weights that do not fit, a run of another data set, a corruption the
//! model cannot read all leave the model, the data and the run as they were.

use crate::checkpoint::{Checkpoint, SavePoint};
use crate::config::VaeConfig;
use crate::data::Dataset;
use crate::device::ComputeDevice;
use crate::error::{Result, VaeError};
use crate::eval::{self, Evaluation, EvaluationRun};
use crate::metrics::ChunkMetrics;
use crate::posterior::{self, DigitBound};
use crate::repair::{self, ChainOptions, Corruption, ImportanceOptions, Method, Observation, Repair, RepairGrid};
use crate::salt;
use crate::train::Trainer;

/// The repair's grid: 64² points over [−4, 4]² (cells of 0.125), the decoder's probabilities kept
/// for them (39 MB), made again when the model has moved on.
pub const REPAIR_GRID_SIDE: usize = 64;
pub const REPAIR_GRID_HALF_WIDTH: f64 = 4.0;

/// The most digits one call to [`Session::sample`] decodes.
pub const MAX_SAMPLES: usize = 1024;

/// An evaluation of the test bound in progress, and the training position it measures.
struct PendingEvaluation {
    run: EvaluationRun,
    step: u64,
    examples_seen: u64,
}

/// The test bound of the model at `step` (see [`Session::evaluate`]).
#[derive(Debug, Clone)]
pub struct MeasuredBound {
    pub evaluation: Evaluation,
    /// The step of the model it measured.
    pub step: u64,
    /// Datapoints seen by then.
    pub examples_seen: u64,
}

/// Where a resumed run is (see [`Session::resume`]).
#[derive(Debug, Clone)]
pub struct Resumed {
    pub step: u64,
    pub epoch: usize,
    pub epoch_progress: f64,
    pub examples_seen: u64,
    /// The caller's bytes saved with the run (the page's chart).
    pub extra: Vec<u8>,
}

/// A repair and what the encoder was shown (see [`Session::repair`]).
pub struct Repaired {
    pub observation: Observation,
    pub repair: Repair,
}

/// The explorer's test digits (see [`Session::test_digits`]).
pub struct TestDigits {
    /// N × 784, row-major, in [0, 1].
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
}

/// Encodings: μ and log σ², each N × D, row-major.
pub struct Encoded {
    pub mu: Vec<f32>,
    pub log_var: Vec<f32>,
}

/// A model, its data and its device.
///
/// The config is held here and nowhere else: the trainer is built from it, and a change of it
/// (a reset, a resumed run, a new learning rate) goes through this type.
pub struct Session {
    device: Option<ComputeDevice>,
    config: VaeConfig,
    trainer: Option<Trainer>,
    train: Option<Dataset>,
    test: Option<Dataset>,
    samples_drawn: u64,
    evaluation: Option<PendingEvaluation>,
    /// The decoder on the repair's grid (2-D models), for the model as it was at that step; a
    /// new model or a step taken since makes a new one.
    repair_grid: Option<(u64, RepairGrid)>,
}

impl Session {
    /// A session for `config`, with no device and no data yet. Fails, naming the field, on an
    /// invalid config.
    pub fn new(config: VaeConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            device: None,
            config,
            trainer: None,
            train: None,
            test: None,
            samples_drawn: 0,
            evaluation: None,
            repair_grid: None,
        })
    }

    /// The config in use.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// The device in use, once there is one.
    pub fn device(&self) -> Result<&ComputeDevice> {
        self.device.as_ref().ok_or_else(|| VaeError::Backend("choose a device before using the model".into()))
    }

    /// The trainer, once there are a device and data.
    pub fn trainer(&self) -> Result<&Trainer> {
        self.trainer.as_ref().ok_or(VaeError::NoData)
    }

    fn test(&self) -> Result<&Dataset> {
        self.test.as_ref().ok_or(VaeError::NoData)
    }

    /// Moves the session to `device`, with a fresh model there when data are loaded.
    pub fn set_device(&mut self, device: ComputeDevice) -> Result<()> {
        let trainer = match &self.train {
            Some(train) => Some(Self::trainer_for(self.config.clone(), &device, train)?),
            None => None,
        };
        self.device = Some(device);
        self.install(trainer, self.config.clone());
        Ok(())
    }

    /// Replaces the data sets, with a fresh model for them when there is a device.
    pub fn load_data(&mut self, train: Dataset, test: Dataset) -> Result<()> {
        if train.is_empty() || test.is_empty() {
            return Err(VaeError::NoData);
        }
        // The old model goes before the new one is built, so that two never coexist: building one
        // for the current config on a valid set cannot fail.
        self.trainer = None;
        let trainer = match &self.device {
            Some(device) => Some(Self::trainer_for(self.config.clone(), device, &train)?),
            None => None,
        };
        self.train = Some(train);
        self.test = Some(test);
        self.install(trainer, self.config.clone());
        Ok(())
    }

    /// A fresh model and optimizer for `config`, keeping device and data.
    pub fn reset(&mut self, config: VaeConfig) -> Result<()> {
        let trainer = self.fresh_trainer(&config)?;
        self.install(trainer, config);
        Ok(())
    }

    /// The model replaced by `bytes` (a burnpack file: what `vae train --out` writes) for `config`
    /// (the config in use when `None`), with a fresh optimizer at step 0. Weights that are not
    /// weights, do not fit the config or hold non-finite values are refused.
    pub async fn load_weights(&mut self, bytes: Vec<u8>, config: Option<VaeConfig>) -> Result<()> {
        let config = config.unwrap_or_else(|| self.config.clone());
        config.validate()?;
        let mut trainer = self.fresh_trainer(&config)?.ok_or(VaeError::NoData)?;
        trainer.load_weights(bytes)?;
        if !trainer.weights_are_finite().await? {
            return Err(VaeError::Record("these weights hold NaN or infinite values".into()));
        }
        self.install(Some(trainer), config);
        Ok(())
    }

    /// The whole run as it is now, to be read back while the session goes on (see
    /// [`SavePoint::checkpoint`]).
    pub fn save_point(&self) -> Result<SavePoint> {
        Ok(self.trainer()?.save_point())
    }

    /// Continues the run `checkpoint` saved, exactly where it was. Refused when it was trained on
    /// another number of digits than the training set loaded.
    pub fn resume(&mut self, checkpoint: Checkpoint) -> Result<Resumed> {
        let (device, train) = match (&self.device, &self.train) {
            (Some(device), Some(train)) => (device, train),
            _ => return Err(VaeError::NoData),
        };
        let extra = checkpoint.extra.clone();
        let config = checkpoint.config.clone();
        let mut trainer = Trainer::resume(checkpoint, &device.device, train.len())?;
        trainer.set_threads(device.threads);
        let resumed = Resumed {
            step: trainer.step_count(),
            epoch: trainer.epoch(),
            epoch_progress: trainer.epoch_progress(),
            examples_seen: trainer.examples_seen(),
            extra,
        };
        self.install(Some(trainer), config);
        Ok(resumed)
    }

    /// The learning rate from the next step on, keeping the model and the optimizer's state (the
    /// remedy for a divergence). Refused, changing nothing, when out of range.
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        let config = VaeConfig { learning_rate, ..self.config.clone() };
        config.validate()?;
        if let Some(trainer) = self.trainer.as_mut() {
            trainer.set_learning_rate(learning_rate)?;
        }
        self.config = config;
        Ok(())
    }

    /// `n` training steps, their losses read back once (see [`Trainer::train_steps`]: a diverged
    /// chunk fails with [`VaeError::NonFinite`], the run rolled back).
    pub async fn train_steps(&mut self, n: usize) -> Result<ChunkMetrics> {
        match (self.trainer.as_mut(), self.train.as_ref()) {
            (Some(trainer), Some(train)) => trainer.train_steps(train, n).await,
            _ => Err(VaeError::NoData),
        }
    }

    /// The test bound of the model as it is now, up to `count` more test digits a call: `None`
    /// while digits remain, then the bound. The first call starts an evaluation of the weights of
    /// that moment, which later calls finish even if training goes on in between.
    pub async fn evaluate(&mut self, count: usize) -> Result<Option<MeasuredBound>> {
        let test = self.test.as_ref().ok_or(VaeError::NoData)?;
        let mut pending = match self.evaluation.take() {
            Some(pending) => pending,
            None => {
                let trainer = self.trainer.as_ref().ok_or(VaeError::NoData)?;
                let device = self.device.as_ref().ok_or(VaeError::NoData)?;
                PendingEvaluation {
                    run: trainer.evaluation_run(&device.device).on_threads(device.threads),
                    step: trainer.step_count(),
                    examples_seen: trainer.examples_seen(),
                }
            }
        };
        if pending.run.advance(test, count) {
            self.evaluation = Some(pending);
            return Ok(None);
        }
        let evaluation = pending.run.finish().await?;
        Ok(Some(MeasuredBound { evaluation, step: pending.step, examples_seen: pending.examples_seen }))
    }

    /// The first `n` test digits and their reconstructions E[x|z = μ(x)], each n × 784.
    pub async fn reconstruct(&self, n: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let test = self.test()?;
        let n = n.min(test.len());
        let originals = test.range(0, n);
        let reconstructions = eval::reconstruct(&self.trainer()?.inference_model(), &originals, n, &self.device()?.device).await?;
        Ok((originals, reconstructions))
    }

    /// The explorer's test digits: a fixed, class-balanced choice of `count` (all of them when
    /// `count` is at least the test set's size), in the order [`Session::encode_test`] uses.
    pub fn test_digits(&self, count: usize) -> Result<TestDigits> {
        let test = self.test()?;
        let indices = test.balanced_subset(count);
        Ok(TestDigits { images: test.images(&indices), labels: indices.iter().map(|&i| test.labels()[i]).collect() })
    }

    /// The explorer's test digits (see [`Session::test_digits`]) encoded, with their labels.
    pub async fn encode_test(&self, count: usize) -> Result<(Encoded, Vec<u8>)> {
        let TestDigits { images, labels } = self.test_digits(count)?;
        Ok((self.encode(&images, labels.len()).await?, labels))
    }

    /// `n` images (n × 784, [0, 1]) encoded.
    pub async fn encode(&self, images: &[f32], n: usize) -> Result<Encoded> {
        let (mu, log_var) = eval::encode(&self.trainer()?.inference_model(), images, n, &self.device()?.device).await?;
        Ok(Encoded { mu, log_var })
    }

    /// `n` latent points (n × D) decoded to pixel means (n × 784).
    pub async fn decode(&self, z: &[f32], n: usize) -> Result<Vec<f32>> {
        eval::decode(&self.trainer()?.inference_model(), z, n, &self.device()?.device).await
    }

    /// `n` digits decoded from z ~ N(0, I) (1 to [`MAX_SAMPLES`]), fresh ones on every call.
    pub async fn sample(&mut self, n: usize) -> Result<Vec<f32>> {
        self.samples_drawn += 1;
        let seed = salt::nth(self.config.seed, self.samples_drawn);
        eval::sample(&self.trainer()?.inference_model(), n.clamp(1, MAX_SAMPLES), &self.device()?.device, seed).await
    }

    /// log p(x|z) + log p(z) of one image at `n` latent points (n × D).
    pub async fn log_joint(&self, image: &[f32], points: &[f32], n: usize) -> Result<Vec<f32>> {
        posterior::log_joint(&self.trainer()?.inference_model(), image, points, n, &self.device()?.device).await
    }

    /// How likely one image is, in nats (see [`posterior::digit_bound`]).
    pub async fn digit_bound(&self, image: &[f32], k: usize) -> Result<DigitBound> {
        let seed = self.config.seed ^ salt::DIGIT_BOUND;
        posterior::digit_bound(&self.trainer()?.inference_model(), image, k, seed, &self.device()?.device).await
    }

    /// `image` seen through `corruption` (noise from `seed`), repaired by `method`; scored against
    /// `image` when `scored` (it is the truth: a test digit).
    pub async fn repair(&mut self, image: &[f32], corruption: &Corruption, method: Method, scored: bool, seed: u64) -> Result<Repaired> {
        let observation = repair::corrupt(image, corruption, seed)?;
        let truth = scored.then_some(image);
        let model = self.trainer()?.inference_model();
        let device = self.device()?.device.clone();
        let seed = seed ^ salt::REPAIR;
        let repair = match method {
            Method::Grid => {
                let step = self.trainer()?.step_count();
                if self.repair_grid.as_ref().is_none_or(|(at, _)| *at != step) {
                    self.repair_grid = None; // the old grid's tensors go before the new ones are made
                    self.repair_grid = Some((step, RepairGrid::new(&model, REPAIR_GRID_SIDE, REPAIR_GRID_HALF_WIDTH, &device)?));
                }
                let (_, grid) = self.repair_grid.as_ref().expect("the grid was just made");
                repair::repair_on_grid(&model, grid, &observation, truth, seed).await?
            }
            Method::ImportanceSampling => {
                repair::importance_sampling(&model, &observation, &ImportanceOptions::default(), truth, seed, &device).await?
            }
            Method::MetropolisWithinGibbs => {
                repair::metropolis_within_gibbs(&model, &observation, &ChainOptions::default(), truth, seed, &device).await?
            }
            Method::PseudoGibbs => repair::pseudo_gibbs(&model, &observation, &ChainOptions::default(), truth, seed, &device).await?,
        };
        Ok(Repaired { observation, repair })
    }

    /// A trainer for `config` on the device and data, if both are there.
    fn fresh_trainer(&self, config: &VaeConfig) -> Result<Option<Trainer>> {
        match (&self.device, &self.train) {
            (Some(device), Some(train)) => Ok(Some(Self::trainer_for(config.clone(), device, train)?)),
            _ => Ok(None),
        }
    }

    fn trainer_for(config: VaeConfig, device: &ComputeDevice, train: &Dataset) -> Result<Trainer> {
        let mut trainer = Trainer::new(config, &device.device, train.len())?;
        trainer.set_threads(device.threads);
        Ok(trainer)
    }

    /// Makes `trainer` (built for `config`) the model in use: what belonged to the one before
    /// (an evaluation in progress, the repair's grid, the count of samples drawn) goes with it.
    fn install(&mut self, trainer: Option<Trainer>, config: VaeConfig) {
        self.trainer = trainer;
        self.config = config;
        self.samples_drawn = 0;
        self.evaluation = None;
        self.repair_grid = None;
    }
}
