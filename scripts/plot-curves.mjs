#!/usr/bin/env node
// Draws the CSV of `vae curves` (latent_dim,samples,train_elbo,test_elbo,seconds) as a PNG in the
// style of the paper's figure 2: one panel per latent dimension, the ELBO per digit (nats) on the
// training digits (dashed) and the test digits (solid) against training samples evaluated, plus a
// last panel with every dimension's test curve. The charts are drawn by the page's own chart code
// (www/views/chart.js) in headless Chromium (playwright-core, Debian's /usr/bin/chromium), the
// repository served by scripts/serve.mjs so the page can import the module.
//
//   node scripts/plot-curves.mjs docs/figure2.csv docs/figure2.png [--from 100000] [--title TEXT]
//
// --from: the first training-sample count drawn (default: the CSV's second evaluation, so the
// untrained model's bound near −550 does not flatten the curves; the paper's axis starts at 1e5).

import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const fromOption = option('--from', null);
const title = option('--title',
  'Figure 2 of Kingma & Welling (2014), reproduced: the paper\'s MNIST set-up (784-500-N_z-500-784 tanh, Bernoulli decoder, ' +
  'Adagrad 0.02, M = 100, L = 1, SGVB-B), dynamically binarised MNIST');
const [csvPath, pngPath] = args;
if (!csvPath || !pngPath) {
  console.error('usage: node scripts/plot-curves.mjs CURVES.csv OUT.png [--from SAMPLES] [--title TEXT]');
  process.exit(2);
}

// Parse: one curve per latent dimension, in the order they appear.
const lines = readFileSync(csvPath, 'utf8').trim().split('\n');
const header = lines.shift().split(',');
const expected = ['latent_dim', 'samples', 'train_elbo', 'test_elbo', 'seconds'];
if (expected.some((name, i) => header[i] !== name)) {
  throw new Error(`${csvPath}: expected the header ${expected.join(',')}, found ${header.join(',')}`);
}
const curves = new Map();
for (const line of lines) {
  const [dim, samples, train, test, seconds] = line.split(',').map(Number);
  if (![dim, samples, train, test, seconds].every(Number.isFinite)) throw new Error(`${csvPath}: bad line "${line}"`);
  if (!curves.has(dim)) curves.set(dim, { dim, samples: [], train: [], test: [], seconds: [] });
  const c = curves.get(dim);
  c.samples.push(samples);
  c.train.push(train);
  c.test.push(test);
  c.seconds.push(seconds);
}
if (curves.size === 0) throw new Error(`${csvPath}: no data`);
const from = fromOption !== null ? Number(fromOption) : ([...curves.values()][0].samples[1] ?? 0);
const data = [...curves.values()].map((c) => {
  const keep = c.samples.map((s, i) => (s >= from ? i : -1)).filter((i) => i >= 0);
  const pick = (a) => keep.map((i) => a[i]);
  return { dim: c.dim, samples: pick(c.samples), train: pick(c.train), test: pick(c.test), seconds: c.seconds.at(-1) };
});

const PANEL = { width: 440, height: 300 };
const html = `<!doctype html>
<meta charset="utf-8">
<style>
  body { margin: 0; background: #fff; font-family: system-ui, 'DejaVu Sans', sans-serif; color: #1d2433; }
  #figure { display: inline-block; padding: 14px 16px 10px; }
  h1 { font-size: 14px; font-weight: 600; margin: 0 0 10px; max-width: ${3 * PANEL.width + 40}px; line-height: 1.35; }
  .grid { display: grid; grid-template-columns: repeat(3, ${PANEL.width}px); gap: 10px 20px; }
  h2 { font-size: 13px; font-weight: 600; margin: 0 0 2px 8px; }
  canvas { width: ${PANEL.width}px; height: ${PANEL.height}px; display: block; }
  p { font-size: 12px; color: #5b6474; margin: 8px 0 0; max-width: ${3 * PANEL.width + 40}px; line-height: 1.35; }
</style>
<div id="figure"><h1 id="title"></h1><div class="grid" id="grid"></div><p id="caption"></p></div>`;

const server = await startServer({ port: 0 });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 3 * PANEL.width + 120, height: 900 }, deviceScaleFactor: 2 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const figureUrl = `${server.url}__figure__.html`;
  await page.route(figureUrl, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  await page.goto(figureUrl);
  await page.evaluate(async ({ data, title, PANEL }) => {
    const { drawChart, niceNumber } = await import('/www/views/chart.js');
    const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d'];
    const grid = document.getElementById('grid');
    document.getElementById('title').textContent = title;
    const panel = (heading) => {
      const div = document.createElement('div');
      const h = document.createElement('h2');
      h.textContent = heading;
      const canvas = document.createElement('canvas');
      div.append(h, canvas);
      grid.append(div);
      return canvas;
    };
    const fmt = (v) => v.toFixed(1);
    data.forEach((c, i) => {
      const color = COLORS[i % COLORS.length];
      drawChart(panel(`N_z = ${c.dim}: at ${niceNumber(c.samples.at(-1))} samples, train ${fmt(c.train.at(-1))}, test ${fmt(c.test.at(-1))}`), {
        xLabel: 'training samples evaluated',
        yLabel: 'ELBO (nats per digit)',
        series: [
          { label: `train, N_z = ${c.dim}`, color, xs: c.samples, ys: c.train, dash: [6, 4], width: 1.5 },
          { label: `test, N_z = ${c.dim}`, color, xs: c.samples, ys: c.test, width: 2 },
        ],
      });
    });
    drawChart(panel('Test ELBO, every N_z'), {
      xLabel: 'training samples evaluated',
      yLabel: 'test ELBO (nats per digit)',
      series: data.map((c, i) => ({ label: `N_z = ${c.dim}`, color: COLORS[i % COLORS.length], xs: c.samples, ys: c.test, width: 2 })),
    });
    document.getElementById('caption').textContent =
      'Higher is better. Train: the bound on the first 10,000 training digits (dashed); test: on the 10,000 test digits (solid); ' +
      'each a single-sample SGVB-B estimate with a fresh binarisation. One run (seed 1) per N_z. The paper runs to 10^8 samples ' +
      'on a log axis; these curves are its first ' + niceNumber(Math.max(...data.map((c) => c.samples.at(-1)))) + ' samples on a linear one.';
  }, { data, title, PANEL });
  if (errors.length) throw new Error(`the figure page reported errors:\n${errors.join('\n')}`);
  mkdirSync(dirname(resolve(pngPath)), { recursive: true });
  await page.locator('#figure').screenshot({ path: pngPath });
  console.log(`plot-curves: ${data.length} curve(s) from ${csvPath} -> ${pngPath}`);
} finally {
  await browser.close();
  await server.close();
}
