//! A step launched in our kernels (`cube.rs`) on the fusion stream's device: fourteen dispatches
//! for a model with one hidden layer, and no read-back. The run's state comes from Burn's fusion
//! stream and the results go back to it as tensors Burn's operations can use.

use burn::tensor::Tensor;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{Cube, CubeBackend};
use burn_fusion::stream::StreamId;
use burn_fusion::{get_client, NoOp};
use burn_ir::{BackendIr, InitOperationIr, OperationIr};
use cubecl::prelude::*;

use super::cube::{
    adam, latent, losses, product, ACTIVATE, ACTIVATION_GRAD, BERNOULLI, LATENT_GRAD, STORE, TILE, UNITS, UNITS_X, UNITS_Y,
};
use super::{Block, FlatRun};
use crate::config::{Activation, VaeConfig, PIXELS};
use crate::loss::LossParts;
use crate::optim::FLUSH_EVERY;

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
