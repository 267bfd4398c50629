//! `run --engine spark`: the plan `compile --engine spark` prints, run on a Spark Connect
//! server and published into the configured database (see [`generation`] for how publishing
//! stays whole when a run fails or is killed).
//!
//! Phases: connect and finish an interrupted publish → read the sources as views → row-count
//! gates → write every table as the unpublished generation → its history → publish → record
//! the run → read the sizes for the summary.

pub mod generation;
mod runs;
pub mod session;
pub mod sources;

use crate::compile::dialect::{Dialect, SparkSql};
use crate::compile::Step;
use crate::error::{Error, Result};
use crate::project::Project;
use crate::validate::Resolved;
use generation::{Generation, Published};
pub use session::Spark;

/// What a Spark run needs besides the definitions.
pub struct SparkRun<'a> {
    pub project: &'a Project,
    pub resolved: &'a Resolved,
    pub url: &'a str,
    pub force: bool,
    pub definition_hash: &'a str,
    /// Warnings of validation, recorded with the run.
    pub warnings: &'a [String],
}

/// A published Spark run.
pub struct SparkOutcome {
    pub published: Published,
    pub sizes: crate::report::Sizes,
    /// Gates `--force` overrode.
    pub overridden: Vec<String>,
}

impl SparkRun<'_> {
    /// Run and publish; `on_step(i, n, label)` before each of the `n` steps.
    pub fn run(&self, on_step: &mut dyn FnMut(usize, usize, &str)) -> Result<SparkOutcome> {
        let spark = Spark::connect(self.url)?;
        let database = &self.project.config.spark.database;
        let d = SparkSql::PARQUET;
        spark.exec("create the database", &format!("CREATE DATABASE IF NOT EXISTS {}", d.ident(database)))?;
        spark.exec("use the database", &format!("USE {}", d.ident(database)))?;
        let previous = Published::read(&spark)?;
        if let Some(p) = &previous {
            // A generation that is gone (dropped by hand) cannot be completed: the views stay
            // as they are and this run publishes a whole new generation.
            if let Err(e) = p.point_views(&spark) {
                tracing::warn!(error = %e, "could not complete the publish of generation {}", p.generation.name());
            }
            refuse_backfill(p, self.resolved)?;
        }
        runs::create(&spark)?;
        sources::register(&spark, self.resolved)?;
        let source_rows = self.source_rows(&spark)?;
        let max_drop = self.project.config.settings.max_row_drop_pct.unwrap_or(50.0);
        let problems = crate::publish::gates::check(&source_rows, &runs::last_source_rows(&spark)?, max_drop);
        let started_at = crate::publish::utc_now();
        let run_id = format!("{started_at}-{}", std::process::id());
        let g = Generation::new(&started_at);
        let row = runs::RunRow {
            run_id: &run_id,
            as_of: &self.resolved.as_of,
            started_at: &started_at,
            forced: self.force && !problems.is_empty(),
            generation: g.name(),
            definition_hash: self.definition_hash,
            source_rows: &source_rows,
            warnings: self.warnings,
        };
        if !problems.is_empty() && !self.force {
            row.record(&spark, "blocked", Some(&problems.join("; ")))?;
            return Err(Error::Gates(problems));
        }
        let written = self.write_generation(&spark, &g, previous.as_ref(), on_step).and_then(|tables| {
            let published = Published { generation: g.clone(), run_id: run_id.clone(), as_of: self.resolved.as_of.clone(), tables };
            published.publish(&spark, previous.as_ref()).map(|_| published)
        });
        match written {
            Ok(published) => {
                row.record(&spark, "ok", None)?;
                // The published generation and the one before it stay; older ones go.
                let keep: Vec<&Generation> = std::iter::once(&published.generation).chain(previous.as_ref().map(|p| &p.generation)).collect();
                generation::clear(&spark, &keep)?;
                let sizes = read_sizes(&spark)?;
                Ok(SparkOutcome { published, sizes, overridden: problems })
            }
            Err(e) => {
                // Best effort: the run's error is what the user needs, also when recording fails.
                let _ = row.record(&spark, "failed", Some(&e.to_string()));
                Err(e)
            }
        }
    }

    fn source_rows(&self, spark: &Spark) -> Result<Vec<(String, i64)>> {
        let d = SparkSql::PARQUET;
        let mut out = Vec::new();
        for src in crate::compile::spark_sources(self.resolved) {
            let n = spark.count(&format!("count rows of source '{}'", src.name), &format!("SELECT count(*) FROM {}", d.ident(&src.view)))?;
            out.push((src.name, n));
        }
        Ok(out)
    }

    /// Write every table of the plan and its history as generation `g`; the
    /// tables to publish.
    fn write_generation(&self, spark: &Spark, g: &Generation, previous: Option<&Published>, on_step: &mut dyn FnMut(usize, usize, &str)) -> Result<Vec<String>> {
        let format = self.project.config.spark.format;
        let prefix = g.prefix();
        let dialect = g.dialect(format, &prefix);
        let mut plan = crate::compile::compile_with(self.resolved, &dialect);
        let outputs = plan.outputs();
        let history = generation::history_steps(self.resolved, self.project.config.output.history_days, g, format, previous);
        let mut tables: Vec<String> = outputs.iter().map(|t| t.to_string()).collect();
        tables.extend(history.iter().map(|s| s.target.clone()));
        plan.steps.extend(history);
        let n = plan.steps.len();
        let mut scratch: Vec<String> = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            on_step(i, n, &step.label);
            run_step(spark, step)?;
            if step.scratch {
                scratch.push(dialect.table(&step.target));
            } else {
                // Aggregates are read by the next non-scratch step only.
                for table in scratch.drain(..) {
                    spark.exec(&step.label, &format!("DROP TABLE IF EXISTS {table}"))?;
                }
            }
        }
        Ok(tables)
    }
}

fn run_step(spark: &Spark, step: &Step) -> Result<()> {
    for sql in step.before.iter().chain([&step.sql]) {
        spark.exec(&step.label, sql)?;
    }
    Ok(())
}

/// A Spark run publishes the newest date: an older one (a backfill) is a DuckDB run's.
fn refuse_backfill(published: &Published, model: &Resolved) -> Result<()> {
    if model.as_of < published.as_of {
        return Err(Error::Usage(format!(
            "the Spark database holds a run as of {}; a Spark run publishes that date or a later one, not {} \
             (backfilling history for an earlier date is done by DuckDB runs: --engine duckdb)",
            published.as_of, model.as_of
        )));
    }
    Ok(())
}

/// Customers, segment sizes and tier sizes, from the published views.
pub fn read_sizes(spark: &Spark) -> Result<crate::report::Sizes> {
    use crate::report::{SegmentSize, TierSize};
    use session::{number, text, whole};
    let customers = spark.count("summary", "SELECT count(*) FROM customer_features")?;
    let rows = spark.rows("summary", "SELECT name, size, CAST(share AS DOUBLE) FROM segment_catalog ORDER BY name")?;
    let cell = |r: &spark_connect::row::Row, i: usize| r.get(i).cloned().unwrap_or(spark_connect::row::Value::Null);
    let segments = rows
        .iter()
        .map(|r| SegmentSize { name: text(&cell(r, 0)), size: whole(&cell(r, 1)).unwrap_or(0), share: number(&cell(r, 2)).unwrap_or(0.0) })
        .collect();
    let has_tiers = !spark.rows("summary", "SHOW VIEWS LIKE 'tier_catalog'")?.is_empty();
    let mut tiers = Vec::new();
    if has_tiers {
        for r in spark.rows("summary", "SELECT ladder, tier, rank, size, CAST(share AS DOUBLE) FROM tier_catalog ORDER BY ladder, rank")? {
            tiers.push(TierSize {
                ladder: text(&cell(&r, 0)),
                tier: text(&cell(&r, 1)),
                rank: whole(&cell(&r, 2)).unwrap_or(0) as i32,
                size: whole(&cell(&r, 3)).unwrap_or(0),
                share: number(&cell(&r, 4)).unwrap_or(0.0),
            });
        }
    }
    Ok((customers, segments, tiers))
}
