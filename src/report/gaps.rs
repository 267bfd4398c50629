//! Gap to the next tier: per ladder and level, how many customers are within 10% of the next
//! level's thresholds.
//!
//! `tier_assignments` publishes, per customer, `next_tier` and `gap_<feature>` (how far the
//! customer's value is from the next level's threshold, 0 when met) but not the thresholds. They
//! follow from the data: for a `min:` threshold `t`, every customer short of it has
//! `value + gap = t`; for a `max:` threshold `value − gap = t`. A threshold counts as derived
//! when that sum (or difference) is the same for every customer with a positive gap. A customer
//! is *within 10%* when each gap is at most 10% of its threshold. Levels reached by a `when:`
//! rule publish no gap: their customers are not measured.

use super::analysis::{query, table_exists};
use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::Result;
use duckdb::Connection;
use serde::Serialize;
use std::fmt::Write;

/// A customer is close to the next level when every gap is at most this share of its threshold.
pub const NEAR_SHARE: f64 = 0.10;

/// Customers of one level and how close they are to the next one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TierGap {
    pub ladder: String,
    pub tier: String,
    pub next_tier: String,
    pub customers: i64,
    /// Customers whose gaps could all be measured against derived thresholds.
    pub measured: i64,
    /// Measured customers within [`NEAR_SHARE`] of every threshold of `next_tier`.
    pub within: i64,
    /// The derived thresholds of `next_tier`, e.g. `spend_12m >= 500`.
    pub thresholds: Vec<String>,
}

/// The gap summary of every level below the top of each ladder (none without gap columns).
pub fn read(conn: &Connection) -> Result<Vec<TierGap>> {
    if !table_exists(conn, "tier_assignments") {
        return Ok(Vec::new());
    }
    let features: Vec<(String, bool)> = query(
        conn,
        "tier gaps",
        "SELECT substr(g.column_name, 5), count(f.column_name) > 0
         FROM duckdb_columns() g LEFT JOIN duckdb_columns() f
           ON f.table_name = 'customer_features' AND f.column_name = substr(g.column_name, 5) AND f.database_name = g.database_name
         WHERE g.database_name = current_database() AND g.table_name = 'tier_assignments' AND starts_with(g.column_name, 'gap_')
         GROUP BY g.column_name, g.column_index ORDER BY g.column_index",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if features.is_empty() {
        return Ok(Vec::new());
    }
    let n = features.len();
    let names: Vec<String> = features.iter().map(|(f, _)| f.clone()).collect();
    query(conn, "tier gaps", &gap_sql(&features), [], |r| {
        let mut thresholds = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let (up, down): (Option<f64>, Option<f64>) = (r.get(6 + 2 * i)?, r.get(7 + 2 * i)?);
            match (up, down) {
                (Some(t), _) => thresholds.push(format!("{name} >= {}", trim(t))),
                (None, Some(t)) => thresholds.push(format!("{name} <= {}", trim(t))),
                _ => {}
            }
        }
        Ok(TierGap { ladder: r.get(0)?, tier: r.get(1)?, next_tier: r.get(3)?, customers: r.get(4)?, measured: r.get(5)?, within: r.get(6 + 2 * n)?, thresholds })
    })
}

/// A threshold without trailing zeros (`500`, `1500.5`).
fn trim(t: f64) -> String {
    let s = format!("{t:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One query: the rows below the top, the thresholds derived per (ladder, next level), the
/// counts per level. Column names come from the database's catalog and are quoted.
fn gap_sql(features: &[(String, bool)]) -> String {
    let d = DuckDb;
    let mut cols = String::new();
    let (mut derive, mut pick, mut known, mut near, mut any) = (String::new(), String::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (f, in_features)) in features.iter().enumerate() {
        let v = if *in_features { format!("coalesce(cf.{}, 0)", d.ident(f)) } else { "NULL".to_string() };
        let _ = write!(cols, ", {v} AS v_{i}, ta.{} AS g_{i}", d.ident(&format!("gap_{f}")));
        let pos = format!("FILTER (WHERE g_{i} > 0)");
        let _ = write!(
            derive,
            ", CASE WHEN min(v_{i} + g_{i}) {pos} = max(v_{i} + g_{i}) {pos} THEN CAST(min(v_{i} + g_{i}) {pos} AS DOUBLE) END AS up_{i}\
             , CASE WHEN min(v_{i} - g_{i}) {pos} = max(v_{i} - g_{i}) {pos} THEN CAST(min(v_{i} - g_{i}) {pos} AS DOUBLE) END AS down_{i}"
        );
        let _ = write!(pick, ", any_value(up_{i}), any_value(down_{i})");
        known.push(format!("(g_{i} IS NULL OR g_{i} = 0 OR up_{i} IS NOT NULL OR down_{i} IS NOT NULL)"));
        near.push(format!("(g_{i} IS NULL OR g_{i} = 0 OR g_{i} <= {NEAR_SHARE} * coalesce(up_{i}, down_{i}))"));
        any.push(format!("g_{i} IS NOT NULL"));
    }
    let measured = format!("({}) AND {}", any.join(" OR "), known.join(" AND "));
    format!(
        "WITH a AS (SELECT {} AS ladder, {} AS tier, ta.rank, {} AS next_tier{cols}
                    FROM tier_assignments ta LEFT JOIN customer_features cf USING (customer_id) WHERE ta.next_tier IS NOT NULL),
              t AS (SELECT ladder, next_tier{derive} FROM a GROUP BY ladder, next_tier)
         SELECT ladder, tier, any_value(rank) AS rank, next_tier, count(*), count(*) FILTER (WHERE {measured}){pick},
                count(*) FILTER (WHERE {measured} AND {})
         FROM a JOIN t USING (ladder, next_tier) GROUP BY ladder, tier, next_tier ORDER BY ladder, rank",
        DuckDb.cast("ta.ladder", "VARCHAR"),
        DuckDb.cast("ta.tier", "VARCHAR"),
        DuckDb.cast("ta.next_tier", "VARCHAR"),
        near.join(" AND ")
    )
}
