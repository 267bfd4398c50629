//! The commands: each runs the pipeline up to its stage and prints the result.
//! `validate` stops after validate, `compile` after compile, `run` goes through publish.

use crate::cli::{Cli, Command, DiffArgs, ExplainArgs, Format, GenerateArgs, ReportArgs, ReportFormat, RunArgs, SelectArgs};
use crate::compile::{compile, Plan};
use crate::diagnostics::{Diagnostic, Severity};
use crate::error::{exit, Error, Result};
use crate::execute::{self, EngineSettings};
use crate::project::{resolve, Project};
use crate::publish;
use crate::report::RunSummary;
use crate::validate::{self, ResolveOptions, Resolved};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

mod run_spark;

/// Run the parsed command line; returns the process exit code. Output goes to stdout/stderr.
pub fn main_with(cli: Cli) -> i32 {
    init_logging(cli.log_level());
    let result = match &cli.command {
        Command::Run(args) => cmd_run(&cli, args),
        Command::Compile(args) => cmd_compile(&cli, args),
        Command::Validate(args) => cmd_validate(&cli, args),
        Command::Report(args) => cmd_report(&cli, args),
        Command::Explain(args) => cmd_explain(&cli, args),
        Command::Diff(args) => cmd_diff(&cli, args),
        Command::Test { junit } => cmd_test(&cli, junit.as_deref()),
        Command::Schema { kind } => {
            print!("{}", match kind {
                crate::cli::SchemaKind::Project => crate::project::schema::project(),
                crate::cli::SchemaKind::Definitions => crate::project::schema::definitions(),
            });
            Ok(exit::OK)
        }
        Command::Generate(args) => cmd_generate(&cli, args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "segmenter", &mut std::io::stdout());
            Ok(exit::OK)
        }
        Command::Man => {
            let page = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            page.render(&mut std::io::stdout())
                .map(|()| exit::OK)
                .map_err(|e| Error::Io { context: "writing the manual page".into(), source: e })
        }
        Command::Init { dir } => cmd_init(&cli, dir),
    };
    // Whatever a stopped run's last query said, it stopped because of the signal.
    let result = match (result, crate::signals::received()) {
        (Err(_), Some(signal)) => Err(Error::Interrupted { signal }),
        (other, _) => other,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            print_error(&cli, &e);
            e.exit_code()
        }
    }
}

fn print_error(cli: &Cli, e: &Error) {
    let diags = match e {
        Error::Definitions(d) => d.clone(),
        _ => Vec::new(),
    };
    if cli.format == Format::Json {
        let v = serde_json::json!({ "status": "error", "exit_code": e.exit_code(), "message": e.to_string(), "diagnostics": diags });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    // `validate` shows the offending line under each problem; other commands keep one line each.
    let with_snippets = matches!(cli.command, Command::Validate(_));
    for d in &diags {
        if with_snippets {
            eprintln!("{}", d.with_snippet_lines());
        } else {
            eprintln!("{d}");
        }
    }
    eprintln!("error: {e}");
}

fn print_warnings(cli: &Cli, diags: &[Diagnostic]) {
    if cli.format == Format::Text {
        for d in diags.iter().filter(|d| d.severity == Severity::Warning) {
            eprintln!("{d}");
        }
    }
}

/// Load and validate; `describe` reads source schemas through DuckDB (column checks).
/// Where validation gets the sources' column names from.
pub enum Schemas {
    /// Do not read the data files (definitions only).
    Skip,
    /// Read every source's schema now.
    Read,
    /// Already read by the caller (`run` reads them once, for the column gate).
    Known(BTreeMap<String, validate::SourceSchema>),
}

pub fn load_and_resolve(cli: &Cli, args: &SelectArgs, describe: Schemas) -> Result<(Project, Resolved, Vec<Diagnostic>)> {
    load_and_resolve_at(&cli.project, &cli.environment(), args, describe, |_| {})
}

/// [`load_and_resolve`] for any project folder; `patch` may adjust the loaded project first.
fn load_and_resolve_at(
    root: &std::path::Path,
    env: &crate::project::Environment,
    args: &SelectArgs,
    describe: Schemas,
    patch: impl FnOnce(&mut Project),
) -> Result<(Project, Resolved, Vec<Diagnostic>)> {
    let loaded = crate::project::load_project_in(root, env);
    let mut diags = loaded.diagnostics;
    let Some(mut project) = loaded.project else {
        crate::diagnostics::attach_snippets(&mut diags, root);
        return Err(Error::Definitions(diags));
    };
    if diags.iter().any(Diagnostic::is_error) {
        crate::diagnostics::sort(&mut diags);
        crate::diagnostics::attach_snippets(&mut diags, root);
        return Err(Error::Definitions(diags));
    }
    patch(&mut project);
    let (schemas, bad_types) = match describe {
        Schemas::Skip => (None, Default::default()),
        Schemas::Read | Schemas::Known(_) => {
            let conn = execute::open(None, &EngineSettings { access: execute::Access::project(&project), ..Default::default() })?;
            let schemas = match describe {
                Schemas::Known(known) => known,
                _ => execute::describe_sources(&conn, &project),
            };
            (Some(schemas), execute::unknown_types(&conn, &project))
        }
    };
    let opts = ResolveOptions {
        as_of: args.as_of.clone(),
        vars: args.vars.clone(),
        select: args.select.clone(),
        exclude: args.exclude.clone(),
        schemas,
        bad_types,
        all_features: args.all_features,
        engine: env.engine.unwrap_or(project.config.engine),
    };
    let outcome = validate::resolve(&project, &opts);
    diags.extend(outcome.diagnostics);
    crate::diagnostics::attach_snippets(&mut diags, root);
    match outcome.resolved {
        Some(r) => Ok((project, r, diags)),
        None => Err(Error::Definitions(diags)),
    }
}

fn cmd_validate(cli: &Cli, args: &SelectArgs) -> Result<i32> {
    let (project, resolved, mut diags) = load_and_resolve(cli, args, Schemas::Read)?;
    let plan = compile(&resolved);
    // Every generated statement must bind in DuckDB (types, functions); nothing is computed.
    let mut bind = execute::bind_check(&plan, &resolved, &execute::Access::project(&project))?;
    if !bind.is_empty() {
        crate::diagnostics::attach_snippets(&mut bind, &project.root);
        diags.extend(bind);
        crate::diagnostics::sort(&mut diags);
        return Err(Error::Definitions(diags));
    }
    if cli.format == Format::Json {
        let v = serde_json::json!({
            "status": "ok",
            "segments": resolved.segments.len(),
            "tiers": resolved.tiers.len(),
            "scores": resolved.scores.len(),
            "features": resolved.features.len(),
            "steps": plan.steps.len(),
            "diagnostics": diags,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print_warnings(cli, &diags);
        if !cli.quiet {
            println!(
                "ok: {} features, {} segments, {} tier ladders, {} scores ({} warnings)",
                resolved.features.len(),
                resolved.segments.len(),
                resolved.tiers.len(),
                resolved.scores.len(),
                diags.len()
            );
        }
    }
    Ok(exit::OK)
}

fn cmd_compile(cli: &Cli, args: &SelectArgs) -> Result<i32> {
    let (project, resolved, diags) = load_and_resolve(cli, args, Schemas::Skip)?;
    print_warnings(cli, &diags);
    if cli.engine.unwrap_or(project.config.engine) == crate::project::model::Engine::Spark {
        let plan = crate::compile::compile_with(&resolved, crate::compile::dialect::SparkSql::of(project.config.spark.format));
        print_plan(cli, &resolved, &plan, &crate::compile::spark_sources(&resolved));
        return Ok(exit::OK);
    }
    // Everything `run` executes, history included (not the renames and the manifest row).
    let mut plan = compile(&resolved);
    plan.steps.extend(publish::history_steps(&resolved, project.config.output.history_days, &crate::compile::dialect::DuckDb));
    print_plan(cli, &resolved, &plan, &[]);
    Ok(exit::OK)
}

/// A plan as text or, with `--format json`, as its steps; a Spark plan also says how it reads
/// its sources (`sources`, none for DuckDB, whose plan reads the files itself).
fn print_plan(cli: &Cli, resolved: &Resolved, plan: &crate::compile::Plan, sources: &[crate::compile::SparkSource]) {
    if cli.format == Format::Json {
        let steps: Vec<_> = plan.steps.iter().map(|s| serde_json::json!({ "label": s.label, "target": s.target, "scratch": s.scratch, "before": s.before, "sql": s.sql })).collect();
        let mut doc = serde_json::json!({ "as_of": plan.as_of, "steps": steps });
        if !sources.is_empty() {
            doc["sources"] = serde_json::json!(sources);
        }
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let preamble = crate::compile::spark_sources_comment(sources);
        print!("-- segmenter plan for '{}' as of {}\n\n{preamble}{}", resolved.name, plan.as_of, plan.script());
    }
}

/// Every source's schema now (schema reads only), and the columns lost since the last
/// successful run recorded in the output database.
fn column_gate(cli: &Cli) -> Result<(BTreeMap<String, validate::SourceSchema>, Vec<String>)> {
    let Some(project) = crate::project::load_project_in(&cli.project, &cli.environment()).project else { return Ok((BTreeMap::new(), Vec::new())) };
    let conn = execute::open(None, &EngineSettings { access: execute::Access::project(&project), ..Default::default() })?;
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
    done: Vec<(String, f64)>,
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
            self.done.push((label.to_string(), seconds));
        }
        self.last = now;
    }

    fn print(&self) {
        if self.on {
            let total: f64 = self.done.iter().map(|(_, t)| t).sum();
            eprintln!("timings:");
            for (label, t) in &self.done {
                eprintln!("  {t:8.3}s {:5.1}%  {label}", 100.0 * t / total.max(1e-9));
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
    let (project, resolved, diags) = load_and_resolve(cli, &select, Schemas::Known(schemas))?;
    mark("load and validate definitions");
    print_warnings(cli, &diags);
    let plan = compile(&resolved);
    let definition_hash = publish::definition_hash(&plan.script());
    mark("compile");
    let settings = EngineSettings {
        threads: args.threads.or(project.config.settings.threads),
        memory_limit: args.memory_limit.clone().or_else(|| project.config.settings.memory_limit.clone()),
        access: execute::Access::project(&project),
    };
    // Through a symlink too: every name of the file takes the same lock, and the publish renames
    // over the file itself instead of replacing the link.
    let db_path = publish::real_database_path(&resolve(&project.root, &project.config.output.database));
    let db_display = project.config.output.database.clone();
    Ok(RunStart { project, resolved, diags, plan, definition_hash, settings, db_path, db_display, lost, source_columns })
}

fn cmd_run(cli: &Cli, args: &RunArgs) -> Result<i32> {
    if cli.engine.unwrap_or(crate::project::load_project_in(&cli.project, &cli.environment()).project.map_or(Default::default(), |p| p.config.engine))
        == crate::project::model::Engine::Spark
    {
        return run_spark::cmd_run_spark(cli, args);
    }
    let started = Instant::now();
    let phases = std::cell::RefCell::new(Phases::new(args.timings));
    let mark = |label: &str| phases.borrow_mut().mark(label);
    let RunStart { project, resolved, mut diags, plan, definition_hash, settings, db_path, db_display, lost, source_columns } =
        start_run(cli, args, &mark)?;
    // One writer at a time; released when `_lock` drops, also on errors.
    // From here a SIGINT/SIGTERM stops the run as an error would: rolled back, cleaned up and
    // unlocked (taken before the lock, so no signal can leave a lock file behind).
    let stop_on_signal = crate::signals::RunGuard::new();
    let (_lock, takeover) = publish::RunLock::acquire(&db_path, &db_display)?;
    let mut notes: Vec<String> = diags.iter().filter(|d| d.severity == Severity::Warning).map(|d| d.to_string()).collect();
    if let Some(note) = takeover {
        if cli.format == Format::Text {
            eprintln!("warning: {note}");
        }
        diags.push(Diagnostic::warning("W020", crate::diagnostics::Loc::file(&db_display), note.clone()));
        notes.push(note);
    }
    // Under the lock no other run writes exports: what a dead run left there goes.
    publish::exports::clean_stale(&project);
    // Everything below writes a copy of the database; only a commit renames it into place.
    let copy = publish::WorkingCopy::create(&db_path, &db_display)?;
    let conn = copy.open(&settings)?;
    stop_on_signal.watch(conn.interrupt_handle());
    let db_err = |e: duckdb::Error| Error::Database { path: db_display.clone(), message: execute::first_line(&e.to_string()) };
    conn.execute_batch(publish::Manifest::CREATE).map_err(db_err)?;
    conn.execute_batch(publish::Manifest::MIGRATE).map_err(db_err)?;
    // What runs: the same statements writing staging tables, published as the run's date and
    // selection allow (see publish::mode), then the history.
    let selected = !args.select.select.is_empty() || !args.select.exclude.is_empty();
    let mode = publish::mode::Publication::decide(publish::mode::Published::read(&conn)?, &resolved.as_of, selected)?;
    let mut staged = crate::compile::compile_staged(&resolved);
    staged.publish = mode.statements(&resolved, &staged.outputs());
    staged.prepare = mode.prepare(&resolved, &staged.outputs());
    let history_from: &dyn crate::compile::dialect::Dialect = match mode {
        publish::mode::Publication::Backfill { .. } => &crate::compile::dialect::Staged::of(&crate::compile::dialect::DuckDb),
        _ => &crate::compile::dialect::DuckDb,
    };
    staged.steps.extend(publish::history_steps(&resolved, project.config.output.history_days, history_from));
    let run_started = publish::utc_now();
    let run_id = format!("{}-{}", run_started, std::process::id());
    // Input files are hashed on another thread while DuckDB computes; the manifest row waits for it.
    let mut hashing = Some(publish::hash_input_files(publish::list_input_files(&conn, &resolved)?)?);
    let inputs = publish::join_hashing;
    mark("lock, copy and open the database, start hashing inputs");
    let source_rows = publish::source_rows(&conn, &resolved)?;
    mark("count source rows (gates)");
    let max_drop = project.config.settings.max_row_drop_pct.unwrap_or(50.0);
    let mut problems = publish::gates::check(&source_rows, &publish::Manifest::last_source_rows(&conn), max_drop);
    problems.extend(publish::keys::check(&conn, &project)?);
    publish::keys::unparsed_values(&conn, &project)?;
    // The run's row, with the process's peak memory so far (the run's, at its end).
    let record = |status: &str, inputs: &[publish::InputFile], row_counts: &[(String, i64)], notes: &[String], error: Option<&str>| {
        let row = publish::Manifest::insert_sql(
            &run_id, &resolved.as_of, &run_started, status, args.force && !(problems.is_empty() && lost.is_empty()), &definition_hash,
            inputs, &source_rows, row_counts, notes, error,
        );
        format!("{row};\n{}", publish::Manifest::peak_memory_sql(&run_id, execute::peak_resident_kib()))
    };
    if !problems.is_empty() && !args.force {
        let files = inputs(&mut hashing)?;
        copy.publish_record(conn, &record("blocked", &files, &[], &notes, Some(&problems.join("; "))));
        return Err(Error::Gates(problems));
    }
    let problems: Vec<String> = if args.force { lost.iter().chain(problems.iter()).cloned().collect() } else { problems.clone() };
    if !problems.is_empty() {
        for p in &problems {
            if cli.format == Format::Text {
                eprintln!("warning: gate overridden by --force: {p}");
            }
            notes.push(format!("gate overridden by --force: {p}"));
        }
    }
    // Type errors are definition errors (exit 2, with a location), found before the data is
    // computed; checked after the gates, since an empty file has no column types to bind.
    let mut bind = execute::bind_check(&plan, &resolved, &execute::Access::project(&project))?;
    if !bind.is_empty() {
        crate::diagnostics::attach_snippets(&mut bind, &project.root);
        return Err(Error::Definitions(bind));
    }
    mark("bind check");
    publish::migrate_history(&conn)?;
    // The step running now; a step ends when the next one (or the pre-commit work) starts.
    let step_label = std::cell::RefCell::new(String::new());
    let end_step = || {
        let label = std::mem::take(&mut *step_label.borrow_mut());
        if !label.is_empty() {
            mark(&format!("step {label}"));
        }
    };
    let staged_exports: std::cell::RefCell<Option<publish::exports::StagedExports>> = Default::default();
    let backfill_sizes: std::cell::RefCell<Option<crate::report::Sizes>> = Default::default();
    let outcome = run_with_progress(
        cli,
        &conn,
        &staged,
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
            let backfill = matches!(mode, publish::mode::Publication::Backfill { .. });
            let counts = publish_counts(c, if backfill { crate::compile::dialect::STAGE_PREFIX } else { "" })?;
            mark("count published rows");
            // Exports read the tables as this transaction publishes them; a failure fails the run.
            let computed = crate::compile::outputs::segment_names(&resolved);
            let exported = match &mode {
                // A backfill publishes no table, so there is nothing new to export.
                publish::mode::Publication::Backfill { .. } => None,
                publish::mode::Publication::Partial(_) => Some(publish::exports::stage_exports(c, &project, &resolved, Some(&computed))?),
                publish::mode::Publication::Full => Some(publish::exports::stage_exports(c, &project, &resolved, None)?),
            };
            mark("exports (staged)");
            if backfill {
                *backfill_sizes.borrow_mut() = Some(crate::report::read_sizes_from(c, &crate::compile::dialect::Staged::of(&crate::compile::dialect::DuckDb))?);
            }
            let files = inputs(&mut hashing)?;
            mark("wait for input hashing");
            c.execute_batch(&record("ok", &files, &counts, &notes, None)).map_err(db_err)?;
            if let Some(exported) = exported {
                c.execute_batch(&publish::Manifest::exports_sql(&run_id, &exported.files)).map_err(db_err)?;
                *staged_exports.borrow_mut() = Some(exported);
            }
            c.execute_batch(&publish::Manifest::columns_sql(&run_id, &source_columns)).map_err(db_err)
        },
    );
    mark("commit");
    let staged_exports = staged_exports.into_inner();
    if let Err(e) = outcome {
        staged_exports.iter().for_each(publish::exports::StagedExports::discard);
        // The plan rolled back and dropped its staging tables; record the failure only.
        let files = inputs(&mut hashing).unwrap_or_default();
        copy.publish_record(conn, &record("failed", &files, &[], &notes, Some(&e.to_string())));
        return Err(e);
    }
    if let Err(e) = copy.publish(conn) {
        staged_exports.iter().for_each(publish::exports::StagedExports::discard);
        return Err(e);
    }
    mark("publish (checkpoint, rename over the database)");
    let exports = match staged_exports {
        Some(staged) => staged.promote()?,
        None => Vec::new(),
    };
    mark("exports (moved into place)");
    let (customers, segments, tiers) = match backfill_sizes.into_inner() {
        Some(sizes) => sizes,
        None => crate::report::read_sizes(&execute::open_read_only(&db_path)?)?,
    };
    mark("summary");
    phases.borrow().print();
    let summary = RunSummary {
        status: "ok",
        project: resolved.name.clone(),
        as_of: resolved.as_of.clone(),
        database: db_display,
        customers,
        segments,
        tiers,
        skipped: resolved.skipped.clone(),
        exports,
        warnings: diags,
        publication: mode.note(),
        consent: consent_note(&project),
        elapsed_ms: started.elapsed().as_millis(),
    };
    print_run_summary(cli, &summary);
    Ok(exit::OK)
}

fn print_run_summary(cli: &Cli, summary: &RunSummary) {
    match cli.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default()),
        Format::Text if !cli.quiet => print!("{}", summary.to_text()),
        Format::Text => {}
    }
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

/// Log lines (tracing) on stderr at `level`: phases and steps at info, their SQL at debug.
fn init_logging(level: crate::cli::LogLevel) {
    use crate::cli::LogLevel;
    let max = match level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    };
    // A second call (tests running main_with twice in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_max_level(max).with_writer(std::io::stderr).with_target(false).try_init();
}

/// A progress bar of `len` steps on stderr (for a terminal; callers decide whether to show it).
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
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

/// The document to write: `--to`, or JSON with `--format json` (which `--to` may repeat but
/// not contradict).
fn document<T: PartialEq + Copy + clap::ValueEnum>(cli: &Cli, to: T, json: T, text: T) -> Result<T> {
    match (cli.format, to) {
        (Format::Json, to) if to == json || to == text => Ok(json),
        (Format::Json, to) => {
            let name = to.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
            Err(Error::Usage(format!("--format json prints JSON, and --to {name} asks for {name}: give one of them")))
        }
        (Format::Text, to) => Ok(to),
    }
}

fn cmd_report(cli: &Cli, args: &ReportArgs) -> Result<i32> {
    let loaded = crate::project::load_project_in(&cli.project, &cli.environment());
    let Some(project) = loaded.project else {
        return Err(Error::Definitions(loaded.diagnostics));
    };
    let db_path = resolve(&project.root, &project.config.output.database);
    let db_display = project.config.output.database.clone();
    if !db_path.exists() {
        return Err(Error::Usage(format!("{db_display} does not exist yet; run `segmenter run` first")));
    }
    let conn = execute::open_read_only(&db_path)?;
    let wants_all_pairs = args.to == ReportFormat::Html;
    let top = if wants_all_pairs { usize::MAX / 2 } else { args.top };
    let report = crate::report::analysis::build(&conn, &project.config.name, args.compare.as_deref(), top)?;
    let to = document(cli, args.to, ReportFormat::Json, ReportFormat::Text)?;
    let text = match to {
        ReportFormat::Text => crate::report::render::text(&report),
        ReportFormat::Markdown => crate::report::render::markdown(&report),
        ReportFormat::Html => crate::report::render::html(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    };
    match &args.out {
        Some(path) => {
            crate::publish::write_atomically(path, text.as_bytes())?;
            if !cli.quiet && cli.format == Format::Text {
                eprintln!("wrote {}", path.display());
            }
        }
        None => print!("{text}"),
    }
    Ok(exit::OK)
}

fn cmd_explain(cli: &Cli, args: &ExplainArgs) -> Result<i32> {
    let (project, resolved, _) = load_and_resolve(cli, &args.select, Schemas::Skip)?;
    let db_path = resolve(&project.root, &project.config.output.database);
    if !db_path.exists() {
        return Err(Error::Usage(format!("{} does not exist yet; run `segmenter run` first", project.config.output.database)));
    }
    let conn = execute::open_read_only(&db_path)?;
    // Features are kept for the published date only: another date cannot be explained.
    if let Some(asked) = &args.select.as_of {
        let published = publish::mode::Published::read(&conn)?.as_of.unwrap_or_default();
        if *asked != published {
            return Err(Error::Usage(format!(
                "explain shows the published result, which is for {published}; of {asked} only the memberships are kept \
                 (segment_members_history), not the features a rule reads: leave out --as-of"
            )));
        }
    }
    let e = crate::report::explain::explain(&conn, &resolved, &args.segment, &args.customer)?;
    match cli.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default()),
        Format::Text => print!("{}", e.to_text()),
    }
    Ok(exit::OK)
}

fn cmd_diff(cli: &Cli, args: &DiffArgs) -> Result<i32> {
    let (head, resolved, _) = load_and_resolve(cli, &args.select, Schemas::Read)?;
    let scratch = std::env::temp_dir().join(format!("segmenter-diff-{}", std::process::id()));
    let base_root = if std::path::Path::new(&args.base).is_dir() {
        std::path::PathBuf::from(&args.base)
    } else {
        checkout_definitions(&cli.project, &args.base, &scratch)?;
        scratch.clone()
    };
    // Both versions read the current data: the base keeps its own definitions and vars.
    let head_root = std::fs::canonicalize(&head.root).unwrap_or_else(|_| head.root.clone());
    let sources = head.config.sources.clone();
    let mut base_args = args.select.clone();
    base_args.as_of = Some(resolved.as_of.clone());
    let base = load_and_resolve_at(&base_root, &cli.environment(), &base_args, Schemas::Read, |p| {
        p.config.sources = sources
            .into_iter()
            .map(|(name, mut def)| {
                def.path = head_root.join(&def.path).to_string_lossy().to_string();
                (name, def)
            })
            .collect();
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let (_, base_resolved, _) = base.map_err(|e| match e {
        Error::Definitions(d) => Error::Usage(format!(
            "the base definitions ({}) do not validate:\n{}",
            args.base,
            d.iter().filter(|x| x.is_error()).map(|x| format!("  {x}")).collect::<Vec<_>>().join("\n")
        )),
        other => other,
    })?;
    let settings = EngineSettings {
        threads: head.config.settings.threads,
        memory_limit: head.config.settings.memory_limit.clone(),
        access: execute::Access::project(&head),
    };
    let d = crate::report::diff::diff(&args.base, &compile(&base_resolved), &compile(&resolved), args.samples, &settings)?;
    match document(cli, args.to, crate::cli::DiffFormat::Json, crate::cli::DiffFormat::Text)? {
        crate::cli::DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default()),
        crate::cli::DiffFormat::Markdown => print!("{}", d.to_markdown()),
        crate::cli::DiffFormat::Text => print!("{}", d.to_text()),
    }
    Ok(exit::OK)
}

/// Write the project file, segments/ and macros/ of git revision `rev` into `dest`.
fn checkout_definitions(project: &std::path::Path, rev: &str, dest: &std::path::Path) -> Result<()> {
    let git = |args: &[&str]| -> Result<Vec<u8>> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(project)
            .args(args)
            .output()
            .map_err(|e| Error::Io { context: "running git".into(), source: e })?;
        if !out.status.success() {
            return Err(Error::Usage(format!(
                "--base '{rev}' is neither a folder nor a git revision of this project ({})",
                String::from_utf8_lossy(&out.stderr).lines().next().map(str::trim).filter(|l| !l.is_empty()).unwrap_or("unknown revision")
            )));
        }
        Ok(out.stdout)
    };
    let prefix = String::from_utf8_lossy(&git(&["rev-parse", "--show-prefix"])?).trim().to_string();
    git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])?;
    let list = git(&[
        "ls-tree", "-r", "--name-only", "--full-tree", rev, "--",
        &format!("{prefix}{}", crate::project::PROJECT_FILE), &format!("{prefix}segments"), &format!("{prefix}macros"),
    ])?;
    let _ = std::fs::remove_dir_all(dest);
    for path in String::from_utf8_lossy(&list).lines() {
        let body = git(&["show", &format!("{rev}:{path}")])?;
        let target = dest.join(path.strip_prefix(&prefix).unwrap_or(path));
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io { context: format!("creating {}", dir.display()), source: e })?;
        }
        std::fs::write(&target, body).map_err(|e| Error::Io { context: format!("writing {}", target.display()), source: e })?;
    }
    Ok(())
}

fn cmd_test(cli: &Cli, junit: Option<&std::path::Path>) -> Result<i32> {
    // Definition errors stop everything (exit 2); data files are not needed for fixture tests.
    let (project, _, diags) = load_and_resolve(cli, &SelectArgs::default(), Schemas::Skip)?;
    print_warnings(cli, &diags);
    let report = crate::testing::run_all(&project)?;
    if let Some(path) = junit {
        publish::write_atomically(path, report.to_junit().as_bytes())?;
    }
    match cli.format {
        Format::Json => {
            let mut v = serde_json::to_value(&report).unwrap_or_default();
            v["status"] = serde_json::json!(if report.failed > 0 { "failed" } else { "ok" });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Text if !cli.quiet || report.failed > 0 => print!("{}", report.to_text()),
        Format::Text => {}
    }
    Ok(crate::testing::exit_code(&report))
}

fn cmd_generate(cli: &Cli, args: &GenerateArgs) -> Result<i32> {
    if !validate::is_iso_date(&args.as_of) {
        return Err(Error::Usage(format!("--as-of '{}' is not a date (YYYY-MM-DD)", args.as_of)));
    }
    let out = if args.out.is_absolute() { args.out.clone() } else { cli.project.join(&args.out) };
    let opts = match args.orders {
        Some(orders) => crate::generate::GenerateOptions {
            seed: args.seed,
            customers: (orders / 10).max(1),
            as_of: args.as_of.clone(),
            frequency: crate::generate::SCALE_FREQUENCY,
            all_parquet: true,
            memory_limit: args.memory_limit.clone(),
            threads: args.threads,
        },
        None => crate::generate::GenerateOptions { seed: args.seed, customers: args.customers, as_of: args.as_of.clone(), frequency: 1.0, all_parquet: false, memory_limit: args.memory_limit.clone(), threads: args.threads },
    };
    let show = !cli.quiet && cli.format == Format::Text && std::io::stderr().is_terminal();
    let bar = show.then(|| progress_bar(crate::generate::TABLES.len() as u64));
    let counts = crate::generate::generate(&out, &opts, &mut |i, _, name| {
        if let Some(bar) = &bar {
            bar.set_position(i as u64);
            bar.set_message(format!("writing {name}"));
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let counts = counts?;
    if !cli.quiet {
        match cli.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&counts).unwrap_or_default()),
            Format::Text => {
                for (file, rows) in &counts {
                    println!("{file}: {rows} rows");
                }
            }
        }
    }
    Ok(exit::OK)
}

fn cmd_init(cli: &Cli, dir: &std::path::Path) -> Result<i32> {
    let written = crate::init::init_project(dir)?;
    let next = format!("segmenter --project {} run && segmenter --project {} test", dir.display(), dir.display());
    match cli.format {
        Format::Json => println!("{}", serde_json::json!({ "status": "ok", "created": written, "next": next })),
        Format::Text if !cli.quiet => {
            for f in &written {
                println!("created {}", dir.join(f).display());
            }
            println!("\nnext: {next}");
        }
        Format::Text => {}
    }
    Ok(exit::OK)
}
