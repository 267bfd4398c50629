//! What an incremental run starts from, kept in the output database beside the tables the
//! source scans store (`compile::STATE_PREFIX`): the `as_of` and the SQL of each scan that
//! filled them, and the files (with their content hashes) the scans read.

use super::InputFile;
use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::execute::{first_line, table_exists};
use duckdb::Connection;

/// One row per scan table: `scan`, `source`, `as_of`, `definition` (its SQL at that `as_of`).
pub const STATE_TABLE: &str = "__segmenter_state";
/// One row per file the scans read: `source`, `path`, `bytes`, `blake3`.
pub const STATE_FILES_TABLE: &str = "__segmenter_state_files";

/// The state a run left.
#[derive(Debug, Default)]
pub struct Saved {
    pub as_of: String,
    /// (scan table, its SQL at `as_of`).
    pub scans: Vec<(String, String)>,
    pub files: Vec<InputFile>,
}

fn fail(e: duckdb::Error) -> Error {
    Error::Step { step: "read the state of the last run".into(), message: first_line(&e.to_string()) }
}

/// The state the last run left, if any.
pub fn read(conn: &Connection) -> Result<Option<Saved>> {
    if !table_exists(conn, STATE_TABLE)? || !table_exists(conn, STATE_FILES_TABLE)? {
        return Ok(None);
    }
    let mut saved = Saved::default();
    let mut stmt = conn.prepare(&format!("SELECT scan, CAST(as_of AS VARCHAR), definition FROM {STATE_TABLE} ORDER BY scan")).map_err(fail)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))).map_err(fail)?;
    for row in rows {
        let (scan, as_of, definition) = row.map_err(fail)?;
        saved.as_of = as_of;
        saved.scans.push((scan, definition));
    }
    let mut stmt = conn.prepare(&format!("SELECT source, path, bytes, blake3 FROM {STATE_FILES_TABLE} ORDER BY source, path")).map_err(fail)?;
    let rows = stmt
        .query_map([], |r| Ok(InputFile { source: r.get(0)?, path: r.get(1)?, bytes: r.get::<_, i64>(2)?.max(0) as u64, blake3: r.get(3)? }))
        .map_err(fail)?;
    saved.files = rows.collect::<duckdb::Result<Vec<_>>>().map_err(fail)?;
    Ok((!saved.scans.is_empty()).then_some(saved))
}

/// Statements recording the state this run leaves: its scans (table, SQL) as of `as_of` and
/// the files they read; state tables of scans the definitions no longer have are dropped
/// (`stale`).
pub fn save_sql(as_of: &str, scans: &[(String, String, String)], files: &[InputFile], stale: &[String]) -> String {
    let d = DuckDb;
    let mut sql = format!(
        "CREATE OR REPLACE TABLE {STATE_TABLE} (scan VARCHAR, source VARCHAR, as_of DATE, definition VARCHAR);\n\
         CREATE OR REPLACE TABLE {STATE_FILES_TABLE} (source VARCHAR, path VARCHAR, bytes BIGINT, blake3 VARCHAR);\n"
    );
    for (scan, source, definition) in scans {
        sql.push_str(&format!("INSERT INTO {STATE_TABLE} VALUES ({}, {}, {}, {});\n", d.string(scan), d.string(source), d.date(as_of), d.string(definition)));
    }
    for f in files {
        sql.push_str(&format!(
            "INSERT INTO {STATE_FILES_TABLE} VALUES ({}, {}, {}, {});\n",
            d.string(&f.source),
            d.string(&f.path),
            f.bytes,
            d.string(&f.blake3)
        ));
    }
    for table in stale {
        sql.push_str(&format!("DROP TABLE IF EXISTS {};\n", d.ident(table)));
    }
    sql
}

/// The state tables in the database (names starting with `compile::STATE_PREFIX`).
pub fn state_tables(conn: &Connection) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND starts_with(table_name, {}) ORDER BY 1",
        DuckDb.string(crate::compile::STATE_PREFIX)
    );
    crate::execute::column_strings(conn, "list the state tables", &sql, &[])
}
