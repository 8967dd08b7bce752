//! A whole training run in one file: the config, the weights, the optimizer's state, the host
//! generator's state, the batcher's place, the step, and whatever the page adds (its chart's
//! history). From it a run continues exactly: the same batches, the same noise, the same losses.
//!
//! The page keeps one in the browser's storage and offers it back after a reload; "Download model"
//! saves one; the native trainer reads and writes them too (`vae train --resume`, `--checkpoint`).
//! A [`SavePoint`] is the run held in memory, its tensors not yet read back.
//!
//! Format (little-endian): the magic `VAERUN\0\0`, a `u32` version, then sections, each a `u32`
//! tag, a `u64` length and that many bytes. Unknown tags are skipped; a missing one is an error.

use burn::module::Module;
use burn::optim::ModuleOptimizer;

use crate::config::VaeConfig;
use crate::data::Batcher;
use crate::error::{Result, VaeError};
use crate::kernels::FlatRun;
use crate::model::Vae;
use crate::optim_state::optimizer_bytes;
use crate::transfer::{module_on_host, yield_to_other_tasks};

const MAGIC: &[u8; 8] = b"VAERUN\0\0";
/// The format this code writes and reads.
pub const VERSION: u32 = 1;
/// The largest file read (a 4-layer 4096-unit model with Adam is far below it).
pub const MAX_BYTES: usize = 512 << 20;

const CONFIG: u32 = 1;
const WEIGHTS: u32 = 2;
const OPTIMIZER: u32 = 3;
const RNG: u32 = 4;
const BATCHER: u32 = 5;
const STEP: u32 = 6;
const EXTRA: u32 = 7;

/// A training run, as saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The config the run was trained with.
    pub config: VaeConfig,
    /// The weights (burnpack, what `vae train --out` writes).
    pub weights: Vec<u8>,
    /// The optimizer's state (burnpack).
    pub optimizer: Vec<u8>,
    /// The host generator's state.
    pub rng: [u8; 49],
    /// Complete epochs, the place in the current one, and its order.
    pub epoch: usize,
    /// See `epoch`.
    pub cursor: usize,
    /// See `epoch`.
    pub order: Vec<usize>,
    /// Steps taken.
    pub step: u64,
    /// Opaque bytes of the caller's (the page keeps its chart's history here, as JSON).
    pub extra: Vec<u8>,
}

fn bad(reason: impl Into<String>) -> VaeError {
    VaeError::Record(format!("not a training run this app can read: {}", reason.into()))
}

impl Checkpoint {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.weights.len() + self.optimizer.len() + 4 * self.order.len());
        out.extend(MAGIC);
        out.extend(VERSION.to_le_bytes());
        let mut section = |tag: u32, bytes: &[u8]| {
            out.extend(tag.to_le_bytes());
            out.extend((bytes.len() as u64).to_le_bytes());
            out.extend(bytes);
        };
        section(CONFIG, serde_json::to_string(&self.config).expect("a config should serialise").as_bytes());
        section(WEIGHTS, &self.weights);
        section(OPTIMIZER, &self.optimizer);
        section(RNG, &self.rng);
        let mut batcher = Vec::with_capacity(16 + 4 * self.order.len());
        batcher.extend((self.epoch as u64).to_le_bytes());
        batcher.extend((self.cursor as u64).to_le_bytes());
        for &i in &self.order {
            batcher.extend((i as u32).to_le_bytes());
        }
        section(BATCHER, &batcher);
        section(STEP, &self.step.to_le_bytes());
        section(EXTRA, &self.extra);
        out
    }

    /// Reads a file written by [`Checkpoint::to_bytes`]; every malformed input is an error that
    /// says what is wrong, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_BYTES {
            return Err(bad(format!("{} MB is more than the {} MB a run can take", bytes.len() >> 20, MAX_BYTES >> 20)));
        }
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(bad("it does not start like a saved run (a .vaerun file)"));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("four bytes"));
        if version != VERSION {
            return Err(VaeError::Record(format!(
                "this saved run is in format version {version}; this app reads version {VERSION}"
            )));
        }
        let mut sections: Vec<(u32, &[u8])> = Vec::new();
        let mut at = 12;
        while at < bytes.len() {
            let header = bytes.get(at..at + 12).ok_or_else(|| bad("it is truncated (a section header is cut off)"))?;
            let tag = u32::from_le_bytes(header[..4].try_into().expect("four bytes"));
            let len = u64::from_le_bytes(header[4..].try_into().expect("eight bytes"));
            let start = at + 12;
            let end = usize::try_from(len).ok().and_then(|l| start.checked_add(l)).filter(|&e| e <= bytes.len());
            let end = end.ok_or_else(|| bad("it is truncated (a section is longer than the file)"))?;
            sections.push((tag, &bytes[start..end]));
            at = end;
        }
        let get = |tag: u32, what: &str| {
            sections
                .iter()
                .find(|(t, _)| *t == tag)
                .map(|(_, b)| *b)
                .ok_or_else(|| bad(format!("it has no {what}")))
        };
        let config_text = std::str::from_utf8(get(CONFIG, "config")?).map_err(|_| bad("its config is not text"))?;
        let config = VaeConfig::from_json(config_text)?;
        let rng: [u8; 49] = get(RNG, "generator state")?.try_into().map_err(|_| bad("its generator state has the wrong size"))?;
        let batcher = get(BATCHER, "batcher state")?;
        if batcher.len() < 16 || (batcher.len() - 16) % 4 != 0 {
            return Err(bad("its batcher state has the wrong size"));
        }
        let word = |i: usize| u64::from_le_bytes(batcher[8 * i..8 * i + 8].try_into().expect("eight bytes"));
        let (epoch, cursor) = (word(0) as usize, word(1) as usize);
        let order = batcher[16..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("four bytes")) as usize)
            .collect();
        let step = u64::from_le_bytes(get(STEP, "step")?.try_into().map_err(|_| bad("its step has the wrong size"))?);
        Ok(Self {
            config,
            weights: get(WEIGHTS, "weights")?.to_vec(),
            optimizer: get(OPTIMIZER, "optimizer state")?.to_vec(),
            rng,
            epoch,
            cursor,
            order,
            step,
            extra: get(EXTRA, "extra")?.to_vec(),
        })
    }

    /// Whether `bytes` look like a saved run (its magic), to tell it from a `.bpk` file.
    pub fn is_checkpoint(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }
}

/// Everything a training step changes: the parameters (Burn's tensors are shared, so taking one
/// copies nothing), the optimizer's state, the host generator, the batcher's place and the step
/// count, with the config. Kept before a chunk so that a chunk whose loss comes back non-finite can
/// be undone, and taken to save the run: its tensors are read back while training goes on.
pub struct SavePoint {
    pub(crate) config: VaeConfig,
    pub(crate) model: Vae,
    pub(crate) optim: ModuleOptimizer,
    pub(crate) rng: [u8; 49],
    pub(crate) batcher: Batcher,
    pub(crate) step: u64,
    /// The parameters and Adam's moments of a run stepping in our own kernels (`model` is then
    /// views into them, and `optim` what the run started from).
    pub(crate) flat: Option<FlatRun>,
}

impl SavePoint {
    /// Steps taken when it was taken.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The run as it was (see [`Checkpoint`]), with `extra` bytes of the caller's, from any
    /// backend: the tensors are read back asynchronously.
    ///
    /// On the CPU the reads are copies on this thread; the two halves (weights, optimizer) run in
    /// separate tasks of the browser's event loop, so neither holds it for long.
    pub async fn checkpoint(self, extra: Vec<u8>) -> Result<Checkpoint> {
        yield_to_other_tasks().await;
        let model = match &self.flat {
            Some(flat) => flat.model(self.model.clone()),
            None => self.model.clone(),
        };
        let weights = weights_bytes(model.valid()).await?;
        yield_to_other_tasks().await;
        let optimizer = match &self.flat {
            Some(flat) => flat.optimizer_bytes(&self.model).await?,
            None => optimizer_bytes(&self.optim).await?,
        };
        let (epoch, cursor, order) = self.batcher.to_parts();
        Ok(Checkpoint {
            config: self.config,
            weights,
            optimizer,
            rng: self.rng,
            epoch,
            cursor,
            order: order.to_vec(),
            step: self.step,
            extra,
        })
    }
}

/// `model`'s weights as a burnpack file's bytes (what `vae train --out` writes), from any
/// backend: the parameters are read back asynchronously.
pub(crate) async fn weights_bytes(model: Vae) -> Result<Vec<u8>> {
    let bytes = module_on_host(model).await?.into_record().into_bytes().map_err(|e| VaeError::Record(e.to_string()))?;
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            config: VaeConfig { latent_dim: 3, ..VaeConfig::default() },
            weights: vec![1, 2, 3],
            optimizer: vec![4, 5],
            rng: [7; 49],
            epoch: 2,
            cursor: 40,
            order: vec![2, 0, 1],
            step: 1234,
            extra: b"{}".to_vec(),
        }
    }

    #[test]
    fn a_checkpoint_reads_back_as_written() {
        let c = sample();
        let bytes = c.to_bytes();
        assert!(Checkpoint::is_checkpoint(&bytes));
        assert_eq!(Checkpoint::from_bytes(&bytes).unwrap(), c);
    }

    #[test]
    fn every_truncation_and_a_wrong_version_are_clear_errors() {
        let bytes = sample().to_bytes();
        for n in 0..bytes.len() {
            let e = Checkpoint::from_bytes(&bytes[..n]).unwrap_err().to_string();
            assert!(e.contains("not a training run") || e.contains("invalid config"), "{n}: {e}");
        }
        let mut older = bytes.clone();
        older[8..12].copy_from_slice(&0u32.to_le_bytes());
        assert!(Checkpoint::from_bytes(&older).unwrap_err().to_string().contains("format version 0"));
        assert!(Checkpoint::from_bytes(b"PK\x03\x04 a zip file").is_err());
    }
}
