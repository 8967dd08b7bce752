// The explorer's latent-space arithmetic that is not the slice's own: what the plane shows of the
// store's state, the interpolation's path, the manifold's grid, the choice of axes. Pure
// functions of typed arrays.

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

/** The interpolation's segment on the plane ({a: [a, b], b: [a, b]}), or null. */
export function segmentOnPlane(segment, slice) {
  if (!slice || !segment || segment.a.length !== slice.dim || segment.b.length !== slice.dim) return null;
  return { a: slice.coords(segment.a), b: slice.coords(segment.b) };
}

/**
 * `steps` latent vectors evenly spaced on the straight line from muA to muB, ends included.
 * @returns {Float32Array} steps×D
 */
export function interpolationPath(muA, muB, steps) {
  const D = muA.length;
  if (muB.length !== D) throw new RangeError(`the ends have ${D} and ${muB.length} values`);
  const z = new Float32Array(steps * D);
  for (let k = 0; k < steps; k++) {
    const t = steps > 1 ? k / (steps - 1) : 0;
    for (let d = 0; d < D; d++) z[k * D + d] = (1 - t) * muA[d] + t * muB[d];
  }
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
