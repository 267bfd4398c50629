//! Bad input on the real binary: each case gives exactly the expected one-line messages on
//! stderr, exit code 2, and leaves the output database byte-for-byte unchanged.

use crate::support::*;
use std::path::Path;

/// (case, file to write, its content, expected stderr)
fn cases() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    vec![
        (
            "yaml syntax error",
            "segments/broken.yaml",
            "segments:\n  - name: a\n    where: [x > 1\n",
            "EXPECT_SYNTAX",
        ),
        (
            "unknown key",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    wher: total_spent > 10\n",
            "EXPECT_UNKNOWN_KEY",
        ),
        (
            "unknown feature",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    where: totl_spent > 10\n",
            "EXPECT_UNKNOWN_FEATURE",
        ),
        (
            "unknown source",
            "segments/broken.yaml",
            "features:\n  - name: n_carts\n    source: cart\n    expr: count(*)\n",
            "EXPECT_UNKNOWN_SOURCE",
        ),
        (
            "unknown column",
            "segments/broken.yaml",
            "features:\n  - name: spend2\n    source: orders\n    expr: sum(amout)\n",
            "EXPECT_UNKNOWN_COLUMN",
        ),
        (
            "template error",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    where: |\n      total_spent >\n        {{ treshold }}\n",
            "EXPECT_TEMPLATE",
        ),
        (
            "unknown var",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    where: \"total_spent > {{ var('clv_lo') }}\"\n",
            "EXPECT_VAR",
        ),
        (
            "ladder without else",
            "segments/broken.yaml",
            "tiers:\n  - name: l\n    levels:\n      - { name: a, min: { total_spent: 10 } }\n      - { name: b, min: { total_spent: 1 } }\n",
            "EXPECT_ELSE",
        ),
        (
            "extends cycle",
            "segments/broken.yaml",
            "segments:\n  - { name: a, extends: b, where: order_count > 1 }\n  - { name: b, extends: a, where: order_count > 2 }\n",
            "EXPECT_CYCLE",
        ),
        (
            "missing data file",
            "segmenter.yaml",
            "name: tiny\nsources:\n  customers: { path: data/customers.csv, key: customer_id }\n  orders: { path: data/ordrs.csv, key: customer_id }\n  sessions: { path: data/sessions.csv }\nvars: { as_of: \"2026-06-30\" }\noutput: { database: out/tiny.duckdb }\n",
            "EXPECT_MISSING",
        ),
    ]
}

#[test]
fn bad_input_gives_exact_messages_exit_2_and_leaves_the_database_untouched() {
    let base = fixture("tiny");
    segmenter(base.path()).args(["--quiet", "run"]).assert().success();
    let db_before = std::fs::read(base.path().join("out/tiny.duckdb")).expect("db");
    let mut failures = Vec::new();
    for (name, file, content, expected) in cases() {
        let dir = tempfile::tempdir().expect("tmp");
        copy_dir(base.path(), dir.path());
        copy_dir(&base.path().join("out"), &dir.path().join("out"));
        std::fs::write(dir.path().join(file), content).expect("write");
        let out = segmenter(dir.path()).args(["run"]).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if out.status.code() != Some(2) {
            failures.push(format!("{name}: exit {:?}, stderr:\n{stderr}", out.status.code()));
        }
        if stderr.trim_end() != expected {
            failures.push(format!("{name}: stderr was\n{stderr}\nexpected\n{expected}\n"));
        }
        assert_db_unchanged(&dir.path().join("out/tiny.duckdb"), &db_before, name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

fn assert_db_unchanged(db: &Path, before: &[u8], case: &str) {
    let after = std::fs::read(db).expect("db after");
    assert!(after == before, "{case}: the output database changed");
}

#[test]
fn json_format_reports_diagnostics_with_locations() {
    let dir = fixture("tiny");
    std::fs::write(dir.path().join("segments/broken.yaml"), "segments:\n  - name: big\n    where: totl_spent > 10\n").expect("write");
    let out = segmenter(dir.path()).args(["--format", "json", "validate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["status"], "error");
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "E201");
    assert_eq!(d["file"], "segments/broken.yaml");
    assert_eq!(d["line"], 3);
    assert_eq!(d["col"], 12);
    assert_eq!(d["hint"], "did you mean 'total_spent'?");
}

#[test]
fn missing_project_file_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = segmenter(dir.path()).args(["validate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "segmenter.yaml:1:1: error[E004]: project file not found; hint: run segmenter in a project folder, pass --project DIR, or create one with `segmenter init DIR`\nerror: 1 error(s) in the project definitions"
    );
}
