//! The model and training configuration: one struct with defaults, checked before use.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Pixels in one MNIST digit (28×28).
pub const PIXELS: usize = 784;
/// Side of one MNIST digit.
pub const SIDE: usize = 28;

/// The hidden layers' non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_family = "wasm"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// tanh, as in the paper's MNIST experiments.
    Tanh,
    /// ReLU, as in most modern re-implementations.
    Relu,
}

/// The generative model's output distribution p_θ(x|z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_family = "wasm"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    /// Independent Bernoulli per pixel (the paper's choice for MNIST); the decoder gives logits.
    Bernoulli,
    /// Independent Gaussian per pixel with its own mean and log-variance (the paper's appendix C.2).
    Gaussian,
}

/// Which SGVB estimator of the ELBO to use (the paper's section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_family = "wasm"), derive(clap::ValueEnum))]
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
#[cfg_attr(not(target_family = "wasm"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba), the common modern choice.
    Adam,
    /// Adagrad, as in the paper's experiments.
    Adagrad,
}

/// How grey-level MNIST pixels become the decoder's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_family = "wasm"), derive(clap::ValueEnum))]
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

/// The allowed ranges, shared by [`VaeConfig::validate`] and [`VaeConfig::schema`] (which the page
/// builds its form checks from), so each range is written once.
pub mod limits {
    use std::ops::RangeInclusive;
    /// Latent dimension D.
    pub const LATENT_DIM: RangeInclusive<usize> = 1..=256;
    /// Number of hidden layers.
    pub const HIDDEN_LAYERS: RangeInclusive<usize> = 1..=4;
    /// Units per hidden layer.
    pub const HIDDEN_UNITS: RangeInclusive<usize> = 1..=4096;
    /// L, samples per datapoint.
    pub const SAMPLES: RangeInclusive<usize> = 1..=64;
    /// M, datapoints per minibatch.
    pub const BATCH_SIZE: RangeInclusive<usize> = 1..=1000;
    /// Learning rate: in (0, MAX].
    pub const LEARNING_RATE_MAX: f64 = 1.0;
    /// Weight decay.
    pub const WEIGHT_DECAY: RangeInclusive<f64> = 0.0..=1.0;
    /// β, the KL weight.
    pub const BETA: RangeInclusive<f64> = 0.0..=100.0;
    /// What a configuration may need at its peak, in bytes (see [`super::VaeConfig::memory_estimate`]):
    /// a wasm32 worker addresses 4 GiB at most, and browsers often give less.
    pub const MEMORY_BUDGET: u64 = 1 << 30;
    /// The seed: any integer JavaScript holds exactly (below 2⁵³).
    pub const SEED: RangeInclusive<u64> = 0..=(1 << 53) - 1;
}

/// How a field of the config is checked, for a form that wants to say what is wrong before it
/// sends the config (the page's settings). Built from [`limits`] and [`VaeConfig::default`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    /// The field's name in the config (`latentDim`).
    pub key: &'static str,
    /// `integer`, `number` (a float in `(min, max]` when `minExclusive`), `choice`, or
    /// `integerList` (each item an integer in `[min, max]`, `minItems` to `maxItems` items).
    pub kind: &'static str,
    /// Smallest value (or item value) allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value (or item value) allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Whether `min` itself is excluded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub min_exclusive: bool,
    /// The allowed values of a `choice`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// Fewest items of an `integerList`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_items: Option<usize>,
    /// Most items of an `integerList`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
}

impl FieldSpec {
    fn integer(key: &'static str, range: std::ops::RangeInclusive<usize>) -> Self {
        Self { min: Some(*range.start() as f64), max: Some(*range.end() as f64), ..Self::bare(key, "integer") }
    }
    fn number(key: &'static str, range: std::ops::RangeInclusive<f64>, min_exclusive: bool) -> Self {
        Self { min: Some(*range.start()), max: Some(*range.end()), min_exclusive, ..Self::bare(key, "number") }
    }
    fn choice<T: Serialize>(key: &'static str, values: &[T]) -> Self {
        let choices = values
            .iter()
            .map(|v| serde_json::to_value(v).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
            .collect();
        Self { choices, ..Self::bare(key, "choice") }
    }
    fn bare(key: &'static str, kind: &'static str) -> Self {
        Self { key, kind, min: None, max: None, min_exclusive: false, choices: vec![], min_items: None, max_items: None }
    }
}

/// The default config and how each field is checked: what the page asks for instead of keeping
/// copies of either.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSchema {
    /// [`VaeConfig::default`].
    pub defaults: VaeConfig,
    /// One entry per field.
    pub fields: Vec<FieldSpec>,
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

    /// The defaults and the checks of every field (see [`ConfigSchema`]).
    pub fn schema() -> ConfigSchema {
        use limits::*;
        ConfigSchema {
            defaults: Self::default(),
            fields: vec![
                FieldSpec::integer("latentDim", LATENT_DIM),
                FieldSpec {
                    min_items: Some(*HIDDEN_LAYERS.start()),
                    max_items: Some(*HIDDEN_LAYERS.end()),
                    ..FieldSpec { kind: "integerList", ..FieldSpec::integer("hidden", HIDDEN_UNITS) }
                },
                FieldSpec::choice("activation", &[Activation::Relu, Activation::Tanh]),
                FieldSpec::choice("decoder", &[DecoderKind::Bernoulli, DecoderKind::Gaussian]),
                FieldSpec::choice("estimator", &[Estimator::SgvbB, Estimator::SgvbA]),
                FieldSpec::integer("samples", SAMPLES),
                FieldSpec::integer("batchSize", BATCH_SIZE),
                FieldSpec::choice("optimizer", &[OptimizerKind::Adam, OptimizerKind::Adagrad]),
                FieldSpec::number("learningRate", 0.0..=LEARNING_RATE_MAX, true),
                FieldSpec::number("weightDecay", WEIGHT_DECAY, false),
                FieldSpec::number("beta", BETA, false),
                FieldSpec::choice("binarization", &[Binarization::None, Binarization::Dynamic, Binarization::Threshold]),
                FieldSpec { min: Some(0.0), max: Some(*SEED.end() as f64), ..FieldSpec::bare("seed", "integer") },
            ],
        }
    }

    /// Checks every field; the first one out of range is named in the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use limits::*;
        if !LATENT_DIM.contains(&self.latent_dim) {
            return Err(bad("latentDim", format!("must be {} to {}, got {}", LATENT_DIM.start(), LATENT_DIM.end(), self.latent_dim)));
        }
        if !HIDDEN_LAYERS.contains(&self.hidden.len()) {
            return Err(bad(
                "hidden",
                format!("needs {} to {} layers, got {}", HIDDEN_LAYERS.start(), HIDDEN_LAYERS.end(), self.hidden.len()),
            ));
        }
        if let Some(&h) = self.hidden.iter().find(|&&h| !HIDDEN_UNITS.contains(&h)) {
            return Err(bad(
                "hidden",
                format!("each layer must have {} to {} units, got {h}", HIDDEN_UNITS.start(), HIDDEN_UNITS.end()),
            ));
        }
        if !SAMPLES.contains(&self.samples) {
            return Err(bad("samples", format!("L must be {} to {}, got {}", SAMPLES.start(), SAMPLES.end(), self.samples)));
        }
        if !BATCH_SIZE.contains(&self.batch_size) {
            return Err(bad(
                "batchSize",
                format!("M must be {} to {}, got {}", BATCH_SIZE.start(), BATCH_SIZE.end(), self.batch_size),
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= LEARNING_RATE_MAX) {
            return Err(bad(
                "learningRate",
                format!("must be in (0, {LEARNING_RATE_MAX}], got {}", self.learning_rate),
            ));
        }
        if !WEIGHT_DECAY.contains(&self.weight_decay) {
            return Err(bad(
                "weightDecay",
                format!("must be {} to {}, got {}", WEIGHT_DECAY.start(), WEIGHT_DECAY.end(), self.weight_decay),
            ));
        }
        if !BETA.contains(&self.beta) {
            return Err(bad("beta", format!("must be {} to {}, got {}", BETA.start(), BETA.end(), self.beta)));
        }
        if !SEED.contains(&self.seed) {
            return Err(bad("seed", format!("must be 0 to {}, got {}", SEED.end(), self.seed)));
        }
        let needed = self.memory_estimate();
        if needed > MEMORY_BUDGET {
            return Err(bad(
                "hidden, batchSize, samples",
                format!(
                    "this configuration needs about {:.1} GB ({} parameters with their gradients and optimizer state, \
                     and activations for M × L = {} rows), more than the {} GB a browser worker can hold; \
                     use fewer or smaller hidden layers, or a smaller batch or fewer samples",
                    needed as f64 / 1e9,
                    self.parameter_count(),
                    self.batch_size * self.samples,
                    MEMORY_BUDGET as f64 / 1e9,
                ),
            ));
        }
        Ok(())
    }

    /// The number of weights and biases of the model this config describes.
    pub fn parameter_count(&self) -> u64 {
        let dense = |i: usize, o: usize| (i * o + o) as u64;
        let (d, first, last) = (self.latent_dim, self.hidden[0], *self.hidden.last().unwrap_or(&0));
        let chain = |sizes: &[usize]| sizes.windows(2).map(|w| dense(w[0], w[1])).sum::<u64>();
        let mut encoder = vec![PIXELS];
        encoder.extend(&self.hidden);
        let mut decoder = vec![d];
        decoder.extend(self.hidden.iter().rev());
        let outputs = if self.decoder == DecoderKind::Gaussian { 2 } else { 1 };
        chain(&encoder) + 2 * dense(last, d) + chain(&decoder) + outputs * dense(first, PIXELS)
    }

    /// Bytes training this config holds at its peak, roughly: the parameters eight times over
    /// (the model, its gradients, the optimizer's state, the state a divergence rolls back to,
    /// and a new model built while the old one is still kept), and the activations of a batch of
    /// M × L rows three times over (forward, backward and temporaries).
    pub fn memory_estimate(&self) -> u64 {
        let rows = (self.batch_size * self.samples) as u64;
        let widths: u64 = 2 * self.hidden.iter().map(|&h| h as u64).sum::<u64>() + 4 * PIXELS as u64 + 4 * self.latent_dim as u64;
        4 * (8 * self.parameter_count() + 3 * rows * widths)
    }

    /// Parses a config from JSON, filling missing fields with defaults, then validates it.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(text).map_err(|e| bad("config", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }
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
    fn configurations_beyond_the_memory_budget_are_refused_naming_the_fields() {
        // The default: 784-400-2: 632,404 parameters, well within the budget.
        let c = VaeConfig::default();
        assert_eq!(c.parameter_count(), 784 * 400 + 400 + 2 * (400 * 2 + 2) + 2 * 400 + 400 + 400 * 784 + 784);
        assert!(c.memory_estimate() < 50 << 20);
        let big = VaeConfig { hidden: vec![4096; 4], latent_dim: 256, ..Default::default() };
        let e = big.validate().unwrap_err();
        assert_eq!(e.field, "hidden, batchSize, samples");
        assert!(e.reason.contains("GB"), "{e}");
        let rows = VaeConfig { batch_size: 1000, samples: 64, hidden: vec![4096], ..Default::default() };
        assert!(rows.validate().is_err());
        VaeConfig::paper().validate().unwrap();
        VaeConfig { latent_dim: 200, ..VaeConfig::paper() }.validate().unwrap();
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

    #[test]
    fn the_schema_lists_every_field_with_the_ranges_validate_uses() {
        let schema = VaeConfig::schema();
        let json = serde_json::to_value(&schema.defaults).unwrap();
        let keys: Vec<&str> = schema.fields.iter().map(|f| f.key).collect();
        assert_eq!(keys.len(), json.as_object().unwrap().len());
        for key in &keys {
            assert!(json.get(key).is_some(), "{key} is not a config field");
        }
        let latent = &schema.fields[0];
        assert_eq!((latent.min, latent.max), (Some(1.0), Some(256.0)));
        let est = schema.fields.iter().find(|f| f.key == "estimator").unwrap();
        assert_eq!(est.choices, vec!["sgvb-b", "sgvb-a"]);
        let hidden = schema.fields.iter().find(|f| f.key == "hidden").unwrap();
        assert_eq!((hidden.kind, hidden.min_items, hidden.max_items, hidden.max), ("integerList", Some(1), Some(4), Some(4096.0)));
        // The edges of each numeric range: the ends pass validate, one past fails.
        assert!(VaeConfig { latent_dim: 256, ..Default::default() }.validate().is_ok());
        assert!(VaeConfig { learning_rate: 1.0, ..Default::default() }.validate().is_ok());
        assert!(VaeConfig { beta: 100.0, ..Default::default() }.validate().is_ok());
    }
}
