//! A definition is data, never a program: probes that tried to run statements or read files
//! through a rule fail at validation with exit 2, and nothing outside the project is touched.

use crate::support::*;

/// Writes `segments/evil.yaml` with `rule` as a segment's `where`, in a copy of the tiny fixture.
fn project_with_rule(rule: &str) -> tempfile::TempDir {
    let dir = fixture("tiny");
    let yaml = format!("segments:\n  - name: evil\n    where: {}\n", serde_json::to_string(rule).expect("json string"));
    std::fs::write(dir.path().join("segments/evil.yaml"), yaml).expect("write");
    dir
}

#[test]
fn statements_after_a_rule_run_neither_in_validate_nor_in_run() {
    let outside = tempfile::tempdir().expect("temp dir");
    let evil_db = outside.path().join("evil.duckdb");
    let pwned = outside.path().join("pwned.csv");
    let rule = format!(
        "TRUE), FALSE); ATTACH '{}' AS e; CREATE TABLE e.t AS SELECT 42 AS x; COPY (SELECT * FROM read_text('/etc/hostname')) TO '{}'; SELECT coalesce((TRUE\n-- ATTACH-> CREATE-> TABLE->",
        evil_db.display(),
        pwned.display()
    );
    let project = project_with_rule(&rule);
    for command in ["validate", "run"] {
        let out = segmenter(project.path()).arg(command).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("segments/evil.yaml:3:17: error[E032]: the SQL of segment 'evil' is more than one expression: unexpected `)`"),
            "{command}: {stderr}"
        );
        assert!(!evil_db.exists() && !pwned.exists(), "{command} wrote outside the project");
    }
    assert!(!project.path().join("out/tiny.duckdb").exists(), "nothing was published");
}

#[test]
fn rules_cannot_read_files() {
    for (rule, expected) in [
        ("(SELECT count(*) FROM read_text('/etc/passwd')) > 0", "contains a subquery"),
        ("len(glob('/etc/*')) > 0", "calls `glob`, which reads outside the project's data"),
        ("read_blob('/etc/passwd') IS NOT NULL", "calls `read_blob`, which reads outside the project's data"),
    ] {
        let project = project_with_rule(rule);
        let out = segmenter(project.path()).arg("run").output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{rule}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("error[E032]: the SQL of segment 'evil' {expected}")), "{rule}: {stderr}");
    }
}

/// What runs is the tree validation checked, printed again: text the parser skipped (a block
/// comment holding `) OR (TRUE`, a line comment) never reaches the engine, and the segment means
/// exactly its rule.
#[test]
fn rules_run_as_their_checked_tree() {
    let project = project_with_rule("order_count >= 2 /* ) OR (TRUE */ -- repeat buyers\n");
    let out = segmenter(project.path()).arg("compile").output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(sql.contains("coalesce((\n      order_count >= 2\n    ), FALSE) AS \"evil\""), "{sql}");
    assert!(!sql.contains("repeat buyers") && !sql.contains("OR (TRUE"), "{sql}");
    let out = segmenter(project.path()).arg("run").output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let db = project.path().join("out/tiny.duckdb");
    let repeat = rows(&db, "SELECT customer_id FROM customer_features WHERE order_count >= 2 ORDER BY customer_id").join(",");
    assert!(!repeat.is_empty());
    assert_eq!(members(&db, "evil"), repeat);
}
