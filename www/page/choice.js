// The first choice: explore a model trained natively, train one from scratch, or (offered when
// this browser holds one) resume the run saved here (the resuming itself is in resume-download-open.js). A link
// whose settings the trained model does not have opens on a fresh model with them.

import { messageOf } from '../protocol.js';
import * as status from '../views/status.js';
import { sentence, setPhase, showError } from './page.js';
import { bringData } from './own-data.js';
import { reachedAfter, showResumed } from './resume-download-open.js';
import { checkedForm } from './settings-form.js';

/** @typedef {import('./page.js').Page} Page */

/**
 * The runs scripts/train-models.sh trains for the page, by latent dimension: `.vaerun` (the whole
 * run: weights, optimizer state, its chart) and `.log` (its config, then a line per epoch).
 */
const TRAINED_MODELS = { 2: 'models/latent2', 20: 'models/latent20' };

/**
 * Marks `mode` ('trained' | 'scratch' | 'resumed') as the one in use, with its note.
 * @param {Page} page
 */
export function showMode(page, mode, note) {
  const { ui } = page;
  // A resumed run is one trained here: a reload opens from scratch and offers it again.
  page.settings.model = mode === 'resumed' ? 'scratch' : mode;
  page.settingsSpec.writeSettings(page.settings);
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

/** The trained run's file for a latent dimension (2 unless there is one of that dimension). */
const runFile = (latentDim) => `${TRAINED_MODELS[TRAINED_MODELS[latentDim] ? latentDim : 2]}.vaerun`;

/**
 * Starts fetching the trained run the page will open on, while the data arrive: an address that
 * names no model settings opens on it (www/main.js). Taken by `exploreTrained`.
 * @param {Page} page
 */
export function prefetchTrained(page, given) {
  if (page.settings.model === 'scratch' || page.settingsSpec.fields.some((field) => field.key && given.has(field.param))) return;
  const path = runFile(page.settings.latentDim);
  const bytes = fetchModelFile(path);
  bytes.catch(() => {}); // reported when it is taken
  page.prefetched = { path, bytes };
}

/**
 * The bytes of a trained run: the prefetched ones (once) or fetched now.
 * @param {Page} page
 */
function trainedRunBytes(page, path) {
  const prefetched = page.prefetched;
  page.prefetched = null;
  return prefetched?.path === path ? prefetched.bytes : fetchModelFile(path);
}

/** The config a trained model was trained with: the first line of its log (`vae train --json`). */
async function trainedConfig(path) {
  const response = await fetch(`${path}.log`);
  if (!response.ok) throw new Error(`${path}.log is not on this site (HTTP ${response.status}); run bash scripts/setup.sh to train it`);
  const first = JSON.parse((await response.text()).split('\n', 1)[0]);
  if (!first?.config) throw new Error(`${path}.log does not start with the model's config`);
  return first.config;
}

/**
 * How a link's settings (`given`: the params the address set) differ from the trained model's:
 * `[{ label, linked, trained }]` texts, empty when the trained model has them all. Null when no
 * trained model has the link's latent dimension.
 * @param {Page} page
 */
export async function linkDifferences(page, given) {
  const path = TRAINED_MODELS[page.settings.latentDim];
  if (!path) return null;
  const config = page.settingsSpec.fromConfig(await trainedConfig(path));
  return page.settingsSpec.fields
    .filter((field) => field.key && given.has(field.param))
    .filter((field) => field.format(config[field.param]) !== field.format(page.settings[field.param]))
    .map((field) => ({ label: field.label.toLowerCase(), linked: field.format(page.settings[field.param]), trained: field.format(config[field.param]) }));
}

/**
 * Opens on what the address asks for: the trained model, unless the link names settings it was
 * not trained with (then a fresh model with them, saying why) or asks for a fresh one.
 * @param {Page} page
 */
export async function openAsLinked(page, given) {
  if (page.settings.model === 'scratch') {
    showMode(page, 'scratch', 'A fresh model at step 0: press Start to watch it learn, or explore a trained model now.');
    return;
  }
  let differences;
  try {
    differences = await linkDifferences(page, given);
  } catch (error) {
    showError(page, `The trained model could not be loaded: ${sentence(messageOf(error))} A fresh model instead.`, { kind: 'warning', key: 'mode' });
    showMode(page, 'scratch', 'A fresh model at step 0: press Start to watch it learn.');
    return;
  }
  if (differences === null) {
    showMode(page, 'scratch', `This link asks for a ${page.settings.latentDim}-D latent space, and the trained models have 2 or 20 dimensions: a fresh ${page.settings.latentDim}-D model, at step 0. Press Start to watch it learn.`);
  } else if (differences.length) {
    const list = (key) => differences.map((d) => `${d.label} ${d[key]}`).join(', ');
    showMode(page, 'scratch', `This link sets ${list('linked')}; the trained model has ${list('trained')}. So here is a fresh model with the link's settings, at step 0: press Start to watch it learn, or explore the trained model instead.`);
  } else {
    await exploreTrained(page);
  }
}

/**
 * Opens the run trained natively for the latent dimension in use (2 unless the settings ask for
 * 20), with its chart, to explore it or train it on. Where there is none, says so and trains from
 * scratch instead.
 * @param {Page} page
 */
export async function exploreTrained(page) {
  const { ui } = page;
  const dim = TRAINED_MODELS[page.settings.latentDim] ? page.settings.latentDim : 2;
  ui.modeTrained.disabled = ui.modeScratch.disabled = true;
  ui.modeNote.textContent = `Loading the trained ${dim}-D model…`;
  try {
    const bytes = await trainedRunBytes(page, runFile(dim));
    if (page.client.running) page.client.pause();
    await bringData(page, null); // the trained models learned MNIST
    const resumed = await page.client.resume(bytes);
    const test = resumed.history.test;
    const bound = test.loss.length ? ` (test −ELBO ${test.loss[test.loss.length - 1].toFixed(1)})` : '';
    showResumed(
      page,
      resumed,
      `A ${dim}-D model trained natively on the 60,000 training digits for ${Math.round(resumed.epoch + resumed.epochProgress)} epochs${bound}, ready to explore below. ` +
        'Press Start to train it on here from where it stopped, or train one from scratch to watch it learn.',
      'trained',
    );
    status.clearMessages(ui.errors, 'mode');
  } catch (error) {
    showError(page, `The trained model could not be loaded: ${sentence(messageOf(error))} Training one from scratch instead.`, { kind: 'warning', key: 'mode' });
    await trainFromScratch(page);
  } finally {
    setPhase(page, page.phase);
  }
}

/**
 * A fresh model with the settings in the form, training at once: the demo's heart.
 * @param {Page} page
 */
export async function trainFromScratch(page) {
  const { ui } = page;
  const settings = checkedForm(page);
  if (!settings) return;
  ui.modeTrained.disabled = ui.modeScratch.disabled = true;
  try {
    await page.client.reset(page.settingsSpec.toConfig(settings, page.client.config ?? undefined));
    showMode(page, 'scratch', 'A fresh model, learning from step 0: watch the bound fall and the latent space take shape.');
    setPhase(page, 'running');
    page.client.start();
  } catch (error) {
    showError(page, `Could not start from scratch: ${messageOf(error)}`, { key: 'form' });
  } finally {
    setPhase(page, page.phase);
  }
}

/**
 * Offers the run saved in this browser, if there is one.
 * @param {Page} page
 */
export async function offerSavedRun(page) {
  const { ui } = page;
  let saved = null;
  try {
    saved = await page.client.savedRun();
  } catch {
    return;
  }
  if (!saved) return;
  const reached = reachedAfter(saved);
  page.offered = { savedAt: saved.savedAt, step: saved.step, reached, dataSet: saved.dataSet ?? null };
  const bound = Number.isFinite(saved.testLoss) ? `, test −ELBO ${saved.testLoss.toFixed(1)}` : '';
  const data = saved.dataSet ? `, on your images "${saved.dataSet.name}"` : '';
  ui.modeResumeDetail.textContent = `step ${reached.toLocaleString('en-US')}${bound}, ${saved.latentDim}-D${data}, saved ${new Date(saved.savedAt).toLocaleString()}`;
  ui.modeResume.dataset.step = String(reached);
  ui.modeResume.hidden = false;
}
