// End-to-end tests of the training page (index.html + www/*) in headless Chromium:
//   node --test tests/e2e/training.test.mjs
// Needs pkg/ (wasm-pack build) and data/mnist/*.gz (npm run data). Screenshots go to
// test-artifacts/. See tests/e2e/harness.mjs for the helpers.
//
// The CPU tests share one browser; WebGPU gets its own, launched with --enable-unsafe-webgpu
// (SwiftShader, a software adapter: about 2 s a step, the first ones slower while shaders
// compile), and is kept to a few steps.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, missingArtifacts, openApp, ROOT, VAE_BIN } from './harness.mjs';

const missing = missingArtifacts();
if (missing.length) {
  throw new Error(`the page cannot run: missing ${missing.join(', ')} (build pkg/ with wasm-pack, make the data with npm run data)`);
}

const positive = (v) => v > 0;

describe('training page on the CPU (no WebGPU adapter)', { timeout: 600_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: false });
  });
  after(async () => {
    await app?.close();
  });

  test('loads without console errors and says it runs on the CPU', async () => {
    const p = await app.page();
    assert.equal(await p.read('backend', 'data-backend'), 'cpu');
    const badge = await p.text('backend');
    // The server makes the page cross-origin isolated: the threaded build runs, one thread per
    // core (two on a two-core machine).
    const cores = await p.page.evaluate(() => navigator.hardwareConcurrency);
    const threads = cores <= 2 ? cores : cores - 1;
    assert.match(badge, new RegExp(`^CPU, ${threads === 1 ? '1 thread' : `${threads} threads`} — WebGPU unavailable`), badge);
    assert.equal(await p.read('backend', 'data-threads'), String(threads));
    assert.equal(await p.read('load-progress', 'data-state'), 'done');
    assert.match(await p.text('load-progress'), /60,000 training and 10,000 test digits/);
    // The settings show the model's defaults.
    assert.equal(await p.page.inputValue('[data-testid="setting-latentDim"]'), '2');
    assert.equal(await p.page.inputValue('[data-testid="setting-estimator"]'), 'sgvb-b');
    // The untrained model's reconstructions are drawn before training starts.
    await p.waitFor('reconstructions', 'data-step', (v) => v === '0', { message: 'first reconstructions' });
    assert.equal(await p.page.locator('[data-testid="error"]').isHidden(), true, await p.text('error'));
    await p.screenshot('page-ready');
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('training starts, the loss falls, a test bound arrives, and pause stops it', async () => {
    const p = await app.page({ backend: 'cpu' });
    await p.click('start');
    const firstStep = await p.waitForNumber('step', 'data-step', positive, { message: 'first training step' });
    const early = await p.readNumber('loss', 'data-loss');
    assert.ok(Number.isFinite(early) && early > 0, `early loss ${early}`);

    // One epoch is 600 steps of 100 digits; a test bound follows each epoch (and each pause).
    await p.waitForNumber('step', 'data-step', (s) => s >= 150, { timeout: 120_000, message: '150 steps' });
    const later = await p.readNumber('loss', 'data-loss');
    assert.ok(later < 0.75 * early, `the loss should fall: ${early.toFixed(1)} at step ${firstStep}, ${later.toFixed(1)} at step 150+`);
    const testLoss = await p.waitForNumber('test-loss', 'data-loss', positive, { message: 'test bound' });
    assert.ok(testLoss < early, `test -ELBO ${testLoss} should be below the first training loss ${early}`);
    assert.ok((await p.readNumber('examples-per-second', 'data-examples-per-second')) > 0);
    assert.ok((await p.readNumber('chart', 'data-points')) > 10);
    assert.ok((await p.readNumber('epoch', 'data-epoch')) >= 1);
    await p.waitForNumber('reconstructions', 'data-step', positive, { message: 'reconstructions refreshed while training' });
    await p.screenshot('training');

    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    const stepAtPause = await p.readNumber('step', 'data-step');
    await p.page.waitForTimeout(1500);
    assert.equal(await p.readNumber('step', 'data-step'), stepAtPause, 'no steps after pause');
    // Paused: a fresh test bound at the paused step.
    await p.waitFor('test-loss', 'data-step', (v) => Number(v) === stepAtPause, { message: 'test bound at pause' });
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('reset starts over with the settings from the form', async () => {
    const p = await app.page({ backend: 'cpu' });
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s >= 5, { message: 'some steps before reset' });

    await p.page.fill('[data-testid="setting-latentDim"]', '5');
    await p.page.selectOption('[data-testid="setting-activation"]', 'tanh');
    assert.equal(await p.read('reset', 'data-dirty'), 'true');
    await p.click('reset');
    await p.page.waitForSelector('body[data-phase="ready"]', { timeout: 30_000 });
    assert.equal(await p.readNumber('step', 'data-step'), 0);
    assert.equal(await p.readNumber('chart', 'data-points'), 0);
    const url = new URL(p.page.url());
    assert.equal(url.searchParams.get('latentDim'), '5');
    assert.equal(url.searchParams.get('activation'), 'tanh');
    assert.equal(await p.page.inputValue('[data-testid="setting-latentDim"]'), '5');
    assert.equal(await p.read('reset', 'data-dirty'), 'false');

    // The new model trains.
    await p.click('start');
    await p.waitForNumber('step', 'data-step', (s) => s >= 3, { message: 'steps after reset' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });

    // A bad value in the form is refused with a message; the model in use stays.
    const stepBefore = await p.readNumber('step', 'data-step');
    await p.page.fill('[data-testid="setting-batch"]', '0');
    await p.click('reset');
    await p.waitFor('error', 'data-count', (v) => Number(v) >= 1, { message: 'form error' });
    assert.match(await p.text('error'), /Batch size: 0 is outside 1–1000/);
    assert.equal(await p.readNumber('step', 'data-step'), stepBefore);
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('weights trained natively load into the page, and a bad file changes nothing', async () => {
    // One epoch of a small model with the native trainer (built by `cargo test --release`).
    const vae = VAE_BIN;
    assert.ok(existsSync(vae), `${vae} is missing: build it with cargo build --release`);
    const dir = join(ARTIFACTS, 'weights');
    mkdirSync(dir, { recursive: true });
    execFileSync(vae, ['train', '--latent-dim', '3', '--hidden', '64', '--epochs', '1', '--json', '--out', join(dir, 'small')], { cwd: ROOT });
    const files = (names) => names.map((name) => ({ name, mimeType: 'application/octet-stream', buffer: readFileSync(join(dir, name)) }));

    const p = await app.page({ backend: 'cpu' });
    await p.page.setInputFiles('[data-testid="load-weights"]', files(['small.bpk', 'small.json']));
    await p.waitFor('error', 'data-count', (v) => Number(v) >= 1, { message: 'a message about the load' });
    assert.match(await p.text('error'), /Loaded small\.bpk with small\.json/);
    assert.equal(await p.page.inputValue('[data-testid="setting-latentDim"]'), '3');
    assert.equal(await p.page.inputValue('[data-testid="setting-hidden"]'), '64');
    // A trained model's test bound, at step 0 of the page: an untrained one scores about 550.
    const loaded = await p.waitForNumber('test-loss', 'data-loss', positive, { message: 'test bound of the loaded weights' });
    assert.ok(loaded < 300, `test -ELBO of the loaded weights: ${loaded}`);
    assert.equal(await p.readNumber('step', 'data-step'), 0);

    // Not weights: a clear message, and the loaded model stays (same settings, same bound).
    await p.page.setInputFiles('[data-testid="load-weights"]', [{ name: 'notes.bpk', mimeType: 'application/octet-stream', buffer: Buffer.from('not weights') }]);
    await p.waitFor('error', 'data-count', (v) => Number(v) >= 1, { message: 'the refusal' });
    await p.page.waitForFunction(() => /notes\.bpk was not loaded/.test(document.querySelector('[data-testid="error"]').textContent));
    assert.match(await p.text('error'), /The model in use is kept/);
    assert.equal(await p.page.inputValue('[data-testid="setting-latentDim"]'), '3');
    assert.equal(await p.readNumber('test-loss', 'data-loss'), loaded);
    await p.click('start');
    await p.waitForNumber('step', 'data-step', positive, { message: 'training on from the loaded weights' });
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('a bad setting in the URL gets a clear message and a working default', async () => {
    const p = await app.page('backend=cpu&latentDim=abc&lr=-1&estimator=sgvb-z&colour=blue', { viewport: { width: 420, height: 900 } });
    const message = await p.text('error');
    assert.match(message, /names a setting this page does not have: colour \(ignored\)/);
    assert.match(message, /latentDim in the URL: "abc" is not a whole number; using the default, 2\./);
    assert.match(message, /lr in the URL: -1 is outside \(0, 1\]; using the default, 0\.001\./);
    assert.match(message, /estimator in the URL: "sgvb-z" is not one of sgvb-b, sgvb-a/);
    assert.equal(await p.read('error', 'data-kind'), 'warning');
    assert.equal(await p.page.inputValue('[data-testid="setting-latentDim"]'), '2');
    assert.equal(await p.page.inputValue('[data-testid="setting-lr"]'), '0.001');
    assert.equal(new URL(p.page.url()).searchParams.get('latentDim'), '2', 'the address shows the values in use');
    await p.click('start');
    await p.waitForNumber('step', 'data-step', positive, { message: 'training with the defaults' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    await p.screenshot('narrow-bad-setting');
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('without WebAssembly the page says so instead of going blank', async () => {
    const p = await app.page({}, { waitForReady: false, setup: (page) => page.addInitScript(() => delete globalThis.WebAssembly) });
    await p.page.waitForSelector('body[data-phase="failed"]', { timeout: 30_000 });
    assert.match(await p.text('error'), /cannot run WebAssembly/);
    assert.match(await p.text('backend'), /Not running/);
    assert.equal(await p.page.isDisabled('[data-testid="start"]'), true);
    await p.close();
  });

  test('the threaded build and the single-threaded one take the same steps (within 1e-4)', async () => {
    // The same seed and data in both; on threads each minibatch is cut in pieces whose gradients
    // are summed, so only the order of the floating-point sums differs.
    const losses = {};
    for (const threads of ['3', '1']) {
      const p = await app.page({ faults: '1', model: 'scratch', latentDim: '20', threads });
      assert.equal(await p.read('backend', 'data-threads'), threads);
      losses[threads] = [];
      for (let step = 0; step < 12; step++) {
        const m = await p.page.evaluate(() => window.__faults.trainSteps(1));
        assert.equal(m.step, step + 1);
        losses[threads].push(m.loss, m.reconstruction, m.kl);
      }
      assert.deepEqual(p.errors, [], 'no console errors');
      await p.close();
    }
    const worst = Math.max(...losses['3'].map((a, i) => Math.abs(a - losses['1'][i]) / Math.abs(losses['1'][i])));
    console.log(`# 12 steps, 3 threads against 1: losses within ${worst.toExponential(2)} relative`);
    assert.ok(worst < 1e-4, `3 threads: ${losses['3'].slice(-3)}; 1 thread: ${losses['1'].slice(-3)}`);
    assert.ok(losses['1'][0] > losses['1'][losses['1'].length - 3], 'the loss falls');
  });

  test('more threads than cores and than a step has pieces: hundreds of steps, none stuck', async () => {
    // A thread that waits for a step's update may have taken part of another thread's piece on its
    // way: the waiting must never hold that piece up (src/pool.rs). Six threads on this machine's
    // two cores, four pieces a step.
    const p = await app.page({ faults: '1', model: 'scratch', threads: '6' });
    assert.equal(await p.read('backend', 'data-threads'), '6');
    let m;
    for (let i = 0; i < 15; i++) m = await p.page.evaluate(() => window.__faults.trainSteps(20));
    assert.equal(m.step, 300);
    assert.ok(Number.isFinite(m.loss), `loss ${m.loss}`);
    assert.deepEqual(p.errors, [], 'no console errors');
    await p.close();
  });

  test('without the threaded build the page trains on one thread and says why', async () => {
    const block = (page) => page.route('**/pkg-threads/vae_web.js', (route) => route.fulfill({ status: 404, body: 'not found' }));
    const p = await app.page({ threads: '2', model: 'scratch' }, { setup: block });
    assert.equal(await p.read('backend', 'data-threads'), '1');
    assert.match(await p.text('backend'), /^CPU, 1 thread — the threaded build could not start: could not load the WebAssembly package \(pkg-threads\/vae_web\.js\)/);
    await p.click('start');
    await p.waitFor('step', 'data-step', (v) => Number(v) >= 3, { message: 'training on one thread' });
    await p.click('pause');
    await p.close();
  });

  test('a missing wasm package is reported readably', async () => {
    const block = (page) => page.route(/\/pkg(-threads)?\/vae_web\.js$/, (route) => route.fulfill({ status: 404, body: 'not found' }));
    const p = await app.page({}, { waitForReady: false, setup: block });
    await p.page.waitForSelector('body[data-phase="failed"]', { timeout: 30_000 });
    assert.match(await p.text('error'), /The model could not start: could not load the WebAssembly package \(pkg\/vae_web\.js\)/);
    await p.close();
  });
});

describe('training page on WebGPU (SwiftShader)', { timeout: 600_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: true });
  });
  after(async () => {
    await app?.close();
  });

  test('?backend=cpu says CPU even where WebGPU is available', async () => {
    const p = await app.page({ backend: 'cpu' });
    assert.equal(await p.read('backend', 'data-backend'), 'cpu');
    assert.match(await p.text('backend'), /^CPU, (1 thread|\d+ threads) — chosen in the URL/);
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('auto: training starts on the CPU at once, WebGPU warms up beside it, the faster on the same steps keeps the run', async () => {
    const opened = Date.now();
    const p = await app.page({ model: 'scratch' });
    assert.equal(await p.read('backend', 'data-backend'), 'cpu');
    assert.match(await p.text('backend'), /^CPU, (1 thread|\d+ threads) — training at once; WebGPU warming up beside it/);
    await p.click('start');
    // The CPU does not wait for WebGPU's shaders.
    await p.waitForNumber('step', 'data-step', (s) => s >= 1, { timeout: 30_000, message: 'a first CPU step' });
    const firstStepMs = Date.now() - opened;
    const race = await p.waitFor('backend', 'data-race', (v) => v === 'done', { timeout: 300_000, message: 'the race to end' });
    assert.equal(race, 'done');
    const webgpu = await p.readNumber('backend', 'data-race-webgpu');
    const cpu = await p.readNumber('backend', 'data-race-cpu');
    const winner = await p.read('backend', 'data-race-winner');
    assert.ok(webgpu > 0 && cpu > 0, `rates ${webgpu}, ${cpu}`);
    // The winner is whichever was faster (WebGPU must also have reached the CPU's step to win).
    if (winner === 'webgpu') assert.ok(webgpu > cpu, `WebGPU won at ${webgpu} against ${cpu}`);
    else assert.equal(winner, 'cpu');
    assert.equal(await p.read('backend', 'data-backend'), winner);
    const badge = await p.text('backend');
    assert.match(badge, /WebGPU [\d,]+ ex\/s vs CPU [\d,]+ ex\/s → (WebGPU|CPU)$/, badge);
    console.log(`race (SwiftShader): first step ${firstStepMs} ms after opening; WebGPU warm after ${await p.read('backend', 'data-warm-ms')} ms; ${badge}`);
    // Training goes on on the winner.
    const step = await p.readNumber('step', 'data-step');
    await p.waitForNumber('step', 'data-step', (s) => s > step, { timeout: 60_000, message: 'training after the race' });
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 60_000 });
    assert.deepEqual(p.errors, []);
    await p.close();
  });

  test('a run handed over from the CPU to WebGPU goes on where it was: the same losses as a run that stayed on the CPU', async () => {
    const options = { model: 'scratch', faults: '1', hidden: '64' };
    const a = await app.page({ ...options, race: 'webgpu' });
    const before = await a.page.evaluate(() => window.__faults.trainSteps(3));
    const trial = await a.page.evaluate(() => window.__faults.raceTrial());
    assert.ok(trial, 'the trial finished');
    assert.equal(trial.winner, 'webgpu');
    assert.equal(trial.fromStep, before.step);
    // The two backends on the same steps (same batches, same noise): the same losses.
    const total = (chunks) => chunks.reduce((sum, m) => sum + m.loss * m.steps, 0);
    assert.equal(trial.cpuChunks.reduce((n, m) => n + m.steps, 0), trial.steps);
    assert.equal(trial.gpuChunks.reduce((n, m) => n + m.steps, 0), trial.steps);
    const trialGap = Math.abs(total(trial.gpuChunks) - total(trial.cpuChunks)) / Math.abs(total(trial.cpuChunks));
    assert.ok(trialGap < 1e-4, `WebGPU and CPU on the trial's steps differ by ${trialGap}`);
    await a.waitFor('backend', 'data-backend', (v) => v === 'webgpu', { timeout: 10_000, message: 'the badge to say WebGPU' });
    assert.match(await a.text('backend'), /^WebGPU — WebGPU [\d,]+ ex\/s vs CPU [\d,]+ ex\/s → WebGPU \(set by the page/);
    const after = await a.page.evaluate(() => window.__faults.trainSteps(3));
    assert.equal(after.step, before.step + trial.steps + 3);
    assert.deepEqual(a.errors, []);
    await a.close();

    const b = await app.page({ ...options, backend: 'cpu' });
    const bBefore = await b.page.evaluate(() => window.__faults.trainSteps(3));
    await b.page.evaluate((n) => window.__faults.trainSteps(n), trial.steps);
    const bAfter = await b.page.evaluate(() => window.__faults.trainSteps(3));
    await b.close();
    assert.equal(bBefore.loss, before.loss, 'both runs start alike');
    assert.equal(bAfter.step, after.step);
    const gap = Math.abs(after.loss - bAfter.loss) / Math.abs(bAfter.loss);
    console.log(`hand-over to WebGPU after step ${trial.fromStep + trial.steps}: the next 3 steps' loss ${after.loss} against ${bAfter.loss} on the CPU alone (relative ${gap.toExponential(2)}); the trial's steps ${trialGap.toExponential(2)}`);
    assert.ok(gap < 1e-4, `after the hand-over the loss is ${after.loss}, on the CPU alone ${bAfter.loss} (relative ${gap})`);
  });

  test('?backend=webgpu says WebGPU and takes a few training steps', async () => {
    const p = await app.page({ backend: 'webgpu' });
    assert.equal(await p.read('backend', 'data-backend'), 'webgpu');
    const badge = await p.text('backend');
    assert.match(badge, /^WebGPU — \S/, badge);
    await p.click('start');
    // Shader compilation makes the first steps slow on a software adapter.
    await p.waitForNumber('step', 'data-step', (s) => s >= 3, { timeout: 240_000, message: 'three WebGPU steps' });
    const loss = await p.readNumber('loss', 'data-loss');
    assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 120_000 });
    await p.screenshot('webgpu');
    assert.deepEqual(p.errors, []);
    await p.close();
  });
});

describe('a run that diverges is rolled back, not lost', { timeout: 300_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: false });
  });
  after(async () => {
    await app?.close();
  });

  test('learning rate 1: the loss turns NaN, the run rolls back and pauses, one click resumes with a smaller step', async () => {
    const p = await app.page({ backend: 'cpu', lr: '1' });
    await p.click('start');
    await p.page.waitForSelector('[data-testid="error"] li[data-key="diverged"]', { timeout: 120_000 });
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    const text = await p.text('error');
    assert.match(text, /diverged with learning rate 1: the loss became NaN/);
    const step = await p.readNumber('step', 'data-step');
    assert.match(text, new RegExp(`rolled back to step ${step.toLocaleString('en-US')}`));
    // Nothing NaN reached the model: the explorer still decodes finite digits, the bound is a number.
    const loss = await p.readNumber('loss', 'data-loss');
    assert.ok(!(step > 0) || Number.isFinite(loss), `the last loss shown is finite: ${loss}`);
    await p.page.click('[data-testid="error"] button[data-action="diverged"]');
    await p.waitForNumber('step', 'data-step', (s) => s > step, { message: 'training resumed after the rollback' });
    // A tenth of the rate, and no more than the default 0.001.
    assert.equal(await p.page.inputValue('[data-testid="setting-lr"]'), '0.001');
    assert.match(p.page.url(), /lr=0\.001/);
    await p.click('pause');
    await p.page.waitForSelector('body[data-phase="paused"]', { timeout: 30_000 });
    assert.deepEqual(p.errors, []);
    await p.close();
  });
});

describe('fast random clicks: the page and the worker agree', { timeout: 300_000 }, () => {
  let app;
  before(async () => {
    app = await openApp({ webgpu: false });
  });
  after(async () => {
    await app?.close();
  });

  test('Start, Pause, Reset, Resume in fast random sequences end in a state both sides agree on', async () => {
    const p = await app.page({ backend: 'cpu' });
    // A fixed pseudo-random sequence (mulberry32), so a failure can be replayed.
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const buttons = ['start', 'pause', 'reset', 'mode-scratch', 'mode-resume'];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 25; i++) {
        const testid = buttons[Math.floor(random() * buttons.length)];
        // A click as a user makes it: nothing happens on a disabled or hidden button.
        await p.page.evaluate((t) => document.querySelector(`[data-testid="${t}"]`)?.click(), testid);
        await p.page.waitForTimeout(Math.floor(random() * 120));
      }
      // Let the last requests settle (queued ones still run: a "train from scratch" clicked last
      // starts training when its turn comes), then compare what the page says with what the
      // worker does: steps move exactly when the page says it is running.
      let phase = null;
      let a = null;
      let b = null;
      for (let tries = 0; tries < 10; tries++) {
        await p.page.waitForFunction(() => !['pausing', 'starting', 'loading'].includes(document.body.dataset.phase), null, { timeout: 30_000 });
        phase = await p.page.locator('body').getAttribute('data-phase');
        a = await p.readNumber('step', 'data-step');
        await p.page.waitForTimeout(1500);
        b = await p.readNumber('step', 'data-step');
        // Settled: the same phase at both ends, and no reset in between (the step never goes back).
        if ((await p.page.locator('body').getAttribute('data-phase')) === phase && b >= a) break;
      }
      if (phase === 'running') assert.ok(b > a, `round ${round}: the page says running, the steps must move (${a} -> ${b})`);
      else assert.equal(b, a, `round ${round}: the page says ${phase}, the steps must not move`);
      assert.ok(['ready', 'running', 'paused'].includes(phase), `round ${round}: phase ${phase}`);
      // The buttons match the phase.
      assert.equal(await p.page.isDisabled('[data-testid="pause"]'), phase !== 'running');
    }
    assert.deepEqual(p.errors, []);
    await p.close();
  });
});
