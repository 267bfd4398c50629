//! `segmenter report campaigns`: the `campaign_results` table of the last run, per campaign, as
//! terminal tables, markdown, JSON or HTML with a chart of the lift and its interval.

use super::render::{esc, Grid};
use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use duckdb::Connection;
use serde::Serialize;
use std::fmt::Write;

/// Which campaigns to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub campaign: Option<String>,
    /// Campaigns with a send on or after this date (`YYYY-MM-DD`).
    pub since: Option<String>,
}

/// One campaign: its sends, and the results of each group (all, segments, tier levels).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Campaign {
    pub campaign: String,
    pub first_sent: String,
    pub last_sent: String,
    /// The run dates whose memberships the sends were grouped by.
    pub membership_from: Option<String>,
    pub membership_to: Option<String>,
    /// Sends before the first run in history: in `all` only.
    pub without_history: i64,
    pub groups: Vec<GroupResult>,
}

/// The results of one group of a campaign (one row of `campaign_results`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupResult {
    pub kind: String,
    pub ladder: Option<String>,
    pub name: String,
    pub sent: i64,
    pub held_out: i64,
    pub opened: i64,
    pub clicked: i64,
    pub converted: i64,
    pub held_out_converted: i64,
    pub open_rate: Option<f64>,
    pub click_rate: Option<f64>,
    pub conversion_rate: Option<f64>,
    pub held_out_conversion_rate: Option<f64>,
    pub lift: Option<f64>,
    pub lift_low: Option<f64>,
    pub lift_high: Option<f64>,
    pub relative_lift: Option<f64>,
    pub p_value: Option<f64>,
    pub verdict: String,
    pub revenue: f64,
    pub held_out_revenue: f64,
    pub revenue_per_recipient: Option<f64>,
    pub held_out_revenue_per_recipient: Option<f64>,
}

impl GroupResult {
    /// `all`, the segment's name, or `ladder: tier`.
    pub fn label(&self) -> String {
        match &self.ladder {
            Some(ladder) => format!("{ladder}: {}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The campaigns of `campaign_results` that `filter` keeps; a database without the table is a
/// usage error that says how to get one.
pub fn read(conn: &Connection, filter: &Filter) -> Result<(String, Vec<Campaign>)> {
    read_if_measured(conn, filter)?.ok_or_else(|| {
        Error::Usage("the output database has no campaign_results: add `campaigns:` to segmenter.yaml (docs/campaigns.md) and run `segmenter run`".into())
    })
}

/// [`read`], or `None` when the database has no `campaign_results` (no run measured campaigns).
pub fn read_if_measured(conn: &Connection, filter: &Filter) -> Result<Option<(String, Vec<Campaign>)>> {
    if !crate::execute::table_exists(conn, crate::campaigns::measure::TABLE)? {
        return Ok(None);
    }
    let d = DuckDb;
    let err = |e: duckdb::Error| Error::Step { step: "read campaign_results".into(), message: crate::execute::first_line(&e.to_string()) };
    let mut conds = vec!["TRUE".to_string()];
    if let Some(c) = &filter.campaign {
        conds.push(format!("campaign = {}", d.string(c)));
    }
    if let Some(since) = &filter.since {
        conds.push(format!("campaign IN (SELECT campaign FROM campaign_results GROUP BY campaign HAVING max(last_sent) >= {})", d.date(since)));
    }
    let sql = format!(
        "SELECT CAST(as_of AS VARCHAR), campaign, kind, ladder, name, CAST(first_sent AS VARCHAR), CAST(last_sent AS VARCHAR), \
         CAST(membership_from AS VARCHAR), CAST(membership_to AS VARCHAR), without_history, sent, held_out, opened, clicked, converted, \
         held_out_converted, open_rate, click_rate, conversion_rate, held_out_conversion_rate, lift, lift_low, lift_high, relative_lift, \
         p_value, verdict, CAST(revenue AS DOUBLE), CAST(held_out_revenue AS DOUBLE), revenue_per_recipient, held_out_revenue_per_recipient \
         FROM campaign_results WHERE {} ORDER BY campaign, CASE kind WHEN 'all' THEN 0 WHEN 'segment' THEN 1 ELSE 2 END, ladder NULLS FIRST, name",
        conds.join(" AND ")
    );
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    let rows = stmt.query_map([], row).map_err(err)?.collect::<duckdb::Result<Vec<_>>>().map_err(err)?;
    let as_of = rows.first().map(|(a, _)| a.clone()).unwrap_or_default();
    let mut campaigns: Vec<Campaign> = Vec::new();
    for (_, (c, g)) in rows {
        match campaigns.last_mut() {
            Some(last) if last.campaign == c.campaign => last.groups.push(g),
            _ => campaigns.push(Campaign { groups: vec![g], ..c }),
        }
    }
    if campaigns.is_empty() {
        if let Some(name) = &filter.campaign {
            let known = crate::execute::column_strings(conn, "read campaign_results", "SELECT DISTINCT campaign FROM campaign_results ORDER BY 1", &[])?;
            let hint = crate::diagnostics::did_you_mean(name, known.iter().map(String::as_str)).unwrap_or_else(|| format!("campaigns are: {}", known.join(", ")));
            return Err(Error::Usage(format!("no campaign '{name}' in campaign_results; {hint}")));
        }
    }
    Ok(Some((as_of, campaigns)))
}

type Row = (String, (Campaign, GroupResult));

fn row(r: &duckdb::Row<'_>) -> duckdb::Result<Row> {
    let campaign = Campaign {
        campaign: r.get(1)?,
        first_sent: r.get(5)?,
        last_sent: r.get(6)?,
        membership_from: r.get(7)?,
        membership_to: r.get(8)?,
        without_history: r.get(9)?,
        groups: Vec::new(),
    };
    let group = GroupResult {
        kind: r.get(2)?,
        ladder: r.get(3)?,
        name: r.get(4)?,
        sent: r.get(10)?,
        held_out: r.get(11)?,
        opened: r.get(12)?,
        clicked: r.get(13)?,
        converted: r.get(14)?,
        held_out_converted: r.get(15)?,
        open_rate: r.get(16)?,
        click_rate: r.get(17)?,
        conversion_rate: r.get(18)?,
        held_out_conversion_rate: r.get(19)?,
        lift: r.get(20)?,
        lift_low: r.get(21)?,
        lift_high: r.get(22)?,
        relative_lift: r.get(23)?,
        p_value: r.get(24)?,
        verdict: r.get(25)?,
        revenue: r.get(26)?,
        held_out_revenue: r.get(27)?,
        revenue_per_recipient: r.get(28)?,
        held_out_revenue_per_recipient: r.get(29)?,
    };
    Ok((r.get(0)?, (campaign, group)))
}

fn rate(v: Option<f64>) -> String {
    v.map_or("-".into(), super::percent)
}

/// Percentage points with a sign.
fn points(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:+.1}", x * 100.0))
}

fn p_value(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(p) if p < 0.001 => "<0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

fn money(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.2}"))
}

/// The campaign's heading: its sends and the runs whose memberships group them.
pub fn heading(c: &Campaign) -> String {
    let all = c.groups.iter().find(|g| g.kind == "all");
    let (sent, held) = all.map_or((0, 0), |g| (g.sent, g.held_out));
    let mut out = format!("{}: {sent} sent, {held} held out; sends {} to {}", c.campaign, &c.first_sent[..10.min(c.first_sent.len())], &c.last_sent[..10.min(c.last_sent.len())]);
    if let (Some(from), Some(to)) = (&c.membership_from, &c.membership_to) {
        let _ = write!(out, "; segments as of the runs of {from} to {to}");
    }
    if c.without_history > 0 {
        let _ = write!(out, "; {} sends before the first run count in the all row only", c.without_history);
    }
    out
}

/// The results of a campaign as a table.
pub(super) fn grid(c: &Campaign) -> Grid {
    let rows = c
        .groups
        .iter()
        .map(|g| {
            let ci = match (g.lift_low, g.lift_high) {
                (Some(lo), Some(hi)) => format!("{} to {}", points(Some(lo)), points(Some(hi))),
                _ => "-".into(),
            };
            vec![
                g.label(),
                g.sent.to_string(),
                g.held_out.to_string(),
                rate(g.open_rate),
                rate(g.click_rate),
                rate(g.conversion_rate),
                rate(g.held_out_conversion_rate),
                points(g.lift),
                ci,
                p_value(g.p_value),
                money(g.revenue_per_recipient),
                g.verdict.replace('_', " "),
            ]
        })
        .collect();
    Grid::new(
        &["group", "sent", "held out", "opened", "clicked", "converted", "holdout conv.", "lift (pts)", "95% interval", "p", "revenue/sent", "verdict"],
        rows,
        &[false, true, true, true, true, true, true, true, true, true, true, false],
    )
}

const NOTE: &str = "Lift: conversion rate of the sent minus the held-out, in percentage points, with Newcombe's 95% interval; \
p: two-sided pooled z-test. Groups: the customer's segments and tier levels in the latest run on or before the send date.";

/// Terminal text.
pub fn text(as_of: &str, campaigns: &[Campaign]) -> String {
    format!("Campaign results (run of {as_of})\n{NOTE}\n{}", text_blocks(campaigns))
}

/// Markdown.
pub fn markdown(as_of: &str, campaigns: &[Campaign]) -> String {
    format!("# Campaign results (run of {as_of})\n\n{NOTE}\n{}", markdown_blocks(campaigns, "##"))
}

/// Each campaign's heading line and table, as terminal text.
fn text_blocks(campaigns: &[Campaign]) -> String {
    campaigns.iter().map(|c| format!("\n{}\n\n{}", heading(c), grid(c).text())).collect()
}

/// Each campaign as a markdown section of heading `level` (`##`), its heading line and table.
fn markdown_blocks(campaigns: &[Campaign], level: &str) -> String {
    campaigns.iter().map(|c| format!("\n{level} {}\n\n{}\n\n{}", esc_md(&c.campaign), esc_md(&heading(c)), grid(c).markdown())).collect()
}

fn esc_md(s: &str) -> String {
    s.replace('|', "\\|").replace('_', "\\_")
}

/// The campaigns' section of an HTML page: per campaign a lift chart and the table.
pub fn html_section(campaigns: &[Campaign]) -> String {
    let mut out = format!("<p>{}</p>", esc(NOTE));
    for c in campaigns {
        let _ = write!(out, "<h3>{}</h3><p>{}</p>", esc(&c.campaign), esc(&heading(c)));
        out.push_str(&lift_chart(c));
        out.push_str(&super::render::plain_table(&grid(c)));
    }
    out
}

/// A self-contained HTML page of the campaign results.
pub fn html(as_of: &str, campaigns: &[Campaign]) -> String {
    let title = format!("Campaign results (run of {as_of})");
    super::render::page(&title, &format!("<h1>{}</h1>{}", esc(&title), html_section(campaigns)))
}

/// Each group with a stated lift: its interval as a line, the estimate as a dot, 0 marked.
pub fn lift_chart(c: &Campaign) -> String {
    let groups: Vec<&GroupResult> = c.groups.iter().filter(|g| g.lift_low.is_some() && g.lift_high.is_some()).collect();
    if groups.is_empty() {
        return "<p>No group has a holdout large enough to state a lift.</p>".into();
    }
    let (label_w, plot_w, row_h) = (220.0, 460.0, 18.0);
    let lo = groups.iter().filter_map(|g| g.lift_low).fold(0.0, f64::min);
    let hi = groups.iter().filter_map(|g| g.lift_high).fold(0.0, f64::max);
    let span = (hi - lo).max(1e-9);
    let x = |v: f64| label_w + (v - lo) / span * plot_w;
    let height = row_h * groups.len() as f64 + 34.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"conversion lift of {} with 95% intervals\">",
        label_w + plot_w + 200.0,
        esc(&c.campaign)
    );
    let zero = x(0.0);
    let _ = write!(svg, "<line x1=\"{zero:.1}\" y1=\"0\" x2=\"{zero:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"3 3\"/>", height - 24.0);
    for (i, g) in groups.iter().enumerate() {
        let y = row_h * i as f64 + 12.0;
        let (l, h, e) = (g.lift_low.unwrap_or(0.0), g.lift_high.unwrap_or(0.0), g.lift.unwrap_or(0.0));
        let colour = if g.verdict == "significant" { "#1e5ac4" } else { "#9cb9ec" };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"l\">{}</text><line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>\
             <circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{}: {} pts ({} to {})</title></circle>",
            label_w - 6.0,
            y + 4.0,
            esc(&g.label()),
            x(l),
            x(h),
            x(e),
            esc(&g.label()),
            points(Some(e)),
            points(Some(l)),
            points(Some(h))
        );
    }
    let axis_y = height - 10.0;
    // Ticks at the ends and at 0, leaving out an end too close to 0 to be read apart from it.
    let mut ticks = vec![(zero, "middle", "0".to_string())];
    for (v, anchor) in [(lo, "start"), (hi, "end")] {
        if (x(v) - zero).abs() > 48.0 {
            ticks.push((x(v), anchor, format!("{} pts", points(Some(v)))));
        }
    }
    for (tx, anchor, label) in ticks {
        let _ = write!(svg, "<text x=\"{tx:.1}\" y=\"{axis_y:.1}\" text-anchor=\"{anchor}\" class=\"l\">{label}</text>");
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{axis_y:.1}\" class=\"l\">dark: the interval excludes 0</text></svg>",
        label_w + plot_w + 24.0
    );
    svg
}

/// The Campaigns section of the whole report: per campaign its `all` row and the groups with a
/// stated lift (`report campaigns` lists every group).
pub fn section(as_of: &str, campaigns: &[Campaign]) -> super::section::ExtraSection {
    let stated: Vec<Campaign> = campaigns
        .iter()
        .map(|c| Campaign { groups: c.groups.iter().filter(|g| g.kind == "all" || g.lift.is_some()).cloned().collect(), ..c.clone() })
        .collect();
    let intro = format!("Campaign results of the run of {as_of}: each campaign's sends, and the segments and tier levels with a holdout large enough to state a lift (every group: segmenter report campaigns).");
    let text = format!("{intro}\n{NOTE}\n{}", text_blocks(&stated));
    let markdown = format!("{}\n\n{NOTE}\n{}", esc_md(&intro), markdown_blocks(&stated, "###"));
    super::section::ExtraSection {
        id: "campaigns".into(),
        title: "Campaigns".into(),
        html: format!("<p class=\"note\">{}</p>{}", esc(&intro), html_section(&stated)),
        markdown,
        text,
    }
}
