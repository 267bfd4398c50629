//! `segmenter explain`: each condition of a rule for one customer, on the tiny fixture.

use crate::support::*;

#[test]
fn explain_shows_which_condition_failed_and_the_values() {
    let dir = fixture("tiny");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    // Customer 9 has 4 orders (> max(3, 35/12)) but 364 days of tenure, one short of loyal.
    let out = segmenter(dir.path()).args(["explain", "vip_loyal", "--customer", "9"]).output().expect("explain");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "segment vip_loyal (segments/segments.yaml:11)\ncustomer 9 on 2026-06-30: NOT A MEMBER\n\nconditions (all must hold):\n  \
         holds  order_count > greatest(3, (SELECT avg(\"order_count\") FROM \"customer_features\"))\n  \
         fails  tenure_days >= 365\n  \
         fails  (total_spent > 4000)\n\nfeature values:\n  order_count  4\n  tenure_days  364\n  total_spent  400.00\n"
    );
    let out = segmenter(dir.path()).args(["--format", "json", "explain", "loyal", "--customer", "11"]).output().expect("explain");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["member"], true);
    assert_eq!(v["conditions"].as_array().map(|c| c.iter().all(|c| c["holds"] == true)), Some(true));
    let out = segmenter(dir.path()).args(["explain", "loyl", "--customer", "1"]).output().expect("explain");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: no segment rule named 'loyl' (did you mean 'loyal'?); explain works on segments with a `where` rule"
    );
}
