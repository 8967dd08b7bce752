// The boot sequence: check the browser, start the worker and read the settings from the address
// (checked with the model's own schema); then start the model on its device and load the data;
// last, mount the latent-space explorer on the same client.

import { VaeClient } from '../client.js';
import { messageOf } from '../protocol.js';
import { createSettings } from '../settings.js';
import * as status from '../views/status.js';
import { fail, sentence, setPhase, showError } from './page.js';
import { fillForm } from './settings-form.js';

/** @typedef {import('./page.js').Page} Page */

/**
 * Starts the worker (`page.client`) and reads the settings (`page.settings`, in the form too).
 * Returns `{ settings, given }` (`given`: the params the address set), or null when the page
 * cannot go on (it says why and stops).
 * @param {Page} page
 */
export async function startClient(page) {
  setPhase(page, 'starting');
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    fail(page, 'This browser cannot run WebAssembly, which the model is compiled to. A current Chrome, Edge, Firefox or Safari can.');
    return null;
  }
  if (typeof Worker !== 'function') {
    fail(page, 'This browser has no Web Workers, which keep training off the page. A current Chrome, Edge, Firefox or Safari has them.');
    return null;
  }
  page.client = new VaeClient();
  // Which build of the model the worker loads depends on the device and the threads asked for,
  // so they go with the first request (the worker checks them; the settings below say what is
  // wrong with a bad one).
  const query = new URLSearchParams(location.search);
  page.threads = query.get('threads');
  // The settings' defaults and ranges are the model's own (src/config.rs, through the worker).
  try {
    page.settingsSpec = createSettings(await page.client.schema({ backend: query.get('backend') ?? 'auto', threads: page.threads }));
  } catch (error) {
    fail(page, `The model could not start: ${sentence(messageOf(error))}`);
    return null;
  }
  const { settings, errors, given } = page.settingsSpec.readSettings(location.search);
  for (const error of errors) showError(page, error.message, { kind: 'warning', key: 'url' });
  if (errors.length) page.settingsSpec.writeSettings(settings);
  page.settings = settings;
  fillForm(page, settings);
  return { settings, given };
}

/**
 * Starts the model in the worker with the settings (device, model) and loads the data. Returns
 * whether it worked; on failure the page says why and stops.
 * @param {Page} page
 */
export async function startModel(page, settings) {
  const { client, settingsSpec, ui } = page;
  status.showBackend(ui.backend, {
    pending: settings.backend === 'cpu' ? 'Starting the CPU backend…' : 'Looking for WebGPU…',
  });
  let info;
  try {
    // ?faults=1&race=webgpu|cpu (tests): the race's winner, whatever it measures.
    const query = new URLSearchParams(location.search);
    const race = query.get('faults') === '1' ? query.get('race') : null;
    info = await client.ready({ backend: settings.backend, threads: page.threads, config: settingsSpec.toConfig(settings, {}), race });
  } catch (error) {
    const hint = settings.backend === 'webgpu' ? ' To train on the CPU instead, open this page with ?backend=cpu (or auto).' : '';
    fail(page, `The model could not start: ${sentence(messageOf(error))}${hint}`);
    return false;
  }
  if (info.configError) showError(page, info.configError, { kind: 'warning', key: 'url' });
  if (info.threadsNote && page.threads) showError(page, `Training runs on ${info.threads === 1 ? 'one thread' : `${info.threads} threads`}: ${info.threadsNote}.`, { kind: 'warning', key: 'threads' });
  page.settings = settingsSpec.fromConfig(info.config, { backend: settings.backend, model: settings.model });
  fillForm(page, page.settings);
  page.backendInfo = info;
  status.showBackend(ui.backend, info, settings.backend);

  setPhase(page, 'loading');
  status.showProgress(ui.progress, { loaded: 0, total: 0 });
  let counts;
  try {
    counts = await client.loadData((progress) => status.showProgress(ui.progress, progress));
  } catch (error) {
    fail(page, `The MNIST data could not be loaded: ${sentence(messageOf(error))}`);
    return false;
  }
  status.showProgress(ui.progress, { done: true, ...counts });
  ui.progress.dataset.wasmMemoryBefore = String(counts.wasmMemory.before);
  ui.progress.dataset.wasmMemoryAfter = String(counts.wasmMemory.after);
  return true;
}

/**
 * Mounts the latent-space explorer (www/explorer/index.js, loaded only now) on the page's client.
 * @param {Page} page
 */
export async function mountExplorer(page) {
  const { ui } = page;
  const note = ui.explorer.querySelector('[data-part="note"]');
  let module;
  try {
    module = await import('../explorer/index.js');
  } catch (error) {
    if (note) note.textContent = `The latent-space explorer is not available yet (www/explorer/index.js: ${messageOf(error)}).`;
    return;
  }
  try {
    note?.remove();
    await module.mountExplorer(ui.explorer, page.client);
  } catch (error) {
    showError(page, `The latent-space explorer failed to start: ${messageOf(error)}`, { key: 'explorer' });
  }
}
