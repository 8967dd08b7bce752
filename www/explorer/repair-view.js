// Draws the repair panel's digits that the plain digit view cannot: the digit as seen, its hidden
// pixels in a colour of their own, and the per-pixel uncertainty as a heat map. A view: canvases
// and typed arrays in, pixels out; it never sees the model.

import { PIXELS, SIDE } from '../views/digits.js';

/** The colour of a hidden pixel: not black (a black pixel is seen, and is black). */
export const HIDDEN = [64, 96, 200];
const HOT = [255, 140, 40];

function put(canvas, rgb) {
  canvas.width = SIDE;
  canvas.height = SIDE;
  const image = new ImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    const [r, g, b] = rgb(i);
    image.data.set([r, g, b, 255], i * 4);
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
}

const grey = (v) => {
  const x = Math.round(255 * Math.min(1, Math.max(0, v || 0)));
  return [x, x, x];
};

/** `pixels` (784, [0, 1]) white on black, the pixels `hidden` flags (784 booleans) in HIDDEN. */
export function drawSeen(canvas, pixels, hidden) {
  put(canvas, (i) => (hidden?.[i] ? HIDDEN : grey(pixels[i])));
}

/** `std` (784, ≥ 0) as heat, black to orange, scaled so that `full` (a quarter of a grey scale) is the hottest. */
export function drawSpread(canvas, std, full = 0.25) {
  put(canvas, (i) => {
    const t = Math.min(1, (std[i] || 0) / full);
    return HOT.map((c) => Math.round(c * t));
  });
}
