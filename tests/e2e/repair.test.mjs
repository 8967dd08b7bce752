// End-to-end: "Repair a digit" on the page's trained models, in headless Chromium on the CPU
// backend: a test digit with its bottom half erased is repaired (the repaired digit, eight
// repairs drawn from p(x | y), the uncertainty, log p(y) and the error on the hidden pixels), by
// each method of inference; painting on the seen digit hides more of it and the repair follows;
// on the 20-D model the exact grid is not offered.
//   node --test tests/e2e/repair.test.mjs

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, missingArtifacts, openApp, openTrainedExplorer } from './harness.mjs';

const missing = missingArtifacts();
if (missing.length) throw new Error(`the page cannot run: missing ${missing.join(', ')} (run bash scripts/setup.sh and wasm-pack build)`);

const sel = (testid) => `[data-testid="${testid}"]`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Waits for the panel's next repair after `updates`; returns its numbers. */
async function nextRepair(p, updates, message) {
  await p.waitForNumber('repair', 'data-updates', (n) => n > updates, { timeout: 60_000, message });
  return {
    updates: await p.readNumber('repair', 'data-updates'),
    logEvidence: Number((await p.read('repair', 'data-log-evidence')) || NaN),
    mse: await p.readNumber('repair', 'data-mse'),
    ms: await p.readNumber('repair', 'data-ms'),
  };
}

describe('repair a digit', { timeout: 600_000 }, () => {
  let app;
  let p;
  before(async () => {
    app = await openApp({ webgpu: false });
    p = await openTrainedExplorer(app);
    await p.page.locator(sel('repair')).scrollIntoViewIfNeeded();
  });
  after(async () => {
    await app?.close();
  });

  test('the bottom half erased: repaired on the grid, with imputations, log p(y) and the error', async () => {
    const first = await nextRepair(p, 0, 'the first repair');
    assert.equal(await p.page.inputValue(sel('repair-corruption')), 'bottomHalf');
    assert.equal(await p.page.inputValue(sel('repair-method')), 'grid');
    console.log(`# test digit #0, bottom half missing, exact grid: log p(y) ${first.logEvidence.toFixed(2)} nats, MSE on the hidden pixels ${first.mse.toFixed(4)}, ${first.ms.toFixed(0)} ms`);
    assert.ok(first.logEvidence < 0 && first.logEvidence > -400, `log p(y) of half a digit: ${first.logEvidence}`);
    assert.ok(first.mse > 0 && first.mse < 0.2, `the repair's error on the hidden pixels: ${first.mse}`);
    // Eight repairs side by side, drawn: not all the same picture.
    const strip = await p.page.evaluate(() => {
      const canvas = document.querySelector('[data-testid="repair-imputations"]');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const cell = (k) => Array.from({ length: 28 * 28 }, (_, i) => data[((Math.floor(i / 28)) * canvas.width + k * 30 + (i % 28)) * 4]);
      const cells = Array.from({ length: 8 }, (_, k) => cell(k));
      const differ = cells.some((c) => c.some((v, i) => Math.abs(v - cells[0][i]) > 8));
      return { width: canvas.width, inked: cells.every((c) => c.some((v) => v > 128)), differ };
    });
    assert.equal(strip.width, 8 * 28 + 7 * 2);
    assert.ok(strip.inked, 'every imputation draws a digit');
    assert.ok(strip.differ, 'the imputations are samples, not copies of the mean');
    assert.match(await p.text('repair-numbers'), /log p\(y\)\s*-?\d+\.\d nats/);
    // Where z is: the exact posterior as a heat map, the encoder's guess as a ring.
    const latent = await p.page.evaluate(() => {
      const canvas = document.querySelector('[data-testid="repair-latent"]');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let heat = 0;
      for (let k = 0; k < data.length; k += 4) if (data[k] > 100 && data[k + 2] < 200 && data[k] - data[k + 2] > 40) heat++;
      return { heat, label: canvas.getAttribute('aria-label') };
    });
    assert.ok(latent.heat > 20, `p(z | y) is drawn as a heat map (${latent.heat} warm pixels)`);
    assert.match(latent.label, /exact posterior p\(z \| y\)/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await p.page.locator(sel('repair')).screenshot({ path: join(ARTIFACTS, 'repair.png') });
  });

  test('each method of inference repairs it; the chains report their acceptance', async () => {
    let updates = await p.readNumber('repair', 'data-updates');
    const byMethod = {};
    for (const method of ['importanceSampling', 'metropolisWithinGibbs', 'pseudoGibbs', 'grid']) {
      await p.page.selectOption(sel('repair-method'), method);
      const r = await nextRepair(p, updates, method);
      updates = r.updates;
      byMethod[method] = r;
      console.log(`# ${method}: log p(y) ${Number.isFinite(r.logEvidence) ? r.logEvidence.toFixed(2) : '–'}, MSE ${r.mse.toFixed(4)}, ${r.ms.toFixed(0)} ms`);
      assert.ok(r.mse > 0 && r.mse < 0.2, `${method}: ${r.mse}`);
    }
    assert.ok(Number.isFinite(byMethod.importanceSampling.logEvidence), 'importance sampling estimates log p(y)');
    assert.ok(!Number.isFinite(byMethod.metropolisWithinGibbs.logEvidence), 'a chain gives no log p(y)');
    assert.match(await p.text('repair-numbers'), /log p\(y\)/);
    await p.page.selectOption(sel('repair-method'), 'pseudoGibbs');
    await nextRepair(p, updates, 'pseudo-Gibbs again');
    assert.match(await p.text('repair-numbers'), /proposals accepted\s*100 %/);
    // The chain is shown step by step: its kept states revealed one after another.
    const states = await p.readNumber('repair-latent', 'data-states');
    assert.equal(states, 250, 'a chain of 300 steps keeps 250 states');
    await p.waitForNumber('repair-latent', 'data-shown', (n) => n === states, { timeout: 10_000, message: 'the whole chain revealed' });
    assert.match(await p.read('repair-latent', 'aria-label'), /the chain's path through its 250 kept states/);
    updates = await p.readNumber('repair', 'data-updates');
    await p.page.selectOption(sel('repair-method'), 'grid');
    await nextRepair(p, updates, 'back to the grid');
    assert.deepEqual(p.errors, []);
  });

  test('flips, noise and low resolution are repaired too', async () => {
    let updates = await p.readNumber('repair', 'data-updates');
    for (const corruption of ['flip', 'noise', 'low7']) {
      await p.page.selectOption(sel('repair-corruption'), corruption);
      const r = await nextRepair(p, updates, corruption);
      updates = r.updates;
      console.log(`# ${corruption}, exact grid: log p(y) ${r.logEvidence.toFixed(2)}, MSE over all pixels ${r.mse.toFixed(4)}`);
      assert.ok(Number.isFinite(r.logEvidence), `${corruption}: ${r.logEvidence}`);
    }
    assert.deepEqual(p.errors, []);
  });

  test('painting on the seen digit hides more of it, and the repair follows each stroke', async () => {
    const before = await p.readNumber('repair', 'data-updates');
    await p.page.selectOption(sel('repair-corruption'), 'topHalf');
    let updates = (await nextRepair(p, before, 'the top half hidden')).updates;
    const canvas = p.page.locator(sel('repair-observed'));
    const box = await canvas.boundingBox();
    const ms = [];
    for (let k = 0; k < 5; k++) {
      const y = box.y + box.height * (0.6 + 0.06 * k);
      await p.page.mouse.move(box.x + box.width * 0.2, y);
      await p.page.mouse.down();
      await p.page.mouse.move(box.x + box.width * 0.8, y, { steps: 6 });
      await p.page.mouse.up();
      const r = await nextRepair(p, updates, `stroke ${k}`);
      updates = r.updates;
      ms.push(r.ms);
    }
    assert.equal(await p.page.inputValue(sel('repair-corruption')), 'brush', 'painting switches to the brush');
    console.log(`# painting: repair round trip on the grid, median ${median(ms).toFixed(0)} ms over ${ms.length} strokes`);
    assert.deepEqual(p.errors, []);
  });

  test('on the 20-D model the grid is not offered; importance sampling repairs instead', async () => {
    const q = await app.page({ backend: 'cpu', model: 'trained', latentDim: '20' });
    await q.waitFor('mode', 'data-mode', (v) => v === 'trained', { timeout: 120_000, message: 'the trained 20-D model' });
    await q.page.waitForSelector('[data-testid="explorer"][data-ready="true"]', { timeout: 60_000 });
    await q.page.locator(sel('repair')).scrollIntoViewIfNeeded();
    const r = await nextRepair(q, 0, 'a 20-D repair');
    assert.equal(await q.page.inputValue(sel('repair-method')), 'importanceSampling');
    assert.equal(await q.page.locator(`${sel('repair-method')} option[value="grid"]`).isDisabled(), true);
    console.log(`# 20-D, bottom half missing, importance sampling: log p(y) ${r.logEvidence.toFixed(2)}, MSE ${r.mse.toFixed(4)}, ${r.ms.toFixed(0)} ms`);
    assert.ok(Number.isFinite(r.logEvidence));
    assert.deepEqual(q.errors, []);
    await q.close();
  });
});
