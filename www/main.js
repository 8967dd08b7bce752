// The controller: makes the page's state (`page`, www/page/page.js) and wires the worker's events
// and the page's controls to the modules of www/page/, one per role. It holds no model (that
// lives in www/worker.js) and draws nothing itself (www/views/* do).
//
//   page/page.js           the shared state, the phase, messages, failing
//   page/boot.js           the boot sequence: browser checks, client, settings from the URL, model,
//                          data, the explorer
//   page/settings-form.js  the settings form, and Reset applying it
//   page/choice.js         the first choice: a trained model, or from scratch (or the saved run)
//   page/resume-download-open.js
//                          runs in and out: resume, Download model, Open model (.vaerun, .bpk)
//   page/divergence.js     a diverged run, and resuming it with a smaller learning rate
//   page/recovery.js       after a crash: a fresh worker, the run saved this visit restored
//   page/readouts.js       the readouts, the chart and the reconstructions
//   page/own-data.js       the data set: MNIST, or the visitor's own images (www/own-data/)
//
// Flow: URL settings -> client.ready (wasm + device + model) -> client.loadData (worker fetches
// data/mnist/*.gz) -> Start/Pause/Reset drive the worker; its events feed the readouts, the
// chart and the reconstructions; the explorer (www/explorer/index.js) is mounted on the same client.
//
// What tests can read, without parsing text:
//   body[data-phase]      boot | starting | loading | ready | running | pausing | paused | failed
//   [data-testid=backend] data-backend (webgpu | cpu), data-adapter, data-state
//   [data-testid=load-progress] data-progress (0..1), data-state (loading | done | failed)
//   readouts              data-step, data-epoch, data-examples-seen, data-examples-per-second,
//                         data-loss, data-reconstruction, data-kl on the elements of the same testid;
//                         test-loss: data-loss, data-step
//   [data-testid=chart]   data-points (training points), data-test-points
//   [data-testid=reconstructions]  data-step (the step its images were taken at)
//   [data-testid=error]   data-count, data-kind; one <li data-kind data-key> per message
//   the data set          www/page/own-data.js's header: data-source, the status's counts, the
//                         contact sheet, the skipped files; the plane: data-points, data-colours

import { DATA_SET, RESTARTED } from './client.js';
import { mountExplorer, startClient, startModel } from './page/boot.js';
import { exploreTrained, offerSavedRun, openAsLinked, prefetchTrained, trainFromScratch } from './page/choice.js';
import { onDiverged } from './page/divergence.js';
import { createPage, fail, setPhase, showError } from './page/page.js';
import { clearReadouts, flushMetrics, queueChart, refreshReconstructions, showEvaluated, showMetrics } from './page/readouts.js';
import { mountDataSet, showSource } from './page/own-data.js';
import { recover } from './page/recovery.js';
import { downloadRun, forgetSaved, noteReached, openModel, resumeSaved, showSaved, writeReached } from './page/resume-download-open.js';
import { adoptConfig, applyForm, markDirty } from './page/settings-form.js';
import { Event } from './protocol.js';
import * as status from './views/status.js';

const page = createPage();

function onRunning({ running }) {
  if (page.phase === 'failed') return;
  setPhase(page, running ? 'running' : 'paused');
  if (!running) refreshReconstructions(page, { force: true });
}

/** The backend race moved on: the badge says where it is, and what it measured. */
function showRace(page, race) {
  if (!page.backendInfo) return;
  page.backendInfo = { ...page.backendInfo, race };
  status.showBackend(page.ui.backend, page.backendInfo, page.settings.backend);
}

/** A new model (reset, or weights loaded): its settings, blank readouts, ready to start. */
function onModelReset({ config }) {
  forgetSaved(page);
  adoptConfig(page, config);
  clearReadouts(page);
  setPhase(page, 'ready');
  queueChart(page);
  refreshReconstructions(page, { force: true });
}

async function main() {
  // The visitor's images can be read while the model and MNIST load.
  mountDataSet(page);
  const started = await startClient(page);
  if (!started) return;
  const { settings, given } = started;
  const { client, ui } = page;
  ui.form.addEventListener('input', () => markDirty(page));
  ui.form.addEventListener('change', () => markDirty(page));
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    applyForm(page);
  });

  // The client's events are CustomEvents: each handler takes the event's detail.
  const on = (type, handle) => client.addEventListener(type, (e) => handle(/** @type {CustomEvent} */ (e).detail));
  on(Event.metrics, (metrics) => {
    showMetrics(page, metrics);
    noteReached(page, metrics.step);
  });
  on(Event.evaluated, (bound) => showEvaluated(page, bound));
  on(Event.running, (detail) => {
    if (!detail.running) flushMetrics(page);
    onRunning(detail);
  });
  on(Event.reset, (detail) => onModelReset(detail));
  on(Event.error, (detail) => showError(page, detail.message));
  on(Event.diverged, (detail) => onDiverged(page, detail));
  on(Event.saved, (detail) => showSaved(page, detail));
  on(Event.race, (detail) => showRace(page, detail));
  on(RESTARTED, (detail) => recover(page, detail.message, detail.backend));
  on(DATA_SET, () => showSource(page));
  // Fault injection, for the end-to-end tests: ?faults=1 exposes a way to crash the module, and
  // to take training steps one call at a time (to compare two builds' losses).
  if (new URLSearchParams(location.search).get('faults') === '1') {
    const faults = {
      panic: () => client.panicForTesting(),
      loseGpu: () => client.loseGpuForTesting(),
      trainSteps: (n) => client.trainStepsForTesting(n),
      raceTrial: () => client.raceTrialForTesting(),
    };
    Object.assign(window, { __faults: faults });
  }
  ui.start.addEventListener('click', () => {
    setPhase(page, 'running');
    client.start();
  });
  ui.pause.addEventListener('click', () => {
    setPhase(page, 'pausing');
    client.pause();
  });
  ui.reset.addEventListener('click', () => applyForm(page));
  ui.loadWeights.addEventListener('change', () => openModel(page));
  new ResizeObserver(() => queueChart(page)).observe(ui.chart);
  queueChart(page);

  prefetchTrained(page, given);
  if (!(await startModel(page, settings))) return;
  setPhase(page, 'ready');
  queueChart(page);
  ui.modeTrained.addEventListener('click', () => exploreTrained(page));
  ui.modeScratch.addEventListener('click', () => trainFromScratch(page));
  ui.modeResume.addEventListener('click', () => resumeSaved(page));
  ui.download.addEventListener('click', () => downloadRun(page));
  // Leaving or hiding the page notes how far the run got, and saves it if there is time (the
  // worker saves every ~10 s while training; www/page/resume-download-open.js).
  const leaving = () => {
    writeReached(page);
    client.save().catch(() => {});
  };
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') leaving();
  });
  window.addEventListener('pagehide', leaving);
  await offerSavedRun(page);
  await openAsLinked(page, given);
  refreshReconstructions(page);
  mountExplorer(page);
}

main().catch((error) => fail(page, `Unexpected error: ${error?.message ?? error}`));
window.addEventListener('error', (event) => showError(page, `Unexpected error: ${event.message}`));
window.addEventListener('unhandledrejection', (event) => showError(page, `Unexpected error: ${event.reason?.message ?? event.reason}`));
