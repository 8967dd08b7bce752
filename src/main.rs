//! `vae`: trains the VAE natively (Burn's Flex backend on the CPU) on MNIST IDX files, reports the
//! per-epoch training loss and test ELBO, and saves the weights (burnpack) and config (JSON).

#[cfg(target_family = "wasm")]
fn main() {}

#[cfg(not(target_family = "wasm"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(target_family = "wasm"))]
mod cli {
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::time::Instant;

    use clap::{Parser, Subcommand, ValueEnum};
    use futures::executor::block_on;
    use indicatif::{ProgressBar, ProgressStyle};

    use vae_web::config::{Activation, Binarization, DecoderKind, Estimator, OptimizerKind, VaeConfig};
    use vae_web::data::Dataset;
    use vae_web::eval::{evaluate, log_likelihood_estimate};
    use vae_web::train::Trainer;
    use vae_web::{device, Result, VaeError};

    /// Auto-Encoding Variational Bayes (Kingma & Welling, 2014) on MNIST, trained on the CPU.
    #[derive(Parser)]
    #[command(version, about)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Train a model and report the test-set bound after every epoch.
        Train(TrainArgs),
    }

    #[derive(Clone, Copy, ValueEnum)]
    enum ActivationArg {
        Tanh,
        Relu,
    }
    #[derive(Clone, Copy, ValueEnum)]
    enum DecoderArg {
        Bernoulli,
        Gaussian,
    }
    #[derive(Clone, Copy, ValueEnum)]
    enum EstimatorArg {
        /// KL estimated by sampling (the paper's eq. 6).
        SgvbA,
        /// KL in closed form (the paper's eq. 7 and appendix B).
        SgvbB,
    }
    #[derive(Clone, Copy, ValueEnum)]
    enum OptimizerArg {
        Adam,
        Adagrad,
    }
    #[derive(Clone, Copy, ValueEnum)]
    enum BinarizationArg {
        /// Grey levels as Bernoulli targets.
        None,
        /// A fresh Bernoulli draw per pixel every time a digit is seen.
        Dynamic,
        /// Pixels above 0.5 are 1.
        Threshold,
    }

    #[derive(clap::Args)]
    struct TrainArgs {
        /// Folder with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
        /// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (plain or gzip).
        #[arg(long, default_value = "data/mnist")]
        data: PathBuf,
        /// Passes over the training set.
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Start from the paper's MNIST set-up (tanh, 500 hidden, Adagrad) instead of the default
        /// (ReLU, 400 hidden, Adam); the options below override it.
        #[arg(long)]
        paper: bool,
        /// Dimension of the latent space z (1 to 256).
        #[arg(long)]
        latent_dim: Option<usize>,
        /// Hidden layer sizes, comma separated (e.g. 400 or 500,500); the decoder mirrors them.
        #[arg(long, value_delimiter = ',')]
        hidden: Option<Vec<usize>>,
        /// Non-linearity of the hidden layers.
        #[arg(long, value_enum)]
        activation: Option<ActivationArg>,
        /// Output distribution of the decoder p(x|z).
        #[arg(long, value_enum)]
        decoder: Option<DecoderArg>,
        /// SGVB estimator of the ELBO.
        #[arg(long, value_enum)]
        estimator: Option<EstimatorArg>,
        /// L: samples of z per datapoint during training.
        #[arg(long)]
        samples: Option<usize>,
        /// M: datapoints per minibatch.
        #[arg(long)]
        batch_size: Option<usize>,
        /// Optimizer.
        #[arg(long, value_enum)]
        optimizer: Option<OptimizerArg>,
        /// Learning rate.
        #[arg(long)]
        lr: Option<f64>,
        /// L2 weight decay (the MAP form of an N(0, I) prior on the parameters).
        #[arg(long)]
        weight_decay: Option<f64>,
        /// Weight β on the KL term (1 is the ELBO).
        #[arg(long)]
        beta: Option<f64>,
        /// How grey-level pixels become targets.
        #[arg(long, value_enum)]
        binarization: Option<BinarizationArg>,
        /// Seed of initialisation, shuffling, binarisation and noise.
        #[arg(long)]
        seed: Option<u64>,
        /// Importance samples k for a final estimate of log p(x) on the test set (0: skip).
        #[arg(long, default_value_t = 0)]
        importance_samples: usize,
        /// Where to save the weights (`<out>.bpk`, burnpack) and config (`<out>.json`); none: no save.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one JSON line per epoch instead of a progress bar (for scripts).
        #[arg(long)]
        json: bool,
    }

    impl TrainArgs {
        fn config(&self) -> Result<VaeConfig> {
            let mut c = if self.paper { VaeConfig::paper() } else { VaeConfig::default() };
            if let Some(v) = self.latent_dim { c.latent_dim = v; }
            if let Some(v) = &self.hidden { c.hidden = v.clone(); }
            if let Some(v) = self.activation {
                c.activation = match v { ActivationArg::Tanh => Activation::Tanh, ActivationArg::Relu => Activation::Relu };
            }
            if let Some(v) = self.decoder {
                c.decoder = match v { DecoderArg::Bernoulli => DecoderKind::Bernoulli, DecoderArg::Gaussian => DecoderKind::Gaussian };
            }
            if let Some(v) = self.estimator {
                c.estimator = match v { EstimatorArg::SgvbA => Estimator::SgvbA, EstimatorArg::SgvbB => Estimator::SgvbB };
            }
            if let Some(v) = self.samples { c.samples = v; }
            if let Some(v) = self.batch_size { c.batch_size = v; }
            if let Some(v) = self.optimizer {
                c.optimizer = match v { OptimizerArg::Adam => OptimizerKind::Adam, OptimizerArg::Adagrad => OptimizerKind::Adagrad };
            }
            if let Some(v) = self.lr { c.learning_rate = v; }
            if let Some(v) = self.weight_decay { c.weight_decay = v; }
            if let Some(v) = self.beta { c.beta = v; }
            if let Some(v) = self.binarization {
                c.binarization = match v {
                    BinarizationArg::None => Binarization::None,
                    BinarizationArg::Dynamic => Binarization::Dynamic,
                    BinarizationArg::Threshold => Binarization::Threshold,
                };
            }
            if let Some(v) = self.seed { c.seed = v; }
            c.validate()?;
            Ok(c)
        }
    }

    fn load(dir: &Path, images: &str, labels: &str) -> Result<Dataset> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                VaeError::Argument(format!(
                    "cannot read {}: {e} (run scripts/setup.sh to make the data)",
                    dir.join(name).display()
                ))
            })
        };
        Ok(Dataset::from_idx(&read(images)?, &read(labels)?)?)
    }

    fn train(args: &TrainArgs) -> Result<()> {
        let config = args.config()?;
        let train_set = load(&args.data, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")?;
        let test_set = load(&args.data, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")?;
        let cpu = device::cpu();
        let mut trainer = Trainer::new(config.clone(), &cpu.device, train_set.len())?;
        let steps = trainer.steps_per_epoch();
        if !args.json {
            eprintln!(
                "{} training / {} test digits on {}; config: {}",
                train_set.len(),
                test_set.len(),
                cpu.adapter,
                serde_json::to_string(&config).expect("a config should serialise")
            );
        }
        let style = ProgressStyle::with_template(
            "epoch {prefix:>3} [{bar:30}] {pos}/{len} steps  {msg}",
        )
        .expect("the progress template should parse")
        .progress_chars("=> ");
        let mut train_seconds = 0.0;
        for epoch in 1..=args.epochs {
            let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(steps as u64) };
            bar.set_style(style.clone());
            bar.set_prefix(epoch.to_string());
            let (mut sum, mut done) = (0.0, 0);
            let started = Instant::now();
            while done < steps {
                let n = (steps - done).min(10);
                let m = block_on(trainer.train_steps(&train_set, n))?;
                sum += m.loss * n as f64;
                done += n;
                bar.set_position(done as u64);
                bar.set_message(format!("loss {:.2}", m.loss));
            }
            let seconds = started.elapsed().as_secs_f64();
            train_seconds += seconds;
            bar.finish_and_clear();
            let model = trainer.inference_model();
            let test = block_on(evaluate(&model, &test_set, &config, &cpu.device, config.seed ^ 0x7e57))?;
            let per_second = (steps * config.batch_size) as f64 / seconds;
            if args.json {
                println!(
                    "{{\"epoch\":{epoch},\"trainLoss\":{:.4},\"testLoss\":{:.4},\"testReconstruction\":{:.4},\"testKl\":{:.4},\"examplesPerSecond\":{per_second:.1}}}",
                    sum / steps as f64, test.loss, test.reconstruction, test.kl
                );
            } else {
                println!(
                    "epoch {epoch:>3}  train loss {:8.3}  test −ELBO {:8.3} (reconstruction {:7.3} + KL {:6.3})  {per_second:7.0} examples/s",
                    sum / steps as f64, test.loss, test.reconstruction, test.kl
                );
            }
        }
        let examples = (args.epochs * steps * config.batch_size) as f64;
        if !args.json {
            println!("mean training speed: {:.0} examples/s", examples / train_seconds);
        }
        if args.importance_samples > 0 {
            let model = trainer.inference_model();
            let ll = block_on(log_likelihood_estimate(
                &model, &test_set, &config, &cpu.device, args.importance_samples, config.seed ^ 0x15,
            ))?;
            println!("test log p(x) ≈ {ll:.3} nats (importance sampling, k = {})", args.importance_samples);
        }
        if let Some(out) = &args.out {
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let weights = out.with_extension("bpk");
            std::fs::write(&weights, trainer.weights_bytes()?)?;
            std::fs::write(out.with_extension("json"), serde_json::to_string_pretty(&config).expect("a config should serialise"))?;
            println!("saved {} and {}", weights.display(), out.with_extension("json").display());
        }
        Ok(())
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        let result = match &cli.command {
            Command::Train(args) => train(args),
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}
