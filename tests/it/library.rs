//! The built-in library (the repo's segments/ and macros/) on hand-made data
//! (tests/fixtures/library): 17 customers, each just inside or just outside a threshold.
//! as_of = 2026-06-30; every expected set below was worked out by hand from the CSV files.

use crate::support::*;
use std::path::Path;

/// The fixture data with the repo's library copied next to it.
fn library_project(fixture_name: &str) -> tempfile::TempDir {
    let dir = fixture(fixture_name);
    for entry in ["segments", "macros"] {
        copy_dir(&repo_root().join(entry), &dir.path().join(entry));
    }
    dir
}

fn run(dir: &Path) -> std::path::PathBuf {
    segmenter(dir).args(["--quiet", "run"]).assert().success();
    dir.join("out/library.duckdb")
}

fn check(db: &Path, expected: &[(&str, &str)]) {
    let mut wrong = Vec::new();
    for (segment, ids) in expected {
        let got = members(db, segment);
        if got != *ids {
            wrong.push(format!("{segment}: expected [{ids}], got [{got}]"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn value_and_behaviour_boundaries() {
    let dir = library_project("library");
    let db = run(dir.path());
    check(&db, &[
        // Lifetime spend: 1000.00 low, 1000.01 medium, 5000.00 medium, 5000.01 high; no orders = 0 = low.
        ("clv_low", "1,5,6,7,8,9,10,11,12,16,17"),
        ("clv_medium", "2,3,13,14,15"),
        ("clv_high", "4"),
        // p90 of buyers' spend is 3640 (quantile_cont over the 15 with orders; never-buyers' zeros
        // do not count), and at least 2 orders: 3 (5000.00) and 4 (5000.01), 2 orders each.
        ("big_spenders", "3,4"),
        // An average order above 700: 1 (1000.00), 2 (1000.01), 3 (2500.00), 4 (2500.01); the
        // next largest is 10 (500.00).
        ("luxury_buyers", "1,2,3,4"),
        // Average order count is 43/17 = 2.53, so loyal needs > 3 orders and an order in the last
        // 365 days: 15 has 8 orders but last ordered on 2024-09-01 (lapsed); tenure does not
        // count (17, registered 364 days ago, is loyal).
        ("loyal", "7,13,14,16,17"),
        ("one_time_buyers", "1,2,9,10,11,12"),
        // 5 visits and no orders is > 4; customer 6 has exactly 4.
        ("registered_no_orders", "5"),
        // Average sessions 16/17 = 0.94, and never ordered (5, 6) or once (9); 8 visits twice but
        // ordered twice.
        ("hesitant", "5,6,9"),
        // Every order with a coupon: 1 (its only order) and 3 (both); 7 (2 of 4) and 8 (1 of 2)
        // paid full price too.
        ("coupon_lovers", "1,3"),
        // Cart window 30d starts 2026-06-01 00:00 (customer 1 in); 2026-05-31 23:00 is out (2).
        ("cart_abandoners", "1"),
        // At least 4 orders over at least 3 calendar months, an order in 80% of them, the last
        // within 45 days: 13 ordered in each month February-May; 14 only in April and May; 15
        // every month of 2024 but not since; 16 and 17 four times in four days.
        ("periodic_buyers", "13"),
    ]);
    assert_eq!(rows(&db, "SELECT abandoned_products FROM customer_features WHERE customer_id = 1"), vec!["P0003;P0001;P0002"]);
    // The reminder export carries what each abandoner left behind.
    let export = std::fs::read_to_string(dir.path().join("out/exports/2026-06-30/cart_reminders.csv")).expect("cart_reminders.csv");
    assert_eq!(export, "customer_id,abandoned_products,abandoned_carts_recent\n1,P0003;P0001;P0002,2\n");
}

#[test]
fn lifecycle_churn_campaign_and_holiday_boundaries() {
    let dir = library_project("library");
    let db = run(dir.path());
    check(&db, &[
        // First order 0 and 29 days ago are new; 30 days ago (3, 4) is not.
        ("new_customers", "1,2,16,17"),
        ("returning", "3,4,7,8,13,14,15,16,17"),
        // Last order 89 days ago (12) is active; 90 days (11) is not.
        ("active", "1,2,3,4,7,8,12,13,14,16,17"),
        ("inactive", "9,15"),
        // churn_ratio = recency / own interval (store median 20 for one-order customers):
        // 13 = 30/20 = 1.5 (medium), 14 = 30/10 = 3.0 (high), 2 = 29/20 = 1.45 (low).
        ("churn_risk_low", "1,2,3,4,7,8,16,17"),
        ("churn_risk_medium", "13"),
        ("churn_risk_high", "9,10,11,12,14,15"),
        // One exclusive group, retain > win-back > encourage: every buyer in exactly one.
        // Retain: loyal (7,13,14,16,17; tenure no longer counts, and 15 stopped buying two years
        // ago) or high value (4). Win back: 15 (inactive, 8 orders); 9 is inactive but has 1 order
        // and 499.99 < median spend 500. Encourage: every other buyer (5 and 6 never ordered).
        ("campaign_retain", "4,7,13,14,16,17"),
        ("campaign_win_back", "15"),
        ("campaign_encourage", "1,2,3,8,9,10,11,12"),
        // 7: 300 on 11-24 + 200 on 12-31 = half of 1000; 8's order on 11-22 is outside the window,
        // which starts on 23 November, the earliest Black Friday. Country calendars: 1's only
        // order (30 June) shipped to Canada, inside Canada Day's 28 June - 1 July; 10's (2 January)
        // to Great Britain, inside the January sales that run from 26 December to 3 January.
        ("holiday_shoppers", "1,7,10"),
    ]);
}

#[test]
fn demographic_geographic_and_technographic_boundaries() {
    let dir = library_project("library");
    let db = run(dir.path());
    check(&db, &[
        // Born 2002-06-30: 24 on as_of; 2001-06-30: 25; 2001-07-01: still 24.
        ("age_18_24", "1,3"),
        ("age_25_34", "2,9"),
        ("age_35_44", "6,7,8"),
        ("age_45_54", "10,11,12,13,14,15,16,17"),
        ("age_55_64", "5"),
        ("age_65_plus", "4"),
        ("gender_female", "1,3,5,7,9,11,13,15"),
        ("gender_male", "2,4,6,8,10,12,14,16"),
        // 16 has no country: neither home market nor international, but country_unknown.
        ("home_market", "2,3,4,5,6,7,8,9,10,11,12,13,14,15,17"),
        ("international", "1"),
        ("country_unknown", "16"),
        ("occupation_student", "1"),
        ("occupation_professional", "2,3"),
        ("occupation_retired", "4"),
        ("household_single", "3"),
        ("household_large", "2"),
        ("rural", "1"),
        ("warm_climate", "2"),
        ("cold_climate", "3"),
        // 3 of 5 visits on a phone is exactly 0.6; 2 + 2 is multi-device; 2 visits are too few.
        ("mobile_first", "5"),
        ("desktop_first", "7"),
        ("multi_device", "6"),
    ]);
}

#[test]
fn tier_ladders_levels_and_gaps() {
    let dir = library_project("library");
    let db = run(dir.path());
    let levels = |ladder: &str| {
        rows(&db, &format!(
            "SELECT tier, string_agg(customer_id::VARCHAR, ',' ORDER BY customer_id) FROM tier_assignments \
             WHERE ladder = '{ladder}' GROUP BY tier, rank ORDER BY rank"
        ))
    };
    // 12-month spend: 5000.00 is vip; 1500 with 6 orders gold, with 5 orders silver; 500.00 silver, 499.99 bronze.
    assert_eq!(levels("club_tier"), vec!["vip|3,4", "gold|13", "silver|1,2,7,10,14", "bronze|5,6,8,9,11,12,15,16,17"]);
    // The path: vip by 12-month spend after a year (3, 4); gold by 6 orders and 1500 in 12 months
    // (13; 14 has 5 orders; 15 spent 1600 but in 2024); loyal = the loyal segment (7, 14, 16, 17);
    // active (an order in 90 days); newcomer registered 89 days ago (6; 5 registered 90 days ago
    // and never ordered: dormant); lapsed bought before (9, 10, 11, 15).
    assert_eq!(
        levels("loyalty_level"),
        vec!["vip|3,4", "gold|13", "loyal|7,14,16,17", "active|1,2,8,12", "newcomer|6", "lapsed|9,10,11,15", "dormant|5"]
    );
    assert_eq!(
        rows(&db, "SELECT customer_id, next_tier, gap_spend_12m, gap_orders_12m FROM tier_assignments \
                   WHERE ladder = 'club_tier' AND customer_id IN (2, 3, 7, 9, 13, 14) ORDER BY customer_id"),
        vec!["2|gold|499.99|5", "3|NULL|NULL|NULL", "7|gold|500.00|2", "9|silver|0.01|NULL", "13|vip|3500.00|NULL", "14|gold|0.00|1"]
    );
}

#[test]
fn a_project_with_only_customers_and_orders_runs_and_reports_what_it_skipped() {
    let dir = library_project("library");
    std::fs::write(
        dir.path().join("segmenter.yaml"),
        "name: minimal\nsources:\n  customers: { path: data/customers.csv, key: customer_id, time: signup_date }\n  \
         orders: { path: data/orders.csv, key: customer_id, time: ordered_at }\nvars: { as_of: \"2026-06-30\" }\n\
         output: { database: out/library.duckdb }\n",
    )
    .expect("write");
    let out = segmenter(dir.path()).args(["--format", "json", "run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut skipped: Vec<String> = v["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| format!("{}:{}", s["name"].as_str().unwrap_or(""), s["sources"].as_array().map_or(0, Vec::len)))
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        vec![
            "affinity_electronics:1", "affinity_fashion:1", "affinity_home:1", "cart_abandoners:1", "category_loyal:1",
            "desktop_first:1", "email_contactable:1", "engagement_high:2", "engagement_low:2", "engagement_medium:2",
            "hesitant:1", "household_large:1", "household_single:1", "interest_fashion_beauty:1", "interest_home_living:1",
            "interest_sports_outdoor:1", "long_visits:1", "mobile_first:1", "multi_device:1", "opted_out_email:1", "price_sensitive:1",
            "registered_no_orders:1",
        ]
    );
    let w11: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["code"] == "W011")
        .filter_map(|w| w["message"].as_str())
        .collect();
    assert_eq!(w11.len(), 6, "{w11:?}");
    assert_eq!(w11[0], "source 'order_items' is not declared; definitions that need it are skipped");
    // What does not need the missing sources is still computed, e.g. the value bands.
    let db = dir.path().join("out/library.duckdb");
    assert_eq!(members(&db, "clv_high"), "4");
}

#[test]
fn engagement_psychographic_affinity_and_consent_boundaries() {
    let dir = library_project("library");
    let db = run(dir.path());
    check(&db, &[
        // score = 0.3*min(sessions_90d/10,1) + 0.2*min(clicks_90d/40,1) + 0.2*response rate
        // + 0.3*min(orders_90d/2,1): 16: 0.3 (4 orders) + 0.2 (clicked its one email) = 0.5;
        // 5: 0.15 + 0.05 + 0.2 = 0.4 without orders; 8: 0.06 + 0.02 + 0.15 = 0.23; 6: 0.12 + 0.04 =
        // 0.16; 1: 0.15 (one order, no visits); 7's clicked email of 2026-04-01 23:00 is outside
        // the 90 days starting 2026-04-02, and so is 11's order of 2026-04-01 (12's of 04-02 is in).
        ("engagement_high", "16"),
        ("engagement_medium", "3,4,5,7,8,13,14,17"),
        ("engagement_low", "1,2,6,9,10,11,12,15"),
        // 10 minutes per visit on average (5: 600 s) over 3 visits; 6 averages 599 s, 8 has 2 visits.
        ("long_visits", "5"),
        // Survey 4 (1) or a coupon lover (1, 3); survey 3 (2) is not enough.
        ("price_sensitive", "1,3"),
        ("interest_sports_outdoor", "1,2"),
        ("interest_fashion_beauty", "3"),
        ("interest_home_living", "4"),
        // 3: 2 of 4 lines electronics (tie with home; alphabetically first) = 0.5 with 4 lines;
        // 4: 3 of 3 fashion but only 3 lines; 7: 2 of 5 home = 0.4; 8: 5 categories, 0.2 each.
        ("category_loyal", "3"),
        ("affinity_electronics", "3"),
        ("affinity_fashion", "4"),
        ("affinity_home", "7"),
        // The latest consent row counts: 1 opted out in 2026, 2 opted back in, 3 never opted out,
        // 4 did. Without an email row (5-17; 7 only left sms) consent is unknown: in neither.
        ("opted_out_email", "1,4"),
        ("email_contactable", "2,3"),
    ]);
}

/// The library declares `type:` on its sums: money as DECIMAL(18,2), counts of clicks and page
/// views as BIGINT (DuckDB's own sum types are the 128-bit DECIMAL(38,2) and HUGEINT).
#[test]
fn the_library_stores_its_sums_in_the_declared_types() {
    let dir = library_project("library");
    let db = run(dir.path());
    assert_eq!(
        rows(&db, "SELECT column_name || ' ' || data_type FROM duckdb_columns() WHERE table_name = 'customer_features' AND column_name IN ('total_spent', 'spend_12m', 'holiday_spend', 'page_views_90d', 'clicks_90d') ORDER BY column_name"),
        vec!["clicks_90d BIGINT", "holiday_spend DECIMAL(18,2)", "page_views_90d BIGINT", "spend_12m DECIMAL(18,2)", "total_spent DECIMAL(18,2)"]
    );
    assert_eq!(rows(&db, "SELECT data_type FROM duckdb_columns() WHERE table_name = 'tier_assignments' AND column_name = 'gap_spend_12m'"), vec!["DECIMAL(18,2)"]);
}

/// The library on a shop that has only the classic columns: customers(customer_id,
/// signup_date) and orders(customer_id, ordered_at, amount). Optional features over absent
/// columns are skipped with a warning, and RFM, the value bands, lifecycle and both ladders run.
#[test]
fn the_library_runs_on_a_shop_with_only_ids_dates_and_amounts() {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in ["segments", "macros"] {
        copy_dir(&repo_root().join(entry), &dir.path().join(entry));
    }
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    let mut customers = String::from("customer_id,signup_date\n");
    let mut orders = String::from("customer_id,ordered_at,amount\n");
    for i in 1..=40 {
        customers.push_str(&format!("{i},2024-01-{:02}\n", i % 28 + 1));
        for k in 0..(i % 7) {
            orders.push_str(&format!("{i},2026-{:02}-{:02} 10:00:00,{}.50\n", (i + k) % 6 + 1, k + 1, 20 * i + k));
        }
    }
    std::fs::write(dir.path().join("data/customers.csv"), customers).expect("write");
    std::fs::write(dir.path().join("data/orders.csv"), orders).expect("write");
    std::fs::write(
        dir.path().join("segmenter.yaml"),
        "name: own_shop\nsources:\n  customers: { path: data/customers.csv, key: customer_id, time: signup_date }\n  orders: { path: data/orders.csv, key: customer_id, time: ordered_at }\nvars:\n  as_of: \"2026-06-30\"\noutput:\n  database: out/segments.duckdb\n",
    )
    .expect("write");
    let out = segmenter(dir.path()).args(["--format", "json", "run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = summary["segments"].as_array().expect("segments").iter().filter_map(|s| s["name"].as_str()).collect();
    for expected in ["clv_low", "clv_medium", "clv_high", "rfm_champions", "new_customers", "one_time_buyers", "churn_risk_high"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let ladders: std::collections::BTreeSet<&str> = summary["tiers"].as_array().expect("tiers").iter().filter_map(|t| t["ladder"].as_str()).collect();
    assert_eq!(ladders.into_iter().collect::<Vec<_>>(), vec!["club_tier", "loyalty_level"]);
    let warnings: Vec<String> = summary["warnings"].as_array().expect("warnings").iter().map(|w| format!("{} {}", w["code"].as_str().unwrap_or(""), w["message"].as_str().unwrap_or(""))).collect();
    assert!(warnings.contains(&"W012 optional feature 'age' skipped: source 'customers' has no column 'birth_date'".to_string()), "{warnings:?}");
    assert!(warnings.contains(&"W010 segment 'age_18_24' skipped: column customers.birth_date missing".to_string()), "{warnings:?}");
    assert!(warnings.contains(&"W010 segment 'coupon_lovers' skipped: column orders.coupon_code missing".to_string()), "{warnings:?}");
    // Holiday spend reads the orders' ship country for the country calendars.
    assert!(warnings.contains(&"W012 optional feature 'holiday_spend' skipped: source 'orders' has no column 'ship_country'".to_string()), "{warnings:?}");
    let age = summary["skipped"].as_array().expect("skipped").iter().find(|s| s["name"] == "age_18_24").expect("age_18_24 skipped");
    assert_eq!(age["columns"], serde_json::json!(["customers.birth_date"]));
}

/// The campaign audiences split the buyers: on the sample shop every customer with an order is
/// in exactly one of them, and nobody without an order is in any.
#[test]
fn every_buyer_is_in_exactly_one_campaign_audience() {
    let dir = sample_project();
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let db = dir.path().join("out/segments.duckdb");
    let check = "WITH audiences AS (SELECT customer_id, count(*) AS n FROM segment_members \
                 WHERE segment IN ('campaign_retain', 'campaign_win_back', 'campaign_encourage') GROUP BY customer_id) \
                 SELECT (SELECT count(*) FROM audiences WHERE n <> 1) || ' ' || \
                 (SELECT count(*) FROM customer_features f LEFT JOIN audiences a USING (customer_id) WHERE (f.order_count >= 1) <> (a.n IS NOT NULL))";
    assert_eq!(rows(&db, check), vec!["0 0"]);
}

/// A holiday window whose start comes after its end crosses the year end.
#[test]
fn holiday_windows_may_cross_the_year_end() {
    let dir = library_project("library");
    let spend = |window: &str| {
        segmenter(dir.path()).args(["--quiet", "run", "--var", &format!("holiday_windows={window}")]).assert().success();
        rows(&dir.path().join("out/library.duckdb"), "SELECT holiday_spend FROM customer_features WHERE customer_id = 7")
    };
    // Customer 7 ordered 300 on 2025-11-24, 200 on 2025-12-31, 250 on 2026-03-01 and 2026-06-10.
    assert_eq!(spend("[['12-30', '01-02']]"), vec!["200.00"]);
    assert_eq!(spend("[['11-24', '11-24'], ['12-31', '03-01']]"), vec!["750.00"]);
    assert_eq!(spend("[['06-11', '11-23']]"), vec!["0.00"]);
}

/// Per-country holiday calendars: an order counts inside the holidays of the country it ships to
/// (macros/holidays.sql), on top of the windows every customer shares.
#[test]
fn country_calendars_count_orders_by_their_ship_country() {
    let dir = library_project("library");
    let spend = |args: &[&str]| {
        segmenter(dir.path()).args(["--quiet", "run"]).args(args).assert().success();
        rows(&dir.path().join("out/library.duckdb"), "SELECT customer_id || ' ' || holiday_spend FROM customer_features WHERE customer_id IN (1, 10, 15) ORDER BY customer_id")
    };
    // 1: 30 June to Canada (Canada Day, 28 June - 1 July); 10: 2 January to Great Britain (January
    // sales, 26 December - 3 January, across the year end); 15: 1 July 2024 to the US (4 July week).
    assert_eq!(spend(&[]), vec!["1 1000.00", "10 500.00", "15 200.00"]);
    // Without the calendar only the shared windows count (and ship_country is not read).
    assert_eq!(spend(&["--var", "holiday_calendar=[]"]), vec!["1 0.00", "10 0.00", "15 0.00"]);
    // A project adds its own holidays: 15's order of 1 February 2024 now counts too.
    assert_eq!(
        spend(&["--var", "holiday_calendar_extra=[{country: US, name: Groundhog sale, window: ['02-01', '02-01']}]"]),
        vec!["1 1000.00", "10 500.00", "15 400.00"]
    );
}

/// The club level from RFM: the sum of the recency, frequency and monetary quintiles among the
/// 15 buyers (ties share a quintile), best level first.
#[test]
fn rfm_club_levels_follow_the_quintile_sum() {
    let dir = library_project("library");
    let db = run(dir.path());
    assert_eq!(
        rows(&db, "SELECT customer_id || ':' || r || f || m FROM rfm_club_scores WHERE customer_id IN (1, 3, 8, 13, 15) ORDER BY customer_id"),
        vec!["1:513", "3:435", "8:231", "13:354", "15:155"]
    );
    check(&db, &[
        // 12 (3, 4, 13, 14) is the best sum here, one short of platinum (13).
        ("rfm_club_platinum", ""),
        ("rfm_club_gold", "3,4,7,13,14,15,16,17"),
        // 1: 5+1+3 = 9, 2: 3+1+4 = 8; 8: 2+3+1 = 6 is one short of silver (7).
        ("rfm_club_silver", "1,2"),
        ("rfm_club_bronze", "8,9,10,11,12"),
    ]);
    segmenter(dir.path()).args(["--quiet", "run", "--var", "rfm_club_platinum=12"]).assert().success();
    assert_eq!(members(&db, "rfm_club_platinum"), "3,4,13,14");
}
