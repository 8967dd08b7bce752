//! What the repair modules' unit tests share: small tensors on Flex, values read back, closeness.

use burn::prelude::*;

use crate::transfer::tensor2;

/// `values` as `rows` rows on Flex.
pub(super) fn t2(values: Vec<f32>, rows: usize) -> Tensor<2> {
    let cols = values.len() / rows;
    tensor2(values, rows, cols, &Device::flex())
}

/// A tensor's values (on Flex), as f64.
pub(super) fn values(t: Tensor<1>) -> Vec<f64> {
    t.into_data().try_into_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
}

pub(super) fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b}");
}
