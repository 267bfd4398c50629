//! [`SparkSql`]: Apache Spark SQL's spelling.

use super::{Dialect, DuckDb};
use crate::compile::spark;
use crate::project::model::{CsvOptions, SourceFormat};
use crate::validate::Window;

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
    fn name(&self) -> &'static str {
        "Spark SQL"
    }
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
    fn rule(&self, rule: &sqlparser::ast::Expr) -> sqlparser::ast::Expr {
        // Validation (E033) refused what has no Spark spelling; were something left, it would
        // stay in DuckDB's spelling and Spark would report it.
        spark::to_spark(rule).unwrap_or_else(|_| rule.clone())
    }
    fn type_name(&self, ty: &str) -> String {
        spark::spark_type_name(ty).unwrap_or_else(|| ty.to_string())
    }
    fn text_list_type(&self) -> String {
        "ARRAY<STRING>".into()
    }
    fn most_frequent_value(&self, v: &str, n: &str) -> String {
        format!("min_by({v}, struct(-{n}, {v}))")
    }
    fn days_between(&self, start: &str, end: &str) -> String {
        format!("datediff({end}, {start})")
    }
    fn list_contains(&self, list: &str, item: &str) -> String {
        format!("array_contains({list}, {item})")
    }
    fn lists_overlap(&self, a: &str, b: &str) -> String {
        format!("arrays_overlap({a}, {b})")
    }
    /// `min_by` skips rows whose value is NULL; a struct of NULL is not NULL.
    fn value_at_min(&self, value: &str, by: &str) -> String {
        format!("min_by(named_struct('v', {value}), {by}).v")
    }
}
