// The standard normal distribution, as the views need it: its quantile function to lay out the
// manifold grid of the paper's figure 4, and random draws for the prior samples of figure 5.

/**
 * Φ⁻¹(p), the quantile function of N(0, 1), for p in (0, 1).
 * Peter Acklam's rational approximation (relative error below 1.2e-9), the usual choice when no
 * statistics library is at hand.
 */
export function inverseNormalCdf(p) {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Coordinates of the cells of an n×n manifold grid, the layout of `VaeSession.manifold` (see
 * docs/facade.md): column j has x = Φ⁻¹((j + 0.5)/n), row i has y = Φ⁻¹(1 − (i + 0.5)/n), so y
 * grows upwards and the grid covers the prior's mass evenly.
 * @returns {{xs: number[], ys: number[]}}
 */
export function manifoldCoordinates(n) {
  const xs = [], ys = [];
  for (let j = 0; j < n; j++) xs.push(inverseNormalCdf((j + 0.5) / n));
  for (let i = 0; i < n; i++) ys.push(inverseNormalCdf(1 - (i + 0.5) / n));
  return { xs, ys };
}

/**
 * `count` independent draws from N(0, 1) (Box–Muller).
 * @param {number} count
 * @param {() => number} [random] uniform on [0, 1)
 * @returns {Float32Array}
 */
export function standardNormal(count, random = Math.random) {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - random(); // (0, 1]: log(u) is finite
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
