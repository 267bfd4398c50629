//! The features a project's models predict: one column each of the models table.

use crate::project::model::ModelKind;
use crate::validate::ResolvedModel;

/// One prediction column.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelColumn {
    pub name: String,
    /// The model that predicts it.
    pub model: String,
    pub description: String,
    /// `file:line` of the model.
    pub origin: String,
    pub prediction: Prediction,
}

/// What a column predicts (`N` days ahead for the horizons).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prediction {
    PAlive,
    Purchases(u32),
    AvgValue,
    Clv(u32),
}

/// `p_alive` and `expected_purchases_<N>d` of the BG/NBD model; `expected_avg_value` of the
/// Gamma-Gamma model, and `predicted_clv_<N>d` when both are there (at the BG/NBD horizons).
pub fn columns(models: &[ResolvedModel]) -> Vec<ModelColumn> {
    let col = |m: &ResolvedModel, prediction: Prediction, name: String, description: String| ModelColumn {
        name,
        model: m.name.clone(),
        description,
        origin: m.origin.clone(),
        prediction,
    };
    let bgnbd = models.iter().find(|m| m.kind == ModelKind::Bgnbd);
    let mut out = Vec::new();
    if let Some(m) = bgnbd {
        out.push(col(m, Prediction::PAlive, "p_alive".into(), format!("Probability that the customer is still active (BG/NBD model '{}')", m.name)));
        for h in &m.horizons {
            out.push(col(m, Prediction::Purchases(*h), format!("expected_purchases_{h}d"), format!("Expected purchases in the next {h} days (BG/NBD model '{}')", m.name)));
        }
    }
    if let Some(m) = models.iter().find(|m| m.kind == ModelKind::GammaGamma) {
        out.push(col(m, Prediction::AvgValue, "expected_avg_value".into(), format!("Expected value per purchase (Gamma-Gamma model '{}')", m.name)));
        for h in bgnbd.map(|b| b.horizons.as_slice()).unwrap_or_default() {
            out.push(col(m, Prediction::Clv(*h), format!("predicted_clv_{h}d"), format!("Predicted value of the purchases in the next {h} days, discounted monthly (Gamma-Gamma model '{}')", m.name)));
        }
    }
    out
}
