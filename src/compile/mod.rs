//! Stage 3, compile: turn the checked [`Resolved`] model into a [`Plan`] of SQL statements.
//!
//! Pure: no I/O and no DuckDB, so it is fast and tested by comparing SQL text. Each source is
//! scanned once (all of its features are computed in one grouped query; only a filtered ordered
//! aggregate and a `most_frequent` group get scans of their own, see `features`) into a
//! scratch table; statistics of derived features are computed next; one query then joins the
//! scans to the customers and adds the derived features, and every later step reads the
//! materialized `customer_features` table.

pub mod dialect;
pub mod aggregates;
mod features;
pub mod models;
pub mod spark;
pub mod outputs;
pub mod tree;
pub mod template;

use crate::validate::{FeatureBody, Resolved, ResolvedFeature, StatUse};
use tree::Rule;
use dialect::Dialect;
use features::{aggregate_expr, features_query, filter_conds};
pub use features::{affected_table, ScanState, STATE_PREFIX};
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
    /// A source's scan, whose table a DuckDB run keeps as the state of its next incremental run.
    pub state: Option<features::ScanState>,
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
            state: None,
        }
    }

    /// A features scan's name as its label gives it (`agg_orders` for `features: agg_orders`).
    pub fn scan_name(&self) -> &str {
        self.label.strip_prefix("features: ").unwrap_or(&self.target)
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
        .map(|s| Step { computes: s.computes, state: s.state, ..Step::scratch_table(&format!("features: {}", s.name), &s.table, &s.select, d) })
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
    relation_over(src, &renamed_source(src.format, &src.path, src.csv.as_ref(), &src.rename, d), d)
}

/// The rows of the file source `src` in `files` only, as DuckDB reads the source (`None` for a
/// table).
pub fn source_relation_of_files(src: &crate::validate::ResolvedSource, files: &[String]) -> Option<String> {
    let d = dialect::DuckDb;
    let read = d.read_files(src.format, files, src.csv.as_ref())?;
    Some(relation_over(src, &format!("(SELECT {} FROM {read})", d.star_renaming(&src.rename)), &d))
}

/// The source's renamed rows `renamed` with its casts and absent columns.
fn relation_over(src: &crate::validate::ResolvedSource, renamed: &str, d: &dyn Dialect) -> String {
    let relation = d.select_casting(renamed, &src.types);
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

#[cfg(test)]
mod tests;
