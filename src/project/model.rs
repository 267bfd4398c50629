//! The typed model of a project: the project file and the definition files.
//!
//! Every struct denies unknown fields, so a misspelled key is an error with a location
//! (and a did-you-mean hint added by the loader) instead of being silently ignored.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `segmenter.yaml`: sources, vars, output and engine settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    pub name: String,
    pub sources: BTreeMap<String, SourceDef>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    pub output: OutputConfig,
    #[serde(default)]
    pub settings: Settings,
    /// Opt-outs per channel, applied to every export that names a channel.
    #[serde(default)]
    pub consent: Option<ConsentConfig>,
    /// Columns that are personal data: never exported unless an export sets `allow_pii: true`.
    #[serde(default = "default_pii")]
    pub pii: Vec<String>,
    /// Named environments (`--target NAME` or `SEGMENTER_TARGET`), each overriding where data
    /// comes from and goes to, vars and engine settings: `{ dev: {...}, prod: {...} }`.
    #[serde(default)]
    pub targets: BTreeMap<String, TargetDef>,
    /// The engine the definitions are written for: `duckdb` (the default) or `spark`. With
    /// `spark`, `validate` reports every construct of a rule that Spark cannot run.
    #[serde(default)]
    pub engine: Engine,
    /// Where `run --engine spark` computes and publishes.
    #[serde(default)]
    pub spark: SparkConfig,
    /// Databases read from (`format: postgres` sources) or published to (`output.postgres`).
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionDef>,
    /// Campaign measurement: each run writes `campaign_results` (response, holdout lift and
    /// revenue per campaign and per segment and tier level on the send date).
    #[serde(default)]
    pub campaigns: Option<CampaignsConfig>,
    /// How `segmenter report` presents the results.
    #[serde(default)]
    pub report: ReportConfig,
}

/// Presentation settings of `segmenter report` (they change no table).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// ISO 4217 code of the money features (`USD`, `EUR`, ...): the report shows money values as
    /// `$1,234.56` (USD, EUR, GBP, JPY get their symbol; other codes are written after the number).
    #[serde(default)]
    pub currency: Option<String>,
}

/// The Spark Connect server and the database a Spark run publishes into.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SparkConfig {
    /// Spark Connect URL such as `sc://spark.example.com:15002` (`--spark-url` or
    /// `SEGMENTER_SPARK_URL` override it; `scripts/spark-connect.sh start` prints a local one).
    #[serde(default)]
    pub url: Option<String>,
    /// The database (schema) of the catalog the output tables are written to; created when missing.
    #[serde(default = "default_spark_database")]
    pub database: String,
    /// Storage format of the output tables.
    #[serde(default)]
    pub format: SparkTableFormat,
}

impl Default for SparkConfig {
    fn default() -> Self {
        SparkConfig { url: None, database: default_spark_database(), format: SparkTableFormat::default() }
    }
}

fn default_spark_database() -> String {
    "segmenter".into()
}

/// How Spark stores a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SparkTableFormat {
    #[default]
    Parquet,
    Orc,
}

impl SparkTableFormat {
    pub fn name(self) -> &'static str {
        match self {
            SparkTableFormat::Parquet => "parquet",
            SparkTableFormat::Orc => "orc",
        }
    }
}

/// The SQL engine that computes a project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Embedded DuckDB over the project's files.
    #[default]
    Duckdb,
    /// Apache Spark (through Spark Connect).
    Spark,
}

/// What a target overrides; anything left out keeps the project's value.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetDef {
    /// The output database.
    #[serde(default)]
    pub database: Option<String>,
    /// The exports folder.
    #[serde(default)]
    pub exports_dir: Option<String>,
    /// Data file paths by source name: `{ orders: { path: /data/prod/orders/*.parquet } }`.
    #[serde(default)]
    pub sources: BTreeMap<String, TargetSource>,
    /// Vars set on top of the project's.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    pub threads: Option<u32>,
    #[serde(default)]
    pub memory_limit: Option<String>,
}

/// A source's data file in a target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSource {
    pub path: String,
}

/// One input table: a file or glob read by DuckDB.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    /// File path or glob, relative to the project root (not for `format: postgres`).
    #[serde(default)]
    pub path: String,
    /// `csv`, `parquet` or `json`; inferred from the extension when absent.
    #[serde(default)]
    pub format: Option<SourceFormat>,
    /// Column linking each row to a customer.
    #[serde(default = "default_key")]
    pub key: String,
    /// Event-time column: rows after `as_of` are ignored, and feature windows count back from `as_of` on it.
    #[serde(default)]
    pub time: Option<String>,
    /// Renames from the file's column names to canonical names: `{ amt: amount }`.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Column types to cast to after renaming: `{ amount: "DECIMAL(12,2)" }` (money is DECIMAL).
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// An optional source may be absent; definitions needing it are skipped with a warning.
    #[serde(default)]
    pub optional: bool,
    /// How a CSV file is written, passed to DuckDB's `read_csv` (only for CSV sources).
    #[serde(default)]
    pub csv: Option<CsvOptions>,
    /// `format: postgres`: the name of a connection under `connections:`.
    #[serde(default)]
    pub connection: Option<String>,
    /// `format: postgres`: the table (`schema.table`, or `table` in schema `public`).
    #[serde(default)]
    pub table: Option<String>,
    /// `format: postgres`: a query run by PostgreSQL instead of a table (read-only).
    #[serde(default)]
    pub query: Option<String>,
}

/// A database the project reads from or publishes to; its DSN comes from the environment, so
/// that no password is written into the project.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDef {
    /// The kind of database: `postgres` (the only one so far).
    #[serde(rename = "type", default)]
    pub kind: ConnectionKind,
    /// The environment variable that holds the libpq DSN, e.g. `SEGMENTER_PG_DSN` with
    /// `host=db.example.com port=5432 dbname=shop user=segmenter password=...` or a
    /// `postgresql://` URI.
    pub dsn_env: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    #[default]
    Postgres,
}

/// Publish the output tables to a PostgreSQL schema after each run (see docs/postgres.md).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresOutput {
    /// A connection under `connections:` whose role may create schemas and tables.
    pub connection: String,
    /// The schema the tables are published into (created when missing).
    pub schema: String,
    /// Publish the personal data of `customer_features` too: the `pii` columns, their renamed
    /// names and the features that read them (default false: left out).
    #[serde(default)]
    pub allow_pii: bool,
}

/// A CSV dialect as shops export it; every key is optional (DuckDB detects what is not given).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// Field separator, one character: `;`, `|`, `\t`.
    #[serde(default)]
    pub delim: Option<String>,
    /// Whether the first line names the columns.
    #[serde(default)]
    pub header: Option<bool>,
    /// Quote character, one character.
    #[serde(default)]
    pub quote: Option<String>,
    /// Escape character inside quotes, one character.
    #[serde(default)]
    pub escape: Option<String>,
    /// Decimal separator of numbers: `.` or `,` (`682,64`).
    #[serde(default)]
    pub decimal_separator: Option<String>,
    /// strptime format of dates, e.g. `%d/%m/%Y`.
    #[serde(default)]
    pub dateformat: Option<String>,
    /// strptime format of timestamps, e.g. `%d/%m/%Y %H:%M`.
    #[serde(default)]
    pub timestampformat: Option<String>,
    /// Text encoding: `utf-8` (default), `utf-16` or `latin-1`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Text that stands for a missing value, e.g. `NA`.
    #[serde(default)]
    pub nullstr: Option<String>,
}

impl CsvOptions {
    /// Each given option as (DuckDB `read_csv` parameter, value), values as written.
    pub fn pairs(&self) -> Vec<(&'static str, CsvValue<'_>)> {
        let mut out = Vec::new();
        let texts = [
            ("delim", &self.delim),
            ("quote", &self.quote),
            ("escape", &self.escape),
            ("decimal_separator", &self.decimal_separator),
            ("dateformat", &self.dateformat),
            ("timestampformat", &self.timestampformat),
            ("encoding", &self.encoding),
            ("nullstr", &self.nullstr),
        ];
        for (key, value) in texts {
            if let Some(v) = value {
                out.push((key, CsvValue::Text(v)));
            }
        }
        if let Some(h) = self.header {
            out.push(("header", CsvValue::Bool(h)));
        }
        out
    }

    /// What is wrong with the options (the key and why), if anything.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (key, value) in [("delim", &self.delim), ("quote", &self.quote), ("escape", &self.escape)] {
            if let Some(v) = value.as_deref() {
                if v.chars().count() != 1 && v != "\\t" {
                    out.push((key, format!("`{key}` must be one character (or \\t), not '{v}'")));
                }
            }
        }
        if let Some(v) = self.decimal_separator.as_deref() {
            if v != "." && v != "," {
                out.push(("decimal_separator", format!("`decimal_separator` must be '.' or ',', not '{v}'")));
            }
        }
        if let Some(v) = self.encoding.as_deref() {
            if !["utf-8", "utf-16", "latin-1"].contains(&v.to_ascii_lowercase().as_str()) {
                out.push(("encoding", format!("`encoding` must be utf-8, utf-16 or latin-1, not '{v}'")));
            }
        }
        out
    }
}

/// A `read_csv` option's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CsvValue<'a> {
    Text(&'a str),
    Bool(bool),
}

impl SourceDef {
    /// The declared format, else the one the path's extension tells (`None` when neither does).
    pub fn known_format(&self) -> Option<SourceFormat> {
        self.format.or_else(|| SourceFormat::from_path(&self.path))
    }

    /// The format to read the source with: as known, else CSV (validation reports an unknown
    /// one, E026).
    pub fn read_format(&self) -> SourceFormat {
        self.known_format().unwrap_or(SourceFormat::Csv)
    }

    /// True when `path` is a glob (`data/orders_*.parquet`) rather than one file.
    pub fn is_glob(&self) -> bool {
        self.path.contains(['*', '?', '['])
    }
}

fn string_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn default_key() -> String {
    "customer_id".to_string()
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Csv,
    Parquet,
    Json,
    /// A table or query of a PostgreSQL database named under `connections:`.
    Postgres,
    /// A table in the session (fixture tests load their `given` rows into one).
    #[serde(skip)]
    Table,
}

impl SourceFormat {
    /// The name written in `format:`.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::Parquet => "parquet",
            SourceFormat::Json => "json",
            SourceFormat::Table => "table",
            SourceFormat::Postgres => "postgres",
        }
    }

    /// Whether the source is read from files (not a database's table).
    pub fn is_files(self) -> bool {
        matches!(self, SourceFormat::Csv | SourceFormat::Parquet | SourceFormat::Json)
    }

    /// Format by file extension (`.csv`, `.tsv`, `.parquet`, `.json`, `.jsonl`, `.ndjson`, optionally `.gz`).
    pub fn from_path(path: &str) -> Option<SourceFormat> {
        let p = path.to_ascii_lowercase();
        let p = p.strip_suffix(".gz").unwrap_or(&p);
        if p.ends_with(".csv") || p.ends_with(".tsv") || p.ends_with(".txt") {
            Some(SourceFormat::Csv)
        } else if p.ends_with(".parquet") || p.ends_with(".pq") {
            Some(SourceFormat::Parquet)
        } else if p.ends_with(".json") || p.ends_with(".jsonl") || p.ends_with(".ndjson") {
            Some(SourceFormat::Json)
        } else {
            None
        }
    }
}

/// Where results go.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// DuckDB database file, relative to the project root.
    #[serde(default = "default_database")]
    pub database: String,
    /// Folder for export files; each run writes into `<exports_dir>/<as_of>/`.
    #[serde(default = "default_exports_dir")]
    pub exports_dir: String,
    #[serde(default)]
    pub exports: Vec<ExportDef>,
    /// Keep in `segment_members_history` and `tier_history` only the dates within this many days
    /// before each run's as_of (older dates are deleted by the run). Default: keep every date.
    #[serde(default, deserialize_with = "days")]
    pub history_days: Option<std::num::NonZeroU32>,
    /// Also publish the tables to PostgreSQL, where a CRM reads them.
    #[serde(default)]
    pub postgres: Option<PostgresOutput>,
}

/// A whole number of days, at least 1 (a plain message instead of serde's "nonzero u32"; raised
/// while the scalar is read, so the error points at it).
fn days<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<std::num::NonZeroU32>, D::Error> {
    use serde::de::{Error, Unexpected, Visitor};
    struct Days;
    impl<'de> Visitor<'de> for Days {
        type Value = Option<std::num::NonZeroU32>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number of days, at least 1")
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
            u32::try_from(v).ok().and_then(std::num::NonZeroU32::new).map(Some).ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self)).and_then(|v| self.visit_u64(v))
        }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Days)
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig { database: default_database(), exports_dir: default_exports_dir(), exports: Vec::new(), history_days: None, postgres: None }
    }
}

fn default_exports_dir() -> String {
    "out/exports".to_string()
}

/// One export: segment members written as Parquet or CSV after each successful run.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportDef {
    pub name: String,
    #[serde(default)]
    pub format: ExportFormat,
    #[serde(default)]
    pub layout: ExportLayout,
    /// Columns: customer_id, segment, features, or columns of the customers source.
    #[serde(default = "default_export_columns")]
    pub columns: Vec<String>,
    /// Only these segments (names or tag:NAME); default all.
    #[serde(default)]
    pub segments: Vec<String>,
    /// Contact channel; customers opted out of it (consent source) are left out.
    #[serde(default)]
    pub channel: Option<String>,
    /// Allow PII columns (see `pii:` in the project file) in this export.
    #[serde(default)]
    pub allow_pii: bool,
}

fn default_export_columns() -> Vec<String> {
    vec!["customer_id".to_string(), "segment".to_string()]
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Parquet,
    Csv,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExportLayout {
    /// One file with (customer_id, segment, ...) rows.
    #[default]
    Long,
    /// One file per segment.
    PerSegment,
}

/// The contact channels an export may name and the consent data may record.
pub const CHANNELS: &[&str] = &["email", "sms", "push", "phone", "post", "whatsapp", "in_app"];

/// A channel as written in YAML or in the consent data, compared trimmed and in lower case.
pub fn normalize_channel(channel: &str) -> String {
    channel.trim().to_lowercase()
}

/// Where campaign messages are recorded and how their effect is measured.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignsConfig {
    /// The source with one row per message (or held-out customer) and campaign: columns
    /// `campaign`, `opened`, `clicked`, `converted`, optional `holdout` and `revenue`; its
    /// `time` column is the send time. Default `campaign_events`.
    #[serde(default = "default_campaigns_source")]
    pub source: String,
    /// Without a `revenue` column, a send's revenue is the customer's `amount` in the orders
    /// source within this many days from the send (default 7).
    #[serde(default = "default_attribution_days")]
    pub attribution_days: u32,
    /// The orders source that attribution reads (default `orders`).
    #[serde(default = "default_orders_source")]
    pub orders_source: String,
    /// Fewest sends in each of the treated and holdout groups before a lift is stated
    /// (default 100); smaller groups are marked `too small`.
    #[serde(default = "default_min_group_size")]
    pub min_group_size: u32,
}

fn default_campaigns_source() -> String {
    "campaign_events".into()
}

fn default_attribution_days() -> u32 {
    7
}

fn default_orders_source() -> String {
    "orders".into()
}

fn default_min_group_size() -> u32 {
    100
}

/// Where opt-outs are recorded: a source with one row per customer and channel.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfig {
    #[serde(default = "default_consent_source")]
    pub source: String,
    #[serde(default = "default_channel_column")]
    pub channel_column: String,
    #[serde(default = "default_opted_out_column")]
    pub opted_out_column: String,
    /// Whether a customer without any consent row for a channel may be contacted on it:
    /// `not_contactable` (the default: consent must be recorded) or `contactable`.
    #[serde(default)]
    pub without_row: WithoutRow,
}

/// What the absence of consent data for a customer means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithoutRow {
    #[default]
    NotContactable,
    Contactable,
}

fn default_consent_source() -> String {
    "consent".to_string()
}
fn default_channel_column() -> String {
    "channel".to_string()
}
fn default_opted_out_column() -> String {
    "opted_out".to_string()
}

fn default_pii() -> Vec<String> {
    vec!["email".to_string(), "phone".to_string()]
}

fn default_database() -> String {
    "out/segments.duckdb".to_string()
}

/// Engine settings; command-line flags override them.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub threads: Option<u32>,
    /// Memory budget of the process such as `4GB`; DuckDB gets 85% of it for its buffers.
    #[serde(default)]
    pub memory_limit: Option<String>,
    /// Block the publish when a source has this many percent fewer rows than at the last
    /// successful run (default 50).
    #[serde(default)]
    pub max_row_drop_pct: Option<f64>,
    /// Folder DuckDB loads its extensions from (relative to the project root), laid out as
    /// `v1.5.5/linux_amd64/postgres_scanner.duckdb_extension`; `SEGMENTER_EXTENSION_DIR`
    /// overrides it. Without either, DuckDB's own (`~/.duckdb/extensions`), installing the
    /// extension from DuckDB's repository when it is missing.
    #[serde(default)]
    pub extension_directory: Option<String>,
}

/// A file under `segments/`: any mix of features, segments, tiers and scores.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionFile {
    #[serde(default)]
    pub features: Vec<FeatureDef>,
    #[serde(default)]
    pub segments: Vec<SegmentDef>,
    #[serde(default)]
    pub tiers: Vec<TierLadder>,
    #[serde(default)]
    pub scores: Vec<ScoreDef>,
    /// Fixture tests: given small rows per source, expected members, tiers and scores.
    #[serde(default)]
    pub tests: Vec<FixtureTest>,
    /// Checks on the real data of the last run (sizes, shares, overlaps, one tier each).
    #[serde(default)]
    pub assertions: Vec<Assertion>,
    /// Probabilistic models fitted in each run; their predictions are features.
    #[serde(default)]
    pub models: Vec<ModelDef>,
}

/// A model fitted by maximum likelihood in each run on a source of transactions. Its
/// predictions are features rules can use: `p_alive` and `expected_purchases_<N>d` (BG/NBD),
/// `expected_avg_value` and, with a BG/NBD model, `predicted_clv_<N>d` (Gamma-Gamma).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub kind: ModelKind,
    /// The transactions: a source with one row per order (several orders on one day are one
    /// purchase).
    pub source: String,
    /// The order time column (default: the source's `time`).
    #[serde(default)]
    pub time: Option<String>,
    /// The order value column (Gamma-Gamma only), e.g. `amount`.
    #[serde(default)]
    pub value: Option<String>,
    /// Time unit of the model's recency and age: `week` (default) or `day`.
    #[serde(default)]
    pub unit: ModelUnit,
    /// Last day of the data the model is fitted on, `YYYY-MM-DD` (default: as_of).
    #[serde(default)]
    pub calibration_end: Option<String>,
    /// Days ahead of each `expected_purchases_<N>d` / `predicted_clv_<N>d` feature.
    #[serde(default = "default_horizons")]
    pub horizons: Vec<u32>,
    /// Fewest repeat buyers to fit on; with fewer the model's features are NULL (with a warning).
    #[serde(default = "default_min_repeat_buyers")]
    pub min_repeat_buyers: u32,
    /// Monthly discount rate of `predicted_clv_<N>d` (Gamma-Gamma), e.g. 0.01.
    #[serde(default)]
    pub discount_rate: Option<f64>,
    /// L2 penalty on the parameters (as `penalizer_coef` in Python's `lifetimes`): 0 (default)
    /// is plain maximum likelihood; 0.001 keeps a fit finite on data with hardly any dropout.
    #[serde(default)]
    pub penalizer: Option<f64>,
}

fn default_horizons() -> Vec<u32> {
    vec![90, 365]
}

fn default_min_repeat_buyers() -> u32 {
    20
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// BG/NBD (Fader, Hardie and Lee 2005): repeat purchases and dropout.
    Bgnbd,
    /// Gamma-Gamma (Fader and Hardie 2013): value per purchase.
    GammaGamma,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelUnit {
    Day,
    #[default]
    Week,
}

impl ModelUnit {
    pub fn days(self) -> f64 {
        match self {
            ModelUnit::Day => 1.0,
            ModelUnit::Week => 7.0,
        }
    }
}

/// `given` rows per source (replacing the project's data) and what must come out.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixtureTest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Run date for this test (default: the project's as_of).
    #[serde(default)]
    pub as_of: Option<String>,
    /// Rows per source, columns by their canonical names; sources not given are empty.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<BTreeMap<String, serde_json::Value>>>")]
    pub given: BTreeMap<String, Vec<BTreeMap<String, serde_yaml::Value>>>,
    pub expect: Vec<Expectation>,
}

/// One expected outcome of a fixture test.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A segment (also score labels such as rfm_champions).
    #[serde(default)]
    pub segment: Option<String>,
    /// Exactly these customers are members.
    #[serde(default)]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub members: Option<Vec<serde_yaml::Value>>,
    /// These customers are members (others may be too).
    #[serde(default)]
    #[schemars(with = "Vec<serde_json::Value>")]
    pub includes: Vec<serde_yaml::Value>,
    /// These customers are not members.
    #[serde(default)]
    #[schemars(with = "Vec<serde_json::Value>")]
    pub excludes: Vec<serde_yaml::Value>,
    /// A tier ladder; with `customer` and `level`.
    #[serde(default)]
    pub ladder: Option<String>,
    /// A score; with `customer` and `value` (e.g. "545").
    #[serde(default)]
    pub score: Option<String>,
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub customer: Option<serde_yaml::Value>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AssertSeverity {
    #[default]
    Error,
    Warn,
}

/// A check on the published results of the last run.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    pub name: String,
    #[serde(default)]
    pub severity: AssertSeverity,
    /// The segment checked by size/share bounds and not_empty.
    #[serde(default)]
    pub segment: Option<String>,
    #[serde(default)]
    pub not_empty: bool,
    #[serde(default)]
    pub min_size: Option<i64>,
    #[serde(default)]
    pub max_size: Option<i64>,
    /// Share of all customers, 0..1.
    #[serde(default)]
    pub min_share: Option<f64>,
    #[serde(default)]
    pub max_share: Option<f64>,
    /// Every customer has exactly one level of this ladder.
    #[serde(default)]
    pub one_level_per_customer: Option<String>,
    /// Two segments whose overlap (share of the smaller) must stay at or below `max_overlap`.
    #[serde(default)]
    pub overlap: Vec<String>,
    #[serde(default)]
    pub max_overlap: Option<f64>,
}

/// How a feature's value is known: declared by the customer, derived from behaviour, or inferred; reports show it.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// Stated by the customer or recorded as-is (age, country).
    Declared,
    /// Computed from behaviour (order count, spend).
    #[default]
    Derived,
    /// Estimated or predicted (churn risk, interests from behaviour).
    Inferred,
}

impl FeatureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureKind::Declared => "declared",
            FeatureKind::Derived => "derived",
            FeatureKind::Inferred => "inferred",
        }
    }
}

/// A per-customer metric: an aggregate over a source, a customer column, or an expression over
/// other features (no `source`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Source to aggregate; absent for a feature computed from other features.
    #[serde(default)]
    pub source: Option<String>,
    /// SQL expression (minijinja allowed). Defaults to the column of the same name.
    #[serde(default)]
    pub expr: Option<String>,
    /// Instead of `expr`: the most frequent value of this row expression among the customer's
    /// rows (the smallest value on a tie; NULL values are not counted), e.g. `category`.
    #[serde(default)]
    pub most_frequent: Option<String>,
    /// Instead of `expr`: how many of the customer's rows have their most frequent value of
    /// this row expression (0 without rows). Computed in the same scan as a `most_frequent`
    /// feature with the same expression, filter and window.
    #[serde(default)]
    pub most_frequent_count: Option<String>,
    /// Row filter applied to this feature's aggregate only.
    #[serde(default)]
    pub filter: Option<String>,
    /// Time window ending at `as_of`, such as `365d`, `12m`, `2y`.
    #[serde(default)]
    pub window: Option<String>,
    /// Value for customers without rows in the source (count features default to 0).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub default: Option<serde_yaml::Value>,
    /// DuckDB type to store the feature as, such as BIGINT or DECIMAL(18,2); the value is cast
    /// to it. DuckDB sums integers into HUGEINT and decimals into DECIMAL(38,s), 128-bit types
    /// that are slow to store and read back and that pandas and Arrow handle badly.
    #[serde(default, rename = "type")]
    pub ty: Option<String>,
    #[serde(default)]
    pub kind: FeatureKind,
    /// When the source lacks a column the feature reads, skip the feature (and everything that
    /// needs it) with a warning instead of an error: for library features over data a shop may
    /// not have (birth date, gender, coupon codes, ...).
    #[serde(default)]
    pub optional: bool,
}

/// A named boolean rule over features.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// SQL boolean expression over features (minijinja allowed). NULL counts as false.
    /// An empty `where:` (null) reads as "" so validation can say so at the field.
    #[serde(rename = "where", deserialize_with = "string_or_null")]
    pub rule: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    /// Another segment whose rule is AND-ed with this one.
    #[serde(default)]
    pub extends: Option<String>,
    /// Published in `segment_catalog.priority`; within an `exclusive` group, the member of highest
    /// priority whose rule holds gets the customer.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Name of an exclusive group: its members split their customers (each customer in at most
    /// one of them, by `priority`).
    #[serde(default)]
    pub exclusive: Option<String>,
}

/// An ordered ladder of levels, best first; every customer gets exactly one level.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierLadder {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub levels: Vec<TierLevel>,
}

/// A threshold value: a number, or a template string rendering to a number (`"{{ var('x', 5) }}"`).
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum Threshold {
    Number(f64),
    Template(String),
}

/// Thresholds on features, all of which must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// `feature >= value` for each entry.
    #[serde(default)]
    pub min: BTreeMap<String, Threshold>,
    /// `feature <= value` for each entry.
    #[serde(default)]
    pub max: BTreeMap<String, Threshold>,
}

/// One level of a ladder.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierLevel {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// All-of thresholds: `feature >= value`.
    #[serde(default)]
    pub min: BTreeMap<String, Threshold>,
    /// All-of thresholds: `feature <= value`.
    #[serde(default)]
    pub max: BTreeMap<String, Threshold>,
    /// Alternatives: the level matches when any one group holds (together with `min`/`max`).
    #[serde(default)]
    pub any_of: Vec<Bounds>,
    /// Free SQL condition, AND-ed with the thresholds.
    #[serde(default)]
    pub when: Option<String>,
    /// The catch-all level; must be the last one.
    #[serde(default, rename = "else")]
    pub is_else: bool,
    #[serde(default)]
    pub benefits: Vec<String>,
}

/// Direction of a score part: which end of the feature earns the top score.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    HigherIsBetter,
    LowerIsBetter,
}

/// A quantile score such as RFM: each part scores customers 1..buckets.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "default_buckets")]
    pub buckets: u32,
    /// Which customers are scored (SQL over features); others get NULL scores.
    #[serde(default)]
    pub population: Option<String>,
    pub parts: Vec<ScorePart>,
    /// Named patterns, first match wins; each label also becomes segment `<score>_<label>`.
    #[serde(default)]
    pub map: Vec<ScoreLabel>,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn default_buckets() -> u32 {
    5
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScorePart {
    pub name: String,
    pub feature: String,
    #[serde(default)]
    pub direction: Direction,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreLabel {
    pub name: String,
    /// SQL over the part names, e.g. `r >= 4 AND f >= 4`.
    pub when: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
}
