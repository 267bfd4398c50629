//! Checks on the resolved model that need the whole picture: tier levels that can never match,
//! segments that copy another segment's rule, and derived features nothing uses.

use super::{FeatureBody, Resolved, ResolvedLevel};
use crate::compile::tree::Rule;
use crate::diagnostics::{Diagnostic, Loc};
use crate::project::model::FeatureKind;
use std::collections::BTreeSet;

fn loc_of(origin: &str) -> Loc {
    Loc::from_origin(origin)
}

/// True when every customer who meets `later` also meets `earlier` (so `later` never wins):
/// `earlier` has only all-of thresholds, each implied by an equal-or-stricter one in `later`.
fn shadows(earlier: &ResolvedLevel, later: &ResolvedLevel) -> bool {
    if earlier.is_else || earlier.when.is_some() || !earlier.any_of.is_empty() || earlier.all_of.is_empty() || later.is_else {
        return false;
    }
    earlier.all_of.iter().all(|e| {
        let Ok(ev) = e.value.parse::<f64>() else { return false };
        later.all_of.iter().any(|l| {
            l.feature == e.feature
                && l.is_min == e.is_min
                && l.value.parse::<f64>().is_ok_and(|lv| if e.is_min { lv >= ev } else { lv <= ev })
        })
    })
}

/// Errors and warnings about the model as a whole; `selected` when `--select` narrowed it (a
/// feature the selection does not use is then no news).
pub fn lint(model: &Resolved, selected: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for t in &model.tiers {
        for (j, later) in t.levels.iter().enumerate() {
            if let Some(earlier) = t.levels[..j].iter().find(|e| shadows(e, later)) {
                out.push(
                    Diagnostic::error(
                        "E043",
                        loc_of(&later.origin),
                        format!("level '{}' of tier ladder '{}' can never be reached: everyone who meets it already meets '{}' above it", later.name, t.name, earlier.name),
                    )
                    .with_hint("levels are tried best first; give the better level stricter thresholds, or reorder the levels"),
                );
            }
        }
    }
    // Rules compare as trees: layout and comments do not count.
    for (i, s) in model.segments.iter().enumerate() {
        if let Some(first) = model.segments[..i].iter().find(|o| o.rule == s.rule) {
            out.push(
                Diagnostic::warning("W030", loc_of(&s.origin), format!("segment '{}' has the same rule as '{}' ({})", s.name, first.name, first.origin))
                    .with_hint("delete one of them, or use `extends` if one should narrow the other"),
            );
        }
    }
    // Derived and inferred features that no definition reads are computed for nothing.
    let mut rules: Vec<&Rule> = model.segments.iter().map(|s| &s.rule).collect();
    for f in &model.features {
        if let FeatureBody::Derived { sql, .. } = &f.body {
            rules.push(sql);
        }
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    for t in &model.tiers {
        for l in &t.levels {
            used.extend(l.all_of.iter().chain(l.any_of.iter().flatten()).map(|th| th.feature.clone()));
            rules.extend(l.when.as_ref());
        }
    }
    for sc in &model.scores {
        used.extend(sc.parts.iter().map(|(_, feature, _)| feature.clone()));
        rules.extend(sc.population.as_ref());
    }
    used.extend(model.stats.iter().map(|st| st.feature.clone()));
    for r in rules {
        used.extend(r.columns().into_iter().map(|r| r.name));
    }
    for f in &model.features {
        if !selected && matches!(f.body, FeatureBody::Derived { .. }) && f.kind != FeatureKind::Declared && !used.contains(&f.name) {
            out.push(
                Diagnostic::warning("W031", loc_of(&f.origin), format!("feature '{}' is not used by any segment, tier, score or other feature", f.name))
                    .with_hint("it is still published in customer_features; delete it if nobody reads it there"),
            );
        }
    }
    out
}
