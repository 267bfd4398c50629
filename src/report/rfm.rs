//! The R×F grid: customers per recency score (rows) and frequency score (columns) of an RFM
//! score. A score publishes `<score>_scores` with one column per part; the grid reads the first
//! such table with parts named `r` and `f` (`rfm_scores` first), over its scored customers.

use super::analysis::query;
use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::Result;
use duckdb::Connection;
use serde::Serialize;

/// Customer counts per (r, f), both from 1 to `buckets`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RfmGrid {
    /// The scores table read (`rfm_scores`).
    pub table: String,
    pub buckets: i64,
    /// `counts[r - 1][f - 1]`.
    pub counts: Vec<Vec<i64>>,
    /// Customers with both scores (the grid's total).
    pub scored: i64,
}

/// The grid, or None when no scores table has parts `r` and `f`.
pub fn read(conn: &Connection) -> Result<Option<RfmGrid>> {
    let tables: Vec<String> = query(
        conn,
        "rfm grid",
        "SELECT table_name FROM duckdb_columns()
         WHERE database_name = current_database() AND suffix(table_name, '_scores') AND column_name IN ('r', 'f')
           AND data_type IN ('INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT')
         GROUP BY table_name HAVING count(*) = 2 ORDER BY table_name <> 'rfm_scores', table_name",
        [],
        |r| r.get(0),
    )?;
    let Some(table) = tables.into_iter().next() else {
        return Ok(None);
    };
    let cells: Vec<(i64, i64, i64)> = query(
        conn,
        "rfm grid",
        &format!("SELECT r, f, count(*) FROM {} WHERE r >= 1 AND f >= 1 GROUP BY r, f", DuckDb.ident(&table)),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let buckets = cells.iter().map(|(r, f, _)| (*r).max(*f)).max().unwrap_or(0);
    let size = usize::try_from(buckets).unwrap_or(0);
    let mut counts = vec![vec![0i64; size]; size];
    for (r, f, n) in &cells {
        if let (Ok(r), Ok(f)) = (usize::try_from(r - 1), usize::try_from(f - 1)) {
            counts[r][f] = *n;
        }
    }
    let scored = cells.iter().map(|c| c.2).sum();
    Ok(Some(RfmGrid { table, buckets, counts, scored }))
}
