//! `segmenter run` on DuckDB: the column gate, validation and compilation; then, under the
//! lock, a working copy of the database where the staged plan runs, the gates, the publishing
//! transaction (manifest row, staged exports) and the rename that publishes.

use super::{load_and_resolve, print_run_summary, print_warnings, progress_bar, Schemas};
use crate::cli::{Cli, Format, RunArgs, SelectArgs};
use crate::compile::{compile, Plan};
use crate::diagnostics::{Diagnostic, Severity};
use crate::error::{exit, Error, Result};
use crate::execute::{self, EngineSettings};
use crate::project::{resolve, Project};
use crate::publish;
use crate::report::RunSummary;
use crate::validate::{self, Resolved};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

/// Every source's schema now (schema reads only), and the columns lost since the last
/// successful run recorded in the output database.
fn column_gate(cli: &Cli) -> Result<(BTreeMap<String, validate::SourceSchema>, Vec<String>)> {
    let Some(project) = crate::project::load_project_in(&cli.project, &cli.environment()).project else { return Ok((BTreeMap::new(), Vec::new())) };
    let conn = execute::open(None, &EngineSettings::project(&project, false)?)?;
    let schemas = execute::describe_sources(&conn, &project);
    let now = source_columns(&schemas);
    let db = resolve(&project.root, &project.config.output.database);
    // A database another run is writing cannot be opened; the lock reports that run later.
    let previous = if db.exists() {
        execute::open_read_only(&db).map(|c| publish::Manifest::last_source_columns(&c)).unwrap_or_default()
    } else {
        Vec::new()
    };
    let lost = publish::gates::lost_columns(&now, &previous);
    Ok((schemas, lost))
}

/// (source, column names) of the sources that could be read.
fn source_columns(schemas: &BTreeMap<String, validate::SourceSchema>) -> Vec<(String, Vec<String>)> {
    schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            validate::SourceSchema::Columns(cols) => Some((name.clone(), cols.clone())),
            _ => None,
        })
        .collect()
}

/// Wall time per phase of `run`, printed on stderr with `--timings`.
struct Phases {
    on: bool,
    last: Instant,
    /// Each phase's label, seconds and the resident high-water mark when it ended (MiB).
    done: Vec<(String, f64, Option<u64>)>,
}

impl Phases {
    fn new(on: bool) -> Self {
        Phases { on, last: Instant::now(), done: Vec::new() }
    }

    /// The phase that just ended.
    fn mark(&mut self, label: &str) {
        let now = Instant::now();
        let seconds = (now - self.last).as_secs_f64();
        tracing::info!(phase = label, seconds, "phase done");
        if self.on {
            self.done.push((label.to_string(), seconds, execute::peak_resident_kib().map(|k| k / 1024)));
        }
        self.last = now;
    }

    fn print(&self) {
        if self.on {
            let total: f64 = self.done.iter().map(|(_, t, _)| t).sum();
            // The high-water mark only grows: the phase where it last rose holds the peak.
            eprintln!("timings:       share  peak MiB");
            for (label, t, mib) in &self.done {
                let mib = mib.map_or("-".to_string(), |m| m.to_string());
                eprintln!("  {t:8.3}s {:5.1}% {mib:>8}  {label}", 100.0 * t / total.max(1e-9));
            }
            eprintln!("  {total:8.3}s total");
            if let Some(kib) = execute::peak_resident_kib() {
                eprintln!("  peak resident memory: {} MiB (compare with settings.memory_limit)", kib / 1024);
            }
        }
    }
}

/// What a run knows before it takes the lock: the checked definitions, their plan and where
/// they publish.
struct RunStart {
    project: Project,
    resolved: Resolved,
    diags: Vec<Diagnostic>,
    plan: crate::compile::Plan,
    definition_hash: String,
    settings: EngineSettings,
    db_path: std::path::PathBuf,
    db_display: String,
    /// Columns lost since the last run (a gate `--force` overrode).
    lost: Vec<String>,
    source_columns: Vec<(String, Vec<String>)>,
    /// The sources' schemas, to compile the definitions again at the state's `as_of`.
    schemas: BTreeMap<String, validate::SourceSchema>,
    /// What a selected run or a backfill publishes instead of the whole result.
    publication: Option<String>,
}

/// The column gate, validation and compilation of a run.
fn start_run(cli: &Cli, args: &RunArgs, mark: &dyn Fn(&str)) -> Result<RunStart> {
    // Checked before validation, which would otherwise stop on the missing column (exit 2).
    let (schemas, lost) = column_gate(cli)?;
    let source_columns = source_columns(&schemas);
    mark("column gate (read source schemas, compare with the last run)");
    if !lost.is_empty() && !args.force {
        return Err(Error::Gates(lost));
    }
    // A run publishes a whole customer_features, also when --select narrows the definitions.
    let select = SelectArgs { all_features: true, ..args.select.clone() };
    let (project, resolved, diags) = load_and_resolve(cli, &select, Schemas::Known(schemas.clone()))?;
    mark("load and validate definitions");
    print_warnings(cli, &diags);
    let plan = compile(&resolved);
    let definition_hash = publish::definition_hash(&plan.script());
    mark("compile");
    let settings = EngineSettings {
        threads: args.threads.or(project.config.settings.threads),
        memory_limit: args.memory_limit.clone().or_else(|| project.config.settings.memory_limit.clone()),
        ..EngineSettings::project(&project, true)?
    };
    // Through a symlink too: every name of the file takes the same lock, and the publish renames
    // over the file itself instead of replacing the link.
    let db_path = publish::real_database_path(&resolve(&project.root, &project.config.output.database));
    let db_display = project.config.output.database.clone();
    Ok(RunStart { project, resolved, diags, plan, definition_hash, settings, db_path, db_display, lost, source_columns, schemas, publication: None })
}

pub(super) fn cmd_run(cli: &Cli, args: &RunArgs) -> Result<i32> {
    let started = Instant::now();
    let phases = RefCell::new(Phases::new(args.timings));
    let mark = |label: &str| phases.borrow_mut().mark(label);
    let start = start_run(cli, args, &mark)?;
    // One writer at a time; released when `_lock` drops, also on errors.
    // From here a SIGINT/SIGTERM stops the run as an error would: rolled back, cleaned up and
    // unlocked (taken before the lock, so no signal can leave a lock file behind).
    let stop_on_signal = crate::signals::RunGuard::new();
    let (_lock, takeover) = publish::RunLock::acquire(&start.db_path, &start.db_display)?;
    let run = LockedRun::open(cli, args, start, takeover)?;
    stop_on_signal.watch(run.conn.interrupt_handle());
    mark("lock, copy and open the database, start hashing inputs");
    let run = run.check(&mark)?;
    let computed = run.compute(&mark);
    mark("commit");
    let (start, exports, sizes) = run.publish(computed, &mark)?;
    mark("summary");
    phases.borrow().print();
    let summary = RunSummary {
        status: "ok",
        project: start.resolved.name.clone(),
        as_of: start.resolved.as_of.clone(),
        database: start.db_display.clone(),
        customers: sizes.0,
        segments: sizes.1,
        tiers: sizes.2,
        skipped: start.resolved.skipped.clone(),
        exports,
        warnings: start.diags,
        publication: start.publication,
        consent: consent_note(&start.project),
        elapsed_ms: started.elapsed().as_millis(),
    };
    print_run_summary(cli, &summary);
    Ok(exit::OK)
}

type Hashing = Option<std::thread::JoinHandle<Result<Vec<publish::InputFile>>>>;

/// A run holding the lock: its working copy of the database, how it publishes, and what the
/// manifest row records.
struct LockedRun<'a> {
    cli: &'a Cli,
    args: &'a RunArgs,
    start: RunStart,
    notes: Vec<String>,
    copy: publish::WorkingCopy,
    conn: duckdb::Connection,
    mode: publish::mode::Publication,
    staged: Plan,
    run_id: String,
    run_started: String,
    /// Input files are hashed on another thread while DuckDB computes; the manifest row waits for it.
    hashing: RefCell<Hashing>,
    /// The hashes, once waited for.
    hashed: RefCell<Option<Vec<publish::InputFile>>>,
    /// How the source scans are computed (incrementally or in full, and why).
    scans: super::incremental::Outcome,
    source_rows: Vec<(String, i64)>,
    problems: Vec<String>,
    /// The models' fits, recorded in `model_fits`.
    fits: Vec<execute::models::ModelFit>,
}

/// What the publishing transaction made: the staged export files, and a backfill's sizes.
type Committed = (Option<publish::exports::StagedExports>, Option<crate::report::Sizes>);

impl<'a> LockedRun<'a> {
    /// Copy and open the database, decide how the run publishes and compile its staged plan.
    fn open(cli: &'a Cli, args: &'a RunArgs, mut start: RunStart, takeover: Option<String>) -> Result<Self> {
        let mut notes: Vec<String> = start.diags.iter().filter(|d| d.severity == Severity::Warning).map(|d| d.to_string()).collect();
        if let Some(note) = takeover {
            if cli.format == Format::Text {
                eprintln!("warning: {note}");
            }
            start.diags.push(Diagnostic::warning("W020", crate::diagnostics::Loc::file(&start.db_display), note.clone()));
            notes.push(note);
        }
        // Under the lock no other run writes exports: what a dead run left there goes.
        publish::exports::clean_stale(&start.project);
        // Everything below writes a copy of the database; only a commit renames it into place.
        let copy = publish::WorkingCopy::create(&start.db_path, &start.db_display)?;
        let conn = copy.open(&start.settings)?;
        let db_err = |e: duckdb::Error| Error::Database { path: start.db_display.clone(), message: execute::first_line(&e.to_string()) };
        conn.execute_batch(&publish::Manifest::create_sql(&crate::compile::dialect::DuckDb)?).map_err(db_err)?;
        let selected = !args.select.select.is_empty() || !args.select.exclude.is_empty();
        let mode = publish::mode::Publication::decide(publish::mode::Published::read(&conn)?, &start.resolved.as_of, selected)?;
        let staged = staged_plan(&start, &mode)?;
        let run_started = publish::utc_now();
        let run_id = format!("{}-{}", run_started, std::process::id());
        let hashing = RefCell::new(Some(publish::hash_input_files(publish::list_input_files(&conn, &start.resolved)?)?));
        start.publication = mode.note();
        Ok(LockedRun { cli, args, start, notes, copy, conn, mode, staged, run_id, run_started, hashing, hashed: RefCell::new(None), scans: Default::default(), source_rows: Vec::new(), problems: Vec::new(), fits: Vec::new() })
    }

    /// The run's manifest row, with the process's peak memory so far (the run's, at its end).
    fn record(&self, status: &str, inputs: &[publish::InputFile], row_counts: &[(String, i64)], error: Option<&str>) -> String {
        let forced = self.args.force && !(self.problems.is_empty() && self.start.lost.is_empty());
        let s = &self.start;
        let row = publish::Manifest::insert_sql(
            &self.run_id, &s.resolved.as_of, &self.run_started, status, forced, &s.definition_hash, inputs, &self.source_rows, row_counts, &self.notes, error,
        );
        format!("{row};\n{}", publish::Manifest::peak_memory_sql(&self.run_id, execute::peak_resident_kib()))
    }

    fn inputs(&self) -> Result<Vec<publish::InputFile>> {
        if let Some(files) = self.hashed.borrow().as_ref() {
            return Ok(files.clone());
        }
        let files = publish::join_hashing(&mut self.hashing.borrow_mut())?;
        *self.hashed.borrow_mut() = Some(files.clone());
        Ok(files)
    }

    /// Decide how each source scan is computed: brought up to date from the state the last run
    /// left where that is exact, else in full (see `app::incremental`).
    fn plan_scans(&mut self, mark: &dyn Fn(&str)) -> Result<()> {
        if !matches!(self.mode, publish::mode::Publication::Full) {
            super::incremental::keep_state(&mut self.staged);
            return Ok(());
        }
        let saved = publish::state::read(&self.conn)?;
        let had_state = saved.is_some();
        let files = if had_state && !self.args.full { self.inputs()? } else { Vec::new() };
        let (cli, start) = (self.cli, &self.start);
        let select = SelectArgs { all_features: true, ..self.args.select.clone() };
        let at_saved = |as_of: &str| -> std::result::Result<Plan, String> {
            let select = SelectArgs { as_of: Some(as_of.to_string()), ..select.clone() };
            let (_, resolved, _) = load_and_resolve(cli, &select, Schemas::Known(start.schemas.clone())).map_err(|e| execute::first_line(&e.to_string()))?;
            Ok(crate::compile::compile_staged(&resolved))
        };
        let inputs = super::incremental::Inputs { resolved: &start.resolved, saved, files: &files, at_saved: &at_saved, forced: self.args.full };
        self.scans = super::incremental::prepare(&mut self.staged, inputs);
        // A first run has nothing to say; after one, every scan computed in full says why on
        // stderr (but a table source's, every run), and the manifest keeps it all.
        if had_state {
            if self.cli.format == Format::Text && !self.cli.quiet {
                for reason in &self.scans.full {
                    eprintln!("note: full scan: {reason}");
                }
            }
            for note in self.scans.notes() {
                tracing::info!(%note, "scans");
                self.notes.push(note);
            }
        }
        mark("plan the scans (state of the last run, input hashes)");
        Ok(())
    }

    /// The data-quality gates (a blocked run is recorded and published as such) and the bind
    /// check.
    fn check(mut self, mark: &dyn Fn(&str)) -> Result<Self> {
        self.source_rows = publish::source_rows(&self.conn, &self.start.resolved)?;
        mark("count source rows (gates)");
        let project = &self.start.project;
        let max_drop = project.config.settings.max_row_drop_pct.unwrap_or(50.0);
        self.problems = publish::gates::check(&self.source_rows, &publish::Manifest::last_source_rows(&self.conn), max_drop);
        self.problems.extend(publish::keys::check(&self.conn, project)?);
        publish::keys::unparsed_values(&self.conn, project)?;
        if !self.problems.is_empty() && !self.args.force {
            let files = self.inputs()?;
            let row = self.record("blocked", &files, &[], Some(&self.problems.join("; ")));
            self.copy.publish_record(self.conn, &row);
            return Err(Error::Gates(self.problems));
        }
        let overridden: Vec<String> = if self.args.force { self.start.lost.iter().chain(&self.problems).cloned().collect() } else { Vec::new() };
        for p in overridden {
            if self.cli.format == Format::Text {
                eprintln!("warning: gate overridden by --force: {p}");
            }
            self.notes.push(format!("gate overridden by --force: {p}"));
        }
        // Type errors are definition errors (exit 2, with a location), found before the data is
        // computed; checked after the gates, since an empty file has no column types to bind.
        let mut bind = execute::bind_check(&self.start.plan, &self.start.resolved, &self.start.settings)?;
        if !bind.is_empty() {
            crate::diagnostics::attach_snippets(&mut bind, &project.root);
            return Err(Error::Definitions(bind));
        }
        mark("bind check");
        publish::migrate_history(&self.conn)?;
        self.fits = execute::models::fit_models(&self.conn, &self.start.resolved)?;
        for fit in self.fits.iter().filter(|f| f.status != "fitted") {
            let note = format!("model '{}' not fitted: {}; its features are NULL", fit.model, fit.message.as_deref().unwrap_or("no fit"));
            if self.cli.format == Format::Text {
                eprintln!("{}: warning[W040]: {note}", fit.origin);
            }
            self.start.diags.push(Diagnostic::warning("W040", crate::diagnostics::Loc::from_origin(&fit.origin), note.clone()));
            self.notes.push(note);
        }
        if !self.fits.is_empty() {
            mark("fit models");
        }
        self.plan_scans(mark)?;
        Ok(self)
    }

    /// Run the staged plan; the publishing transaction also writes the manifest row and stages
    /// the exports.
    fn compute(&self, mark: &dyn Fn(&str)) -> Result<Committed> {
        // The step running now; a step ends when the next one (or the pre-commit work) starts.
        let step_label = RefCell::new(String::new());
        let end_step = || {
            let label = std::mem::take(&mut *step_label.borrow_mut());
            if !label.is_empty() {
                mark(&format!("step {label}"));
            }
        };
        let mut committed: Committed = (None, None);
        run_with_progress(
            self.cli,
            &self.conn,
            &self.staged,
            &mut |label| {
                end_step();
                if label == execute::COMMIT_STEP {
                    mark("write the run manifest");
                } else {
                    *step_label.borrow_mut() = label.to_string();
                }
            },
            &mut |c| {
                end_step();
                committed = self.before_commit(c, mark)?;
                Ok(())
            },
        )?;
        Ok(committed)
    }

    /// Inside the publishing transaction: row counts, staged exports, the manifest row.
    fn before_commit(&self, c: &duckdb::Connection, mark: &dyn Fn(&str)) -> Result<Committed> {
        let (s, mode) = (&self.start, &self.mode);
        let db_err = |e: duckdb::Error| Error::Database { path: s.db_display.clone(), message: execute::first_line(&e.to_string()) };
        let backfill = matches!(mode, publish::mode::Publication::Backfill { .. });
        let counts = publish_counts(c, if backfill { crate::compile::dialect::STAGE_PREFIX } else { "" })?;
        mark("count published rows");
        // Exports read the tables as this transaction publishes them; a failure fails the run.
        let computed = crate::compile::outputs::segment_names(&s.resolved);
        let exported = match mode {
            // A backfill publishes no table, so there is nothing new to export.
            publish::mode::Publication::Backfill { .. } => None,
            publish::mode::Publication::Partial(_) => Some(publish::exports::stage_exports(c, &s.project, &s.resolved, Some(&computed))?),
            publish::mode::Publication::Full => Some(publish::exports::stage_exports(c, &s.project, &s.resolved, None)?),
        };
        mark("exports (staged)");
        let sizes = if backfill { Some(crate::report::read_sizes_from(c, &crate::compile::dialect::Staged::of(&crate::compile::dialect::DuckDb))?) } else { None };
        let files = self.inputs()?;
        mark("wait for input hashing");
        c.execute_batch(&self.record("ok", &files, &counts, None)).map_err(db_err)?;
        if let Some(exported) = &exported {
            c.execute_batch(&publish::Manifest::exports_sql(&self.run_id, &exported.files)).map_err(db_err)?;
        }
        c.execute_batch(&publish::Manifest::columns_sql(&self.run_id, &s.source_columns)).map_err(db_err)?;
        if !self.fits.is_empty() {
            c.execute_batch(&publish::model_fits_sql(&s.resolved.as_of, &self.fits)).map_err(db_err)?;
        }
        if matches!(mode, publish::mode::Publication::Full) {
            self.save_state(c, &files)?;
        }
        // After the history steps: every send is measured against the memberships on its date.
        if let Some(campaigns) = &s.resolved.campaigns {
            crate::campaigns::measure::publish(c, campaigns, &s.resolved.as_of)?;
            mark("measure campaigns");
        }
        Ok((exported, sizes))
    }

    /// Record the state the next run starts from: the scans' SQL and the files they read; the
    /// state tables of scans the definitions no longer have go.
    fn save_state(&self, c: &duckdb::Connection, files: &[publish::InputFile]) -> Result<()> {
        let scans: Vec<(String, String, String)> = self
            .staged
            .steps
            .iter()
            .filter_map(|s| Some((s.target.clone(), s.state.as_ref()?.source.clone(), s.select.clone()?)))
            .collect();
        let stale: Vec<String> = publish::state::state_tables(c)?.into_iter().filter(|t| !scans.iter().any(|(s, _, _)| s == t)).collect();
        c.execute_batch(&publish::state::save_sql(&self.start.resolved.as_of, &scans, files, &stale))
            .map_err(|e| Error::Database { path: self.start.db_display.clone(), message: execute::first_line(&e.to_string()) })
    }

    /// Rename the working copy over the database and move the exports into place; a failed
    /// computation is recorded instead.
    fn publish(self, computed: Result<Committed>, mark: &dyn Fn(&str)) -> Result<(RunStart, Vec<publish::exports::ExportedFile>, crate::report::Sizes)> {
        let (staged_exports, backfill_sizes) = match computed {
            Ok(c) => c,
            Err(e) => {
                // The plan rolled back and dropped its staging tables; record the failure only.
                let files = self.inputs().unwrap_or_default();
                let row = self.record("failed", &files, &[], Some(&e.to_string()));
                self.copy.publish_record(self.conn, &row);
                return Err(e);
            }
        };
        // PostgreSQL first: if it fails, the working copy is dropped and DuckDB stays as it was.
        if let Some(target) = publish::postgres::Target::of(&self.start.project, &self.start.resolved.pii) {
            let backfill = matches!(self.mode, publish::mode::Publication::Backfill { .. });
            if let Err(e) = publish::postgres::publish(&self.conn, &target, &self.start.resolved.as_of, backfill) {
                staged_exports.iter().for_each(publish::exports::StagedExports::discard);
                return Err(e);
            }
            mark("publish to PostgreSQL (copy to staging, swap in one transaction)");
        }
        if let Err(e) = self.copy.publish(self.conn) {
            staged_exports.iter().for_each(publish::exports::StagedExports::discard);
            return Err(e);
        }
        mark("publish (checkpoint, rename over the database)");
        let exports = match staged_exports {
            Some(staged) => staged.promote()?,
            None => Vec::new(),
        };
        mark("exports (moved into place)");
        let sizes = match backfill_sizes {
            Some(sizes) => sizes,
            None => crate::report::read_sizes(&execute::open_read_only(&self.start.db_path)?)?,
        };
        Ok((self.start, exports, sizes))
    }
}

/// The statements of a run: every table written under its staging name, published as the
/// run's date and selection allow (see publish::mode), then the history.
fn staged_plan(start: &RunStart, mode: &publish::mode::Publication) -> Result<Plan> {
    let resolved = &start.resolved;
    let mut staged = crate::compile::compile_staged(resolved);
    staged.publish = mode.statements(&staged.outputs());
    staged.prepare = mode.prepare(resolved, &staged.outputs())?;
    let history_from: &dyn crate::compile::dialect::Dialect = match mode {
        publish::mode::Publication::Backfill { .. } => &crate::compile::dialect::Staged::of(&crate::compile::dialect::DuckDb),
        _ => &crate::compile::dialect::DuckDb,
    };
    staged.steps.extend(publish::history_steps(resolved, start.project.config.output.history_days, history_from));
    Ok(staged)
}

/// Row counts of the tables this run computed, for the manifest: the published ones, or a
/// backfill's staged ones (`prefix` is then the staging prefix).
fn publish_counts(conn: &duckdb::Connection, prefix: &str) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for table in ["customer_features", "segment_members", "tier_assignments"] {
        let name = format!("{prefix}{table}");
        if execute::table_exists(conn, &name)? {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {}", crate::compile::dialect::Dialect::ident(&crate::compile::dialect::DuckDb, &name)), [], |r| r.get(0))
                .map_err(|e| Error::Step { step: "manifest".into(), message: execute::first_line(&e.to_string()) })?;
            out.push((table.to_string(), n));
        }
    }
    Ok(out)
}

/// What the run summary says about consent when an export names a channel.
fn consent_note(project: &Project) -> Option<String> {
    let consent = project.config.consent.as_ref()?;
    project.config.output.exports.iter().any(|e| e.channel.is_some()).then(|| match consent.without_row {
        crate::project::model::WithoutRow::NotContactable => {
            "consent: customers without a consent row for a channel are not contactable on it (consent.without_row)".to_string()
        }
        crate::project::model::WithoutRow::Contactable => {
            "consent: customers without a consent row for a channel ARE contactable on it (consent.without_row: contactable)".to_string()
        }
    })
}

fn run_with_progress(
    cli: &Cli,
    conn: &duckdb::Connection,
    plan: &Plan,
    on_step: &mut dyn FnMut(&str),
    before_commit: &mut dyn FnMut(&duckdb::Connection) -> Result<()>,
) -> Result<()> {
    let show = !cli.quiet && cli.format == Format::Text && std::io::stderr().is_terminal();
    if !show {
        return execute::run_plan_then(conn, plan, &mut |_, _, label| on_step(label), before_commit);
    }
    let bar = progress_bar(plan.steps.len() as u64);
    let result = execute::run_plan_then(
        conn,
        plan,
        &mut |i, _, label| {
            on_step(label);
            bar.set_position(i as u64);
            bar.set_message(label.to_string());
        },
        before_commit,
    );
    bar.finish_and_clear();
    result
}
