// End-to-end: a run is never lost to a reload. Train, pause (the run is saved in the browser),
// reload: the page offers "resume where you left off" at that step, and resuming continues it.
// "Download model" saves the run as one file, and "Open model" continues it in a fresh page.
//   node --test tests/e2e/runs.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, ROOT, VAE_BIN, missingArtifacts, openApp } from './harness.mjs';

const missing = missingArtifacts();
if (missing.length) throw new Error(`the page cannot run: missing ${missing.join(', ')} (run bash scripts/setup.sh and wasm-pack build)`);

describe('runs survive a reload and travel as files', { timeout: 300_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: false });
  });
  after(async () => {
    await app?.close();
  });

  test('train, pause, reload: resume where you left off, and train on', async () => {
    const p = await app.page({ backend: 'cpu' });
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s >= 30, { message: '30 steps' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    const step = await p.readNumber('step', 'data-step');
    await p.waitForNumber('saved-note', 'data-step', (s) => s === step, { message: 'the run saved on pause' });
    console.log(`# saving the run (${(await p.readNumber('saved-note', 'data-bytes')) / 1e6} MB) held the worker for ${await p.readNumber('saved-note', 'data-ms')} ms, read back in ${await p.readNumber('saved-note', 'data-read-ms')} ms`);
    const points = await p.readNumber('chart', 'data-points');

    await p.page.reload();
    await p.page.waitForSelector('body[data-phase="ready"]', { timeout: 60_000 });
    await p.page.waitForSelector('[data-testid="mode-resume"]:not([hidden])', { timeout: 10_000 });
    assert.equal(await p.readNumber('mode-resume', 'data-step'), step);
    assert.match(await p.text('mode-resume'), new RegExp(`step ${step.toLocaleString('en-US')}`));
    await p.click('mode-resume');
    await p.waitFor('mode', 'data-mode', (v) => v === 'resumed', { message: 'resumed' });
    assert.equal(await p.readNumber('step', 'data-step'), step);
    assert.equal(await p.readNumber('chart', 'data-points'), points, 'the chart came back with the run');
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s > step, { message: 'training on from the saved step' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });

    // Download the run, open it in another page.
    const [download] = await Promise.all([p.page.waitForEvent('download'), p.click('download')]);
    const path = await download.path();
    const bytes = readFileSync(path);
    assert.equal(bytes.subarray(0, 6).toString(), 'VAERUN');
    const at = await p.readNumber('step', 'data-step');
    const q = await app.page({ backend: 'cpu', latentDim: '5' });
    await q.page.setInputFiles('[data-testid="load-weights"]', { name: download.suggestedFilename(), mimeType: 'application/octet-stream', buffer: bytes });
    await q.waitFor('mode', 'data-mode', (v) => v === 'resumed', { message: 'opened' });
    assert.equal(await q.readNumber('step', 'data-step'), at);
    assert.equal(await q.page.inputValue('[data-testid="setting-latentDim"]'), '2');
    // A damaged run (cut in half) is refused with a message; the model stays.
    await q.page.setInputFiles('[data-testid="load-weights"]', { name: 'broken.vaerun', mimeType: 'application/octet-stream', buffer: bytes.subarray(0, bytes.length >> 1) });
    await q.waitFor('error', 'data-count', (v) => Number(v) >= 1, { message: 'a message about the bad file' });
    assert.match(await q.text('error'), /broken\.vaerun was not opened: .*not a training run this app can read: it is truncated/);
    assert.equal(await q.readNumber('step', 'data-step'), at);

    // The native trainer continues the page's run, and the page opens the trainer's.
    const vae = VAE_BIN;
    assert.ok(existsSync(vae), `${vae} is missing: build it with cargo build --release`);
    const dir = join(ARTIFACTS, 'runs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'page.vaerun'), bytes);
    const log = execFileSync(vae, ['train', '--resume', join(dir, 'page.vaerun'), '--epochs', '1', '--json', '--checkpoint', join(dir, 'native.vaerun')], { cwd: ROOT }).toString();
    const native = Number(/step (\d+)\)/.exec(log)?.[1]);
    assert.equal(native, at + 600, `one more epoch of 600 steps after step ${at}: ${log}`);
    await q.page.setInputFiles('[data-testid="load-weights"]', { name: 'native.vaerun', mimeType: 'application/octet-stream', buffer: readFileSync(join(dir, 'native.vaerun')) });
    await q.waitForNumber('step', 'data-step', (s) => s === native, { message: 'the native run opened in the page' });
    assert.deepEqual(p.errors, []);
    assert.deepEqual(q.errors, []);
    await q.close();
    await p.close();
  });

  test('a panic inside the module: noticed at once, a fresh worker, the saved run restored', async () => {
    const p = await app.page({ backend: 'cpu', faults: '1' });
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s >= 20, { message: '20 steps' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    const step = await p.readNumber('step', 'data-step');
    await p.waitForNumber('saved-note', 'data-step', (s) => s === step, { message: 'saved on pause' });

    const started = Date.now();
    await p.page.evaluate(() => window.__faults.panic());
    await p.page.waitForSelector('body[data-phase="starting"], body[data-phase="loading"]', { timeout: 5_000 });
    const noticed = Date.now() - started;
    console.log(`# the crash was noticed after ${noticed} ms`);
    assert.ok(noticed < 1_000, `noticed after ${noticed} ms`);
    await p.waitFor('mode', 'data-recovered', (v) => v !== null, { timeout: 60_000, message: 'recovered' });
    assert.equal(await p.readNumber('mode', 'data-recovered'), step);
    assert.equal(await p.readNumber('step', 'data-step'), step);
    assert.match(await p.text('error'), new RegExp(`crashed: .*restored from step ${step}`));
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s > step, { message: 'training on after the crash' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    // The panic's own report on the console is expected; nothing else.
    assert.deepEqual(p.errors.filter((e) => !/fault-injection|unreachable|RuntimeError/.test(e)), []);
    await p.close();
  });
});

describe('a lost GPU device', { timeout: 600_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: true });
  });
  after(async () => {
    await app?.close();
  });

  test('is noticed, and the run saved on WebGPU goes on on the CPU, saying so', async () => {
    const p = await app.page({ backend: 'webgpu', faults: '1', hidden: '64' });
    assert.equal(await p.read('backend', 'data-backend'), 'webgpu');
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s >= 5, { timeout: 120_000, message: '5 steps on WebGPU' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 60_000 });
    const step = await p.readNumber('step', 'data-step');
    await p.waitForNumber('saved-note', 'data-step', (s) => s === step, { timeout: 60_000, message: 'the WebGPU run saved on pause' });
    console.log(`# saving a run on WebGPU (${(await p.readNumber('saved-note', 'data-bytes')) / 1e6} MB) held the worker for ${await p.readNumber('saved-note', 'data-ms')} ms, read back in ${await p.readNumber('saved-note', 'data-read-ms')} ms`);

    await p.page.evaluate(() => window.__faults.loseGpu());
    await p.waitFor('backend', 'data-backend', (v) => v === 'cpu', { timeout: 120_000, message: 'on the CPU after the device was lost' });
    await p.waitFor('mode', 'data-recovered', (v) => v !== null, { timeout: 60_000, message: 'recovered' });
    assert.equal(await p.readNumber('mode', 'data-recovered'), step, 'the run saved on WebGPU restored on the CPU');
    assert.equal(await p.readNumber('step', 'data-step'), step);
    assert.match(await p.text('error'), new RegExp(`The GPU device was lost \\(destroyed.*\\)\\. The model was restarted and your run restored from step ${step}`));
    await p.click('start');
    assert.match(p.page.url(), /backend=cpu/);
    await p.waitForNumber('step', 'data-step', (s) => s > step, { message: 'training on on the CPU' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    assert.deepEqual(p.errors.filter((e) => !/lost|destroy/i.test(e)), []);
    await p.close();
  });
});
