//! MNIST in memory: the data set (from IDX files, `src/idx.rs`), seeded shuffling, minibatches
//! and binarisation.

use crate::transfer::HostRng;
use rand::seq::SliceRandom;
use rand::RngExt;

use crate::config::{Binarization, PIXELS, SIDE};
use crate::error::IdxError;
use crate::idx::{read_idx_images, read_idx_labels};

/// Seed of [`Dataset::balanced_subset`]'s order.
const SUBSET_SEED: u64 = 0x5eed_2000;

/// The label of an image that has none: a visitor's images without sub-folders, written as such
/// in the labels IDX file the page's "Download data set" makes.
pub const UNLABELLED: u8 = 255;

/// A set of 28×28 grey-level digits with their labels, kept as bytes (a quarter of f32's size).
#[derive(Debug, Clone)]
pub struct Dataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl Dataset {
    /// Builds a data set from an images and a labels IDX file (each plain or gzip); bytes given
    /// by value are not copied.
    pub fn from_idx(images: impl Into<Vec<u8>>, labels: impl Into<Vec<u8>>) -> Result<Self, IdxError> {
        let images = read_idx_images(images)?;
        let labels = read_idx_labels(labels)?;
        if images.rows as usize != SIDE || images.cols as usize != SIDE {
            return Err(IdxError::NotMnistSize {
                rows: images.rows,
                cols: images.cols,
            });
        }
        Self::new(images.pixels, labels)
    }

    /// Builds a data set from an images IDX file alone: every image [`UNLABELLED`] (a set of
    /// images without classes, which `vae train --data` reads when a folder has no labels files).
    pub fn from_idx_images(images: impl Into<Vec<u8>>) -> Result<Self, IdxError> {
        let images = read_idx_images(images)?;
        if images.rows as usize != SIDE || images.cols as usize != SIDE {
            return Err(IdxError::NotMnistSize {
                rows: images.rows,
                cols: images.cols,
            });
        }
        let labels = vec![UNLABELLED; images.pixels.len() / PIXELS];
        Self::new(images.pixels, labels)
    }

    /// Builds a data set from raw 28×28 images (784 bytes each, row-major) and their labels: 0–9,
    /// or [`UNLABELLED`].
    pub fn new(pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self, IdxError> {
        let images = pixels.len() / PIXELS;
        if labels.is_empty() {
            return Err(IdxError::Empty { what: "labels" });
        }
        if images != labels.len() || pixels.len() % PIXELS != 0 {
            return Err(IdxError::CountMismatch {
                images,
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l > 9 && l != UNLABELLED) {
            return Err(IdxError::BadLabel { index, label });
        }
        Ok(Self { pixels, labels })
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty (never true for a constructed set).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The labels, one per digit.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The digits at `indices` as `[indices.len(), 784]` row-major values in [0, 1], binarised as
    /// `binarization` says (a dynamic draw uses `rng`).
    pub fn batch(&self, indices: &[usize], binarization: Binarization, rng: &mut HostRng) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            let digit = &self.pixels[i * PIXELS..(i + 1) * PIXELS];
            match binarization {
                Binarization::None => out.extend(digit.iter().map(|&p| p as f32 / 255.0)),
                Binarization::Threshold => {
                    out.extend(digit.iter().map(|&p| if p as f32 / 255.0 > 0.5 { 1.0 } else { 0.0 }))
                }
                Binarization::Dynamic => out.extend(digit.iter().map(|&p| {
                    if rng.random::<f32>() < p as f32 / 255.0 {
                        1.0
                    } else {
                        0.0
                    }
                })),
            }
        }
        out
    }

    /// The digits at `indices` as a data set of their own (a fixed slice for quick tests and
    /// evaluations).
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            pixels.extend_from_slice(&self.pixels[i * PIXELS..(i + 1) * PIXELS]);
        }
        Dataset {
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// The grey levels of the digits at `indices`, in [0, 1], `[indices.len(), 784]` row-major.
    pub fn images(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            out.extend(self.pixels[i * PIXELS..(i + 1) * PIXELS].iter().map(|&p| p as f32 / 255.0));
        }
        out
    }

    /// A fixed, class-balanced choice of `count` digits (all of them when `count` ≥ the set's
    /// size), in a seeded order that is the same on every call and every machine: what the
    /// explorer's plane shows. Classes take turns, so every prefix is balanced too.
    pub fn balanced_subset(&self, count: usize) -> Vec<usize> {
        use rand::SeedableRng;
        // Ten classes, and the images without one as an eleventh.
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); 11];
        for (i, &label) in self.labels.iter().enumerate() {
            by_class[usize::from(label).min(10)].push(i);
        }
        let mut rng = HostRng::seed_from_u64(SUBSET_SEED);
        for class in &mut by_class {
            class.shuffle(&mut rng);
        }
        let count = count.min(self.len());
        let mut out = Vec::with_capacity(count);
        let mut round = 0;
        while out.len() < count {
            for class in &by_class {
                if let Some(&i) = class.get(round) {
                    if out.len() < count {
                        out.push(i);
                    }
                }
            }
            round += 1;
        }
        out
    }

    /// The digits `start..start + count` (clamped to the set) as grey levels in [0, 1].
    pub fn range(&self, start: usize, count: usize) -> Vec<f32> {
        let end = (start + count).min(self.len());
        self.pixels[start.min(end) * PIXELS..end * PIXELS]
            .iter()
            .map(|&p| p as f32 / 255.0)
            .collect()
    }
}

/// Walks a data set in minibatches of M, reshuffled (from the trainer's seeded rng) every epoch.
///
/// A last batch smaller than M is skipped, so every step has the same shape (on WebGPU a new
/// shape means new shaders to compile).
#[derive(Debug, Clone)]
pub struct Batcher {
    order: Vec<usize>,
    cursor: usize,
    batch_size: usize,
    epoch: usize,
}

impl Batcher {
    /// A batcher over `len` items with batches of `batch_size` (at most `len`).
    pub fn new(len: usize, batch_size: usize, rng: &mut HostRng) -> Self {
        let mut order: Vec<usize> = (0..len).collect();
        order.shuffle(rng);
        Self {
            order,
            cursor: 0,
            batch_size: batch_size.min(len).max(1),
            epoch: 0,
        }
    }

    /// The indices of the next minibatch, starting a new (reshuffled) epoch when one is done.
    pub fn next_batch(&mut self, rng: &mut HostRng) -> &[usize] {
        if self.cursor + self.batch_size > self.order.len() {
            self.order.shuffle(rng);
            self.cursor = 0;
            self.epoch += 1;
        }
        let start = self.cursor;
        self.cursor += self.batch_size;
        &self.order[start..self.cursor]
    }

    /// Complete epochs so far.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Fraction of the current epoch done, in [0, 1] (1 once its last batch is taken, until the
    /// next batch starts a new epoch).
    pub fn epoch_progress(&self) -> f64 {
        self.cursor as f64 / self.order.len() as f64
    }

    /// Minibatches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len() / self.batch_size
    }

    /// Items per minibatch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Its whole state: the epoch, the place in it, and this epoch's order.
    pub fn to_parts(&self) -> (usize, usize, &[usize]) {
        (self.epoch, self.cursor, &self.order)
    }

    /// A batcher that continues exactly where the one `to_parts` described was; `None` when the
    /// parts do not describe one over `len` items (a permutation of 0..len, a cursor within it).
    pub fn from_parts(epoch: usize, cursor: usize, order: Vec<usize>, batch_size: usize, len: usize) -> Option<Self> {
        let mut seen = vec![false; len];
        let permutation = order.len() == len && order.iter().all(|&i| i < len && !std::mem::replace(&mut seen[i], true));
        (permutation && cursor <= len && batch_size >= 1).then(|| Self {
            order,
            cursor,
            batch_size: batch_size.min(len).max(1),
            epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::{write_idx_images, write_idx_labels, IMAGES_MAGIC, LABELS_MAGIC};
    use rand::SeedableRng;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn three_digits() -> (Vec<u8>, Vec<u8>) {
        let pixels: Vec<u8> = (0..3 * PIXELS).map(|i| (i % 256) as u8).collect();
        (write_idx_images(&pixels, 28, 28), write_idx_labels(&[7, 0, 9]))
    }

    #[test]
    fn round_trips_plain_and_gzip() {
        let (images, labels) = three_digits();
        for (i, l) in [(images.clone(), labels.clone()), (gzip(&images), gzip(&labels))] {
            let set = Dataset::from_idx(i.clone(), l.clone()).unwrap();
            assert_eq!(set.len(), 3);
            assert_eq!(set.labels(), &[7, 0, 9]);
            assert_eq!(set.range(1, 1)[0], (PIXELS % 256) as f32 / 255.0);
        }
    }

    #[test]
    fn wrong_magic() {
        let (images, labels) = three_digits();
        assert!(matches!(
            read_idx_images(&labels[..]),
            Err(IdxError::WrongMagic { what: "images", found: LABELS_MAGIC, .. })
        ));
        assert!(matches!(
            read_idx_labels(&images[..]),
            Err(IdxError::WrongMagic { what: "labels", found: IMAGES_MAGIC, .. })
        ));
        assert!(matches!(read_idx_images(b"PNG\x00 not idx at all"), Err(IdxError::WrongMagic { .. })));
    }

    #[test]
    fn truncated() {
        let (images, labels) = three_digits();
        assert!(matches!(read_idx_images(&images[..images.len() - 1]), Err(IdxError::Truncated { .. })));
        assert!(matches!(read_idx_images(&images[..10]), Err(IdxError::Truncated { .. })));
        assert!(matches!(read_idx_images(Vec::new()), Err(IdxError::Truncated { .. })));
        assert!(matches!(read_idx_labels(&labels[..9]), Err(IdxError::Truncated { .. })));
        let gz = gzip(&images);
        assert!(matches!(read_idx_images(&gz[..gz.len() / 2]), Err(IdxError::Gzip { .. })));
    }

    #[test]
    fn zero_images() {
        assert!(matches!(
            read_idx_images(&write_idx_images(&[], 28, 28)[..]),
            Err(IdxError::Empty { what: "images" })
        ));
        assert!(matches!(read_idx_labels(&write_idx_labels(&[])[..]), Err(IdxError::Empty { .. })));
    }

    #[test]
    fn count_mismatch() {
        let (images, _) = three_digits();
        assert_eq!(
            Dataset::from_idx(images.clone(), write_idx_labels(&[1, 2])).unwrap_err(),
            IdxError::CountMismatch { images: 3, labels: 2 }
        );
    }

    #[test]
    fn absurd_dimensions() {
        let mut header = Vec::new();
        for v in [IMAGES_MAGIC, 1, 0, 28] {
            header.extend(u32::to_be_bytes(v));
        }
        assert!(matches!(read_idx_images(&header[..]), Err(IdxError::AbsurdDimensions { .. })));
        let mut header = Vec::new();
        for v in [IMAGES_MAGIC, u32::MAX, 1_000_000, 1_000_000] {
            header.extend(u32::to_be_bytes(v));
        }
        assert!(matches!(read_idx_images(&header[..]), Err(IdxError::AbsurdDimensions { .. })));
        // Plausible sides but a count far beyond the bytes present: truncated, not a panic.
        let mut header = Vec::new();
        for v in [IMAGES_MAGIC, u32::MAX, 4096, 4096] {
            header.extend(u32::to_be_bytes(v));
        }
        assert!(matches!(read_idx_images(&header[..]), Err(IdxError::Truncated { .. })));
    }

    #[test]
    fn images_without_labels_are_a_set_of_their_own_kind() {
        let (images, _) = three_digits();
        let set = Dataset::from_idx_images(images.clone()).unwrap();
        assert_eq!(set.labels(), &[UNLABELLED; 3]);
        // The same from a labels file that says so, and mixed with labelled images.
        let set = Dataset::from_idx(images.clone(), write_idx_labels(&[UNLABELLED, 4, UNLABELLED])).unwrap();
        let mut chosen = set.balanced_subset(3);
        chosen.sort();
        assert_eq!(chosen, vec![0, 1, 2]);
        assert_eq!(set.balanced_subset(2).iter().filter(|&&i| i == 1).count(), 1, "the labelled image takes its turn");
        assert!(matches!(Dataset::from_idx(images, write_idx_labels(&[10, 4, 4])), Err(IdxError::BadLabel { index: 0, label: 10 })));
    }

    #[test]
    fn not_mnist_size_and_bad_labels() {
        let images = write_idx_images(&[0; 2 * 10 * 10], 10, 10);
        assert_eq!(
            Dataset::from_idx(images.clone(), write_idx_labels(&[1, 2])).unwrap_err(),
            IdxError::NotMnistSize { rows: 10, cols: 10 }
        );
        let (images, _) = three_digits();
        assert_eq!(
            Dataset::from_idx(images.clone(), write_idx_labels(&[1, 12, 3])).unwrap_err(),
            IdxError::BadLabel { index: 1, label: 12 }
        );
    }

    #[test]
    fn binarisation() {
        let pixels: Vec<u8> = (0..PIXELS).map(|i| [0u8, 100, 200, 255][i % 4]).collect();
        let set = Dataset::new(pixels, vec![3]).unwrap();
        let mut rng = HostRng::seed_from_u64(1);
        let grey = set.batch(&[0], Binarization::None, &mut rng);
        assert_eq!(&grey[..4], &[0.0, 100.0 / 255.0, 200.0 / 255.0, 1.0]);
        let thr = set.batch(&[0], Binarization::Threshold, &mut rng);
        assert_eq!(&thr[..4], &[0.0, 0.0, 1.0, 1.0]);
        // Dynamic: 0 and 255 are fixed; 200/255 ≈ 0.784 is a coin flip with that mean.
        let dynamic = set.batch(&[0], Binarization::Dynamic, &mut rng);
        assert!(dynamic.iter().all(|&v| v == 0.0 || v == 1.0));
        let ones_at = |k: usize| dynamic.iter().skip(k).step_by(4).filter(|&&v| v == 1.0).count();
        assert_eq!(ones_at(0), 0);
        assert_eq!(ones_at(3), PIXELS / 4);
        let frac = ones_at(2) as f64 / (PIXELS / 4) as f64;
        assert!((frac - 200.0 / 255.0).abs() < 0.1, "{frac}");
    }

    #[test]
    fn batcher_visits_every_item_once_per_epoch_and_reshuffles() {
        let mut rng = HostRng::seed_from_u64(7);
        let mut b = Batcher::new(10, 3, &mut rng);
        assert_eq!(b.batches_per_epoch(), 3);
        let first: Vec<usize> = (0..3).flat_map(|_| b.next_batch(&mut rng).to_vec()).collect();
        let mut sorted = first.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 9);
        assert_eq!(b.epoch(), 0);
        let second: Vec<usize> = (0..3).flat_map(|_| b.next_batch(&mut rng).to_vec()).collect();
        assert_eq!(b.epoch(), 1);
        assert_ne!(first, second);
        // The same seed gives the same order.
        let mut rng2 = HostRng::seed_from_u64(7);
        let mut b2 = Batcher::new(10, 3, &mut rng2);
        assert_eq!(b2.next_batch(&mut rng2), &first[..3]);
    }

    #[test]
    fn the_balanced_subset_is_fixed_balanced_and_distinct() {
        let labels: Vec<u8> = (0..300).map(|i| if i < 200 { (i % 3) as u8 } else { (i % 10) as u8 }).collect();
        let set = Dataset::new(vec![0; labels.len() * PIXELS], labels).unwrap();
        let a = set.balanced_subset(40);
        assert_eq!(a, set.balanced_subset(40));
        assert_eq!(a.len(), 40);
        let mut counts = [0; 10];
        for &i in &a {
            counts[set.labels()[i] as usize] += 1;
        }
        assert_eq!(counts, [4; 10]);
        let mut all = set.balanced_subset(10_000);
        assert_eq!(all.len(), 300);
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 300);
    }
}
