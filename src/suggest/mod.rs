//! `segmenter suggest FEATURE`: help choose a threshold for a numeric feature. Over the
//! population of a project computed in memory ([`crate::execute::compute_in_memory`]), it
//! reports the feature's distribution, candidate thresholds (quantiles and natural breaks) with
//! their sizes and overlaps with the existing segments and, on request, bands ready to paste as
//! YAML. See docs/suggest.md.

pub mod breaks;
mod candidates;
mod profile;
pub mod render;

pub use candidates::{Band, Bands, Candidate, Overlap};
pub use profile::{HistogramBin, HISTOGRAM_BINS, MAX_BINS, QUANTILES};

use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::validate::Resolved;
use duckdb::Connection;
use serde::Serialize;

/// What to suggest for which feature.
#[derive(Debug, Clone)]
pub struct SuggestRequest {
    pub feature: String,
    /// Natural-breaks thresholds among the candidates (that many + 1 classes).
    pub breaks: usize,
    /// Bands to propose as segment definitions (`--segments`).
    pub bands: Option<usize>,
}

/// Everything `suggest` reports (the JSON of `--format json`; docs/suggest.md).
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub feature: String,
    /// The feature's DuckDB type.
    #[serde(rename = "type")]
    pub sql_type: String,
    pub as_of: String,
    /// Customers in `customer_features`.
    pub population: i64,
    /// Customers with a value (not NULL).
    pub count: i64,
    pub nulls: i64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub quantiles: Quantiles,
    pub histogram: Vec<HistogramBin>,
    /// Distinct values of the feature, and the bins the natural breaks worked on.
    pub distinct_values: u64,
    pub bins: usize,
    pub candidates: Vec<Candidate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bands: Option<Bands>,
}

/// Named quantiles in order (`p1` … `p99`), a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles(pub Vec<(&'static str, f64)>);

impl Quantiles {
    /// The quantile named `name` (`p50`).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

impl Serialize for Quantiles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(n, v)| (n, v)))
    }
}

fn sql_error(e: duckdb::Error) -> Error {
    Error::Step { step: "suggest".into(), message: crate::execute::first_line(&e.to_string()) }
}

/// Refuse a name that is not a feature of `model`, before anything is computed.
pub fn check_feature(model: &Resolved, feature: &str) -> Result<()> {
    let names = || model.features.iter().map(|f| f.name.as_str());
    if names().any(|n| n == feature) {
        return Ok(());
    }
    let hint = crate::diagnostics::did_you_mean(feature, names()).map_or_else(
        || {
            let all: Vec<&str> = names().collect();
            let listed = if all.len() > 12 { format!("{}, ... ({} in all)", all[..12].join(", "), all.len()) } else { all.join(", ") };
            format!("; features are: {listed}")
        },
        |h| format!(" ({h})"),
    );
    Err(Error::Usage(format!("unknown feature '{feature}'{hint}")))
}

/// The DuckDB type of `feature` in `customer_features`, refused unless it is a number.
fn numeric_type(conn: &Connection, feature: &str) -> Result<String> {
    let sql = format!("SELECT column_type FROM (DESCRIBE {}) WHERE column_name = ?", crate::compile::FEATURES_TABLE);
    let ty: String = conn.query_row(&sql, [feature], |r| r.get(0)).map_err(sql_error)?;
    const NUMBERS: [&str; 12] =
        ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE"];
    if NUMBERS.contains(&ty.as_str()) || ty.starts_with("DECIMAL") {
        Ok(ty)
    } else {
        Err(Error::Usage(format!("feature '{feature}' is {ty}, not a number: suggest proposes thresholds for numeric features only")))
    }
}

/// Suggest thresholds for `request.feature` from the tables a computed project left in `conn`
/// (`customer_features`, and `segment_members` for the overlaps).
pub fn suggest(conn: &Connection, as_of: &str, request: &SuggestRequest) -> Result<Suggestion> {
    let feature = &request.feature;
    let sql_type = numeric_type(conn, feature)?;
    let column = DuckDb.ident(feature);
    let p = profile::profile(conn, &column)?;
    if p.population == 0 {
        return Err(Error::Data(format!("the population is empty on {as_of} (no customer in customer_features): nothing to suggest")));
    }
    let Some(stats) = p.stats else {
        return Err(Error::Data(format!("feature '{feature}' is NULL for all {} customers on {as_of}: nothing to suggest", p.population)));
    };
    let (bins, distinct_values) = profile::bins(conn, &column)?;
    let candidates = candidates::candidates(conn, &column, p.population, &stats.quantiles, &bins, request.breaks)?;
    let bands = match request.bands {
        Some(n) => Some(candidates::bands(conn, &column, feature, as_of, (p.population, p.count), &bins, n)?),
        None => None,
    };
    Ok(Suggestion {
        feature: feature.clone(),
        sql_type,
        as_of: as_of.to_string(),
        population: p.population,
        count: p.count,
        nulls: p.population - p.count,
        histogram: profile::histogram(conn, &column, stats.min, stats.max)?,
        min: stats.min,
        max: stats.max,
        mean: stats.mean,
        quantiles: stats.quantiles,
        distinct_values,
        bins: bins.len(),
        candidates,
        bands,
    })
}
