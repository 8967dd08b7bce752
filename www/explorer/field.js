// Scalar fields on a grid as images the plane stretches over a window: RGBA bytes, row by row from
// the top (ImageData's layout). Pure: arrays in, bytes out.

/** The true posterior's colours, faint to strong (the upper part of matplotlib's "magma"). */
const DENSITY_STOPS = [
  [0, [252, 236, 178]],
  [0.3, [253, 159, 108]],
  [0.6, [222, 73, 104]],
  [1, [124, 31, 132]],
];
/** Where the aggregate posterior falls short of the prior (holes), and where it exceeds it. */
const BELOW = [43, 108, 196];
const ABOVE = [214, 96, 77];

function ramp(stops, t) {
  let k = 1;
  while (k < stops.length - 1 && t > stops[k][0]) k++;
  const [t0, c0] = stops[k - 1], [t1, c1] = stops[k];
  const f = Math.max(0, Math.min(1, (t - t0) / (t1 - t0)));
  return c0.map((c, i) => c + f * (c1[i] - c));
}

/**
 * A density as a heat map: transparent where it is zero, strong where it peaks. Opacity grows
 * as (v / max)^gamma, so the tails that the outer contour encloses stay visible.
 * @param {ArrayLike<number> & Iterable<number>} values non-negative
 * @returns {Uint8ClampedArray} values.length × 4
 */
export function densityImage(values, { gamma = 0.5, opacity = 0.9 } = {}) {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  const rgba = new Uint8ClampedArray(4 * values.length);
  if (!(max > 0)) return rgba;
  for (let k = 0; k < values.length; k++) {
    const t = Math.max(0, values[k] / max);
    const [r, g, b] = ramp(DENSITY_STOPS, t);
    rgba.set([r, g, b, 255 * opacity * Math.min(1, t ** gamma * 1.15)], 4 * k);
  }
  return rgba;
}

/**
 * log(q / p) of two densities on the same grid as a diverging map: blue where q is below p (the
 * prior's holes), red where above, full colour at ±`limit` nats; faded where both are small
 * next to the prior's peak, since a ratio of two negligible densities shows nothing.
 * @returns {{rgba: Uint8ClampedArray, logRatio: Float64Array}}
 */
export function ratioImage(q, p, { limit = 3, opacity = 0.75 } = {}) {
  let peak = 0;
  for (const v of p) if (v > peak) peak = v;
  const rgba = new Uint8ClampedArray(4 * p.length);
  const logRatio = new Float64Array(p.length);
  for (let k = 0; k < p.length; k++) {
    const r = Math.max(-limit * 4, Math.min(limit * 4, Math.log((q[k] + 1e-300) / (p[k] + 1e-300))));
    logRatio[k] = r;
    const weight = Math.min(1, Math.sqrt(Math.max(q[k], p[k]) / (0.05 * peak)));
    const f = Math.min(1, Math.abs(r) / limit);
    rgba.set([...(r < 0 ? BELOW : ABOVE), 255 * opacity * weight * Math.sqrt(f)], 4 * k);
  }
  return { rgba, logRatio };
}
