//! Command-line definitions (clap). Behaviour lives in [`crate::app`].

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Customer segments and loyalty tiers as code.
///
/// Define features, segments, tier ladders and scores in YAML under segments/, and segmenter
/// compiles them to DuckDB SQL and runs them over your Parquet/CSV data.
///
/// Exit codes: 0 success; 1 tests/assertions failed or a data-quality gate blocked a publish;
/// 2 definition or usage error; 3 data or runtime error (including another run holding the lock).
#[derive(Debug, Parser)]
#[command(name = "segmenter", version, propagate_version = true)]
pub struct Cli {
    /// Project folder (the one with segmenter.yaml).
    #[arg(long, short = 'p', global = true, default_value = ".")]
    pub project: PathBuf,
    /// Output format for results and errors.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print nothing but errors (no progress bar, no summary).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Named environment from `targets:` in segmenter.yaml (its database, data paths, vars,
    /// settings).
    #[arg(long, global = true, env = "SEGMENTER_TARGET")]
    pub target: Option<String>,
    /// Output database to use instead of the project's (and the target's) `output.database`.
    #[arg(long, global = true)]
    pub database: Option<PathBuf>,
    /// Engine the definitions must run on, instead of `engine:` in segmenter.yaml. With
    /// `spark`, `validate` reports every rule construct Spark cannot run (E033).
    #[arg(long, global = true, value_enum, env = "SEGMENTER_ENGINE")]
    pub engine: Option<crate::project::model::Engine>,
    /// More log lines on stderr: -v phases and steps with their times, -vv also the SQL each
    /// step runs, -vvv everything (same as --log-level info, debug, trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log level for stderr: error, warn (the default), info, debug or trace.
    #[arg(long, global = true, value_enum)]
    pub log_level: Option<LogLevel>,
    #[command(subcommand)]
    pub command: Command,
}

/// How much is logged on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Cli {
    /// `--log-level`, else warn raised by each `-v`.
    pub fn log_level(&self) -> LogLevel {
        self.log_level.unwrap_or(match self.verbose {
            0 => LogLevel::Warn,
            1 => LogLevel::Info,
            2 => LogLevel::Debug,
            _ => LogLevel::Trace,
        })
    }

    /// The environment the command line chose (target, database).
    pub fn environment(&self) -> crate::project::Environment {
        crate::project::Environment { target: self.target.clone(), database: self.database.clone(), engine: self.engine }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute features, segments, tiers and scores into the output database.
    ///
    /// Everything is validated first (and every query bound in DuckDB); data-quality gates check
    /// the sources; then the tables, the history for this as_of and the run manifest are written
    /// into a copy of the database (<database>.next) that replaces the database only when all is
    /// done, so a failed or killed run leaves the previous results untouched and readers never
    /// see half a run. A lock next to the database stops concurrent runs. Exports are written
    /// after the publish.
    ///
    /// Example: segmenter run --as-of 2026-06-30 --select tag:value
    Run(RunArgs),
    /// Print the SQL a run would execute (reads no data).
    Compile(SelectArgs),
    /// Check definitions, data files and their columns; report every problem with file:line.
    Validate(SelectArgs),
    /// The results for people: segments by theme, trends, tiers and gaps, migrations, RFM grid,
    /// overlaps, profiles, campaigns, models and the run's metadata.
    ///
    /// Reads the output database of earlier runs (nothing is recomputed). Changes are measured
    /// against the previous as_of in history, or --compare DATE. `report campaigns` shows
    /// what each campaign did per segment and tier level (response, holdout lift, revenue).
    /// The sections are described in docs/report.md.
    ///
    /// Example: segmenter report --to html --out report.html
    Report(ReportArgs),
    /// Why a customer is or is not in a segment: each condition of the rule and the values.
    ///
    /// Evaluates the current rule on the features of the last run.
    ///
    /// Example: segmenter explain loyal --customer 42
    Explain(ExplainArgs),
    /// Compare memberships of the current definitions with another version on the same data.
    ///
    /// BASE is a git revision (branch, tag, commit) or a folder holding a project. Both versions
    /// run in memory over the current sources; nothing is written. Markdown output is ready to
    /// post as a pull-request comment.
    ///
    /// Example: segmenter diff --base origin/main --to markdown
    Diff(DiffArgs),
    /// Propose thresholds for a numeric feature: its distribution and candidate cut-offs.
    ///
    /// Computes the project as of the date in memory over the current sources (nothing is
    /// written), then shows FEATURE's count, NULLs, min, max, mean, quantiles and a histogram,
    /// and candidate thresholds (the quantiles p25, p50, p75, p90 and natural breaks), each with
    /// its size and the existing segments it resembles most. --segments N proposes N bands by
    /// natural breaks as YAML to paste. See docs/suggest.md.
    ///
    /// Example: segmenter suggest total_spent --segments 3
    Suggest(SuggestArgs),
    /// Print the JSON Schema of the project file or of definition files (editor autocomplete).
    ///
    /// The repo keeps both in schema/; see docs/ci.md for editor setup.
    ///
    /// Example: segmenter schema definitions > schema/definitions.schema.json
    Schema {
        /// Which file kind.
        #[arg(value_enum, default_value_t = SchemaKind::Definitions)]
        kind: SchemaKind,
    },
    /// Print a shell completion script.
    ///
    /// Example: segmenter completions bash > ~/.local/share/bash-completion/completions/segmenter
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `segmenter man > segmenter.1 && man ./segmenter.1`.
    Man,
    /// Run fixture tests (offline, in memory) and data assertions on the last run's results.
    ///
    /// Fixture tests (`tests:` in definition files) give small rows per source and expect
    /// members, tier levels and scores. Assertions (`assertions:`) check sizes, shares, overlaps
    /// and one level per customer on the published tables. Exit 0 all passed (warnings allowed),
    /// 1 a test or assertion failed, 2 the definitions have errors.
    ///
    /// Example: segmenter test --junit out/junit.xml
    Test {
        /// Also write JUnit XML to this file (for CI test reports).
        #[arg(long)]
        junit: Option<PathBuf>,
    },
    /// Write the deterministic synthetic sample data set (same seed, same bytes).
    Generate(GenerateArgs),
    /// Create a starter project (project file, segments, tiny data) in DIR.
    ///
    /// Example: segmenter init my-shop && segmenter --project my-shop run
    Init {
        /// Folder to create the project in.
        dir: std::path::PathBuf,
    },
}

/// Options shared by the commands that resolve definitions.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Run date (YYYY-MM-DD); every time window ends on it. Default: vars.as_of.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only these definitions: names or tag:NAME (repeat or separate with commas).
    #[arg(long, short = 's', value_delimiter = ',')]
    pub select: Vec<String>,
    /// Leave out these definitions (names or tag:NAME), from the selection or from all.
    #[arg(long, short = 'x', value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Override a project var: --var name=value (value parsed as YAML).
    #[arg(long = "var", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Compute every feature even when `select` narrows the definitions (`run` publishes a
    /// whole `customer_features`); set by the command, not on the command line.
    #[arg(skip)]
    pub all_features: bool,
}

/// The most DuckDB worker threads a session may start (a thread per core; more only costs memory).
pub const MAX_THREADS: u32 = 256;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print on stderr how long each phase and each plan step took (also with --quiet), to see
    /// where a slow run spends its time, and the peak resident memory (Linux).
    #[arg(long)]
    pub timings: bool,
    /// DuckDB worker threads, 1 to 256 (default: all cores, or settings.threads).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=MAX_THREADS as i64))]
    pub threads: Option<u32>,
    /// Memory budget such as 4GB or 4GiB; DuckDB gets 85% of it and spills larger work to disk.
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// Publish even when a data-quality gate fails (an empty source, a big row-count drop);
    /// the runs manifest records that the run was forced.
    #[arg(long)]
    pub force: bool,
    /// Compute every source scan in full. By default a run after an earlier one recomputes
    /// only the customers whose rows changed (new files, rows a window takes in or leaves out)
    /// and says why any scan is computed in full (see docs/incremental.md).
    #[arg(long)]
    pub full: bool,
    /// Spark Connect server of a run with `--engine spark`, `sc://HOST:PORT` (default:
    /// spark.url in segmenter.yaml). `scripts/spark-connect.sh start` starts a local one.
    #[arg(long, env = "SEGMENTER_SPARK_URL")]
    pub spark_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// segmenter.yaml
    Project,
    /// segments/*.yaml
    Definitions,
}

/// The document `report --to` writes. The rule for every command: the global `--format`
/// (text or json) says whether a machine reads the result; `--to` picks a document for people.
/// `--format json` is the same as `--to json`; asking for JSON and another document is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Markdown,
    Html,
    Json,
}

/// The document `diff --to` writes (see [`ReportFormat`] for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub view: Option<ReportView>,
    /// Earlier as_of to compare with (default: the previous date in history).
    #[arg(long)]
    pub compare: Option<String>,
    /// Output: terminal text, markdown, a self-contained HTML page, or JSON
    /// (`--format json` also selects JSON).
    #[arg(long = "to", value_enum, default_value_t = ReportFormat::Text, global = true)]
    pub to: ReportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
    /// How many overlapping pairs to list (the HTML heat map always shows all).
    #[arg(long, default_value_t = 25)]
    pub top: usize,
}

/// A part of the report on its own.
#[derive(Debug, Subcommand)]
pub enum ReportView {
    /// What each campaign did, per segment and tier level the customer was in on the send date.
    ///
    /// Per campaign: sent, held out, open, click and conversion rates, revenue per recipient,
    /// and where some customers were held out, the lift of the conversion rate over the
    /// holdout's with Newcombe's 95% interval and the z-test's p-value; groups under
    /// `campaigns.min_group_size` sends are marked too small. Reads `campaign_results`, which
    /// each run writes when segmenter.yaml has `campaigns:` (docs/campaigns.md).
    ///
    /// Example: segmenter report campaigns --campaign black_friday --to markdown
    Campaigns(CampaignArgs),
}

#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// Only this campaign.
    #[arg(long)]
    pub campaign: Option<String>,
    /// Only campaigns with a send on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Git revision or folder with the definitions to compare against.
    #[arg(long)]
    pub base: String,
    /// Output: terminal text, markdown (a pull-request comment) or JSON (also `--format json`).
    #[arg(long = "to", value_enum, default_value_t = DiffFormat::Text)]
    pub to: DiffFormat,
    /// Customer ids to show per change.
    #[arg(long, default_value_t = 5)]
    pub samples: usize,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// The numeric feature to find thresholds for (a column of customer_features).
    pub feature: String,
    /// Run date (YYYY-MM-DD); every time window ends on it. Default: vars.as_of.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Also propose N bands by natural breaks (2 to 10) as segment definitions to paste.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10))]
    pub segments: Option<u32>,
    /// How many natural-breaks thresholds to propose among the candidates (1 to 9).
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub candidates: u32,
    /// Override a project var: --var name=value (value parsed as YAML).
    #[arg(long = "var", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Segment name.
    pub segment: String,
    /// Customer id (as in the customers source).
    #[arg(long)]
    pub customer: String,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write the data files into.
    #[arg(long, default_value = "sample-data")]
    pub out: PathBuf,
    /// Random seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of customers (orders are about 4.5 times that).
    #[arg(long, default_value_t = 3000, conflicts_with = "orders")]
    pub customers: u64,
    /// Memory budget while generating (DuckDB gets 85% of it); big sorts spill to disk beyond it.
    #[arg(long, default_value = "4GB")]
    pub memory_limit: String,
    /// Scale mode: about this many orders, from orders/10 customers with about 10 orders each,
    /// every table written as Parquet (e.g. --orders 10000000 for the benchmark).
    #[arg(long)]
    pub orders: Option<u64>,
    /// Last day of the generated history.
    #[arg(long, default_value = "2026-06-30")]
    pub as_of: String,
    /// DuckDB threads while generating. 1 (the default) gives byte-identical files for a seed;
    /// more threads give the same rows in the same order, faster, but the Parquet files'
    /// internal layout (row-group boundaries) may differ from run to run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: u32,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected name=value, got '{s}'")),
    }
}
