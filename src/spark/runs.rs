//! `segmenter_runs`: one row per Spark run (also blocked and failed ones), appended; the
//! Spark counterpart of the DuckDB database's `runs` table.

use super::session::{text, Spark};
use crate::compile::dialect::{Dialect, SparkSql};
use crate::error::Result;

pub const TABLE: &str = "segmenter_runs";

/// A run's row; every value is written as a literal escaped by the dialect.
pub struct RunRow<'a> {
    pub run_id: &'a str,
    pub as_of: &'a str,
    pub started_at: &'a str,
    pub forced: bool,
    pub generation: &'a str,
    pub definition_hash: &'a str,
    pub source_rows: &'a [(String, i64)],
    pub warnings: &'a [String],
}

pub fn create(spark: &Spark) -> Result<()> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (run_id STRING, as_of DATE, started_at TIMESTAMP, finished_at TIMESTAMP, \
         status STRING, forced BOOLEAN, generation STRING, definition_hash STRING, source_rows STRING, warnings STRING, error STRING) USING parquet"
    );
    spark.exec("create the runs table", &sql)
}

impl RunRow<'_> {
    /// Append this run's row with its outcome.
    pub fn record(&self, spark: &Spark, status: &str, error: Option<&str>) -> Result<()> {
        let d = SparkSql::PARQUET;
        let json = |v: serde_json::Value| d.string(&v.to_string());
        let sql = format!(
            "INSERT INTO {TABLE} VALUES ({}, DATE {}, CAST({} AS TIMESTAMP), CAST({} AS TIMESTAMP), {}, {}, {}, {}, {}, {}, {})",
            d.string(self.run_id),
            d.string(self.as_of),
            d.string(self.started_at),
            d.string(&crate::publish::utc_now()),
            d.string(status),
            self.forced,
            d.string(self.generation),
            d.string(self.definition_hash),
            json(serde_json::json!(self.source_rows)),
            json(serde_json::json!(self.warnings)),
            error.map_or("NULL".to_string(), |e| d.string(e)),
        );
        spark.exec("record the run", &sql)
    }
}

/// Row counts per source at the last successful run (empty before the first).
pub fn last_source_rows(spark: &Spark) -> Result<Vec<(String, i64)>> {
    let sql = format!("SELECT source_rows FROM {TABLE} WHERE status = 'ok' ORDER BY finished_at DESC LIMIT 1");
    let rows = spark.rows("read the last run", &sql)?;
    let json = rows.first().and_then(|r| r.get(0)).map(text).unwrap_or_default();
    Ok(serde_json::from_str(&json).unwrap_or_default())
}
