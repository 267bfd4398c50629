//! `segmenter test`: fixture tests in YAML (offline, in memory) and data assertions, with
//! text, JSON and JUnit output and exit codes 0 / 1 / 2.

use crate::support::*;

const TESTS: &str = r#"
tests:
  - name: passes
    given:
      customers: [{ customer_id: 1, signup_date: "2024-01-01" }, { customer_id: 2, signup_date: "2024-01-01" }]
      orders: [{ order_id: 1, customer_id: 1, ordered_at: "2026-06-01 10:00:00", amount: 6000 }]
    expect:
      - { segment: clv_high, members: [1] }
      - { segment: clv_low, includes: [2], excludes: [1] }
      - { ladder: club, customer: 1, level: vip }
  - name: fails
    given:
      customers: [{ customer_id: 1, signup_date: "2024-01-01" }]
    expect:
      - { segment: clv_high, members: [1] }
      - { ladder: club, customer: 1, level: gold }
assertions:
  - { name: low_not_empty, segment: clv_low, not_empty: true }
  - { name: high_is_big, segment: clv_high, min_size: 5 }
  - { name: high_share, segment: clv_high, min_share: 0.5, severity: warn }
  - { name: one_club_level, one_level_per_customer: club }
"#;

#[test]
fn fixture_tests_and_assertions_report_every_failure() {
    let dir = fixture("tiny");
    std::fs::write(dir.path().join("segments/checks.yaml"), TESTS).expect("write");
    // Before any run, only the fixture tests run.
    let out = segmenter(dir.path()).args(["test"]).output().expect("test");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "PASS  fixture passes (segments/checks.yaml:3)\n\
         FAIL  fixture fails (segments/checks.yaml:11)\n      \
         segment 'clv_high': expected members [1], got []\n      \
         ladder 'club', customer 1: expected level gold, got bronze\n\
         note: assertions not checked: out/tiny.duckdb does not exist yet; run `segmenter run` to check assertions\n\n\
         1 passed, 1 failed, 0 warning(s)\n"
    );
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let junit = dir.path().join("out/junit.xml");
    let out = segmenter(dir.path()).args(["--format", "json", "test", "--junit"]).arg(&junit).output().expect("test");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!((v["status"].clone(), v["passed"].clone(), v["failed"].clone(), v["warnings"].clone()), ("failed".into(), 3.into(), 2.into(), 1.into()));
    let by_name = |n: &str| v["results"].as_array().and_then(|r| r.iter().find(|x| x["name"] == n)).cloned().expect(n);
    assert_eq!(by_name("high_is_big")["message"], "segment 'clv_high' has 1 members, fewer than min_size 5");
    assert_eq!(by_name("high_share")["status"], "warn");
    assert_eq!(by_name("high_share")["message"], "segment 'clv_high' holds 8.33% of customers, below min_share 50.00%");
    assert_eq!(by_name("one_club_level")["status"], "pass");
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("<testsuite name=\"fixture\" tests=\"2\" failures=\"1\">"), "{xml}");
    assert!(xml.contains("<testsuite name=\"assertion\" tests=\"4\" failures=\"1\">"), "{xml}");
    assert!(xml.contains("<failure message=\"segment &apos;clv_high&apos;") || xml.contains("<failure message=\"segment 'clv_high': expected members [1], got []\">"), "{xml}");
}

#[test]
fn all_passing_exits_0_and_definition_errors_exit_2() {
    let dir = fixture("tiny");
    let passing = TESTS.split("  - name: fails").next().unwrap_or_default();
    std::fs::write(dir.path().join("segments/checks.yaml"), passing).expect("write");
    segmenter(dir.path()).args(["--quiet", "test"]).assert().code(0);
    std::fs::write(dir.path().join("segments/broken.yaml"), "segments:\n  - { name: x, where: nope > 1 }\n").expect("write");
    segmenter(dir.path()).args(["--quiet", "test"]).assert().code(2);
}
