//! The model and training configuration: one struct with defaults, checked before use.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Pixels in one MNIST digit (28×28).
pub const PIXELS: usize = 784;
/// Side of one MNIST digit.
pub const SIDE: usize = 28;

/// The hidden layers' non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// tanh, as in the paper's MNIST experiments.
    Tanh,
    /// ReLU, as in most modern re-implementations.
    Relu,
}

/// The generative model's output distribution p_θ(x|z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    /// Independent Bernoulli per pixel (the paper's choice for MNIST); the decoder gives logits.
    Bernoulli,
    /// Independent Gaussian per pixel with its own mean and log-variance (the paper's appendix C.2).
    Gaussian,
}

/// Which SGVB estimator of the ELBO to use (the paper's section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Estimator {
    /// SGVB-A (eq. 6): the KL term estimated by sampling, log q(z|x) − log p(z) at each z.
    #[serde(rename = "sgvb-a")]
    SgvbA,
    /// SGVB-B (eq. 7): the KL term in closed form (appendix B), lower variance.
    #[serde(rename = "sgvb-b")]
    SgvbB,
}

/// The optimizer of φ and θ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba), the common modern choice.
    Adam,
    /// Adagrad, as in the paper's experiments.
    Adagrad,
}

/// How grey-level MNIST pixels become the decoder's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binarization {
    /// Grey levels in [0, 1] used as they are (Bernoulli cross-entropy against the grey value).
    None,
    /// A fresh Bernoulli draw of each pixel every time it is seen (dynamic binarisation).
    Dynamic,
    /// Pixels above 0.5 become 1, the rest 0.
    Threshold,
}

/// Everything that defines a model and how it is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct VaeConfig {
    /// Dimension of z (1 to 256); 2 gives the explorer's plane and the paper's manifold figure.
    pub latent_dim: usize,
    /// Hidden layer sizes of the encoder; the decoder mirrors them (1 to 4 layers, 1 to 4096 each).
    pub hidden: Vec<usize>,
    /// Non-linearity between layers.
    pub activation: Activation,
    /// Output distribution of the decoder.
    pub decoder: DecoderKind,
    /// SGVB-A or SGVB-B.
    pub estimator: Estimator,
    /// L, samples of z per datapoint (1 to 64).
    pub samples: usize,
    /// M, datapoints per minibatch (1 to 1000).
    pub batch_size: usize,
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Step size, in (0, 1].
    pub learning_rate: f64,
    /// L2 penalty on the parameters, the MAP form of the paper's N(0, I) prior on them (0 to 1).
    pub weight_decay: f64,
    /// Weight on the KL term (1 is the ELBO; 0 to 100).
    pub beta: f64,
    /// Treatment of grey-level pixels.
    pub binarization: Binarization,
    /// Seed of the parameter initialisation, the shuffling, the binarisation and ε.
    pub seed: u64,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self {
            latent_dim: 2,
            hidden: vec![400],
            activation: Activation::Relu,
            decoder: DecoderKind::Bernoulli,
            estimator: Estimator::SgvbB,
            samples: 1,
            batch_size: 100,
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            beta: 1.0,
            binarization: Binarization::None,
            seed: 42,
        }
    }
}

fn bad(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        reason: reason.into(),
    }
}

impl VaeConfig {
    /// The paper's MNIST set-up: tanh, 500 hidden units, Adagrad, M = 100, L = 1.
    ///
    /// The paper does not give Adagrad's step size; 0.02 is the middle of the range it searched.
    pub fn paper() -> Self {
        Self {
            hidden: vec![500],
            activation: Activation::Tanh,
            optimizer: OptimizerKind::Adagrad,
            learning_rate: 0.02,
            ..Self::default()
        }
    }

    /// Checks every field; the first one out of range is named in the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=256).contains(&self.latent_dim) {
            return Err(bad("latentDim", format!("must be 1 to 256, got {}", self.latent_dim)));
        }
        if !(1..=4).contains(&self.hidden.len()) {
            return Err(bad("hidden", format!("needs 1 to 4 layers, got {}", self.hidden.len())));
        }
        if let Some(&h) = self.hidden.iter().find(|&&h| !(1..=4096).contains(&h)) {
            return Err(bad("hidden", format!("each layer must have 1 to 4096 units, got {h}")));
        }
        if !(1..=64).contains(&self.samples) {
            return Err(bad("samples", format!("L must be 1 to 64, got {}", self.samples)));
        }
        if !(1..=1000).contains(&self.batch_size) {
            return Err(bad("batchSize", format!("M must be 1 to 1000, got {}", self.batch_size)));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return Err(bad(
                "learningRate",
                format!("must be in (0, 1], got {}", self.learning_rate),
            ));
        }
        if !(0.0..=1.0).contains(&self.weight_decay) {
            return Err(bad(
                "weightDecay",
                format!("must be 0 to 1, got {}", self.weight_decay),
            ));
        }
        if !(0.0..=100.0).contains(&self.beta) {
            return Err(bad("beta", format!("must be 0 to 100, got {}", self.beta)));
        }
        Ok(())
    }

    /// Parses a config from JSON, filling missing fields with defaults, then validates it.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json_lite(text)?;
        config.validate()?;
        Ok(config)
    }
}

fn serde_json_lite(text: &str) -> Result<VaeConfig, ConfigError> {
    serde_json::from_str(text).map_err(|e| bad("config", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_matches_the_explorer_case() {
        let c = VaeConfig::default();
        c.validate().unwrap();
        assert_eq!(c.latent_dim, 2);
        assert_eq!(c.estimator, Estimator::SgvbB);
        VaeConfig::paper().validate().unwrap();
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(VaeConfig, &str)> = vec![
            (VaeConfig { latent_dim: 0, ..Default::default() }, "latentDim"),
            (VaeConfig { latent_dim: 257, ..Default::default() }, "latentDim"),
            (VaeConfig { hidden: vec![], ..Default::default() }, "hidden"),
            (VaeConfig { hidden: vec![400, 0], ..Default::default() }, "hidden"),
            (VaeConfig { hidden: vec![10; 5], ..Default::default() }, "hidden"),
            (VaeConfig { samples: 0, ..Default::default() }, "samples"),
            (VaeConfig { batch_size: 1001, ..Default::default() }, "batchSize"),
            (VaeConfig { learning_rate: 0.0, ..Default::default() }, "learningRate"),
            (VaeConfig { learning_rate: f64::NAN, ..Default::default() }, "learningRate"),
            (VaeConfig { weight_decay: -1.0, ..Default::default() }, "weightDecay"),
            (VaeConfig { beta: 101.0, ..Default::default() }, "beta"),
        ];
        for (config, field) in cases {
            assert_eq!(config.validate().unwrap_err().field, field, "{config:?}");
        }
    }

    #[test]
    fn json_uses_camel_case_and_fills_defaults() {
        let c = VaeConfig::from_json(r#"{"latentDim": 20, "estimator": "sgvb-a", "activation": "tanh"}"#)
            .unwrap();
        assert_eq!(c.latent_dim, 20);
        assert_eq!(c.estimator, Estimator::SgvbA);
        assert_eq!(c.activation, Activation::Tanh);
        assert_eq!(c.batch_size, 100);
        let e = VaeConfig::from_json(r#"{"latentDim": 0}"#).unwrap_err();
        assert_eq!(e.field, "latentDim");
        let e = VaeConfig::from_json(r#"{"latentDimm": 3}"#).unwrap_err();
        assert!(e.reason.contains("latentDimm"), "{e}");
    }
}
