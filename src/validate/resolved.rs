//! The checked, rendered definitions that the compiler turns into SQL (engine-neutral data).

use crate::compile::template::StatFunc;
use crate::compile::tree::Rule;
use crate::project::model::{Direction, FeatureKind, SourceFormat};

/// Everything needed to compile a run, with all references checked.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    /// Run date, `YYYY-MM-DD`.
    pub as_of: String,
    /// Sources used by the selected definitions; `customers` (the population) first.
    pub sources: Vec<ResolvedSource>,
    /// Features in dependency order.
    pub features: Vec<ResolvedFeature>,
    pub segments: Vec<ResolvedSegment>,
    pub tiers: Vec<ResolvedTier>,
    pub scores: Vec<ResolvedScore>,
    /// Population statistics used by expressions (each `stat()` call of a rule is one of them);
    /// the compiler computes `stats[N]` as `stat_N` where derived features need it first.
    pub stats: Vec<StatUse>,
    /// Definitions left out because a source they need has no data (each also a W010 warning).
    pub skipped: Vec<Skipped>,
    /// Exports left out because their channel's consent data is missing (each a W013 warning).
    pub skipped_exports: Vec<String>,
    /// Models fitted before the plan runs; their features read [`crate::compile::MODELS_TABLE`].
    pub models: Vec<ResolvedModel>,
    /// The personal data among source columns and features (exports and `output.postgres`
    /// leave it out unless allowed).
    pub pii: super::pii::PersonalData,
    /// Campaign measurement (`campaigns:`), when the project asks for it and its data exists.
    pub campaigns: Option<ResolvedCampaigns>,
}

/// A model to fit in the run (see [`crate::project::model::ModelDef`]).
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub name: String,
    pub kind: crate::project::model::ModelKind,
    /// The transactions, renamed and cast as declared.
    pub source: ResolvedSource,
    /// The order time column.
    pub time: String,
    /// The order value column (Gamma-Gamma).
    pub value: Option<String>,
    pub unit: crate::project::model::ModelUnit,
    /// Last day of the fitted data, `YYYY-MM-DD`.
    pub calibration_end: String,
    pub horizons: Vec<u32>,
    pub min_repeat_buyers: u32,
    /// Monthly discount rate of predicted CLV.
    pub discount_rate: f64,
    /// L2 penalty on the parameters of the fit (0: plain maximum likelihood).
    pub penalizer: f64,
    /// `file:line` of the definition.
    pub origin: String,
}

/// A definition that was not computed because a source it needs has no data.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Skipped {
    /// `segment`, `tier ladder` or `score`.
    pub kind: String,
    pub name: String,
    /// The sources without data.
    pub sources: Vec<String>,
    /// The `source.column`s that optional features it needs could not read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
}

/// A population statistic a rule reads: the node `stat('avg', 'order_count')` of its tree.
#[derive(Debug, Clone, PartialEq)]
pub struct StatUse {
    pub func: StatFunc,
    pub feature: String,
}

#[derive(Debug, Clone)]
pub struct ResolvedSource {
    pub name: String,
    /// Path or glob as DuckDB should open it.
    pub path: String,
    pub format: SourceFormat,
    pub key: String,
    pub time: Option<String>,
    pub rename: Vec<(String, String)>,
    /// (column, SQL type) casts applied after renames.
    pub types: Vec<(String, String)>,
    /// The CSV dialect, for CSV sources.
    pub csv: Option<crate::project::model::CsvOptions>,
    /// Where a database source's rows come from, for messages (`postgres table public.orders
    /// on connection 'warehouse'`).
    pub database: Option<String>,
    /// Columns the library reads that the data lacks, read as this constant (see
    /// [`crate::validate::LIBRARY_COLUMN_DEFAULTS`]).
    pub absent: Vec<(String, bool)>,
}

/// A time window ending at `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: u32,
    pub unit: WindowUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowUnit {
    Day,
    Month,
    Year,
}

impl WindowUnit {
    pub fn sql(self) -> &'static str {
        match self {
            WindowUnit::Day => "DAY",
            WindowUnit::Month => "MONTH",
            WindowUnit::Year => "YEAR",
        }
    }
}

#[derive(Debug, Clone)]
pub enum FeatureBody {
    /// A row expression over the customers source (one row per customer).
    Column { sql: Rule },
    /// An aggregate over another source, grouped by its key. With `top`, `sql` is a row
    /// expression whose most frequent value (or that value's row count) is the feature.
    Aggregate { source: String, sql: Rule, filter: Option<Rule>, window: Option<Window>, top: Option<Top> },
    /// An expression over other features; `depth` 1 uses only source features.
    Derived { sql: Rule, depth: usize },
    /// A prediction of model `model`: the column of the same name of the models table.
    Model { model: String },
}

/// What a `most_frequent` / `most_frequent_count` feature keeps of its expression's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// The most frequent value (the smallest on a tie).
    Value,
    /// How many rows have it.
    Count,
}

#[derive(Debug, Clone)]
pub struct ResolvedFeature {
    pub name: String,
    pub description: Option<String>,
    pub kind: FeatureKind,
    pub body: FeatureBody,
    /// SQL for customers without rows in the source (`0` for counts).
    pub default_sql: Option<String>,
    /// The declared `type:`; the feature's value is cast to it.
    pub ty: Option<String>,
    /// `file:line` of the definition, for SQL comments.
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct ResolvedSegment {
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub campaign: Option<String>,
    /// Published in the catalog so campaign tools can order overlapping audiences.
    pub priority: Option<i64>,
    /// The exclusive group (its higher-priority members' rules are already excluded in `rule`).
    pub exclusive: Option<String>,
    /// Boolean SQL over features, with `extends` and `segment()` inlined.
    pub rule: Rule,
    pub origin: String,
    /// Short hash of the definition (name + rule), to see in the catalog when a rule changed.
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct ResolvedTier {
    pub name: String,
    pub description: Option<String>,
    pub levels: Vec<ResolvedLevel>,
    pub origin: String,
}

/// A threshold on one feature: `feature >= value` (min) or `feature <= value` (max).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedThreshold {
    pub feature: String,
    pub is_min: bool,
    /// Numeric SQL literal.
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct ResolvedLevel {
    pub name: String,
    pub description: Option<String>,
    /// All-of thresholds.
    pub all_of: Vec<ResolvedThreshold>,
    /// Alternatives: each inner list is all-of; at least one must hold (when non-empty).
    pub any_of: Vec<Vec<ResolvedThreshold>>,
    pub when: Option<Rule>,
    pub is_else: bool,
    pub benefits: Vec<String>,
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct ResolvedScore {
    pub name: String,
    pub description: Option<String>,
    pub buckets: u32,
    pub population: Option<Rule>,
    pub parts: Vec<(String, String, Direction)>,
    /// (label, condition over part names, campaign, description)
    pub labels: Vec<ResolvedLabel>,
    pub tags: Vec<String>,
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct ResolvedLabel {
    pub name: String,
    pub when: Rule,
    pub description: Option<String>,
    pub campaign: Option<String>,
}

impl ResolvedScore {
    /// Name of the segment a map label becomes: `<score>_<label>`.
    pub fn label_segment(&self, label: &str) -> String {
        format!("{}_{}", self.name, label)
    }
}

/// `campaigns:` resolved: where the messages are, and where their revenue comes from.
#[derive(Debug, Clone)]
pub struct ResolvedCampaigns {
    pub source: ResolvedSource,
    /// Whether the messages carry a `revenue` column; otherwise `orders` attributes it.
    pub has_revenue: bool,
    /// Whether the messages carry a `holdout` column (read as false when absent).
    pub has_holdout: bool,
    pub orders: Option<ResolvedSource>,
    pub attribution_days: u32,
    pub min_group_size: u32,
}
