//! The features step: each source's grouped scan into a scratch table, the statistics derived
//! features need, and the query joining the scans to the population and adding the derived
//! features in layers.

use super::dialect::Dialect;
use super::tree::Rule;
use super::{column, columns, indent, print_rule, rule_with_stats, source_relation, spelled, stat_aggregate, stats_of, typed, Computed, SelectItem, MODELS_TABLE};
use crate::validate::{FeatureBody, Resolved, ResolvedFeature, ResolvedSource, Top};

/// The conditions a feature's rows meet besides the time cut: its window and its filter.
pub(super) fn filter_conds(
    filter: Option<&Rule>,
    window: Option<crate::validate::Window>,
    src: &crate::validate::ResolvedSource,
    model: &Resolved,
    d: &dyn Dialect,
) -> Vec<String> {
    let mut conds = Vec::new();
    if let (Some(w), Some(t)) = (window, &src.time) {
        conds.push(format!("{} >= {}", d.ident(t), d.window_start(&model.as_of, w)));
    }
    if let Some(fl) = filter {
        conds.push(format!("({})", spelled(fl, d)));
    }
    conds
}

/// An aggregate over the rows meeting `conds`, as a `FILTER (WHERE ...)` clause.
pub(super) fn aggregate_expr(sql: &str, conds: Vec<String>) -> String {
    if conds.is_empty() {
        sql.to_string()
    } else {
        format!("{sql} FILTER (WHERE {})", conds.join(" AND "))
    }
}

/// Aggregates that are NULL over no rows and whose `ORDER BY` DuckDB evaluates by sorting every
/// group's rows: in a shared scan, a `FILTER` does not spare the per-group sort state of the
/// customers it excludes (1.9 s for 3M carts of which 122k pass, at 10M orders).
const ORDERED_NULL_ON_EMPTY: &[&str] = &["string_agg", "group_concat", "listagg", "list", "array_agg", "first", "last", "any_value"];

/// A feature computed by its own scan that keeps only its rows (WHERE instead of FILTER): one
/// ordered aggregate call (see [`ORDERED_NULL_ON_EMPTY`]) with a window or a filter. Equal to
/// the shared-scan result, since a customer without rows gets NULL either way.
fn own_scan(f: &ResolvedFeature) -> bool {
    let FeatureBody::Aggregate { sql, filter, window, .. } = &f.body else { return false };
    let Some(name) = sql.single_call() else { return false };
    (filter.is_some() || window.is_some())
        && ORDERED_NULL_ON_EMPTY.contains(&name.to_ascii_lowercase().as_str())
        && sql.has_order_by()
}

/// `most_frequent` / `most_frequent_count` features of one source, grouped so that those
/// with the same expression, filter and window share one two-level scan.
fn top_groups<'a>(tops: &[&'a ResolvedFeature]) -> Vec<Vec<&'a ResolvedFeature>> {
    let mut groups: Vec<Vec<&ResolvedFeature>> = Vec::new();
    for &f in tops {
        let same = |g: &&mut Vec<&ResolvedFeature>| match (&g[0].body, &f.body) {
            (FeatureBody::Aggregate { sql: a, filter: fa, window: wa, .. }, FeatureBody::Aggregate { sql: b, filter: fb, window: wb, .. }) => {
                a == b && fa == fb && wa == wb
            }
            _ => false,
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(f),
            None => groups.push(vec![f]),
        }
    }
    groups
}

/// Whether `f` is `count(*)` over the same rows (filter and window) as the most-frequent
/// feature `top`.
fn counts_rows_of(f: &ResolvedFeature, top: &ResolvedFeature) -> bool {
    match (&f.body, &top.body) {
        (FeatureBody::Aggregate { sql, filter, window, top: None, .. }, FeatureBody::Aggregate { filter: tf, window: tw, .. }) => {
            sql.is_count_star() && filter == tf && window == tw
        }
        _ => false,
    }
}

/// `sql` on one line, for a comment.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How `customer_features` is computed: each grouped scan of a source into a scratch table,
/// then one query joining them to the population and adding the derived features.
pub(super) struct FeaturesQuery {
    /// One per grouped scan, then the statistics if any.
    pub(super) scans: Vec<Scan>,
    pub(super) select: String,
}

/// A scratch table of the features step: its SELECT and the features it evaluates.
pub(super) struct Scan {
    /// The name the step is labelled with (`agg_orders`).
    pub(super) name: String,
    pub(super) table: String,
    pub(super) select: String,
    pub(super) computes: Vec<Computed>,
    /// A source's scan (not the statistics'): how an incremental run brings it up to date.
    pub(super) state: Option<ScanState>,
}

/// Prefix of the tables a source's scans store their per-customer aggregates in. They outlive
/// a DuckDB run (an incremental run starts from them) and are never staged or published.
pub const STATE_PREFIX: &str = "__segmenter_state__";

/// What an incremental run needs of one scan of a source (see `app::incremental`): the scan
/// stores aggregates of each customer's rows, so a customer's stored row changes only when its
/// rows change or when a set of rows an aggregate reads moves with `as_of`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanState {
    pub source: String,
    /// The stored aggregates without the conditions on their rows: equal at two `as_of`s when
    /// the stored values depend on the rows alone.
    pub items: Vec<String>,
    /// Each set of rows an aggregate reads, as the conditions on the source's rows it ANDs
    /// (time cut, window, filter); none for all rows.
    pub conds: Vec<Vec<String>>,
    /// The scan of only the customers in the table [`affected_table`] of the source.
    pub restricted: String,
    /// The scan calls a function of the clock or of chance (`now()`, `random()`).
    pub unstable: bool,
}

/// The temporary table of the customers of `source` an incremental run recomputes.
pub fn affected_table(source: &str) -> String {
    format!("__segmenter_affected__{source}")
}

/// The grouped scans and the SELECT computing `customer_features`: the population CTE, a join
/// of the scans' tables on the customer key, then one CTE per layer of derived features.
///
/// Each scan writes its own table first so that the join reads finished tables: at 100M orders
/// under a 4 GB memory limit, the same scans as CTEs of one query keep every aggregate's hash
/// table and every join's build side alive at once and run out of memory.
pub(super) fn features_query(model: &Resolved, d: &dyn Dialect) -> FeaturesQuery {
    let Some(customers) = model.sources.first() else {
        return FeaturesQuery { scans: Vec::new(), select: "SELECT NULL AS customer_id WHERE FALSE".into() };
    };
    let population = population_cte(model, customers, d);
    let mut scans = Scans::default();
    for src in model.sources.iter().skip(1) {
        SourceScans { model, src, d }.add_to(&mut scans);
    }
    // The models' predictions, fitted before the plan runs (see `execute::models`).
    let predicted: Vec<&ResolvedFeature> = model.features.iter().filter(|f| matches!(f.body, FeatureBody::Model { .. })).collect();
    if !predicted.is_empty() {
        scans.joined.push((d.ident(MODELS_TABLE), predicted.into_iter().map(|f| (f, None)).collect()));
    }
    let stats = stats_scan(model, d, &population, &mut scans);
    let (layers, last) = layer_ctes(model, d, &population, &scans.joined, &|_| true, stats.as_deref());
    let key = d.ident("customer_id");
    let mut names = vec![key.clone()];
    names.extend(model.features.iter().map(|f| d.ident(&f.name)));
    let select = format!("WITH\n{}\nSELECT {}\nFROM {last}\nORDER BY {key}", layers.join(",\n"), names.join(", "));
    FeaturesQuery { scans: scans.scans, select }
}

/// The population CTE: the customers source's rows up to `as_of`, with their row-level features.
fn population_cte(model: &Resolved, customers: &ResolvedSource, d: &dyn Dialect) -> String {
    let mut cols: Vec<SelectItem> = vec![format!("{} AS {}", d.ident(&customers.key), d.ident("customer_id")).into()];
    for f in &model.features {
        if let FeatureBody::Column { sql } = &f.body {
            let sql = spelled(sql, d);
            let sql = match &f.default_sql {
                Some(def) => format!("coalesce({sql}, {def})"),
                None => sql,
            };
            cols.push(column(&typed(&sql, f, d), &d.ident(&f.name), &f.origin));
        }
    }
    let mut from = source_relation(customers, d);
    if let Some(t) = &customers.time {
        from = format!("{from}\n  WHERE {} < {}", d.ident(t), d.day_after(&model.as_of));
    }
    format!(
        "{} AS (\n  -- source 'customers': the population, one row per customer\n  SELECT\n    {}\n  FROM {from}\n)",
        d.ident("population"),
        columns(&cols, 4)
    )
}

/// A table the features query joins, and the features it takes from it: each with the value
/// computed from the table's columns (`None`: the column named after the feature).
pub(super) type Joined<'a> = (String, Vec<(&'a ResolvedFeature, Option<String>)>);

/// The scratch tables of the features step and, per table, the features the join takes from it.
#[derive(Default)]
struct Scans<'a> {
    scans: Vec<Scan>,
    joined: Vec<Joined<'a>>,
}

impl<'a> Scans<'a> {
    /// A grouped scan into table `STATE_PREFIX + name`, whose columns give the features the
    /// features query joins (`feats`, with their values over its columns).
    fn add(&mut self, name: String, select: String, feats: Vec<(&'a ResolvedFeature, Option<String>)>, state: Option<ScanState>, d: &dyn Dialect) {
        let table = format!("{STATE_PREFIX}{name}");
        self.joined.push((d.table(&table), feats.clone()));
        self.scans.push(Scan { name, table, select, computes: feats.iter().map(|(f, _)| Computed::of(f)).collect(), state });
    }

    /// The alias the next joined table gets in the features query.
    fn next_alias(&self) -> String {
        format!("a{}", self.joined.len())
    }
}

/// The scans of one source other than customers: one shared grouped scan, one per filtered
/// ordered aggregate ([`own_scan`]), one two-level scan per group of most-frequent features.
struct SourceScans<'m> {
    model: &'m Resolved,
    src: &'m ResolvedSource,
    d: &'m dyn Dialect,
}

impl<'m> SourceScans<'m> {
    fn add_to(&self, scans: &mut Scans<'m>) {
        let feats: Vec<&ResolvedFeature> = self
            .model
            .features
            .iter()
            .filter(|f| matches!(&f.body, FeatureBody::Aggregate { source, .. } if source == &self.src.name))
            .collect();
        let (tops, feats): (Vec<&ResolvedFeature>, Vec<&ResolvedFeature>) =
            feats.into_iter().partition(|f| matches!(f.body, FeatureBody::Aggregate { top: Some(_), .. }));
        let (own, shared): (Vec<&ResolvedFeature>, Vec<&ResolvedFeature>) = feats.into_iter().partition(|f| own_scan(f));
        let mut top_groups = top_groups(&tops);
        // A plain row count over the same rows as a most-frequent scan is the sum of its
        // per-value counts: no scan of its own.
        let shared: Vec<&ResolvedFeature> = shared
            .into_iter()
            .filter(|f| match top_groups.iter_mut().find(|g| counts_rows_of(f, g[0])) {
                Some(g) => {
                    g.push(f);
                    false
                }
                None => true,
            })
            .collect();
        if !shared.is_empty() {
            self.shared(shared, scans);
        }
        for f in own {
            self.own(f, scans);
        }
        for group in top_groups {
            self.top(group, scans);
        }
    }

    /// The conditions on the source's rows: up to `as_of`, then `conds`.
    fn row_conds(&self, conds: &[String]) -> Vec<String> {
        let mut all = Vec::new();
        if let Some(t) = &self.src.time {
            all.push(format!("{} < {}", self.d.ident(t), self.d.day_after(&self.model.as_of)));
        }
        all.extend(conds.iter().cloned());
        all
    }

    /// The source's rows up to `as_of` that also meet `conds` (and, for the restricted scan of
    /// an incremental run, whose customer is in the affected table).
    fn rows(&self, conds: &[String], restricted: bool) -> String {
        let mut all = self.row_conds(conds);
        if restricted {
            all.push(format!("{} IN (SELECT customer_id FROM {})", self.d.ident(&self.src.key), self.d.ident(&affected_table(&self.src.name))));
        }
        match all.as_slice() {
            [] => source_relation(self.src, self.d),
            _ => format!("{}\nWHERE {}", source_relation(self.src, self.d), all.join("\n  AND ")),
        }
    }

    /// The scan's state: its select over the affected customers only, and what it stores.
    fn state(&self, restricted: String, items: Vec<String>, conds: Vec<Vec<String>>, unstable: bool) -> Option<ScanState> {
        let mut distinct: Vec<Vec<String>> = Vec::new();
        for c in conds {
            if !distinct.contains(&c) {
                distinct.push(c);
            }
        }
        Some(ScanState { source: self.src.name.clone(), items, conds: distinct, restricted, unstable })
    }

    fn key_item(&self) -> SelectItem {
        format!("{} AS {}", self.d.ident(&self.src.key), self.d.ident("customer_id")).into()
    }

    /// One grouped scan of the aggregates the features share: each aggregate call is stored
    /// once (`s0`, `s1`, ... with its window and filter), and each feature is computed from
    /// them by the features query.
    fn shared(&self, shared: Vec<&'m ResolvedFeature>, scans: &mut Scans<'m>) {
        let d = self.d;
        let alias = scans.next_alias();
        // (stored aggregate with its conditions, the aggregate alone, its rows, origin)
        let mut stored: Vec<(String, String, Vec<String>, String)> = Vec::new();
        let mut joined = Vec::new();
        let mut unstable = false;
        for f in &shared {
            let FeatureBody::Aggregate { sql, filter, window, .. } = &f.body else { continue };
            let conds = filter_conds(filter.as_ref(), *window, self.src, self.model, d);
            unstable |= super::aggregates::is_unstable(sql) || filter.as_ref().is_some_and(super::aggregates::is_unstable);
            // One aggregate with a declared type is stored as that type: a wide sum (HUGEINT,
            // DECIMAL(38,x)) takes twice as long to write and to read back in the features join.
            let cast = if super::aggregates::is_one_call(sql) { f.ty.is_some() } else { false };
            let outer = super::aggregates::split(sql, &alias, &mut |call| {
                let alone = spelled(&call, d);
                let with = aggregate_expr(&alone, conds.clone());
                let with = if cast { typed(&with, f, d) } else { with };
                let i = stored.iter().position(|s| s.0 == with).unwrap_or_else(|| {
                    stored.push((with, alone, self.row_conds(&conds), f.origin.clone()));
                    stored.len() - 1
                });
                format!("s{i}")
            });
            let value = spelled(&outer, d);
            // Without rows the scan has no row: the feature is NULL then, whatever its expression.
            let value = if super::aggregates::is_column(&outer) { value } else { format!("CASE WHEN {alias}.{} IS NOT NULL THEN {value} END", d.ident("customer_id")) };
            joined.push((*f, Some(if cast { value } else { typed(&value, f, d) })));
        }
        let select = |restricted: bool| {
            let mut items: Vec<SelectItem> = vec![self.key_item()];
            items.extend(stored.iter().enumerate().map(|(i, (with, _, _, origin))| column(with, &d.ident(&format!("s{i}")), origin)));
            format!(
                "-- source '{}': one scan computing {} feature(s)\nSELECT\n  {}\nFROM {}\nGROUP BY 1",
                self.src.name,
                shared.len(),
                columns(&items, 2),
                self.rows(&[], restricted)
            )
        };
        let mut conds = vec![self.row_conds(&[])];
        conds.extend(stored.iter().map(|s| s.2.clone()));
        let state = self.state(select(true), stored.iter().map(|s| s.1.clone()).collect(), conds, unstable);
        scans.add(format!("agg_{}", self.src.name), select(false), joined, state, d);
    }

    fn own(&self, f: &'m ResolvedFeature, scans: &mut Scans<'m>) {
        let d = self.d;
        let FeatureBody::Aggregate { sql, filter, window, .. } = &f.body else { return };
        let conds = filter_conds(filter.as_ref(), *window, self.src, self.model, d);
        let select = |restricted: bool| {
            format!(
                "-- source '{}', feature '{}': an ordered aggregate sorts only the rows it keeps\nSELECT\n  {}\nFROM {}\nGROUP BY 1",
                self.src.name,
                f.name,
                columns(&[self.key_item(), column(&typed(&spelled(sql, d), f, d), &d.ident(&f.name), &f.origin)], 2),
                self.rows(&conds, restricted)
            )
        };
        let unstable = super::aggregates::is_unstable(sql) || filter.as_ref().is_some_and(super::aggregates::is_unstable);
        let state = self.state(select(true), vec![spelled(sql, d)], vec![self.row_conds(&conds)], unstable);
        scans.add(format!("agg_{}__{}", self.src.name, f.name), select(false), vec![(f, None)], state, d);
    }

    fn top(&self, group: Vec<&'m ResolvedFeature>, scans: &mut Scans<'m>) {
        let d = self.d;
        let FeatureBody::Aggregate { sql: rule, filter, window, .. } = &group[0].body else { return };
        let sql = &spelled(rule, d);
        let mut conds = filter_conds(filter.as_ref(), *window, self.src, self.model, d);
        // NULL is not a value: dropped early unless a row count needs those rows.
        let with_nulls = group.iter().any(|f| matches!(f.body, FeatureBody::Aggregate { top: None, .. }));
        let not_null = if with_nulls { " FILTER (WHERE __v IS NOT NULL)" } else { "" };
        if !with_nulls {
            conds.push(format!("({sql}) IS NOT NULL"));
        }
        let key = d.ident("customer_id");
        let mut aggs: Vec<SelectItem> = vec![key.clone().into()];
        for f in &group {
            let value = match f.body {
                FeatureBody::Aggregate { top: Some(Top::Value), .. } => format!("{}{not_null}", d.most_frequent_value("__v", "__n")),
                FeatureBody::Aggregate { top: Some(Top::Count), .. } => format!("max(__n){not_null}"),
                _ => "CAST(sum(__n) AS BIGINT)".to_string(),
            };
            aggs.push(column(&typed(&value, f, d), &d.ident(&f.name), &f.origin));
        }
        let select = |restricted: bool| {
            format!(
                "-- source '{}': rows per customer and value of {}, then the most frequent value (the smallest on a tie)\nSELECT\n  {}\nFROM (\n  SELECT {} AS {key}, ({sql}) AS __v, count(*) AS __n\n  FROM {}\n  GROUP BY 1, 2\n)\nGROUP BY 1",
                self.src.name,
                one_line(sql),
                columns(&aggs, 2),
                d.ident(&self.src.key),
                indent(&self.rows(&conds, restricted), 2),
            )
        };
        let unstable = super::aggregates::is_unstable(rule) || filter.as_ref().is_some_and(super::aggregates::is_unstable);
        let items = vec![sql.clone(), with_nulls.to_string()];
        let state = self.state(select(true), items, vec![self.row_conds(&conds)], unstable);
        let feats = group.iter().map(|f| (*f, None)).collect();
        scans.add(format!("agg_{}__{}", self.src.name, group[0].name), select(false), feats, state, d);
    }
}

/// Statistics first, over only the features they need, into a scratch table: the features
/// query then reads them from it instead of materializing its layers for a scalar subquery
/// (70 s -> 39 s for that query at 100M orders). The table, when there is one.
fn stats_scan(model: &Resolved, d: &dyn Dialect, population: &str, scans: &mut Scans) -> Option<String> {
    let (used, needed) = stats_closure(model)?;
    if used.is_empty() {
        return None;
    }
    let (layers, last) = layer_ctes(model, d, population, &scans.joined, &|f| needed.contains(&f.name), None);
    let aggs: Vec<String> = used.iter().map(|&i| format!("{} AS {}", stat_aggregate(&model.stats[i], d), d.ident(&format!("stat_{i}")))).collect();
    scans.scans.push(Scan {
        name: STATS_TABLE.to_string(),
        state: None,
        table: STATS_TABLE.to_string(),
        select: format!("-- statistics over all customers used by derived features\nWITH\n{}\nSELECT {}\nFROM {last}", layers.join(",\n"), aggs.join(", ")),
        computes: Vec::new(),
    });
    Some(d.table(STATS_TABLE))
}

/// Scratch table of the statistics derived features use (see [`stats_closure`]).
const STATS_TABLE: &str = "feature_stats";

/// The statistics (indexes into `model.stats`) used by derived features, and every feature
/// needed to compute them. `None` when one of those features uses a statistic itself: then
/// each statistic is a subquery over the materialized layer of its feature.
fn stats_closure(model: &Resolved) -> Option<(Vec<usize>, std::collections::BTreeSet<String>)> {
    let derived: Vec<&Rule> = model.features.iter().filter_map(|f| match &f.body {
        FeatureBody::Derived { sql, .. } => Some(sql),
        _ => None,
    }).collect();
    let used: Vec<usize> = (0..model.stats.len()).filter(|i| derived.iter().any(|sql| stats_of(sql, model).contains(i))).collect();
    let mut needed = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = used.iter().map(|&i| model.stats[i].feature.clone()).collect();
    while let Some(name) = todo.pop() {
        let Some(f) = model.features.iter().find(|f| f.name == name) else { continue };
        if !needed.insert(name) {
            continue;
        }
        if let FeatureBody::Derived { sql, .. } = &f.body {
            if !stats_of(sql, model).is_empty() {
                return None;
            }
            todo.extend(sql.columns().into_iter().map(|id| id.name.to_string()));
        }
    }
    Some((used, needed))
}

/// The CTEs computing the features `keep` selects: the population, `layer_0` joining the
/// scans' tables to it, then one layer per depth of derived features. Statistics are read from
/// `stats` (a table with one column `stat_<N>` per statistic) or, without it, computed by a
/// subquery over the materialized layer of their feature. Returns the CTEs and the last layer.
fn layer_ctes(
    model: &Resolved,
    d: &dyn Dialect,
    population: &str,
    joined: &[Joined],
    keep: &dyn Fn(&ResolvedFeature) -> bool,
    stats: Option<&str>,
) -> (Vec<String>, String) {
    let key = d.ident("customer_id");
    let mut ctes = vec![population.to_string()];
    let mut select = vec![format!("p.{key}")];
    for f in model.features.iter().filter(|f| keep(f)) {
        if matches!(f.body, FeatureBody::Column { .. }) {
            select.push(format!("p.{}", d.ident(&f.name)));
        }
    }
    let mut joins = String::new();
    for (i, (cte, feats)) in joined.iter().enumerate() {
        let alias = format!("a{i}");
        let kept: Vec<&(&ResolvedFeature, Option<String>)> = feats.iter().filter(|(f, _)| keep(f)).collect();
        if kept.is_empty() {
            continue;
        }
        for (f, value) in kept {
            let col = value.clone().unwrap_or_else(|| format!("{alias}.{}", d.ident(&f.name)));
            let v = match &f.default_sql {
                Some(def) => typed(&format!("coalesce({col}, {def})"), f, d),
                None => col,
            };
            select.push(format!("{v} AS {}", d.ident(&f.name)));
        }
        joins.push_str(&format!("\n  LEFT JOIN {cte} AS {alias} ON {alias}.{key} = p.{key}"));
    }
    let depth_of = |f: &ResolvedFeature| match f.body {
        FeatureBody::Derived { depth, .. } => depth,
        _ => 0,
    };
    let uses_stats = |depth: usize| {
        model.features.iter().filter(|f| keep(f)).any(|f| matches!(&f.body, FeatureBody::Derived { sql, depth: fd } if *fd > depth && !stats_of(sql, model).is_empty()))
    };
    let materialized = |depth: usize| if stats.is_none() && uses_stats(depth) { d.materialized() } else { "AS" };
    ctes.push(format!(
        "{} {} (\n  SELECT\n    {}\n  FROM {} AS p{joins}\n)",
        d.ident("layer_0"),
        materialized(0),
        columns(&select.into_iter().map(SelectItem::from).collect::<Vec<_>>(), 4),
        d.ident("population")
    ));
    let max_depth = model.features.iter().filter(|f| keep(f)).map(depth_of).max().unwrap_or(0);
    let layer_of = |feature: &str| -> String {
        let depth = model.features.iter().find(|f| f.name == feature).map_or(0, depth_of);
        d.ident(&format!("layer_{depth}"))
    };
    for depth in 1..=max_depth {
        let mut cols = Vec::new();
        for f in model.features.iter().filter(|f| keep(f) && depth_of(f) == depth) {
            let FeatureBody::Derived { sql, .. } = &f.body else { continue };
            let sql = match stats {
                Some(table) => print_rule(sql, model, d, &|i, _| format!("(SELECT {} FROM {table})", d.ident(&format!("stat_{i}")))),
                None => rule_with_stats(sql, model, d, &layer_of),
            };
            let v = match &f.default_sql {
                Some(def) => format!("coalesce({sql}, {def})"),
                None => sql,
            };
            cols.push(column(&typed(&v, f, d), &d.ident(&f.name), &f.origin));
        }
        let added = if cols.is_empty() { String::new() } else { format!(",\n    {}", columns(&cols, 4)) };
        ctes.push(format!(
            "{} {} (\n  SELECT\n    *{added}\n  FROM {}\n)",
            d.ident(&format!("layer_{depth}")),
            materialized(depth),
            d.ident(&format!("layer_{}", depth - 1))
        ));
    }
    (ctes, d.ident(&format!("layer_{max_depth}")))
}

