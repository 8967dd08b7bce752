// End-to-end: training on your own images. A folder of 300 PNGs in three sub-folders picked
// through the page's folder input: the contact sheet, the counts and the split shown, then
// trained on (the bound falls, the plane shows three colours); the same images as a .zip with a
// text file and an empty file in it; a folder with a text file, a damaged PNG and an empty file
// (those three listed as skipped, the rest used); a set with nothing usable refused, MNIST kept;
// images dropped without sub-folders (unlabelled: the plane shows no class colours), then MNIST
// again. The page's PNG decoder against Chromium's. Trained on the shapes, the explorer and the
// readouts speak of images and name the folders (the legend, what the handle's neighbourhood
// decodes to, the selected image); back on MNIST, of digits and their numbers as before.
// "Download data set" gives the four IDX files, which the native trainer reads.
//   node --test --test-concurrency=1 tests/e2e/own-data.test.mjs

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import { png, shapeImages } from '../fixtures/shapes.mjs';
import { VAE_BIN, missingArtifacts, openApp } from './harness.mjs';

/** The MNIST files `vae train --data` reads (scripts/setup.sh makes them). */
const DATA_DIR = fileURLToPath(new URL('../../data/mnist', import.meta.url));

const missing = missingArtifacts();
if (missing.length) throw new Error(`the page cannot run: missing ${missing.join(', ')} (run bash scripts/setup.sh and wasm-pack build)`);

/** Writes `files` ({ path, bytes }) under a fresh temporary folder; returns the folder. */
function writeTree(files) {
  const dir = mkdtempSync(join(tmpdir(), 'own-data-'));
  for (const { path, bytes } of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  return dir;
}

/** The page's account of the set it read: the status's facts. */
async function readStatus(p) {
  await p.waitFor('data-status', 'data-state', (v) => v === 'ready' || v === 'refused', { timeout: 60_000, message: 'the images read' });
  const facts = {};
  for (const key of ['state', 'taken', 'skipped', 'train', 'test', 'labelled', 'classes', 'decoder']) facts[key] = await p.read('data-status', `data-${key}`);
  facts.sheet = await p.read('data-sheet', 'data-count');
  facts.skippedFiles = await p.page.$$eval('[data-testid="data-skipped"] li', (items) => items.map((li) => ({ path: li.dataset.path, reason: li.dataset.reason })));
  return facts;
}

/**
 * What the readouts and the explorer say of the data: the legend's items, the text of what the
 * markup marks as speaking of it, and every text or text alternative there that says "digit".
 */
async function dataWords(p) {
  return p.page.evaluate(() => {
    const roots = [...document.querySelectorAll('[data-ref="results"], [data-testid="explorer"]')];
    const said = [];
    for (const root of roots) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) said.push(node.nodeValue.trim());
      for (const el of root.querySelectorAll('[title], [aria-label]')) said.push(el.getAttribute('title') ?? '', el.getAttribute('aria-label') ?? '');
    }
    const legend = document.querySelector('[data-testid="latent-legend"]');
    return {
      legend: legend.hidden ? null : [...legend.querySelectorAll('li')].map((li) => li.textContent),
      legendLabel: legend.getAttribute('aria-label'),
      marked: roots.flatMap((root) => [...root.querySelectorAll('[data-words]:not([data-words="attributes"])')].map((el) => el.textContent.replace(/\s+/g, ' ').trim())),
      digit: said.filter((text) => /\bdigits?\b/i.test(text)),
    };
  });
}

describe('train on your own images', { timeout: 600_000 }, () => {
  let app;
  const dirs = [];
  before(async () => {
    app = await openApp({ webgpu: false });
  });
  after(async () => {
    await app?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a folder of 300 PNGs in three sub-folders: shown, split, trained on, three colours on the plane; downloaded as IDX files; a reload brings the run back with them, and refuses it once they are gone', async () => {
    const dir = writeTree(shapeImages({ perShape: 100, root: 'shapes/' }));
    dirs.push(dir);
    const p = await app.page({ backend: 'cpu' });
    await p.page.waitForFunction(() => document.querySelectorAll('[data-testid="latent-legend"] li').length === 10, null, { timeout: 60_000 });
    const mnist = await dataWords(p);
    assert.deepEqual(mnist.legend, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(mnist.legendLabel, 'Colours of the digits');
    assert.ok(mnist.marked.includes('Your digit Upload or draw a digit: it is made into an MNIST-style image (grey, inverted if on a light background, cropped, scaled to fit 20×20 px, centred by its centre of mass in 28×28), encoded, and shown on the plane.'), 'MNIST: the explorer speaks of digits');
    await p.page.check('[data-testid="data-own"]');
    await p.page.setInputFiles('[data-testid="data-folder"]', join(dir, 'shapes'));
    const facts = await readStatus(p);
    assert.deepEqual(facts, {
      state: 'ready', taken: '300', skipped: '0', train: '270', test: '30', labelled: 'true', classes: '3', decoder: 'bernoulli', sheet: '64', skippedFiles: [],
    });
    assert.equal(await p.page.locator('[data-testid="data-classes"] li').count(), 3);
    assert.equal(await p.read('data-set', 'data-source'), 'mnist', 'nothing is sent to the model before "Train on these"');
    await p.screenshot('own-data-folder');

    await p.click('data-use');
    await p.waitFor('data-set', 'data-source', (v) => v === 'own', { message: 'the model has the images' });
    const source = () => p.page.locator('[data-testid="load-progress"] [data-part="label"]').textContent();
    assert.equal(await source(), 'Your images "shapes": 270 to train on and 30 to test', 'the data bar names the images, not MNIST');
    await p.page.waitForSelector('body[data-phase="running"]', { timeout: 30_000 });
    assert.equal(await p.page.inputValue('[data-testid="setting-decoder"]'), 'bernoulli');
    const first = await p.waitForNumber('loss', 'data-loss', (v) => v > 0, { message: 'a first loss' });
    const fallen = await p.waitForNumber('loss', 'data-loss', (v) => v < first * 0.6, { timeout: 120_000, message: `the bound falls from ${first}` });
    console.log(`# training −ELBO on the shapes: ${first.toFixed(1)} at first, ${fallen.toFixed(1)} at step ${await p.readNumber('step', 'data-step')}`);
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    const testLoss = await p.waitForNumber('test-loss', 'data-loss', (v) => Number.isFinite(v) && v > 0, { message: 'the test bound on the 30 held out' });
    assert.ok(testLoss < first, `test −ELBO ${testLoss} below the first training loss ${first}`);
    await p.page.locator('[data-testid="explorer"]').scrollIntoViewIfNeeded();
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 30, { message: 'the 30 test images on the plane' });
    assert.equal(await p.readNumber('latent-plane', 'data-colours'), 3, 'three classes, three colours');

    // The explorer and the readouts speak of the shapes: the legend names the folders, the words
    // for the handle's neighbourhood and for a selected image name their classes, and nothing
    // there says "digit".
    const shapes = await dataWords(p);
    assert.deepEqual(shapes.legend, ['circle', 'square', 'triangle']);
    assert.equal(shapes.legendLabel, 'Colours of the classes');
    assert.deepEqual(shapes.digit, [], 'no "digit" in the readouts or the explorer');
    assert.ok(shapes.marked.includes('Your image Upload or draw an image: it is made into an MNIST-style image (grey, inverted if on a light background, cropped, scaled to fit 20×20 px, centred by its centre of mass in 28×28), encoded, and shown on the plane.'));
    assert.equal(await p.page.getAttribute('dt[title^="negative ELBO on the"]', 'title'), 'negative ELBO on the 30 test images');
    const near = /nearest on the plane are (among|mostly|between) “(circle|square|triangle)”/;
    const decoded = await p.waitFor('decoded-digit', 'aria-label', (v) => near.test(v ?? ''), { message: 'the handle’s neighbourhood in the folders’ names' });
    assert.match(decoded, /^The image decoded at z/);
    assert.match(await p.read('latent-plane-image', 'aria-label'), /: 30 test images' encodings μ as dots coloured by their label; the handle at .*, where the dots nearest to it are (among|mostly|between) “/);
    await p.page.focus('[data-testid="latent-handle"]');
    await p.page.keyboard.press('Enter');
    await p.page.waitForSelector('[data-testid="selected-digit"]:not([hidden])', { timeout: 10_000 });
    assert.match(await p.text('selected-digit'), /^Test image #\d+, labelled (circle|square|triangle)\. μ = /);
    assert.match(await p.read('selected-image', 'aria-label'), /^Test image #\d+, labelled (circle|square|triangle)$/);
    await p.page.click('[data-testid="selected-digit"] button[aria-label="Deselect the test image"]');
    await p.screenshot('own-data-trained');

    // Download data set: the four IDX files, which the native trainer reads.
    const [download] = await Promise.all([p.page.waitForEvent('download'), p.click('data-download')]);
    const zipped = unzipSync(new Uint8Array(readFileSync(await download.path())));
    const names = Object.keys(zipped).sort();
    assert.deepEqual(names, ['shapes/dataset.json', 'shapes/labels.txt', 'shapes/t10k-images-idx3-ubyte', 'shapes/t10k-labels-idx1-ubyte', 'shapes/train-images-idx3-ubyte', 'shapes/train-labels-idx1-ubyte']);
    const described = JSON.parse(new TextDecoder().decode(zipped['shapes/dataset.json']));
    assert.equal(described.hash, await p.read('data-status', 'data-hash'));
    assert.equal(described.count, 300);
    assert.equal(zipped['shapes/train-images-idx3-ubyte'].length, 16 + 270 * 784);
    assert.equal(zipped['shapes/t10k-labels-idx1-ubyte'].length, 8 + 30);
    assert.ok(existsSync(VAE_BIN), `${VAE_BIN} is missing: build it with cargo build --release (or set CARGO_TARGET_DIR)`);
    const out = mkdtempSync(join(tmpdir(), 'own-idx-'));
    dirs.push(out);
    for (const name of names) writeFileSync(join(out, name.split('/')[1]), zipped[name]);
    const log = execFileSync(VAE_BIN, ['train', '--data', out, '--epochs', '2', '--threads', '1', '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.match(log, /"epoch":2,"trainLoss"/, 'the native trainer trained on the downloaded set');
    console.log(`# vae train --data on the downloaded set: ${log.trim().split('\n').at(-1)}`);

    // The run as a file: the native trainer continues it on the downloaded set (its dataset.json
    // names the same images) and refuses it on MNIST, naming both.
    const [model] = await Promise.all([p.page.waitForEvent('download'), p.click('download')]);
    const runFile = await model.path();
    const nativeRun = join(out, 'native.vaerun');
    const resumed = execFileSync(VAE_BIN, ['train', '--data', out, '--resume', runFile, '--epochs', '3', '--threads', '1', '--json', '--checkpoint', nativeRun], { encoding: 'utf8', timeout: 120_000 });
    assert.match(resumed, /"epoch":\d+,"trainLoss"/, 'the native trainer continued the run of the page on its images');
    const refused = spawnSync(VAE_BIN, ['train', '--data', DATA_DIR, '--resume', runFile, '--epochs', '1', '--threads', '1'], { encoding: 'utf8', timeout: 120_000 });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /was trained on the images "shapes" \(300 images, SHA-256 [0-9a-f]{12}…\), and .* holds MNIST: continue it on the data it was trained on/);

    // Opened in a page that has MNIST: refused before the model is touched (the run's data set is
    // read from the file first), the model kept.
    const q = await app.page({ backend: 'cpu' });
    await q.page.setInputFiles('[data-testid="load-weights"]', { name: 'shapes.vaerun', mimeType: 'application/octet-stream', buffer: readFileSync(runFile) });
    await q.page.waitForSelector('[data-testid="error"] li[data-key="weights"]', { timeout: 30_000 });
    assert.match(await q.text('error'), /shapes\.vaerun was not opened: this run was trained on your images "shapes", and the model has MNIST now: choose that data first\. The model in use is kept\. A run trained on your own images opens once the model has them/);
    assert.notEqual(await q.read('mode', 'data-mode'), 'resumed');
    assert.deepEqual(q.errors, []);
    await q.close();

    // A reload offers the run back with its images (kept in this browser beside it); first, MNIST
    // again, in its own words (a fresh model at step 0: nothing to save, so the run saved stays).
    const step = await p.readNumber('step', 'data-step');
    await p.waitForNumber('saved-note', 'data-step', (s) => s === step, { message: 'the run saved on pause' });
    await p.page.check('[data-testid="data-mnist"]');
    await p.waitFor('data-set', 'data-source', (v) => v === 'mnist', { message: 'back on MNIST' });
    await p.page.locator('[data-testid="explorer"]').scrollIntoViewIfNeeded(); // out of view, it waits
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 2000, { message: 'the MNIST test digits on the plane' });
    const back = await dataWords(p);
    assert.deepEqual(back.legend, mnist.legend);
    assert.equal(back.legendLabel, 'Colours of the digits');
    assert.deepEqual(back.marked, mnist.marked, 'the markup says what it said before the shapes');
    assert.match(await p.waitFor('decoded-digit', 'aria-label', (v) => /^The digit decoded at .*nearest on the plane are/.test(v ?? '')), /test digits nearest on the plane are (among|mostly|between) \ds?/);
    await p.page.reload();
    await p.page.waitForSelector('body[data-phase="ready"]', { timeout: 60_000 });
    await p.page.waitForSelector('[data-testid="mode-resume"]:not([hidden])', { timeout: 10_000 });
    assert.match(await p.text('mode-resume'), /on your images "shapes"/);
    assert.equal(await p.read('data-set', 'data-source'), 'mnist');
    await p.click('mode-resume');
    await p.waitFor('mode', 'data-mode', (v) => v === 'resumed', { message: 'resumed with its images' });
    assert.equal(await p.readNumber('step', 'data-step'), step);
    assert.equal(await p.read('data-set', 'data-source'), 'own');
    assert.equal(await p.readNumber('data-status', 'data-taken'), 300);
    await p.page.locator('[data-testid="explorer"]').scrollIntoViewIfNeeded();
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 30, { message: 'the 30 test images on the plane again' });
    assert.equal(await p.readNumber('latent-plane', 'data-colours'), 3);
    assert.deepEqual((await dataWords(p)).legend, ['circle', 'square', 'triangle'], 'resumed on the shapes: their names again');

    // The run the native trainer continued comes back to the page that has its images: it records
    // them, so Open model takes it, further on than the page left it.
    await p.page.setInputFiles('[data-testid="load-weights"]', { name: 'native.vaerun', mimeType: 'application/octet-stream', buffer: readFileSync(nativeRun) });
    await p.waitForNumber('step', 'data-step', (s) => s > step, { message: 'the native run opened, past the page\'s step' });
    assert.equal(await p.read('data-set', 'data-source'), 'own');
    assert.equal(await p.page.locator('[data-testid="error"] li[data-key="weights"]').count(), 0, 'no error or warning about its data');

    // Without its images in this browser, the run is refused with the reason, and MNIST kept.
    await p.page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open('vae-web');
          open.onsuccess = () => {
            const tx = open.result.transaction('data', 'readwrite');
            tx.objectStore('data').clear();
            tx.oncomplete = () => {
              open.result.close();
              resolve(null);
            };
            tx.onerror = () => reject(tx.error);
          };
          open.onerror = () => reject(open.error);
        }),
    );
    await p.page.reload();
    await p.page.waitForSelector('body[data-phase="ready"]', { timeout: 60_000 });
    await p.page.waitForSelector('[data-testid="mode-resume"]:not([hidden])', { timeout: 10_000 });
    await p.click('mode-resume');
    await p.page.waitForSelector('[data-testid="error"] li[data-key="runs"]', { timeout: 30_000 });
    assert.match(await p.text('error'), /trained on your images "shapes" \(300 of them\), which this browser no longer holds/);
    assert.notEqual(await p.read('mode', 'data-mode'), 'resumed');
    assert.equal(await p.read('data-set', 'data-source'), 'mnist');
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test("the page's own PNG decoder reads what Chromium's encoder writes as the browser's decoder does", async () => {
    const p = await app.page({ backend: 'cpu' });
    const worst = await p.page.evaluate(async () => {
      const { decodePng } = await import('./www/own-data/png.js');
      let worst = 0;
      for (let k = 0; k < 12; k++) {
        const canvas = new OffscreenCanvas(37 + k, 29 + 2 * k);
        const ctx = canvas.getContext('2d');
        if (k % 2) {
          ctx.fillStyle = '#f3efe6';
          ctx.fillRect(0, 0, canvas.width, canvas.height);
        }
        for (let s = 0; s < 6; s++) {
          ctx.fillStyle = `rgba(${(k * 40 + s * 70) % 256}, ${(s * 90) % 256}, ${(k * 20) % 256}, ${k % 3 ? 1 : 0.6})`;
          ctx.beginPath();
          ctx.arc((s * 11 + k * 3) % canvas.width, (s * 7 + k) % canvas.height, 4 + s, 0, 2 * Math.PI);
          ctx.fill();
        }
        const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
        const ours = decodePng(bytes);
        if (!ours) throw new Error(`image ${k} was not decoded`);
        const bitmap = await createImageBitmap(new Blob([bytes]), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
        const check = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
        check.drawImage(bitmap, 0, 0);
        const theirs = check.getImageData(0, 0, bitmap.width, bitmap.height).data;
        for (let i = 0; i < theirs.length; i += 4) {
          // Where a pixel is not opaque, the canvas's premultiplied store rounds its colour.
          const tolerance = theirs[i + 3] === 255 ? 0 : 255 / theirs[i + 3];
          for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(ours.rgba[i + c] - theirs[i + c]) - (c < 3 ? tolerance : 0));
        }
      }
      return worst;
    });
    assert.ok(worst <= 0, `the two decoders differ by ${worst} beyond rounding`);
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('the same images as a .zip, with a text file and an empty file in it', async () => {
    const files = {};
    for (const { path, bytes } of shapeImages({ perShape: 100, root: 'shapes/' })) files[path] = new Uint8Array(bytes);
    files['shapes/notes.txt'] = new TextEncoder().encode('not an image');
    files['shapes/circle/empty.png'] = new Uint8Array(0);
    // Picked while the model and MNIST still load: read and shown all the same.
    const p = await app.page({ backend: 'cpu' }, { waitForReady: false });
    await p.page.waitForSelector('[data-testid="data-set"][data-ready="true"]');
    assert.notEqual(await p.page.getAttribute('body', 'data-phase'), 'ready', 'still loading');
    await p.page.check('[data-testid="data-own"]');
    await p.page.setInputFiles('[data-testid="data-files"]', { name: 'shapes.zip', mimeType: 'application/zip', buffer: Buffer.from(zipSync(files)) });
    const facts = await readStatus(p);
    assert.equal(facts.state, 'ready');
    assert.equal(facts.taken, '300');
    assert.equal(facts.classes, '3');
    assert.deepEqual(facts.skippedFiles.sort((a, b) => a.path.localeCompare(b.path)), [
      { path: 'shapes/shapes/circle/empty.png', reason: 'empty file' },
      { path: 'shapes/shapes/notes.txt', reason: 'not an image' },
    ]);
    await p.page.waitForSelector('body[data-phase="ready"]', { timeout: 120_000 });
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('a folder with a text file, a damaged PNG and an empty file: those three skipped, the rest used; nothing usable is refused', async () => {
    const images = shapeImages({ perShape: 20, root: 'mixed/' });
    const damaged = Buffer.from(images[0].bytes.subarray(0, 60)); // the header and a cut-off IDAT
    const dir = writeTree([
      ...images,
      { path: 'mixed/readme.txt', bytes: Buffer.from('these are shapes') },
      { path: 'mixed/circle/damaged.png', bytes: damaged },
      { path: 'mixed/square/empty.png', bytes: Buffer.alloc(0) },
    ]);
    dirs.push(dir);
    const p = await app.page({ backend: 'cpu' });
    await p.page.check('[data-testid="data-own"]');
    await p.page.setInputFiles('[data-testid="data-folder"]', join(dir, 'mixed'));
    const facts = await readStatus(p);
    assert.equal(facts.state, 'ready');
    assert.equal(facts.taken, '60');
    assert.equal(facts.skipped, '3');
    const reasons = Object.fromEntries(facts.skippedFiles.map((s) => [s.path, s.reason]));
    assert.deepEqual(Object.keys(reasons).sort(), ['mixed/circle/damaged.png', 'mixed/readme.txt', 'mixed/square/empty.png']);
    assert.equal(reasons['mixed/readme.txt'], 'not an image');
    assert.match(reasons['mixed/circle/damaged.png'], /^unreadable/);
    assert.equal(reasons['mixed/square/empty.png'], 'empty file');

    // "Whole image": the same files read again, fitted and padded rather than cropped to their ink.
    const digitHash = await p.read('data-status', 'data-hash');
    await p.page.check('[data-testid="data-framing-whole"]');
    await p.waitFor('data-status', 'data-framing', (v) => v === 'whole', { message: 'read again, whole' });
    assert.equal(await p.readNumber('data-status', 'data-taken'), 60);
    assert.notEqual(await p.read('data-status', 'data-hash'), digitHash, 'other images, another hash');

    // Nothing usable: refused with the reason, and the model keeps MNIST.
    await p.page.setInputFiles('[data-testid="data-files"]', [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('no images here') },
      { name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) },
    ]);
    const refused = await readStatus(p);
    assert.equal(refused.state, 'refused');
    assert.match(await p.text('data-status'), /none of the 2 files given is an image/);
    assert.equal(await p.page.isDisabled('[data-testid="data-use"]'), true);
    assert.equal(await p.read('data-set', 'data-source'), 'mnist');
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('IDX files (images with their labels), and grey photos that suggest the Gaussian decoder', async () => {
    const { writeIdxImages, writeIdxLabels } = await import('../../www/own-data/idx.js');
    const count = 50;
    const pixels = new Uint8Array(count * 784);
    for (let k = 0; k < count; k++) for (let i = 0; i < 784; i++) pixels[k * 784 + i] = (i % 28) >= 6 + (k % 10) && (i % 28) < 12 + (k % 10) && i > 100 && i < 680 ? 255 : 0;
    const labels = Uint8Array.from({ length: count }, (_, k) => k % 10);
    const p = await app.page({ backend: 'cpu' });
    await p.page.check('[data-testid="data-own"]');
    await p.page.setInputFiles('[data-testid="data-files"]', [
      { name: 'bars-images-idx3-ubyte', mimeType: 'application/octet-stream', buffer: Buffer.from(writeIdxImages(pixels, count)) },
      { name: 'bars-labels-idx1-ubyte', mimeType: 'application/octet-stream', buffer: Buffer.from(writeIdxLabels(labels)) },
    ]);
    const idx = await readStatus(p);
    assert.deepEqual({ state: idx.state, taken: idx.taken, train: idx.train, test: idx.test, labelled: idx.labelled, classes: idx.classes, decoder: idx.decoder },
      { state: 'ready', taken: '50', train: '45', test: '5', labelled: 'true', classes: '10', decoder: 'bernoulli' });

    // Smooth grey gradients, whole: grey images, so the Gaussian decoder is suggested and set.
    const photos = Array.from({ length: 12 }, (_, k) => {
      const grey = new Uint8Array(32 * 24);
      for (let y = 0; y < 24; y++) for (let x = 0; x < 32; x++) grey[y * 32 + x] = Math.round(60 + 120 * (x / 31) * (0.5 + 0.5 * Math.sin((y + k) / 4)));
      return { name: `photo-${k}.png`, mimeType: 'image/png', buffer: png(32, 24, grey) };
    });
    await p.page.check('[data-testid="data-framing-whole"]');
    await p.page.setInputFiles('[data-testid="data-files"]', photos);
    await p.waitFor('data-status', 'data-taken', (v) => v === '12', { message: 'the photos read' });
    assert.equal(await p.read('data-status', 'data-decoder'), 'gaussian');
    assert.equal(await p.read('data-status', 'data-framing'), 'whole');
    assert.equal(await p.page.inputValue('[data-testid="setting-decoder"]'), 'gaussian', 'the suggestion is set in the form');
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('images without sub-folders, dropped on the page: unlabelled, and the plane does not colour them by a label they do not have', async () => {
    const images = shapeImages({ perShape: 20 }).map(({ path, bytes }) => ({ name: path.replace('/', '-'), base64: bytes.toString('base64') }));
    const p = await app.page({ backend: 'cpu' });
    await p.page.check('[data-testid="data-own"]');
    // A drop, as the browser makes one: a DataTransfer holding the files.
    await p.page.evaluate((files) => {
      const transfer = new DataTransfer();
      for (const { name, base64 } of files) transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type: 'image/png' }));
      const zone = document.querySelector('[data-testid="data-drop"]');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, images);
    const facts = await readStatus(p);
    assert.equal(facts.state, 'ready');
    assert.equal(facts.taken, '60');
    assert.equal(facts.labelled, 'false');
    assert.equal(facts.classes, '0');
    assert.match(await p.text('data-status'), /no sub-folders or labels, so unlabelled/);
    assert.equal(await p.page.locator('[data-testid="data-classes"] li').count(), 0);
    await p.click('data-use');
    await p.waitFor('data-set', 'data-source', (v) => v === 'own', { message: 'the model has the images' });
    await p.page.locator('[data-testid="explorer"]').scrollIntoViewIfNeeded();
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 6, { message: 'the 6 test images on the plane' });
    assert.equal(await p.readNumber('latent-plane', 'data-colours'), 0, 'no class colours for a set without labels');
    const loose = await dataWords(p);
    assert.equal(loose.legend, null, 'no legend for images without labels');
    assert.deepEqual(loose.digit, []);

    // MNIST again: a fresh model on it, its ten colours back on the plane.
    await p.page.check('[data-testid="data-mnist"]');
    await p.waitFor('data-set', 'data-source', (v) => v === 'mnist', { message: 'back on MNIST' });
    assert.match(await p.page.locator('[data-testid="load-progress"] [data-part="label"]').textContent(), /^MNIST loaded: 60,000 training/);
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 2000, { message: 'the MNIST test digits on the plane' });
    assert.equal(await p.readNumber('latent-plane', 'data-colours'), 10);
    assert.deepEqual((await dataWords(p)).legend, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual(p.errors, []);
    await p.close();
  });
});

describe('your own images while WebGPU races the CPU (SwiftShader)', { timeout: 600_000 }, () => {
  let app;
  let dir;
  before(async () => {
    app = await openApp({ webgpu: true });
    dir = writeTree(shapeImages({ perShape: 100, root: 'shapes/' }));
  });
  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the WebGPU session takes the images too: the trial trains both on the same steps of them, and the run handed over goes on with them', async () => {
    const p = await app.page({ model: 'scratch', faults: '1', race: 'webgpu', hidden: '64' });
    await p.page.check('[data-testid="data-own"]');
    await p.page.setInputFiles('[data-testid="data-folder"]', join(dir, 'shapes'));
    assert.equal((await readStatus(p)).state, 'ready');
    await p.click('data-use');
    await p.waitFor('data-set', 'data-source', (v) => v === 'own', { message: 'the model has the images' });
    await p.page.waitForSelector('body[data-phase="running"]', { timeout: 30_000 });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 60_000 });
    const trial = await p.page.evaluate(() => window.__faults.raceTrial());
    assert.ok(trial, 'the trial finished');
    assert.equal(trial.winner, 'webgpu');
    // Had the WebGPU session kept MNIST, resuming the run's checkpoint there would have failed
    // (270 training images, not 60,000), or its losses would be MNIST's.
    const total = (chunks) => chunks.reduce((sum, m) => sum + m.loss * m.steps, 0);
    const gap = Math.abs(total(trial.gpuChunks) - total(trial.cpuChunks)) / Math.abs(total(trial.cpuChunks));
    assert.ok(gap < 1e-4, `WebGPU and CPU on the trial's steps of the shapes differ by ${gap}`);
    await p.waitFor('backend', 'data-backend', (v) => v === 'webgpu', { timeout: 10_000, message: 'the run on WebGPU' });
    await p.click('start');
    const step = await p.readNumber('step', 'data-step');
    await p.waitForNumber('step', 'data-step', (s) => s > step + 2, { timeout: 120_000, message: 'training on WebGPU' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 60_000 });
    await p.page.locator('[data-testid="explorer"]').scrollIntoViewIfNeeded();
    await p.waitForNumber('latent-plane', 'data-points', (n) => n === 30, { message: 'the 30 test images on the plane, from the WebGPU session' });
    assert.equal(await p.readNumber('latent-plane', 'data-colours'), 3);
    console.log(`# own images handed over to WebGPU after step ${trial.fromStep + trial.steps}; the trial's steps agree within ${gap.toExponential(2)}`);
    assert.deepEqual(p.errors, []);
    await p.close();
  });
});
