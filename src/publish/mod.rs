//! Stage 5, publish: what makes a nightly run safe to repeat and to interrupt.
//!
//! - [`RunLock`]: one writer per output database; a second run fails at once naming the holder,
//!   a lock left by a dead process is taken over.
//! - [`WorkingCopy`]: a run writes a copy of the database and renames it over the published
//!   file when it commits, so a failed or killed run never touches the published file.
//! - [`history_steps`]: `segment_members_history` (a view over segment ids) and `tier_history`, keyed by `as_of`; a rerun of
//!   the same date replaces that date's rows. They run in the transaction that publishes the plan's tables, so a
//!   killed run leaves both the published tables and the history exactly as they were.
//! - [`Manifest`]: one row per run in `runs` (inputs with size and content hash, definition hash,
//!   row counts, warnings, status), and the data-quality [`gates`] checked before publishing.

pub mod exports;
pub mod keys;
pub mod mode;
pub mod postgres;
pub mod state;
mod working_copy;

pub use working_copy::WorkingCopy;

use crate::compile::dialect::{Dialect, DuckDb, NoSpelling};
use crate::compile::Step;
use crate::error::{Error, Result};
use crate::validate::Resolved;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// An exclusive claim on an output database, released when dropped.
///
/// The claim is an OS lock (`flock`) on `<database>.lock`, so the kernel releases it when the
/// process ends, however it ends. The file also says who holds it (pid and start time): a
/// second run names the holder, and a run that finds the file unlocked but not empty knows the
/// previous run died (a finished run removes the file).
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    /// Holds the OS lock while open.
    _file: std::fs::File,
}

/// Who holds a lock, as written in the lock file.
#[derive(Debug, Clone, PartialEq)]
pub struct LockHolder {
    pub pid: u32,
    pub started: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}, started {}", self.pid, self.started)
    }
}

/// A database path with symlinks resolved (its folder's, when the file does not exist yet).
pub fn real_database_path(db: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(db) {
        return real;
    }
    match (db.parent().filter(|d| !d.as_os_str().is_empty()), db.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir).map_or_else(|_| db.to_path_buf(), |d| d.join(name)),
        _ => db.to_path_buf(),
    }
}

impl RunLock {
    /// The lock file of a database: `<database>.lock`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut p = db.as_os_str().to_owned();
        p.push(".lock");
        PathBuf::from(p)
    }

    /// Take the lock, or fail at once naming the run that holds it. The returned note says
    /// when a dead run's lock file was found (that run did not finish).
    pub fn acquire(db: &Path, display: &str) -> Result<(RunLock, Option<String>)> {
        let path = Self::path_for(db);
        let io = |what: &str| {
            let context = format!("{what} {}", path.display());
            move |source| Error::Io { context, source }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io { context: format!("creating {}", dir.display()), source: e })?;
        }
        // A holder removes the file before it unlocks it: a file locked after that is no longer
        // the one at `path`, so look again.
        for _ in 0..8 {
            let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io("opening"))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    return Err(Error::Locked { database: display.to_string(), holder: parse_holder(&text).map_or("pid unknown".to_string(), |h| h.to_string()) });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io("locking")(e)),
            }
            if !is_same_file(&file, &path) {
                continue;
            }
            let mut text = String::new();
            file.read_to_string(&mut text).map_err(io("reading"))?;
            let note = (!text.trim().is_empty()).then(|| {
                let who = parse_holder(&text).map_or("an unreadable lock file".to_string(), |h| h.to_string());
                format!("took over a stale lock on {display} ({who}); that run did not finish")
            });
            let body = format!("pid={}\nstarted={}\n", std::process::id(), utc_now());
            file.set_len(0).map_err(io("writing"))?;
            file.seek(std::io::SeekFrom::Start(0)).map_err(io("writing"))?;
            file.write_all(body.as_bytes()).map_err(io("writing"))?;
            return Ok((RunLock { path, _file: file }, note));
        }
        Err(Error::Io { context: format!("taking the lock {}", path.display()), source: std::io::Error::other("another process keeps re-creating it") })
    }
}

impl Drop for RunLock {
    /// Remove the file while still holding the lock; closing the file then releases it.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn is_same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_same_file(_file: &std::fs::File, path: &Path) -> bool {
    path.exists()
}

fn parse_holder(text: &str) -> Option<LockHolder> {
    let mut pid = None;
    let mut started = String::new();
    for line in text.lines() {
        match line.split_once('=') {
            Some(("pid", v)) => pid = v.trim().parse().ok(),
            Some(("started", v)) => started = v.trim().to_string(),
            _ => {}
        }
    }
    pid.map(|pid| LockHolder { pid, started })
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn utc_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, millis) = (now.as_secs(), now.subsec_millis());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The table behind the view `segment_members_history`: `(as_of, customer_id, segment_id)`.
pub const SEGMENT_HISTORY_TABLE: &str = "segment_members_history_ids";
/// The names behind [`SEGMENT_HISTORY_TABLE`]'s ids: `(segment_id, segment)`, one row per
/// segment name ever recorded; a name keeps its id for good.
pub const SEGMENT_IDS_TABLE: &str = "segment_ids";

/// Statements that record this run's memberships and tiers under its `as_of`, replacing
/// rows of the same date (only for the definitions this run computed).
///
/// Memberships are kept as integer ids of the segment names ([`SEGMENT_HISTORY_TABLE`] and
/// [`SEGMENT_IDS_TABLE`]), read through the view `segment_members_history (as_of, customer_id,
/// segment)`: the set of segments changes over time, so `segment_members`' ENUM cannot be
/// kept, and writing the names as VARCHAR took 2.5 times as long (bench/RESULTS.md).
/// `tier_history` keeps its names as VARCHAR (one row per customer and ladder).
///
/// With `keep_days`, dates more than that many days before this run's `as_of` are deleted
/// from both history tables (`output.history_days`).
///
/// `read` names the tables the rows come from: the published ones, or for a backfill (which
/// publishes no table) the staged ones; it spells the statements too (DuckDB's: Spark runs
/// keep their history with `spark::generation`).
pub fn history_steps(model: &Resolved, keep_days: Option<std::num::NonZeroU32>, read: &dyn Dialect) -> Vec<Step> {
    let d = read;
    let as_of = d.date(&model.as_of);
    let (catalog, members) = (read.table("segment_catalog"), read.table("segment_members"));
    let (tiers, tier_catalog) = (read.table("tier_assignments"), read.table("tier_catalog"));
    let expire = |table: &str| {
        keep_days.map_or(String::new(), |n| format!("DELETE FROM {table} WHERE as_of < {as_of} - {};\n", d.interval_days(i64::from(n.get()))))
    };
    let (ids, hist) = (SEGMENT_IDS_TABLE, SEGMENT_HISTORY_TABLE);
    let ids_table = d.create_table_if_missing(ids, &[("segment_id", "INTEGER NOT NULL"), ("segment", "VARCHAR NOT NULL")]);
    let mut steps = vec![Step {
        label: "history".into(),
        target: "segment_members_history".into(),
        before: Vec::new(),
        select: None,
        staged: false,
        scratch: false,
        computes: Vec::new(),
        state: None,
        sql: format!(
            "{ids_table};\n\
             INSERT INTO {ids} SELECT (SELECT coalesce(max(segment_id), 0) FROM {ids}) + row_number() OVER (ORDER BY name), name \
             FROM {catalog} WHERE name NOT IN (SELECT segment FROM {ids});\n\
             CREATE TABLE IF NOT EXISTS {hist} AS SELECT {as_of} AS as_of, customer_id, {} AS segment_id FROM {members} WHERE FALSE;\n\
             {}DELETE FROM {hist} WHERE as_of = {as_of} AND segment_id IN (SELECT segment_id FROM {ids} WHERE segment IN (SELECT name FROM {catalog}));\n\
             INSERT INTO {hist} SELECT {as_of} AS as_of, m.customer_id, i.segment_id FROM {members} AS m JOIN {ids} AS i ON i.segment = {};\n\
             CREATE OR REPLACE VIEW segment_members_history AS SELECT h.as_of, h.customer_id, i.segment FROM {hist} AS h JOIN {ids} AS i USING (segment_id)",
            d.cast("NULL", "INTEGER"),
            expire(hist),
            d.cast("m.segment", "VARCHAR"),
        ),
    }];
    if !model.tiers.is_empty() {
        steps.push(Step {
            label: "history".into(),
            target: "tier_history".into(),
            before: Vec::new(),
            select: None,
            staged: false,
            scratch: false,
            computes: Vec::new(),
            state: None,
            sql: format!(
                "CREATE TABLE IF NOT EXISTS tier_history AS SELECT {as_of} AS as_of, customer_id, {} AS ladder, {} AS tier, rank FROM {tiers} WHERE FALSE;\n\
                 {}DELETE FROM tier_history WHERE as_of = {as_of} AND ladder IN (SELECT DISTINCT ladder FROM {tier_catalog});\n{}",
                d.cast("ladder", "VARCHAR"),
                d.cast("tier", "VARCHAR"),
                expire("tier_history"),
                d.insert_by_name("tier_history", &format!("SELECT {as_of} AS as_of, customer_id, ladder, tier, rank FROM {tiers}")),
            ),
        });
    }
    steps
}

/// Databases written before segment ids kept `segment_members_history` as a table of names:
/// move its rows to [`SEGMENT_HISTORY_TABLE`] and [`SEGMENT_IDS_TABLE`] (the history step then
/// creates the view). Runs on the run's working copy, so a failure leaves the published file as
/// it was.
pub fn migrate_history(conn: &duckdb::Connection) -> Result<()> {
    // A table of names, from before segment ids (now it is a view).
    if !crate::execute::table_exists(conn, "segment_members_history")? {
        return Ok(());
    }
    let (ids, hist) = (SEGMENT_IDS_TABLE, SEGMENT_HISTORY_TABLE);
    conn.execute_batch(&format!(
        "BEGIN;\n\
         CREATE TABLE {ids} AS SELECT CAST(row_number() OVER (ORDER BY segment) AS INTEGER) AS segment_id, segment \
         FROM (SELECT DISTINCT segment FROM segment_members_history WHERE segment IS NOT NULL);\n\
         CREATE TABLE {hist} AS SELECT h.as_of, h.customer_id, i.segment_id FROM segment_members_history AS h JOIN {ids} AS i USING (segment);\n\
         DROP TABLE segment_members_history;\n\
         COMMIT;"
    ))
    .map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        Error::Step { step: "move the membership history to segment ids".into(), message: crate::execute::first_line(&e.to_string()) }
    })
}

/// One input file of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputFile {
    pub source: String,
    pub path: String,
    pub bytes: u64,
    /// BLAKE3 of the content (fast enough to hash gigabytes while the run computes).
    pub blake3: String,
}

/// Every file behind the run's sources (globs expanded by DuckDB), as (source, path).
pub fn list_input_files(conn: &duckdb::Connection, model: &Resolved) -> Result<Vec<(String, String)>> {
    let d = DuckDb;
    let mut out = Vec::new();
    // A database table has no file to hash; the manifest keeps its row count.
    for src in model.sources.iter().filter(|s| s.format != crate::project::model::SourceFormat::Postgres) {
        let sql = format!("SELECT file FROM glob({}) ORDER BY file", d.string(&src.path));
        let step = format!("list the files of source '{}'", src.name);
        for file in crate::execute::column_strings(conn, &step, &sql, &[])? {
            out.push((src.name.clone(), file));
        }
    }
    Ok(out)
}

/// Size and content hash of each file; runs on its own thread while DuckDB computes.
pub fn hash_input_files(files: Vec<(String, String)>) -> Result<std::thread::JoinHandle<Result<Vec<InputFile>>>> {
    let spawned = std::thread::Builder::new().name("hash-inputs".into()).spawn(move || {
        files
            .into_iter()
            .map(|(source, path)| {
                let (bytes, blake3) = hash_file(Path::new(&path))?;
                Ok(InputFile { source, path, bytes, blake3 })
            })
            .collect()
    });
    spawned.map_err(|e| Error::Io { context: "starting the thread that hashes input files".into(), source: e })
}

/// Wait for [`hash_input_files`] (once; later calls return nothing).
pub fn join_hashing(handle: &mut Option<std::thread::JoinHandle<Result<Vec<InputFile>>>>) -> Result<Vec<InputFile>> {
    match handle.take() {
        Some(h) => h.join().unwrap_or_else(|_| {
            Err(Error::Io { context: "hashing input files".into(), source: std::io::Error::other("the hashing thread stopped") })
        }),
        None => Ok(Vec::new()),
    }
}

/// Stream a file through BLAKE3 (bytes only; DuckDB does all parsing).
fn hash_file(path: &Path) -> Result<(u64, String)> {
    let io = |e: std::io::Error| Error::Io { context: format!("reading {}", path.display()), source: e };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((total, hasher.finalize().to_hex().to_string()))
}

/// Row count per source, as read now (DuckDB answers Parquet counts from metadata).
pub fn source_rows(conn: &duckdb::Connection, model: &Resolved) -> Result<Vec<(String, i64)>> {
    let d = DuckDb;
    let mut out = Vec::new();
    for src in &model.sources {
        let sql = format!("SELECT count(*) FROM {}", d.read_source(src.format, &src.path, src.csv.as_ref()));
        let n: i64 = conn
            .query_row(&sql, [], |r| r.get(0))
            .map_err(|e| {
                let from = src.database.as_ref().map(|d| format!(" ({d})")).unwrap_or_default();
                Error::Step { step: format!("count rows of source '{}'{from}", src.name), message: crate::execute::first_line(&e.to_string()) }
            })?;
        out.push((src.name.clone(), n));
    }
    Ok(out)
}

/// Data-quality gates, checked before anything is published.
pub mod gates {
    /// Problems that block publishing (unless `--force`): an empty source, or a source whose
    /// row count fell by more than `max_drop_pct` percent since the last successful run.
    /// Columns a source had at the last successful run and has no more.
    pub fn lost_columns(now: &[(String, Vec<String>)], previous: &[(String, Vec<String>)]) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, before) in previous {
            let Some((_, cols)) = now.iter().find(|(n, _)| n == name) else { continue };
            let lost: Vec<&str> = before.iter().filter(|c| !cols.contains(c)).map(String::as_str).collect();
            if !lost.is_empty() {
                problems.push(format!("source '{name}' lost column(s) {} since the last successful run", lost.join(", ")));
            }
        }
        problems
    }

    pub fn check(now: &[(String, i64)], previous: &[(String, i64)], max_drop_pct: f64) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, n) in now {
            if *n == 0 {
                problems.push(format!("source '{name}' is empty"));
                continue;
            }
            if let Some((_, before)) = previous.iter().find(|(p, _)| p == name) {
                if *before > 0 {
                    let drop = 100.0 * (*before - *n) as f64 / *before as f64;
                    if drop > max_drop_pct {
                        problems.push(format!(
                            "source '{name}' has {n} rows, {drop:.0}% fewer than the {before} of the last successful run (limit {max_drop_pct}%)"
                        ));
                    }
                }
            }
        }
        problems
    }
}

const MODEL_FITS_COLUMNS: &[(&str, &str)] = &[
    ("as_of", "DATE"),
    ("model", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("status", "VARCHAR"),
    ("parameters", "VARCHAR"),
    ("log_likelihood", "DOUBLE"),
    ("iterations", "BIGINT"),
    ("customers", "BIGINT"),
    ("repeat_buyers", "BIGINT"),
    ("calibration_end", "DATE"),
    ("message", "VARCHAR"),
];
const MODEL_HOLDOUT_COLUMNS: &[(&str, &str)] = &[
    ("as_of", "DATE"),
    ("model", "VARCHAR"),
    ("holdout_days", "BIGINT"),
    ("repeat_purchases", "BIGINT"),
    ("customers", "BIGINT"),
    ("actual", "DOUBLE"),
    ("predicted", "DOUBLE"),
];

/// The `model_fits` rows of a run (replacing those of its date): per model its status,
/// parameters (JSON), log-likelihood, iterations and sizes.
pub fn model_fits_sql(as_of: &str, fits: &[crate::execute::models::ModelFit]) -> String {
    let d = DuckDb;
    let as_of = d.date(as_of);
    let opt = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
    let rows: Vec<String> = fits
        .iter()
        .map(|f| {
            let params: serde_json::Map<String, serde_json::Value> = f.parameters.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
            format!(
                "({as_of}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                d.string(&f.model),
                d.string(f.kind),
                d.string(f.status),
                d.string(&serde_json::Value::Object(params).to_string()),
                opt(f.log_likelihood.map(|v| format!("{v:e}"))),
                opt(f.iterations.map(|v| v.to_string())),
                f.customers,
                f.repeat_buyers,
                d.date(&f.calibration_end),
                opt(f.message.as_ref().map(|m| d.string(m)))
            )
        })
        .collect();
    let holdout: Vec<String> = fits
        .iter()
        .flat_map(|f| f.holdout.iter().map(move |h| (f, h)))
        .map(|(f, h)| format!("({as_of}, {}, {}, {}, {}, {:e}, {:e})", d.string(&f.model), f.holdout_days, h.repeat_purchases, h.customers, h.actual, h.predicted))
        .collect();
    let holdout_rows = if holdout.is_empty() { String::new() } else { format!(";\nINSERT INTO model_holdout VALUES {}", holdout.join(", ")) };
    format!(
        "{};\n{};\n\
         DELETE FROM model_fits WHERE as_of = {as_of};\n\
         DELETE FROM model_holdout WHERE as_of = {as_of};\n\
         INSERT INTO model_fits VALUES {}{holdout_rows}",
        d.create_table_if_missing("model_fits", MODEL_FITS_COLUMNS),
        d.create_table_if_missing("model_holdout", MODEL_HOLDOUT_COLUMNS),
        rows.join(", ")
    )
}

/// The `runs` table and its rows.
pub struct Manifest;

impl Manifest {
    /// The columns of the first release.
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("run_id", "VARCHAR"),
        ("as_of", "DATE"),
        ("started_at", "TIMESTAMP"),
        ("finished_at", "TIMESTAMP"),
        ("status", "VARCHAR"),
        ("forced", "BOOLEAN"),
        ("definition_hash", "VARCHAR"),
        ("inputs", "VARCHAR"),
        ("source_rows", "VARCHAR"),
        ("row_counts", "VARCHAR"),
        ("warnings", "VARCHAR"),
        ("error", "VARCHAR"),
    ];
    /// Added after the first release; older databases get the columns on their next run.
    const ADDED_COLUMNS: &'static [(&'static str, &'static str)] = &[("source_columns", "VARCHAR"), ("peak_memory_mib", "BIGINT"), ("exports", "VARCHAR")];

    /// Create the `runs` table unless it exists, then add the columns older databases lack.
    pub fn create_sql(d: &dyn Dialect) -> Result<String, NoSpelling> {
        let mut statements = vec![d.create_table_if_missing("runs", Self::COLUMNS)];
        for (column, ty) in Self::ADDED_COLUMNS {
            statements.push(d.add_column_if_missing("runs", column, ty)?);
        }
        Ok(statements.join(";\n"))
    }

    /// Record the export files this run wrote (JSON: export, path, rows), committed with the run.
    pub fn exports_sql(run_id: &str, files: &[exports::ExportedFile]) -> String {
        let json = serde_json::to_string(files).unwrap_or_else(|_| "[]".into());
        format!("UPDATE runs SET exports = {} WHERE run_id = {}", DuckDb.string(&json), DuckDb.string(run_id))
    }

    /// Record the process's peak resident memory on this run's row (NULL where unknown).
    pub fn peak_memory_sql(run_id: &str, peak_kib: Option<u64>) -> String {
        let mib = peak_kib.map_or("NULL".to_string(), |k| (k / 1024).to_string());
        format!("UPDATE runs SET peak_memory_mib = {mib} WHERE run_id = {}", DuckDb.string(run_id))
    }

    /// Column names per source at the last successful run (empty before the first).
    pub fn last_source_columns(conn: &duckdb::Connection) -> Vec<(String, Vec<String>)> {
        let sql = "SELECT source_columns FROM runs WHERE status = 'ok' AND source_columns IS NOT NULL ORDER BY finished_at DESC, started_at DESC LIMIT 1";
        let text: Option<String> = conn.query_row(sql, [], |r| r.get(0)).ok();
        text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
    }

    /// Record the sources' columns on this run's row.
    pub fn columns_sql(run_id: &str, columns: &[(String, Vec<String>)]) -> String {
        let d = DuckDb;
        format!(
            "UPDATE runs SET source_columns = {} WHERE run_id = {}",
            d.string(&serde_json::to_value(columns).unwrap_or_default().to_string()),
            d.string(run_id)
        )
    }

    /// Source row counts of the last successful run, for the row-drop gate.
    pub fn last_source_rows(conn: &duckdb::Connection) -> Vec<(String, i64)> {
        let sql = "SELECT source_rows FROM runs WHERE status = 'ok' ORDER BY finished_at DESC, started_at DESC LIMIT 1";
        let text: Option<String> = conn.query_row(sql, [], |r| r.get(0)).ok();
        let parsed: Option<Vec<(String, i64)>> = text.and_then(|t| serde_json::from_str(&t).ok());
        parsed.unwrap_or_default()
    }

    /// An INSERT of one run row; every value is a literal escaped by the dialect.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_sql(
        run_id: &str,
        as_of: &str,
        started: &str,
        status: &str,
        forced: bool,
        definition_hash: &str,
        inputs: &[InputFile],
        source_rows: &[(String, i64)],
        row_counts: &[(String, i64)],
        warnings: &[String],
        error: Option<&str>,
    ) -> String {
        let d = DuckDb;
        let json = |v: serde_json::Value| d.string(&v.to_string());
        format!(
            "INSERT INTO runs (run_id, as_of, started_at, finished_at, status, forced, definition_hash, inputs, source_rows, row_counts, warnings, error) VALUES ({}, {}, CAST({} AS TIMESTAMP), CAST(now() AS TIMESTAMP), {}, {}, {}, {}, {}, {}, {}, {})",
            d.string(run_id),
            d.date(as_of),
            d.string(started.trim_end_matches('Z')),
            d.string(status),
            if forced { "TRUE" } else { "FALSE" },
            d.string(definition_hash),
            json(serde_json::to_value(inputs).unwrap_or_default()),
            json(serde_json::to_value(source_rows).unwrap_or_default()),
            json(serde_json::to_value(row_counts).unwrap_or_default()),
            json(serde_json::to_value(warnings).unwrap_or_default()),
            error.map_or("NULL".to_string(), |e| d.string(e)),
        )
    }
}

/// Write a file through a temporary sibling and a rename, so readers never see half of it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::Io { context: format!("writing {}", path.display()), source: e };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// A short hash of everything that defines the run's output (the compiled SQL).
pub fn definition_hash(script: &str) -> String {
    let digest = Sha256::digest(script.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_block_empty_sources_and_big_drops_only() {
        let prev = vec![("orders".to_string(), 1000), ("customers".to_string(), 100)];
        let now = vec![("orders".to_string(), 100), ("customers".to_string(), 60), ("carts".to_string(), 0)];
        assert_eq!(
            gates::check(&now, &prev, 50.0),
            vec!["source 'orders' has 100 rows, 90% fewer than the 1000 of the last successful run (limit 50%)", "source 'carts' is empty"]
        );
        assert!(gates::check(&now[1..2], &prev, 50.0).is_empty(), "a 40% drop is within a 50% limit");
        let before = vec![("orders".to_string(), vec!["amount".to_string(), "channel".to_string()])];
        let after = vec![("orders".to_string(), vec!["amount".to_string()])];
        assert_eq!(gates::lost_columns(&after, &before), vec!["source 'orders' lost column(s) channel since the last successful run"]);
    }

    #[test]
    fn lock_file_names_its_holder() {
        assert_eq!(parse_holder("pid=42\nstarted=2026-01-02T03:04:05Z\n"), Some(LockHolder { pid: 42, started: "2026-01-02T03:04:05Z".into() }));
        assert_eq!(parse_holder("garbage"), None);
        assert_eq!(RunLock::path_for(Path::new("out/x.duckdb")), PathBuf::from("out/x.duckdb.lock"));
    }

    #[cfg(unix)]
    #[test]
    fn a_database_reached_through_a_symlink_takes_the_same_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("segments.duckdb");
        std::fs::write(&real, b"db").expect("write");
        let link = dir.path().join("link.duckdb");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let (_held, _) = RunLock::acquire(&real_database_path(&real), "segments.duckdb").expect("first lock");
        let second = RunLock::acquire(&real_database_path(&link), "link.duckdb");
        assert!(matches!(second, Err(Error::Locked { .. })), "{:?}", second.as_ref().err());
        // A database that does not exist yet resolves through its folder.
        let missing = dir.path().join("new.duckdb");
        assert_eq!(real_database_path(&missing), std::fs::canonicalize(dir.path()).expect("dir").join("new.duckdb"));
    }

    #[test]
    fn utc_timestamps_are_iso() {
        let t = utc_now();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    }
}
