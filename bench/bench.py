"""Side-by-side benchmark of segmenter (see bench/README.md). Run through bench/run.sh."""
import argparse, datetime as dt, json, os, pathlib, shutil, statistics, subprocess, sys, time

import duckdb

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = "2026-06-30"
SUBSET = ["clv_low", "clv_medium", "clv_high", "one_time_buyers", "returning", "active", "inactive", "new_customers", "club_tier"]
PROJECT = """name: bench_{orders}
sources:
  customers:       {{ path: {data}/customers.parquet, key: customer_id, time: signup_date }}
  orders:          {{ path: {data}/orders.parquet, key: customer_id, time: ordered_at }}
  sessions:        {{ path: {data}/sessions.parquet, key: customer_id, time: started_at }}
  carts:           {{ path: {data}/carts.parquet, key: customer_id, time: created_at }}
  campaign_events: {{ path: {data}/campaign_events.parquet, key: customer_id, time: sent_at }}
  order_items:     {{ path: {data}/order_items.parquet, key: customer_id }}
  survey:          {{ path: {data}/survey.parquet, key: customer_id }}
  consent:         {{ path: {data}/consent.parquet, key: customer_id, time: updated_at }}
vars: {{ as_of: "{as_of}" }}
output: {{ database: out/segments.duckdb }}
settings: {{ memory_limit: {memory} }}
"""


def timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--skip-peers", action="store_true", help="only segmenter and DuckDB (large scales)")
    a = ap.parse_args()

    data = HERE / "data" / str(a.orders)
    if not (data / "orders.parquet").exists():
        print(f"generating {a.orders} orders into {data} ...", flush=True)
        subprocess.run([a.bin, "--quiet", "generate", "--orders", str(a.orders), "--out", str(data)], check=True)
    work = HERE / "work" / str(a.orders)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for d in ["segments", "macros"]:
        shutil.copytree(ROOT / d, work / d)
    (work / "segmenter.yaml").write_text(PROJECT.format(orders=a.orders, data=data, as_of=AS_OF, memory=a.memory_limit))
    seg = lambda *args: subprocess.run([a.bin, "--quiet", "--project", str(work), *args], check=True, capture_output=True, text=True)

    rows = []
    # 1. The full library: segmenter run, and the very SQL it compiles run directly in DuckDB.
    t_full, _ = timed(lambda: seg("run"), a.repeat)
    plan = seg("compile").stdout

    def raw_plan():
        db = work / "raw.duckdb"
        db.unlink(missing_ok=True)
        c = duckdb.connect(str(db))
        c.execute(f"SET memory_limit = '{a.memory_limit}'")
        c.execute("BEGIN")
        c.execute(plan)
        c.execute("COMMIT")
        c.close()
    t_plan, _ = timed(raw_plan, a.repeat)
    rows.append(("full library", "segmenter run", t_full))
    rows.append(("full library", "its compiled SQL + history in DuckDB (floor)", t_plan))

    # 2. The core subset, five ways, with the same memberships.
    sel = ",".join(SUBSET)
    t_sub, _ = timed(lambda: seg("run", "--select", sel), a.repeat)
    got = duckdb.connect(str(work / "out/segments.duckdb"), read_only=True)
    seg_members = set(got.execute(
        "SELECT customer_id, segment FROM segment_members UNION ALL SELECT customer_id, 'club_tier/' || tier FROM tier_assignments WHERE ladder = 'club_tier'").fetchall())
    got.close()
    hand_sql = (HERE / "handwritten.sql").read_text()

    def hand():
        c = duckdb.connect()
        c.execute(f"SET memory_limit = '{a.memory_limit}'; SET VARIABLE data = '{data}'; SET VARIABLE as_of = DATE '{AS_OF}';")
        c.execute(hand_sql)
        r = set(c.execute("SELECT customer_id, segment FROM hand_members").fetchall())
        c.close()
        return r
    t_hand, hand_members = timed(hand, a.repeat)
    rows.append(("core subset", "segmenter run --select", t_sub))
    rows.append(("core subset", "hand-written DuckDB SQL", t_hand))
    checks = [("hand-written DuckDB SQL", hand_members)]
    if not a.skip_peers:
        sys.path.insert(0, str(HERE / "peers"))
        import dataframes
        as_of = dt.date.fromisoformat(AS_OF)
        t_pl, pl_members = timed(lambda: dataframes.polars_members(data, as_of), a.repeat)
        t_pd, pd_members = timed(lambda: dataframes.pandas_members(data, as_of), max(1, a.repeat // 2))
        rows.append(("core subset", "polars", t_pl))
        rows.append(("core subset", "pandas", t_pd))
        checks += [("polars", pl_members), ("pandas", pd_members)]
        dbt_bin = pathlib.Path(sys.executable).parent / "dbt"
        if dbt_bin.exists():
            dbt_db = work / "dbt.duckdb"

            def dbt():
                dbt_db.unlink(missing_ok=True)
                subprocess.run([str(dbt_bin), "--quiet", "run", "--project-dir", str(HERE / "dbt"), "--profiles-dir", str(HERE / "dbt"),
                                "--vars", json.dumps({"data": str(data), "as_of": AS_OF})],
                               check=True, capture_output=True, env={**os.environ, "DBT_DUCKDB_PATH": str(dbt_db)})
                c = duckdb.connect(str(dbt_db), read_only=True)
                r = set(c.execute("SELECT customer_id, segment FROM members").fetchall())
                c.close()
                return r
            t_dbt, dbt_members = timed(dbt, a.repeat)
            rows.append(("core subset", "dbt-duckdb (one model per segment)", t_dbt))
            checks.append(("dbt-duckdb", dbt_members))
    ok = True
    for name, members in checks:
        if members != seg_members:
            ok = False
            print(f"MISMATCH {name}: {len(members - seg_members)} extra, {len(seg_members - members)} missing", file=sys.stderr)

    # 3. validate + compile of 500 generated segment files (in-process time is below the CLI start).
    many = HERE / "work" / "many"
    if many.exists():
        shutil.rmtree(many)
    shutil.copytree(ROOT / "tests/fixtures/tiny", many)
    for i in range(500):
        (many / "segments" / f"gen_{i:03d}.yaml").write_text(
            f"segments:\n  - name: gen_{i:03d}\n    description: generated segment {i}\n    where: total_spent > {{{{ var('t{i}', {i}) }}}} AND order_count >= {i % 7}\n    tags: [generated]\n")
    t_compile, _ = timed(lambda: subprocess.run([a.bin, "--quiet", "--project", str(many), "compile"], check=True, capture_output=True), a.repeat)
    rows.append(("500 segment files", "segmenter compile (load+validate+compile)", t_compile))

    fastest = {}
    for group, _, t in rows:
        fastest[group] = min(fastest.get(group, t), t)
    print(f"\nsegmenter bench: {a.orders:,} orders, as_of {AS_OF}, median of {a.repeat}, duckdb {duckdb.__version__}, {os.cpu_count()} cores")
    print(f"{'work':<18} {'way':<40} {'seconds':>8} {'ratio':>6}")
    for group, name, t in rows:
        print(f"{group:<18} {name:<40} {t:8.2f} {t / fastest[group]:6.2f}")
    print("memberships: " + ("identical in every peer" if ok else "MISMATCH (see above)"))
    json.dump({"orders": a.orders, "rows": rows, "memberships_equal": ok}, open(work / "results.json", "w"), indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
