// End-to-end: the page opens on a model trained natively (models/, scripts/train-models.sh) and
// the explorer shows it at once; one click trains one from scratch instead. Also: the full
// training set stays bytes in the worker's wasm memory.
//   node --test tests/e2e/trained.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { missingArtifacts, openApp } from './harness.mjs';

const missing = missingArtifacts();
if (missing.length) throw new Error(`the page cannot run: missing ${missing.join(', ')} (run bash scripts/setup.sh and wasm-pack build)`);

describe('the page opens on a trained model', { timeout: 300_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: false });
  });
  after(async () => {
    await app?.close();
  });

  test('the trained 2-D model is explored within 3 s of ready; from scratch starts at step 0', async () => {
    const p = await app.page({ backend: 'cpu', model: 'trained' }, { waitForReady: false });
    await p.page.waitForSelector('body[data-phase="ready"]', { timeout: 120_000 });
    const readyAt = Date.now();
    await p.waitFor('mode', 'data-mode', (v) => v === 'trained', { message: 'the trained model loaded' });
    await p.page.waitForSelector('[data-testid="explorer"] .vx[data-ready="true"], [data-testid="explorer"][data-ready="true"]', { timeout: 10_000 });
    await p.waitForNumber('decoded-digit', 'data-decodes', (n) => n >= 1, { timeout: 10_000, message: 'a decoded digit' });
    const points = await p.waitForNumber('latent-plane', 'data-points', (n) => n > 0, { timeout: 10_000, message: 'the plane' });
    const seconds = (Date.now() - readyAt) / 1000;
    console.log(`# trained model explored ${seconds.toFixed(2)} s after ready; ${points} digits on the plane`);
    assert.ok(seconds <= 3, `the explorer took ${seconds.toFixed(2)} s after ready`);
    assert.equal(points, 2000, 'the plane shows the fixed, class-balanced 2,000 test digits');
    // Adjustable: 500 (a prefix of the same order), then back.
    await p.page.selectOption('[data-testid="plane-digits"]', '500');
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 500, { timeout: 10_000, message: '500 digits on the plane' });
    await p.page.selectOption('[data-testid="plane-digits"]', '2000');
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 2000, { timeout: 10_000, message: '2,000 again' });
    assert.equal(await p.read('mode-trained', 'aria-pressed'), 'true');
    const trainedStep = await p.readNumber('step', 'data-step');
    assert.ok(trainedStep > 0, `the trained run opens where the native trainer stopped: step ${trainedStep}`);

    // Its test bound (all 10,000 test digits, from the run's chart) is that of a trained model, not of a fresh one.
    const bound = await p.waitForNumber('test-loss', 'data-loss', (v) => v > 0, { timeout: 30_000, message: 'test bound' });
    assert.ok(bound < 175, `a trained 2-D model's test −ELBO should be well below a fresh one's (~550): ${bound}`);
    await p.screenshot('trained-model');

    // One click: a fresh model, training from step 0.
    await p.click('mode-scratch');
    await p.waitFor('mode', 'data-mode', (v) => v === 'scratch', { message: 'switched to scratch' });
    await p.waitForNumber('step', 'data-step', (s) => s > 0, { message: 'training from scratch' });
    const first = await p.readNumber('chart', 'data-points');
    assert.ok(first >= 1);
    const loss = await p.readNumber('loss', 'data-loss');
    assert.ok(loss > 200, `a fresh model's first losses are high: ${loss}`);
    assert.match(p.page.url(), /model=scratch/);
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });

    // And back, in one click.
    await p.click('mode-trained');
    await p.waitFor('mode', 'data-mode', (v) => v === 'trained', { message: 'back to the trained model' });
    assert.equal(await p.readNumber('step', 'data-step'), trainedStep);
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('the full training set stays bytes: under 80 MB of wasm memory for the data', async () => {
    const p = await app.page({ backend: 'cpu' });
    const before = await p.readNumber('load-progress', 'data-wasm-memory-before');
    const after = await p.readNumber('load-progress', 'data-wasm-memory-after');
    const mb = (after - before) / 2 ** 20;
    console.log(`# wasm memory: ${(before / 2 ** 20).toFixed(1)} MB before the data, ${(after / 2 ** 20).toFixed(1)} MB after (+${mb.toFixed(1)} MB)`);
    assert.ok(before > 0 && after >= before, `${before} -> ${after}`);
    assert.ok(mb <= 80, `loading the data grew wasm memory by ${mb.toFixed(1)} MB`);
    await p.close();
  });
});
