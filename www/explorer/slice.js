// The latent plane as a 2-D slice of a D-dimensional latent space.
//
// The plane is spanned by two orthonormal directions u and v through a base point: plane point
// (a, b) is the latent vector
//
//     z = base + (a − base·u) u + (b − base·v) v,
//
// i.e. z's coordinates along u and v are a and b, and every other coordinate is the base's. With
// u, v two unit axes (dimensions x and y) this is "z[x] = a, z[y] = b, the rest from the base";
// with u, v the principal axes of the test encodings it is a tilted plane through the base.
// Points are shown by their orthogonal projection (μ·u, μ·v), and a posterior N(μ, diag σ²)
// projects to a 2-D Gaussian with covariance [u v]ᵀ diag(σ²) [u v]: an ellipse on the plane.

export class Slice {
  /**
   * @param {number} dim latent dimension D ≥ 1 (with D = 1 the plane's second direction is empty)
   */
  constructor(dim) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`latent dimension must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.base = new Float64Array(dim);
    this.mode = 'dims';
    this.setDims(0, Math.min(1, dim - 1));
  }

  /**
   * A Slice equal to this one that can change without changing this one: the explorer's store
   * replaces its slice instead of mutating it, so "the slice changed" is `next !== previous`.
   */
  copy() {
    // The setters replace the arrays, never write into them, so sharing them is safe.
    return Object.assign(Object.create(Slice.prototype), this);
  }

  /** Spans the plane with latent dimensions `x` and `y` (distinct unless D = 1). */
  setDims(x, y) {
    if (!(x >= 0 && x < this.dim && y >= 0 && y < this.dim)) throw new RangeError(`dimensions ${x}, ${y} outside 0..${this.dim - 1}`);
    if (x === y && this.dim > 1) throw new RangeError('the plane needs two different dimensions');
    this.mode = 'dims';
    this.dimX = x;
    this.dimY = this.dim > 1 ? y : null;
    this.u = unit(this.dim, x);
    this.v = this.dim > 1 ? unit(this.dim, y) : new Float64Array(this.dim);
  }

  /** Spans the plane with two orthonormal directions (the principal axes). */
  setAxes(u, v) {
    if (u.length !== this.dim || v.length !== this.dim) throw new RangeError('axes must have the latent dimension');
    this.mode = 'pca';
    this.dimX = null;
    this.dimY = null;
    this.u = Float64Array.from(u);
    this.v = Float64Array.from(v);
  }

  /** The point whose other coordinates the plane keeps (a copy is stored). */
  setBase(z) {
    if (z.length !== this.dim) throw new RangeError(`base has ${z.length} values, expected ${this.dim}`);
    this.base = Float64Array.from(z);
  }

  /** Plane coordinates (z·u, z·v) of one latent vector. */
  coords(z, offset = 0) {
    let a = 0, b = 0;
    for (let d = 0; d < this.dim; d++) {
      a += z[offset + d] * this.u[d];
      b += z[offset + d] * this.v[d];
    }
    return [a, b];
  }

  /**
   * Plane coordinates of n latent vectors.
   * @param {Float32Array} mu n×D
   * @returns {Float32Array} n×2: (a, b) per point
   */
  project(mu, n) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [a, b] = this.coords(mu, i * this.dim);
      out[2 * i] = a;
      out[2 * i + 1] = b;
    }
    return out;
  }

  /**
   * Projected covariances of n diagonal Gaussians N(μ, diag exp(logVar)).
   * @param {Float32Array} logVar n×D
   * @returns {Float32Array} n×3: (var along u, covariance, var along v) per point
   */
  projectCovariance(logVar, n) {
    const out = new Float32Array(3 * n);
    const { u, v, dim } = this;
    for (let i = 0; i < n; i++) {
      let cuu = 0, cuv = 0, cvv = 0;
      for (let d = 0; d < dim; d++) {
        const s2 = Math.exp(logVar[i * dim + d]);
        cuu += u[d] * u[d] * s2;
        cuv += u[d] * v[d] * s2;
        cvv += v[d] * v[d] * s2;
      }
      out[3 * i] = cuu;
      out[3 * i + 1] = cuv;
      out[3 * i + 2] = cvv;
    }
    return out;
  }

  /** The latent vector at plane point (a, b). @returns {Float32Array} D */
  toLatent(a, b) {
    const [ba, bb] = this.coords(this.base);
    const z = new Float32Array(this.dim);
    for (let d = 0; d < this.dim; d++) z[d] = this.base[d] + (a - ba) * this.u[d] + (b - bb) * this.v[d];
    return z;
  }

  /** n latent vectors at plane points given as n×2 (a, b). @returns {Float32Array} n×D */
  toLatentMany(ab, n) {
    const out = new Float32Array(n * this.dim);
    for (let i = 0; i < n; i++) out.set(this.toLatent(ab[2 * i], ab[2 * i + 1]), i * this.dim);
    return out;
  }
}

/**
 * Semi-axes and rotation of the 1-σ ellipse of a 2×2 covariance [[a, b], [b, c]]:
 * the square roots of its eigenvalues, and the angle of the first eigenvector (radians, from +x).
 */
export function covarianceEllipse(a, b, c) {
  const mid = (a + c) / 2;
  const half = Math.sqrt(((a - c) / 2) ** 2 + b * b);
  const l1 = mid + half, l2 = Math.max(0, mid - half);
  const angle = 0.5 * Math.atan2(2 * b, a - c);
  return { rx: Math.sqrt(l1), ry: Math.sqrt(l2), angle };
}

function unit(dim, i) {
  const e = new Float64Array(dim);
  e[i] = 1;
  return e;
}
