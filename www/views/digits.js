// Draws MNIST-shaped images as a grid on a canvas. A view: it takes a canvas and a typed array and
// knows nothing about the model.
//
//   import { drawDigits } from './views/digits.js';
//   drawDigits(canvas, pixels, count, columns, { scale = 2, gap = 1, ink, paper });
//
//   pixels   Float32Array (or any array) of count×784 values, row-major: image k's pixel (r, c)
//            at k·784 + r·28 + c; 0 = background, 1 = stroke. Values outside [0, 1] are clipped.
//   count    how many images to draw (the first `count` of `pixels`)
//   columns  images per row; rows = ceil(count / columns), filled left to right, top to bottom
//   scale    canvas pixels per image pixel (the canvas's own resolution; CSS may stretch it,
//            and `image-rendering: pixelated` keeps it sharp)
//   gap      canvas pixels between images, painted a shade darker than the paper
//   ink      [r, g, b] of a pixel of value 1 (default a near-black blue: dark digits on light paper)
//   paper    [r, g, b] of a pixel of value 0 (default white)
//
// The canvas is resized to fit the grid exactly: width = columns·28·scale + (columns − 1)·gap.

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

const INK = [22, 27, 45];
const PAPER = [255, 255, 255];

/** Draws the grid; returns the canvas. */
export function drawDigits(canvas, pixels, count, columns, { scale = 2, gap = 1, ink = INK, paper = PAPER } = {}) {
  columns = Math.max(1, Math.min(columns, count || 1));
  const rows = Math.max(1, Math.ceil(count / columns));
  const cell = SIDE * scale;
  const width = columns * cell + (columns - 1) * gap;
  const height = rows * cell + (rows - 1) * gap;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;

  // Paint at full resolution into one ImageData: no smoothing, one putImageData. Gaps are the
  // paper a shade darker, so cells read as cells even when the paper is white.
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  const out = image.data;
  const line = paper.map((v) => Math.round(v * 0.88));
  for (let i = 0; i < out.length; i += 4) {
    out[i] = line[0];
    out[i + 1] = line[1];
    out[i + 2] = line[2];
    out[i + 3] = 255;
  }
  for (let k = 0; k < count; k++) {
    const x0 = (k % columns) * (cell + gap);
    const y0 = Math.floor(k / columns) * (cell + gap);
    const base = k * PIXELS;
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        let v = pixels[base + r * SIDE + c];
        v = v > 0 ? (v < 1 ? v : 1) : 0; // clips, and NaN becomes paper
        const red = paper[0] + (ink[0] - paper[0]) * v;
        const green = paper[1] + (ink[1] - paper[1]) * v;
        const blue = paper[2] + (ink[2] - paper[2]) * v;
        for (let dy = 0; dy < scale; dy++) {
          let o = ((y0 + r * scale + dy) * width + x0 + c * scale) * 4;
          for (let dx = 0; dx < scale; dx++, o += 4) {
            out[o] = red;
            out[o + 1] = green;
            out[o + 2] = blue;
          }
        }
      }
    }
  }
  context.putImageData(image, 0, 0);
  return canvas;
}
