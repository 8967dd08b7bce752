#!/usr/bin/env bash
# Builds the site that can be published, in dist/ (scripts/build-site.mjs says what goes in it):
# the page, its scripts, wasm-bindgen's glue, the WebAssembly optimised with wasm-opt (npm
# binaryen, pinned in package.json), the MNIST .gz files and the trained models, with a
# precompressed .br and .gz beside each file a host can send compressed. Prints the sizes over the
# wire against the budgets (.wasm <= 3 MB brotli, first visit <= 15 MB).
#
#   bash scripts/build-site.sh            after scripts/setup.sh and scripts/build-wasm.sh
#   node scripts/serve.mjs --root dist    serves it (with Content-Encoding negotiation)
#
# Any static host serves dist/ as it is. Send pkg/*.wasm as application/wasm, data/mnist/*.gz as
# plain bytes (no Content-Encoding: the page inflates them itself), and, where the host can,
# F.br / F.gz for F with Content-Encoding br / gzip and Vary: Accept-Encoding.
#
# Idempotent: a second run with nothing changed takes a few seconds (the wasm-opt output is cached
# in target/site/ by the input's hash; a fresh run of wasm-opt takes a minute or two on 2 cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for build in pkg pkg-threads; do
  [ -f "$build/vae_web_bg.wasm" ] || { echo "build-site: error: $build/ is not built: run bash scripts/build-wasm.sh (or bash scripts/demo.sh)" >&2; exit 1; }
done
[ -x node_modules/binaryen/bin/wasm-opt ] || { echo "build-site: error: node_modules/binaryen is missing: run bash scripts/setup.sh (or npm ci)" >&2; exit 1; }

exec node scripts/build-site.mjs "$@"
