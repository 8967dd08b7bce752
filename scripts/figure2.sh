#!/usr/bin/env bash
# The paper's figure 2 (Kingma & Welling 2014): the lower bound on training and test digits
# against training samples evaluated, for N_z = 3, 5, 10, 20, 200, with the paper's MNIST set-up
# (`VaeConfig::paper()`: 784-500-N_z-500-784 tanh MLPs, Bernoulli decoder, Adagrad lr 0.02,
# M = 100, L = 1, SGVB-B) on dynamically binarised MNIST (data/mnist/, 60,000 / 10,000).
#
#   bash scripts/figure2.sh                       train and draw: docs/figure2.csv, docs/figure2.png
#   SAMPLES=1000000 bash scripts/figure2.sh       a shorter run (default 3,000,000 samples a curve)
#   PLOT_ONLY=1 bash scripts/figure2.sh           redraw docs/figure2.png from docs/figure2.csv
#
# Needs the native trainer built (cargo build --release --bin vae), the data (scripts/setup.sh),
# and for the figure Node.js, the npm packages (playwright-core) and Debian's chromium.
# On the project's 2-core machine, busy with other jobs, 3,000,000 samples x 5 curves took 73 minutes
# (docs/benchmarks.md, "The paper's results, reproduced").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VAE=${VAE:-${CARGO_TARGET_DIR:-target}/release/vae}
SAMPLES=${SAMPLES:-3000000}
EVAL_EVERY=${EVAL_EVERY:-100000}
DIMS=${DIMS:-3,5,10,20,200}
SEED=${SEED:-1}
CSV=${CSV:-docs/figure2.csv}
PNG=${PNG:-docs/figure2.png}

if [ -z "${PLOT_ONLY:-}" ]; then
  if [ ! -x "$VAE" ]; then
    echo "figure2: $VAE is missing; build it first: cargo build --release --bin vae" >&2
    exit 1
  fi
  echo "figure2: $VAE curves --latent-dims $DIMS --samples $SAMPLES --eval-every $EVAL_EVERY --seed $SEED --out $CSV"
  start=$(date +%s)
  "$VAE" curves --latent-dims "$DIMS" --samples "$SAMPLES" --eval-every "$EVAL_EVERY" --seed "$SEED" --out "$CSV"
  echo "figure2: trained in $(($(date +%s) - start)) s"
fi
node scripts/plot-curves.mjs "$CSV" "$PNG"
