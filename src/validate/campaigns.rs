//! `campaigns:` (E080): the source of campaign messages with the columns measurement reads, and
//! the orders source that attributes revenue when the messages carry none.

use super::{did_you_mean, join_names, resolved_source, SourceInfo, Validator};
use crate::validate::resolved::ResolvedCampaigns;
use std::collections::BTreeMap;

/// Columns every campaign source needs (after its renames).
pub const REQUIRED_COLUMNS: [&str; 4] = ["campaign", "opened", "clicked", "converted"];

impl Validator<'_> {
    /// The resolved `campaigns:` block; `None` without one, or when its source has no data (a
    /// warning about the source says so already) or a problem was reported.
    pub(super) fn campaigns(&mut self, sources: &BTreeMap<String, SourceInfo>) -> Option<ResolvedCampaigns> {
        let p = self.project;
        let c = p.config.campaigns.as_ref()?;
        let Some(def) = p.config.sources.get(&c.source) else {
            let hint = did_you_mean(&c.source, p.config.sources.keys().map(String::as_str))
                .unwrap_or_else(|| "declare the source of campaign messages under `sources:`".into());
            self.err("E080", p.config_loc("campaigns.source"), format!("campaigns read source '{}', which is not declared", c.source), Some(hint));
            return None;
        };
        let before = self.diags.len();
        if def.time.is_none() {
            self.err("E080", p.config_loc(&format!("sources.{}", c.source)), format!("source '{}' of campaigns needs `time:`, the column with the send time", c.source),
                Some("e.g. time: sent_at".into()));
        }
        let info = sources.get(&c.source).filter(|i| i.available)?;
        if let Some(columns) = &info.columns {
            let missing: Vec<&str> = REQUIRED_COLUMNS.iter().copied().filter(|col| !columns.contains(*col)).collect();
            if let [first, ..] = missing[..] {
                let hint = match (missing.len(), did_you_mean(first, columns.iter().map(String::as_str))) {
                    (1, Some(h)) => format!("{h}; rename it under sources.{}.rename", c.source),
                    _ => format!("columns are: {}; rename yours to these names under sources.{}.rename", join_names(columns), c.source),
                };
                let (noun, list) = if missing.len() == 1 { ("column", format!("'{first}'")) } else { ("columns", missing.join(", ")) };
                self.err("E080", p.config_loc("campaigns.source"), format!("source '{}' of campaigns has no {noun} {list}", c.source), Some(hint));
            }
        }
        if self.diags.len() > before {
            return None;
        }
        let has = |column: &str| info.columns.as_ref().is_some_and(|cols| cols.contains(column));
        let (has_revenue, has_holdout) = (has("revenue"), has("holdout"));
        let orders = if has_revenue { None } else { self.attribution_orders(&c.orders_source, sources) };
        let mut source = resolved_source(p, &c.source, def);
        source.absent = info.absent.clone();
        Some(ResolvedCampaigns { source, has_revenue, has_holdout, orders, attribution_days: c.attribution_days, min_group_size: c.min_group_size })
    }

    /// The orders source that attribution reads, when it has data, a time column and `amount`.
    fn attribution_orders(&mut self, name: &str, sources: &BTreeMap<String, SourceInfo>) -> Option<crate::validate::ResolvedSource> {
        let p = self.project;
        let def = p.config.sources.get(name);
        let info = sources.get(name).filter(|i| i.available);
        let usable = def.is_some_and(|d| d.time.is_some()) && info.is_some_and(|i| i.columns.as_ref().is_none_or(|c| c.contains("amount")));
        if !usable {
            self.err("E080", p.config_loc("campaigns.orders_source"),
                format!("campaign revenue needs a `revenue` column in the campaign source, or orders source '{name}' with data, `time:` and an `amount` column"),
                Some("add `revenue` to the campaign messages, or point campaigns.orders_source at the orders".into()));
            return None;
        }
        def.map(|d| resolved_source(p, name, d))
    }
}
