// End-to-end smoke test of the site that can be published (dist/, bash scripts/build-site.sh),
// served the plainest way: Python's http.server, no special headers, no Content-Encoding, as a
// static host that knows nothing of this project would. It proves the wasm-opt'd module loads and
// trains, that dist/ holds every file the page fetches, and that the page opens on the trained model.
//   bash scripts/build-site.sh && node --test --test-concurrency=1 tests/e2e/site.test.mjs

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { VENDORED, startServer } from '../../scripts/serve.mjs';
import { BASE_ARGS, CHROMIUM, missingArtifacts, REQUIRED } from './harness.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = process.env.SITE_DIST ? resolve(process.env.SITE_DIST) : join(REPO, 'dist');
// Every file the page fetches on a first visit and when it trains; a missing one is a broken site.
const PAGE = ['index.html', 'www/main.js', 'www/worker.js', 'www/style.css'];
const missing = existsSync(DIST)
  ? [...PAGE.filter((path) => !existsSync(join(DIST, path))), ...missingArtifacts(DIST)]
  : ['the whole directory'];
if (missing.length) {
  throw new Error(`${DIST} is not a built site (missing: ${missing.join(', ')}): run bash scripts/build-site.sh first (after wasm-pack build and scripts/setup.sh)`);
}

/** A port nobody listens on now. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Starts `python3 -m http.server` on dist/ and resolves once it answers. */
async function startPython() {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(port), '--directory', DIST], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-40_000);
  });
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  // Should this process die before after() runs, the server goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`python3 -m http.server exited (${child.exitCode}): ${stderr}`);
    const ok = await fetch(url, { method: 'HEAD' }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`python3 -m http.server did not answer on ${url} within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    requests: () => stderr,
  };
}

/**
 * Opens a page in a fresh context and records console errors (page and workers), uncaught errors
 * and HTTP errors. (Not Playwright's `requestfailed`: it reports some worker fetches of the data
 * as net::ERR_ABORTED after the page has read them whole, now and then, on a keep-alive server.)
 */
async function open(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.worker() ? 'worker ' : ''}console.error: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('crash', () => errors.push('the page crashed'));
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  await page.goto(url);
  const errorText = async () => ((await page.locator('[data-testid="error"]').first().textContent().catch(() => '')) ?? '').trim();
  const waitFor = async (what, predicate, timeout) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await predicate();
      if (value) return value;
      const phase = await page.locator('body').getAttribute('data-phase');
      if (errors.length || phase === 'failed' || Date.now() > deadline) {
        const why = errors.length ? 'console errors' : phase === 'failed' ? 'the page failed' : `timed out after ${timeout} ms`;
        throw new Error(
          `${why} waiting for ${what}; page phase ${JSON.stringify(phase)}; ` +
            `error area ${JSON.stringify(await errorText())}; console errors ${JSON.stringify(errors)}`,
        );
      }
      await page.waitForTimeout(100);
    }
  };
  return { page, errors, waitFor, close: () => context.close() };
}

/** Every file under `dir`, as paths relative to it with '/'. */
function filesUnder(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(dir, path) : [path];
  });
}

test('dist/ holds the page and nothing else; every .br and .gz sibling decodes to its file', () => {
  const files = filesUnder(DIST);
  const allowed = /^(index\.html|www\/.+\.(js|mjs|css|svg|png|jpg|jpeg|gif|webp|ico|woff2|json)|pkg(-threads)?\/vae_web\.js|pkg(-threads)?\/vae_web_bg\.wasm|pkg-threads\/snippets\/wasm-bindgen-rayon-[0-9a-f]+\/src\/workerHelpers\.no-bundler\.js|data\/mnist\/[a-z0-9-]+-ubyte|models\/[a-z0-9-]+\.(vaerun|log))(\.br|\.gz)?$/;
  // And the npm files the page imports as they are (fflate), at the paths scripts/serve.mjs serves.
  const vendored = (path) => VENDORED.some((file) => path === file || path === `${file}.br` || path === `${file}.gz`);
  assert.deepEqual(files.filter((path) => !allowed.test(path) && !vendored(path)), [], 'files that are not part of the site');
  for (const file of VENDORED) assert.ok(readFileSync(join(DIST, file)).equals(readFileSync(join(REPO, file))), `${file} is node_modules' own`);
  const dataFiles = files.filter((path) => path.startsWith('data/'));
  const idx = REQUIRED.filter((path) => path.startsWith('data/')).map((path) => path.replace(/\.gz$/, ''));
  assert.deepEqual(dataFiles.sort(), idx.flatMap((path) => [path, `${path}.br`, `${path}.gz`]).sort(), 'the IDX files, each with .br and .gz siblings');
  for (const path of idx) {
    assert.ok(readFileSync(join(DIST, path)).equals(gunzipSync(readFileSync(join(REPO, `${path}.gz`)))), `${path} is data/mnist's ${path}.gz inflated`);
  }
  const originals = files.filter((path) => /\.(html|js|mjs|css|json|svg|log|wasm|bpk)$|-ubyte$/.test(path));
  assert.ok(originals.length >= 10, `files with siblings: ${originals.join(', ')}`);
  for (const path of originals) {
    const bytes = readFileSync(join(DIST, path));
    assert.ok(existsSync(join(DIST, `${path}.br`)) && existsSync(join(DIST, `${path}.gz`)), `${path} has .br and .gz siblings`);
    assert.ok(brotliDecompressSync(readFileSync(join(DIST, `${path}.br`))).equals(bytes), `${path}.br decodes to ${path}`);
    assert.ok(gunzipSync(readFileSync(join(DIST, `${path}.gz`))).equals(bytes), `${path}.gz decodes to ${path}`);
  }
  for (const build of ['pkg', 'pkg-threads']) {
    const wasm = readFileSync(join(DIST, `${build}/vae_web_bg.wasm`));
    assert.ok(WebAssembly.validate(wasm), `${build}'s optimised module validates (Node has the same SIMD, threads and other features as Chromium)`);
  }
});

describe('the built site (dist/) on a plain static server', { timeout: 300_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startPython();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BASE_ARGS });
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('from scratch on the CPU: Start trains (the optimised wasm runs)', async () => {
    const p = await open(browser, `${server.url}index.html?model=scratch&backend=cpu`);
    try {
      const start = p.page.locator('[data-testid="start"]');
      await p.waitFor('the Start button to be enabled', () => start.isEnabled(), 120_000);
      await start.click();
      const step = await p.waitFor(
        'a training step (data-step > 0)',
        async () => {
          const value = Number(await p.page.locator('[data-testid="step"]').getAttribute('data-step'));
          return value > 0 ? value : 0;
        },
        120_000,
      );
      const loss = Number(await p.page.locator('[data-testid="loss"]').getAttribute('data-loss'));
      console.log(`# dist/ trained to step ${step}, training -ELBO ${loss}`);
      assert.ok(step > 0);
      // A host without the isolation headers gets the single-threaded build, and the badge says why.
      const badge = (await p.page.locator('[data-testid="backend"]').textContent()).trim();
      assert.match(badge, /^CPU, 1 thread — this host does not allow threads/, badge);
      // This host sends the IDX files as they are (55 MB): the page took the .gz files instead.
      assert.match(server.requests(), /"GET \/data\/mnist\/train-images-idx3-ubyte\.gz HTTP/, 'the .gz fetched by name');
      // The zip reader of "your own images" loads on this host too (fflate, imported as it is).
      const zip = await p.page.evaluate(async () => {
        const { readZip } = await import('./www/own-data/zip.js');
        return readZip(new Uint8Array(30), 'x.zip').refused;
      });
      assert.equal(zip, 'x.zip is not a zip file');
      assert.deepEqual(p.errors, [], 'no console errors');
    } finally {
      await p.close();
    }
  });

  test('by default the page opens on the trained model', async () => {
    const p = await open(browser, `${server.url}index.html`);
    try {
      const mode = p.page.locator('[data-testid="mode"]');
      await p.waitFor('data-mode="trained"', async () => (await mode.getAttribute('data-mode')) === 'trained', 120_000);
      assert.equal(await mode.getAttribute('data-mode'), 'trained');
      assert.deepEqual(p.errors, [], 'no console errors');
    } finally {
      await p.close();
    }
  });
});

describe('the built site (dist/) on scripts/serve.mjs, brotli negotiated', { timeout: 300_000 }, () => {
  let server;
  let browser;
  const served = []; // the server's log: "200 GET /path (br)"
  before(async () => {
    server = await startServer({ root: DIST, port: 0, log: (line) => served.push(line) });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: BASE_ARGS });
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await server?.close();
  });

  test('the page gets its files with Content-Encoding br, the data too, and opens on the trained model', async () => {
    const p = await open(browser, `${server.url}index.html?backend=cpu`);
    // What the server sent, by path: the coding, or null for the file as it is.
    const encodings = new Map();
    try {
      const mode = p.page.locator('[data-testid="mode"]');
      await p.waitFor('data-mode="trained"', async () => (await mode.getAttribute('data-mode')) === 'trained', 120_000);
      for (const line of served) {
        const match = /^200 GET (\S+?)(?:\?\S*)?(?: \((\w+)\))?$/.exec(line);
        if (match) encodings.set(match[1], match[2] ?? null);
      }
      // serve.mjs makes the page cross-origin isolated: the threaded build, on more than one core.
      const threaded = (await p.page.evaluate(() => navigator.hardwareConcurrency)) > 1;
      const wasm = threaded ? '/pkg-threads/vae_web_bg.wasm' : '/pkg/vae_web_bg.wasm';
      assert.equal(encodings.get(wasm), 'br', `the server's log: ${served.join('; ')}`);
      if (threaded) assert.match((await p.page.locator('[data-testid="backend"]').textContent()).trim(), /^CPU, \d+ threads/);
      assert.equal(encodings.get('/www/main.js'), 'br');
      assert.equal(encodings.get('/models/latent2.vaerun'), 'br');
      assert.equal(encodings.get('/data/mnist/train-images-idx3-ubyte'), 'br', 'the data in brotli');
      assert.equal(encodings.get('/data/mnist/train-images-idx3-ubyte.gz'), undefined, 'no .gz fetched where brotli came');
      assert.deepEqual(p.errors, [], 'no console errors');
    } finally {
      await p.close();
    }
  });
});
