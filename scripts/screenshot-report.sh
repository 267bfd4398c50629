#!/usr/bin/env bash
# Render the sample project's HTML report in headless Chromium and save a screenshot, so a
# person can look at it. Installs Debian's chromium if it is missing.
#   scripts/screenshot-report.sh [OUT.png]     (default: out/report.png)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/segmenter/target}"
out="${1:-out/report.png}"
if ! command -v chromium >/dev/null; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y chromium
fi
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/segmenter"
# Two dates so the report has tier migrations and entered/exited counts.
"$bin" --quiet run --as-of 2026-03-31
"$bin" --quiet run
"$bin" --quiet report --to html --out out/report.html
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2400 \
    --screenshot="$PWD/$out" "file://$PWD/out/report.html" 2>/dev/null
echo "wrote $out"
