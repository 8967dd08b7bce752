// The chart's history, kept twice on purpose, by the same rules: by the worker, which saves it
// with the run (www/worker/checkpoints.js), and by the page, which draws it (www/page/readouts.js).
// Two series of parallel arrays against examples seen: the training chunks' means and the test
// bounds.

/** The fields of a series, `x` (examples seen) first. */
export const SERIES_KEYS = Object.freeze(['x', 'loss', 'reconstruction', 'kl']);

/**
 * @typedef {{x: number[], loss: number[], reconstruction: number[], kl: number[]}} Series
 * @typedef {{train: Series, test: Series}} ChartHistory
 */

/** @returns {ChartHistory} */
export const emptyHistory = () => ({
  train: { x: [], loss: [], reconstruction: [], kl: [] },
  test: { x: [], loss: [], reconstruction: [], kl: [] },
});

/**
 * Appends a metrics or test-bound payload to one series at x = its `examplesSeen`. A point at the
 * x of the series' last one replaces it: a bound taken again at the same step (paused twice), a
 * chunk's point sent again, never two values at one x.
 * @param {Series} series
 * @param {{examplesSeen: number, loss: number, reconstruction: number, kl: number}} point
 */
export function record(series, point) {
  const last = series.x.length - 1;
  if (last >= 0 && series.x[last] === point.examplesSeen) for (const key of SERIES_KEYS) series[key].pop();
  for (const key of SERIES_KEYS) series[key].push(key === 'x' ? point.examplesSeen : point[key]);
}

/**
 * Drops the points after `examplesSeen`: the run went back there (a divergence rolls it back to
 * the start of its last healthy chunk, whose point is then in the future).
 * @param {Series} series
 * @param {number} examplesSeen
 */
export function dropAfter(series, examplesSeen) {
  while (series.x.length && series.x[series.x.length - 1] > examplesSeen) for (const key of SERIES_KEYS) series[key].pop();
}
