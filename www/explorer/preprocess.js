// Turns any picture of a digit into an input shaped like MNIST's: 28×28, ink bright on a zero
// background, values in [0, 1].
//
// MNIST was made this way (LeCun, Cortes & Burges, "The MNIST database of handwritten digits"):
// the NIST black-and-white digits were "size normalized to fit in a 20x20 pixel box while
// preserving their aspect ratio", anti-aliasing leaving grey levels, then "centered in a 28x28
// image by computing the center of mass of the pixels, and translating the image so as to
// position this point at the center of the 28x28 field". A VAE trained on MNIST has only ever
// seen digits made like that, so an upload or a drawing goes through the same steps before it is
// encoded:
//
//   RGBA → grey (luminance) → ink (inverted if the background is light) → background removed
//   → cropped to the ink's bounding box → longer side scaled to 20 px (area average)
//   → placed in 28×28 with its centre of mass at the centre.
//
// Pure functions over typed arrays: no DOM, so Node's test runner checks them
// (tests/js/preprocess.test.mjs).

/** Side of an MNIST image, in pixels. */
export const MNIST_SIZE = 28;
/** Side of the box the digit's longer side is scaled to, in pixels. */
export const MNIST_BOX = 20;

/** Thrown when an image holds no ink to speak of: blank, uniform, or too faint. */
export class BlankImageError extends Error {
  constructor(message = 'the image is blank: no ink found') {
    super(message);
    this.name = 'BlankImageError';
    this.code = 'blank';
  }
}

/**
 * Default knobs of {@link preprocessGrey}. Values are on the 0..1 scale of the normalised ink.
 * - minContrast: the brightest ink must stand this far above the background, or the image is blank.
 * - threshold: ink above this counts towards the bounding box (anti-aliased fringes and paper
 *   texture stay below it).
 * - noiseFloor: ink below this is set to 0, as MNIST's background is exactly 0.
 */
export const PREPROCESS_DEFAULTS = Object.freeze({ minContrast: 0.15, threshold: 0.2, noiseFloor: 0.05 });

/**
 * Greyscale of an RGBA image (as `ImageData.data` holds it): 0 = black, 1 = white.
 *
 * Luminance uses the Rec. 601 weights (0.299 R + 0.587 G + 0.114 B), the ones of most image
 * libraries' "L" mode. Semi-transparent pixels are composited over white, so dark ink on a
 * transparent background reads as dark on light. When the image's border is mostly transparent
 * (a cut-out digit, a PNG drawn on nothing), the colour of the transparent pixels means nothing
 * (often black), so opacity alone is the ink: grey = 1 − alpha.
 *
 * @param {Uint8ClampedArray|Uint8Array} rgba width×height×4 bytes, row-major
 * @param {number} width
 * @param {number} height
 * @returns {Float32Array} width×height, row-major, in [0, 1]
 */
export function rgbaToGrey(rgba, width, height) {
  checkSize(width, height);
  if (rgba.length !== width * height * 4) {
    throw new RangeError(`rgba has ${rgba.length} bytes; a ${width}×${height} image needs ${width * height * 4}`);
  }
  const n = width * height;
  const ring = borderIndices(width, height);
  let borderAlpha = 0;
  for (const i of ring) borderAlpha += rgba[4 * i + 3];
  const alphaIsInk = borderAlpha / ring.length / 255 < 0.5;

  const grey = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3] / 255;
    if (alphaIsInk) {
      grey[i] = 1 - a;
    } else {
      const lum = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
      grey[i] = lum * a + (1 - a);
    }
  }
  return grey;
}

/**
 * MNIST-style 28×28 input from a greyscale image of one digit (either polarity, any size).
 *
 * @param {Float32Array|number[]} grey width×height, row-major, 0 = black, 1 = white
 * @param {number} width
 * @param {number} height
 * @param {Partial<typeof PREPROCESS_DEFAULTS>} [options]
 * @returns {{
 *   pixels: Float32Array,            // 28×28 row-major, ink in (0, 1], background 0
 *   inverted: boolean,               // true when the image was dark ink on a light background
 *   background: number,              // mean grey of the border, 0..1 (before inversion)
 *   bbox: {x: number, y: number, width: number, height: number}, // ink's box in the input, px
 *   scale: number,                   // input px → output px along the longer side
 *   size: {width: number, height: number},          // the scaled digit's box in the output (≤ 20)
 *   offset: {x: number, y: number},                 // where that box sits in the 28×28
 *   centreOfMass: {x: number, y: number},           // of the output, pixel centres at i + 0.5
 * }}
 * @throws {BlankImageError} when no ink stands out from the background
 */
export function preprocessGrey(grey, width, height, options = {}) {
  checkSize(width, height);
  if (grey.length !== width * height) {
    throw new RangeError(`grey has ${grey.length} values; a ${width}×${height} image needs ${width * height}`);
  }
  const { minContrast, threshold, noiseFloor } = { ...PREPROCESS_DEFAULTS, ...options };
  const n = width * height;

  // Polarity and background level from the border: a photo or scan of a digit on paper has a
  // light border, MNIST itself and most drawings on black a dark one.
  const ring = borderIndices(width, height);
  let background = 0;
  for (const i of ring) background += grey[i];
  background /= ring.length;
  const inverted = background > 0.5;

  const ink = new Float32Array(n);
  let peak = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = inverted ? 1 - grey[i] : grey[i];
    ink[i] = v;
    if (v > peak) peak = v;
  }
  const floor = inverted ? 1 - background : background;
  const contrast = peak - floor;
  if (!(contrast >= minContrast)) throw new BlankImageError();

  // Stretch so that the background is 0 and the darkest ink 1 (grey paper, pencil, a photo).
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let v = (ink[i] - floor) / contrast;
      v = v < noiseFloor ? 0 : v > 1 ? 1 : v;
      ink[i] = v;
      if (v > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) throw new BlankImageError();

  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const crop = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) {
    crop.set(ink.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + bw), y * bw);
  }

  const scale = MNIST_BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.min(MNIST_BOX, Math.round(bw * scale)));
  const th = Math.max(1, Math.min(MNIST_BOX, Math.round(bh * scale)));
  const patch = resample(crop, bw, bh, tw, th);

  // Integer translation, as MNIST's: no extra blur from a sub-pixel shift. The box is kept inside
  // the field, so a lopsided digit may sit off-centre rather than lose ink.
  const com = centreOfMass(patch, tw, th);
  const centre = MNIST_SIZE / 2;
  const ox = clamp(Math.round(centre - com.x), 0, MNIST_SIZE - tw);
  const oy = clamp(Math.round(centre - com.y), 0, MNIST_SIZE - th);
  const pixels = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      pixels[(oy + y) * MNIST_SIZE + ox + x] = clamp(patch[y * tw + x], 0, 1);
    }
  }
  const final = centreOfMass(pixels, MNIST_SIZE, MNIST_SIZE);

  return {
    pixels,
    inverted,
    background,
    bbox: { x: x0, y: y0, width: bw, height: bh },
    scale,
    size: { width: tw, height: th },
    offset: { x: ox, y: oy },
    centreOfMass: { x: final.x, y: final.y },
  };
}

/** {@link preprocessGrey} of an RGBA image: `preprocessGrey(rgbaToGrey(rgba, w, h), w, h)`. */
export function preprocessRgba(rgba, width, height, options) {
  return preprocessGrey(rgbaToGrey(rgba, width, height), width, height, options);
}

/**
 * Centre of mass of an intensity image, with pixel (i, j) covering [i, i+1) × [j, j+1), so a
 * single lit pixel (0, 0) has its centre at (0.5, 0.5) and the centre of a 28×28 field is (14, 14).
 * @returns {{x: number, y: number, mass: number}} x, y are NaN when the mass is 0
 */
export function centreOfMass(pixels, width, height) {
  let mass = 0, sx = 0, sy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = pixels[y * width + x];
      mass += v;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
    }
  }
  return { x: sx / mass, y: sy / mass, mass };
}

/**
 * Separable resize of a one-channel image. Shrinking averages the exact area of the input each
 * output pixel covers (a box filter, as anti-aliased downscaling); enlarging interpolates
 * bilinearly, so a tiny digit is smooth rather than blocky.
 * @returns {Float32Array} dw×dh
 */
export function resample(src, sw, sh, dw, dh) {
  const rows = new Float32Array(dw * sh);
  const wx = weights1d(sw, dw);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < dw; x++) {
      const { start, w } = wx[x];
      let acc = 0;
      for (let k = 0; k < w.length; k++) acc += w[k] * src[y * sw + start + k];
      rows[y * dw + x] = acc;
    }
  }
  const out = new Float32Array(dw * dh);
  const wy = weights1d(sh, dh);
  for (let y = 0; y < dh; y++) {
    const { start, w } = wy[y];
    for (let x = 0; x < dw; x++) {
      let acc = 0;
      for (let k = 0; k < w.length; k++) acc += w[k] * rows[(start + k) * dw + x];
      out[y * dw + x] = acc;
    }
  }
  return out;
}

/** For each of `dst` output samples along one axis: the first input index and the weights. */
function weights1d(src, dst) {
  const out = [];
  const ratio = src / dst; // input pixels per output pixel
  for (let i = 0; i < dst; i++) {
    if (ratio >= 1) {
      const a = i * ratio, b = (i + 1) * ratio;
      const start = Math.floor(a), end = Math.min(src, Math.ceil(b));
      const w = [];
      for (let j = start; j < end; j++) w.push((Math.min(b, j + 1) - Math.max(a, j)) / ratio);
      out.push({ start, w });
    } else {
      const c = (i + 0.5) * ratio - 0.5; // output pixel centre in input pixel coordinates
      const j = Math.floor(c), t = c - j;
      const lo = clamp(j, 0, src - 1), hi = clamp(j + 1, 0, src - 1);
      if (lo === hi) out.push({ start: lo, w: [1] });
      else out.push({ start: lo, w: [1 - t, t] });
    }
  }
  return out;
}

/**
 * Indices of the image's border ring, about 2% of the shorter side thick (at least one pixel),
 * each pixel once.
 */
function borderIndices(width, height) {
  const t = Math.max(1, Math.min(Math.round(Math.min(width, height) / 50), Math.floor(Math.min(width, height) / 2)));
  const out = [];
  for (let y = 0; y < height; y++) {
    const edgeRow = y < t || y >= height - t;
    for (let x = 0; x < width; x++) {
      if (edgeRow || x < t || x >= width - t) out.push(y * width + x);
    }
  }
  return out;
}

function checkSize(width, height) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
}

function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}
