#!/usr/bin/env bash
# Ours (target/release/vae) against the PyTorch reference (tests/reference/pytorch_vae.py) on the
# standard MNIST split (data/mnist/, 60,000 / 10,000), alternating the two implementations run by
# run so that both see the same load on a shared machine:
#
#   bash tests/reference/compare.sh                    # latent 20 and 2, seeds 1 2 3, 10 epochs
#   EPOCHS=5 LATENTS="2" SEEDS="1 2" bash tests/reference/compare.sh
#
# The configuration is the pytorch/examples VAE's: 784-400-D ReLU, Bernoulli on grey levels,
# Adam 1e-3, M = 100; both on $THREADS threads (default 1). One JSON line per epoch from each run goes to $LOGS/<impl>-latent<D>-seed<S>.log
# (impl: ours, torch); then tests/reference/summarize.py prints the table (final test -ELBO, medians,
# training examples/s). Needs target/release/vae built and torch (tests/reference/requirements.txt)
# in $PYTHON (default /tmp/torch-ref/bin/python, the venv named in requirements.txt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

VAE=${VAE:-${CARGO_TARGET_DIR:-target}/release/vae}
PYTHON=${PYTHON:-/tmp/torch-ref/bin/python}
EPOCHS=${EPOCHS:-10}
LATENTS=${LATENTS:-20 2}
SEEDS=${SEEDS:-1 2 3}
THREADS=${THREADS:-1}
LOGS=${LOGS:-/tmp/logs/compare}
mkdir -p "$LOGS"

run() { # impl latent seed
  local log="$LOGS/$1-latent$2-seed$3.log" cmd
  if [ "$1" = ours ]; then cmd=("$VAE" --threads "$THREADS" train --latent-dim "$2" --epochs "$EPOCHS" --seed "$3" --json)
  else cmd=("$PYTHON" tests/reference/pytorch_vae.py --latent "$2" --epochs "$EPOCHS" --seed "$3" --threads "$THREADS" --json); fi
  {
    echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# ${cmd[*]}"
    /usr/bin/time -f "# wall %e s, cpu %P" "${cmd[@]}" 2>&1
    echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  } > "$log"
  echo "compare: $1 latent $2 seed $3: $(grep '"epoch"' "$log" | tail -n 1)"
}

echo "compare: $("$PYTHON" -c 'import torch; print("torch", torch.__version__)'), $("$VAE" --version), $(nproc) cores"
i=0
for latent in $LATENTS; do
  for seed in $SEEDS; do
    # Alternate which goes first, so a drift in the machine's load falls on both.
    if [ $((i % 2)) -eq 0 ]; then run ours "$latent" "$seed"; run torch "$latent" "$seed"
    else run torch "$latent" "$seed"; run ours "$latent" "$seed"; fi
    i=$((i + 1))
  done
done
python3 tests/reference/summarize.py "$LOGS"
