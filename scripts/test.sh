#!/usr/bin/env bash
# Runs every test of the project, in order, and stops at the first failure:
#   1. setup                        tools, npm packages, MNIST files (scripts/setup.sh)
#   2. cargo test --release         native unit and integration tests of the Rust crate
#   3. scripts/build-wasm.sh        the two browser builds the page loads: pkg/ (WebGPU, one CPU
#                                   thread) and pkg-threads/ (the CPU on WebAssembly threads)
#   4. tsc (jsconfig*.json)         the types of the page's and the worker's JavaScript (JSDoc),
#                                   against each other and the builds' pkg*/vae_web.d.ts
#   5. scripts/build-site.sh        the site that can be published (dist/: wasm-opt, precompressed
#                                   .br/.gz siblings), with its sizes over the wire
#   6. wasm-pack test --chrome      the Rust crate's browser tests, in headless Chromium
#                                   (Flex on wasm, and WebGPU on SwiftShader; flags in webdriver.json)
#   7. node --test tests/js tests/e2e  the page's pure JavaScript (image preprocessing, maths, the
#                                   static server), then the real page driven in headless Chromium
#                                   (playwright-core), and the built site (dist/) on a plain server
# Exit status: 0 when all pass, else the failing step's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Plain output, so a saved log reads like the terminal did.
export CARGO_TERM_COLOR=never
export NO_COLOR=1
# wasm-pack looks for chromedriver on PATH and would download one otherwise (no internet here):
# use Debian's, which matches the installed Chromium.
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# Browser tests that train on SwiftShader take minutes; the runner's default is 20 s.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}"

TOTAL=7
started=$(date +%s)
step=0
summary=()

fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

print_summary() {
  echo
  echo "==================== summary ===================="
  printf '%s\n' "${summary[@]}"
}

# run_step NAME COMMAND [ARGS...]: announces the step, runs it, records its time; on failure
# prints the summary and exits with the command's status.
run_step() {
  local name=$1 status=0 step_start elapsed
  shift
  step=$((step + 1))
  echo
  echo "==================== [$step/$TOTAL] $name ===================="
  # A shell function announces its own command line.
  declare -F "$1" >/dev/null || echo "\$ $*"
  step_start=$(date +%s)
  "$@" || status=$?
  elapsed=$(($(date +%s) - step_start))
  if [ "$status" -ne 0 ]; then
    summary+=("[$step/$TOTAL] $name: FAILED (exit $status, $(fmt_time "$elapsed"))")
    print_summary
    echo "test.sh: FAILED at step $step/$TOTAL ($name) after $(fmt_time $(($(date +%s) - started)))"
    exit "$status"
  fi
  summary+=("[$step/$TOTAL] $name: ok ($(fmt_time "$elapsed"))")
}

# Node 20's test runner takes files, not a directory glob: list them here. No tests is a failure,
# not a pass.
e2e_tests() {
  local files
  shopt -s nullglob
  files=(tests/js/*.test.mjs tests/e2e/*.test.mjs)
  shopt -u nullglob
  if [ ${#files[@]} -eq 0 ]; then
    echo "test.sh: no JavaScript tests found (tests/js/*.test.mjs, tests/e2e/*.test.mjs)" >&2
    return 1
  fi
  echo "\$ node --test --test-concurrency=1 --test-reporter=spec ${files[*]}"
  node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
}

# The page's and the worker's JavaScript type-checked (no output is written): after the browser
# builds, whose vae_web.d.ts files declare what the worker calls. Two projects, since the worker's
# global scope is not a window.
typecheck() {
  local config
  for config in jsconfig.json jsconfig.worker.json; do
    echo "\$ npx tsc -p $config"
    npx --no-install tsc -p "$config" || return
  done
}

run_step "setup" bash scripts/setup.sh
run_step "native tests" cargo test --release
run_step "browser builds" bash scripts/build-wasm.sh
run_step "type check of the page's JavaScript" typecheck
run_step "site build" bash scripts/build-site.sh
run_step "browser tests of the crate" \
  wasm-pack test --release --headless --chrome --chromedriver "$CHROMEDRIVER"
run_step "JavaScript and end-to-end tests of the page" e2e_tests

print_summary
echo "test.sh: all $TOTAL steps passed in $(fmt_time $(($(date +%s) - started)))"
