//! Integration tests of the core through its public API, natively on the CPU (Flex).

#![cfg(not(target_family = "wasm"))]

mod common;

use burn::prelude::*;
use futures::executor::block_on;
use vae_web::transfer::HostRng;
use rand::SeedableRng;
use vae_web::config::{DecoderKind, Estimator, VaeConfig, PIXELS};
use vae_web::VaeError;
use vae_web::eval::{evaluate, log_likelihood_estimate, EvaluationRun};
use vae_web::loss::{kl_standard_normal, log_normal, log_standard_normal, negative_elbo};
use vae_web::model::Vae;
use vae_web::train::Trainer;
use vae_web::transfer::{standard_normal, tensor2};

fn small(config: VaeConfig) -> VaeConfig {
    VaeConfig { hidden: vec![64], batch_size: 20, learning_rate: 3e-3, ..config }
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().try_into_vec::<f32>().unwrap()[0] as f64
}

#[test]
fn training_lowers_the_loss_on_a_tiny_synthetic_set() {
    let data = common::synthetic(20, 1);
    for config in [
        small(VaeConfig::default()),
        small(VaeConfig { decoder: DecoderKind::Gaussian, ..VaeConfig::default() }),
        small(VaeConfig::paper()),
        small(VaeConfig { estimator: Estimator::SgvbA, samples: 3, ..VaeConfig::default() }),
    ] {
        let mut trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
        let first = block_on(trainer.train_steps(&data, 5)).unwrap();
        for _ in 0..10 {
            block_on(trainer.train_steps(&data, 10)).unwrap();
        }
        let last = block_on(trainer.train_steps(&data, 10)).unwrap();
        assert!(
            last.loss < first.loss - 5.0,
            "{config:?}: loss went from {} to {}",
            first.loss,
            last.loss
        );
        assert_eq!(last.step, 115);
        assert_eq!(last.examples_seen, 115 * 20);
        assert!(last.epoch >= 11, "{}", last.epoch);
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let data = common::synthetic(5, 2);
    let run = |seed| {
        let config = small(VaeConfig { seed, ..VaeConfig::default() });
        let mut trainer = Trainer::new(config, &Device::flex(), data.len()).unwrap();
        block_on(trainer.train_steps(&data, 3)).unwrap().loss
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn a_step_spread_over_threads_is_the_same_step() {
    let data = common::synthetic(10, 3);
    // L = 2 too: the noise of each piece's rows has to be cut out of every sample's block.
    // Minibatches of 75 rows: three pieces of 25 (see `ROWS_PER_PIECE`).
    for config in [
        VaeConfig { batch_size: 75, ..small(VaeConfig::default()) },
        VaeConfig { batch_size: 75, ..small(VaeConfig { estimator: Estimator::SgvbA, samples: 2, ..VaeConfig::paper() }) },
        // Pieces of 34, 33 and 33 rows: the first piece's head start (see `sharded_gradients`).
        VaeConfig { batch_size: 100, ..small(VaeConfig::default()) },
    ] {
        let run = |threads| {
            let mut trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
            trainer.set_threads(threads);
            let losses: Vec<f64> = (0..8).map(|_| block_on(trainer.train_steps(&data, 1)).unwrap().loss).collect();
            let (mu, _) = block_on(vae_web::eval::encode(&trainer.inference_model(), &data.range(0, 3), 3, &Device::flex())).unwrap();
            (losses, mu)
        };
        let (one, mu_one) = run(1);
        let (three, mu_three) = run(3);
        for (step, (a, b)) in one.iter().zip(&three).enumerate() {
            assert!(((a - b) / a).abs() < 1e-4, "{:?} step {}: {a} on one thread, {b} on three", config.optimizer, step + 1);
        }
        for (a, b) in mu_one.iter().zip(&mu_three) {
            assert!((a - b).abs() < 1e-3, "the weights after 8 steps: {a} vs {b}");
        }
        assert_ne!(one, three, "three pieces really ran");
        assert_eq!(run(3).0, three, "the same run for the same number of threads");
    }
}

#[test]
fn the_sum_and_the_update_spread_over_more_threads_give_the_same_numbers() {
    // With more than two threads in rayon's pool, the sum of the pieces' gradients and Adam's update
    // run on slices of the values on the pool (`pool::spread_model_passes`); value by value they
    // are the same operations in the same order, so the same bits as one after another.
    let data = common::synthetic(10, 5);
    let config = VaeConfig { batch_size: 100, ..small(VaeConfig::default()) };
    let run = |pool_threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(pool_threads).build().unwrap();
        pool.install(|| {
            assert_eq!(vae_web::pool::spread_model_passes(), pool_threads > 2);
            let mut trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
            trainer.set_threads(4);
            let losses: Vec<f64> = (0..5).map(|_| block_on(trainer.train_steps(&data, 1)).unwrap().loss).collect();
            (losses, block_on(trainer.weights_bytes()).unwrap())
        })
    };
    let (serial, spread) = (run(2), run(4));
    assert_eq!(serial.0, spread.0, "the losses of five steps");
    assert!(serial.1 == spread.1, "the weights after five steps differ");
}

#[test]
fn pieces_then_runs_every_piece_once_and_hands_the_results_over_in_order() {
    // On a pool of one thread nobody else can take a piece: the caller runs them all (no waiting on
    // a thread that never comes); from outside any pool the work is handed to the global one.
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (squares, ran) = pool.install(|| {
            let ran = std::sync::atomic::AtomicUsize::new(0);
            let squares = vae_web::pool::pieces_then(
                (0..5u64).collect(),
                |i| {
                    ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    i * i
                },
                |results| results,
            );
            (squares, ran.into_inner())
        });
        assert_eq!((squares, ran), (vec![0, 1, 4, 9, 16], 5), "{threads} threads");
    }
    assert_eq!(vae_web::pool::pieces_then(vec![3u64, 4], |i| i + 1, |r| r.iter().sum::<u64>()), 9);
    // A piece that panics ends the call with a panic, on any thread, instead of leaving it waiting
    // (the first piece takes a while, so that another thread takes the one that panics).
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let piece = |i: u64| match i {
            0 => {
                std::thread::sleep(std::time::Duration::from_millis(200));
                i
            }
            1 => panic!("piece {i}"),
            _ => i,
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| vae_web::pool::pieces_then(vec![0u64, 1, 2], piece, |r| r))
        }));
        assert!(outcome.is_err(), "{threads} threads");
    }
}

#[test]
fn sampled_kl_agrees_with_the_closed_form_in_expectation() {
    // SGVB-A estimates KL(q‖p) as the mean of log q(z|x) − log p(z) over z ~ q; SGVB-B uses the
    // closed form of appendix B. With 40,000 samples the standard error is below 0.02 nats here.
    let device = Device::flex();
    let (mu, log_var) = (vec![0.5f32, -1.0, 2.0], vec![-0.5f32, 0.3, -1.2]);
    let n = 40_000;
    let mu_t = tensor2(mu.repeat(n), n, 3, &device);
    let lv_t = tensor2(log_var.repeat(n), n, 3, &device);
    let eps = tensor2(standard_normal(&mut HostRng::seed_from_u64(3), n * 3), n, 3, &device);
    let z = Vae::reparameterize(mu_t.clone(), lv_t.clone(), eps);
    let sampled = scalar((log_normal(z.clone(), mu_t.clone(), lv_t.clone()) - log_standard_normal(z)).mean());
    let closed = scalar(kl_standard_normal(mu_t, lv_t).mean());
    assert!((sampled - closed).abs() < 0.06, "sampled {sampled} vs closed form {closed}");
}

#[test]
fn sgvb_a_and_sgvb_b_agree_on_a_model_in_expectation() {
    // Same model, batch and noise (L = 64): the reconstruction terms are identical, and the two KL
    // estimates agree within 0.1 nats (the sampled one's standard error here is about 0.03).
    let data = common::synthetic(4, 4);
    let device = Device::flex().autodiff();
    let b = VaeConfig { hidden: vec![32], samples: 64, ..VaeConfig::default() };
    let a = VaeConfig { estimator: Estimator::SgvbA, ..b.clone() };
    let model = Vae::new(&b, &mut HostRng::seed_from_u64(5), &device).valid();
    let device = device.inner();
    let m = data.len();
    let x = tensor2(data.range(0, m), m, PIXELS, &device);
    let eps = tensor2(standard_normal(&mut HostRng::seed_from_u64(6), 64 * m * 2), 64 * m, 2, &device);
    let pa = negative_elbo(&model, x.clone(), eps.clone(), &a);
    let pb = negative_elbo(&model, x, eps, &b);
    assert_eq!(scalar(pa.reconstruction), scalar(pb.reconstruction));
    let (ka, kb) = (scalar(pa.kl), scalar(pb.kl));
    assert!((ka - kb).abs() < 0.1, "SGVB-A KL {ka} vs SGVB-B KL {kb}");
}

#[test]
fn importance_sampling_matches_the_elbo_at_k1_and_grows_with_k() {
    let data = common::synthetic(30, 9);
    let config = small(VaeConfig::default());
    let mut trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
    block_on(trainer.train_steps(&data, 150)).unwrap();
    let model = trainer.inference_model();
    let device = Device::flex();
    let seeds = 0..4u64;
    let mean = |f: &dyn Fn(u64) -> f64| seeds.clone().map(f).sum::<f64>() / seeds.clone().count() as f64;
    let elbo = mean(&|s| -block_on(evaluate(&model, &data, &config, &device, s)).unwrap().loss);
    let is = |k| mean(&|s| block_on(log_likelihood_estimate(&model, &data, &config, &device, k, 100 + s)).unwrap());
    let (k1, k10, k100) = (is(1), is(10), is(100));
    // 4 × 300 single-sample estimates: the standard error of their difference is about 0.3 nats.
    assert!((k1 - elbo).abs() < 1.0, "k = 1: {k1} vs ELBO {elbo}");
    assert!(k10 > k1 && k100 > k10, "not increasing with k: {k1}, {k10}, {k100}");
    assert!(k100 < 0.0, "log p(x) of continuous-valued pixels under a Bernoulli model is negative: {k100}");
}

#[test]
fn a_bound_on_several_threads_is_the_bound_on_one() {
    let data = common::synthetic(30, 12);
    let config = small(VaeConfig::default());
    let mut trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
    block_on(trainer.train_steps(&data, 20)).unwrap();
    let bound = |model: Vae, threads| {
        let mut run = EvaluationRun::new(model, &config, &Device::flex(), 5).on_threads(threads);
        // Uneven pieces: 7 datapoints at a time over 3 threads.
        while run.advance(&data, 7) {}
        block_on(run.finish()).unwrap()
    };
    let (one, three) = (bound(trainer.inference_model(), 1), bound(trainer.inference_model(), 3));
    assert_eq!((one.examples, three.examples), (data.len(), data.len()));
    for (a, b) in [(one.reconstruction, three.reconstruction), (one.kl, three.kl)] {
        assert!((a - b).abs() <= 1e-5 * a.abs(), "one thread {a}, three {b}");
    }
    // Not equal by accident: the model after more steps has another bound.
    block_on(trainer.train_steps(&data, 20)).unwrap();
    assert_ne!(bound(trainer.inference_model(), 3).loss, three.loss);
}

#[test]
fn evaluation_is_reproducible_and_inference_shapes_are_right() {
    let data = common::synthetic(3, 11);
    let config = small(VaeConfig { latent_dim: 3, ..VaeConfig::default() });
    let trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
    let model = trainer.inference_model();
    let device = Device::flex();
    let e1 = block_on(evaluate(&model, &data, &config, &device, 1)).unwrap();
    let e2 = block_on(evaluate(&model, &data, &config, &device, 1)).unwrap();
    assert_eq!(e1.loss, e2.loss);
    assert!((e1.loss - (e1.reconstruction + e1.kl)).abs() < 1e-9 && e1.elbo == -e1.loss);
    let images = data.range(0, 4);
    let (mu, log_var) = block_on(vae_web::eval::encode(&model, &images, 4, &device)).unwrap();
    assert_eq!((mu.len(), log_var.len()), (12, 12));
    let pixels = block_on(vae_web::eval::decode(&model, &mu, 4, &device)).unwrap();
    assert_eq!(pixels.len(), 4 * PIXELS);
    assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    let grid = block_on(vae_web::eval::manifold(&model, 5, 0, 2, &[0.0; 3], &device)).unwrap();
    assert_eq!(grid.len(), 25 * PIXELS);
    // Wrong lengths and non-finite values are errors, not panics.
    assert!(block_on(vae_web::eval::decode(&model, &mu[..5], 4, &device)).is_err());
    assert!(block_on(vae_web::eval::encode(&model, &[f32::NAN; PIXELS], 1, &device)).is_err());
}

#[test]
fn saved_weights_load_back_into_a_fresh_model() {
    use burn::module::Module;
    let data = common::synthetic(2, 12);
    let config = small(VaeConfig::default());
    let mut trainer = Trainer::new(config.clone(), &Device::flex(), data.len()).unwrap();
    block_on(trainer.train_steps(&data, 5)).unwrap();
    let bytes = block_on(trainer.weights_bytes()).unwrap();
    let device = Device::flex();
    let images = data.range(0, 3);
    let encode = |t: &Trainer| block_on(vae_web::eval::encode(&t.inference_model(), &images, 3, &device)).unwrap().0;

    // Another seed gives other weights until the bytes are loaded; then the same encodings.
    let mut other = Trainer::new(VaeConfig { seed: 999, ..config.clone() }, &device, data.len()).unwrap();
    assert_ne!(encode(&trainer), encode(&other));
    other.load_weights(bytes.clone()).unwrap();
    assert_eq!(encode(&trainer), encode(&other));
    // The loaded model trains on.
    block_on(other.train_steps(&data, 2)).unwrap();

    // Garbage and weights of another shape are refused, and the model is kept.
    let mut third = Trainer::new(VaeConfig { latent_dim: 3, ..config.clone() }, &device, data.len()).unwrap();
    let before = encode(&third);
    assert!(third.load_weights(b"not burnpack".to_vec()).unwrap_err().to_string().contains("not a weights file"));
    let err = third.load_weights(bytes.clone()).unwrap_err().to_string();
    assert!(err.contains("do not fit a model with latent dimension 3"), "{err}");
    assert_eq!(before, encode(&third));

    // The same bytes as a file: what `vae train --out` writes and Burn's own loader reads.
    let path = std::env::temp_dir().join(format!("vae-roundtrip-{}.bpk", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let fresh = Vae::new(&config, &mut HostRng::seed_from_u64(999), &device).try_load_file(&path).unwrap();
    // Burnpack reads tensors lazily from the file: remove it only once they are used.
    let (got, _) = block_on(vae_web::eval::encode(&fresh, &images, 3, &device)).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(got, encode(&trainer));
}

#[test]
fn the_grid_posterior_is_normalised_and_its_log_p_x_agrees_with_importance_sampling() {
    use vae_web::posterior::{digit_bound, grid_points, log_joint, normalise};
    let data = common::synthetic(20, 3);
    let config = small(VaeConfig { latent_dim: 2, ..VaeConfig::default() });
    let device = Device::flex();
    let mut trainer = Trainer::new(config.clone(), &device, data.len()).unwrap();
    for _ in 0..30 {
        block_on(trainer.train_steps(&data, 10)).unwrap();
    }
    let model = trainer.inference_model();
    let image = data.range(7, 1);

    // The posterior over a grid sums to 1, and each value is the direct log p(x|z) + log p(z).
    let side = 48;
    let points = grid_points(side, (-4.0, 4.0), (-4.0, 4.0));
    let joint = block_on(log_joint(&model, &image, &points, side * side, &device)).unwrap();
    let mass: f64 = normalise(&joint).iter().map(|&p| p as f64).sum();
    assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
    let one = block_on(log_joint(&model, &image, &points[2 * 100..2 * 101], 1, &device)).unwrap();
    assert!((one[0] - joint[100]).abs() < 1e-3 * joint[100].abs().max(1.0));

    // log p(x) two ways: the grid's integral and importance sampling with k = 5000.
    let bound = block_on(digit_bound(&model, &image, 5000, 9, &device)).unwrap();
    let grid = bound.grid_log_likelihood.unwrap();
    assert!((grid - bound.log_likelihood).abs() < 0.5, "grid {grid} vs IS {}", bound.log_likelihood);
    assert!(bound.elbo <= bound.log_likelihood + 0.05, "ELBO {} above log p(x) {}", bound.elbo, bound.log_likelihood);
    assert!(block_on(digit_bound(&model, &image[..10], 10, 9, &device)).is_err());
}

#[test]
fn a_diverging_run_rolls_back_to_a_healthy_state_and_a_smaller_step_carries_on() {
    let data = common::synthetic(10, 4);
    let config = small(VaeConfig { latent_dim: 2, ..VaeConfig::default() });
    let device = Device::flex();
    let mut trainer = Trainer::new(config.clone(), &device, data.len()).unwrap();
    block_on(trainer.train_steps(&data, 5)).unwrap();
    let healthy = block_on(trainer.train_steps(&data, 5)).unwrap();
    let images = data.range(0, 3);
    let encode = |t: &Trainer| block_on(vae_web::eval::encode(&t.inference_model(), &images, 3, &device)).unwrap();

    // A step size that blows the run up: back to the start of the last healthy chunk, step 5.
    trainer.set_learning_rate(1.0).unwrap();
    let err = block_on(trainer.train_steps(&data, 40)).unwrap_err();
    assert!(matches!(err, VaeError::NonFinite { step: 5, .. }), "{err}");
    assert_eq!(trainer.step_count(), 5);
    let mut straight = Trainer::new(config.clone(), &device, data.len()).unwrap();
    block_on(straight.train_steps(&data, 5)).unwrap();
    assert_eq!(encode(&trainer), encode(&straight), "the weights are those of step 5");

    // The original step size from there: exactly the run that never diverged.
    trainer.set_learning_rate(config.learning_rate).unwrap();
    let resumed = block_on(trainer.train_steps(&data, 5)).unwrap();
    assert_eq!(resumed.loss, healthy.loss);

    // Chunks that wreck the weights while their losses still look finite are undone too.
    trainer.set_learning_rate(1.0).unwrap();
    let mut diverged = false;
    for _ in 0..60 {
        if let Err(err) = block_on(trainer.train_steps(&data, 1)) {
            assert!(matches!(err, VaeError::NonFinite { .. }), "{err}");
            diverged = true;
            break;
        }
    }
    assert!(diverged, "learning rate 1 should diverge within 60 steps");
    trainer.set_learning_rate(config.learning_rate).unwrap();
    let after = block_on(trainer.train_steps(&data, 1)).unwrap();
    assert!(after.loss <= 1.5 * resumed.loss, "rolled back to a healthy state: loss {} vs {}", after.loss, resumed.loss);
    assert!(trainer.set_learning_rate(0.0).is_err());
}

#[test]
fn a_checkpointed_run_continues_bit_for_bit() {
    use vae_web::checkpoint::Checkpoint;
    let data = common::synthetic(10, 8);
    let device = Device::flex();
    for config in [
        small(VaeConfig { latent_dim: 2, ..VaeConfig::default() }),
        small(VaeConfig { latent_dim: 3, optimizer: vae_web::config::OptimizerKind::Adagrad, learning_rate: 0.02, ..VaeConfig::default() }),
    ] {
        // 20 steps, save, 10 more; against 20 steps, save, restore from the bytes, 10 more.
        let mut straight = Trainer::new(config.clone(), &device, data.len()).unwrap();
        block_on(straight.train_steps(&data, 20)).unwrap();
        let bytes = block_on(straight.checkpoint(b"chart".to_vec())).unwrap().to_bytes();
        let want: Vec<f64> = (0..10).map(|_| block_on(straight.train_steps(&data, 1)).unwrap().loss).collect();

        let checkpoint = Checkpoint::from_bytes(&bytes).unwrap();
        assert_eq!(checkpoint.extra, b"chart");
        let mut resumed = Trainer::resume(checkpoint, &device, data.len()).unwrap();
        assert_eq!(resumed.step_count(), 20);
        let got: Vec<f64> = (0..10).map(|_| block_on(resumed.train_steps(&data, 1)).unwrap().loss).collect();
        assert_eq!(got, want, "{:?}", config.optimizer);
    }
    // A run from another data set is refused with the reason.
    let config = small(VaeConfig::default());
    let trainer = Trainer::new(config, &device, data.len()).unwrap();
    let checkpoint = block_on(trainer.checkpoint(vec![])).unwrap();
    let err = Trainer::resume(checkpoint, &device, data.len() + 1).err().unwrap();
    assert!(err.to_string().contains("trained on 100 digits"), "{err}");
}
