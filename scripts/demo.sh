#!/usr/bin/env bash
# Builds the app for the browser and serves it: open the address it prints.
#
#   scripts/demo.sh                 http://127.0.0.1:8080/
#   PORT=9000 scripts/demo.sh       another port (or: scripts/demo.sh --port 9000; --port 0 = any free one)
#
# First run on a new machine: installs the tools (scripts/setup.sh) and builds Burn for wasm32,
# about 10 minutes on 2 cores. Later runs: a few seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/setup.sh
echo "demo: wasm-pack build --release --target web --out-dir pkg"
wasm-pack build --release --target web --out-dir pkg
exec node scripts/serve.mjs "$@"
