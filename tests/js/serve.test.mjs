// scripts/serve.mjs: the static server of the demo and the end-to-end tests, on a made-up root
// (a temporary directory), so these run without any build.
//   node --test tests/js/serve.test.mjs

import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { contentType, negotiateEncoding, parseAcceptEncoding, startServer } from '../../scripts/serve.mjs';

/** One request without any automatic decoding: `{ status, headers, body: Buffer }`. */
function get(url, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Accept-Encoding', () => {
  test('parses codings and qualities', () => {
    assert.deepEqual([...parseAcceptEncoding('gzip, deflate, br, zstd')], [['gzip', 1], ['deflate', 1], ['br', 1], ['zstd', 1]]);
    assert.deepEqual([...parseAcceptEncoding(' BR ; q=0.5 ,gzip;q=1.0,*;q=0')], [['br', 0.5], ['gzip', 1], ['*', 0]]);
    assert.deepEqual([...parseAcceptEncoding('')], []);
    assert.deepEqual([...parseAcceptEncoding(undefined)], []);
    assert.deepEqual([...parseAcceptEncoding('br;q=2, gzip;q=x')], [['br', 0], ['gzip', 0]], 'a malformed q is not acceptable');
  });

  test('picks the best acceptable coding, br first on a tie, none when none is acceptable', () => {
    const both = ['br', 'gzip'];
    assert.equal(negotiateEncoding('gzip, deflate, br, zstd', both), 'br', "Chromium's header");
    assert.equal(negotiateEncoding('gzip, deflate', both), 'gzip');
    assert.equal(negotiateEncoding('br;q=0.5, gzip', both), 'gzip', 'a higher quality wins');
    assert.equal(negotiateEncoding('br;q=0, gzip;q=0', both), null);
    assert.equal(negotiateEncoding('identity', both), null);
    assert.equal(negotiateEncoding('', both), null, 'no header: the file as is');
    assert.equal(negotiateEncoding(undefined, both), null);
    assert.equal(negotiateEncoding('*', both), 'br', 'the wildcard');
    assert.equal(negotiateEncoding('br;q=0, *', both), 'gzip', 'the wildcard, less what is refused');
    assert.equal(negotiateEncoding('br', ['gzip']), null, 'only what exists');
    assert.equal(negotiateEncoding('gzip, br', []), null);
  });
});

describe('serving files', () => {
  let root;
  let server;
  const js = 'export const answer = 42;\n'.repeat(200);
  const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const data = gzipSync(Buffer.alloc(4096, 7)); // a gzip file served as is, as data/mnist/*.gz are

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'serve-test-'));
    mkdirSync(join(root, 'www'));
    mkdirSync(join(root, 'pkg'));
    mkdirSync(join(root, 'data', 'mnist'), { recursive: true });
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'lib.rs'), 'pub mod secret;');
    writeFileSync(join(root, 'Cargo.toml'), '[package]');
    mkdirSync(join(root, '.hidden'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>root</title>');
    writeFileSync(join(root, 'index.html.br'), 'BR-OF-INDEX');
    writeFileSync(join(root, 'www', 'main.js'), js);
    writeFileSync(join(root, 'www', 'main.js.br'), 'BR-OF-MAIN');
    writeFileSync(join(root, 'www', 'main.js.gz'), 'GZ-OF-MAIN');
    writeFileSync(join(root, 'www', 'only-gzip.css'), 'body {}');
    writeFileSync(join(root, 'www', 'only-gzip.css.gz'), 'GZ-OF-CSS');
    writeFileSync(join(root, 'www', 'plain.js'), 'export {};');
    writeFileSync(join(root, 'pkg', 'app.wasm'), wasm);
    writeFileSync(join(root, 'pkg', 'app.wasm.br'), 'BR-OF-WASM');
    writeFileSync(join(root, 'pkg', 'app.wasm.gz'), 'GZ-OF-WASM');
    writeFileSync(join(root, 'data', 'mnist', 'digits.gz'), data);
    writeFileSync(join(root, 'data', 'mnist', 'digits.gz.br'), 'must never be sent');
    writeFileSync(join(root, 'data', 'mnist', 'digits.gz.gz'), 'must never be sent');
    writeFileSync(join(root, '.hidden', 'secret.txt'), 'secret');
    const outside = mkdtempSync(join(tmpdir(), 'serve-test-outside-'));
    writeFileSync(join(outside, 'leak.js.br'), 'LEAK');
    writeFileSync(join(root, 'www', 'linked.js'), 'export {};');
    symlinkSync(join(outside, 'leak.js.br'), join(root, 'www', 'linked.js.br'));
    server = await startServer({ root, port: 0 });
  });

  after(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('MIME types browsers insist on', () => {
    assert.equal(contentType('a/b.wasm'), 'application/wasm');
    assert.equal(contentType('a/b.js'), 'text/javascript; charset=utf-8');
    assert.equal(contentType('a/b.gz'), 'application/octet-stream');
    assert.equal(contentType('a/b.bpk'), 'application/octet-stream');
  });

  test('without Accept-Encoding: the file itself, with Vary where siblings exist', async () => {
    const response = await get(`${server.url}www/main.js`);
    assert.equal(response.status, 200);
    assert.equal(response.body.toString(), js);
    assert.equal(response.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(response.headers['content-encoding'], undefined);
    assert.equal(response.headers['vary'], 'Accept-Encoding');
    assert.equal(response.headers['cache-control'], 'no-cache');
    assert.equal(Number(response.headers['content-length']), Buffer.byteLength(js));
  });

  test('a second request with the ETag gets 304 and no body; another encoding gets 200', async () => {
    const first = await get(`${server.url}www/main.js`, { headers: { 'Accept-Encoding': 'br' } });
    const etag = first.headers.etag;
    assert.match(etag, /^W\/"[0-9a-z]+-[0-9a-z]+-br"$/);
    const again = await get(`${server.url}www/main.js`, { headers: { 'Accept-Encoding': 'br', 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    assert.equal(again.headers['cross-origin-embedder-policy'], 'require-corp');
    // Without br the plain file goes out: another ETag, so the cached br body is not reused.
    const plain = await get(`${server.url}www/main.js`, { headers: { 'If-None-Match': etag } });
    assert.equal(plain.status, 200);
    assert.notEqual(plain.headers.etag, etag);
  });

  test('br when accepted, with the file\'s own type and the sibling\'s length', async () => {
    const response = await get(`${server.url}www/main.js`, { headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' } });
    assert.equal(response.status, 200);
    assert.equal(response.body.toString(), 'BR-OF-MAIN');
    assert.equal(response.headers['content-encoding'], 'br');
    assert.equal(response.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(response.headers['content-length'], String('BR-OF-MAIN'.length));
    assert.equal(response.headers['vary'], 'Accept-Encoding');
  });

  test('gzip when br is not accepted, or when there is only a .gz', async () => {
    const gz = await get(`${server.url}www/main.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(gz.body.toString(), 'GZ-OF-MAIN');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const css = await get(`${server.url}www/only-gzip.css`, { headers: { 'Accept-Encoding': 'br, gzip' } });
    assert.equal(css.body.toString(), 'GZ-OF-CSS');
    assert.equal(css.headers['content-encoding'], 'gzip');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    const onlyBr = await get(`${server.url}index.html`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(onlyBr.body.toString(), '<!doctype html><title>root</title>', 'no .gz sibling: the file itself');
    assert.equal(onlyBr.headers['content-encoding'], undefined);
    assert.equal(onlyBr.headers['vary'], 'Accept-Encoding');
  });

  test('the wasm keeps application/wasm under Content-Encoding', async () => {
    const response = await get(`${server.url}pkg/app.wasm`, { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(response.body.toString(), 'BR-OF-WASM');
    assert.equal(response.headers['content-type'], 'application/wasm');
    assert.equal(response.headers['content-encoding'], 'br');
  });

  test('a directory\'s index.html is negotiated too', async () => {
    const response = await get(server.url, { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(response.status, 200);
    assert.equal(response.body.toString(), 'BR-OF-INDEX');
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
  });

  test('a .gz file goes out as its bytes, never re-encoded, whatever is accepted', async () => {
    for (const acceptEncoding of [undefined, 'gzip', 'br', 'gzip, deflate, br, zstd']) {
      const response = await get(`${server.url}data/mnist/digits.gz`, { headers: acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {} });
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, data, `Accept-Encoding: ${acceptEncoding}`);
      assert.equal(response.headers['content-type'], 'application/octet-stream');
      assert.equal(response.headers['content-encoding'], undefined);
      assert.equal(response.headers['vary'], undefined);
      assert.equal(Number(response.headers['content-length']), data.length);
      assert.equal(gunzipSync(response.body).length, 4096);
    }
  });

  test('a file that exists only as F.gz is F with Content-Encoding gzip to a client that takes gzip, and 404 to one that does not', async () => {
    const response = await get(`${server.url}data/mnist/digits`, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, data);
    assert.equal(response.headers['content-encoding'], 'gzip');
    assert.equal(response.headers['content-type'], 'application/octet-stream');
    assert.equal(Number(response.headers['content-length']), data.length);
    const plain = await get(`${server.url}data/mnist/digits`);
    assert.equal(plain.status, 404);
    const missing = await get(`${server.url}data/mnist/nothing`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(missing.status, 404);
  });

  test('a sibling asked for by name is bytes, not an encoding', async () => {
    const response = await get(`${server.url}www/main.js.br`, { headers: { 'Accept-Encoding': 'br, gzip' } });
    assert.equal(response.body.toString(), 'BR-OF-MAIN');
    assert.equal(response.headers['content-type'], 'application/octet-stream');
    assert.equal(response.headers['content-encoding'], undefined);
  });

  test('HEAD gives the negotiated headers and no body', async () => {
    const response = await get(`${server.url}www/main.js`, { method: 'HEAD', headers: { 'Accept-Encoding': 'br' } });
    assert.equal(response.status, 200);
    assert.equal(response.body.length, 0);
    assert.equal(response.headers['content-encoding'], 'br');
    assert.equal(response.headers['content-length'], String('BR-OF-MAIN'.length));
  });

  test('files without siblings are unchanged: no Content-Encoding, no Vary', async () => {
    const response = await get(`${server.url}www/plain.js`, { headers: { 'Accept-Encoding': 'br, gzip' } });
    assert.equal(response.body.toString(), 'export {};');
    assert.equal(response.headers['content-encoding'], undefined);
    assert.equal(response.headers['vary'], undefined);
  });

  test('a sibling that links outside the root is ignored', async () => {
    const response = await get(`${server.url}www/linked.js`, { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(response.status, 200);
    assert.equal(response.body.toString(), 'export {};');
    assert.equal(response.headers['content-encoding'], undefined);
  });

  test('404, 403, 301, 405 as before', async () => {
    assert.equal((await get(`${server.url}missing.js`, { headers: { 'Accept-Encoding': 'br' } })).status, 404);
    assert.equal((await get(`${server.url}.hidden/secret.txt`)).status, 404);
    assert.equal((await get(`${server.url}www/..%2f..%2fetc%2fpasswd`)).status, 403);
    const redirect = await get(`${server.url}www?x=1`);
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/www/?x=1');
    assert.equal((await get(`${server.url}www/main.js`, { method: 'POST' })).status, 405);
  });

  test('a real brotli sibling decodes to the file', async () => {
    writeFileSync(join(root, 'www', 'real.js'), js);
    writeFileSync(join(root, 'www', 'real.js.br'), brotliCompressSync(js));
    const response = await get(`${server.url}www/real.js`, { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(brotliDecompressSync(response.body).toString(), js);
  });

  test('the site only: the rest of the repository is not served', async () => {
    for (const path of ['src/lib.rs', 'Cargo.toml', 'target/release/vae', 'node_modules/x/package.json', 'data/other.bin', 'tests/web.rs']) {
      assert.equal((await get(`${server.url}${path}`)).status, 404, path);
    }
    // Of node_modules/, the one file the page imports (fflate's ES module build), and only it.
    mkdirSync(join(root, 'node_modules', 'fflate', 'esm'), { recursive: true });
    writeFileSync(join(root, 'node_modules', 'fflate', 'esm', 'browser.js'), 'export const unzipSync = 1;');
    writeFileSync(join(root, 'node_modules', 'fflate', 'esm', 'index.mjs'), 'export const unzipSync = 1;');
    const vendored = await get(`${server.url}node_modules/fflate/esm/browser.js`);
    assert.equal(vendored.status, 200);
    assert.match(vendored.headers['content-type'], /^text\/javascript/);
    for (const path of ['node_modules/fflate/esm/index.mjs', 'node_modules/fflate/esm/browser.jsx', 'node_modules/fflate/esm/browserXjs']) {
      assert.equal((await get(`${server.url}${path}`)).status, 404, path);
    }
    for (const path of ['', 'index.html', 'www/main.js', 'data/mnist/digits.gz']) {
      assert.equal((await get(`${server.url}${path}`)).status, 200, path);
    }
  });

  test('a Host header that is not this server is refused (DNS rebinding)', async () => {
    const port = new URL(server.url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`]) {
      assert.equal((await get(`${server.url}index.html`, { headers: { Host: host } })).status, 421, host);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      assert.equal((await get(`${server.url}index.html`, { headers: { Host: host } })).status, 200, host);
    }
  });

  test('a redirect never leaves this server', async () => {
    for (const path of ['%2F%2Fwww', '%2F%2Fevil.example%2Fwww', '/www', '%5C%5Cwww']) {
      const response = await get(`${server.url}${path}`);
      if (response.status === 301) {
        assert.match(response.headers.location, /^\/[^/\\]/, `${path} -> ${response.headers.location}`);
      }
    }
    assert.equal((await get(`${server.url}%2F%2Fwww`)).headers.location, '/www/');
  });

  test('every answer carries the Content-Security-Policy', async () => {
    for (const path of ['index.html', 'www/main.js', 'missing.js']) {
      const csp = (await get(`${server.url}${path}`)).headers['content-security-policy'];
      assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/, path);
      assert.match(csp, /object-src 'none'/, path);
      assert.doesNotMatch(csp, /'unsafe-eval'/, path);
    }
  });
});
