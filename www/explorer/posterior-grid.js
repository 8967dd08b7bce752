// The true posterior on the plane, its pure parts: which digit it is of, the grid of plane points
// it is evaluated at, its normalisation, the levels that enclose given shares of its mass, and
// their contour lines (marching squares). Typed arrays in and out; no DOM, no client.
//
// The grid covers a window of the plane, {a0, a1, b0, b1}, with side×side cells; cell (i, j) —
// row i from the top, column j from the left, the order of an image's pixels — is evaluated at
// its centre, so the grid draws as an image stretched over the window.

import { covarianceEllipse } from './slice.js';
import { testMu } from './store.js';
import { PIXELS } from '../views/digits.js';
import { MNIST_WORDS, labelPhrase } from '../words.js';

/** Points per side of the grid over the visible plane. */
export const POSTERIOR_SIDE = 96;

/**
 * The mass a 2-D Gaussian holds within 1σ and 2σ of its mean (1 − e^(−r²/2) at r = 1, 2): the
 * contours are drawn at these shares, so that where the encoder's q(z|x) is the true posterior
 * the contours lie on q's 1σ and 2σ ellipses.
 */
export const SIGMA_MASSES = Object.freeze([1 - Math.exp(-1 / 2), 1 - Math.exp(-2)]);

/**
 * The digit whose posterior is shown: the selected test digit (`source` 'test'), or the user's
 * upload or drawing. Null when that source has nothing (no digit selected, no test images).
 * @returns {{source: string, id: unknown, image: Float32Array, mu: Float32Array|null,
 *            logVar: Float32Array|null, text: string}|null} `id` is the same value for the same
 *   digit (the test index, or the user's pixels), so a change of digit is `id !==` the last one.
 */
export function posteriorDigit(state, source) {
  if (source === 'test') {
    const { selected: i, test, images, dim, words = MNIST_WORDS } = state;
    if (i === null || !test || !images || i >= test.n) return null;
    const phrase = labelPhrase(words, test.labels[i]);
    return {
      source,
      id: i,
      image: images.subarray(i * PIXELS, (i + 1) * PIXELS),
      mu: testMu(test, dim, i),
      logVar: test.logVar.subarray(i * dim, (i + 1) * dim),
      text: `test ${words.digit} #${i}${phrase ? ` (${phrase})` : ''}`,
    };
  }
  const item = state.yours?.[source];
  if (!item?.pixels) return null;
  const fresh = item.mu?.length === state.dim; // μ under the current model, not the last one
  return {
    source,
    id: item.pixels,
    image: item.pixels,
    mu: fresh ? item.mu : null,
    logVar: fresh ? item.logVar : null,
    text: source === 'upload' ? `your upload${item.name ? ` ${item.name}` : ''}` : 'your drawing',
  };
}

/**
 * Whose posterior to show after a change of the store: the digit the user picked last (a test
 * digit selected, a new upload or drawing), else `source` as it was.
 * @param {{upload: Float32Array|null, drawing: Float32Array|null}} seen the user's pixels last seen
 * @param {Set<string>} changed the store's changed keys
 * @returns {{source: 'test'|'upload'|'drawing', seen: {upload: Float32Array|null, drawing: Float32Array|null}}}
 */
export function followDigit(source, seen, state, changed) {
  if (changed.has('selected') && state.selected !== null) source = 'test';
  const now = { upload: state.yours.upload?.pixels ?? null, drawing: state.yours.drawing?.pixels ?? null };
  for (const kind of ['upload', 'drawing']) if (now[kind] && now[kind] !== seen[kind]) source = kind;
  return { source, seen: now };
}

/** The plane's visible square, {cx, cy, half}, as a window. */
export function viewWindow({ cx, cy, half }) {
  return { a0: cx - half, a1: cx + half, b0: cy - half, b1: cy + half };
}

/**
 * A view centred on the posterior N(μ, Σ) of a digit projected on the plane ((a, b), Σ = [cuu,
 * cuv, cvv]), wide enough for a true posterior a few times wider than q: 6 σ along q's longer
 * axis, between 0.3 and 5.
 */
export function focusOn(a, b, cov) {
  const { rx } = covarianceEllipse(cov[0], cov[1], cov[2]);
  return { cx: a, cy: b, half: Math.min(5, Math.max(0.3, 6 * rx)) };
}

/**
 * The cell centres of a side×side grid over `window`, row by row from the top.
 * @returns {Float32Array} side²×2, (a, b) per cell
 */
export function windowGrid({ a0, a1, b0, b1 }, side) {
  const ab = new Float32Array(2 * side * side);
  const ha = (a1 - a0) / side, hb = (b1 - b0) / side;
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      ab[2 * (i * side + j)] = a0 + (j + 0.5) * ha;
      ab[2 * (i * side + j) + 1] = b1 - (i + 0.5) * hb;
    }
  }
  return ab;
}

/**
 * exp(v) normalised to sum to 1 (log-sum-exp, stable for any shift of v); −∞ and NaN are 0.
 * @param {ArrayLike<number> & Iterable<number>} logValues
 * @returns {Float64Array}
 */
export function normaliseLog(logValues) {
  let max = -Infinity;
  for (const v of logValues) if (v > max) max = v;
  const out = new Float64Array(logValues.length);
  if (!Number.isFinite(max)) return out;
  let total = 0;
  for (let k = 0; k < out.length; k++) {
    const v = logValues[k];
    out[k] = v > -Infinity ? Math.exp(v - max) : 0;
    total += out[k];
  }
  for (let k = 0; k < out.length; k++) out[k] /= total;
  return out;
}

/**
 * log Σ exp(v) + log(cellArea): with v = log p(x, z) on a grid of cells of that area, the grid's
 * estimate of log p(x) = log ∫ p(x, z) dz (of the part of the plane the grid covers).
 */
export function logIntegral(logValues, cellArea) {
  let max = -Infinity;
  for (const v of logValues) if (v > max) max = v;
  if (!Number.isFinite(max)) return max;
  let total = 0;
  for (const v of logValues) total += Math.exp(v - max);
  return max + Math.log(total) + Math.log(cellArea);
}

/**
 * The highest-density levels: for each share f, the value t such that the cells with mass ≥ t
 * hold (just) at least f of the total. Contours at t enclose the smallest regions with that mass.
 * @param {ArrayLike<number>} mass non-negative, summing to 1
 * @param {readonly number[]} shares in (0, 1)
 * @returns {number[]}
 */
export function massLevels(mass, shares) {
  const sorted = Float64Array.from(mass).sort().reverse();
  const levels = [];
  for (const share of shares) {
    let total = 0, k = 0;
    while (k < sorted.length - 1 && total + sorted[k] < share) total += sorted[k++];
    levels.push(sorted[k]);
  }
  return levels;
}

/**
 * Where a side×side grid of mass peaks (the cell's index) and how much of it lies on the grid's
 * outermost ring of cells (near 0 when the grid holds the distribution).
 */
export function peakAndEdge(mass, side) {
  let peak = 0, edge = 0;
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      const k = i * side + j;
      if (mass[k] > mass[peak]) peak = k;
      if (i === 0 || j === 0 || i === side - 1 || j === side - 1) edge += mass[k];
    }
  }
  return { peak, edge };
}

// Marching squares: per cell, its corners above the level (top left 8, top right 4, bottom right
// 2, bottom left 1) and the cell edges the line crosses, as pairs (0 top, 1 right, 2 bottom,
// 3 left). The two saddles (5, 10) are resolved by the cell's mean; the table lists "mean below".
const CASES = [[], [[3, 2]], [[2, 1]], [[3, 1]], [[0, 1]], [[0, 1], [3, 2]], [[0, 2]], [[3, 0]],
  [[3, 0]], [[0, 2]], [[3, 0], [2, 1]], [[0, 1]], [[3, 1]], [[2, 1]], [[3, 2]], []];
const SADDLES_HIGH = { 5: [[3, 0], [2, 1]], 10: [[0, 1], [3, 2]] };

/**
 * The iso-lines of a grid of values at `level`, joined end to end into polylines.
 * @param {ArrayLike<number>} values width×height, row-major; grid point (i, j) at x = j, y = i
 * @returns {Float64Array[]} each line as x, y pairs in grid coordinates; a closed loop ends on
 *   its first point
 */
export function isolines(values, width, height, level) {
  const w = width;
  // An edge crossing's id: horizontal edge from point (i, j) to (i, j + 1) is 2(i·w + j), the
  // vertical one from (i, j) to (i + 1, j) is 2(i·w + j) + 1. Neighbouring cells share ids.
  const edgeOf = (i, j, side) => [2 * (i * w + j), 2 * (i * w + j + 1) + 1, 2 * ((i + 1) * w + j), 2 * (i * w + j) + 1][side];
  const segments = [];
  for (let i = 0; i < height - 1; i++) {
    for (let j = 0; j < w - 1; j++) {
      const tl = values[i * w + j], tr = values[i * w + j + 1], br = values[(i + 1) * w + j + 1], bl = values[(i + 1) * w + j];
      const code = (tl >= level ? 8 : 0) + (tr >= level ? 4 : 0) + (br >= level ? 2 : 0) + (bl >= level ? 1 : 0);
      const pairs = code in SADDLES_HIGH && (tl + tr + br + bl) / 4 >= level ? SADDLES_HIGH[code] : CASES[code];
      for (const [p, q] of pairs) segments.push(edgeOf(i, j, p), edgeOf(i, j, q));
    }
  }
  const at = new Map(); // edge id -> indices of the segments ending there (at most two)
  for (let s = 0; s < segments.length; s++) {
    const list = at.get(segments[s]);
    if (list) list.push(s >> 1);
    else at.set(segments[s], [s >> 1]);
  }
  const point = (edge) => {
    const k = edge >> 1, i = Math.floor(k / w), j = k % w;
    const [i2, j2] = edge & 1 ? [i + 1, j] : [i, j + 1];
    const v0 = values[i * w + j], v1 = values[i2 * w + j2];
    const t = (level - v0) / (v1 - v0);
    return [j + t * (j2 - j), i + t * (i2 - i)];
  };
  const used = new Uint8Array(segments.length / 2);
  const trace = (first, fromEdge) => {
    const xy = [...point(fromEdge)];
    let s = first, edge = fromEdge;
    while (s !== undefined && !used[s]) {
      used[s] = 1;
      edge = segments[2 * s] === edge ? segments[2 * s + 1] : segments[2 * s];
      xy.push(...point(edge));
      s = at.get(edge).find((other) => !used[other]);
    }
    return Float64Array.from(xy);
  };
  const lines = [];
  // Open lines (ending at the grid's border) from their ends first, then the closed loops.
  for (const [edge, list] of at) if (list.length === 1 && !used[list[0]]) lines.push(trace(list[0], edge));
  for (let s = 0; s < used.length; s++) if (!used[s]) lines.push(trace(s, segments[2 * s]));
  return lines;
}

/** The highest point (largest b) of polylines in plane coordinates, [a, b], or null if there are none. */
export function topmost(lines) {
  let best = null;
  for (const xy of lines) for (let k = 0; k < xy.length; k += 2) if (!best || xy[k + 1] > best[1]) best = [xy[k], xy[k + 1]];
  return best;
}

/**
 * Lines in grid coordinates (isolines of a side×side grid over `window`, grid point (i, j) at the
 * centre of cell (i, j)) in plane coordinates.
 * @returns {Float32Array[]} a, b pairs
 */
export function linesOnPlane(lines, { a0, a1, b0, b1 }, side) {
  const ha = (a1 - a0) / side, hb = (b1 - b0) / side;
  return lines.map((xy) => {
    const out = new Float32Array(xy.length);
    for (let k = 0; k < xy.length; k += 2) {
      out[k] = a0 + (xy[k] + 0.5) * ha;
      out[k + 1] = b1 - (xy[k + 1] + 0.5) * hb;
    }
    return out;
  });
}
