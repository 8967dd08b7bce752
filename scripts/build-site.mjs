#!/usr/bin/env node
// Builds the site that can be published, in dist/: only what the page loads, the WebAssembly
// optimised with wasm-opt, and a precompressed .br and .gz beside every file a static host can
// send compressed (scripts/serve.mjs negotiates them; so do nginx's gzip_static/brotli_static,
// and many hosts). Run it through scripts/build-site.sh, after `wasm-pack build --release
// --target web` and scripts/setup.sh.
//
//   dist/index.html
//   dist/www/**                  the page's scripts and CSS
//   dist/pkg/vae_web.js          wasm-bindgen's glue
//   dist/pkg/vae_web_bg.wasm     pkg/'s module through wasm-opt (npm binaryen, pinned in package.json)
//   dist/pkg-threads/**          the same for the threaded CPU build (scripts/build-wasm.sh), with
//                                the script that starts its threads (snippets/); loaded instead of
//                                pkg/ where the host makes the page cross-origin isolated
//   dist/data/mnist/*-ubyte      the MNIST IDX files, inflated from data/mnist/*.gz, with .br and
//                                .gz siblings like every other file: a host that sends them
//                                compressed (brotli: 9.2 MB instead of gzip's 11.2) does, and the
//                                page uses that; on a host that sends them as they are (55 MB),
//                                the page fetches the .gz siblings by name instead and inflates them
//   dist/node_modules/fflate/esm/browser.js
//                                fflate's ES module build, which the page imports as it is to read
//                                and write zips (scripts/serve.mjs's VENDORED: the same path)
//   dist/models/*.vaerun, .log  the trained runs the page opens with (weights, optimizer state,
//                                chart), and the trainer's log, whose first line (the config) the
//                                page reads when a link names settings
//
// Idempotent and quick when nothing changed: a file is rewritten only when its bytes differ, its
// siblings only when it was rewritten (or they are missing or older), and the wasm-opt output is
// cached in target/site/ under a key made of the input's SHA-256, the flags and binaryen's version
// (wasm-pack rewrites pkg/ on every build, so times alone would redo minutes of work). Files in
// dist/ that the build does not make are removed.
//
// Prints what it did and the sizes over the wire: every file, brotli where there is a .br; each
// .wasm in brotli against its 3 MB budget; a first visit (index.html, www/, one of the two builds,
// the data and the 2-D model the page opens with) against 15 MB. MB = 10^6 bytes.
//
//   node scripts/build-site.mjs [--quiet]      (--quiet: no per-file size table)

import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gunzip, gzip } from 'node:zlib';
import { VENDORED } from './serve.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(REPO, 'target', 'site');
const WASM_OPT = join(REPO, 'node_modules', 'binaryen', 'bin', 'wasm-opt');

// The features the module uses, as rustc and wasm-ld declare them in its target_features section
// (simd128 from .cargo/config.toml; the rest are on by default in today's Rust for wasm32), named
// here so that wasm-opt neither refuses the module nor leans on that section surviving. With the
// section stripped, validation fails without each of simd, nontrapping-float-to-int, sign-ext,
// multivalue, reference-types and bulk-memory-opt; mutable-globals, bulk-memory and
// call-indirect-overlong are not needed to validate, but the module was compiled assuming them, so
// wasm-opt may use them too. --mvp-features first, so that nothing beyond these is assumed.
export const WASM_FEATURES = [
  '--mvp-features',
  '--enable-simd',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-multivalue',
  '--enable-reference-types',
  '--enable-bulk-memory',
  '--enable-bulk-memory-opt',
  '--enable-mutable-globals',
  '--enable-call-indirect-overlong',
];
// -O1: measured on this module (2 cores, busy), -O1 gives the smallest brotli of all levels
// (2.21 MB, against 2.27 for no optimisation, 2.37 for -Oz, 2.40 for -O2 and -Os) in about a
// minute of CPU, where -O2, -Os and -Oz take 2.5 to 3 minutes: the harder levels shrink the raw
// module further (15.7 MB for -Oz, 20.1 for -O1, 26.0 for none) but brotli, with its 16 MB
// window, was already removing that repetition. Training speed in the page: the same within noise.
// --strip-debug drops the 6 MB name section, --strip-producers the toolchain note.
export const WASM_OPT_FLAGS = ['-O1', '--strip-debug', '--strip-producers', ...WASM_FEATURES];

/** The two browser builds (scripts/build-wasm.sh) and what wasm-opt must allow in each. */
const BUILDS = [
  { dir: 'pkg', flags: WASM_OPT_FLAGS },
  // Shared memory and atomics (`+atomics` in scripts/build-wasm.sh).
  { dir: 'pkg-threads', flags: [...WASM_OPT_FLAGS, '--enable-threads'] },
];

const MB = 1e6;
const BUDGET_WASM_BR = 3 * MB;
// The data (~9.2 MB in brotli), the wasm (~2.7) and the trained 2-D run the page opens on (~6.4:
// with Adam's moments beside the weights, so that Start trains it on exactly where it stopped).
const BUDGET_FIRST_VISIT = 20 * MB;

/** Files that get .br and .gz siblings: everything the site has (the data have no extension). */
const COMPRESSIBLE = /\.(html|js|mjs|css|json|svg|txt|log|wasm|vaerun)$|^data\/mnist\/[a-z0-9-]+-ubyte$/i;
/** Extensions of files copied from www/ (its scripts, styles and any images). */
const WWW_FILES = /\.(js|mjs|css|svg|png|jpg|jpeg|gif|webp|ico|woff2|json)$/i;

/** The data, as the repository has them (scripts/setup.sh), each inflated for the site. */
const DATA_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const MODELS = ['latent2', 'latent20'];
const MODEL_FILES = ['vaerun', 'log'];
/** What a first visit fetches from models/: the page opens on the 2-D run (its log only for a link with settings). */
const FIRST_VISIT_MODEL = ['models/latent2.vaerun'];

const say = (line) => console.log(`build-site: ${line}`);
const fail = (line) => {
  console.error(`build-site: error: ${line}`);
  process.exit(1);
};

function parseArgs(argv) {
  const options = { quiet: false };
  for (const arg of argv) {
    if (arg === '--quiet') options.quiet = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node scripts/build-site.mjs [--quiet]   (writes dist/; --quiet: no per-file size table)');
      process.exit(0);
    } else fail(`unknown argument ${arg}`);
  }
  return options;
}

async function walk(dir) {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile() || entry.isSymbolicLink()) files.push(path);
  }
  return files;
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes) => `${(bytes / MB).toFixed(2)} MB`;

/** Runs wasm-opt with `flags` on a build's module, or takes the cached output of an identical earlier run. */
async function optimisedWasm(input, flags) {
  const version = JSON.parse(readFileSync(join(REPO, 'node_modules', 'binaryen', 'package.json'), 'utf8')).version;
  const bytes = await readFile(input);
  const key = createHash('sha256')
    .update(bytes)
    .update(JSON.stringify({ flags, binaryen: version }))
    .digest('hex')
    .slice(0, 16);
  const cached = join(CACHE, `vae_web_bg.${key}.wasm`);
  if (existsSync(cached)) {
    say(`wasm-opt: unchanged input, cached output (${relative(REPO, cached)})`);
    return cached;
  }
  await mkdir(CACHE, { recursive: true });
  const started = performance.now();
  say(`wasm-opt (binaryen ${version}) ${flags.join(' ')}: ${relative(REPO, input)}, ${mb(bytes.length)} in ...`);
  const partial = `${cached}.tmp`;
  try {
    await promisify(execFile)(process.execPath, [WASM_OPT, input, ...flags, '-o', partial], { maxBuffer: 64 * MB });
  } catch (error) {
    await rm(partial, { force: true });
    fail(`wasm-opt failed: ${(error.stderr || error.message).trim()}`);
  }
  await rename(partial, cached);
  const size = (await stat(cached)).size;
  say(`wasm-opt: ${mb(bytes.length)} -> ${mb(size)} in ${seconds(performance.now() - started)}`);
  return cached;
}

/** Copies `from` to `to` unless `to` already holds the same bytes; true when it wrote. */
async function syncFile(from, to) {
  const [source, target] = await Promise.all([stat(from), stat(to).catch(() => null)]);
  if (target?.isFile() && target.size === source.size) {
    const [a, b] = await Promise.all([readFile(from), readFile(to)]);
    if (a.equals(b)) return false;
  }
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, `${to}.tmp`);
  await rename(`${to}.tmp`, to);
  return true;
}

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);
const inflate = promisify(gunzip);

/** `source` (a .gz file) inflated, in target/site/mnist/ (rewritten when the source is newer). */
async function inflated(source) {
  const to = join(CACHE, 'mnist', basename(source, '.gz'));
  const [from, cached] = await Promise.all([stat(source), stat(to).catch(() => null)]);
  if (!(cached?.mtimeMs >= from.mtimeMs)) {
    await mkdir(dirname(to), { recursive: true });
    await writeFile(`${to}.tmp`, await inflate(await readFile(source)));
    await rename(`${to}.tmp`, to);
  }
  return to;
}

/** Writes `file.br` and `file.gz` when missing, older than the file, or when it changed. */
async function compressSiblings(file, changed) {
  const info = await stat(file);
  const stale = async (sibling) => changed || !((await stat(sibling).catch(() => null))?.mtimeMs >= info.mtimeMs);
  const jobs = [];
  const text = /\.(html|js|mjs|css|json|svg|txt|log)$/i.test(file);
  if (await stale(`${file}.br`)) {
    jobs.push(async () => {
      const bytes = await readFile(file);
      const out = await brotli(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
          [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
          [constants.BROTLI_PARAM_MODE]: text ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
          [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      });
      await writeFile(`${file}.br.tmp`, out);
      await rename(`${file}.br.tmp`, `${file}.br`);
    });
  }
  if (await stale(`${file}.gz`)) {
    jobs.push(async () => {
      const out = await gz(await readFile(file), { level: constants.Z_BEST_COMPRESSION, memLevel: 9 });
      await writeFile(`${file}.gz.tmp`, out);
      await rename(`${file}.gz.tmp`, `${file}.gz`);
    });
  }
  return jobs;
}

/** Runs the jobs (async functions) at most `limit` at a time (zlib works on libuv's threads). */
async function pool(jobs, limit) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const out = join(REPO, 'dist');

  // What the site is made of: [source, path in the site].
  const missing = [];
  const need = (path, hint) => {
    if (!existsSync(join(REPO, path))) missing.push(`${path} (${hint})`);
    return join(REPO, path);
  };
  const built = 'bash scripts/build-wasm.sh';
  const entries = [
    [need('index.html', 'part of the repository'), 'index.html'],
    ...BUILDS.map(({ dir }) => [need(`${dir}/vae_web.js`, built), `${dir}/vae_web.js`]),
    ...MODELS.flatMap((model) => MODEL_FILES.map((ext) => [need(`models/${model}.${ext}`, 'bash scripts/setup.sh'), `models/${model}.${ext}`])),
    ...VENDORED.map((path) => [need(path, 'npm ci'), path]),
  ];
  if (!existsSync(WASM_OPT)) missing.push('node_modules/binaryen (bash scripts/setup.sh, or npm ci)');
  const www = (await walk(join(REPO, 'www'))).filter((path) => WWW_FILES.test(path) && !relative(REPO, path).split(sep).some((s) => s.startsWith('.')));
  if (!www.length) missing.push('www/ (part of the repository)');
  const wasmInputs = BUILDS.map(({ dir, flags }) => ({ dir, flags, input: need(`${dir}/vae_web_bg.wasm`, built) }));
  const dataSources = DATA_FILES.map((name) => need(`data/mnist/${name}`, 'bash scripts/setup.sh'));
  if (missing.length) fail(`missing: ${missing.join(', ')}`);
  for (const source of dataSources) entries.push([await inflated(source), `data/mnist/${basename(source, '.gz')}`]);
  for (const path of www) entries.push([path, relative(REPO, path).split(sep).join('/')]);
  // Scripts wasm-bindgen copies beside a build's glue (the threaded build's thread starter).
  for (const { dir } of BUILDS) {
    for (const path of (await walk(join(REPO, dir, 'snippets'))).filter((p) => /\.m?js$/.test(p))) {
      entries.push([path, relative(REPO, path).split(sep).join('/')]);
    }
  }

  const optimised = [];
  for (const { dir, flags, input } of wasmInputs) {
    optimised.push(await optimisedWasm(input, flags));
    entries.push([optimised.at(-1), `${dir}/vae_web_bg.wasm`]);
  }
  // Older outputs of other keys are of no more use.
  for (const name of await readdir(CACHE)) {
    const path = join(CACHE, name);
    if (/^vae_web_bg\.[0-9a-f]{16}\.wasm$/.test(name) && !optimised.includes(path)) await rm(path, { force: true });
  }

  // Copy what changed, then (re)compress what needs it.
  let copied = 0;
  const jobs = [];
  const expected = new Set();
  for (const [from, name] of entries) {
    const to = join(out, ...name.split('/'));
    const changed = await syncFile(from, to);
    copied += changed ? 1 : 0;
    expected.add(to);
    if (COMPRESSIBLE.test(name)) {
      expected.add(`${to}.br`).add(`${to}.gz`);
      jobs.push(...(await compressSiblings(to, changed)));
    }
  }
  const compressStarted = performance.now();
  await pool(jobs, 2);
  const compressTime = performance.now() - compressStarted;

  // Remove whatever else is in dist/ (files of an older build, stray temporary files).
  let removed = 0;
  for (const path of await walk(out)) {
    if (!expected.has(path)) {
      await rm(path, { force: true });
      removed++;
    }
  }
  const pruneDirs = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) await pruneDirs(join(dir, entry.name));
    }
    if (dir !== out && (await readdir(dir)).length === 0) await rmdir(dir);
  };
  await pruneDirs(out);

  say(
    `${relative(REPO, out) || out}/: ${entries.length} files (${copied} copied), ${jobs.length} compressed siblings written` +
      `${jobs.length ? ` in ${seconds(compressTime)}` : ''}, ${removed} stale files removed; ${seconds(performance.now() - started)} in all`,
  );

  // Sizes over the wire.
  const sizes = [];
  for (const [, name] of entries) {
    const path = join(out, ...name.split('/'));
    const raw = (await stat(path)).size;
    const br = (await stat(`${path}.br`).catch(() => null))?.size ?? null;
    const gzSize = (await stat(`${path}.gz`).catch(() => null))?.size ?? null;
    sizes.push({ name, raw, br, gz: gzSize, wire: br ?? raw });
  }
  sizes.sort((a, b) => a.name.localeCompare(b.name));
  if (!options.quiet) {
    const pad = (value, width) => String(value ?? '—').padStart(width);
    say(`${'file'.padEnd(44)} ${pad('bytes', 11)} ${pad('.gz', 11)} ${pad('.br', 11)}`);
    for (const { name, raw, br, gz: gzSize } of sizes) say(`${name.padEnd(44)} ${pad(raw, 11)} ${pad(gzSize, 11)} ${pad(br, 11)}`);
  }
  const verdict = (value, budget) => (value <= budget ? `within ${mb(budget)}` : `OVER the ${mb(budget)} budget`);
  for (const { dir } of BUILDS) {
    const wasm = sizes.find((s) => s.name === `${dir}/vae_web_bg.wasm`);
    say(`over the wire: ${dir}/vae_web_bg.wasm ${mb(wasm.wire)} brotli (${mb(wasm.raw)} raw, ${mb(wasm.gz)} gzip) — ${verdict(wasm.wire, BUDGET_WASM_BR)}`);
  }
  // A visit loads pkg/ (no isolation, or WebGPU asked for), pkg-threads/ (isolated, no WebGPU
  // adapter), or both (isolated, 'auto' with an adapter: the CPU trains on threads while WebGPU
  // races it).
  const visits = [
    ['pkg/', ['pkg']],
    ['pkg-threads/', ['pkg-threads']],
    ['both builds (the race, on an isolated page)', ['pkg', 'pkg-threads']],
  ];
  for (const [label, dirs] of visits) {
    const firstVisit = sizes.filter(
      (s) => s.name === 'index.html' || s.name.startsWith('www/') || dirs.some((dir) => s.name.startsWith(`${dir}/`)) || s.name.startsWith('data/') || FIRST_VISIT_MODEL.includes(s.name),
    );
    const firstVisitBytes = firstVisit.reduce((sum, s) => sum + s.wire, 0);
    const part = (filter) => firstVisit.filter(filter).reduce((sum, s) => sum + s.wire, 0);
    const isWasm = (s) => s.name.endsWith('.wasm');
    say(
      `over the wire: first visit with ${label} ${mb(firstVisitBytes)} (${firstVisit.length} files: ` +
        `wasm ${mb(part(isWasm))}, data ${mb(part((s) => s.name.startsWith('data/')))}, ` +
        `2-D model ${mb(part((s) => s.name.startsWith('models/')))}, ` +
        `page, scripts and CSS ${mb(part((s) => !/^(data|models)\//.test(s.name) && !isWasm(s)))}) — ${verdict(firstVisitBytes, BUDGET_FIRST_VISIT)}`,
    );
  }
}

await main();
