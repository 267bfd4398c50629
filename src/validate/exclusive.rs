//! Exclusive groups: segments that share `exclusive: NAME` split their customers, each customer
//! going to the group's segment of highest `priority` whose rule holds (campaign audiences that
//! must not send two messages to one person).
//!
//! Each member's rule becomes `its rule AND NOT (the rules of the members above it)`, resolved
//! here so that a rule stays whole on its own (also when `--select` picks one member).

use super::{Deps, ResolvedSegment};
use crate::compile::tree::Rule;
use crate::diagnostics::{Diagnostic, Loc};
use std::collections::BTreeMap;

/// Resolve every exclusive group in `segments`; problems (a member without a priority, two
/// members with the same one) are errors E044 at the member (`loc` by segment name).
pub(super) fn resolve(segments: &mut [(ResolvedSegment, Deps)], loc: &dyn Fn(&str) -> Loc) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (s, _)) in segments.iter().enumerate() {
        if let Some(g) = &s.exclusive {
            groups.entry(g.clone()).or_default().push(i);
        }
    }
    for (group, members) in groups {
        let mut ranked: Vec<(i64, usize)> = Vec::new();
        for &i in &members {
            let s = &segments[i].0;
            match s.priority {
                None => diags.push(
                    Diagnostic::error("E044", loc(&s.name), format!("segment '{}' is in exclusive group '{group}' but has no priority", s.name))
                        .with_hint("give each member a `priority:`; a customer goes to the highest one whose rule holds"),
                ),
                Some(p) => match ranked.iter().find(|(q, _)| *q == p) {
                    Some((_, other)) => diags.push(
                        Diagnostic::error("E044", loc(&s.name), format!(
                            "segments '{}' and '{}' of exclusive group '{group}' have the same priority {p}",
                            segments[*other].0.name, s.name
                        ))
                        .with_hint("priorities decide who gets a customer both rules hold for; make them differ"),
                    ),
                    None => ranked.push((p, i)),
                },
            }
        }
        // Highest priority first: each member excludes everyone the members above it take.
        ranked.sort_by_key(|&(priority, _)| std::cmp::Reverse(priority));
        let originals: Vec<(Rule, Deps)> = ranked.iter().map(|&(_, i)| (segments[i].0.rule.clone(), segments[i].1.clone())).collect();
        for (k, &(_, i)) in ranked.iter().enumerate().skip(1) {
            let above: Vec<Rule> = originals[..k].iter().map(|(r, _)| r.or_false()).collect();
            let rule = Rule::and(&segments[i].0.rule.or_false(), &Rule::none_of(&above));
            segments[i].0.hash = super::rule_hash(&segments[i].0.name, &rule);
            segments[i].0.rule = rule;
            for (_, d) in &originals[..k] {
                segments[i].1.features.extend(d.features.iter().cloned());
            }
        }
    }
    diags
}
