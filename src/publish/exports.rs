//! Export files: segment members as Parquet or CSV in a dated folder, written atomically
//! (temporary file, then rename), with only the configured columns, and without customers who
//! opted out of the export's channel.

use crate::compile::dialect::{CopyFormat, Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::project::model::{ExportDef, ExportFormat, ExportLayout};
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

/// The condition on `m.customer_id` that keeps only customers contactable on `channel`. A
/// customer's latest consent rows for it (all rows at the latest time when the consent source
/// has a time column, otherwise all rows) must all say `opted_out = false`: an opt-out, an
/// empty flag or one that is neither true nor false makes them not contactable. A customer
/// without any row is not contactable unless `consent.without_row: contactable`. Channels
/// compare trimmed and in lower case (`EMAIL`, ` email`); rows without a customer id are left
/// out (the key gate reports them).
fn contactable_condition(project: &Project, channel: &str, as_of: &str) -> Result<Option<String>> {
    let d = DuckDb;
    let Some(consent) = project.config.consent.as_ref() else { return Ok(None) };
    let (Some(def), Some(relation)) = (project.config.sources.get(&consent.source), super::keys::source_relation(project, &consent.source)) else {
        return Ok(None);
    };
    let (key, ch, out) = (d.ident(&def.key), d.ident(&consent.channel_column), d.ident(&consent.opted_out_column));
    let channel = crate::project::model::normalize_channel(channel);
    let mut filter = format!("{key} IS NOT NULL AND lower(trim({})) = {}", d.cast(&ch, "VARCHAR"), d.string(&channel));
    if let Some(t) = &def.time {
        // Consent changes after the run date do not apply to it.
        filter.push_str(&format!(" AND {} < {}", d.ident(t), d.day_after(as_of)));
    }
    let latest = match &def.time {
        Some(t) => d.keep_latest(&key, &d.ident(t))?,
        None => String::new(),
    };
    let clear = format!("bool_and(TRY_CAST({out} AS BOOLEAN) IS NOT DISTINCT FROM false)");
    let verdict = format!("SELECT {key} AS k, {clear} AS ok FROM (SELECT * FROM {relation} WHERE {filter} {latest}) GROUP BY {key}");
    Ok(Some(match consent.without_row {
        crate::project::model::WithoutRow::NotContactable => format!("m.customer_id IN (SELECT k FROM ({verdict}) WHERE ok)"),
        crate::project::model::WithoutRow::Contactable => format!("m.customer_id NOT IN (SELECT k FROM ({verdict}) WHERE NOT ok)"),
    }))
}

/// The SELECT of one export's rows (of one segment when `only` is given).
pub fn export_select(project: &Project, model: &Resolved, e: &ExportDef, only: Option<&str>) -> Result<String> {
    let d = DuckDb;
    let features: Vec<&str> = model.features.iter().map(|f| f.name.as_str()).collect();
    let mut cols = Vec::new();
    let mut need_features = false;
    let mut need_customers = false;
    for c in &e.columns {
        if c == "segment" {
            // Plain text in the files (it is an ENUM in the database).
            cols.push(format!("{} AS {}", d.cast(&format!("m.{}", d.ident(c)), "VARCHAR"), d.ident(c)));
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
        if let (Some(relation), Some(def)) = (super::keys::source_relation(project, POPULATION_SOURCE), project.config.sources.get(POPULATION_SOURCE)) {
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
    if let Some(channel) = e.channel.as_deref() {
        conds.extend(contactable_condition(project, channel, &model.as_of)?);
    }
    if !conds.is_empty() {
        sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
    }
    sql.push_str(" ORDER BY m.segment, m.customer_id");
    Ok(sql)
}

/// This run's export files, written into a staging folder beside the dated folder they are
/// for; [`StagedExports::promote`] moves them into place once the database is published.
#[derive(Debug)]
pub struct StagedExports {
    staging: PathBuf,
    target: PathBuf,
    /// A selected run's files join the dated folder one by one instead of replacing it.
    merge: bool,
    /// The files, by the paths they have once promoted (relative to the project when inside it).
    pub files: Vec<ExportedFile>,
}

fn exports_root(project: &Project) -> PathBuf {
    crate::project::resolve(&project.root, &project.config.output.exports_dir)
}

const STAGING_PREFIX: &str = ".staging-";
const REPLACED_PREFIX: &str = ".replaced-";

/// Write the project's exports into `<exports_dir>/.staging-<as_of>-<pid>/`: all of them, or
/// with `only` (a selected run's segments) the files that hold any of those segments.
pub fn stage_exports(conn: &duckdb::Connection, project: &Project, model: &Resolved, only: Option<&[String]>) -> Result<StagedExports> {
    let root = exports_root(project);
    let target = root.join(&model.as_of);
    let staging = root.join(format!("{STAGING_PREFIX}{}-{}", model.as_of, std::process::id()));
    let mut staged = StagedExports { staging, target, merge: only.is_some(), files: Vec::new() };
    let touched = |seg: &String| only.is_none_or(|names| names.contains(seg));
    for e in project.config.output.exports.iter().filter(|e| !model.skipped_exports.contains(&e.name)) {
        let segments = segment_names(conn, e)?;
        if only.is_some() && !segments.iter().any(touched) {
            continue;
        }
        let ext = match e.format {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
        };
        let targets: Result<Vec<(PathBuf, String)>> = match e.layout {
            ExportLayout::Long => export_select(project, model, e, None).map(|q| vec![(PathBuf::from(format!("{}.{ext}", e.name)), q)]),
            // One file per selected segment, also when it is empty (an empty audience is news).
            ExportLayout::PerSegment => segments
                .into_iter()
                .filter(touched)
                .map(|seg| Ok((Path::new(&e.name).join(format!("{seg}.{ext}")), export_select(project, model, e, Some(&seg))?)))
                .collect(),
        };
        let targets = targets.inspect_err(|_| staged.discard())?;
        for (rel, query) in targets {
            let rows = copy_to(conn, &query, &staged.staging.join(&rel), e.format).inspect_err(|_| staged.discard())?;
            let path = staged.target.join(&rel);
            let shown = path.strip_prefix(&project.root).unwrap_or(&path).to_string_lossy().to_string();
            staged.files.push(ExportedFile { export: e.name.clone(), path: shown, rows });
        }
    }
    Ok(staged)
}

impl StagedExports {
    /// Replace the dated folder by the staged one (a project without exports leaves it alone).
    /// Two renames: a crash between them leaves `.replaced-<as_of>-<pid>`, which the next run
    /// puts back ([`clean_stale`]).
    pub fn promote(mut self) -> Result<Vec<ExportedFile>> {
        if !self.staging.exists() {
            return Ok(std::mem::take(&mut self.files));
        }
        if self.merge {
            return self.promote_files();
        }
        let io = |what: &Path| {
            let context = format!("moving exports into {}", what.display());
            move |e: std::io::Error| Error::Io { context, source: e }
        };
        let name = self.target.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let replaced = self.target.with_file_name(format!("{REPLACED_PREFIX}{name}-{}", std::process::id()));
        if self.target.exists() {
            std::fs::rename(&self.target, &replaced).map_err(io(&self.target))?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            let _ = std::fs::rename(&replaced, &self.target);
            return Err(io(&self.target)(e));
        }
        let _ = std::fs::remove_dir_all(&replaced);
        Ok(std::mem::take(&mut self.files))
    }

    /// Move each staged file over its namesake in the dated folder (a selected run), each
    /// rename atomic; the dated folder's other files stay as they are.
    fn promote_files(mut self) -> Result<Vec<ExportedFile>> {
        for file in walk_files(&self.staging) {
            let Ok(rel) = file.strip_prefix(&self.staging) else { continue };
            let dest = self.target.join(rel);
            let io = |e: std::io::Error| Error::Io { context: format!("moving an export into {}", dest.display()), source: e };
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::rename(&file, &dest).map_err(io)?;
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        Ok(std::mem::take(&mut self.files))
    }

    /// Remove the staging folder (a failed run).
    pub fn discard(&self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Staged files that were never promoted go with their owner: a run failing or stopped by a
/// signal after its exports were staged (writing the manifest row, say) leaves no staging folder.
impl Drop for StagedExports {
    fn drop(&mut self) {
        self.discard();
    }
}

/// Leftovers of runs that died (called under the run lock, so no other run is writing):
/// staging folders are removed, a dated folder set aside by an interrupted promotion is put back
/// (or removed when its replacement made it), and temporary files of older versions are removed.
pub fn clean_stale(project: &Project) {
    let root = exports_root(project);
    let Ok(entries) = std::fs::read_dir(&root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if name.starts_with(STAGING_PREFIX) {
            let _ = std::fs::remove_dir_all(&path);
        } else if let Some(rest) = name.strip_prefix(REPLACED_PREFIX) {
            let as_of = rest.rsplit_once('-').map_or(rest, |(d, _)| d);
            let target = root.join(as_of);
            if target.exists() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::rename(&path, &target);
            }
        } else if path.is_dir() {
            remove_tmp_files(&path);
        }
    }
}

fn remove_tmp_files(dir: &Path) {
    for path in walk_files(dir) {
        if path.extension().is_some_and(|e| e == "tmp") {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Every file under `dir`, recursively.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The export's `segments:` (names and tag:NAME) as a condition over `segment_catalog`.
fn catalog_filter(e: &ExportDef) -> Option<String> {
    if e.segments.is_empty() {
        return None;
    }
    let d = DuckDb;
    let names: Vec<String> = e.segments.iter().filter(|s| !s.starts_with("tag:")).cloned().collect();
    let tags: Vec<String> = e.segments.iter().filter_map(|s| s.strip_prefix("tag:").map(str::to_string)).collect();
    Some(format!("{} OR {}", d.list_contains(&d.string_list(&names), "name"), d.lists_overlap("tags", &d.string_list(&tags))))
}

fn segment_names(conn: &duckdb::Connection, e: &ExportDef) -> Result<Vec<String>> {
    let sql = match catalog_filter(e) {
        Some(chosen) => format!("SELECT name FROM segment_catalog WHERE {chosen} ORDER BY name"),
        None => "SELECT name FROM segment_catalog ORDER BY name".to_string(),
    };
    crate::execute::column_strings(conn, "export", &sql, &[])
}

/// Write a query's rows to `path` (inside the staging folder), creating its folder.
fn copy_to(conn: &duckdb::Connection, query: &str, path: &Path, format: ExportFormat) -> Result<i64> {
    let d = DuckDb;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::Io { context: format!("creating {}", parent.display()), source: e })?;
    }
    let format = match format {
        ExportFormat::Parquet => CopyFormat::Parquet,
        ExportFormat::Csv => CopyFormat::Csv,
    };
    let sql = d.copy_to(query, &path.to_string_lossy(), format)?;
    let rows = conn
        .execute(&sql, [])
        .map_err(|e| Error::Step { step: format!("export {}", path.display()), message: crate::execute::first_line(&e.to_string()) })?;
    Ok(rows as i64)
}
