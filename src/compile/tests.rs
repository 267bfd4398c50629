//! Compiler tests without DuckDB: the generated SQL of the tiny fixture, and one scan per source.

use super::*;
use crate::project::load_project;
use crate::validate::{resolve, ResolveOptions};
use std::path::Path;

fn resolve_fixture(select: &[&str]) -> Resolved {
    // Relative root: paths in the SQL stay machine-independent.
    let loaded = load_project(Path::new("tests/fixtures/tiny"));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let project = loaded.project.expect("project");
    let opts = ResolveOptions { select: select.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    let outcome = resolve(&project, &opts);
    assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
    outcome.resolved.expect("resolved")
}

/// The repository's sample project with the built-in library.
fn resolve_sample() -> Resolved {
    let loaded = load_project(Path::new("."));
    let project = loaded.project.expect("the repository's sample project");
    resolve(&project, &ResolveOptions::default()).resolved.expect("resolved")
}

fn compile_fixture(select: &[&str]) -> Plan {
    compile(&resolve_fixture(select))
}

/// The SQL of every step that computes `customer_features` (its scratch scans and itself).
fn features_sql(plan: &Plan) -> String {
    let n = plan.steps.iter().position(|s| s.target == FEATURES_TABLE).expect("features step");
    plan.steps[..=n].iter().map(|s| s.sql.as_str()).collect::<Vec<_>>().join(";\n")
}

#[test]
fn every_source_is_scanned_exactly_once() {
    let script = compile_fixture(&[]).script();
    for file in ["customers.csv", "orders.csv", "sessions.csv"] {
        let n = script.matches(&format!("read_csv('tests/fixtures/tiny/data/{file}')")).count();
        assert_eq!(n, 1, "{file} is read {n} times");
    }
    // Only the features steps read files: one scratch table per source, then customers
    // joined to them; the rest reads customer_features.
    let plan = compile_fixture(&[]);
    assert_eq!(&plan.targets()[..3], ["__segmenter_state__agg_orders", "__segmenter_state__agg_sessions", "customer_features"]);
    for step in &plan.steps[3..] {
        assert!(!step.sql.contains("read_csv"), "step {} reads a file", step.target);
    }
    assert!(plan.steps[..2].iter().all(|s| s.scratch) && plan.steps[2..].iter().all(|s| !s.scratch));
}

#[test]
fn plan_writes_the_documented_tables_in_order() {
    let plan = compile_fixture(&[]);
    assert_eq!(
        plan.outputs(),
        vec!["customer_features", "rf_scores", "segment_members", "tier_assignments", "segment_catalog", "tier_catalog", "feature_catalog"]
    );
}

#[test]
fn selecting_prunes_unneeded_sources() {
    let script = compile_fixture(&["clv_low"]).script();
    assert!(script.contains("orders.csv"));
    assert!(!script.contains("sessions.csv"), "sessions is not needed by clv_low");
}

/// The staged plan is the same SQL with every output table, written or read, under its staging
/// name, and nothing else changed.
#[test]
fn the_staged_plan_renames_only_the_output_tables() {
    let model = resolve_fixture(&[]);
    let (plain, staged) = (compile(&model), compile_staged(&model));
    assert_eq!(plain.targets(), staged.targets());
    let mut unstaged = staged.script();
    for t in plain.targets() {
        unstaged = unstaged.replace(&format!("\"__segmenter_stage__{t}\""), &format!("\"{t}\""));
    }
    assert_eq!(unstaged, plain.script());
    assert!(staged.steps.iter().all(|s| s.staged) && plain.steps.iter().all(|s| !s.staged));
    let segments = &staged.steps[4];
    assert!(segments.sql.starts_with("CREATE OR REPLACE TABLE \"__segmenter_stage__segment_members\" AS"), "{}", segments.sql);
    assert!(segments.sql.contains("FROM \"__segmenter_stage__customer_features\""));
    assert!(segments.sql.contains("FROM \"__segmenter_stage__rf_scores\""));
}

/// The full SQL of the tiny fixture; `UPDATE_SNAPSHOTS=1 cargo test --release` rewrites it.
#[test]
fn compiled_sql_matches_the_snapshot() {
    let script = compile_fixture(&[]).script();
    let path = Path::new("tests/snapshots/tiny.sql");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &script).expect("write snapshot");
    }
    let expected = std::fs::read_to_string(path).expect("snapshot file; run with UPDATE_SNAPSHOTS=1 to create it");
    assert!(script == expected, "compiled SQL changed; review `git diff` after UPDATE_SNAPSHOTS=1\n{script}");
}

/// The full Spark SQL of the tiny fixture (`compile --engine spark`); `UPDATE_SNAPSHOTS=1`
/// rewrites it.
#[test]
fn compiled_spark_sql_snapshot() {
    let model = resolve_fixture(&[]);
    let plan = compile_with(&model, &dialect::SparkSql::PARQUET);
    let script = format!("{}{}", spark_sources_comment(&spark_sources(&model)), plan.script());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/tiny.spark.sql");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &script).expect("write snapshot");
    }
    let expected = std::fs::read_to_string(path).expect("snapshot file; run with UPDATE_SNAPSHOTS=1 to create it");
    assert!(script == expected, "compiled Spark SQL changed; review `git diff` after UPDATE_SNAPSHOTS=1\n{script}");
}

/// The committed JSON Schemas in schema/ match the model; `UPDATE_SNAPSHOTS=1` rewrites them.
#[test]
fn committed_json_schemas_are_current() {
    for (name, make) in crate::project::schema::FILES {
        let path = Path::new("schema").join(name);
        let now = make();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all("schema").expect("mkdir");
            std::fs::write(&path, &now).expect("write schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == now, "schema/{name} is stale: run `UPDATE_SNAPSHOTS=1 cargo test --release` and commit it");
    }
}

/// A filtered ordered aggregate (`abandoned_products` in the library) gets its own scan with
/// the filter and window in WHERE; the source's other features keep the shared scan.
#[test]
fn a_filtered_ordered_aggregate_gets_its_own_prefiltered_scan() {
    let model = resolve_sample();
    let plan = compile(&model);
    let step = |t: &str| plan.steps.iter().find(|s| s.target == t).map(|s| s.sql.clone()).unwrap_or_default();
    let own = step("__segmenter_state__agg_carts__abandoned_products");
    assert!(own.contains("string_agg(products, ';' ORDER BY created_at DESC, cart_id) AS \"abandoned_products\""), "{own}");
    assert!(!own.contains("FILTER"), "{own}");
    assert!(own.contains("(status = 'abandoned')") && own.contains("INTERVAL 30 DAY"), "{own}");
    let shared = step("__segmenter_state__agg_carts");
    assert!(shared.contains("(status = 'abandoned')") && !shared.contains("string_agg"), "{shared}");
}

/// A declared `type:` casts the value where it is produced, and again after `default`.
#[test]
fn a_declared_type_casts_the_feature() {
    let mut model = resolve_fixture(&[]);
    let f = model.features.iter_mut().find(|f| f.name == "total_spent").expect("total_spent");
    f.ty = Some("DECIMAL(18,2)".into());
    let sql = features_sql(&compile(&model));
    assert!(sql.contains("CAST(sum(amount) AS DECIMAL(18,2)) AS \"s1\""), "{sql}");
    assert!(sql.contains("CAST(coalesce(a0.s1, 0) AS DECIMAL(18,2)) AS \"total_spent\""), "{sql}");
}

/// The library's `top_category` and `top_category_lines` come from one two-level scan of
/// `order_items` (rows per customer and category, then per customer), and `item_lines`
/// (`count(*)` over the same rows) is the sum of those counts: `order_items` is read once.
#[test]
fn most_frequent_features_and_a_row_count_share_one_scan() {
    let model = resolve_sample();
    let plan = compile(&model);
    let sql = features_sql(&plan);
    assert_eq!(sql.matches("order_items.parquet").count(), 1, "{sql}");
    let cte = plan.steps.iter().find(|s| s.target == "__segmenter_state__agg_order_items__top_category").map(|s| s.sql.clone()).unwrap_or_default();
    for part in [
        "arg_min(__v, (-__n, __v)) FILTER (WHERE __v IS NOT NULL) AS \"top_category\"",
        "max(__n) FILTER (WHERE __v IS NOT NULL) AS \"top_category_lines\"",
        "CAST(sum(__n) AS BIGINT) AS \"item_lines\"",
        "SELECT \"customer_id\" AS \"customer_id\", (category) AS __v, count(*) AS __n",
        "GROUP BY 1, 2",
    ] {
        assert!(cte.contains(part), "missing {part:?} in {cte}");
    }
    assert!(plan.steps.iter().all(|s| s.target != "__segmenter_state__agg_order_items"), "item_lines must not get a scan of its own");
}

/// The library's `churn_ratio` uses the median of `avg_interval_days` (and `loyal_buyer` the
/// average `order_count`): those statistics are computed first into the scratch table `feature_stats`, from only the features it needs
/// (one join, of the orders scan), and the features query reads it without materializing.
#[test]
fn statistics_of_derived_features_are_computed_first_from_only_what_they_need() {
    let model = resolve_sample();
    let plan = compile(&model);
    let n = plan.steps.iter().position(|s| s.target == FEATURES_TABLE).expect("features step");
    let stats = &plan.steps[n - 1];
    assert!(stats.scratch && stats.target == "feature_stats", "{}", stats.target);
    assert_eq!(stats.sql.matches("LEFT JOIN").count(), 1, "{}", stats.sql);
    assert!(stats.sql.contains("LEFT JOIN \"__segmenter_state__agg_orders\""), "{}", stats.sql);
    assert!(stats.sql.contains("SELECT avg(\"order_count\") AS \"stat_0\", quantile_cont(\"avg_interval_days\", 0.5) AS \"stat_1\""), "{}", stats.sql);
    let features = &plan.steps[n].sql;
    assert!(features.contains("coalesce(avg_interval_days, (SELECT \"stat_1\" FROM \"feature_stats\"))"), "{features}");
    assert!(!features_sql(&plan).contains("MATERIALIZED"));
    // Staged, the statistics table is read under its staging name.
    let staged = compile_staged(&model);
    assert!(staged.steps[n].sql.contains("(SELECT \"stat_1\" FROM \"__segmenter_stage__feature_stats\")"));
}

/// The library's `rfm_club` ranks the same parts, buckets and population as `rfm`: it takes its
/// part scores from `rfm_scores` instead of ranking every customer again; `rfm` ranks.
#[test]
fn a_score_ranking_like_an_earlier_one_reads_its_part_scores() {
    let plan = compile(&resolve_sample());
    let sql = |target: &str| plan.steps.iter().find(|s| s.target == target).map(|s| s.sql.clone()).unwrap_or_default();
    let (rfm, club) = (sql("rfm_scores"), sql("rfm_club_scores"));
    assert!(rfm.contains("rank() OVER") && !rfm.contains("FROM \"rfm_scores\""), "{rfm}");
    assert!(!club.contains("rank() OVER"), "{club}");
    assert!(club.contains("-- the same parts, buckets and population as score 'rfm': its part scores\n  SELECT \"customer_id\", \"r\", \"f\", \"m\", \"r_value\", \"f_value\", \"m_value\"\n  FROM \"rfm_scores\""), "{club}");
    let at = |t: &str| plan.targets().iter().position(|x| *x == t);
    assert!(at("rfm_scores") < at("rfm_club_scores"));
}
