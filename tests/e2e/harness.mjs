// Shared helper for the end-to-end tests (tests/e2e/*.test.mjs) and the browser benchmark
// (tests/bench/browser.mjs): serves the repository, drives the real page in headless Chromium
// through playwright-core, collects console errors, saves screenshots.
//
// API (everything is async unless marked otherwise):
//
//   import { openApp, missingArtifacts, ROOT, ARTIFACTS } from './harness.mjs';
//
//   missingArtifacts()                    sync -> string[]: built files the page needs that are absent
//                                         (pkg/ and pkg-threads/ (scripts/build-wasm.sh), data/mnist/*.gz, models/).
//                                         Tests do `test('...', { skip: ... })` or fail loudly with it.
//
//   const app = await openApp({ webgpu = false });
//       Starts scripts/serve.mjs's static server on a free port (127.0.0.1) and launches
//       /usr/bin/chromium headless with a fresh profile. `webgpu: true` adds
//       --enable-unsafe-webgpu (SwiftShader software adapter); without it requestAdapter()
//       returns null, so the page must fall back to the CPU.
//     app.url                             the server's base URL, ending in "/"
//     app.browser                         the playwright Browser
//     const p = await app.page(query = {}, { waitForReady = true, viewport, setup, asWritten = false })
//         opens index.html?<query> (query: object or string) in a new context, with model=scratch
//         added unless the query names a model or `asWritten` (then the address is the query
//         alone); `setup(page)` runs
//         before the navigation (e.g. page.route(...) to block a module); when waitForReady,
//         waits until the page says its model and data are ready (body[data-phase] is
//         'ready' | 'running' | 'paused') or fails with the page's error text.
//       p.page                            the playwright Page
//       p.errors                          string[]: console errors + uncaught page errors so far,
//                                         from the page and its workers, and console warnings
//                                         from the site's own code (www/, pkg/, …) (live array)
//       p.messages                        string[]: every console message, "type: text" (live array)
//       await p.read(testid, attr)        the attribute `attr` (e.g. 'data-step') of
//                                         [data-testid=testid], or null
//       await p.readNumber(testid, attr)  the same as a Number (NaN when absent)
//       await p.text(testid)              the element's textContent, trimmed
//       await p.waitFor(testid, attr, predicate, { timeout = 60000, message })
//                                         polls until predicate(value: string|null) is true;
//                                         returns the value; on timeout throws with the last
//                                         value, the page's error text and p.errors
//       await p.waitForNumber(testid, attr, predicate, opts)   same, value as Number
//       await p.click(testid)             clicks [data-testid=testid]
//       await p.screenshot(name)          saves test-artifacts/<name>.png (full page), returns its path
//       await p.close()
//     await app.close()                   closes the browser and the server
//
//   const p = await openTrainedExplorer(app)   app.page() on the trained 2-D model (CPU), once its
//                                         explorer shows it
//   await sevenImage(p, type)             Buffer: a dark "7" on paper, drawn in the page, as `type`
//   await drawSeven(p)                    draws a "7" on the explorer's drawing pad with the mouse
//
//   ROOT        absolute path of the directory served: the repository root, or $E2E_ROOT when set
//               (a copy of the page with a stand-in pkg/, to try the page without a wasm build)
//   ARTIFACTS   absolute path of test-artifacts/ (created on first screenshot)
//
// Each p is a new browser context, so pages share nothing (no cache, no storage).
// Page attributes the tests read are listed in www/main.js's header comment.

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = process.env.E2E_ROOT ? resolve(process.env.E2E_ROOT) : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(REPO, 'test-artifacts');
/** The native trainer, where cargo builds it (`CARGO_TARGET_DIR` if set). */
export const VAE_BIN = join(resolve(REPO, process.env.CARGO_TARGET_DIR ?? 'target'), 'release', 'vae');

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Flags that make a headless Chromium behave on this offline, sandbox-less machine. */
export const BASE_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The built files the page needs (the wasm module, the MNIST files, the trained models). */
export const REQUIRED = [
  'pkg/vae_web.js',
  'pkg/vae_web_bg.wasm',
  'pkg-threads/vae_web.js',
  'pkg-threads/vae_web_bg.wasm',
  'data/mnist/train-images-idx3-ubyte.gz',
  'data/mnist/train-labels-idx1-ubyte.gz',
  'data/mnist/t10k-images-idx3-ubyte.gz',
  'data/mnist/t10k-labels-idx1-ubyte.gz',
  'models/latent2.vaerun',
  'models/latent2.log',
  'models/latent20.vaerun',
  'models/latent20.log',
];

/** Built files the page needs that are not under `root` (empty when all are there). */
export function missingArtifacts(root = ROOT) {
  return REQUIRED.filter((path) => !existsSync(join(root, path)));
}

/** Starts the server and a browser; see the header for the returned object. */
export async function openApp({ webgpu = false } = {}) {
  const { startServer } = await import(join(REPO, 'scripts', 'serve.mjs'));
  const server = await startServer({ root: ROOT, port: 0 });
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // playwright passes --headless itself and makes a fresh --user-data-dir per launch.
      headless: true,
      args: [...BASE_ARGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : [])],
    });
  } catch (error) {
    await server.close();
    throw error;
  }
  const pages = new Set();
  return {
    url: server.url,
    browser,
    page: async (query = {}, options = {}) => {
      const p = await openPage(browser, server.url, query, options);
      pages.add(p);
      return p;
    },
    close: async () => {
      for (const p of pages) await p.close().catch(() => {});
      await browser.close().catch(() => {});
      await server.close();
    },
  };
}

async function openPage(browser, baseUrl, query, { waitForReady = true, viewport = { width: 1280, height: 900 }, setup = null, asWritten = false } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  const messages = [];
  page.on('console', (message) => {
    const where = message.worker() ? 'worker ' : '';
    messages.push(`${where}${message.type()}: ${message.text()}`);
    const url = message.location()?.url;
    if (message.type() === 'error') errors.push(`${where}console.error: ${message.text()}${url ? ` (${url})` : ''}`);
    // The browser's own warnings (about flags, the software GPU) are not the page's to fix.
    if (message.type() === 'warning' && url?.startsWith(baseUrl)) errors.push(`${where}console.warn: ${message.text()} (${url})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('crash', () => errors.push('the page crashed'));

  if (setup) await setup(page);
  // The page opens on a trained model unless told otherwise; these tests start from scratch
  // unless they ask for `model: 'trained'`.
  const params = new URLSearchParams(typeof query === 'string' ? query.replace(/^\?/, '') : query);
  if (!params.has('model') && !asWritten) params.set('model', 'scratch');
  const search = params.toString();
  await page.goto(`${baseUrl}index.html${search ? `?${search}` : ''}`);

  const selector = (testid) => `[data-testid="${testid}"]`;
  const read = (testid, attr) => page.locator(selector(testid)).first().getAttribute(attr);
  const pageErrorText = async () =>
    (await page.locator(selector('error')).first().textContent().catch(() => ''))?.trim() ?? '';

  const waitFor = async (testid, attr, predicate, { timeout = 60_000, message = '' } = {}) => {
    const deadline = Date.now() + timeout;
    let value = null;
    for (;;) {
      value = await read(testid, attr).catch(() => null);
      if (predicate(value)) return value;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeout} ms waiting for ${testid}[${attr}]${message ? ` (${message})` : ''}; ` +
            `last value ${JSON.stringify(value)}; page error area: ${JSON.stringify(await pageErrorText())}; ` +
            `console errors: ${JSON.stringify(errors)}`,
        );
      }
      await page.waitForTimeout(100);
    }
  };

  const p = {
    page,
    errors,
    messages,
    read,
    readNumber: async (testid, attr) => Number((await read(testid, attr)) ?? NaN),
    text: async (testid) => ((await page.locator(selector(testid)).first().textContent()) ?? '').trim(),
    waitFor,
    waitForNumber: async (testid, attr, predicate, options) =>
      Number(await waitFor(testid, attr, (value) => value !== null && predicate(Number(value)), options)),
    click: (testid) => page.locator(selector(testid)).first().click(),
    screenshot: async (name) => {
      mkdirSync(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => context.close(),
  };

  if (waitForReady) {
    // Loading the wasm, starting the device and fetching the data; WebGPU on SwiftShader is slow.
    await page
      .waitForSelector('body[data-phase="ready"], body[data-phase="running"], body[data-phase="paused"], body[data-phase="failed"]', {
        timeout: 120_000,
      })
      .catch(() => {});
    const phase = await page.locator('body').getAttribute('data-phase');
    if (phase !== 'ready' && phase !== 'running' && phase !== 'paused') {
      throw new Error(
        `the page did not become ready (phase ${JSON.stringify(phase)}); error area: ${JSON.stringify(await pageErrorText())}; ` +
          `console errors: ${JSON.stringify(errors)}`,
      );
    }
  }
  return p;
}

/**
 * Opens the page on its trained 2-D model on the CPU and waits until the explorer shows it;
 * returns the page (as from `app.page()`).
 */
export async function openTrainedExplorer(app) {
  const p = await app.page({ backend: 'cpu', model: 'trained' });
  await p.waitFor('mode', 'data-mode', (v) => v === 'trained', { timeout: 120_000, message: 'the trained model loaded' });
  await p.page.waitForSelector('[data-testid="explorer"][data-ready="true"]', { timeout: 60_000 });
  return p;
}

/**
 * A thick dark "7" on a light 200×160 background, off-centre (top left), drawn by the page's own
 * canvas and encoded as `type` (e.g. 'image/png'): returns the file's bytes.
 */
export async function sevenImage(p, type) {
  const base64 = await p.page.evaluate((mime) => {
    const c = document.createElement('canvas');
    c.width = 200;
    c.height = 160;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#f4f1ea'; // paper, not pure white
    ctx.fillRect(0, 0, 200, 160);
    ctx.strokeStyle = '#1a1a1a';
    ctx.lineWidth = 14;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(22, 22);
    ctx.lineTo(92, 22);
    ctx.lineTo(50, 124);
    ctx.stroke();
    return c.toDataURL(mime, 0.92).split(',')[1];
  }, type);
  return Buffer.from(base64, 'base64');
}

/** Draws a "7" on the explorer's drawing pad with the mouse (`p`: a page from `openApp().page()`). */
export async function drawSeven(p) {
  const pad = p.page.locator('[data-testid="draw-pad"]');
  await pad.scrollIntoViewIfNeeded();
  const b = await pad.boundingBox();
  const at = (fx, fy) => [b.x + fx * b.width, b.y + fy * b.height];
  await p.page.mouse.move(...at(0.25, 0.22));
  await p.page.mouse.down();
  await p.page.mouse.move(...at(0.72, 0.22), { steps: 12 });
  await p.page.mouse.move(...at(0.42, 0.82), { steps: 16 });
  await p.page.mouse.up();
}
