//! Nightly-run safety: the lock, history per as_of, the runs manifest, data-quality gates,
//! and SIGKILL at random moments never leaving half a result.

use crate::support::*;
use std::path::Path;
use std::process::Command as Proc;
use std::time::Duration;

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("segmenter")
}

/// The tiny fixture after one successful run: the project, its database and what it published.
fn published_tiny() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = fixture("tiny");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    let before = published_state(&db);
    (dir, db, before)
}

/// `segmenter run` on `project`: its exit code and its stderr without trailing whitespace.
fn run_output(project: &Path) -> (Option<i32>, String) {
    let out = segmenter(project).args(["run"]).output().expect("run");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).trim_end().to_string())
}

/// A digest of everything a run publishes: the current tables and the history per date.
fn published_state(db: &Path) -> String {
    rows(
        db,
        "SELECT (SELECT count(*) || ':' || sum(hash(customer_id, segment)) FROM segment_members) || '/' ||
                (SELECT count(*) || ':' || sum(hash(customer_id, ladder, tier, next_tier)) FROM tier_assignments) || '/' ||
                (SELECT count(*) || ':' || sum(hash(customer_id, total_spent, recency_days)) FROM customer_features) || '/' ||
                (SELECT string_agg(DISTINCT as_of::VARCHAR, ',' ORDER BY as_of::VARCHAR) FROM segment_catalog) || '/' ||
                (SELECT coalesce(string_agg(d, ','), '') FROM (SELECT as_of || '=' || count(*) AS d FROM segment_members_history GROUP BY as_of ORDER BY as_of)) || '/' ||
                (SELECT coalesce(string_agg(d, ','), '') FROM (SELECT as_of || '=' || count(*) AS d FROM tier_history GROUP BY as_of ORDER BY as_of))",
    )
    .join("")
}

#[test]
fn history_keeps_each_as_of_once_and_the_manifest_records_every_run() {
    let dir = fixture("tiny");
    for as_of in ["2026-06-30", "2025-12-31", "2026-06-30"] {
        segmenter(dir.path()).args(["--quiet", "run", "--as-of", as_of]).assert().success();
    }
    let db = dir.path().join("out/tiny.duckdb");
    // The rerun of 2026-06-30 replaced that date's rows: history equals the current table.
    assert_eq!(
        rows(&db, "SELECT count(*) FROM (SELECT customer_id, segment FROM segment_members_history WHERE as_of = DATE '2026-06-30' EXCEPT ALL SELECT customer_id, segment FROM segment_members)"),
        vec!["0"]
    );
    assert_eq!(
        rows(&db, "SELECT count(*) = (SELECT count(*) FROM segment_members) FROM segment_members_history WHERE as_of = DATE '2026-06-30'"),
        vec!["true"]
    );
    assert_eq!(rows(&db, "SELECT count(*) FROM (SELECT as_of, customer_id, segment FROM segment_members_history GROUP BY ALL HAVING count(*) > 1)"), vec!["0"]);
    assert_eq!(rows(&db, "SELECT DISTINCT as_of::VARCHAR FROM tier_history ORDER BY 1"), vec!["2025-12-31", "2026-06-30"]);
    // Hand-computed moves: customer 4 had 2000.00 in 2 orders in the 12 months to 2025-12-31
    // (silver) and 5000.00 to 2026-06-30 (vip); customer 6 went from 300.00 (bronze) to
    // 7 orders and 2100.00 (gold).
    assert_eq!(
        rows(&db, "SELECT customer_id, as_of::VARCHAR, tier FROM tier_history WHERE customer_id IN (4, 6) AND ladder = 'club' ORDER BY ALL"),
        vec!["4|2025-12-31|silver", "4|2026-06-30|vip", "6|2025-12-31|bronze", "6|2026-06-30|gold"]
    );
    // segment_members on 2026-06-30 is the sum of the hand-computed sets in fixture.rs.
    assert_eq!(rows(&db, "SELECT count(*) FROM segment_members_history WHERE as_of = DATE '2026-06-30'"), vec!["39"]);
    assert_eq!(
        rows(&db, "SELECT as_of::VARCHAR, status, forced, json_array_length(inputs::JSON), row_counts FROM runs ORDER BY started_at"),
        vec![
            "2026-06-30|ok|false|3|[[\"customer_features\",12],[\"segment_members\",39],[\"tier_assignments\",12]]",
            "2025-12-31|ok|false|3|[[\"customer_features\",10],[\"segment_members\",24],[\"tier_assignments\",10]]",
            "2026-06-30|ok|false|3|[[\"customer_features\",12],[\"segment_members\",39],[\"tier_assignments\",12]]",
        ]
    );
    assert_eq!(rows(&db, "SELECT DISTINCT length(json_extract_string(inputs, '$[0].blake3')) FROM runs"), vec!["64"]);
    // Each run records its peak resident memory (Linux).
    if cfg!(target_os = "linux") {
        assert_eq!(rows(&db, "SELECT count(*) FROM runs WHERE peak_memory_mib BETWEEN 10 AND 4096"), vec!["3"]);
    }
}

/// The membership history is kept as segment ids behind the view `segment_members_history`;
/// a database written before that (the history a table of names) is moved over by the next run,
/// its dates and rows kept, and a name keeps its id in later runs.
#[test]
fn history_of_an_older_database_is_moved_to_segment_ids() {
    let dir = fixture("tiny");
    segmenter(dir.path()).args(["--quiet", "run", "--as-of", "2025-12-31"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    let digest = "SELECT as_of::VARCHAR || '=' || count(*) || ':' || sum(hash(customer_id, segment)) FROM segment_members_history GROUP BY as_of ORDER BY as_of";
    let before = rows(&db, digest);
    assert_eq!(before.len(), 1);
    // The layout of earlier releases: a table (as_of, customer_id, segment VARCHAR).
    rows(
        &db,
        "CREATE TABLE old_history AS SELECT * FROM segment_members_history;
         DROP VIEW segment_members_history; DROP TABLE segment_members_history_ids; DROP TABLE segment_ids;
         ALTER TABLE old_history RENAME TO segment_members_history",
    );
    assert_eq!(rows(&db, "SELECT data_type FROM duckdb_columns() WHERE table_name = 'segment_members_history' AND column_name = 'segment'"), vec!["VARCHAR"]);
    segmenter(dir.path()).args(["--quiet", "run", "--as-of", "2026-06-30"]).assert().success();
    let after = rows(&db, digest);
    assert_eq!(after[0], before[0], "the older date's rows are kept as they were");
    assert!(after[1].starts_with("2026-06-30=39:"), "{after:?}");
    assert_eq!(rows(&db, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'segment_members_history'"), vec!["1"]);
    assert_eq!(
        rows(&db, "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = 'segment_members_history_ids'"),
        vec!["as_of DATE, customer_id BIGINT, segment_id INTEGER"]
    );
    // Ids are given in alphabetical order of the names first seen; a rerun gives none anew.
    let ids = "SELECT string_agg(segment_id || '=' || segment, ',' ORDER BY segment_id) FROM segment_ids";
    let first = rows(&db, ids);
    assert!(first[0].starts_with("1="), "{first:?}");
    segmenter(dir.path()).args(["--quiet", "run", "--as-of", "2026-06-30"]).assert().success();
    assert_eq!(rows(&db, ids), first);
    assert_eq!(rows(&db, digest), after);
}

/// `output.history_days` bounds the history (and with it the database each run copies): a run
/// deletes the dates more than that many days before its own as_of.
#[test]
fn history_days_keeps_only_the_dates_within_that_many_days_of_the_run() {
    let dir = fixture("tiny");
    let config = dir.path().join("segmenter.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    let set_days = |n: &str| std::fs::write(&config, text.replace("  database: out/tiny.duckdb", &format!("  database: out/tiny.duckdb\n  history_days: {n}"))).expect("write");
    set_days("120");
    let db = dir.path().join("out/tiny.duckdb");
    let dates = |table: &str| rows(&db, &format!("SELECT string_agg(DISTINCT as_of::VARCHAR, ',' ORDER BY as_of::VARCHAR) FROM {table}"));
    for as_of in ["2025-12-31", "2026-03-31"] {
        segmenter(dir.path()).args(["--quiet", "run", "--as-of", as_of]).assert().success();
    }
    assert_eq!(dates("segment_members_history"), vec!["2025-12-31,2026-03-31"], "90 days apart: both kept");
    // 2026-06-30 - 120 days = 2026-03-02: 2025-12-31 goes, from both history tables.
    segmenter(dir.path()).args(["--quiet", "run", "--as-of", "2026-06-30"]).assert().success();
    assert_eq!(dates("segment_members_history"), vec!["2026-03-31,2026-06-30"]);
    assert_eq!(dates("tier_history"), vec!["2026-03-31,2026-06-30"]);
    // A backfill only expires dates older than its own window: the later dates stay.
    segmenter(dir.path()).args(["--quiet", "run", "--as-of", "2025-12-31"]).assert().success();
    assert_eq!(dates("segment_members_history"), vec!["2025-12-31,2026-03-31,2026-06-30"]);
    // Zero is refused where it is written.
    set_days("0");
    let out = segmenter(dir.path()).args(["validate"]).output().expect("validate");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines().next(),
        Some("segmenter.yaml:17:17: error[E003]: invalid value: integer `0`, expected a whole number of days, at least 1 in output.history_days; hint: see docs/language.md for the expected shape")
    );
}

#[test]
fn a_second_run_fails_at_once_naming_the_lock_holder() {
    let (dir, db, before) = published_tiny();
    // This test process plays the run in progress: it holds the OS lock on the lock file.
    let lock_path = dir.path().join("out/tiny.duckdb.lock");
    std::fs::write(&lock_path, format!("pid={}\nstarted=2026-11-24T01:00:00Z\n", std::process::id())).expect("lock");
    let lock = std::fs::File::open(&lock_path).expect("open lock");
    lock.try_lock().expect("take the lock");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(3));
    assert_eq!(
        stderr,
        format!("error: another segmenter run is writing out/tiny.duckdb (pid {}, started 2026-11-24T01:00:00Z); wait for it to finish", std::process::id())
    );
    assert!(lock_path.exists(), "the holder's lock is left alone");
    assert!(!dir.path().join("out/tiny.duckdb.next").exists(), "the refused run copied nothing");
    assert_eq!(published_state(&db), before);
    // The holder's lock file is still being written: the holder is named as unknown.
    std::fs::write(&lock_path, "").expect("truncate");
    assert_eq!(run_output(dir.path()).1, "error: another segmenter run is writing out/tiny.duckdb (pid unknown); wait for it to finish");
    // Once the holder ends (its OS lock goes with it), the next run goes ahead.
    drop(lock);
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success().stderr("");
}

#[test]
fn a_stale_lock_from_a_dead_process_is_taken_over() {
    let dir = fixture("tiny");
    let mut child = Proc::new("true").spawn().expect("spawn");
    let dead = child.id();
    child.wait().expect("wait");
    std::fs::create_dir_all(dir.path().join("out")).expect("mkdir");
    std::fs::write(dir.path().join("out/tiny.duckdb.lock"), format!("pid={dead}\nstarted=2026-11-24T01:00:00Z\n")).expect("lock");
    let out = segmenter(dir.path()).args(["--quiet", "run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("warning: took over a stale lock on out/tiny.duckdb (pid {dead}, started 2026-11-24T01:00:00Z); that run did not finish")
    );
    assert!(!dir.path().join("out/tiny.duckdb.lock").exists(), "the lock is released after the run");
}

#[test]
fn gates_block_empty_sources_and_big_row_drops_unless_forced() {
    let (dir, db, before) = published_tiny();
    let orders = dir.path().join("data/orders.csv");
    let full = std::fs::read_to_string(&orders).expect("orders");
    let lines: Vec<&str> = full.lines().collect();
    // Header plus 2 of the data rows: a drop of more than 50%.
    std::fs::write(&orders, format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2])).expect("write");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(1));
    let n = lines.len() - 1;
    let pct = (100.0 * (n - 2) as f64 / n as f64).round();
    assert_eq!(
        stderr,
        format!("error: data-quality gates blocked the publish (nothing changed; rerun with --force to publish anyway):\n  source 'orders' has 2 rows, {pct}% fewer than the {n} of the last successful run (limit 50%)")
    );
    assert_eq!(published_state(&db), before);
    // An empty source (header only, its types declared) is blocked too.
    type_all_order_columns(dir.path());
    std::fs::write(&orders, format!("{}\n", lines[0])).expect("write");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(1));
    assert!(stderr.contains("\n  source 'orders' is empty"), "{stderr}");
    assert_eq!(published_state(&db), before);
    // --force publishes and the manifest says so.
    std::fs::write(&orders, format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2])).expect("write");
    segmenter(dir.path()).args(["--quiet", "run", "--force"]).assert().success();
    assert_eq!(rows(&db, "SELECT status, forced FROM runs ORDER BY started_at"), vec!["ok|false", "blocked|false", "blocked|false", "ok|true"]);
    assert_ne!(published_state(&db), before);
}

/// The published result and the incremental state together: what a killed run must leave whole.
fn published_and_scans(db: &Path) -> String {
    let scans = rows(
        db,
        "SELECT (SELECT string_agg(scan || '@' || as_of, ',' ORDER BY scan) FROM __segmenter_state) || '/' ||
                (SELECT count(*) || ':' || sum(hash(customer_id, s0, s1, s2)) FROM __segmenter_state__agg_orders) || '/' ||
                (SELECT count(*) FROM __segmenter_state_files)",
    );
    format!("{}/{}", published_state(db), scans.join(""))
}

/// SIGKILL at 24 moments spread over a run: afterwards the database always holds exactly the
/// state before that run or the state after it, never a mix, and the next run takes over the lock.
/// The runs of 2026-06-30 are incremental (from the state the run before left), those of
/// 2026-03-31 backfills: the state of the incremental runs is checked whole too.
#[test]
fn sigkill_at_random_moments_never_publishes_half_a_result() {
    let dir = sample_project();
    let db = dir.path().join("out/segments.duckdb");
    let published_state = |db: &Path| published_and_scans(db);
    let run = |as_of: &str| {
        let out = Proc::new(bin()).args(["--quiet", "--project"]).arg(dir.path()).args(["run", "--as-of", as_of]).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    };
    // The complete states for both dates (the second includes the first's history).
    run("2026-03-31");
    let state_a = published_state(&db);
    run("2026-06-30");
    let state_b = published_state(&db);
    run("2026-03-31");
    let state_a2 = published_state(&db);
    assert_ne!(state_a, state_b);
    let elapsed = {
        let t = std::time::Instant::now();
        run("2026-06-30");
        t.elapsed()
    };
    let mut current = published_state(&db);
    assert_eq!(current, state_b);
    let last = rows(&db, "SELECT warnings FROM runs ORDER BY started_at DESC LIMIT 1").join("");
    assert!(last.contains("incremental: 8 scan(s) brought up to date from the state of 2026-06-30"), "{last}");
    // scripts/kill-stress.sh raises both through the environment.
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let mut seed: u64 = env("SEGMENTER_KILL_SEED", 0x5eed);
    let kills = env("SEGMENTER_KILLS", 24);
    let mut outcomes = (0, 0);
    for i in 0..kills {
        let (target, target_state) = if i % 2 == 0 { ("2026-03-31", &state_a2) } else { ("2026-06-30", &state_b) };
        // A pseudo-random moment in [0, 1.2 × a run's duration).
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_micros((seed >> 33) % (elapsed.as_micros() as u64 * 6 / 5 + 1));
        let mut child = Proc::new(bin())
            .args(["--quiet", "--project"])
            .arg(dir.path())
            .args(["run", "--as-of", target])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let bytes_before = std::fs::read(&db).expect("read db");
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL on Unix
        let status = child.wait().expect("wait");
        let bytes_after = std::fs::read(&db).expect("read db");
        let after = published_state(&db);
        assert!(after == current || after == *target_state, "kill #{i} after {delay:?} left a mixed state:\n{after}\nnot\n{current}\nor\n{target_state}");
        if after == current && *target_state != current {
            assert!(bytes_after == bytes_before, "kill #{i} after {delay:?} published nothing but changed the database file");
        }
        if status.success() { outcomes.1 += 1 } else { outcomes.0 += 1 }
        current = after;
    }
    assert!(outcomes.0 >= kills / 5, "too few runs were actually killed mid-way: {outcomes:?}");
    // The last killed run left its lock behind; a new run takes it over and succeeds.
    run("2026-06-30");
    assert_eq!(published_state(&db), state_b);
    assert!(!dir.path().join("out/segments.duckdb.next").exists(), "the killed runs' copies are gone");
}

#[test]
fn a_source_that_lost_a_column_blocks_the_publish() {
    let (dir, db, before) = published_tiny();
    // Drop the last column (coupon_code) of every line of orders.csv.
    let orders = dir.path().join("data/orders.csv");
    let text = std::fs::read_to_string(&orders).expect("orders");
    let cut: String = text.lines().map(|l| format!("{}\n", l.rsplit_once(',').map_or(l, |(a, _)| a))).collect();
    std::fs::write(&orders, cut).expect("write");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        "error: data-quality gates blocked the publish (nothing changed; rerun with --force to publish anyway):\n  source 'orders' lost column(s) coupon_code since the last successful run"
    );
    assert_eq!(published_state(&db), before);
}

#[test]
fn timings_list_every_phase_and_plan_step_on_stderr() {
    let dir = fixture("tiny");
    let out = segmenter(dir.path()).args(["--quiet", "run", "--timings"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "--quiet keeps stdout empty");
    let err = String::from_utf8_lossy(&out.stderr);
    // "    0.012s   3.4%       41  step features" -> "step features"
    let labels: Vec<String> = err.lines().skip(1).map(|l| l.split_whitespace().skip(3).collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(err.lines().next(), Some("timings:       share  peak MiB"));
    // Each phase shows the resident high-water mark when it ended, which never falls.
    if cfg!(target_os = "linux") {
        let peaks: Vec<u64> = err.lines().skip(1).filter(|l| !l.contains("total") && !l.contains("peak resident")).map(|l| l.split_whitespace().nth(2).and_then(|m| m.parse().ok()).unwrap_or(0)).collect();
        assert!(peaks.len() > 10 && peaks[0] > 0 && peaks.windows(2).all(|w| w[0] <= w[1]), "{err}");
    }
    for want in ["column gate (read source schemas, compare with the last run)", "load and validate definitions", "bind check", "step features: agg_orders", "step features: agg_sessions", "step features", "step segments", "step tiers", "step history", "wait for input hashing", "commit", "publish (checkpoint, rename over the database)"] {
        assert!(labels.iter().any(|l| l == want), "no '{want}' in:\n{err}");
    }
    let last_two: Vec<&str> = err.trim_end().lines().rev().take(2).collect();
    assert!(last_two[1].ends_with("s total"), "{err}");
    // On Linux the process's resident high-water mark closes the list.
    if cfg!(target_os = "linux") {
        let mib: u64 = last_two[0]
            .trim()
            .strip_prefix("peak resident memory: ")
            .and_then(|rest| rest.strip_suffix(" MiB (compare with settings.memory_limit)"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no peak line in:\n{err}"));
        assert!((10..4096).contains(&mib), "{mib} MiB");
    }
    // Without the flag nothing is printed.
    let quiet = segmenter(dir.path()).args(["--quiet", "run"]).output().expect("run");
    assert!(quiet.stderr.is_empty(), "{}", String::from_utf8_lossy(&quiet.stderr));
}

/// `run` computes every table under a staging name, then publishes them by renaming in one
/// transaction: a step failing at run time changes nothing and leaves no staging table, and
/// staging tables left by a killed run are dropped by the next run.
#[test]
fn a_step_failing_at_run_time_publishes_nothing_and_leaves_no_staging_tables() {
    let (dir, db, before) = published_tiny();
    let staging = "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '__segmenter_stage__')";
    assert_eq!(rows(&db, staging), vec!["0"]);
    // The scratch tables of the features step are not published; the source scans' tables
    // stay as the state of the next (incremental) run, with what it needs to know of them.
    assert_eq!(
        rows(&db, "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM duckdb_tables()"),
        vec!["__segmenter_state,__segmenter_state__agg_orders,__segmenter_state__agg_sessions,__segmenter_state_files,customer_features,feature_catalog,rf_scores,runs,segment_catalog,segment_ids,segment_members,segment_members_history_ids,tier_assignments,tier_catalog,tier_history"]
    );
    assert_eq!(rows(&db, "SELECT string_agg(view_name, ',') FROM duckdb_views() WHERE NOT internal"), vec!["segment_members_history"]);
    // What a run killed after its features step leaves behind.
    rows(&db, "CREATE TABLE __segmenter_stage__customer_features AS SELECT 1 AS leftover");
    // Binds (so validation passes), fails in DuckDB while the segments step runs.
    std::fs::write(
        dir.path().join("segments/boom.yaml"),
        "segments:\n  - name: boom\n    description: fails at run time\n    where: order_count >= 0 AND error('boom at run time') IS NULL\n",
    )
    .expect("write");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(3));
    assert_eq!(
        stderr,
        "error: step 'segment_members' failed in DuckDB: Invalid Input Error: boom at run time\n  \
         hint: segment 'boom' (segments/boom.yaml:2) fails on the data: `order_count >= 0 AND error('boom at run time') IS NULL`; fix the data, or guard the expression"
    );
    assert_eq!(published_state(&db), before);
    assert_eq!(rows(&db, staging), vec!["0"]);
    assert_eq!(rows(&db, "SELECT status FROM runs ORDER BY started_at DESC LIMIT 1"), vec!["failed"]);
    // Without the failing rule the next run publishes, and keeps nothing staged either.
    std::fs::remove_file(dir.path().join("segments/boom.yaml")).expect("rm");
    rows(&db, "CREATE TABLE __segmenter_stage__segment_members AS SELECT 1 AS leftover");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    assert_eq!(published_state(&db), before);
    assert_eq!(rows(&db, staging), vec!["0"]);
}

/// A malformed value in a typed column of a source stops the run before any step, naming the
/// source, file, column and value; nothing is published and no scratch or staging table is left.
#[test]
fn a_bad_value_in_a_source_names_the_source_and_column_and_publishes_nothing() {
    let (dir, db, before) = published_tiny();
    let orders = dir.path().join("data/orders.csv");
    let mut csv = std::fs::read_to_string(&orders).expect("read");
    csv.push_str("999,1,2026-06-01 10:00:00,notanumber,\n");
    std::fs::write(&orders, csv).expect("write");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(3));
    assert_eq!(
        stderr,
        "error: source 'orders' (data/orders.csv): column 'amount' has 1 value(s) that are not DECIMAL(12,2), e.g. 'notanumber'; \
         describe the file's format under `csv:` (dateformat, timestampformat, decimal_separator, delim) or correct the values"
    );
    assert_eq!(published_state(&db), before);
    assert_eq!(rows(&db, "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '__segmenter_stage') OR starts_with(table_name, 'agg_')"), vec!["0"]);
}

/// A file at the database path that is not a DuckDB database is refused, named as configured,
/// and left as it was.
#[test]
fn a_file_that_is_not_a_database_is_refused_and_kept() {
    let dir = fixture("tiny");
    std::fs::create_dir_all(dir.path().join("out")).expect("mkdir");
    std::fs::write(dir.path().join("out/tiny.duckdb"), "quarterly numbers, not a database\n").expect("write");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(3));
    assert_eq!(stderr, "error: output database out/tiny.duckdb: IO Error: The file \"out/tiny.duckdb\" exists, but it is not a valid DuckDB database file!");
    assert_eq!(std::fs::read_to_string(dir.path().join("out/tiny.duckdb")).expect("read"), "quarterly numbers, not a database\n");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("out")).expect("ls").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("tiny.duckdb")], "no copy or lock left behind");
}

/// A tool reading the database while a run writes (a BI dashboard, a notebook) neither blocks
/// the run nor sees it half done: it keeps reading the previous results until it reopens.
#[test]
fn a_reader_keeps_the_previous_results_and_does_not_block_the_run() {
    let dir = sample_project();
    let db = dir.path().join("out/segments.duckdb");
    let run = |as_of: &str| segmenter(dir.path()).args(["--quiet", "run", "--as-of", as_of]).assert().success().stderr("");
    run("2026-03-31");
    let march = published_state(&db);
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).expect("config");
    let reader = duckdb::Connection::open_with_flags(&db, config).expect("open read-only");
    let as_of = |c: &duckdb::Connection| c.query_row("SELECT max(as_of)::VARCHAR FROM segment_catalog", [], |r| r.get::<_, String>(0)).expect("query");
    assert_eq!(as_of(&reader), "2026-03-31");
    run("2026-06-30");
    assert_eq!(as_of(&reader), "2026-03-31", "the open reader still sees the previous run");
    drop(reader);
    let june = published_state(&db);
    assert_ne!(june, march);
    assert!(june.contains("2026-03-31=") && june.contains("2026-06-30="), "both dates are in the history: {june}");
}

/// A program writing the database when a run starts makes the run fail naming it (its writes
/// would be lost with the file the run replaces); the database is left to it.
#[test]
fn a_program_writing_the_database_stops_the_run_naming_it() {
    let (dir, db, before) = published_tiny();
    let writer = duckdb::Connection::open(&db).expect("open read-write");
    let (code, stderr) = run_output(dir.path());
    assert_eq!(code, Some(3));
    let want = "error: output database out/tiny.duckdb: IO Error: Could not set lock on file \"out/tiny.duckdb\": Conflicting lock is held in ";
    assert!(stderr.starts_with(want), "{stderr}");
    assert!(stderr.contains(&format!(" (PID {})", std::process::id())), "names the writer's pid: {stderr}");
    writer.execute_batch("CREATE TABLE analyst_notes AS SELECT 'kept' AS note").expect("the writer goes on");
    drop(writer);
    assert_eq!(published_state(&db), before);
    assert_eq!(rows(&db, "SELECT note FROM analyst_notes"), vec!["kept"]);
    // Tables of other programs are carried over by the next run.
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    assert_eq!(rows(&db, "SELECT note FROM analyst_notes"), vec!["kept"]);
    assert!(!dir.path().join("out/tiny.duckdb.next").exists());
}

/// SIGTERM and SIGINT at 12 moments spread over a run: the run either finished (exit 0) or
/// stopped like a failed run (exit 143 / 130) leaving the previous state, no working copy, no
/// lock file and no staged exports behind.
#[cfg(unix)]
#[test]
fn sigterm_and_sigint_stop_a_run_cleanly() {
    let dir = sample_project();
    let db = dir.path().join("out/segments.duckdb");
    let run = || Proc::new(bin()).args(["--quiet", "--project"]).arg(dir.path()).arg("run").output().expect("run");
    assert_eq!(run().status.code(), Some(0));
    let before = published_state(&db);
    let elapsed = {
        let t = std::time::Instant::now();
        assert_eq!(run().status.code(), Some(0));
        t.elapsed()
    };
    let mut stopped = 0;
    for i in 0..12u64 {
        let (signal, code) = if i % 2 == 0 { (libc::SIGTERM, 143) } else { (libc::SIGINT, 130) };
        let delay = Duration::from_micros(elapsed.as_micros() as u64 * (i + 1) / 13);
        let child = Proc::new(bin())
            .args(["--project"])
            .arg(dir.path())
            .arg("run")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        // SAFETY: sends a signal to our own child process, which has not been waited for yet.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {}
            Some(c) if c == code => {
                stopped += 1;
                // Stopped before validation ended there is nothing to report; later the run says so.
                assert!(stderr.is_empty() || stderr.contains("nothing was published"), "signal #{i}: {stderr}");
            }
            other => panic!("signal #{i} after {delay:?}: exit {other:?}: {stderr}"),
        }
        assert_eq!(published_state(&db), before, "signal #{i}");
        for leftover in ["segments.duckdb.next", "segments.duckdb.lock", "segments.duckdb.next.wal"] {
            assert!(!dir.path().join("out").join(leftover).exists(), "signal #{i} left {leftover}");
        }
        let staged: Vec<_> = std::fs::read_dir(dir.path().join("out/exports")).expect("exports").flatten().filter(|e| e.file_name().to_string_lossy().starts_with('.')).collect();
        assert!(staged.is_empty(), "signal #{i} left {staged:?}");
    }
    assert!(stopped >= 3, "too few runs were actually stopped: {stopped}");
}

/// Everything a run publishes about segments and tiers, per segment and per ladder.
fn per_definition(db: &Path) -> Vec<String> {
    rows(
        db,
        "SELECT 'segment ' || segment || ': ' || count(*) || ':' || sum(hash(customer_id)) FROM segment_members GROUP BY segment
         UNION ALL SELECT 'ladder ' || ladder || ': ' || count(*) || ':' || sum(hash(customer_id, tier, rank, next_tier)) FROM tier_assignments GROUP BY ladder
         UNION ALL SELECT 'catalog ' || name || ': ' || size || ':' || share || ':' || as_of FROM segment_catalog
         UNION ALL SELECT 'tier catalog ' || ladder || '/' || tier || ': ' || size FROM tier_catalog
         UNION ALL SELECT 'history ' || as_of || ' ' || segment || ': ' || count(*) FROM segment_members_history GROUP BY as_of, segment
         ORDER BY 1",
    )
}

/// A `--select`ed run replaces only the selected definitions' rows: here `tag:value` with a
/// lower band limit, so clv_medium and clv_high change and nothing else does, exports included.
#[test]
fn a_selected_run_keeps_every_other_published_row() {
    let dir = sample_project();
    let db = dir.path().join("out/segments.duckdb");
    let run = |args: &[&str]| {
        let out = Proc::new(bin()).args(["--project"]).arg(dir.path()).arg("run").args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    run(&[]);
    let before = per_definition(&db);
    let exports = dir.path().join("out/exports/2026-06-30/email_campaigns");
    let campaign_files: Vec<_> = std::fs::read_dir(&exports).expect("exports").flatten().map(|e| (e.path(), std::fs::read(e.path()).expect("read"))).collect();
    assert_eq!(campaign_files.len(), 3);
    let stdout = run(&["--select", "tag:value", "--var", "clv_medium_max=3000"]);
    assert!(stdout.contains("selected run: only the selected definitions' rows were replaced; every other published row is kept"), "{stdout}");
    let after = per_definition(&db);
    let changed: Vec<String> = after.iter().filter(|r| !before.contains(r)).map(|r| r.split(':').next().unwrap_or_default().to_string()).collect();
    assert_eq!(
        changed,
        vec![
            "catalog clv_high", "catalog clv_medium", "history 2026-06-30 clv_high", "history 2026-06-30 clv_medium",
            "segment clv_high", "segment clv_medium"
        ]
    );
    assert_eq!(before.len(), after.len(), "no segment, ladder or history row disappeared");
    for (path, bytes) in campaign_files {
        assert_eq!(std::fs::read(&path).expect("read"), bytes, "{} changed", path.display());
    }
    // The long export holds every membership, the new bands included.
    let all = dir.path().join("out/exports/2026-06-30/all_members.parquet");
    assert_eq!(
        rows(&db, &format!("SELECT count(*) = (SELECT count(*) FROM segment_members) FROM read_parquet('{}')", all.display())),
        vec!["true"]
    );
    // A selection for another date would mix dates in one table: refused.
    let out = Proc::new(bin()).args(["--project"]).arg(dir.path()).args(["run", "--select", "clv_high", "--as-of", "2026-07-31"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: a selected run refreshes the published result of 2026-06-30, and this one is for 2026-07-31; run it with --as-of 2026-06-30, or run every definition for 2026-07-31"
    );
}

/// A run for an earlier date than the published one writes that date's history only.
#[test]
fn a_backfill_fills_history_and_leaves_the_published_tables_alone() {
    let dir = sample_project();
    let db = dir.path().join("out/segments.duckdb");
    let project = || {
        let mut cmd = Proc::new(bin());
        cmd.args(["--project"]).arg(dir.path());
        cmd
    };
    assert!(project().arg("run").status().expect("run").success());
    let tables = |db: &Path| per_definition(db).into_iter().filter(|r| !r.starts_with("history")).collect::<Vec<_>>();
    let before = tables(&db);
    let features = rows(&db, "SELECT count(*) || ':' || sum(hash(customer_id, total_spent, recency_days)) FROM customer_features");
    let out = project().args(["run", "--as-of", "2026-03-31"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("sample_shop as of 2026-03-31: "), "{stdout}");
    assert!(stdout.contains("backfill: only the history of this date was written; the published tables still describe 2026-06-30"), "{stdout}");
    assert_eq!(tables(&db), before, "the published tables still describe 2026-06-30");
    assert_eq!(rows(&db, "SELECT count(*) || ':' || sum(hash(customer_id, total_spent, recency_days)) FROM customer_features"), features);
    assert_eq!(rows(&db, "SELECT string_agg(DISTINCT as_of::VARCHAR, ',' ORDER BY as_of::VARCHAR) FROM segment_members_history"), vec!["2026-03-31,2026-06-30"]);
    assert_eq!(rows(&db, "SELECT string_agg(DISTINCT as_of::VARCHAR, ',' ORDER BY as_of::VARCHAR) FROM tier_history"), vec!["2026-03-31,2026-06-30"]);
    assert!(!dir.path().join("out/exports/2026-03-31").exists(), "a backfill exports nothing");
    // The manifest records what the backfill computed: fewer customers on the earlier date.
    let counts = rows(&db, "SELECT json_extract(row_counts, '$[0][1]')::INT < (SELECT count(*) FROM customer_features) FROM runs WHERE as_of = DATE '2026-03-31'");
    assert_eq!(counts, vec!["true"]);
    let out = project().args(["explain", "loyal", "--customer", "42", "--as-of", "2026-03-31"]).output().expect("explain");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: explain shows the published result, which is for 2026-06-30; of 2026-03-31 only the memberships are kept (segment_members_history), not the features a rule reads: leave out --as-of"
    );
}
