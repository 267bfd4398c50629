//! Stage 2, validate: check every reference in the loaded project and render its templates,
//! producing the engine-neutral [`Resolved`] model that the compiler turns into SQL.
//!
//! All problems are collected in one pass. Source schemas (read by the execute stage through
//! DuckDB) are optional: without them, column references are not checked.

mod campaigns;
mod connections;
mod exclusive;
pub mod guard;
mod lint;
mod models;
pub mod pii;
mod refs;
pub mod resolved;

use crate::compile::tree::{self, Rule};
use crate::compile::template::{quote_string, Rendered, TemplateRef, Templates};
use crate::diagnostics::{did_you_mean, Diagnostic, Loc};
use crate::project::model::*;
use crate::project::{merged_vars, Item, Project};
use refs::Graph;
pub use resolved::*;
use std::collections::{BTreeMap, BTreeSet};

/// The earliest `as_of` accepted: an earlier one (a typo such as 0001-01-01) only publishes an empty result.
pub const EARLIEST_AS_OF: &str = "1900-01-01";

/// The source every run is about: one row per customer.
pub const POPULATION_SOURCE: &str = "customers";

/// The sources only parts of the library read (the rest needs customers and orders alone). A
/// project that does not declare one of them still runs: definitions that need it are skipped
/// with a warning instead of failing validation.
pub const OPTIONAL_LIBRARY_SOURCES: &[&str] = &["order_items", "sessions", "carts", "campaign_events", "consent", "survey"];

/// Columns the library reads that a source's data may lack, as (source, column, value when
/// absent): a campaign log without holdouts sent every message, so `holdout` reads as false.
pub const LIBRARY_COLUMN_DEFAULTS: &[(&str, &str, bool)] = &[("campaign_events", "holdout", false)];

/// What a source's file looked like when DuckDB described it.
#[derive(Debug, Clone)]
pub enum SourceSchema {
    /// Column names as in the file (before renames).
    Columns(Vec<String>),
    /// No file matched the path or glob.
    Missing,
    /// DuckDB could not read it (message from DuckDB).
    Unreadable(String),
}

/// Inputs to validation besides the project.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// `--as-of`; defaults to the project var `as_of`.
    pub as_of: Option<String>,
    /// `--var name=value` overrides.
    pub vars: Vec<(String, String)>,
    /// `--select` entries: names or `tag:x`.
    pub select: Vec<String>,
    /// `--exclude` entries, the same forms.
    pub exclude: Vec<String>,
    /// Schemas per source; `None` skips column checks (pure compile).
    pub schemas: Option<BTreeMap<String, SourceSchema>>,
    /// Type names from `types:` that DuckDB rejected, with its message (filled when schemas are read).
    pub bad_types: BTreeMap<String, String>,
    /// Keep every computable feature even with `select` (a run publishes all of them).
    pub all_features: bool,
    /// The engine the rules must run on: with Spark, every rule is checked for constructs
    /// Spark has no spelling for (E033).
    pub engine: Engine,
}

/// Result of validation: the model when there were no errors, and all diagnostics.
pub struct Outcome {
    pub resolved: Option<Resolved>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Names of definitions: lowercase letters, digits and underscores, starting with a letter.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// Column names from files may be anything DuckDB accepts; we only refuse control characters.
fn is_valid_column(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_control())
}

/// A SQL type name: letters, digits, spaces, parentheses and commas only (never pasted raw otherwise).
pub fn is_valid_type(ty: &str) -> bool {
    !ty.trim().is_empty() && ty.chars().all(|c| c.is_ascii_alphanumeric() || " (),_[]".contains(c))
}

/// Check and resolve the project.
pub fn resolve(project: &Project, opts: &ResolveOptions) -> Outcome {
    let mut v = Validator {
        project,
        engine: opts.engine,
        diags: Vec::new(),
        stats: Vec::new(),
        bad_types: &opts.bad_types,
        missing: BTreeMap::new(),
        var_defaults: BTreeMap::new(),
        skipped_exports: Vec::new(),
    };
    let resolved = v.run(opts);
    let mut diagnostics = v.diags;
    crate::diagnostics::sort(&mut diagnostics);
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    Outcome { resolved: if has_errors { None } else { resolved }, diagnostics }
}

struct Validator<'a> {
    project: &'a Project,
    engine: Engine,
    diags: Vec<Diagnostic>,
    stats: Vec<StatUse>,
    /// Type names DuckDB rejected, with its message (see [`ResolveOptions::bad_types`]).
    bad_types: &'a BTreeMap<String, String>,
    /// Optional features skipped for columns their source lacks -> those `source.column`s.
    missing: BTreeMap<String, Vec<String>>,
    /// Each var the project does not set -> the defaults its uses give, with where.
    var_defaults: BTreeMap<String, Vec<(String, Loc)>>,
    /// Exports left out because the consent data their channel needs is missing (W013).
    skipped_exports: Vec<String>,
}

/// A source as validation sees it: its columns (when known) and whether its data exists.
struct SourceInfo {
    columns: Option<BTreeSet<String>>,
    available: bool,
    /// Columns the data lacks that read as a constant ([`LIBRARY_COLUMN_DEFAULTS`]).
    absent: Vec<(String, bool)>,
}

/// Every definition checked and resolved, before `--select` and missing data narrow them.
struct Checked {
    as_of: String,
    sources: BTreeMap<String, SourceInfo>,
    features: Vec<ResolvedFeature>,
    feature_deps: BTreeMap<String, Deps>,
    /// Feature names in dependency order.
    order: Vec<String>,
    segments: Vec<(ResolvedSegment, Deps)>,
    tiers: Vec<(ResolvedTier, Deps, Vec<String>)>,
    scores: Vec<(ResolvedScore, Deps)>,
    models: Vec<ResolvedModel>,
    pii: pii::PersonalData,
    campaigns: Option<ResolvedCampaigns>,
}

/// What `--select`/`--exclude` keep, and what missing data leaves out.
struct Selection<'a> {
    selector: refs::Selector,
    excluder: refs::Selector,
    excluding: bool,
    graph: &'a Graph<'a>,
    /// Features that cannot be computed (a source without data, a missing column).
    unavailable: &'a BTreeSet<String>,
    sources: &'a BTreeMap<String, SourceInfo>,
    /// Optional features skipped for columns their source lacks -> those `source.column`s.
    missing: BTreeMap<String, Vec<String>>,
    /// Features the kept definitions need.
    needed: BTreeSet<String>,
    skipped: Vec<Skipped>,
}

impl Selection<'_> {
    /// Whether a definition is selected and computable; one that is selected but cannot be
    /// computed is recorded as skipped, with a W010 warning saying why.
    fn keep(&mut self, name: &str, tags: &[String], deps: &Deps, at: Loc, what: &str, diags: &mut Vec<Diagnostic>) -> bool {
        // Both are asked about every definition, so that each knows which entries matched.
        let (selected, excluded) = (self.selector.matches(name, tags), self.excluding && self.excluder.matches(name, tags));
        if !selected || excluded {
            return false;
        }
        let closure = self.graph.closure(&deps.features);
        if !closure.iter().any(|f| self.unavailable.contains(f)) {
            self.needed.extend(closure);
            return true;
        }
        let srcs: BTreeSet<String> = closure
            .iter()
            .filter(|f| self.unavailable.contains(*f))
            .flat_map(|f| self.graph.sources_of(f))
            .filter(|s| !self.sources.get(s).is_some_and(|i| i.available))
            .collect();
        let srcs: Vec<String> = srcs.into_iter().collect();
        let cols: BTreeSet<String> = closure.iter().filter_map(|f| self.missing.get(f)).flatten().cloned().collect();
        let cols: Vec<String> = cols.into_iter().collect();
        let why = if srcs.is_empty() {
            format!("{} {} missing", if cols.len() == 1 { "column" } else { "columns" }, cols.join(", "))
        } else {
            format!(
                "{} '{}' {} no data",
                if srcs.len() == 1 { "source" } else { "sources" },
                srcs.join("', '"),
                if srcs.len() == 1 { "has" } else { "have" }
            )
        };
        self.skipped.push(Skipped { kind: what.to_string(), name: name.to_string(), sources: srcs, columns: cols });
        diags.push(
            Diagnostic::warning("W010", at, format!("{what} '{name}' skipped: {why}"))
                .with_hint("provide the source's files or columns, or remove the definition"),
        );
        false
    }
}

/// The sources the selected features read, customers (the population) first.
fn used_sources(p: &Project, features: &[ResolvedFeature], sources: &BTreeMap<String, SourceInfo>) -> Vec<ResolvedSource> {
    let used: BTreeSet<&str> = features
        .iter()
        .filter_map(|f| match &f.body {
            FeatureBody::Aggregate { source, .. } => Some(source.as_str()),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for (name, def) in &p.config.sources {
        if name == POPULATION_SOURCE || used.contains(name.as_str()) {
            let mut rs = resolved_source(p, name, def);
            rs.absent = sources.get(name).map(|i| i.absent.clone()).unwrap_or_default();
            if name == POPULATION_SOURCE {
                out.insert(0, rs);
            } else {
                out.push(rs);
            }
        }
    }
    out
}

/// Per-definition dependencies found while resolving.
#[derive(Default, Clone)]
struct Deps {
    features: BTreeSet<String>,
    segments: BTreeSet<String>,
}

impl<'a> Validator<'a> {
    fn err(&mut self, code: &'static str, loc: Loc, msg: impl Into<String>, hint: Option<String>) {
        self.diags.push(Diagnostic::error(code, loc, msg).with_hint_opt(hint));
    }

    fn run(&mut self, opts: &ResolveOptions) -> Option<Resolved> {
        let checked = self.check_definitions(opts)?;
        let out = self.select(checked, opts);
        let lints = lint::lint(&out, !opts.select.is_empty() || !opts.exclude.is_empty());
        let fatal = lints.iter().any(Diagnostic::is_error);
        self.diags.extend(lints);
        (!fatal).then_some(out)
    }

    /// Every definition checked and resolved, before selection; `None` after any error.
    fn check_definitions(&mut self, opts: &ResolveOptions) -> Option<Checked> {
        let p = self.project;
        let as_of = self.as_of(opts)?;
        let vars = merged_vars(&p.config, &opts.vars);
        let templates = match Templates::new(&vars, &as_of, &p.macros) {
            Ok(t) => t,
            Err((file, line, msg)) => {
                self.err("E030", Loc::new(file, line, 1), msg, Some("fix the macro file".into()));
                return None;
            }
        };
        self.check_connections();
        let sources = self.declared_sources(opts);
        self.check_duplicates();
        let (models, model_features) = self.models(&sources, &as_of);
        let mut feature_names: BTreeSet<String> = p.features.iter().map(|f| f.def.name.clone()).collect();
        for f in &model_features {
            if let Some(item) = p.features.iter().find(|i| i.def.name == f.name) {
                self.err("E010", p.loc(item, "name"), format!("duplicate feature name '{}'", f.name),
                    Some(format!("a model defined at {} predicts '{}'; rename the feature", f.origin, f.name)));
            }
            feature_names.insert(f.name.clone());
        }
        let mut features = Vec::new();
        let mut feature_deps: BTreeMap<String, Deps> = BTreeMap::new();
        for item in &p.features {
            if let Some((f, deps)) = self.feature(item, &templates, &sources, &feature_names) {
                feature_deps.insert(f.name.clone(), deps);
                features.push(f);
            }
        }
        for f in model_features {
            feature_deps.insert(f.name.clone(), Deps::default());
            features.push(f);
        }
        let order = self.order_features(&mut features, &feature_deps);
        let segment_names: BTreeSet<String> = p.segments.iter().map(|s| s.def.name.clone()).collect();
        let segments = self.segments(&templates, &feature_names, &segment_names);
        let pii = pii::PersonalData::trace(&p.config, &features, &feature_deps);
        let campaigns = self.campaigns(&sources);
        self.check_exports(&sources, &feature_names, &segment_names, &pii);
        self.check_tests(&segment_names);
        let tiers = p.tiers.iter().filter_map(|t| self.tier(t, &templates, &feature_names)).collect();
        let scores = p.scores.iter().filter_map(|s| self.score(s, &templates, &feature_names)).collect();
        self.check_var_defaults();
        if self.diags.iter().any(Diagnostic::is_error) {
            return None;
        }
        Some(Checked { as_of, sources, features, feature_deps, order, segments, tiers, scores, models, pii, campaigns })
    }

    /// The sources of the project file, plus each optional library source that definitions
    /// use but the project does not declare (W011: what needs it is skipped).
    fn declared_sources(&mut self, opts: &ResolveOptions) -> BTreeMap<String, SourceInfo> {
        let p = self.project;
        let mut sources = self.check_sources(opts);
        for name in OPTIONAL_LIBRARY_SOURCES {
            let users: Vec<&str> =
                p.features.iter().filter(|f| f.def.source.as_deref() == Some(*name)).map(|f| f.def.name.as_str()).collect();
            if users.is_empty() || sources.contains_key(*name) {
                continue;
            }
            self.diags.push(
                Diagnostic::warning("W011", Loc::file(crate::project::PROJECT_FILE), format!("source '{name}' is not declared; definitions that need it are skipped"))
                    .with_hint(format!("declare it under `sources:` to compute {}", users.join(", "))),
            );
            sources.insert(name.to_string(), SourceInfo { columns: None, available: false, absent: Vec::new() });
        }
        sources
    }

    /// Every segment's rule, with `extends`, `segment()` and exclusive groups resolved.
    fn segments(&mut self, templates: &Templates, feature_names: &BTreeSet<String>, segment_names: &BTreeSet<String>) -> Vec<(ResolvedSegment, Deps)> {
        let p = self.project;
        let mut seg_rules = BTreeMap::new();
        for item in &p.segments {
            if let Some(r) = self.segment_rule(item, templates, feature_names, segment_names) {
                seg_rules.insert(item.def.name.clone(), (item, r));
            }
        }
        let mut segments = self.expand_segments(&seg_rules);
        let segment_loc = |name: &str| self.find_loc(&p.segments, name);
        let problems = exclusive::resolve(&mut segments, &segment_loc);
        self.diags.extend(problems);
        segments
    }

    /// The definitions `--select`/`--exclude` keep and that can be computed (W010 for those
    /// whose sources or columns are missing), the features they need, and their sources.
    fn select(&mut self, c: Checked, opts: &ResolveOptions) -> Resolved {
        let p = self.project;
        let graph = Graph::new(&c.features, &c.feature_deps);
        // Which features can be computed: those whose sources have data.
        let lacks_column = |f: &str| graph.closure(&BTreeSet::from([f.to_string()])).iter().any(|g| self.missing.contains_key(g));
        let unavailable: BTreeSet<String> = c
            .features
            .iter()
            .filter(|f| graph.sources_of(&f.name).iter().any(|s| !c.sources.get(s).is_some_and(|i| i.available)) || lacks_column(&f.name))
            .map(|f| f.name.clone())
            .collect();
        let mut sel = Selection {
            selector: refs::Selector::new(&opts.select),
            excluder: refs::Selector::new(&opts.exclude),
            excluding: !opts.exclude.is_empty(),
            graph: &graph,
            unavailable: &unavailable,
            sources: &c.sources,
            missing: std::mem::take(&mut self.missing),
            needed: BTreeSet::new(),
            skipped: Vec::new(),
        };
        let mut out = Resolved {
            name: p.config.name.clone(),
            as_of: c.as_of,
            sources: Vec::new(),
            features: Vec::new(),
            segments: Vec::new(),
            tiers: Vec::new(),
            scores: Vec::new(),
            stats: std::mem::take(&mut self.stats),
            skipped: Vec::new(),
            skipped_exports: std::mem::take(&mut self.skipped_exports),
            models: c.models,
            pii: c.pii,
            campaigns: c.campaigns,
        };
        for (s, deps) in c.segments {
            let at = self.find_loc(&p.segments, &s.name);
            if sel.keep(&s.name, &s.tags, &deps, at, "segment", &mut self.diags) {
                out.segments.push(s);
            }
        }
        for (t, deps, tags) in c.tiers {
            let at = self.find_loc(&p.tiers, &t.name);
            if sel.keep(&t.name, &tags, &deps, at, "tier ladder", &mut self.diags) {
                out.tiers.push(t);
            }
        }
        for (s, deps) in c.scores {
            let at = self.find_loc(&p.scores, &s.name);
            if sel.keep(&s.name, &s.tags.clone(), &deps, at, "score", &mut self.diags) {
                out.scores.push(s);
            }
        }
        for (flag, unmatched) in [("--select", sel.selector.unmatched()), ("--exclude", sel.excluder.unmatched())] {
            for entry in unmatched {
                self.err("E040", Loc::file(crate::project::PROJECT_FILE), format!("{flag} '{entry}' matches no definition"),
                    Some("use a segment, tier or score name, or tag:NAME".into()));
            }
        }
        // Without --select every computable feature is published; with it, only what is needed.
        let include_all = (opts.select.is_empty() && opts.exclude.is_empty()) || opts.all_features;
        for name in &c.order {
            if let Some(f) = c.features.iter().find(|f| &f.name == name) {
                if !unavailable.contains(&f.name) && (include_all || sel.needed.contains(&f.name)) {
                    out.features.push(f.clone());
                }
            }
        }
        // Skipped features are not warned about one by one: the definitions that need them are.
        out.skipped = sel.skipped;
        out.sources = used_sources(p, &out.features, &c.sources);
        out
    }

    fn find_loc<T>(&self, items: &[Item<T>], name: &str) -> Loc
    where
        T: Named,
    {
        items.iter().find(|i| i.def.name() == name).map(|i| self.project.loc(i, "")).unwrap_or_default()
    }

    fn as_of(&mut self, opts: &ResolveOptions) -> Option<String> {
        let from_vars = self.project.config.vars.get("as_of").map(|v| match v {
            serde_yaml::Value::String(s) => s.clone(),
            other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
        });
        let (value, loc) = match (&opts.as_of, from_vars) {
            (Some(a), _) => (a.clone(), Loc::new("--as-of", 1, 1)),
            (None, Some(v)) => (v, self.project.config_loc("vars.as_of")),
            (None, None) => {
                self.err("E005", Loc::file(crate::project::PROJECT_FILE), "no as_of date",
                    Some("set `vars: { as_of: \"2026-06-30\" }` in segmenter.yaml or pass --as-of 2026-06-30".into()));
                return None;
            }
        };
        if !is_iso_date(&value) {
            self.err("E005", loc, format!("as_of '{value}' is not a date"), Some("write it as YYYY-MM-DD, e.g. 2026-06-30".into()));
            return None;
        }
        if value.as_str() < EARLIEST_AS_OF {
            self.err("E005", loc, format!("as_of '{value}' is before {EARLIEST_AS_OF}"),
                Some("as_of is the day the segments describe, e.g. 2026-06-30; no shop has customers before 1900".into()));
            return None;
        }
        Some(value)
    }

    fn check_sources(&mut self, opts: &ResolveOptions) -> BTreeMap<String, SourceInfo> {
        let p = self.project;
        let mut out = BTreeMap::new();
        if !p.config.sources.contains_key(POPULATION_SOURCE) {
            let hint = did_you_mean(POPULATION_SOURCE, p.config.sources.keys().map(String::as_str))
                .unwrap_or_else(|| "declare `customers: { path: data/customers.csv, key: customer_id }` under sources".into());
            self.err("E020", p.config_loc("sources"), "the project has no 'customers' source (one row per customer)", Some(hint));
        }
        for (name, def) in &p.config.sources {
            let at = |field: &str| p.config_loc(&format!("sources.{name}.{field}"));
            if !is_valid_name(name) {
                self.err("E011", p.config_loc(&format!("sources.{name}")), format!("invalid source name '{name}'"),
                    Some("use lowercase letters, digits and underscores, starting with a letter".into()));
            }
            let is_file = def.read_format() != SourceFormat::Postgres;
            if is_file && def.path.is_empty() {
                self.err("E003", p.config_loc(&format!("sources.{name}")), format!("missing required key 'path' in sources.{name}"),
                    Some("give the data file (`path: data/orders.parquet`), or `format: postgres` with `connection:` and `table:`".into()));
                out.insert(name.clone(), SourceInfo { columns: None, available: false, absent: Vec::new() });
                continue;
            }
            let before = self.diags.len();
            if def.known_format().is_none() {
                self.err("E026", at("path"), format!("cannot tell the format of '{}'", def.path),
                    Some("use a .csv, .parquet or .json file, or set `format: csv|parquet|json` (or `format: postgres` with `connection:` and `table:`)".into()));
            } else if !is_file {
                self.check_postgres_source(name, def);
            }
            for (field, col) in [("key", Some(&def.key)), ("time", def.time.as_ref())] {
                if let Some(c) = col {
                    if !is_valid_column(c) {
                        self.err("E011", at(field), format!("invalid column name '{c}'"), None);
                    }
                }
            }
            // DuckDB cannot read a file with bad options either: report the options only.
            let csv_bad = def.csv.as_ref().is_some_and(|c| !c.problems().is_empty());
            if let Some(csv) = &def.csv {
                if def.known_format().is_some_and(|f| f != SourceFormat::Csv) {
                    self.err("E026", at("csv"), format!("source '{name}' has a `csv:` block but is not a CSV file"),
                        Some("remove `csv:`, or set `format: csv` if the file is CSV".into()));
                }
                for (key, problem) in csv.problems() {
                    self.err("E026", at(&format!("csv.{key}")), problem, Some("see docs/language.md, section Sources".into()));
                }
            }
            for (col, ty) in &def.types {
                if !is_valid_type(ty) || opts.bad_types.contains_key(ty) {
                    self.err("E027", at(&format!("types.{col}")), format!("invalid SQL type '{ty}' for column '{col}'"),
                        Some("use a type name such as DECIMAL(12,2), BIGINT, DATE, TIMESTAMP or VARCHAR".into()));
                }
            }
            if !is_file && self.diags.len() > before {
                // A database source that cannot be read as declared: E028 says why.
                out.insert(name.clone(), SourceInfo { columns: None, available: false, absent: Vec::new() });
                continue;
            }
            let full = crate::project::resolve(&p.root, &def.path);
            let is_glob = def.is_glob();
            let schema = opts.schemas.as_ref().and_then(|s| s.get(name).cloned());
            let missing = match &schema {
                Some(SourceSchema::Missing) => true,
                Some(_) => false,
                None => is_file && !is_glob && !full.exists(),
            };
            let mut info = SourceInfo { columns: None, available: !missing, absent: Vec::new() };
            if is_file && !is_glob && full.is_dir() {
                self.err("E024", at("path"), format!("data file '{}' for source '{name}' is a directory, not a file", def.path),
                    Some("point `path` at a file, or at the files inside with a glob such as dir/*.parquet".into()));
                info.available = false;
                out.insert(name.clone(), info);
                continue;
            }
            if missing {
                if def.optional {
                    self.diags.push(
                        Diagnostic::warning("W010", at("path"), format!("optional source '{name}' has no data file '{}'", def.path))
                            .with_hint("definitions that need it are skipped"),
                    );
                } else {
                    self.err("E024", at("path"), format!("data file '{}' for source '{name}' not found", def.path),
                        Some("check the path (relative to the project root), or mark the source `optional: true`".into()));
                }
            }
            match schema {
                Some(SourceSchema::Unreadable(_)) if csv_bad => info.available = false,
                Some(SourceSchema::Unreadable(msg)) => {
                    let (field, hint) = if is_file {
                        ("path", "check the file's format and that DuckDB can open it")
                    } else {
                        ("table", "check the table (or query), its schema and that the connection's role may read it")
                    };
                    let field = if !is_file && def.table.is_none() { "query" } else { field };
                    self.err("E025", at(field), format!("cannot read source '{name}': {msg}"), Some(hint.into()));
                    info.available = false;
                }
                Some(SourceSchema::Columns(cols)) => {
                    let mut set: BTreeSet<String> = cols.iter().cloned().collect();
                    for from in def.rename.keys() {
                        if !set.remove(from) {
                            let hint = did_you_mean(from, cols.iter().map(String::as_str));
                            self.err("E025", at(&format!("rename.{from}")), format!("source '{name}' has no column '{from}' to rename"), hint);
                        }
                    }
                    // Columns not renamed away keep their names: a rename onto one would shadow it.
                    for (from, to) in &def.rename {
                        if !set.insert(to.clone()) {
                            self.err("E025", at(&format!("rename.{from}")),
                                format!("rename of column '{from}' to '{to}' in source '{name}' collides with another column named '{to}'"),
                                Some(format!("rename '{to}' away as well, or pick another name for '{from}'")));
                        }
                    }
                    let typed = def.types.keys().map(|k| ("types", k));
                    for (field, c) in [("key", &def.key)].into_iter().chain(def.time.as_ref().map(|t| ("time", t))).chain(typed) {
                        {
                            if !set.contains(c) {
                                let hint = did_you_mean(c, set.iter().map(String::as_str))
                                    .unwrap_or_else(|| format!("columns are: {}", join_names(&set)));
                                let loc = if field == "types" { p.config_loc(&format!("sources.{name}.types.{c}")) } else { at(field) };
                                self.err("E025", loc, format!("source '{name}' has no column '{c}'"), Some(hint));
                            }
                        }
                    }
                    for (_, column, value) in LIBRARY_COLUMN_DEFAULTS.iter().filter(|(s, _, _)| s == name) {
                        if set.insert(column.to_string()) {
                            info.absent.push((column.to_string(), *value));
                        }
                    }
                    info.columns = Some(set);
                }
                _ => {}
            }
            out.insert(name.clone(), info);
        }
        out
    }

    /// Exports: valid names, known columns, PII only when allowed, consent for channels.
    fn check_exports(
        &mut self,
        sources: &BTreeMap<String, SourceInfo>,
        features: &BTreeSet<String>,
        segments: &BTreeSet<String>,
        pii: &pii::PersonalData,
    ) {
        let p = self.project;
        let customer_columns = sources.get(POPULATION_SOURCE).and_then(|s| s.columns.clone());
        let mut names = BTreeSet::new();
        for (i, e) in p.config.output.exports.iter().enumerate() {
            let at = |field: &str| p.config_loc(&format!("output.exports.{i}.{field}"));
            if !is_valid_name(&e.name) || !names.insert(e.name.clone()) {
                self.err("E065", at("name"), format!("export name '{}' is invalid or used twice", e.name),
                    Some("use a unique lowercase name of letters, digits and underscores; it names the file".into()));
            }
            for (j, col) in e.columns.iter().enumerate() {
                let known = col == "customer_id"
                    || col == "segment"
                    || features.contains(col)
                    || customer_columns.as_ref().is_some_and(|c| c.contains(col));
                if !known {
                    let mut candidates: Vec<&str> = vec!["customer_id", "segment"];
                    candidates.extend(features.iter().map(String::as_str));
                    if let Some(c) = &customer_columns {
                        candidates.extend(c.iter().map(String::as_str));
                    }
                    let hint = did_you_mean(col, candidates)
                        .unwrap_or_else(|| "use customer_id, segment, a feature name or a column of the customers source".into());
                    self.err("E061", at(&format!("columns.{j}")), format!("unknown column '{col}' in export '{}'", e.name), Some(hint));
                } else if let Some(why) = pii.why(col).filter(|_| !e.allow_pii) {
                    self.err("E062", at(&format!("columns.{j}")), format!("export '{}' would write {why}", e.name),
                        Some("remove the column, or set `allow_pii: true` on this export if it is allowed to leave the database".into()));
                }
            }
            if !e.columns.iter().any(|c| c == "customer_id") {
                self.err("E061", at("columns"), format!("export '{}' has no customer_id column", e.name), Some("add customer_id to `columns`".into()));
            }
            let labels: BTreeSet<String> =
                p.scores.iter().flat_map(|sc| sc.def.map.iter().map(move |l| format!("{}_{}", sc.def.name, l.name))).collect();
            for (j, sel) in e.segments.iter().enumerate() {
                if sel.strip_prefix("tag:").is_none() && !segments.contains(sel) && !labels.contains(sel) {
                    let hint = did_you_mean(sel, segments.iter().map(String::as_str)).unwrap_or_else(|| "use a segment name or tag:NAME".into());
                    self.err("E064", at(&format!("segments.{j}")), format!("unknown segment '{sel}' in export '{}'", e.name), Some(hint));
                }
            }
            if let Some(channel) = &e.channel {
                let known = crate::project::model::CHANNELS;
                if !known.contains(&crate::project::model::normalize_channel(channel).as_str()) {
                    let hint = did_you_mean(&channel.to_lowercase(), known.iter().copied())
                        .unwrap_or_else(|| format!("channels are: {}", known.join(", ")));
                    self.err("E063", at("channel"), format!("unknown channel '{channel}' in export '{}'", e.name), Some(hint));
                }
                match &p.config.consent {
                    None => self.err("E063", at("channel"), format!("export '{}' names a channel but the project has no `consent:` section", e.name),
                        Some("add `consent: { source: consent }` to segmenter.yaml so opted-out customers can be left out".into())),
                    Some(c) => {
                        let optional = p.config.sources.get(&c.source).is_some_and(|s| s.optional);
                        if !sources.get(&c.source).is_some_and(|s| s.available) {
                            if optional {
                                // Nobody is contactable without consent data: the export is left out.
                                self.diags.push(
                                    Diagnostic::warning("W013", at("channel"), format!(
                                        "export '{}' skipped: its channel needs the consent source '{}', which has no data",
                                        e.name, c.source
                                    ))
                                    .with_hint("provide the consent file to write this export"),
                                );
                                self.skipped_exports.push(e.name.clone());
                            } else {
                                self.err("E063", at("channel"), format!("export '{}' needs the consent source '{}', which has no data", e.name, c.source),
                                    Some("without consent data opted-out customers cannot be left out; provide the file or remove `channel`".into()));
                            }
                        }
                    }
                }
            }
        }
    }

    /// A var the project does not set, given different defaults at different uses: the bands it
    /// bounds would leave a gap or overlap (W032, at the first use that differs).
    fn check_var_defaults(&mut self) {
        for (name, uses) in std::mem::take(&mut self.var_defaults) {
            let Some((first, first_loc)) = uses.first().cloned() else { continue };
            if let Some((other, at)) = uses.iter().find(|(d, _)| *d != first) {
                self.diags.push(
                    Diagnostic::warning("W032", at.clone(), format!(
                        "var '{name}' has the default {other} here and {first} at {}:{}",
                        first_loc.file, first_loc.line
                    ))
                    .with_hint(format!("set it once under `vars:` in segmenter.yaml ({name}: {first}), or give every use the same default")),
                );
            }
        }
    }

    /// Names used by fixture tests and assertions must exist (segments include score labels).
    fn check_tests(&mut self, segments: &BTreeSet<String>) {
        let p = self.project;
        let mut known = segments.clone();
        known.extend(p.scores.iter().flat_map(|sc| sc.def.map.iter().map(move |l| format!("{}_{}", sc.def.name, l.name))));
        let ladders: BTreeSet<String> = p.tiers.iter().map(|t| t.def.name.clone()).collect();
        let scores: BTreeSet<String> = p.scores.iter().map(|s| s.def.name.clone()).collect();
        // (where, message, the name, the names it could have meant)
        let mut unknown: Vec<(Loc, String, &String, &BTreeSet<String>)> = Vec::new();
        for item in &p.tests {
            let owner = format!("test '{}'", item.def.name);
            for (i, e) in item.def.expect.iter().enumerate() {
                for (field, value, set) in [("segment", &e.segment, &known), ("ladder", &e.ladder, &ladders), ("score", &e.score, &scores)] {
                    if let Some(v) = value.as_ref().filter(|v| !set.contains(*v)) {
                        unknown.push((p.loc(item, &format!("expect.{i}.{field}")), format!("unknown {field} '{v}' in {owner}"), v, set));
                    }
                }
            }
        }
        for item in &p.assertions {
            let a = &item.def;
            let owner = format!("assertion '{}'", a.name);
            if let Some(v) = a.segment.as_ref().filter(|v| !known.contains(*v)) {
                unknown.push((p.loc(item, "segment"), format!("unknown segment '{v}' in {owner}"), v, &known));
            }
            if let Some(v) = a.one_level_per_customer.as_ref().filter(|v| !ladders.contains(*v)) {
                unknown.push((p.loc(item, "one_level_per_customer"), format!("unknown ladder '{v}' in {owner}"), v, &ladders));
            }
            for (i, v) in a.overlap.iter().enumerate().filter(|(_, v)| !known.contains(*v)) {
                unknown.push((p.loc(item, &format!("overlap.{i}")), format!("unknown segment '{v}' in {owner}"), v, &known));
            }
        }
        for (loc, message, name, set) in unknown {
            let hint = did_you_mean(name, set.iter().map(String::as_str)).unwrap_or_else(|| format!("known: {}", join_names(set)));
            self.err("E202", loc, message, Some(hint));
        }
    }

    fn check_duplicates(&mut self) {
        let p = self.project;
        let mut names: Vec<(String, &str, Loc)> = Vec::new();
        names.extend(p.features.iter().map(|i| (i.def.name.clone(), "feature", p.loc(i, "name"))));
        names.extend(p.segments.iter().map(|i| (i.def.name.clone(), "segment", p.loc(i, "name"))));
        for s in &p.scores {
            for (j, l) in s.def.map.iter().enumerate() {
                names.push((format!("{}_{}", s.def.name, l.name), "segment", p.loc(s, &format!("map.{j}.name"))));
            }
        }
        names.extend(p.tiers.iter().map(|i| (i.def.name.clone(), "tier ladder", p.loc(i, "name"))));
        names.extend(p.scores.iter().map(|i| (i.def.name.clone(), "score", p.loc(i, "name"))));
        let mut seen: BTreeMap<(String, &str), Loc> = BTreeMap::new();
        for (name, kind, loc) in names {
            if !is_valid_name(&name) {
                self.err("E011", loc.clone(), format!("invalid {kind} name '{name}'"),
                    Some("use lowercase letters, digits and underscores, starting with a letter (at most 63)".into()));
            }
            if kind == "feature" && name == crate::compile::CUSTOMER_KEY {
                self.err("E011", loc.clone(), format!("a feature cannot be named '{name}'"),
                    Some(format!("'{name}' is the customer key column of customer_features; name the feature e.g. 'source_{name}'")));
            }
            let class = if kind == "feature" { "feature" } else { "output" };
            if let Some(first) = seen.get(&(name.clone(), class)) {
                self.err("E010", loc, format!("duplicate {kind} name '{name}'"), Some(format!("first defined at {first}; rename one of them")));
            } else {
                seen.insert((name, class), loc);
            }
        }
    }

    /// Render a snippet; report template errors at the field's location.
    fn render<T>(&mut self, t: &Templates, item: &Item<T>, field: &str, text: &str) -> Option<Rendered> {
        let loc = self.project.loc(item, field);
        match t.render(&format!("{}:{}", loc.file, loc.line), text) {
            Ok(r) => {
                for (name, default) in &r.defaults {
                    self.var_defaults.entry(name.clone()).or_default().push((default.clone(), loc.clone()));
                }
                Some(r)
            }
            Err(e) => {
                let block = self.project.files[item.file].spans.is_block(&format!("{}.{field}", item.path));
                let line = loc.line + e.line.unwrap_or(1) - 1;
                let col = if line == loc.line || block { loc.col } else { 1 };
                self.err("E030", Loc::new(loc.file, line, col), e.message, Some(e.hint));
                None
            }
        }
    }

    /// Render a snippet that must be one SQL expression (a rule, an aggregate, a condition);
    /// anything else is reported at its place in the snippet (E032) and yields `None`.
    fn render_rule<T>(&mut self, t: &Templates, item: &Item<T>, field: &str, text: &str, owner: &str) -> Option<Rule> {
        let r = self.render(t, item, field, text)?;
        match guard::check_expression(&r.sql) {
            Ok(expr) => {
                let problems = match self.engine {
                    Engine::Spark => crate::compile::spark::to_spark(&expr).err().unwrap_or_default(),
                    Engine::Duckdb => Vec::new(),
                };
                for p in &problems {
                    let loc = self.snippet_loc(item, field, p.line - 1, p.col - 1);
                    self.err("E033", loc, format!("{owner} uses {}, which Spark cannot run", p.what), Some(p.hint.clone()));
                }
                // Parsed once: the references and columns are read from this tree.
                problems.is_empty().then(|| Rule::new(expr))
            }
            Err(e) => {
                let loc = self.snippet_loc(item, field, e.line - 1, e.col - 1);
                self.err("E032", loc, e.message(owner), Some(e.hint()));
                None
            }
        }
    }

    /// For an optional feature: whether its source lacks a column its texts read; if so the
    /// feature is recorded as missing (everything that needs it is skipped) with one warning.
    fn skip_optional(&mut self, item: &Item<FeatureDef>, source: &str, columns: Option<&BTreeSet<String>>, rules: [Option<&Rule>; 2]) -> bool {
        let Some(cols) = columns else { return false };
        let mut absent: Vec<String> = rules
            .into_iter()
            .flatten()
            .flat_map(Rule::columns)
            .map(|id| id.name)
            .filter(|name| !cols.contains(name))
            .collect();
        absent.sort();
        absent.dedup();
        if absent.is_empty() {
            return false;
        }
        let shown = absent.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
        self.diags.push(
            Diagnostic::warning("W012", self.project.loc(item, ""), format!(
                "optional feature '{}' skipped: source '{source}' has no column {shown}",
                item.def.name
            ))
            .with_hint("definitions that need it are skipped too; add the column (or a `rename:`) to compute them"),
        );
        self.missing.insert(item.def.name.clone(), absent.iter().map(|c| format!("{source}.{c}")).collect());
        true
    }

    /// Location of the 0-based `line` and character `col` of a field's snippet.
    fn snippet_loc<T>(&self, item: &Item<T>, field: &str, line: usize, col: usize) -> Loc {
        let loc = self.project.loc(item, field);
        let spans = &self.project.files[item.file].spans;
        let path = format!("{}.{field}", item.path);
        match (line, spans.is_block(&path)) {
            (0, false) => Loc::new(loc.file, loc.line, loc.col + col + usize::from(spans.is_quoted(&path))),
            (n, true) => Loc::new(loc.file, loc.line + n, loc.col + col),
            (n, false) => Loc::new(loc.file, loc.line + n, col + 1),
        }
    }

    /// Check identifiers and template refs of a rendered snippet; returns its SQL with stat
    /// placeholders numbered globally, and its dependencies.
    #[allow(clippy::too_many_arguments)]
    fn check_refs<T>(
        &mut self,
        item: &Item<T>,
        field: &str,
        raw: &str,
        r: &Rule,
        allowed: &BTreeSet<String>,
        what: &str,
        owner: &str,
        segments: Option<&BTreeSet<String>>,
        features: &BTreeSet<String>,
    ) -> (Rule, Deps) {
        let mut deps = Deps::default();
        for id in r.columns() {
            if allowed.contains(&id.name) {
                deps.features.insert(id.name);
                continue;
            }
            let loc = self.ident_loc(item, field, raw, &id.name);
            let hint = did_you_mean(&id.name, allowed.iter().map(String::as_str))
                .unwrap_or_else(|| match what.split_once(" of ") {
                    // Your data may call it something else: say how to map it.
                    Some((noun, rest)) => format!(
                        "known {noun}s of {rest}: {}; if one of them holds this data, map it with `rename: {{ that_{noun}: {} }}` on the {rest} in segmenter.yaml",
                        join_names(allowed),
                        id.name
                    ),
                    None => format!("known {what}s: {}", join_names(allowed)),
                });
            let (code, message) = match what.split_once(" of ") {
                // "column of source 'orders'" -> unknown column 'amout' of source 'orders'
                Some((noun, rest)) => ("E202", format!("unknown {noun} '{}' of {rest} in {owner}", id.name)),
                None => ("E201", format!("unknown {what} '{}' in {owner}", id.name)),
            };
            self.err(code, loc, message, Some(hint));
        }
        for name in tree::malformed_refs(r.expr()) {
            let example = if name == "stat" { "{{ stat('avg', 'order_count') }}" } else { "{{ segment('loyal') }}" };
            self.err("E030", self.project.loc(item, field), format!("{name}() in {owner} does not name what it reads"),
                Some(format!("write it with quoted names, e.g. {example}")));
        }
        for tr in &r.refs() {
            match tr {
                TemplateRef::Stat { func, feature } => {
                    if !features.contains(feature) {
                        let hint = did_you_mean(feature, features.iter().map(String::as_str));
                        self.err("E201", self.project.loc(item, field), format!("unknown feature '{feature}' in stat() in {owner}"), hint);
                    }
                    deps.features.insert(feature.clone());
                    let stat = StatUse { func: *func, feature: feature.clone() };
                    if !self.stats.contains(&stat) {
                        self.stats.push(stat);
                    }
                }
                TemplateRef::Segment(name) => match segments {
                    Some(known) if known.contains(name) => {
                        deps.segments.insert(name.clone());
                    }
                    Some(known) => {
                        let hint = did_you_mean(name, known.iter().map(String::as_str));
                        self.err("E202", self.project.loc(item, field), format!("unknown segment '{name}' in segment() in {owner}"), hint);
                    }
                    None => {
                        self.err("E203", self.project.loc(item, field), format!("segment() is only allowed in segment rules, not in {owner}"),
                            Some("copy the condition, or move it into a derived feature".into()));
                    }
                },
            }
        }
        (r.clone(), deps)
    }

    /// Best location of `ident` inside the field's raw text.
    fn ident_loc<T>(&self, item: &Item<T>, field: &str, raw: &str, ident: &str) -> Loc {
        let loc = self.project.loc(item, field);
        let block = self.project.files[item.file].spans.is_block(&format!("{}.{field}", item.path));
        if block {
            // Folded (`>`) text is joined into one line: search the file's own lines instead.
            let path = self.project.root.join(&self.project.files[item.file].path);
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines = raw.lines().count().max(1);
            for (n, line) in text.lines().skip(loc.line.saturating_sub(1)).take(lines + 8).enumerate() {
                if let Some(c) = find_word(line, ident) {
                    return Loc::new(loc.file, loc.line + n, line[..c].chars().count() + 1);
                }
            }
        }
        for (n, line) in raw.lines().enumerate() {
            if let Some(c) = find_word(line, ident) {
                return match (n, block) {
                    (0, false) => {
                        let quoted = self.project.files[item.file].spans.is_quoted(&format!("{}.{field}", item.path));
                        Loc::new(loc.file, loc.line, loc.col + line[..c].chars().count() + usize::from(quoted))
                    }
                    (_, true) => Loc::new(loc.file, loc.line + n, loc.col + line[..c].chars().count()),
                    _ => Loc::new(loc.file, loc.line + n, 1),
                };
            }
        }
        loc
    }

    fn feature(
        &mut self,
        item: &Item<FeatureDef>,
        t: &Templates,
        sources: &BTreeMap<String, SourceInfo>,
        feature_names: &BTreeSet<String>,
    ) -> Option<(ResolvedFeature, Deps)> {
        let p = self.project;
        let f = &item.def;
        let owner = format!("feature '{}'", f.name);
        let origin = origin(&p.loc(item, ""));
        let ty = f.ty.as_ref().map(|t| t.trim().to_string());
        if let Some(t) = &ty {
            if !is_valid_type(t) || self.bad_types.contains_key(t) {
                let why = self.bad_types.get(t).map_or(String::new(), |m| format!(" ({m})"));
                self.err("E027", p.loc(item, "type"), format!("invalid SQL type '{t}' for {owner}{why}"),
                    Some("use a DuckDB type name such as BIGINT, DOUBLE or DECIMAL(18,2)".into()));
            }
        }
        let default_sql = match &f.default {
            None => None,
            Some(v) => match yaml_literal(v) {
                Some(s) => Some(s),
                None => {
                    self.err("E003", p.loc(item, "default"), format!("default of {owner} must be a number, string, boolean or null"), None);
                    None
                }
            },
        };
        let Some(source) = &f.source else {
            if let Some((key, _, _)) = top_key(f) {
                self.err("E051", p.key_loc(item, key), format!("`{key}` needs a source; {owner} has no `source`"),
                    Some(format!("add the source whose rows to count, e.g. `source: order_items` with `{key}: category`")));
                return None;
            }
            let Some(expr) = &f.expr else {
                self.err("E003", p.loc(item, ""), format!("{owner} has neither `source` nor `expr`"),
                    Some("add `source:` to aggregate a source, or `expr:` over other features".into()));
                return None;
            };
            for field in ["filter", "window"] {
                if (field == "filter" && f.filter.is_some()) || (field == "window" && f.window.is_some()) {
                    self.err("E051", p.key_loc(item, field), format!("`{field}` needs a source; {owner} is computed from other features"),
                        Some("add `source:` or remove the key".into()));
                }
            }
            if expr.trim().is_empty() {
                self.err("E003", p.loc(item, "expr"), format!("{owner} has an empty `expr`"),
                    Some("write an expression over other features, e.g. `expr: total_spent / nullif(order_count, 0)`".into()));
                return None;
            }
            let r = self.render_rule(t, item, "expr", expr, &owner)?;
            if r.columns().iter().any(|id| id.name == f.name) {
                self.err("E023", p.loc(item, "expr"), format!("features depend on each other in a cycle: {0} -> {0}", f.name),
                    Some("a feature cannot use itself; compute the part it needs in another feature".into()));
                return None;
            }
            let mut allowed = feature_names.clone();
            allowed.remove(&f.name);
            let (sql, deps) = self.check_refs(item, "expr", expr, &r, &allowed, "feature", &owner, None, feature_names);
            let body = FeatureBody::Derived { sql, depth: 0 };
            return Some((ResolvedFeature { name: f.name.clone(), description: f.description.clone(), kind: f.kind, body, default_sql, ty, origin }, deps));
        };
        let Some(info) = sources.get(source) else {
            let hint = did_you_mean(source, sources.keys().map(String::as_str))
                .unwrap_or_else(|| format!("sources are: {}", sources.keys().cloned().collect::<Vec<_>>().join(", ")));
            self.err("E020", p.loc(item, "source"), format!("unknown source '{source}' in {owner}"), Some(hint));
            return None;
        };
        let top = top_key(f);
        let keys: Vec<&str> = [("expr", f.expr.is_some()), ("most_frequent", f.most_frequent.is_some()), ("most_frequent_count", f.most_frequent_count.is_some())]
            .into_iter()
            .filter_map(|(k, set)| set.then_some(k))
            .collect();
        if keys.len() > 1 {
            self.err("E003", p.key_loc(item, keys[1]), format!("{owner} has both `{}` and `{}`", keys[0], keys[1]),
                Some("give one of `expr` (an aggregate), `most_frequent` or `most_frequent_count` (a row expression)".into()));
            return None;
        }
        if source != POPULATION_SOURCE && keys.is_empty() {
            self.err("E003", p.loc(item, ""), format!("{owner} reads source '{source}' but has no `expr`"),
                Some("give an aggregate such as `expr: count(*)` or `expr: sum(amount)`".into()));
            return None;
        }
        if let (Some((key, _, _)), true) = (top, source == POPULATION_SOURCE) {
            self.err("E051", p.key_loc(item, key), format!("`{key}` is not allowed on customers features (one row per customer)"),
                Some("use `expr:` for a column of the customer's own row".into()));
            return None;
        }
        let (field, expr_text) = match top {
            Some((key, text, _)) => (key, text.clone()),
            None => ("expr", f.expr.clone().unwrap_or_else(|| f.name.clone())),
        };
        let r = self.render_rule(t, item, field, &expr_text, &owner)?;
        let columns = info.columns.clone();
        // The filter is rendered before the optional check: a template (a macro, a var) may be
        // what names the column.
        let rendered_filter = match &f.filter {
            Some(text) if source != POPULATION_SOURCE => Some((text, self.render_rule(t, item, "filter", text, &owner)?)),
            _ => None,
        };
        let filter_rule = rendered_filter.as_ref().map(|(_, r)| r);
        if f.optional && self.skip_optional(item, source, columns.as_ref(), [Some(&r), filter_rule]) {
            let body = FeatureBody::Column { sql: r.clone() };
            let mut deps = Deps::default();
            deps.features.insert(format!("source:{source}"));
            return Some((ResolvedFeature { name: f.name.clone(), description: f.description.clone(), kind: f.kind, body, default_sql, ty, origin }, deps));
        }
        let what = format!("column of source '{source}'");
        let (sql, deps) = match &columns {
            Some(cols) => self.check_refs(item, field, &expr_text, &r, cols, &what, &owner, None, feature_names),
            None => (r.clone(), Deps::default()),
        };
        if !deps.segments.is_empty() || r.refs().iter().any(|x| matches!(x, TemplateRef::Stat { .. })) {
            self.err("E204", p.loc(item, field), format!("stat() is not allowed in {owner}, which reads source '{source}'"),
                Some("compute the comparison in a derived feature (one without `source`)".into()));
        }
        let mut deps = Deps::default();
        if source == POPULATION_SOURCE {
            for field in ["filter", "window"] {
                if (field == "filter" && f.filter.is_some()) || (field == "window" && f.window.is_some()) {
                    self.err("E051", p.key_loc(item, field), format!("`{field}` is not allowed on customers features (one row per customer)"),
                        Some("remove the key; filters and windows apply to aggregates over other sources".into()));
                }
            }
            deps.features.insert(format!("source:{source}"));
            let body = FeatureBody::Column { sql };
            return Some((ResolvedFeature { name: f.name.clone(), description: f.description.clone(), kind: f.kind, body, default_sql, ty, origin }, deps));
        }
        let filter = rendered_filter.map(|(text, r)| match &columns {
            Some(cols) => self.check_refs(item, "filter", text, &r, cols, &what, &owner, None, feature_names).0,
            None => r.clone(),
        });
        let window = match &f.window {
            // A window may come from a var: window: "{{ var('cart_abandon_days', 30) }}d".
            Some(raw) => match self.render(t, item, "window", raw).map(|r| r.sql) {
                None => None,
                Some(w) => match parse_window(&w) {
                Some(win) => Some(win),
                None => {
                    self.err("E050", p.loc(item, "window"), format!("invalid window '{w}' in {owner}"),
                        Some("write a count and a unit: 30d, 12m, 2y (days, months, years)".into()));
                    None
                }
                },
            },
            None => None,
        };
        if window.is_some() && p.config.sources.get(source).is_some_and(|s| s.time.is_none()) {
            self.err("E050", p.loc(item, "window"), format!("{owner} has a window but source '{source}' has no `time` column"),
                Some(format!("set `time:` on source '{source}' in segmenter.yaml (e.g. time: ordered_at)")));
        }
        if top.is_none() && (filter.is_some() || window.is_some()) && sql.single_call().is_none() {
            self.err("E051", p.loc(item, "expr"), format!("{owner} has a filter or window, so its expr must be one aggregate call"),
                Some("split it: e.g. `sum(amount)` and `count(*)` as two features, and their ratio as a derived feature".into()));
        }
        let top = top.map(|(_, _, t)| t);
        let counts = match top {
            Some(t) => t == Top::Count,
            None => sql.to_string().to_ascii_lowercase().starts_with("count("),
        };
        let default_sql = default_sql.or_else(|| counts.then(|| "0".to_string()));
        deps.features.insert(format!("source:{source}"));
        let body = FeatureBody::Aggregate { source: source.clone(), sql, filter, window, top };
        Some((ResolvedFeature { name: f.name.clone(), description: f.description.clone(), kind: f.kind, body, default_sql, ty, origin }, deps))
    }

    /// Sort features so each comes after the features it uses; report cycles.
    fn order_features(&mut self, features: &mut [ResolvedFeature], deps: &BTreeMap<String, Deps>) -> Vec<String> {
        let mut depth: BTreeMap<String, usize> = BTreeMap::new();
        let names: Vec<String> = features.iter().map(|f| f.name.clone()).collect();
        for name in &names {
            let mut stack = Vec::new();
            if let Err(cycle) = refs::feature_depth(name, deps, &mut depth, &mut stack) {
                let mut members = cycle.clone();
                members.sort();
                members.dedup();
                let already = self.diags.iter().any(|d| {
                    d.code == "E023" && d.message.starts_with("features depend") && members.iter().all(|m| d.message.contains(&format!(" {m} ")) || d.message.ends_with(&format!(" {m}")) || d.message.contains(&format!(": {m} ")))
                });
                if already {
                    continue;
                }
                if let Some(item) = self.project.features.iter().find(|i| i.def.name == cycle[0]) {
                    let loc = self.project.loc(item, "expr");
                    if !self.diags.iter().any(|d| d.code == "E023" && d.loc == loc) {
                        self.err("E023", loc, format!("features depend on each other in a cycle: {}", cycle.join(" -> ")),
                            Some("break the cycle: a feature cannot use itself, directly or through others".into()));
                    }
                }
            }
        }
        for f in features.iter_mut() {
            if let FeatureBody::Derived { depth: d, .. } = &mut f.body {
                *d = depth.get(&f.name).copied().unwrap_or(1).max(1);
            }
        }
        let mut order = names;
        order.sort_by_key(|n| depth.get(n).copied().unwrap_or(0));
        order
    }

    fn segment_rule(
        &mut self,
        item: &Item<SegmentDef>,
        t: &Templates,
        features: &BTreeSet<String>,
        segments: &BTreeSet<String>,
    ) -> Option<(Rule, Deps)> {
        let s = &item.def;
        let owner = format!("segment '{}'", s.name);
        if s.rule.trim().is_empty() {
            // `where: ""` points at the quotes; `where:` with nothing at the key.
            let quoted = self.project.files[item.file].spans.is_quoted(&format!("{}.where", item.path));
            let at = if quoted { self.project.loc(item, "where") } else { self.project.key_loc(item, "where") };
            self.err("E003", at, format!("{owner} has an empty `where`"),
                Some("write a condition over features, e.g. `where: total_spent > 1000`".into()));
            return None;
        }
        let r = self.render_rule(t, item, "where", &s.rule, &owner)?;
        let (sql, mut deps) = self.check_refs(item, "where", &s.rule, &r, features, "feature", &owner, Some(segments), features);
        if let Some(parent) = &s.extends {
            if segments.contains(parent) {
                deps.segments.insert(parent.clone());
            } else {
                let hint = did_you_mean(parent, segments.iter().map(String::as_str));
                self.err("E202", self.project.loc(item, "extends"), format!("{owner} extends unknown segment '{parent}'"), hint);
            }
        }
        Some((sql, deps))
    }

    /// Inline `extends` and `segment()` references; report cycles.
    fn expand_segments(&mut self, rules: &BTreeMap<String, (&Item<SegmentDef>, (Rule, Deps))>) -> Vec<(ResolvedSegment, Deps)> {
        let mut out = Vec::new();
        let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
        for item in &self.project.segments {
            let Some((_, (sql, _))) = rules.get(&item.def.name) else { continue };
            let mut stack = vec![item.def.name.clone()];
            let mut deps = Deps::default();
            match refs::expand_rule(&item.def.name, sql, rules, &mut stack, &mut deps.features) {
                Ok(rule) => {
                    let s = &item.def;
                    let hash = rule_hash(&s.name, &rule);
                    out.push((
                        ResolvedSegment {
                            name: s.name.clone(),
                            description: s.description.clone(),
                            tags: s.tags.clone(),
                            owner: s.owner.clone(),
                            campaign: s.campaign.clone(),
                            priority: s.priority,
                            exclusive: s.exclusive.clone(),
                            rule,
                            origin: origin(&self.project.loc(item, "")),
                            hash,
                        },
                        deps,
                    ));
                }
                Err(cycle) => {
                    // One report per cycle, at its first member.
                    let mut members: Vec<String> = cycle.clone();
                    members.sort();
                    members.dedup();
                    if !reported.insert(members) {
                        continue;
                    }
                    let field = if item.def.extends.is_some() { "extends" } else { "where" };
                    self.err("E023", self.project.loc(item, field), format!("segments refer to each other in a cycle: {}", cycle.join(" -> ")),
                        Some("a segment cannot extend or include itself, directly or through others".into()));
                }
            }
        }
        out
    }

    fn threshold<T>(&mut self, t: &Templates, item: &Item<T>, field: &str, value: &Threshold) -> Option<String> {
        match value {
            Threshold::Number(n) if n.is_finite() => Some(format_number(*n)),
            Threshold::Number(n) => {
                let shown = if n.is_nan() { ".nan" } else if *n > 0.0 { ".inf" } else { "-.inf" };
                self.err("E041", self.project.loc(item, field), format!("threshold '{shown}' is not a finite number"),
                    Some("write a number such as 500 or 1500.50".into()));
                None
            }
            Threshold::Template(text) => {
                let r = self.render(t, item, field, text)?;
                let v = r.sql.trim();
                if v.parse::<f64>().is_ok_and(f64::is_finite) {
                    Some(v.to_string())
                } else {
                    self.err("E041", self.project.loc(item, field), format!("threshold '{text}' renders to '{v}', which is not a number"),
                        Some("thresholds are numbers, or templates such as \"{{ var('gold_spend', 5000) }}\"".into()));
                    None
                }
            }
        }
    }

    fn bounds(
        &mut self,
        t: &Templates,
        item: &Item<TierLadder>,
        base: &str,
        b: &Bounds,
        features: &BTreeSet<String>,
        deps: &mut Deps,
    ) -> Vec<ResolvedThreshold> {
        let mut out = Vec::new();
        for (is_min, map, key) in [(true, &b.min, "min"), (false, &b.max, "max")] {
            for (feature, value) in map {
                let field = format!("{base}.{key}.{feature}");
                if !features.contains(feature) {
                    let hint = did_you_mean(feature, features.iter().map(String::as_str));
                    let loc = self.project.key_loc(item, &field);
                    self.err("E201", loc, format!("unknown feature '{feature}' in tier ladder '{}'", item.def.name), hint);
                    continue;
                }
                deps.features.insert(feature.clone());
                if let Some(v) = self.threshold(t, item, &field, value) {
                    out.push(ResolvedThreshold { feature: feature.clone(), is_min, value: v });
                }
            }
        }
        out
    }

    fn tier(&mut self, item: &Item<TierLadder>, t: &Templates, features: &BTreeSet<String>) -> Option<(ResolvedTier, Deps, Vec<String>)> {
        let p = self.project;
        let ladder = &item.def;
        let mut deps = Deps::default();
        let mut levels = Vec::new();
        if ladder.levels.is_empty() {
            self.err("E042", p.loc(item, ""), format!("tier ladder '{}' has no levels", ladder.name), Some("list levels from best to worst, ending with `else: true`".into()));
            return None;
        }
        let mut seen = BTreeSet::new();
        for (i, level) in ladder.levels.iter().enumerate() {
            let base = format!("levels.{i}");
            if !is_valid_name(&level.name) {
                self.err("E011", p.loc(item, &format!("{base}.name")), format!("invalid level name '{}'", level.name),
                    Some("use lowercase letters, digits and underscores".into()));
            }
            if !seen.insert(level.name.clone()) {
                self.err("E010", p.loc(item, &format!("{base}.name")), format!("duplicate level '{}' in tier ladder '{}'", level.name, ladder.name), None);
            }
            let is_last = i + 1 == ladder.levels.len();
            let has_cond = !level.min.is_empty() || !level.max.is_empty() || !level.any_of.is_empty() || level.when.is_some();
            if level.is_else && !is_last {
                self.err("E042", p.key_loc(item, &format!("{base}.else")), format!("level '{}' has `else: true` but is not the last level", level.name),
                    Some("move the catch-all level to the end: levels after it could never match".into()));
            }
            if level.is_else && has_cond {
                self.err("E042", p.key_loc(item, &format!("{base}.else")), format!("level '{}' has `else: true` and conditions", level.name),
                    Some("the else level takes everyone left; remove its conditions".into()));
            }
            if !level.is_else && !has_cond {
                self.err("E042", p.loc(item, &base), format!("level '{}' has no condition", level.name),
                    Some(if is_last { "mark the last level `else: true`".to_string() } else { "add `min:`, `max:`, `any_of:` or `when:`".to_string() }));
            }
            if is_last && !level.is_else {
                self.err("E042", p.loc(item, &base), format!("the last level of tier ladder '{}' must be `else: true`", ladder.name),
                    Some("every customer needs exactly one level; end the ladder with a catch-all level".into()));
            }
            let all_of = self.bounds(t, item, &base, &Bounds { min: level.min.clone(), max: level.max.clone() }, features, &mut deps);
            let mut any_of = Vec::new();
            for (j, b) in level.any_of.iter().enumerate() {
                any_of.push(self.bounds(t, item, &format!("{base}.any_of.{j}"), b, features, &mut deps));
            }
            let when = match &level.when {
                Some(text) => {
                    let field = format!("{base}.when");
                    let owner = format!("level '{}' of tier ladder '{}'", level.name, ladder.name);
                    let r = self.render_rule(t, item, &field, text, &owner)?;
                    let (sql, d) = self.check_refs(item, &field, text, &r, features, "feature", &owner, None, features);
                    deps.features.extend(d.features);
                    Some(sql)
                }
                None => None,
            };
            levels.push(ResolvedLevel {
                name: level.name.clone(),
                description: level.description.clone(),
                all_of,
                any_of,
                when,
                is_else: level.is_else,
                benefits: level.benefits.clone(),
                origin: origin(&p.loc(item, &base)),
            });
        }
        let tier = ResolvedTier { name: ladder.name.clone(), description: ladder.description.clone(), levels, origin: origin(&p.loc(item, "")) };
        Some((tier, deps, ladder.tags.clone()))
    }

    fn score(&mut self, item: &Item<ScoreDef>, t: &Templates, features: &BTreeSet<String>) -> Option<(ResolvedScore, Deps)> {
        let p = self.project;
        let s = &item.def;
        let owner = format!("score '{}'", s.name);
        let mut deps = Deps::default();
        if !(2..=100).contains(&s.buckets) {
            self.err("E060", p.loc(item, "buckets"), format!("{owner} has {} buckets", s.buckets), Some("use between 2 and 100 buckets (5 for RFM quintiles)".into()));
        }
        if s.parts.is_empty() {
            self.err("E060", p.loc(item, ""), format!("{owner} has no parts"), Some("add parts such as `- { name: r, feature: recency_days, direction: lower_is_better }`".into()));
        }
        let mut part_names = BTreeSet::new();
        let mut parts = Vec::new();
        for (i, part) in s.parts.iter().enumerate() {
            if !is_valid_name(&part.name) || !part_names.insert(part.name.clone()) {
                self.err("E011", p.loc(item, &format!("parts.{i}.name")), format!("invalid or duplicate part name '{}' in {owner}", part.name), None);
            }
            if features.contains(&part.feature) {
                deps.features.insert(part.feature.clone());
            } else {
                let hint = did_you_mean(&part.feature, features.iter().map(String::as_str));
                self.err("E201", p.loc(item, &format!("parts.{i}.feature")), format!("unknown feature '{}' in {owner}", part.feature), hint);
            }
            parts.push((part.name.clone(), part.feature.clone(), part.direction));
        }
        let population = match &s.population {
            Some(text) => {
                let r = self.render_rule(t, item, "population", text, &owner)?;
                let (sql, d) = self.check_refs(item, "population", text, &r, features, "feature", &owner, None, features);
                deps.features.extend(d.features);
                Some(sql)
            }
            None => None,
        };
        let mut labels = Vec::new();
        for (i, l) in s.map.iter().enumerate() {
            let field = format!("map.{i}.when");
            let label_owner = format!("label '{}' of {owner}", l.name);
            let r = self.render_rule(t, item, &field, &l.when, &label_owner)?;
            if !r.refs().is_empty() {
                self.err("E204", p.loc(item, &field), format!("stat() and segment() are not allowed in {label_owner}"),
                    Some("label conditions compare the score parts, e.g. `r >= 4 AND f >= 4`".into()));
            }
            let (sql, _) = self.check_refs(item, &field, &l.when, &r, &part_names, "score part", &label_owner, None, features);
            labels.push(ResolvedLabel { name: l.name.clone(), when: sql, description: l.description.clone(), campaign: l.campaign.clone() });
        }
        let score = ResolvedScore {
            name: s.name.clone(),
            description: s.description.clone(),
            buckets: s.buckets,
            population,
            parts,
            labels,
            tags: s.tags.clone(),
            origin: origin(&p.loc(item, "")),
        };
        Some((score, deps))
    }
}

/// Items with a name, for lookups by name.
trait Named {
    fn name(&self) -> &str;
}
impl Named for SegmentDef {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for TierLadder {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for ScoreDef {
    fn name(&self) -> &str {
        &self.name
    }
}

/// Source `name` as the compiler reads it: its path from the project root, renames and casts.
fn resolved_source(p: &Project, name: &str, def: &SourceDef) -> ResolvedSource {
    ResolvedSource {
        name: name.to_string(),
        path: match def.read_format() {
            SourceFormat::Postgres => crate::postgres::relation(def),
            _ => crate::project::resolve(&p.root, &def.path).to_string_lossy().replace('\\', "/"),
        },
        format: def.read_format(),
        key: def.key.clone(),
        time: def.time.clone(),
        rename: def.rename.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
        types: def.types.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
        csv: def.csv.clone(),
        database: (def.read_format() == SourceFormat::Postgres).then(|| crate::postgres::describe(def)),
        absent: Vec::new(),
    }
}

fn origin(loc: &Loc) -> String {
    format!("{}:{}", loc.file, loc.line)
}

fn join_names(names: &BTreeSet<String>) -> String {
    let v: Vec<&str> = names.iter().map(String::as_str).filter(|n| !n.starts_with("source:")).collect();
    if v.len() > 12 {
        format!("{}, ... ({} in all)", v[..12].join(", "), v.len())
    } else {
        v.join(", ")
    }
}

/// Byte column (0-based) of `word` as a whole word in `line`.
fn find_word(line: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut start = 0;
    while let Some(i) = line[start..].find(word) {
        let at = start + i;
        let before_ok = line[..at].chars().next_back().is_none_or(|c| !is_ident(c));
        let after_ok = line[at + word.len()..].chars().next().is_none_or(|c| !is_ident(c));
        if before_ok && after_ok {
            return Some(at);
        }
        start = at + word.len();
    }
    None
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            (1..=12).contains(&m) && d >= 1 && d <= days[(m - 1) as usize] && y >= 1
        }
        _ => false,
    }
}

/// The `most_frequent` / `most_frequent_count` key a feature uses instead of `expr`, if any.
fn top_key(f: &FeatureDef) -> Option<(&'static str, &String, Top)> {
    match (&f.most_frequent, &f.most_frequent_count) {
        (Some(e), _) => Some(("most_frequent", e, Top::Value)),
        (None, Some(e)) => Some(("most_frequent_count", e, Top::Count)),
        (None, None) => None,
    }
}

/// Parse `30d`, `12m`, `2y`, `90 days`, `6 months`, `1 year`.
pub fn parse_window(s: &str) -> Option<Window> {
    let s = s.trim().to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let count: u32 = s[..split].parse().ok().filter(|n| *n > 0)?;
    let unit = match s[split..].trim() {
        "d" | "day" | "days" => WindowUnit::Day,
        "m" | "month" | "months" => WindowUnit::Month,
        "y" | "year" | "years" => WindowUnit::Year,
        _ => return None,
    };
    Some(Window { count, unit })
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A YAML scalar as a SQL literal.
fn yaml_literal(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::Null => Some("NULL".into()),
        serde_yaml::Value::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.into()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::String(s) => Some(quote_string(s)),
        _ => None,
    }
}

/// First 12 hex digits of the SHA-256 of `text`.
/// Short hash of a definition: its name and its rule as a tree (printed), so that reformatting
/// a rule or editing a comment in it does not count as a change.
pub fn rule_hash(name: &str, rule: &Rule) -> String {
    short_hash(&format!("{name}\n{rule}"))
}

pub fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_windows_dates() {
        assert!(is_valid_name("clv_high_2"));
        assert!(!is_valid_name("Big-Spenders"));
        assert_eq!(parse_window("365d"), Some(Window { count: 365, unit: WindowUnit::Day }));
        assert_eq!(parse_window("12 months"), Some(Window { count: 12, unit: WindowUnit::Month }));
        assert_eq!(parse_window("0d"), None);
        assert_eq!(parse_window("soon"), None);
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2026-02-29"));
        assert!(!is_iso_date("2026-6-30"));
    }
}
