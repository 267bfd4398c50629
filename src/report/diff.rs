//! `segmenter diff --base <git-ref|folder>`: run the base and the current definitions on the
//! same data and show, per segment and tier level, who is added and removed — the review
//! comment for a pull request that changes a rule.

use crate::compile::Plan;
use crate::validate::Resolved;
use crate::error::{Error, Result};
use duckdb::Connection;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Diff {
    pub base: String,
    pub as_of: String,
    pub segments: Vec<Change>,
    pub tiers: Vec<Change>,
}

/// One segment (or `ladder/tier`) in both versions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Change {
    pub name: String,
    /// `added`, `removed`, `changed` or `unchanged` (the definition, judged by its members).
    pub status: String,
    pub base_size: i64,
    pub size: i64,
    pub added: i64,
    pub removed: i64,
    pub sample_added: Vec<String>,
    pub sample_removed: Vec<String>,
}

fn err(e: duckdb::Error) -> Error {
    Error::Step { step: "diff".into(), message: crate::execute::first_line(&e.to_string()) }
}

/// One version's memberships, computed in memory and moved aside under `members` and `tiers`.
fn run_into(conn: &Connection, (model, plan): (&Resolved, &Plan), members: &str, tiers: &str) -> Result<()> {
    crate::execute::compute_in_memory(conn, model, plan)?;
    let tier_sql = if crate::execute::table_exists(conn, "tier_assignments")? {
        format!("CREATE OR REPLACE TABLE {tiers} AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, ladder || '/' || tier AS name FROM tier_assignments;")
    } else {
        format!("CREATE OR REPLACE TABLE {tiers} (customer_id VARCHAR, name VARCHAR);")
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE {members} AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(segment AS VARCHAR) AS name FROM segment_members;\n{tier_sql}\n\
         DROP TABLE IF EXISTS tier_assignments; DROP TABLE IF EXISTS segment_members;"
    ))
    .map_err(err)
}

fn changes(conn: &Connection, base: &str, head: &str, samples: usize) -> Result<Vec<Change>> {
    let sql = format!(
        "WITH names AS (SELECT name FROM {base} UNION SELECT name FROM {head}),
              added AS (SELECT name, customer_id FROM (SELECT name, customer_id FROM {head} EXCEPT SELECT name, customer_id FROM {base})),
              removed AS (SELECT name, customer_id FROM (SELECT name, customer_id FROM {base} EXCEPT SELECT name, customer_id FROM {head}))
         SELECT n.name,
                (SELECT count(*) FROM {base} b WHERE b.name = n.name),
                (SELECT count(*) FROM {head} h WHERE h.name = n.name),
                (SELECT count(*) FROM added a WHERE a.name = n.name),
                (SELECT count(*) FROM removed r WHERE r.name = n.name),
                (SELECT coalesce(list(customer_id ORDER BY TRY_CAST(customer_id AS BIGINT) NULLS LAST, customer_id)[1:{samples}], []) FROM added a WHERE a.name = n.name),
                (SELECT coalesce(list(customer_id ORDER BY TRY_CAST(customer_id AS BIGINT) NULLS LAST, customer_id)[1:{samples}], []) FROM removed r WHERE r.name = n.name),
                EXISTS (SELECT 1 FROM {base} b WHERE b.name = n.name),
                EXISTS (SELECT 1 FROM {head} h WHERE h.name = n.name)
         FROM names n ORDER BY n.name"
    );
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            let list = |i: usize| -> duckdb::Result<Vec<String>> {
                let v: duckdb::types::Value = r.get(i)?;
                Ok(match v {
                    duckdb::types::Value::List(items) => items
                        .into_iter()
                        .map(|x| match x {
                            duckdb::types::Value::Text(s) => s,
                            other => format!("{other:?}"),
                        })
                        .collect(),
                    _ => Vec::new(),
                })
            };
            let (in_base, in_head): (bool, bool) = (r.get(7)?, r.get(8)?);
            let (added, removed): (i64, i64) = (r.get(3)?, r.get(4)?);
            let status = match (in_base, in_head) {
                (false, true) => "added",
                (true, false) => "removed",
                _ if added + removed > 0 => "changed",
                _ => "unchanged",
            };
            Ok(Change {
                name: r.get(0)?,
                status: status.to_string(),
                base_size: r.get(1)?,
                size: r.get(2)?,
                added,
                removed,
                sample_added: list(5)?,
                sample_removed: list(6)?,
            })
        })
        .map_err(err)?;
    rows.collect::<duckdb::Result<Vec<_>>>().map_err(err)
}

/// Run both plans in one in-memory database and compare their memberships. Segments that
/// exist in only one version compare against an empty set.
pub fn diff(base_label: &str, base: (&Resolved, &Plan), head: (&Resolved, &Plan), samples: usize, settings: &crate::execute::EngineSettings) -> Result<Diff> {
    let conn = crate::execute::open(None, settings)?;
    run_into(&conn, base, "base_members", "base_tiers")?;
    run_into(&conn, head, "head_members", "head_tiers")?;
    Ok(Diff {
        base: base_label.to_string(),
        as_of: head.1.as_of.clone(),
        segments: changes(&conn, "base_members", "head_members", samples)?,
        tiers: changes(&conn, "base_tiers", "head_tiers", samples)?,
    })
}

fn row(c: &Change) -> Vec<String> {
    let ids = |v: &[String], n: i64| {
        if v.is_empty() {
            String::new()
        } else if (v.len() as i64) < n {
            format!("{}, …", v.join(", "))
        } else {
            v.join(", ")
        }
    };
    vec![
        c.name.clone(),
        c.status.clone(),
        c.base_size.to_string(),
        c.size.to_string(),
        format!("+{}", c.added),
        format!("-{}", c.removed),
        ids(&c.sample_added, c.added),
        ids(&c.sample_removed, c.removed),
    ]
}

const HEADERS: [&str; 8] = ["name", "status", "before", "after", "added", "removed", "e.g. added", "e.g. removed"];

impl Diff {
    fn changed<'a>(list: &'a [Change]) -> Vec<&'a Change> {
        list.iter().filter(|c| c.status != "unchanged").collect()
    }

    pub fn to_text(&self) -> String {
        let mut out = format!("changes against {} (as of {})\n\n", self.base, self.as_of);
        for (title, list) in [("segments", &self.segments), ("tier levels", &self.tiers)] {
            let changed = Self::changed(list);
            if changed.is_empty() {
                out.push_str(&format!("{title}: no changes\n"));
                continue;
            }
            out.push_str(&format!("{title}: {} changed, {} unchanged\n", changed.len(), list.len() - changed.len()));
            let rows: Vec<Vec<String>> = changed.iter().map(|c| row(c)).collect();
            out.push_str(&super::table(&HEADERS, &rows, &[false, false, true, true, true, true, false, false]));
            out.push('\n');
        }
        out
    }

    /// A pull-request comment.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("### segmenter diff against `{}` (as of {})\n\n", self.base, self.as_of);
        for (title, list) in [("Segments", &self.segments), ("Tier levels", &self.tiers)] {
            let changed = Self::changed(list);
            if changed.is_empty() {
                out.push_str(&format!("**{title}:** no changes.\n\n"));
                continue;
            }
            out.push_str(&format!("**{title}:** {} changed, {} unchanged.\n\n", changed.len(), list.len() - changed.len()));
            out.push_str(&format!("| {} |\n|{}\n", HEADERS.join(" | "), " --- |".repeat(HEADERS.len())));
            for c in changed {
                out.push_str(&format!("| {} |\n", row(c).join(" | ")));
            }
            out.push('\n');
        }
        out
    }
}
