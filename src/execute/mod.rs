//! Stage 4, execute: a DuckDB session that reads source schemas and runs a [`Plan`].
//!
//! A plan publishes atomically: either every output table is replaced, or (on any error, or if
//! the process dies) the database keeps the previous tables unchanged (see [`run_plan_then`]).

use crate::compile::dialect::{Dialect, DuckDb, Staged, STAGE_PREFIX};
use crate::compile::Plan;
use crate::error::{Error, Result};
use crate::project::model::SourceFormat;
use crate::project::Project;
use crate::validate::SourceSchema;
use duckdb::Connection;
use std::collections::BTreeMap;
use std::path::Path;

pub mod models;
mod sandbox;
pub use sandbox::Access;

/// Engine settings for a session.
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    pub threads: Option<u32>,
    pub memory_limit: Option<String>,
    /// The files the session may reach; applied last, with the configuration locked after it.
    pub access: Access,
    /// The databases it attaches (before the lock-down).
    pub databases: crate::postgres::Databases,
}

impl EngineSettings {
    /// A session over the project's data: its folders and its source databases, and with
    /// `publish` the database `output.postgres` publishes to.
    pub fn project(project: &Project, publish: bool) -> Result<EngineSettings> {
        Ok(EngineSettings {
            access: Access::project(project),
            databases: crate::postgres::Databases::project(project, publish)?,
            ..Default::default()
        })
    }
}

/// Open (creating if needed) a DuckDB database file, or an in-memory one for `None`.
pub fn open(path: Option<&Path>, settings: &EngineSettings) -> Result<Connection> {
    let display = path.map_or(":memory:".to_string(), |p| p.display().to_string());
    let db_err = |e: duckdb::Error| Error::Database { path: display.clone(), message: first_line(&e.to_string()) };
    let conn = match path {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::Io { context: format!("creating {}", dir.display()), source: e })?;
            }
            Connection::open(p).map_err(db_err)?
        }
        None => Connection::open_in_memory().map_err(db_err)?,
    };
    apply_settings(&conn, settings).map_err(|e| Error::Usage(format!("invalid engine setting: {e}")))?;
    crate::postgres::attach(&conn, &settings.databases)?;
    sandbox::lock_down(&conn, &settings.access, |s| DuckDb.string(s)).map_err(db_err_text(&display))?;
    Ok(conn)
}

fn db_err_text(path: &str) -> impl Fn(String) -> Error + '_ {
    move |message| Error::Database { path: path.to_string(), message }
}

/// Open an existing database for reading only (reports, explain), reaching no other file.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    open_read_only_with(path, &Access::default())
}

/// Open an existing database for reading only, reaching the files `access` allows (exports
/// write files and read the consent source).
pub fn open_read_only_with(path: &Path, access: &Access) -> Result<Connection> {
    let db_err = |e: duckdb::Error| Error::Database { path: path.display().to_string(), message: first_line(&e.to_string()) };
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).map_err(db_err)?;
    let conn = Connection::open_with_flags(path, config).map_err(db_err)?;
    let display = path.display().to_string();
    sandbox::lock_down(&conn, access, |s| DuckDb.string(s)).map_err(db_err_text(&display))?;
    Ok(conn)
}

fn apply_settings(conn: &Connection, s: &EngineSettings) -> std::result::Result<(), String> {
    if let Some(t) = s.threads {
        if t == 0 || t > crate::cli::MAX_THREADS {
            return Err(format!("threads must be between 1 and {}, not {t}", crate::cli::MAX_THREADS));
        }
        conn.execute_batch(&format!("SET threads = {t}")).map_err(|e| first_line(&e.to_string()))?;
    }
    if let Some(m) = &s.memory_limit {
        let ok = !m.is_empty() && m.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ');
        if !ok {
            return Err(format!("memory limit '{m}' should look like 4GB or 500MB"));
        }
        // DuckDB counts its buffers against memory_limit, not every allocation (hash table
        // bookkeeping, Parquet readers, the allocator's own slack): give it BUFFER_SHARE percent
        // so that the process stays within the limit the user set. DuckDB parses the value (its
        // units); one it cannot turn into bytes (`none`, a bad unit) is set as written, so that
        // DuckDB lifts the limit or names the problem.
        let bytes: Option<u64> = conn.query_row("SELECT parse_formatted_bytes(?)", [m], |r| r.get(0)).ok();
        let value = bytes.map_or_else(|| m.clone(), |b| format!("{}B", b / 100 * BUFFER_SHARE));
        conn.execute_batch(&format!("SET memory_limit = {}", DuckDb.string(&value))).map_err(|e| first_line(&e.to_string()))?;
        // DuckDB's prebuilt library allocates its buffers through the jemalloc it carries, whose
        // per-thread caches it flushes only above this threshold (128 MiB by default): with a
        // limit, return freed memory sooner, in the background.
        if bytes.is_some() {
            conn.execute_batch("SET allocator_flush_threshold = '32MB'; SET allocator_background_threads = true")
                .map_err(|e| first_line(&e.to_string()))?;
        }
    }
    Ok(())
}

/// Percent of the configured `memory_limit` handed to DuckDB's buffer manager. Measured at 100M
/// orders: the features step's eight joins hold 250-550 MiB outside DuckDB's buffers (at 90%
/// two runs in four peaked over a 4 GB limit; bench/RESULTS.md, sixth and sixteenth rounds).
pub const BUFFER_SHARE: u64 = 85;

/// Whether the session's database has a table named `name` (views not counted; nor the tables
/// of attached databases).
pub fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    let sql = format!("SELECT count(*) > 0 FROM ({}) WHERE name = ?", DuckDb.tables_query(false)?);
    conn.query_row(&sql, [name], |r| r.get(0))
        .map_err(|e| Error::Step { step: "read the database's catalog".into(), message: first_line(&e.to_string()) })
}

/// Whether the session's database has a table or a view named `name`.
pub fn relation_exists(conn: &Connection, name: &str) -> Result<bool> {
    let sql = format!("SELECT count(*) > 0 FROM ({}) WHERE name = ?", DuckDb.tables_query(true)?);
    conn.query_row(&sql, [name], |r| r.get(0))
        .map_err(|e| Error::Step { step: format!("look for {name} in the database's catalog"), message: first_line(&e.to_string()) })
}

/// The first column of a query's rows as text (NULL as "NULL"); `context` names the query in errors.
pub fn column_strings(conn: &Connection, context: &str, sql: &str, params: &[&str]) -> Result<Vec<String>> {
    let err = |e: duckdb::Error| Error::Step { step: context.to_string(), message: first_line(&e.to_string()) };
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let rows = stmt.query_map(duckdb::params_from_iter(params.iter()), |r| r.get::<_, Option<String>>(0)).map_err(err)?;
    rows.map(|r| r.map(|v| v.unwrap_or_else(|| "NULL".into())).map_err(err)).collect()
}

/// The process's resident high-water mark in KiB (`VmHWM`, Linux only): the figure to hold
/// against `memory_limit`.
pub fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// First line of a DuckDB message (the rest is often a long hint or stack).
/// DSNs and passwords in it are redacted (see [`crate::postgres::redact`]).
pub fn first_line(s: &str) -> String {
    crate::postgres::redact::redact(s.lines().next().unwrap_or_default().trim())
}

/// Type names in the sources' `types:` and features' `type:` that DuckDB does not know, with its message.
pub fn unknown_types(conn: &Connection, project: &Project) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let sources = project.config.sources.values().flat_map(|def| def.types.values().map(|t| t.as_str()));
    let features = project.features.iter().filter_map(|f| f.def.ty.as_deref().map(str::trim));
    for ty in sources.chain(features) {
        // Only names that passed the syntax check reach SQL.
        if crate::validate::is_valid_type(ty) && !out.contains_key(ty) {
            if let Err(e) = conn.execute_batch(&format!("SELECT CAST(NULL AS {ty})")) {
                out.insert(ty.to_string(), first_line(&e.to_string()));
            }
        }
    }
    out
}

/// Read each source's column names without scanning its data.
pub fn describe_sources(conn: &Connection, project: &Project) -> BTreeMap<String, SourceSchema> {
    let mut out = BTreeMap::new();
    for (name, def) in &project.config.sources {
        if def.read_format() == SourceFormat::Postgres {
            let schema = match describe_relation(conn, &crate::postgres::relation(def)).0 {
                SourceSchema::Unreadable(why) => SourceSchema::Unreadable(format!("{}: {why}", crate::postgres::describe(def))),
                schema => schema,
            };
            out.insert(name.clone(), schema);
            continue;
        }
        let path = crate::project::resolve(&project.root, &def.path).to_string_lossy().replace('\\', "/");
        let format = def.read_format();
        let (mut schema, all_text) = describe_one(conn, &path, format, def.csv.as_ref());
        if let (SourceFormat::Csv, SourceSchema::Columns(cols)) = (format, &schema) {
            // Header-only is fine when `types:` declares every column (names after renaming).
            // A column typed other than VARCHAR was inferred from rows: the file has some.
            let typed = !all_text || cols.iter().all(|c| def.types.contains_key(def.rename.get(c).unwrap_or(c)));
            if let Some(problem) = (!def.is_glob()).then(|| csv_problem(conn, &path, &def.path, typed)).flatten() {
                schema = SourceSchema::Unreadable(problem);
            }
        }
        out.insert(name.clone(), schema);
    }
    out
}

/// A CSV file whose columns DuckDB cannot know, said in the user's terms: an empty file, a
/// header without rows (every column would be VARCHAR) unless `types:` declares them all (`typed`:
/// also when DuckDB inferred a non-text column, which takes rows), or a
/// row with more fields than the header (DuckDB then takes the header for data).
fn csv_problem(conn: &Connection, path: &str, rel: &str, typed: bool) -> Option<String> {
    if std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(false) {
        return Some(format!("data file '{rel}' is empty"));
    }
    let p = DuckDb.string(path);
    let has_header: bool = conn.query_row(&format!("SELECT HasHeader FROM sniff_csv({p})"), [], |r| r.get(0)).ok()?;
    if has_header {
        if typed {
            return None;
        }
        let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM (SELECT 1 FROM read_csv({p}) LIMIT 1)"), [], |r| r.get(0)).ok()?;
        return (rows == 0)
            .then(|| format!("data file '{rel}' has a header but no rows, so its column types are unknown"));
    }
    // Read every line as text, padded to the widest row, and compare field counts to the first.
    let sql = format!("SELECT * FROM read_csv({p}, header = false, all_varchar = true, null_padding = true) LIMIT 1000000");
    let mut stmt = conn.prepare(&sql).ok()?;
    let mut rows = stmt.query([]).ok()?;
    let mut header = None;
    let mut line = 0usize;
    while let Ok(Some(row)) = rows.next() {
        line += 1;
        let width = row.as_ref().column_count();
        let fields = (0..width).rev().find(|&i| matches!(row.get::<_, Option<String>>(i), Ok(Some(_)))).map_or(0, |i| i + 1);
        match header {
            None => header = Some(fields),
            Some(h) if fields > h => return Some(format!("data file '{rel}' line {line} has {fields} fields, the header has {h}")),
            Some(_) => {}
        }
    }
    None
}

/// A source's columns, and whether every column is VARCHAR.
fn describe_one(conn: &Connection, path: &str, format: SourceFormat, csv: Option<&crate::project::model::CsvOptions>) -> (SourceSchema, bool) {
    let d = DuckDb;
    let matches: std::result::Result<i64, _> =
        conn.query_row(&format!("SELECT count(*) FROM glob({})", d.string(path)), [], |r| r.get(0));
    match matches {
        Ok(0) => return (SourceSchema::Missing, false),
        Ok(_) => {}
        Err(e) => return (SourceSchema::Unreadable(first_line(&e.to_string())), false),
    }
    describe_relation(conn, &d.read_source(format, path, csv))
}

/// The columns of a relation, and whether every column is VARCHAR.
fn describe_relation(conn: &Connection, relation: &str) -> (SourceSchema, bool) {
    let sql = format!("DESCRIBE SELECT * FROM {relation}");
    let result = conn.prepare(&sql).and_then(|mut stmt| {
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        rows.collect::<std::result::Result<Vec<(String, String)>, _>>()
    });
    match result {
        Ok(cols) => {
            let all_text = cols.iter().all(|(_, ty)| ty == "VARCHAR");
            (SourceSchema::Columns(cols.into_iter().map(|(name, _)| name).collect()), all_text)
        }
        Err(e) => (SourceSchema::Unreadable(first_line(&e.to_string())), false),
    }
}

/// Bind every statement of `plan` in an in-memory DuckDB without computing anything: each
/// table is created empty (`LIMIT 0`) so later steps can bind against it. A failing step is
/// traced to the features or segments that do not bind on their own.
pub fn bind_check(plan: &Plan, model: &crate::validate::Resolved, session: &EngineSettings) -> Result<Vec<crate::diagnostics::Diagnostic>> {
    use crate::diagnostics::{Diagnostic, Loc};
    let d = DuckDb;
    let settings = EngineSettings { access: session.access.clone(), databases: session.databases.clone(), ..Default::default() };
    let conn = open(None, &settings)?;
    let loc_of = |origin: &str| Loc::from_origin(origin);
    let mut diags = Vec::new();
    models::create_empty(&conn, model)?;
    for step in &plan.steps {
        let sql = match &step.select {
            Some(select) => d.create_table_as(&step.target, &format!("SELECT * FROM (\n{select}\n) LIMIT 0")),
            None => step.sql.clone(),
        };
        let Err(e) = conn.execute_batch(&sql) else {
            if step.target == crate::compile::FEATURES_TABLE {
                // Defaults are only converted when a customer has no rows: try each one now.
                for f in &model.features {
                    let Some(default) = &f.default_sql else { continue };
                    let ty: std::result::Result<String, _> = conn.query_row(
                        "SELECT data_type FROM duckdb_columns() WHERE database_name = current_database() AND table_name = ? AND column_name = ?",
                        [crate::compile::FEATURES_TABLE, f.name.as_str()],
                        |r| r.get(0),
                    );
                    let Ok(ty) = ty else { continue };
                    if let Err(e) = conn.execute_batch(&format!("SELECT CAST({default} AS {ty})")) {
                        diags.push(
                            Diagnostic::error("E070", loc_of(&f.origin), format!("feature '{}' does not bind in DuckDB: {}", f.name, first_line(&e.to_string())))
                                .with_hint(format!("its `default` must convert to the feature's type {ty}")),
                        );
                    }
                }
                if !diags.is_empty() {
                    break;
                }
            }
            continue;
        };
        let whole = first_line(&e.to_string());
        // Which definitions of this step fail on their own?
        let features_step = step.scratch || step.target == crate::compile::FEATURES_TABLE;
        let candidates: Vec<(&str, &str, &str)> = if features_step {
            model.features.iter().map(|f| ("feature", f.name.as_str(), f.origin.as_str())).collect()
        } else {
            model.segments.iter().map(|s| ("segment", s.name.as_str(), s.origin.as_str())).collect()
        };
        let before = diags.len();
        if features_step || step.target == crate::compile::outputs::MEMBERS_TABLE {
            for (kind, name, origin) in candidates {
                let Some(probe) = crate::compile::probe(model, name, &d) else { continue };
                if let Err(e) = conn.execute_batch(&probe) {
                    let top = model.features.iter().any(|f| f.name == name && matches!(f.body, crate::validate::FeatureBody::Aggregate { top: Some(_), .. }));
                    let hint = if top {
                        "`most_frequent` and `most_frequent_count` take a row expression such as `category` or `lower(device)`, not an aggregate"
                    } else {
                        "check function names, argument types and columns in the expression (see `segmenter compile`)"
                    };
                    diags.push(
                        Diagnostic::error("E070", loc_of(origin), format!("{kind} '{name}' does not bind in DuckDB: {}", first_line(&e.to_string()))).with_hint(hint),
                    );
                }
            }
        }
        if diags.len() == before && features_step {
            diags.extend(probe_derived(&conn, model, &loc_of));
        }
        if diags.len() == before && step.target == "tier_assignments" {
            for t in &model.tiers {
                for l in &t.levels {
                    let cond = crate::compile::outputs::level_condition(l, model, &d);
                    if let Err(e) = conn.execute_batch(&format!("SELECT {cond} FROM {} LIMIT 0", d.ident(crate::compile::FEATURES_TABLE))) {
                        diags.push(
                            Diagnostic::error("E070", loc_of(&l.origin), format!("level '{}' of tier ladder '{}' does not bind in DuckDB: {}", l.name, t.name, first_line(&e.to_string())))
                                .with_hint("thresholds compare numbers; `when` must be a condition over features of matching types"),
                        );
                    }
                }
            }
        }
        if diags.len() == before {
            diags.push(
                Diagnostic::error("E070", Loc::file(crate::project::PROJECT_FILE), format!("the generated step '{}' does not bind in DuckDB: {whole}", step.target))
                    .with_hint("check derived features, tier `when` conditions and score parts for type errors; `segmenter compile` shows the SQL"),
            );
        }
        break; // later steps read this step's table
    }
    Ok(diags)
}

/// Bind derived features one by one, in dependency order, on an empty table of the source
/// features; each that fails gets an error at its definition.
fn probe_derived(
    conn: &Connection,
    model: &crate::validate::Resolved,
    loc_of: &dyn Fn(&str) -> crate::diagnostics::Loc,
) -> Vec<crate::diagnostics::Diagnostic> {
    use crate::validate::FeatureBody;
    let d = DuckDb;
    let probe = "__segmenter_probe";
    let mut out = Vec::new();
    let base = format!("CREATE OR REPLACE TEMP TABLE {probe} AS SELECT * FROM ({}) LIMIT 0", crate::compile::source_features_select(model, &d));
    if conn.execute_batch(&base).is_err() {
        return out;
    }
    let mut derived: Vec<(&crate::validate::ResolvedFeature, usize)> = model
        .features
        .iter()
        .filter_map(|f| match f.body {
            FeatureBody::Derived { depth, .. } => Some((f, depth)),
            _ => None,
        })
        .collect();
    derived.sort_by_key(|(_, depth)| *depth);
    for (f, _) in derived {
        let Some(sql) = crate::compile::derived_sql(model, &f.name, probe, &d) else { continue };
        let add = format!("CREATE OR REPLACE TEMP TABLE {probe} AS SELECT *, ({sql}) AS {} FROM {probe}", d.ident(&f.name));
        if let Err(e) = conn.execute_batch(&add) {
            out.push(
                crate::diagnostics::Diagnostic::error("E070", loc_of(&f.origin), format!("feature '{}' does not bind in DuckDB: {}", f.name, first_line(&e.to_string())))
                    .with_hint("check function names, argument types and columns in the expression (see `segmenter compile`)"),
            );
            // Later features may use this one: give it an untyped placeholder column.
            let _ = conn.execute_batch(&format!("CREATE OR REPLACE TEMP TABLE {probe} AS SELECT *, NULL AS {} FROM {probe}", d.ident(&f.name)));
        }
    }
    out
}

/// Called before each step with (index, total, label).
pub type Progress<'a> = dyn FnMut(usize, usize, &str) + 'a;

/// Run every step of `plan` (see [`run_plan_then`]).
pub fn run_plan(conn: &Connection, plan: &Plan, progress: &mut Progress) -> Result<()> {
    run_plan_then(conn, plan, progress, &mut |_| Ok(()))
}

/// Compute a version of the project in `conn`, an in-memory session over the current sources
/// that publishes nothing: its models fitted (their warnings are a run's business, not a
/// preview's), then every step of its plan. `diff` and `suggest` read the tables it leaves
/// (`customer_features`, `segment_members`, `tier_assignments`).
pub fn compute_in_memory(conn: &Connection, model: &crate::validate::Resolved, plan: &Plan) -> Result<()> {
    models::fit_models(conn, model)?;
    run_plan(conn, plan, &mut |_, _, _| {})
}

/// Label [`run_plan_then`] reports after the last step, when the transaction commits.
pub const COMMIT_STEP: &str = "commit";

/// Run `plan` so that its tables change all at once or not at all, calling `before_commit`
/// inside the final transaction (the publish stage writes the run manifest there).
///
/// Steps that are not staged run in one transaction. Staged steps (see
/// [`crate::compile::compile_staged`]) first run one by one, each committing its table under
/// a staging name (DuckDB reads committed tables faster than ones created earlier in the same
/// transaction, and holds less in memory); then one transaction drops the published tables,
/// renames the staged ones into their place, runs the remaining steps (history) and commits.
/// On any error, or if the process dies, the published tables stay as they were; staging
/// tables left by a dead run are dropped by the next one.
pub fn run_plan_then(
    conn: &Connection,
    plan: &Plan,
    progress: &mut Progress,
    before_commit: &mut dyn FnMut(&Connection) -> Result<()>,
) -> Result<()> {
    let fail = |step: &str, e: duckdb::Error| Error::Step { step: step.to_string(), message: first_line(&e.to_string()) };
    // A scratch table is named after the table it is for: `customer_features (agg_orders)`.
    let name = |s: &crate::compile::Step| {
        if s.scratch {
            format!("{} ({})", crate::compile::FEATURES_TABLE, s.scan_name())
        } else {
            s.target.clone()
        }
    };
    let total = plan.steps.len();
    let staged: Vec<_> = plan.steps.iter().filter(|s| s.staged).collect();
    let staging = staging_tables_query()?;
    if !staged.is_empty() {
        drop_staging_tables(conn, &staging).map_err(|e| fail("staging", e))?;
    }
    let mut scratch = Vec::new();
    for (i, step) in staged.iter().enumerate() {
        progress(i, total, &step.label);
        tracing::debug!(step = %step.label, table = %step.target, sql = %step.sql, "running step");
        let result = stopped().map_or_else(|| conn.execute_batch(&step.sql).and_then(|()| drop_scratch(conn, step, &mut scratch)).map_err(|e| step_failed(step, &name(step), &e)), Err);
        if let Err(e) = result {
            let _ = drop_staging_tables(conn, &staging);
            return Err(stopped().unwrap_or(e));
        }
    }
    for sql in &plan.prepare {
        tracing::debug!(sql = %sql, "preparing the publish");
        let result = stopped().map_or_else(|| conn.execute(sql, []).map(drop).map_err(|e| fail("merge with the published tables", e)), Err);
        if let Err(e) = result {
            let _ = drop_staging_tables(conn, &staging);
            return Err(stopped().unwrap_or(e));
        }
    }
    conn.execute_batch("BEGIN TRANSACTION").map_err(|e| fail("begin", e))?;
    let rest = plan.steps.iter().filter(|s| !s.staged);
    let outcome = plan.publish.iter().try_for_each(|sql| {
        tracing::debug!(sql = %sql, "publishing");
        conn.execute(sql, []).map(drop).map_err(|e| fail("publish", e))
    }).and_then(|()| {
        for (i, step) in rest.enumerate() {
            progress(staged.len() + i, total, &step.label);
            tracing::debug!(step = %step.label, table = %step.target, sql = %step.sql, "running step");
            stopped().map_or(Ok(()), Err)?;
            conn.execute_batch(&step.sql).and_then(|()| drop_scratch(conn, step, &mut scratch)).map_err(|e| step_failed(step, &name(step), &e))?;
        }
        before_commit(conn)?;
        // What the publish statements did not move into place (a backfill's tables) goes.
        drop_staging_tables(conn, &staging).map_err(|e| fail("staging", e))?;
        stopped().map_or(Ok(()), Err)
    });
    if let Err(e) = outcome {
        let _ = conn.execute_batch("ROLLBACK");
        let _ = drop_staging_tables(conn, &staging);
        return Err(stopped().unwrap_or(e));
    }
    progress(total, total, COMMIT_STEP);
    conn.execute_batch("COMMIT").map_err(|e| fail("commit", e))?;
    Ok(())
}

/// The error to stop with when SIGINT or SIGTERM arrived (whatever the interrupted query said).
fn stopped() -> Option<Error> {
    crate::signals::received().map(|signal| Error::Interrupted { signal })
}

/// `step` failed in DuckDB. When a value in the data failed an expression (a cast, a date,
/// a number out of range, an `error()` call), the message points at the definitions the step
/// evaluates: those whose SQL names the column DuckDB names (or holds the text of its message),
/// else all of them if they are few.
fn step_failed(step: &crate::compile::Step, name: &str, e: &duckdb::Error) -> Error {
    let message = first_line(&e.to_string());
    let on_a_value = ["Conversion Error", "Invalid Input Error", "Out of Range Error"].iter().any(|p| message.starts_with(p));
    if !on_a_value || step.computes.is_empty() {
        return Error::Step { step: name.to_string(), message };
    }
    let column = message.split("source column ").nth(1).and_then(|rest| rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next()).unwrap_or_default();
    let names_column = |sql: &str| {
        !column.is_empty() && sql.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w.eq_ignore_ascii_case(column))
    };
    // The text of an `error('...')` call comes back as the message.
    let detail = message.split_once(": ").map_or("", |(_, d)| d);
    let raises = |sql: &str| detail.len() > 3 && sql.contains(detail);
    let mut culprits: Vec<&crate::compile::Computed> = step.computes.iter().filter(|c| names_column(&c.sql) || raises(&c.sql)).collect();
    let by_column = !culprits.is_empty() && !column.is_empty();
    if culprits.is_empty() {
        // Without a column to go by, a list is only a help when it is short.
        if step.computes.len() > 3 {
            return Error::Step { step: name.to_string(), message };
        }
        culprits = step.computes.iter().collect();
    }
    let hint = match culprits.as_slice() {
        [c] => format!("{} '{}' ({}) fails on the data: `{}`", c.kind, c.name, c.origin, c.sql),
        many => {
            let list = many.iter().map(|c| format!("'{}' ({})", c.name, c.origin)).collect::<Vec<_>>().join(", ");
            let kinds = format!("{}s", many[0].kind);
            if !by_column {
                format!("one of this step's {kinds} fails on the data: {list}")
            } else {
                format!("a value of column '{column}' fails; it is read by {kinds} {list}")
            }
        }
    };
    let guard = if message.starts_with("Conversion Error") {
        "; fix the data, or the cast (in a source's `types:` or the expression; TRY_CAST gives NULL where CAST fails)"
    } else {
        "; fix the data, or guard the expression"
    };
    Error::Step { step: name.to_string(), message: format!("{message}\n  hint: {hint}{guard}") }
}

/// After `step` ran: remember it if it made a scratch table, else drop the scratch tables made
/// so far (the step that reads them has run; their space is free for the next steps). A
/// source scan's state table stays.
fn drop_scratch(conn: &Connection, step: &crate::compile::Step, made: &mut Vec<String>) -> duckdb::Result<()> {
    let d = DuckDb;
    // A source scan's table is kept: the next incremental run starts from it.
    if step.state.is_some() {
        return Ok(());
    }
    if step.scratch {
        made.push(if step.staged { Staged::of(&d).table(&step.target) } else { d.ident(&step.target) });
        return Ok(());
    }
    for t in made.drain(..) {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {t}"))?;
    }
    Ok(())
}

/// The names of the session database's tables that start with the parameter.
fn staging_tables_query() -> Result<String> {
    Ok(format!("SELECT name FROM ({}) WHERE schema_name = current_schema() AND starts_with(name, ?)", DuckDb.tables_query(false)?))
}

/// Drop every table named with the staging prefix (left by this run or a dead one).
/// `staging` lists them ([`staging_tables_query`]).
fn drop_staging_tables(conn: &Connection, staging: &str) -> duckdb::Result<()> {
    let d = DuckDb;
    let mut stmt = conn.prepare(staging)?;
    let names = stmt.query_map([STAGE_PREFIX], |r| r.get::<_, String>(0))?.collect::<duckdb::Result<Vec<String>>>()?;
    for name in names {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", d.ident(&name)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{Computed, Step};

    /// The message of `step` failing on `sql`, with `n` features that do not name the column.
    fn failure(sql: &str, n: usize) -> String {
        let conn = Connection::open_in_memory().expect("in-memory database");
        let e = conn.execute_batch(sql).expect_err("the statement fails");
        let computes = (1..=n).map(|i| Computed { kind: "feature", name: format!("f{i}"), origin: format!("f.yaml:{i}"), sql: "count(*)".into() }).collect();
        let step = Step { label: "features".into(), target: "t".into(), before: Vec::new(), select: None, sql: String::new(), staged: false, scratch: true, computes, state: None };
        step_failed(&step, "t", &e).to_string()
    }

    #[test]
    fn a_failing_step_lists_its_definitions_only_when_the_data_failed_them_and_they_are_few() {
        // A value failed, nothing names it, few definitions: all of them.
        assert_eq!(
            failure("SELECT error('bad value')", 2),
            "step 't' failed in DuckDB: Invalid Input Error: bad value\n  hint: one of this step's features fails on the data: 'f1' (f.yaml:1), 'f2' (f.yaml:2); fix the data, or guard the expression"
        );
        // Many: no list.
        assert_eq!(failure("SELECT error('bad value')", 4), "step 't' failed in DuckDB: Invalid Input Error: bad value");
        // Not a value's failure: no hint.
        assert_eq!(failure("SELECT * FROM missing_table", 1).lines().count(), 1);
    }

    fn limit_after(value: &str) -> std::result::Result<String, String> {
        let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        apply_settings(&conn, &EngineSettings { memory_limit: Some(value.into()), ..Default::default() })?;
        conn.query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0)).map_err(|e| e.to_string())
    }

    #[test]
    fn duckdb_gets_its_share_of_the_memory_limit() {
        // 85% of 1 GB = 850,000,000 bytes; of 2 GiB = 1,825,361,100 bytes (1.69 GiB, which DuckDB shows as 1.6).
        assert_eq!(limit_after("1GB").as_deref(), Ok("810.6 MiB"));
        assert_eq!(limit_after("2 GiB").as_deref(), Ok("1.6 GiB"));
        assert_eq!(limit_after("500MB").as_deref(), Ok("405.3 MiB"));
        assert_eq!(limit_after("4GB;"), Err("memory limit '4GB;' should look like 4GB or 500MB".to_string()));
        let unit = "Parser Error: Unknown unit for memory: 'parsecs' (expected: KB, MB, GB, TB for 1000^i units or KiB, MiB, GiB, TiB for 1024^i units)";
        assert_eq!(limit_after("4 parsecs"), Err(unit.to_string()));
        // `none` lifts the limit; there is no share of it to take.
        assert_eq!(limit_after("none").as_deref(), Ok("16383.9 PiB"));
    }
}
