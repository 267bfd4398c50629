//! Dependency graphs between definitions: feature depth and cycles, segment inlining, selection.

use super::{Deps, ResolvedFeature};
use crate::compile::template::TemplateRef;
use crate::compile::tree::Rule;
use crate::project::model::SegmentDef;
use crate::project::Item;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Depth of a feature: 0 for features read from a source, 1 + the deepest input otherwise.
/// Returns the cycle (names in order) when features depend on each other.
pub fn feature_depth(
    name: &str,
    deps: &BTreeMap<String, Deps>,
    memo: &mut BTreeMap<String, usize>,
    stack: &mut Vec<String>,
) -> Result<usize, Vec<String>> {
    if let Some(d) = memo.get(name) {
        return Ok(*d);
    }
    if let Some(pos) = stack.iter().position(|s| s == name) {
        let mut cycle = stack[pos..].to_vec();
        cycle.push(name.to_string());
        return Err(cycle);
    }
    let Some(d) = deps.get(name) else { return Ok(0) };
    stack.push(name.to_string());
    let mut depth = 0;
    let mut derived = false;
    for dep in &d.features {
        if dep.starts_with("source:") {
            continue;
        }
        derived = true;
        depth = depth.max(feature_depth(dep, deps, memo, stack)? + 1);
    }
    stack.pop();
    let depth = if derived { depth } else { depth.max(usize::from(!d.features.iter().any(|f| f.starts_with("source:")))) };
    memo.insert(name.to_string(), depth);
    Ok(depth)
}

/// Features and the sources they read, to find what a definition needs.
pub struct Graph<'a> {
    deps: &'a BTreeMap<String, Deps>,
}

impl<'a> Graph<'a> {
    pub fn new(_features: &[ResolvedFeature], deps: &'a BTreeMap<String, Deps>) -> Self {
        Graph { deps }
    }

    /// All features `roots` use, directly or through other features (including the roots).
    pub fn closure(&self, roots: &BTreeSet<String>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = roots.iter().cloned().collect();
        while let Some(f) = todo.pop() {
            if f.starts_with("source:") || !out.insert(f.clone()) {
                continue;
            }
            if let Some(d) = self.deps.get(&f) {
                todo.extend(d.features.iter().cloned());
            }
        }
        out
    }

    /// Sources a feature reads, directly or through other features.
    pub fn sources_of(&self, feature: &str) -> BTreeSet<String> {
        let mut roots = BTreeSet::new();
        roots.insert(feature.to_string());
        self.closure(&roots)
            .iter()
            .filter_map(|f| self.deps.get(f))
            .flat_map(|d| d.features.iter().filter_map(|x| x.strip_prefix("source:").map(str::to_string)))
            .collect()
    }
}

type Rules<'a> = BTreeMap<String, (&'a Item<SegmentDef>, (Rule, Deps))>;

/// The rule of segment `name` with `segment()` references and `extends` inlined, as a tree.
pub fn expand_rule(name: &str, rule: &Rule, rules: &Rules, stack: &mut Vec<String>, features: &mut BTreeSet<String>) -> Result<Rule, Vec<String>> {
    let Some((item, (_, deps))) = rules.get(name) else { return Ok(rule.clone()) };
    features.extend(deps.features.iter().cloned());
    let inline = |other: &str, stack: &mut Vec<String>, features: &mut BTreeSet<String>| -> Result<Rule, Vec<String>> {
        if stack.iter().any(|s| s == other) {
            let mut cycle = stack.clone();
            cycle.push(other.to_string());
            return Err(cycle);
        }
        let Some((_, (other_rule, _))) = rules.get(other) else { return Ok(Rule::new(sqlparser::ast::Expr::value(sqlparser::ast::Value::Boolean(false)))) };
        stack.push(other.to_string());
        let r = expand_rule(other, other_rule, rules, stack, features);
        stack.pop();
        r
    };
    // Each `segment('x')` node of the tree becomes x's rule, always TRUE or FALSE as membership
    // is: `NOT segment('loyal')` must not turn NULL (and drop the customer) where a feature the
    // inlined rule reads is NULL.
    let mut out = rule.replace_refs(&mut |r| match r {
        TemplateRef::Segment(other) if deps.segments.contains(other) => inline(other, stack, features).map(|expanded| Some(expanded.or_false().expr().clone())),
        _ => Ok(None),
    })?;
    if let Some(parent) = &item.def.extends {
        out = Rule::and(&inline(parent, stack, features)?, &out);
    }
    Ok(out)
}

/// `--select` entries: definition names or `tag:NAME`. Remembers which entries matched.
pub struct Selector {
    entries: Vec<String>,
    matched: RefCell<BTreeSet<String>>,
}

impl Selector {
    pub fn new(entries: &[String]) -> Self {
        Selector { entries: entries.to_vec(), matched: RefCell::default() }
    }

    pub fn matches(&self, name: &str, tags: &[String]) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        let mut hit = false;
        for e in &self.entries {
            let ok = match e.strip_prefix("tag:") {
                Some(tag) => tags.iter().any(|t| t == tag),
                None => e == name,
            };
            if ok {
                self.matched.borrow_mut().insert(e.clone());
                hit = true;
            }
        }
        hit
    }

    /// Entries that matched no definition.
    pub fn unmatched(&self) -> Vec<String> {
        let m = self.matched.borrow();
        self.entries.iter().filter(|e| !m.contains(*e)).cloned().collect()
    }
}
