//! The page's charts as inline SVG: tier bars, the trend lines, the RFM grid and the overlap
//! heat map. Every chart has its numbers written on it (no tooltip needed) and a table beside it.

use super::esc;
use super::grids::percent;
use crate::report::analysis::Report;
use crate::report::overlap::{is_nested, NESTED_SHARE};
use crate::report::rfm::RfmGrid;
use crate::report::trends::Trends;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Line colours of the trend chart (Tableau 10).
const PALETTE: &[&str] = &["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/// Width in pixels of `text` at 11px (a generous average, so labels are never clipped).
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.8 + 8.0
}

fn open(w: f64, h: f64, label: &str) -> String {
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" aria-label=\"{}\">", esc(label))
}

/// Horizontal bars of one ladder's levels, best level first.
pub(super) fn tier_bars(r: &Report, ladder: &str) -> String {
    let tiers: Vec<_> = r.tiers.iter().filter(|t| t.ladder == ladder).collect();
    let label_w = tiers.iter().map(|t| text_width(&t.tier)).fold(40.0, f64::max);
    let (bar_w, row_h) = (280.0, 22.0);
    let max = tiers.iter().map(|t| t.size).max().unwrap_or(1).max(1) as f64;
    let mut svg = open(label_w + bar_w + 110.0, row_h * tiers.len() as f64 + 6.0, &format!("{ladder} tier sizes"));
    for (i, t) in tiers.iter().enumerate() {
        let y = i as f64 * row_h + 3.0;
        let w = t.size as f64 / max * bar_w;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"l\">{}</text><rect x=\"{label_w:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" class=\"bar\"><title>{}: {} ({})</title></rect><text x=\"{:.1}\" y=\"{:.1}\" class=\"v\">{} · {}</text>",
            label_w - 6.0,
            y + 13.0,
            esc(&t.tier),
            row_h - 6.0,
            esc(&t.tier),
            t.size,
            percent(t.share),
            label_w + w + 6.0,
            y + 13.0,
            t.size,
            percent(t.share)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A round upper bound for an axis and its tick step.
fn axis_max(max: i64) -> (f64, f64) {
    let max = max.max(1) as f64;
    let magnitude = 10f64.powf(max.log10().floor());
    let step = [0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|s| s * magnitude).find(|s| max / s <= 5.0).unwrap_or(magnitude * 10.0);
    ((max / step).ceil() * step, step)
}

/// One line per followed segment over the history dates, with a legend of the latest sizes.
pub(super) fn trend_chart(t: &Trends) -> String {
    let legend_w = t.series.iter().map(|s| text_width(&format!("{} {}", s.segment, s.sizes.last().unwrap_or(&0)))).fold(80.0, f64::max);
    let (left, top, plot_w, plot_h) = (56.0, 12.0, 440.0, 220.0);
    let (ymax, step) = axis_max(t.series.iter().flat_map(|s| s.sizes.iter().copied()).max().unwrap_or(1));
    let x = |i: usize| left + if t.dates.len() > 1 { i as f64 / (t.dates.len() - 1) as f64 * plot_w } else { plot_w / 2.0 };
    let y = |v: i64| top + plot_h - v as f64 / ymax * plot_h;
    let mut svg = open(left + plot_w + 30.0 + legend_w, top + plot_h + 40.0, "sizes of the largest segments per run");
    let mut tick = 0.0;
    while tick <= ymax + 1e-9 {
        let ty = top + plot_h - tick / ymax * plot_h;
        let _ = write!(svg, "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" class=\"grid\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"s\">{tick:.0}</text>", left + plot_w, left - 6.0, ty + 3.0);
        tick += step;
    }
    for (i, d) in t.dates.iter().enumerate() {
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"s\">{}</text>", x(i), top + plot_h + 16.0, esc(d));
    }
    let _ = write!(svg, "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{:.1}\" class=\"axis\"/>", top + plot_h);
    for (k, s) in t.series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let points: Vec<String> = s.sizes.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect();
        let _ = write!(svg, "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>", points.join(" "));
        for (i, v) in s.sizes.iter().enumerate() {
            let _ = write!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{} on {}: {v}</title></circle>", x(i), y(*v), esc(&s.segment), esc(&t.dates[i]));
        }
        let ly = top + 10.0 + k as f64 * 18.0;
        let lx = left + plot_w + 24.0;
        let _ = write!(
            svg,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{ly:.1}\" class=\"l\">{} {}</text>",
            ly - 9.0,
            lx + 14.0,
            esc(&s.segment),
            s.sizes.last().unwrap_or(&0)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A cell's fill for a value from 0 to 1 of `max`, and the text colour that reads on it.
fn shade(value: f64, rgb: &str) -> (String, &'static str) {
    let alpha = value.clamp(0.0, 1.0) * 0.9;
    (format!("rgba({rgb},{alpha:.3})"), if alpha > 0.5 { "#fff" } else { "#222" })
}

/// The R×F grid: best recency on top, frequency rising to the right, counts in the cells.
pub(super) fn rfm_chart(g: &RfmGrid) -> String {
    let (cell, left, top) = (56.0, 64.0, 8.0);
    let n = g.counts.len() as f64;
    let max = g.counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut svg = open(left + n * cell + 10.0, top + n * cell + 44.0, "customers per recency and frequency score");
    for (ri, row) in g.counts.iter().enumerate().rev() {
        let y = top + (n - 1.0 - ri as f64) * cell;
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"l\">R{}</text>", left - 8.0, y + cell / 2.0 + 4.0, ri + 1);
        for (fi, count) in row.iter().enumerate() {
            let (fill, ink) = shade(*count as f64 / max, "30,90,196");
            let x = left + fi as f64 * cell;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#fff\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"l\" fill=\"{ink}\">{count}</text>",
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    for fi in 0..g.counts.len() {
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"l\">F{}</text>", left + fi as f64 * cell + cell / 2.0, top + n * cell + 16.0, fi + 1);
    }
    let _ = write!(svg, "<text x=\"{left}\" y=\"{:.1}\" class=\"s\">rows: recency score (R{b} = most recent) · columns: frequency score (F{b} = most orders)</text></svg>", top + n * cell + 36.0, b = g.buckets);
    svg
}

/// The heat map of the informative segments: share of the smaller segment in each cell, the
/// diagonal and nested pairs in grey, a colour scale below.
pub(super) fn overlap_heat(r: &Report) -> String {
    let names = &r.overlap_map.segments;
    let pairs: BTreeMap<(&str, &str), &crate::report::analysis::Overlap> =
        r.overlap_map.pairs.iter().flat_map(|o| [((o.a.as_str(), o.b.as_str()), o), ((o.b.as_str(), o.a.as_str()), o)]).collect();
    let label_w = names.iter().map(|n| text_width(n)).fold(60.0, f64::max);
    let cell = 40.0;
    let (left, top) = (label_w, label_w * 0.72 + 10.0);
    let n = names.len() as f64;
    let mut svg = open(left + n * cell + label_w * 0.75, top + n * cell + 70.0, "overlap heat map: share of the smaller segment");
    svg.push_str("<defs><linearGradient id=\"overlap-scale\"><stop offset=\"0\" stop-color=\"rgb(196,30,58)\" stop-opacity=\"0\"/><stop offset=\"1\" stop-color=\"rgb(196,30,58)\" stop-opacity=\"0.9\"/></linearGradient></defs>");
    for (i, name) in names.iter().enumerate() {
        let c = left + i as f64 * cell + cell / 2.0;
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"l\">{}</text>", left - 6.0, top + i as f64 * cell + cell / 2.0 + 4.0, esc(name));
        let _ = write!(svg, "<text transform=\"translate({:.1},{:.1}) rotate(-45)\" class=\"l\">{}</text>", c - 2.0, top - 6.0, esc(name));
    }
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            let (x, y) = (left + j as f64 * cell, top + i as f64 * cell);
            let (fill, ink, label) = match pairs.get(&(a.as_str(), b.as_str())) {
                _ if i == j => ("#f0f0f0".to_string(), "#999", "—".to_string()),
                Some(o) if is_nested(o) => ("url(#nested)".to_string(), "#777", format!("{:.0}", o.share_of_smaller * 100.0)),
                Some(o) => {
                    let (f, ink) = shade(o.share_of_smaller, "196,30,58");
                    (f, ink, format!("{:.0}", o.share_of_smaller * 100.0))
                }
                None => ("#fff".to_string(), "#bbb", "0".to_string()),
            };
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"s\" fill=\"{ink}\">{label}</text>",
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    svg.push_str("<defs><pattern id=\"nested\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f3f3f3\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ddd\" stroke-width=\"2\"/></pattern></defs>");
    svg.push_str(&heat_legend(left, top + n * cell + 18.0));
    svg.push_str("</svg>");
    svg
}

/// The heat map's colour scale (0–100% of the smaller segment) and the key of the grey cells.
fn heat_legend(x: f64, y: f64) -> String {
    let mut out = format!("<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"200\" height=\"12\" fill=\"url(#overlap-scale)\" stroke=\"#ccc\"/>");
    for pct in [0, 25, 50, 75, 100] {
        let tx = x + pct as f64 * 2.0;
        let _ = write!(out, "<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"s\">{pct}%</text>", y + 26.0);
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"s\">cell = % of the smaller segment also in the other</text><rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"url(#nested)\" stroke=\"#ccc\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"s\">nested pair (≥ {:.0}%): trivial</text>",
        x + 214.0,
        y + 10.0,
        x,
        y + 34.0,
        x + 18.0,
        y + 44.0,
        NESTED_SHARE * 100.0
    );
    out
}
