// Runs in and out of the page: the run saved in this browser resumed, the whole run downloaded as
// a .vaerun file ("Download model"), a .vaerun or the native trainer's .bpk + .json opened
// ("Open model"), and the note that says when the worker last saved.

import * as status from '../views/status.js';
import { showMode } from './choice.js';
import { sentence, setPhase, showError } from './page.js';
import { queueChart, refreshReconstructions, showHistory } from './readouts.js';
import { fillForm } from './settings-form.js';

/** Shows a resumed run (protocol.js's Resumed): its chart, its readouts, paused where it was. */
export function showResumed(page, resumed, how) {
  showHistory(page, resumed);
  page.settings = page.state.fromConfig(resumed.config, { backend: page.settings.backend, model: page.settings.model });
  fillForm(page, page.settings);
  setPhase(page, 'paused');
  showMode(page, 'resumed', `${how} at step ${resumed.step.toLocaleString('en-US')}: press Resume to train on from exactly where it was.`);
  queueChart(page);
  refreshReconstructions(page, { force: true });
}

export async function resumeSaved(page) {
  page.ui.modeResume.disabled = true;
  try {
    if (page.client.running) page.client.pause();
    showResumed(page, await page.client.resumeSaved(), 'Your run, resumed from this browser’s storage');
    status.clearMessages(page.ui.errors, 'runs');
  } catch (error) {
    showError(page, `The saved run could not be resumed: ${sentence(error.message)} The model in use is kept.`, { key: 'runs' });
  } finally {
    setPhase(page, page.phase);
  }
}

async function openRun(page, file) {
  try {
    if (page.client.running) page.client.pause();
    showResumed(page, await page.client.resume(new Uint8Array(await file.arrayBuffer())), `${file.name} opened`);
    status.clearMessages(page.ui.errors, 'weights');
  } catch (error) {
    showError(page, `${sentence(`${file.name} was not opened: ${error.message}`)} The model in use is kept.`, { key: 'weights' });
  } finally {
    setPhase(page, page.phase);
  }
}

/** "Open model": a saved run (.vaerun), or the .bpk (and optional .json config) of `vae train --out`. */
export async function openModel(page) {
  const { ui } = page;
  const files = [...ui.loadWeights.files];
  ui.loadWeights.value = '';
  status.clearMessages(ui.errors, 'weights');
  const run = files.find((f) => f.name.toLowerCase().endsWith('.vaerun'));
  if (run) {
    await openRun(page, run);
    return;
  }
  const weights = files.find((f) => f.name.toLowerCase().endsWith('.bpk'));
  const configFile = files.find((f) => f.name.toLowerCase().endsWith('.json'));
  if (!weights) {
    showError(page, 'Pick a saved run (.vaerun), or the weights file (.bpk) that `vae train --out` wrote with its .json config.', { key: 'weights' });
    return;
  }
  let config = null;
  if (configFile) {
    try {
      config = JSON.parse(await configFile.text());
    } catch (error) {
      showError(page, `${configFile.name} is not a config file (JSON): ${error.message}`, { key: 'weights' });
      return;
    }
  }
  ui.loadWeights.disabled = true;
  try {
    await page.client.loadWeights(new Uint8Array(await weights.arrayBuffer()), config);
    showError(page, `Loaded ${weights.name}${configFile ? ` with ${configFile.name}` : ''}: press Start to train on from it.`, { kind: 'info', key: 'weights' });
  } catch (error) {
    showError(page, `${sentence(`${weights.name} was not loaded: ${error.message}`)} The model in use is kept.`, { key: 'weights' });
  } finally {
    setPhase(page, page.phase);
  }
}

/** "Download model": saves the whole run as a file. */
export async function downloadRun(page) {
  const { ui } = page;
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
    showError(page, `The model could not be downloaded: ${error.message}`, { key: 'runs' });
  } finally {
    setPhase(page, page.phase);
  }
}

/** The worker saved the run in this browser. */
export function showSaved(page, { step, savedAt, bytes, ms, readMs }) {
  const note = page.ui.savedNote;
  page.savedThisVisit = true;
  note.dataset.ms = ms.toFixed(1);
  note.dataset.readMs = readMs.toFixed(1);
  note.dataset.bytes = String(bytes);
  note.textContent = `Saved in this browser at step ${step.toLocaleString('en-US')} (${new Date(savedAt).toLocaleTimeString()}).`;
  note.dataset.step = String(step);
}
