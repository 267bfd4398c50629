//! How a Spark run publishes: generations of tables and one pointer.
//!
//! Spark's catalog applies each statement on its own: a `CREATE TABLE ... AS` appears when its
//! job has committed, a `DROP`, `ALTER` or `CREATE OR REPLACE VIEW` is one catalog change, and
//! nothing groups several statements into a transaction. So segmenter never rewrites what
//! readers read. Each run writes its own generation of tables (`__segmenter_g<id>__<table>`,
//! the id from the run's start time and process), history included; the published names
//! (`segment_members`, ...) are views over one generation. Then it publishes:
//!
//! 1. one statement replaces the pointer view [`POINTER`] (generation, run, as-of date, tables);
//! 2. each published view is pointed at the new generation, and views of tables the run no
//!    longer makes are dropped.
//!
//! A run that fails or is killed before step 1 leaves every view and table readers see as it
//! was. One killed between 1 and 2 has published: the next run (its first act) points every
//! view at the generation the pointer names, which is complete since it was written before the
//! pointer changed. A killed client's query may go on running in the server for a while: it
//! writes only its own generation's names, which no later run writes or publishes. Runs drop
//! the generations that are neither published nor the one before (kept for queries that
//! started before the publish). A reader that must never straddle two runs reads the pointer
//! first.

use super::session::{text, Spark};
use crate::compile::dialect::{Dialect, SparkSql, Staged};
use crate::compile::Step;
use crate::project::model::SparkTableFormat;
use crate::error::Result;
use crate::validate::Resolved;

/// The one-row view naming the published generation.
pub const POINTER: &str = "segmenter_published";

/// One run's set of tables, named by an id of lowercase letters, digits and underscores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation(String);

/// Prefix of every generation's tables.
const GENERATION_PREFIX: &str = "__segmenter_g";

impl Generation {
    /// A new generation for a run that started at `started` (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
    pub fn new(started: &str) -> Generation {
        let digits: String = started.chars().filter(char::is_ascii_digit).collect();
        Generation(format!("{digits}_{}", std::process::id()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// Prefix of this generation's tables.
    pub fn prefix(&self) -> String {
        format!("{GENERATION_PREFIX}{}__", self.0)
    }

    /// The dialect writing the plan's tables as this generation, stored as `format`.
    pub fn dialect<'a>(&self, format: SparkTableFormat, prefix: &'a str) -> Staged<'a> {
        Staged(SparkSql::of(format), prefix)
    }

    fn parse(name: &str) -> Option<Generation> {
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        ok.then(|| Generation(name.to_string()))
    }
}

/// What the pointer says is published.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub generation: Generation,
    pub run_id: String,
    pub as_of: String,
    /// The published views, each over this generation's table of the same name.
    pub tables: Vec<String>,
}

impl Published {
    /// The pointer in the current database, if a run has published.
    pub fn read(spark: &Spark) -> Result<Option<Published>> {
        let d = SparkSql::PARQUET;
        let found = spark.rows("read the published generation", &format!("SHOW VIEWS LIKE {}", d.string(POINTER)))?;
        if found.is_empty() {
            return Ok(None);
        }
        let sql = format!("SELECT generation, run_id, CAST(as_of AS STRING), tables FROM {}", d.ident(POINTER));
        let rows = spark.rows("read the published generation", &sql)?;
        Ok(rows.first().and_then(|r| {
            let cell = |i: usize| r.get(i).map(text).unwrap_or_default();
            Some(Published {
                generation: Generation::parse(&cell(0))?,
                run_id: cell(1),
                as_of: cell(2),
                tables: cell(3).split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
            })
        }))
    }

    /// Publish: replace the pointer (one statement), then point the views at its generation
    /// and drop the views of `previous` tables this generation does not have.
    pub fn publish(&self, spark: &Spark, previous: Option<&Published>) -> Result<()> {
        let d = SparkSql::PARQUET;
        let pointer = format!(
            "CREATE OR REPLACE VIEW {} AS SELECT {} AS generation, {} AS run_id, DATE {} AS as_of, {} AS tables",
            d.ident(POINTER),
            d.string(self.generation.name()),
            d.string(&self.run_id),
            d.string(&self.as_of),
            d.string(&self.tables.join(","))
        );
        spark.exec("publish: the pointer", &pointer)?;
        self.point_views(spark)?;
        for gone in previous.iter().flat_map(|p| &p.tables).filter(|t| !self.tables.contains(t)) {
            spark.exec("publish: drop a view no run makes any more", &format!("DROP VIEW IF EXISTS {}", d.ident(gone)))?;
        }
        Ok(())
    }

    /// Point every published view at this generation (idempotent: also how a run completes a
    /// publish a killed run left between the pointer and the views).
    pub fn point_views(&self, spark: &Spark) -> Result<()> {
        let prefix = self.generation.prefix();
        let (d, g) = (SparkSql::PARQUET, self.generation.dialect(SparkTableFormat::Parquet, &prefix));
        for table in &self.tables {
            let sql = format!("CREATE OR REPLACE VIEW {} AS SELECT * FROM {}", d.ident(table), g.table(table));
            spark.exec(&format!("publish: view {table}"), &sql)?;
        }
        Ok(())
    }
}

/// Drop the tables of every generation but `keep` (best effort: a table a killed run's query
/// is still writing goes at a later run).
pub fn clear(spark: &Spark, keep: &[&Generation]) -> Result<()> {
    let d = SparkSql::PARQUET;
    let pattern = format!("{GENERATION_PREFIX}*");
    let rows = spark.rows("clear unpublished generations", &format!("SHOW TABLES LIKE {}", d.string(&pattern)))?;
    for row in rows {
        // SHOW TABLES: namespace, tableName, isTemporary.
        let name = row.get(1).map(text).unwrap_or_default();
        let kept = keep.iter().any(|g| name.starts_with(&g.prefix()));
        if name.starts_with(GENERATION_PREFIX) && !kept {
            if let Err(e) = spark.exec("clear unpublished generations", &format!("DROP TABLE IF EXISTS {}", d.ident(&name))) {
                tracing::warn!(table = name, error = %e, "could not drop an old generation's table");
            }
        }
    }
    Ok(())
}

/// The history steps of a Spark run: generation `g`'s history is the published one (when there
/// is one) without the rows this run replaces (its as-of date, for the segments and ladders it
/// computes) and without rows older than `keep_days`, plus this run's memberships.
pub fn history_steps(model: &Resolved, keep_days: Option<std::num::NonZeroU32>, g: &Generation, format: SparkTableFormat, previous: Option<&Published>) -> Vec<Step> {
    let prefix = g.prefix();
    let (d, w) = (SparkSql::PARQUET, g.dialect(format, &prefix));
    let as_of = d.date(&model.as_of);
    // `key` of the rows replaced: the values of `catalog`'s column `listed`.
    let kept = |table: &str, key: &str, catalog: &str, listed: &str| -> Option<String> {
        previous.filter(|p| p.tables.iter().any(|t| t == table))?;
        let expire = keep_days.map_or(String::new(), |n| format!(" AND as_of >= {as_of} - {}", d.interval_days(i64::from(n.get()))));
        Some(format!(
            "SELECT * FROM {} WHERE NOT (as_of = {as_of} AND {key} IN (SELECT {listed} FROM {})){expire}\nUNION ALL\n",
            d.ident(table),
            w.table(catalog)
        ))
    };
    let members = format!(
        "{}SELECT {as_of} AS as_of, customer_id, CAST(segment AS STRING) AS segment FROM {}",
        kept("segment_members_history", "segment", "segment_catalog", "name").unwrap_or_default(),
        w.table("segment_members")
    );
    let mut steps = vec![Step::table("history", "segment_members_history", &members, &w)];
    if !model.tiers.is_empty() {
        let tiers = format!(
            "{}SELECT {as_of} AS as_of, customer_id, CAST(ladder AS STRING) AS ladder, CAST(tier AS STRING) AS tier, rank FROM {}",
            kept("tier_history", "ladder", "tier_catalog", "ladder").unwrap_or_default(),
            w.table("tier_assignments")
        );
        steps.push(Step::table("history", "tier_history", &tiers, &w));
    }
    steps
}
