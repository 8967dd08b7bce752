// The explorer: what the VAE has learned, live while it learns. The latent plane with the test
// digits' encodings and a handle to decode any z; the manifold and prior samples of the paper's
// figures 4 and 5; a digit uploaded or drawn by the user, encoded onto the plane; interpolation
// between two encodings; the true posterior of one digit beside the encoder's guess, and where
// the prior has holes; a digit seen only in part, repaired by conditional inference.
//
//   mountExplorer(root, client) -> { refresh(), destroy() }
//
// This module builds the layout (layout.js), creates the store that holds what the features
// share (store.js), mounts one controller per feature (controllers/: plane, grids, yours,
// interpolation, posterior, repair), and runs the refresh cycle. Controllers read the store and ask it to change;
// none reaches into another. Only controllers talk to the model, through the `VaeClient` they are
// given (www/client.js, with the messages of www/protocol.js); the views they draw with never see it.
//
// The data's words (www/words.js) follow the client's data set (its DATA_SET event): the store's
// `words`, which the controllers say things in, and the markup's own text (reword).
//
// Refreshing: on the client's 'metrics', 'evaluated', 'running' (stopped) and 'reset' events the
// test set is re-encoded (a new `test` in the store, to which every feature responds), at most
// once per REFRESH_MS and never two at once (schedule.js); a refresh ends when every feature's
// requests have. Interactive requests (the handle's decode, the drawing's encode, the manifold's
// n) each keep at most one request in flight and run the newest value next.
//
// For tests: window.__explorer = { lastProcessed, lastDrawProcessed, decodeMs, refreshes,
// pointOnPlane(i) }, and data attributes on the elements with data-testid (see
// tests/e2e/explorer.test.mjs).

import { buildLayout } from './layout.js';
import { createStore, initialState, withDimension, withEncodings } from './store.js';
import { statusText } from './format.js';
import { throttle } from './schedule.js';
import { PIXELS } from '../views/digits.js';
import { mountPlane } from './controllers/plane.js';
import { mountGrids } from './controllers/grids.js';
import { mountYours } from './controllers/yours.js';
import { mountInterpolation } from './controllers/interpolation.js';
import { mountPosterior } from './controllers/posterior.js';
import { mountRepair } from './controllers/repair.js';
import { listen } from './controllers/listen.js';
import { Event, messageOf } from '../protocol.js';
import { DATA_SET } from '../client.js';
import { reword, wordsFor } from '../words.js';

/** @typedef {import('./controllers/listen.js').Binding} Binding */

/** Least time between two refreshes of everything while training runs, in ms. */
const REFRESH_MS = 1500;
/** Retry interval while the model or its data are not ready yet, in ms. */
const RETRY_MS = 1000;

/**
 * Builds the explorer inside `root` and keeps it in step with `client`'s model.
 * @param {HTMLElement} root
 * @param {import('../client.js').VaeClient} client
 * @returns {{refresh: () => void, destroy: () => void}}
 */
export function mountExplorer(root, client) {
  const ui = buildLayout(root);
  let destroyed = false;
  let ready = false; // the first encodings have arrived

  function setStatus(text, kind = 'info') {
    ui.status.textContent = text;
    ui.status.dataset.kind = kind;
  }
  function report(error) {
    if (!destroyed) setStatus(`Explorer: ${error?.message ?? error}`, 'error');
  }

  const store = createStore(initialState(wordsFor(client.dataSet)), { onError: report });
  reword(ui.root, store.get().words);
  const unsubscribe = store.subscribe((state, changed) => {
    if (!changed.has('words')) return;
    reword(ui.root, state.words);
    if (state.test) setStatus(statusText(state.test.n, state.step, state.dim, state.words));
  });
  const context = { store, client, report };
  // In this order, so a refresh asks for the handle's decode first, as the user sees it first.
  const plane = mountPlane(ui.plane, context);
  const grids = mountGrids(ui.grids, context);
  const yours = mountYours(ui.yours, context);
  const interpolation = mountInterpolation(ui.interpolation, context);
  const posterior = mountPosterior(ui.posterior, context);
  const repair = mountRepair(ui.repair, context);
  const controllers = [plane, grids, yours, interpolation, posterior, repair];

  const debug = {
    /** Float32Array 784: the last upload's 28×28 input. */
    get lastProcessed() {
      return store.get().yours.upload?.pixels ?? null;
    },
    /** Float32Array 784: the drawing's. */
    get lastDrawProcessed() {
      return store.get().yours.drawing?.pixels ?? null;
    },
    decodeMs: plane.decodeMs, // round trips of the handle's decodes, ms, the last 200
    refreshes: 0,
    pointOnPlane: plane.pointOnPlane,
  };
  Object.assign(window, { __explorer: debug });

  // ---- the refresh cycle ----

  // The test digits themselves (the selected digit's thumbnail, an interpolation end's picture):
  // fetched once per model, and again if the test set changes size.
  let imagesFor = null; // the test set size they were last fetched for; null: fetch again
  // Counts the models (and data sets) the client has had: a reset between a refresh's encodings
  // and its images (the visitor's own images sent meanwhile) makes them disagree, and the refresh
  // the reset asks for fetches both again.
  let generation = 0;

  async function testImages(labels, since) {
    if (typeof client.testImages !== 'function') return null; // a client without them: no thumbnails
    try {
      const { images, labels: imageLabels } = await client.testImages(planeDigits());
      const same = images?.length === labels.length * PIXELS && imageLabels?.length === labels.length && imageLabels.every((label, i) => label === labels[i]);
      if (same) return images;
      if (since !== generation) return null;
      console.warn('client.testImages() does not match client.encodeTest(): thumbnails left out');
    } catch (error) {
      console.warn(`Test images unavailable: ${messageOf(error)}`);
    }
    return null; // the thumbnails then show nothing; the rest works
  }

  // How many test digits the plane shows (the control under the plane; 2,000 unless changed).
  const planeDigitsControl = /** @type {HTMLSelectElement | null} */ (root.querySelector('[data-ref="planeDigits"]'));
  const planeDigits = () => Number(planeDigitsControl?.value) || undefined;

  let retryTimer = 0;
  async function refresh() {
    if (destroyed) return;
    let encodings;
    const since = generation;
    try {
      encodings = await client.encodeTest(planeDigits());
    } catch (error) {
      if (!ready) {
        // The model or its data are not there yet: try again shortly, quietly.
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => refresher.request(), RETRY_MS);
        return;
      }
      throw error;
    }
    const { labels } = encodings;
    let { images } = store.get();
    if (imagesFor !== labels.length) {
      imagesFor = labels.length;
      images = await testImages(labels, since);
    }
    store.update((state) => ({ ...withEncodings(state, encodings), images }));
    if (!ready) {
      ready = true;
      root.dataset.ready = 'true';
    }
    await Promise.all(controllers.map((c) => c.idle()));

    const { dim, step } = store.get();
    debug.refreshes++;
    ui.status.dataset.refreshes = String(debug.refreshes);
    ui.status.dataset.step = String(step);
    setStatus(statusText(labels.length, step, dim, store.get().words));
  }

  const refresher = throttle(refresh, REFRESH_MS, { onError: report });

  // Nobody sees an explorer scrolled out of view: while it is, training events only mark it stale
  // (re-encoding the test set costs training time, a lot on a slow GPU), and it catches up as soon
  // as it comes back into view. The first refresh always runs.
  let visible = true;
  let stale = false;
  const visibility = new IntersectionObserver((entries) => {
    visible = entries.some((entry) => entry.isIntersecting);
    root.dataset.visible = String(visible);
    if (visible && stale) {
      stale = false;
      refresher.request({ immediate: true });
    }
  });
  visibility.observe(root);
  function requestRefresh(options) {
    if (ready && !visible) {
      stale = true;
      return;
    }
    refresher.request(options);
  }

  const off = listen([
    // Another number of digits on the plane: the choice is a prefix of the same class-balanced
    // order, so a selected digit keeps its index.
    ...(planeDigitsControl ? [/** @type {Binding} */ ([planeDigitsControl, 'change', () => refresher.request({ immediate: true })])] : []),
    [client, Event.metrics, (e) => {
      store.update((s) => ({ step: e.detail?.step ?? s.step }));
      requestRefresh();
    }],
    [client, Event.evaluated, () => requestRefresh()],
    [client, Event.running, (e) => {
      if (!e.detail?.running) requestRefresh({ immediate: true });
    }],
    [client, DATA_SET, (e) => store.update({ words: wordsFor(e.detail?.dataSet) })],
    [client, Event.reset, (e) => {
      generation++;
      imagesFor = null;
      store.update({ step: 0 });
      const dim = e.detail?.config?.latentDim;
      if (dim) store.update((s) => withDimension(s, dim));
      requestRefresh({ immediate: true });
    }],
  ]);

  if (client.latentDim) store.update((s) => withDimension(s, client.latentDim));
  refresher.request({ immediate: true });

  return {
    /** Re-encodes and redraws now (still one at a time). */
    refresh: () => refresher.request({ immediate: true }),
    /** Stops listening and refreshing; the DOM stays. */
    destroy() {
      destroyed = true;
      refresher.stop();
      visibility.disconnect();
      clearTimeout(retryTimer);
      off();
      unsubscribe();
      for (const c of controllers) c.destroy();
    },
  };
}
