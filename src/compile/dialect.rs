//! All engine-specific SQL text. The compiler asks the dialect for every construct whose
//! spelling differs between engines: [`DuckDb`] and [`SparkSql`] are the two spellings, and
//! [`Staged`] names the output tables of either under their staging names.

use crate::project::model::{CsvOptions, CsvValue, SourceFormat};
use crate::validate::{Window, WindowUnit};

/// SQL spelling of constructs that differ between engines.
pub trait Dialect {
    /// Double-quoted identifier.
    fn ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
    /// Single-quoted string literal.
    fn string(&self, s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }
    fn date(&self, iso: &str) -> String {
        format!("DATE {}", self.string(iso))
    }
    /// A table function or path expression reading a source file or glob.
    fn read_source(&self, format: SourceFormat, path: &str, csv: Option<&CsvOptions>) -> String;
    /// `SELECT` list that renames some columns and keeps the rest.
    fn star_renaming(&self, renames: &[(String, String)]) -> String;
    /// A query over `relation` casting some columns and keeping the rest.
    fn select_casting(&self, relation: &str, types: &[(String, String)]) -> String;
    /// How the plan refers to its output table `name` (a run writes them under a staging name
    /// first, see [`Staged`]).
    fn table(&self, name: &str) -> String {
        self.ident(name)
    }
    /// Statement replacing output table `name` with the result of `select`.
    fn create_table_as(&self, name: &str, select: &str) -> String {
        let replace = if self.replaces_in_one_statement() { "OR REPLACE " } else { "" };
        format!("CREATE {replace}TABLE {}{} AS\n{select}", self.table(name), self.table_options())
    }
    /// What follows a new table's name (its storage format).
    fn table_options(&self) -> &'static str {
        ""
    }
    /// Whether `CREATE OR REPLACE TABLE ... AS` works; otherwise a step drops the table first.
    fn replaces_in_one_statement(&self) -> bool {
        true
    }
    /// Keyword for a CTE computed once even when referenced several times.
    fn materialized(&self) -> &'static str;
    /// The first instant inside a window that ends with the whole day `as_of`.
    fn window_start(&self, as_of: &str, w: Window) -> String;
    /// The first instant after the day `as_of` (exclusive end of every time cut).
    fn day_after(&self, as_of: &str) -> String;
    /// Continuous quantile aggregate.
    fn quantile(&self, expr: &str, q: f64) -> String;
    /// A list literal of strings.
    fn string_list(&self, items: &[String]) -> String;
    /// Type of a text column that only ever holds one of `values` (sorted, distinct): names of
    /// segments, ladders and tiers. Text by default.
    fn label_type(&self, values: &[String]) -> String {
        let _ = values;
        self.type_name("VARCHAR")
    }
    /// A rule (`expr`, `filter`, `where`, `when`, `population`) as this engine spells it; rules
    /// are written in DuckDB's spelling and validated as portable for the other engines.
    fn rule(&self, sql: &str) -> String {
        sql.to_string()
    }
    /// This engine's name for a type written in DuckDB's spelling (`VARCHAR`, `DECIMAL(18,2)`).
    fn type_name(&self, ty: &str) -> String {
        ty.to_string()
    }
    /// Type of a list of text.
    fn text_list_type(&self) -> String {
        "VARCHAR[]".into()
    }
    /// The value `v` with the largest row count `n`, the smallest value on a tie.
    fn most_frequent_value(&self, v: &str, n: &str) -> String {
        format!("arg_min({v}, (-{n}, {v}))")
    }
}

/// DuckDB 1.5.
pub struct DuckDb;

impl Dialect for DuckDb {
    fn read_source(&self, format: SourceFormat, path: &str, csv: Option<&CsvOptions>) -> String {
        let p = self.string(path);
        match format {
            SourceFormat::Csv => {
                let options: String = csv
                    .map(|o| o.pairs())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(key, value)| match value {
                        CsvValue::Text(t) => format!(", {key} = {}", self.string(t)),
                        CsvValue::Bool(b) => format!(", {key} = {b}"),
                    })
                    .collect();
                format!("read_csv({p}{options})")
            }
            SourceFormat::Parquet => format!("read_parquet({p})"),
            SourceFormat::Json => format!("read_json_auto({p})"),
            SourceFormat::Table => self.ident(path),
            // The relation itself, built by `postgres::relation` with this dialect's quoting.
            SourceFormat::Postgres => path.to_string(),
        }
    }

    fn star_renaming(&self, renames: &[(String, String)]) -> String {
        if renames.is_empty() {
            return "*".into();
        }
        let parts: Vec<String> = renames.iter().map(|(a, b)| format!("{} AS {}", self.ident(a), self.ident(b))).collect();
        format!("* RENAME ({})", parts.join(", "))
    }

    fn select_casting(&self, relation: &str, types: &[(String, String)]) -> String {
        if types.is_empty() {
            return relation.to_string();
        }
        let parts: Vec<String> = types.iter().map(|(c, t)| format!("CAST({} AS {t}) AS {}", self.ident(c), self.ident(c))).collect();
        format!("(SELECT * REPLACE ({}) FROM {relation})", parts.join(", "))
    }

    fn materialized(&self) -> &'static str {
        "AS MATERIALIZED"
    }

    fn window_start(&self, as_of: &str, w: Window) -> String {
        let unit = match w.unit {
            WindowUnit::Day => "DAY",
            WindowUnit::Month => "MONTH",
            WindowUnit::Year => "YEAR",
        };
        format!("({} - INTERVAL {} {unit})", self.day_after(as_of), w.count)
    }

    fn day_after(&self, as_of: &str) -> String {
        format!("({} + INTERVAL 1 DAY)", self.date(as_of))
    }

    fn quantile(&self, expr: &str, q: f64) -> String {
        format!("quantile_cont({expr}, {q})")
    }

    fn string_list(&self, items: &[String]) -> String {
        let v: Vec<String> = items.iter().map(|s| self.string(s)).collect();
        format!("[{}]::VARCHAR[]", v.join(", "))
    }

    /// An ENUM: written in a third to half the time of VARCHAR (bench/RESULTS.md), a category
    /// in pandas. In alphabetical order, so it sorts like text; it compares with text as text.
    fn label_type(&self, values: &[String]) -> String {
        let v: Vec<String> = values.iter().map(|s| self.string(s)).collect();
        format!("ENUM({})", v.join(", "))
    }
}

/// Prefix of the name under which a run writes each output table before publishing it.
pub const STAGE_PREFIX: &str = "__segmenter_stage__";

/// Another dialect whose output tables are named `prefix + name`. A DuckDB `run` computes every
/// table under its staging name ([`Staged::of`], prefix [`STAGE_PREFIX`]), one committed
/// statement at a time, then publishes them all by renaming in one short transaction; a Spark
/// run writes them as one generation of tables (see `spark::generation`).
pub struct Staged<'a>(pub &'a dyn Dialect, pub &'a str);

impl<'a> Staged<'a> {
    /// `dialect` with its output tables under their staging names.
    pub fn of(dialect: &'a dyn Dialect) -> Self {
        Staged(dialect, STAGE_PREFIX)
    }
}

impl Dialect for Staged<'_> {
    fn table(&self, name: &str) -> String {
        self.0.ident(&format!("{}{name}", self.1))
    }
    fn read_source(&self, format: SourceFormat, path: &str, csv: Option<&CsvOptions>) -> String {
        self.0.read_source(format, path, csv)
    }
    fn star_renaming(&self, renames: &[(String, String)]) -> String {
        self.0.star_renaming(renames)
    }
    fn select_casting(&self, relation: &str, types: &[(String, String)]) -> String {
        self.0.select_casting(relation, types)
    }
    fn materialized(&self) -> &'static str {
        self.0.materialized()
    }
    fn window_start(&self, as_of: &str, w: Window) -> String {
        self.0.window_start(as_of, w)
    }
    fn day_after(&self, as_of: &str) -> String {
        self.0.day_after(as_of)
    }
    fn quantile(&self, expr: &str, q: f64) -> String {
        self.0.quantile(expr, q)
    }
    fn string_list(&self, items: &[String]) -> String {
        self.0.string_list(items)
    }
    fn label_type(&self, values: &[String]) -> String {
        self.0.label_type(values)
    }
    fn ident(&self, name: &str) -> String {
        self.0.ident(name)
    }
    fn string(&self, s: &str) -> String {
        self.0.string(s)
    }
    fn table_options(&self) -> &'static str {
        self.0.table_options()
    }
    fn replaces_in_one_statement(&self) -> bool {
        self.0.replaces_in_one_statement()
    }
    fn rule(&self, sql: &str) -> String {
        self.0.rule(sql)
    }
    fn type_name(&self, ty: &str) -> String {
        self.0.type_name(ty)
    }
    fn text_list_type(&self) -> String {
        self.0.text_list_type()
    }
    fn most_frequent_value(&self, v: &str, n: &str) -> String {
        self.0.most_frequent_value(v, n)
    }
}

/// Apache Spark SQL (4.x), as run through Spark Connect. Sources are temporary views the Spark
/// runner registers (renamed and cast as declared) before the plan runs: Spark SQL has no
/// `* RENAME`/`* REPLACE` and no CSV reader with options inside a query.
pub struct SparkSql {
    /// Storage format of the tables it creates.
    pub format: crate::project::model::SparkTableFormat,
}

impl SparkSql {
    pub const PARQUET: SparkSql = SparkSql { format: crate::project::model::SparkTableFormat::Parquet };
    pub const ORC: SparkSql = SparkSql { format: crate::project::model::SparkTableFormat::Orc };

    /// The dialect creating tables in `format`.
    pub fn of(format: crate::project::model::SparkTableFormat) -> &'static SparkSql {
        match format {
            crate::project::model::SparkTableFormat::Parquet => &Self::PARQUET,
            crate::project::model::SparkTableFormat::Orc => &Self::ORC,
        }
    }

    /// The temporary view a source is read from.
    pub fn source_view(path: &str) -> String {
        format!("__segmenter_source_{}", crate::validate::short_hash(path))
    }
}

impl Dialect for SparkSql {
    fn ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }
    /// Spark reads backslash escapes in literals: a quote and a backslash are escaped with one.
    fn string(&self, s: &str) -> String {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
    fn read_source(&self, _format: SourceFormat, path: &str, _csv: Option<&CsvOptions>) -> String {
        self.ident(&SparkSql::source_view(path))
    }
    fn star_renaming(&self, _renames: &[(String, String)]) -> String {
        "*".into()
    }
    fn select_casting(&self, relation: &str, _types: &[(String, String)]) -> String {
        relation.to_string()
    }
    fn table_options(&self) -> &'static str {
        match self.format {
            crate::project::model::SparkTableFormat::Parquet => " USING parquet",
            crate::project::model::SparkTableFormat::Orc => " USING orc",
        }
    }
    /// Spark's session catalog cannot `CREATE OR REPLACE` a table stored as files.
    fn replaces_in_one_statement(&self) -> bool {
        false
    }
    fn materialized(&self) -> &'static str {
        "AS"
    }
    fn window_start(&self, as_of: &str, w: Window) -> String {
        DuckDb.window_start(as_of, w)
    }
    fn day_after(&self, as_of: &str) -> String {
        DuckDb.day_after(as_of)
    }
    fn quantile(&self, expr: &str, q: f64) -> String {
        format!("percentile({expr}, {q})")
    }
    fn string_list(&self, items: &[String]) -> String {
        let v: Vec<String> = items.iter().map(|s| self.string(s)).collect();
        format!("CAST(array({}) AS ARRAY<STRING>)", v.join(", "))
    }
    fn rule(&self, sql: &str) -> String {
        // Validation (E033) refused what has no Spark spelling; text that does not parse here
        // is left as it is and Spark reports it.
        match super::tree::parse(sql).map(|e| super::spark::to_spark(&e)) {
            Some(Ok(e)) => e.to_string(),
            _ => sql.to_string(),
        }
    }
    fn type_name(&self, ty: &str) -> String {
        super::spark::spark_type_name(ty).unwrap_or_else(|| ty.to_string())
    }
    fn text_list_type(&self) -> String {
        "ARRAY<STRING>".into()
    }
    fn most_frequent_value(&self, v: &str, n: &str) -> String {
        format!("min_by({v}, struct(-{n}, {v}))")
    }
}
