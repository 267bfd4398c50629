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
    for m in &model.models {
        let summary = format!("__segmenter_summary_{}", m.name);
        exec(conn, &m.name, &format!("CREATE OR REPLACE TEMP TABLE {} AS\n{}", DuckDb.ident(&summary), summary_sql(m, &DuckDb)))?;
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

/// An empty `MODELS_TABLE` with the right columns, where only the plan's types matter (the
/// bind check).
pub fn create_empty(conn: &Connection, model: &Resolved) -> Result<()> {
    let Some(first) = model.models.first() else { return Ok(()) };
    let cols: Vec<String> = crate::models::columns(&model.models).iter().map(|c| format!("CAST(NULL AS DOUBLE) AS {}", DuckDb.ident(&c.name))).collect();
    let sql = format!(
        "CREATE OR REPLACE TEMP TABLE {} AS SELECT customer_id, {} FROM (\n{}\n) WHERE FALSE",
        DuckDb.ident(MODELS_TABLE),
        cols.join(", "),
        summary_sql(first, &DuckDb)
    );
    exec(conn, &first.name, &sql)
}

fn exec(conn: &Connection, model: &str, sql: &str) -> Result<()> {
    tracing::debug!(model, sql, "model step");
    conn.execute_batch(sql).map_err(|e| Error::Step { step: format!("model '{model}'"), message: first_line(&e.to_string()) })
}

fn rows(conn: &Connection, model: &str, sql: &str, width: usize) -> Result<Vec<Vec<f64>>> {
    let err = |e: duckdb::Error| Error::Step { step: format!("model '{model}'"), message: first_line(&e.to_string()) };
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let out = stmt.query_map([], |r| (0..width).map(|i| r.get::<_, f64>(i)).collect::<duckdb::Result<Vec<f64>>>()).map_err(err)?;
    out.collect::<duckdb::Result<Vec<_>>>().map_err(err)
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

fn fit_options(m: &ResolvedModel) -> FitOptions {
    FitOptions { penalizer: m.penalizer, ..FitOptions::default() }
}

fn too_thin(fit: &mut ModelFit, min: u32) -> bool {
    if fit.repeat_buyers < i64::from(min) {
        fit.message = Some(format!("only {} repeat buyer(s), fewer than min_repeat_buyers ({min})", fit.repeat_buyers));
        return true;
    }
    false
}

/// BG/NBD: fit on the `(x, t_x, T)` groups, then per group `p_alive`, the expected purchases
/// per horizon and, for predicted CLV, the monthly-discounted expected purchases.
fn fit_bgnbd(conn: &Connection, m: &ResolvedModel, summary: &str, model: &Resolved) -> Result<ModelFit> {
    let d = DuckDb;
    let groups = rows(conn, &m.name, &groups_sql(m, &d.ident(summary), &d), 4)?;
    let customers: f64 = groups.iter().map(|g| g[3]).sum();
    let repeat: f64 = groups.iter().filter(|g| g[0] > 0.0).map(|g| g[3]).sum();
    let mut fit = record(m, "bgnbd", customers as i64, repeat as i64);
    let unit = m.unit.days();
    let params = if too_thin(&mut fit, m.min_repeat_buyers) {
        None
    } else {
        let cg: Vec<CustomerGroup> = groups.iter().map(|g| CustomerGroup { x: g[0], t_x: g[1] / unit, big_t: g[2] / unit, count: g[3] as u64 }).collect();
        usable(&mut fit, bgnbd::fit(&cg, &fit_options(m)), |p: &BgNbdParams| {
            vec![("r".into(), p.r), ("alpha".into(), p.alpha), ("a".into(), p.a), ("b".into(), p.b)]
        })
    };
    let discount = model.models.iter().find(|g| g.kind == ModelKind::GammaGamma).map(|g| g.discount_rate);
    let mut cols = vec!["x BIGINT".to_string(), "t_days BIGINT".into(), "big_t_days BIGINT".into(), "p_alive DOUBLE".into()];
    cols.extend(m.horizons.iter().flat_map(|h| [format!("expected_purchases_{h}d DOUBLE"), format!("__disc_{h}d DOUBLE")]));
    cols.push("__holdout DOUBLE".into());
    let holdout_days = rows(conn, &m.name, &format!("SELECT CAST(date_diff('day', {}, {}) AS DOUBLE)", d.date(&m.calibration_end), d.date(&model.as_of)), 1)?;
    fit.holdout_days = holdout_days.first().map_or(0, |r| r[0] as i64);
    let pred = format!("__segmenter_pred_{}", m.name);
    exec(conn, &m.name, &format!("CREATE OR REPLACE TEMP TABLE {} ({})", d.ident(&pred), cols.join(", ")))?;
    if let Some(p) = params {
        let values: Vec<String> = groups.iter().map(|g| group_row(&p, g, unit, &m.horizons, discount, fit.holdout_days)).collect();
        for chunk in values.chunks(500) {
            exec(conn, &m.name, &format!("INSERT INTO {} VALUES {}", d.ident(&pred), chunk.join(", ")))?;
        }
    }
    let mut select = vec!["s.customer_id".to_string(), "g.p_alive".into()];
    select.extend(m.horizons.iter().flat_map(|h| [format!("g.expected_purchases_{h}d"), format!("g.__disc_{h}d")]));
    let sql = format!(
        "CREATE OR REPLACE TEMP TABLE {} AS SELECT {} FROM {} AS s LEFT JOIN {} AS g ON g.x = s.x AND g.t_days = s.last_day - s.first_day \
         AND g.big_t_days = CAST(date_diff('day', DATE '1970-01-01', {}) AS BIGINT) - s.first_day",
        d.ident(&format!("__segmenter_model_{}", m.name)),
        select.join(", "),
        d.ident(summary),
        d.ident(&pred),
        d.date(&m.calibration_end)
    );
    exec(conn, &m.name, &sql)?;
    if params.is_some() && fit.holdout_days > 0 {
        fit.holdout = holdout(conn, m, summary, &pred, &model.as_of)?;
    }
    Ok(fit)
}

/// Actual against predicted purchase days after `calibration_end` up to `as_of`, per
/// frequency bucket.
fn holdout(conn: &Connection, m: &ResolvedModel, summary: &str, pred: &str, as_of: &str) -> Result<Vec<HoldoutRow>> {
    let d = DuckDb;
    let (key, time) = (d.ident(&m.source.key), d.ident(&m.time));
    let sql = format!(
        "WITH h AS (SELECT {key} AS customer_id, count(DISTINCT CAST({time} AS DATE)) AS n FROM {} WHERE {time} >= {} AND {time} < {} GROUP BY 1)\n\
         SELECT CAST(least(s.x, {HOLDOUT_BUCKETS}) AS DOUBLE), CAST(count(*) AS DOUBLE), avg(coalesce(h.n, 0)), avg(g.__holdout)\n\
         FROM {} AS s JOIN {} AS g ON g.x = s.x AND g.t_days = s.last_day - s.first_day \
         AND g.big_t_days = CAST(date_diff('day', DATE '1970-01-01', {}) AS BIGINT) - s.first_day\n\
         LEFT JOIN h USING (customer_id) GROUP BY 1 ORDER BY 1",
        crate::compile::source_relation(&m.source, &d),
        d.day_after(&m.calibration_end),
        d.day_after(as_of),
        d.ident(summary),
        d.ident(pred),
        d.date(&m.calibration_end)
    );
    Ok(rows(conn, &m.name, &sql, 4)?
        .into_iter()
        .map(|r| HoldoutRow { repeat_purchases: r[0] as i64, customers: r[1] as i64, actual: r[2], predicted: r[3] })
        .collect())
}

/// One group's VALUES row: `x, t_days, T_days, p_alive, (E[Y(h)], discounted E[Y(h)])...`.
fn group_row(p: &BgNbdParams, g: &[f64], unit: f64, horizons: &[u32], discount: Option<f64>, holdout_days: i64) -> String {
    let (x, t_x, big_t) = (g[0], g[1] / unit, g[2] / unit);
    let expected = |days: u32| bgnbd::conditional_expected_purchases(p, f64::from(days) / unit, x, t_x, big_t).ok();
    let mut cells = vec![format!("{}", g[0] as i64), format!("{}", g[1] as i64), format!("{}", g[2] as i64)];
    cells.push(bgnbd::p_alive(p, x, t_x, big_t).map_or("NULL".into(), double));
    for &h in horizons {
        cells.push(expected(h).map_or("NULL".into(), double));
        // Purchases month by month, each discounted by (1 + rate)^month.
        let discounted = discount.and_then(|rate| {
            let months = h.div_ceil(MONTH_DAYS);
            (1..=months).try_fold(0.0, |sum, i| {
                let (from, to) = ((i - 1) * MONTH_DAYS, (i * MONTH_DAYS).min(h));
                let before = if from == 0 { 0.0 } else { expected(from)? };
                Some(sum + (expected(to)? - before) / (1.0 + rate).powi(i as i32))
            })
        });
        cells.push(discounted.map_or("NULL".into(), double));
    }
    let holdout = (holdout_days > 0).then(|| bgnbd::conditional_expected_purchases(p, holdout_days as f64 / unit, x, t_x, big_t).ok()).flatten();
    cells.push(holdout.map_or("NULL".into(), double));
    format!("({})", cells.join(", "))
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
        usable(&mut fit, gamma_gamma::fit(&rb, &fit_options(m)), |p: &GammaGammaParams| {
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
