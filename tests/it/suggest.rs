//! `segmenter suggest FEATURE`: distribution, candidate thresholds and bands of a feature, on
//! tests/fixtures/suggest (spend in three clusters about 10, 100 and 1000, and one NULL).

use crate::support::*;

fn suggest_json(project: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = segmenter(project).args(["--format", "json", "suggest"]).args(args).output().expect("suggest");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// `suggest ARGS` exits with `code`, printing nothing but the error `message` (on stderr).
fn assert_fails(project: &std::path::Path, args: &[&str], code: i32, message: &str) {
    let out = segmenter(project).arg("suggest").args(args).output().expect("suggest");
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), message);
    assert!(out.stdout.is_empty());
}

fn thresholds(v: &serde_json::Value, method: &str) -> Vec<f64> {
    let list = v["candidates"].as_array().expect("candidates");
    list.iter().filter(|c| c["method"] == method).map(|c| c["threshold"].as_f64().expect("threshold")).collect()
}

#[test]
fn suggest_finds_the_natural_breaks_between_three_clusters() {
    let dir = fixture("suggest");
    let v = suggest_json(dir.path(), &["spend", "--candidates", "2", "--segments", "3"]);
    let breaks = thresholds(&v, "natural_breaks");
    assert_eq!(breaks.len(), 2);
    // The clusters run 9-12, 95-105 and 980-1020.
    assert!(breaks[0] > 12.0 && breaks[0] <= 95.0, "{breaks:?}");
    assert!(breaks[1] > 105.0 && breaks[1] <= 980.0, "{breaks:?}");
    assert_eq!(v["bands"]["cuts"], serde_json::json!(breaks));
    let sizes: Vec<i64> = v["bands"]["segments"].as_array().expect("bands").iter().map(|b| b["size"].as_i64().expect("size")).collect();
    assert_eq!(sizes, [10, 10, 10]);
    assert_eq!((v["population"].as_i64(), v["count"].as_i64(), v["nulls"].as_i64()), (Some(31), Some(30), Some(1)));
    assert_eq!((v["type"].as_str(), v["as_of"].as_str()), (Some("DOUBLE"), Some("2026-06-30")));
    assert_eq!((v["min"].as_f64(), v["max"].as_f64(), v["distinct_values"].as_i64(), v["bins"].as_i64()), (Some(9.0), Some(1020.0), Some(26), Some(26)));
    let high = &v["candidates"].as_array().expect("candidates")[5];
    assert_eq!(high["label"], "break 2 of 2");
    assert_eq!((high["size"].as_i64(), high["share"].as_f64()), (Some(10), Some(10.0 / 31.0)));
    // Segment `big` (spend >= 500) is exactly the top cluster.
    assert_eq!(high["overlaps"][0], serde_json::json!({ "segment": "big", "common": 10, "share_of_candidate": 1.0, "jaccard": 1.0 }));
    let bars: Vec<i64> = v["histogram"].as_array().expect("histogram").iter().map(|b| b["count"].as_i64().expect("count")).collect();
    assert_eq!(bars, [20, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
}

#[test]
fn suggest_bins_many_distinct_values_and_still_breaks_between_clusters() {
    let dir = fixture("suggest");
    // 6000 distinct values (more than suggest::MAX_BINS): 3000 in 10-13, 2000 in 100-120, 1000 in 1000-1100.
    let mut csv = String::from("customer_id,spend,country\n");
    for (i, (base, n)) in [(10.0, 3000), (100.0, 2000), (1000.0, 1000)].into_iter().flat_map(|(b, n)| (0..n).map(move |j| (b, j))).enumerate() {
        csv.push_str(&format!("{},{},DE\n", i + 1, base + base * 0.3 * n as f64 / 3000.0));
    }
    std::fs::write(dir.path().join("data/customers.csv"), csv).expect("write");
    let v = suggest_json(dir.path(), &["spend", "--candidates", "2"]);
    assert_eq!(v["distinct_values"].as_i64(), Some(6000));
    assert!(v["bins"].as_i64().is_some_and(|b| b <= 4000), "{}", v["bins"]);
    let breaks = thresholds(&v, "natural_breaks");
    assert!(breaks.len() == 2 && breaks[0] > 13.0 && breaks[0] <= 100.0 && breaks[1] > 130.0 && breaks[1] <= 1000.0, "{breaks:?}");
}

#[test]
fn suggest_quantiles_are_duckdbs_quantile_cont() {
    let dir = fixture("suggest");
    let v = suggest_json(dir.path(), &["spend"]);
    let conn = duckdb::Connection::open_in_memory().expect("DuckDB");
    let csv = dir.path().join("data/customers.csv");
    let names = ["p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"];
    let fractions = [0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99];
    for (name, q) in names.iter().zip(fractions) {
        let expected: f64 = conn
            .query_row("SELECT quantile_cont(CAST(spend AS DOUBLE), ?) FROM read_csv(?)", duckdb::params![q, csv.to_string_lossy()], |r| r.get(0))
            .expect("quantile_cont");
        assert_eq!(v["quantiles"][name].as_f64(), Some(expected), "{name}");
    }
    let by_quantile: Vec<(String, f64)> = v["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter(|c| c["method"] == "quantile")
        .map(|c| (c["label"].as_str().expect("label").to_string(), c["threshold"].as_f64().expect("threshold")))
        .collect();
    let expected: Vec<(String, f64)> = ["p25", "p50", "p75", "p90"].iter().map(|n| (n.to_string(), v["quantiles"][n].as_f64().expect("quantile"))).collect();
    assert_eq!(by_quantile, expected);
    assert_eq!(thresholds(&v, "natural_breaks").len(), 3, "--candidates defaults to 3");
}

const FIXTURE_TEXT: &str = "\
spend (DOUBLE) as of 2026-06-30: 31 customers, 30 with a value, 1 NULL
min 9  mean 370.07  max 1020

  p1    p5   p10    p25  p50     p75     p90      p95      p99
----  ----  ----  -----  ---  ------  ------  -------  -------
9.14  9.63  9.98  10.62  100  988.75  1005.5  1012.75  1018.55

distribution (10 bars of equal width, # = customers)
      9 .. 110.1  ########################################  20
  110.1 .. 211.2                                            0
  211.2 .. 312.3                                            0
  312.3 .. 413.4                                            0
  413.4 .. 514.5                                            0
  514.5 .. 615.6                                            0
  615.6 .. 716.7                                            0
  716.7 .. 817.8                                            0
  817.8 .. 918.9                                            0
  918.9 ..  1020  ####################                      10

thresholds (members: spend >= threshold)
candidate     threshold  size  share  most alike segments: Jaccard (share of the members in it)
------------  ---------  ----  -----  ---------------------------------------------------------
p25               10.62    22  71.0%  big 0.45 (45.5%), germans 0.27 (31.8%), small 0.07 (9.1%)
p50                 100    16  51.6%  big 0.62 (62.5%), germans 0.23 (31.2%)
p75              988.75     8  25.8%  big 0.80 (100.0%), germans 0.12 (25.0%)
p90              1005.5     3   9.7%  big 0.30 (100.0%), germans 0.08 (33.3%)
break 1 of 3         50    20  64.5%  big 0.50 (50.0%), germans 0.24 (30.0%)
break 2 of 3        500    10  32.3%  big 1.00 (100.0%), germans 0.17 (30.0%)
break 3 of 3       1000     6  19.4%  big 0.60 (100.0%), germans 0.13 (33.3%)

3 bands by natural breaks, to paste

# segmenter.yaml (optional: the rules default to these values)
vars:
  spend_medium_min: 50
  spend_high_min: 500

# a definitions file, e.g. segments/spend_bands.yaml
segments:
  - name: spend_low
    description: \"spend below 50 (natural breaks: 10 customers, 32.3% on 2026-06-30)\"
    where: \"spend < {{ var('spend_medium_min', 50) }}\"
  - name: spend_medium
    description: \"spend from 50 to below 500 (natural breaks: 10 customers, 32.3% on 2026-06-30)\"
    where: \"spend >= {{ var('spend_medium_min', 50) }} AND spend < {{ var('spend_high_min', 500) }}\"
  - name: spend_high
    description: \"spend 500 and above (natural breaks: 10 customers, 32.3% on 2026-06-30)\"
    where: \"spend >= {{ var('spend_high_min', 500) }}\"
";

#[test]
fn suggest_prints_the_distribution_candidates_and_bands() {
    let dir = fixture("suggest");
    let out = segmenter(dir.path()).args(["suggest", "spend", "--segments", "3"]).output().expect("suggest");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), FIXTURE_TEXT);
    assert!(!dir.path().join("out").exists(), "suggest writes nothing");
}

#[test]
fn suggest_bands_validate_and_run_as_definitions() {
    let dir = fixture("suggest");
    let v = suggest_json(dir.path(), &["spend", "--segments", "4"]);
    let bands = &v["bands"];
    // The vars block goes into segmenter.yaml (whose `vars:` comes last), the segments into a file.
    let vars = bands["vars_yaml"].as_str().expect("vars").strip_prefix("vars:\n").expect("a vars: block");
    let config = dir.path().join("segmenter.yaml");
    let text = std::fs::read_to_string(&config).expect("read") + vars;
    std::fs::write(&config, text).expect("write");
    std::fs::write(dir.path().join("segments/spend_bands.yaml"), bands["definitions_yaml"].as_str().expect("definitions")).expect("write");
    let out = segmenter(dir.path()).arg("validate").output().expect("validate");
    // The one warning: the lowest band's rule is the fixture's `small` (spend < 50).
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok: 2 features, 7 segments, 0 tier ladders, 0 scores (1 warnings)\n", "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("segment 'spend_band_1' has the same rule as 'small'"));
    let out = segmenter(dir.path()).arg("run").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let db = dir.path().join("out/suggest.duckdb");
    let published = rows(&db, "SELECT name, size FROM segment_catalog WHERE name LIKE 'spend_band_%' ORDER BY name");
    let predicted: Vec<String> =
        bands["segments"].as_array().expect("bands").iter().map(|b| format!("{}|{}", b["name"].as_str().expect("name"), b["size"])).collect();
    assert_eq!(published, predicted);
    assert_eq!(predicted.len(), 4);
}

#[test]
fn suggest_refuses_unknown_and_non_numeric_features() {
    let dir = fixture("suggest");
    let cases = [
        ("spnd", "error: unknown feature 'spnd' (did you mean 'spend'?)"),
        ("zzz", "error: unknown feature 'zzz'; features are: spend, country"),
        ("country", "error: feature 'country' is VARCHAR, not a number: suggest proposes thresholds for numeric features only"),
    ];
    for (feature, message) in cases {
        assert_fails(dir.path(), &[feature], 2, message);
    }
}

#[test]
fn suggest_says_when_there_is_no_value_to_cut() {
    let dir = fixture("suggest");
    std::fs::write(dir.path().join("data/customers.csv"), "customer_id,spend,country,signed_up\n1,,DE,2026-01-01\n").expect("write");
    // An empty column reads as VARCHAR unless typed.
    let config = dir.path().join("segmenter.yaml");
    let text = std::fs::read_to_string(&config).expect("read").replace("key: customer_id }", "key: customer_id, types: { spend: DOUBLE } }");
    std::fs::write(&config, text).expect("write");
    assert_fails(dir.path(), &["spend"], 3, "error: feature 'spend' is NULL for all 1 customers on 2026-06-30: nothing to suggest");
    // Before anyone signed up, nobody is a customer.
    let text = std::fs::read_to_string(&config).expect("read").replace("key: customer_id,", "key: customer_id, time: signed_up,");
    std::fs::write(&config, text).expect("write");
    let empty = "error: the population is empty on 2025-12-31 (no customer in customer_features): nothing to suggest";
    assert_fails(dir.path(), &["spend", "--as-of", "2025-12-31"], 3, empty);
}

/// docs/suggest.md shows `suggest total_spent --segments 3` on the sample project; it must be
/// the real output.
#[test]
fn suggest_docs_show_the_samples_real_output() {
    let page = std::fs::read_to_string(repo_root().join("docs/suggest.md")).expect("docs/suggest.md");
    let intro = "$ segmenter suggest total_spent --segments 3\n";
    let start = page.find(intro).expect("the page shows the sample command") + intro.len();
    let shown = page[start..].split("```").next().expect("the output follows in the block");
    let dir = sample_project();
    let out = segmenter(dir.path()).args(["suggest", "total_spent", "--segments", "3"]).output().expect("suggest");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), shown);
}
