// Runs in and out of the page: the run saved in this browser resumed, the whole run downloaded as
// a .vaerun file ("Download model"), a .vaerun or the native trainer's .bpk + .json opened
// ("Open model"), and the note that says when the worker last saved.
//
// The worker saves the run every ~10 s; a reload or a closed tab must not lose the steps after
// that save. The page cannot save 8 MB while it unloads, but it can note, synchronously, how far
// the run got past the save (`REACHED_KEY`, in localStorage); resuming then takes those steps
// again, which gives the same run, since a resumed run continues exactly as it went.

import { ErrorKind, kindOf, messageOf } from '../protocol.js';
import * as status from '../views/status.js';
import { showMode } from './choice.js';
import { bringData } from './own-data.js';
import { sentence, setPhase, showError } from './page.js';
import { queueChart, refreshReconstructions, showHistory } from './readouts.js';
import { fillForm } from './settings-form.js';

/** @typedef {import('./page.js').Page} Page */

/** The step the run has reached past its last save: `{ savedAt, step }` of that save, and the step. */
const REACHED_KEY = 'vae-web:reached';
/** How often, at most, the step reached is written while training (and always when the page hides). */
const NOTE_REACHED_EVERY_MS = 1000;

/**
 * Shows a resumed run (protocol.js's Resumed): its chart, its readouts, where it was. `mode`:
 * 'resumed' (paused, Start says Resume), or 'trained' (a trained model opened on arrival).
 * @param {Page} page
 */
export function showResumed(page, resumed, note, mode = 'resumed') {
  showHistory(page, resumed);
  page.settings = page.settingsSpec.fromConfig(resumed.config, { backend: page.settings.backend, model: page.settings.model });
  fillForm(page, page.settings);
  setPhase(page, mode === 'resumed' ? 'paused' : 'ready');
  showMode(page, mode, mode === 'resumed' ? `${note} at step ${resumed.step.toLocaleString('en-US')}: press Resume to train on from exactly where it was.` : note);
  queueChart(page);
  refreshReconstructions(page, { force: true });
}

/**
 * "Resume where you left off": the saved run, trained on to the step the page had reached.
 * @param {Page} page
 */
export async function resumeSaved(page) {
  const { ui } = page;
  const offered = page.offered;
  ui.modeResume.disabled = true;
  try {
    if (page.client.running) page.client.pause();
    const toStep = offered && offered.reached > offered.step ? offered.reached : null;
    // The run's own data first (the visitor's images, kept in this browser beside it).
    await bringData(page, offered?.dataSet ?? null);
    const onProgress = ({ done, total }) => {
      ui.modeNote.textContent = `Taking the ${total.toLocaleString('en-US')} steps after the last save again: ${done.toLocaleString('en-US')} done…`;
    };
    const resumed = await page.client.resumeSaved({ toStep, onProgress });
    if (offered) page.saved = { savedAt: offered.savedAt, step: offered.step };
    showResumed(page, resumed, 'Your run, resumed from this browser’s storage');
    status.clearMessages(ui.errors, 'runs');
  } catch (error) {
    showError(page, `The saved run could not be resumed: ${sentence(messageOf(error))} The model in use is kept.`, { key: 'runs' });
  } finally {
    setPhase(page, page.phase);
  }
}

/**
 * A chunk of the run was trained: notes the step reached (at most every NOTE_REACHED_EVERY_MS).
 * @param {Page} page
 */
export function noteReached(page, step) {
  page.reached = step;
  if (performance.now() - page.reachedNotedAt >= NOTE_REACHED_EVERY_MS) writeReached(page);
}

/**
 * The run in the worker is another one now (reset, opened, loaded): no save of it yet.
 * @param {Page} page
 */
export function forgetSaved(page) {
  page.saved = null;
  page.reached = 0;
}

/**
 * Notes the step reached beside the run's last save, now (called when the page hides or unloads:
 * localStorage is written before the call returns).
 * @param {Page} page
 */
export function writeReached(page) {
  page.reachedNotedAt = performance.now();
  if (!page.saved || !(page.reached > page.saved.step)) return;
  try {
    localStorage.setItem(REACHED_KEY, JSON.stringify({ savedAt: page.saved.savedAt, step: page.reached }));
  } catch {
    // No storage (a private window): the run goes back to its last save.
  }
}

/** The step the run saved as `saved` (Request.savedRun's answer) had reached, at least its own. */
export function reachedAfter(saved) {
  try {
    const noted = JSON.parse(localStorage.getItem(REACHED_KEY) ?? 'null');
    if (noted?.savedAt === saved.savedAt && Number.isSafeInteger(noted.step) && noted.step > saved.step) return noted.step;
  } catch {
    // Unreadable: nothing noted.
  }
  return saved.step;
}

/** @param {Page} page */
async function openRun(page, file) {
  try {
    if (page.client.running) page.client.pause();
    const resumed = await page.client.resume(new Uint8Array(await file.arrayBuffer()));
    showResumed(page, resumed, `${file.name} opened`);
    status.clearMessages(page.ui.errors, 'weights');
  } catch (error) {
    // A run of other data is refused (the worker reads the data set it records first); the data
    // are not in the file, so the visitor gives them first (the same images make the same set).
    const hint = kindOf(error) === ErrorKind.record ? ' A run trained on your own images opens once the model has them: choose them under Data set, press Train on these, then open the run again.' : '';
    showError(page, `${sentence(`${file.name} was not opened: ${messageOf(error)}`)} The model in use is kept.${hint}`, { key: 'weights' });
  } finally {
    setPhase(page, page.phase);
  }
}

/**
 * "Open model": a saved run (.vaerun), or the .bpk (and optional .json config) of `vae train --out`.
 * @param {Page} page
 */
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
      showError(page, `${configFile.name} is not a config file (JSON): ${messageOf(error)}`, { key: 'weights' });
      return;
    }
  }
  ui.loadWeights.disabled = true;
  try {
    await page.client.loadWeights(new Uint8Array(await weights.arrayBuffer()), config);
    showError(page, `Loaded ${weights.name}${configFile ? ` with ${configFile.name}` : ''}: press Start to train on from it.`, { kind: 'info', key: 'weights' });
  } catch (error) {
    showError(page, `${sentence(`${weights.name} was not loaded: ${messageOf(error)}`)} The model in use is kept.`, { key: 'weights' });
  } finally {
    setPhase(page, page.phase);
  }
}

/**
 * "Download model": saves the whole run as a file.
 * @param {Page} page
 */
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
    showError(page, `The model could not be downloaded: ${messageOf(error)}`, { key: 'runs' });
  } finally {
    setPhase(page, page.phase);
  }
}

/**
 * The worker saved the run in this browser.
 * @param {Page} page
 */
export function showSaved(page, { step, savedAt, bytes, ms, readMs }) {
  const note = page.ui.savedNote;
  page.savedThisVisit = true;
  page.saved = { savedAt, step };
  writeReached(page);
  note.dataset.ms = ms.toFixed(1);
  note.dataset.readMs = readMs.toFixed(1);
  note.dataset.bytes = String(bytes);
  note.textContent = `Saved in this browser at step ${step.toLocaleString('en-US')} (${new Date(savedAt).toLocaleTimeString()}).`;
  note.dataset.step = String(step);
}
