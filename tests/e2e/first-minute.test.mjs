// End-to-end: the first minute, as a visitor meets it. A link's settings are the ones the page
// uses (every setting of the schema), the address keeps what its author wrote; the trained model
// arrives with the chart of how it learned, and Start continues that chart; a reload loses no
// more than the last second of training; the backend menu says that 'auto' is measured. (axe-core's
// WCAG 2.1 A/AA checks of the page, as it opens and in use: tests/e2e/accessibility.test.mjs.
// Console warnings from the page's own code fail every end-to-end test: tests/e2e/harness.mjs.)
//   node --test tests/e2e/first-minute.test.mjs

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, missingArtifacts, openApp } from './harness.mjs';

const missing = missingArtifacts();
if (missing.length) throw new Error(`the page cannot run: missing ${missing.join(', ')} (run bash scripts/setup.sh and wasm-pack build)`);

/** A value other than the default for every setting of the page (www/settings.js's EXPOSED). */
const LINKED = [
  ['latentDim', '5'],
  ['hidden', '300'],
  ['lr', '0.01'],
  ['batch', '50'],
  ['estimator', 'sgvb-a'],
  ['decoder', 'gaussian'],
  ['activation', 'tanh'],
];

/** The model files' first lines: the config the trained 2-D model was trained with. */
const trainedConfig = JSON.parse(readFileSync(join(ROOT, 'models', 'latent2.log'), 'utf8').split('\n', 1)[0]).config;

const modeDecided = (p) => p.waitFor('mode', 'data-mode', (v) => v === 'trained' || v === 'scratch', { message: 'the page chose what to open on' });

describe('the first minute', { timeout: 600_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: false });
  });
  after(async () => {
    await app?.close();
  });

  test('a link’s settings are the ones the page uses, for every setting; the address keeps them', async () => {
    for (const [param, value] of LINKED) {
      const p = await app.page(`backend=cpu&${param}=${value}`, { asWritten: true });
      assert.equal(await modeDecided(p), 'scratch', `${param}=${value}: a fresh model with the link's setting`);
      assert.equal(await p.page.inputValue(`[data-testid="setting-${param}"]`), value, `${param}: the form shows the link's value`);
      assert.equal(await p.readNumber('step', 'data-step'), 0);
      const query = new URL(p.page.url()).searchParams;
      assert.equal(query.get(param), value, `${param}: the address keeps it (${p.page.url()})`);
      assert.equal(query.get('backend'), 'cpu');
      const note = await p.text('mode-note');
      assert.ok(note.includes(value), `${param}: the note says why the trained model was not loaded: ${note}`);
      assert.equal(Number((await p.read('error', 'data-count')) ?? 0), 0, `${param}: no message: ${await p.text('error')}`);
      assert.deepEqual(p.errors, []);
      await p.close();
    }
    // A link whose settings the trained model has: the trained model, the address as written.
    const written = `backend=cpu&latentDim=20&lr=${trainedConfig.learningRate}`;
    const p = await app.page(written, { asWritten: true });
    assert.equal(await modeDecided(p), 'trained');
    assert.equal(await p.page.inputValue('[data-testid="setting-latentDim"]'), '20');
    assert.equal(new URL(p.page.url()).search, `?${written}`);
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('the trained model arrives with the chart of how it learned, and Start continues it', async () => {
    const p = await app.page('backend=cpu', { asWritten: true });
    assert.equal(await modeDecided(p), 'trained');
    const step = await p.waitForNumber('step', 'data-step', (s) => s > 0, { message: 'the trained run’s step' });
    const seen = await p.readNumber('examples-seen', 'data-examples-seen');
    assert.equal(seen, step * trainedConfig.batchSize);
    const points = await p.readNumber('chart', 'data-points');
    const testPoints = await p.readNumber('chart', 'data-test-points');
    console.log(`# the trained model opened at step ${step}: ${points} training points and ${testPoints} test points on the chart`);
    assert.ok(points >= 100, `the training curve: ${points} points`);
    assert.ok(testPoints >= 6, `a test bound per epoch: ${testPoints}`);
    assert.ok((await p.readNumber('test-loss', 'data-loss')) < 175, 'the test readout is the trained model’s');
    assert.equal(new URL(p.page.url()).search, '?backend=cpu', 'nothing added to the address');
    await p.screenshot('first-minute-arrival');

    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s > step + 20, { message: 'training on from the trained run' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    assert.ok((await p.readNumber('examples-seen', 'data-examples-seen')) > seen, 'the x axis goes on from the native run');
    assert.ok((await p.readNumber('chart', 'data-points')) > points, 'the curve goes on');
    // Trained on from where it was, not from a fresh optimizer: the loss stays a trained model's.
    const loss = await p.readNumber('loss', 'data-loss');
    assert.ok(loss < 175, `the training loss after Start: ${loss}`);
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('a reload loses at most the last second of training', async () => {
    const p = await app.page({ backend: 'cpu' });
    await p.click('start');
    // The first save, then a few seconds more that no save holds.
    const saved = await p.waitForNumber('saved-note', 'data-step', (s) => s > 0, { message: 'a first save' });
    await p.page.waitForTimeout(3000);
    const shown = await p.readNumber('step', 'data-step');
    const perSecond = (await p.readNumber('examples-per-second', 'data-examples-per-second')) / 100;
    await p.page.reload();
    await p.page.waitForSelector('[data-testid="mode-resume"]:not([hidden])', { timeout: 60_000 });
    const offered = await p.readNumber('mode-resume', 'data-step');
    console.log(`# reloaded at step ${shown} (saved at ${saved}; ~${perSecond.toFixed(0)} steps/s): offered step ${offered}`);
    assert.ok(offered >= shown - perSecond, `offered step ${offered}, shown ${shown} at the reload`);
    await p.click('mode-resume');
    await p.waitFor('mode', 'data-mode', (v) => v === 'resumed', { timeout: 60_000, message: 'resumed' });
    assert.equal(await p.readNumber('step', 'data-step'), offered);
    assert.ok((await p.readNumber('chart', 'data-points')) > 0);
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s > offered, { message: 'training on' });
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('the backend menu says what ‘auto’ does: a race measured on this machine, not a preference', async () => {
    const p = await app.page('backend=cpu', { asWritten: true });
    await modeDecided(p);
    const auto = await p.page.locator('[data-testid="setting-backend"] option[value="auto"]').textContent();
    assert.match(auto, /faster.*measured/i, auto);
    await p.close();
  });
});
