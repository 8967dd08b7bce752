// End-to-end: the true posterior beside the encoder's guess (www/explorer/controllers/posterior.js)
// on the page's natively trained 2-D model, in headless Chromium on the CPU backend:
//   node --test tests/e2e/posterior.test.mjs
// A test digit selected on the plane, the "true posterior" view turned on: the heat map, its
// contours, q's ellipses and the numbers appear; log p(x) by importance sampling (k = 1000) and by
// the worker's grid agree, and the ELBO is below both; the handle stays live (median decode round
// trip ≤ 16 ms) while the view is open. Then a drawing's posterior, the prior's holes, and slerp.
// Screenshots: test-artifacts/posterior-*.png.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, drawSeven, missingArtifacts, openApp, openTrainedExplorer } from './harness.mjs';

const missing = missingArtifacts();
if (missing.length) throw new Error(`the page cannot run: missing ${missing.join(', ')} (run bash scripts/setup.sh and wasm-pack build)`);

const sel = (testid) => `[data-testid="${testid}"]`;
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

/** Saves a screenshot of the latent-space card (the plane and its side panel). */
async function shot(p, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await p.page.locator('.vx-latent').screenshot({ path });
  return path;
}

/** Clicks test digit `index`'s dot on the plane; resolves to the digit selected (a dot on top of it may win). */
async function selectDigit(p, index) {
  await p.page.locator(sel('latent-plane')).scrollIntoViewIfNeeded();
  const before = await p.read('selected-digit', 'data-index');
  const point = await p.page.evaluate((i) => window.__explorer.pointOnPlane(i), index);
  await p.page.mouse.click(point.x, point.y);
  return Number(await p.waitFor('selected-digit', 'data-index', (v) => v !== null && v !== before, { message: `test digit ${index} selected` }));
}

/**
 * A test digit away from the handle whose dot has the most (`crowd`: true) or fewest other dots
 * within 12 px: a typical digit, where the encoder has seen many like it, or an odd one out.
 */
async function pickDigit(p, { crowd }) {
  await p.page.locator(sel('latent-plane')).scrollIntoViewIfNeeded();
  return p.page.evaluate((crowd) => {
    const h = document.querySelector('[data-testid="latent-handle"]').getBoundingClientRect();
    const plane = document.querySelector('[data-testid="latent-plane"]').getBoundingClientRect();
    const points = Array.from({ length: 2000 }, (_, i) => window.__explorer.pointOnPlane(i));
    const inside = (q) => q.x > plane.left + 10 && q.x < plane.right - 10 && q.y > plane.top + 10 && q.y < plane.bottom - 10;
    let best = 0, bestScore = -Infinity;
    points.forEach((q, i) => {
      if (!inside(q) || Math.hypot(q.x - h.left - h.width / 2, q.y - h.top - h.height / 2) < 60) return;
      const near = points.filter((r) => Math.hypot(r.x - q.x, r.y - q.y) < 12).length;
      const score = crowd ? near : -near;
      if (score > bestScore) [best, bestScore] = [i, score];
    });
    return best;
  }, crowd);
}

/** Waits until the posterior's map and numbers are done, both of `digit` (the panel's text for it). */
async function posteriorOf(p, digit, { maps = 0, bounds = 0 } = {}) {
  const is = (v) => (typeof digit === 'string' ? v === digit : digit.test(v ?? ''));
  await p.waitFor('posterior-panel', 'data-busy', (v) => v === 'false', { timeout: 120_000, message: 'the posterior computed' });
  await p.waitFor('posterior-panel', 'data-digit', is, { timeout: 90_000, message: `the map of ${digit}` });
  await p.waitForNumber('posterior-panel', 'data-map-updates', (n) => n > maps, { message: 'a new map' });
  await p.waitFor('posterior-numbers', 'data-digit', is, { timeout: 90_000, message: `the numbers of ${digit}` });
  await p.waitForNumber('posterior-numbers', 'data-updates', (n) => n > bounds, { message: 'new numbers' });
}

/** The RGB of the plane's base canvas at plane point (a, b). */
function planeColour(p, a, b) {
  return p.page.evaluate(([a, b]) => {
    const root = document.querySelector('[data-testid="latent-plane"]');
    const [cx, cy, half] = root.dataset.range.split(',').map(Number);
    const canvas = root.querySelector('.vx-plane-base');
    const s = canvas.width / 2;
    const x = Math.round(s + ((a - cx) / half) * s), y = Math.round(s - ((b - cy) / half) * s);
    return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
  }, [a, b]);
}

/** Drags the latent handle along a path of offsets (CSS px from its centre), a frame apart. */
async function dragHandle(p, path) {
  const box = await p.page.locator(sel('latent-handle')).boundingBox();
  const x0 = box.x + box.width / 2, y0 = box.y + box.height / 2;
  await p.page.mouse.move(x0, y0);
  await p.page.mouse.down();
  for (const [dx, dy] of path) {
    await p.page.mouse.move(x0 + dx, y0 + dy);
    await p.page.waitForTimeout(16);
  }
  await p.page.mouse.up();
}

const numbers = async (p) => {
  const read = (attr) => p.readNumber('posterior-numbers', attr);
  return {
    elbo: await read('data-elbo'),
    is: await read('data-log-likelihood'),
    grid: await read('data-grid-log-likelihood'),
    gap: await read('data-gap'),
    map: await p.readNumber('posterior-panel', 'data-log-likelihood'),
  };
};

describe('the true posterior on the trained 2-D model (CPU)', { timeout: 600_000 }, () => {
  let app, p;
  before(async () => {
    app = await openApp({ webgpu: false });
    p = await openTrainedExplorer(app);
    await p.waitForNumber('latent-plane', 'data-points', (n) => n > 0, { message: 'the plane' });
    // The loaded model's test bound, then the explorer's refresh that follows it: let both pass.
    await p.waitForNumber('test-loss', 'data-loss', (v) => v > 0, { timeout: 60_000, message: 'the test bound' });
    let refreshes = -1;
    while (refreshes !== (refreshes = await p.readNumber('explorer-status', 'data-refreshes'))) await p.page.waitForTimeout(1500);
  });
  after(async () => {
    await app?.close();
  });

  test('off by default: no layer, no panel, no requests', async () => {
    assert.equal(await p.page.isChecked(sel('show-posterior')), false);
    assert.equal(await p.page.locator(sel('posterior-panel')).isHidden(), true);
    assert.equal((await p.read('latent-plane', 'data-layers')) ?? '', '');
  });

  test('a selected test digit: heat map, contours and q’s ellipses on the plane; log p(x) two ways agree; ELBO below', async () => {
    const index = await selectDigit(p, await pickDigit(p, { crowd: true }));
    await p.page.check(sel('show-posterior'));
    await posteriorOf(p, new RegExp(`^test digit #${index} \\(a \\d\\)$`));
    assert.match(await p.read('latent-plane', 'data-layers'), /posterior/);

    // Zoomed onto the digit: the view holds its posterior (next to no mass on the grid's edge).
    const edge = await p.readNumber('posterior-panel', 'data-edge-mass');
    assert.ok(edge < 1e-3, `the grid's outer ring holds ${edge} of the mass`);
    const contours = (await p.read('posterior-panel', 'data-contours')).split(',').map(Number);
    assert.ok(contours.length === 2 && contours.every((n) => n >= 1), `contours at 39 % and 86 %: ${contours}`);
    const [ea, eb, cuu, , cvv] = (await p.read('posterior-panel', 'data-ellipse')).split(',').map(Number);
    assert.ok(cuu > 0 && cvv > 0, 'q’s ellipse');
    const [pa, pb] = (await p.read('posterior-panel', 'data-peak')).split(',').map(Number);
    // q is the encoder's guess: in a crowded part of the plane it can be narrow and off the true
    // mode by several of its own σ (the amortisation gap), but not by more than the prior's σ.
    const spread = Math.sqrt(Math.max(cuu, cvv));
    assert.ok(Math.hypot(pa - ea, pb - eb) < Math.max(4 * spread, 1), `the true posterior's mode (${pa}, ${pb}) lies near q's mean (${ea}, ${eb}), σ ${spread.toFixed(3)}`);
    const colour = await planeColour(p, pa, pb);
    assert.ok(colour[1] < 200, `the heat map is drawn at the mode: rgb ${colour}`);

    const { elbo, is, grid, gap, map } = await numbers(p);
    console.log(`# test digit #${index}: ELBO ${elbo.toFixed(3)}, log p(x) IS (k = 1000) ${is.toFixed(3)}, grid ${grid.toFixed(3)} (the map's own ${map.toFixed(3)}), gap ${gap.toFixed(3)} nats; map ${await p.read('posterior-panel', 'data-map-ms')} ms`);
    assert.ok([elbo, is, grid].every(Number.isFinite) && elbo < 0, 'finite log-probabilities');
    // Importance sampling with q as the proposal is exact in expectation of p(x) but biased low in
    // log p(x), the more the further q is from the posterior (the gap): with a small gap the two
    // agree; with a large one IS lies between the ELBO and the grid's value.
    if (gap < 5) assert.ok(Math.abs(is - grid) <= 0.5, `the two log p(x) agree: IS ${is}, grid ${grid}`);
    else assert.ok(is <= grid + 0.5 && is >= elbo, `IS ${is} between the ELBO ${elbo} and the grid ${grid} (gap ${gap})`);
    assert.ok(Math.abs(map - grid) <= 0.1, `the map's integral agrees with the worker's grid: ${map} vs ${grid}`);
    assert.ok(elbo <= is + 0.05 && elbo <= grid + 0.05, `ELBO ${elbo} ≤ log p(x) (IS ${is}, grid ${grid})`);
    assert.ok(gap >= -0.05, `the gap KL(q ‖ p(z|x)) is not negative: ${gap}`);
    assert.match(await p.text('posterior-panel'), /how far the encoder's guess is from the truth/);
    await p.page.locator('.vx-latent').scrollIntoViewIfNeeded();
    await shot(p, 'posterior-test-digit');
  });

  test('an odd digit out: the encoder’s guess is further from the truth', async () => {
    const maps = await p.readNumber('posterior-panel', 'data-map-updates');
    const bounds = await p.readNumber('posterior-numbers', 'data-updates');
    await p.page.uncheck(sel('posterior-zoom')); // the whole plane, to pick from
    const index = await selectDigit(p, await pickDigit(p, { crowd: false }));
    await p.page.check(sel('posterior-zoom'));
    await posteriorOf(p, new RegExp(`^test digit #${index} \\(a \\d\\)$`), { maps, bounds });
    const { elbo, is, grid, gap, map } = await numbers(p);
    console.log(`# odd test digit #${index}: ELBO ${elbo.toFixed(3)}, log p(x) IS (k = 1000) ${is.toFixed(3)}, grid ${grid.toFixed(3)} (the map's own ${map.toFixed(3)}), gap ${gap.toFixed(3)} nats`);
    if (gap < 5) assert.ok(Math.abs(is - grid) <= 0.5, `the two log p(x) agree: IS ${is}, grid ${grid}`);
    else assert.ok(is <= grid + 0.5 && is >= elbo, `IS ${is} between the ELBO ${elbo} and the grid ${grid} (gap ${gap})`);
    assert.ok(Math.abs(map - grid) <= 0.1, `the map's integral agrees with the worker's grid: ${map} vs ${grid}`);
    assert.ok(elbo <= is + 0.05 && elbo <= grid + 0.05, `ELBO ${elbo} ≤ log p(x) (IS ${is}, grid ${grid})`);
    await p.page.locator('.vx-latent').scrollIntoViewIfNeeded();
    await shot(p, 'posterior-odd-digit');
  });

  test('the handle stays live while the view is open: median decode ≤ 16 ms', async () => {
    const before = await p.page.evaluate(() => window.__explorer.decodeMs.length);
    const updates = await p.readNumber('posterior-panel', 'data-map-updates');
    await dragHandle(p, Array.from({ length: 40 }, (_, i) => [3 * (i + 1), -2 * (i + 1)]));
    await p.page.waitForTimeout(300);
    const ms = (await p.page.evaluate(() => window.__explorer.decodeMs)).slice(before);
    assert.ok(ms.length >= 10, `decodes while dragging: ${ms.length}`);
    console.log(`# decode round trip with the posterior view open: median ${median(ms).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms over ${ms.length}`);
    assert.ok(median(ms) <= 16, `median decode ${median(ms)} ms`);
    assert.equal(await p.readNumber('posterior-panel', 'data-map-updates'), updates, 'moving the handle recomputes nothing');
  });

  test('zooming out redraws the map over the whole plane; a drawing gets its own posterior', async () => {
    const updates = await p.readNumber('posterior-panel', 'data-map-updates');
    await p.page.uncheck(sel('posterior-zoom'));
    await p.waitForNumber('posterior-panel', 'data-map-updates', (n) => n > updates, { timeout: 60_000, message: 'the map over the whole plane' });
    const [, , half] = (await p.read('latent-plane', 'data-range')).split(',').map(Number);
    assert.ok(half > 2, `the whole plane: half-width ${half}`);
    await shot(p, 'posterior-whole-plane');
    await p.page.check(sel('posterior-zoom'));

    const [maps, bounds] = [await p.readNumber('posterior-panel', 'data-map-updates'), await p.readNumber('posterior-numbers', 'data-updates')];
    await drawSeven(p);
    await posteriorOf(p, 'your drawing', { maps, bounds });
    assert.equal(await p.page.inputValue(sel('posterior-source')), 'drawing');
    const { elbo, is, grid, map } = await numbers(p);
    console.log(`# the drawing: ELBO ${elbo.toFixed(3)}, log p(x) IS ${is.toFixed(3)}, grid ${grid.toFixed(3)} (the map's own ${map.toFixed(3)}) nats`);
    assert.ok(Math.abs(map - grid) <= 0.1, `the map's integral agrees with the worker's grid: ${map} vs ${grid}`);
    assert.ok(elbo <= is + 0.05 && elbo <= grid + 0.05, `ELBO ${elbo} ≤ log p(x) (IS ${is}, grid ${grid})`);
    await p.page.locator('.vx-latent').scrollIntoViewIfNeeded();
    await shot(p, 'posterior-drawing');
  });

  test('where the prior has holes: the aggregate posterior against N(0, I)', async () => {
    await p.page.uncheck(sel('show-posterior'));
    assert.doesNotMatch((await p.read('latent-plane', 'data-layers')) ?? '', /posterior/);
    await p.page.check(sel('show-holes'));
    await p.waitForNumber('holes-panel', 'data-updates', (n) => n >= 1, { message: 'the holes layer' });
    assert.match(await p.read('latent-plane', 'data-layers'), /holes/);
    const share = await p.readNumber('holes-panel', 'data-share');
    console.log(`# prior mass in holes (aggregate 10× rarer than the prior): ${(100 * share).toFixed(1)} %`);
    assert.ok(share > 0 && share < 1, `share ${share}`);
    await p.page.locator('.vx-latent').scrollIntoViewIfNeeded();
    await shot(p, 'posterior-holes');
    await p.page.uncheck(sel('show-holes'));
    assert.equal((await p.read('latent-plane', 'data-layers')) ?? '', '');
  });

  test('interpolation: slerp beside the straight line, its path drawn on the plane', async () => {
    await selectDigit(p, await pickDigit(p, { crowd: false }));
    await p.click('selected-set-a');
    const far = await p.page.evaluate(() => {
      const a = window.__explorer.pointOnPlane(Number(document.querySelector('[data-testid="selected-digit"]').dataset.index));
      let best = 0, d = 0;
      for (let i = 0; i < 2000; i++) {
        const q = window.__explorer.pointOnPlane(i);
        if (Math.hypot(q.x - a.x, q.y - a.y) > d) [best, d] = [i, Math.hypot(q.x - a.x, q.y - a.y)];
      }
      return best;
    });
    await selectDigit(p, far);
    await p.click('selected-set-b');
    await p.waitFor('interpolation', 'data-kind', (v) => v === 'linear', { timeout: 30_000, message: 'straight line' });
    const updates = await p.readNumber('interpolation', 'data-updates');
    await p.page.check(sel('interp-slerp'));
    await p.waitFor('interpolation', 'data-kind', (v) => v === 'slerp', { timeout: 30_000, message: 'slerp' });
    assert.ok((await p.readNumber('interpolation', 'data-updates')) > updates);
    assert.equal(await p.readNumber('latent-plane', 'data-path'), 61, 'the great circle drawn as a polyline');
    await p.page.locator('.vx-latent').scrollIntoViewIfNeeded();
    await shot(p, 'posterior-slerp');
  });

  test('while training, the map and the numbers follow the model', async () => {
    await p.page.check(sel('show-posterior'));
    await p.waitFor('posterior-panel', 'data-busy', (v) => v === 'false', { timeout: 120_000, message: 'the posterior computed' });
    const bounds = await p.readNumber('posterior-numbers', 'data-updates');
    await p.click('start');
    await p.page.locator(sel('latent-plane')).scrollIntoViewIfNeeded();
    await p.waitForNumber('posterior-panel', 'data-step', (s) => s > 0, { timeout: 120_000, message: 'a map of a model trained further' });
    await p.waitForNumber('posterior-numbers', 'data-updates', (n) => n > bounds, { timeout: 120_000, message: 'numbers of a model trained further' });
    // The handle while training runs and the map and numbers keep being recomputed.
    const before = await p.page.evaluate(() => window.__explorer.decodeMs.length);
    await dragHandle(p, Array.from({ length: 40 }, (_, i) => [-3 * (i + 1), 2 * (i + 1)]));
    await p.page.waitForTimeout(300);
    const ms = (await p.page.evaluate(() => window.__explorer.decodeMs)).slice(before);
    console.log(`# decode round trip while training with the posterior view open: median ${median(ms).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms over ${ms.length}`);
    assert.ok(median(ms) <= 50, `median decode while training ${median(ms)} ms`);
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    assert.deepEqual(p.errors, []);
  });

  test('a 20-dimensional model: the posterior on the plane’s slice, log p(x) by importance sampling only', async () => {
    const q = await app.page({ backend: 'cpu', model: 'trained', latentDim: '20' });
    await q.waitFor('mode', 'data-mode', (v) => v === 'trained', { timeout: 120_000, message: 'the trained 20-D model' });
    await q.page.waitForSelector('[data-testid="explorer"][data-ready="true"]', { timeout: 60_000 });
    assert.equal((await q.read('latent-coords', 'data-z')).split(',').length, 20);
    const index = await selectDigit(q, await pickDigit(q, { crowd: true }));
    await q.page.check(sel('show-posterior'));
    await posteriorOf(q, new RegExp(`^test digit #${index} `));
    const { elbo, is, grid } = await numbers(q);
    console.log(`# 20-D test digit #${index}: ELBO ${elbo.toFixed(3)}, log p(x) IS (k = 1000) ${is.toFixed(3)} nats`);
    assert.ok(Number.isNaN(grid) || (await q.read('posterior-numbers', 'data-grid-log-likelihood')) === '', 'no grid estimate in 20-D');
    assert.ok(Number.isFinite(is) && elbo <= is + 0.05, `ELBO ${elbo} ≤ log p(x) ${is}`);
    assert.match(await q.text('posterior-panel'), /On this plane through the latent space only/);
    assert.match(await q.text('posterior-panel'), /– \(2-D only\)/);
    await q.page.locator('.vx-latent').scrollIntoViewIfNeeded();
    await shot(q, 'posterior-latent20');
    assert.deepEqual(q.errors, []);
    await q.close();
  });
});
