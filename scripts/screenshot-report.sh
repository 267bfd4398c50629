#!/usr/bin/env bash
# Render the sample project's HTML report in headless Chromium and save a screenshot of the
# whole page (not only the window: scripts/full-page-screenshot.py asks Chromium over its
# DevTools protocol), so a person can look at it. Installs Debian's chromium if it is missing.
#   scripts/screenshot-report.sh [OUT.png]     (default: out/report.png in the repository;
#                                               a relative OUT is taken from where you call it)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# Resolve OUT before leaving the caller's folder; an absolute path stays as it is.
out="$(realpath -m "${1:-$repo/out/report.png}")"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/segmenter/target}"
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
mkdir -p "$(dirname "$out")"
rm -f "$out"
python3 "$repo/scripts/full-page-screenshot.py" "file://$repo/out/report.html" "$out" 1400 >/dev/null || true
if [ ! -s "$out" ]; then
    echo "error: chromium wrote no screenshot to $out" >&2
    exit 1
fi
echo "wrote $out"
