// Draws MNIST-shaped images on canvases: the training page's reconstructions (dark ink on white
// paper, scaled up by the canvas) and the explorer's digits (white ink on black, as in the paper's
// figures, one canvas pixel per image pixel and scaled up by CSS). A view: canvases and typed
// arrays in, pixels out; it never sees the model.
//
//   import { drawDigits, drawDigit, clearDigit, renderDigits, WHITE_ON_BLACK } from './views/digits.js';
//   drawDigits(canvas, pixels, count, columns, { scale = 2, gap = 1, ink, paper, gapColour });
//
//   pixels     Float32Array (or any array) of count×784 values, row-major: image k's pixel (r, c)
//              at k·784 + r·28 + c; 0 = background, 1 = stroke. Values outside [0, 1] are
//              clipped, NaN is paper.
//   count      how many images to draw (the first `count` of `pixels`)
//   columns    images per row; rows = ceil(count / columns), filled left to right, top to bottom
//   scale      canvas pixels per image pixel (the canvas's own resolution; CSS may stretch it,
//              and `image-rendering: pixelated` keeps it sharp)
//   gap        canvas pixels between images
//   ink        [r, g, b] of a pixel of value 1 (default a near-black blue: dark digits on light paper)
//   paper      [r, g, b] of a pixel of value 0 (default white)
//   gapColour  [r, g, b] of the gaps (default the paper a shade darker, so cells read as cells
//              even when the paper is white)
//
// The canvas is resized to fit the grid exactly: width = columns·28·scale + (columns − 1)·gap.

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

/** Dark digits on white paper: the training page's reconstructions. */
export const INK_ON_PAPER = Object.freeze({ ink: Object.freeze([22, 27, 45]), paper: Object.freeze([255, 255, 255]) });
/** White digits on black, as in the paper's figures: the explorer. */
export const WHITE_ON_BLACK = Object.freeze({ ink: Object.freeze([255, 255, 255]), paper: Object.freeze([0, 0, 0]) });

/**
 * The grid's RGBA pixels, without a canvas (what drawDigits puts on one).
 * @returns {{width: number, height: number, data: Uint8ClampedArray}}
 */
export function renderDigits(pixels, count, columns, { scale = 2, gap = 1, ink = INK_ON_PAPER.ink, paper = INK_ON_PAPER.paper, gapColour = null } = {}) {
  columns = Math.max(1, Math.min(columns, count || 1));
  const rows = Math.max(1, Math.ceil(count / columns));
  const cell = SIDE * scale;
  const width = columns * cell + (columns - 1) * gap;
  const height = rows * cell + (rows - 1) * gap;

  const out = new Uint8ClampedArray(width * height * 4);
  const line = gapColour ?? paper.map((v) => Math.round(v * 0.88));
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
        const red = Math.round(paper[0] + (ink[0] - paper[0]) * v);
        const green = Math.round(paper[1] + (ink[1] - paper[1]) * v);
        const blue = Math.round(paper[2] + (ink[2] - paper[2]) * v);
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
  return { width, height, data: out };
}

/** Draws the grid (one putImageData, no smoothing); returns the canvas. */
export function drawDigits(canvas, pixels, count, columns, options = {}) {
  const { width, height, data } = renderDigits(pixels, count, columns, options);
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  image.data.set(data);
  context.putImageData(image, 0, 0);
  return canvas;
}

/**
 * Draws image `index` of `images` (k×784) alone, at `scale` (default 1: the canvas becomes 28×28
 * and CSS scales it up), white on black unless the options say otherwise.
 */
export function drawDigit(canvas, images, index = 0, options = {}) {
  const one = images.subarray ? images.subarray(index * PIXELS, (index + 1) * PIXELS) : images.slice(index * PIXELS, (index + 1) * PIXELS);
  return drawDigits(canvas, one, 1, 1, { ...WHITE_ON_BLACK, scale: 1, gap: 0, ...options });
}

/** Fills a digit canvas with its paper (default black), keeping its size. */
export function clearDigit(canvas, { paper = WHITE_ON_BLACK.paper } = {}) {
  const context = canvas.getContext('2d');
  context.fillStyle = `rgb(${paper[0]}, ${paper[1]}, ${paper[2]})`;
  context.fillRect(0, 0, canvas.width, canvas.height);
}

/**
 * Draws an image (a canvas or an <img>) into `canvas`, scaled to fit and centred, on white; the
 * canvas keeps its size. The explorer's upload original: a photo, not a 28×28 digit.
 */
export function drawFitted(canvas, source, sourceWidth, sourceHeight) {
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  const s = Math.min(canvas.width / sourceWidth, canvas.height / sourceHeight);
  const w = sourceWidth * s, h = sourceHeight * s;
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = 'high';
  context.drawImage(source, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}

/** A white canvas with a grey line of text in its middle ("no image yet"). */
export function drawPlaceholder(canvas, text) {
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#5b6474'; // the page's muted ink: 6.0:1 on white, AA for 13-px text
  context.font = '13px system-ui, sans-serif';
  context.textAlign = 'center';
  context.fillText(text, canvas.width / 2, canvas.height / 2 + 4);
}
