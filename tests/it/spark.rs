//! `segmenter run --engine spark` on a real local Spark: a Spark Connect server from the PySpark
//! wheel (scripts/spark-connect.sh, Java 17) runs the tiny fixture, the library fixture and the
//! sample shop, and every table it publishes equals the DuckDB run's: every row of memberships,
//! tiers, catalogs and scores, numbers to 1e-9. Publishing is checked too: history replaced per
//! date, a failed or killed run leaves the published views as they were, a half-done publish is
//! completed by the next run.
//!
//! Without Java the tests say so on stderr and pass; everything else they need they install.

use crate::support::*;
use segmenter::spark::Spark;
use std::path::{Path, PathBuf};
use std::process::Command;

struct LocalSpark {
    url: String,
    started: bool,
}

impl LocalSpark {
    fn script() -> PathBuf {
        repo_root().join("scripts/spark-connect.sh")
    }

    /// `None` (with the reason on stderr) when this machine has no Java.
    fn start() -> Option<LocalSpark> {
        let running = Command::new(Self::script()).arg("status").output().expect("spark-connect.sh status").status.success();
        let out = Command::new(Self::script()).arg("start").output().expect("spark-connect.sh start");
        if out.status.code() == Some(3) {
            eprintln!("SKIPPED the Spark tests: {}", String::from_utf8_lossy(&out.stderr).trim());
            return None;
        }
        assert!(out.status.success(), "spark-connect.sh start failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string();
        Some(LocalSpark { url, started: !running })
    }
}

impl Drop for LocalSpark {
    fn drop(&mut self) {
        if self.started {
            let _ = Command::new(Self::script()).arg("stop").output();
        }
    }
}

/// `segmenter run --engine spark` of `project` into Spark database `database`.
fn spark_run(project: &Path, url: &str, database: &str) -> assert_cmd::assert::Assert {
    set_spark_database(project, database);
    segmenter(project).args(["--quiet", "--engine", "spark", "run", "--spark-url", url]).assert()
}

/// Point the project's Spark runs at `database` (one per test, so tests never share tables).
fn set_spark_database(project: &Path, database: &str) {
    let file = project.join("segmenter.yaml");
    let text = std::fs::read_to_string(&file).expect("segmenter.yaml");
    let kept: String = text.split("\nspark:").next().unwrap_or_default().to_string();
    std::fs::write(&file, format!("{}\nspark:\n  database: {database}\n", kept.trim_end())).expect("write segmenter.yaml");
}

/// Spark table `database.table` copied to Parquet files under `dir`, for DuckDB to read.
fn copy_out(spark: &Spark, database: &str, table: &str, dir: &Path) -> String {
    let path = dir.join(format!("{database}-{table}"));
    let df = spark.session().table(&format!("{database}.{table}")).expect("table");
    df.write().mode("overwrite").parquet(path.to_str().expect("utf-8 path")).expect("write parquet");
    format!("{}/*.parquet", path.display())
}

/// Differences between DuckDB table `table` in `db` and the Parquet copy of Spark's: columns by
/// name and type-cast to DuckDB's, every row; floating-point columns to 1e-9 (relative).
fn differences(db: &Path, table: &str, spark_files: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(db).expect("open db");
    conn.execute_batch("SET TimeZone = 'UTC'").expect("utc");
    let mut stmt = conn.prepare(&format!("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '{table}' ORDER BY ordinal_position")).expect("columns");
    let columns: Vec<(String, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("q").map(|r| r.expect("row")).collect();
    assert!(!columns.is_empty(), "no table {table}");
    let spark_columns: Vec<String> = {
        let mut s = conn.prepare(&format!("SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('{spark_files}'))")).expect("schema");
        s.query_map([], |r| r.get(0)).expect("q").map(|r| r.expect("row")).collect()
    };
    let mut out = Vec::new();
    let names: Vec<&String> = columns.iter().map(|(c, _)| c).collect();
    if names.iter().any(|c| !spark_columns.contains(c)) {
        return vec![format!("{table}: columns {names:?} on DuckDB, {spark_columns:?} on Spark")];
    }
    let float = |ty: &str| ty == "DOUBLE" || ty == "FLOAT";
    let exact = |alias: &str| -> String {
        let cells: Vec<String> = columns
            .iter()
            .filter(|(_, ty)| !float(ty))
            .map(|(c, ty)| if ty.starts_with("ENUM") { format!("CAST({alias}\"{c}\" AS VARCHAR)") } else { format!("CAST(CAST({alias}\"{c}\" AS {ty}) AS VARCHAR)") })
            .collect();
        cells.join(", ")
    };
    for (from, other, label) in [("d", "s", "only on DuckDB"), ("s", "d", "only on Spark")] {
        let sql = format!(
            "WITH d AS (SELECT * FROM \"{table}\"), s AS (SELECT * FROM read_parquet('{spark_files}')) \
             SELECT count(*) FROM (SELECT {} FROM {from} EXCEPT ALL SELECT {} FROM {other})",
            exact(""),
            exact("")
        );
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0)).expect(&sql);
        if n > 0 {
            out.push(format!("{table}: {n} row(s) {label}"));
        }
    }
    // Rows are matched by all their other columns (customer_id among them where there is one).
    for (c, _) in columns.iter().filter(|(_, ty)| float(ty)) {
        let sql = format!(
            "SELECT count(*) FROM \"{table}\" AS d JOIN read_parquet('{spark_files}') AS s ON CAST(list_value({}) AS VARCHAR) = CAST(list_value({}) AS VARCHAR) \
             WHERE (d.\"{c}\" IS NULL) <> (s.\"{c}\" IS NULL) OR abs(d.\"{c}\" - s.\"{c}\") > 1e-9 * greatest(1, abs(d.\"{c}\"))",
            exact("d."),
            exact("s.")
        );
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0)).expect(&sql);
        if n > 0 {
            out.push(format!("{table}.{c}: {n} value(s) differ by more than 1e-9"));
        }
    }
    out
}

/// The output tables of a DuckDB run (history and the runs manifest aside, and the campaign
/// results, which Spark runs do not measure: W022).
fn published_tables(db: &Path) -> Vec<String> {
    rows(db, "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_name NOT IN ('runs', 'segment_ids', 'campaign_results') AND table_name NOT LIKE '%history%' AND table_name NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY 1")
}

/// One test, so that one server serves every check (started here, stopped at its end).
#[test]
fn the_spark_engine() {
    let Some(server) = LocalSpark::start() else { return };
    spark_runs_publish_duckdbs_tables(&server.url);
    spark_history_is_replaced_per_date(&server.url);
    spark_publish_survives_failures_and_kills(&server.url);
}

/// Models are fitted by DuckDB runs only (a Spark run refuses them, see cli_errors): the
/// library's predictive models are left out of the Spark projects.
fn without_models(dir: &tempfile::TempDir) {
    std::fs::remove_file(dir.path().join("segments/predictive.yaml")).expect("remove the predictive models");
}

fn spark_sample() -> tempfile::TempDir {
    let dir = sample_project();
    without_models(&dir);
    dir
}

fn spark_runs_publish_duckdbs_tables(url: &str) {
    let library = fixture("library");
    for entry in ["segments", "macros"] {
        copy_dir(&repo_root().join(entry), &library.path().join(entry));
    }
    without_models(&library);
    let sample = spark_sample();
    let projects = [("tiny", fixture("tiny"), "out/tiny.duckdb"), ("library", library, "out/library.duckdb"), ("sample", sample, "out/segments.duckdb")];
    let spark = Spark::connect(url).expect("connect");
    let copies = tempfile::tempdir().expect("tmp");
    for (name, dir, db) in &projects {
        segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
        let database = format!("it_same_{name}");
        spark.session().sql(&format!("DROP DATABASE IF EXISTS {database} CASCADE")).and_then(|df| df.collect()).expect("drop");
        spark_run(dir.path(), url, &database).success();
        let tables = published_tables(&dir.path().join(db));
        assert!(tables.contains(&"customer_features".to_string()) && tables.contains(&"segment_members".to_string()), "{tables:?}");
        let mut differ = Vec::new();
        for table in &tables {
            let files = copy_out(&spark, &database, table, copies.path());
            differ.extend(differences(&dir.path().join(db), table, &files));
        }
        assert!(differ.is_empty(), "{name}: Spark published other tables than DuckDB:\n{}", differ.join("\n"));
    }
}

/// Rows of a Spark query, cells joined by `|`, sorted.
fn spark_rows(spark: &Spark, sql: &str) -> Vec<String> {
    let rows = spark.session().sql(sql).and_then(|df| df.collect()).expect(sql);
    let mut out: Vec<String> = rows.iter().map(|r| r.values().iter().map(segmenter::spark::session::text).collect::<Vec<_>>().join("|")).collect();
    out.sort();
    out
}

/// Members and history rows per date, and the published run, as readers see them.
fn published_state(spark: &Spark, database: &str) -> Vec<String> {
    let mut out = spark_rows(spark, &format!("SELECT 'members', segment, count(*) FROM {database}.segment_members GROUP BY segment"));
    out.extend(spark_rows(spark, &format!("SELECT 'history', CAST(as_of AS STRING), count(*) FROM {database}.segment_members_history GROUP BY as_of")));
    out.extend(spark_rows(spark, &format!("SELECT 'pointer', generation, run_id FROM {database}.segmenter_published")));
    out
}

/// History is replaced per date, never duplicated; an earlier date is refused.
fn spark_history_is_replaced_per_date(url: &str) {
    let dir = fixture("tiny");
    let database = "it_history";
    let spark = Spark::connect(url).expect("connect");
    spark.session().sql(&format!("DROP DATABASE IF EXISTS {database} CASCADE")).and_then(|df| df.collect()).expect("drop");
    spark_run(dir.path(), url, database).success();
    spark_run(dir.path(), url, database).success();
    let members = spark_rows(&spark, &format!("SELECT count(*) FROM {database}.segment_members"));
    assert_eq!(members, vec!["39".to_string()]);
    let history = |sql: &str| spark_rows(&spark, &format!("SELECT CAST(as_of AS STRING), count(*) FROM {database}.{sql} GROUP BY as_of"));
    assert_eq!(history("segment_members_history"), vec!["2026-06-30|39".to_string()], "the same date twice is one date of history");
    assert_eq!(history("tier_history"), vec!["2026-06-30|12".to_string()]);
    segmenter(dir.path()).args(["--quiet", "--engine", "spark", "run", "--spark-url", url, "--as-of", "2026-07-31"]).assert().success();
    let dates = history("segment_members_history");
    assert_eq!(dates.len(), 2, "{dates:?}");
    assert!(dates[0] == "2026-06-30|39" && dates[1].starts_with("2026-07-31|"), "{dates:?}");
    let out = segmenter(dir.path()).args(["--engine", "spark", "run", "--spark-url", url]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: the Spark database holds a run as of 2026-07-31; a Spark run publishes that date or a later one, not 2026-06-30 \
         (backfilling history for an earlier date is done by DuckDB runs: --engine duckdb)"
    );
    let runs = spark_rows(&spark, &format!("SELECT status, CAST(as_of AS STRING), count(DISTINCT generation) FROM {database}.segmenter_runs GROUP BY 1, 2"));
    assert_eq!(runs, vec!["ok|2026-06-30|2", "ok|2026-07-31|1"]);
}

/// A run that fails half way, or is killed at any moment, leaves what readers see as it was;
/// a publish interrupted between the pointer and the views is completed by the next run.
fn spark_publish_survives_failures_and_kills(url: &str) {
    let dir = spark_sample();
    let database = "it_safety";
    let spark = Spark::connect(url).expect("connect");
    spark.session().sql(&format!("DROP DATABASE IF EXISTS {database} CASCADE")).and_then(|df| df.collect()).expect("drop");
    spark_run(dir.path(), url, database).success();
    let before = published_state(&spark, database);
    assert!(before.iter().any(|l| l.starts_with("pointer|")), "{before:?}");

    // A value Spark cannot convert fails a late step, after earlier ones wrote generation b.
    let file = dir.path().join("segments/zz_failing.yaml");
    std::fs::write(&file, "segments:\n  - name: fails_on_spark\n    where: \"CAST(country AS INTEGER) > 0\"\n").expect("write");
    let out = segmenter(dir.path()).args(["--engine", "spark", "run", "--spark-url", url]).output().expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().last().unwrap_or_default().starts_with("error: step 'segments' failed in Spark: [CAST_INVALID_INPUT] The value 'US'"), "{stderr}");
    assert_eq!(published_state(&spark, database), before, "a failed run changed what readers see");
    std::fs::remove_file(&file).expect("rm");

    // Killed at moments spread over a run (about 10 s on two cores).
    let mut killed_mid_run = 0;
    for i in 0..10 {
        let bin = assert_cmd::cargo::cargo_bin("segmenter");
        let mut child = Command::new(bin)
            .arg("--project")
            .arg(dir.path())
            .args(["--quiet", "--engine", "spark", "run", "--spark-url", url])
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(1500 + 1300 * i));
        let finished = child.try_wait().expect("wait").is_some();
        let _ = child.kill();
        let _ = child.wait();
        let now = published_state(&spark, database);
        if finished {
            // The run ended before the kill: it published a whole new generation.
            assert!(now.iter().any(|l| l.starts_with("pointer|")) && now[..now.len() - 1] == before[..before.len() - 1], "{now:?}");
            break;
        }
        killed_mid_run += 1;
        let pointer_moved = now.last() != before.last();
        assert!(now[..now.len() - 1] == before[..before.len() - 1], "kill {i}: readers see other members or history: {now:?}");
        if pointer_moved {
            break;
        }
    }

    assert!(killed_mid_run >= 4, "only {killed_mid_run} kill(s) landed inside a run");

    // Pointer at one generation, a view still at the other (a publish killed between the two):
    // the next run repairs the views before anything else, here a run the gates then block.
    let pointer = || spark_rows(&spark, &format!("SELECT generation FROM {database}.segmenter_published"));
    spark_run(dir.path(), url, database).success();
    let stale = pointer();
    spark_run(dir.path(), url, database).success();
    let generation = pointer();
    assert_ne!(generation, stale);
    let repoint = format!("CREATE OR REPLACE VIEW {database}.segment_members AS SELECT * FROM {database}.__segmenter_g{}__segment_members", stale[0]);
    spark.session().sql(&repoint).and_then(|df| df.collect()).expect("repoint");
    let customers = dir.path().join("sample-data/customers.csv");
    let header = std::fs::read_to_string(&customers).expect("customers").lines().next().unwrap_or_default().to_string();
    std::fs::write(&customers, header + "\n").expect("no customers");
    let out = segmenter(dir.path()).args(["--engine", "spark", "run", "--spark-url", url]).output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let view = spark_rows(&spark, &format!("SHOW CREATE TABLE {database}.segment_members")).join("\n");
    assert!(view.contains(&format!("__segmenter_g{}__segment_members", generation[0])), "{view}");
}
