//! The session the page drives (`src/session.rs`), natively: every change it is asked for is all
//! or nothing, so a bad config, bad weights, a run of other data or a bad repair leave the model,
//! the data and the run as they were.

#![cfg(not(target_family = "wasm"))]

mod common;

use futures::executor::block_on;
use vae_web::config::{DecoderKind, VaeConfig};
use vae_web::data::Dataset;
use vae_web::device;
use vae_web::repair::{Corruption, Method};
use vae_web::session::Session;
use vae_web::VaeError;

fn small(latent_dim: usize) -> VaeConfig {
    VaeConfig { hidden: vec![32], latent_dim, batch_size: 20, ..VaeConfig::default() }
}

/// A session on the CPU with a small synthetic training set (`per_class` digits of each class)
/// and test set, trained `steps` steps.
fn session(config: VaeConfig, per_class: usize, steps: usize) -> Session {
    let mut session = Session::new(config).unwrap();
    session.set_device(device::cpu()).unwrap();
    session.load_data(common::synthetic(per_class, 1), common::synthetic(3, 2)).unwrap();
    if steps > 0 {
        block_on(session.train_steps(steps)).unwrap();
    }
    session
}

/// What identifies the model in use: its step, its config and its decoding of two latent points.
fn fingerprint(session: &Session) -> (u64, VaeConfig, Vec<f32>) {
    let d = session.config().latent_dim;
    let z: Vec<f32> = (0..2 * d).map(|i| i as f32 * 0.25 - 0.5).collect();
    let decoded = block_on(session.decode(&z, 2)).unwrap();
    (session.trainer().unwrap().step_count(), session.config().clone(), decoded)
}

#[test]
fn nothing_runs_before_there_are_a_device_and_data() {
    let mut session = Session::new(small(2)).unwrap();
    assert_eq!(block_on(session.train_steps(1)).unwrap_err().kind(), "NoData");
    assert_eq!(session.device().unwrap_err().kind(), "Backend");
    session.set_device(device::cpu()).unwrap();
    assert_eq!(block_on(session.decode(&[0.0, 0.0], 1)).unwrap_err().kind(), "NoData");
    session.load_data(common::synthetic(2, 1), common::synthetic(1, 2)).unwrap();
    assert_eq!(block_on(session.train_steps(2)).unwrap().step, 2);
}

#[test]
fn an_invalid_config_is_refused_and_changes_nothing() {
    let bad = VaeConfig { latent_dim: 0, ..small(2) };
    assert_eq!(Session::new(bad.clone()).err().unwrap().kind(), "Config");
    let mut session = session(small(2), 4, 3);
    let before = fingerprint(&session);
    assert_eq!(session.reset(bad).unwrap_err().kind(), "Config");
    assert_eq!(session.set_learning_rate(-1.0).unwrap_err().kind(), "Config");
    assert_eq!(fingerprint(&session), before);

    session.set_learning_rate(1e-4).unwrap();
    assert_eq!(session.config().learning_rate, 1e-4);
    assert_eq!(session.trainer().unwrap().config().learning_rate, 1e-4, "the trainer steps with the new rate");
    session.reset(small(3)).unwrap();
    assert_eq!((session.config().latent_dim, session.trainer().unwrap().step_count()), (3, 0));
}

#[test]
fn weights_that_do_not_fit_are_refused_and_the_model_is_kept() {
    let mut session = session(small(2), 4, 3);
    let before = fingerprint(&session);
    let error = block_on(session.load_weights(b"not a weights file".to_vec(), None)).unwrap_err();
    assert_eq!(error.kind(), "Record", "{error}");
    let other = self::session(small(3), 4, 1);
    let weights = block_on(other.trainer().unwrap().weights_bytes()).unwrap();
    let error = block_on(session.load_weights(weights.clone(), None)).unwrap_err();
    assert_eq!(error.kind(), "Record", "{error}");
    assert_eq!(fingerprint(&session), before);

    // With the config they were saved with, they load, at step 0 on a fresh optimizer.
    block_on(session.load_weights(weights, Some(small(3)))).unwrap();
    assert_eq!(fingerprint(&session), fingerprint(&other).clone().with_step(0));
}

#[test]
fn a_run_resumes_exactly_and_a_run_of_other_data_is_refused() {
    let mut session = session(small(2), 4, 3);
    let saved = block_on(session.save_point().unwrap().checkpoint(b"chart".to_vec())).unwrap();
    let went_on = block_on(session.train_steps(2)).unwrap();

    let mut elsewhere = self::session(small(2), 5, 1);
    let before = fingerprint(&elsewhere);
    let error = elsewhere.resume(saved.clone()).unwrap_err();
    assert_eq!(error.kind(), "Record", "{error}");
    assert_eq!(fingerprint(&elsewhere), before);

    let resumed = session.resume(saved).unwrap();
    assert_eq!((resumed.step, resumed.extra.as_slice()), (3, b"chart".as_slice()));
    let again = block_on(session.train_steps(2)).unwrap();
    assert_eq!((again.step, again.loss), (went_on.step, went_on.loss), "the same steps, the same losses");
}

#[test]
fn new_data_make_a_new_model_and_bad_data_are_refused() {
    let mut session = session(small(2), 4, 3);
    let before = fingerprint(&session);
    let error = Dataset::from_idx(vec![0u8; 10], vec![0u8; 10]).map_err(|e| e.in_set("training set")).unwrap_err();
    assert_eq!(error.kind(), "Idx");
    assert!(error.to_string().starts_with("training set: "), "{error}");
    assert_eq!(fingerprint(&session), before);
    session.load_data(common::synthetic(5, 3), common::synthetic(2, 4)).unwrap();
    assert_eq!(session.trainer().unwrap().step_count(), 0);
}

#[test]
fn an_evaluation_measures_the_weights_it_started_on() {
    let mut session = session(small(2), 4, 2);
    // 30 test digits, 10 at a time: the first two calls leave digits to do.
    assert!(block_on(session.evaluate(10)).unwrap().is_none());
    block_on(session.train_steps(3)).unwrap();
    assert!(block_on(session.evaluate(10)).unwrap().is_none());
    let bound = block_on(session.evaluate(10)).unwrap().expect("every test digit is done");
    assert_eq!((bound.step, bound.evaluation.examples), (2, 30));
    // A fresh evaluation measures the model as it is now, and gives the same bound in one go.
    let now = block_on(session.evaluate(1000)).unwrap().unwrap();
    assert_eq!(now.step, 5);
}

#[test]
fn a_repair_of_bad_input_is_refused_and_changes_nothing() {
    let mut session = session(small(2), 4, 3);
    let before = fingerprint(&session);
    let digit = session.test_digits(1).unwrap().images;
    for (corruption, image) in [
        (Corruption::Missing { seen: vec![true; 10] }, digit.clone()),
        (Corruption::Flip { rate: 2.0 }, digit.clone()),
        (Corruption::Flip { rate: 0.2 }, vec![f32::NAN; 784]),
    ] {
        let error = block_on(session.repair(&image, &corruption, Method::ImportanceSampling, false, 1)).err().expect("refused");
        assert!(matches!(error, VaeError::Argument(_) | VaeError::Shape { .. }), "{error}");
    }
    assert_eq!(fingerprint(&session), before);
    let repaired = block_on(session.repair(&digit, &Corruption::Flip { rate: 0.2 }, Method::Grid, true, 1)).unwrap();
    assert_eq!(repaired.repair.mean.len(), 784);
    assert!(repaired.repair.truth.is_some());
}

#[test]
fn a_gaussian_model_is_repaired_in_its_own_terms_and_refuses_flips() {
    let mut session = session(VaeConfig { decoder: DecoderKind::Gaussian, ..small(2) }, 4, 3);
    let before = fingerprint(&session);
    let digit = session.test_digits(1).unwrap().images;
    for method in [Method::Grid, Method::ImportanceSampling, Method::MetropolisWithinGibbs, Method::PseudoGibbs] {
        let error = block_on(session.repair(&digit, &Corruption::Flip { rate: 0.2 }, method, false, 1)).err().expect("refused");
        assert_eq!(error.kind(), "Argument", "{method:?}: {error}");
        assert!(error.to_string().contains("Gaussian noise"), "{error}");
    }
    assert_eq!(fingerprint(&session), before);
    for corruption in [Corruption::Noise { sigma: 0.2 }, Corruption::LowResolution { block: 4 }, Corruption::Missing { seen: (0..784).map(|i| i < 392).collect() }] {
        let repaired = block_on(session.repair(&digit, &corruption, Method::Grid, true, 1)).unwrap();
        assert!(repaired.repair.mean.iter().all(|v| v.is_finite()), "{corruption:?}");
        assert!(repaired.repair.log_evidence.unwrap().is_finite() && repaired.repair.truth.unwrap().log_likelihood.is_finite(), "{corruption:?}");
    }
}

/// A fingerprint with another step.
trait WithStep {
    fn with_step(self, step: u64) -> Self;
}

impl WithStep for (u64, VaeConfig, Vec<f32>) {
    fn with_step(self, step: u64) -> Self {
        (step, self.1, self.2)
    }
}
