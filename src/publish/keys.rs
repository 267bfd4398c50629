//! Data-quality gates on keys and consent rows, checked before anything is published.
//!
//! Duplicate customer ids multiply every row published for them, and an empty id becomes a
//! customer of its own; an empty id in the consent data would make the opt-out list useless,
//! and an opt-out flag that is neither true nor false says nothing about consent. Each finding
//! blocks the publish (exit 1) unless `--force`; consent rows that stay unclear then leave their
//! customer out of every export of that channel.

use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::project::Project;
use crate::validate::POPULATION_SOURCE;
use duckdb::Connection;

/// A source with its renames applied (columns by the names the definitions use).
pub fn source_relation(project: &Project, name: &str) -> Option<String> {
    let d = DuckDb;
    let def = project.config.sources.get(name)?;
    let path = crate::project::resolve(&project.root, &def.path).to_string_lossy().replace('\\', "/");
    let format = def.format.or_else(|| crate::project::model::SourceFormat::from_path(&def.path)).unwrap_or(crate::project::model::SourceFormat::Csv);
    let renames: Vec<(String, String)> = def.rename.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
    Some(format!("(SELECT {} FROM {})", d.star_renaming(&renames), d.read_source(format, &path, def.csv.as_ref())))
}

/// The first typed column (`types:`, and the `time` column as a timestamp) of a CSV source whose
/// values do not all convert, named with its source, file, count and an example value: text a
/// CSV dialect did not parse (`31/12/2026 23:59`, `682,64`) would otherwise fail deep inside a
/// step, or turn into NULLs.
pub fn unparsed_values(conn: &Connection, project: &Project) -> Result<()> {
    let d = DuckDb;
    for (name, def) in &project.config.sources {
        let csv = def.format.or_else(|| crate::project::model::SourceFormat::from_path(&def.path)) == Some(crate::project::model::SourceFormat::Csv);
        let exists = def.is_glob() || crate::project::resolve(&project.root, &def.path).exists();
        let Some(relation) = source_relation(project, name).filter(|_| csv && exists) else { continue };
        let mut typed: Vec<(&str, &str)> = def.types.iter().map(|(c, t)| (c.as_str(), t.as_str())).collect();
        if let Some(time) = def.time.as_deref().filter(|t| !def.types.contains_key(*t)) {
            typed.push((time, "TIMESTAMP"));
        }
        for (column, ty) in typed {
            let c = d.ident(column);
            let sql = format!(
                "SELECT count(*), 0, CAST(min({c}) AS VARCHAR) FROM {relation} WHERE {c} IS NOT NULL AND TRY_CAST({c} AS {ty}) IS NULL"
            );
            let (n, _, example) = query_row(conn, &format!("check the values of source '{name}'"), &sql)?;
            if n > 0 {
                return Err(Error::Data(format!(
                    "source '{name}' ({}): column '{column}' has {n} value(s) that are not {ty}, e.g. '{}'; describe the file's \
                     format under `csv:` (dateformat, timestampformat, decimal_separator, delim) or correct the values",
                    def.path,
                    example.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// Problems with the customers source's key and the consent source's rows (empty when fine).
pub fn check(conn: &Connection, project: &Project) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    if let Some(p) = customer_keys(conn, project)? {
        problems.push(p);
    }
    // An optional consent source without data is validation's concern (E063 for channel exports).
    let consent_source = project.config.consent.as_ref().and_then(|c| project.config.sources.get(&c.source));
    if consent_source.is_some_and(|def| def.is_glob() || crate::project::resolve(&project.root, &def.path).exists()) {
        problems.extend(consent_rows(conn, project)?);
    }
    Ok(problems)
}

fn query_row(conn: &Connection, step: &str, sql: &str) -> Result<(i64, i64, Option<String>)> {
    conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| Error::Step { step: step.to_string(), message: crate::execute::first_line(&e.to_string()) })
}

/// Duplicate and empty customer ids in the population source.
fn customer_keys(conn: &Connection, project: &Project) -> Result<Option<String>> {
    let d = DuckDb;
    let (Some(relation), Some(def)) = (source_relation(project, POPULATION_SOURCE), project.config.sources.get(POPULATION_SOURCE)) else {
        return Ok(None);
    };
    let key = d.ident(&def.key);
    let sql = format!(
        "SELECT count(*) FILTER (WHERE n > 1 AND k IS NOT NULL), coalesce(sum(n) FILTER (WHERE k IS NULL), 0)::BIGINT, \
         CAST(min(k) FILTER (WHERE n > 1 AND k IS NOT NULL) AS VARCHAR) \
         FROM (SELECT {key} AS k, count(*) AS n FROM {relation} GROUP BY ALL)"
    );
    let (dups, nulls, example) = query_row(conn, "check the customers source's keys", &sql)?;
    let mut parts = Vec::new();
    if dups > 0 {
        parts.push(format!("{dups} {} appear more than once (e.g. {})", def.key, example.unwrap_or_default()));
    }
    if nulls > 0 {
        parts.push(format!("{nulls} row(s) have an empty {}", def.key));
    }
    Ok((!parts.is_empty()).then(|| format!("source '{POPULATION_SOURCE}' ({}): {}", def.path, parts.join("; "))))
}

/// Consent rows without a customer id, without a channel, or with an opt-out flag that is
/// neither true nor false; the first one is named by its row number (the header not counted).
fn consent_rows(conn: &Connection, project: &Project) -> Result<Vec<String>> {
    let d = DuckDb;
    let Some(consent) = &project.config.consent else { return Ok(Vec::new()) };
    let (Some(relation), Some(def)) = (source_relation(project, &consent.source), project.config.sources.get(&consent.source)) else {
        return Ok(Vec::new());
    };
    let (key, ch, out) = (d.ident(&def.key), d.ident(&consent.channel_column), d.ident(&consent.opted_out_column));
    let checks = [
        (format!("{key} IS NULL"), format!("{} is empty", def.key)),
        (format!("nullif(trim(CAST({ch} AS VARCHAR)), '') IS NULL"), format!("{} is empty", consent.channel_column)),
        (format!("TRY_CAST({out} AS BOOLEAN) IS NULL"), format!("{} is neither true nor false", consent.opted_out_column)),
    ];
    let mut problems = Vec::new();
    for (cond, what) in checks {
        let sql = format!(
            "SELECT count(*), coalesce(min(row), 0), NULL FROM (SELECT row_number() OVER () AS row, * FROM {relation}) WHERE {cond}"
        );
        let (n, first, _) = query_row(conn, "check the consent source's rows", &sql)?;
        if n > 0 {
            problems.push(format!(
                "source '{}' ({}): {n} row(s) where {what} (first: data row {first}); such a customer is not contactable on that channel",
                consent.source, def.path
            ));
        }
    }
    Ok(problems)
}
