//! Rendering a [`Report`]: terminal tables, markdown, and one self-contained HTML page with
//! inline SVG charts (no scripts, no network). The tables are built once as [`Grid`]s here
//! (`grids.rs`) and printed by each output; the page and its charts are in `html.rs` and `svg.rs`.

mod grids;
mod html;
mod svg;

pub use html::html;
pub(super) use html::{page, plain_table};

use super::analysis::Report;
use super::models;
use super::table;
use grids::*;
use std::fmt::Write;

/// Table layout shared by the terminal, markdown and HTML renderers.
pub(super) struct Grid {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    numeric: Vec<bool>,
}

impl Grid {
    pub(super) fn new(headers: &[&str], rows: Vec<Vec<String>>, numeric: &[bool]) -> Grid {
        Grid { headers: headers.iter().map(|h| h.to_string()).collect(), rows, numeric: numeric.to_vec() }
    }

    pub(super) fn text(&self) -> String {
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        table(&headers, &self.rows, &self.numeric)
    }

    pub(super) fn markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let mut out = format!("| {} |\n", self.headers.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | "));
        let aligns: Vec<&str> = self.numeric.iter().map(|n| if *n { "---:" } else { "---" }).collect();
        out.push_str(&format!("| {} |\n", aligns.join(" | ")));
        for r in &self.rows {
            out.push_str(&format!("| {} |\n", r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")));
        }
        out
    }
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn title(r: &Report) -> String {
    match &r.compared_to {
        Some(prev) => format!("{} as of {} (changes since {}): {} customers", r.project, r.as_of, prev, r.customers),
        None => format!("{} as of {}: {} customers", r.project, r.as_of, r.customers),
    }
}

/// One titled table (or a note alone) of the text and markdown reports.
struct Part {
    title: String,
    note: Option<String>,
    grid: Option<Grid>,
}

fn part(title: impl Into<String>, note: Option<String>, grid: Option<Grid>) -> Part {
    Part { title: title.into(), note, grid }
}

/// The report's tables in reading order, shared by [`text`] and [`markdown`]: the built-in
/// sections, then (after the extra sections) the models and the run.
fn parts(r: &Report) -> (Vec<Part>, Vec<Part>) {
    let mut out: Vec<Part> = segment_groups(r, 90).into_iter().map(|(theme, grid)| part(format!("Segments: {theme}"), None, Some(grid))).collect();
    match r.trends.dates.len() {
        0 => {}
        1 => out.push(part("Trends", Some(one_date_note(r)), None)),
        _ => out.push(part("Trends: the largest segments per run", None, Some(trend_grid(r)))),
    }
    if !r.tiers.is_empty() {
        out.push(part("Tiers", None, Some(tiers_grid(r))));
    }
    if !r.tier_gaps.is_empty() {
        out.push(part("Gap to the next tier", Some(GAP_NOTE.into()), Some(gaps_grid(r))));
    }
    for (ladder, grid) in migration_grids(r) {
        let note = format!("Rows: tier on {}; columns: tier on {}. {MIGRATION_NOTE}", r.compared_to.as_deref().unwrap_or("-"), r.as_of);
        out.push(part(format!("Tier migration: {ladder}"), Some(note), Some(grid)));
    }
    match &r.rfm {
        Some(g) => out.push(part("RFM grid", Some(rfm_note(g)), Some(rfm_grid(g)))),
        None => out.push(part("RFM grid", Some(NO_RFM_NOTE.into()), None)),
    }
    if !r.overlap_map.pairs.is_empty() {
        out.push(part("Most similar segments", Some(overlap_note(r)), Some(overlaps_grid(r, 25))));
    }
    if !r.profiles.features.is_empty() {
        out.push(part("Profiles", Some(PROFILE_NOTE.into()), Some(profiles_grid(r))));
    }
    let mut tail = Vec::new();
    if !r.models.is_empty() {
        tail.push(part("Models", None, Some(models::fits_grid(&r.models))));
        for m in r.models.iter().filter(|m| !m.holdout.is_empty()) {
            let title = format!("{}: purchases in the {} days after calibration, actual against predicted", m.model, m.holdout_days.unwrap_or(0));
            tail.push(part(title, None, Some(models::holdout_grid(m))));
        }
    }
    if let Some(run) = &r.run {
        tail.push(part("Run", None, Some(run_grid(r, run))));
    }
    (out, tail)
}

/// The terminal report.
pub fn text(r: &Report) -> String {
    let mut out = format!("{}\n", title(r));
    let (main, tail) = parts(r);
    let print = |out: &mut String, p: &Part| {
        let _ = write!(out, "\n{}\n", p.title.to_lowercase());
        if let Some(note) = &p.note {
            let _ = writeln!(out, "{note}");
        }
        out.push_str(&p.grid.as_ref().map(Grid::text).unwrap_or_default());
    };
    main.iter().for_each(|p| print(&mut out, p));
    for s in &r.extra_sections {
        let _ = write!(out, "\n{}\n{}", s.title.to_lowercase(), s.text);
    }
    tail.iter().for_each(|p| print(&mut out, p));
    out
}

/// The report as markdown (for a wiki or a pull-request comment).
pub fn markdown(r: &Report) -> String {
    let mut out = format!("# Segment report: {}\n", title(r));
    let (main, tail) = parts(r);
    let print = |out: &mut String, p: &Part| {
        let _ = write!(out, "\n## {}\n\n", p.title);
        if let Some(note) = &p.note {
            let _ = write!(out, "{note}\n\n");
        }
        out.push_str(&p.grid.as_ref().map(Grid::markdown).unwrap_or_default());
    };
    main.iter().for_each(|p| print(&mut out, p));
    for s in &r.extra_sections {
        let _ = write!(out, "\n## {}\n\n{}", s.title, s.markdown);
    }
    tail.iter().for_each(|p| print(&mut out, p));
    out
}
