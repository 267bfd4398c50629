//! The sample project at the repo root runs end to end, and the generator is deterministic.

use crate::support::*;

#[test]
fn sample_project_runs_and_every_segment_and_tier_is_non_empty() {
    let dir = sample_project();
    let out = segmenter(dir.path()).args(["--format", "json", "run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(summary["status"], "ok");
    let customers = summary["customers"].as_i64().expect("customers");
    assert!(customers >= 2000, "a few thousand customers, got {customers}");
    let segments = summary["segments"].as_array().expect("segments");
    assert!(segments.len() >= 20, "{} segments", segments.len());
    for s in segments {
        assert!(s["size"].as_i64().unwrap_or(0) > 0, "segment {} is empty", s["name"]);
    }
    let tiers = summary["tiers"].as_array().expect("tiers");
    for t in tiers {
        assert!(t["size"].as_i64().unwrap_or(0) > 0, "tier {} is empty", t["tier"]);
    }
    // Every customer has exactly one level in each ladder.
    let db = dir.path().join("out/segments.duckdb");
    let bad = rows(&db, "SELECT count(*) FROM (SELECT customer_id, ladder FROM tier_assignments GROUP BY ALL HAVING count(*) <> 1)");
    assert_eq!(bad, vec!["0"]);
    let per_ladder = rows(&db, "SELECT DISTINCT count(*) OVER (PARTITION BY ladder) FROM tier_assignments");
    assert_eq!(per_ladder, vec![customers.to_string()]);
    // The library's models, penalized by 0.001, fit what Python's `lifetimes` 0.11.3 fits on the
    // same summary: BetaGeoFitter(penalizer_coef=0.001) gave r = 0.49951, alpha = 6.36286,
    // a = 0.359314, b = 3.555762, and GammaGammaFitter(penalizer_coef=0.001) p = 10.076039,
    // q = 1.1731325, v = 9.935600 (frequency, recency and T in weeks from the sample's orders
    // up to 2026-06-30, one purchase per day; monetary value the mean of the repeat days' sums).
    let fitted = rows(&db, "SELECT model || ' ' || parameters FROM model_fits ORDER BY model");
    let expected = [("purchases", [("r", 0.49951), ("alpha", 6.36286), ("a", 0.359314), ("b", 3.555762)].as_slice()),
                    ("order_value", &[("p", 10.076039), ("q", 1.1731325), ("v", 9.935600)])];
    for (model, params) in expected {
        let line = fitted.iter().find_map(|l| l.strip_prefix(&format!("{model} "))).unwrap_or_else(|| panic!("no fit of {model}: {fitted:?}"));
        let json: serde_json::Value = serde_json::from_str(line).expect("parameters as JSON");
        for (name, want) in params {
            let got = json[name].as_f64().unwrap_or_else(|| panic!("{model}.{name} in {line}"));
            assert!((got / want - 1.0).abs() < 0.005, "{model}.{name} = {got}, lifetimes gave {want}");
        }
    }
    // No two library segments have the same members (one would be a synonym of the other).
    let twins = rows(&db, "WITH m AS (SELECT segment, string_agg(customer_id::VARCHAR, ',' ORDER BY customer_id) AS ids \
                            FROM segment_members GROUP BY segment) \
                            SELECT a.segment || '=' || b.segment FROM m a JOIN m b ON a.ids = b.ids AND a.segment < b.segment");
    assert!(twins.is_empty(), "segments with identical members: {twins:?}");
}

/// The loyalty ladder is a path: newcomers are exactly the customers registered within the
/// newcomer window (90 days), and the ladder's loyal level agrees with the loyal segment.
#[test]
fn the_loyalty_ladder_starts_with_the_newly_registered_and_agrees_with_loyal() {
    let dir = sample_project();
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let db = dir.path().join("out/segments.duckdb");
    let newcomers = "SELECT (SELECT count(*) FROM tier_assignments WHERE ladder = 'loyalty_level' AND tier = 'newcomer') || ' ' || \
                     (SELECT count(*) FROM customer_features WHERE tenure_days < 90) || ' ' || \
                     (SELECT count(*) FROM tier_assignments t JOIN customer_features f USING (customer_id) \
                      WHERE t.ladder = 'loyalty_level' AND (t.tier = 'newcomer') <> (f.tenure_days < 90))";
    assert_eq!(rows(&db, newcomers), vec!["54 54 0"]);
    // Every loyal-level customer is in the loyal segment; every loyal-segment customer is loyal,
    // or above it (gold, vip), or still a newcomer.
    let disagree = "SELECT count(*) FROM tier_assignments t FULL JOIN (SELECT customer_id FROM segment_members WHERE segment = 'loyal') s \
                    USING (customer_id) WHERE t.ladder = 'loyalty_level' AND \
                    ((t.tier = 'loyal' AND s.customer_id IS NULL) OR (s.customer_id IS NOT NULL AND t.tier NOT IN ('loyal', 'gold', 'vip', 'newcomer')))";
    assert_eq!(rows(&db, disagree), vec!["0"]);
    assert_eq!(rows(&db, "SELECT count(*) FROM tier_assignments WHERE ladder = 'loyalty_level' AND tier = 'loyal'"), vec!["724"]);
}

/// A backfill (`--as-of` in the past) sees only the rows of its past, order lines included:
/// they carry their order's `ordered_at`, declared as the source's `time`.
#[test]
fn a_backfill_counts_only_the_order_lines_before_its_date() {
    let dir = sample_project();
    segmenter(dir.path()).args(["--quiet", "run", "--as-of", "2026-03-31"]).assert().success();
    let db = dir.path().join("out/segments.duckdb");
    let data = dir.path().join("sample-data");
    let expected = rows(
        &db,
        &format!(
            "SELECT count(*) FROM read_parquet('{}') WHERE ordered_at < DATE '2026-04-01'
               AND customer_id IN (SELECT customer_id FROM read_csv('{}') WHERE signup_date < DATE '2026-04-01')",
            data.join("order_items.parquet").display(),
            data.join("customers.csv").display()
        ),
    );
    assert_eq!(expected, vec!["30703"], "the sample's lines up to 2026-03-31 (of 35311)");
    assert_eq!(rows(&db, "SELECT sum(item_lines) FROM customer_features"), expected);
    // The most frequent category is one of those lines' too.
    let later_only = rows(
        &db,
        &format!(
            "SELECT count(*) FROM customer_features f WHERE top_category IS NOT NULL AND NOT EXISTS
               (SELECT 1 FROM read_parquet('{}') i WHERE i.customer_id = f.customer_id AND i.category = f.top_category AND i.ordered_at < DATE '2026-04-01')",
            data.join("order_items.parquet").display()
        ),
    );
    assert_eq!(later_only, vec!["0"]);
}

#[test]
fn generator_is_byte_identical_for_a_seed_and_matches_the_committed_sample() {
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    for d in [&a, &b] {
        let mut cmd = assert_cmd::Command::cargo_bin("segmenter").expect("bin");
        cmd.args(["--quiet", "generate", "--seed", "42", "--customers", "3000", "--out"]).arg(d.path()).assert().success();
    }
    let committed = repo_root().join("sample-data");
    let mut names: Vec<String> = std::fs::read_dir(a.path()).expect("dir").map(|e| e.expect("e").file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let x = std::fs::read(a.path().join(&name)).expect("a");
        let y = std::fs::read(b.path().join(&name)).expect("b");
        assert!(x == y, "{name} differs between two runs with the same seed");
        let c = std::fs::read(committed.join(&name)).expect("committed file");
        assert!(x == c, "{name} differs from the committed sample-data/{name}; regenerate it");
    }
}

#[test]
fn init_writes_a_project_that_runs_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("shop");
    let mut cmd = assert_cmd::Command::cargo_bin("segmenter").expect("bin");
    cmd.arg("init").arg(&target).assert().success();
    // A real starter: it runs, and its fixture test and assertions pass right away.
    segmenter(&target).args(["--quiet", "run"]).assert().success();
    let db = target.join("out/segments.duckdb");
    assert_eq!(rows(&db, "SELECT string_agg(name || '=' || size, ',' ORDER BY name) FROM segment_catalog"), vec![
        "active=15,clv_high=7,clv_low=10,clv_medium=13,rfm_at_risk=2,rfm_champions=5,rfm_lost=4,rfm_new=0"
    ]);
    let tested = segmenter(&target).arg("test").output().expect("test");
    assert_eq!(tested.status.code(), Some(0), "{}", String::from_utf8_lossy(&tested.stdout));
    assert!(String::from_utf8_lossy(&tested.stdout).ends_with("3 passed, 0 failed, 0 warning(s)\n"));
    // Editors find the schemas the modelines name; out/ stays out of git.
    assert!(std::fs::read_to_string(target.join("segmenter.yaml")).expect("yaml").starts_with("# yaml-language-server: $schema=schema/segmenter.schema.json"));
    assert!(target.join("schema/definitions.schema.json").exists());
    assert_eq!(std::fs::read_to_string(target.join(".gitignore")).expect("gitignore"), "out/\n");
    let mut again = assert_cmd::Command::cargo_bin("segmenter").expect("bin");
    let out = again.arg("init").arg(&target).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has a segmenter.yaml; choose an empty folder"));
}

#[test]
fn scale_mode_writes_parquet_with_about_ten_orders_per_customer() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cmd = assert_cmd::Command::cargo_bin("segmenter").expect("bin");
    cmd.args(["--quiet", "generate", "--orders", "20000", "--out"]).arg(dir.path()).assert().success();
    let db = dir.path().join("check.duckdb");
    let orders = dir.path().join("orders.parquet");
    let customers = dir.path().join("customers.parquet");
    assert!(!dir.path().join("customers.csv").exists(), "scale mode writes Parquet only");
    let got = rows(&db, &format!("SELECT (SELECT count(*) FROM read_parquet('{}')), (SELECT count(*) FROM read_parquet('{}'))", customers.display(), orders.display()));
    let parts: Vec<i64> = got[0].split('|').map(|x| x.parse().expect("count")).collect();
    assert_eq!(parts[0], 2000, "customers = orders / 10");
    assert!((17_000..=23_000).contains(&parts[1]), "about 20000 orders, got {}", parts[1]);
}

#[test]
fn more_generator_threads_give_the_same_rows_in_the_same_order() {
    let dir = tempfile::tempdir().expect("tmp");
    for (threads, out) in [("1", "one"), ("2", "two")] {
        let mut cmd = assert_cmd::Command::cargo_bin("segmenter").expect("bin");
        cmd.args(["--quiet", "generate", "--orders", "5000", "--threads", threads, "--out"]).arg(dir.path().join(out)).assert().success();
    }
    let db = dir.path().join("check.duckdb");
    for table in ["customers", "orders", "order_items", "sessions", "carts", "campaign_events", "consent", "survey"] {
        let file = |out: &str| dir.path().join(out).join(format!("{table}.parquet")).display().to_string();
        // Row by row, in file order: a hash of every row with its position.
        let sql = |out: &str| format!("SELECT count(*), sum(hash(t::VARCHAR, n)) FROM (SELECT t, row_number() OVER () AS n FROM read_parquet('{}') t)", file(out));
        let one = rows(&db, &sql("one"));
        assert_eq!(one, rows(&db, &sql("two")), "{table} differs between 1 and 2 threads");
        assert!(!one[0].starts_with("0|"), "{table} is empty");
    }
    let mut zero = assert_cmd::Command::cargo_bin("segmenter").expect("bin");
    let out = zero.args(["generate", "--threads", "0", "--out"]).arg(dir.path().join("zero")).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 is not in 1..=256"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The README's sample summary is the real output of its first command: every line it shows
/// (it leaves rows out with `...`) appears in that order, and the segment count it states holds.
#[test]
fn the_readme_shows_the_sample_runs_real_summary() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let intro = "summary (90 segments in all; abridged here):";
    let start = readme.find(intro).expect("the README introduces the sample summary");
    let block = readme[start..].split("```").nth(1).expect("a code block follows");
    let dir = sample_project();
    let out = segmenter(dir.path()).arg("run").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    let mut at = 0;
    for shown in block.lines().filter(|l| !l.trim().is_empty() && l.trim() != "...") {
        let found = match shown.strip_prefix("wrote out/segments.duckdb in ") {
            // The time varies; the rest of the line does not.
            Some(_) => lines[at..].iter().position(|l| l.starts_with("wrote out/segments.duckdb in ")),
            None => lines[at..].iter().position(|l| *l == shown),
        };
        match found {
            Some(i) => at += i + 1,
            None => panic!("README line not in the output (or out of order): {shown:?}\n--- output ---\n{stdout}"),
        }
    }
    let segments = stdout.split("\n\n").nth(1).expect("the segment table").lines().skip(2).count();
    assert_eq!(segments, 90, "the README says 90 segments in all");
}

/// docs/errors.md shows the sample project's `validate` JSON; it must be the real one.
#[test]
fn the_errors_page_shows_the_samples_real_validate_json() {
    let page = std::fs::read_to_string(repo_root().join("docs/errors.md")).expect("errors.md");
    let start = page.find("**`validate`** that succeeds:").expect("the section");
    let shown = page[start..].split("```json").nth(1).and_then(|b| b.split("```").next()).expect("a JSON block");
    let shown: serde_json::Value = serde_json::from_str(shown).expect("valid JSON");
    let dir = sample_project();
    let out = segmenter(dir.path()).args(["--format", "json", "validate"]).output().expect("validate");
    let real: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(real, shown);
}
