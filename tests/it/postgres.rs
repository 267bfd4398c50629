//! PostgreSQL sources and the publish to PostgreSQL, against a real local server
//! (`scripts/postgres.sh`: the machine's PostgreSQL binaries in a temp dir on 127.0.0.1) and
//! DuckDB's postgres extension from `scripts/duckdb-extensions.sh`. One test around one server.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct LocalPostgres {
    dsn: String,
    reader_dsn: String,
    extensions: PathBuf,
    started: bool,
}

fn script(name: &str) -> PathBuf {
    repo_root().join("scripts").join(name)
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a script");
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl LocalPostgres {
    fn start() -> LocalPostgres {
        let running = Command::new(script("postgres.sh")).arg("status").output().expect("postgres.sh status").status.success();
        stdout_of(Command::new(script("postgres.sh")).arg("start"));
        let extensions = PathBuf::from(stdout_of(&mut Command::new(script("duckdb-extensions.sh"))).lines().last().unwrap_or_default());
        LocalPostgres {
            dsn: stdout_of(Command::new(script("postgres.sh")).arg("dsn")),
            reader_dsn: stdout_of(Command::new(script("postgres.sh")).args(["dsn", "reader"])),
            extensions,
            started: !running,
        }
    }

    /// psql as the superuser: unaligned rows, `|` between cells.
    fn psql(&self, sql: &str) -> String {
        stdout_of(Command::new(script("postgres.sh")).args(["psql", "-XAtq", "-c", sql]))
    }

    /// `segmenter` on `project` with the DSN and the extension folder in its environment.
    fn segmenter(&self, project: &Path, dsn: &str) -> assert_cmd::Command {
        let mut cmd = segmenter(project);
        cmd.env("SEGMENTER_PG_DSN", dsn).env("SEGMENTER_EXTENSION_DIR", &self.extensions);
        cmd
    }

    /// The same as a process to kill.
    fn spawn(&self, project: &Path, args: &[&str]) -> std::process::Child {
        Command::new(assert_cmd::cargo::cargo_bin("segmenter"))
            .arg("--project")
            .arg(project)
            .args(args)
            .env("SEGMENTER_PG_DSN", &self.dsn)
            .env("SEGMENTER_EXTENSION_DIR", &self.extensions)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn segmenter")
    }

    /// A DuckDB session with the server attached as `pg`.
    fn duckdb(&self) -> duckdb::Connection {
        let conn = duckdb::Connection::open_in_memory().expect("duckdb");
        let ext = self.extensions.to_string_lossy().replace('\'', "''");
        conn.execute_batch(&format!("SET extension_directory = '{ext}'; LOAD postgres; ATTACH '{}' AS pg (TYPE postgres)", self.dsn.replace('\'', "''")))
            .expect("attach the test server");
        conn
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        if self.started {
            let _ = Command::new(script("postgres.sh")).arg("stop").output();
        }
    }
}

const PASSWORD: &str = "segmenter-secret-pw";

#[test]
fn postgres_sources_and_publish() {
    let pg = LocalPostgres::start();
    assert!(pg.dsn.contains(PASSWORD), "the test server's DSN carries the password the checks look for");
    load_sample(&pg);
    let (files, from_pg) = (sample_project(), sample_project());
    segmenter(files.path()).args(["--quiet", "run"]).assert().success();
    use_postgres(from_pg.path(), "it_crm");
    let out = pg.segmenter(from_pg.path(), &pg.dsn).arg("run").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    same_members(&files.path().join("out/segments.duckdb"), &from_pg.path().join("out/segments.duckdb"));
    // Fixture tests take the given rows' columns from the PostgreSQL tables.
    let out = pg.segmenter(from_pg.path(), &pg.dsn).arg("test").output().expect("test");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    published_tables_equal_duckdbs(&pg, &from_pg.path().join("out/segments.duckdb"), "it_crm");
    for text in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(text).contains(PASSWORD));
    }
    assert!(!file_contains(&from_pg.path().join("out/segments.duckdb"), PASSWORD), "the password is in the output database");
    bad_input_is_one_line_and_changes_nothing(&pg, from_pg.path());
    kills_and_readers_never_see_a_mix(&pg, from_pg.path());
    a_server_gone_mid_copy_changes_nothing(&pg, from_pg.path());
}

/// The sample's customers and orders as tables `it_shop.customers` and `it_shop.orders`.
fn load_sample(pg: &LocalPostgres) {
    let data = repo_root().join("sample-data");
    let conn = pg.duckdb();
    conn.execute_batch("CALL postgres_execute('pg', 'DROP SCHEMA IF EXISTS it_shop CASCADE; DROP SCHEMA IF EXISTS it_crm CASCADE; CREATE SCHEMA it_shop'); CALL pg_clear_cache();")
        .expect("schema");
    conn.execute_batch(&format!(
        "CREATE TABLE pg.it_shop.customers AS SELECT * FROM read_csv('{}');\nCREATE TABLE pg.it_shop.orders AS SELECT * FROM read_parquet('{}');",
        data.join("customers.csv").display(),
        data.join("orders.parquet").display()
    ))
    .expect("load the sample into PostgreSQL");
}

/// Read customers and orders from PostgreSQL and publish to `schema`; the birth date is personal
/// data too, so the feature `age` that reads it stays out of PostgreSQL.
fn use_postgres(project: &Path, schema: &str) {
    let file = project.join("segmenter.yaml");
    let text = std::fs::read_to_string(&file).expect("segmenter.yaml")
        .replace("\npii: [email, phone]\n", "\npii: [email, phone, birth_date]\n")
        .replace("{ path: sample-data/customers.csv,", "{ format: postgres, connection: warehouse, table: it_shop.customers,")
        .replace("{ path: sample-data/orders.parquet,", "{ format: postgres, connection: warehouse, table: it_shop.orders,")
        .replace("  database: out/segments.duckdb\n", &format!("  database: out/segments.duckdb\n  postgres: {{ connection: crm, schema: {schema} }}\n"));
    let text = format!("{text}\nconnections:\n  warehouse: {{ dsn_env: SEGMENTER_PG_DSN }}\n  crm: {{ dsn_env: SEGMENTER_PG_DSN }}\n");
    std::fs::write(file, text).expect("write segmenter.yaml");
}

fn same_members(a: &Path, b: &Path) {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    conn.execute_batch(&format!("ATTACH '{}' AS a (READ_ONLY); ATTACH '{}' AS b (READ_ONLY)", a.display(), b.display())).expect("attach");
    for (table, cols) in [("segment_members", "customer_id, segment::VARCHAR"), ("tier_assignments", "customer_id, ladder::VARCHAR, tier::VARCHAR, rank")] {
        let sql = format!("SELECT (SELECT count(*) FROM a.{table}), (SELECT count(*) FROM (SELECT {cols} FROM a.{table} EXCEPT ALL SELECT {cols} FROM b.{table})), \
                           (SELECT count(*) FROM (SELECT {cols} FROM b.{table} EXCEPT ALL SELECT {cols} FROM a.{table}))");
        let (n, only_a, only_b): (i64, i64, i64) = conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect(&sql);
        assert!(n > 1000, "{table}: {n} rows");
        assert_eq!((only_a, only_b), (0, 0), "{table}: rows from files only, from PostgreSQL only");
    }
}

/// Every published table in PostgreSQL holds what DuckDB's does (text as text, numbers as
/// numbers), `customer_features` without the `pii` columns.
fn published_tables_equal_duckdbs(pg: &LocalPostgres, db: &Path, schema: &str) {
    let conn = pg.duckdb();
    conn.execute_batch(&format!("ATTACH '{}' AS d (READ_ONLY)", db.display())).expect("attach");
    let tables = ["segment_members", "tier_assignments", "customer_features", "segment_catalog", "tier_catalog", "tier_history", "segment_members_history", "campaign_results"];
    for table in tables {
        let cols: Vec<String> = {
            let mut stmt = conn.prepare(&format!("SELECT column_name FROM duckdb_columns() WHERE database_name = 'pg' AND schema_name = '{schema}' AND table_name = '{table}' ORDER BY column_index")).expect("columns");
            stmt.query_map([], |r| r.get::<_, String>(0)).expect("columns").map(|c| c.expect("column")).collect()
        };
        assert!(!cols.is_empty(), "{schema}.{table} was not published");
        let list = cols.iter().map(|c| format!("\"{c}\"::VARCHAR")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT (SELECT count(*) FROM pg.{schema}.{table}), (SELECT count(*) FROM (SELECT {list} FROM d.{table} EXCEPT ALL SELECT {list} FROM pg.{schema}.{table})), \
                           (SELECT count(*) FROM (SELECT {list} FROM pg.{schema}.{table} EXCEPT ALL SELECT {list} FROM d.{table}))");
        let (n, only_duck, only_pg): (i64, i64, i64) = conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect(&sql);
        assert!(n > 0, "{table} is empty in PostgreSQL");
        assert_eq!((only_duck, only_pg), (0, 0), "{table}: rows only in DuckDB, only in PostgreSQL");
        if table == "customer_features" {
            assert!(!cols.iter().any(|c| c == "age"), "a feature reading personal data went out: {cols:?}");
            assert!(cols.iter().any(|c| c == "tenure_days"), "{cols:?}");
        }
    }
    let ddb_cols: i64 = conn.query_row("SELECT count(*) FROM duckdb_columns() WHERE database_name = 'd' AND table_name = 'customer_features'", [], |r| r.get(0)).expect("count");
    assert!(ddb_cols > 60, "customer_features has {ddb_cols} columns");
    let age: i64 = conn.query_row("SELECT count(*) FROM duckdb_columns() WHERE database_name = 'd' AND table_name = 'customer_features' AND column_name = 'age'", [], |r| r.get(0)).expect("count");
    assert_eq!(age, 1, "DuckDB keeps the feature age");
}

fn file_contains(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).expect("read");
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Published state as readers see it, in one statement: (as_of of the catalog, members agree
/// with the catalog's sizes, tiers agree with theirs, the catalog's date has history rows).
fn state(pg: &LocalPostgres, schema: &str) -> String {
    pg.psql(&state_sql(schema))
}

fn bad_input_is_one_line_and_changes_nothing(pg: &LocalPostgres, project: &Path) {
    let db = project.join("out/segments.duckdb");
    let before = (std::fs::read(&db).expect("db"), state(pg, "it_crm"));
    let run = |dsn: &str, edit: &dyn Fn(&str) -> String| {
        let file = project.join("segmenter.yaml");
        let original = std::fs::read_to_string(&file).expect("yaml");
        std::fs::write(&file, edit(&original)).expect("write");
        let out = pg.segmenter(project, dsn).args(["run", "--as-of", "2026-07-01"]).output().expect("run");
        std::fs::write(&file, original).expect("restore");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!stderr.contains(PASSWORD) && !String::from_utf8_lossy(&out.stdout).contains(PASSWORD), "{stderr}");
        (out.status.code(), stderr)
    };
    let same = |s: &str| s.to_string();
    let wrong = pg.dsn.replace(PASSWORD, "not-the-password");
    let (code, err) = run(&wrong, &same);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("error: connection 'crm' ($SEGMENTER_PG_DSN): cannot connect: connection to server at \"127.0.0.1\", port ")
        || err.starts_with("error: connection 'warehouse' ($SEGMENTER_PG_DSN): cannot connect: connection to server at \"127.0.0.1\", port "), "{err}");
    assert!(err.trim_end().ends_with("failed: FATAL:  password authentication failed for user \"segmenter\"") && err.lines().count() == 1, "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
    let (code, err) = run(&pg.dsn, &|t| t.replace("table: it_shop.orders,", "table: it_shop.orderz,"));
    assert_eq!(code, Some(2));
    assert!(err.contains("error[E025]: cannot read source 'orders': postgres table it_shop.orderz on connection 'warehouse': Catalog Error: Table with name orderz does not exist!"), "{err}");
    let (code, err) = run(&pg.dsn, &|t| t.replace("table: it_shop.orders, key: customer_id, time: ordered_at", "table: it_shop.orders, key: customer_id, time: ordered_when"));
    assert_eq!(code, Some(2));
    assert!(err.contains("source 'orders' has no column 'ordered_when'"), "{err}");
    // The reader role may connect but not read the shop's tables, nor create a schema.
    let (code, err) = run(&pg.reader_dsn, &same);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.starts_with("error: step 'count rows of source 'customers' (postgres table it_shop.customers on connection 'warehouse')' failed in DuckDB: ")
        && err.trim_end().ends_with("ERROR:  permission denied for schema it_shop") && err.lines().count() == 1, "{err}");
    let reader_out = |t: &str| t.replace("  crm: { dsn_env: SEGMENTER_PG_DSN }", "  crm: { dsn_env: READER_DSN }");
    let file = project.join("segmenter.yaml");
    let original = std::fs::read_to_string(&file).expect("yaml");
    std::fs::write(&file, reader_out(&original)).expect("write");
    let out = pg.segmenter(project, &pg.dsn).env("READER_DSN", &pg.reader_dsn).args(["run", "--as-of", "2026-07-01"]).output().expect("run");
    std::fs::write(&file, original).expect("restore");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.trim_end(), "error: step 'publish to PostgreSQL (connection 'crm', schema it_crm): staging schema' failed in DuckDB: ERROR:  permission denied for database segmenter");
    assert_eq!((std::fs::read(&db).expect("db"), state(pg, "it_crm")), before, "a failed run changed the DuckDB database or the PostgreSQL tables");
}

/// SIGKILL at 10 moments of the PostgreSQL copy (from when its staging schema appears), while
/// a reader queries the published tables: the tables stay readable and whole, old or new.
fn kills_and_readers_never_see_a_mix(pg: &LocalPostgres, project: &Path) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let script = script("postgres.sh");
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = Command::new(&script).args(["psql", "-XAtq", "-c", &state_sql("it_crm")]).output().expect("psql");
                seen.push(format!("{}{}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim()));
            }
            seen
        })
    };
    let mut mid_copy = 0;
    for i in 0..10u64 {
        let as_of = format!("2026-07-{:02}", i + 2);
        let mut child = pg.spawn(project, &["--quiet", "run", "--as-of", &as_of]);
        let started = Instant::now();
        while pg.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'it_crm__segmenter_staging'") != "1" && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(i * 40));
        let finished = child.try_wait().expect("wait").is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !finished && pg.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'it_crm__segmenter_staging'") == "1" {
            mid_copy += 1;
        }
        let s = state(pg, "it_crm");
        assert!(s.ends_with("|t|t|t"), "after a kill at {as_of}: {s}");
    }
    assert!(mid_copy >= 4, "only {mid_copy} of 10 kills landed during the copy");
    // The next run finishes and clears the staging schema.
    pg.segmenter(project, &pg.dsn).args(["--quiet", "run", "--as-of", "2026-07-20"]).assert().success();
    assert_eq!(pg.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'it_crm__segmenter_staging'"), "0");
    assert_eq!(state(pg, "it_crm"), "2026-07-20|t|t|t");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.join().expect("reader");
    assert!(seen.len() > 10, "the reader ran {} queries", seen.len());
    let mixed: Vec<&String> = seen.iter().filter(|s| !s.ends_with("|t|t|t")).collect();
    assert!(mixed.is_empty(), "a reader saw a mix or an error: {mixed:?}");
}

/// The server drops the run's connections while it copies (as when PostgreSQL restarts): the
/// run fails with one line, exit 3, and neither the DuckDB database nor the published tables
/// change. (A termination can land between two statements, which then reconnect; the run is
/// repeated until one fails, and a run that succeeds must have published whole.)
fn a_server_gone_mid_copy_changes_nothing(pg: &LocalPostgres, project: &Path) {
    let db = project.join("out/segments.duckdb");
    let mut failed = 0;
    for attempt in 0..5 {
        let before = (std::fs::read(&db).expect("db"), state(pg, "it_crm"));
        let as_of = format!("2026-08-{:02}", attempt + 1);
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("segmenter"))
            .arg("--project").arg(project).args(["run", "--as-of", &as_of])
            .env("SEGMENTER_PG_DSN", &pg.dsn).env("SEGMENTER_EXTENSION_DIR", &pg.extensions)
            .stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
        let started = Instant::now();
        while child.try_wait().expect("wait").is_none() && started.elapsed() < Duration::from_secs(120) {
            if pg.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'it_crm__segmenter_staging'") == "1" {
                pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'segmenter' AND pid <> pg_backend_pid()");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!err.contains(PASSWORD), "{err}");
        match out.status.code() {
            Some(3) => {
                failed += 1;
                assert!(err.starts_with("error: step 'publish to PostgreSQL (connection 'crm', schema it_crm): ") && err.lines().count() == 1, "{err}");
                assert_eq!((std::fs::read(&db).expect("db"), state(pg, "it_crm")), before, "a run that lost its server changed something: {err}");
                break;
            }
            Some(0) => assert_eq!(state(pg, "it_crm"), format!("{as_of}|t|t|t")),
            other => panic!("exit {other:?}: {err}"),
        }
    }
    assert_eq!(failed, 1, "no run lost its server mid-copy");
}

/// See [`state`].
fn state_sql(schema: &str) -> String {
    format!(
        "SELECT (SELECT string_agg(DISTINCT as_of::text, ',') FROM {schema}.segment_catalog), \
         (SELECT count(*) FROM {schema}.segment_members) = (SELECT sum(size) FROM {schema}.segment_catalog), \
         (SELECT count(*) FROM {schema}.tier_assignments) = (SELECT sum(size) FROM {schema}.tier_catalog), \
         (SELECT count(*) FROM {schema}.tier_history WHERE as_of = (SELECT max(as_of) FROM {schema}.segment_catalog)) = (SELECT count(*) FROM {schema}.tier_assignments)"
    )
}
