#!/usr/bin/env bash
# Stress the atomic publish: SIGKILL `segmenter run` at many more random moments than the test
# suite does (24), with several seeds. Each round checks that the published tables afterwards are
# exactly the state before or after the killed run, never a mix.
#   scripts/kill-stress.sh [ROUNDS] [KILLS_PER_ROUND]     (default 10 rounds of 100 kills)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/segmenter/target}"
rounds="${1:-10}"
export SEGMENTER_KILLS="${2:-100}"
for round in $(seq 1 "$rounds"); do
    export SEGMENTER_KILL_SEED=$((round * 7919))
    echo "round $round/$rounds: $SEGMENTER_KILLS kills, seed $SEGMENTER_KILL_SEED"
    cargo test --release --quiet --test it sigkill_at_random_moments -- --exact publish::sigkill_at_random_moments_never_publishes_half_a_result
done
echo "all rounds passed"
