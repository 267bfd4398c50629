//! Candidate thresholds (quantiles, natural breaks) with their sizes and overlaps with the
//! existing segments, and bands of the feature as segments.

use super::breaks::{natural_breaks, round_threshold, Bin};
use super::{profile, sql_error, Quantiles};
use crate::compile::dialect::{Dialect, DuckDb};
use crate::compile::{CUSTOMER_KEY, FEATURES_TABLE};
use crate::error::{Error, Result};
use duckdb::Connection;
use serde::Serialize;

/// The quantiles offered as thresholds: a quarter, half, a quarter and a tenth of the
/// customers with a value are at or above them.
pub const CANDIDATE_QUANTILES: [&str; 4] = ["p25", "p50", "p75", "p90"];

/// Existing segments listed per candidate.
pub const TOP_OVERLAPS: usize = 3;

/// A threshold: its members are the customers whose value is at least `threshold`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    /// `quantile` or `natural_breaks`.
    pub method: &'static str,
    /// `p25`, or `break 1 of 3`.
    pub label: String,
    pub threshold: f64,
    pub size: i64,
    /// Of the population.
    pub share: f64,
    /// The existing segments most alike (by Jaccard index), at most [`TOP_OVERLAPS`].
    pub overlaps: Vec<Overlap>,
}

/// How much of a candidate an existing segment holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overlap {
    pub segment: String,
    /// Customers in both.
    pub common: i64,
    /// `common` over the candidate's size.
    pub share_of_candidate: f64,
    /// `common` over the customers in either.
    pub jaccard: f64,
}

fn share(part: i64, whole: i64) -> f64 {
    if whole > 0 { part as f64 / whole as f64 } else { 0.0 }
}

/// The thresholds between the natural-breaks classes of `bins` (`classes` of them at most).
fn break_thresholds(bins: &[Bin], classes: usize) -> Vec<f64> {
    natural_breaks(bins, classes).into_iter().map(|i| round_threshold(bins[i - 1].max, bins[i].min)).collect()
}

/// The [`CANDIDATE_QUANTILES`], then `breaks` natural-breaks thresholds.
pub fn candidates(conn: &Connection, column: &str, population: i64, quantiles: &Quantiles, bins: &[Bin], breaks: usize) -> Result<Vec<Candidate>> {
    let by_quantile = CANDIDATE_QUANTILES.iter().filter_map(|q| quantiles.get(q).map(|v| ("quantile", q.to_string(), v)));
    let cuts = break_thresholds(bins, breaks + 1);
    let by_breaks = cuts.iter().enumerate().map(|(i, t)| ("natural_breaks", format!("break {} of {}", i + 1, cuts.len()), *t));
    by_quantile
        .chain(by_breaks)
        .map(|(method, label, threshold)| {
            let size = profile::at_least(conn, column, threshold)?;
            let overlaps = overlaps(conn, column, threshold, size)?;
            Ok(Candidate { method, label, threshold, size, share: share(size, population), overlaps })
        })
        .collect()
}

/// The existing segments most alike the members of `value >= threshold`: by Jaccard index (a
/// broad segment holding all of them is not alike a narrow candidate), then by the share of
/// its members they hold.
fn overlaps(conn: &Connection, column: &str, threshold: f64, size: i64) -> Result<Vec<Overlap>> {
    if size == 0 || !crate::execute::table_exists(conn, "segment_members")? {
        return Ok(Vec::new());
    }
    let key = DuckDb.ident(CUSTOMER_KEY);
    let sql = format!(
        "WITH c AS (SELECT {key} FROM {FEATURES_TABLE} WHERE CAST({column} AS DOUBLE) >= ?),
              s AS (SELECT segment, count(*) AS size FROM segment_members GROUP BY segment),
              i AS (SELECT m.segment, count(*) AS common FROM segment_members m JOIN c ON m.{key} = c.{key} GROUP BY m.segment)
         SELECT CAST(s.segment AS VARCHAR), i.common, s.size FROM i JOIN s ON i.segment = s.segment"
    );
    let mut stmt = conn.prepare(&sql).map_err(sql_error)?;
    let rows = stmt.query_map([threshold], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))).map_err(sql_error)?;
    let mut list = Vec::new();
    for row in rows {
        let (segment, common, segment_size) = row.map_err(sql_error)?;
        list.push(Overlap { segment, common, share_of_candidate: share(common, size), jaccard: share(common, size + segment_size - common) });
    }
    list.sort_by(|a, b| {
        b.jaccard.total_cmp(&a.jaccard).then(b.share_of_candidate.total_cmp(&a.share_of_candidate)).then_with(|| a.segment.cmp(&b.segment))
    });
    list.truncate(TOP_OVERLAPS);
    Ok(list)
}

/// Bands of the feature by natural breaks, as segments to paste (see [`super::render::bands_yaml`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bands {
    /// The thresholds between the bands, lowest first.
    pub cuts: Vec<f64>,
    pub segments: Vec<Band>,
    /// The `vars:` block for segmenter.yaml.
    pub vars_yaml: String,
    /// The definitions file.
    pub definitions_yaml: String,
}

/// One band: customers with `from <= value < to` (no bound where `None`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Band {
    /// The segment name: `<feature>_low`, `_medium`, `_high` for three bands, else `_band_<i>`.
    pub name: String,
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// The var holding `from`.
    pub var: Option<String>,
    pub size: i64,
    pub share: f64,
}

/// Segment names stay within the 63 characters of a name: the feature's part is cut to this.
const MAX_PREFIX: usize = 63 - "_band_10".len();

/// `wanted` bands of `bins` (fewer when there are fewer distinct values), sized over the
/// population and rendered as YAML.
pub fn bands(conn: &Connection, column: &str, feature: &str, as_of: &str, (population, count): (i64, i64), bins: &[Bin], wanted: usize) -> Result<Bands> {
    let cuts = break_thresholds(bins, wanted);
    if cuts.is_empty() {
        return Err(Error::Data(format!("feature '{feature}' has a single value on {as_of}: there are no bands to propose")));
    }
    let prefix = feature.get(..MAX_PREFIX).unwrap_or(feature);
    let suffixes: Vec<String> =
        if cuts.len() == 2 { ["low", "medium", "high"].map(String::from).to_vec() } else { (1..=cuts.len() + 1).map(|i| format!("band_{i}")).collect() };
    let mut at_least = vec![count];
    for t in &cuts {
        at_least.push(profile::at_least(conn, column, *t)?);
    }
    at_least.push(0);
    let segments = suffixes
        .iter()
        .enumerate()
        .map(|(i, suffix)| {
            let size = at_least[i] - at_least[i + 1];
            let name = format!("{prefix}_{suffix}");
            Band { var: (i > 0).then(|| format!("{name}_min")), name, from: i.checked_sub(1).map(|j| cuts[j]), to: cuts.get(i).copied(), size, share: share(size, population) }
        })
        .collect::<Vec<_>>();
    let (vars_yaml, definitions_yaml) = super::render::bands_yaml(feature, as_of, &segments);
    Ok(Bands { cuts, segments, vars_yaml, definitions_yaml })
}
