#!/usr/bin/env bash
# Builds the app for the browser, builds the site that can be published from it (dist/:
# scripts/build-site.sh) and serves that site, as a static host would, with precompressed
# brotli/gzip: open the address it prints.
#
#   scripts/demo.sh                 http://127.0.0.1:8080/
#   PORT=9000 scripts/demo.sh       another port (or: scripts/demo.sh --port 9000; --port 0 = any free one)
#
# First run on a new machine: installs the tools (scripts/setup.sh), builds Burn for wasm32 twice
# (the WebGPU build and the threaded CPU build: about 10 + 3 minutes on 2 cores) and runs wasm-opt
# (a minute or two). Later runs: a few seconds.
# While editing www/, `node scripts/serve.mjs` serves the repository itself, no site build needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/setup.sh
echo "demo: bash scripts/build-wasm.sh"
bash scripts/build-wasm.sh
echo "demo: bash scripts/build-site.sh"
bash scripts/build-site.sh --quiet
exec node scripts/serve.mjs --root dist "$@"
