//! Export files: segment members as Parquet or CSV in a dated folder, written atomically
//! (temporary file, then rename), with only the configured columns, and without customers who
//! opted out of the export's channel.

use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::project::model::{ExportDef, ExportFormat, ExportLayout, SourceFormat};
use crate::project::Project;
use crate::validate::{Resolved, POPULATION_SOURCE};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A file written by an export.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExportedFile {
    pub export: String,
    pub path: String,
    pub rows: i64,
}

/// A source with its renames applied (columns by their canonical names).
fn read_source(project: &Project, name: &str) -> Option<String> {
    let d = DuckDb;
    let def = project.config.sources.get(name)?;
    let path = crate::project::resolve(&project.root, &def.path).to_string_lossy().replace('\\', "/");
    let format = def.format.or_else(|| SourceFormat::from_path(&def.path)).unwrap_or(SourceFormat::Csv);
    let renames: Vec<(String, String)> = def.rename.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
    Some(format!("(SELECT {} FROM {})", d.star_renaming(&renames), d.read_source(format, &path)))
}

/// Customer ids opted out of `channel`: the latest row per customer when the consent source has
/// a time column, otherwise any opt-out row.
fn opted_out_sql(project: &Project, channel: &str, as_of: &str) -> Option<String> {
    let d = DuckDb;
    let consent = project.config.consent.as_ref()?;
    let def = project.config.sources.get(&consent.source)?;
    let relation = read_source(project, &consent.source)?;
    let (key, ch, out) = (d.ident(&def.key), d.ident(&consent.channel_column), d.ident(&consent.opted_out_column));
    let mut filter = format!("{ch} = {}", d.string(channel));
    if let Some(t) = &def.time {
        // Consent changes after the run date do not apply to it.
        filter.push_str(&format!(" AND {} < {}", d.ident(t), d.day_after(as_of)));
    }
    Some(match &def.time {
        Some(t) => format!(
            "SELECT {key} FROM {relation} WHERE {filter} QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {} DESC NULLS LAST) = 1 AND {out}",
            d.ident(t)
        ),
        None => format!("SELECT {key} FROM {relation} WHERE {filter} GROUP BY {key} HAVING bool_or({out})"),
    })
}

/// The SELECT of one export's rows (of one segment when `only` is given).
pub fn export_select(project: &Project, model: &Resolved, e: &ExportDef, only: Option<&str>) -> String {
    let d = DuckDb;
    let features: Vec<&str> = model.features.iter().map(|f| f.name.as_str()).collect();
    let mut cols = Vec::new();
    let mut need_features = false;
    let mut need_customers = false;
    for c in &e.columns {
        if c == "segment" {
            // Plain text in the files (it is an ENUM in the database).
            cols.push(format!("CAST(m.{0} AS VARCHAR) AS {0}", d.ident(c)));
        } else if c == "customer_id" {
            cols.push(format!("m.{}", d.ident(c)));
        } else if features.iter().any(|f| f == c) {
            need_features = true;
            cols.push(format!("f.{}", d.ident(c)));
        } else {
            need_customers = true;
            cols.push(format!("c.{}", d.ident(c)));
        }
    }
    let mut sql = format!("SELECT {} FROM segment_members AS m", cols.join(", "));
    if need_features {
        sql.push_str(" JOIN customer_features AS f ON f.customer_id = m.customer_id");
    }
    if need_customers {
        if let (Some(relation), Some(def)) = (read_source(project, POPULATION_SOURCE), project.config.sources.get(POPULATION_SOURCE)) {
            sql.push_str(&format!(" LEFT JOIN (SELECT * FROM {relation}) AS c ON c.{} = m.customer_id", d.ident(&def.key)));
        }
    }
    let mut conds = Vec::new();
    if let Some(seg) = only {
        conds.push(format!("m.segment = {}", d.string(seg)));
    }
    if let Some(chosen) = catalog_filter(e) {
        conds.push(format!("m.segment IN (SELECT name FROM segment_catalog WHERE {chosen})"));
    }
    if let Some(q) = e.channel.as_deref().and_then(|ch| opted_out_sql(project, ch, &model.as_of)) {
        conds.push(format!("m.customer_id NOT IN ({q})"));
    }
    if !conds.is_empty() {
        sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
    }
    sql.push_str(" ORDER BY m.segment, m.customer_id");
    sql
}

/// Write every export of the project for this run; returns the files written.
pub fn write_exports(conn: &duckdb::Connection, project: &Project, model: &Resolved) -> Result<Vec<ExportedFile>> {
    let dir = crate::project::resolve(&project.root, &project.config.output.exports_dir).join(&model.as_of);
    let mut written = Vec::new();
    for e in &project.config.output.exports {
        let ext = match e.format {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
        };
        let targets: Vec<(PathBuf, String)> = match e.layout {
            ExportLayout::Long => vec![(dir.join(format!("{}.{ext}", e.name)), export_select(project, model, e, None))],
            // One file per selected segment, also when it is empty (an empty audience is news).
            ExportLayout::PerSegment => segment_names(conn, e)?
                .into_iter()
                .map(|seg| (dir.join(&e.name).join(format!("{seg}.{ext}")), export_select(project, model, e, Some(&seg))))
                .collect(),
        };
        for (path, query) in targets {
            let rows = copy_atomically(conn, &query, &path, e.format)?;
            let shown = path.strip_prefix(&project.root).unwrap_or(&path).to_string_lossy().to_string();
            written.push(ExportedFile { export: e.name.clone(), path: shown, rows });
        }
    }
    Ok(written)
}

/// The export's `segments:` (names and tag:NAME) as a condition over `segment_catalog`.
fn catalog_filter(e: &ExportDef) -> Option<String> {
    if e.segments.is_empty() {
        return None;
    }
    let d = DuckDb;
    let names: Vec<String> = e.segments.iter().filter(|s| !s.starts_with("tag:")).cloned().collect();
    let tags: Vec<String> = e.segments.iter().filter_map(|s| s.strip_prefix("tag:").map(str::to_string)).collect();
    Some(format!("list_contains({}, name) OR list_has_any(tags, {})", d.string_list(&names), d.string_list(&tags)))
}

fn segment_names(conn: &duckdb::Connection, e: &ExportDef) -> Result<Vec<String>> {
    let sql = match catalog_filter(e) {
        Some(chosen) => format!("SELECT name FROM segment_catalog WHERE {chosen} ORDER BY name"),
        None => "SELECT name FROM segment_catalog ORDER BY name".to_string(),
    };
    crate::execute::column_strings(conn, "export", &sql, &[])
}

/// COPY a query to a temporary sibling of `path`, then rename it into place.
fn copy_atomically(conn: &duckdb::Connection, query: &str, path: &Path, format: ExportFormat) -> Result<i64> {
    let d = DuckDb;
    let io = |e: std::io::Error| Error::Io { context: format!("writing {}", path.display()), source: e };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let options = match format {
        ExportFormat::Parquet => "FORMAT parquet",
        ExportFormat::Csv => "FORMAT csv, HEADER true",
    };
    let sql = format!("COPY ({query}) TO {} ({options})", d.string(&tmp.to_string_lossy()));
    let rows = conn.execute(&sql, []).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Step { step: format!("export {}", path.display()), message: crate::execute::first_line(&e.to_string()) }
    })?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(rows as i64)
}
