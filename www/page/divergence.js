// A run that diverged: the loss became NaN, the worker rolled the model back to the start of its
// last healthy chunk and paused. The chart and the readouts go back with it, and a smaller
// learning rate is one click away.

import { messageOf } from '../protocol.js';
import { setPhase, showError } from './page.js';
import { rollBack } from './readouts.js';
import { adoptConfig } from './settings-form.js';

/** @typedef {import('./page.js').Page} Page */

/**
 * Handles the worker's 'diverged' event (protocol.js).
 * @param {Page} page
 */
export function onDiverged(page, { step, learningRate, suggested }) {
  rollBack(page, step);
  showError(
    page,
    `Training diverged with learning rate ${learningRate}: the loss became NaN. ` +
      `The model was rolled back to step ${step.toLocaleString('en-US')}, the last healthy one, and training paused; nothing was lost.`,
    {
      kind: 'warning',
      key: 'diverged',
      action: {
        label: `Resume with learning rate ${suggested}`,
        run: async () => {
          try {
            adoptConfig(page, await page.client.setLearningRate(suggested));
            setPhase(page, 'running');
            page.client.start();
          } catch (error) {
            showError(page, `The learning rate was not changed: ${messageOf(error)}`, { key: 'diverged' });
          }
        },
      },
    },
  );
}
