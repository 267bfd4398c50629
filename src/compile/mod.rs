//! Stage 3, compile: turn the checked [`Resolved`] model into a [`Plan`] of SQL statements.
//!
//! Pure: no I/O and no DuckDB, so it is fast and tested by comparing SQL text. Each source is
//! scanned once (all of its features are computed in one grouped query; only a filtered ordered
//! aggregate and a `most_frequent` group get scans of their own, see [`own_scan`]) into a
//! scratch table; statistics of derived features are computed next; one query then joins the
//! scans to the customers and adds the derived features, and every later step reads the
//! materialized `customer_features` table.

pub mod dialect;
pub mod models;
pub mod spark;
pub mod outputs;
pub mod tree;
pub mod template;

use crate::validate::{FeatureBody, Resolved, ResolvedFeature, StatUse, Top};
use tree::Rule;
use dialect::Dialect;
use template::StatFunc;

/// Table with one row per customer and one column per feature.
pub use models::MODELS_TABLE;

pub const FEATURES_TABLE: &str = "customer_features";

/// The customer key column of every published table.
pub const CUSTOMER_KEY: &str = "customer_id";

/// One statement of the plan, creating or replacing `target`.
#[derive(Debug, Clone)]
pub struct Step {
    /// Short label for progress output.
    pub label: String,
    /// Table the statement writes.
    pub target: String,
    /// Statements run first, one at a time (Spark drops a table before creating it again: its
    /// session catalog cannot replace a table in one statement).
    pub before: Vec<String>,
    pub sql: String,
    /// The query whose result `sql` stores, when the step creates its table from one (the bind
    /// check creates the table empty from it, `LIMIT 0`, instead of editing `sql`).
    pub select: Option<String>,
    /// The statement writes `target` under its staging name (see [`dialect::Staged`]).
    pub staged: bool,
    /// `target` is a scratch table that later steps of the plan read (one source's
    /// aggregates): never published; `run` drops it once the next non-scratch step has run.
    pub scratch: bool,
    /// The features or segment rules this step evaluates on the data, so that a step failing
    /// on a value can point at their definitions.
    pub computes: Vec<Computed>,
}

/// A definition a step evaluates: `feature` or `segment`, its name, `file:line` and SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    pub kind: &'static str,
    pub name: String,
    pub origin: String,
    pub sql: String,
}

impl Computed {
    fn segment(s: &crate::validate::ResolvedSegment) -> Computed {
        Computed { kind: "segment", name: s.name.clone(), origin: s.origin.clone(), sql: s.rule.to_string() }
    }

    fn of(f: &ResolvedFeature) -> Computed {
        let sql = match &f.body {
            FeatureBody::Column { sql } | FeatureBody::Derived { sql, .. } => sql.to_string(),
            FeatureBody::Aggregate { sql, filter, .. } => match filter {
                Some(filter) => format!("{sql} FILTER (WHERE {filter})"),
                None => sql.to_string(),
            },
            FeatureBody::Model { model } => format!("the predictions of model '{model}'"),
        };
        Computed { kind: "feature", name: f.name.clone(), origin: f.origin.clone(), sql }
    }
}

impl Step {
    /// A statement replacing output table `target` with the result of `select`.
    pub fn table(label: &str, target: &str, select: &str, d: &dyn Dialect) -> Step {
        let before = if d.replaces_in_one_statement() { Vec::new() } else { vec![format!("DROP TABLE IF EXISTS {}", d.table(target))] };
        Step {
            label: label.into(),
            target: target.into(),
            before,
            sql: d.create_table_as(target, select),
            select: Some(select.to_string()),
            staged: false,
            scratch: false,
            computes: Vec::new(),
        }
    }

    /// A statement creating scratch table `target` (see [`Step::scratch`]).
    pub fn scratch_table(label: &str, target: &str, select: &str, d: &dyn Dialect) -> Step {
        Step { scratch: true, ..Step::table(label, target, select, d) }
    }
}

/// The SQL of a run, in execution order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub as_of: String,
    pub steps: Vec<Step>,
    /// For a staged plan: the statements of the publishing transaction that move the staged
    /// tables into place (run one at a time before the unstaged steps); the publish stage may
    /// replace them (a selected run merges, a backfill publishes no table).
    pub publish: Vec<String>,
    /// Statements run one at a time, each committed, after the staged steps and before the
    /// publishing transaction (a selected run builds its merged tables there).
    pub prepare: Vec<String>,
}

impl Plan {
    /// The whole plan as one script, statements separated by `;`.
    pub fn script(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            out.push_str(&format!("-- step: {}\n", s.label));
            for b in &s.before {
                out.push_str(&format!("{b};\n"));
            }
            out.push_str(&format!("{};\n\n", s.sql));
        }
        out
    }

    /// Names of all tables the plan writes, in order, scratch tables included.
    pub fn targets(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.target.as_str()).collect()
    }

    /// Names of the tables the plan publishes (no scratch tables), in order.
    pub fn outputs(&self) -> Vec<&str> {
        self.steps.iter().filter(|s| !s.scratch).map(|s| s.target.as_str()).collect()
    }
}

/// Compile with the given dialect.
pub fn compile_with(model: &Resolved, d: &dyn Dialect) -> Plan {
    let features = features_query(model, d);
    let mut steps: Vec<Step> = features
        .scans
        .into_iter()
        .map(|s| Step { computes: s.computes, ..Step::scratch_table(&format!("features: {}", s.table), &s.table, &s.select, d) })
        .collect();
    // The features step evaluates the row features of customers and the derived ones.
    let row_level = model.features.iter().filter(|f| !matches!(f.body, FeatureBody::Aggregate { .. })).map(Computed::of).collect();
    steps.push(Step { computes: row_level, ..Step::table("features", FEATURES_TABLE, &features.select, d) });
    steps.extend(outputs::steps(model, d));
    Plan { as_of: model.as_of.clone(), steps, publish: Vec::new(), prepare: Vec::new() }
}

/// How a Spark run reads one source: the file, and the temporary view the plan reads it from
/// (see [`dialect::SparkSql`]) with the renames and casts (Spark's type names) applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SparkSource {
    pub name: String,
    pub format: &'static str,
    pub path: String,
    pub view: String,
    pub rename: Vec<(String, String)>,
    pub types: Vec<(String, String)>,
}

/// Every source of the model as a Spark run reads it.
pub fn spark_sources(model: &Resolved) -> Vec<SparkSource> {
    let d = dialect::SparkSql::PARQUET;
    model
        .sources
        .iter()
        .map(|src| SparkSource {
            name: src.name.clone(),
            format: src.format.name(),
            path: src.path.clone(),
            view: dialect::SparkSql::source_view(&src.path),
            rename: src.rename.clone(),
            types: src.types.iter().map(|(c, ty)| (c.clone(), d.type_name(ty))).collect(),
        })
        .collect()
}

/// The sources as SQL comments, one line each, for the printed Spark plan (nothing without).
pub fn spark_sources_comment(sources: &[SparkSource]) -> String {
    if sources.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for src in sources {
        out.push_str(&format!("-- source '{}': {} read from {} as `{}`", src.name, src.format, src.path, src.view));
        if !src.rename.is_empty() {
            let r: Vec<String> = src.rename.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
            out.push_str(&format!("; renamed {}", r.join(", ")));
        }
        if !src.types.is_empty() {
            let t: Vec<String> = src.types.iter().map(|(c, ty)| format!("{c} {ty}")).collect();
            out.push_str(&format!("; cast {}", t.join(", ")));
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Compile for DuckDB.
pub fn compile(model: &Resolved) -> Plan {
    compile_with(model, &dialect::DuckDb)
}

/// Compile for DuckDB, every table written under its staging name (what `run` executes).
pub fn compile_staged(model: &Resolved) -> Plan {
    let mut plan = compile_with(model, &dialect::Staged::of(&dialect::DuckDb));
    for s in &mut plan.steps {
        s.staged = true;
    }
    let d = dialect::DuckDb;
    plan.publish = plan
        .outputs()
        .iter()
        .flat_map(|t| {
            let table = d.ident(t);
            [format!("DROP TABLE IF EXISTS {table}"), format!("ALTER TABLE {} RENAME TO {table}", dialect::Staged::of(&d).table(t))]
        })
        .collect();
    plan
}

/// A rule in `d`'s spelling with each `stat()` call a scalar subquery over `relation`.
pub fn rule_with_stats(rule: &Rule, model: &Resolved, d: &dyn Dialect, relation: &dyn Fn(&str) -> String) -> String {
    print_rule(rule, model, d, &|_, s| format!("(SELECT {} FROM {})", stat_aggregate(s, d), relation(&s.feature)))
}

/// A rule printed in `d`'s spelling, each `stat()` call replaced by the node of `value(N,
/// stat)` (SQL in `d`'s spelling; N the statistic's index in `model.stats`).
fn print_rule(rule: &Rule, model: &Resolved, d: &dyn Dialect, value: &dyn Fn(usize, &StatUse) -> String) -> String {
    let spelled = Rule::new(d.rule(rule.expr()));
    let replaced: Result<Rule, std::convert::Infallible> = spelled.replace_refs(&mut |r| {
        Ok(match r {
            template::TemplateRef::Stat { func, feature } => {
                let s = StatUse { func: *func, feature: feature.clone() };
                // The compiler's own SQL always parses; were it not to, the call would stay
                // and the engine would refuse it.
                model.stats.iter().position(|x| *x == s).and_then(|i| tree::parse_fragment(&value(i, &model.stats[i])))
            }
            template::TemplateRef::Segment(_) => None,
        })
    });
    replaced.unwrap_or_else(|never| match never {}).to_string()
}

/// A rule in `d`'s spelling (its statistics, if any, are left to the caller).
fn spelled(rule: &Rule, d: &dyn Dialect) -> String {
    d.rule(rule.expr()).to_string()
}

/// The indexes in `model.stats` of the statistics `rule` reads.
fn stats_of(rule: &Rule, model: &Resolved) -> Vec<usize> {
    rule.refs()
        .into_iter()
        .filter_map(|r| match r {
            template::TemplateRef::Stat { func, feature } => model.stats.iter().position(|s| s.func == func && s.feature == feature),
            template::TemplateRef::Segment(_) => None,
        })
        .collect()
}

/// The aggregate computing a statistic over all customers' values of its feature.
fn stat_aggregate(s: &StatUse, d: &dyn Dialect) -> String {
    let col = d.ident(&s.feature);
    match s.func {
        StatFunc::Avg => format!("avg({col})"),
        StatFunc::Min => format!("min({col})"),
        StatFunc::Max => format!("max({col})"),
        StatFunc::Median => d.quantile(&col, 0.5),
        StatFunc::Sum => format!("sum({col})"),
        StatFunc::Stddev => format!("stddev_samp({col})"),
        StatFunc::Count => format!("count({col})"),
        StatFunc::Quantile(q) => d.quantile(&col, q),
    }
}

fn comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// One item of a SELECT list, with the `-- origin` comment that follows its comma.
pub(crate) struct SelectItem {
    pub(crate) sql: String,
    pub(crate) note: Option<String>,
}

impl From<String> for SelectItem {
    fn from(sql: String) -> SelectItem {
        SelectItem { sql, note: None }
    }
}

/// `sql AS "name"` with a comment naming the definition it comes from.
pub(crate) fn column(sql: &str, name: &str, origin: &str) -> SelectItem {
    // Rules are printed from their trees, so no comment of a user's can swallow `AS name`.
    SelectItem { sql: format!("{} AS {name}", indent(sql, 4)), note: Some(comment(origin)) }
}

/// Join select items with commas, keeping each `-- origin` comment after its comma.
pub(crate) fn columns(items: &[SelectItem], pad: usize) -> String {
    let last = items.len().saturating_sub(1);
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let (sql, note) = (item.sql.as_str(), item.note.as_deref());
        out.push_str(sql);
        if i < last {
            out.push(',');
        }
        if let Some(note) = note {
            out.push_str("  -- ");
            out.push_str(note);
        }
        if i < last {
            out.push('\n');
            out.push_str(&" ".repeat(pad));
        }
    }
    out
}

fn indent(sql: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    sql.lines().collect::<Vec<_>>().join(&format!("\n{pad}"))
}

/// `sql` cast to the feature's declared `type:`, if any (checked by validation: a type name only).
fn typed(sql: &str, f: &ResolvedFeature, d: &dyn Dialect) -> String {
    match &f.ty {
        Some(ty) => format!("CAST({sql} AS {})", d.type_name(ty)),
        None => sql.to_string(),
    }
}

/// The conditions a feature's rows meet besides the time cut: its window and its filter.
fn filter_conds(
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
fn aggregate_expr(sql: &str, conds: Vec<String>) -> String {
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

/// A query that binds one definition on its own (returns no rows), to pinpoint which
/// definition a failing step comes from. `None` for kinds checked only as a whole step.
pub fn probe(model: &Resolved, name: &str, d: &dyn Dialect) -> Option<String> {
    if let Some(f) = model.features.iter().find(|f| f.name == name) {
        return match &f.body {
            FeatureBody::Column { sql } => {
                let customers = model.sources.first()?;
                Some(format!("SELECT {} FROM {} LIMIT 0", typed(&spelled(sql, d), f, d), source_relation(customers, d)))
            }
            FeatureBody::Aggregate { source, sql, filter, window, top } => {
                let src = model.sources.iter().find(|s| &s.name == source)?;
                let conds = filter_conds(filter.as_ref(), *window, src, model, d);
                let sql = spelled(sql, d);
                Some(match top {
                    // The row expression, grouped by as the scan does (so an aggregate is
                    // an error), and the filter as a condition on the same rows.
                    Some(_) => format!(
                        "SELECT {} FROM {}{} GROUP BY {sql} LIMIT 0",
                        typed(&sql, f, d),
                        source_relation(src, d),
                        if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) }
                    ),
                    None => format!("SELECT {} FROM {} LIMIT 0", typed(&aggregate_expr(&sql, conds), f, d), source_relation(src, d)),
                })
            }
            FeatureBody::Derived { .. } | FeatureBody::Model { .. } => None,
        };
    }
    let seg = model.segments.iter().find(|s| s.name == name)?;
    Some(format!("SELECT coalesce(({}), FALSE) FROM {} LIMIT 0", outputs::on_features(&seg.rule, model, d), d.table(FEATURES_TABLE)))
}

/// The SELECT of `customer_features` without derived features (for binding them one by one,
/// after the plan's scratch tables were created).
pub fn source_features_select(model: &Resolved, d: &dyn Dialect) -> String {
    let mut m = model.clone();
    m.features.retain(|f| !matches!(f.body, FeatureBody::Derived { .. }));
    features_query(&m, d).select
}

/// A derived feature's expression with statistics read from `relation`.
pub fn derived_sql(model: &Resolved, name: &str, relation: &str, d: &dyn Dialect) -> Option<String> {
    let f = model.features.iter().find(|f| f.name == name)?;
    match &f.body {
        FeatureBody::Derived { sql, .. } => Some(typed(&rule_with_stats(sql, model, d, &|_| d.ident(relation)), f, d)),
        _ => None,
    }
}

/// A source as a relation: read, renamed to canonical names, cast to declared types.
/// Columns the data lacks but the library reads come last, as constants.
pub(crate) fn source_relation(src: &crate::validate::ResolvedSource, d: &dyn Dialect) -> String {
    let relation = d.select_casting(&renamed_source(src.format, &src.path, src.csv.as_ref(), &src.rename, d), &src.types);
    if src.absent.is_empty() {
        return relation;
    }
    let constants: Vec<String> = src.absent.iter().map(|(c, v)| format!("{} AS {}", if *v { "TRUE" } else { "FALSE" }, d.ident(c))).collect();
    format!("(SELECT *, {} FROM {relation})", constants.join(", "))
}

/// A source file read with its renames applied (columns by the names the definitions use).
pub fn renamed_source(
    format: crate::project::model::SourceFormat,
    path: &str,
    csv: Option<&crate::project::model::CsvOptions>,
    renames: &[(String, String)],
    d: &dyn Dialect,
) -> String {
    format!("(SELECT {} FROM {})", d.star_renaming(renames), d.read_source(format, path, csv))
}

/// How `customer_features` is computed: each grouped scan of a source into a scratch table,
/// then one query joining them to the population and adding the derived features.
struct FeaturesQuery {
    /// One per grouped scan, then the statistics if any.
    scans: Vec<Scan>,
    select: String,
}

/// A scratch table of the features step: its SELECT and the features it evaluates.
struct Scan {
    table: String,
    select: String,
    computes: Vec<Computed>,
}

/// The grouped scans and the SELECT computing `customer_features`: the population CTE, a join
/// of the scans' tables on the customer key, then one CTE per layer of derived features.
///
/// Each scan writes its own table first so that the join reads finished tables: at 100M orders
/// under a 4 GB memory limit, the same scans as CTEs of one query keep every aggregate's hash
/// table and every join's build side alive at once and run out of memory.
fn features_query(model: &Resolved, d: &dyn Dialect) -> FeaturesQuery {
    let mut scans: Vec<Scan> = Vec::new();
    let Some(customers) = model.sources.first() else {
        return FeaturesQuery { scans, select: "SELECT NULL AS customer_id WHERE FALSE".into() };
    };
    let key = d.ident("customer_id");
    // Population: customers, with their row-level features.
    let mut cols: Vec<SelectItem> = vec![format!("{} AS {key}", d.ident(&customers.key)).into()];
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
    let population = format!(
        "{} AS (\n  -- source 'customers': the population, one row per customer\n  SELECT\n    {}\n  FROM {from}\n)",
        d.ident("population"),
        columns(&cols, 4)
    );
    // One grouped scan per other source.
    let mut joined: Vec<(String, Vec<&ResolvedFeature>)> = Vec::new();
    for src in model.sources.iter().skip(1) {
        let feats: Vec<&ResolvedFeature> = model
            .features
            .iter()
            .filter(|f| matches!(&f.body, FeatureBody::Aggregate { source, .. } if source == &src.name))
            .collect();
        if feats.is_empty() {
            continue;
        }
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
        let mut time_cut = Vec::new();
        if let Some(t) = &src.time {
            time_cut.push(format!("{} < {}", d.ident(t), d.day_after(&model.as_of)));
        }
        let scan = |conds: &[String]| match conds {
            [] => source_relation(src, d),
            _ => format!("{}\nWHERE {}", source_relation(src, d), conds.join("\n  AND ")),
        };
        if !shared.is_empty() {
            let mut aggs: Vec<SelectItem> = vec![format!("{} AS {key}", d.ident(&src.key)).into()];
            for f in &shared {
                if let FeatureBody::Aggregate { sql, filter, window, .. } = &f.body {
                    let expr = aggregate_expr(&spelled(sql, d), filter_conds(filter.as_ref(), *window, src, model, d));
                    aggs.push(column(&typed(&expr, f, d), &d.ident(&f.name), &f.origin));
                }
            }
            let cte = format!("agg_{}", src.name);
            let select = format!(
                "-- source '{}': one scan computing {} feature(s)\nSELECT\n  {}\nFROM {}\nGROUP BY 1",
                src.name,
                shared.len(),
                columns(&aggs, 2),
                scan(&time_cut)
            );
            add_scan(&mut scans, &mut joined, cte, select, shared, d);
        }
        for f in own {
            if let FeatureBody::Aggregate { sql, filter, window, .. } = &f.body {
                let mut conds = time_cut.clone();
                conds.extend(filter_conds(filter.as_ref(), *window, src, model, d));
                let cte = format!("agg_{}__{}", src.name, f.name);
                let select = format!(
                    "-- source '{}', feature '{}': an ordered aggregate sorts only the rows it keeps\nSELECT\n  {}\nFROM {}\nGROUP BY 1",
                    src.name,
                    f.name,
                    columns(&[format!("{} AS {key}", d.ident(&src.key)).into(), column(&typed(&spelled(sql, d), f, d), &d.ident(&f.name), &f.origin)], 2),
                    scan(&conds)
                );
                add_scan(&mut scans, &mut joined, cte, select, vec![f], d);
            }
        }
        for group in top_groups {
            let FeatureBody::Aggregate { sql, filter, window, .. } = &group[0].body else { continue };
            let sql = &spelled(sql, d);
            let mut conds = time_cut.clone();
            conds.extend(filter_conds(filter.as_ref(), *window, src, model, d));
            // NULL is not a value: dropped early unless a row count needs those rows.
            let with_nulls = group.iter().any(|f| matches!(f.body, FeatureBody::Aggregate { top: None, .. }));
            let not_null = if with_nulls { " FILTER (WHERE __v IS NOT NULL)" } else { "" };
            if !with_nulls {
                conds.push(format!("({sql}) IS NOT NULL"));
            }
            let mut aggs: Vec<SelectItem> = vec![key.clone().into()];
            for f in &group {
                let value = match f.body {
                    FeatureBody::Aggregate { top: Some(Top::Value), .. } => format!("{}{not_null}", d.most_frequent_value("__v", "__n")),
                    FeatureBody::Aggregate { top: Some(Top::Count), .. } => format!("max(__n){not_null}"),
                    _ => "CAST(sum(__n) AS BIGINT)".to_string(),
                };
                aggs.push(column(&typed(&value, f, d), &d.ident(&f.name), &f.origin));
            }
            let cte = format!("agg_{}__{}", src.name, group[0].name);
            let select = format!(
                "-- source '{}': rows per customer and value of {}, then the most frequent value (the smallest on a tie)\nSELECT\n  {}\nFROM (\n  SELECT {} AS {key}, ({sql}) AS __v, count(*) AS __n\n  FROM {}\n  GROUP BY 1, 2\n)\nGROUP BY 1",
                src.name,
                one_line(sql),
                columns(&aggs, 2),
                d.ident(&src.key),
                indent(&scan(&conds), 2),
            );
            add_scan(&mut scans, &mut joined, cte, select, group, d);
        }
    }
    // The models' predictions, fitted before the plan runs (see `execute::models`).
    let predicted: Vec<&ResolvedFeature> = model.features.iter().filter(|f| matches!(f.body, FeatureBody::Model { .. })).collect();
    if !predicted.is_empty() {
        joined.push((d.ident(MODELS_TABLE), predicted));
    }
    let stats = match stats_closure(model) {
        // Statistics first, over only the features they need, into a scratch table: the
        // query below then reads them from it instead of materializing its layers for a
        // scalar subquery (70 s -> 39 s for that query at 100M orders).
        Some((used, needed)) if !used.is_empty() => {
            let (layers, last) = layer_ctes(model, d, &population, &joined, &|f| needed.contains(&f.name), None);
            let aggs: Vec<String> = used.iter().map(|&i| format!("{} AS {}", stat_aggregate(&model.stats[i], d), d.ident(&format!("stat_{i}")))).collect();
            scans.push(Scan {
                table: STATS_TABLE.to_string(),
                select: format!("-- statistics over all customers used by derived features\nWITH\n{}\nSELECT {}\nFROM {last}", layers.join(",\n"), aggs.join(", ")),
                computes: Vec::new(),
            });
            Some(d.table(STATS_TABLE))
        }
        _ => None,
    };
    let (layers, last) = layer_ctes(model, d, &population, &joined, &|_| true, stats.as_deref());
    let mut names = vec![key.clone()];
    names.extend(model.features.iter().map(|f| d.ident(&f.name)));
    let select = format!("WITH\n{}\nSELECT {}\nFROM {last}\nORDER BY {key}", layers.join(",\n"), names.join(", "));
    FeaturesQuery { scans, select }
}

/// A grouped scan into scratch table `table`, whose columns `feats` the features query joins.
fn add_scan<'a>(scans: &mut Vec<Scan>, joined: &mut Vec<(String, Vec<&'a ResolvedFeature>)>, table: String, select: String, feats: Vec<&'a ResolvedFeature>, d: &dyn Dialect) {
    joined.push((d.table(&table), feats.clone()));
    scans.push(Scan { table, select, computes: feats.iter().map(|f| Computed::of(f)).collect() });
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
    joined: &[(String, Vec<&ResolvedFeature>)],
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
        let kept: Vec<&&ResolvedFeature> = feats.iter().filter(|f| keep(f)).collect();
        if kept.is_empty() {
            continue;
        }
        for f in kept {
            let col = format!("{alias}.{}", d.ident(&f.name));
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

#[cfg(test)]
mod tests;
