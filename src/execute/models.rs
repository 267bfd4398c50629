//! The models of a run, fitted before its plan: each model's per-customer summary is computed
//! by DuckDB, fitted in Rust on the summary grouped by `(x, t_x, T)` (so the fit's cost does not
//! grow with customers), and its predictions land in the temporary table `MODELS_TABLE` that
//! the features query joins. A model that cannot be fitted (too few repeat buyers, no
//! convergence) gives NULL predictions and a warning, never a made-up number.

use super::first_line;
use crate::compile::dialect::{Dialect, DuckDb};
use crate::compile::models::{groups_sql, summary_sql, MODELS_TABLE};
use crate::error::{Error, Result};
use crate::models::bgnbd::{self, BgNbdParams, CustomerGroup};
use crate::models::gamma_gamma::{self, GammaGammaParams, RepeatBuyers};
use crate::models::FitOptions;
use crate::models::Prediction;
use crate::project::model::ModelKind;
use crate::validate::{Resolved, ResolvedModel};
use duckdb::Connection;
use serde::Serialize;

/// How a model's fit went, for the `model_fits` table, the warnings and `report`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelFit {
    pub model: String,
    pub kind: &'static str,
    /// `fitted`, or `not_fitted` (then `message` says why and the predictions are NULL).
    pub status: &'static str,
    /// Parameter name and fitted value, in the model's order.
    pub parameters: Vec<(String, f64)>,
    pub log_likelihood: Option<f64>,
    pub iterations: Option<usize>,
    /// Customers with a purchase up to the end of calibration.
    pub customers: i64,
    /// Those with at least one repeat purchase (day).
    pub repeat_buyers: i64,
    pub calibration_end: String,
    pub message: Option<String>,
    /// BG/NBD with data after `calibration_end`: actual and predicted repeat purchases in the
    /// holdout period per frequency in calibration.
    pub holdout: Vec<HoldoutRow>,
    /// Days from `calibration_end` to `as_of` (the holdout period; 0 without one).
    pub holdout_days: i64,
    /// `file:line` of the model.
    #[serde(skip)]
    pub origin: String,
}

/// Customers with `repeat_purchases` (purchase days after the first) in calibration (the last
/// bucket is that many or more): their mean purchase days in the holdout period, actual and as
/// the model predicted.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HoldoutRow {
    pub repeat_purchases: i64,
    pub customers: i64,
    pub actual: f64,
    pub predicted: f64,
}

/// The last frequency bucket of the holdout check: this many repeat purchases or more.
pub const HOLDOUT_BUCKETS: i64 = 7;

/// Days of one calendar month in the discounting of predicted CLV.
const MONTH_DAYS: u32 = 30;

/// Fit every model of `model` and create `MODELS_TABLE` (nothing without models).
pub fn fit_models(conn: &Connection, model: &Resolved) -> Result<Vec<ModelFit>> {
    if model.models.is_empty() {
        return Ok(Vec::new());
    }
    let mut fits = Vec::new();
    let mut tables = Vec::new();
    // (SQL, table) of the summaries computed so far: models on the same data share one.
    let mut summaries: Vec<(String, String)> = Vec::new();
    for m in &model.models {
        let sql = summary_sql(m, summary_value(model, m), &DuckDb);
        let summary = match summaries.iter().find(|(s, _)| *s == sql) {
            Some((_, table)) => table.clone(),
            None => {
                let table = format!("__segmenter_summary_{}", m.name);
                exec(conn, &m.name, &format!("CREATE OR REPLACE TEMP TABLE {} AS\n{sql}", DuckDb.ident(&table)))?;
                summaries.push((sql, table.clone()));
                table
            }
        };
        let fit = match m.kind {
            ModelKind::Bgnbd => fit_bgnbd(conn, m, &summary, model)?,
            ModelKind::GammaGamma => fit_gamma_gamma(conn, m, &summary)?,
        };
        tables.push((m.kind, format!("__segmenter_model_{}", m.name)));
        fits.push(fit);
    }
    combine(conn, model, &tables)?;
    Ok(fits)
}

/// The value column of `m`'s summary: its own, or that of a model on the same orders (same
/// source, time and calibration end), so that both can share one summary.
fn summary_value<'a>(model: &'a Resolved, m: &'a ResolvedModel) -> Option<&'a str> {
    let same = |o: &ResolvedModel, v: &str| summary_sql(o, Some(v), &DuckDb) == summary_sql(m, Some(v), &DuckDb);
    m.value.as_deref().or_else(|| model.models.iter().find_map(|o| o.value.as_deref().filter(|v| same(o, v))))
}

/// An empty `MODELS_TABLE` with the right columns, where only the plan's types matter (the
/// bind check).
pub fn create_empty(conn: &Connection, model: &Resolved) -> Result<()> {
    let Some(first) = model.models.first() else { return Ok(()) };
    let cols: Vec<String> = crate::models::columns(&model.models).iter().map(|c| format!("CAST(NULL AS DOUBLE) AS {}", DuckDb.ident(&c.name))).collect();
    let sql = format!(
        "CREATE OR REPLACE TEMP TABLE {} AS SELECT customer_id, {} FROM (\n{}\n) WHERE FALSE",
        DuckDb.ident(MODELS_TABLE),
        cols.join(", "),
        summary_sql(first, None, &DuckDb)
    );
    exec(conn, &first.name, &sql)
}

fn exec(conn: &Connection, model: &str, sql: &str) -> Result<()> {
    tracing::debug!(model, sql, "model step");
    conn.execute_batch(sql).map_err(|e| Error::Step { step: format!("model '{model}'"), message: first_line(&e.to_string()) })
}

/// The first `width` columns of `sql` as numbers, row by row; read through Arrow (column
/// batches cast to DOUBLE), which at 600k rows takes a third of the time of reading row by row.
fn rows(conn: &Connection, model: &str, sql: &str, width: usize) -> Result<Vec<Vec<f64>>> {
    use duckdb::arrow::array::{Array, Float64Array};
    let fail = |message: String| Error::Step { step: format!("model '{model}'"), message };
    let err = |e: duckdb::Error| fail(first_line(&e.to_string()));
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let mut out = Vec::new();
    for batch in stmt.query_arrow([]).map_err(err)? {
        let mut columns = Vec::with_capacity(width);
        for i in 0..width.min(batch.num_columns()) {
            let column = duckdb::arrow::compute::cast(batch.column(i), &duckdb::arrow::datatypes::DataType::Float64).map_err(|e| fail(e.to_string()))?;
            if column.null_count() > 0 {
                return Err(fail(format!("column {} of the model's data has NULLs", i + 1)));
            }
            columns.push(column);
        }
        let numbers: Vec<&Float64Array> = columns.iter().filter_map(|c| c.as_any().downcast_ref::<Float64Array>()).collect();
        if numbers.len() != width {
            return Err(fail(format!("the model's data has {} numeric columns, not {width}", numbers.len())));
        }
        out.extend((0..batch.num_rows()).map(|r| numbers.iter().map(|c| c.value(r)).collect::<Vec<f64>>()));
    }
    Ok(out)
}

/// A DOUBLE literal holding `v` exactly (scientific notation: DuckDB reads `1.5` as DECIMAL).
fn double(v: f64) -> String {
    if v.is_finite() { format!("{v:e}") } else { "NULL".into() }
}

fn record(m: &ResolvedModel, kind: &'static str, customers: i64, repeat_buyers: i64) -> ModelFit {
    ModelFit {
        model: m.name.clone(),
        kind,
        status: "not_fitted",
        parameters: Vec::new(),
        log_likelihood: None,
        iterations: None,
        customers,
        repeat_buyers,
        calibration_end: m.calibration_end.clone(),
        message: None,
        holdout: Vec::new(),
        holdout_days: 0,
        origin: m.origin.clone(),
    }
}

/// Whether the fit can be used; otherwise `fit.message` says why not.
fn usable<P>(fit: &mut ModelFit, result: crate::models::ModelResult<crate::models::Fit<P>>, params: impl Fn(&P) -> Vec<(String, f64)>) -> Option<P> {
    match result {
        Ok(f) if f.converged => {
            fit.status = "fitted";
            fit.parameters = params(&f.params);
            fit.log_likelihood = Some(f.log_likelihood);
            fit.iterations = Some(f.iterations);
            Some(f.params)
        }
        Ok(f) => {
            fit.iterations = Some(f.iterations);
            fit.message = Some(format!("the fit did not converge in {} iterations", f.iterations));
            None
        }
        Err(e) => {
            fit.message = Some(format!("the fit failed: {e}"));
            None
        }
    }
}

fn fit_options(m: &ResolvedModel, threads: usize) -> FitOptions {
    FitOptions { penalizer: m.penalizer, threads, ..FitOptions::default() }
}

fn too_thin(fit: &mut ModelFit, min: u32) -> bool {
    if fit.repeat_buyers < i64::from(min) {
        fit.message = Some(format!("only {} repeat buyer(s), fewer than min_repeat_buyers ({min})", fit.repeat_buyers));
        return true;
    }
    false
}

/// BG/NBD: fit on the `(x, t_x, T)` groups, then `p_alive`, the expected purchases per horizon
/// and, for predicted CLV, the monthly-discounted expected purchases per customer.
///
/// The expected purchases are `P(alive) · E[Y(t) | alive]` (FHL 2005, equation 10), and the
/// second factor depends on `x` and `T` only, not on `t_x`: Rust computes it once per distinct
/// `(x, T)` (its `₂F₁` are most of the cost) on every core, and DuckDB multiplies it by
/// `p_alive`, a closed form, per customer.
fn fit_bgnbd(conn: &Connection, m: &ResolvedModel, summary: &str, model: &Resolved) -> Result<ModelFit> {
    let d = DuckDb;
    let groups = rows(conn, &m.name, &groups_sql(m, &d.ident(summary), &d), 4)?;
    let customers: f64 = groups.iter().map(|g| g[3]).sum();
    let repeat: f64 = groups.iter().filter(|g| g[0] > 0.0).map(|g| g[3]).sum();
    let mut fit = record(m, "bgnbd", customers as i64, repeat as i64);
    let unit = m.unit.days();
    let threads = duckdb_threads(conn, &m.name)?;
    let params = if too_thin(&mut fit, m.min_repeat_buyers) {
        None
    } else {
        let cg: Vec<CustomerGroup> = groups.iter().map(|g| CustomerGroup { x: g[0], t_x: g[1] / unit, big_t: g[2] / unit, count: g[3] as u64 }).collect();
        usable(&mut fit, bgnbd::fit(&cg, &fit_options(m, threads)), |p: &BgNbdParams| {
            vec![("r".into(), p.r), ("alpha".into(), p.alpha), ("a".into(), p.a), ("b".into(), p.b)]
        })
    };
    let holdout_days = rows(conn, &m.name, &format!("SELECT {}", d.cast(&d.days_between(&d.date(&m.calibration_end), &d.date(&model.as_of)), "DOUBLE")), 1)?;
    fit.holdout_days = holdout_days.first().map_or(0, |r| r[0] as i64);
    let pred = format!("__segmenter_pred_{}", m.name);
    let mut cols = vec!["x BIGINT".to_string(), "big_t_days BIGINT".into()];
    cols.extend(m.horizons.iter().flat_map(|h| [format!("alive_purchases_{h}d DOUBLE"), format!("alive_disc_{h}d DOUBLE")]));
    cols.push("alive_holdout DOUBLE".into());
    exec(conn, &m.name, &format!("CREATE OR REPLACE TEMP TABLE {} ({})", d.ident(&pred), cols.join(", ")))?;
    if let Some(p) = params {
        let days = PredictionDays::new(&m.horizons, fit.holdout_days);
        let discount = model.models.iter().find(|g| g.kind == ModelKind::GammaGamma).map(|g| g.discount_rate);
        append_predictions(conn, m, &pred, &alive_pairs(&groups), threads, |x, big_t_days| days.row(&p, x, big_t_days, unit, discount))?;
    }
    let alive = params.map_or("CAST(NULL AS DOUBLE)".to_string(), |p| p_alive_sql(&p, &m.calibration_end, unit));
    let mut select = vec!["s.customer_id".to_string(), "s.p_alive".into()];
    select.extend(m.horizons.iter().flat_map(|h| {
        [format!("s.p_alive * g.alive_purchases_{h}d AS expected_purchases_{h}d"), format!("s.p_alive * g.alive_disc_{h}d AS __disc_{h}d")]
    }));
    select.push("s.p_alive * g.alive_holdout AS __holdout".into());
    let sql = format!(
        "CREATE OR REPLACE TEMP TABLE {} AS SELECT {} FROM (SELECT *, {alive} AS p_alive FROM {}) AS s LEFT JOIN {} AS g ON g.x = s.x \
         AND g.big_t_days = {} - s.first_day",
        d.ident(&format!("__segmenter_model_{}", m.name)),
        select.join(", "),
        d.ident(summary),
        d.ident(&pred),
        d.cast(&d.days_between(&d.date("1970-01-01"), &d.date(&m.calibration_end)), "BIGINT")
    );
    exec(conn, &m.name, &sql)?;
    if params.is_some() && fit.holdout_days > 0 {
        fit.holdout = holdout(conn, m, summary, &model.as_of)?;
    }
    Ok(fit)
}

/// DuckDB's `threads` setting, which the fit and the predictions use too.
fn duckdb_threads(conn: &Connection, model: &str) -> Result<usize> {
    let threads = rows(conn, model, "SELECT CAST(current_setting('threads') AS DOUBLE)", 1)?;
    Ok(threads.first().map_or(1, |r| r[0].max(1.0) as usize))
}

/// `P(alive)` per row of the summary, as [`bgnbd::p_alive`] computes it:
/// `1 / (1 + exp(ln(a/(b+x−1)) + (r+x) ln((α+T)/(α+t_x))))` for `x > 0`, 1 for `x = 0`. The
/// exponent is capped at 709 (DuckDB's `exp` gives NULL where it overflows; the probability
/// there is below 1e-307 either way).
fn p_alive_sql(p: &BgNbdParams, calibration_end: &str, unit: f64) -> String {
    let d = DuckDb;
    let days = d.cast(&d.days_between(&d.date("1970-01-01"), &d.date(calibration_end)), "BIGINT");
    let big_t = format!("{} / {}", d.cast(&format!("{days} - first_day"), "DOUBLE"), double(unit));
    let t_x = format!("CAST(last_day - first_day AS DOUBLE) / {}", double(unit));
    let (r, alpha, a, b) = (double(p.r), double(p.alpha), double(p.a), double(p.b));
    format!(
        "CASE WHEN x = 0 THEN 1e0 ELSE 1e0 / (1e0 + exp(least(ln({a} / ({b} + x - 1)) + ({r} + x) * ln(({alpha} + {big_t}) / ({alpha} + {t_x})), 709e0))) END"
    )
}

/// The distinct `(x, T in days)` of the groups (`x`, `t_days`, `big_t_days`, `n` rows).
fn alive_pairs(groups: &[Vec<f64>]) -> Vec<(i64, i64)> {
    let mut pairs: Vec<(i64, i64)> = groups.iter().map(|g| (g[0] as i64, g[2] as i64)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Computes `row(x, T)` for every pair on `threads` threads and appends `x, T, row...` to
/// the table `pred`.
fn append_predictions<F>(conn: &Connection, m: &ResolvedModel, pred: &str, pairs: &[(i64, i64)], threads: usize, row: F) -> Result<()>
where
    F: Fn(i64, i64) -> Vec<Option<f64>> + Sync,
{
    let err = |e: duckdb::Error| Error::Step { step: format!("model '{}'", m.name), message: first_line(&e.to_string()) };
    let chunks = crate::models::parallel::chunked_map(pairs, threads, |chunk| chunk.iter().map(|&(x, t)| row(x, t)).collect::<Vec<_>>());
    let mut appender = conn.appender_to_catalog_and_db(pred, "temp", "main").map_err(err)?;
    for (&(x, t), cells) in pairs.iter().zip(chunks.iter().flatten()) {
        let mut values: Vec<&dyn duckdb::ToSql> = vec![&x, &t];
        values.extend(cells.iter().map(|c| c as &dyn duckdb::ToSql));
        appender.append_row(values.as_slice()).map_err(err)?;
    }
    appender.flush().map_err(err)
}

/// The days ahead at which a customer's expected purchases are needed: every horizon, every
/// month boundary (30 days) before it for the CLV discounting, and the holdout period. Each
/// distinct day is evaluated once per `(x, T)`.
struct PredictionDays {
    /// Distinct days, ascending.
    days: Vec<i64>,
    /// Per horizon: its index in `days`, and per month `i` (from 1) the indices of its start
    /// (`None` for day 0) and end.
    horizons: Vec<(usize, Vec<(Option<usize>, usize)>)>,
    /// The holdout period's index in `days` (none without one).
    holdout: Option<usize>,
}

impl PredictionDays {
    fn new(horizons: &[u32], holdout_days: i64) -> Self {
        let months = |h: u32| (1..=h.div_ceil(MONTH_DAYS)).map(move |i| (i64::from((i - 1) * MONTH_DAYS), i64::from((i * MONTH_DAYS).min(h))));
        let mut days: Vec<i64> = horizons.iter().flat_map(|&h| months(h).map(|(_, to)| to).chain([i64::from(h)])).collect();
        days.extend((holdout_days > 0).then_some(holdout_days));
        days.sort_unstable();
        days.dedup();
        let at = |day: i64| days.binary_search(&day).ok();
        let horizons = horizons
            .iter()
            .map(|&h| {
                let index = at(i64::from(h)).unwrap_or_default();
                (index, months(h).map(|(from, to)| (at(from), at(to).unwrap_or_default())).collect())
            })
            .collect();
        let holdout = if holdout_days > 0 { at(holdout_days) } else { None };
        Self { days, horizons, holdout }
    }

    /// One `(x, T)` pair's predictions for a customer alive at `T`: per horizon the expected
    /// purchases and their sum month by month, each month discounted by `(1 + rate)^month`
    /// (`None` without a Gamma-Gamma model), then the expected purchases in the holdout period.
    fn row(&self, p: &BgNbdParams, x: i64, big_t_days: i64, unit: f64, discount: Option<f64>) -> Vec<Option<f64>> {
        let (x, big_t) = (x as f64, big_t_days as f64 / unit);
        let at: Vec<Option<f64>> = self.days.iter().map(|&d| bgnbd::expected_purchases_if_alive(p, d as f64 / unit, x, big_t).ok()).collect();
        let mut cells = Vec::with_capacity(2 * self.horizons.len() + 1);
        for (index, months) in &self.horizons {
            cells.push(at[*index]);
            let discounted = discount.and_then(|rate| {
                months.iter().zip(1..).try_fold(0.0, |sum, (&(from, to), i)| {
                    let before = match from { Some(f) => at[f]?, None => 0.0 };
                    Some(sum + (at[to]? - before) / (1.0 + rate).powi(i))
                })
            });
            cells.push(discounted);
        }
        cells.push(self.holdout.and_then(|h| at[h]));
        cells
    }
}

/// Actual against predicted purchase days after `calibration_end` up to `as_of`, per
/// frequency bucket.
fn holdout(conn: &Connection, m: &ResolvedModel, summary: &str, as_of: &str) -> Result<Vec<HoldoutRow>> {
    let d = DuckDb;
    let (key, time) = (d.ident(&m.source.key), d.ident(&m.time));
    let sql = format!(
        "WITH h AS (SELECT {key} AS customer_id, count(DISTINCT CAST({time} AS DATE)) AS n FROM {} WHERE {time} >= {} AND {time} < {} GROUP BY 1)\n\
         SELECT CAST(least(s.x, {HOLDOUT_BUCKETS}) AS DOUBLE), CAST(count(*) AS DOUBLE), avg(coalesce(h.n, 0)), avg(g.__holdout)\n\
         FROM {} AS s JOIN {} AS g USING (customer_id)\n\
         LEFT JOIN h USING (customer_id) GROUP BY 1 ORDER BY 1",
        crate::compile::source_relation(&m.source, &d),
        d.day_after(&m.calibration_end),
        d.day_after(as_of),
        d.ident(summary),
        d.ident(&format!("__segmenter_model_{}", m.name)),
    );
    Ok(rows(conn, &m.name, &sql, 4)?
        .into_iter()
        .map(|r| HoldoutRow { repeat_purchases: r[0] as i64, customers: r[1] as i64, actual: r[2], predicted: r[3] })
        .collect())
}

/// Gamma-Gamma: fit on the repeat buyers' `(x, m_x)`; the expected value per purchase is
/// closed-form, `p (v + x m_x) / (p x + q − 1)`, computed by DuckDB with the fitted values.
fn fit_gamma_gamma(conn: &Connection, m: &ResolvedModel, summary: &str) -> Result<ModelFit> {
    let d = DuckDb;
    let buyers = rows(conn, &m.name, &format!("SELECT CAST(x AS DOUBLE), m_x, CAST(count(*) AS DOUBLE) FROM {} WHERE x > 0 AND m_x > 0 GROUP BY 1, 2 ORDER BY 1, 2", d.ident(summary)), 3)?;
    let customers = rows(conn, &m.name, &format!("SELECT CAST(count(*) AS DOUBLE) FROM {}", d.ident(summary)), 1)?;
    let repeat: f64 = buyers.iter().map(|b| b[2]).sum();
    let mut fit = record(m, "gamma_gamma", customers.first().map_or(0, |c| c[0] as i64), repeat as i64);
    let params = if too_thin(&mut fit, m.min_repeat_buyers) {
        None
    } else {
        let rb: Vec<RepeatBuyers> = buyers.iter().map(|b| RepeatBuyers { x: b[0], m_x: b[1], count: b[2] as u64 }).collect();
        usable(&mut fit, gamma_gamma::fit(&rb, &fit_options(m, duckdb_threads(conn, &m.name)?)), |p: &GammaGammaParams| {
            vec![("p".into(), p.p), ("q".into(), p.q), ("v".into(), p.v)]
        })
    };
    // Without repeat purchases the expectation is the population mean v p / (q − 1) (finite for q > 1).
    let value = match params {
        Some(GammaGammaParams { p, q, v }) => format!(
            "CASE WHEN x = 0 AND {q} > 1 THEN {} * {} / ({} - 1) WHEN x > 0 AND m_x > 0 THEN {} * ({} + x * m_x) / ({} * x + {} - 1) END",
            double(v), double(p), double(q), double(p), double(v), double(p), double(q),
            q = double(q)
        ),
        None => "CAST(NULL AS DOUBLE)".into(),
    };
    let sql = format!(
        "CREATE OR REPLACE TEMP TABLE {} AS SELECT customer_id, {value} AS expected_avg_value FROM {}",
        d.ident(&format!("__segmenter_model_{}", m.name)),
        d.ident(summary)
    );
    exec(conn, &m.name, &sql)?;
    Ok(fit)
}

/// `MODELS_TABLE`: every model's predictions per customer, the predicted CLV from both.
fn combine(conn: &Connection, model: &Resolved, tables: &[(ModelKind, String)]) -> Result<()> {
    let d = DuckDb;
    let alias = |kind: ModelKind| if kind == ModelKind::Bgnbd { "b" } else { "g" };
    let mut from = String::new();
    for (i, (kind, table)) in tables.iter().enumerate() {
        from.push_str(&match i {
            0 => format!("{} AS {}", d.ident(table), alias(*kind)),
            _ => format!(" FULL JOIN {} AS {} USING (customer_id)", d.ident(table), alias(*kind)),
        });
    }
    let cols: Vec<String> = crate::models::columns(&model.models)
        .iter()
        .map(|c| match c.prediction {
            Prediction::Clv(h) => format!("b.__disc_{h}d * g.expected_avg_value AS {}", d.ident(&c.name)),
            _ => d.ident(&c.name),
        })
        .collect();
    let first = tables.first().map_or("", |(kind, _)| alias(*kind));
    let key = if tables.len() > 1 { "customer_id".to_string() } else { format!("{first}.customer_id") };
    exec(conn, "models", &format!("CREATE OR REPLACE TEMP TABLE {} AS SELECT {key}, {} FROM {from}", d.ident(MODELS_TABLE), cols.join(", ")))
}
