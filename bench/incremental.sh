#!/usr/bin/env bash
# What an incremental nightly run costs against a full one: the bench data of N orders
# (bench/data/N, made by bench/run.sh) with each dated source split into the rows before AS_OF
# (one file) and the rows from AS_OF on (a second file, the night's new export). The library
# (without the predictive models, as in bench/run.sh) runs for the day before with the first
# files only, then the second files arrive and the run of AS_OF runs twice from that database:
# incremental, and with --full. Prints both times and their ratio, and fails if any published
# table differs; prints both runs' peak resident memory. Usage: bench/incremental.sh [ORDERS]   (default 10000000; PYTHON: a python
# with duckdb, default bench/.venv/bin/python)
set -euo pipefail
orders=${1:-10000000}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${SEGMENTER:-${CARGO_TARGET_DIR:-$HOME/.cache/segmenter/target}/release/segmenter}
python=${PYTHON:-$repo/bench/.venv/bin/python}
data=$repo/bench/data/$orders
as_of=2026-06-30
work=$(mktemp -d "${TMPDIR:-/tmp}/incremental.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data" "$work/later"
"$python" - "$data" "$work" "$as_of" <<'PY'
import duckdb, sys
data, work, as_of = sys.argv[1:]
dated = {"orders": "ordered_at", "order_items": "ordered_at", "sessions": "started_at", "carts": "created_at",
         "campaign_events": "sent_at", "consent": "updated_at"}
c = duckdb.connect()
for src in ["customers", "survey", *dated]:
    f = f"{data}/{src}.parquet"
    if src not in dated:
        c.execute(f"COPY (FROM read_parquet('{f}')) TO '{work}/data/{src}.parquet'")
        continue
    import os
    os.makedirs(f"{work}/data/{src}", exist_ok=True)
    t = dated[src]
    c.execute(f"COPY (FROM read_parquet('{f}') WHERE {t} < DATE '{as_of}' OR {t} IS NULL) TO '{work}/data/{src}/before.parquet'")
    c.execute(f"COPY (FROM read_parquet('{f}') WHERE {t} >= DATE '{as_of}') TO '{work}/later/{src}.parquet'")
PY
mkdir -p "$work/a"
cp -r "$repo/segments" "$repo/macros" "$work/a/"
rm "$work/a/segments/predictive.yaml"
cat > "$work/a/segmenter.yaml" <<EOF
name: incremental_bench
sources:
  customers:       { path: $work/data/customers.parquet, key: customer_id, time: signup_date }
  orders:          { path: $work/data/orders/*.parquet, key: customer_id, time: ordered_at }
  sessions:        { path: $work/data/sessions/*.parquet, key: customer_id, time: started_at }
  carts:           { path: $work/data/carts/*.parquet, key: customer_id, time: created_at }
  campaign_events: { path: $work/data/campaign_events/*.parquet, key: customer_id, time: sent_at }
  order_items:     { path: $work/data/order_items/*.parquet, key: customer_id, time: ordered_at }
  survey:          { path: $work/data/survey.parquet, key: customer_id }
  consent:         { path: $work/data/consent/*.parquet, key: customer_id, time: updated_at }
vars: { as_of: "$as_of" }
output: { database: out/segments.duckdb }
settings: { memory_limit: 4GB }
EOF
seconds() { awk '$2 == "total" { sub("s", "", $1); print $1 }'; }
"$bin" --project "$work/a" --quiet run --as-of 2026-06-29
for src in orders order_items sessions carts campaign_events consent; do
  mv "$work/later/$src.parquet" "$work/data/$src/day.parquet"
done
cp -r "$work/a" "$work/b"
incremental=$("$bin" --project "$work/a" run --timings 2>&1 | tee "$work/a.log" | seconds)
full=$("$bin" --project "$work/b" run --full --timings 2>&1 | tee "$work/b.log" | seconds)
grep '^note:' "$work/a.log" || true
grep -E 'step features|plan the scans' "$work/a.log" || true
# The peaks, to hold against memory_limit (the phase where the column last rose holds it).
for way in a b; do echo "$way: $(grep 'peak resident' "$work/$way.log" || echo 'no peak (not Linux)')"; done
"$python" - "$work/a/out/segments.duckdb" "$work/b/out/segments.duckdb" <<'PY'
import duckdb, sys
c = duckdb.connect()
c.execute(f"ATTACH '{sys.argv[1]}' AS a (READ_ONLY); ATTACH '{sys.argv[2]}' AS b (READ_ONLY)")
bad = []
for t in ["customer_features", "segment_members", "tier_assignments", "rfm_scores", "segment_catalog"]:
    n = c.execute(f"SELECT (SELECT count(*) FROM (FROM a.{t} EXCEPT ALL FROM b.{t})) + (SELECT count(*) FROM (FROM b.{t} EXCEPT ALL FROM a.{t}))").fetchone()[0]
    print(f"{t}: {'same' if n == 0 else f'{n} rows differ'}")
    bad += [t] if n else []
sys.exit(1 if bad else 0)
PY
python3 -c "import sys; i, f = map(float, sys.argv[1:]); print(f'incremental run {i:.1f} s, full run {f:.1f} s: {100 * i / f:.0f}% of the full run')" "$incremental" "$full"
