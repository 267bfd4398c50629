//! Publishing the output tables to a PostgreSQL schema (`output.postgres`), where a CRM reads
//! them, through the database the run's session attached read-write.
//!
//! The tables are first written into a staging schema `<schema>__segmenter_staging` (a killed
//! or failed copy leaves only that schema behind, which the next run drops), indexed, and then
//! moved into `<schema>` by one PostgreSQL transaction: the previous tables are dropped and the
//! new ones take their place, and the history tables get this as_of's rows (replacing that
//! date's). A reader sees the old set or the new one, never a mix within one statement.
//! `customer_features` goes without personal data (the `pii` columns, their renamed names and
//! every feature that reads them, as for exports) unless `allow_pii` is set.

use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::project::model::PostgresOutput;
use crate::project::Project;
use crate::validate::pii::PersonalData;
use duckdb::Connection;

/// The tables replaced as a whole, and the history tables that get this as_of's rows.
const CURRENT: [&str; 5] = ["segment_members", "tier_assignments", "customer_features", "segment_catalog", "tier_catalog"];
const HISTORY: [&str; 2] = ["segment_members_history", "tier_history"];
/// Tables every run recomputes whole, a backfill too (`campaign_results` reads the history).
const RECOMPUTED: [&str; 1] = [crate::campaigns::measure::TABLE];

/// Where and what a run publishes.
pub struct Target<'a> {
    pub output: &'a PostgresOutput,
    /// The attached database (see [`crate::postgres::Attachment::alias`]).
    pub alias: String,
    pub pii: &'a PersonalData,
}

impl<'a> Target<'a> {
    /// The project's PostgreSQL target, if it has one; `pii` as validation traced it.
    pub fn of(project: &'a Project, pii: &'a PersonalData) -> Option<Target<'a>> {
        let output = project.config.output.postgres.as_ref()?;
        Some(Target { output, alias: crate::postgres::output_alias(&output.connection), pii })
    }

    fn staging(&self) -> String {
        format!("{}__segmenter_staging", self.output.schema)
    }

    fn error(&self, step: &str, e: impl std::fmt::Display) -> Error {
        Error::Step {
            step: format!("publish to PostgreSQL (connection '{}', schema {}): {step}", self.output.connection, self.output.schema),
            message: postgres_reason(&e.to_string()),
        }
    }

    /// Run `sql` (PostgreSQL statements) in the attached database; several statements given at
    /// once run in one PostgreSQL transaction.
    fn execute(&self, conn: &Connection, step: &str, sql: &str) -> Result<()> {
        let call = format!("CALL postgres_execute({}, {}); CALL pg_clear_cache();", DuckDb.string(&self.alias), DuckDb.string(sql));
        conn.execute_batch(&call).map_err(|e| self.error(step, e))
    }
}

/// Copy the published tables of `conn` into the staging schema, then swap them in. A backfill
/// (`history_only`) sends only its date's history rows. Returns the tables written.
pub fn publish(conn: &Connection, target: &Target, as_of: &str, history_only: bool) -> Result<Vec<String>> {
    let local = local_relations(conn, target)?;
    let staging = target.staging();
    target.execute(conn, "staging schema", &format!("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", pg_ident(&staging)))?;
    let mut current = Vec::new();
    let mut history = Vec::new();
    let whole = CURRENT.iter().filter(|_| !history_only).chain(&RECOMPUTED);
    let tables = whole.map(|t| (*t, false)).chain(HISTORY.iter().map(|t| (*t, true)));
    for (table, is_history) in tables {
        if !local.iter().any(|t| t == table) {
            continue;
        }
        let columns = published_columns(conn, target, table)?;
        let filter = if is_history { format!(" WHERE as_of = {}", DuckDb.date(as_of)) } else { String::new() };
        let sql = format!(
            "CREATE TABLE {}.{}.{} AS SELECT {} FROM main.{}{filter}",
            DuckDb.ident(&target.alias),
            DuckDb.ident(&staging),
            DuckDb.ident(table),
            columns.join(", "),
            DuckDb.ident(table)
        );
        conn.execute_batch(&sql).map_err(|e| target.error(&format!("copy {table}"), e))?;
        if is_history { history.push(table) } else { current.push(table) }
    }
    target.execute(conn, "indexes", &indexes(&staging, &current))?;
    target.execute(conn, "swap", &swap(target, as_of, &current, &history))?;
    Ok(current.iter().chain(&history).map(|t| t.to_string()).collect())
}

/// The tables and views of the run's own database.
fn local_relations(conn: &Connection, target: &Target) -> Result<Vec<String>> {
    let sql = format!("SELECT name FROM ({})", DuckDb.tables_query(true)?);
    let mut stmt = conn.prepare(&sql).map_err(|e| target.error("find the tables to publish", e))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0)).and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>());
    names.map_err(|e| target.error("find the tables to publish", e))
}

/// The select list of `table`: ENUMs as text (PostgreSQL gets plain VARCHAR columns), and
/// without the personal data of `customer_features` unless allowed.
fn published_columns(conn: &Connection, target: &Target, table: &str) -> Result<Vec<String>> {
    let sql = "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ? ORDER BY column_index";
    let mut stmt = conn.prepare(sql).map_err(|e| target.error("columns", e))?;
    let rows = stmt
        .query_map([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| target.error("columns", e))?;
    let hidden = |c: &str| table == "customer_features" && !target.output.allow_pii && target.pii.why(c).is_some();
    Ok(rows
        .into_iter()
        .filter(|(c, _)| !hidden(c))
        .map(|(c, ty)| if ty.starts_with("ENUM") { format!("CAST({0} AS VARCHAR) AS {0}", DuckDb.ident(&c)) } else { DuckDb.ident(&c) })
        .collect())
}

/// Indexes a CRM looks customers and segments up by.
fn indexes(staging: &str, tables: &[&str]) -> String {
    let mut sql = Vec::new();
    for table in tables {
        let columns: &[&str] = match *table {
            "segment_members" => &["customer_id", "segment"],
            "tier_assignments" | "customer_features" => &["customer_id"],
            _ => &[],
        };
        for c in columns {
            sql.push(format!("CREATE INDEX ON {}.{} ({})", pg_ident(staging), pg_ident(table), pg_ident(c)));
        }
    }
    if sql.is_empty() { "SELECT 1".into() } else { sql.join("; ") }
}

/// One transaction: this date's history rows replaced, each current table replaced by its
/// staged copy, the staging schema dropped. The history goes first: its rows take the time,
/// and readers of the current tables wait only from their replacement (which locks them) to
/// the commit.
fn swap(target: &Target, as_of: &str, current: &[&str], history: &[&str]) -> String {
    let (schema, staging) = (pg_ident(&target.output.schema), pg_ident(&target.staging()));
    let mut sql = vec![format!("CREATE SCHEMA IF NOT EXISTS {schema}")];
    for t in history {
        let t = pg_ident(t);
        sql.push(format!("CREATE TABLE IF NOT EXISTS {schema}.{t} (LIKE {staging}.{t})"));
        sql.push(format!("DELETE FROM {schema}.{t} WHERE as_of = DATE {}", DuckDb.string(as_of)));
        sql.push(format!("INSERT INTO {schema}.{t} SELECT * FROM {staging}.{t}"));
    }
    if !current.is_empty() {
        sql.push(lock_all(&target.output.schema, current));
    }
    for t in current {
        let t = pg_ident(t);
        sql.push(format!("DROP TABLE IF EXISTS {schema}.{t}"));
        sql.push(format!("ALTER TABLE {staging}.{t} SET SCHEMA {schema}"));
    }
    sql.push(format!("DROP SCHEMA {staging} CASCADE"));
    sql.join(";\n")
}

/// A block taking the ACCESS EXCLUSIVE locks of the published tables that exist, all at once
/// and never waiting while it holds one: `NOWAIT`, and when one is taken (`lock_not_available`)
/// the block's subtransaction lets go of those it got and tries again 50 ms later. A reader
/// that locks the tables in another order (the catalog, then the members) would otherwise
/// deadlock with the swap, and PostgreSQL would cancel one of the two. After 60 s of readers it
/// waits for the locks like a plain `LOCK`.
fn lock_all(schema: &str, tables: &[&str]) -> String {
    let names: Vec<String> = tables.iter().map(|t| DuckDb.string(t)).collect();
    let body = [
        "DECLARE deadline timestamptz := clock_timestamp() + interval '60 seconds'; tables text;".to_string(),
        "BEGIN".to_string(),
        format!(
            "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO tables FROM pg_tables WHERE schemaname = {} AND tablename IN ({});",
            DuckDb.string(schema),
            names.join(", ")
        ),
        "IF tables IS NULL THEN RETURN; END IF;".to_string(),
        "LOOP BEGIN EXECUTE 'LOCK TABLE ' || tables || ' IN ACCESS EXCLUSIVE MODE NOWAIT'; RETURN;".to_string(),
        "EXCEPTION WHEN lock_not_available THEN IF clock_timestamp() > deadline THEN EXIT; END IF; PERFORM pg_sleep(0.05); END; END LOOP;".to_string(),
        "EXECUTE 'LOCK TABLE ' || tables || ' IN ACCESS EXCLUSIVE MODE';".to_string(),
        "END".to_string(),
    ];
    format!("DO {}", DuckDb.string(&body.join(" ")))
}

/// PostgreSQL's own words (`ERROR:  permission denied for ...`) when DuckDB quotes the failed
/// statements before them, else the message's first line.
fn postgres_reason(message: &str) -> String {
    match message.find("ERROR:") {
        Some(at) => crate::execute::first_line(&message[at..]),
        None => crate::execute::first_line(message),
    }
}

/// A PostgreSQL identifier, double-quoted.
fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_swap_is_one_transaction_of_plain_statements() {
        let output = PostgresOutput { connection: "crm".into(), schema: "segments".into(), allow_pii: false };
        let pii = PersonalData::default();
        let target = Target { output: &output, alias: "__segmenter_pgout_crm".into(), pii: &pii };
        assert_eq!(
            swap(&target, "2026-06-30", &["segment_members"], &["tier_history"]),
            format!(
                "CREATE SCHEMA IF NOT EXISTS \"segments\";\n\
                 CREATE TABLE IF NOT EXISTS \"segments\".\"tier_history\" (LIKE \"segments__segmenter_staging\".\"tier_history\");\n\
                 DELETE FROM \"segments\".\"tier_history\" WHERE as_of = DATE '2026-06-30';\n\
                 INSERT INTO \"segments\".\"tier_history\" SELECT * FROM \"segments__segmenter_staging\".\"tier_history\";\n\
                 {};\n\
                 DROP TABLE IF EXISTS \"segments\".\"segment_members\";\n\
                 ALTER TABLE \"segments__segmenter_staging\".\"segment_members\" SET SCHEMA \"segments\";\n\
                 DROP SCHEMA \"segments__segmenter_staging\" CASCADE",
                lock_all("segments", &["segment_members"])
            )
        );
        // The schema name is a literal inside the block's quoted body: quotes doubled twice.
        let lock = lock_all("crm's", &["segment_members", "segment_catalog"]);
        assert!(lock.starts_with("DO 'DECLARE deadline timestamptz := clock_timestamp() + interval ''60 seconds''; tables text; BEGIN "), "{lock}");
        assert!(lock.contains("WHERE schemaname = ''crm''''s'' AND tablename IN (''segment_members'', ''segment_catalog'');"), "{lock}");
        assert!(lock.contains("EXCEPTION WHEN lock_not_available THEN"), "{lock}");
        assert_eq!(indexes("s", &["segment_members", "segment_catalog"]), "CREATE INDEX ON \"s\".\"segment_members\" (\"customer_id\"); CREATE INDEX ON \"s\".\"segment_members\" (\"segment\")");
    }
}
