// The settings form: filled from the settings in effect, read and checked with the model's own
// schema (www/settings.js), Reset flagged while they differ, and Reset applying them.

import { messageOf } from '../protocol.js';
import * as status from '../views/status.js';
import { setPhase, showError } from './page.js';

/** @typedef {import('./page.js').Page} Page */

/** @param {Page} page */
export function fillForm(page, settings) {
  for (const field of page.settingsSpec.fields) {
    const input = /** @type {HTMLInputElement | HTMLSelectElement | null} */ (page.ui.form.elements.namedItem(field.param));
    if (input) input.value = field.format(settings[field.param]);
  }
  markDirty(page);
}

/** @param {Page} page */
export function readForm(page) {
  const texts = {};
  for (const field of page.settingsSpec.fields) {
    const input = /** @type {HTMLInputElement | HTMLSelectElement | null} */ (page.ui.form.elements.namedItem(field.param));
    if (input) texts[field.param] = input.value;
  }
  return page.settingsSpec.parseForm(texts, page.settings);
}

/**
 * Flags the Reset button while the form differs from the settings in effect.
 * @param {Page} page
 */
export function markDirty(page) {
  if (!page.settings) return;
  const { settings } = readForm(page);
  const dirty = page.settingsSpec.fields.some((f) => f.format(settings[f.param]) !== f.format(page.settings[f.param]));
  page.ui.reset.dataset.dirty = String(dirty);
  page.ui.reset.title = dirty ? 'Apply the new settings: a fresh model, trained from the start' : 'Start again from a fresh model';
}

/**
 * The config the worker applied becomes the settings in effect: in the address and the form.
 * @param {Page} page
 */
export function adoptConfig(page, config) {
  page.settings = page.settingsSpec.fromConfig(config, { backend: page.settings.backend, model: page.settings.model });
  page.settingsSpec.writeSettings(page.settings);
  fillForm(page, page.settings);
}

/**
 * The settings in the form, or null after saying what is wrong with them (one message a field).
 * @param {Page} page
 */
export function checkedForm(page) {
  const { settings, errors } = readForm(page);
  status.clearMessages(page.ui.errors, 'form');
  for (const error of errors) showError(page, error.message, { kind: 'error', key: 'form' });
  return errors.length ? null : settings;
}

/**
 * Reset: a fresh model with the settings in the form (a new backend is a new page).
 * @param {Page} page
 */
export async function applyForm(page) {
  const { ui } = page;
  const settings = checkedForm(page);
  if (!settings) return;
  if (settings.backend !== page.settings.backend) {
    // The device is chosen once per worker: a new backend is a new page.
    location.search = page.settingsSpec.toSearch(settings);
    return;
  }
  ui.reset.disabled = true;
  try {
    await page.client.reset(page.settingsSpec.toConfig(settings, page.client.config ?? undefined));
    status.clearMessages(ui.errors, 'url');
  } catch (error) {
    // The worker kept the model (and resumed training if it was running; 'running' says so).
    showError(page, `The new settings were not applied: ${messageOf(error)}`, { key: 'form' });
    setPhase(page, page.phase);
  }
}
