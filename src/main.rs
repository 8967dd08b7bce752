//! `vae`: trains the VAE natively (Burn's Flex backend on the CPU, or its wgpu backend) on MNIST IDX files, reports the
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

    use clap::{Parser, Subcommand};
    use futures::executor::block_on;
    use indicatif::{ProgressBar, ProgressStyle};

    use vae_web::checkpoint::Checkpoint;
    use vae_web::config::{Activation, Binarization, DecoderKind, Estimator, OptimizerKind, VaeConfig};
    use vae_web::data::Dataset;
    use vae_web::eval::{evaluate, log_likelihood_estimate};
    use vae_web::history::{DataSetRecord, History};
    use vae_web::train::Trainer;
    use vae_web::{device, Result, VaeError};

    /// Auto-Encoding Variational Bayes (Kingma & Welling, 2014) on MNIST, trained on the CPU.
    #[derive(Parser)]
    #[command(version, about)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
        /// Threads each training step is spread over (the minibatch is cut into as many pieces,
        /// their gradients summed; see `Trainer::set_threads`). Default (or 0): one per core.
        #[arg(long, global = true)]
        threads: Option<usize>,
        /// Leave the x86 flush-to-zero and denormals-are-zero bits off, as WebAssembly has them (it
        /// has no such mode): arithmetic on subnormal floats then runs at its slow speed, as in the
        /// page. By default they are set on every training thread.
        #[arg(long, global = true)]
        no_ftz: bool,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Train a model and report the test-set bound after every epoch.
        Train(TrainArgs),
        /// The paper's figure 2: the lower bound on training and test digits against training
        /// samples evaluated, for several latent dimensions, written as CSV.
        Curves(CurvesArgs),
        /// Train for a while and print the speed of every window of time (examples/s), to see
        /// whether a run slows down as it trains; with `--census`, the subnormal floats in the
        /// step's tensors at the end of each window (counted outside the timed windows).
        Steady(SteadyArgs),
        /// Repair corrupted test digits by conditional inference with a trained run, each method
        /// against the baselines, as a markdown table.
        ///
        /// Each method on the first N test digits under five corruptions, scored on the pixels it
        /// must infer: the hidden ones when pixels are missing, all 784 under flips and low
        /// resolution.
        ///
        /// MSE: the mean over digits of the mean squared error of the single imputation (the
        /// repaired digit E[x|y]) over those pixels, grey levels in [0, 1].
        ///
        /// LL: the mean over digits of log p(x_h | y) in nats per digit, summed over those pixels:
        /// the true grey levels' Bernoulli log-likelihood (the training cross-entropy) under the
        /// method's mixture Σ_s w_s Π_i p(x_i | z_s, y) over its posterior draws z_s (the grid's
        /// masses; the normalised importance weights; 1/S over a chain's kept states). The mean
        /// image scores Π_i Bernoulli(x_i; mean pixel). Probabilities are kept in [1e-6, 1 − 1e-6]
        /// except under missing pixels, where the decoder's own log p is used.
        ///
        /// On a 2-D model the grid's log p(y) is also set against importance sampling with
        /// --evidence-samples draws on the first --evidence-digits digits.
        Repair(RepairArgs),
    }

    #[derive(clap::Args)]
    struct SteadyArgs {
        /// Folder with the MNIST files (see `train --help`).
        #[arg(long, default_value = "data/mnist")]
        data: PathBuf,
        /// Dimension of the latent space z (the rest of the config is the default one).
        #[arg(long, default_value_t = 2)]
        latent_dim: usize,
        /// Seed of the run.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// How long to train, in seconds.
        #[arg(long, default_value_t = 180.0)]
        seconds: f64,
        /// Length of each window, in seconds.
        #[arg(long, default_value_t = 10.0)]
        window: f64,
        /// Count the subnormal floats in every tensor a step reads and writes after each window
        /// (weights, activations, gradients, Adam's moments): the tensors that have any are printed,
        /// and the range of the decoder's logits.
        #[arg(long)]
        census: bool,
        /// Print every tensor's census, also those without subnormals.
        #[arg(long)]
        census_all: bool,
    }

    #[derive(clap::Args)]
    struct CurvesArgs {
        /// Folder with the MNIST files (see `train --help`).
        #[arg(long, default_value = "data/mnist")]
        data: PathBuf,
        /// Latent dimensions, one curve each.
        #[arg(long, value_delimiter = ',', default_value = "3,5,10,20,200")]
        latent_dims: Vec<usize>,
        /// Training samples per curve.
        #[arg(long, default_value_t = 3_000_000)]
        samples: u64,
        /// Evaluate both bounds every this many training samples.
        #[arg(long, default_value_t = 100_000)]
        eval_every: u64,
        /// Training digits the training-set bound is measured on (the first N; all 60,000 cost
        /// six times as much as the test set's 10,000).
        #[arg(long, default_value_t = 10_000)]
        train_eval_digits: usize,
        /// How grey levels become the Bernoulli decoder's binary targets.
        #[arg(long, value_enum, default_value = "dynamic")]
        binarization: Binarization,
        /// Seed of every curve.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The CSV to write: latent_dim,samples,train_elbo,test_elbo,seconds.
        #[arg(long)]
        out: PathBuf,
    }

    #[derive(clap::Args)]
    struct TrainArgs {
        /// Folder with the MNIST files train-images-idx3-ubyte, train-labels-idx1-ubyte,
        /// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (plain IDX, or gzip under the same name).
        #[arg(long, default_value = "data/mnist")]
        data: PathBuf,
        /// Continue the run saved in this file (a `.vaerun`: "Download model" in the page, or
        /// `--checkpoint` here) exactly where it was; its config is used, the options below are not.
        #[arg(long)]
        resume: Option<PathBuf>,
        /// Save the whole run (weights, optimizer state, where it is, its chart) to this `.vaerun`
        /// file at the end, for `--resume` or the page's "Open model".
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Passes over the training set (more of them, with `--resume`).
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
        activation: Option<Activation>,
        /// Output distribution of the decoder p(x|z).
        #[arg(long, value_enum)]
        decoder: Option<DecoderKind>,
        /// SGVB estimator of the ELBO.
        #[arg(long, value_enum)]
        estimator: Option<Estimator>,
        /// L: samples of z per datapoint during training.
        #[arg(long)]
        samples: Option<usize>,
        /// M: datapoints per minibatch.
        #[arg(long)]
        batch_size: Option<usize>,
        /// Optimizer.
        #[arg(long, value_enum)]
        optimizer: Option<OptimizerKind>,
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
        binarization: Option<Binarization>,
        /// Seed of initialisation, shuffling, binarisation and noise.
        #[arg(long)]
        seed: Option<u64>,
        /// Importance samples k for a final estimate of log p(x) on the test set (0: skip).
        #[arg(long, default_value_t = 0)]
        importance_samples: usize,
        /// Where to save the weights (`<out>.bpk`, burnpack) and config (`<out>.json`); none: no save.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON lines instead of a progress bar (for scripts): the config, then one per epoch.
        #[arg(long)]
        json: bool,
        /// Where to train: `cpu` (Burn's Flex, on `--threads` threads) or `webgpu` (Burn's wgpu
        /// backend on this machine's GPU through Vulkan, Metal or DirectX: the kernels the page
        /// runs on WebGPU, for measuring them on a real GPU).
        #[arg(long, value_enum, default_value = "cpu")]
        backend: Backend,
    }

    #[derive(Clone, Copy, clap::ValueEnum)]
    enum Backend {
        Cpu,
        Webgpu,
    }

    /// The device `backend` names.
    fn compute_device(backend: Backend) -> Result<device::ComputeDevice> {
        match backend {
            Backend::Cpu => Ok(device::cpu()),
            #[cfg(feature = "webgpu")]
            Backend::Webgpu => block_on(device::webgpu()),
            #[cfg(not(feature = "webgpu"))]
            Backend::Webgpu => Err(VaeError::Argument("this build of vae has no WebGPU backend".into())),
        }
    }

    impl TrainArgs {
        fn config(&self) -> Result<VaeConfig> {
            let mut c = if self.paper { VaeConfig::paper() } else { VaeConfig::default() };
            if let Some(v) = self.latent_dim { c.latent_dim = v; }
            if let Some(v) = &self.hidden { c.hidden = v.clone(); }
            if let Some(v) = self.activation { c.activation = v; }
            if let Some(v) = self.decoder { c.decoder = v; }
            if let Some(v) = self.estimator { c.estimator = v; }
            if let Some(v) = self.samples { c.samples = v; }
            if let Some(v) = self.batch_size { c.batch_size = v; }
            if let Some(v) = self.optimizer { c.optimizer = v; }
            if let Some(v) = self.lr { c.learning_rate = v; }
            if let Some(v) = self.weight_decay { c.weight_decay = v; }
            if let Some(v) = self.beta { c.beta = v; }
            if let Some(v) = self.binarization { c.binarization = v; }
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
        // A folder of images without classes (the page's download of a set without sub-folders
        // may be taken without its labels files) trains as an unlabelled set.
        if !dir.join(labels).exists() && dir.join(images).exists() {
            return Ok(Dataset::from_idx_images(read(images)?)?);
        }
        Ok(Dataset::from_idx(read(images)?, read(labels)?)?)
    }

    /// The visitor's images a data folder holds, from the `dataset.json` the page's "Download data
    /// set" writes beside the IDX files; `None` for a folder without one (MNIST).
    fn data_set_in(dir: &Path) -> Result<Option<DataSetRecord>> {
        let path = dir.join("dataset.json");
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| VaeError::Argument(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| VaeError::Argument(format!("{} is not the page's description of a data set: {e}", path.display())))
    }

    fn train(args: &TrainArgs) -> Result<()> {
        let train_set = load(&args.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
        let test_set = load(&args.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
        let compute = compute_device(args.backend)?;
        // The run's chart goes on where a resumed run's left off (a run saved by the page carries
        // the page's), and is saved with the run.
        let data_set = data_set_in(&args.data)?;
        let (mut trainer, mut history) = match &args.resume {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| VaeError::Argument(format!("cannot read {}: {e}", path.display())))?;
                let checkpoint = Checkpoint::from_bytes(&bytes)?;
                let history = History::from_extra(&checkpoint.extra);
                if !DataSetRecord::same(history.data_set.as_ref(), data_set.as_ref()) {
                    return Err(VaeError::Argument(format!(
                        "{} was trained on {}, and {} holds {}: continue it on the data it was trained on",
                        path.display(),
                        DataSetRecord::describe(history.data_set.as_ref()),
                        args.data.display(),
                        DataSetRecord::describe(data_set.as_ref())
                    )));
                }
                (Trainer::resume(checkpoint, &compute.device, train_set.len())?, history)
            }
            None => (Trainer::new(args.config()?, &compute.device, train_set.len())?, History { data_set, ..History::default() }),
        };
        trainer.set_threads(if compute.kind == device::BackendKind::Cpu { rayon::current_num_threads() } else { 1 });
        let config = trainer.config().clone();
        let steps = trainer.steps_per_epoch();
        let config_json = serde_json::to_string(&config).expect("a config should serialise");
        if args.json {
            // The first line says what was trained (the page reads it before opening a trained model).
            println!("{{\"config\":{config_json}}}");
        } else {
            eprintln!("{} training / {} test digits on {}; config: {config_json}", train_set.len(), test_set.len(), compute.adapter);
        }
        let style = ProgressStyle::with_template(
            "epoch {prefix:>3} [{bar:30}] {pos}/{len} steps  {msg}",
        )
        .expect("the progress template should parse")
        .progress_chars("=> ");
        let mut train_seconds = 0.0;
        let first_epoch = trainer.epoch() + 1;
        for epoch in first_epoch..first_epoch + args.epochs {
            let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(steps as u64) };
            bar.set_style(style.clone());
            bar.set_prefix(epoch.to_string());
            let (mut sum, mut done) = (0.0, 0);
            let started = Instant::now();
            while done < steps {
                let n = (steps - done).min(10);
                let m = block_on(trainer.train_steps(&train_set, n))?;
                history.train.record(m.examples_seen, m.loss, m.reconstruction, m.kl);
                sum += m.loss * n as f64;
                done += n;
                bar.set_position(done as u64);
                bar.set_message(format!("loss {:.2}", m.loss));
            }
            let seconds = started.elapsed().as_secs_f64();
            train_seconds += seconds;
            bar.finish_and_clear();
            let model = trainer.inference_model();
            let test = block_on(evaluate(&model, &test_set, &config, &compute.device, trainer.evaluation_seed()))?;
            history.test.record(trainer.examples_seen(), test.loss, test.reconstruction, test.kl);
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
                &model, &test_set, &config, &compute.device, args.importance_samples, config.seed ^ vae_web::salt::LOG_LIKELIHOOD,
            ))?;
            println!("test log p(x) ≈ {ll:.3} nats (importance sampling, k = {})", args.importance_samples);
        }
        if let Some(path) = &args.checkpoint {
            std::fs::write(path, block_on(trainer.checkpoint(history.to_extra()))?.to_bytes())?;
            println!("saved the run in {} (step {})", path.display(), trainer.step_count());
        }
        if let Some(out) = &args.out {
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let weights = out.with_extension("bpk");
            std::fs::write(&weights, block_on(trainer.weights_bytes())?)?;
            std::fs::write(out.with_extension("json"), serde_json::to_string_pretty(&config).expect("a config should serialise"))?;
            println!("saved {} and {}", weights.display(), out.with_extension("json").display());
        }
        Ok(())
    }

    /// Trains the paper's set-up (`VaeConfig::paper()`) once per latent dimension, writing both
    /// bounds (ELBO, nats per digit) every `eval_every` samples, flushed line by line.
    fn curves(args: &CurvesArgs) -> Result<()> {
        use std::io::Write;
        let train_set = load(&args.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
        let test_set = load(&args.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
        let n = args.train_eval_digits.min(train_set.len());
        let train_eval = train_set.subset(&(0..n).collect::<Vec<_>>());
        let cpu = device::cpu();
        if let Some(parent) = args.out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&args.out)?;
        writeln!(out, "latent_dim,samples,train_elbo,test_elbo,seconds")?;
        for &latent_dim in &args.latent_dims {
            let config = VaeConfig { latent_dim, binarization: args.binarization, seed: args.seed, ..VaeConfig::paper() };
            config.validate()?;
            let mut trainer = Trainer::new(config.clone(), &cpu.device, train_set.len())?;
            trainer.set_threads(rayon::current_num_threads());
            let started = Instant::now();
            let mut next_eval = 0;
            loop {
                if trainer.examples_seen() >= next_eval {
                    let model = trainer.inference_model();
                    let seed = trainer.evaluation_seed();
                    let train_bound = block_on(evaluate(&model, &train_eval, &config, &cpu.device, seed))?;
                    let test_bound = block_on(evaluate(&model, &test_set, &config, &cpu.device, seed))?;
                    let line = format!(
                        "{latent_dim},{},{:.4},{:.4},{:.1}",
                        trainer.examples_seen(),
                        train_bound.elbo,
                        test_bound.elbo,
                        started.elapsed().as_secs_f64()
                    );
                    writeln!(out, "{line}")?;
                    out.flush()?;
                    eprintln!("{line}");
                    next_eval += args.eval_every;
                }
                if trainer.examples_seen() >= args.samples {
                    break;
                }
                block_on(trainer.train_steps(&train_set, 10))?;
            }
        }
        Ok(())
    }

    /// Trains the default model for `args.seconds` and prints the examples per second of every
    /// window of `args.window` seconds (steps of 10, timed on the wall clock and in CPU time), the
    /// median and the last window against the first.
    fn steady(args: &SteadyArgs, ftz: bool) -> Result<()> {
        let train_set = load(&args.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
        let config = VaeConfig { latent_dim: args.latent_dim, seed: args.seed, ..VaeConfig::default() };
        config.validate()?;
        let cpu = device::cpu();
        let mut trainer = Trainer::new(config.clone(), &cpu.device, train_set.len())?;
        let threads = rayon::current_num_threads();
        trainer.set_threads(threads);
        println!(
            "steady: latent {} hidden {:?}, {threads} thread(s), flush-to-zero {}, {} s in windows of {} s",
            config.latent_dim, config.hidden, if ftz { "on" } else { "off" }, args.seconds, args.window
        );
        let census = |trainer: &Trainer| {
            if args.census || args.census_all {
                for c in trainer.subnormal_census(&train_set) {
                    if args.census_all || c.subnormal > 0 || c.name == "logits" {
                        println!("    {c}");
                    }
                }
            }
        };
        let (mut rates, mut cpu_rates) = (Vec::new(), Vec::new());
        let mut trained = 0.0;
        while trained < args.seconds {
            let (first_step, started, cpu_started) = (trainer.step_count(), Instant::now(), cpu_seconds());
            let mut loss = 0.0;
            while started.elapsed().as_secs_f64() < args.window {
                loss = block_on(trainer.train_steps(&train_set, 10))?.loss;
            }
            let seconds = started.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu_started;
            trained += seconds;
            let examples = (trainer.step_count() - first_step) as f64 * config.batch_size as f64;
            let rate = examples / seconds;
            rates.push(rate);
            cpu_rates.push(examples / cpu);
            println!(
                "window {:>3}  steps {:>6} – {:>6}  {rate:8.0} examples/s  {:8.0} per CPU-second  loss {loss:7.2}",
                rates.len(),
                first_step,
                trainer.step_count(),
                examples / cpu
            );
            census(&trainer);
        }
        for (what, rates) in [("examples/s", &rates), ("examples per CPU-second", &cpu_rates)] {
            let mut sorted = rates.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted[sorted.len() / 2];
            let (first, last) = (rates[0], rates[rates.len() - 1]);
            println!("{what}: median {median:.0}; first {first:.0}, last {last:.0}: last / first {:.3}", last / first);
        }
        Ok(())
    }

    /// CPU time this process has used (all its threads), in seconds: a measure of a window's work
    /// that other jobs on a busy machine disturb less than the wall clock (rayon's threads wait
    /// awake, so with several threads it counts some waiting too).
    fn cpu_seconds() -> f64 {
        #[cfg(unix)]
        {
            let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: `t` is a valid timespec to write to; the clock id is a constant of the platform.
            if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0 {
                return t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9;
            }
        }
        0.0
    }

    /// `vae repair`: inpainting, denoising and super-resolution of test digits (src/repair/).
    mod repair {
        use std::path::PathBuf;
        use std::time::Instant;

        use futures::executor::block_on;

        use vae_web::checkpoint::Checkpoint;
        use vae_web::config::PIXELS;
        use vae_web::model::Vae;
        use vae_web::repair::{
            corrupt, importance_sampling, mean_image_score, preset_mask, repair_on_grid, run_chains, ChainOptions, Corruption,
            ImportanceOptions, MaskPreset, Method, Observation, Proposal, RepairGrid, TruthScore,
        };
        use vae_web::train::Trainer;
        use vae_web::{device, Result, VaeError};

        use super::load;

        /// The options of `vae repair` (what it measures: the `Repair` command's help).
        #[derive(clap::Args)]
        pub struct RepairArgs {
            /// The trained run (a `.vaerun`, from `vae train --checkpoint` or the page's "Download
            /// model"), e.g. models/latent2.vaerun. Its decoder must be Bernoulli.
            #[arg(long)]
            model: PathBuf,
            /// Folder with the MNIST files (see `train --help`).
            #[arg(long, default_value = "data/mnist")]
            data: PathBuf,
            /// Test digits repaired (the first N).
            #[arg(long, default_value_t = 1000)]
            digits: usize,
            /// Importance samples K per digit (self-normalised, MIWAE-style), with each proposal:
            /// the encoder's q(z|x̃) and the refined two-stage mixture (see `Proposal`).
            #[arg(long, default_value_t = 1000)]
            samples: usize,
            /// Steps of each Markov chain (Metropolis-within-Gibbs, pseudo-Gibbs).
            #[arg(long, default_value_t = ChainOptions::default().steps)]
            steps: usize,
            /// Chains per digit, side by side.
            #[arg(long, default_value_t = ChainOptions::default().chains)]
            chains: usize,
            /// First steps of each chain left out.
            #[arg(long, default_value_t = ChainOptions::default().burn_in)]
            burn_in: usize,
            /// First steps of each Metropolis-within-Gibbs chain's burn-in that move by
            /// pseudo-Gibbs (a warm start; at most the burn-in).
            #[arg(long, default_value_t = ChainOptions::default().warm_up)]
            warm_up: usize,
            /// Points per side of the exact repair's grid (2-D models).
            #[arg(long, default_value_t = 96)]
            grid_side: usize,
            /// The grid covers [−w, w]².
            #[arg(long, default_value_t = 5.0)]
            grid_half_width: f64,
            /// Importance samples for the log p(y) comparison with the grid (2-D models; 0: skip).
            #[arg(long, default_value_t = 5000)]
            evidence_samples: usize,
            /// Digits (the first N) of the log p(y) comparison, under each corruption.
            #[arg(long, default_value_t = 100)]
            evidence_digits: usize,
            /// Seed of the masks, the noise and every method's draws.
            #[arg(long, default_value_t = 1)]
            seed: u64,
        }

        /// The corruptions of the table, by name.
        const CORRUPTIONS: [&str; 5] =
            ["bottom half missing", "50 % missing at random", "80 % missing at random", "flips, ε = 0.2", "7×7 low resolution"];

        /// Corruption `which` of [`CORRUPTIONS`] for test digit `i` (its own random mask).
        fn corruption(which: usize, i: usize, seed: u64) -> Result<Corruption> {
            let random = |fraction| preset_mask(MaskPreset::Random { fraction, seed: seed ^ (i as u64).wrapping_mul(0x9E37_79B9) });
            Ok(match which {
                0 => Corruption::Missing { seen: preset_mask(MaskPreset::BottomHalf)? },
                1 => Corruption::Missing { seen: random(0.5)? },
                2 => Corruption::Missing { seen: random(0.8)? },
                3 => Corruption::Flip { rate: 0.2 },
                _ => Corruption::LowResolution { block: 4 },
            })
        }

        /// Mean MSE and LL over digits, and seconds spent.
        #[derive(Default, Clone, Copy)]
        struct Tally {
            mse: f64,
            log_likelihood: f64,
            digits: usize,
            seconds: f64,
        }

        impl Tally {
            fn add(&mut self, score: TruthScore) {
                self.mse += score.mse;
                self.log_likelihood += score.log_likelihood;
                self.digits += 1;
            }
            fn cell(&self) -> String {
                let n = self.digits.max(1) as f64;
                format!("{:.4} / {:.1}", self.mse / n, self.log_likelihood / n)
            }
        }

        fn load_model(path: &PathBuf, device: &burn::prelude::Device) -> Result<Vae> {
            let bytes = std::fs::read(path).map_err(|e| VaeError::Argument(format!("cannot read {}: {e}", path.display())))?;
            let checkpoint = Checkpoint::from_bytes(&bytes)?;
            let mut trainer = Trainer::new(checkpoint.config, device, 1)?;
            trainer.load_weights(checkpoint.weights)?;
            Ok(trainer.inference_model())
        }

        pub fn run(args: &RepairArgs) -> Result<()> {
            let cpu = device::cpu();
            let model = load_model(&args.model, &cpu.device)?;
            if model.decoder_kind() != vae_web::config::DecoderKind::Bernoulli {
                return Err(VaeError::Argument(
                    "the repair table scores binary pixels (flips, the mean image's Bernoulli likelihood); this model's decoder is Gaussian. The page repairs it under missing pixels, Gaussian noise and low resolution".into(),
                ));
            }
            let train_set = load(&args.data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
            let test_set = load(&args.data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
            let n = args.digits.min(test_set.len());
            if n == 0 {
                return Err(VaeError::Argument("--digits must be at least 1".into()));
            }
            let all: Vec<f32> = train_set.images(&(0..train_set.len()).collect::<Vec<_>>());
            let mean_image: Vec<f32> = (0..PIXELS)
                .map(|j| (all.iter().skip(j).step_by(PIXELS).map(|&v| v as f64).sum::<f64>() / train_set.len() as f64) as f32)
                .collect();
            drop(all);
            let digits: Vec<Vec<f32>> = (0..n).map(|i| test_set.images(&[i])).collect();
            let two_d = model.latent_dim() == 2;
            let grid = if two_d { Some(RepairGrid::new(&model, args.grid_side, args.grid_half_width, &cpu.device)?) } else { None };
            let chain = ChainOptions { steps: args.steps, burn_in: args.burn_in, chains: args.chains, warm_up: args.warm_up };
            eprintln!(
                "{} test digits, latent dimension {}, K = {}, {} chain(s) per digit of {} steps ({} burn-in, {} of them warm-up){}",
                n,
                model.latent_dim(),
                args.samples,
                args.chains,
                args.steps,
                args.burn_in,
                args.warm_up,
                if two_d { format!(", grid {}² over [−{w}, {w}]²", args.grid_side, w = args.grid_half_width) } else { String::new() }
            );
            let mut rows = Vec::new();
            let mut evidence = Vec::new();
            for (which, name) in CORRUPTIONS.into_iter().enumerate() {
                let observations: Vec<Observation> =
                    (0..n).map(|i| corrupt(&digits[i], &corruption(which, i, args.seed)?, args.seed ^ (i as u64) << 20)).collect::<Result<_>>()?;
                let mut tallies = [Tally::default(); 6];
                let timed = |tally: &mut Tally, f: &mut dyn FnMut(&mut Tally) -> Result<()>| -> Result<()> {
                    let started = Instant::now();
                    f(tally)?;
                    tally.seconds += started.elapsed().as_secs_f64();
                    Ok(())
                };
                let [mean, pseudo, metropolis, sampling, refined, exact] = &mut tallies;
                timed(mean, &mut |t| {
                    for (o, x) in observations.iter().zip(&digits) {
                        t.add(mean_image_score(&mean_image, o, x)?);
                    }
                    Ok(())
                })?;
                for (tally, method) in [(pseudo, Method::PseudoGibbs), (metropolis, Method::MetropolisWithinGibbs)] {
                    timed(tally, &mut |t| {
                        for start in (0..n).step_by(250) {
                            let end = (start + 250).min(n);
                            let repairs = block_on(run_chains(
                                &model, &observations[start..end], Some(&digits[start..end]), &chain, method, args.seed, &cpu.device,
                            ))?;
                            repairs.into_iter().for_each(|r| t.add(r.truth.expect("scored against the truth")));
                        }
                        Ok(())
                    })?;
                }
                for (tally, proposal) in [(sampling, Proposal::Encoder), (refined, Proposal::Refined)] {
                    let options = ImportanceOptions { samples: args.samples, proposal };
                    timed(tally, &mut |t| {
                        for (i, (o, x)) in observations.iter().zip(&digits).enumerate() {
                            let r = block_on(importance_sampling(&model, o, &options, Some(x), args.seed ^ i as u64, &cpu.device))?;
                            t.add(r.truth.expect("scored against the truth"));
                        }
                        Ok(())
                    })?;
                }
                if let Some(grid) = &grid {
                    timed(exact, &mut |t| {
                        for (i, (o, x)) in observations.iter().zip(&digits).enumerate() {
                            t.add(block_on(repair_on_grid(&model, grid, o, Some(x), args.seed ^ i as u64))?.truth.expect("scored against the truth"));
                        }
                        Ok(())
                    })?;
                    if args.evidence_samples > 0 {
                        let mut gaps = Vec::new();
                        for (i, o) in observations.iter().enumerate().take(args.evidence_digits) {
                            let exact = block_on(repair_on_grid(&model, grid, o, None, 0))?.log_evidence.expect("the grid integrates");
                            let mut gap = vec![exact];
                            for proposal in [Proposal::Encoder, Proposal::Refined] {
                                let options = ImportanceOptions { samples: args.evidence_samples, proposal };
                                let is = block_on(importance_sampling(&model, o, &options, None, args.seed ^ 0xE1 ^ i as u64, &cpu.device))?;
                                gap.extend([is.log_evidence.expect("importance sampling estimates"), is.effective_sample_size.expect("a weight")]);
                            }
                            gaps.push(gap);
                        }
                        evidence.push((name, gaps));
                    }
                }
                eprintln!(
                    "{name}: {}",
                    tallies.iter().map(|t| format!("{:.1} s", t.seconds)).collect::<Vec<_>>().join(", ")
                );
                rows.push((name, tallies));
            }
            print_tables(args, n, two_d, &rows, &evidence);
            Ok(())
        }

        #[allow(clippy::type_complexity)]
        fn print_tables(args: &RepairArgs, n: usize, two_d: bool, rows: &[(&str, [Tally; 6])], evidence: &[(&str, Vec<Vec<f64>>)]) {
            println!(
                "Repair of the first {n} test digits, {}: MSE on the inferred pixels / log-likelihood of the true ones (nats per digit) under the multiple imputations; higher LL is better.\n",
                args.model.display()
            );
            let grid_header = if two_d { format!(" exact grid ({}²) |", args.grid_side) } else { String::new() };
            println!(
                "| corruption | mean image | pseudo-Gibbs ({} steps) | Metropolis-within-Gibbs ({} steps) | IS, q(z\\|x̃) (K = {}) | IS, refined (K = {}) |{grid_header}",
                args.steps, args.steps, args.samples, args.samples
            );
            println!("|---|---|---|---|---|---|{}", if two_d { "---|" } else { "" });
            for (name, t) in rows {
                let grid = if two_d { format!(" {} |", t[5].cell()) } else { String::new() };
                println!("| {name} | {} | {} | {} | {} | {} |{grid}", t[0].cell(), t[1].cell(), t[2].cell(), t[3].cell(), t[4].cell());
            }
            println!();
            println!(
                "| seconds | {} |",
                (0..if two_d { 6 } else { 5 }).map(|m| format!("{:.0}", rows.iter().map(|r| r.1[m].seconds).sum::<f64>())).collect::<Vec<_>>().join(" | ")
            );
            if !evidence.is_empty() {
                println!(
                    "\nlog p(y), the exact grid against importance sampling (K = {}), first {} digits:\n",
                    args.evidence_samples,
                    evidence[0].1.len()
                );
                println!("| corruption | mean grid log p(y) | proposal | mean IS − grid | mean \\|IS − grid\\| | largest \\|IS − grid\\| | within 0.5 nats | median ESS |");
                println!("|---|---|---|---|---|---|---|---|");
                for (name, gaps) in evidence {
                    let m = gaps.len() as f64;
                    for (p, proposal) in ["q(z\\|x̃)", "refined"].into_iter().enumerate() {
                        let diffs: Vec<f64> = gaps.iter().map(|g| g[1 + 2 * p] - g[0]).collect();
                        let mut ess: Vec<f64> = gaps.iter().map(|g| g[2 + 2 * p]).collect();
                        ess.sort_by(|a, b| a.total_cmp(b));
                        println!(
                            "| {name} | {:.2} | {proposal} | {:+.3} | {:.3} | {:.3} | {:.0} % | {:.0} |",
                            gaps.iter().map(|g| g[0]).sum::<f64>() / m,
                            diffs.iter().sum::<f64>() / m,
                            diffs.iter().map(|d| d.abs()).sum::<f64>() / m,
                            diffs.iter().fold(0.0f64, |a, d| a.max(d.abs())),
                            100.0 * diffs.iter().filter(|d| d.abs() <= 0.5).count() as f64 / m,
                            ess[ess.len() / 2],
                        );
                    }
                }
            }
        }
    }
    use repair::RepairArgs;

    /// Sets the x86 flush-to-zero and denormals-are-zero bits (MXCSR) on this thread: arithmetic on
    /// subnormal floats is many times slower. The optimizer already keeps its moments out of that
    /// range (`src/optim.rs`, the only remedy in WebAssembly); natively this covers the rest.
    #[allow(deprecated)] // _mm_setcsr: no stable replacement yet
    fn flush_subnormals_to_zero() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: setting MXCSR's FTZ (bit 15) and DAZ (bit 6) only changes how this thread rounds
        // results below f32's normal range; every x86_64 CPU has SSE2 and these bits.
        unsafe {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            _mm_setcsr(_mm_getcsr() | 0x8040);
        }
    }

    /// Keeps freed memory in the process instead of giving it back to the system. Every training
    /// step allocates and frees the same few megabytes of tensors; with several threads glibc's
    /// defaults return them to the system and fault them back in, step after step (6 % of the time
    /// in page faults, `perf`, and two threads slower than one). Tensors up to 32 MB come from the
    /// heap, and the heap is trimmed only past 512 MB free.
    fn keep_freed_memory() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes allocator thresholds; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        }
    }

    pub fn main() -> ExitCode {
        keep_freed_memory();
        let cli = Cli::parse();
        let ftz = !cli.no_ftz;
        if ftz {
            flush_subnormals_to_zero();
        }
        // The pieces of each step and Flex's matrix products run on rayon's global pool: the same
        // bits on each of its threads.
        rayon::ThreadPoolBuilder::new()
            .num_threads(cli.threads.unwrap_or(0))
            .start_handler(move |_| {
                if ftz {
                    flush_subnormals_to_zero()
                }
            })
            .build_global()
            .expect("the global thread pool should not have been started yet");

        let result = match &cli.command {
            Command::Train(args) => train(args),
            Command::Curves(args) => curves(args),
            Command::Steady(args) => steady(args, ftz),
            Command::Repair(args) => repair::run(args),
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
