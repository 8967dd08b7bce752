#!/usr/bin/env bash
# Installs what building, serving and testing the project needs, on a Debian 12 machine that has
# rustup (stable toolchain) and Node 20 + npm, and no internet but the package registries
# (crates.io, npm, Debian). Every step checks first and does nothing when its tool is already
# there, so this runs in about a second the second time; scripts/demo.sh and scripts/test.sh call it.
#
#   1. the Rust target wasm32-unknown-unknown                      (rustup)
#      and the pinned nightly toolchain with rust-src, for the threaded browser build only
#   2. Chromium and its ChromeDriver, for the browser tests         (apt)
#   3. wasm-pack                                                    (cargo install, pinned)
#   4. wasm-bindgen-cli, the exact wasm-bindgen version of Cargo.lock (cargo install)
#   5. the npm packages of package-lock.json                        (npm ci)
#   6. the MNIST IDX files in data/mnist/, SHA-256 checked           (scripts/make-data.mjs)
#   7. the trained models the page opens with, in models/           (the native trainer)
#
# wasm-pack would download wasm-bindgen, wasm-opt and chromedriver from GitHub, which is out of
# reach here: it uses the wasm-bindgen found on PATH when its version matches the crate's
# (hence step 4), wasm-opt is switched off in Cargo.toml, and CHROMEDRIVER points at Debian's.
set -euo pipefail

WASM_PACK_VERSION=0.15.1
# The threaded browser build (scripts/build-wasm.sh) rebuilds the standard library with atomics,
# which only nightly Rust can; pinned to a date that exists on the mirror. Keep in step with
# scripts/build-wasm.sh. Stable stays the default toolchain.
NIGHTLY=nightly-2026-10-30
# The Chromium this project was tested with. Debian keeps only the newest security update of a
# package on its mirrors, so when this exact version is gone the current one is installed instead
# (with a warning): a hard pin would make setup fail on every new machine after the next update.
CHROMIUM_DEB_VERSION=156.0.8078.108-1~deb12u1

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs a command quietly; prints its output only when it fails.
quietly() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "failed: $*"
  fi
  rm -f "$log"
}

# `took START` -> "12 s", for the line that reports an install.
took() { printf '%d s' $(($(date +%s) - $1)); }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

for tool in rustup cargo node npm; do
  command -v "$tool" >/dev/null || die "$tool is not installed; this script expects rustup (stable) and Node 20 + npm"
done

# 1. Rust target for the browser build.
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rust target wasm32-unknown-unknown: present"
else
  start=$(date +%s)
  quietly rustup target add wasm32-unknown-unknown
  say "rust target wasm32-unknown-unknown: added ($(took "$start"))"
fi
if rustup run "$NIGHTLY" rustc --print sysroot >/dev/null 2>&1 &&
   [ -d "$(rustup run "$NIGHTLY" rustc --print sysroot)/lib/rustlib/src/rust/library" ] &&
   rustup +"$NIGHTLY" target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rust $NIGHTLY (rust-src, wasm32-unknown-unknown): present"
else
  start=$(date +%s)
  say "rust $NIGHTLY: installing (for the threaded browser build)"
  quietly rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --target wasm32-unknown-unknown
  say "rust $NIGHTLY (rust-src, wasm32-unknown-unknown): installed ($(took "$start"))"
fi

# 2. Chromium + ChromeDriver (same Debian source package, so their versions always match).
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if deb_installed chromium && deb_installed chromium-driver; then
  say "chromium + chromium-driver $(dpkg-query -W -f='${Version}' chromium): present"
else
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  quietly as_root apt-get update -qq
  if apt-cache madison chromium | grep -qF " $CHROMIUM_DEB_VERSION "; then
    packages=("chromium=$CHROMIUM_DEB_VERSION" "chromium-driver=$CHROMIUM_DEB_VERSION")
  else
    say "warning: chromium $CHROMIUM_DEB_VERSION is no longer on the Debian mirror; installing the current one"
    packages=(chromium chromium-driver)
  fi
  quietly as_root apt-get install -y -qq --no-install-recommends "${packages[@]}"
  say "chromium + chromium-driver $(dpkg-query -W -f='${Version}' chromium): installed ($(took "$start"))"
fi

# 3. wasm-pack, pinned; --locked builds it with the dependency versions it was released with.
if [ "$(wasm-pack --version 2>/dev/null || true)" = "wasm-pack $WASM_PACK_VERSION" ]; then
  say "wasm-pack $WASM_PACK_VERSION: present"
else
  start=$(date +%s)
  say "wasm-pack $WASM_PACK_VERSION: installing with cargo (about 4 minutes on 2 cores)"
  cargo install --quiet wasm-pack --version "$WASM_PACK_VERSION" --locked
  say "wasm-pack $WASM_PACK_VERSION: installed ($(took "$start"))"
fi

# 4. wasm-bindgen-cli at the exact version of the wasm-bindgen crate in Cargo.lock: the CLI and
#    the crate must agree to the patch version. Not --locked: one of the CLI's locked dependency
#    versions is missing from the registry mirror, and the newest compatible ones build fine.
[ -f Cargo.lock ] || die "Cargo.lock is missing (run cargo generate-lockfile)"
WASM_BINDGEN_VERSION=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || die "no wasm-bindgen package in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ] &&
   command -v wasm-bindgen-test-runner >/dev/null; then
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION: present"
else
  start=$(date +%s)
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION: installing with cargo (a few minutes on 2 cores)"
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION: installed ($(took "$start"))"
fi

# 5. npm packages, exactly as package-lock.json says. Skipped when every package of the lock is in
#    node_modules at its locked version.
node_modules_match_lock() {
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  node --input-type=module -e '
    import { existsSync, readFileSync } from "node:fs";
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
    const ok = Object.entries(lock.packages).every(([path, { version }]) => {
      if (path === "") return true;
      const manifest = `${path}/package.json`;
      return existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).version === version;
    });
    process.exit(ok ? 0 : 1);
  '
}
[ -f package-lock.json ] || die "package-lock.json is missing"
if [ -d node_modules ] && node_modules_match_lock; then
  say "npm packages: present"
else
  start=$(date +%s)
  quietly npm ci --no-audit --no-fund --loglevel=error
  say "npm packages: installed with npm ci ($(took "$start"))"
fi

# 6. MNIST as IDX files (checks its own checksums; a no-op when the files are there).
node scripts/make-data.mjs | sed 's/^make-data: /setup: mnist: /'

# 7. The models the page opens with: a 2-D and a 20-D model of the standard architecture, trained
#    natively on the full training set with fixed seeds (about a minute and a half on 2 cores).
#    They are build outputs, not committed files; a stamp holds the commands that made them, so a
#    second run does nothing unless the commands change.
bash scripts/train-models.sh | sed 's/^train-models: /setup: models: /'
