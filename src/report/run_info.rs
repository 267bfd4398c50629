//! The report's run metadata: the `runs` row of the reported date (when it started and ended,
//! the source row counts it read, the rows it wrote).

use super::analysis::{query, table_exists};
use crate::error::Result;
use duckdb::Connection;
use serde::Serialize;

/// What the `runs` table says about the run that published `as_of`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub seconds: Option<f64>,
    pub status: String,
    /// Rows read per source, as the run counted them.
    pub source_rows: Vec<(String, i64)>,
    /// Rows written per output table.
    pub row_counts: Vec<(String, i64)>,
    /// The version of segmenter writing this report (`runs` does not record the run's version).
    pub report_version: String,
}

/// The latest successful run of `as_of`, if the database has a `runs` table.
pub fn read(conn: &Connection, as_of: &str) -> Result<Option<RunInfo>> {
    if !table_exists(conn, "runs") {
        return Ok(None);
    }
    let rows = query(
        conn,
        "runs",
        "SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M:%S'), strftime(finished_at, '%Y-%m-%d %H:%M:%S'),
                CAST(epoch_ms(finished_at) - epoch_ms(started_at) AS DOUBLE) / 1000, status,
                coalesce(source_rows, '[]'), coalesce(row_counts, '[]')
         FROM runs WHERE as_of = CAST(? AS DATE) AND status = 'ok' ORDER BY started_at DESC LIMIT 1",
        [as_of],
        |r| {
            Ok(RunInfo {
                run_id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                seconds: r.get(3)?,
                status: r.get(4)?,
                source_rows: pairs(&r.get::<_, String>(5)?),
                row_counts: pairs(&r.get::<_, String>(6)?),
                report_version: env!("CARGO_PKG_VERSION").to_string(),
            })
        },
    )?;
    Ok(rows.into_iter().next())
}

/// `[["customers",3000],...]` as pairs; anything else (an older layout) as none.
fn pairs(json: &str) -> Vec<(String, i64)> {
    serde_json::from_str::<Vec<(String, i64)>>(json).unwrap_or_default()
}
