//! Small synthetic digit sets the tests build themselves.

#![allow(dead_code)]

use vae_web::transfer::HostRng;
use rand::{RngExt, SeedableRng};
use vae_web::config::PIXELS;
use vae_web::data::Dataset;

/// `per_class × 10` 28×28 "digits": class c is a bright bar whose position and orientation depend
/// on c, jittered by a pixel or two, on a dark background with faint noise.
pub fn synthetic(per_class: usize, seed: u64) -> Dataset {
    let (pixels, labels) = synthetic_raw(per_class, seed);
    Dataset::new(pixels, labels).expect("a synthetic set should be valid")
}

/// The digits of [`synthetic`] as raw bytes (784 per digit, row-major) and labels.
pub fn synthetic_raw(per_class: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = HostRng::seed_from_u64(seed);
    let mut pixels = Vec::with_capacity(per_class * 10 * PIXELS);
    let mut labels = Vec::new();
    for i in 0..per_class * 10 {
        let c = (i % 10) as i32;
        let jitter: i32 = rng.random_range(-1..=1);
        let at = 4 + 2 * (c % 5) + jitter;
        for r in 0..28i32 {
            for col in 0..28i32 {
                let on = if c < 5 { (col - at).abs() <= 1 } else { (r - at).abs() <= 1 } && (4..24).contains(&r) && (4..24).contains(&col);
                let v = if on { 200 + rng.random_range(0..56) } else { rng.random_range(0..20) };
                pixels.push(v as u8);
            }
        }
        labels.push(c as u8);
    }
    (pixels, labels)
}
