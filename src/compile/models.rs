//! The SQL of the models' data: the per-customer summary each model is fitted on. The fit and
//! the predictions are computed in Rust (`execute::models`) before the plan runs, into the
//! temporary table [`MODELS_TABLE`] the features query joins.

use super::dialect::Dialect;
use crate::validate::ResolvedModel;

/// The per-customer predictions of every model, one column per model feature.
pub const MODELS_TABLE: &str = "__segmenter_models";

/// One row per customer with a purchase up to `calibration_end`: `customer_id`, `x` (purchase
/// days after the first: several orders on one day are one purchase), `first_day` and
/// `last_day` (days since 1970-01-01), and `m_x`, the mean value of the repeat purchase days
/// (each day's orders summed; NULL without repeat purchases), of the column `value` (NULL
/// without one). Models on the same data share it (the value is then the Gamma-Gamma model's).
///
/// Two aggregations and no window: the days' sums, then per customer the sum of the repeat days
/// as the sum of all days less the first day's ([`Dialect::value_at_min`] by day, so that a
/// first day without a value is found as NULL, not skipped).
pub fn summary_sql(m: &ResolvedModel, value: Option<&str>, d: &dyn Dialect) -> String {
    let (key, time) = (d.ident(&m.source.key), d.ident(&m.time));
    let value = d.cast(&value.map_or("NULL".to_string(), |v| d.ident(v)), "DOUBLE");
    let epoch = d.date("1970-01-01");
    // Grouping by the DATE (4 bytes) and counting days after the aggregation is 20% faster
    // than grouping by a computed day number (bench/RESULTS.md, twelfth round).
    let day_number = |day: &str| d.cast(&d.days_between(&epoch, day), "BIGINT");
    format!(
        "SELECT customer_id, x, first_day, last_day, (total - coalesce(first_value, 0)) / nullif(valued - {}, 0) AS m_x\n\
         FROM (\nSELECT customer_id, {} AS x, {} AS first_day, {} AS last_day, \
         sum(value) AS total, count(value) AS valued, {} AS first_value\n\
         FROM (\n  SELECT {key} AS customer_id, {} AS day, sum({value}) AS value\n  \
         FROM {}\n  WHERE {key} IS NOT NULL AND {time} IS NOT NULL AND {time} < {}\n  GROUP BY 1, 2\n)\nGROUP BY customer_id\n)",
        d.cast("first_value IS NOT NULL", "BIGINT"),
        d.cast("count(*) - 1", "BIGINT"),
        day_number("min(day)"),
        day_number("max(day)"),
        d.value_at_min("value", "day"),
        d.cast(&time, "DATE"),
        super::source_relation(&m.source, d),
        d.day_after(&m.calibration_end)
    )
}

/// The BG/NBD groups of the summary table `summary`: customers with the same `x`, recency
/// `t_days` and age `big_t_days` (days from the first purchase to the end of calibration).
pub fn groups_sql(m: &ResolvedModel, summary: &str, d: &dyn Dialect) -> String {
    format!(
        "SELECT x, last_day - first_day AS t_days, {} - first_day AS big_t_days, count(*) AS n \
         FROM {summary} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        d.cast(&d.days_between(&d.date("1970-01-01"), &d.date(&m.calibration_end)), "BIGINT")
    )
}
