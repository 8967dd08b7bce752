//! The step's kernels, in CubeCL (compiled to WGSL by Burn's wgpu runtime), and the step that
//! launches them on the fusion stream's device: fourteen dispatches for a model with one hidden
//! layer, and no read-back.
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

use burn::tensor::Tensor;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{Cube, CubeBackend};
use burn_fusion::stream::StreamId;
use burn_fusion::{get_client, NoOp};
use burn_ir::{BackendIr, InitOperationIr, OperationIr};
use cubecl::prelude::*;

use super::{Block, FlatRun};
use crate::config::{Activation, VaeConfig, PIXELS};
use crate::loss::{LossParts, SOFTPLUS_TAIL};
use crate::optim::{FLUSH_BELOW, FLUSH_EVERY};

/// The epilogues of [`product`].
const STORE: u32 = 0;
const ACTIVATE: u32 = 1;
const ACTIVATION_GRAD: u32 = 2;
const BERNOULLI: u32 = 3;
const LATENT_GRAD: u32 = 4;

/// A [`product`] unit's block of outputs is `TILE × TILE`; a workgroup is `UNITS_X × UNITS_Y` units.
const TILE: usize = 4;
const UNITS_X: u32 = 16;
const UNITS_Y: u32 = 4;
/// Units of a workgroup of the element-wise kernels, and of [`losses`]' one workgroup.
const UNITS: u32 = 256;

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
fn product(
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
fn latent(heads: &[f32], noise: &[f32], z: &mut [f32], kl: &mut [f32], terms: &mut [f32], m: u32, d: u32, kl_scale: f32) {
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
fn losses(
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
fn adam(
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

/// The CubeCL tensor under `t` (a plain tensor on WebGPU), once the fusion stream has computed it.
fn cube(t: Tensor<1>) -> CubeTensor {
    let fused = t.try_into_primitive::<Cube>().expect("the kernel path runs on WebGPU tensors only");
    fused.client.clone().resolve_tensor_float::<CubeBackend>(fused)
}

/// `t` as a tensor Burn's operations (and its fusion stream) can use.
fn burn_tensor(t: CubeTensor) -> Tensor<1> {
    let client = get_client::<CubeBackend>(&t.device);
    let shape = t.meta.shape().clone();
    let dtype = t.dtype;
    let handle = <CubeBackend as BackendIr>::float_tensor_handle(t);
    let desc = InitOperationIr::create(shape, dtype, || client.register_tensor_handle(handle));
    let fused = client
        .register(StreamId::current(), OperationIr::Init(desc), NoOp::<CubeBackend>::new())
        .remove(0);
    Tensor::from_primitive::<Cube>(fused)
}

/// Buffers of one step, on the device of the run's state.
struct Buffers {
    client: cubecl::client::Client,
    device: burn_cubecl::CubeDevice,
}

/// A buffer and its length in values.
#[derive(Clone)]
struct Buffer {
    handle: cubecl::server::Handle,
    len: usize,
}

impl Buffer {
    fn arg(&self) -> BufferArg {
        // SAFETY: `len` is the buffer's length in f32 values (made by `Buffers`).
        unsafe { BufferArg::from_raw_parts(self.handle.clone(), self.len) }
    }
}

impl Buffers {
    fn empty(&self, len: usize) -> Buffer {
        Buffer { handle: self.client.empty(4 * len.max(1)), len: len.max(1) }
    }

    fn upload(&self, values: &[f32]) -> Buffer {
        Buffer { handle: self.client.create_from_slice(f32::as_bytes(values)), len: values.len() }
    }

    fn tensor(&self, b: Buffer) -> Tensor<1> {
        let t = CubeTensor::new_contiguous(self.client.clone(), self.device.clone(), [b.len].into(), b.handle, burn::tensor::DType::F32);
        burn_tensor(t)
    }
}

/// One operand of a product: a buffer read at `offset + row·row_stride + col·col_stride`.
struct Operand<'a> {
    buffer: &'a Buffer,
    offset: usize,
    row_stride: usize,
    col_stride: usize,
}

/// What a product writes, and where.
struct Output<'a> {
    buffer: &'a Buffer,
    offset: usize,
    row_stride: usize,
}

struct Launch<'a> {
    buffers: &'a Buffers,
    dummy: Buffer,
    relu: bool,
}

impl Launch<'_> {
    /// `out = epilogue(A · B)` with A `[m, k]`, B `[k, n]`.
    #[allow(clippy::too_many_arguments)]
    fn product(&self, m: usize, n: usize, k: usize, a: Operand, b: Operand, out: Output, epilogue: u32, aux: Option<(&Buffer, usize)>, side: Option<&Buffer>, scale: f32) {
        let tiles_x = n.div_ceil(TILE) as u32;
        let tiles_y = m.div_ceil(TILE) as u32;
        let count = CubeCount::Static(tiles_x.div_ceil(UNITS_X), tiles_y.div_ceil(UNITS_Y), 1);
        let (aux, aux_rs) = aux.unwrap_or((&self.dummy, 0));
        let side = side.unwrap_or(&self.dummy);
        // SAFETY: every index the kernel computes is within the buffers for these sizes and
        // strides (rows and columns past the edge are clamped on reading and skipped on writing).
        unsafe {
            product::launch_unchecked(
                &self.buffers.client,
                count,
                CubeDim::new_2d(UNITS_X, UNITS_Y),
                a.buffer.arg(),
                b.buffer.arg(),
                out.buffer.arg(),
                aux.arg(),
                side.arg(),
                m as u32,
                n as u32,
                k as u32,
                a.offset as u32,
                a.row_stride as u32,
                a.col_stride as u32,
                b.offset as u32,
                b.row_stride as u32,
                b.col_stride as u32,
                out.offset as u32,
                out.row_stride as u32,
                aux_rs as u32,
                scale,
                epilogue,
                self.relu,
            );
        }
    }

    /// A layer forward: `out = act([input, 1] · block)`, with its own `1` column.
    fn forward(&self, rows: usize, input: &Buffer, block: &Block, state: &Buffer, out: &Buffer, epilogue: u32, aux: Option<(&Buffer, usize)>, side: Option<&Buffer>, scale: f32) {
        let out_stride = if epilogue == ACTIVATE { block.d_out + 1 } else { block.d_out };
        self.product(
            rows,
            block.d_out,
            block.d_in + 1,
            Operand { buffer: input, offset: 0, row_stride: block.d_in + 1, col_stride: 1 },
            Operand { buffer: state, offset: block.offset, row_stride: block.d_out, col_stride: 1 },
            Output { buffer: out, offset: 0, row_stride: out_stride },
            epilogue,
            aux,
            side,
            scale,
        );
    }

    /// A layer's weight and bias gradients, `[input, 1]ᵀ · dy`, into its block of `grads`.
    fn weight_grad(&self, rows: usize, input: &Buffer, dy: &Buffer, block: &Block, grads: &Buffer) {
        self.product(
            block.d_in + 1,
            block.d_out,
            rows,
            Operand { buffer: input, offset: 0, row_stride: 1, col_stride: block.d_in + 1 },
            Operand { buffer: dy, offset: 0, row_stride: block.d_out, col_stride: 1 },
            Output { buffer: grads, offset: block.offset, row_stride: block.d_out },
            STORE,
            None,
            None,
            1.0,
        );
    }

    /// Back through the hidden layers `layers` of a stack, whose outputs are `outputs[1..]`, from
    /// `dy` at the output of `top` (the layer the stack feeds): each layer's weight gradient, then
    /// the gradient at its input. Returns the gradient at the first hidden layer's output, and that
    /// layer (whose own weight gradient and input the caller handles).
    #[allow(clippy::too_many_arguments)]
    fn back_through(&self, rows: usize, outputs: &[Buffer], layers: &[Block], top: Block, dy: Buffer, state: &Buffer, grads: &Buffer) -> (Buffer, Block) {
        let (mut dy, mut block) = (dy, top);
        for i in (0..layers.len()).rev() {
            let input = &outputs[i + 1];
            self.weight_grad(rows, input, &dy, &block, grads);
            let d_input = self.buffers.empty(rows * block.d_in);
            self.input_grad(rows, &dy, &block, state, &d_input, block.d_in, ACTIVATION_GRAD, (input, block.d_in + 1));
            dy = d_input;
            block = layers[i];
        }
        (dy, block)
    }

    /// The gradient at a layer's input, `dy · Wᵀ`, through `epilogue`.
    #[allow(clippy::too_many_arguments)]
    fn input_grad(&self, rows: usize, dy: &Buffer, block: &Block, state: &Buffer, out: &Buffer, out_stride: usize, epilogue: u32, aux: (&Buffer, usize)) {
        self.product(
            rows,
            block.d_in,
            block.d_out,
            Operand { buffer: dy, offset: 0, row_stride: block.d_out, col_stride: 1 },
            Operand { buffer: state, offset: block.offset, row_stride: 1, col_stride: block.d_out },
            Output { buffer: out, offset: 0, row_stride: out_stride },
            epilogue,
            Some(aux),
            None,
            1.0,
        );
    }
}

fn one_d(len: usize) -> CubeCount {
    let groups = len.div_ceil(UNITS as usize) as u32;
    // A dimension of a dispatch holds at most 65,535 workgroups.
    let x = groups.min(65_535);
    CubeCount::Static(x, groups.div_ceil(x.max(1)), 1)
}

/// One SGVB step of `run` on the minibatch `x` (`[m, 784]` on the host) with noise `eps`
/// (`[m, D]`): the loss parts (not read back) and the run after Adam's update, in fourteen
/// dispatches for one hidden layer (three more per further hidden layer).
pub fn step(run: &FlatRun, x: &[f32], eps: &[f32], config: &VaeConfig) -> (FlatRun, LossParts) {
    let (buffers, state, grads, parts) = forward_backward(run, x, eps, config, true);
    let grads = grads.expect("a backward pass was asked for");
    let len = run.layout.len;

    // Adam, as `crate::optim::FlushAdam` steps.
    let time = run.time + 1;
    let (b1, b2) = (0.9f32, 0.999f32);
    let bias_correction2_sqrt = (1.0 - b2.powi(time as i32)).sqrt();
    let combined_factor = bias_correction2_sqrt / (1.0 - b1.powi(time as i32));
    let denominator_epsilon = 1e-8f32 * bias_correction2_sqrt;
    let next = buffers.empty(3 * len);
    // SAFETY: the kernel reads and writes within the sizes given.
    unsafe {
        adam::launch_unchecked(
            &buffers.client,
            one_d(len),
            CubeDim::new_1d(UNITS),
            state.arg(),
            grads.arg(),
            next.arg(),
            len as u32,
            b1,
            b2,
            combined_factor,
            denominator_epsilon,
            config.learning_rate as f32,
            config.weight_decay as f32,
            u32::from(time % FLUSH_EVERY == 0),
        );
    }
    let next = FlatRun { state: buffers.tensor(next), time, layout: run.layout.clone() };
    (next, loss_parts(&buffers, parts))
}

/// The gradients of the negative ELBO of the minibatch `x` with noise `eps` at `run`'s parameters,
/// laid out as the parameters are, and the loss parts: [`step`] without the update.
pub fn gradients(run: &FlatRun, x: &[f32], eps: &[f32], config: &VaeConfig) -> (Tensor<1>, LossParts) {
    let (buffers, _, grads, parts) = forward_backward(run, x, eps, config, true);
    (buffers.tensor(grads.expect("a backward pass was asked for")), loss_parts(&buffers, parts))
}

/// The loss parts of the minibatch `x` with noise `eps` at `run`'s parameters, the forward pass
/// alone (six dispatches for one hidden layer): the test bound's pieces on the kernel path.
pub fn loss(run: &FlatRun, x: &[f32], eps: &[f32], config: &VaeConfig) -> LossParts {
    let (buffers, _, _, parts) = forward_backward(run, x, eps, config, false);
    loss_parts(&buffers, parts)
}

/// [`losses`]' three buffers as the trainer's loss parts.
fn loss_parts(buffers: &Buffers, [loss, reconstruction, kl]: [Buffer; 3]) -> LossParts {
    LossParts { loss: buffers.tensor(loss), reconstruction: buffers.tensor(reconstruction), kl: buffers.tensor(kl) }
}

/// The forward and (when `backward`) backward passes of a step: the buffers' device, the run's
/// state, the gradients and the loss parts.
fn forward_backward(run: &FlatRun, x: &[f32], eps: &[f32], config: &VaeConfig, backward: bool) -> (Buffers, Buffer, Option<Buffer>, [Buffer; 3]) {
    let layout = &run.layout;
    let (d, len) = (layout.latent_dim(), layout.len);
    let m = x.len() / PIXELS;
    let state = cube(run.state.clone());
    let buffers = Buffers { client: state.client.clone(), device: state.device.clone() };
    let state = Buffer { handle: state.handle, len: 3 * len };
    let launch = Launch { buffers: &buffers, dummy: buffers.empty(1), relu: config.activation == Activation::Relu };

    // The minibatch with its `1` column.
    let mut x1 = Vec::with_capacity(m * (PIXELS + 1));
    for row in x.chunks_exact(PIXELS) {
        x1.extend_from_slice(row);
        x1.push(1.0);
    }
    let x1 = buffers.upload(&x1);
    let noise = buffers.upload(eps);

    // Forward.
    let mut encoded = vec![x1.clone()];
    for block in &layout.encoder {
        let out = buffers.empty(m * (block.d_out + 1));
        launch.forward(m, encoded.last().unwrap(), block, &state, &out, ACTIVATE, None, None, 1.0);
        encoded.push(out);
    }
    let heads = buffers.empty(m * 2 * d);
    launch.forward(m, encoded.last().unwrap(), &layout.heads, &state, &heads, STORE, None, None, 1.0);
    let z = buffers.empty(m * (d + 1));
    let kl = buffers.empty(m * d);
    let terms = buffers.empty(m * 3 * d);
    let kl_scale = (config.beta / m as f64) as f32;
    // SAFETY: the kernel reads and writes within the sizes given.
    unsafe {
        latent::launch_unchecked(
            &buffers.client,
            one_d(m * d),
            CubeDim::new_1d(UNITS),
            heads.arg(),
            noise.arg(),
            z.arg(),
            kl.arg(),
            terms.arg(),
            m as u32,
            d as u32,
            kl_scale,
        );
    }
    let mut decoded = vec![z.clone()];
    for block in &layout.decoder {
        let out = buffers.empty(m * (block.d_out + 1));
        launch.forward(m, decoded.last().unwrap(), block, &state, &out, ACTIVATE, None, None, 1.0);
        decoded.push(out);
    }
    let d_logits = buffers.empty(m * PIXELS);
    let rec = buffers.empty(m * PIXELS);
    let last = decoded.last().unwrap();
    launch.forward(m, last, &layout.out, &state, &d_logits, BERNOULLI, Some((&x1, PIXELS + 1)), Some(&rec), 1.0 / m as f32);

    // Backward: the decoder's layers, then the encoder's.
    let grads = backward.then(|| {
        let grads = buffers.empty(len);
        let (dy, block) = launch.back_through(m, &decoded, &layout.decoder, layout.out, d_logits, &state, &grads);
        // The first decoder layer: its input is z, whose gradient goes to μ and log σ².
        launch.weight_grad(m, &z, &dy, &block, &grads);
        let d_heads = buffers.empty(m * 2 * d);
        launch.input_grad(m, &dy, &block, &state, &d_heads, 2 * d, LATENT_GRAD, (&terms, 3 * d));
        let (dy, block) = launch.back_through(m, &encoded, &layout.encoder, layout.heads, d_heads, &state, &grads);
        launch.weight_grad(m, &x1, &dy, &block, &grads);
        grads
    });

    let parts = [buffers.empty(1), buffers.empty(1), buffers.empty(1)];
    // SAFETY: the kernel reads and writes within the sizes given.
    unsafe {
        losses::launch_unchecked(
            &buffers.client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(UNITS),
            rec.arg(),
            kl.arg(),
            parts[0].arg(),
            parts[1].arg(),
            parts[2].arg(),
            (m * PIXELS) as u32,
            (m * d) as u32,
            m as f32,
            config.beta as f32,
        );
    }
    drop(launch);
    (buffers, state, grads, parts)
}
