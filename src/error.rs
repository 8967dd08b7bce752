//! Errors, as values: one enum for the crate, one variant family per source.

use thiserror::Error;

/// A field of [`crate::config::VaeConfig`] that is out of range, with the reason.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid config: {field}: {reason}")]
pub struct ConfigError {
    /// The config field's name as JavaScript and the command line spell it (`latentDim`).
    pub field: &'static str,
    /// What is wrong, in words a user can act on.
    pub reason: String,
}

/// Why an IDX file (the MNIST file format) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdxError {
    /// The file is shorter than its header says it must be.
    #[error("{what}: truncated: expected {expected} bytes, found {found}")]
    Truncated {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    /// The first four bytes are not the magic number of the expected kind of IDX file.
    #[error("{what}: wrong magic number 0x{found:08x} (expected 0x{expected:08x}); is this an IDX file?")]
    WrongMagic {
        what: &'static str,
        expected: u32,
        found: u32,
    },
    /// The file declares no items.
    #[error("{what}: the file holds zero items")]
    Empty { what: &'static str },
    /// Rows or columns are zero or too large for a digit image.
    #[error("images: absurd dimensions {rows}×{cols} (each side must be 1 to {max})")]
    AbsurdDimensions { rows: u32, cols: u32, max: u32 },
    /// The image and label files disagree on how many digits there are.
    #[error("{images} images but {labels} labels")]
    CountMismatch { images: usize, labels: usize },
    /// The images are not 28×28, the size the model reads.
    #[error("images are {rows}×{cols}; the model reads 28×28 digits")]
    NotMnistSize { rows: u32, cols: u32 },
    /// A label outside 0–9.
    #[error("labels: label {label} at index {index} is neither a class 0-9 nor 255 (no label)")]
    BadLabel { index: usize, label: u8 },
    /// The gzip stream is corrupt.
    #[error("{what}: not a valid gzip stream: {message}")]
    Gzip { what: &'static str, message: String },
}

/// Every error the crate returns.
#[derive(Debug, Error)]
pub enum VaeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Idx(#[from] IdxError),
    /// An IDX file of one of the data sets could not be read.
    #[error("{set}: {source}")]
    InSet { set: &'static str, source: IdxError },
    /// Training or inference was asked for before data was loaded.
    #[error("no data loaded yet")]
    NoData,
    /// An input batch has the wrong length for its declared shape.
    #[error("{what}: expected {expected} values ({rows}×{cols}), got {found}")]
    Shape {
        what: &'static str,
        rows: usize,
        cols: usize,
        expected: usize,
        found: usize,
    },
    /// An argument outside its allowed range.
    #[error("{0}")]
    Argument(String),
    /// The device could not be set up or failed while running.
    #[error("backend: {0}")]
    Backend(String),
    /// Reading a result back from the device failed.
    #[error("reading results from the device failed: {0}")]
    Read(String),
    /// A loss came back NaN or infinite: the run diverged, and was rolled back to `step`.
    #[error("the loss is not finite ({loss}): the run diverged, and was rolled back to step {step}; try a smaller learning rate")]
    NonFinite { loss: f32, step: u64 },
    /// Saving or loading weights failed.
    #[error("weights: {0}")]
    Record(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl IdxError {
    /// This error, in the file(s) of `set` (e.g. "training set").
    pub fn in_set(self, set: &'static str) -> VaeError {
        VaeError::InSet { set, source: self }
    }
}

impl VaeError {
    /// What kind of error this is, in one word that does not change with the wording: the `name`
    /// of the `Error` JavaScript receives, on which the page decides what to do (a `Backend` or
    /// `Read` error on WebGPU is a failed device, a `Config` error names a field to correct).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "Config",
            Self::Idx(_) | Self::InSet { .. } => "Idx",
            Self::NoData => "NoData",
            Self::Shape { .. } => "Shape",
            Self::Argument(_) => "Argument",
            Self::Backend(_) => "Backend",
            Self::Read(_) => "Read",
            Self::NonFinite { .. } => "NonFinite",
            Self::Record(_) => "Record",
            Self::Io(_) => "Io",
        }
    }
}

/// The crate's result type.
pub type Result<T, E = VaeError> = std::result::Result<T, E>;
