//! The `campaign_results` table: per campaign, and per segment and tier level the customer was
//! in on the send date, the sends, response rates, revenue and the holdout lift.
//!
//! The membership on a send date is the one of the latest run on or before that date
//! (`segment_members_history`, `tier_history`): an ASOF join of each send to the history's dates.
//! The grouped counts come from one DuckDB query into a temporary table; the intervals and
//! p-values are computed here from those counts and joined back, so the table keeps DuckDB's
//! types for dates and times.

use super::stats::{newcombe, two_proportion_p, Difference, Z95};
use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::validate::resolved::ResolvedCampaigns;
use duckdb::Connection;

/// The table a run writes.
pub const TABLE: &str = "campaign_results";
const GROUPS: &str = "campaign_groups";

/// What a holdout comparison can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The 95% interval of the conversion lift excludes 0.
    Significant,
    /// The interval includes 0: no effect shown.
    NotSignificant,
    /// A group has fewer sends than `min_group_size`: no lift is stated.
    TooSmall,
    /// Nobody was held out.
    NoHoldout,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Significant => "significant",
            Verdict::NotSignificant => "not_significant",
            Verdict::TooSmall => "too_small",
            Verdict::NoHoldout => "no_holdout",
        }
    }
}

/// The counts of one group that the statistics need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    pub sent: u64,
    pub converted: u64,
    pub held_out: u64,
    pub held_out_converted: u64,
}

/// The holdout comparison of one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lift {
    pub verdict: Verdict,
    /// Treated minus holdout conversion rate, with its 95% interval (Newcombe).
    pub difference: Option<Difference>,
    /// Treated over holdout conversion rate, minus 1.
    pub relative: Option<f64>,
    pub p_value: Option<f64>,
}

/// The lift of `c`; nothing is stated for groups under `min_group` sends.
pub fn lift(c: Counts, min_group: u64) -> Lift {
    let none = |verdict| Lift { verdict, difference: None, relative: None, p_value: None };
    if c.held_out == 0 {
        return none(Verdict::NoHoldout);
    }
    if c.sent < min_group.max(1) || c.held_out < min_group.max(1) {
        return none(Verdict::TooSmall);
    }
    let difference = newcombe(c.converted, c.sent, c.held_out_converted, c.held_out, Z95);
    let base = c.held_out_converted as f64 / c.held_out as f64;
    let relative = (base > 0.0).then(|| (c.converted as f64 / c.sent as f64) / base - 1.0);
    let verdict = match difference {
        Some(d) if d.low > 0.0 || d.high < 0.0 => Verdict::Significant,
        _ => Verdict::NotSignificant,
    };
    Lift { verdict, difference, relative, p_value: two_proportion_p(c.converted, c.sent, c.held_out_converted, c.held_out) }
}

/// Replace `campaign_results` with the measurement of every send up to `as_of`.
pub fn publish(conn: &Connection, campaigns: &ResolvedCampaigns, as_of: &str) -> Result<usize> {
    let err = |e: duckdb::Error| Error::Step { step: "measure campaigns".into(), message: crate::execute::first_line(&e.to_string()) };
    let with_tiers = crate::execute::table_exists(conn, "tier_history")?;
    conn.execute_batch(&format!("CREATE OR REPLACE TEMP TABLE {GROUPS} AS {}", groups_sql(campaigns, as_of, with_tiers)?)).map_err(err)?;
    let mut stmt = conn
        .prepare(&format!("SELECT row_id, sent, converted, held_out, held_out_converted FROM {GROUPS} ORDER BY row_id"))
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
            Ok((n(0)?, Counts { sent: n(1)?, converted: n(2)?, held_out: n(3)?, held_out_converted: n(4)? }))
        })
        .map_err(err)?
        .collect::<duckdb::Result<Vec<_>>>()
        .map_err(err)?;
    let min_group = u64::from(campaigns.min_group_size);
    let values: Vec<String> = rows.iter().map(|(id, c)| lift_values(*id, lift(*c, min_group))).collect();
    let stats = if values.is_empty() {
        let nulls: Vec<String> = STATS_COLUMNS.iter().map(|(c, ty)| format!("{} AS {c}", DuckDb.cast("NULL", ty))).collect();
        format!("SELECT {} WHERE FALSE", nulls.join(", "))
    } else {
        format!("SELECT * FROM (VALUES {}) AS s(row_id, verdict, lift, lift_low, lift_high, relative_lift, p_value)", values.join(", "))
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE {TABLE} AS\n\
         SELECT {as_of_sql} AS as_of, g.campaign, g.kind, g.ladder, g.name, g.first_sent, g.last_sent, g.membership_from, g.membership_to,\n\
         g.sent, g.held_out, g.opened, g.clicked, g.converted, g.held_out_converted,\n\
         g.opened / nullif(g.sent, 0) AS open_rate, g.clicked / nullif(g.sent, 0) AS click_rate,\n\
         g.converted / nullif(g.sent, 0) AS conversion_rate, g.held_out_converted / nullif(g.held_out, 0) AS held_out_conversion_rate,\n\
         s.lift, s.lift_low, s.lift_high, s.relative_lift, s.p_value, s.verdict,\n\
         g.revenue, g.held_out_revenue, g.revenue / nullif(g.sent, 0) AS revenue_per_recipient,\n\
         g.held_out_revenue / nullif(g.held_out, 0) AS held_out_revenue_per_recipient, g.without_history\n\
         FROM {GROUPS} AS g JOIN ({stats}) AS s USING (row_id) ORDER BY g.row_id;\n\
         DROP TABLE {GROUPS};",
        as_of_sql = DuckDb.date(as_of)
    ))
    .map_err(err)?;
    Ok(rows.len())
}

/// The columns of the statistics joined back to the groups.
const STATS_COLUMNS: &[(&str, &str)] = &[
    ("row_id", "BIGINT"),
    ("verdict", "VARCHAR"),
    ("lift", "DOUBLE"),
    ("lift_low", "DOUBLE"),
    ("lift_high", "DOUBLE"),
    ("relative_lift", "DOUBLE"),
    ("p_value", "DOUBLE"),
];

fn lift_values(id: u64, l: Lift) -> String {
    let num = |v: Option<f64>| DuckDb.cast(&v.filter(|x| x.is_finite()).map_or("NULL".to_string(), |x| format!("{x:e}")), "DOUBLE");
    let d = l.difference;
    format!(
        "({id}, {}, {}, {}, {}, {}, {})",
        DuckDb.string(l.verdict.name()),
        num(d.map(|d| d.estimate)),
        num(d.map(|d| d.low)),
        num(d.map(|d| d.high)),
        num(l.relative),
        num(l.p_value)
    )
}

/// The grouped counts: per campaign all sends (`kind` 'all'), then per segment and per tier
/// level of the customer on the send date.
fn groups_sql(c: &ResolvedCampaigns, as_of: &str, with_tiers: bool) -> Result<String> {
    let d = DuckDb;
    let dated = d.asof_left_join("events AS e", "runs AS r", &format!("{} >= r.as_of", d.cast("e.sent_at", "DATE")))?;
    let no_ladder = d.cast("NULL", "VARCHAR");
    let (ids, hist) = (crate::publish::SEGMENT_IDS_TABLE, crate::publish::SEGMENT_HISTORY_TABLE);
    let aggregates = "min(sent_at) AS first_sent, max(sent_at) AS last_sent, min(member_as_of) AS membership_from, \
        max(member_as_of) AS membership_to, count(*) FILTER (WHERE NOT held_out) AS sent, count(*) FILTER (WHERE held_out) AS held_out, \
        count(*) FILTER (WHERE NOT held_out AND opened) AS opened, count(*) FILTER (WHERE NOT held_out AND clicked) AS clicked, \
        count(*) FILTER (WHERE NOT held_out AND converted) AS converted, count(*) FILTER (WHERE held_out AND converted) AS held_out_converted, \
        coalesce(sum(revenue) FILTER (WHERE NOT held_out), 0) AS revenue, coalesce(sum(revenue) FILTER (WHERE held_out), 0) AS held_out_revenue";
    let tiers = if with_tiers {
        format!(
            "UNION ALL\nSELECT e.campaign, 2 AS kind_order, 'tier' AS kind, t.ladder, t.tier AS name, {aggregates}, 0 AS without_history \
             FROM dated AS e JOIN tier_history AS t ON t.as_of = e.member_as_of AND t.customer_id = e.customer_id GROUP BY ALL\n"
        )
    } else {
        String::new()
    };
    Ok(format!(
        "WITH events AS ({}),\n\
         runs AS (SELECT DISTINCT as_of FROM {hist}),\n\
         dated AS (SELECT e.*, r.as_of AS member_as_of FROM {dated}),\n\
         grouped AS (\n\
         SELECT campaign, 0 AS kind_order, 'all' AS kind, {no_ladder} AS ladder, 'all' AS name, {aggregates}, \
         count(*) FILTER (WHERE member_as_of IS NULL) AS without_history FROM dated GROUP BY campaign\n\
         UNION ALL\n\
         SELECT e.campaign, 1 AS kind_order, 'segment' AS kind, {no_ladder} AS ladder, i.segment AS name, {aggregates}, 0 AS without_history \
         FROM dated AS e JOIN {hist} AS h ON h.as_of = e.member_as_of AND h.customer_id = e.customer_id JOIN {ids} AS i USING (segment_id) GROUP BY ALL\n\
         {tiers})\n\
         SELECT row_number() OVER (ORDER BY campaign, kind_order, ladder NULLS FIRST, name) AS row_id, {} FROM grouped",
        events_sql(c, as_of, &d),
        d.star_excluding(&["kind_order"])?
    ))
}

/// One row per send up to `as_of`: campaign, customer, time, holdout flag, responses, revenue.
fn events_sql(c: &ResolvedCampaigns, as_of: &str, d: &DuckDb) -> String {
    let src = &c.source;
    let time = d.ident(src.time.as_deref().unwrap_or("sent_at"));
    let key = d.ident(&src.key);
    let end = format!("{} + {}", d.date(as_of), d.interval_days(1));
    let flag = |column: &str| format!("coalesce(CAST(e.{} AS BOOLEAN), FALSE)", d.ident(column));
    let revenue = match (&c.has_revenue, &c.orders) {
        (true, _) => "coalesce(CAST(e.revenue AS DOUBLE), 0)".to_string(),
        (false, Some(orders)) => {
            let otime = d.ident(orders.time.as_deref().unwrap_or("ordered_at"));
            format!(
                "coalesce((SELECT sum(CAST(o.amount AS DOUBLE)) FROM {} AS o WHERE o.{} = e.{key} AND o.{otime} >= e.{time} \
                 AND o.{otime} < e.{time} + {} AND o.{otime} < {end}), 0)",
                crate::compile::source_relation(orders, d),
                d.ident(&orders.key),
                d.interval_days(i64::from(c.attribution_days))
            )
        }
        (false, None) => d.cast("NULL", "DOUBLE"),
    };
    let held_out = if c.has_holdout { flag("holdout") } else { "FALSE".into() };
    format!(
        "SELECT CAST(e.campaign AS VARCHAR) AS campaign, e.{key} AS customer_id, CAST(e.{time} AS TIMESTAMP) AS sent_at, {held_out} AS held_out, \
         {} AS opened, {} AS clicked, {} AS converted, {revenue} AS revenue FROM {} AS e WHERE e.{time} < {end} AND e.campaign IS NOT NULL",
        flag("opened"),
        flag("clicked"),
        flag("converted"),
        crate::compile::source_relation(src, d)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lift_states_nothing_for_small_or_missing_holdouts() {
        let c = Counts { sent: 70, converted: 56, held_out: 80, held_out_converted: 48 };
        let l = lift(c, 50);
        assert_eq!(l.verdict, Verdict::Significant);
        let d = l.difference.unwrap();
        assert_eq!(((d.low * 1e4).round(), (d.high * 1e4).round()), (524.0, 3339.0));
        assert_eq!(lift(c, 75).verdict, Verdict::TooSmall);
        assert_eq!(lift(Counts { held_out: 0, held_out_converted: 0, ..c }, 1).verdict, Verdict::NoHoldout);
        assert_eq!(lift(Counts { sent: 100, converted: 10, held_out: 100, held_out_converted: 9 }, 1).verdict, Verdict::NotSignificant);
    }
}
