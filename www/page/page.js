// The page's state, in one object (`page`) that www/main.js makes and hands to every module of
// www/page/ (none keeps state in variables of its own): the elements it writes to (`page.ui`),
// the worker's client, the settings, the chart's history and the phase. And what every role does
// with it: set the phase, show a message, stop.

import { emptyHistory } from '../chart-history.js';
import * as status from '../views/status.js';

/** The page's own hooks (`data-ref`); the tests' `data-testid`s are theirs alone. */
const $ = (ref) => /** @type {HTMLElement} */ (document.querySelector(`[data-ref="${ref}"]`));
// The elements whose own properties the page uses, by their kind in index.html.
const button = (ref) => /** @type {HTMLButtonElement} */ ($(ref));
const canvas = (ref) => /** @type {HTMLCanvasElement} */ ($(ref));

function findElements() {
  return {
    backend: $('backend'),
    progress: $('load-progress'),
    errors: $('error'),
    start: button('start'),
    pause: button('pause'),
    reset: button('reset'),
    loadWeights: /** @type {HTMLInputElement} */ ($('load-weights')),
    form: /** @type {HTMLFormElement} */ ($('settings')),
    readouts: {
      epoch: $('epoch'),
      step: $('step'),
      examplesSeen: $('examples-seen'),
      examplesPerSecond: $('examples-per-second'),
      loss: $('loss'),
      reconstruction: $('reconstruction'),
      kl: $('kl'),
    },
    testLoss: $('test-loss'),
    chart: $('chart'),
    chartElbo: canvas('chart-elbo'),
    chartKl: canvas('chart-kl'),
    results: $('results'),
    reconstructions: $('reconstructions'),
    originals: canvas('reconstructions-originals'),
    decoded: canvas('reconstructions-decoded'),
    explorer: $('explorer'),
    mode: $('mode'),
    modeTrained: button('mode-trained'),
    modeScratch: button('mode-scratch'),
    modeNote: $('mode-note'),
    modeResume: button('mode-resume'),
    modeResumeDetail: $('mode-resume-detail'),
    download: button('download'),
    savedNote: $('saved-note'),
  };
}


/** @typedef {ReturnType<typeof createPage>} Page */

export function createPage() {
  return {
    ui: findElements(),
    client: /** @type {import('../client.js').VaeClient} */ (null),
    settingsSpec: /** @type {ReturnType<typeof import('../settings.js').createSettings>} */ (null), // the settings' fields, checks and conversions, from the model's schema (www/settings.js)
    settings: null, // the settings in effect (URL params -> values)
    backendInfo: null, // the worker's ReadyInfo, with the backend race's latest news (the badge)
    history: emptyHistory(),
    phase: 'boot',
    savedThisVisit: false, // a run was saved in this browser during this visit (so it is this run)
    saved: null, // { savedAt, step } of the run in the worker as it was last saved (www/page/resume-download-open.js)
    reached: 0, // the step that run has reached
    reachedNotedAt: -Infinity,
    offered: null, // the saved run "Resume where you left off" offers: { savedAt, step, reached, dataSet }
    own: null, // the data set's controls and the visitor's images read (www/page/own-data.js)
    prefetched: null, // the trained run being fetched while the data arrive: { path, bytes: Promise }
    reconstructing: false,
    reconstructAgain: false,
    lastReconstruction: 0,
    chartQueued: false,
    chartTimer: null, // a drawing of the charts waiting for its turn (readouts.js)
    lastChartAt: -Infinity,
    pendingMetrics: null, // the latest chunk's metrics, not shown yet (readouts.js)
    metricsTimer: null,
    lastMetricsShown: 0,
  };
}

/** @param {Page} page */
export function setPhase(page, phase) {
  const { ui } = page;
  page.phase = phase;
  document.body.dataset.phase = phase;
  const usable = ['ready', 'running', 'pausing', 'paused'].includes(phase);
  ui.modeTrained.disabled = ui.modeScratch.disabled = ui.modeResume.disabled = !usable;
  ui.download.disabled = !usable;
  ui.start.disabled = !(phase === 'ready' || phase === 'paused');
  ui.pause.disabled = phase !== 'running';
  ui.reset.disabled = !usable;
  ui.loadWeights.disabled = !usable;
  ui.pause.textContent = phase === 'pausing' ? 'Pausing…' : 'Pause';
  ui.start.textContent = phase === 'paused' ? 'Resume' : 'Start';
}

/** @param {Page} page */
export const showError = (page, message, options) => status.addMessage(page.ui.errors, message, options);

/** The text with a full stop, unless it already ends a sentence. */
export const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

/**
 * Stops the page with a message; nothing after this runs.
 * @param {Page} page
 */
export function fail(page, message) {
  showError(page, message);
  setPhase(page, 'failed');
  status.showBackend(page.ui.backend, { pending: 'Not running' });
  if (page.ui.progress.dataset.state !== 'done') status.showProgress(page.ui.progress, { failed: true });
}
