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
    let pairs: Vec<(String, String, i64, f64)> = v["overlaps"]
        .as_array()
        .expect("overlaps")
        .iter()
        .map(|o| (o["a"].as_str().unwrap_or("").into(), o["b"].as_str().unwrap_or("").into(), o["both"].as_i64().unwrap_or(0), o["share_of_smaller"].as_f64().unwrap_or(0.0)))
        .collect();
    assert_eq!(pairs, vec![("clv_low".into(), "rf_sleeping".into(), 4, 1.0), ("loyal".into(), "loyal_or_coupon".into(), 4, 1.0)]);
    // 10 customers existed on both dates. Customer 4: silver -> vip (2000.00 in 2 orders, then
    // 5000.00); customer 6: bronze -> gold (300.00, then 7 orders and 2100.00).
    // Customers 2 and 13 signed up after 2025-12-31, the (new) row: 2 with one order of 1000.01
    // (silver), 13 without orders (bronze). Nobody left the population.
    assert_eq!(
        v["migrations"],
        serde_json::json!([
            {"ladder": "club", "from": "silver", "to": "vip", "customers": 1},
            {"ladder": "club", "from": "silver", "to": "silver", "customers": 1},
            {"ladder": "club", "from": "bronze", "to": "gold", "customers": 1},
            {"ladder": "club", "from": "bronze", "to": "silver", "customers": 2},
            {"ladder": "club", "from": "bronze", "to": "bronze", "customers": 5},
            {"ladder": "club", "from": "(new)", "to": "silver", "customers": 1},
            {"ladder": "club", "from": "(new)", "to": "bronze", "customers": 1}
        ])
    );
    let arrived: i64 = v["migrations"].as_array().expect("migrations").iter().filter(|m| m["to"] != "(left)").filter_map(|m| m["customers"].as_i64()).sum();
    assert_eq!(arrived, 12, "the migration rows add up to all customers");
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
    // Segments are grouped by their first tag; the untagged ones come last, under "other".
    let (value, other) = (md.find("\n## Segments: value\n").expect("value group"), md.find("\n## Segments: other\n").expect("other group"));
    assert!(value < other, "{md}");
    assert!(md.contains("| clv_high | 1 | 8.3% | 1 | 0 | - | - | - |"), "{md}");
    assert!(md.contains("| silver | 1 | 0 | 1 | 0 | 0 | 2 |"), "migration row silver: {md}");
    assert!(md.contains("| (new) | 0 | 0 | 1 | 1 | 0 | 2 |"), "migration row of new customers: {md}");
    let target = dir.path().join("out/report.html");
    let out = segmenter(dir.path()).args(["--quiet", "report", "--to", "html", "--out"]).arg(&target).output().expect("report");
    assert_eq!(out.status.code(), Some(0));
    let html = std::fs::read_to_string(&target).expect("html");
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(html.matches("<svg").count(), 4, "tier bars, trend lines, RFM grid and heat map");
    assert!(!html.contains("<script") && !html.contains("src="), "self-contained");
    assert_eq!(html.matches("href=\"").count(), html.matches("href=\"#").count(), "links only into the page");
    for heading in ["Segments by theme", "Trends", "Tiers", "Tier migration", "RFM: recency × frequency", "Overlap between segments", "Profiles against all customers", "About this run"] {
        assert!(html.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    assert!(html.contains("<h3>value <span class=\"dim\">(3 segments)</span></h3>"), "group heading");
    assert!(html.contains("<title>vip: 1 (8.3%)</title>"), "tier bar");
}

/// The RFM grid, the trends and the tier gaps against direct queries of the output database.
#[test]
fn rfm_grid_trends_and_gaps_match_the_database() {
    let dir = two_dates();
    let db = dir.path().join("out/tiny.duckdb");
    let out = segmenter(dir.path()).args(["--format", "json", "report"]).output().expect("report");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let count = |sql: &str| -> i64 { rows(&db, sql)[0].parse().expect("a count") };
    // The fixture's score `rf` has parts r and f in 3 buckets, over customers with orders.
    let grid = &v["rfm"];
    assert_eq!((grid["table"].as_str(), grid["buckets"].as_i64()), (Some("rf_scores"), Some(3)));
    let cells: Vec<Vec<i64>> = serde_json::from_value(grid["counts"].clone()).expect("counts");
    assert_eq!(cells.iter().flatten().sum::<i64>(), count("SELECT count(*) FROM customer_features WHERE order_count > 0"));
    assert_eq!(grid["scored"].as_i64(), Some(cells.iter().flatten().sum::<i64>()));
    assert_eq!(cells[2][2], count("SELECT count(*) FROM rf_scores WHERE r = 3 AND f = 3"));
    assert_eq!(cells[0][1], count("SELECT count(*) FROM rf_scores WHERE r = 1 AND f = 2"));
    // Trends: one size per history date, equal to the history's counts.
    assert_eq!(v["trends"]["dates"], serde_json::json!(["2025-12-31", "2026-06-30"]));
    let series = v["trends"]["series"].as_array().expect("series");
    assert_eq!(series.len(), 8, "the 8 largest segments");
    for s in series {
        let name = s["segment"].as_str().expect("name");
        for (i, date) in ["2025-12-31", "2026-06-30"].iter().enumerate() {
            let sql = format!("SELECT count(*) FROM segment_members_history WHERE segment = '{name}' AND as_of = DATE '{date}'");
            assert_eq!(s["sizes"][i].as_i64(), Some(count(&sql)), "{name} on {date}");
        }
    }
    // Bronze customers are measured against silver's spend_12m >= 500: within 10% is a gap of at most 50.
    let bronze = v["tier_gaps"].as_array().and_then(|g| g.iter().find(|g| g["tier"] == "bronze")).expect("bronze gaps");
    assert_eq!(bronze["thresholds"], serde_json::json!(["spend_12m >= 500"]));
    assert_eq!(bronze["customers"].as_i64(), Some(count("SELECT count(*) FROM tier_assignments WHERE tier = 'bronze'")));
    assert_eq!(bronze["within"].as_i64(), Some(count("SELECT count(*) FROM tier_assignments WHERE tier = 'bronze' AND gap_spend_12m <= 50")));
    // The run's metadata comes from the runs table.
    let counted = rows(&db, "SELECT source_rows FROM runs WHERE as_of = DATE '2026-06-30'");
    assert_eq!(v["run"]["source_rows"], serde_json::from_str::<serde_json::Value>(&counted[0]).expect("json"));
    assert!(v["run"]["source_rows"].as_array().is_some_and(|a| a.contains(&serde_json::json!(["customers", 13]))), "13 rows in customers.csv");
}

/// `report.currency` formats the money averages; one date in history is said, not charted.
#[test]
fn currency_and_a_single_date() {
    let dir = fixture("tiny");
    let config = dir.path().join("segmenter.yaml");
    let yaml = std::fs::read_to_string(&config).expect("yaml") + "report:\n  currency: EUR\n";
    std::fs::write(&config, yaml).expect("write");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let md = String::from_utf8(segmenter(dir.path()).args(["report", "--to", "markdown"]).output().expect("report").stdout).expect("utf-8");
    let avg = rows(&dir.path().join("out/tiny.duckdb"), "SELECT round(avg(total_spent), 2)::DOUBLE FROM customer_features")[0].parse::<f64>().expect("avg");
    let (int, cents) = (avg.trunc() as i64, ((avg.fract() * 100.0).round() as i64));
    let grouped = if int >= 1000 { format!("{},{:03}", int / 1000, int % 1000) } else { int.to_string() };
    assert!(md.contains(&format!("€{grouped}.{cents:02}")), "total_spent in euros: {md}");
    assert!(md.contains("History holds one date (2026-06-30): a trend needs runs for at least two dates"), "{md}");
    assert!(!md.contains("## Tier migration"), "{md}");
    let html = String::from_utf8(segmenter(dir.path()).args(["report", "--to", "html"]).output().expect("report").stdout).expect("utf-8");
    assert!(html.contains("History holds one date (2026-06-30)"), "no empty chart");
}

#[test]
fn report_before_any_run_explains_what_to_do() {
    let dir = fixture("tiny");
    let out = segmenter(dir.path()).args(["report"]).output().expect("report");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), "error: out/tiny.duckdb does not exist yet; run `segmenter run` first");
}
