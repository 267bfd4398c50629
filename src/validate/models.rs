//! The `models:` of the definition files: each checked (kind, source, columns, dates,
//! horizons) and resolved, with the features its predictions give.

use super::{did_you_mean, is_iso_date, is_valid_name, join_names, origin, resolved_source, SourceInfo, Validator};
use crate::project::model::{FeatureKind, ModelDef, ModelKind};
use crate::project::Item;
use crate::validate::{FeatureBody, ResolvedFeature, ResolvedModel};
use std::collections::BTreeMap;

impl Validator<'_> {
    /// Every valid model, and one feature per prediction (see [`crate::models::columns`]).
    pub(super) fn models(&mut self, sources: &BTreeMap<String, SourceInfo>, as_of: &str) -> (Vec<ResolvedModel>, Vec<ResolvedFeature>) {
        let p = self.project;
        let mut models: Vec<ResolvedModel> = Vec::new();
        for item in &p.models {
            let Some(m) = self.model(item, sources, as_of) else { continue };
            if let Some(first) = models.iter().find(|o| o.kind == m.kind) {
                self.err("E071", p.loc(item, "kind"), format!("model '{}' is a second {} model (the first is '{}')", m.name, kind_name(m.kind), first.name),
                    Some("a project has at most one model of each kind".into()));
                continue;
            }
            models.push(m);
        }
        let features = crate::models::columns(&models)
            .into_iter()
            .map(|c| ResolvedFeature {
                name: c.name,
                description: Some(c.description),
                kind: FeatureKind::Inferred,
                body: FeatureBody::Model { model: c.model },
                default_sql: None,
                ty: Some("DOUBLE".into()),
                origin: c.origin,
            })
            .collect();
        (models, features)
    }

    fn model(&mut self, item: &Item<ModelDef>, sources: &BTreeMap<String, SourceInfo>, as_of: &str) -> Option<ResolvedModel> {
        let (p, m) = (self.project, &item.def);
        let before = self.diags.len();
        if !is_valid_name(&m.name) {
            self.err("E011", p.loc(item, "name"), format!("invalid model name '{}'", m.name), Some("use lowercase letters, digits and underscores".into()));
        }
        let Some(def) = p.config.sources.get(&m.source) else {
            let hint = did_you_mean(&m.source, p.config.sources.keys().map(String::as_str));
            self.err("E020", p.loc(item, "source"), format!("unknown source '{}' in model '{}'", m.source, m.name), hint);
            return None;
        };
        let Some(time) = m.time.clone().or_else(|| def.time.clone()) else {
            self.err("E071", p.loc(item, "source"), format!("model '{}' needs the order time: source '{}' has no `time`", m.name, m.source),
                Some("set `time:` on the model or on the source".into()));
            return None;
        };
        if m.kind == ModelKind::GammaGamma && m.value.is_none() {
            self.err("E071", p.key_loc(item, "kind"), format!("model '{}' (gamma_gamma) needs `value:`, the order value column", m.name),
                Some("add e.g. `value: amount`".into()));
        }
        let columns = sources.get(&m.source).and_then(|s| s.columns.as_ref());
        for (field, column) in [("time", Some(&time)), ("value", m.value.as_ref())] {
            let Some(column) = column else { continue };
            if let Some(cols) = columns.filter(|c| !c.contains(column)) {
                let hint = did_you_mean(column, cols.iter().map(String::as_str)).unwrap_or_else(|| format!("columns are: {}", join_names(cols)));
                let at = if m.time.is_none() && field == "time" { p.loc(item, "source") } else { p.loc(item, field) };
                self.err("E025", at, format!("source '{}' has no column '{column}' (model '{}')", m.source, m.name), Some(hint));
            }
        }
        let calibration_end = m.calibration_end.clone().unwrap_or_else(|| as_of.to_string());
        if !is_iso_date(&calibration_end) || calibration_end.as_str() > as_of {
            self.err("E071", p.loc(item, "calibration_end"), format!("calibration_end '{calibration_end}' of model '{}' must be a date YYYY-MM-DD on or before as_of ({as_of})", m.name), None);
        }
        if m.horizons.is_empty() || m.horizons.contains(&0) {
            self.err("E071", p.loc(item, "horizons"), format!("model '{}' needs horizons of at least one day, e.g. [90, 365]", m.name), None);
        }
        let discount_rate = m.discount_rate.unwrap_or(0.01);
        if !(0.0..1.0).contains(&discount_rate) {
            self.err("E071", p.loc(item, "discount_rate"), format!("discount_rate {discount_rate} of model '{}' must be at least 0 and below 1 (per month)", m.name), None);
        }
        let penalizer = m.penalizer.unwrap_or(0.0);
        if !(penalizer.is_finite() && penalizer >= 0.0) {
            self.err("E071", p.loc(item, "penalizer"), format!("penalizer {penalizer} of model '{}' must be 0 or more, e.g. 0.001", m.name), None);
        }
        if self.diags.len() > before {
            return None;
        }
        let source = resolved_source(p, &m.source, def);
        Some(ResolvedModel {
            name: m.name.clone(),
            kind: m.kind,
            source,
            time,
            value: m.value.clone(),
            unit: m.unit,
            calibration_end,
            horizons: m.horizons.clone(),
            min_repeat_buyers: m.min_repeat_buyers,
            discount_rate,
            penalizer,
            origin: origin(&p.loc(item, "name")),
        })
    }
}

fn kind_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Bgnbd => "bgnbd",
        ModelKind::GammaGamma => "gamma_gamma",
    }
}
