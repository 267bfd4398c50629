#!/usr/bin/env bash
# What the models cost a run: the bench project of N orders (bench/work/N, made by bench/run.sh)
# with the library's segments, run once without segments/predictive.yaml and once with it,
# alternating ROUNDS times (BENCH_WORK: another bench/work folder); prints each run's total and "fit models" seconds and the ratio of
# the medians. Usage: bench/models.sh [ORDERS] [ROUNDS]   (defaults 10000000 and 1)
set -euo pipefail
orders=${1:-10000000}
rounds=${2:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${SEGMENTER:-${CARGO_TARGET_DIR:-$HOME/.cache/segmenter/target}/release/segmenter}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for way in without with; do
  mkdir -p "$work/$way"
  cp "${BENCH_WORK:-$repo/bench/work}/$orders/segmenter.yaml" "$work/$way/"
  cp -r "$repo/segments" "$repo/macros" "$work/$way/"
done
rm "$work/without/segments/predictive.yaml"
for _ in $(seq "$rounds"); do
  for way in without with; do
    out=$("$bin" --project "$work/$way" --quiet run --timings 2>&1 || true)
    total=$(echo "$out" | awk '$2 == "total" { sub("s", "", $1); print $1 }')
    fit=$(echo "$out" | awk '/fit models/ { sub("s", "", $1); print $1 }')
    echo "$way $total ${fit:-0}" | tee -a "$work/times"
  done
done
python3 - "$work/times" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda way, i: statistics.median(float(r[i]) for r in rows if r[0] == way)
without, with_, fit = med("without", 1), med("with", 1), med("with", 2)
print(f"median total without models {without:.1f} s, with {with_:.1f} s (fit models {fit:.1f} s): +{(with_ / without - 1) * 100:.0f}%")
PY
