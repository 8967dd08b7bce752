#!/usr/bin/env bash
# Trains the models the page opens with ("explore a trained model now") into models/:
#
#   models/latent2.vaerun    2-D latent space (the explorer's plane)
#   models/latent20.vaerun   20-D, the standard configuration
#
# each the whole run (weights, optimizer state, where it is, and its chart: the bound against
# examples seen), so that the page shows how the model learned and Start trains on exactly where
# the native trainer stopped; with `models/NAME.log`, the trainer's line per epoch. Trained by the
# native trainer on the full MNIST training set (data/mnist/, scripts/make-data.mjs), fixed
# seeds. Does nothing when models/stamp says they were made by the same commands.
# Called by scripts/setup.sh; needs the data first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf 'train-models: %s\n' "$*"; }

# name, then the trainer's options (two threads on every machine: a step spread over N threads sums
# its gradients in N pieces, so the same N gives the same model everywhere)
MODELS=(
  "latent2 --latent-dim 2 --epochs 6 --seed 42 --threads 2"
  "latent20 --latent-dim 20 --epochs 6 --seed 1 --threads 2"
)

# The stamp names what the files hold too: a change of format retrains.
stamp=$(printf '%s\n' "runs with their charts (.vaerun)" "${MODELS[@]}")
all_present() {
  local m name
  for m in "${MODELS[@]}"; do
    name=${m%% *}
    [ -s "models/$name.vaerun" ] && [ -s "models/$name.log" ] || return 1
  done
}
if [ -f models/stamp ] && [ "$(cat models/stamp)" = "$stamp" ] && all_present; then
  say "present ($(printf '%s ' "${MODELS[@]%% *}")in models/)"
  exit 0
fi

start=$(date +%s)
say "building the native trainer (cargo build --release --bin vae)"
cargo build --quiet --release --bin vae
mkdir -p models
rm -f models/stamp
for m in "${MODELS[@]}"; do
  name=${m%% *}
  # shellcheck disable=SC2086 # the options are words
  "${CARGO_TARGET_DIR:-target}/release/vae" train ${m#* } --json --checkpoint "models/$name.vaerun" > "models/$name.log"
  say "$name: $(tail -n 2 "models/$name.log" | head -n 1)"
done
printf '%s\n' "$stamp" > models/stamp
say "trained in $(($(date +%s) - start)) s"
