//! Stage 6, report: what a run produced, as a terminal table or JSON.

pub mod analysis;
pub mod campaigns;
pub mod diff;
pub mod explain;
pub mod gaps;
pub mod models;
pub mod money;
pub mod overlap;
pub mod render;
pub mod rfm;
pub mod run_info;
pub mod section;
pub mod trends;

use crate::diagnostics::Diagnostic;
use crate::error::{Error, Result};
use duckdb::Connection;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentSize {
    pub name: String,
    pub size: i64,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TierSize {
    pub ladder: String,
    pub tier: String,
    pub rank: i32,
    pub size: i64,
    pub share: f64,
}

/// The result of a run, read back from the published tables.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub status: &'static str,
    pub project: String,
    pub as_of: String,
    pub database: String,
    pub customers: i64,
    pub segments: Vec<SegmentSize>,
    pub tiers: Vec<TierSize>,
    /// Definitions not computed because a source they need has no data.
    pub skipped: Vec<crate::validate::Skipped>,
    /// Export files written after the publish.
    pub exports: Vec<crate::publish::exports::ExportedFile>,
    pub warnings: Vec<Diagnostic>,
    /// What a selected run or a backfill published instead of the whole result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publication: Option<String>,
    /// Who channel exports leave out for want of consent data (when any export names a channel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<String>,
    pub elapsed_ms: u128,
}

fn query<T>(conn: &Connection, sql: &str, f: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>) -> Result<Vec<T>> {
    let err = |e: duckdb::Error| Error::Step { step: "summary".into(), message: crate::execute::first_line(&e.to_string()) };
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let rows = stmt.query_map([], f).map_err(err)?;
    rows.collect::<duckdb::Result<Vec<T>>>().map_err(err)
}

/// Sizes of every segment and tier level, from the catalogs.
pub fn read_sizes(conn: &Connection) -> Result<Sizes> {
    read_sizes_from(conn, &crate::compile::dialect::DuckDb)
}

/// Customers, segment sizes and tier sizes of a run.
pub type Sizes = (i64, Vec<SegmentSize>, Vec<TierSize>);

/// [`read_sizes`] from the tables `read` names (a backfill's staged ones).
pub fn read_sizes_from(conn: &Connection, read: &dyn crate::compile::dialect::Dialect) -> Result<Sizes> {
    let count = format!("SELECT count(*) FROM {}", read.table("customer_features"));
    let customers = query(conn, &count, |r| r.get::<_, i64>(0))?.first().copied().unwrap_or(0);
    let sql = format!("SELECT name, size, CAST(share AS DOUBLE) FROM {} ORDER BY name", read.table("segment_catalog"));
    let segments = query(conn, &sql, |r| Ok(SegmentSize { name: r.get(0)?, size: r.get(1)?, share: r.get(2)? }))?;
    let sql = format!("SELECT ladder, tier, rank, size, CAST(share AS DOUBLE) FROM {} ORDER BY ladder, rank", read.table("tier_catalog"));
    let tiers = query(conn, &sql, |r| Ok(TierSize { ladder: r.get(0)?, tier: r.get(1)?, rank: r.get(2)?, size: r.get(3)?, share: r.get(4)? }))?;
    Ok((customers, segments, tiers))
}

/// A share as a percentage with one decimal (`12.5%`).
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A plain table with right-aligned numbers.
pub fn table(headers: &[&str], rows: &[Vec<String>], numeric: &[bool]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let fmt_row = |cells: Vec<String>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| if numeric[i] { format!("{c:>w$}", w = widths[i]) } else { format!("{c:<w$}", w = widths[i]) })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = vec![fmt_row(headers.iter().map(|s| s.to_string()).collect())];
    out.push(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    out.extend(rows.iter().map(|r| fmt_row(r.clone())));
    out.join("\n") + "\n"
}

impl RunSummary {
    /// The end-of-run summary for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} as of {}: {} customers\n\n", self.project, self.as_of, self.customers);
        let rows: Vec<Vec<String>> = self.segments.iter().map(|s| vec![s.name.clone(), s.size.to_string(), percent(s.share)]).collect();
        out.push_str(&table(&["segment", "size", "share"], &rows, &[false, true, true]));
        if !self.tiers.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .tiers
                .iter()
                .map(|t| vec![t.ladder.clone(), t.tier.clone(), t.size.to_string(), percent(t.share)])
                .collect();
            out.push_str(&table(&["ladder", "tier", "size", "share"], &rows, &[false, false, true, true]));
        }
        if !self.skipped.is_empty() {
            out.push_str(&format!("\nskipped {} definition(s) whose data is missing:\n", self.skipped.len()));
            let missing = |s: &crate::validate::Skipped| s.sources.iter().chain(&s.columns).cloned().collect::<Vec<_>>().join(", ");
            let rows: Vec<Vec<String>> = self.skipped.iter().map(|s| vec![s.kind.clone(), s.name.clone(), missing(s)]).collect();
            out.push_str(&table(&["kind", "name", "missing source or column"], &rows, &[false, false, false]));
        }
        for e in &self.exports {
            out.push_str(&format!("\nexported {} rows to {}", e.rows, e.path));
        }
        if !self.exports.is_empty() {
            out.push('\n');
        }
        if let Some(note) = &self.consent {
            out.push_str(&format!("{note}\n"));
        }
        if let Some(note) = &self.publication {
            out.push_str(&format!("\n{note}\n"));
        }
        out.push_str(&format!("\nwrote {} in {:.1}s\n", self.database, self.elapsed_ms as f64 / 1000.0));
        out
    }
}
