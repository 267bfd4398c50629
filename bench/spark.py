"""`segmenter run --engine spark` on a local Spark Connect server (master local[2]) against
`segmenter run` on DuckDB, same data, same project (see bench/README.md and the ninth round of
bench/RESULTS.md). Records the cost; asserts no timing. Run from the repository root:

    bench/.venv/bin/python bench/spark.py [--orders 1000000] [--repeat 3] [--own-server] [--keep]

- Uses the binary that is there (default $CARGO_TARGET_DIR/release/segmenter, else
  ~/.cache/segmenter/target/release/segmenter); it never builds. It copies the binary (and the
  libduckdb.so next to it) into a temporary folder first, so that a build running meanwhile in
  the shared target dir cannot swap it half way through the measurements.
- Data: bench/data/<orders>/, generated as bench/run.sh does if missing (seed 42, as_of
  2026-06-30); the project is bench.py's (the repository's segments/ and macros/), copied twice
  into a temporary folder: one for DuckDB (its own output.database) and one for Spark, whose
  segmenter.yaml gets `spark: { database: bench_spark }`.
- Spark server: a running `scripts/spark-connect.sh` server is used as it is and left running;
  if none runs, one is started (timed: the start-up) and stopped at the end. `--own-server`
  always starts a private one (its own state folder and port, so another one that runs is not
  touched), timed, and stops it at the end.
- Measures apart: the server's start-up (when started here), the first DuckDB run (into an empty
  database) and the first Spark run (into an empty Spark database, the JVM's warm-up when the
  server was just started); then `--repeat` rounds of DuckDB run / Spark run, round-robin, and
  prints medians and the ratio Spark / DuckDB, in wall time and in CPU seconds (segmenter's
  own plus, for Spark, the server JVM's from the run's start until it is idle again). Before
  every run it waits until the JVM is idle and syncs. Prints the load average before and after:
  on a busy machine the times are upper bounds.
- Checks that both engines give the same memberships: per segment (and per ladder/tier) the row
  count and the sum of customer ids, DuckDB's `segment_members`/`tier_assignments` against
  Spark's `bench_spark.segment_members`/`tier_assignments` (read with PySpark's Connect client).
  Exits 1 when they differ. `bench_spark` is dropped at the end unless `--keep`.
"""
import argparse, json, os, pathlib, shutil, statistics, subprocess, sys, tempfile, time

import duckdb

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no bench/__pycache__ from importing bench.py
from bench import AS_OF, PROJECT  # the same project as bench/run.sh  # noqa: E402

SCRIPT = ROOT / "scripts" / "spark-connect.sh"
DATABASE = "bench_spark"

# Runs in the Spark venv's interpreter (PySpark Connect client): argv = url, command, database.
SPARK_CLIENT = r"""
import json, sys
import pyspark
from pyspark.sql import SparkSession
url, command, db = sys.argv[1:4]
spark = SparkSession.builder.remote(url).getOrCreate()
out = {"spark": spark.version, "pyspark": pyspark.__version__}
if command == "drop":
    spark.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")
elif command == "members":
    out["segments"] = {r[0]: [r[1], r[2]] for r in spark.sql(
        f"SELECT segment, count(*), sum(customer_id) FROM {db}.segment_members GROUP BY segment").collect()}
    out["tiers"] = {r[0]: [r[1], r[2]] for r in spark.sql(
        f"SELECT ladder || '/' || tier, count(*), sum(customer_id) FROM {db}.tier_assignments GROUP BY 1").collect()}
spark.stop()
print(json.dumps(out))
"""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory-limit", default="4GB", help="the project's settings.memory_limit (as bench/run.sh)")
    target = os.environ.get("CARGO_TARGET_DIR") or str(pathlib.Path.home() / ".cache/segmenter/target")
    ap.add_argument("--bin", default=str(pathlib.Path(target) / "release" / "segmenter"))
    ap.add_argument("--own-server", action="store_true", help="start a private Spark Connect server (timed) even if one runs")
    ap.add_argument("--keep", action="store_true", help=f"keep the Spark database {DATABASE} (when the server stays up) and the temporary folder")
    a = ap.parse_args()

    binary = pathlib.Path(a.bin)
    if not binary.is_file():
        sys.exit(f"{binary} is missing: build it first (cargo build --release); this script never builds")
    load_before = load()
    started_at = time.strftime("%Y-%m-%d %H:%M:%S")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="segmenter-spark-bench."))
    bindir = tmp / "bin"
    bindir.mkdir()
    shutil.copy2(binary, bindir / "segmenter")
    if (binary.parent / "libduckdb.so").exists():  # found through the binary's $ORIGIN runpath
        shutil.copy2(binary.parent / "libduckdb.so", bindir / "libduckdb.so")
    seg = str(bindir / "segmenter")
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(binary.stat().st_mtime))
    version = subprocess.run([seg, "--version"], check=True, capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                           capture_output=True, text=True).stdout.strip()

    # Data, generated as bench.py does (same command, same seed and as_of: the defaults).
    data = HERE / "data" / str(a.orders)
    for source, column in [("order_items", "ordered_at"), ("orders", "ship_country"), ("customers", "occupation")]:
        f = data / f"{source}.parquet"
        if f.exists() and column not in [r[0] for r in duckdb.sql(f"DESCRIBE FROM read_parquet('{f}')").fetchall()]:
            print(f"{data} was generated by an older generator (no {source}.{column}): generating it again", flush=True)
            shutil.rmtree(data)
            break
    if not (data / "orders.parquet").exists():
        log(f"generating {a.orders} orders into {data} ...")
        subprocess.run([seg, "--quiet", "generate", "--orders", str(a.orders), "--out", str(data),
                        "--threads", str(os.cpu_count()), "--memory-limit", a.memory_limit], check=True)
    for f in sorted(data.iterdir()):  # into the page cache, for both engines alike
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass

    projects = {}
    for engine in ["duckdb", "spark"]:
        p = tmp / engine
        p.mkdir()
        for d in ["segments", "macros"]:
            shutil.copytree(ROOT / d, p / d)
        text = PROJECT.format(orders=a.orders, data=data, as_of=AS_OF, memory=a.memory_limit)
        if engine == "spark":
            text += f"spark:\n  database: {DATABASE}\n"
        (p / "segmenter.yaml").write_text(text)
        projects[engine] = p

    # The Spark Connect server.
    env = dict(os.environ)
    if a.own_server:
        env["SEGMENTER_SPARK_STATE_DIR"] = str(tmp / "spark-state")
        env.pop("SEGMENTER_SPARK_PORT", None)
    sc = lambda *args, **kw: subprocess.run([str(SCRIPT), *args], env=env, text=True, capture_output=True, **kw)
    startup = None
    if not a.own_server and sc("status").returncode == 0:
        url = sc("url", check=True).stdout.strip().splitlines()[-1]
        started = False
        log(f"using the Spark Connect server that runs at {url} (left running)")
    else:
        log("starting a Spark Connect server" + (" (private)" if a.own_server else "") + " ...")
        t = time.perf_counter()
        out = sc("start")
        startup = time.perf_counter() - t
        if out.returncode != 0:
            sys.exit(f"scripts/spark-connect.sh start failed ({out.returncode}):\n{out.stderr}")
        url = out.stdout.strip().splitlines()[-1]
        started = True
        log(f"started {url} in {startup:.1f} s")
    spark_python = sc("python", check=True).stdout.strip().splitlines()[-1]
    status = sc("status").stdout.split()  # running: URL pid PID log FILE
    jvm = int(status[status.index("pid") + 1]) if "pid" in status else None
    tick = os.sysconf("SC_CLK_TCK")

    def jvm_cpu():
        """CPU seconds the server's JVM has used so far (user + system), None if unreadable."""
        try:
            fields = pathlib.Path(f"/proc/{jvm}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError, TypeError):
            return None

    def client(command):
        out = subprocess.run([spark_python, "-c", SPARK_CLIENT, url, command, DATABASE], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"PySpark client ({command}) failed:\n{out.stderr[-4000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def settle():
        """Wait (at most 60 s) until the server's JVM has been idle for a second (under 5% of a
        core): after a Spark run it goes on working for a while (cleaning up the run's jobs and
        files, garbage collection), and a DuckDB run started meanwhile would pay for it. Then
        sync, so that neither engine's checkpoint waits on the other's dirty pages."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 60:
            j0 = jvm_cpu()
            time.sleep(1)
            j1 = jvm_cpu()
            if j0 is None or j1 is None or j1 - j0 < 0.05:
                break
        os.sync()
        return time.perf_counter() - t0

    def run(engine):
        args = [seg, "--quiet", "--project", str(projects[engine])]
        args += ["--engine", "spark", "run", "--spark-url", url] if engine == "spark" else ["run"]
        settle()
        j0, t = jvm_cpu(), time.perf_counter()
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        took = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"segmenter run on {engine} failed ({os.waitstatus_to_exitcode(status)}):\n{err[-4000:]}")
        tail = settle() if engine == "spark" else 0.0
        j1 = jvm_cpu()
        # CPU seconds: segmenter's own (wait4's rusage of this child) plus, for Spark, the JVM's
        # from the run's start until it is idle again (everything the server did meanwhile, also
        # for other clients of a shared server).
        cpu = usage.ru_utime + usage.ru_stime
        if engine == "spark":
            cpu = cpu + (j1 - j0) if j0 is not None and j1 is not None else float("nan")
        log(f"{engine}: {took:.2f} s, {cpu:.1f} CPU s" + (f" (server idle again {tail:.0f} s after the run)" if engine == "spark" else ""))
        cpus[engine].append(cpu)
        return took

    ok, cpus = True, {"duckdb": [], "spark": []}
    try:
        if not started:  # the first Spark run starts from an empty database, as DuckDB's (a new server has none)
            client("drop")
        log("first runs (apart: DuckDB into an empty database, Spark into an empty database / JVM warm-up)")
        first = {"duckdb": run("duckdb"), "spark": run("spark")}
        times = {"duckdb": [], "spark": []}
        for i in range(a.repeat):
            log(f"round {i + 1} of {a.repeat}")
            for engine in ["duckdb", "spark"]:
                times[engine].append(run(engine))

        # Same memberships? Per segment and per ladder/tier: rows and the sum of customer ids.
        c = duckdb.connect(str(projects["duckdb"] / "out/segments.duckdb"), read_only=True)
        want = {"segments": {s: [n, int(h)] for s, n, h in c.execute(
                    "SELECT segment::VARCHAR, count(*), sum(customer_id) FROM segment_members GROUP BY 1").fetchall()},
                "tiers": {s: [n, int(h)] for s, n, h in c.execute(
                    "SELECT ladder::VARCHAR || '/' || tier::VARCHAR, count(*), sum(customer_id) FROM tier_assignments GROUP BY 1").fetchall()}}
        c.close()
        got = versions = client("members")
        diffs = []
        for kind in ["segments", "tiers"]:
            w, g = want[kind], {k: [n, int(h)] for k, (n, h) in got[kind].items()}
            diffs += [(kind, k, w.get(k), g.get(k)) for k in sorted(set(w) | set(g)) if w.get(k) != g.get(k)]
        ok = not diffs
        if not a.keep and not started:
            client("drop")
    finally:
        if started:
            stop = sc("stop")
            log(f"stopped the Spark Connect server ({stop.returncode})")
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    load_after = load()

    med = {e: statistics.median(ts) for e, ts in times.items()}
    med_cpu = {e: statistics.median(cs[1:]) for e, cs in cpus.items()}  # the timed rounds
    rows = sum(n for n, _ in want["segments"].values())
    print(f"\nsegmenter run, Spark (local[2] through Spark Connect) against DuckDB: {a.orders:,} orders, as_of {AS_OF}, "
          f"{os.cpu_count()} cores, {started_at}")
    print(f"{version} (binary of {built}), HEAD {commit}{' (src/ modified in the working tree)' if dirty else ''}; Spark {versions['spark']}, "
          f"PySpark client {versions['pyspark']}, {url} ({'started here' + (', private' if a.own_server else '') if started else 'already running, used as it was'})")
    print(f"load average (1, 5, 15 min) before: {load_before}; after: {load_after}\n")
    print(f"| way ({a.orders:,} orders) | median of {a.repeat} (s) | runs (s) | median CPU s |")
    print("|---|---:|---|---:|")
    print(f"| `segmenter run` (DuckDB) | {med['duckdb']:.2f} | {', '.join(f'{t:.2f}' for t in times['duckdb'])} | {med_cpu['duckdb']:.1f} |")
    print(f"| `segmenter --engine spark run` | {med['spark']:.2f} | {', '.join(f'{t:.2f}' for t in times['spark'])} | {med_cpu['spark']:.1f} |")
    print(f"\nratio Spark / DuckDB (medians): {med['spark'] / med['duckdb']:.1f}x in time, {med_cpu['spark'] / med_cpu['duckdb']:.1f}x in CPU seconds"
          " (Spark's: segmenter's plus the server JVM's)")
    print("apart: " + (f"server start-up (`scripts/spark-connect.sh start`) {startup:.1f} s; " if startup is not None
                       else "server start-up not measured (it was already running); ")
          + f"first Spark run {first['spark']:.2f} s, {cpus['spark'][0]:.1f} CPU s ({'JVM warm-up, ' if started else ''}empty database), "
          f"first DuckDB run {first['duckdb']:.2f} s, {cpus['duckdb'][0]:.1f} CPU s (empty database)")
    print(f"memberships: {len(want['segments'])} segments ({rows:,} rows), {len(want['tiers'])} ladder tiers: "
          + ("identical on both engines (rows and sum of customer ids per segment and per tier)" if ok else
             f"DIFFERENT in {len(diffs)}:"))
    for kind, k, w, g in diffs:
        print(f"  {kind} {k}: DuckDB {w}, Spark {g}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
