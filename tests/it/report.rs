//! `segmenter report` on the tiny fixture run for two dates: exact JSON, markdown and a
//! self-contained HTML page.

use crate::support::*;

fn two_dates() -> tempfile::TempDir {
    let dir = fixture("tiny");
    for as_of in ["2025-12-31", "2026-06-30"] {
        segmenter(dir.path()).args(["--quiet", "run", "--as-of", as_of]).assert().success();
    }
    dir
}

#[test]
fn json_report_has_sizes_moves_overlaps_and_the_migration_matrix() {
    let dir = two_dates();
    let out = segmenter(dir.path()).args(["--format", "json", "report", "--top", "2"]).output().expect("report");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["as_of"], "2026-06-30");
    assert_eq!(v["compared_to"], "2025-12-31");
    assert_eq!(v["customers"], 12);
    let seg = |name: &str| v["segments"].as_array().and_then(|a| a.iter().find(|s| s["name"] == name)).cloned().expect(name);
    // Sizes are the hand-computed sets of fixture.rs; shares are of the 12 customers.
    assert_eq!(seg("clv_low")["size"], 8);
    assert_eq!(seg("clv_low")["share"], 0.6667);
    assert_eq!(seg("loyal")["size"], 4);
    // Customer 5 (5000.01 lifetime by 2026-06-30, 1000.00 by 2025-12-31) entered clv_high.
    assert_eq!((seg("clv_high")["entered"].clone(), seg("clv_high")["exited"].clone()), (1.into(), 0.into()));
    assert_eq!(
        v["overlaps"],
        serde_json::json!([
            {"a": "clv_low", "b": "rf_sleeping", "both": 4, "share_of_smaller": 1.0},
            {"a": "loyal", "b": "loyal_or_coupon", "both": 4, "share_of_smaller": 1.0}
        ])
    );
    // 10 customers existed on both dates. Customer 4: silver -> vip (2000.00 in 2 orders, then
    // 5000.00); customer 6: bronze -> gold (300.00, then 7 orders and 2100.00).
    assert_eq!(
        v["migrations"],
        serde_json::json!([
            {"ladder": "club", "from": "silver", "to": "vip", "customers": 1},
            {"ladder": "club", "from": "silver", "to": "silver", "customers": 1},
            {"ladder": "club", "from": "bronze", "to": "gold", "customers": 1},
            {"ladder": "club", "from": "bronze", "to": "silver", "customers": 2},
            {"ladder": "club", "from": "bronze", "to": "bronze", "customers": 5}
        ])
    );
    assert_eq!(
        rows(&dir.path().join("out/tiny.duckdb"), "SELECT customer_id, string_agg(tier, '>' ORDER BY as_of) FROM tier_history WHERE customer_id IN (4, 6) GROUP BY 1 ORDER BY 1"),
        vec!["4|silver>vip", "6|bronze>gold"]
    );
    assert_eq!(v["profiles"]["features"], serde_json::json!(["order_count", "total_spent", "aov", "recency_days", "tenure_days", "spend_12m"]));
    // 35 orders over 12 customers up to 2026-06-30.
    assert_eq!(v["profiles"]["population"][0], 2.92);
}

#[test]
fn markdown_and_html_reports() {
    let dir = two_dates();
    let md = segmenter(dir.path()).args(["report", "--to", "markdown"]).output().expect("report");
    let md = String::from_utf8_lossy(&md.stdout).to_string();
    assert!(md.starts_with("# Segment report: tiny as of 2026-06-30 (changes since 2025-12-31): 12 customers\n"), "{md}");
    assert!(md.contains("| clv_high | 1 | 8.3% | 1 | 0 |"), "{md}");
    assert!(md.contains("| silver | 1 | 0 | 1 | 0 |"), "migration row silver: {md}");
    let target = dir.path().join("out/report.html");
    let out = segmenter(dir.path()).args(["--quiet", "report", "--to", "html", "--out"]).arg(&target).output().expect("report");
    assert_eq!(out.status.code(), Some(0));
    let html = std::fs::read_to_string(&target).expect("html");
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(html.matches("<svg").count(), 2, "bar chart and heat map");
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="), "self-contained");
    assert!(html.contains("<title>clv_high: 1 (8.3%)</title>"));
}

#[test]
fn report_before_any_run_explains_what_to_do() {
    let dir = fixture("tiny");
    let out = segmenter(dir.path()).args(["report"]).output().expect("report");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), "error: out/tiny.duckdb does not exist yet; run `segmenter run` first");
}
