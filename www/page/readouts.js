// What training shows: the readouts (step, epoch, losses, the test bound), the chart of the
// bound against examples seen, and the reconstructions of the first test digits. It keeps the
// chart's history (`page.history`) in step with the model: metrics and bounds as they come, a
// resumed run's whole history, a cleared one after a reset, a rolled-back one after a divergence.

import { messageOf } from '../protocol.js';
import { drawChart } from '../views/chart.js';
import { drawDigits } from '../views/digits.js';
import * as status from '../views/status.js';
import { dropAfter, emptyHistory, record } from '../chart-history.js';
import { wordsFor } from '../words.js';
import { showError } from './page.js';

/** @typedef {import('./page.js').Page} Page */

const RECONSTRUCTIONS = 16;
const RECONSTRUCT_EVERY_MS = 1000;
/**
 * The readouts and the chart follow training at most this often. Chunks end ~30 times a second;
 * drawing each one kept the page's own thread busy ~30 % of the time, taken from the model's
 * threads on a small machine. Every chunk's point is kept; only the drawing waits.
 */
const SHOW_EVERY_MS = 250;
/**
 * The charts are redrawn at most this often while training: their x axis spans the whole run, so
 * a redraw moves a line by a pixel or two, and each one costs the page's thread a few ms of
 * drawing and compositing (half of what it spent while training, measured with a Chrome trace).
 */
const CHART_EVERY_MS = 500;
/** The chart's colours are the page's (www/style.css): blue for training, orange for the test set. */
const pageColour = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const TRAIN = pageColour('--accent');
const TEST = pageColour('--test');

/**
 * A training chunk's metrics: a point on the chart at once; the readouts, the chart and now and
 * then the reconstructions drawn with the latest metrics at most every SHOW_EVERY_MS.
 * @param {Page} page
 */
export function showMetrics(page, m) {
  record(page.history.train, m);
  page.pendingMetrics = m;
  if (page.metricsTimer !== null) return;
  const wait = Math.max(0, page.lastMetricsShown + SHOW_EVERY_MS - performance.now());
  page.metricsTimer = setTimeout(() => flushMetrics(page), wait);
}

/**
 * Shows the metrics not shown yet, now (also when training stops, so a pause shows its last step).
 * @param {Page} page
 */
export function flushMetrics(page) {
  clearTimeout(page.metricsTimer);
  page.metricsTimer = null;
  const latest = page.pendingMetrics;
  page.pendingMetrics = null;
  if (!latest) return;
  page.lastMetricsShown = performance.now();
  status.showMetrics(page.ui.readouts, latest);
  page.ui.chart.dataset.points = String(page.history.train.x.length);
  queueChartSoon(page);
  if (performance.now() - page.lastReconstruction > RECONSTRUCT_EVERY_MS) refreshReconstructions(page);
}

/**
 * Forgets metrics not shown yet (the readouts are about to show another state).
 * @param {Page} page
 */
function dropPendingMetrics(page) {
  clearTimeout(page.metricsTimer);
  page.metricsTimer = null;
  page.pendingMetrics = null;
}

/**
 * A test bound: a point on the chart and its readout.
 * @param {Page} page
 */
export function showEvaluated(page, ev) {
  const h = page.history.test;
  record(h, ev); // a bound for a step already plotted (paused twice at the same step) replaces the old one
  status.showTest(page.ui.testLoss, ev);
  page.ui.chart.dataset.testPoints = String(h.x.length);
  queueChart(page);
}

/**
 * A resumed run (protocol.js's Resumed): its history on the chart, its last readouts.
 * @param {Page} page
 */
export function showHistory(page, { step, epoch, epochProgress, examplesSeen, history }) {
  const { ui } = page;
  dropPendingMetrics(page);
  page.history = {
    train: { x: [], loss: [], reconstruction: [], kl: [], ...history.train },
    test: { x: [], loss: [], reconstruction: [], kl: [], ...history.test },
  };
  const last = (series, key) => series[key][series[key].length - 1];
  const t = page.history.train;
  status.showMetrics(ui.readouts, {
    step, epoch, epochProgress, examplesSeen, examplesPerSecond: NaN,
    loss: last(t, 'loss'), reconstruction: last(t, 'reconstruction'), kl: last(t, 'kl'),
  });
  const test = page.history.test;
  if (test.x.length) status.showTest(ui.testLoss, { step, loss: last(test, 'loss'), reconstruction: last(test, 'reconstruction'), kl: last(test, 'kl') });
  ui.chart.dataset.points = String(t.x.length);
  ui.chart.dataset.testPoints = String(test.x.length);
}

/**
 * A new model at step 0: an empty chart and blank readouts.
 * @param {Page} page
 */
export function clearReadouts(page) {
  const { ui } = page;
  dropPendingMetrics(page);
  page.history = emptyHistory();
  status.showMetrics(ui.readouts, { step: 0, epoch: 0, epochProgress: 0, examplesSeen: 0, examplesPerSecond: NaN, loss: NaN, reconstruction: NaN, kl: NaN });
  status.showTest(ui.testLoss, null);
  ui.chart.dataset.points = '0';
  ui.chart.dataset.testPoints = '0';
}

/**
 * The run went back to `step` (a divergence): the chart and the readouts go back with it.
 * @param {Page} page
 */
export function rollBack(page, step) {
  const { ui } = page;
  dropPendingMetrics(page);
  const seen = step * (page.client.config?.batchSize ?? 0);
  const h = page.history.train;
  dropAfter(h, seen);
  ui.chart.dataset.points = String(h.x.length);
  status.setReadout(ui.readouts.step, 'step', step, step.toLocaleString('en-US'));
  status.setReadout(ui.readouts.examplesSeen, 'examples-seen', seen, seen.toLocaleString('en-US'));
  queueChart(page);
}

/**
 * Draws the chart CHART_EVERY_MS after its last drawing (at once if that was longer ago).
 * @param {Page} page
 */
function queueChartSoon(page) {
  if (page.chartTimer !== null) return;
  const wait = Math.max(0, page.lastChartAt + CHART_EVERY_MS - performance.now());
  page.chartTimer = setTimeout(() => {
    page.chartTimer = null;
    queueChart(page);
  }, wait);
}

/**
 * Draws the chart at the next frame (once, however often it is asked for before then).
 * @param {Page} page
 */
export function queueChart(page) {
  if (page.chartQueued) return;
  page.chartQueued = true;
  requestAnimationFrame(() => {
    page.chartQueued = false;
    page.lastChartAt = performance.now();
    drawCharts(page);
  });
}

/** @param {Page} page */
function drawCharts(page) {
  const { train, test } = page.history;
  describeCharts(page);
  const xLabel = 'training examples seen';
  const empty = page.phase === 'ready' ? 'Press Start to train' : 'No training yet';
  drawChart(page.ui.chartElbo, {
    xLabel,
    yLabel: 'nats',
    empty,
    focusFrom: 0.04,
    series: [
      { label: 'training −ELBO', color: TRAIN, xs: train.x, ys: train.loss, width: 1.6 },
      { label: 'test −ELBO', color: TEST, xs: test.x, ys: test.loss, width: 2, markers: true },
      { label: 'training reconstruction', color: TRAIN, xs: train.x, ys: train.reconstruction, width: 1, dash: [4, 3] },
      { label: 'test reconstruction', color: TEST, xs: test.x, ys: test.reconstruction, width: 1.2, dash: [4, 3] },
    ],
  });
  drawChart(page.ui.chartKl, {
    xLabel,
    yLabel: 'KL, nats',
    empty,
    focusFrom: 0.04,
    series: [
      { label: 'training KL', color: TRAIN, xs: train.x, ys: train.kl, width: 1.4 },
      { label: 'test KL', color: TEST, xs: test.x, ys: test.kl, width: 2, markers: true },
    ],
  });
}

/**
 * The charts' text alternatives: where the run is and its latest bounds, rewritten with each
 * drawing (at most every CHART_EVERY_MS while training), so a screen reader finds them current.
 */
function describeCharts(page) {
  const { train, test } = page.history;
  const { ui } = page;
  if (!train.x.length && !test.x.length) {
    ui.chartElbo.setAttribute('aria-label', 'The bound as it learns: no training yet');
    ui.chartKl.setAttribute('aria-label', 'The KL part of the bound: no training yet');
    return;
  }
  const last = (series, key) => series[key][series[key].length - 1];
  const nats = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');
  const step = Number(ui.readouts.step.dataset.step ?? 0).toLocaleString('en-US');
  const at = `At step ${step}, ${(last(train, 'x') ?? 0).toLocaleString('en-US')} training examples seen`;
  const testAt = test.x.length ? `, and the test set's ${nats(last(test, 'loss'))} at ${last(test, 'x').toLocaleString('en-US')} examples` : '';
  ui.chartElbo.setAttribute('aria-label',
    `The bound as it learns, in nats per ${wordsFor(page.client?.dataSet).digit} (lower is better), against training examples seen. ${at}: ` +
    `training −ELBO ${nats(last(train, 'loss'))} (reconstruction ${nats(last(train, 'reconstruction'))})${testAt}.`);
  ui.chartKl.setAttribute('aria-label',
    `The KL part of the bound against training examples seen. ${at}: training KL ${last(train, 'kl')?.toFixed(2) ?? '–'} nats` +
    `${test.x.length ? `, test KL ${last(test, 'kl').toFixed(2)}` : ''}.`);
}

/**
 * Asks for the reconstructions of the first test digits; at most one request in flight. A forced
 * refresh asked for while one is in flight (after a reset, a pause) runs again when it is done,
 * so the images always end up showing the current model.
 * @param {Page} page
 */
export async function refreshReconstructions(page, { force = false } = {}) {
  if (!page.client) return;
  if (page.reconstructing) {
    page.reconstructAgain ||= force;
    return;
  }
  const { ui } = page;
  page.reconstructing = true;
  page.lastReconstruction = performance.now();
  try {
    const step = ui.readouts.step.dataset.step;
    const { originals, reconstructions } = await page.client.reconstruct(RECONSTRUCTIONS);
    drawDigits(ui.originals, originals, RECONSTRUCTIONS, RECONSTRUCTIONS, { scale: 2, gap: 2 });
    drawDigits(ui.decoded, reconstructions, RECONSTRUCTIONS, RECONSTRUCTIONS, { scale: 2, gap: 2 });
    ui.reconstructions.dataset.step = step;
    ui.decoded.setAttribute('aria-label', `The model's reconstructions of the first ${RECONSTRUCTIONS} test ${wordsFor(page.client.dataSet).digits}, at step ${Number(step ?? 0).toLocaleString('en-US')}`);
  } catch (error) {
    showError(page, `Could not draw the reconstructions: ${messageOf(error)}`, { key: 'reconstruct' });
  } finally {
    page.reconstructing = false;
    page.lastReconstruction = performance.now();
    if (page.reconstructAgain) {
      page.reconstructAgain = false;
      refreshReconstructions(page);
    }
  }
}
