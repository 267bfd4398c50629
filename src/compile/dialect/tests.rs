//! Printer tests: what each dialect spells for the constructs outside the plan.

use super::{CopyFormat, Dialect, DuckDb, NoSpelling, SparkSql, Staged};

const SPARK: SparkSql = SparkSql::PARQUET;

#[test]
fn casts_name_the_engines_type() {
    assert_eq!(DuckDb.cast("x", "VARCHAR"), "CAST(x AS VARCHAR)");
    assert_eq!(DuckDb.cast("NULL", "DOUBLE"), "CAST(NULL AS DOUBLE)");
    assert_eq!(SPARK.cast("x", "VARCHAR"), "CAST(x AS STRING)");
    assert_eq!(SPARK.cast("n", "BIGINT"), "CAST(n AS BIGINT)");
}

#[test]
fn dates_and_intervals() {
    assert_eq!(DuckDb.interval_days(30), "INTERVAL 30 DAY");
    assert_eq!(SPARK.interval_days(30), "INTERVAL 30 DAY");
    assert_eq!(DuckDb.days_between("DATE '1970-01-01'", "d"), "date_diff('day', DATE '1970-01-01', d)");
    assert_eq!(SPARK.days_between("DATE '1970-01-01'", "d"), "datediff(d, DATE '1970-01-01')");
}

#[test]
fn tables_and_inserts() {
    let cols = [("run_id", "VARCHAR"), ("n", "BIGINT")];
    assert_eq!(DuckDb.create_table_if_missing("runs", &cols), "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR, n BIGINT)");
    assert_eq!(SPARK.create_table_if_missing("runs", &cols), "CREATE TABLE IF NOT EXISTS runs (run_id STRING, n BIGINT) USING parquet");
    assert_eq!(DuckDb.insert_by_name("t", "SELECT 1 AS a"), "INSERT INTO t BY NAME SELECT 1 AS a");
    assert_eq!(SPARK.insert_by_name("t", "SELECT 1 AS a"), "INSERT INTO t BY NAME SELECT 1 AS a");
}

#[test]
fn unpivot_lists_and_first_values() {
    let cols = vec!["a".to_string(), "b".to_string()];
    assert_eq!(DuckDb.unpivot("(SELECT 1)", "m", "s", &cols), "(SELECT 1) UNPIVOT (m FOR s IN (a, b))");
    assert_eq!(SPARK.unpivot("(SELECT 1)", "m", "s", &cols), "(SELECT 1) UNPIVOT (m FOR s IN (a, b))");
    assert_eq!(DuckDb.list_contains("l", "x"), "list_contains(l, x)");
    assert_eq!(SPARK.list_contains("l", "x"), "array_contains(l, x)");
    assert_eq!(DuckDb.lists_overlap("a", "b"), "list_has_any(a, b)");
    assert_eq!(SPARK.lists_overlap("a", "b"), "arrays_overlap(a, b)");
    assert_eq!(DuckDb.value_at_min("value", "day"), "arg_min({'v': value}, day).v");
    assert_eq!(SPARK.value_at_min("value", "day"), "min_by(named_struct('v', value), day).v");
}

#[test]
fn duckdb_spells_its_own_statements() {
    let d = DuckDb;
    assert_eq!(d.union_all_by_name("SELECT 1 AS a", "SELECT 2 AS a").unwrap(), "SELECT 1 AS a\nUNION ALL BY NAME\nSELECT 2 AS a");
    assert_eq!(d.star_replacing(&[("CAST(t AS VARCHAR)".into(), "t".into())]).unwrap(), "* REPLACE (CAST(t AS VARCHAR) AS t)");
    assert_eq!(d.star_excluding(&["k"]).unwrap(), "* EXCLUDE (k)");
    assert_eq!(d.keep_latest("id", "at").unwrap(), "QUALIFY rank() OVER (PARTITION BY id ORDER BY at DESC NULLS LAST) = 1");
    assert_eq!(d.asof_left_join("e", "r", "e.t >= r.t").unwrap(), "e ASOF LEFT JOIN r ON e.t >= r.t");
    assert_eq!(d.copy_to("SELECT 1", "o'k.csv", CopyFormat::Csv).unwrap(), "COPY (SELECT 1) TO 'o''k.csv' (FORMAT csv, HEADER true)");
    assert_eq!(d.copy_to("FROM g", "g.parquet", CopyFormat::Parquet).unwrap(), "COPY (FROM g) TO 'g.parquet' (FORMAT parquet)");
    assert_eq!(
        d.copy_to("FROM g", "g.parquet", CopyFormat::ParquetZstd { row_group_size: 122_880 }).unwrap(),
        "COPY (FROM g) TO 'g.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
    );
    assert!(d.tables_query(false).unwrap().contains("FROM duckdb_tables() WHERE database_name = current_database()"));
    assert!(d.tables_query(true).unwrap().contains("UNION ALL SELECT view_name, schema_name FROM duckdb_views()"));
    assert_eq!(d.add_column_if_missing("runs", "x", "VARCHAR").unwrap(), "ALTER TABLE runs ADD COLUMN IF NOT EXISTS x VARCHAR");
}

#[test]
fn spark_says_what_it_cannot_spell() {
    let no = |construct| Err(NoSpelling { engine: "Spark SQL", construct });
    assert_eq!(SPARK.union_all_by_name("a", "b"), no("UNION ALL BY NAME"));
    assert_eq!(SPARK.star_replacing(&[]), no("a star replacing columns"));
    assert_eq!(SPARK.star_excluding(&["k"]), no("a star excluding columns"));
    assert_eq!(SPARK.keep_latest("id", "at"), no("QUALIFY"));
    assert_eq!(SPARK.asof_left_join("e", "r", "c"), no("an ASOF join"));
    assert_eq!(SPARK.copy_to("q", "p", CopyFormat::Csv), no("COPY to a file"));
    assert_eq!(SPARK.tables_query(true), no("a query of the catalog"));
    assert_eq!(SPARK.add_column_if_missing("t", "c", "VARCHAR"), no("ADD COLUMN IF NOT EXISTS"));
    let message = SPARK.asof_left_join("e", "r", "c").unwrap_err().to_string();
    assert_eq!(message, "Spark SQL has no spelling for an ASOF join; only DuckDB runs use it");
}

#[test]
fn staged_dialects_spell_as_the_dialect_they_wrap() {
    let (duck, spark) = (Staged::of(&DuckDb), Staged::of(&SPARK));
    assert_eq!(duck.name(), "DuckDB");
    assert_eq!(spark.cast("x", "VARCHAR"), "CAST(x AS STRING)");
    assert_eq!(spark.list_contains("l", "x"), "array_contains(l, x)");
    assert_eq!(duck.keep_latest("id", "at"), DuckDb.keep_latest("id", "at"));
    assert_eq!(spark.copy_to("q", "p", CopyFormat::Parquet), SPARK.copy_to("q", "p", CopyFormat::Parquet));
    assert_eq!(duck.value_at_min("v", "d"), DuckDb.value_at_min("v", "d"));
}
