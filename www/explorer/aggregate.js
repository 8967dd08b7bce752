// Where the prior has holes: the aggregate posterior q(z) = (1/N) Σₙ q(z|xₙ) — the distribution
// the encoder actually puts the data in — against the prior p(z) = N(0, I) the decoder is sampled
// from. Where p has mass and q has little, a sample from the prior decodes to something the
// decoder was never trained on. Both are shown on the plane as the densities of the plane
// coordinates (z·u, z·v): q's as the mixture of the test digits' projected posteriors, p's as
// N(0, I₂) (u and v are orthonormal). Pure functions of typed arrays.

/**
 * The blur mixtureOnGrid needs, in cells: a Gaussian narrower than this between grid points
 * sums to its mass within a few thousandths (the Riemann sum's error, 2 exp(−2π² s²/h²) per axis).
 */
export const SMOOTHING_CELLS = 0.6;

/** Density of N(0, I₂) at (a, b). */
export function priorDensity(a, b) {
  return Math.exp(-(a * a + b * b) / 2) / (2 * Math.PI);
}

/**
 * The mixture (1/n) Σᵢ N(μᵢ, Σᵢ + s² I) on the cell centres of a side×side grid over `window`
 * (row by row from the top, as posterior-grid.js's windowGrid).
 *
 * `smoothing` s blurs each component by a fraction of a cell: an encoding narrower than a cell
 * would otherwise fall between the grid's points (or on one) and the grid would not hold its
 * mass. Each component is evaluated within `cutoff` standard deviations of its mean only.
 * @param {Float32Array} xy n×2 means on the plane
 * @param {Float32Array} cov n×3 projected covariances (var a, cov ab, var b), Slice.projectCovariance
 * @returns {Float64Array} side² densities
 */
export function mixtureOnGrid(xy, cov, n, { a0, a1, b0, b1 }, side, { smoothing = 0, cutoff = 5 } = {}) {
  const out = new Float64Array(side * side);
  const ha = (a1 - a0) / side, hb = (b1 - b0) / side;
  const s2 = smoothing * smoothing;
  for (let k = 0; k < n; k++) {
    const ma = xy[2 * k], mb = xy[2 * k + 1];
    const A = cov[3 * k] + s2, B = cov[3 * k + 1], C = cov[3 * k + 2] + s2;
    const det = A * C - B * B;
    if (!(det > 0) || !Number.isFinite(ma) || !Number.isFinite(mb)) continue;
    const norm = 1 / (2 * Math.PI * Math.sqrt(det) * n);
    // Columns j and rows i within the cutoff box.
    const ra = cutoff * Math.sqrt(A), rb = cutoff * Math.sqrt(C);
    const j0 = Math.max(0, Math.ceil((ma - ra - a0) / ha - 0.5)), j1 = Math.min(side - 1, Math.floor((ma + ra - a0) / ha - 0.5));
    const i0 = Math.max(0, Math.ceil((b1 - mb - rb) / hb - 0.5)), i1 = Math.min(side - 1, Math.floor((b1 - mb + rb) / hb - 0.5));
    for (let i = i0; i <= i1; i++) {
      const db = b1 - (i + 0.5) * hb - mb;
      for (let j = j0; j <= j1; j++) {
        const da = a0 + (j + 0.5) * ha - ma;
        out[i * side + j] += norm * Math.exp(-(C * da * da - 2 * B * da * db + A * db * db) / (2 * det));
      }
    }
  }
  return out;
}

/**
 * The prior's density on the same grid.
 * @returns {Float64Array} side²
 */
export function priorOnGrid({ a0, a1, b0, b1 }, side) {
  const out = new Float64Array(side * side);
  const ha = (a1 - a0) / side, hb = (b1 - b0) / side;
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) out[i * side + j] = priorDensity(a0 + (j + 0.5) * ha, b1 - (i + 0.5) * hb);
  return out;
}

/**
 * How much of the prior's mass lies in holes: where the aggregate posterior's density is below
 * 1/`ratio` of the prior's (on a grid of both; the share is of the prior mass the grid covers).
 */
export function holeShare(aggregate, prior, ratio = 10) {
  let inHoles = 0, total = 0;
  for (let k = 0; k < prior.length; k++) {
    total += prior[k];
    if (aggregate[k] * ratio < prior[k]) inHoles += prior[k];
  }
  return total > 0 ? inHoles / total : 0;
}
