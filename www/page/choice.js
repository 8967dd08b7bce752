// The first choice: explore a model trained natively, train one from scratch, or (offered when
// this browser holds one) resume the run saved here (the resuming itself is in runs.js).

import * as status from '../views/status.js';
import { sentence, setPhase, showError } from './page.js';
import { checkedForm } from './settings-form.js';

/** The models scripts/train-models.sh trains for the page, by latent dimension. */
const TRAINED_MODELS = { 2: 'models/latent2', 20: 'models/latent20' };

/** Marks `mode` ('trained' | 'scratch' | 'resumed') as the one in use, with its note. */
export function showMode(page, mode, note) {
  const { ui } = page;
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
export async function exploreTrained(page) {
  const { ui } = page;
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
      page,
      'trained',
      `A ${dim}-D model trained natively on the 60,000 training digits${how}, ready to explore below. ` +
        'Press Start to train it further here, or train one from scratch to watch it learn.',
    );
    status.clearMessages(ui.errors, 'mode');
  } catch (error) {
    showError(page, `The trained model could not be loaded: ${sentence(error.message)} Training one from scratch instead.`, { kind: 'warning', key: 'mode' });
    await trainFromScratch(page);
  } finally {
    setPhase(page, page.phase);
  }
}

/** A fresh model with the settings in the form, training at once: the demo's heart. */
export async function trainFromScratch(page) {
  const { ui } = page;
  const settings = checkedForm(page);
  if (!settings) return;
  ui.modeTrained.disabled = ui.modeScratch.disabled = true;
  try {
    await page.client.reset(page.state.toConfig(settings, page.client.config ?? undefined));
    showMode(page, 'scratch', 'A fresh model, learning from step 0: watch the bound fall and the latent space take shape.');
    setPhase(page, 'running');
    page.client.start();
  } catch (error) {
    showError(page, `Could not start from scratch: ${error.message}`, { key: 'form' });
  } finally {
    setPhase(page, page.phase);
  }
}

/** Offers the run saved in this browser, if there is one. */
export async function offerSavedRun(page) {
  const { ui } = page;
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
