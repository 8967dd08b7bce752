// Draws from the standard normal distribution: the z of the prior samples (the paper's figure 5).
// The manifold's quantiles Φ⁻¹ come from the model's side (client.quantiles, statrs in Rust), so
// the page has one implementation of them.

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
