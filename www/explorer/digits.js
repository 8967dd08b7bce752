// Drawing MNIST-shaped images (28×28, values in [0, 1]) onto canvases, white ink on black as in
// the paper's figures. A view: canvases and typed arrays in, pixels out; it never sees the model.

export const SIDE = 28;
const PIXELS = SIDE * SIDE;

/**
 * Draws one 28×28 image at its own resolution: the canvas becomes 28×28 device pixels, and CSS
 * scales it up (crisp with `image-rendering: pixelated`).
 * @param {HTMLCanvasElement} canvas
 * @param {Float32Array} images k×784, row-major, in [0, 1]
 * @param {number} [index] which of the k images
 */
export function drawDigit(canvas, images, index = 0) {
  if (canvas.width !== SIDE || canvas.height !== SIDE) {
    canvas.width = SIDE;
    canvas.height = SIDE;
  }
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(SIDE, SIDE);
  writeDigit(image.data, SIDE, images, index, 0, 0);
  ctx.putImageData(image, 0, 0);
}

/**
 * Draws `count` images as a grid of `columns` columns, row by row, with `gap` pixels of
 * separation; the canvas is sized to fit exactly.
 * @param {HTMLCanvasElement} canvas
 * @param {Float32Array} images count×784
 * @param {number} count
 * @param {number} columns
 * @param {{gap?: number, gapColour?: [number, number, number]}} [options]
 */
export function drawDigitGrid(canvas, images, count, columns, { gap = 0, gapColour = [40, 44, 52] } = {}) {
  const rows = Math.ceil(count / columns);
  const width = columns * SIDE + (columns - 1) * gap;
  const height = rows * SIDE + (rows - 1) * gap;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  const data = image.data;
  if (gap > 0) {
    for (let i = 0; i < width * height; i++) {
      data[4 * i] = gapColour[0];
      data[4 * i + 1] = gapColour[1];
      data[4 * i + 2] = gapColour[2];
      data[4 * i + 3] = 255;
    }
  }
  for (let k = 0; k < count; k++) {
    const r = Math.floor(k / columns), c = k % columns;
    writeDigit(data, width, images, k, c * (SIDE + gap), r * (SIDE + gap));
  }
  ctx.putImageData(image, 0, 0);
}

/** Clears a digit canvas to the background (black). */
export function clearDigit(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

/**
 * Draws an image (a canvas or an <img>) into `canvas`, scaled to fit and centred, on white.
 * The canvas keeps its size; used for the upload's original.
 */
export function drawFitted(canvas, source, sourceWidth, sourceHeight) {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const s = Math.min(canvas.width / sourceWidth, canvas.height / sourceHeight);
  const w = sourceWidth * s, h = sourceHeight * s;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}

function writeDigit(data, stride, images, index, x0, y0) {
  const base = index * PIXELS;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const v = images[base + y * SIDE + x];
      const g = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
      const o = 4 * ((y0 + y) * stride + x0 + x);
      data[o] = g;
      data[o + 1] = g;
      data[o + 2] = g;
      data[o + 3] = 255;
    }
  }
}
