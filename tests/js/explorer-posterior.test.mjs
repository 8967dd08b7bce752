// The true posterior's and the prior holes' pure parts (www/explorer/posterior-grid.js,
// aggregate.js, field.js), slerp and the interpolation's path (geometry.js), on cases whose
// answers are known: a Gaussian's contours are its ellipses, a mixture of Gaussians integrates to
// one, slerp keeps equal norms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SIGMA_MASSES,
  focusOn,
  followDigit,
  isolines,
  logIntegral,
  peakAndEdge,
  linesOnPlane,
  massLevels,
  normaliseLog,
  posteriorDigit,
  topmost,
  viewWindow,
  windowGrid,
} from '../../www/explorer/posterior-grid.js';
import { SMOOTHING_CELLS, holeShare, mixtureOnGrid, priorDensity, priorOnGrid } from '../../www/explorer/aggregate.js';
import { densityImage, ratioImage } from '../../www/explorer/field.js';
import { interpolationPath, pathOnPlane, slerp } from '../../www/explorer/geometry.js';
import { standardNormal } from '../../www/explorer/gaussian.js';
import { Slice } from '../../www/explorer/slice.js';
import { initialState, withLayer } from '../../www/explorer/store.js';

const close = (a, b, tol, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const sum = (xs) => xs.reduce((s, v) => s + v, 0);
const norm = (v) => Math.hypot(...v);

/** A seeded uniform generator (mulberry32), so the random cases are the same on every run. */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** log N((a, b); 0, diag(va, vb)) on a side×side grid over `window`, up to a constant. */
function gaussianLogGrid(window, side, va, vb) {
  const ab = windowGrid(window, side);
  return Float64Array.from({ length: side * side }, (_, k) => -(ab[2 * k] ** 2 / va + ab[2 * k + 1] ** 2 / vb) / 2);
}

test('the grid over a window: cell centres, row by row from the top', () => {
  const ab = windowGrid({ a0: 0, a1: 2, b0: -1, b1: 1 }, 2);
  assert.deepEqual(Array.from(ab), [0.5, 0.5, 1.5, 0.5, 0.5, -0.5, 1.5, -0.5]);
  assert.deepEqual(viewWindow({ cx: 1, cy: -2, half: 3 }), { a0: -2, a1: 4, b0: -5, b1: 1 });
});

test('plane grid → z: each point on the slice, with the base elsewhere', () => {
  const slice = new Slice(3);
  slice.setDims(2, 0);
  slice.setBase(Float32Array.of(7, 8, 9));
  const ab = windowGrid({ a0: -1, a1: 1, b0: -1, b1: 1 }, 4);
  const z = slice.toLatentMany(ab, 16);
  for (let k = 0; k < 16; k++) {
    close(z[3 * k + 2], ab[2 * k], 1e-6, 'z₃ = a');
    close(z[3 * k], ab[2 * k + 1], 1e-6, 'z₁ = b');
    close(z[3 * k + 1], 8, 1e-6, 'z₂ from the base');
  }
  // A tilted plane: the points' own coordinates along u and v are the grid's.
  const tilted = new Slice(3);
  tilted.setAxes([Math.SQRT1_2, Math.SQRT1_2, 0], [0, 0, 1]);
  tilted.setBase(Float32Array.of(1, -1, 5));
  const zt = tilted.toLatentMany(ab, 16);
  for (let k = 0; k < 16; k++) {
    const [a, b] = tilted.coords(zt, 3 * k);
    close(a, ab[2 * k], 1e-6, 'a');
    close(b, ab[2 * k + 1], 1e-6, 'b');
    close(zt[3 * k] - zt[3 * k + 1], 2, 1e-6, 'the direction off the plane keeps the base’s value');
  }
});

test('normalising log values: sums to 1, stable for any shift, −∞ is 0', () => {
  const p = normaliseLog([0, Math.log(3)]);
  close(p[0], 0.25, 1e-12);
  close(p[1], 0.75, 1e-12);
  const far = normaliseLog([-20000, -20000 + Math.log(3), -Infinity]);
  close(far[1], 0.75, 1e-12);
  assert.equal(far[2], 0);
  assert.deepEqual(Array.from(normaliseLog([-Infinity, -Infinity])), [0, 0]);
});

test('marching squares on small grids worked out by hand', () => {
  // A peak in the middle of 3×3: a closed diamond through the edge midpoints.
  const [diamond, ...rest] = isolines([0, 0, 0, 0, 1, 0, 0, 0, 0], 3, 3, 0.5);
  assert.equal(rest.length, 0);
  assert.equal(diamond.length, 10, 'four points and the first again');
  assert.deepEqual(Array.from(diamond.subarray(8)), Array.from(diamond.subarray(0, 2)), 'closed');
  const points = new Set();
  for (let k = 0; k < 8; k += 2) points.add(`${diamond[k]},${diamond[k + 1]}`);
  assert.deepEqual([...points].sort(), ['0.5,1', '1,0.5', '1,1.5', '1.5,1']);

  // A ramp along x: one open, straight line at x = 1.25, top to bottom.
  const ramp = Array.from({ length: 12 }, (_, k) => k % 4);
  const [line, ...none] = isolines(ramp, 4, 3, 1.25);
  assert.equal(none.length, 0);
  assert.equal(line.length, 6);
  for (let k = 0; k < 6; k += 2) close(line[k], 1.25, 1e-12);
  assert.deepEqual(Array.from(line.filter((_, k) => k % 2)).sort(), [0, 1, 2]);

  // A saddle: corners high on one diagonal. Mean ≥ level joins the high corners (lines cut off
  // the low ones); below, the high corners are cut off.
  const cut = (level) => isolines([1, 0, 0, 1], 2, 2, level).map((l) => Array.from(l).join());
  assert.deepEqual(cut(0.5).sort(), ['0,0.5,0.5,1', '0.5,0,1,0.5'].sort());
  assert.deepEqual(cut(0.6).sort(), ['0,0.4,0.4,0', '0.6,1,1,0.6']);
  assert.deepEqual(isolines([1, 1, 1, 1], 2, 2, 0.5), []);
});

test('contours of a Gaussian grid hold 39 % and 86 % of its mass and lie on its 1σ and 2σ ellipses', () => {
  const side = 96, window = { a0: -4, a1: 4, b0: -4, b1: 4 };
  const [va, vb] = [0.6, 1.2];
  const mass = normaliseLog(gaussianLogGrid(window, side, va, vb));
  close(sum(mass), 1, 1e-12);
  const levels = massLevels(mass, SIGMA_MASSES);
  assert.ok(levels[0] > levels[1]);
  const cell = 8 / side;
  SIGMA_MASSES.forEach((share, r) => {
    const inside = sum(Array.from(mass).filter((m) => m >= levels[r]));
    close(inside, share, 0.01, `share inside level ${r}`);
    const lines = linesOnPlane(isolines(mass, side, side, levels[r]), window, side);
    assert.equal(lines.length, 1, 'one closed line');
    const xy = lines[0];
    assert.deepEqual(Array.from(xy.subarray(-2)), Array.from(xy.subarray(0, 2)), 'closed');
    for (let k = 0; k < xy.length; k += 2) {
      // On the ellipse a²/va + b²/vb = (r + 1)²: the distance along the normal is within a cell.
      const radius = Math.sqrt(xy[k] ** 2 / va + xy[k + 1] ** 2 / vb);
      close(radius, r + 1, (1.5 * cell) / Math.sqrt(va), `radius at (${xy[k]}, ${xy[k + 1]})`);
    }
  });
});

test('two separate modes give two contours', () => {
  const side = 64, window = { a0: -4, a1: 4, b0: -4, b1: 4 };
  const ab = windowGrid(window, side);
  const p = Float64Array.from({ length: side * side }, (_, k) => {
    const [a, b] = [ab[2 * k], ab[2 * k + 1]];
    return Math.exp(-((a - 2) ** 2 + b * b) / 0.5) + Math.exp(-((a + 2) ** 2 + b * b) / 0.5);
  });
  const mass = normaliseLog(Array.from(p, Math.log));
  const [level] = massLevels(mass, [0.5]);
  assert.equal(isolines(mass, side, side, level).length, 2);
});

test('the digit whose posterior is shown', () => {
  const test = { mu: Float32Array.of(1, 2, 3, 4), logVar: Float32Array.of(0, 0, -1, -2), labels: Uint8Array.of(5, 7), n: 2 };
  const images = Float32Array.from({ length: 2 * 784 }, (_, k) => (k < 784 ? 0 : 1));
  const state = { ...initialState(), dim: 2, test, images, selected: 1 };
  const digit = posteriorDigit(state, 'test');
  assert.equal(digit.id, 1);
  assert.deepEqual(Array.from(digit.mu), [3, 4]);
  assert.deepEqual(Array.from(digit.logVar), [-1, -2]);
  assert.equal(digit.image.length, 784);
  assert.equal(digit.image[0], 1);
  assert.equal(digit.text, 'test digit #1 (a 7)');
  assert.equal(posteriorDigit({ ...state, selected: null }, 'test'), null);
  assert.equal(posteriorDigit({ ...state, images: null }, 'test'), null, 'no pixels, no posterior');

  const pixels = new Float32Array(784);
  const upload = { pixels, name: 'seven.png', mu: Float32Array.of(0.5, 0.5, 0.5), logVar: new Float32Array(3) };
  const mine = posteriorDigit({ ...state, yours: { upload, drawing: null } }, 'upload');
  assert.equal(mine.id, pixels);
  assert.equal(mine.mu, null, 'μ of another latent space is not this one');
  assert.equal(mine.text, 'your upload seven.png');
  assert.equal(posteriorDigit(state, 'drawing'), null);
});

test('the zoom onto a digit: centred on μ, 6σ of q, within bounds', () => {
  assert.deepEqual(focusOn(1, -2, [0.01, 0, 0.04]), { cx: 1, cy: -2, half: 6 * 0.2 });
  assert.equal(focusOn(0, 0, [1e-6, 0, 1e-6]).half, 0.3);
  assert.equal(focusOn(0, 0, [4, 0, 4]).half, 5);
});

test('the aggregate posterior integrates to 1 on a wide grid, narrow and correlated components included', () => {
  const xy = Float32Array.of(0, 0, 1.3, -0.7, -2, 1.1, 0.31, 0.29);
  const cov = Float32Array.of(1, 0, 1, 0.04, 0.03, 0.09, 1e-4, 0, 4e-4, 0.5, -0.2, 0.3);
  for (const side of [64, 96]) {
    const window = { a0: -7, a1: 7, b0: -7, b1: 7 };
    const area = (14 / side) ** 2;
    const q = mixtureOnGrid(xy, cov, 4, window, side, { smoothing: (SMOOTHING_CELLS * 14) / side });
    close(sum(Array.from(q)) * area, 1, 2e-3, `∫ q on ${side}²`);
  }
  // Unsmoothed, far from the cutoff, it is the mixture's density itself.
  const window = { a0: -1, a1: 1, b0: -1, b1: 1 };
  const q = mixtureOnGrid(Float32Array.of(0.1, 0.2), Float32Array.of(0.5, 0.1, 0.3), 1, window, 2, { cutoff: 100 });
  const [a, b] = [0.5 - 0.1, 0.5 - 0.2]; // cell (0, 1): centre (0.5, 0.5)
  const det = 0.5 * 0.3 - 0.01;
  const expected = Math.exp(-(0.3 * a * a - 2 * 0.1 * a * b + 0.5 * b * b) / (2 * det)) / (2 * Math.PI * Math.sqrt(det));
  close(q[1], expected, 1e-7 * expected, "the density at a cell centre");
  // The prior's density on the plane.
  close(priorDensity(0, 0), 1 / (2 * Math.PI), 1e-15);
  close(sum(Array.from(priorOnGrid({ a0: -6, a1: 6, b0: -6, b1: 6 }, 80))) * (12 / 80) ** 2, 1, 1e-6);
});

test('the prior holes: share of the prior where the aggregate is 10× rarer', () => {
  const window = { a0: -4, a1: 4, b0: -4, b1: 4 };
  const p = priorOnGrid(window, 40);
  assert.equal(holeShare(p, p), 0);
  assert.equal(holeShare(new Float64Array(p.length), p), 1);
  // Encodings only in the right half plane: half the prior's mass lies in holes.
  const right = p.map((v, k) => (k % 40 >= 20 ? 2 * v : 0));
  close(holeShare(right, p), 0.5, 1e-9);
});

test('field images: transparent where the density is zero, blue where q falls below p', () => {
  const rgba = densityImage([0, 0.25, 1]);
  assert.equal(rgba[3], 0);
  assert.ok(rgba[7] > 0 && rgba[7] < rgba[11]);
  assert.equal(densityImage([0, 0]).every((v) => v === 0), true);
  const { rgba: ratio, logRatio } = ratioImage([0.001, 0.1, 0.5], [0.1, 0.1, 0.1]);
  close(logRatio[0], Math.log(0.01), 1e-9);
  assert.ok(ratio[2] > ratio[0], 'below: blue');
  assert.equal(ratio[7], 0, 'equal: nothing to show');
  assert.ok(ratio[8] > ratio[10], 'above: red');
});

test('slerp: exact ends, equal norms kept, the shell followed where the straight line dips', () => {
  const a = [3, 0], b = [0, 3];
  assert.deepEqual(Array.from(slerp(a, b, 0)), a);
  assert.deepEqual(Array.from(slerp(a, b, 1)), b);
  for (let t = 0; t <= 1; t += 0.1) close(norm(slerp(a, b, t)), 3, 1e-12, `|slerp| at ${t}`);
  const mid = slerp(a, b, 0.5);
  close(mid[0], 3 * Math.SQRT1_2, 1e-12);
  close(mid[1], 3 * Math.SQRT1_2, 1e-12);
  // Equal norms in 20-D: the angle grows evenly with t.
  const random = seeded(7);
  const u = standardNormal(20, random), v = standardNormal(20, random);
  const scale = norm(u) / norm(v);
  const w = v.map((x) => x * scale);
  const angle = (p, q) => Math.acos(p.reduce((s, x, i) => s + x * q[i], 0) / (norm(p) * norm(q)));
  for (const t of [0.25, 0.5, 0.75]) {
    close(norm(slerp(u, w, t)), norm(u), 1e-4, 'norm kept');
    close(angle(u, slerp(u, w, t)), t * angle(u, w), 1e-5, 'constant angular speed');
  }
  // Parallel ends: the straight line.
  assert.deepEqual(Array.from(slerp([1, 2], [2, 4], 0.5)), [1.5, 3]);
  assert.deepEqual(Array.from(slerp([0, 0], [2, 4], 0.5)), [1, 2]);
});

test('between two draws from a 32-D prior, slerp stays near the shell |z| ≈ √D; the line dips to ≈ √(D/2)', () => {
  const random = seeded(11);
  const D = 32;
  let slerpMid = 0, lineMid = 0;
  const pairs = 50;
  for (let k = 0; k < pairs; k++) {
    const a = standardNormal(D, random), b = standardNormal(D, random);
    slerpMid += norm(slerp(a, b, 0.5)) / pairs;
    lineMid += norm(interpolationPath(a, b, 3).subarray(D, 2 * D)) / pairs;
  }
  close(slerpMid, Math.sqrt(D), 0.15 * Math.sqrt(D), 'slerp midpoint norm');
  close(lineMid, Math.sqrt(D / 2), 0.15 * Math.sqrt(D), 'straight-line midpoint norm');
});

test('the interpolation path, straight or spherical, and on the plane', () => {
  const muA = Float32Array.of(2, 0), muB = Float32Array.of(0, 2);
  const path = interpolationPath(muA, muB, 5, 'slerp');
  assert.deepEqual(Array.from(path.subarray(0, 2)), [2, 0]);
  assert.deepEqual(Array.from(path.subarray(8)), [0, 2]);
  for (let k = 0; k < 5; k++) close(Math.hypot(path[2 * k], path[2 * k + 1]), 2, 1e-6);
  assert.deepEqual(Array.from(interpolationPath(muA, muB, 3)), [2, 0, 1, 1, 0, 2]);

  const slice = new Slice(3);
  slice.setDims(2, 0);
  const a = Float32Array.of(1, 2, 3), b = Float32Array.of(0, 0, -1);
  const straight = pathOnPlane({ a, b }, slice);
  assert.deepEqual(Array.from(straight.points), [3, 1, -1, 0]);
  assert.equal(straight.marks.length, 0);
  const line = interpolationPath(a, b, 7, 'slerp'), steps = interpolationPath(a, b, 4, 'slerp');
  const curved = pathOnPlane({ a, b, line, steps }, slice);
  assert.equal(curved.points.length, 14);
  assert.equal(curved.marks.length, 8);
  close(curved.points[6], line[3 * 3 + 2], 1e-6, 'a of the middle point is its z₃');
  assert.equal(pathOnPlane(null, slice), null);
  assert.equal(pathOnPlane({ a: Float32Array.of(1), b: Float32Array.of(2) }, slice), null);
});

test('the store holds the plane’s layers by name', () => {
  const state = initialState();
  const layer = { name: 'posterior', z: 1 };
  const patch = withLayer(state, 'posterior', layer);
  assert.deepEqual(patch, { layers: { posterior: layer } });
  assert.deepEqual(withLayer({ ...state, ...patch }, 'posterior', layer), {}, 'the same layer changes nothing');
  assert.deepEqual(withLayer({ ...state, ...patch }, 'posterior', null), { layers: { posterior: null } });
});

test('the grid’s peak, its mass on the edge, and its integral', () => {
  assert.deepEqual(peakAndEdge([0, 0, 0, 0, 0.8, 0, 0, 0, 0.2], 3), { peak: 4, edge: 0.2 });
  // ∫ N(0, 1)² over ±6 on a 120² grid: log 1 = 0, whatever the constant added to the log values.
  const side = 120, window = { a0: -6, a1: 6, b0: -6, b1: 6 };
  const logs = gaussianLogGrid(window, side, 1, 1).map((v) => v - Math.log(2 * Math.PI) - 700);
  close(logIntegral(logs, (12 / side) ** 2), -700, 1e-9);
  assert.equal(logIntegral([-Infinity], 1), -Infinity);
});

test('the highest point of a contour, where its label goes', () => {
  assert.deepEqual(topmost([Float32Array.of(0, 1, 2, 3, 4, 2), Float32Array.of(-1, 2.5)]), [2, 3]);
  assert.equal(topmost([]), null);
});

test('the posterior follows the digit the user picked last', () => {
  const pixels = new Float32Array(784);
  const none = { upload: null, drawing: null };
  const state = { ...initialState(), selected: 4 };
  assert.deepEqual(followDigit('upload', none, state, new Set(['selected'])), { source: 'test', seen: none });
  const drawn = { ...state, yours: { upload: null, drawing: { pixels, mu: null, logVar: null } } };
  const { source, seen } = followDigit('test', none, drawn, new Set(['yours']));
  assert.equal(source, 'drawing');
  assert.equal(seen.drawing, pixels);
  // The same pixels again (their μ arrived, or a new model encoded them): no switch.
  assert.equal(followDigit('test', seen, drawn, new Set(['yours'])).source, 'test');
  assert.equal(followDigit('upload', none, { ...state, selected: null }, new Set(['selected'])).source, 'upload');
});
