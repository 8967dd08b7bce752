//! Kingma & Welling's *Auto-Encoding Variational Bayes* (ICLR 2014) on Burn 0.22, built to train
//! live in a web browser on WebGPU (or the CPU), and natively from the command line.
//!
//! Data flow: IDX bytes → [`data::Dataset`] → [`train::Trainer`] (owns [`model::Vae`] and the
//! [`optim`]izer) → [`eval`] for the test bound and for what the views draw; both move values
//! between host and device through [`transfer`]. [`session::Session`] is what the page drives: a
//! model, its data and its device, changed all or nothing. [`web`], the facade over it, is the only
//! module that knows about JavaScript.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod flex;
pub mod history;
pub mod idx;
pub mod kernels;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod optim_state;
pub mod pool;
pub mod posterior;
pub mod repair;
pub mod salt;
pub mod session;
pub mod subnormal;
pub mod train;
pub mod transfer;
#[cfg(target_family = "wasm")]
pub mod web;

pub use config::VaeConfig;
pub use error::{Result, VaeError};
