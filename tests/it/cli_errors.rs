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
            "segments:\n  - name: a\n    where: x > 1\n  owner: me\n",
            "segments/broken.yaml:4:3: error[E001]: YAML syntax error: did not find expected '-' indicator; hint: check indentation, colons and quoting on this line\nerror: 1 error(s) in the project definitions",
        ),
        (
            "unknown key",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    wher: total_spent > 10\n",
            "segments/broken.yaml:3:5: error[E002]: unknown key 'wher' in segments[0]; hint: did you mean 'where'?\nerror: 1 error(s) in the project definitions",
        ),
        (
            "unknown feature",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    where: totl_spent > 10\n",
            "segments/broken.yaml:3:12: error[E201]: unknown feature 'totl_spent' in segment 'big'; hint: did you mean 'total_spent'?\nerror: 1 error(s) in the project definitions",
        ),
        (
            "unknown source",
            "segments/broken.yaml",
            "features:\n  - name: n_carts\n    source: cart\n    expr: count(*)\n",
            "segments/broken.yaml:3:13: error[E020]: unknown source 'cart' in feature 'n_carts'; hint: sources are: customers, orders, sessions\nerror: 1 error(s) in the project definitions",
        ),
        (
            "unknown column",
            "segments/broken.yaml",
            "features:\n  - name: spend2\n    source: orders\n    expr: sum(amout)\n",
            "segments/broken.yaml:4:15: error[E202]: unknown column 'amout' of source 'orders' in feature 'spend2'; hint: did you mean 'amount'?\nerror: 1 error(s) in the project definitions",
        ),
        (
            "template error",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    where: |\n      total_spent >\n        {{ treshold }}\n",
            "segments/broken.yaml:5:7: error[E030]: template error: undefined name 'treshold'; hint: a project var is written {{ var('treshold') }} (or with a default: var('treshold', 10)); the run date is {{ as_of }}\nerror: 1 error(s) in the project definitions",
        ),
        (
            "unknown var",
            "segments/broken.yaml",
            "segments:\n  - name: big\n    where: \"total_spent > {{ var('clv_lo') }}\"\n",
            "segments/broken.yaml:3:12: error[E030]: template error: unknown var 'clv_lo'; hint: define it under `vars:` in segmenter.yaml or give a default: var('clv_lo', 10)\nerror: 1 error(s) in the project definitions",
        ),
        (
            "unknown feature type",
            "segments/broken.yaml",
            "features:\n  - name: spend2\n    source: orders\n    expr: sum(amount)\n    type: DECIML(18,2)\n",
            "segments/broken.yaml:5:11: error[E027]: invalid SQL type 'DECIML(18,2)' for feature 'spend2' (Catalog Error: Type with name DECIML does not exist!); hint: use a DuckDB type name such as BIGINT, DOUBLE or DECIMAL(18,2)\nerror: 1 error(s) in the project definitions",
        ),
        (
            "feature type that is not a type name",
            "segments/broken.yaml",
            "features:\n  - name: spend2\n    source: orders\n    expr: sum(amount)\n    type: \"BIGINT); DROP TABLE x; --\"\n",
            "segments/broken.yaml:5:11: error[E027]: invalid SQL type 'BIGINT); DROP TABLE x; --' for feature 'spend2'; hint: use a DuckDB type name such as BIGINT, DOUBLE or DECIMAL(18,2)\nerror: 1 error(s) in the project definitions",
        ),
        (
            "ladder without else",
            "segments/broken.yaml",
            "tiers:\n  - name: l\n    levels:\n      - { name: a, min: { total_spent: 10 } }\n      - { name: b, min: { total_spent: 1 } }\n",
            "segments/broken.yaml:5:11: error[E042]: the last level of tier ladder 'l' must be `else: true`; hint: every customer needs exactly one level; end the ladder with a catch-all level\nerror: 1 error(s) in the project definitions",
        ),
        (
            "extends cycle",
            "segments/broken.yaml",
            "segments:\n  - { name: a, extends: b, where: order_count > 1 }\n  - { name: b, extends: a, where: order_count > 2 }\n",
            "segments/broken.yaml:2:25: error[E023]: segments refer to each other in a cycle: a -> b -> a; hint: a segment cannot extend or include itself, directly or through others\nerror: 1 error(s) in the project definitions",
        ),
        (
            "missing data file",
            "segmenter.yaml",
            "name: tiny\nsources:\n  customers: { path: data/customers.csv, key: customer_id }\n  orders: { path: data/ordrs.csv, key: customer_id, time: ordered_at }\n  sessions: { path: data/sessions.csv, key: customer_id, time: started_at }\nvars: { as_of: \"2026-06-30\" }\noutput: { database: out/tiny.duckdb }\n",
            "segmenter.yaml:4:19: error[E024]: data file 'data/ordrs.csv' for source 'orders' not found; hint: check the path (relative to the project root), or mark the source `optional: true`\nerror: 1 error(s) in the project definitions",
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
fn too_small_a_memory_limit_fails_with_a_hint_and_exit_3() {
    let dir = fixture("tiny");
    let out = segmenter(dir.path()).args(["run", "--memory-limit", "1KB"]).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: step 'read the database's catalog' failed in DuckDB: Out of Memory Error: failed to allocate data of size 32.0 KiB (0 bytes/850 bytes used)\n  hint: the work needs more memory than DuckDB may use (85% of the memory limit): raise settings.memory_limit or --memory-limit, or lower threads (each thread holds its own buffers)"
    );
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

/// `validate` binds every statement with `LIMIT 0` and computes nothing (scratch scans
/// included): an expression that only fails on the rows binds; `run` fails (exit 3) naming the
/// features (or segment rules) of the failing step that use the column DuckDB names, with file
/// and line.
#[test]
fn validate_reads_no_rows_and_run_points_at_the_definition_a_value_fails() {
    let dir = fixture("tiny");
    let cast = dir.path().join("segments/cast.yaml");
    const FIX: &str = "fix the data, or the cast (in a source's `types:` or the expression; TRY_CAST gives NULL where CAST fails)";
    // `run` with `yaml` as segments/cast.yaml: exit 3 and this error line and hint.
    let run_fails = |yaml: &str, error: &str, hint: &str| {
        std::fs::write(&cast, yaml).expect("write");
        let out = segmenter(dir.path()).args(["run"]).output().expect("run");
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), format!("error: step {error}\n  hint: {hint}; {FIX}"));
    };
    let coupon = "features:\n  - name: coupon_number\n    source: orders\n    expr: max(CAST(coupon_code AS INTEGER))\n";
    std::fs::write(&cast, coupon).expect("write");
    let out = segmenter(dir.path()).args(["--quiet", "validate"]).output().expect("validate");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    run_fails(
        coupon,
        "'customer_features (agg_orders)' failed in DuckDB: Conversion Error: Could not convert string 'SAVE10' to INT32 when casting from source column coupon_code",
        "a value of column 'coupon_code' fails; it is read by features 'coupon_number' (segments/cast.yaml:2), 'coupon_orders' (segments/features.yaml:9)",
    );
    // The only feature of its scan that names the column: the hint shows its SQL.
    run_fails(
        "features:\n  - name: device_number\n    source: sessions\n    expr: max(CAST(device AS INTEGER))\n",
        "'customer_features (agg_sessions)' failed in DuckDB: Conversion Error: Could not convert string 'mobile' to INT32 when casting from source column device",
        "feature 'device_number' (segments/cast.yaml:2) fails on the data: `max(CAST(device AS INTEGER))`",
    );
    // The same for a segment rule.
    run_fails(
        "segments:\n  - name: numbered_country\n    where: CAST(country AS INTEGER) > 0\n",
        "'segment_members' failed in DuckDB: Conversion Error: Could not convert string 'DE' to INT32 when casting from source column country",
        "segment 'numbered_country' (segments/cast.yaml:2) fails on the data: `CAST(country AS INTEGER) > 0`",
    );
}

#[test]
fn validate_binds_every_query_in_duckdb_and_shows_the_offending_line() {
    let dir = fixture("tiny");
    std::fs::write(dir.path().join("segments/broken.yaml"), "features:\n  - name: bad_sum\n    source: orders\n    expr: sum(coupon_code)\n").expect("write");
    let out = segmenter(dir.path()).args(["validate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "segments/broken.yaml:2:3: error[E070]: feature 'bad_sum' does not bind in DuckDB: Binder Error: No function matches the given name and argument types 'sum(VARCHAR)'. You might need to add explicit type casts.; hint: check function names, argument types and columns in the expression (see `segmenter compile`)\n \
         2 |   - name: bad_sum\n   |   ^\nerror: 1 error(s) in the project definitions"
    );
    // `most_frequent` of an aggregate: the hint says what the key takes.
    std::fs::write(dir.path().join("segments/broken.yaml"), "features:\n  - name: favourite_device\n    source: sessions\n    most_frequent: max(device)\n").expect("write");
    let out = segmenter(dir.path()).args(["validate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "segments/broken.yaml:2:3: error[E070]: feature 'favourite_device' does not bind in DuckDB: Binder Error: GROUP BY clause cannot contain aggregates!; hint: `most_frequent` and `most_frequent_count` take a row expression such as `category` or `lower(device)`, not an aggregate\n \
         2 |   - name: favourite_device\n   |   ^\nerror: 1 error(s) in the project definitions"
    );
    // A derived feature that a statistic needs fails in the statistics step, which runs first:
    // still pointed at its definition.
    std::fs::write(
        dir.path().join("segments/broken.yaml"),
        "features:\n  - { name: bad, expr: \"country + 1\" }\n  - { name: bad_vs_avg, expr: \"bad / {{ stat('avg', 'bad') }}\" }\n",
    )
    .expect("write");
    let out = segmenter(dir.path()).args(["--format", "json", "validate"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        format!("{}:{}:{} {} {}", v["diagnostics"][0]["file"], v["diagnostics"][0]["line"], v["diagnostics"][0]["col"], v["diagnostics"][0]["code"], v["diagnostics"][0]["message"]),
        "\"segments/broken.yaml\":2:3 \"E070\" \"feature 'bad' does not bind in DuckDB: Binder Error: No function matches the given name and argument types '+(VARCHAR, INTEGER_LITERAL)'. You might need to add explicit type casts.\""
    );
    std::fs::write(dir.path().join("segments/broken.yaml"), "features:\n  - name: bad_sum\n    source: orders\n    expr: sum(coupon_code)\n").expect("write");
    // The JSON form carries the snippet as a field.
    let out = segmenter(dir.path()).args(["--format", "json", "validate"]).output().expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["diagnostics"][0]["snippet"], "  - name: bad_sum");
    assert_eq!(v["diagnostics"][0]["code"], "E070");
}

#[test]
fn unreachable_tier_levels_are_errors_and_copies_and_unused_features_are_warnings() {
    let dir = fixture("tiny");
    std::fs::write(
        dir.path().join("segments/b.yaml"),
        "tiers:\n  - name: bad\n    levels:\n      - { name: silver, min: { total_spent: 500 } }\n      - { name: gold, min: { total_spent: 1500, order_count: 3 } }\n      - { name: none, else: true }\n",
    )
    .expect("write");
    let out = segmenter(dir.path()).args(["run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "segments/b.yaml:5:7: error[E043]: level 'gold' of tier ladder 'bad' can never be reached: everyone who meets it already meets 'silver' above it; hint: levels are tried best first; give the better level stricter thresholds, or reorder the levels\n\
         error: 1 error(s) in the project definitions"
    );
    std::fs::write(
        dir.path().join("segments/b.yaml"),
        "features:\n  - { name: spend_per_session, expr: \"total_spent / nullif(session_count, 0)\" }\nsegments:\n  - { name: big_again, where: total_spent > 5000 }\n",
    )
    .expect("write");
    let out = segmenter(dir.path()).args(["--format", "json", "validate"]).output().expect("validate");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let warnings: Vec<String> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| format!("{}:{}:{} {} {}", d["file"].as_str().unwrap_or(""), d["line"], d["col"], d["code"].as_str().unwrap_or(""), d["message"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        warnings,
        vec![
            "segments/b.yaml:2:3 W031 feature 'spend_per_session' is not used by any segment, tier, score or other feature",
            "segments/segments.yaml:4:3 W030 segment 'clv_high' has the same rule as 'big_again' (segments/b.yaml:4)",
        ]
    );
}

#[test]
fn a_header_only_csv_runs_when_types_declares_every_column() {
    let dir = fixture("tiny");
    let p = dir.path();
    std::fs::write(p.join("data/orders.csv"), "order_id,client,ordered_at,total,coupon_code\n").expect("write");
    type_all_order_columns(p);
    segmenter(p).args(["--quiet", "run", "--force"]).assert().success();
    // No orders at all: the population (customer 12 signs up after as_of) is all in clv_low.
    assert_eq!(members(&p.join("out/tiny.duckdb"), "one_time_buyers"), "");
    assert_eq!(members(&p.join("out/tiny.duckdb"), "clv_low"), "1,2,3,4,5,6,7,8,9,10,11,13");
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::process::Stdio;
    let project = fixture("tiny");
    for command in [&["compile"][..], &["schema", "definitions"][..], &["validate"][..]] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("segmenter"))
            .arg("--project")
            .arg(project.path())
            .args(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // The reader goes away before the command has printed anything (`| head -0`), so its
        // first write meets a closed pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{command:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{command:?}");
    }
}

#[test]
fn thread_counts_are_bounded_instead_of_exhausting_the_machine() {
    let project = fixture("tiny");
    let out = segmenter(project.path()).args(["run", "--threads", "100000"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: invalid value '100000' for '--threads <THREADS>': 100000 is not in 1..=256"));
    let yaml = project.path().join("segmenter.yaml");
    let text = std::fs::read_to_string(&yaml).expect("yaml");
    std::fs::write(&yaml, format!("{text}settings: {{ threads: 100000 }}\n")).expect("write");
    let out = segmenter(project.path()).arg("run").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: invalid engine setting: threads must be between 1 and 256, not 100000"
    );
}

/// One rule for output flags: `--format json` is JSON, `--to` a document; contradicting them is
/// a usage error, and a document a command cannot write is refused by the parser.
#[test]
fn format_and_to_cannot_contradict_each_other() {
    let project = fixture("tiny");
    segmenter(project.path()).args(["--quiet", "run"]).assert().success();
    let out = segmenter(project.path()).args(["--format", "json", "report", "--to", "markdown"]).output().expect("report");
    assert_eq!(out.status.code(), Some(2));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON error");
    assert_eq!(body["message"], "--format json prints JSON, and --to markdown asks for markdown: give one of them");
    let json = segmenter(project.path()).args(["--format", "json", "report", "--to", "json"]).output().expect("report");
    assert_eq!(json.status.code(), Some(0));
    assert!(serde_json::from_slice::<serde_json::Value>(&json.stdout).is_ok());
    let out = segmenter(project.path()).args(["diff", "--base", ".", "--to", "html"]).output().expect("diff");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: invalid value 'html' for '--to <TO>'"));
    let init = segmenter(project.path()).args(["--format", "json", "init"]).arg(project.path().join("fresh")).output().expect("init");
    let body: serde_json::Value = serde_json::from_slice(&init.stdout).expect("init prints JSON");
    assert_eq!(body["created"][0], "segmenter.yaml");
}

#[test]
fn completions_man_page_and_log_levels() {
    let project = fixture("tiny");
    let bash = segmenter(project.path()).args(["completions", "bash"]).output().expect("completions");
    assert!(String::from_utf8_lossy(&bash.stdout).starts_with("_segmenter() {"));
    let man = segmenter(project.path()).arg("man").output().expect("man");
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH segmenter 1"));
    // Quiet by default; -v logs each phase, -vv also each step's SQL.
    let quiet = segmenter(project.path()).args(["--quiet", "run"]).output().expect("run");
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let info = segmenter(project.path()).args(["--quiet", "-v", "run"]).output().expect("run");
    let info = String::from_utf8_lossy(&info.stderr);
    assert!(info.contains(" INFO phase done phase=\"compile\""), "{info}");
    assert!(!info.contains("running step"), "{info}");
    let debug = segmenter(project.path()).args(["--quiet", "--log-level", "debug", "run"]).output().expect("run");
    assert!(String::from_utf8_lossy(&debug.stderr).contains("DEBUG running step step=segments table=segment_members sql="));
}

/// The Spark engine checks definitions and prints their Spark SQL; `run` says plainly that it
/// computes on DuckDB only, instead of quietly using DuckDB.
#[test]
fn a_spark_run_needs_a_server_and_says_how_to_get_one() {
    let dir = fixture("tiny");
    let out = segmenter(dir.path()).args(["--engine", "spark", "validate"]).output().expect("validate");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = segmenter(dir.path()).args(["--engine", "spark", "compile"]).output().expect("compile");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let sql = String::from_utf8_lossy(&out.stdout);
    assert!(sql.contains("DROP TABLE IF EXISTS `customer_features`;\nCREATE TABLE `customer_features` USING parquet AS"), "{sql}");
    let run = |extra: &[&str]| {
        let out = segmenter(dir.path()).env_remove("SEGMENTER_SPARK_URL").args(["--engine", "spark", "run"]).args(extra).output().expect("run");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).trim_end().to_string())
    };
    assert_eq!(
        run(&[]),
        (
            Some(2),
            "error: no Spark Connect server to run on: pass --spark-url sc://HOST:PORT (or set SEGMENTER_SPARK_URL, or spark.url in \
             segmenter.yaml); `scripts/spark-connect.sh start` starts a local one and prints its URL"
                .to_string()
        )
    );
    assert_eq!(
        run(&["--select", "loyal", "--spark-url", "sc://127.0.0.1:1"]),
        (Some(2), "error: a Spark run computes and publishes every definition: --select and --exclude work with --engine duckdb only".to_string())
    );
    let (code, stderr) = run(&["--spark-url", "sc://127.0.0.1:1"]);
    assert_eq!(code, Some(2));
    assert!(stderr.starts_with("error: cannot reach the Spark Connect server at sc://127.0.0.1:1: 127.0.0.1:1: "), "{stderr}");
    assert!(stderr.ends_with("hint: start a local one with `scripts/spark-connect.sh start` (it prints its URL), then pass it as --spark-url or SEGMENTER_SPARK_URL, or set spark.url in segmenter.yaml"), "{stderr}");
    assert!(!dir.path().join("out/tiny.duckdb").exists(), "nothing was computed");
    // Models are fitted by DuckDB runs only: a Spark run refuses them before it connects.
    let cdnow = fixture("cdnow/project");
    let out = segmenter(cdnow.path()).args(["--engine", "spark", "run", "--spark-url", "sc://127.0.0.1:1"]).output().expect("run");
    assert_eq!(
        (out.status.code(), String::from_utf8_lossy(&out.stderr).trim_end()),
        (
            Some(2),
            "error: model 'purchases' (segments/models.yaml:7): models are fitted by DuckDB runs only; a Spark run cannot compute their \
             features yet (use --engine duckdb, or leave the file with the model and the definitions that use its features out of the \
             Spark project: the library's is segments/predictive.yaml)"
        )
    );
}
