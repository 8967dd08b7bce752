#!/usr/bin/env node
// How soon the page trains: the real page in headless Chromium, opened as a visitor would.
//   node tests/bench/first-step.mjs [--runs 3] [--site] [--no-webgpu]
//
// For each case, `runs` times, in a fresh browser context (cold: nothing cached) and then again in
// the same context (cached: the browser revalidates what it fetched, 304s), it opens the page with
// a fresh model (model=scratch), clicks Start as soon as it is enabled and reports, in ms from
// the navigation:
//   ready       Start enabled (wasm compiled, model built, data in)
//   first step  the step readout says 1
// and, where the backend race runs (backend=auto with a WebGPU adapter):
//   warm        WebGPU's pipelines compiled (the badge's data-warm-ms, plus when it started)
//   raced       the race decided (the badge's verdict is printed)
// Cases: auto without a WebGPU adapter (the CPU at once); auto with one (SwiftShader here: the CPU
// at once, WebGPU racing it); backend=webgpu (the GPU from its first step, waiting for its
// shaders). Medians of the runs are printed; the last line is one JSON object.
//
// --site serves dist/ (the published site, brotli) instead of the repository.

import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { BASE_ARGS, CHROMIUM, ROOT } from '../e2e/harness.mjs';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] || 0) || 3;
const SITE = args.includes('--site');
const WITH_WEBGPU = !args.includes('--no-webgpu');

const { startServer } = await import(join(ROOT, 'scripts', 'serve.mjs'));
const server = await startServer({ root: SITE ? join(ROOT, 'dist') : ROOT, port: 0 });

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return Math.round(sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2);
};

/** One visit in `context`: the times (ms from navigation) of ready, first step, warm, raced. */
async function visit(context, query, { race }) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  page.on('pageerror', (error) => errors.push(error.message));
  const opened = performance.now();
  await page.goto(`${server.url}index.html?${new URLSearchParams({ model: 'scratch', ...query })}`);
  const since = () => Math.round(performance.now() - opened);
  await page.waitForSelector('[data-testid="start"]:not([disabled])', { timeout: 300_000 });
  const ready = since();
  await page.click('[data-testid="start"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="step"]')?.dataset.step) >= 1, null, { timeout: 300_000, polling: 10 });
  const firstStep = since();
  const result = { ready, firstStep, backend: await page.getAttribute('[data-testid="backend"]', 'data-backend') };
  if (race) {
    const badge = '[data-testid="backend"]';
    await page.waitForFunction((sel) => ['warm', 'trial', 'done'].includes(document.querySelector(sel)?.dataset.race), badge, { timeout: 300_000, polling: 50 });
    result.warm = since();
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.race === 'done', badge, { timeout: 300_000, polling: 50 });
    result.raced = since();
    result.warmMs = Number(await page.getAttribute(badge, 'data-warm-ms'));
    result.verdict = (await page.textContent(badge)).trim();
  }
  result.errors = errors;
  await page.close();
  return result;
}

const cases = [
  { name: 'auto, no WebGPU adapter', webgpu: false, query: {}, race: false },
  ...(WITH_WEBGPU
    ? [
        { name: 'auto, WebGPU adapter (race)', webgpu: true, query: {}, race: true },
        { name: 'backend=webgpu', webgpu: true, query: { backend: 'webgpu' }, race: false },
      ]
    : []),
];

const report = { bench: 'first-step', site: SITE, runs: RUNS, cases: [] };
try {
  for (const c of cases) {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_ARGS, ...(c.webgpu ? ['--enable-unsafe-webgpu'] : [])] });
    const visits = { cold: [], cached: [] };
    try {
      for (let run = 0; run < RUNS; run++) {
        const context = await browser.newContext();
        visits.cold.push(await visit(context, c.query, c));
        visits.cached.push(await visit(context, c.query, c));
        await context.close();
      }
    } finally {
      await browser.close();
    }
    const summary = { name: c.name };
    for (const kind of ['cold', 'cached']) {
      const list = visits[kind];
      const m = (key) => median(list.map((v) => v[key]));
      summary[kind] = { ready: m('ready'), firstStep: m('firstStep'), warm: m('warm'), raced: m('raced'), backend: list.at(-1).backend, verdict: list.at(-1).verdict ?? null, errors: list.flatMap((v) => v.errors) };
      const s = summary[kind];
      console.log(
        `${c.name.padEnd(28)} ${kind.padEnd(6)} ready ${s.ready} ms, first step ${s.firstStep} ms on ${s.backend}` +
          (c.race ? `; WebGPU warm at ${s.warm} ms, raced at ${s.raced} ms: ${s.verdict}` : '') +
          (s.errors.length ? `; console errors: ${s.errors.join(' | ')}` : ''),
      );
    }
    report.cases.push(summary);
  }
} finally {
  await server.close();
}
console.log(JSON.stringify(report));
