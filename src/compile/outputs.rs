//! Steps after `customer_features`: scores, segment membership, tiers and catalogs.
//! Each reads the materialized features table, never a source.

use super::dialect::Dialect;
use super::{columns, comment, indent, rule_with_stats, spelled, tree::Rule, SelectItem, Step, FEATURES_TABLE};
use crate::project::model::Direction;
use crate::validate::{FeatureBody, Resolved, ResolvedLevel, ResolvedScore, ResolvedThreshold, ResolvedTier};

pub const MEMBERS_TABLE: &str = "segment_members";
pub const SEGMENT_CATALOG: &str = "segment_catalog";
pub const TIERS_TABLE: &str = "tier_assignments";
pub const TIER_CATALOG: &str = "tier_catalog";
pub const FEATURE_CATALOG: &str = "feature_catalog";

/// Name of a score's table.
pub fn score_table(score: &str) -> String {
    format!("{score}_scores")
}

pub fn steps(model: &Resolved, d: &dyn Dialect) -> Vec<Step> {
    let mut out = Vec::new();
    for (i, s) in model.scores.iter().enumerate() {
        let target = score_table(&s.name);
        let same = model.scores[..i].iter().find(|e| same_ranks(e, s));
        out.push(Step::table(&format!("score {}", s.name), &target, &score_select(model, s, same, d), d));
    }
    let rules = model.segments.iter().map(super::Computed::segment).collect();
    out.push(Step { computes: rules, ..Step::table("segments", MEMBERS_TABLE, &members_select(model, d), d) });
    out.push(Step::table("tiers", TIERS_TABLE, &tiers_select(model, d), d));
    out.push(Step::table("catalogs", SEGMENT_CATALOG, &segment_catalog(model, d), d));
    out.push(Step::table("catalogs", TIER_CATALOG, &tier_catalog(model, d), d));
    out.push(Step::table("catalogs", FEATURE_CATALOG, &feature_catalog(model, d), d));
    out
}

/// A rule over features, in the engine's spelling, with population statistics read from the
/// features table.
pub fn on_features(rule: &Rule, model: &Resolved, d: &dyn Dialect) -> String {
    rule_with_stats(rule, model, d, &|_| d.table(FEATURES_TABLE))
}

/// A typed NULL.
fn null_of(ty: &str, d: &dyn Dialect) -> String {
    format!("CAST(NULL AS {})", d.type_name(ty))
}

fn opt_string(d: &dyn Dialect, s: &Option<String>) -> String {
    s.as_ref().map_or_else(|| null_of("VARCHAR", d), |v| d.string(v))
}

/// Whether two scores rank the same values the same way (parts, buckets, population), so the
/// later one can take its part scores from the earlier one's table.
fn same_ranks(a: &ResolvedScore, b: &ResolvedScore) -> bool {
    a.parts == b.parts && a.buckets == b.buckets && a.population == b.population
}

/// Quantile score: `1 + floor(buckets * (rank - 1) / n)` with `rank()` giving equal values the
/// same rank, hence the same score. NULL values are not scored. A score that ranks exactly as
/// an earlier one (`same`) reads its part scores from that score's table instead of ranking
/// every customer again.
fn score_select(model: &Resolved, s: &ResolvedScore, same: Option<&ResolvedScore>, d: &dyn Dialect) -> String {
    let key = d.ident("customer_id");
    let parts: Vec<String> = s.parts.iter().map(|(p, _, _)| d.ident(p)).collect();
    let values: Vec<String> = s.parts.iter().map(|(p, _, _)| d.ident(&format!("{p}_value"))).collect();
    let ranked = match same {
        Some(e) => format!(
            "-- the same parts, buckets and population as score '{}': its part scores\n  SELECT {key}, {}, {}\n  FROM {}",
            e.name,
            parts.join(", "),
            values.join(", "),
            d.table(&score_table(&e.name))
        ),
        None => ranked_parts(model, s, d),
    };
    let text = d.type_name("VARCHAR");
    let code = parts.iter().map(|p| format!("coalesce(CAST({p} AS {text}), '-')")).collect::<Vec<_>>().join(" || ");
    let label = if s.labels.is_empty() {
        null_of("VARCHAR", d)
    } else {
        let whens: Vec<String> = s.labels.iter().map(|l| format!("WHEN {} THEN {}", spelled(&l.when, d), d.string(&l.name))).collect();
        format!("CASE\n    {}\n  END", whens.join("\n    "))
    };
    format!(
        "-- score '{}' ({}), {} buckets; ties share a score\nWITH {} AS (\n  {ranked}\n)\nSELECT {key}, {}, {code} AS {}, {label} AS {}, {}\nFROM {}\nORDER BY {key}",
        s.name,
        comment(&s.origin),
        s.buckets,
        d.ident("ranked"),
        parts.join(", "),
        d.ident("score"),
        d.ident("label"),
        values.join(", "),
        d.ident("ranked"),
    )
}

/// The query ranking a score's parts over its population: each part's value and its score.
fn ranked_parts(model: &Resolved, s: &ResolvedScore, d: &dyn Dialect) -> String {
    let key = d.ident("customer_id");
    let values: Vec<String> = s.parts.iter().map(|(p, f, _)| format!("{} AS {}", d.ident(f), d.ident(&format!("{p}_value")))).collect();
    let population = s.population.as_ref().map(|p| format!("\n    WHERE coalesce(({}), FALSE)", on_features(p, model, d))).unwrap_or_default();
    let mut scored = Vec::new();
    for (p, _, dir) in &s.parts {
        let v = d.ident(&format!("{p}_value"));
        let order = match dir {
            Direction::HigherIsBetter => "ASC",
            Direction::LowerIsBetter => "DESC",
        };
        scored.push(format!(
            "CASE WHEN {v} IS NULL THEN NULL\n         ELSE 1 + CAST(floor({b}.0 * (rank() OVER (ORDER BY {v} {order} NULLS LAST) - 1) / count({v}) OVER ()) AS INTEGER) END AS {}",
            d.ident(p),
            b = s.buckets
        ));
    }
    format!(
        "SELECT {key}, {},\n    {}\n  FROM (\n    SELECT {key}, {}\n    FROM {}{population}\n  ) AS {}",
        s.parts.iter().map(|(p, _, _)| d.ident(&format!("{p}_value"))).collect::<Vec<_>>().join(", "),
        scored.join(",\n    "),
        values.join(", "),
        d.table(FEATURES_TABLE),
        d.ident("scored_population"),
    )
}

/// Long table (customer_id, segment): one wide pass computing every rule, then unpivoted.
/// Rows are grouped by customer (the features table's order), then the score labels.
fn members_select(model: &Resolved, d: &dyn Dialect) -> String {
    let key = d.ident("customer_id");
    let mut parts = Vec::new();
    if !model.segments.is_empty() {
        let flags: Vec<SelectItem> = model
            .segments
            .iter()
            .map(|s| SelectItem {
                sql: format!("coalesce((\n      {}\n    ), FALSE) AS {}", indent(&on_features(&s.rule, model, d), 6), d.ident(&s.name)),
                note: Some(comment(&s.origin)),
            })
            .collect();
        let names: Vec<String> = model.segments.iter().map(|s| d.ident(&s.name)).collect();
        let (seg, m) = (d.ident("segment"), d.ident("is_member"));
        let wide = format!("(\n  SELECT {key},\n    {}\n  FROM {}\n)", columns(&flags, 4), d.table(FEATURES_TABLE));
        parts.push(format!("SELECT {key}, {seg}\nFROM {}\nWHERE {m}", d.unpivot(&wide, &m, &seg, &names)));
    }
    for s in &model.scores {
        if !s.labels.is_empty() {
            parts.push(format!(
                "SELECT {key}, {} || {} AS {}\nFROM {}\nWHERE {} IS NOT NULL",
                d.string(&format!("{}_", s.name)),
                d.ident("label"),
                d.ident("segment"),
                d.table(&score_table(&s.name)),
                d.ident("label")
            ));
        }
    }
    if parts.is_empty() {
        return format!("SELECT {key}, {} AS {}\nFROM {}\nWHERE FALSE", null_of("VARCHAR", d), d.ident("segment"), d.table(FEATURES_TABLE));
    }
    // No ORDER BY: the rows come out in features order (by customer), deterministic as they are;
    // sorting ~20 rows per customer by segment cost as much as computing them (bench/RESULTS.md).
    // `segment` holds only this run's segment names (an ENUM in DuckDB, see `label_type`).
    let names = segment_names(model);
    format!(
        "SELECT {key}, CAST({seg} AS {}) AS {seg}\nFROM (\n{}\n)",
        label_type(names, d),
        parts.join("\nUNION ALL\n"),
        seg = d.ident("segment")
    )
}

/// The names a run writes into `segment_members`: its segments and its scores' labels.
pub fn segment_names(model: &Resolved) -> Vec<String> {
    let mut names: Vec<String> = model.segments.iter().map(|s| s.name.clone()).collect();
    for s in &model.scores {
        names.extend(s.labels.iter().map(|l| format!("{}_{}", s.name, l.name)));
    }
    names
}

/// [`Dialect::label_type`] of these names, sorted and distinct.
fn label_type(mut names: Vec<String>, d: &dyn Dialect) -> String {
    names.sort();
    names.dedup();
    d.label_type(&names)
}

fn threshold_cond(t: &ResolvedThreshold, d: &dyn Dialect) -> String {
    let op = if t.is_min { ">=" } else { "<=" };
    format!("{} {op} {}", d.ident(&t.feature), t.value)
}

pub fn level_condition(l: &ResolvedLevel, model: &Resolved, d: &dyn Dialect) -> String {
    let mut conds: Vec<String> = l.all_of.iter().map(|t| threshold_cond(t, d)).collect();
    if !l.any_of.is_empty() {
        let alts: Vec<String> = l
            .any_of
            .iter()
            .map(|g| if g.is_empty() { "TRUE".into() } else { format!("({})", g.iter().map(|t| threshold_cond(t, d)).collect::<Vec<_>>().join(" AND ")) })
            .collect();
        conds.push(format!("({})", alts.join(" OR ")));
    }
    if let Some(w) = &l.when {
        conds.push(format!("({})", on_features(w, model, d)));
    }
    if conds.is_empty() {
        "TRUE".into()
    } else {
        format!("coalesce({}, FALSE)", conds.join(" AND "))
    }
}

/// Metrics with a threshold somewhere in a ladder, in first-seen order.
fn ladder_metrics(t: &ResolvedTier) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in &t.levels {
        for th in l.all_of.iter().chain(l.any_of.iter().flatten()) {
            if !out.contains(&th.feature) {
                out.push(th.feature.clone());
            }
        }
    }
    out
}

/// Gap from the current value to a level's threshold on `metric`, 0 when already met.
fn gap_to(level: &ResolvedLevel, metric: &str, d: &dyn Dialect) -> Option<String> {
    let th = level.all_of.iter().find(|t| t.feature == metric).or_else(|| level.any_of.iter().flatten().find(|t| t.feature == metric))?;
    let v = format!("coalesce({}, 0)", d.ident(metric));
    Some(if th.is_min { format!("greatest({} - {v}, 0)", th.value) } else { format!("greatest({v} - {}, 0)", th.value) })
}

/// Columns of `tier_assignments` shared by every ladder: one type for the names (so the union
/// keeps it), and the gap columns of all ladders (NULL in a ladder without that metric).
struct TierTypes {
    ladder: String,
    tier: String,
    metrics: Vec<String>,
}

fn ladder_select(model: &Resolved, t: &ResolvedTier, types: &TierTypes, d: &dyn Dialect) -> String {
    let key = d.ident("customer_id");
    let rank = d.ident("rank");
    let whens: Vec<String> = t
        .levels
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_else)
        .map(|(i, l)| format!("WHEN {} THEN {}  -- {} ({})", level_condition(l, model, d), i + 1, l.name, comment(&l.origin)))
        .collect();
    let n = t.levels.len();
    let name_of = |f: &dyn Fn(usize) -> Option<String>| -> String {
        let arms: Vec<String> = (1..=n).filter_map(|r| f(r).map(|v| format!("WHEN {r} THEN {v}"))).collect();
        if arms.is_empty() {
            null_of("VARCHAR", d)
        } else {
            format!("CASE {rank} {} END", arms.join(" "))
        }
    };
    let tier = name_of(&|r| Some(d.string(&t.levels[r - 1].name)));
    let next = name_of(&|r| (r > 1).then(|| d.string(&t.levels[r - 2].name)));
    let mut cols = vec![
        key.clone(),
        format!("CAST({} AS {}) AS {}", d.string(&t.name), types.ladder, d.ident("ladder")),
        format!("CAST({tier} AS {}) AS {}", types.tier, d.ident("tier")),
        rank.clone(),
        format!("CAST({next} AS {}) AS {}", types.tier, d.ident("next_tier")),
    ];
    for m in &types.metrics {
        let arms: Vec<String> = (2..=n).filter_map(|r| gap_to(&t.levels[r - 2], m, d).map(|g| format!("WHEN {r} THEN {g}"))).collect();
        let gap = if arms.is_empty() { "NULL".into() } else { format!("CASE {rank} {} END", arms.join(" ")) };
        cols.push(format!("{gap} AS {}", d.ident(&format!("gap_{m}"))));
    }
    let mut inner_cols = vec![key.clone()];
    inner_cols.extend(ladder_metrics(t).iter().map(|m| d.ident(m)));
    inner_cols.push(format!("CASE\n      {}\n      ELSE {n}\n    END AS {rank}", whens.join("\n      ")));
    format!(
        "-- tier ladder '{}' ({}): levels best first, the first matching level wins\nSELECT {}\nFROM (\n  SELECT {}\n  FROM {}\n)",
        t.name,
        comment(&t.origin),
        cols.join(",\n  "),
        inner_cols.join(",\n    "),
        d.table(FEATURES_TABLE)
    )
}

/// One long table over all ladders; gap columns are the union of every ladder's metrics.
fn tiers_select(model: &Resolved, d: &dyn Dialect) -> String {
    let key = d.ident("customer_id");
    if model.tiers.is_empty() {
        return format!(
            "SELECT {key}, {text} AS {}, {text} AS {}, CAST(NULL AS INTEGER) AS {}, {text} AS {}\nFROM {}\nWHERE FALSE",
            d.ident("ladder"), d.ident("tier"), d.ident("rank"), d.ident("next_tier"), d.table(FEATURES_TABLE),
            text = null_of("VARCHAR", d)
        );
    }
    // `ladder`, `tier` and `next_tier` hold only this run's names (ENUMs in DuckDB): the step
    // takes half the time it took with VARCHAR.
    let types = TierTypes {
        ladder: label_type(model.tiers.iter().map(|t| t.name.clone()).collect(), d),
        tier: label_type(model.tiers.iter().flat_map(|t| t.levels.iter().map(|l| l.name.clone())).collect(), d),
        metrics: model.tiers.iter().flat_map(ladder_metrics).fold(Vec::new(), |mut all, m| {
            if !all.contains(&m) {
                all.push(m);
            }
            all
        }),
    };
    let parts: Vec<String> = model.tiers.iter().map(|t| format!("({})", ladder_select(model, t, &types, d))).collect();
    format!("SELECT * FROM (\n{}\n)\nORDER BY {}, {key}", parts.join("\nUNION ALL\n"), d.ident("ladder"))
}

/// `VALUES` rows or an empty select with the same columns.
fn values_table(columns: &[&str], rows: Vec<Vec<String>>, d: &dyn Dialect, types: &[&str]) -> String {
    let names: Vec<String> = columns.iter().map(|c| d.ident(c)).collect();
    if rows.is_empty() {
        let nulls: Vec<String> = columns.iter().zip(types).map(|(c, t)| format!("{} AS {}", null_of(t, d), d.ident(c))).collect();
        return format!("SELECT {} WHERE FALSE", nulls.join(", "));
    }
    let rows: Vec<String> = rows.into_iter().map(|r| format!("({})", r.join(", "))).collect();
    format!("SELECT * FROM (VALUES\n    {}\n  ) AS v({})", rows.join(",\n    "), names.join(", "))
}

fn segment_catalog(model: &Resolved, d: &dyn Dialect) -> String {
    let mut rows = Vec::new();
    for s in &model.segments {
        rows.push(vec![
            d.string(&s.name),
            opt_string(d, &s.description),
            d.string_list(&s.tags),
            opt_string(d, &s.owner),
            opt_string(d, &s.campaign),
            d.string("rule"),
            d.string(&s.origin),
            d.string(&s.hash),
            s.priority.map_or_else(|| null_of("INTEGER", d), |p| p.to_string()),
        ]);
    }
    for sc in &model.scores {
        for l in &sc.labels {
            let hash = crate::validate::rule_hash(&sc.label_segment(&l.name), &l.when);
            rows.push(vec![
                d.string(&sc.label_segment(&l.name)),
                opt_string(d, &l.description),
                d.string_list(&sc.tags),
                null_of("VARCHAR", d),
                opt_string(d, &l.campaign),
                d.string(&format!("score:{}", sc.name)),
                d.string(&sc.origin),
                d.string(&hash),
                null_of("INTEGER", d),
            ]);
        }
    }
    let cols = ["name", "description", "tags", "owner", "campaign", "kind", "origin", "definition_hash", "priority"];
    let list = d.text_list_type();
    let types = ["VARCHAR", "VARCHAR", &list, "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "INTEGER"];
    let defs = values_table(&cols, rows, d, &types);
    format!(
        "WITH defs AS (\n  {defs}\n),\nsizes AS (SELECT {seg}, count(*) AS size FROM {} GROUP BY {seg}),\ntotal AS (SELECT count(*) AS n FROM {})\nSELECT defs.*, coalesce(sizes.size, 0) AS size,\n  CASE WHEN total.n = 0 THEN 0 ELSE round(coalesce(sizes.size, 0) / total.n, 4) END AS share,\n  {} AS as_of\nFROM defs LEFT JOIN sizes ON sizes.{seg} = defs.name CROSS JOIN total\nORDER BY defs.name",
        d.table(MEMBERS_TABLE),
        d.table(FEATURES_TABLE),
        d.date(&model.as_of),
        seg = d.ident("segment"),
    )
}

fn describe_level(l: &ResolvedLevel) -> String {
    let th = |t: &ResolvedThreshold| format!("{} {} {}", t.feature, if t.is_min { ">=" } else { "<=" }, t.value);
    let mut parts: Vec<String> = l.all_of.iter().map(th).collect();
    if !l.any_of.is_empty() {
        let alts: Vec<String> = l.any_of.iter().map(|g| g.iter().map(th).collect::<Vec<_>>().join(" AND ")).collect();
        parts.push(format!("({})", alts.join(" OR ")));
    }
    if let Some(w) = &l.when {
        parts.push(format!("({w})"));
    }
    if l.is_else {
        "everyone else".into()
    } else {
        parts.join(" AND ")
    }
}

fn tier_catalog(model: &Resolved, d: &dyn Dialect) -> String {
    let mut rows = Vec::new();
    for t in &model.tiers {
        for (i, l) in t.levels.iter().enumerate() {
            rows.push(vec![
                d.string(&t.name),
                d.string(&l.name),
                (i + 1).to_string(),
                opt_string(d, &l.description),
                d.string_list(&l.benefits),
                d.string(&describe_level(l)),
            ]);
        }
    }
    let cols = ["ladder", "tier", "rank", "description", "benefits", "rule"];
    let list = d.text_list_type();
    let types = ["VARCHAR", "VARCHAR", "INTEGER", "VARCHAR", &list, "VARCHAR"];
    let defs = values_table(&cols, rows, d, &types);
    format!(
        "WITH defs AS (\n  {defs}\n),\nsizes AS (SELECT ladder, tier, count(*) AS size FROM {} GROUP BY ladder, tier),\ntotal AS (SELECT count(*) AS n FROM {})\nSELECT defs.*, coalesce(sizes.size, 0) AS size,\n  CASE WHEN total.n = 0 THEN 0 ELSE round(coalesce(sizes.size, 0) / total.n, 4) END AS share\nFROM defs LEFT JOIN sizes ON sizes.ladder = defs.ladder AND sizes.tier = defs.tier CROSS JOIN total\nORDER BY defs.ladder, defs.rank",
        d.table(TIERS_TABLE),
        d.table(FEATURES_TABLE)
    )
}

fn feature_catalog(model: &Resolved, d: &dyn Dialect) -> String {
    let rows = model
        .features
        .iter()
        .map(|f| {
            let source = match &f.body {
                FeatureBody::Column { .. } => Some("customers".to_string()),
                FeatureBody::Aggregate { source, .. } => Some(source.clone()),
                FeatureBody::Derived { .. } => None,
                FeatureBody::Model { model } => Some(format!("model:{model}")),
            };
            vec![d.string(&f.name), d.string(f.kind.as_str()), opt_string(d, &source), opt_string(d, &f.description), d.string(&f.origin)]
        })
        .collect();
    let cols = ["name", "kind", "source", "description", "origin"];
    values_table(&cols, rows, d, &["VARCHAR"; 5])
}
