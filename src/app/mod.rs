//! The commands: each runs the pipeline up to its stage and prints the result.
//! `validate` stops after validate, `compile` after compile, `run` goes through publish.

use crate::cli::{Cli, Command, DiffArgs, ExplainArgs, Format, GenerateArgs, ReportArgs, ReportFormat, RunArgs, SelectArgs};
use crate::compile::compile;
use crate::diagnostics::{Diagnostic, Severity};
use crate::error::{exit, Error, Result};
use crate::execute::{self, EngineSettings};
use crate::project::{resolve, Project};
use crate::publish;
use crate::report::RunSummary;
use crate::validate::{self, ResolveOptions, Resolved};
use std::collections::BTreeMap;
use std::io::IsTerminal;

mod incremental;
mod run_duckdb;
mod run_spark;
mod suggest;

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
        Command::Suggest(args) => suggest::cmd_suggest(&cli, args),
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
            let conn = execute::open(None, &EngineSettings::project(&project, false)?)?;
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
    let mut bind = execute::bind_check(&plan, &resolved, &EngineSettings::project(&project, false)?)?;
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

/// `run` on the engine the command line or the project names.
fn cmd_run(cli: &Cli, args: &RunArgs) -> Result<i32> {
    let project_engine = crate::project::load_project_in(&cli.project, &cli.environment()).project.map(|p| p.config.engine);
    match cli.engine.or(project_engine).unwrap_or_default() {
        crate::project::model::Engine::Spark => run_spark::cmd_run_spark(cli, args),
        crate::project::model::Engine::Duckdb => run_duckdb::cmd_run(cli, args),
    }
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

fn print_run_summary(cli: &Cli, summary: &RunSummary) {
    match cli.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default()),
        Format::Text if !cli.quiet => print!("{}", summary.to_text()),
        Format::Text => {}
    }
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
    let to = document(cli, args.to, ReportFormat::Json, ReportFormat::Text)?;
    if let Some(crate::cli::ReportView::Campaigns(c)) = &args.view {
        return write_report(cli, args, &campaigns_report(&conn, c, to)?);
    }
    let wants_all_pairs = args.to == ReportFormat::Html;
    let top = if wants_all_pairs { usize::MAX / 2 } else { args.top };
    let mut report = crate::report::analysis::build(&conn, &project.config, args.compare.as_deref(), top)?;
    if let Some((as_of, campaigns)) = crate::report::campaigns::read_if_measured(&conn, &crate::report::campaigns::Filter::default())? {
        report.extra_sections.push(crate::report::campaigns::section(&as_of, &campaigns));
        report.campaigns = campaigns;
    }
    let text = match to {
        ReportFormat::Text => crate::report::render::text(&report),
        ReportFormat::Markdown => crate::report::render::markdown(&report),
        ReportFormat::Html => crate::report::render::html(&report),
        ReportFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    };
    write_report(cli, args, &text)
}

/// `report campaigns`: the campaign results in the chosen document.
fn campaigns_report(conn: &duckdb::Connection, args: &crate::cli::CampaignArgs, to: ReportFormat) -> Result<String> {
    if let Some(since) = &args.since {
        if !crate::validate::is_iso_date(since) {
            return Err(Error::Usage(format!("--since '{since}' is not a date; write YYYY-MM-DD")));
        }
    }
    let filter = crate::report::campaigns::Filter { campaign: args.campaign.clone(), since: args.since.clone() };
    let (as_of, campaigns) = crate::report::campaigns::read(conn, &filter)?;
    use crate::report::campaigns as c;
    Ok(match to {
        ReportFormat::Text => c::text(&as_of, &campaigns),
        ReportFormat::Markdown => c::markdown(&as_of, &campaigns),
        ReportFormat::Html => c::html(&as_of, &campaigns),
        ReportFormat::Json => serde_json::to_string_pretty(&serde_json::json!({ "as_of": as_of, "campaigns": campaigns })).unwrap_or_default() + "\n",
    })
}

/// A report to `--out` (atomically) or stdout.
fn write_report(cli: &Cli, args: &ReportArgs, text: &str) -> Result<i32> {
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
    let settings = in_memory_settings(&head)?;
    let d = crate::report::diff::diff(
        &args.base,
        (&base_resolved, &compile(&base_resolved)),
        (&resolved, &compile(&resolved)),
        args.samples,
        &settings,
    )?;
    match document(cli, args.to, crate::cli::DiffFormat::Json, crate::cli::DiffFormat::Text)? {
        crate::cli::DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default()),
        crate::cli::DiffFormat::Markdown => print!("{}", d.to_markdown()),
        crate::cli::DiffFormat::Text => print!("{}", d.to_text()),
    }
    Ok(exit::OK)
}

/// The session of a command that computes the project in memory (`diff`, `suggest`): the
/// project's folders, threads and memory limit.
fn in_memory_settings(project: &Project) -> Result<EngineSettings> {
    Ok(EngineSettings {
        threads: project.config.settings.threads,
        memory_limit: project.config.settings.memory_limit.clone(),
        ..EngineSettings::project(project, false)?
    })
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
