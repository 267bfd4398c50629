//! Environments: named targets, environment variables in paths, `--database`.

use crate::support::*;

/// The tiny fixture whose project file gets `extra` appended and its orders path replaced.
fn project(orders_path: &str, extra: &str) -> tempfile::TempDir {
    let dir = fixture("tiny");
    let yaml_path = dir.path().join("segmenter.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("yaml").replace("path: data/orders.csv", &format!("path: \"{orders_path}\""));
    std::fs::write(&yaml_path, format!("{yaml}{extra}")).expect("write");
    dir
}

#[test]
fn environment_variables_fill_paths_and_a_missing_one_is_an_error() {
    let dir = project("{{ env_var('SEGMENTER_IT_SHOP_DATA') }}/orders.csv", "");
    segmenter(dir.path()).env("SEGMENTER_IT_SHOP_DATA", "data").args(["--quiet", "run"]).assert().success();
    assert_eq!(rows(&dir.path().join("out/tiny.duckdb"), "SELECT count(*) FROM customer_features"), vec!["12"]);
    let out = segmenter(dir.path()).env_remove("SEGMENTER_IT_SHOP_DATA").arg("validate").output().expect("validate");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default(),
        "segmenter.yaml:7:11: error[E007]: environment variable 'SEGMENTER_IT_SHOP_DATA' is not set; hint: set the variable, or give a default: {{ env_var('DATA_DIR', 'data') }}"
    );
}

#[test]
fn a_target_chooses_database_data_and_vars_and_database_overrides_it() {
    let targets = "targets:\n  staging:\n    database: out/ci.duckdb\n    sources: { orders: { path: data/orders.csv } }\n    vars: { as_of: \"2026-07-01\" }\n";
    let dir = project("data/missing.csv", targets);
    // Without the target the orders file does not exist.
    assert_eq!(segmenter(dir.path()).arg("validate").output().expect("validate").status.code(), Some(2));
    segmenter(dir.path()).args(["--quiet", "--target", "staging", "run"]).assert().success();
    let db = dir.path().join("out/ci.duckdb");
    assert_eq!(rows(&db, "SELECT DISTINCT as_of::VARCHAR FROM segment_catalog"), vec!["2026-07-01"]);
    assert!(!dir.path().join("out/tiny.duckdb").exists());
    // The target from the environment, the database from the command line.
    segmenter(dir.path()).env("SEGMENTER_TARGET", "staging").args(["--quiet", "--database", "out/elsewhere.duckdb", "run"]).assert().success();
    assert!(dir.path().join("out/elsewhere.duckdb").exists());
    let out = segmenter(dir.path()).args(["--target", "stagng", "validate"]).output().expect("validate");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default(),
        "--target:1:1: error[E006]: unknown target 'stagng'; hint: did you mean 'staging'?"
    );
}
