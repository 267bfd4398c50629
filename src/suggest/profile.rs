//! What DuckDB says about one feature's values in `customer_features`: counts, quantiles, a
//! histogram and the weighted bins the natural breaks work on.

use super::breaks::Bin;
use super::{sql_error, Quantiles};
use crate::error::Result;
use duckdb::types::Value;
use duckdb::Connection;

/// The quantiles reported, by name (`quantile_cont`, so they interpolate between values).
pub const QUANTILES: [(&str, f64); 9] =
    [("p1", 0.01), ("p5", 0.05), ("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99)];

/// Bars of the histogram: equal widths from the minimum to the maximum.
pub const HISTOGRAM_BINS: usize = 10;

/// The most bins the natural breaks work on. Up to this many distinct values each is its own
/// bin; beyond it adjacent distinct values are merged: a bin ends where the next of half as
/// many bins of equal customer counts starts and before each of the widest gaps between
/// distinct values (one short of the other half), so no bin spans a wide gap, where breaks
/// fall. A distinct value is never split. This bounds the O(k · bins²) programme on any data.
pub const MAX_BINS: usize = 4000;

/// The feature over the population: the customers, those with a value, and its statistics
/// (`None` without a value).
pub struct Profile {
    pub population: i64,
    pub count: i64,
    pub stats: Option<Stats>,
}

pub struct Stats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub quantiles: Quantiles,
}

/// The feature's values as DOUBLE, from `customer_features` (`column` is quoted already).
fn values(column: &str) -> String {
    format!("SELECT CAST({column} AS DOUBLE) AS x FROM {}", crate::compile::FEATURES_TABLE)
}

/// Counts, min, max, mean and [`QUANTILES`] in one scan.
pub fn profile(conn: &Connection, column: &str) -> Result<Profile> {
    let fractions = QUANTILES.iter().map(|(_, q)| q.to_string()).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT count(*), count(x), min(x), max(x), avg(x), quantile_cont(x, [{fractions}]) FROM ({})", values(column));
    conn.query_row(&sql, [], |r| {
        let (population, count): (i64, i64) = (r.get(0)?, r.get(1)?);
        let (min, max, mean): (Option<f64>, Option<f64>, Option<f64>) = (r.get(2)?, r.get(3)?, r.get(4)?);
        let quantiles = doubles(r.get(5)?);
        let stats = match (min, max, mean) {
            (Some(min), Some(max), Some(mean)) if quantiles.len() == QUANTILES.len() => {
                Some(Stats { min, max, mean, quantiles: Quantiles(QUANTILES.iter().map(|(n, _)| *n).zip(quantiles).collect()) })
            }
            _ => None,
        };
        Ok(Profile { population, count, stats })
    })
    .map_err(sql_error)
}

fn doubles(list: Value) -> Vec<f64> {
    match list {
        Value::List(items) => items.into_iter().filter_map(|v| if let Value::Double(x) = v { Some(x) } else { None }).collect(),
        _ => Vec::new(),
    }
}

/// One bar of the histogram: customers with `from <= value < to` (the last one includes `to`).
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct HistogramBin {
    pub from: f64,
    pub to: f64,
    pub count: i64,
}

/// [`HISTOGRAM_BINS`] bars of equal width over `[min, max]` (one bar when all values are equal).
pub fn histogram(conn: &Connection, column: &str, min: f64, max: f64) -> Result<Vec<HistogramBin>> {
    let bars = if max > min { HISTOGRAM_BINS } else { 1 };
    let width = (max - min) / bars as f64;
    let sql = format!(
        "SELECT least(CAST(floor((x - ?) / ?) AS BIGINT), ?) AS bar, count(*) FROM ({}) WHERE x IS NOT NULL GROUP BY bar",
        values(column)
    );
    let mut counts = vec![0i64; bars];
    let divisor = if width > 0.0 { width } else { 1.0 };
    let mut stmt = conn.prepare(&sql).map_err(sql_error)?;
    let rows = stmt.query_map(duckdb::params![min, divisor, bars as i64 - 1], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).map_err(sql_error)?;
    for row in rows {
        let (bar, count) = row.map_err(sql_error)?;
        if let Some(slot) = usize::try_from(bar).ok().and_then(|b| counts.get_mut(b)) {
            *slot += count;
        }
    }
    Ok(counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| HistogramBin { from: min + width * i as f64, to: if i + 1 == bars { max } else { min + width * (i + 1) as f64 }, count })
        .collect())
}

/// The sorted bins of the feature's values (see [`MAX_BINS`]) and how many distinct values
/// there are.
pub fn bins(conn: &Connection, column: &str) -> Result<(Vec<Bin>, u64)> {
    let sql = format!(
        "WITH v AS (SELECT x, count(*) AS n FROM ({}) WHERE x IS NOT NULL GROUP BY x),
              r AS (SELECT x, n, count(*) OVER () AS distinct_values, x - lag(x) OVER (ORDER BY x) AS gap,
                           floor(CAST(coalesce(sum(n) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS DOUBLE)
                                 * ? / CAST(sum(n) OVER () AS DOUBLE)) AS by_count
                    FROM v),
              s AS (SELECT x, n, distinct_values,
                           distinct_values <= ?
                           OR by_count IS DISTINCT FROM lag(by_count) OVER (ORDER BY x)
                           OR row_number() OVER (ORDER BY gap DESC NULLS LAST, x) <= ? AS starts
                    FROM r),
              b AS (SELECT x, n, distinct_values, sum(CAST(starts AS BIGINT)) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) AS bin FROM s)
         SELECT bin, min(x), max(x), CAST(sum(n) AS BIGINT), sum(x * n), any_value(distinct_values)
         FROM b GROUP BY bin ORDER BY bin",
        values(column)
    );
    let (by_count, widest_gaps) = ((MAX_BINS / 2) as i64, (MAX_BINS / 2 - 1) as i64);
    let mut stmt = conn.prepare(&sql).map_err(sql_error)?;
    let rows = stmt
        .query_map(duckdb::params![by_count, MAX_BINS as i64, widest_gaps], |r| {
            let count: i64 = r.get(3)?;
            Ok((Bin { min: r.get(1)?, max: r.get(2)?, count: count.max(0).unsigned_abs(), sum: r.get(4)? }, r.get::<_, i64>(5)?))
        })
        .map_err(sql_error)?;
    let mut bins = Vec::new();
    let mut distinct = 0;
    for row in rows {
        let (bin, d) = row.map_err(sql_error)?;
        distinct = d.max(0).unsigned_abs();
        bins.push(bin);
    }
    Ok((bins, distinct))
}

/// Customers whose value is at least `threshold`.
pub fn at_least(conn: &Connection, column: &str, threshold: f64) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM ({}) WHERE x >= ?", values(column));
    conn.query_row(&sql, [threshold], |r| r.get(0)).map_err(sql_error)
}
