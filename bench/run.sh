#!/usr/bin/env bash
# Side-by-side benchmark: bench/run.sh [--orders N] [--repeat K] [--memory-limit 4GB] [--skip-peers]
# Builds segmenter (release), installs the Python peers into bench/.venv, generates data into
# bench/data/<N>/ if missing, prints median times and ratios, and fails if memberships differ.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/segmenter/target}"
(cd .. && cargo build --release --quiet)
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet "duckdb==1.5.*" pandas polars pyarrow "dbt-core>=1.9,<1.11" "dbt-duckdb>=1.9,<1.10"
fi
exec .venv/bin/python bench.py --bin "$CARGO_TARGET_DIR/release/segmenter" "$@"
