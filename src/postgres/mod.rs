//! PostgreSQL through DuckDB's `postgres` extension: the databases a session attaches (sources
//! read-only, the publish target read-write), the extension they need, and the relation a
//! `format: postgres` source is read from.
//!
//! Each connection's DSN is read from the environment variable its `connections:` entry names
//! and registered with [`redact`], so that neither the DSN nor its password reaches any message,
//! the `runs` table or the terminal.

pub mod redact;

use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::project::model::{SourceDef, SourceFormat};
use crate::project::Project;
use duckdb::Connection;
use std::path::PathBuf;

/// Environment variable naming the folder DuckDB loads extensions from (overrides
/// `settings.extension_directory`).
pub const EXTENSION_DIR_ENV: &str = "SEGMENTER_EXTENSION_DIR";

/// One database a session attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The connection's name under `connections:`.
    pub connection: String,
    /// The environment variable the DSN came from (named in messages instead of the DSN).
    pub dsn_env: String,
    pub dsn: String,
    /// Sources are attached read-only; the publish target read-write.
    pub read_only: bool,
}

impl Attachment {
    /// The catalog name the session knows the database by.
    pub fn alias(&self) -> String {
        if self.read_only {
            source_alias(&self.connection)
        } else {
            output_alias(&self.connection)
        }
    }
}

/// The catalog name of a source connection (attached read-only).
pub fn source_alias(connection: &str) -> String {
    format!("__segmenter_pg_{connection}")
}

/// The catalog name of the connection `output.postgres` publishes to (attached read-write).
pub fn output_alias(connection: &str) -> String {
    format!("__segmenter_pgout_{connection}")
}

/// What a session attaches, and where the extension comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Databases {
    pub attach: Vec<Attachment>,
    pub extension_directory: Option<PathBuf>,
}

impl Databases {
    /// The connections the project's sources use (read-only) and, with `publish`, the one
    /// `output.postgres` publishes to. A connection whose DSN variable is not set is an error.
    pub fn project(project: &Project, publish: bool) -> Result<Databases> {
        let config = &project.config;
        let mut attach = Vec::new();
        let sources = config.sources.values().filter(|s| s.read_format() == SourceFormat::Postgres).filter_map(|s| s.connection.as_deref());
        let output = config.output.postgres.as_ref().filter(|_| publish).map(|o| o.connection.as_str());
        let wanted = sources.map(|c| (c, true)).chain(output.map(|c| (c, false)));
        for (name, read_only) in wanted {
            if attach.iter().any(|a: &Attachment| a.connection == name && a.read_only == read_only) {
                continue;
            }
            // Validation reports an unknown connection, or a `dsn_env` that names no variable, at its line.
            let Some(def) = config.connections.get(name).filter(|d| is_identifier(&d.dsn_env)) else { continue };
            let dsn = std::env::var(&def.dsn_env).map_err(|_| {
                Error::Usage(format!(
                    "connection '{name}': the environment variable {} is not set; set it to the database's DSN \
                     (host=... port=... dbname=... user=... password=...)",
                    def.dsn_env
                ))
            })?;
            redact::register(&dsn, &def.dsn_env);
            attach.push(Attachment { connection: name.to_string(), dsn_env: def.dsn_env.clone(), dsn, read_only });
        }
        let extension_directory = std::env::var_os(EXTENSION_DIR_ENV)
            .map(PathBuf::from)
            .or_else(|| config.settings.extension_directory.as_ref().map(|d| crate::project::resolve(&project.root, d)));
        Ok(Databases { attach, extension_directory })
    }
}

/// A plain SQL identifier or environment variable name: a letter or `_`, then letters, digits, `_`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Load the extension and attach every database; before the session is locked down, which
/// forbids both from then on.
pub fn attach(conn: &Connection, databases: &Databases) -> Result<()> {
    if databases.attach.is_empty() {
        return Ok(());
    }
    load_extension(conn, databases.extension_directory.as_ref())?;
    for a in &databases.attach {
        let mode = if a.read_only { ", READ_ONLY" } else { "" };
        let sql = format!("ATTACH {} AS {} (TYPE postgres{mode})", DuckDb.string(&a.dsn), DuckDb.ident(&a.alias()));
        conn.execute_batch(&sql).map_err(|e| connect_error(a, &e.to_string()))?;
    }
    Ok(())
}

/// `connection 'crm' ($SEGMENTER_PG_DSN): cannot connect: <PostgreSQL's reason>`.
fn connect_error(a: &Attachment, raw: &str) -> Error {
    let text = crate::execute::first_line(raw);
    // DuckDB says `IO Error: Unable to connect to Postgres at "<dsn>": <reason>`.
    let reason = text.split_once("\": ").map_or(text.as_str(), |(_, reason)| reason).trim();
    Error::Usage(format!("connection '{}' (${}): cannot connect: {reason}", a.connection, a.dsn_env))
}

fn load_extension(conn: &Connection, dir: Option<&PathBuf>) -> Result<()> {
    if let Some(dir) = dir {
        let sql = format!("SET extension_directory = {}", DuckDb.string(&dir.to_string_lossy()));
        conn.execute_batch(&sql).map_err(|e| Error::Usage(format!("extension directory {}: {}", dir.display(), e)))?;
    }
    if conn.execute_batch("LOAD postgres").is_ok() {
        return Ok(());
    }
    // Without a folder of its own, DuckDB may fetch the extension from its repository.
    if dir.is_none() && conn.execute_batch("INSTALL postgres; LOAD postgres").is_ok() {
        return Ok(());
    }
    let place = dir.map_or_else(|| "DuckDB's extension folder".to_string(), |d| d.display().to_string());
    Err(Error::Usage(format!(
        "DuckDB's postgres extension is not in {place} and could not be installed: run scripts/duckdb-extensions.sh \
         (it fetches the PyPI package duckdb-extension-postgres-scanner==1.5.5) and set {EXTENSION_DIR_ENV} or \
         settings.extension_directory to the folder it prints"
    )))
}

/// The DuckDB relation a `format: postgres` source reads: its table in the attached database,
/// or its query run by PostgreSQL.
pub fn relation(def: &SourceDef) -> String {
    let d = DuckDb;
    let alias = source_alias(def.connection.as_deref().unwrap_or_default());
    match (&def.table, &def.query) {
        (_, Some(query)) => format!("postgres_query({}, {})", d.string(&alias), d.string(query)),
        (Some(table), None) => {
            let (schema, name) = table.split_once('.').unwrap_or(("public", table));
            format!("{}.{}.{}", d.ident(&alias), d.ident(schema), d.ident(name))
        }
        (None, None) => d.ident(&alias),
    }
}

/// How a source is named in messages: `postgres table public.orders on connection 'warehouse'`.
pub fn describe(def: &SourceDef) -> String {
    let what = match (&def.table, &def.query) {
        (_, Some(_)) => "query".to_string(),
        (Some(t), None) => format!("table {t}"),
        (None, None) => "table ?".to_string(),
    };
    format!("postgres {what} on connection '{}'", def.connection.as_deref().unwrap_or_default())
}
