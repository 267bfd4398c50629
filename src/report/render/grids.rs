//! The report's tables as [`Grid`]s, the same for text, markdown and HTML, and the notes that
//! explain them.

use super::Grid;
use crate::report::analysis::{Report, LEFT, NEW};
use crate::report::gaps::NEAR_SHARE;
use crate::report::money;
pub(super) use crate::report::percent;
use crate::report::overlap::{similar_pairs, NESTED_SHARE};
use crate::report::rfm::RfmGrid;
use crate::report::run_info::RunInfo;
use std::collections::BTreeMap;

pub(super) const GAP_NOTE: &str =
    "Customers within 10% of every threshold of the next level. Thresholds are derived from the published gaps (value + gap); levels reached by a `when:` rule publish no gap, so their customers are not measured.";
pub(super) const MIGRATION_NOTE: &str = "(new): not in the ladder on the earlier date; (left): no longer in it. Each column adds up to the level's size now.";
pub(super) fn rfm_note(g: &RfmGrid) -> String {
    let n = g.buckets;
    format!("Customers per recency score (rows, R{n} = most recent) and frequency score (columns, F{n} = most orders) of {}: {} scored customers.", g.table, g.scored)
}
pub(super) const NO_RFM_NOTE: &str = "No RFM grid: the output database has no score with parts named `r` and `f` (a `<score>_scores` table).";
pub(super) const PROFILE_NOTE: &str = "First row: the average of all customers. Segment rows: the segment's average as an index, 100 = all customers' average (150 = half as much again); in HTML green above the average, red below (higher is not always better: recency_days).";

fn opt(v: Option<i64>) -> String {
    v.map_or("-".to_string(), |x| x.to_string())
}

/// An average in the report's style: money in the project's currency, other numbers with two places.
pub(super) fn value(r: &Report, feature: usize, v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if r.profiles.money.get(feature).copied().unwrap_or(false) => money::format(x, r.currency.as_deref()),
        Some(x) => money::grouped(x, 2),
    }
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}

/// A grid whose first column labels the row and the others are numbers.
fn labelled_numbers(headers: &[&str], rows: Vec<Vec<String>>) -> Grid {
    let numeric: Vec<bool> = (0..headers.len()).map(|i| i > 0).collect();
    Grid::new(headers, rows, &numeric)
}

/// One grid per theme, in the report's order; descriptions cut at `clip_at` characters.
pub(super) fn segment_groups(r: &Report, clip_at: usize) -> Vec<(String, Grid)> {
    let with_moves = r.compared_to.is_some();
    let mut headers = vec!["segment", "size", "share"];
    let mut numeric = vec![false, true, true];
    if with_moves {
        headers.extend(["entered", "exited"]);
        numeric.extend([true, true]);
    }
    headers.extend(["owner", "campaign", "description"]);
    numeric.extend([false, false, false]);
    let mut groups: Vec<(String, Grid)> = Vec::new();
    for s in &r.segments {
        if groups.last().is_none_or(|(theme, _)| *theme != s.theme) {
            groups.push((s.theme.clone(), Grid::new(&headers, Vec::new(), &numeric)));
        }
        let mut row = vec![s.name.clone(), s.size.to_string(), percent(s.share)];
        if with_moves {
            row.extend([opt(s.entered), opt(s.exited)]);
        }
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        row.extend([text(&s.owner), text(&s.campaign), clip(&text(&s.description), clip_at)]);
        if let Some((_, grid)) = groups.last_mut() {
            grid.rows.push(row);
        }
    }
    groups
}

pub(super) fn one_date_note(r: &Report) -> String {
    format!("History holds one date ({}): a trend needs runs for at least two dates (`segmenter run --as-of DATE`).", r.trends.dates.join(", "))
}

/// The followed segments' sizes per history date, with the change over the whole span.
pub(super) fn trend_grid(r: &Report) -> Grid {
    let t = &r.trends;
    let mut headers: Vec<&str> = vec!["segment"];
    headers.extend(t.dates.iter().map(String::as_str));
    headers.push("change");
    let rows = t
        .series
        .iter()
        .map(|s| {
            let mut row = vec![s.segment.clone()];
            row.extend(s.sizes.iter().map(i64::to_string));
            let change = s.sizes.last().unwrap_or(&0) - s.sizes.first().unwrap_or(&0);
            row.push(format!("{change:+}"));
            row
        })
        .collect();
    labelled_numbers(&headers, rows)
}

pub(super) fn tiers_grid(r: &Report) -> Grid {
    let rows = r.tiers.iter().map(|t| vec![t.ladder.clone(), t.tier.clone(), t.size.to_string(), percent(t.share)]).collect();
    Grid::new(&["ladder", "tier", "size", "share"], rows, &[false, false, true, true])
}

pub(super) fn gaps_grid(r: &Report) -> Grid {
    let rows = r
        .tier_gaps
        .iter()
        .map(|g| {
            let share = if g.measured > 0 { percent(g.within as f64 / g.measured as f64) } else { "-".into() };
            let thresholds = if g.thresholds.is_empty() { "(not published)".into() } else { g.thresholds.join(", ") };
            vec![g.ladder.clone(), g.tier.clone(), g.next_tier.clone(), g.customers.to_string(), g.measured.to_string(), g.within.to_string(), share, thresholds]
        })
        .collect();
    let within = format!("within {:.0}%", NEAR_SHARE * 100.0);
    Grid::new(
        &["ladder", "tier", "next tier", "customers", "measured", &within, "share of measured", "next tier's thresholds"],
        rows,
        &[false, false, false, true, true, true, true, false],
    )
}

pub(super) fn ladders(r: &Report) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for t in &r.tiers {
        if !v.contains(&t.ladder) {
            v.push(t.ladder.clone());
        }
    }
    v
}

/// One grid per ladder: rows are the earlier tier and `(new)`, columns the current tier and
/// `(left)`, with each row's total (its customers on the earlier date or, for `(new)`, now).
pub(super) fn migration_grids(r: &Report) -> Vec<(String, Grid)> {
    let mut out = Vec::new();
    if r.compared_to.is_none() {
        return out;
    }
    for ladder in ladders(r) {
        let order: Vec<String> = r.tiers.iter().filter(|t| t.ladder == ladder).map(|t| t.tier.clone()).collect();
        let cell: BTreeMap<(&str, &str), i64> = r.migrations.iter().filter(|m| m.ladder == ladder).map(|m| ((m.from.as_str(), m.to.as_str()), m.customers)).collect();
        let froms: Vec<&str> = order.iter().map(String::as_str).chain([NEW]).collect();
        let tos: Vec<&str> = order.iter().map(String::as_str).chain([LEFT]).collect();
        let from_label = format!("from \\ to ({})", r.as_of);
        let mut headers: Vec<&str> = vec![&from_label];
        headers.extend(tos.iter().copied());
        headers.push("total");
        let rows = froms
            .iter()
            .map(|from| {
                let counts: Vec<i64> = tos.iter().map(|to| cell.get(&(*from, *to)).copied().unwrap_or(0)).collect();
                let mut row = vec![from.to_string()];
                row.extend(counts.iter().map(i64::to_string));
                row.push(counts.iter().sum::<i64>().to_string());
                row
            })
            .collect();
        out.push((ladder, labelled_numbers(&headers, rows)));
    }
    out
}

/// Recency rows from the best score down, frequency columns from 1 up, with totals.
pub(super) fn rfm_grid(g: &RfmGrid) -> Grid {
    let labels: Vec<String> = (1..=g.buckets).map(|f| format!("F{f}")).collect();
    let mut headers: Vec<&str> = vec!["R \\ F"];
    headers.extend(labels.iter().map(String::as_str));
    headers.push("total");
    let rows = g
        .counts
        .iter()
        .enumerate()
        .rev()
        .map(|(r, cells)| {
            let mut row = vec![format!("R{}", r + 1)];
            row.extend(cells.iter().map(i64::to_string));
            row.push(cells.iter().sum::<i64>().to_string());
            row
        })
        .collect();
    labelled_numbers(&headers, rows)
}

pub(super) fn overlap_note(r: &Report) -> String {
    let m = &r.overlap_map;
    format!(
        "{} pairs of segments share customers; {} of them are nested (at least {:.0}% of the smaller segment is in the larger) and left out. \
         Listed: the pairs whose memberships go together most (correlation over all customers: 0 = as chance gives, 1 = the same audience) among the {} segments they pick.",
        m.all_pairs,
        m.nested_pairs,
        NESTED_SHARE * 100.0,
        m.segments.len()
    )
}

pub(super) fn overlaps_grid(r: &Report, limit: usize) -> Grid {
    let rows = similar_pairs(&r.overlap_map)
        .into_iter()
        .filter(|o| o.correlation > 0.0)
        .take(limit)
        .map(|o| vec![o.a.clone(), o.b.clone(), o.both.to_string(), percent(o.share_of_smaller), format!("{:.2}", o.correlation)])
        .collect();
    Grid::new(&["segment", "segment", "both", "of smaller", "correlation"], rows, &[false, false, true, true, true])
}

/// All customers' averages, then each segment's index (in the report's segment order).
pub(super) fn profiles_grid(r: &Report) -> Grid {
    let p = &r.profiles;
    let mut headers = vec!["segment"];
    headers.extend(p.features.iter().map(String::as_str));
    let mut first = vec!["(all customers, average)".to_string()];
    first.extend(p.population.iter().enumerate().map(|(i, v)| value(r, i, *v)));
    let by_name: BTreeMap<&str, &Vec<Option<f64>>> = p.segments.iter().map(|(n, v)| (n.as_str(), v)).collect();
    let mut rows = vec![first];
    rows.extend(r.segments.iter().filter_map(|s| by_name.get(s.name.as_str()).map(|vals| (s, vals))).map(|(s, vals)| {
        let mut row = vec![s.name.clone()];
        row.extend(vals.iter().enumerate().map(|(i, v)| p.index(i, *v).map_or("-".into(), |x| format!("{x:.0}"))));
        row
    }));
    labelled_numbers(&headers, rows)
}

/// The run's metadata as name/value rows.
pub(super) fn run_grid(r: &Report, run: &RunInfo) -> Grid {
    let list = |pairs: &[(String, i64)]| pairs.iter().map(|(n, c)| format!("{n} {}", money::grouped(*c as f64, 0))).collect::<Vec<_>>().join(", ");
    let rows = vec![
        vec!["project".into(), r.project.clone()],
        vec!["as of".into(), r.as_of.clone()],
        vec!["compared with".into(), r.compared_to.clone().unwrap_or_else(|| "-".into())],
        vec!["run".into(), run.run_id.clone()],
        vec!["started".into(), run.started_at.clone()],
        vec!["took".into(), run.seconds.map_or("-".into(), |s| format!("{s:.1} s"))],
        vec!["source rows".into(), list(&run.source_rows)],
        vec!["rows written".into(), list(&run.row_counts)],
        vec!["report by".into(), format!("segmenter {}", run.report_version)],
    ];
    Grid::new(&["", "this report"], rows, &[false, false])
}
