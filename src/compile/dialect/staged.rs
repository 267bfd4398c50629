//! [`Staged`]: another dialect whose output tables carry a prefix.

use super::{CopyFormat, Dialect, NoSpelling};
use crate::project::model::{CsvOptions, SourceFormat};
use crate::validate::Window;

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
    /// A source scan's state table keeps its name: it is the run's state, never published.
    fn table(&self, name: &str) -> String {
        if name.starts_with(crate::compile::STATE_PREFIX) {
            return self.0.ident(name);
        }
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
    fn rule(&self, rule: &sqlparser::ast::Expr) -> sqlparser::ast::Expr {
        self.0.rule(rule)
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
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn cast(&self, expr: &str, ty: &str) -> String {
        self.0.cast(expr, ty)
    }
    fn interval_days(&self, n: i64) -> String {
        self.0.interval_days(n)
    }
    fn days_between(&self, start: &str, end: &str) -> String {
        self.0.days_between(start, end)
    }
    fn create_table_if_missing(&self, table: &str, columns: &[(&str, &str)]) -> String {
        self.0.create_table_if_missing(table, columns)
    }
    fn insert_by_name(&self, table: &str, query: &str) -> String {
        self.0.insert_by_name(table, query)
    }
    fn unpivot(&self, relation: &str, value: &str, name: &str, columns: &[String]) -> String {
        self.0.unpivot(relation, value, name, columns)
    }
    fn list_contains(&self, list: &str, item: &str) -> String {
        self.0.list_contains(list, item)
    }
    fn lists_overlap(&self, a: &str, b: &str) -> String {
        self.0.lists_overlap(a, b)
    }
    fn value_at_min(&self, value: &str, by: &str) -> String {
        self.0.value_at_min(value, by)
    }
    fn union_all_by_name(&self, a: &str, b: &str) -> Result<String, NoSpelling> {
        self.0.union_all_by_name(a, b)
    }
    fn star_replacing(&self, replaced: &[(String, String)]) -> Result<String, NoSpelling> {
        self.0.star_replacing(replaced)
    }
    fn star_excluding(&self, excluded: &[&str]) -> Result<String, NoSpelling> {
        self.0.star_excluding(excluded)
    }
    fn keep_latest(&self, partition: &str, time: &str) -> Result<String, NoSpelling> {
        self.0.keep_latest(partition, time)
    }
    fn asof_left_join(&self, left: &str, right: &str, on: &str) -> Result<String, NoSpelling> {
        self.0.asof_left_join(left, right, on)
    }
    fn copy_to(&self, query: &str, path: &str, format: CopyFormat) -> Result<String, NoSpelling> {
        self.0.copy_to(query, path, format)
    }
    fn tables_query(&self, with_views: bool) -> Result<String, NoSpelling> {
        self.0.tables_query(with_views)
    }
    fn add_column_if_missing(&self, table: &str, column: &str, ty: &str) -> Result<String, NoSpelling> {
        self.0.add_column_if_missing(table, column, ty)
    }
}
