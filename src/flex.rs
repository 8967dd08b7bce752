//! The CPU path's kernels on Flex's own buffers: where a pass over raw `f32` slices (fused, in
//! place, on rayon's pool) does what a chain of tensor operations would do with a new buffer each.
//! Adam's update ([`AdamPass`], called by [`crate::optim::FlushAdam`]) and the sum of a step's
//! pieces' gradients ([`sum_into_first`], called by the trainer) are here; Burn's tensor
//! operations stay the path on WebGPU.

use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::prelude::*;

use crate::optim::FLUSH_BELOW;
use crate::pool::{map_on_threads, SLICE};

/// The Flex tensor under `t` (which is on Flex).
pub(crate) fn flex<const D: usize>(t: Tensor<D>) -> FlexTensor {
    t.try_into_primitive::<Flex>().expect("the CPU kernels run on Flex tensors only")
}

/// Whether `t` is laid out row-major from the start of its buffer (its storage is its values).
pub(crate) fn plain(t: &FlexTensor) -> bool {
    t.is_contiguous() && t.layout().start_offset() == 0
}

/// `t`, or a copy of it laid out plainly.
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if plain(&t) {
        t
    } else {
        t.to_contiguous()
    }
}

/// The constants of one fused Adam update.
pub(crate) struct AdamPass {
    pub(crate) b1: f32,
    pub(crate) b2: f32,
    pub(crate) combined_factor: f32,
    pub(crate) denominator_epsilon: f32,
    pub(crate) lr: f32,
    pub(crate) penalty: f32,
    /// Whether this step sets moments below [`FLUSH_BELOW`] to zero.
    pub(crate) flush: bool,
}

impl AdamPass {
    /// One weight's step: `(p, m, v)` after a gradient `g`.
    #[inline(always)]
    fn update(&self, p: f32, g: f32, m: f32, v: f32) -> (f32, f32, f32) {
        let Self { b1, b2, combined_factor, denominator_epsilon, lr, penalty, .. } = *self;
        let g = p * penalty + g;
        let m = m * b1 + g * (1.0 - b1);
        let v = v * b2 + g * g * (1.0 - b2);
        let p = p - m * combined_factor / (v.sqrt() + denominator_epsilon) * lr;
        (p, m, v)
    }

    /// On a flush step, the moments below [`FLUSH_BELOW`] set to zero (a pass of its own: a test
    /// in the update's loop slowed every step, measured in the browser).
    pub(crate) fn flush_moments(&self, m: &mut [f32], v: &mut [f32]) {
        if self.flush {
            for x in m.iter_mut().chain(v.iter_mut()) {
                if x.abs() < FLUSH_BELOW {
                    *x = 0.0;
                }
            }
        }
    }

    /// Updates weights `p`, moments `m` and `v` from gradients `g`, in place.
    pub(crate) fn run(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { self.run_avx2(p, g, m, v) };
            return;
        }
        self.run_portable(p, g, m, v);
    }

    /// [`AdamPass::run`] on slices of the values, on rayon's pool: the same numbers (each value's
    /// update is its own).
    pub(crate) fn run_on_threads(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let slices: Vec<_> = p.chunks_mut(SLICE).zip(g.chunks(SLICE)).zip(m.chunks_mut(SLICE)).zip(v.chunks_mut(SLICE)).collect();
        map_on_threads(slices, |(((p, g), m), v)| self.run(p, g, m, v));
    }

    /// The same step into new buffers, the inputs left as they are: `(p, m, v)` after it.
    pub(crate) fn run_into(&self, p: &[f32], g: &[f32], m: &[f32], v: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let n = p.len();
        assert!(g.len() == n && m.len() == n && v.len() == n, "a parameter and its gradient and moments differ in size");
        let (mut p2, mut m2, mut v2) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let out = (&mut p2.spare_capacity_mut()[..n], &mut m2.spare_capacity_mut()[..n], &mut v2.spare_capacity_mut()[..n]);
        for i in 0..n {
            let (p, m, v) = self.update(p[i], g[i], m[i], v[i]);
            out.0[i].write(p);
            out.1[i].write(m);
            out.2[i].write(v);
        }
        // SAFETY: the loop above wrote each vector's first n elements.
        unsafe {
            p2.set_len(n);
            m2.set_len(n);
            v2.set_len(n);
        }
        (p2, m2, v2)
    }

    /// The loop compiled for AVX2 as well (eight lanes; the same operations, no contraction into
    /// FMA, so the same numbers).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        self.run_portable(p, g, m, v);
    }

    #[inline(always)]
    fn run_portable(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            (*p, *m, *v) = self.update(*p, g, *m, *v);
        }
    }
}

/// The sum of `pieces` (at least two, on Flex), value by value in their order, into the first
/// one's buffer (no new one), on slices of the values on rayon's pool.
pub(crate) fn sum_into_first<const D: usize>(pieces: Vec<Tensor<D>>) -> Tensor<D> {
    let mut pieces = pieces.into_iter().map(|g| contiguous(flex(g)));
    let mut total = pieces.next().expect("at least two pieces");
    let rest: Vec<FlexTensor> = pieces.collect();
    let values: Vec<&[f32]> = rest.iter().map(|g| g.storage()).collect();
    let n = total.layout().shape().num_elements();
    let slices: Vec<_> = total.storage_mut::<f32>()[..n].chunks_mut(SLICE).enumerate().collect();
    map_on_threads(slices, |(i, total)| {
        let range = i * SLICE..i * SLICE + total.len();
        for piece in &values {
            for (t, g) in total.iter_mut().zip(&piece[range.clone()]) {
                *t += g;
            }
        }
    });
    Tensor::from_primitive::<Flex>(total)
}
