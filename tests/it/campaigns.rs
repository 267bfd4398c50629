//! Campaign measurement: `campaign_results` and `segmenter report campaigns` on a project made
//! here with hand-computed numbers, and on the generated sample with its planted uplifts.

use crate::support::*;
use std::fmt::Write as _;
use std::path::Path;

/// 200 customers; 1..=150 bought on 2025-06-01, customer 200 first buys on 2026-02-15, so it
/// is in `non_buyers` in the run of 2026-01-31 and in `buyers` in the run of 2026-02-28.
/// Customers 1..=5 and 71..=73 are `vips`. Customer 1 also orders 10.00 on 2026-02-12 and
/// customer 160 30.00 on 2026-03-06, which only revenue attribution reads.
///
/// Campaign `spring`, sent 2026-02-10 (grouped by the run of 2026-01-31):
/// - buyers: 1..=70 sent, 56 converted (1..=56); 71..=150 held out, 48 converted (71..=118).
///   Lift 56/70 - 48/80 = 0.8 - 0.6 = +20.0 points. Newcombe's interval for this very pair is
///   example (a) of his 1998 paper, Table II, method 10: 0.0524 to 0.3339; the pooled z-test
///   gives z = 2.6502, p = 0.008045. Of the sent, 1..=35 opened (50%) and 1..=14 clicked (20%);
///   each conversion brought 20.00, so revenue per recipient is 56 * 20 / 70 = 16.00.
/// - non_buyers: 151..=200 sent, nobody held out, 10 converted (151..=160): no lift stated.
/// - vips: 5 sent (all converted), 3 held out (all converted): under `min_group_size` 10, so
///   too small for a lift.
/// - all: 120 sent with 66 converted, 80 held out with 48: 55.0% against 60.0%, -5.0 points,
///   interval -0.1843 to +0.0893, p = 0.4841 (the holdout is all buyers, who convert more).
///
/// Campaign `march`, sent 2026-03-05 (run of 2026-02-28) to 151..=200, none held out: customer
/// 200 now counts in `buyers` (1 sent), the other 49 in `non_buyers`.
fn project() -> tempfile::TempDir {
    project_with(true)
}

/// The project above; without `revenue` in the events when `revenue_column` is false.
fn project_with(revenue_column: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::create_dir_all(p.join("data")).unwrap();
    std::fs::create_dir_all(p.join("segments")).unwrap();
    std::fs::write(
        p.join("segmenter.yaml"),
        "name: campaign_fixture\n\
         sources:\n  customers: { path: data/customers.csv, key: customer_id, time: signup_date }\n  \
         orders: { path: data/orders.csv, key: customer_id, time: ordered_at }\n  \
         campaign_events: { path: data/campaign_events.csv, key: customer_id, time: sent_at }\n\
         vars: { as_of: \"2026-02-28\" }\n\
         campaigns: { min_group_size: 10 }\n\
         output: { database: out/segments.duckdb }\n",
    )
    .unwrap();
    std::fs::write(
        p.join("segments/all.yaml"),
        "features:\n  - { name: order_count, source: orders, expr: count(*) }\n  \
         - { name: is_vip, source: customers, expr: vip, kind: declared }\n\
         segments:\n  - { name: buyers, where: order_count >= 1 }\n  - { name: non_buyers, where: order_count = 0 }\n  \
         - { name: vips, where: is_vip }\n",
    )
    .unwrap();
    let mut customers = String::from("customer_id,signup_date,vip\n");
    let mut orders = String::from("customer_id,ordered_at,amount\n");
    for id in 1..=200 {
        let _ = writeln!(customers, "{id},2025-01-01,{}", id <= 5 || (71..=73).contains(&id));
        if id <= 150 {
            let _ = writeln!(orders, "{id},2025-06-01 12:00:00,10.00");
        }
    }
    orders.push_str("1,2026-02-12 12:00:00,10.00\n200,2026-02-15 12:00:00,10.00\n160,2026-03-06 12:00:00,30.00\n");
    let mut events = String::from("campaign,customer_id,sent_at,holdout,opened,clicked,converted,revenue\n");
    for id in 1..=200 {
        let held = (71..=150).contains(&id);
        let converted = id <= 56 || (71..=118).contains(&id) || (151..=160).contains(&id);
        let revenue = if converted { "20.00" } else { "0.00" };
        let _ = writeln!(events, "spring,{id},2026-02-10 09:00:00,{held},{},{},{converted},{revenue}", id <= 35, id <= 14);
    }
    for id in 151..=200 {
        let _ = writeln!(events, "march,{id},2026-03-05 09:00:00,false,false,false,false,0.00");
    }
    std::fs::write(p.join("data/customers.csv"), customers).unwrap();
    std::fs::write(p.join("data/orders.csv"), orders).unwrap();
    if !revenue_column {
        events = events.lines().map(|l| l.rsplit_once(',').map_or(l, |(rest, _)| rest).to_string() + "\n").collect();
    }
    std::fs::write(p.join("data/campaign_events.csv"), events).unwrap();
    for as_of in ["2026-01-31", "2026-02-28", "2026-03-31"] {
        segmenter(p).args(["--quiet", "run", "--as-of", as_of]).assert().success();
    }
    dir
}

fn results(p: &Path, sql_where: &str) -> Vec<String> {
    rows(
        &p.join("out/segments.duckdb"),
        &format!(
            "SELECT campaign, kind, name, sent, held_out, converted, held_out_converted, round(lift, 4), round(lift_low, 4), round(lift_high, 4), \
             round(p_value, 6), verdict, round(revenue_per_recipient, 2), round(open_rate, 2), round(click_rate, 2) \
             FROM campaign_results WHERE {sql_where} ORDER BY campaign, kind, name"
        ),
    )
}

#[test]
fn hand_computed_rates_lift_and_interval() {
    let dir = project();
    assert_eq!(
        results(dir.path(), "campaign = 'spring'"),
        [
            "spring|all|all|120|80|66|48|-0.05|-0.1843|0.0893|0.484108|not_significant|11|0.29|0.12",
            "spring|segment|buyers|70|80|56|48|0.2|0.0524|0.3339|0.008045|significant|16|0.5|0.2",
            "spring|segment|non_buyers|50|0|10|0|NULL|NULL|NULL|NULL|no_holdout|4|0|0",
            "spring|segment|vips|5|3|5|3|NULL|NULL|NULL|NULL|too_small|20|1|1",
        ]
    );
}

#[test]
fn a_customer_who_changed_segment_counts_in_the_segment_of_each_send_date() {
    let dir = project();
    // Customer 200 was a non-buyer on 2026-01-31 (spring: 50 non-buyers) and a buyer on
    // 2026-02-28 (march: 1 buyer, 49 non-buyers).
    assert_eq!(
        results(dir.path(), "campaign = 'march'"),
        [
            "march|all|all|50|0|0|0|NULL|NULL|NULL|NULL|no_holdout|0|0|0",
            "march|segment|buyers|1|0|0|0|NULL|NULL|NULL|NULL|no_holdout|0|0|0",
            "march|segment|non_buyers|49|0|0|0|NULL|NULL|NULL|NULL|no_holdout|0|0|0",
        ]
    );
    let dates = rows(
        &dir.path().join("out/segments.duckdb"),
        "SELECT campaign, CAST(membership_from AS VARCHAR), CAST(membership_to AS VARCHAR) FROM campaign_results WHERE kind = 'all' ORDER BY campaign",
    );
    assert_eq!(dates, ["march|2026-02-28|2026-02-28", "spring|2026-01-31|2026-01-31"]);
}

#[test]
fn report_campaigns_text_and_json() {
    let dir = project();
    let out = segmenter(dir.path()).args(["report", "campaigns", "--campaign", "spring"]).output().expect("report");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Campaign results (run of 2026-03-31)\n\
Lift: conversion rate of the sent minus the held-out, in percentage points, with Newcombe's 95% interval; p: two-sided pooled z-test. \
Groups: the customer's segments and tier levels in the latest run on or before the send date.\n\
\n\
spring: 120 sent, 80 held out; sends 2026-02-10 to 2026-02-10; segments as of the runs of 2026-01-31 to 2026-01-31\n\
\n\
group       sent  held out  opened  clicked  converted  holdout conv.  lift (pts)   95% interval      p  revenue/sent  verdict\n\
----------  ----  --------  ------  -------  ---------  -------------  ----------  -------------  -----  ------------  ---------------\n\
all          120        80   29.2%    11.7%      55.0%          60.0%        -5.0  -18.4 to +8.9  0.484         11.00  not significant\n\
buyers        70        80   50.0%    20.0%      80.0%          60.0%       +20.0  +5.2 to +33.4  0.008         16.00  significant\n\
non_buyers    50         0    0.0%     0.0%      20.0%              -           -              -      -          4.00  no holdout\n\
vips           5         3  100.0%   100.0%     100.0%         100.0%           -              -      -         20.00  too small\n"
    );
    // docs/campaigns.md shows this output.
    let doc = std::fs::read_to_string(repo_root().join("docs/campaigns.md")).expect("campaigns.md");
    let shown = doc.split("<!-- campaigns-example:start -->\n```text\n").nth(1).and_then(|rest| rest.split("```\n<!-- campaigns-example:end -->").next());
    assert!(shown.is_some_and(|s| String::from_utf8_lossy(&out.stdout).ends_with(s)), "docs/campaigns.md shows other output");
    let out = segmenter(dir.path()).args(["--format", "json", "report", "campaigns", "--since", "2026-03-01"]).output().expect("report");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["as_of"], "2026-03-31");
    let names: Vec<&str> = v["campaigns"].as_array().unwrap().iter().map(|c| c["campaign"].as_str().unwrap()).collect();
    assert_eq!(names, ["march"], "--since keeps campaigns with a send on or after the date");
    assert_eq!(v["campaigns"][0]["groups"][1]["name"], "buyers");
    assert_eq!(v["campaigns"][0]["groups"][1]["sent"], 1);
    // The whole report's JSON carries every group too; its text has the Campaigns section.
    let out = segmenter(dir.path()).args(["--format", "json", "report"]).output().expect("report");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["campaigns"][1]["groups"][1]["lift_low"].as_f64().map(|x| (x * 1e4).round()), Some(524.0));
    let out = segmenter(dir.path()).args(["report"]).output().expect("report");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\ncampaigns\nCampaign results of the run of 2026-03-31"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = segmenter(dir.path()).args(["report", "campaigns", "--campaign", "sprng"]).output().expect("report");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "error: no campaign 'sprng' in campaign_results; did you mean 'spring'?");
}

/// Without a `revenue` column a send's revenue is the customer's orders within 7 days from it:
/// customer 1's 10.00 two days after `spring` (70 buyers sent: 0.14 each; 5 vips: 2.00),
/// customer 200's 10.00 five days after it (50 non-buyers: 0.20; all 120 sent: 20.00, 0.17), and
/// customer 160's 30.00 the day after `march` (49 non-buyers sent: 0.61 each; all 50: 0.60).
#[test]
fn revenue_is_attributed_from_orders_without_a_revenue_column() {
    let dir = project_with(false);
    let got = rows(
        &dir.path().join("out/segments.duckdb"),
        "SELECT campaign, name, round(revenue_per_recipient, 2), round(revenue, 2) FROM campaign_results ORDER BY campaign, kind, name",
    );
    assert_eq!(
        got,
        [
            "march|all|0.6|30",
            "march|buyers|0|0",
            "march|non_buyers|0.61|30",
            "spring|all|0.17|20",
            "spring|buyers|0.14|10",
            "spring|non_buyers|0.2|10",
            "spring|vips|2|10",
        ]
    );
}

/// The generator plants a conversion uplift per income band (0, 4 and 8 points for
/// income_low, income_middle and income_high; docs/sample-data.md). With memberships from
/// quarterly runs, every interval the report states for those segments holds its planted value.
#[test]
fn the_sample_reports_the_planted_uplifts_inside_their_intervals() {
    let dir = sample_project();
    for as_of in ["2025-06-30", "2025-09-30", "2025-12-31", "2026-03-31", "2026-06-30"] {
        segmenter(dir.path()).args(["--quiet", "run", "--as-of", as_of]).assert().success();
    }
    let stated = rows(
        &dir.path().join("out/segments.duckdb"),
        "SELECT campaign, name, lift_low, lift_high FROM campaign_results \
         WHERE name IN ('income_low', 'income_middle', 'income_high') AND lift_low IS NOT NULL ORDER BY ALL",
    );
    let planted = |segment: &str| match segment {
        "income_low" => 0.0,
        "income_middle" => 0.04,
        _ => 0.08,
    };
    let mut covered = std::collections::BTreeSet::new();
    for row in &stated {
        let f: Vec<&str> = row.split('|').collect();
        let (low, high): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        assert!(low <= planted(f[1]) && planted(f[1]) <= high, "{row}: planted {} outside the interval", planted(f[1]));
        covered.insert(f[1].to_string());
    }
    assert_eq!(covered.len(), 3, "every income segment has a stated lift: {stated:?}");
    assert!(stated.len() >= 6, "{stated:?}");
}
