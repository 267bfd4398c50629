//! Data-quality gates on keys and consent rows, checked before anything is published.
//!
//! Duplicate customer ids multiply every row published for them, and an empty id becomes a
//! customer of its own; an empty id in the consent data would make the opt-out list useless,
//! and an opt-out flag that is neither true nor false says nothing about consent. Each finding
//! blocks the publish (exit 1) unless `--force`; consent rows that stay unclear then leave their
//! customer out of every export of that channel.

use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::project::model::{SourceDef, SourceFormat};
use crate::project::Project;
use crate::validate::POPULATION_SOURCE;
use duckdb::Connection;

/// A source with its renames applied (columns by the names the definitions use).
pub fn source_relation(project: &Project, name: &str) -> Option<String> {
    let def = project.config.sources.get(name)?;
    let path = match def.read_format() {
        SourceFormat::Postgres => crate::postgres::relation(def),
        _ => crate::project::resolve(&project.root, &def.path).to_string_lossy().replace('\\', "/"),
    };
    let renames: Vec<(String, String)> = def.rename.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
    Some(crate::compile::renamed_source(def.read_format(), &path, def.csv.as_ref(), &renames, &DuckDb))
}

/// Whether a source has data to read (a glob is read as it matches).
fn has_data(project: &Project, def: &SourceDef) -> bool {
    def.read_format() == SourceFormat::Postgres || def.is_glob() || crate::project::resolve(&project.root, &def.path).exists()
}

/// The first typed column (`types:`, and the `time` column as a timestamp) of a CSV source whose
/// values do not all convert, named with its source, file, count and an example value: text a
/// CSV dialect did not parse (`31/12/2026 23:59`, `682,64`) would otherwise fail deep inside a
/// step, or turn into NULLs. One scan per source checks all its typed columns.
pub fn unparsed_values(conn: &Connection, project: &Project) -> Result<()> {
    let d = DuckDb;
    for (name, def) in &project.config.sources {
        let csv = def.known_format() == Some(SourceFormat::Csv);
        let Some(relation) = source_relation(project, name).filter(|_| csv && has_data(project, def)) else { continue };
        let mut typed: Vec<(&str, &str)> = def.types.iter().map(|(c, t)| (c.as_str(), t.as_str())).collect();
        if let Some(time) = def.time.as_deref().filter(|t| !def.types.contains_key(*t)) {
            typed.push((time, "TIMESTAMP"));
        }
        if typed.is_empty() {
            continue;
        }
        let checks: Vec<(String, String)> = typed
            .iter()
            .map(|(column, ty)| {
                let c = d.ident(column);
                (format!("{c} IS NOT NULL AND TRY_CAST({c} AS {ty}) IS NULL"), c)
            })
            .collect();
        let found = counts_and_examples(conn, &format!("check the values of source '{name}'"), &relation, &checks)?;
        if let Some(((column, ty), (n, example))) = typed.iter().zip(found).find(|(_, (n, _))| *n > 0) {
            return Err(Error::Data(format!(
                "source '{name}' ({}): column '{column}' has {n} value(s) that are not {ty}, e.g. '{}'; describe the file's \
                 format under `csv:` (dateformat, timestampformat, decimal_separator, delim) or correct the values",
                def.path,
                example.unwrap_or_default()
            )));
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
    if consent_source.is_some_and(|def| has_data(project, def)) {
        problems.extend(consent_rows(conn, project)?);
    }
    Ok(problems)
}

/// For each (condition, value) of `checks`, in one scan of `relation`: how many rows meet the
/// condition, and the smallest value of the expression among them (as text).
fn counts_and_examples(conn: &Connection, step: &str, relation: &str, checks: &[(String, String)]) -> Result<Vec<(i64, Option<String>)>> {
    let columns: Vec<String> = checks
        .iter()
        .map(|(cond, value)| format!("count(*) FILTER (WHERE {cond}), CAST(min({value}) FILTER (WHERE {cond}) AS VARCHAR)"))
        .collect();
    let sql = format!("SELECT {} FROM {relation}", columns.join(", "));
    conn.query_row(&sql, [], |r| (0..checks.len()).map(|i| Ok((r.get(2 * i)?, r.get(2 * i + 1)?))).collect())
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
        "SELECT count(*) FILTER (WHERE n > 1 AND k IS NOT NULL), {}, {} \
         FROM (SELECT {key} AS k, count(*) AS n FROM {relation} GROUP BY ALL)",
        d.cast("coalesce(sum(n) FILTER (WHERE k IS NULL), 0)", "BIGINT"),
        d.cast("min(k) FILTER (WHERE n > 1 AND k IS NOT NULL)", "VARCHAR"),
    );
    let (dups, nulls, example): (i64, i64, Option<String>) = conn
        .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| Error::Step { step: "check the customers source's keys".into(), message: crate::execute::first_line(&e.to_string()) })?;
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
    let numbered = format!("(SELECT row_number() OVER () AS row, * FROM {relation})");
    let conditions: Vec<(String, String)> = checks.iter().map(|(cond, _)| (cond.clone(), "row".to_string())).collect();
    let found = counts_and_examples(conn, "check the consent source's rows", &numbered, &conditions)?;
    Ok(checks
        .iter()
        .zip(found)
        .filter(|(_, (n, _))| *n > 0)
        .map(|((_, what), (n, first))| {
            format!(
                "source '{}' ({}): {n} row(s) where {what} (first: data row {}); such a customer is not contactable on that channel",
                consent.source,
                def.path,
                first.unwrap_or_default()
            )
        })
        .collect())
}
