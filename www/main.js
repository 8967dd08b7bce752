// The controller: wires the worker client, the settings and the views. It holds no model (that
// lives in www/worker.js) and draws nothing itself (www/views/* do).
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

import { RESTARTED, VaeClient } from './client.js';
import { Event } from './protocol.js';
import { createSettings } from './state.js';
import { drawChart } from './views/chart.js';
import { drawDigits } from './views/digits.js';
import * as status from './views/status.js';

/** The page's own hooks (`data-ref`); the tests' `data-testid`s are theirs alone. */
const $ = (ref) => document.querySelector(`[data-ref="${ref}"]`);
const RECONSTRUCTIONS = 16;
const RECONSTRUCT_EVERY_MS = 1000;

const ui = {
  backend: $('backend'),
  progress: $('load-progress'),
  errors: $('error'),
  start: $('start'),
  pause: $('pause'),
  reset: $('reset'),
  loadWeights: $('load-weights'),
  form: $('settings'),
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
  chartElbo: $('chart-elbo'),
  chartKl: $('chart-kl'),
  reconstructions: $('reconstructions'),
  originals: $('reconstructions-originals'),
  decoded: $('reconstructions-decoded'),
  explorer: $('explorer'),
  mode: $('mode'),
  modeTrained: $('mode-trained'),
  modeScratch: $('mode-scratch'),
  modeNote: $('mode-note'),
  modeResume: $('mode-resume'),
  modeResumeDetail: $('mode-resume-detail'),
  download: $('download'),
  savedNote: $('saved-note'),
};

/** The models scripts/train-models.sh trains for the page, by latent dimension. */
const TRAINED_MODELS = { 2: 'models/latent2', 20: 'models/latent20' };

/** Everything the chart plots, as parallel arrays (x = examples seen). */
function emptyHistory() {
  return {
    train: { x: [], loss: [], reconstruction: [], kl: [] },
    test: { x: [], loss: [], reconstruction: [], kl: [] },
  };
}

const page = {
  client: null,
  state: null, // the settings' checks and conversions, from the model's schema (state.js)
  settings: null, // the settings in effect (URL params -> values)
  history: emptyHistory(),
  phase: 'boot',
  reconstructing: false,
  reconstructAgain: false,
  lastReconstruction: 0,
  chartQueued: false,
};

function setPhase(phase) {
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

const showError = (message, options) => status.addMessage(ui.errors, message, options);

/** The text with a full stop, unless it already ends a sentence. */
const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

/** Stops the page with a message; nothing after this runs. */
function fail(message) {
  showError(message);
  setPhase('failed');
  status.showBackend(ui.backend, { pending: 'Not running' });
  if (ui.progress.dataset.state !== 'done') status.showProgress(ui.progress, { failed: true });
}

// ---- settings form ---------------------------------------------------------------------------

function fillForm(settings) {
  for (const field of page.state.fields) {
    const input = ui.form.elements.namedItem(field.param);
    if (input) input.value = field.format(settings[field.param]);
  }
  markDirty();
}

function readForm() {
  const texts = {};
  for (const field of page.state.fields) {
    const input = ui.form.elements.namedItem(field.param);
    if (input) texts[field.param] = input.value;
  }
  return page.state.parseForm(texts, page.settings);
}

/** Flags the Reset button while the form differs from the settings in effect. */
function markDirty() {
  if (!page.settings) return;
  const { settings } = readForm();
  const dirty = page.state.fields.some((f) => f.format(settings[f.param]) !== f.format(page.settings[f.param]));
  ui.reset.dataset.dirty = String(dirty);
  ui.reset.title = dirty ? 'Apply the new settings: a fresh model, trained from the start' : 'Start again from a fresh model';
}

async function onReset() {
  const { settings, errors } = readForm();
  status.clearMessages(ui.errors, 'form');
  if (errors.length) {
    for (const error of errors) showError(error.message, { kind: 'error', key: 'form' });
    return;
  }
  if (settings.backend !== page.settings.backend) {
    // The device is chosen once per worker: a new backend is a new page.
    location.search = page.state.toSearch(settings);
    return;
  }
  ui.reset.disabled = true;
  try {
    await page.client.reset(page.state.toConfig(settings, page.client.config ?? undefined));
    status.clearMessages(ui.errors, 'url');
  } catch (error) {
    // The worker kept the model (and resumed training if it was running; 'running' says so).
    showError(`The new settings were not applied: ${error.message}`, { key: 'form' });
    setPhase(page.phase);
  }
}

/** Loads the .bpk (and optional .json config) picked in the weights input into the worker. */
async function onLoadWeights() {
  const files = [...ui.loadWeights.files];
  ui.loadWeights.value = '';
  status.clearMessages(ui.errors, 'weights');
  const run = files.find((f) => f.name.toLowerCase().endsWith('.vaerun'));
  if (run) {
    await openRun(run);
    return;
  }
  const weights = files.find((f) => f.name.toLowerCase().endsWith('.bpk'));
  const configFile = files.find((f) => f.name.toLowerCase().endsWith('.json'));
  if (!weights) {
    showError('Pick a saved run (.vaerun), or the weights file (.bpk) that `vae train --out` wrote with its .json config.', { key: 'weights' });
    return;
  }
  let config = null;
  if (configFile) {
    try {
      config = JSON.parse(await configFile.text());
    } catch (error) {
      showError(`${configFile.name} is not a config file (JSON): ${error.message}`, { key: 'weights' });
      return;
    }
  }
  ui.loadWeights.disabled = true;
  try {
    await page.client.loadWeights(new Uint8Array(await weights.arrayBuffer()), config);
    showError(`Loaded ${weights.name}${configFile ? ` with ${configFile.name}` : ''}: press Start to train on from it.`, { kind: 'info', key: 'weights' });
  } catch (error) {
    showError(`${sentence(`${weights.name} was not loaded: ${error.message}`)} The model in use is kept.`, { key: 'weights' });
  } finally {
    setPhase(page.phase);
  }
}

// ---- runs that survive a reload: saved in the browser, downloaded, opened ----------------------

/** Shows a resumed run: its chart, its readouts, paused where it was. */
function showResumed({ config, step, epoch, examplesSeen, history }, how) {
  page.history = {
    train: { x: [], loss: [], reconstruction: [], kl: [], ...history.train },
    test: { x: [], loss: [], reconstruction: [], kl: [], ...history.test },
  };
  const last = (series, key) => series[key][series[key].length - 1];
  const t = page.history.train;
  status.showMetrics(ui.readouts, {
    step, epoch, epochProgress: 0, examplesSeen, examplesPerSecond: NaN,
    loss: last(t, 'loss'), reconstruction: last(t, 'reconstruction'), kl: last(t, 'kl'),
  });
  const test = page.history.test;
  if (test.x.length) status.showTest(ui.testLoss, { step, loss: last(test, 'loss'), reconstruction: last(test, 'reconstruction'), kl: last(test, 'kl') });
  ui.chart.dataset.points = String(t.x.length);
  ui.chart.dataset.testPoints = String(test.x.length);
  page.settings = page.state.fromConfig(config, { backend: page.settings.backend, model: page.settings.model });
  fillForm(page.settings);
  setPhase('paused');
  showMode('resumed', `${how} at step ${step.toLocaleString('en-US')}: press Resume to train on from exactly where it was.`);
  queueChart();
  refreshReconstructions({ force: true });
}

async function resumeSaved() {
  ui.modeResume.disabled = true;
  try {
    if (page.client.running) page.client.pause();
    showResumed(await page.client.resumeSaved(), 'Your run, resumed from this browser’s storage');
    status.clearMessages(ui.errors, 'runs');
  } catch (error) {
    showError(`The saved run could not be resumed: ${sentence(error.message)} The model in use is kept.`, { key: 'runs' });
  } finally {
    setPhase(page.phase);
  }
}

async function openRun(file) {
  try {
    if (page.client.running) page.client.pause();
    showResumed(await page.client.resume(new Uint8Array(await file.arrayBuffer())), `${file.name} opened`);
    status.clearMessages(ui.errors, 'weights');
  } catch (error) {
    showError(`${sentence(`${file.name} was not opened: ${error.message}`)} The model in use is kept.`, { key: 'weights' });
  } finally {
    setPhase(page.phase);
  }
}

/** Saves the whole run as a file. */
async function downloadRun() {
  ui.download.disabled = true;
  try {
    const bytes = await page.client.checkpoint();
    const step = Number(ui.readouts.step.dataset.step) || 0;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    link.download = `vae-latent${page.settings.latentDim}-step${step}.vaerun`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    showError(`The model could not be downloaded: ${error.message}`, { key: 'runs' });
  } finally {
    setPhase(page.phase);
  }
}

/** Offers the run saved in this browser, if there is one. */
async function offerSavedRun() {
  let saved = null;
  try {
    saved = await page.client.savedRun();
  } catch {
    return;
  }
  if (!saved) return;
  const bound = Number.isFinite(saved.testLoss) ? `, test −ELBO ${saved.testLoss.toFixed(1)}` : '';
  ui.modeResumeDetail.textContent = `step ${saved.step.toLocaleString('en-US')}${bound}, ${saved.latentDim}-D, saved ${new Date(saved.savedAt).toLocaleString()}`;
  ui.modeResume.dataset.step = String(saved.step);
  ui.modeResume.hidden = false;
}

function onSaved({ step, savedAt, bytes, ms }) {
  page.savedThisVisit = true;
  ui.savedNote.dataset.ms = ms.toFixed(1);
  ui.savedNote.dataset.bytes = String(bytes);
  ui.savedNote.textContent = `Saved in this browser at step ${step.toLocaleString('en-US')} (${new Date(savedAt).toLocaleTimeString()}).`;
  ui.savedNote.dataset.step = String(step);
}

// ---- the first choice: a trained model, or training from scratch ------------------------------

function showMode(mode, note) {
  // A resumed run is one trained here: a reload opens from scratch and offers it again.
  page.settings.model = mode === 'resumed' ? 'scratch' : mode;
  page.state.writeSettings(page.settings);
  ui.mode.dataset.mode = mode;
  ui.modeTrained.setAttribute('aria-pressed', String(mode === 'trained'));
  ui.modeScratch.setAttribute('aria-pressed', String(mode === 'scratch'));
  ui.modeResume.setAttribute('aria-pressed', String(mode === 'resumed'));
  if (note !== undefined) ui.modeNote.textContent = note;
}

/** Fetches one of the page's own files as bytes, or says which one is missing. */
async function fetchModelFile(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path} is not on this site (HTTP ${response.status}); run bash scripts/setup.sh to train it`);
  return new Uint8Array(await response.arrayBuffer());
}

/** ", 6 epochs (test −ELBO 155.6)" from the trainer's log beside a trained model, or "". */
async function describeTraining(path) {
  try {
    const response = await fetch(`${path}.log`);
    if (!response.ok) return '';
    const epochs = (await response.text()).split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    const last = epochs[epochs.length - 1];
    return last ? ` for ${last.epoch} epochs (test −ELBO ${last.testLoss.toFixed(1)})` : '';
  } catch {
    return '';
  }
}

/**
 * Loads the natively trained model for the latent dimension in use (2 unless the settings ask
 * for 20) and explores it. Where there is none, says so and trains from scratch instead.
 */
async function exploreTrained() {
  const dim = page.settings.latentDim === 20 ? 20 : 2;
  const path = TRAINED_MODELS[dim];
  ui.modeTrained.disabled = ui.modeScratch.disabled = true;
  ui.modeNote.textContent = `Loading the trained ${dim}-D model…`;
  try {
    const [weights, configBytes] = await Promise.all([fetchModelFile(`${path}.bpk`), fetchModelFile(`${path}.json`)]);
    const config = JSON.parse(new TextDecoder().decode(configBytes));
    if (page.client.running) page.client.pause();
    await page.client.loadWeights(weights, config);
    const how = await describeTraining(path);
    showMode(
      'trained',
      `A ${dim}-D model trained natively on the 60,000 training digits${how}, ready to explore below. ` +
        'Press Start to train it further here, or train one from scratch to watch it learn.',
    );
    status.clearMessages(ui.errors, 'mode');
  } catch (error) {
    showError(`The trained model could not be loaded: ${sentence(error.message)} Training one from scratch instead.`, { kind: 'warning', key: 'mode' });
    await trainFromScratch();
  } finally {
    setPhase(page.phase);
  }
}

/** A fresh model with the settings in the form, training at once: the demo's heart. */
async function trainFromScratch() {
  const { settings, errors } = readForm();
  status.clearMessages(ui.errors, 'form');
  if (errors.length) {
    for (const error of errors) showError(error.message, { kind: 'error', key: 'form' });
    return;
  }
  ui.modeTrained.disabled = ui.modeScratch.disabled = true;
  try {
    await page.client.reset(page.state.toConfig(settings, page.client.config ?? undefined));
    showMode('scratch', 'A fresh model, learning from step 0: watch the bound fall and the latent space take shape.');
    setPhase('running');
    page.client.start();
  } catch (error) {
    showError(`Could not start from scratch: ${error.message}`, { key: 'form' });
  } finally {
    setPhase(page.phase);
  }
}

// ---- events from the worker ------------------------------------------------------------------

function onMetrics(m) {
  const h = page.history.train;
  h.x.push(m.examplesSeen);
  h.loss.push(m.loss);
  h.reconstruction.push(m.reconstruction);
  h.kl.push(m.kl);
  status.showMetrics(ui.readouts, m);
  ui.chart.dataset.points = String(h.x.length);
  queueChart();
  if (performance.now() - page.lastReconstruction > RECONSTRUCT_EVERY_MS) refreshReconstructions();
}

function onEvaluated(ev) {
  const h = page.history.test;
  // A bound for a step already plotted (paused twice at the same step) replaces the old one.
  if (h.x.length && h.x[h.x.length - 1] === ev.examplesSeen) {
    for (const key of ['x', 'loss', 'reconstruction', 'kl']) h[key].pop();
  }
  h.x.push(ev.examplesSeen);
  h.loss.push(ev.loss);
  h.reconstruction.push(ev.reconstruction);
  h.kl.push(ev.kl);
  status.showTest(ui.testLoss, ev);
  ui.chart.dataset.testPoints = String(h.x.length);
  queueChart();
}

function onRunning({ running }) {
  if (page.phase === 'failed') return;
  setPhase(running ? 'running' : 'paused');
  if (!running) refreshReconstructions({ force: true });
}

/** The loss became NaN: the worker undid the chunk and paused; offer a smaller step in one click. */
function onDiverged({ step, learningRate, suggested }) {
  // The chart and the readouts go back with the model.
  const seen = step * (page.client.config?.batchSize ?? 0);
  const h = page.history.train;
  while (h.x.length && h.x[h.x.length - 1] > seen) for (const key of ['x', 'loss', 'reconstruction', 'kl']) h[key].pop();
  ui.chart.dataset.points = String(h.x.length);
  status.setReadout(ui.readouts.step, 'step', step, step.toLocaleString('en-US'));
  status.setReadout(ui.readouts.examplesSeen, 'examples-seen', seen, seen.toLocaleString('en-US'));
  queueChart();
  showError(
    `Training diverged with learning rate ${learningRate}: the loss became NaN. ` +
      `The model was rolled back to step ${step.toLocaleString('en-US')}, the last healthy one, and training paused; nothing was lost.`,
    {
      kind: 'warning',
      key: 'diverged',
      action: {
        label: `Resume with learning rate ${suggested}`,
        run: async () => {
          try {
            const config = await page.client.setLearningRate(suggested);
            page.settings = page.state.fromConfig(config, { backend: page.settings.backend, model: page.settings.model });
            page.state.writeSettings(page.settings);
            fillForm(page.settings);
            setPhase('running');
            page.client.start();
          } catch (error) {
            showError(`The learning rate was not changed: ${error.message}`, { key: 'diverged' });
          }
        },
      },
    },
  );
}

function onModelReset({ config }) {
  page.settings = page.state.fromConfig(config, { backend: page.settings.backend, model: page.settings.model });
  page.state.writeSettings(page.settings);
  fillForm(page.settings);
  page.history = emptyHistory();
  status.showMetrics(ui.readouts, { step: 0, epoch: 0, epochProgress: 0, examplesSeen: 0, examplesPerSecond: NaN, loss: NaN, reconstruction: NaN, kl: NaN });
  status.showTest(ui.testLoss, null);
  ui.chart.dataset.points = '0';
  ui.chart.dataset.testPoints = '0';
  setPhase('ready');
  queueChart();
  refreshReconstructions({ force: true });
}

// ---- views -----------------------------------------------------------------------------------

function queueChart() {
  if (page.chartQueued) return;
  page.chartQueued = true;
  requestAnimationFrame(() => {
    page.chartQueued = false;
    drawCharts();
  });
}

const TRAIN = '#2f5fd0';
const TEST = '#e0601b';

function drawCharts() {
  const { train, test } = page.history;
  const xLabel = 'training examples seen';
  const empty = page.phase === 'ready' ? 'Press Start to train' : 'No training yet';
  drawChart(ui.chartElbo, {
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
  drawChart(ui.chartKl, {
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
 * Asks for the reconstructions of the first test digits; at most one request in flight. A forced
 * refresh asked for while one is in flight (after a reset, a pause) runs again when it is done,
 * so the images always end up showing the current model.
 */
async function refreshReconstructions({ force = false } = {}) {
  if (!page.client) return;
  if (page.reconstructing) {
    page.reconstructAgain ||= force;
    return;
  }
  page.reconstructing = true;
  page.lastReconstruction = performance.now();
  try {
    const step = ui.readouts.step.dataset.step;
    const { originals, reconstructions } = await page.client.reconstruct(RECONSTRUCTIONS);
    drawDigits(ui.originals, originals, RECONSTRUCTIONS, RECONSTRUCTIONS, { scale: 2, gap: 2 });
    drawDigits(ui.decoded, reconstructions, RECONSTRUCTIONS, RECONSTRUCTIONS, { scale: 2, gap: 2 });
    ui.reconstructions.dataset.step = step;
  } catch (error) {
    showError(`Could not draw the reconstructions: ${error.message}`, { key: 'reconstruct' });
  } finally {
    page.reconstructing = false;
    page.lastReconstruction = performance.now();
    if (page.reconstructAgain) {
      page.reconstructAgain = false;
      refreshReconstructions();
    }
  }
}

async function mountExplorer(client) {
  const note = ui.explorer.querySelector('[data-part="note"]');
  let module;
  try {
    module = await import('./explorer/index.js');
  } catch (error) {
    if (note) note.textContent = `The latent-space explorer is not available yet (www/explorer/index.js: ${error.message}).`;
    return;
  }
  try {
    note?.remove();
    await module.mountExplorer(ui.explorer, client);
  } catch (error) {
    showError(`The latent-space explorer failed to start: ${error.message}`, { key: 'explorer' });
  }
}

// ---- start -----------------------------------------------------------------------------------

/**
 * Starts the model in the worker with the settings (device, model) and loads the data. Returns
 * whether it worked; on failure the page says why and stops.
 */
async function boot(settings) {
  const { client, state } = page;
  status.showBackend(ui.backend, {
    pending: settings.backend === 'cpu' ? 'Starting the CPU backend…' : 'Looking for WebGPU…',
  });
  let info;
  try {
    info = await client.ready({ backend: settings.backend, config: state.toConfig(settings, {}) });
  } catch (error) {
    const hint = settings.backend === 'webgpu' ? ' To train on the CPU instead, open this page with ?backend=cpu (or auto).' : '';
    fail(`The model could not start: ${sentence(error.message)}${hint}`);
    return false;
  }
  if (info.configError) showError(info.configError, { kind: 'warning', key: 'url' });
  page.settings = state.fromConfig(info.config, { backend: settings.backend, model: settings.model });
  fillForm(page.settings);
  status.showBackend(ui.backend, info, settings.backend);

  setPhase('loading');
  status.showProgress(ui.progress, { loaded: 0, total: 0 });
  let counts;
  try {
    counts = await client.loadData((progress) => status.showProgress(ui.progress, progress));
  } catch (error) {
    fail(`The MNIST data could not be loaded: ${sentence(error.message)}`);
    return false;
  }
  status.showProgress(ui.progress, { done: true, ...counts });
  ui.progress.dataset.wasmMemoryBefore = String(counts.wasmMemory.before);
  ui.progress.dataset.wasmMemoryAfter = String(counts.wasmMemory.after);
  return true;
}

/**
 * The worker crashed and the client started a fresh one: start the model again and restore the
 * run saved in this browser (saved every ~10 s while training, and on pause), saying what happened.
 */
async function recover(message, backend = null) {
  const at = Number(ui.readouts.step.dataset.step) || 0;
  setPhase('starting');
  // A lost GPU: go on on the CPU (the address says so, so a reload does not go back to it).
  if (backend) {
    page.settings = { ...page.settings, backend };
    page.state.writeSettings(page.settings);
    fillForm(page.settings);
  }
  showError(`${sentence(message)} Restarting the model${backend ? ` on the ${backend.toUpperCase()}` : ''}…`, { kind: 'warning', key: 'crash' });
  if (!(await boot({ ...page.settings }))) return;
  setPhase('ready');
  status.clearMessages(ui.errors, 'crash');
  // Only a run saved during this visit is this run (the one in storage may be an older one).
  let saved = null;
  try {
    saved = page.savedThisVisit ? await page.client.savedRun() : null;
  } catch {
    // No storage: start afresh below.
  }
  if (saved) {
    try {
      showResumed(await page.client.resumeSaved(), 'Restored after a crash');
      const lost = at > saved.step ? ` (the ${(at - saved.step).toLocaleString('en-US')} steps after it were lost)` : '';
      showError(`${sentence(message)} The model was restarted and your run restored from step ${saved.step.toLocaleString('en-US')}${lost}.`, { kind: 'warning', key: 'crash' });
      ui.mode.dataset.recovered = String(saved.step);
      return;
    } catch (error) {
      showError(`The saved run could not be restored: ${error.message}`, { key: 'crash' });
    }
  }
  const why = at > 0 && page.client.backend !== 'cpu' && backend ? ' (runs on WebGPU are not saved yet)' : '';
  showError(`${sentence(message)} The model was restarted; there was no saved run of this visit to restore${why}, so it starts afresh.`, { kind: 'warning', key: 'crash' });
  ui.mode.dataset.recovered = '0';
  await trainFromScratch();
}

async function main() {
  setPhase('starting');
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    return fail('This browser cannot run WebAssembly, which the model is compiled to. A current Chrome, Edge, Firefox or Safari can.');
  }
  if (typeof Worker !== 'function') {
    return fail('This browser has no Web Workers, which keep training off the page. A current Chrome, Edge, Firefox or Safari has them.');
  }

  const client = new VaeClient();
  page.client = client;
  // The settings' defaults and ranges are the model's own (src/config.rs, through the worker).
  try {
    page.state = createSettings(await client.schema());
  } catch (error) {
    return fail(`The model could not start: ${sentence(error.message)}`);
  }
  const state = page.state;
  const { settings, errors } = state.readSettings(location.search);
  for (const error of errors) showError(error.message, { kind: 'warning', key: 'url' });
  if (errors.length) state.writeSettings(settings);
  page.settings = settings;
  fillForm(settings);
  ui.form.addEventListener('input', markDirty);
  ui.form.addEventListener('change', markDirty);
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    onReset();
  });

  client.addEventListener(Event.metrics, (e) => onMetrics(e.detail));
  client.addEventListener(Event.evaluated, (e) => onEvaluated(e.detail));
  client.addEventListener(Event.running, (e) => onRunning(e.detail));
  client.addEventListener(Event.reset, (e) => onModelReset(e.detail));
  client.addEventListener(Event.error, (e) => showError(e.detail.message));
  client.addEventListener(Event.diverged, (e) => onDiverged(e.detail));
  client.addEventListener(Event.saved, (e) => onSaved(e.detail));
  client.addEventListener(RESTARTED, (e) => recover(e.detail.message, e.detail.backend));
  // Fault injection, for the end-to-end tests: ?faults=1 exposes a way to crash the module.
  if (new URLSearchParams(location.search).get('faults') === '1') window.__faults = { panic: () => client.panicForTesting(), loseGpu: () => client.loseGpuForTesting() };
  ui.start.addEventListener('click', () => {
    setPhase('running');
    client.start();
  });
  ui.pause.addEventListener('click', () => {
    setPhase('pausing');
    client.pause();
  });
  ui.reset.addEventListener('click', onReset);
  ui.loadWeights.addEventListener('change', onLoadWeights);
  new ResizeObserver(queueChart).observe(ui.chart);
  queueChart();

  if (!(await boot(settings))) return;
  setPhase('ready');
  queueChart();
  ui.modeTrained.addEventListener('click', exploreTrained);
  ui.modeScratch.addEventListener('click', trainFromScratch);
  ui.modeResume.addEventListener('click', resumeSaved);
  ui.download.addEventListener('click', downloadRun);
  // Leaving or hiding the page saves the run (the worker saves every ~10 s while training too).
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') client.save().catch(() => {});
  });
  window.addEventListener('pagehide', () => client.save().catch(() => {}));
  await offerSavedRun();
  if (settings.model === 'trained') {
    await exploreTrained();
  } else {
    showMode('scratch', 'A fresh model at step 0: press Start to watch it learn, or explore a trained model now.');
  }
  refreshReconstructions();
  mountExplorer(client);
}

main().catch((error) => fail(`Unexpected error: ${error?.message ?? error}`));
window.addEventListener('error', (event) => showError(`Unexpected error: ${event.message}`));
window.addEventListener('unhandledrejection', (event) => showError(`Unexpected error: ${event.reason?.message ?? event.reason}`));
