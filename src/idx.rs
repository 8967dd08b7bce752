//! The IDX file format of MNIST: reading images and labels (plain or gzip) without ever
//! panicking on bad bytes, and writing them (for tests and tools).

use std::io::Read;

use crate::error::IdxError;

/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Largest side an IDX image may declare before it is called absurd.
pub const MAX_SIDE: u32 = 4096;
/// Largest decompressed IDX file accepted (1 GiB): a guard against gzip bombs.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Decompresses `bytes` if they start with the gzip magic; otherwise returns them as they are.
/// A stream that would inflate beyond [`MAX_DECOMPRESSED`] is refused, not cut.
fn maybe_gunzip(bytes: Vec<u8>, what: &'static str) -> Result<Vec<u8>, IdxError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| IdxError::Gzip {
            what,
            message: e.to_string(),
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(IdxError::Gzip {
            what,
            message: format!("it inflates to more than {} MiB", MAX_DECOMPRESSED >> 20),
        });
    }
    Ok(out)
}

fn be_u32(bytes: &[u8], at: usize, what: &'static str) -> Result<u32, IdxError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(IdxError::Truncated {
            what,
            expected: at + 4,
            found: bytes.len(),
        })
}

/// Images read from an IDX file: `count` images of `rows × cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub rows: u32,
    pub cols: u32,
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Number of images.
    pub fn count(&self) -> usize {
        self.pixels.len() / (self.rows as usize * self.cols as usize)
    }
}

/// Reads an IDX images file (magic 0x00000803), plain or gzip-compressed. Given the bytes by
/// value (a `Vec`), a plain file's pixels are kept where they are, not copied: the training set
/// is 47 MB.
pub fn read_idx_images(bytes: impl Into<Vec<u8>>) -> Result<IdxImages, IdxError> {
    const WHAT: &str = "images";
    let mut bytes = maybe_gunzip(bytes.into(), WHAT)?;
    let magic = be_u32(&bytes, 0, WHAT)?;
    if magic != IMAGES_MAGIC {
        return Err(IdxError::WrongMagic {
            what: WHAT,
            expected: IMAGES_MAGIC,
            found: magic,
        });
    }
    let count = be_u32(&bytes, 4, WHAT)? as usize;
    let rows = be_u32(&bytes, 8, WHAT)?;
    let cols = be_u32(&bytes, 12, WHAT)?;
    if count == 0 {
        return Err(IdxError::Empty { what: WHAT });
    }
    if rows == 0 || cols == 0 || rows > MAX_SIDE || cols > MAX_SIDE {
        return Err(IdxError::AbsurdDimensions {
            rows,
            cols,
            max: MAX_SIDE,
        });
    }
    // rows, cols ≤ 4096 and count < 2³² keep this within u64.
    let expected = 16 + count as u64 * rows as u64 * cols as u64;
    if (bytes.len() as u64) < expected {
        return Err(IdxError::Truncated {
            what: WHAT,
            expected: usize::try_from(expected).unwrap_or(usize::MAX),
            found: bytes.len(),
        });
    }
    bytes.truncate(expected as usize);
    bytes.drain(..16);
    Ok(IdxImages {
        rows,
        cols,
        pixels: bytes,
    })
}

/// Reads an IDX labels file (magic 0x00000801), plain or gzip-compressed.
pub fn read_idx_labels(bytes: impl Into<Vec<u8>>) -> Result<Vec<u8>, IdxError> {
    const WHAT: &str = "labels";
    let bytes = maybe_gunzip(bytes.into(), WHAT)?;
    let magic = be_u32(&bytes, 0, WHAT)?;
    if magic != LABELS_MAGIC {
        return Err(IdxError::WrongMagic {
            what: WHAT,
            expected: LABELS_MAGIC,
            found: magic,
        });
    }
    let count = be_u32(&bytes, 4, WHAT)? as usize;
    if count == 0 {
        return Err(IdxError::Empty { what: WHAT });
    }
    let labels = bytes.get(8..8 + count).ok_or(IdxError::Truncated {
        what: WHAT,
        expected: 8 + count,
        found: bytes.len(),
    })?;
    Ok(labels.to_vec())
}

/// Writes images as an uncompressed IDX file (what `scripts/make-data.mjs` writes, gzip aside).
pub fn write_idx_images(pixels: &[u8], rows: u32, cols: u32) -> Vec<u8> {
    let count = (pixels.len() / (rows as usize * cols as usize)) as u32;
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, count, rows, cols] {
        out.extend(v.to_be_bytes());
    }
    out.extend(pixels);
    out
}

/// Writes labels as an uncompressed IDX file.
pub fn write_idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend(LABELS_MAGIC.to_be_bytes());
    out.extend((labels.len() as u32).to_be_bytes());
    out.extend(labels);
    out
}
