//! The salts that make each purpose's seed from a run's one seed (`config.seed ^ SALT`): no two
//! purposes draw the same noise, and the page and the native trainer draw the same noise for the
//! same purpose, so they report the same numbers for the same weights.

/// The test bound's noise.
pub const EVALUATION: u64 = 0x7e57;
/// The importance-sampled log-likelihood of the test set (`vae train`, `vae evaluate`).
pub const LOG_LIKELIHOOD: u64 = 0x15;
/// The bound and likelihood of one digit (the explorer's "your digit").
pub const DIGIT_BOUND: u64 = 0x1c5;
/// The inference of a repair (its corruption has the caller's seed itself).
pub const REPAIR: u64 = 0x4e9a1;

/// The seed of the `n`-th of a series of draws from `seed` (the samples the page asks for one
/// after another): apart for every `n` (a multiple of 2⁶⁴/φ).
pub fn nth(seed: u64, n: u64) -> u64 {
    seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}
