//! All engine-specific SQL text. The compiler, the publisher, the report readers, campaign
//! measurement and the sample-data generator ask the dialect for every construct whose spelling
//! differs between engines: [`DuckDb`] and [`SparkSql`] are the two spellings, and [`Staged`]
//! names the output tables of either under their staging names. A construct only DuckDB runs
//! use, and that Spark SQL cannot say, answers [`NoSpelling`] there.

use sqlparser::ast::Expr;
use crate::project::model::{CsvOptions, CsvValue, SourceFormat};
use crate::validate::{Window, WindowUnit};

mod spark_sql;
mod staged;
#[cfg(test)]
mod tests;

pub use spark_sql::SparkSql;
pub use staged::{Staged, STAGE_PREFIX};

/// A construct an engine has no spelling for (a DuckDB-only step asked of another dialect).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{engine} has no spelling for {construct}; only DuckDB runs use it")]
pub struct NoSpelling {
    /// The dialect's name ([`Dialect::name`]).
    pub engine: &'static str,
    /// What was asked for, e.g. "an ASOF join".
    pub construct: &'static str,
}

impl From<NoSpelling> for crate::error::Error {
    fn from(e: NoSpelling) -> Self {
        crate::error::Error::Usage(e.to_string())
    }
}

/// The file format of [`Dialect::copy_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// CSV with a header row.
    Csv,
    /// Parquet with the engine's default compression.
    Parquet,
    /// Parquet compressed with zstd, in row groups of `row_group_size` rows.
    ParquetZstd { row_group_size: u32 },
}

/// SQL spelling of constructs that differ between engines.
pub trait Dialect {
    /// The engine's name, for messages.
    fn name(&self) -> &'static str;
    /// [`NoSpelling`] for `construct` on this engine.
    fn no_spelling(&self, construct: &'static str) -> NoSpelling {
        NoSpelling { engine: self.name(), construct }
    }
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
    /// A rule's tree (`expr`, `filter`, `where`, `when`, `population`) as this engine spells
    /// it; rules are written in DuckDB's spelling and validated as portable for the other
    /// engines. The compiler prints the tree this returns.
    fn rule(&self, rule: &Expr) -> Expr {
        rule.clone()
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
    /// `expr` cast to `ty` (a type written in DuckDB's spelling).
    fn cast(&self, expr: &str, ty: &str) -> String {
        format!("CAST({expr} AS {})", self.type_name(ty))
    }
    /// An interval of `n` days, to add to or subtract from a date or timestamp.
    fn interval_days(&self, n: i64) -> String {
        format!("INTERVAL {n} DAY")
    }
    /// Days from the date `start` to the date `end` (negative when `end` is earlier).
    fn days_between(&self, start: &str, end: &str) -> String;
    /// Statement creating `table` with `columns` (name, type in DuckDB's spelling) unless it exists.
    fn create_table_if_missing(&self, table: &str, columns: &[(&str, &str)]) -> String {
        let cols: Vec<String> = columns.iter().map(|(c, t)| format!("{c} {}", self.type_name(t))).collect();
        format!("CREATE TABLE IF NOT EXISTS {table} ({}){}", cols.join(", "), self.table_options())
    }
    /// Statement appending the rows of `query` to `table`, matching columns by name.
    fn insert_by_name(&self, table: &str, query: &str) -> String {
        format!("INSERT INTO {table} BY NAME {query}")
    }
    /// `relation` turned long: one row per input row and column of `columns`, the column's name
    /// in `name` and its value in `value` (rows whose value is NULL left out).
    fn unpivot(&self, relation: &str, value: &str, name: &str, columns: &[String]) -> String {
        format!("{relation} UNPIVOT ({value} FOR {name} IN ({}))", columns.join(", "))
    }
    /// Whether the list `list` holds `item`.
    fn list_contains(&self, list: &str, item: &str) -> String;
    /// Whether the lists `a` and `b` share an element.
    fn lists_overlap(&self, a: &str, b: &str) -> String;
    /// Aggregate: `value` on the row with the smallest `by`, even when that value is NULL.
    fn value_at_min(&self, value: &str, by: &str) -> String;
    /// The rows of queries `a` and `b`, columns matched by name (missing ones NULL).
    fn union_all_by_name(&self, a: &str, b: &str) -> Result<String, NoSpelling> {
        let _ = (a, b);
        Err(self.no_spelling("UNION ALL BY NAME"))
    }
    /// `SELECT` list of every column, those named in `replaced` (expression, column) replaced.
    fn star_replacing(&self, replaced: &[(String, String)]) -> Result<String, NoSpelling> {
        let _ = replaced;
        Err(self.no_spelling("a star replacing columns"))
    }
    /// `SELECT` list of every column but `excluded`.
    fn star_excluding(&self, excluded: &[&str]) -> Result<String, NoSpelling> {
        let _ = excluded;
        Err(self.no_spelling("a star excluding columns"))
    }
    /// Clause ending a `SELECT ... FROM ... WHERE` that keeps, per `partition`, the rows with
    /// the latest `time` (NULL times last; ties all kept).
    fn keep_latest(&self, partition: &str, time: &str) -> Result<String, NoSpelling> {
        let _ = (partition, time);
        Err(self.no_spelling("QUALIFY"))
    }
    /// `left` joined to each row's nearest `right` row by the inequality `on` (NULLs without one).
    fn asof_left_join(&self, left: &str, right: &str, on: &str) -> Result<String, NoSpelling> {
        let _ = (left, right, on);
        Err(self.no_spelling("an ASOF join"))
    }
    /// Statement writing the rows of `query` to the one file `path`.
    fn copy_to(&self, query: &str, path: &str, format: CopyFormat) -> Result<String, NoSpelling> {
        let _ = (query, path, format);
        Err(self.no_spelling("COPY to a file"))
    }
    /// Query of the session database's tables (and views, `with_views`): `(name, schema_name)`,
    /// not those of attached databases.
    fn tables_query(&self, with_views: bool) -> Result<String, NoSpelling> {
        let _ = with_views;
        Err(self.no_spelling("a query of the catalog"))
    }
    /// Statement adding `column` of type `ty` to `table` unless it has it.
    fn add_column_if_missing(&self, table: &str, column: &str, ty: &str) -> Result<String, NoSpelling> {
        let _ = (table, column, ty);
        Err(self.no_spelling("ADD COLUMN IF NOT EXISTS"))
    }
}

/// DuckDB 1.5.
pub struct DuckDb;

impl DuckDb {
    /// A file source read from `p` (a quoted path, or a list of them); `path` names a table.
    fn read_from(&self, format: SourceFormat, p: String, path: &str, csv: Option<&CsvOptions>) -> String {
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

    /// The files `files` of a file source read as its path would be (`None` for a table).
    pub fn read_files(&self, format: SourceFormat, files: &[String], csv: Option<&CsvOptions>) -> Option<String> {
        let list: Vec<String> = files.iter().map(|f| self.string(f)).collect();
        format.is_files().then(|| self.read_from(format, format!("[{}]", list.join(", ")), "", csv))
    }
}

impl Dialect for DuckDb {
    fn name(&self) -> &'static str {
        "DuckDB"
    }

    fn read_source(&self, format: SourceFormat, path: &str, csv: Option<&CsvOptions>) -> String {
        self.read_from(format, self.string(path), path, csv)
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

    fn days_between(&self, start: &str, end: &str) -> String {
        format!("date_diff('day', {start}, {end})")
    }

    fn list_contains(&self, list: &str, item: &str) -> String {
        format!("list_contains({list}, {item})")
    }

    fn lists_overlap(&self, a: &str, b: &str) -> String {
        format!("list_has_any({a}, {b})")
    }

    /// Wrapped in a struct: `arg_min` skips rows whose value is NULL, a struct of NULL is not NULL.
    fn value_at_min(&self, value: &str, by: &str) -> String {
        format!("arg_min({{'v': {value}}}, {by}).v")
    }

    fn union_all_by_name(&self, a: &str, b: &str) -> Result<String, NoSpelling> {
        Ok(format!("{a}\nUNION ALL BY NAME\n{b}"))
    }

    fn star_replacing(&self, replaced: &[(String, String)]) -> Result<String, NoSpelling> {
        let parts: Vec<String> = replaced.iter().map(|(e, c)| format!("{e} AS {c}")).collect();
        Ok(format!("* REPLACE ({})", parts.join(", ")))
    }

    fn star_excluding(&self, excluded: &[&str]) -> Result<String, NoSpelling> {
        Ok(format!("* EXCLUDE ({})", excluded.join(", ")))
    }

    fn keep_latest(&self, partition: &str, time: &str) -> Result<String, NoSpelling> {
        Ok(format!("QUALIFY rank() OVER (PARTITION BY {partition} ORDER BY {time} DESC NULLS LAST) = 1"))
    }

    fn asof_left_join(&self, left: &str, right: &str, on: &str) -> Result<String, NoSpelling> {
        Ok(format!("{left} ASOF LEFT JOIN {right} ON {on}"))
    }

    fn copy_to(&self, query: &str, path: &str, format: CopyFormat) -> Result<String, NoSpelling> {
        let options = match format {
            CopyFormat::Csv => "FORMAT csv, HEADER true".to_string(),
            CopyFormat::Parquet => "FORMAT parquet".to_string(),
            CopyFormat::ParquetZstd { row_group_size } => format!("FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {row_group_size}"),
        };
        Ok(format!("COPY ({query}) TO {} ({options})", self.string(path)))
    }

    fn tables_query(&self, with_views: bool) -> Result<String, NoSpelling> {
        let tables = "SELECT table_name AS name, schema_name FROM duckdb_tables() WHERE database_name = current_database()";
        Ok(match with_views {
            true => format!("{tables} UNION ALL SELECT view_name, schema_name FROM duckdb_views() WHERE database_name = current_database()"),
            false => tables.to_string(),
        })
    }

    fn add_column_if_missing(&self, table: &str, column: &str, ty: &str) -> Result<String, NoSpelling> {
        Ok(format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {}", self.type_name(ty)))
    }
}
