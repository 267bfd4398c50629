//! `segmenter run --engine spark`: validate and compile as for DuckDB, then compute and publish
//! on a Spark Connect server (see `crate::spark`).

use super::{load_and_resolve, print_run_summary, print_warnings, progress_bar, Schemas};
use crate::cli::{Cli, Format, RunArgs, SelectArgs};
use crate::diagnostics::{Diagnostic, Loc, Severity};
use crate::error::{exit, Error, Result};
use crate::project::resolve;
use crate::report::RunSummary;
use crate::spark::SparkRun;
use std::io::IsTerminal;
use std::time::Instant;

pub(super) fn cmd_run_spark(cli: &Cli, args: &RunArgs) -> Result<i32> {
    let started = Instant::now();
    if !args.select.select.is_empty() || !args.select.exclude.is_empty() {
        return Err(Error::Usage(
            "a Spark run computes and publishes every definition: --select and --exclude work with --engine duckdb only".into(),
        ));
    }
    let select = SelectArgs { all_features: true, ..args.select.clone() };
    let (project, resolved, mut diags) = load_and_resolve(cli, &select, Schemas::Skip)?;
    if let Some(m) = resolved.models.first() {
        return Err(Error::Usage(format!(
            "model '{}' ({}): models are fitted by DuckDB runs only; a Spark run cannot compute their features yet \
             (use --engine duckdb, or leave the file with the model and the definitions that use its features out of the \
             Spark project: the library's is segments/predictive.yaml)",
            m.name, m.origin
        )));
    }
    let config = &project.config.spark;
    let url = args.spark_url.clone().or_else(|| config.url.clone()).ok_or_else(|| {
        Error::Usage(
            "no Spark Connect server to run on: pass --spark-url sc://HOST:PORT (or set SEGMENTER_SPARK_URL, or spark.url \
             in segmenter.yaml); `scripts/spark-connect.sh start` starts a local one and prints its URL"
                .into(),
        )
    })?;
    if !project.config.output.exports.is_empty() {
        let note = "exports are written by DuckDB runs only: a Spark run publishes the tables (read them from the Spark database)";
        diags.push(Diagnostic::warning("W021", Loc::file("segmenter.yaml"), note.to_string()));
    }
    if project.config.campaigns.is_some() {
        let note = "campaign_results is measured by DuckDB runs only: a Spark run leaves `campaigns:` out";
        diags.push(Diagnostic::warning("W022", Loc::file("segmenter.yaml"), note.to_string()));
    }
    print_warnings(cli, &diags);
    let plan = crate::compile::compile_with(&resolved, crate::compile::dialect::SparkSql::of(config.format));
    let definition_hash = crate::publish::definition_hash(&plan.script());
    // One Spark run per database at a time from this machine (the catalog has no lock to take).
    let db_path = resolve(&project.root, &project.config.output.database);
    let lock_path = db_path.with_file_name(format!("spark-{}", config.database));
    let display = format!("Spark database '{}' at {url}", config.database);
    let (_lock, _takeover) = crate::publish::RunLock::acquire(&lock_path, &display)?;
    let warnings: Vec<String> = diags.iter().filter(|d| d.severity == Severity::Warning).map(|d| d.to_string()).collect();
    let run = SparkRun { project: &project, resolved: &resolved, url: &url, force: args.force, definition_hash: &definition_hash, warnings: &warnings };
    let show = !cli.quiet && cli.format == Format::Text && std::io::stderr().is_terminal();
    let bar = show.then(|| progress_bar(0));
    let outcome = run.run(&mut |i, n, label| {
        if let Some(bar) = &bar {
            bar.set_length(n as u64);
            bar.set_position(i as u64);
            bar.set_message(label.to_string());
        }
        tracing::info!(step = label, "spark step");
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let outcome = outcome?;
    for p in &outcome.overridden {
        if cli.format == Format::Text {
            eprintln!("warning: gate overridden by --force: {p}");
        }
    }
    let (customers, segments, tiers) = outcome.sizes;
    let summary = RunSummary {
        status: "ok",
        project: resolved.name.clone(),
        as_of: resolved.as_of.clone(),
        database: display,
        customers,
        segments,
        tiers,
        skipped: resolved.skipped.clone(),
        exports: Vec::new(),
        warnings: diags,
        publication: Some(format!("published generation {} of the Spark tables", outcome.published.generation.name())),
        consent: None,
        elapsed_ms: started.elapsed().as_millis(),
    };
    print_run_summary(cli, &summary);
    Ok(exit::OK)
}
