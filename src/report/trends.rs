//! Trends: the sizes of the largest segments on every as_of of `segment_members_history` (one
//! date per run).

use super::analysis::{query, table_exists};
use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::Result;
use duckdb::Connection;
use serde::Serialize;
use std::collections::BTreeMap;

/// Segments followed over time: the largest ones of the reported date.
pub const TREND_SEGMENTS: usize = 8;

/// Sizes per history date, oldest first.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Trends {
    pub dates: Vec<String>,
    pub series: Vec<TrendSeries>,
}

/// One segment's size on each of [`Trends::dates`] (0 when it had no member then).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrendSeries {
    pub segment: String,
    pub sizes: Vec<i64>,
}

/// `sizes` are the reported date's segments and sizes; the largest [`TREND_SEGMENTS`] are followed.
pub fn read(conn: &Connection, sizes: &[(String, i64)]) -> Result<Trends> {
    if !table_exists(conn, "segment_members_history") {
        return Ok(Trends::default());
    }
    let d = DuckDb;
    let dates: Vec<String> = query(conn, "trends", &format!("SELECT DISTINCT {} AS d FROM segment_members_history ORDER BY d", d.cast("as_of", "VARCHAR")), [], |r| r.get(0))?;
    let mut largest: Vec<&(String, i64)> = sizes.iter().collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    largest.truncate(TREND_SEGMENTS);
    let counts: BTreeMap<(String, String), i64> = query(
        conn,
        "trends",
        &format!("SELECT {}, {}, count(*) FROM segment_members_history GROUP BY ALL", d.cast("segment", "VARCHAR"), d.cast("as_of", "VARCHAR")),
        [],
        |r| Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?), r.get::<_, i64>(2)?)),
    )?
    .into_iter()
    .collect();
    let series = largest
        .into_iter()
        .map(|(name, _)| TrendSeries { segment: name.clone(), sizes: dates.iter().map(|d| counts.get(&(name.clone(), d.clone())).copied().unwrap_or(0)).collect() })
        .collect();
    Ok(Trends { dates, series })
}
