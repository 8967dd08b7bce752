//! The step's kernels, in CubeCL (compiled to WGSL by Burn's wgpu runtime); `step.rs` launches
//! them.
//!
//! - [`product`]: every matrix product of the step, `out = epilogue(A · B)`, each unit a 4 × 4 block
//!   of outputs kept in registers, A and B read through strides (so a transposed operand costs
//!   nothing) straight from the buffers: no shared memory and no barrier, which a software adapter
//!   (SwiftShader) runs slowly and these shapes (M = 100, K and N of 2–785) do not need. The
//!   epilogues: store (the weight gradients, each layer's weight and bias in one product), the
//!   hidden layers' non-linearity (writing the `1` column the next product's bias needs), its
//!   derivative (the backward through a hidden layer), the Bernoulli loss and its gradient (the
//!   decoder's output), and the reparameterisation's backward with the KL term's gradient.
//! - [`latent`]: z = μ + σ ⊙ ε, the KL term of each (row, dimension), and the constants its
//!   backward needs.
//! - [`losses`]: the minibatch's reconstruction and KL terms summed in one workgroup.
//! - [`adam`]: Adam over all parameters and both moments, one buffer in, one out.

use cubecl::prelude::*;

use crate::loss::SOFTPLUS_TAIL;
use crate::optim::FLUSH_BELOW;

/// The epilogues of [`product`].
pub(super) const STORE: u32 = 0;
pub(super) const ACTIVATE: u32 = 1;
pub(super) const ACTIVATION_GRAD: u32 = 2;
pub(super) const BERNOULLI: u32 = 3;
pub(super) const LATENT_GRAD: u32 = 4;

/// A [`product`] unit's block of outputs is `TILE × TILE`; a workgroup is `UNITS_X × UNITS_Y` units.
pub(super) const TILE: usize = 4;
pub(super) const UNITS_X: u32 = 16;
pub(super) const UNITS_Y: u32 = 4;
/// Units of a workgroup of the element-wise kernels, and of [`losses`]' one workgroup.
pub(super) const UNITS: u32 = 256;

/// `out[o_off + r·o_rs + c] = epilogue(Σ_k A(r, k) B(k, c))` for r < m, c < n, where
/// `A(r, k) = a[a_off + r·a_rs + k·a_cs]` and `B(k, c) = b[b_off + k·b_rs + c·b_cs]`.
///
/// - `ACTIVATE`: the non-linearity, and a `1` written after each row's last column (the bias's
///   input in the next product).
/// - `ACTIVATION_GRAD`: the sum times the non-linearity's derivative, from its output
///   `aux[r·aux_rs + c]` (tanh: 1 − h², ReLU: h > 0).
/// - `BERNOULLI`: the sum is a logit ℓ and `aux[r·aux_rs + c]` the pixel x; writes
///   `(∂/∂ℓ)(softplus(ℓ) − xℓ) · scale` to `out` and `softplus(ℓ) − xℓ` to `side[r·n + c]`, with
///   softplus's correction cut at `SOFTPLUS_TAIL` as `crate::loss` computes it.
/// - `LATENT_GRAD`: the sum is ∂/∂z of the reconstruction; with `aux` = [`latent`]'s constants
///   `(c₁, c₂, c₃)` of each (row, dimension), writes ∂/∂μ = dz + c₁ at column c and
///   ∂/∂log σ² = dz·c₂ + c₃ at column n + c.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(super) fn product(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    aux: &[f32],
    side: &mut [f32],
    m: u32,
    n: u32,
    k: u32,
    a_off: u32,
    a_rs: u32,
    a_cs: u32,
    b_off: u32,
    b_rs: u32,
    b_cs: u32,
    o_off: u32,
    o_rs: u32,
    aux_rs: u32,
    scale: f32,
    #[comptime] epilogue: u32,
    #[comptime] relu: bool,
) {
    let row0 = ABSOLUTE_POS_Y * 4;
    let col0 = ABSOLUTE_POS_X * 4;
    if row0 >= m || col0 >= n {
        terminate!();
    }
    let mut acc = Array::<f32>::new(16usize);
    #[unroll]
    for i in 0..16usize {
        acc[i] = 0.0;
    }
    // Rows and columns past the edge read the last one (in bounds) and are not written.
    let mut a_rows = Array::<u32>::new(4usize);
    let mut b_cols = Array::<u32>::new(4usize);
    #[unroll]
    for i in 0..4u32 {
        a_rows[i as usize] = a_off + min(row0 + i, m - 1) * a_rs;
        b_cols[i as usize] = b_off + min(col0 + i, n - 1) * b_cs;
    }
    for kk in 0..k {
        let mut av = Array::<f32>::new(4usize);
        let mut bv = Array::<f32>::new(4usize);
        let a_k = kk * a_cs;
        let b_k = kk * b_rs;
        #[unroll]
        for i in 0..4usize {
            av[i] = a[(a_rows[i] + a_k) as usize];
            bv[i] = b[(b_cols[i] + b_k) as usize];
        }
        #[unroll]
        for i in 0..4usize {
            #[unroll]
            for j in 0..4usize {
                acc[i * 4 + j] += av[i] * bv[j];
            }
        }
    }
    #[unroll]
    for i in 0..4u32 {
        #[unroll]
        for j in 0..4u32 {
            let r = row0 + i;
            let c = col0 + j;
            if r < m && c < n {
                let v = acc[(i * 4 + j) as usize];
                let o = (o_off + r * o_rs + c) as usize;
                if comptime![epilogue == STORE] {
                    out[o] = v;
                } else if comptime![epilogue == ACTIVATE] {
                    if comptime![relu] {
                        out[o] = max(v, 0.0);
                    } else {
                        out[o] = v.tanh();
                    }
                    if c == n - 1 {
                        out[o + 1] = 1.0;
                    }
                } else if comptime![epilogue == ACTIVATION_GRAD] {
                    let h = aux[(r * aux_rs + c) as usize];
                    if comptime![relu] {
                        out[o] = select(h > 0.0, v, 0.0f32);
                    } else {
                        out[o] = v * (1.0 - h * h);
                    }
                } else if comptime![epilogue == BERNOULLI] {
                    let x = aux[(r * aux_rs + c) as usize];
                    let t = v.abs();
                    let tail = min(t, SOFTPLUS_TAIL);
                    let e = (-tail).exp();
                    let softplus = max(v, 0.0) + e.log1p();
                    side[(r * n + c) as usize] = softplus - x * v;
                    // d softplus / dℓ: 1 where ℓ > 0, minus the correction's sign(ℓ)·e/(1 + e)
                    // while |ℓ| is under the tail.
                    let inside = select(t < SOFTPLUS_TAIL, e / (1.0 + e), 0.0f32);
                    let sign = select(v > 0.0, 1.0f32, select(v < 0.0, -1.0f32, 0.0f32));
                    let step = select(v > 0.0, 1.0f32, 0.0f32);
                    out[o] = (step - sign * inside - x) * scale;
                } else {
                    let t = (r * 3 * n + c) as usize;
                    let nn = n as usize;
                    out[o] = v + aux[t];
                    out[o + nn] = v * aux[t + nn] + aux[t + 2 * nn];
                }
            }
        }
    }
}

/// For each row r < m and dimension j < d, from the heads `[μ | log σ²]` (`[m, 2d]`) and the noise ε
/// (`[m, d]`): z = μ + exp(½ log σ²) ε into `z` (`[m, d + 1]`, the last column 1), the KL term
/// `−½ (1 + log σ² − μ² − σ²)` into `kl` (`[m, d]`), and the backward's constants (`[m, 3d]`):
/// c₁ = β μ / m, c₂ = ½ ε exp(½ log σ²), c₃ = β (σ² − 1) / 2m.
#[cube(launch_unchecked)]
pub(super) fn latent(heads: &[f32], noise: &[f32], z: &mut [f32], kl: &mut [f32], terms: &mut [f32], m: u32, d: u32, kl_scale: f32) {
    let pos = ABSOLUTE_POS as u32;
    if pos >= m * d {
        terminate!();
    }
    let r = pos / d;
    let j = pos % d;
    let mu = heads[(r * 2 * d + j) as usize];
    let log_var = heads[(r * 2 * d + d + j) as usize];
    let eps = noise[pos as usize];
    let sd = (log_var * 0.5f32).exp();
    let var = log_var.exp();
    z[(r * (d + 1) + j) as usize] = mu + sd * eps;
    if j == d - 1 {
        z[(r * (d + 1) + d) as usize] = 1.0;
    }
    kl[pos as usize] = -0.5f32 * (1.0f32 + log_var - mu * mu - var);
    let t = (r * 3 * d + j) as usize;
    let dd = d as usize;
    terms[t] = kl_scale * mu;
    terms[t + dd] = 0.5f32 * eps * sd;
    terms[t + 2 * dd] = kl_scale * 0.5f32 * (var - 1.0f32);
}

/// The minibatch's loss parts, each into a buffer of its own (read back as they are):
/// `(rec + β kl) / m`, `rec / m` and `kl / m`, where rec and kl are the sums of `rec` and `kl`. One
/// workgroup of [`UNITS`] units.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(super) fn losses(
    rec: &[f32],
    kl: &[f32],
    loss_out: &mut [f32],
    rec_out: &mut [f32],
    kl_out: &mut [f32],
    n_rec: u32,
    n_kl: u32,
    rows: f32,
    beta: f32,
) {
    let mut rec_sums = Shared::<[f32]>::new_slice(256usize);
    let mut kl_sums = Shared::<[f32]>::new_slice(256usize);
    let u = UNIT_POS;
    let mut r = 0.0f32;
    let mut q = 0.0f32;
    let per_rec = n_rec.div_ceil(256);
    for i in 0..per_rec {
        let at = u * per_rec + i;
        if at < n_rec {
            r += rec[at as usize];
        }
    }
    let per_kl = n_kl.div_ceil(256);
    for i in 0..per_kl {
        let at = u * per_kl + i;
        if at < n_kl {
            q += kl[at as usize];
        }
    }
    rec_sums[u as usize] = r;
    kl_sums[u as usize] = q;
    sync_cube();
    let mut stride = 128u32;
    for _ in 0..8u32 {
        if u < stride {
            rec_sums[u as usize] += rec_sums[(u + stride) as usize];
            kl_sums[u as usize] += kl_sums[(u + stride) as usize];
        }
        sync_cube();
        stride /= 2;
    }
    if u == 0 {
        let rec_mean = rec_sums[0] / rows;
        let kl_mean = kl_sums[0] / rows;
        loss_out[0] = rec_mean + beta * kl_mean;
        rec_out[0] = rec_mean;
        kl_out[0] = kl_mean;
    }
}

/// Adam (Burn's formulas, as `crate::flex::AdamPass` computes them) over `state` = parameters,
/// first moments, second moments (`len` values each) and the gradients `grad`, into `next`; on a
/// flush step moments below `FLUSH_BELOW` become zero.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub(super) fn adam(
    state: &[f32],
    grad: &[f32],
    next: &mut [f32],
    len: u32,
    b1: f32,
    b2: f32,
    combined_factor: f32,
    denominator_epsilon: f32,
    lr: f32,
    penalty: f32,
    flush: u32,
) {
    let i = ABSOLUTE_POS as u32;
    if i >= len {
        terminate!();
    }
    let p = state[i as usize];
    let g = p * penalty + grad[i as usize];
    let mut m = state[(len + i) as usize] * b1 + g * (1.0 - b1);
    let mut v = state[(2 * len + i) as usize] * b2 + g * g * (1.0 - b2);
    next[i as usize] = p - m * combined_factor / (v.sqrt() + denominator_epsilon) * lr;
    if flush == 1 {
        m = select(m.abs() < FLUSH_BELOW, 0.0f32, m);
        v = select(v.abs() < FLUSH_BELOW, 0.0f32, v);
    }
    next[(len + i) as usize] = m;
    next[(2 * len + i) as usize] = v;
}
