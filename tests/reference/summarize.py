#!/usr/bin/env python3
"""Summarises the logs of tests/reference/compare.sh: one row per run (final test -ELBO, the test
-ELBO after epoch 1, training examples/s over all epochs), then per implementation and latent size
the median, range and median speed. Standard library only.

Usage: python3 tests/reference/summarize.py /tmp/logs/compare
"""
import json, pathlib, re, statistics, sys

runs = {}
for path in sorted(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/logs/compare").glob("*.log")):
    m = re.fullmatch(r"(ours|torch)-latent(\d+)-seed(\d+)\.log", path.name)
    if not m:
        continue
    epochs = [json.loads(l) for l in path.read_text().splitlines() if l.startswith('{"epoch"')]
    if not epochs:
        continue
    # Examples/s over the whole run: every epoch has the same number of examples, so the harmonic mean.
    speed = len(epochs) / sum(1 / e["examplesPerSecond"] for e in epochs)
    runs.setdefault((m[1], int(m[2])), []).append((int(m[3]), epochs, speed))

print("| implementation | latent | seed | epochs | test -ELBO after epoch 1 | final test -ELBO | training examples/s |")
print("|---|---|---|---|---|---|---|")
for (impl, latent), rs in sorted(runs.items(), key=lambda kv: (-kv[0][1], kv[0][0])):
    for seed, epochs, speed in sorted(rs):
        print(f"| {impl} | {latent} | {seed} | {len(epochs)} | {epochs[0]['testLoss']:.2f} | {epochs[-1]['testLoss']:.2f} | {speed:,.0f} |")
print()
print("| implementation | latent | runs | final test -ELBO, median (range) | examples/s, median (range) |")
print("|---|---|---|---|---|")
for (impl, latent), rs in sorted(runs.items(), key=lambda kv: (-kv[0][1], kv[0][0])):
    finals = [e[-1]["testLoss"] for _, e, _ in rs]
    speeds = [s for _, _, s in rs]
    print(f"| {impl} | {latent} | {len(rs)} | {statistics.median(finals):.2f} ({min(finals):.2f} – {max(finals):.2f}) "
          f"| {statistics.median(speeds):,.0f} ({min(speeds):,.0f} – {max(speeds):,.0f}) |")
