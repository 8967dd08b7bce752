// Principal axes of a cloud of latent encodings: the two directions along which the test digits'
// μ spread the most. The latent plane uses them as its slice when the latent space has more than
// two dimensions and the user asks for "principal axes".
//
// The covariance is D×D (D ≤ 256), so power iteration with deflation is enough: no
// eigen-decomposition library, and a few milliseconds for 1,000 points.

/**
 * Top `k` principal axes of `n` points of dimension `dim`.
 *
 * @param {Float32Array} points n×dim, row-major
 * @param {number} n
 * @param {number} dim
 * @param {{k?: number, iterations?: number, tolerance?: number, previous?: Float64Array[]}} [options]
 *   previous: axes of an earlier call; each new axis is flipped to point the same way, so the
 *   plane does not mirror itself from one refresh to the next.
 * @returns {{mean: Float64Array, axes: Float64Array[], variances: number[]}} unit axes, orthogonal,
 *   by decreasing variance (population variance of the points along each axis)
 */
export function principalAxes(points, n, dim, options = {}) {
  const { k = 2, iterations = 500, tolerance = 1e-10, previous = [] } = options;
  if (points.length !== n * dim) throw new RangeError(`points has ${points.length} values, expected ${n}×${dim}`);
  if (n < 1) throw new RangeError('principal axes need at least one point');

  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += points[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;

  // Covariance, upper triangle then mirrored.
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) row[d] = points[i * dim + d] - mean[d];
    for (let a = 0; a < dim; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const off = a * dim;
      for (let b = a; b < dim; b++) cov[off + b] += ra * row[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b] / n;
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }

  const axes = [];
  const variances = [];
  for (let c = 0; c < Math.min(k, dim); c++) {
    let v = startVector(dim, c);
    orthogonalise(v, axes);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      const w = matVec(cov, v, dim);
      orthogonalise(w, axes); // deflation: stay in the complement of the axes found so far
      const norm = Math.hypot(...w);
      if (norm < 1e-300) break; // no variance left in the complement
      for (let d = 0; d < dim; d++) w[d] /= norm;
      const delta = 1 - Math.abs(dot(w, v));
      v = w;
      lambda = norm;
      if (delta < tolerance) break;
    }
    // Rayleigh quotient: the variance along v.
    lambda = dot(v, matVec(cov, v, dim));
    const prev = previous[c];
    if (prev && prev.length === dim ? dot(v, prev) < 0 : largestComponent(v) < 0) {
      for (let d = 0; d < dim; d++) v[d] = -v[d];
    }
    axes.push(v);
    variances.push(lambda);
  }
  return { mean, axes, variances };
}

function matVec(m, v, dim) {
  const out = new Float64Array(dim);
  for (let a = 0; a < dim; a++) {
    let acc = 0;
    const off = a * dim;
    for (let b = 0; b < dim; b++) acc += m[off + b] * v[b];
    out[a] = acc;
  }
  return out;
}

function dot(a, b) {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i] * b[i];
  return acc;
}

function orthogonalise(v, basis) {
  for (const u of basis) {
    const p = dot(v, u);
    for (let d = 0; d < v.length; d++) v[d] -= p * u[d];
  }
}

/** A fixed, non-degenerate start (not a random one: the same data gives the same axes). */
function startVector(dim, c) {
  const v = new Float64Array(dim);
  for (let d = 0; d < dim; d++) v[d] = 1 + 0.5 * Math.sin(1.7 * (d + 1) * (c + 1));
  const norm = Math.hypot(...v);
  for (let d = 0; d < dim; d++) v[d] /= norm;
  return v;
}

function largestComponent(v) {
  let best = 0;
  for (let d = 0; d < v.length; d++) if (Math.abs(v[d]) > Math.abs(best)) best = v[d];
  return best;
}
