//! What a run may replace of what is published, decided from the published `as_of` and the
//! selection, so that no run deletes what it did not compute:
//!
//! - a run of every definition on or after the published date replaces the tables (`Full`);
//! - a `--select`ed run on the published date replaces the rows of the definitions it computed
//!   and keeps every other published row (`Partial`), as dbt's `--select` rebuilds only the
//!   selected models; it computes every feature, so `customer_features` stays whole;
//! - a run for a date before the published one (a backfill) writes only that date's history and
//!   leaves the published tables, which describe the later date, as they are (`Backfill`).
//!
//! A selected run for another date than the published one is refused: its tables would mix dates.

use crate::compile::dialect::{Dialect, DuckDb, Staged};
use crate::compile::outputs::{MEMBERS_TABLE, SEGMENT_CATALOG, TIERS_TABLE, TIER_CATALOG};
use crate::error::{Error, Result};
use crate::validate::Resolved;
use duckdb::Connection;

/// The published result a run starts from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    /// Its `as_of` (none before the first run).
    pub as_of: Option<String>,
    /// Names in `segment_catalog`.
    pub segments: Vec<String>,
    /// (ladder, level) in `tier_catalog`.
    pub levels: Vec<(String, String)>,
    /// The published tables a selected run merges into (those that exist).
    pub tables: Vec<String>,
}

impl Published {
    /// Read from the run's working copy (an empty database gives the default).
    pub fn read(conn: &Connection) -> Result<Published> {
        let d = DuckDb;
        let mut out = Published::default();
        for t in [MEMBERS_TABLE, SEGMENT_CATALOG, TIERS_TABLE, TIER_CATALOG] {
            if crate::execute::table_exists(conn, t)? {
                out.tables.push(t.to_string());
            }
        }
        if !out.tables.iter().any(|t| t == SEGMENT_CATALOG) {
            return Ok(out);
        }
        let list = |sql: &str| crate::execute::column_strings(conn, "read the published catalog", sql, &[]);
        out.as_of = list(&format!("SELECT {} FROM segment_catalog", d.cast("max(as_of)", "VARCHAR")))?.into_iter().find(|d| d != "NULL");
        out.segments = list("SELECT name FROM segment_catalog ORDER BY name")?;
        if crate::execute::table_exists(conn, TIER_CATALOG)? {
            let rows = list(&format!("SELECT {} || chr(0) || {} FROM tier_catalog ORDER BY 1", d.cast("ladder", "VARCHAR"), d.cast("tier", "VARCHAR")))?;
            out.levels = rows.iter().filter_map(|r| r.split_once('\0')).map(|(l, t)| (l.to_string(), t.to_string())).collect();
        }
        Ok(out)
    }
}

/// How a run publishes.
#[derive(Debug, Clone, PartialEq)]
pub enum Publication {
    Full,
    Partial(Published),
    Backfill { published: String },
}

impl Publication {
    /// Decide for a run of `as_of`, `selected` when `--select`/`--exclude` narrowed it.
    pub fn decide(published: Published, as_of: &str, selected: bool) -> Result<Publication> {
        let Some(latest) = published.as_of.clone() else { return Ok(Publication::Full) };
        match (as_of.cmp(latest.as_str()), selected) {
            (std::cmp::Ordering::Less, _) => Ok(Publication::Backfill { published: latest }),
            (std::cmp::Ordering::Equal, true) => Ok(Publication::Partial(published)),
            (std::cmp::Ordering::Greater, true) => Err(Error::Usage(format!(
                "a selected run refreshes the published result of {latest}, and this one is for {as_of}; \
                 run it with --as-of {latest}, or run every definition for {as_of}"
            ))),
            (_, false) => Ok(Publication::Full),
        }
    }

    /// What the run's summary says about it (none for a full run).
    pub fn note(&self) -> Option<String> {
        match self {
            Publication::Full => None,
            Publication::Partial(_) => Some("selected run: only the selected definitions' rows were replaced; every other published row is kept".into()),
            Publication::Backfill { published } => {
                Some(format!("backfill: only the history of this date was written; the published tables still describe {published}"))
            }
        }
    }

    /// The statements of the publishing transaction, run one at a time before the history: move
    /// the staged tables into place, or merge them with the published ones (nothing for a
    /// backfill, whose history reads the staged tables and which then drops them).
    pub fn statements(&self, outputs: &[&str]) -> Vec<String> {
        let d = DuckDb;
        let staged = |t: &str| Staged::of(&d).table(t);
        match self {
            Publication::Backfill { .. } => Vec::new(),
            Publication::Full => outputs.iter().flat_map(|t| replace(t, &staged(t))).collect(),
            // The merged tables were built beforehand (see `prepare`): move them into place.
            Publication::Partial(published) => outputs
                .iter()
                .flat_map(|t| match merges(t, published) {
                    true => replace(t, &staged(&format!("{t}__merged"))),
                    false => replace(t, &staged(t)),
                })
                .collect(),
        }
    }

    /// Statements that build a selected run's merged tables under staging names, each committed
    /// on its own before the publishing transaction (a merge of 190M membership rows built
    /// inside that transaction, with the history after it, ran out of memory under 4 GB).
    pub fn prepare(&self, model: &Resolved, outputs: &[&str]) -> Result<Vec<String>> {
        let d = DuckDb;
        let Publication::Partial(published) = self else { return Ok(Vec::new()) };
        let mut statements = Vec::new();
        for t in outputs {
            if let Some(select) = merge_select(t, model, published)? {
                statements.push(format!("CREATE OR REPLACE TABLE {} AS {select}", Staged::of(&d).table(&format!("{t}__merged"))));
            }
        }
        Ok(statements)
    }
}

fn replace(table: &str, with: &str) -> Vec<String> {
    let t = DuckDb.ident(table);
    vec![format!("DROP TABLE IF EXISTS {t}"), format!("ALTER TABLE {with} RENAME TO {t}")]
}

/// Whether a selected run merges its rows of `table` into the published ones: the memberships
/// and tiers with their catalogs, when published. Every feature is computed (a selected run
/// still publishes all of them), and a score's table is the selected score's own.
fn merges(table: &str, published: &Published) -> bool {
    published.tables.iter().any(|t| t == table) && matches!(table, MEMBERS_TABLE | SEGMENT_CATALOG | TIERS_TABLE | TIER_CATALOG)
}

/// For a selected run, the published rows of `table` that the run did not compute, with the
/// rows it did, typed as a full run types them; `None` for tables the run replaces whole.
fn merge_select(table: &str, model: &Resolved, published: &Published) -> Result<Option<String>> {
    let d = DuckDb;
    if !merges(table, published) {
        return Ok(None);
    }
    let staged = Staged::of(&d).table(table);
    let t = d.ident(table);
    let computed_segments: Vec<String> = crate::compile::outputs::segment_names(model);
    let computed_ladders: Vec<String> = model.tiers.iter().map(|t| t.name.clone()).collect();
    let not_in = |col: &str, names: &[String]| match names.is_empty() {
        true => "TRUE".to_string(),
        false => format!("{} NOT IN ({})", d.cast(&d.ident(col), "VARCHAR"), names.iter().map(|n| d.string(n)).collect::<Vec<_>>().join(", ")),
    };
    let union = |keep: String| d.union_all_by_name(&format!("SELECT * FROM {t} WHERE {keep}"), &format!("SELECT * FROM {staged}"));
    // Through text: the published ENUM and this run's have different members.
    let relabel = |col: &str, ty: &str| (d.cast(&d.cast(col, "VARCHAR"), ty), col.to_string());
    Ok(match table {
        MEMBERS_TABLE => {
            let mut names: Vec<String> = published.segments.iter().chain(&computed_segments).cloned().collect();
            names.sort();
            names.dedup();
            let seg = d.ident("segment");
            Some(format!(
                "SELECT customer_id, {} AS {seg}\nFROM (\n{}\n)",
                relabel(&seg, &d.label_type(&names)).0,
                union(not_in("segment", &computed_segments))?
            ))
        }
        SEGMENT_CATALOG => Some(format!("{}\nORDER BY name", union(not_in("name", &computed_segments))?)),
        TIERS_TABLE | TIER_CATALOG => {
            let mut ladders: Vec<String> = published.levels.iter().map(|(l, _)| l.clone()).chain(computed_ladders.iter().cloned()).collect();
            ladders.sort();
            ladders.dedup();
            let mut tiers: Vec<String> = published.levels.iter().map(|(_, t)| t.clone()).collect();
            tiers.extend(model.tiers.iter().flat_map(|t| t.levels.iter().map(|l| l.name.clone())));
            tiers.sort();
            tiers.dedup();
            let (ladder_type, tier_type) = (d.label_type(&ladders), d.label_type(&tiers));
            let mut casts = vec![relabel("ladder", &ladder_type), relabel("tier", &tier_type)];
            if table == TIERS_TABLE {
                casts.push(relabel("next_tier", &tier_type));
            }
            let order = if table == TIERS_TABLE { "ladder, customer_id" } else { "ladder, rank" };
            Some(format!("SELECT {}\nFROM (\n{}\n)\nORDER BY {order}", d.star_replacing(&casts)?, union(not_in("ladder", &computed_ladders))?))
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(as_of: &str) -> Published {
        Published { as_of: Some(as_of.into()), ..Default::default() }
    }

    #[test]
    fn the_published_date_and_the_selection_decide() {
        assert_eq!(Publication::decide(Published::default(), "2026-06-30", true).ok(), Some(Publication::Full));
        assert_eq!(Publication::decide(published("2026-06-30"), "2026-07-31", false).ok(), Some(Publication::Full));
        assert_eq!(Publication::decide(published("2026-06-30"), "2026-06-30", false).ok(), Some(Publication::Full));
        assert_eq!(Publication::decide(published("2026-06-30"), "2026-06-30", true).ok(), Some(Publication::Partial(published("2026-06-30"))));
        assert_eq!(
            Publication::decide(published("2026-06-30"), "2026-03-31", true).ok(),
            Some(Publication::Backfill { published: "2026-06-30".into() })
        );
        let later = Publication::decide(published("2026-06-30"), "2026-07-31", true).expect_err("refused");
        assert_eq!(
            later.to_string(),
            "a selected run refreshes the published result of 2026-06-30, and this one is for 2026-07-31; run it with --as-of 2026-06-30, or run every definition for 2026-07-31"
        );
    }
}
