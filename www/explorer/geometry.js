// The explorer's latent-space arithmetic that is not the slice's own: what the plane shows of the
// store's state, the interpolation's path, the manifold's grid, the choice of axes, the points
// nearest to the handle. Pure functions of typed arrays.

/** How the user's digits look on the plane. */
export const MARKER_STYLES = Object.freeze({
  upload: Object.freeze({ label: 'upload', colour: '#111111', shape: 'diamond' }),
  drawing: Object.freeze({ label: 'drawing', colour: '#111111', shape: 'square', labelSide: 'left' }),
});

/**
 * The plane marker of one of the user's digits (LatentPlane.setMarker's shape), or null when it
 * has no μ under the current latent space yet.
 * @param {'upload'|'drawing'} kind
 * @param {{mu: Float32Array|null, logVar: Float32Array|null}|null} item
 * @param {import('./slice.js').Slice|null} slice
 */
export function markerFor(kind, item, slice) {
  if (!slice || !item?.mu || item.mu.length !== slice.dim) return null;
  const [a, b] = slice.coords(item.mu);
  const cov = slice.projectCovariance(item.logVar, 1);
  return { a, b, cov, ...MARKER_STYLES[kind] };
}

/**
 * The interpolation's path on the plane: `points` (m×2, the fine polyline the plane draws) and
 * `marks` (k×2, the digits decoded along it), or null.
 * @param {{a: Float32Array, b: Float32Array, line?: Float32Array, steps?: Float32Array}|null} segment
 *   the ends' μ, and (when the interpolation has computed them) the path's fine polyline and its
 *   decoded steps in latent space, m×D and k×D; without them the path is the straight segment
 */
export function pathOnPlane(segment, slice) {
  if (!slice || !segment || segment.a.length !== slice.dim || segment.b.length !== slice.dim) return null;
  const line = segment.line ?? Float32Array.from([...segment.a, ...segment.b]);
  const steps = segment.steps ?? new Float32Array(0);
  return { points: slice.project(line, line.length / slice.dim), marks: slice.project(steps, steps.length / slice.dim) };
}

/**
 * `steps` latent vectors evenly spaced in t from muA to muB, ends included: on the straight line
 * (`'linear'`), or on the great circle through them (`'slerp'`, see slerp).
 * @param {'linear'|'slerp'} [kind]
 * @returns {Float32Array} steps×D
 */
export function interpolationPath(muA, muB, steps, kind = 'linear') {
  const D = muA.length;
  if (muB.length !== D) throw new RangeError(`the ends have ${D} and ${muB.length} values`);
  const z = new Float32Array(steps * D);
  for (let k = 0; k < steps; k++) {
    const t = steps > 1 ? k / (steps - 1) : 0;
    if (kind === 'slerp') {
      z.set(slerp(muA, muB, t), k * D);
    } else {
      for (let d = 0; d < D; d++) z[k * D + d] = (1 - t) * muA[d] + t * muB[d];
    }
  }
  return z;
}

/**
 * Spherical interpolation (White 2016, "Sampling Generative Networks", §2.1): with ω the angle
 * between a and b,
 *
 *     slerp(a, b; t) = sin((1 − t) ω) / sin ω · a + sin(t ω) / sin ω · b.
 *
 * Under a Gaussian prior in many dimensions almost all mass lies near the sphere |z| ≈ √D, and the
 * straight line between two such points cuts through the middle, where the prior has next to no
 * mass (its midpoint has norm |a| cos(ω/2) when |a| = |b|); slerp keeps the norm (exactly, when
 * |a| = |b|) and follows the shell. Parallel or opposite ends, where ω or π − ω is too small for
 * sin ω to divide by, fall back to the straight line, as White's code does.
 * @returns {Float64Array} D
 */
export function slerp(a, b, t) {
  const D = a.length;
  let ab = 0, aa = 0, bb = 0;
  for (let d = 0; d < D; d++) {
    ab += a[d] * b[d];
    aa += a[d] * a[d];
    bb += b[d] * b[d];
  }
  const cos = aa > 0 && bb > 0 ? Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb))) : 1;
  const omega = Math.acos(cos);
  const so = Math.sin(omega);
  const [p, q] = so < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / so, Math.sin(t * omega) / so];
  const z = new Float64Array(D);
  for (let d = 0; d < D; d++) z[d] = p * a[d] + q * b[d];
  return z;
}

/**
 * The latent vectors of the n×n manifold grid on the plane of `slice` (the paper's figure 4):
 * column j (from the left) at a = q[j], row i (from the top) at b = q[n − 1 − i], so b grows
 * upwards; every other coordinate is the slice's base.
 * @param {import('./slice.js').Slice} slice
 * @param {ArrayLike<number>} quantiles n increasing values, Φ⁻¹((k + ½)/n) (client.quantiles)
 * @returns {Float32Array} (n·n)×D, row by row
 */
export function planeGrid(slice, quantiles) {
  const n = quantiles.length;
  const ab = new Float32Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      ab[2 * (i * n + j)] = quantiles[j];
      ab[2 * (i * n + j) + 1] = quantiles[n - 1 - i];
    }
  }
  return slice.toLatentMany(ab, n * n);
}

/**
 * The two dimensions the plane should span after the user picked x and y in the two selects:
 * picking the other select's dimension swaps the two.
 * @param {[number, number]} previous the dimensions spanned so far
 * @param {'x'|'y'} changed which select the user changed
 */
export function chooseDims(previous, x, y, changed) {
  if (x !== y) return [x, y];
  if (changed === 'x') y = previous[0] === x ? previous[1] : previous[0];
  else x = previous[1] === y ? previous[0] : previous[1];
  return x === y ? [0, 1] : [x, y];
}

/**
 * The `k` points of `xy` (count×2, a, b pairs) nearest to (a, b), nearest first, as indices; with
 * `b` null, by the first coordinate alone (a 1-D latent space). One pass that keeps the k best,
 * without sorting all the points: it runs while the user drags the handle over 10,000 of them.
 */
export function nearestPoints(xy, count, a, b, k) {
  const best = []; // [squared distance, index], nearest first
  for (let i = 0; i < count; i++) {
    const d = (xy[2 * i] - a) ** 2 + (b === null ? 0 : (xy[2 * i + 1] - b) ** 2);
    if (!Number.isFinite(d) || (best.length === k && d >= best[k - 1][0])) continue;
    let at = best.length;
    while (at > 0 && best[at - 1][0] > d) at--;
    best.splice(at, 0, [d, i]);
    if (best.length > k) best.pop();
  }
  return best.map(([, i]) => i);
}
