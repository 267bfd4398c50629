//! Rendering a [`Report`]: terminal tables, markdown, and one self-contained HTML page with
//! inline SVG charts (no scripts, no network).

use super::analysis::Report;
use super::models;
use super::table;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Table layout shared by the terminal and markdown renderers.
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

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn number(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.2}"))
}

fn opt(v: Option<i64>) -> String {
    v.map_or("-".to_string(), |x| x.to_string())
}

fn segments_grid(r: &Report) -> Grid {
    let with_moves = r.compared_to.is_some();
    let mut headers = vec!["segment", "size", "share"];
    if with_moves {
        headers.extend(["entered", "exited"]);
    }
    let rows = r
        .segments
        .iter()
        .map(|s| {
            let mut row = vec![s.name.clone(), s.size.to_string(), percent(s.share)];
            if with_moves {
                row.extend([opt(s.entered), opt(s.exited)]);
            }
            row
        })
        .collect();
    let mut numeric = vec![false, true, true];
    if with_moves {
        numeric.extend([true, true]);
    }
    Grid { headers: headers.into_iter().map(String::from).collect(), rows, numeric }
}

fn tiers_grid(r: &Report) -> Grid {
    Grid {
        headers: ["ladder", "tier", "size", "share"].map(String::from).to_vec(),
        rows: r.tiers.iter().map(|t| vec![t.ladder.clone(), t.tier.clone(), t.size.to_string(), percent(t.share)]).collect(),
        numeric: vec![false, false, true, true],
    }
}

/// One grid per ladder: rows are the earlier tier, columns the current tier.
fn migration_grids(r: &Report) -> Vec<(String, Grid)> {
    let mut out = Vec::new();
    for ladder in ladders(r) {
        let order: Vec<String> = r.tiers.iter().filter(|t| t.ladder == ladder).map(|t| t.tier.clone()).collect();
        let cell: BTreeMap<(&str, &str), i64> = r
            .migrations
            .iter()
            .filter(|m| m.ladder == ladder)
            .map(|m| ((m.from.as_str(), m.to.as_str()), m.customers))
            .collect();
        let mut headers = vec![format!("from \\ to ({})", r.as_of)];
        headers.extend(order.iter().cloned());
        let rows = order
            .iter()
            .map(|from| {
                let mut row = vec![from.clone()];
                row.extend(order.iter().map(|to| cell.get(&(from.as_str(), to.as_str())).copied().unwrap_or(0).to_string()));
                row
            })
            .collect();
        let mut numeric = vec![false];
        numeric.extend(order.iter().map(|_| true));
        out.push((ladder, Grid { headers, rows, numeric }));
    }
    out
}

fn ladders(r: &Report) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for t in &r.tiers {
        if !v.contains(&t.ladder) {
            v.push(t.ladder.clone());
        }
    }
    v
}

fn overlaps_grid(r: &Report, limit: usize) -> Grid {
    Grid {
        headers: ["segment", "segment", "both", "of smaller"].map(String::from).to_vec(),
        rows: r
            .overlaps
            .iter()
            .take(limit)
            .map(|o| vec![o.a.clone(), o.b.clone(), o.both.to_string(), percent(o.share_of_smaller)])
            .collect(),
        numeric: vec![false, false, true, true],
    }
}

fn profiles_grid(r: &Report) -> Grid {
    let p = &r.profiles;
    let mut headers = vec!["segment".to_string()];
    headers.extend(p.features.iter().map(|f| format!("avg {f}")));
    let mut rows = vec![{
        let mut row = vec!["(all customers)".to_string()];
        row.extend(p.population.iter().map(|v| number(*v)));
        row
    }];
    rows.extend(p.segments.iter().map(|(name, vals)| {
        let mut row = vec![name.clone()];
        row.extend(vals.iter().map(|v| number(*v)));
        row
    }));
    let mut numeric = vec![false];
    numeric.extend(p.features.iter().map(|_| true));
    Grid { headers, rows, numeric }
}

fn title(r: &Report) -> String {
    match &r.compared_to {
        Some(prev) => format!("{} as of {} (changes since {}): {} customers", r.project, r.as_of, prev, r.customers),
        None => format!("{} as of {}: {} customers", r.project, r.as_of, r.customers),
    }
}

/// The terminal report.
pub fn text(r: &Report) -> String {
    let mut out = format!("{}\n\n", title(r));
    out.push_str(&segments_grid(r).text());
    if !r.tiers.is_empty() {
        out.push('\n');
        out.push_str(&tiers_grid(r).text());
    }
    for (ladder, grid) in migration_grids(r).into_iter().filter(|_| r.compared_to.is_some()) {
        let _ = write!(out, "\ntier migration, {ladder} (rows: {}, columns: {})\n", r.compared_to.as_deref().unwrap_or("-"), r.as_of);
        out.push_str(&grid.text());
    }
    if !r.overlaps.is_empty() {
        out.push_str("\nlargest overlaps\n");
        out.push_str(&overlaps_grid(r, 15).text());
    }
    if !r.profiles.features.is_empty() {
        out.push_str("\nprofiles (averages)\n");
        out.push_str(&profiles_grid(r).text());
    }
    if !r.models.is_empty() {
        out.push_str("\nmodels\n");
        out.push_str(&models::fits_grid(&r.models).text());
        for m in r.models.iter().filter(|m| !m.holdout.is_empty()) {
            let _ = write!(out, "\n{}: purchases in the {} days after calibration, actual against predicted\n", m.model, m.holdout_days.unwrap_or(0));
            out.push_str(&models::holdout_grid(m).text());
        }
    }
    out
}

/// The report as markdown (for a wiki or a pull-request comment).
pub fn markdown(r: &Report) -> String {
    let mut out = format!("# Segment report: {}\n\n", title(r));
    out.push_str("## Segments\n\n");
    out.push_str(&segments_grid(r).markdown());
    if !r.tiers.is_empty() {
        out.push_str("\n## Tiers\n\n");
        out.push_str(&tiers_grid(r).markdown());
    }
    if r.compared_to.is_some() {
        for (ladder, grid) in migration_grids(r) {
            let _ = write!(out, "\n## Tier migration: {ladder}\n\nRows: tier on {}; columns: tier on {}.\n\n", r.compared_to.as_deref().unwrap_or("-"), r.as_of);
            out.push_str(&grid.markdown());
        }
    }
    if !r.overlaps.is_empty() {
        out.push_str("\n## Largest overlaps\n\n");
        out.push_str(&overlaps_grid(r, 25).markdown());
    }
    if !r.profiles.features.is_empty() {
        out.push_str("\n## Profiles (averages)\n\n");
        out.push_str(&profiles_grid(r).markdown());
    }
    if !r.models.is_empty() {
        out.push_str("\n## Models\n\n");
        out.push_str(&models::fits_grid(&r.models).markdown());
        for m in r.models.iter().filter(|m| !m.holdout.is_empty()) {
            let _ = write!(out, "\n### {}: the {} days after calibration\n\n", m.model, m.holdout_days.unwrap_or(0));
            out.push_str(&models::holdout_grid(m).markdown());
        }
    }
    out
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Horizontal bars of segment sizes.
fn bar_chart(r: &Report) -> String {
    let row_h = 18;
    let label_w = 200;
    let bar_w = 520;
    let max = r.segments.iter().map(|s| s.size).max().unwrap_or(1).max(1);
    let h = row_h * r.segments.len() + 10;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" role=\"img\" aria-label=\"segment sizes\">", label_w + bar_w + 120);
    for (i, s) in r.segments.iter().enumerate() {
        let y = i * row_h + 4;
        let w = (s.size as f64 / max as f64 * bar_w as f64).round() as usize;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"l\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{}\" class=\"bar\"><title>{}: {} ({})</title></rect><text x=\"{}\" y=\"{}\" class=\"v\">{} · {}</text>",
            label_w - 6,
            y + 12,
            esc(&s.name),
            row_h - 4,
            esc(&s.name),
            s.size,
            percent(s.share),
            label_w + w + 6,
            y + 12,
            s.size,
            percent(s.share)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A heat map of pairwise overlaps (share of the smaller segment).
fn heat_map(r: &Report) -> String {
    let names: Vec<&str> = r.segments.iter().map(|s| s.name.as_str()).collect();
    let share: BTreeMap<(&str, &str), f64> = r
        .overlaps
        .iter()
        .flat_map(|o| [((o.a.as_str(), o.b.as_str()), o.share_of_smaller), ((o.b.as_str(), o.a.as_str()), o.share_of_smaller)])
        .collect();
    let cell = 12;
    let label = 190;
    let size = label + cell * names.len() + 10;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" role=\"img\" aria-label=\"overlap heat map\">");
    for (i, n) in names.iter().enumerate() {
        let _ = write!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"s\">{}</text>", label - 4, label + i * cell + 10, esc(n));
        let _ = write!(
            svg,
            "<text transform=\"translate({},{}) rotate(-60)\" class=\"s\">{}</text>",
            label + i * cell + 9,
            label - 4,
            esc(n)
        );
    }
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            let v = if i == j { 1.0 } else { share.get(&(*a, *b)).copied().unwrap_or(0.0) };
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgba(196,30,58,{:.3})\" stroke=\"#eee\"><title>{} ∩ {}: {}</title></rect>",
                label + j * cell,
                label + i * cell,
                v,
                esc(a),
                esc(b),
                percent(v)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

pub(super) fn html_table(g: &Grid, heat: bool) -> String {
    let max = if heat {
        g.rows.iter().flat_map(|r| r.iter().skip(1)).filter_map(|c| c.parse::<f64>().ok()).fold(0.0, f64::max).max(1.0)
    } else {
        1.0
    };
    let mut out = String::from("<table><thead><tr>");
    for h in &g.headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &g.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if g.numeric.get(i).copied().unwrap_or(false) { " class=\"n\"" } else { "" };
            let style = match c.parse::<f64>() {
                Ok(v) if heat && i > 0 => format!(" style=\"background:rgba(30,90,196,{:.3})\"", v / max * 0.8),
                _ => String::new(),
            };
            let _ = write!(out, "<td{class}{style}>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// One self-contained HTML page: inline CSS and SVG, no scripts, no network.
pub fn html(r: &Report) -> String {
    let mut body = format!("<h1>{}</h1>", esc(&title(r)));
    body.push_str("<h2>Segment sizes</h2>");
    body.push_str(&bar_chart(r));
    body.push_str("<h2>Segments</h2>");
    body.push_str(&html_table(&segments_grid(r), false));
    if !r.tiers.is_empty() {
        body.push_str("<h2>Tier distribution</h2>");
        body.push_str(&html_table(&tiers_grid(r), false));
    }
    if r.compared_to.is_some() {
        for (ladder, grid) in migration_grids(r) {
            let _ = write!(
                body,
                "<h2>Tier migration: {}</h2><p>Rows: tier on {}; columns: tier on {}.</p>",
                esc(&ladder),
                esc(r.compared_to.as_deref().unwrap_or("-")),
                esc(&r.as_of)
            );
            body.push_str(&html_table(&grid, true));
        }
    }
    if !r.overlaps.is_empty() {
        body.push_str("<h2>Overlap (share of the smaller segment)</h2>");
        body.push_str(&heat_map(r));
    }
    if !r.profiles.features.is_empty() {
        body.push_str("<h2>Profiles (averages)</h2>");
        body.push_str(&html_table(&profiles_grid(r), false));
    }
    if !r.models.is_empty() {
        body.push_str("<h2>Models</h2>");
        body.push_str(&html_table(&models::fits_grid(&r.models), false));
        for m in r.models.iter().filter(|m| !m.holdout.is_empty()) {
            let _ = write!(body, "<h3>{}: purchases in the {} days after calibration, actual against predicted</h3>", esc(&m.model), m.holdout_days.unwrap_or(0));
            body.push_str(&models::holdout_chart(m));
            body.push_str(&html_table(&models::holdout_grid(m), false));
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
         body{{font:14px system-ui,sans-serif;margin:24px;color:#222}}h1{{font-size:20px}}h2{{font-size:16px;margin-top:28px}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:3px 8px}}th{{background:#f4f4f4}}td.n{{text-align:right}}\
         .bar{{fill:#1e5ac4}}.pred{{fill:#9cb9ec}}.bar-key{{fill:#1e5ac4}}.pred-key{{fill:#9cb9ec}}h3{{font-size:14px}}.l,.v{{font-size:11px}}.s{{font-size:9px}}</style></head><body>{body}</body></html>\n",
        esc(&title(r))
    )
}

/// A self-contained page around `body`, styled as the report.
pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
         body{{font:14px system-ui,sans-serif;margin:24px;color:#222}}h1{{font-size:20px}}h2{{font-size:16px;margin-top:28px}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:3px 8px}}th{{background:#f4f4f4}}td.n{{text-align:right}}\
         h3{{font-size:14px}}.l,.v{{font-size:11px}}</style></head><body>{body}</body></html>\n",
        esc(title)
    )
}
