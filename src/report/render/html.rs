//! The HTML page: one self-contained document (inline CSS and SVG, no scripts, no network),
//! laid out for a manager who gets it forwarded: what the run was, then the segments by theme,
//! trends, tiers, RFM, overlaps and profiles, then the added sections and the models.

use super::grids::*;
use super::{esc, svg, title, Grid};
use crate::report::analysis::Report;
use crate::report::models;
use std::fmt::Write;

/// How a table cell is shaded: `(row, column, text) -> CSS background`.
type Shade<'a> = &'a dyn Fn(usize, usize, &str) -> Option<String>;

fn table(g: &Grid, shade: Shade) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in &g.headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for (ri, r) in g.rows.iter().enumerate() {
        out.push_str("<tr>");
        for (ci, c) in r.iter().enumerate() {
            let class = if g.numeric.get(ci).copied().unwrap_or(false) { " class=\"n\"" } else { "" };
            let style = shade(ri, ci, c).map(|b| format!(" style=\"background:{b}\"")).unwrap_or_default();
            let _ = write!(out, "<td{class}{style}>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn plain(_: usize, _: usize, _: &str) -> Option<String> {
    None
}

/// A table without shading, for sections built outside this module.
pub(in crate::report) fn plain_table(g: &Grid) -> String {
    table(g, &plain)
}

/// Blue shading of the numeric cells, darker for larger counts (for the migration matrices).
fn counts_shade(g: &Grid) -> impl Fn(usize, usize, &str) -> Option<String> {
    let last = g.headers.len().saturating_sub(1);
    let max = g.rows.iter().flat_map(|r| r.iter().skip(1).take(last.saturating_sub(1))).filter_map(|c| c.parse::<f64>().ok()).fold(0.0, f64::max).max(1.0);
    move |_, ci, c| (ci > 0 && ci < last).then(|| c.parse::<f64>().ok()).flatten().map(|v| format!("rgba(30,90,196,{:.3})", v / max * 0.6))
}

/// An index cell: green above 100, red below, stronger the further away (first row: averages).
fn index_shade(ri: usize, ci: usize, c: &str) -> Option<String> {
    let v: f64 = c.parse().ok().filter(|_| ri > 0 && ci > 0)?;
    let strength = ((v - 100.0).abs() / 100.0).min(1.0) * 0.55;
    Some(if v >= 100.0 { format!("rgba(26,150,65,{strength:.3})") } else { format!("rgba(215,48,39,{strength:.3})") })
}

fn section(body: &mut String, id: &str, heading: &str, inner: &str) {
    let _ = write!(body, "<section id=\"{id}\"><h2>{}</h2>{inner}</section>", esc(heading));
}

fn note(text: &str) -> String {
    format!("<p class=\"note\">{}</p>", esc(text))
}

/// The header line under the title: dates, customers, the run.
fn summary(r: &Report) -> String {
    let mut items = vec![format!("as of <b>{}</b>", esc(&r.as_of))];
    if let Some(prev) = &r.compared_to {
        items.push(format!("changes since <b>{}</b>", esc(prev)));
    }
    items.push(format!("<b>{}</b> customers", r.customers));
    items.push(format!("<b>{}</b> segments", r.segments.len()));
    if let Some(run) = &r.run {
        items.push(format!("run {} ({})", esc(&run.started_at), run.seconds.map_or("-".into(), |s| format!("{s:.1} s"))));
        items.push(format!("segmenter {}", esc(&run.report_version)));
    }
    format!("<p class=\"meta\">{}</p>", items.join(" · "))
}

fn segments_html(r: &Report) -> String {
    let mut out = note("Grouped by theme: a segment's first tag (untagged segments under other). The share cell's bar is the share of all customers.");
    for (theme, grid) in segment_groups(r, usize::MAX) {
        let _ = write!(out, "<h3>{} <span class=\"dim\">({} segments)</span></h3>", esc(&theme), grid.rows.len());
        let share_bar = |_: usize, ci: usize, c: &str| -> Option<String> {
            let pct: f64 = c.strip_suffix('%')?.parse().ok().filter(|_| ci == 2)?;
            Some(format!("linear-gradient(90deg,#c9d8f4 {pct:.1}%,transparent {pct:.1}%)"))
        };
        out.push_str(&table(&grid, &share_bar));
    }
    out
}

fn trends_html(r: &Report) -> String {
    match r.trends.dates.len() {
        0 => note("No history yet."),
        1 => note(&one_date_note(r)),
        _ => format!("<div class=\"row\">{}{}</div>", svg::trend_chart(&r.trends), table(&trend_grid(r), &plain)),
    }
}

fn tiers_html(r: &Report) -> String {
    let mut out = String::new();
    let grid = tiers_grid(r);
    for ladder in ladders(r) {
        let rows: Vec<Vec<String>> = grid.rows.iter().filter(|row| row[0] == ladder).map(|row| row[1..].to_vec()).collect();
        let g = Grid::new(&["tier", "size", "share"], rows, &[false, true, true]);
        let _ = write!(out, "<h3>{}</h3><div class=\"row\">{}{}</div>", esc(&ladder), svg::tier_bars(r, &ladder), table(&g, &plain));
    }
    if !r.tier_gaps.is_empty() {
        let _ = write!(out, "<h3>Gap to the next tier</h3>{}{}", note(GAP_NOTE), table(&gaps_grid(r), &plain));
    }
    out
}

fn migrations_html(r: &Report) -> String {
    let mut out = note(&format!("Rows: tier on {}; columns: tier on {}. {MIGRATION_NOTE}", r.compared_to.as_deref().unwrap_or("-"), r.as_of));
    for (ladder, grid) in migration_grids(r) {
        let _ = write!(out, "<h3>{}</h3>{}", esc(&ladder), table(&grid, &counts_shade(&grid)));
    }
    out
}

fn rfm_html(r: &Report) -> String {
    match &r.rfm {
        Some(g) => format!("{}<div class=\"row\">{}{}</div>", note(&rfm_note(g)), svg::rfm_chart(g), table(&rfm_grid(g), &plain)),
        None => note(NO_RFM_NOTE),
    }
}

fn overlap_html(r: &Report) -> String {
    format!("{}{}<h3>The pairs, most alike first</h3>{}", note(&overlap_note(r)), svg::overlap_heat(r), table(&overlaps_grid(r, 20), &plain))
}

fn models_html(r: &Report) -> String {
    let mut out = table(&models::fits_grid(&r.models), &plain);
    for m in r.models.iter().filter(|m| !m.holdout.is_empty()) {
        let _ = write!(out, "<h3>{}: purchases in the {} days after calibration, actual against predicted</h3>", esc(&m.model), m.holdout_days.unwrap_or(0));
        out.push_str(&models::holdout_chart(m));
        out.push_str(&table(&models::holdout_grid(m), &plain));
    }
    out
}

/// The page's sections in order as (anchor, heading, inner HTML); empty ones are left out.
fn sections(r: &Report) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let mut add = |id: &str, heading: &str, inner: String| out.push((id.to_string(), heading.to_string(), inner));
    add("segments", "Segments by theme", segments_html(r));
    add("trends", "Trends", trends_html(r));
    if !r.tiers.is_empty() {
        add("tiers", "Tiers", tiers_html(r));
    }
    if r.compared_to.is_some() && !r.tiers.is_empty() {
        add("migration", "Tier migration", migrations_html(r));
    }
    add("rfm", "RFM: recency × frequency", rfm_html(r));
    if !r.overlap_map.pairs.is_empty() {
        add("overlap", "Overlap between segments", overlap_html(r));
    }
    if !r.profiles.features.is_empty() {
        add("profiles", "Profiles against all customers", format!("{}{}", note(PROFILE_NOTE), table(&profiles_grid(r), &index_shade)));
    }
    // Hook: sections added by other modules (the Campaigns section) come here.
    for s in &r.extra_sections {
        out.push((s.id.clone(), s.title.clone(), s.html.clone()));
    }
    if !r.models.is_empty() {
        out.push(("models".into(), "Models".into(), models_html(r)));
    }
    if let Some(run) = &r.run {
        out.push(("run".into(), "About this run".into(), table(&run_grid(r, run), &plain)));
    }
    out
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}\
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:36px;border-bottom:2px solid #1e5ac4;padding-bottom:4px}\
h3{font-size:14px;margin:18px 0 6px}.meta{color:#555;margin-top:0}.note,.dim{color:#666}.note{max-width:900px}\
nav{background:#f4f6fa;padding:8px 12px;border-radius:4px}nav a{margin-right:14px;color:#1e5ac4;text-decoration:none}\
#segments table{width:100%}.row{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}\
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;vertical-align:top}th{background:#f4f4f4;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}svg{overflow:visible}\
.bar{fill:#1e5ac4}.pred{fill:#9cb9ec}.bar-key{fill:#1e5ac4}.pred-key{fill:#9cb9ec}.l,.v{font-size:11px}.s{font-size:10px}.axis{stroke:#999}.grid{stroke:#eee}";

/// One self-contained HTML page: inline CSS and SVG, no scripts, no network; the only links
/// are the contents' anchors into the page.
pub fn html(r: &Report) -> String {
    let sections = sections(r);
    let nav: Vec<String> = sections.iter().map(|(id, h, _)| format!("<a href=\"#{}\">{}</a>", esc(id), esc(h))).collect();
    let mut body = format!("<h1>Segment report: {}</h1>{}<nav>{}</nav>", esc(&r.project), summary(r), nav.join(""));
    for (id, heading, inner) in &sections {
        section(&mut body, &esc(id), heading, inner);
    }
    page(&title(r), &body)
}

/// A self-contained page around `body`, styled as the report.
pub(in crate::report) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        esc(title)
    )
}
