//! The report's model section: each model's fit of the report's date (`model_fits`) and, where
//! the data went past its calibration, actual against predicted purchases (`model_holdout`).

use super::render::{esc, Grid};
use crate::error::{Error, Result};
use duckdb::Connection;
use serde::Serialize;
use std::fmt::Write;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelSection {
    pub model: String,
    pub kind: String,
    pub status: String,
    /// The fitted parameters (JSON object text, `{}` when not fitted).
    pub parameters: serde_json::Value,
    pub log_likelihood: Option<f64>,
    pub customers: i64,
    pub repeat_buyers: i64,
    pub calibration_end: String,
    pub message: Option<String>,
    pub holdout_days: Option<i64>,
    pub holdout: Vec<crate::execute::models::HoldoutRow>,
}

/// The models of the run of `as_of` (none when the project has no models).
pub fn read(conn: &Connection, as_of: &str) -> Result<Vec<ModelSection>> {
    let err = |e: duckdb::Error| Error::Step { step: "report: models".into(), message: crate::execute::first_line(&e.to_string()) };
    if !crate::execute::table_exists(conn, "model_fits")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare("SELECT model, kind, status, parameters, log_likelihood, customers, repeat_buyers, CAST(calibration_end AS VARCHAR), message FROM model_fits WHERE as_of = CAST(? AS DATE) ORDER BY model")
        .map_err(err)?;
    let mut models: Vec<ModelSection> = stmt
        .query_map([as_of], |r| {
            let params: String = r.get(3)?;
            Ok(ModelSection {
                model: r.get(0)?,
                kind: r.get(1)?,
                status: r.get(2)?,
                parameters: serde_json::from_str(&params).unwrap_or_default(),
                log_likelihood: r.get(4)?,
                customers: r.get(5)?,
                repeat_buyers: r.get(6)?,
                calibration_end: r.get(7)?,
                message: r.get(8)?,
                holdout_days: None,
                holdout: Vec::new(),
            })
        })
        .map_err(err)?
        .collect::<duckdb::Result<_>>()
        .map_err(err)?;
    let mut stmt = conn
        .prepare("SELECT model, holdout_days, repeat_purchases, customers, actual, predicted FROM model_holdout WHERE as_of = CAST(? AS DATE) ORDER BY model, repeat_purchases")
        .map_err(err)?;
    let rows = stmt
        .query_map([as_of], |r| {
            let row = crate::execute::models::HoldoutRow { repeat_purchases: r.get(2)?, customers: r.get(3)?, actual: r.get(4)?, predicted: r.get(5)? };
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, row))
        })
        .map_err(err)?;
    for row in rows {
        let (model, days, row) = row.map_err(err)?;
        if let Some(m) = models.iter_mut().find(|m| m.model == model) {
            m.holdout_days = Some(days);
            m.holdout.push(row);
        }
    }
    Ok(models)
}

/// Each model's status and parameters.
pub(super) fn fits_grid(models: &[ModelSection]) -> Grid {
    let rows = models
        .iter()
        .map(|m| {
            let params = m.parameters.as_object().map(|o| o.iter().map(|(k, v)| format!("{k} = {:.4}", v.as_f64().unwrap_or(f64::NAN))).collect::<Vec<_>>().join(", ")).unwrap_or_default();
            let status = match &m.message {
                Some(why) => format!("{}: {why}", m.status),
                None => m.status.clone(),
            };
            vec![
                m.model.clone(),
                m.kind.clone(),
                status,
                params,
                m.log_likelihood.map_or("-".into(), |ll| format!("{ll:.1}")),
                m.customers.to_string(),
                m.repeat_buyers.to_string(),
                m.calibration_end.clone(),
            ]
        })
        .collect();
    Grid::new(&["model", "kind", "status", "parameters", "log-likelihood", "customers", "repeat buyers", "calibration end"], rows, &[false, false, false, false, true, true, true, false])
}

/// Label of a frequency bucket (the last one is open-ended).
fn bucket(h: &crate::execute::models::HoldoutRow) -> String {
    if h.repeat_purchases >= crate::execute::models::HOLDOUT_BUCKETS { format!("{}+", h.repeat_purchases) } else { h.repeat_purchases.to_string() }
}

/// Actual against predicted purchases in the holdout period per frequency bucket.
pub(super) fn holdout_grid(m: &ModelSection) -> Grid {
    let rows = m.holdout.iter().map(|h| vec![bucket(h), h.customers.to_string(), format!("{:.3}", h.actual), format!("{:.3}", h.predicted)]).collect();
    Grid::new(&["repeat purchases in calibration", "customers", "actual purchases after", "predicted"], rows, &[false, true, true, true])
}

/// The holdout check as paired bars: actual (dark) and predicted (light) per bucket.
pub(super) fn holdout_chart(m: &ModelSection) -> String {
    let (w, h, left, bottom) = (640.0, 220.0, 40.0, 30.0);
    let max = m.holdout.iter().flat_map(|r| [r.actual, r.predicted]).fold(0.0, f64::max).max(1e-9);
    let slot = (w - left) / m.holdout.len().max(1) as f64;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" role=\"img\" aria-label=\"actual and predicted purchases\">", h + 20.0);
    for (i, r) in m.holdout.iter().enumerate() {
        let x = left + i as f64 * slot;
        for (j, (value, class)) in [(r.actual, "bar"), (r.predicted, "pred")].into_iter().enumerate() {
            let bh = value / max * (h - bottom - 10.0);
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" class=\"{class}\"><title>{}: {} {value:.3}</title></rect>",
                x + 4.0 + j as f64 * (slot - 8.0) / 2.0,
                h - bottom - bh,
                (slot - 8.0) / 2.0,
                esc(&bucket(r)),
                if j == 0 { "actual" } else { "predicted" }
            );
        }
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"l\">{}</text>", x + slot / 2.0, h - bottom + 14.0, esc(&bucket(r)));
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{:.1}\" class=\"l\">by repeat purchases in calibration: <tspan class=\"bar-key\">■</tspan> actual, <tspan class=\"pred-key\">■</tspan> predicted purchases per customer in the {} days after</text></svg>",
        h + 14.0,
        m.holdout_days.unwrap_or(0)
    );
    svg
}
