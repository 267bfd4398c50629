//! Personal data is a property of the data, not of a column name: traced through renames and
//! through every feature that reads it, so that no export (or other destination outside the
//! database) writes it under another name without `allow_pii: true`.

use super::{Deps, FeatureBody, ResolvedFeature};
use crate::project::model::ProjectConfig;
use std::collections::BTreeMap;

/// The columns and features that hold personal data, each with the column it comes from.
#[derive(Debug, Clone, Default)]
pub struct PersonalData {
    /// Source columns (by the names the definitions use) -> the `pii:` entry they carry.
    columns: BTreeMap<String, String>,
    /// Features -> the personal-data column they read (directly or through other features).
    features: BTreeMap<String, String>,
}

impl PersonalData {
    /// The `pii:` columns, their renamed names, and the features that read any of them.
    pub(super) fn trace(config: &ProjectConfig, features: &[ResolvedFeature], deps: &BTreeMap<String, Deps>) -> PersonalData {
        let mut columns: BTreeMap<String, String> = config.pii.iter().map(|c| (c.clone(), c.clone())).collect();
        for source in config.sources.values() {
            for (from, to) in &source.rename {
                if let Some(origin) = config.pii.iter().find(|c| *c == from || *c == to) {
                    columns.insert(to.clone(), origin.clone());
                }
            }
        }
        let mut traced: BTreeMap<String, String> = BTreeMap::new();
        // Derived features come after what they read in dependency order; repeat until nothing
        // changes so the order of `features` does not matter.
        loop {
            let before = traced.len();
            for f in features {
                if traced.contains_key(&f.name) {
                    continue;
                }
                let origin = match &f.body {
                    FeatureBody::Derived { .. } => {
                        deps.get(&f.name).into_iter().flat_map(|d| &d.features).find_map(|name| traced.get(name).cloned())
                    }
                    FeatureBody::Column { sql } | FeatureBody::Aggregate { sql, .. } => {
                        sql.columns().iter().find_map(|id| columns.get(&id.name).cloned())
                    }
                    FeatureBody::Model { .. } => None,
                };
                if let Some(origin) = origin {
                    traced.insert(f.name.clone(), origin);
                }
            }
            if traced.len() == before {
                break;
            }
        }
        PersonalData { columns, features: traced }
    }

    /// Why exporting `column` (a feature or a customers column) writes personal data, if it does.
    pub fn why(&self, column: &str) -> Option<String> {
        if let Some(origin) = self.columns.get(column) {
            return Some(match origin == column {
                true => format!("the personal-data column '{column}'"),
                false => format!("the personal-data column '{column}' (renamed from '{origin}')"),
            });
        }
        self.features.get(column).map(|origin| format!("the feature '{column}', which reads the personal-data column '{origin}'"))
    }

}
