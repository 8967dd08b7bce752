#!/usr/bin/env bash
# Builds the two browser builds of the crate (wasm-pack, --target web, release):
#
#   pkg/          the default build: WebGPU and the CPU on one thread; runs on any page
#   pkg-threads/  the CPU on WebAssembly threads (cargo feature `threads`, no WebGPU), which the
#                 model's worker loads instead when the page is cross-origin isolated and the
#                 model is to run on the CPU (www/worker/facade.js)
#
# The threaded build needs what stable Rust does not have: the standard library rebuilt with
# atomics (`-Z build-std`), so it uses the nightly toolchain pinned below (scripts/setup.sh
# installs it, with rust-src); every other build stays on stable. Its objects go to their own
# target directory, so neither build invalidates the other's cache.
#
#   bash scripts/build-wasm.sh              both
#   bash scripts/build-wasm.sh pkg          only pkg/
#   bash scripts/build-wasm.sh pkg-threads  only pkg-threads/
#
# First run: about 8 minutes per build on 2 cores (Burn from scratch); later runs, seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Keep in step with scripts/setup.sh.
NIGHTLY=nightly-2026-10-30
# The threaded module's memory is shared, so its maximum must be declared: 2 GiB (the data and a
# model take about 300 MB).
MAX_MEMORY=2147483648
# The linker is told to make the memory shared and imported (every thread instantiates the module
# on the same memory) and to export the thread-local storage symbols wasm-bindgen sets up each
# thread with: this nightly's rustc no longer passes these itself for `+atomics`.
LINK_SHARED="-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=$MAX_MEMORY"
for symbol in __wasm_init_tls __tls_size __tls_align __tls_base; do
  LINK_SHARED+=" -C link-arg=--export=$symbol"
done

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pkg pkg-threads)

for target in "${targets[@]}"; do
  case "$target" in
    pkg)
      echo "build-wasm: pkg/ (stable, WebGPU + CPU on one thread)"
      wasm-pack build --release --target web --out-dir pkg
      ;;
    pkg-threads)
      echo "build-wasm: pkg-threads/ ($NIGHTLY, CPU on WebAssembly threads)"
      # CARGO_UNSTABLE_BUILD_STD is `-Z build-std` (wasm-pack does not pass -Z flags through).
      CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/threads" \
      CARGO_UNSTABLE_BUILD_STD=panic_abort,std \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+simd128 $LINK_SHARED" \
        RUSTUP_TOOLCHAIN="$NIGHTLY" wasm-pack build --release --target web --out-dir pkg-threads \
          --no-default-features --features threads
      # wasm-bindgen-rayon's helper for pages without a bundler starts each thread with
      # wasm-bindgen's old two-argument init, which warns in the console once per thread; the
      # object form it asks for does the same.
      helper=$(find pkg-threads/snippets -name workerHelpers.no-bundler.js)
      sed -i 's/await pkg\.default(data\.module, data\.memory);/await pkg.default({ module_or_path: data.module, memory: data.memory });/' "$helper"
      if grep -q 'pkg\.default(data\.module' "$helper"; then
        echo "build-wasm: $helper still calls init the old way" >&2
        exit 1
      fi
      ;;
    *)
      echo "build-wasm: unknown build '$target' (pkg or pkg-threads)" >&2
      exit 2
      ;;
  esac
done
