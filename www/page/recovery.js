// Crash recovery: the worker crashed (its module trapped, or its GPU device was lost) and the
// client started a fresh one. Start the model again (on the CPU after a lost GPU) and restore the
// run saved in this browser during this visit, saying what happened; without one, start afresh.

import { messageOf } from '../protocol.js';
import * as status from '../views/status.js';
import { startModel } from './boot.js';
import { trainFromScratch } from './choice.js';
import { bringData, showSource } from './own-data.js';
import { sentence, setPhase, showError } from './page.js';
import { showResumed } from './resume-download-open.js';
import { fillForm } from './settings-form.js';

/** @typedef {import('./page.js').Page} Page */

/**
 * Handles the client's 'restarted' event: `message` says why, `backend` is the way on (or null).
 * @param {Page} page
 */
export async function recover(page, message, backend = null) {
  const { ui } = page;
  const at = Number(ui.readouts.step.dataset.step) || 0;
  setPhase(page, 'starting');
  // A lost GPU: go on on the CPU (the address says so, so a reload does not go back to it).
  if (backend) {
    page.settings = { ...page.settings, backend };
    page.settingsSpec.writeSettings(page.settings);
    fillForm(page, page.settings);
  }
  showError(page, `${sentence(message)} Restarting the model${backend ? ` on the ${backend.toUpperCase()}` : ''}…`, { kind: 'warning', key: 'crash' });
  if (!(await startModel(page, { ...page.settings }))) return;
  showSource(page); // a fresh worker has MNIST
  setPhase(page, 'ready');
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
      await bringData(page, saved.dataSet ?? null);
      showResumed(page, await page.client.resumeSaved(), 'Restored after a crash');
      const lost = at > saved.step ? ` (the ${(at - saved.step).toLocaleString('en-US')} steps after it were lost)` : '';
      showError(page, `${sentence(message)} The model was restarted and your run restored from step ${saved.step.toLocaleString('en-US')}${lost}.`, { kind: 'warning', key: 'crash' });
      ui.mode.dataset.recovered = String(saved.step);
      return;
    } catch (error) {
      showError(page, `The saved run could not be restored: ${messageOf(error)}`, { key: 'crash' });
    }
  }
  showError(page, `${sentence(message)} The model was restarted; there was no saved run of this visit to restore, so it starts afresh.`, { kind: 'warning', key: 'crash' });
  ui.mode.dataset.recovered = '0';
  await trainFromScratch(page);
}
