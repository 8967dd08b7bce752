// End-to-end: a page everyone can use, on the page's trained 2-D model in headless Chromium on the
// CPU backend. axe-core (npm, pinned) checks the page against WCAG 2.1 A and AA as it opens and
// with the explorer in use while the model trains (the handle moved, a test digit's true
// posterior shown, an uploaded and a drawn digit, a repair shown): no violation of impact
// `serious` or `critical`, and every violation found, whatever its impact, printed in the log.
// From the keyboard alone: Tab reaches the latent handle (past the controls, or at once through
// the skip link) with a visible focus ring, the arrow keys move it and its position is spoken (a
// polite live region, at most twice a second), Enter selects the nearest test digit, and Start
// and Pause answer Enter and Space. The canvases say what they show, and say it again as it
// changes. Last, the README's first picture
// (test-artifacts/screenshot.png, copied to docs/screenshot.png by hand).
//   node --test tests/e2e/accessibility.test.mjs

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { shapeImages } from '../fixtures/shapes.mjs';
import { ARTIFACTS, ROOT, drawSeven, missingArtifacts, openApp, openTrainedExplorer, sevenImage } from './harness.mjs';

const missing = missingArtifacts();
if (missing.length) throw new Error(`the page cannot run: missing ${missing.join(', ')} (run bash scripts/setup.sh and wasm-pack build)`);

const sel = (testid) => `[data-testid="${testid}"]`;
const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const WCAG21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * Runs axe-core's WCAG 2.1 A/AA rules on the whole page, prints every violation, and returns the
 * serious and critical ones, one line per element.
 */
async function axeViolations(p, when) {
  if (!(await p.page.evaluate(() => 'axe' in window))) await p.page.evaluate(AXE);
  const { violations } = await p.page.evaluate((tags) =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), WCAG21_AA);
  console.log(`# axe-core, WCAG 2.1 A/AA, ${when}: ${violations.length} rule(s) violated`);
  for (const v of violations) {
    console.log(`#   ${v.impact} ${v.id}: ${v.help} (${v.nodes.length} element(s))`);
    for (const n of v.nodes) console.log(`#     ${n.target.join(' ')}: ${n.failureSummary.replace(/\s*\n\s*/g, ' ')}`);
  }
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id}: ${n.target.join(' ')}: ${n.failureSummary}`));
}

/** Presses Tab (Shift+Tab with `back`) until `testid` has the focus; returns what was passed on the way. */
async function tabTo(p, testid, { back = false, limit = 80 } = {}) {
  const passed = [];
  for (let i = 0; i < limit; i++) {
    await p.page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const at = await p.page.evaluate(() => {
      const el = document.activeElement;
      return el?.dataset.testid ?? el?.dataset.ref ?? el?.tagName.toLowerCase() ?? 'none';
    });
    if (at === testid) return passed;
    passed.push(at);
  }
  throw new Error(`${testid} was not reached in ${limit} presses of Tab; passed ${passed.join(', ')}`);
}

/** The focused element's outline and whether it matches :focus-visible. */
const focusRing = (p) =>
  p.page.evaluate(() => {
    const el = document.activeElement;
    const css = getComputedStyle(el);
    return { visible: el.matches(':focus-visible'), style: css.outlineStyle, width: parseFloat(css.outlineWidth), colour: css.outlineColor };
  });

const label = (p, testid) => p.read(testid, 'aria-label');

describe('a page everyone can use', { timeout: 600_000 }, () => {
  let app;
  let p;
  before(async () => {
    app = await openApp({ webgpu: false });
    p = await openTrainedExplorer(app);
    await p.waitForNumber('test-loss', 'data-loss', (v) => v > 0, { message: 'the readouts filled' });
    await p.waitForNumber('latent-plane', 'data-points', (n) => n > 0, { message: 'the plane' });
  });
  after(async () => {
    await app?.close();
  });

  test('the page as it opens: no serious or critical WCAG 2.1 A/AA violation; the first Tab offers a way past the controls', async () => {
    assert.deepEqual(await axeViolations(p, 'as the page opens'), []);
    await p.page.keyboard.press('Tab');
    assert.equal(await p.page.evaluate(() => document.activeElement.dataset.testid), 'skip-to-explorer');
    const link = await p.page.locator(sel('skip-to-explorer')).boundingBox();
    assert.ok(link.y >= 0 && link.height > 0, `the focused skip link is on screen: ${JSON.stringify(link)}`);
    assert.ok((await focusRing(p)).visible);
  });

  test('from the keyboard alone: the handle moves and is spoken, Enter selects a digit, Start and Pause answer Enter and Space', async () => {
    // From the skip link, the page's first stop, in document order.
    await p.page.focus(sel('skip-to-explorer'));
    const passed = await tabTo(p, 'latent-handle');
    console.log(`# Tab reached the latent handle from the skip link after ${passed.length + 1} presses: ${passed.join(', ')}`);
    assert.ok(passed.includes('start') && passed.includes('setting-backend'), 'the controls come before the explorer');
    const ring = await focusRing(p);
    assert.ok(ring.visible && ring.style !== 'none' && ring.width >= 2, `the focused handle shows a focus ring: ${JSON.stringify(ring)}`);
    assert.equal(await p.read('latent-handle', 'role'), 'application');
    assert.equal(await p.read('latent-handle', 'aria-roledescription'), '2-D slider');

    // Or past the controls at once, through it.
    await p.page.focus(sel('skip-to-explorer'));
    await p.page.keyboard.press('Enter');
    assert.deepEqual(await tabTo(p, 'latent-handle'), [], 'the handle is the explorer’s first control');

    const coords = await p.text('latent-coords');
    const decodes = await p.readNumber('decoded-digit', 'data-decodes');
    for (const key of ['ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowUp', 'Shift+ArrowUp']) await p.page.keyboard.press(key);
    const moved = await p.text('latent-coords');
    assert.notEqual(moved, coords, 'the arrow keys move z');
    const [a0, b0] = coords.match(/−?\d+\.\d+/g).map((v) => Number(v.replace('−', '-')));
    const [a1, b1] = moved.match(/−?\d+\.\d+/g).map((v) => Number(v.replace('−', '-')));
    assert.ok(a1 > a0 && b1 > b0, `right and up: ${coords} -> ${moved}`);
    // Spoken once it settles (throttled), in the words the page shows.
    await p.page.waitForFunction((want) => document.querySelector('[data-testid="latent-spoken"]').textContent === want, moved, { timeout: 5000 });
    assert.equal(await p.read('latent-spoken', 'aria-live'), 'polite');
    await p.waitForNumber('decoded-digit', 'data-decodes', (n) => n > decodes, { message: 'the digit at the new z decoded' });
    await p.page.waitForFunction((want) => document.querySelector('[data-testid="decoded-digit"]').getAttribute('aria-label').includes(want), moved, { timeout: 5000 });
    console.log(`# spoken: "${await p.text('latent-spoken')}"; the decoded digit: "${await label(p, 'decoded-digit')}"`);
    assert.match(await label(p, 'decoded-digit'), /nearest on the plane are (mostly|among|between) \d/);

    // Enter: the test digit nearest to the handle, selected and said.
    await p.page.keyboard.press('Enter');
    const index = Number(await p.waitFor('selected-digit', 'data-index', (v) => v !== null, { message: 'Enter selected a test digit' }));
    await p.page.waitForFunction(() => document.querySelector('[data-testid="latent-spoken"]').textContent.startsWith('Selected: test digit #'), null, { timeout: 5000 });
    assert.match(await p.text('latent-spoken'), new RegExp(`^Selected: test digit #${index}, labelled \\d$`));
    assert.match(await label(p, 'selected-image'), new RegExp(`^Test digit #${index}, labelled \\d$`));

    // Back up to Start: Enter starts training, Space pauses it.
    await tabTo(p, 'start', { back: true });
    assert.ok((await focusRing(p)).visible, 'the focused Start button shows its focus ring');
    const step = await p.readNumber('step', 'data-step');
    await p.page.keyboard.press('Enter');
    await p.page.waitForSelector('body[data-phase="running"]', { timeout: 30_000 });
    await p.waitForNumber('step', 'data-step', (s) => s > step + 5, { message: 'training, started with Enter' });
    await tabTo(p, 'pause');
    await p.page.keyboard.press('Space');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    // Space on the focused Start (now "Resume") goes on.
    await tabTo(p, 'start', { back: true });
    await p.page.keyboard.press('Space');
    await p.page.waitForSelector('body[data-phase="running"]', { timeout: 30_000 });
    assert.deepEqual(p.errors, []);
  });

  test('the explorer in use while it trains: no serious or critical violation; the canvases say what they show', async () => {
    assert.equal(await p.page.locator('body').getAttribute('data-phase'), 'running', 'still training (the keyboard test started it)');
    // The true posterior of the selected test digit.
    await p.page.check(sel('show-posterior'));
    await p.page.waitForSelector(`${sel('posterior-panel')}:not([hidden])`);
    await p.waitFor('latent-plane', 'data-layers', (v) => (v ?? '').includes('posterior'), { timeout: 60_000, message: 'the posterior on the plane' });
    // An upload and a drawing.
    const encodes = Number((await p.read('upload-mu', 'data-encodes')) ?? 0);
    await p.page.setInputFiles(sel('upload-input'), { name: 'seven.png', mimeType: 'image/png', buffer: await sevenImage(p, 'image/png') });
    await p.waitForNumber('upload-mu', 'data-encodes', (n) => n > encodes, { timeout: 30_000, message: 'the upload encoded' });
    await drawSeven(p);
    await p.waitForNumber('draw-mu', 'data-encodes', (n) => n > 0, { timeout: 30_000, message: 'the drawing encoded' });
    // A repair, in view.
    await p.page.locator(sel('repair')).scrollIntoViewIfNeeded();
    await p.waitForNumber('repair', 'data-updates', (n) => n > 0, { timeout: 60_000, message: 'a repair' });
    await p.waitFor('posterior-numbers', 'class', (v) => !(v ?? '').includes('vx-stale'), { timeout: 60_000, message: 'the posterior’s numbers' });

    assert.deepEqual(await axeViolations(p, 'with the explorer in use while the model trains'), []);

    // The canvases' words.
    const words = {};
    for (const testid of ['chart-elbo', 'chart-kl', 'reconstructions-decoded', 'latent-plane-image', 'decoded-digit', 'upload-original',
      'upload-processed', 'upload-reconstruction', 'draw-pad', 'draw-processed', 'draw-reconstruction', 'repair-observed', 'repair-mean',
      'repair-truth', 'repair-imputations', 'manifold', 'samples']) {
      words[testid] = await label(p, testid);
      assert.equal(await p.read(testid, 'role'), 'img', `${testid} is an image`);
      console.log(`# ${testid}: ${words[testid]}`);
    }
    const canvases = await p.page.$$eval('canvas', (cs) => cs.filter((c) => c.getAttribute('aria-hidden') !== 'true' && !(c.getAttribute('role') === 'img' && c.getAttribute('aria-label'))).map((c) => c.dataset.testid ?? c.dataset.ref ?? c.className));
    assert.deepEqual(canvases, [], 'every canvas on the page is an image with words, or a layer of one');
    assert.match(words['chart-elbo'], /At step [\d,]+, [\d,]+ training examples seen: training −ELBO \d+\.\d \(reconstruction \d+\.\d\), and the test set's \d+\.\d/);
    assert.match(words['latent-plane-image'], new RegExp(`the handle at ${(await p.text('latent-coords')).replace(/[()]/g, '\\$&')}`));
    assert.match(words['latent-plane-image'], /selected: test digit #\d+, labelled \d; also shown: one digit’s true posterior/);
    assert.match(words['upload-original'], /^Your image: seven\.png, 200×160 px$/);
    assert.match(words['upload-reconstruction'], /^The model's reconstruction of your image, decoded from its μ = \(/);
    assert.match(words['draw-pad'], /pointer|mouse/);
    assert.match(words['repair-observed'], /^Test digit #\d+, labelled \d, as seen: the top half only/);
    assert.match(words['manifold'], /a grid of 15×15 values of z/);

    // The chart's words follow training, at a modest rate.
    const chart = words['chart-elbo'];
    await p.page.waitForFunction((old) => document.querySelector('[data-testid="chart-elbo"]').getAttribute('aria-label') !== old, chart, { timeout: 10_000 });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    assert.deepEqual(p.errors, []);
  });

  test('the README’s first picture: the page as it opens, after Start for 12 s', async () => {
    const q = await app.page({ backend: 'cpu', model: 'trained' }, { viewport: { width: 1280, height: 1000 } });
    await q.waitFor('mode', 'data-mode', (v) => v === 'trained', { timeout: 120_000, message: 'the trained model loaded' });
    await q.waitForNumber('test-loss', 'data-loss', (v) => v > 0, { message: 'the readouts filled' });
    const testPoints = await q.readNumber('chart', 'data-test-points');
    await q.click('start');
    await q.page.waitForTimeout(12_000);
    await q.click('pause');
    await q.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    // The test bound a pause asks for, on the chart, and the focus off the button.
    await q.waitForNumber('chart', 'data-test-points', (n) => n > testPoints, { timeout: 60_000, message: 'the test bound at the pause' });
    await q.page.evaluate(() => document.activeElement?.blur());
    await q.page.waitForTimeout(1000);
    mkdirSync(ARTIFACTS, { recursive: true });
    await q.page.screenshot({ path: join(ARTIFACTS, 'screenshot.png') });
    assert.deepEqual(q.errors, []);
    await q.close();
  });

  test('the data set with your own images read and shown: no serious or critical violation; the contact sheet says what it shows', async () => {
    const files = {};
    for (const { path, bytes } of shapeImages({ perShape: 10, root: 'shapes/' })) files[path] = new Uint8Array(bytes);
    files['shapes/notes.txt'] = new TextEncoder().encode('not an image');
    await p.page.check(sel('data-own'));
    await p.page.setInputFiles(sel('data-files'), { name: 'shapes.zip', mimeType: 'application/zip', buffer: Buffer.from(zipSync(files)) });
    await p.waitFor('data-status', 'data-state', (v) => v === 'ready', { message: 'the images read' });
    await p.page.locator(sel('data-set')).scrollIntoViewIfNeeded();
    assert.deepEqual(await axeViolations(p, 'with your own images read'), []);
    assert.match(await label(p, 'data-sheet'), /first 64 images/);
  });
});
