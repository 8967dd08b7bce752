//! Property tests of the readers of outside bytes: the IDX reader (data), the weights reader
//! (burnpack) and the saved-run reader are fed thousands of random and mutated byte strings —
//! truncations, flipped bits, changed headers of valid files — and must answer with a value or an
//! error, never a panic, and leave the model in use untouched.

#![cfg(not(target_family = "wasm"))]

mod common;

use burn::prelude::*;
use futures::executor::block_on;
use proptest::prelude::*;
use vae_web::checkpoint::Checkpoint;
use vae_web::config::VaeConfig;
use vae_web::data::Dataset;
use vae_web::idx::{read_idx_images, read_idx_labels, write_idx_images, write_idx_labels};
use vae_web::train::Trainer;

/// A valid file with `mutations` applied: each (position, xor) flips bits of one byte; then the
/// file is cut to `keep` of its length (a fraction) or kept whole.
fn mutate(mut bytes: Vec<u8>, mutations: &[(usize, u8)], keep: Option<f64>) -> Vec<u8> {
    for &(at, xor) in mutations {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] ^= xor;
        }
    }
    if let Some(fraction) = keep {
        bytes.truncate((bytes.len() as f64 * fraction) as usize);
    }
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn small() -> VaeConfig {
    VaeConfig { latent_dim: 2, hidden: vec![16], batch_size: 10, ..VaeConfig::default() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_idx_reader_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = read_idx_images(&bytes[..]);
        let _ = read_idx_labels(&bytes[..]);
        let _ = Dataset::from_idx(&bytes[..], &bytes[..]);
    }

    #[test]
    fn the_idx_reader_never_panics_on_mutated_files(
        mutations in proptest::collection::vec((any::<usize>(), 1u8..), 0..6),
        keep in proptest::option::of(0.0f64..1.0),
        zipped in any::<bool>(),
    ) {
        let (pixels, labels) = common::synthetic_raw(1, 1);
        let images = write_idx_images(&pixels[..3 * 784], 28, 28);
        let labels = write_idx_labels(&labels[..3]);
        let (images, labels) = if zipped { (gzip(&images), gzip(&labels)) } else { (images, labels) };
        let images = mutate(images, &mutations, keep);
        let labels = mutate(labels, &mutations, keep);
        if let Ok(set) = Dataset::from_idx(images, labels) {
            prop_assert!(!set.is_empty() && set.labels().iter().all(|&l| l <= 9));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_weights_and_run_readers_never_panic_and_keep_the_model(
        mutations in proptest::collection::vec((any::<usize>(), 1u8..), 1..6),
        keep in proptest::option::of(0.0f64..1.0),
    ) {
        let device = Device::flex();
        let data = common::synthetic(2, 3);
        let mut trainer = Trainer::new(small(), &device, data.len()).unwrap();
        block_on(trainer.train_steps(&data, 2)).unwrap();
        let weights = block_on(trainer.weights_bytes()).unwrap();
        let run = block_on(trainer.checkpoint(b"{}".to_vec())).unwrap().to_bytes();
        let probe = data.range(0, 2);
        let before = block_on(vae_web::eval::encode(&trainer.inference_model(), &probe, 2, &device)).unwrap();

        // Mutated weights: loaded (then finite or not), or refused with the model untouched.
        let mut target = Trainer::new(small(), &device, data.len()).unwrap();
        let target_before = block_on(vae_web::eval::encode(&target.inference_model(), &probe, 2, &device)).unwrap();
        if target.load_weights(mutate(weights, &mutations, keep)).is_err() {
            let after = block_on(vae_web::eval::encode(&target.inference_model(), &probe, 2, &device)).unwrap();
            prop_assert_eq!(after, target_before);
        }

        // A mutated run: read and resumed, or refused; the source model is never touched.
        if let Ok(checkpoint) = Checkpoint::from_bytes(&mutate(run, &mutations, keep)) {
            let _ = Trainer::resume(checkpoint, &device, data.len());
        }
        let after = block_on(vae_web::eval::encode(&trainer.inference_model(), &probe, 2, &device)).unwrap();
        prop_assert_eq!(after, before);
    }
}
