#!/usr/bin/env bash
# Side-by-side benchmark: bench/run.sh [--orders N] [--repeat K] [--memory-limit 4GB] [--skip-peers]
# Builds segmenter (release), installs the Python peers into bench/.venv, generates data into
# bench/data/<N>/ if missing or written by an older generator (see bench.py), prints median times
# and ratios, and fails if memberships differ.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/segmenter/target}"
(cd .. && cargo build --release --quiet)
if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/requirements.txt; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade -r requirements.txt
    cp requirements.txt .venv/requirements.txt
fi
exec .venv/bin/python bench.py --bin "$CARGO_TARGET_DIR/release/segmenter" "$@"
