#!/usr/bin/env node
// A small static file server for the demo and the end-to-end tests, with Node built-ins only.
//
// It serves the repository root (index.html, www/, pkg/, data/mnist/) on 127.0.0.1, with:
// - the MIME types browsers insist on: `application/wasm` for WebAssembly.instantiateStreaming,
//   `text/javascript` for module scripts and module workers;
// - `.gz` files as plain bytes (`application/octet-stream`, no `Content-Encoding`), so the page
//   receives the gzip stream itself and the app decompresses the IDX data;
// - precompressed siblings, as a static host serves a published site (dist/, scripts/build-site.sh):
//   for a file F with `F.br` and/or `F.gz` beside it, the smallest one the request's
//   `Accept-Encoding` allows (br before gzip) is sent with `Content-Encoding` and F's own
//   Content-Type, and `Vary: Accept-Encoding`; F itself otherwise. Nothing is compressed on the
//   fly, and a `.gz` (or `.br`) file asked for by its own name is never negotiated: it goes out
//   as its bytes (data/mnist/*.gz, which the page inflates itself where a host sends the IDX files
//   uncompressed). F need not exist itself: where only F.gz does (the repository's MNIST files),
//   a client that accepts gzip gets it as F, with `Content-Encoding: gzip`; others get 404;
// - `Cache-Control: no-cache` with an `ETag` (the sent file's size and modification time, and its
//   encoding): the browser keeps what it fetched (the MNIST files, the .wasm) and asks each time
//   whether it changed, so a second visit costs a 304 per file, and a rebuilt pkg/ is always the
//   one the browser runs;
// - 404 for missing files and for hidden paths (any segment starting with "."), 403 for paths
//   that would leave the root (`..`, or a symbolic link pointing outside it);
// - the site's files only: index.html, www/, pkg/, data/mnist/, models/, and the one file of
//   fflate the page imports (VENDORED; what dist/ holds); the rest of the repository (src/,
//   Cargo.toml, target/, the rest of node_modules/, …) is 404;
// - requests whose Host header is not this server's own address (127.0.0.1, localhost or [::1],
//   with its port) are refused with 421: a page on another site cannot reach it through DNS
//   rebinding;
// - a directory asked for without its slash is redirected to the same path on this server, never
//   to another one (`//evil.example/` is not a path a Location may start with);
// - a Content-Security-Policy the page passes without a violation (the end-to-end tests fail on
//   any console error, a violation included): scripts, workers and connections from this origin
//   only, WebAssembly compilation allowed, no plugins, no framing (workers also from blob: URLs,
//   which is how wasm-bindgen-rayon starts the threads of pkg-threads/);
// - cross-origin isolation (`Cross-Origin-Opener-Policy: same-origin`,
//   `Cross-Origin-Embedder-Policy: require-corp`), which SharedArrayBuffer, and so the threaded
//   build, requires: on a host without these headers the page runs the single-threaded build.
//
// CLI:     node scripts/serve.mjs [--port N] [--root DIR] [--verbose]
//          port from --port, else $PORT, else 8080; --port 0 picks a free port. The root is the
//          repository (the page as developed); `--root dist` serves the built site.
//          Prints `Serving http://127.0.0.1:PORT/` once listening.
// Library: import { startServer } from './scripts/serve.mjs';
//          const { url, close } = await startServer({ root, port: 0 });   // ... await close();

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HOST = '127.0.0.1';

/**
 * The files of npm packages the page imports as they are (ES modules, no bundler): served from
 * node_modules/ by these paths, and copied by scripts/build-site.mjs to the same paths in dist/.
 * Nothing else in node_modules/ is served.
 */
export const VENDORED = ['node_modules/fflate/esm/browser.js'];

/** What a browser may ask for: the site (see scripts/build-site.sh). Everything else is 404. */
const SITE = [/^index\.html$/, /^www\//, /^pkg\//, /^pkg-threads\//, /^data\/mnist\//, /^models\//, ...VENDORED.map((path) => new RegExp(`^${path.replace(/[.\/]/g, '\\$&')}$`))];

/** Sent with every response; the page's markup, scripts, workers and styles pass it. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every response: the page is cross-origin isolated, so it may use threads. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Whether a Host header names this server: 127.0.0.1, localhost or [::1], on `port`. */
export function hostAllowed(hostHeader, port) {
  if (typeof hostHeader !== 'string') return false;
  const match = /^(\[::1\]|127\.0\.0\.1|localhost)(?::(\d+))?$/i.exec(hostHeader.trim());
  return Boolean(match) && (match[2] === undefined ? port === 80 : Number(match[2]) === port);
}
const DEFAULT_PORT = 8080;
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gz': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8', // wasm-pack's .d.ts files, for reading, not running
  '.woff2': 'font/woff2',
};

/** Encodings with a precompressed sibling, by the sibling's suffix, in order of preference. */
const ENCODINGS = [
  ['br', '.br'],
  ['gzip', '.gz'],
];

/**
 * Parses an `Accept-Encoding` header into a Map from coding (lower case; `*` for the wildcard) to
 * its quality (0 to 1). A missing or empty header gives an empty Map (identity only); a malformed
 * `q` counts as 0 (not acceptable).
 */
export function parseAcceptEncoding(header) {
  const qualities = new Map();
  for (const part of String(header ?? '').split(',')) {
    const [coding, ...params] = part.split(';').map((token) => token.trim());
    if (!coding) continue;
    let q = 1;
    for (const param of params) {
      const [key, value = ''] = param.split('=').map((token) => token.trim());
      if (key.toLowerCase() !== 'q') continue;
      q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value) ? Number(value) : 0;
    }
    const name = coding.toLowerCase();
    // A coding listed twice keeps its best quality.
    qualities.set(name, Math.max(q, qualities.get(name) ?? 0));
  }
  return qualities;
}

/**
 * The content coding to send, among `available` (e.g. ['br', 'gzip'], in order of preference),
 * for an `Accept-Encoding` header: the acceptable one (q > 0, named or through `*`) with the
 * highest quality, ties going to the earlier in `available`; null for none (send the file as is).
 */
export function negotiateEncoding(header, available) {
  const qualities = parseAcceptEncoding(header);
  let best = null;
  let bestQ = 0;
  for (const coding of available) {
    const q = qualities.get(coding) ?? qualities.get('*') ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

/** Content type for a file name; unknown extensions are served as bytes. */
export function contentType(path) {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Starts the server. `root` defaults to the repository root; `port` 0 picks a free port.
 * Resolves once listening, to `{ url, port, close }`; `url` ends with "/", and `close()` resolves
 * after every open connection (keep-alive ones included) is closed.
 */
export async function startServer({ root = REPO_ROOT, port = DEFAULT_PORT, host = HOST, log = () => {} } = {}) {
  const realRoot = await realpath(resolve(root));

  const server = createServer((request, response) => {
    if (!hostAllowed(request.headers.host, server.address()?.port)) {
      log(`421 ${request.url} (Host: ${request.headers.host})`);
      send(response, 421, 'Misdirected Request: this server answers to 127.0.0.1, localhost and [::1] only');
      return;
    }
    handle(realRoot, request, response, log).catch((error) => {
      log(`500 ${request.url}: ${error.message}`);
      if (!response.headersSent) send(response, 500, 'Internal Server Error');
      else response.destroy();
    });
  });

  await new Promise((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });

  const actualPort = server.address().port;
  return {
    url: `http://${host}:${actualPort}/`,
    port: actualPort,
    close: () =>
      new Promise((resolveClose, rejectClose) => {
        server.close((error) => (error ? rejectClose(error) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}

async function handle(root, request, response, log) {
  const reply = (status, message, headers) => {
    log(`${status} ${request.method} ${request.url}`);
    send(response, status, message, headers, request.method === 'HEAD');
  };

  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return reply(405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
  }

  let pathname;
  try {
    pathname = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
  } catch {
    return reply(400, 'Bad Request');
  }
  if (pathname.includes('\0')) return reply(400, 'Bad Request');

  const segments = pathname.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '..' || segment.includes('\\'))) return reply(403, 'Forbidden');
  if (segments.some((segment) => segment.startsWith('.'))) return reply(404, 'Not Found');
  // The site only; the root itself is index.html.
  const relative = segments.join('/') + (pathname.endsWith('/') && segments.length ? '/' : '');
  if (segments.length && !SITE.some((allowed) => allowed.test(relative) || allowed.test(`${relative}/`))) return reply(404, 'Not Found');

  let path = join(root, ...segments);
  let info = await stat(path).catch(() => null);
  if (info?.isDirectory()) {
    if (!pathname.endsWith('/')) {
      // Relative URLs inside index.html resolve against the directory only with the slash.
      // Built from the clean segments: one leading slash, each segment encoded, so the Location
      // is always a path on this server (never "//host/…").
      const location = `/${segments.map(encodeURIComponent).join('/')}/${new URL(request.url, 'http://localhost').search}`;
      return reply(301, 'Moved Permanently', { Location: location });
    }
    path = join(path, 'index.html');
    info = await stat(path).catch(() => null);
  }
  // A file may exist only compressed (F.gz, F.br without F, as the repository has the MNIST
  // files): it is served to clients that accept that coding, as nginx's `gzip_static always` does.
  const exists = Boolean(info?.isFile());

  // The resolved file, after symbolic links, must still lie inside the root.
  const inside = (real) => real === root || real.startsWith(root + sep);
  const real = exists ? await realpath(path) : null;
  if (real && !inside(real)) return reply(403, 'Forbidden');

  // Precompressed siblings (F.br, F.gz) of a file that is not itself a compressed one.
  let body = real;
  let sent = info; // the stat of what goes out (F, or the sibling chosen)
  let encoding = null;
  const variants = [];
  if (!ENCODINGS.some(([, suffix]) => path.toLowerCase().endsWith(suffix))) {
    for (const [coding, suffix] of ENCODINGS) {
      const sibling = await realpath(path + suffix).catch(() => null);
      if (!sibling || !inside(sibling)) continue;
      const siblingInfo = await stat(sibling).catch(() => null);
      if (siblingInfo?.isFile()) variants.push({ coding, path: sibling, info: siblingInfo });
    }
    const chosen = negotiateEncoding(request.headers['accept-encoding'], variants.map((variant) => variant.coding));
    const variant = variants.find((candidate) => candidate.coding === chosen);
    if (variant) ({ path: body, info: sent, coding: encoding } = variant);
  }
  if (!exists && !encoding) return reply(404, 'Not Found');

  const etag = `W/"${sent.size.toString(36)}-${Math.floor(sent.mtimeMs).toString(36)}${encoding ? `-${encoding}` : ''}"`;
  const common = {
    ETag: etag,
    'Cache-Control': 'no-cache',
    ...(variants.length ? { Vary: 'Accept-Encoding' } : {}),
    ...ISOLATION_HEADERS,
  };
  const known = request.headers['if-none-match'];
  if (known && known.split(',').some((tag) => tag.trim() === etag)) {
    log(`304 ${request.method} ${request.url}`);
    response.writeHead(304, common);
    return response.end();
  }
  log(`200 ${request.method} ${request.url}${encoding ? ` (${encoding})` : ''}`);
  response.writeHead(200, {
    'Content-Type': contentType(path),
    'Content-Length': sent.size,
    ...(encoding ? { 'Content-Encoding': encoding } : {}),
    ...common,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  });
  if (request.method === 'HEAD') return response.end();
  await new Promise((resolveStream, rejectStream) => {
    const stream = createReadStream(body);
    stream.on('error', rejectStream);
    response.on('close', () => {
      stream.destroy();
      resolveStream();
    });
    stream.pipe(response);
  });
}

function send(response, status, message, headers = {}, headOnly = false) {
  const body = `${status} ${message}\n`;
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    ...ISOLATION_HEADERS,
    ...headers,
  });
  response.end(headOnly ? undefined : body);
}

function parseArgs(argv, env) {
  const options = { port: env.PORT ?? String(DEFAULT_PORT), root: REPO_ROOT, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--port') options.port = value();
    else if (flag === '--root') options.root = resolve(value() ?? '');
    else if (flag === '--verbose') options.verbose = true;
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: node scripts/serve.mjs [--port N] [--root DIR] [--verbose]   (PORT env, default 8080; 0 = any free port)');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${JSON.stringify(options.port)}`);
  return { ...options, port };
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`serve: ${error.message}`);
    process.exit(2);
  }
  let server;
  try {
    server = await startServer({
      root: options.root,
      port: options.port,
      log: options.verbose ? (line) => console.log(line) : undefined,
    });
  } catch (error) {
    const hint = error.code === 'EADDRINUSE' ? ' (port in use: pass --port N, PORT=N, or --port 0 for any free port)' : '';
    console.error(`serve: cannot listen on ${HOST}:${options.port}: ${error.message}${hint}`);
    process.exit(1);
  }
  console.log(`Serving ${server.url}`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const runDirectly = process.argv[1] && import.meta.url === pathToFileURL(await realpath(process.argv[1]).catch(() => process.argv[1])).href;
if (runDirectly) await main();
