//! The hand-made 13-customer project (tests/fixtures/tiny): every expected value below is
//! worked out by hand from the CSV files, including exact boundaries, ties, a customer with
//! no orders, a customer who signed up after as_of, and rows after as_of.

use crate::support::*;

/// Runs the fixture once; returns the temp project (kept alive) and its database path.
fn run_tiny() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = fixture("tiny");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    (dir, db)
}

#[test]
fn segment_members_are_exactly_the_hand_computed_sets() {
    let (_dir, db) = run_tiny();
    // Customer 12 signed up after as_of and is not in the population at all.
    assert_eq!(rows(&db, "SELECT count(*) FROM customer_features"), vec!["12"]);
    // 1000.00 is inside clv_low (<= 1000); 1000.01 is medium; 5000.00 medium; 5000.01 high.
    assert_eq!(members(&db, "clv_low"), "1,3,7,8,9,10,11,13");
    assert_eq!(members(&db, "clv_medium"), "2,4,6");
    assert_eq!(members(&db, "clv_high"), "5");
    assert_eq!(members(&db, "one_time_buyers"), "2,8");
    // avg order_count = 35/12 < 3, so loyal needs > 3 orders; customer 9 has 364 days of
    // tenure (out), customer 11 has exactly 365 (in).
    assert_eq!(members(&db, "loyal"), "4,5,6,11");
    // Customer 13 has 4 sessions up to as_of (a 5th is after it): not > 4.
    assert_eq!(members(&db, "registered_no_orders"), "3");
    // Customer 10: share 0.5 but only 1 coupon order; customer 11: share 0.5 and 2.
    assert_eq!(members(&db, "coupon_lovers"), "9,11");
    // avg total_spent = 16000.01 / 12 = 1333.33
    assert_eq!(members(&db, "above_average_spend"), "4,5,6");
    assert_eq!(members(&db, "vip_loyal"), "4,5");
    assert_eq!(members(&db, "loyal_or_coupon"), "4,5,6,9,11");
    // aov NULL for customers without orders is never a member.
    assert_eq!(members(&db, "high_aov"), "2,4");
    assert_eq!(members(&db, "rf_best"), "5,6");
    assert_eq!(members(&db, "rf_sleeping"), "8,9,10,11");
}

#[test]
fn features_follow_the_null_rules_and_the_as_of_cut() {
    let (_dir, db) = run_tiny();
    let got = rows(
        &db,
        "SELECT customer_id, order_count, total_spent, recency_days, orders_12m, spend_12m, coupon_orders, session_count, country
         FROM customer_features WHERE customer_id IN (1, 3, 4, 5, 13) ORDER BY customer_id",
    );
    assert_eq!(
        got,
        vec![
            // order 104 on 2026-07-01 is after as_of; order 103 is outside the 12-month window
            "1|3|1000.00|29|2|700.00|0|2|DE",
            // no orders: counts 0, spend 0 (default), recency NULL
            "3|0|0.00|NULL|0|0.00|0|5|FR",
            // 2025-07-01 00:00 is the first instant of the 12-month window
            "4|5|5000.00|20|5|5000.00|0|0|FR",
            // 2025-06-30 23:59:59 is just outside it
            "5|6|5000.01|10|5|4000.01|0|0|US",
            "13|0|0.00|NULL|0|0.00|0|4|FR",
        ]
    );
}

#[test]
fn tiers_ranks_next_tier_and_gaps() {
    let (_dir, db) = run_tiny();
    let got = rows(
        &db,
        "SELECT customer_id, tier, rank, next_tier, gap_spend_12m, gap_orders_12m FROM tier_assignments WHERE ladder = 'club' ORDER BY customer_id",
    );
    assert_eq!(
        got,
        vec![
            "1|silver|3|gold|800.00|4",
            "2|silver|3|gold|499.99|5",
            "3|bronze|4|silver|500.00|NULL",
            "4|vip|1|NULL|NULL|NULL",
            "5|silver|3|gold|0.00|1",
            "6|gold|2|vip|2900.00|NULL",
            "7|bronze|4|silver|0.01|NULL",
            "8|silver|3|gold|1000.00|5",
            "9|bronze|4|silver|100.00|NULL",
            "10|bronze|4|silver|400.00|NULL",
            "11|bronze|4|silver|100.00|NULL",
            "13|bronze|4|silver|500.00|NULL",
        ]
    );
    let catalog = rows(&db, "SELECT tier, rank, size, benefits::VARCHAR FROM tier_catalog ORDER BY rank");
    assert_eq!(catalog, vec!["vip|1|1|[gifts]", "gold|2|1|[]", "silver|3|4|[]", "bronze|4|6|[discount notices]"]);
}

#[test]
fn rfm_style_scores_give_ties_equal_scores() {
    let (_dir, db) = run_tiny();
    let got = rows(&db, "SELECT customer_id, r, f, score, label FROM rf_scores ORDER BY customer_id");
    assert_eq!(
        got,
        vec![
            "1|2|2|22|NULL",
            "2|3|1|31|NULL",
            "4|2|3|23|NULL",
            // customers 5 and 6 both last ordered 10 days ago: same r
            "5|3|3|33|best",
            "6|3|3|33|best",
            "7|2|1|21|NULL",
            "8|1|1|11|sleeping",
            // 9 and 11 both have 4 orders: same f
            "9|1|2|12|sleeping",
            "10|1|1|11|sleeping",
            "11|1|2|12|sleeping",
        ]
    );
}

#[test]
fn catalog_lists_sizes_shares_and_kinds() {
    let (_dir, db) = run_tiny();
    let got = rows(&db, "SELECT name, size, share, kind FROM segment_catalog WHERE name IN ('clv_low', 'rf_best', 'clv_high') ORDER BY name");
    assert_eq!(got, vec!["clv_high|1|0.0833|rule", "clv_low|8|0.6667|rule", "rf_best|2|0.1667|score:rf"]);
    let kinds = rows(&db, "SELECT name, kind, source FROM feature_catalog WHERE name IN ('country', 'aov', 'order_count') ORDER BY name");
    assert_eq!(kinds, vec!["aov|derived|NULL", "country|declared|customers", "order_count|derived|orders"]);
}

#[test]
fn select_runs_only_the_chosen_definitions() {
    let dir = fixture("tiny");
    segmenter(dir.path()).args(["--quiet", "run", "--select", "tag:value,one_time_buyers"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    assert_eq!(rows(&db, "SELECT name FROM segment_catalog ORDER BY name"), vec!["clv_high", "clv_low", "clv_medium", "one_time_buyers"]);
    // A run publishes every feature, also a selected one (`compile --select` shows only the
    // features the selection needs).
    let cols = rows(&db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'customer_features' ORDER BY ordinal_position");
    assert_eq!(cols.len(), 12, "{cols:?}");
}

#[test]
fn as_of_moves_every_window() {
    let dir = fixture("tiny");
    segmenter(dir.path()).args(["--quiet", "run", "--as-of", "2026-07-01"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    // On 2026-07-01 order 104 (999.00) counts for customer 1: 1999.00 is medium.
    assert_eq!(members(&db, "clv_medium"), "1,2,4,6");
}

/// `most_frequent` / `most_frequent_count`: the smallest value wins a tie, NULL is not a value,
/// a window applies, rows after as_of are ignored, and customers without rows get NULL and 0.
/// `session_count` (`count(*)` over the same rows) is folded into the same scan and still counts
/// the rows whose device is NULL.
#[test]
fn most_frequent_values_and_their_counts_are_exact() {
    let dir = fixture("tiny");
    std::fs::write(
        dir.path().join("data/sessions.csv"),
        "customer_id,started_at,device\n\
         1,2026-06-01 09:00:00,mobile\n1,2026-06-02 09:00:00,desktop\n\
         2,2026-06-01 09:00:00,tablet\n2,2026-06-02 09:00:00,tablet\n\
         2,2026-06-03 09:00:00,\n2,2026-06-04 09:00:00,\n2,2026-06-05 09:00:00,\n\
         3,2026-01-10 09:00:00,mobile\n3,2026-02-10 09:00:00,mobile\n3,2026-03-10 09:00:00,mobile\n\
         3,2026-05-10 09:00:00,desktop\n\
         4,2026-06-01 09:00:00,\n\
         5,2026-07-02 09:00:00,mobile\n",
    )
    .expect("write sessions");
    std::fs::write(
        dir.path().join("segments/devices.yaml"),
        "features:\n\
         \x20 - { name: fav_device, source: sessions, most_frequent: device }\n\
         \x20 - { name: fav_device_sessions, source: sessions, most_frequent_count: device }\n\
         \x20 - { name: fav_device_90d, source: sessions, most_frequent: device, window: 90d }\n\
         \x20 - { name: fav_device_90d_sessions, source: sessions, most_frequent_count: device, window: 90d }\n\
         segments:\n\
         \x20 - { name: mostly_mobile, where: \"fav_device = 'mobile'\" }\n",
    )
    .expect("write definitions");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    assert_eq!(
        rows(&db, "SELECT customer_id, fav_device, fav_device_sessions, session_count, fav_device_90d, fav_device_90d_sessions FROM customer_features WHERE customer_id <= 6 ORDER BY 1"),
        vec![
            "1|desktop|1|2|desktop|1",
            "2|tablet|2|5|tablet|2",
            "3|mobile|3|4|desktop|1",
            "4|NULL|0|1|NULL|0",
            "5|NULL|0|0|NULL|0",
            "6|NULL|0|0|NULL|0",
        ]
    );
    assert_eq!(members(&db, "mostly_mobile"), "3");
    assert_eq!(
        rows(&db, "SELECT column_name || ' ' || data_type FROM duckdb_columns() WHERE table_name = 'customer_features' AND column_name LIKE 'fav_device%' ORDER BY 1"),
        vec!["fav_device VARCHAR", "fav_device_90d VARCHAR", "fav_device_90d_sessions BIGINT", "fav_device_sessions BIGINT"]
    );
}

/// Statistics in derived features are computed first (a scratch table) over exactly the values
/// the published table holds; once a statistic is of a feature that itself uses one
/// (`aov_vs_avg_share`), every statistic is a subquery over a materialized layer instead.
/// Either way the published values equal the statistics recomputed over `customer_features`.
#[test]
fn statistics_in_derived_features_match_the_published_values() {
    let dir = fixture("tiny");
    let db = dir.path().join("out/tiny.duckdb");
    let mut yaml = String::from(
        "features:\n\
         \x20 - { name: spend_vs_median, expr: \"total_spent - {{ stat('median', 'total_spent') }}\" }\n\
         \x20 - { name: aov_vs_avg, expr: \"aov / {{ stat('avg', 'aov') }}\" }\n",
    );
    let check = "SELECT count(*) FILTER (WHERE spend_vs_median IS DISTINCT FROM total_spent - (SELECT median(total_spent) FROM customer_features)), \
                        count(*) FILTER (WHERE abs(aov_vs_avg - aov / (SELECT avg(aov) FROM customer_features)) > 1e-12 OR (aov_vs_avg IS NULL) <> (aov IS NULL)), \
                        count(aov_vs_avg) FROM customer_features";
    for nested in [false, true] {
        if nested {
            yaml.push_str("  - { name: aov_vs_avg_share, expr: \"aov_vs_avg / {{ stat('max', 'aov_vs_avg') }}\" }\n");
        }
        std::fs::write(dir.path().join("segments/stats.yaml"), &yaml).expect("write definitions");
        let plan = segmenter(dir.path()).args(["compile"]).output().expect("compile");
        let plan = String::from_utf8_lossy(&plan.stdout);
        assert_eq!(plan.contains("-- step: features: feature_stats"), !nested, "{plan}");
        assert_eq!(plan.contains("MATERIALIZED"), nested, "{plan}");
        segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
        assert_eq!(rows(&db, check), vec!["0|0|10"]);
        // 5000.01 minus the median of the 12 customers' spend: between 499.99 and 500.00,
        // which DuckDB's DECIMAL(18,2) median gives as 499.99.
        assert_eq!(rows(&db, "SELECT spend_vs_median FROM customer_features WHERE customer_id = 5"), vec!["4500.02"]);
    }
    let share = "SELECT count(*) FILTER (WHERE abs(aov_vs_avg_share - aov_vs_avg / (SELECT max(aov_vs_avg) FROM customer_features)) > 1e-12), \
                        count(aov_vs_avg_share), max(aov_vs_avg_share) FROM customer_features";
    assert_eq!(rows(&db, share), vec!["0|10|1"]);
}

/// `compile --format json` lists every step with its target and whether it is a scratch table.
#[test]
fn compile_json_lists_steps_and_marks_scratch_tables() {
    let dir = fixture("tiny");
    let out = segmenter(dir.path()).args(["--format", "json", "compile"]).output().expect("compile");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["as_of"], "2026-06-30");
    let steps: Vec<String> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| format!("{}|{}|{}", s["label"].as_str().unwrap_or("?"), s["target"].as_str().unwrap_or("?"), s["scratch"]))
        .collect();
    assert_eq!(
        steps,
        vec![
            "features: agg_orders|__segmenter_state__agg_orders|true",
            "features: agg_sessions|__segmenter_state__agg_sessions|true",
            "features|customer_features|false",
            "score rf|rf_scores|false",
            "segments|segment_members|false",
            "tiers|tier_assignments|false",
            "catalogs|segment_catalog|false",
            "catalogs|tier_catalog|false",
            "catalogs|feature_catalog|false",
            "history|segment_members_history|false",
            "history|tier_history|false",
        ]
    );
    assert!(v["steps"][0]["sql"].as_str().unwrap_or_default().starts_with("CREATE OR REPLACE TABLE \"__segmenter_state__agg_orders\" AS"));
}

#[test]
fn exclude_leaves_definitions_out_of_the_selection_or_of_all() {
    let dir = fixture("tiny");
    segmenter(dir.path()).args(["--quiet", "run", "--exclude", "tag:value,one_time_buyers"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    let names = rows(&db, "SELECT string_agg(name, ',' ORDER BY name) FROM segment_catalog");
    assert!(!names[0].contains("clv_") && !names[0].contains("one_time_buyers"), "{names:?}");
    let out = segmenter(dir.path()).args(["validate", "--exclude", "nosuch"]).output().expect("validate");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("segmenter.yaml:1:1: error[E040]: --exclude 'nosuch' matches no definition"));
}

/// `segment()` is always TRUE or FALSE: a customer without orders has no recency (NULL), is not
/// `recent`, so `NOT segment('recent')` holds for them instead of dropping them.
#[test]
fn segment_calls_are_never_null() {
    let dir = fixture("tiny");
    std::fs::write(
        dir.path().join("segments/null_trap.yaml"),
        "segments:\n  - { name: recent, where: recency_days <= 90 }\n  - { name: not_recent, where: \"NOT {{ segment('recent') }}\" }\n\
         tests:\n  - name: no_orders_is_not_recent\n    given:\n      customers:\n        - { customer_id: 1, signup_date: \"2020-01-01\" }\n        - { customer_id: 2, signup_date: \"2020-01-01\" }\n\
         \x20     orders:\n        - { customer_id: 1, ordered_at: \"2026-06-01 10:00:00\", amount: 10.00 }\n\
         \x20   expect:\n      - { segment: recent, members: [1] }\n      - { segment: not_recent, members: [2] }\n",
    )
    .expect("write");
    let out = segmenter(dir.path()).arg("test").output().expect("test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PASS  fixture no_orders_is_not_recent"), "{stdout}");
}
