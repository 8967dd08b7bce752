// Draws the repair panel's digits that the plain digit view cannot: the digit as seen, its hidden
// pixels in a colour of their own, the per-pixel uncertainty as a heat map, and where z is (the
// latent view). A view: canvases and typed arrays in, pixels out; it never sees the model.

import { PIXELS, SIDE } from '../views/digits.js';
import { densityImage } from './field.js';

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

/**
 * The window of the latent view: the square [−HALF, HALF]² of (z₁, z₂), the repair's grid's own
 * (src/session.rs), where nearly all of the prior's mass is.
 */
export const LATENT_HALF = 4;
const Q_COLOUR = '#1d4ed8';
const DRAW_COLOUR = '#0f766e';

/**
 * The square of (z₁, z₂) the latent view shows: around what it draws (the cells that hold p(z | y)'s
 * mass, the draws or the chain's states, q's 2σ ellipse), with a margin, at least half a unit
 * across; within the grid's window.
 * @param {{dim: number, posterior: {side: number, masses: Float32Array}|null, qMu: number[], qLogVar: number[], z: Float32Array}} latent
 * @returns {{cx: number, cy: number, half: number}}
 */
export function latentWindow({ dim, posterior, qMu, qLogVar, z }) {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  const add = (x, y) => {
    [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
  };
  const second = (values, k) => (dim > 1 ? values[k * dim + 1] : 0);
  const [sx, sy] = [Math.exp(qLogVar[0] / 2), dim > 1 ? Math.exp(qLogVar[1] / 2) : 0];
  add(qMu[0] - 2 * sx, (dim > 1 ? qMu[1] : 0) - 2 * sy);
  add(qMu[0] + 2 * sx, (dim > 1 ? qMu[1] : 0) + 2 * sy);
  for (let k = 0; k < Math.floor(z.length / dim); k++) add(z[k * dim], second(z, k));
  if (posterior) {
    const { side, masses } = posterior;
    let max = 0;
    for (const m of masses) max = Math.max(max, m);
    const h = (2 * LATENT_HALF) / side;
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        if (masses[i * side + j] >= 1e-3 * max) add(-LATENT_HALF + (j + 0.5) * h, -LATENT_HALF + (i + 0.5) * h);
      }
    }
  }
  const half = Math.min(LATENT_HALF, Math.max(0.5, 0.6 * Math.max(x1 - x0, y1 - y0)));
  const clampCentre = (c) => Math.max(-LATENT_HALF + half, Math.min(LATENT_HALF - half, c));
  return { cx: clampCentre((x0 + x1) / 2), cy: clampCentre((y0 + y1) / 2), half };
}

/**
 * Where z is, for a repair, on the plane of (z₁, z₂), in the square `latentWindow` chooses: p(z | y) on the grid as a heat map (the exact
 * method), the encoder's guess q(z | x̃) as its mean and 1σ and 2σ ellipses, and the draws behind
 * the imputations as dots, or a chain's states as its path, drawn up to `shown` of them (the
 * panel reveals a chain step by step). Higher dimensions are seen through (z₁, z₂).
 * @param {HTMLCanvasElement} canvas
 * @param {{dim: number, posterior: {side: number, masses: Float32Array}|null, qMu: number[], qLogVar: number[],
 *          z: Float32Array, chain: boolean, shown?: number}} latent
 */
export function drawLatent(canvas, { dim, posterior, qMu, qLogVar, z, chain, shown = Infinity }) {
  const size = canvas.width;
  const ctx = canvas.getContext('2d');
  const { cx, cy, half } = latentWindow({ dim, posterior, qMu, qLogVar, z });
  const scale = size / (2 * half);
  const px = (v) => (v - (cx - half)) * scale;
  const py = (v) => size - (v - (cy - half)) * scale;
  ctx.clearRect(0, 0, size, size);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size, size);
  if (posterior) {
    // The grid's rows run up the plane (row i at z₂ = −HALF + (i + ½) h); an image's run down.
    const { side, masses } = posterior;
    const rgba = densityImage(masses);
    const image = new ImageData(side, side);
    for (let i = 0; i < side; i++) image.data.set(rgba.subarray(4 * i * side, 4 * (i + 1) * side), 4 * (side - 1 - i) * side);
    const cells = document.createElement('canvas');
    cells.width = cells.height = side;
    cells.getContext('2d').putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    const extent = 2 * LATENT_HALF * scale;
    ctx.drawImage(cells, px(-LATENT_HALF), py(LATENT_HALF), extent, extent);
  }
  ctx.strokeStyle = '#d4d4d8';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(px(0), 0);
  ctx.lineTo(px(0), size);
  ctx.moveTo(0, py(0));
  ctx.lineTo(size, py(0));
  ctx.stroke();
  const rows = Math.floor(z.length / dim);
  /** @type {(k: number) => [number, number]} */
  const at = (k) => [px(z[k * dim]), py(dim > 1 ? z[k * dim + 1] : 0)];
  if (chain && rows > 0) {
    const last = Math.min(rows, shown);
    ctx.strokeStyle = DRAW_COLOUR;
    ctx.globalAlpha = 0.55;
    ctx.beginPath();
    for (let k = 0; k < last; k++) {
      const [x, y] = at(k);
      if (k) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = DRAW_COLOUR;
    if (last > 0) {
      const [x, y] = at(last - 1);
      ctx.beginPath();
      ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  } else {
    ctx.fillStyle = DRAW_COLOUR;
    for (let k = 0; k < rows; k++) {
      const [x, y] = at(k);
      ctx.beginPath();
      ctx.arc(x, y, 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  // q(z | x̃): its mean and its 1σ and 2σ ellipses (a diagonal Gaussian: axis-aligned).
  const [mx, my] = [qMu[0], dim > 1 ? qMu[1] : 0];
  const [sx, sy] = [Math.exp(qLogVar[0] / 2), dim > 1 ? Math.exp(qLogVar[1] / 2) : 0];
  ctx.strokeStyle = Q_COLOUR;
  for (const k of [1, 2]) {
    ctx.lineWidth = k === 1 ? 1.5 : 1;
    ctx.setLineDash(k === 1 ? [] : [3, 3]);
    ctx.beginPath();
    ctx.ellipse(px(mx), py(my), Math.max(1, k * sx * scale), Math.max(1, k * sy * scale), 0, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  // The window's extent, in the corner.
  ctx.fillStyle = '#5b6474';
  ctx.font = '11px system-ui, sans-serif';
  const range = (c) => `${(c - half).toFixed(1)} … ${(c + half).toFixed(1)}`;
  ctx.fillText(`z₁ ${range(cx)}`, 4, size - 18);
  ctx.fillText(`z₂ ${range(cy)}`, 4, size - 5);
  ctx.beginPath();
  ctx.moveTo(px(mx) - 4, py(my));
  ctx.lineTo(px(mx) + 4, py(my));
  ctx.moveTo(px(mx), py(my) - 4);
  ctx.lineTo(px(mx), py(my) + 4);
  ctx.stroke();
}

/**
 * What the latent view shows, in words (its text alternative).
 * @param {{dim: number, posterior: object|null, qMu: number[], z: Float32Array, chain: boolean}} latent
 */
export function describeLatent({ dim, posterior, qMu, z, chain }) {
  const plane = dim > 2 ? `the plane of z₁ and z₂ (of ${dim} dimensions)` : 'the latent plane';
  const q = `the encoder's guess q(z | x̃) centred at (${qMu.slice(0, 2).map((v) => v.toFixed(2)).join(', ')})`;
  const rows = Math.floor(z.length / dim);
  const what = posterior
    ? 'the exact posterior p(z | y) as a heat map, the eight draws behind the repairs as dots'
    : chain
      ? `the chain's path through its ${rows} kept states`
      : `the ${rows} draws behind the repairs as dots`;
  return `Where z is, on ${plane}, around what it draws: ${what}, and ${q} as a blue ring.`;
}
