// What the paper is about, for one digit: the true posterior p(z|x) ∝ p(x|z) p(z), computed by
// the decoder on a grid over the visible plane, beside the encoder's guess q(z|x) — a heat map
// with the contours that hold 39 % and 86 % of its mass, under q's 1σ and 2σ ellipses (which hold
// the same shares of q) — and how likely the digit is: the ELBO, log p(x) by importance sampling
// and (in 2-D) integrated on a grid, and their gap, KL(q ‖ p(z|x)). Also "where the prior has
// holes": the test digits' aggregate posterior against the prior N(0, I).
//
// Off by default, and then it asks the worker for nothing. On, it recomputes when the digit, the
// model (a new `test` after each refresh) or the view changes: one request in flight at most, the
// newest inputs next (latestOnly). It never holds up the handle: the grid goes to the worker a
// band of rows at a time, so the handle's urgent decodes pass between the bands, and no request
// starts while the user is dragging the handle (until it has rested for QUIET_MS). The numbers
// (one digitBound, k = 1000, and in 2-D the worker's own fine grid) follow the map, once per
// digit and model; while training makes a new model every refresh, the same digit's map and
// numbers are recomputed at most every MODEL_EVERY_MS, so that training keeps most of the worker.
// Zoomed in, the view widens until it holds the posterior.
//
// Reads: dim, slice, view, test, images, selected, yours, handle (when the user last moved it).
// Asks for: layers (posterior, holes), focus (the zoom onto the digit).

import { latestOnly } from '../schedule.js';
import { fmt, posteriorCaption } from '../format.js';
import { withLayer } from '../store.js';
import {
  POSTERIOR_SIDE as SIDE, SIGMA_MASSES, focusOn, isolines, linesOnPlane, massLevels, normaliseLog, logIntegral, followDigit, peakAndEdge, posteriorDigit, topmost, viewWindow, windowGrid,
} from '../posterior-grid.js';
import { SMOOTHING_CELLS, holeShare, mixtureOnGrid, priorOnGrid } from '../aggregate.js';
import { densityImage, ratioImage } from '../field.js';
import { listen } from './listen.js';

/** Importance samples from q for log p(x). */
export const IMPORTANCE_SAMPLES = 1000;
/** Grid rows per posterior request: the handle's decodes go between them. */
const BAND_ROWS = 12;
/** How long the handle must have rested before a request starts, ms. */
const QUIET_MS = 300;
/** Least time between the same digit's maps under successive models (while training), ms. */
const MODEL_EVERY_MS = 3000;
/** The share of the map's mass on its outer ring above which the zoom widens. */
const EDGE_MASS = 1e-3;
const CONTOUR_COLOUR = '#2b0f3a';
const Q_COLOUR = '#00897b';
const PRIOR_COLOUR = '#3c4043';
/** The square over which the prior's holes are counted, whatever the view: ±4 holds all but 3e-4 of N(0, I₂). */
const PRIOR_SQUARE = Object.freeze({ a0: -4, a1: 4, b0: -4, b1: 4 });
const SOURCES = ['test', 'upload', 'drawing'];
/** @typedef {'test'|'upload'|'drawing'} Source */
/** @returns {Source} the select's value, or 'test' for one it should not have */
const asSource = (value) => /** @type {Source} */ (SOURCES.includes(value) ? value : 'test');

/**
 * @param {import('../layout.js').PosteriorRefs} ui the posterior part's elements (layout.js)
 * @param {{store: import('../store.js').ExplorerStore, client: import('../../client.js').VaeClient,
 *          report: (error: unknown) => void}} context
 */
export function mountPosterior(ui, { store, client, report }) {
  let source = asSource(ui.source.value);
  let map = null; // the map on the plane: {digit, test, slice, view, window, rgba, contours}
  let bound = null; // whose numbers are shown: {digit, test}
  let seen = { upload: null, drawing: null }; // the user's pixels last seen, to follow a new one
  let zoomFor = null, widen = 1; // the digit zoomed onto, and how much wider than focusOn's view
  let lastMove = -Infinity; // when the user last moved the handle (performance.now())

  const on = () => ui.show.checked;
  const count = (el, key) => (el.dataset[key] = String(Number(el.dataset[key] ?? 0) + 1));
  const sameDigit = (p, q) => p?.source === q?.source && p?.id === q?.id;
  const sameView = (p, q) => p?.cx === q?.cx && p?.cy === q?.cy && p?.half === q?.half;
  const inputs = (state) => ({ digit: posteriorDigit(state, source), test: state.test, slice: state.slice, view: state.view, dim: state.dim });
  const sameMap = (p, q) => !!p && !!q && sameDigit(p.digit, q.digit) && p.test === q.test && p.slice === q.slice && sameView(p.view, q.view);
  const current = (job) => on() && sameDigit(job.digit, posteriorDigit(store.get(), source));

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Resolves once the user has not moved the handle for QUIET_MS. */
  async function handleResting() {
    for (let wait; (wait = lastMove + QUIET_MS - performance.now()) > 0; ) await sleep(wait);
  }

  const queue = latestOnly(async () => {
    const newModel = () => map && map.test !== store.get().test && sameDigit(map.digit, posteriorDigit(store.get(), source));
    while (newModel() && performance.now() < map.at + MODEL_EVERY_MS) await sleep(100); // another digit goes at once
    const job = inputs(store.get());
    if (!on() || !job.digit || !job.view || !job.test || !(job.dim >= 2)) return;
    if (!sameMap(job, map) && !(await computeMap(job))) return;
    if (!bound || !sameDigit(bound.digit, job.digit) || bound.test !== job.test) await computeBound(job);
  }, report);

  /** The posterior on the grid, a band of rows per request; false if the digit changed meanwhile. */
  async function computeMap(job) {
    const window = viewWindow(job.view);
    const n = SIDE * SIDE, band = BAND_ROWS * SIDE, D = job.dim;
    const z = job.slice.toLatentMany(windowGrid(window, SIDE), n);
    const logJoint = new Float32Array(n);
    const started = performance.now();
    for (let start = 0; start < n; start += band) {
      await handleResting();
      if (!current(job)) return false;
      const m = Math.min(band, n - start);
      logJoint.set((await client.posterior(job.digit.image, z.subarray(start * D, (start + m) * D), m)).logJoint, start);
    }
    if (!current(job)) return false;
    const mass = normaliseLog(logJoint);
    const contours = massLevels(mass, SIGMA_MASSES).map((level) => linesOnPlane(isolines(mass, SIDE, SIDE, level), window, SIDE));
    map = { ...job, window, rgba: densityImage(mass), contours, at: performance.now() };
    publish(store.get());
    const { peak, edge } = peakAndEdge(mass, SIDE); // edge: near 0 when the view holds the posterior
    const at = windowGrid(window, SIDE).subarray(2 * peak, 2 * peak + 2);
    Object.assign(ui.panel.dataset, {
      peak: `${at[0].toFixed(4)},${at[1].toFixed(4)}`,
      edgeMass: edge.toExponential(2),
      contours: contours.map((lines) => lines.length).join(','),
      mapMs: (performance.now() - started).toFixed(0),
      digit: job.digit.text,
      step: store.get().step, // the training step of the model (for tests)
      // In 2-D, the map's own log p(x) (of the part of the plane it covers): a check on the worker's grid.
      logLikelihood: D === 2 ? logIntegral(logJoint, ((window.a1 - window.a0) / SIDE) ** 2) : '',
    });
    count(ui.panel, 'mapUpdates');
    if (edge > EDGE_MASS && ui.zoom.checked && widen < 8) {
      widen *= 2;
      focus(store.get());
    }
    return true;
  }

  async function computeBound(job) {
    await handleResting();
    if (!current(job)) return;
    const result = await client.digitBound(job.digit.image, IMPORTANCE_SAMPLES);
    if (!current(job)) return;
    bound = { digit: job.digit, test: job.test };
    const { elbo, logLikelihood, gridLogLikelihood: grid, samples } = result;
    // The gap from the grid's log p(x) where there is one (no sampling noise), else from the IS estimate.
    const gap = (grid ?? logLikelihood) - elbo;
    ui.isLabel.textContent = `log p(x), importance sampling (k = ${samples.toLocaleString('en')})`;
    ui.elbo.textContent = `${fmt(elbo)} nats`;
    ui.logLikelihood.textContent = `${fmt(logLikelihood)} nats`;
    ui.gridLogLikelihood.textContent = grid === null ? '– (2-D only)' : `${fmt(grid)} nats`;
    ui.gap.textContent = `${fmt(gap)} nats`;
    const { reconstruction, kl } = result;
    Object.assign(ui.numbers.dataset, { elbo, logLikelihood, gridLogLikelihood: grid ?? '', gap, reconstruction, kl, samples, digit: job.digit.text });
    count(ui.numbers, 'updates');
    ui.numbers.classList.toggle('vx-stale', job.test !== store.get().test);
  }

  /**
   * The map's layer, with q's ellipses of the digit as it is now (they follow q at once). Another
   * digit's map is not shown, except the drawing's last one while the drawing changes.
   */
  let published = []; // what the layer on the plane was made of
  function publish(state) {
    const digit = posteriorDigit(state, source);
    const made = [on(), map, digit?.source, digit?.id, state.test, state.yours, state.slice];
    if (made.every((v, k) => v === published[k])) return; // nothing new to draw
    published = made;
    const other = !digit || !map || digit.source !== map.digit.source || (digit.source !== 'drawing' && digit.id !== map.digit.id);
    if (!on() || other || state.slice?.dim !== map.dim) return store.update((s) => withLayer(s, 'posterior', null));
    const [inner, outer] = map.contours;
    const ellipses = [], top = topmost(outer);
    const labels = top ? [{ a: top[0], b: top[1], text: 'p(z|x)', colour: CONTOUR_COLOUR }] : [];
    if (digit.mu) {
      const [a, b] = state.slice.coords(digit.mu);
      const cov = state.slice.projectCovariance(digit.logVar, 1);
      ellipses.push({ a, b, cov, sigmas: [1], colour: Q_COLOUR, width: 2.2 }, { a, b, cov, sigmas: [2], colour: Q_COLOUR, width: 2, dash: [6, 4] });
      labels.push({ a, b: b - 2 * Math.sqrt(cov[2]), text: 'q(z|x)', colour: Q_COLOUR, below: true });
      ui.panel.dataset.ellipse = `${a.toFixed(4)},${b.toFixed(4)},${Array.from(cov, (v) => v.toExponential(3)).join(',')}`;
    }
    store.update((s) => withLayer(s, 'posterior', {
      name: 'posterior', z: 1, window: map.window, rgba: map.rgba, width: SIDE, height: SIDE, ellipses, labels,
      lines: [{ lines: inner, colour: CONTOUR_COLOUR, width: 1.6 }, { lines: outer, colour: CONTOUR_COLOUR, width: 1.4, dash: [4, 3] }],
    }));
  }

  /** The aggregate posterior against the prior, computed here (no worker): the test set's q is known. */
  function showHoles(state) {
    ui.holesPanel.hidden = !ui.holes.checked;
    if (!ui.holes.checked || !state.test || !state.view || !(state.dim >= 2)) return store.update((s) => withLayer(s, 'holes', null));
    const { test, slice, view } = state;
    const xy = slice.project(test.mu, test.n), cov = slice.projectCovariance(test.logVar, test.n);
    const window = viewWindow(view);
    const aggregate = (w) => mixtureOnGrid(xy, cov, test.n, w, SIDE, { smoothing: (SMOOTHING_CELLS * (w.a1 - w.a0)) / SIDE });
    const { rgba } = ratioImage(aggregate(window), priorOnGrid(window, SIDE));
    const share = holeShare(aggregate(PRIOR_SQUARE), priorOnGrid(PRIOR_SQUARE, SIDE));
    store.update((s) => withLayer(s, 'holes', {
      name: 'holes', z: 0, window, rgba, width: SIDE, height: SIDE,
      ellipses: [{ a: 0, b: 0, cov: [1, 0, 1], sigmas: [1, 2], colour: PRIOR_COLOUR, width: 1.3, dash: [5, 4] }],
      labels: [{ a: 0, b: 2, text: 'prior 2σ', colour: PRIOR_COLOUR }, { a: 0, b: 1, text: '1σ', colour: PRIOR_COLOUR }],
    }));
    ui.holesText.textContent = `${Math.round(100 * share)} % of the prior's mass lies where the ${test.n.toLocaleString('en')} test ${store.get().words.digits}' encodings are more than 10 times rarer than the prior says they should be.`;
    ui.holesPanel.dataset.share = share.toFixed(4);
    count(ui.holesPanel, 'updates');
  }

  /** The zoom onto the digit's q, while the map is on (null: the plane shows what it would). */
  function focus(state) {
    const digit = on() && ui.zoom.checked ? posteriorDigit(state, source) : null;
    if (!sameDigit(digit, zoomFor)) [zoomFor, widen] = [digit, 1];
    let next = null;
    if (digit?.mu) {
      next = focusOn(...state.slice.coords(digit.mu), state.slice.projectCovariance(digit.logVar, 1));
      next.half = Math.min(5, next.half * widen);
    }
    if (!sameView(next, state.focus)) store.update({ focus: next });
  }

  function showControls(state) {
    const twoD = state.dim >= 2;
    ui.show.disabled = ui.holes.disabled = !twoD;
    for (const option of ui.source.options) option.disabled = !posteriorDigit(state, option.value) && option.value !== source;
    ui.source.value = source;
    ui.source.disabled = ui.zoom.disabled = !on();
    ui.panel.hidden = !on();
    const digit = posteriorDigit(state, source);
    ui.numbers.classList.toggle('vx-stale', !bound || !sameDigit(bound.digit, digit) || bound.test !== state.test);
    ui.caption.textContent = posteriorCaption(state.dim, source, digit, SIDE, state.words);
    ui.panel.dataset.source = source;
  }

  function update(state) {
    showControls(state);
    focus(state);
    publish(state);
    queue.submit(null);
    ui.panel.dataset.busy = 'true'; // until the newest inputs' map and numbers are done (for tests)
    queue.idle().then(() => queue.busy || (ui.panel.dataset.busy = 'false'));
  }

  const unsubscribe = store.subscribe((state, changed) => {
    const has = (...keys) => keys.some((k) => changed.has(k));
    if (has('handle') && state.handle.time !== null) lastMove = state.handle.time;
    if (has('selected', 'yours')) ({ source, seen } = followDigit(source, seen, state, changed));
    if (has('dim', 'slice', 'view', 'test', 'images', 'selected', 'yours')) update(state);
    if (has('test', 'slice', 'view')) showHoles(state);
    if (has('words')) showControls(state);
  });

  const off = listen([
    [ui.show, 'change', () => update(store.get())],
    [ui.zoom, 'change', () => focus(store.get())],
    [ui.source, 'change', () => {
      source = asSource(ui.source.value);
      update(store.get());
    }],
    [ui.holes, 'change', () => showHoles(store.get())],
  ]);
  showControls(store.get());

  return {
    idle: () => queue.idle(),
    destroy() {
      unsubscribe();
      off();
    },
  };
}
