// Reading a user's image file (picked, dropped or pasted) into pixels the preprocessing can use.
// Anything the browser can decode works (PNG, JPEG, WebP, GIF, BMP, SVG, ...): the file goes
// through an <img> element, which, unlike createImageBitmap, also decodes SVG.

/** Largest file accepted, in bytes. */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;
/** Largest image accepted, in pixels on a side. */
export const MAX_SIDE = 8192;
/**
 * Longest side the image is drawn at for preprocessing. The digit ends up 20 px tall, so a larger
 * working copy adds time, not information; the browser's high-quality downscale does the rest.
 */
export const WORK_SIDE = 1024;
/** Size given to an SVG without intrinsic size. */
const SVG_FALLBACK_SIDE = 512;

/** A file that cannot be used, with a message meant for the page. */
export class ImageInputError extends Error {
  /** @param {'not-image'|'too-large'|'too-many-pixels'} code */
  constructor(code, message) {
    super(message);
    this.name = 'ImageInputError';
    this.code = code;
  }
}

/**
 * Decodes an image file and draws it on a canvas, longest side at most WORK_SIDE.
 * @param {File|Blob} file
 * @returns {Promise<{canvas: HTMLCanvasElement, width: number, height: number, name: string}>}
 *   width, height: the image's own size
 * @throws {ImageInputError}
 */
export async function loadImageFile(file) {
  const name = (file instanceof File && file.name) || 'the pasted image';
  if (file.size > MAX_FILE_BYTES) {
    throw new ImageInputError(
      'too-large',
      `${name} is ${(file.size / 2 ** 20).toFixed(1)} MB; the limit is ${MAX_FILE_BYTES / 2 ** 20} MB`,
    );
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    try {
      if (file.size === 0) throw new Error('empty file');
      await img.decode();
    } catch {
      throw new ImageInputError('not-image', `${name} is not an image the browser can read`);
    }
    let width = img.naturalWidth, height = img.naturalHeight;
    if (!width || !height) {
      width = SVG_FALLBACK_SIDE;
      height = SVG_FALLBACK_SIDE;
    }
    if (width > MAX_SIDE || height > MAX_SIDE) {
      throw new ImageInputError(
        'too-many-pixels',
        `${name} is ${width}×${height} px; the limit is ${MAX_SIDE} px on a side`,
      );
    }
    const s = Math.min(1, WORK_SIDE / Math.max(width, height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width * s));
    canvas.height = Math.max(1, Math.round(height * s));
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return { canvas, width, height, name };
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The files of a drop or paste (DataTransfer), images or not: the loader says which it can read. */
export function filesOf(dataTransfer) {
  if (!dataTransfer) return [];
  const files = Array.from(dataTransfer.files ?? []);
  if (files.length) return files;
  return Array.from(dataTransfer.items ?? [])
    .filter((item) => item.kind === 'file')
    .map((item) => item.getAsFile())
    .filter(Boolean);
}
