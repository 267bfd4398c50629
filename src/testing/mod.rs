//! `segmenter test`: fixture tests written next to the definitions, run offline in an
//! in-memory DuckDB, and data assertions on the published results of the last run.
//!
//! A fixture test replaces every source with its `given` rows (sources not given are empty,
//! with the real file's columns), runs the compiled plan, and compares members, tier levels and
//! scores with `expect`. Assertions check sizes, shares, overlaps and "one level per customer".

use crate::compile::dialect::{Dialect, DuckDb};
use crate::diagnostics::Loc;
use crate::error::Result;
use crate::project::model::{AssertSeverity, Assertion, Expectation, FixtureTest, SourceFormat};
use crate::project::{Item, Project};
use crate::validate::{resolve, ResolveOptions};
use duckdb::Connection;
use serde::Serialize;
use std::time::Instant;

/// The outcome of one fixture test or assertion.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    /// `fixture` or `assertion`.
    pub kind: &'static str,
    pub name: String,
    /// `file:line` of the definition.
    pub origin: String,
    /// `pass`, `fail` or `warn` (a failed assertion of severity warn).
    pub status: &'static str,
    /// Every failed expectation, one per line; empty when passing.
    pub message: String,
    pub millis: u128,
}

/// All results of a `segmenter test` run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TestReport {
    pub passed: usize,
    pub failed: usize,
    pub warnings: usize,
    /// Why assertions were not run, if they were not (no output database yet).
    pub assertions_skipped: Option<String>,
    pub results: Vec<Outcome>,
}

fn origin<T>(project: &Project, item: &Item<T>) -> String {
    let loc: Loc = project.loc(item, "");
    format!("{}:{}", loc.file, loc.line)
}

fn yaml_text(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Null => "NULL".into(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_timestamp(s: &str) -> bool {
    s.len() >= 16 && is_date(&s[..10]) && matches!(s.as_bytes()[10], b' ' | b'T') && s[11..].chars().all(|c| c.is_ascii_digit() || c == ':' || c == '.')
}

/// A `given` value as a SQL literal: dates and timestamps typed, strings escaped.
fn literal(v: &serde_yaml::Value) -> String {
    let d = DuckDb;
    match v {
        serde_yaml::Value::Null => "NULL".into(),
        serde_yaml::Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::String(s) if is_date(s) => d.date(s),
        serde_yaml::Value::String(s) if is_timestamp(s) => format!("TIMESTAMP {}", d.string(&s.replace('T', " "))),
        serde_yaml::Value::String(s) => d.string(s),
        other => d.string(&yaml_text(other)),
    }
}

/// A SELECT over `given` rows; columns are the union of the rows' keys.
fn values_select(rows: &[std::collections::BTreeMap<String, serde_yaml::Value>]) -> String {
    let d = DuckDb;
    let mut cols: Vec<&String> = Vec::new();
    for r in rows {
        for k in r.keys() {
            if !cols.contains(&k) {
                cols.push(k);
            }
        }
    }
    let values: Vec<String> = rows
        .iter()
        .map(|r| format!("({})", cols.iter().map(|c| r.get(*c).map_or("NULL".to_string(), literal)).collect::<Vec<_>>().join(", ")))
        .collect();
    let names: Vec<String> = cols.iter().map(|c| d.ident(c)).collect();
    format!("SELECT * FROM (VALUES {}) AS v({})", values.join(", "), names.join(", "))
}

fn strings(conn: &Connection, sql: &str, params: &[&str]) -> std::result::Result<Vec<String>, String> {
    crate::execute::column_strings(conn, "test", sql, params).map_err(|e| e.to_string())
}

/// Run one fixture test; returns the failed expectations (empty = pass).
fn run_fixture(project: &Project, t: &FixtureTest) -> std::result::Result<Vec<String>, String> {
    let d = DuckDb;
    for name in t.given.keys() {
        if !project.config.sources.contains_key(name) {
            return Err(format!("`given` names source '{name}', which segmenter.yaml does not declare"));
        }
    }
    let opts = ResolveOptions { as_of: t.as_of.clone(), ..Default::default() };
    let outcome = resolve(project, &opts);
    let Some(mut model) = outcome.resolved else {
        let first = outcome.diagnostics.iter().find(|x| x.is_error()).map(|x| x.to_string()).unwrap_or_default();
        return Err(format!("the definitions do not resolve: {first}"));
    };
    // The sources' databases give the given rows their real column types when they can be
    // reached; offline (no DSN, no server) the rows' own columns do.
    let files_only = crate::execute::EngineSettings { access: crate::execute::Access::project(project), ..Default::default() };
    let with_databases = crate::postgres::Databases::project(project, false)
        .ok()
        .filter(|d| !d.attach.is_empty())
        .and_then(|databases| crate::execute::open(None, &crate::execute::EngineSettings { databases, ..files_only.clone() }).ok());
    let conn = match with_databases {
        Some(conn) => conn,
        None => crate::execute::open(None, &files_only).map_err(|e| e.to_string())?,
    };
    for src in &mut model.sources {
        let table = format!("given_{}", src.name);
        // Start from the real file's (renamed) columns so rows only name the columns they need.
        let empty = format!(
            "CREATE TABLE {} AS SELECT * FROM {} LIMIT 0",
            d.ident(&table),
            crate::compile::renamed_source(src.format, &src.path, src.csv.as_ref(), &src.rename, &d)
        );
        let has_schema = conn.execute_batch(&empty).is_ok();
        let rows = t.given.get(&src.name).filter(|r| !r.is_empty());
        let sql = match (has_schema, rows) {
            (true, Some(rows)) => d.insert_by_name(&d.ident(&table), &values_select(rows)),
            (true, None) => String::new(),
            (false, Some(rows)) => format!("CREATE TABLE {} AS {}", d.ident(&table), values_select(rows)),
            (false, None) => return Err(format!("source '{}' has no `given` rows and its data file cannot be read for its columns", src.name)),
        };
        conn.execute_batch(&sql).map_err(|e| format!("cannot load the given rows of source '{}': {}", src.name, crate::execute::first_line(&e.to_string())))?;
        src.format = SourceFormat::Table;
        src.path = table;
        src.rename.clear();
    }
    // Models fit on the given rows too (too few, usually: their features are then NULL).
    let given = model.sources.clone();
    for m in &mut model.models {
        if let Some(src) = given.iter().find(|s| s.name == m.source.name) {
            m.source = src.clone();
        }
    }
    crate::execute::models::fit_models(&conn, &model).map_err(|e| e.to_string())?;
    let plan = crate::compile::compile(&model);
    crate::execute::run_plan(&conn, &plan, &mut |_, _, _| {}).map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    for e in &t.expect {
        if let Err(msg) = check(&conn, e) {
            failures.push(msg);
        }
    }
    Ok(failures)
}

fn id_list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

fn check(conn: &Connection, e: &Expectation) -> std::result::Result<(), String> {
    let sorted = |mut v: Vec<String>| {
        v.sort_by(|a, b| match (a.parse::<i64>(), b.parse::<i64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        });
        v
    };
    if let Some(seg) = &e.segment {
        let known = strings(conn, "SELECT name FROM segment_catalog WHERE name = ?", &[seg])?;
        if known.is_empty() {
            return Err(format!("segment '{seg}': no such segment"));
        }
        let got = strings(conn, "SELECT CAST(customer_id AS VARCHAR) FROM segment_members WHERE segment = ?", &[seg])?;
        let got = sorted(got);
        let mut problems = Vec::new();
        if let Some(members) = &e.members {
            let want = sorted(members.iter().map(yaml_text).collect());
            if want != got {
                problems.push(format!("expected members {}, got {}", id_list(&want), id_list(&got)));
            }
        }
        let missing: Vec<String> = e.includes.iter().map(yaml_text).filter(|c| !got.contains(c)).collect();
        if !missing.is_empty() {
            problems.push(format!("expected to include {}, but they are not members", id_list(&missing)));
        }
        let unwanted: Vec<String> = e.excludes.iter().map(yaml_text).filter(|c| got.contains(c)).collect();
        if !unwanted.is_empty() {
            problems.push(format!("expected to exclude {}, but they are members", id_list(&unwanted)));
        }
        return if problems.is_empty() { Ok(()) } else { Err(format!("segment '{seg}': {}", problems.join("; "))) };
    }
    let customer = e.customer.as_ref().map(yaml_text).ok_or("an expectation with `ladder` or `score` needs `customer`")?;
    if let Some(ladder) = &e.ladder {
        let want = e.level.clone().ok_or("an expectation with `ladder` needs `level`")?;
        let got = strings(conn, "SELECT tier FROM tier_assignments WHERE ladder = ? AND CAST(customer_id AS VARCHAR) = ?", &[ladder, &customer])?;
        return match got.first() {
            Some(level) if *level == want => Ok(()),
            Some(level) => Err(format!("ladder '{ladder}', customer {customer}: expected level {want}, got {level}")),
            None => Err(format!("ladder '{ladder}', customer {customer}: no level (unknown ladder or customer)")),
        };
    }
    if let Some(score) = &e.score {
        let table = DuckDb.ident(&format!("{score}_scores"));
        let got = strings(conn, &format!("SELECT score FROM {table} WHERE CAST(customer_id AS VARCHAR) = ?"), &[&customer])
            .map_err(|_| format!("score '{score}': no such score"))?;
        let want = e.value.clone().ok_or("an expectation with `score` needs `value`, e.g. value: \"545\"")?;
        return match got.first() {
            Some(v) if *v == want => Ok(()),
            Some(v) => Err(format!("score '{score}', customer {customer}: expected {want}, got {v}")),
            None => Err(format!("score '{score}', customer {customer}: not scored")),
        };
    }
    Err("an expectation needs `segment`, `ladder` or `score`".into())
}

/// Run every fixture test of the project.
pub fn fixture_tests(project: &Project) -> Vec<Outcome> {
    project
        .tests
        .iter()
        .map(|item| {
            let started = Instant::now();
            let (status, message) = match run_fixture(project, &item.def) {
                Ok(f) if f.is_empty() => ("pass", String::new()),
                Ok(f) => ("fail", f.join("\n")),
                Err(e) => ("fail", e),
            };
            Outcome { kind: "fixture", name: item.def.name.clone(), origin: origin(project, item), status, message, millis: started.elapsed().as_millis() }
        })
        .collect()
}

fn assertion(conn: &Connection, a: &Assertion) -> std::result::Result<(), String> {
    let mut problems = Vec::new();
    if let Some(seg) = &a.segment {
        let row: Option<(i64, f64)> = conn
            .query_row("SELECT size, CAST(share AS DOUBLE) FROM segment_catalog WHERE name = ?", [seg], |r| Ok((r.get(0)?, r.get(1)?)))
            .ok();
        let Some((size, share)) = row else { return Err(format!("segment '{seg}' is not in the last run's results")) };
        if a.not_empty && size == 0 {
            problems.push(format!("segment '{seg}' is empty"));
        }
        if let Some(min) = a.min_size.filter(|m| size < *m) {
            problems.push(format!("segment '{seg}' has {size} members, fewer than min_size {min}"));
        }
        if let Some(max) = a.max_size.filter(|m| size > *m) {
            problems.push(format!("segment '{seg}' has {size} members, more than max_size {max}"));
        }
        if let Some(min) = a.min_share.filter(|m| share < *m) {
            problems.push(format!("segment '{seg}' holds {:.2}% of customers, below min_share {:.2}%", share * 100.0, min * 100.0));
        }
        if let Some(max) = a.max_share.filter(|m| share > *m) {
            problems.push(format!("segment '{seg}' holds {:.2}% of customers, above max_share {:.2}%", share * 100.0, max * 100.0));
        }
    }
    if let Some(ladder) = &a.one_level_per_customer {
        let bad: i64 = conn
            .query_row(
                "SELECT count(*) FROM customer_features f WHERE (SELECT count(*) FROM tier_assignments t WHERE t.ladder = ? AND t.customer_id = f.customer_id) <> 1",
                [ladder],
                |r| r.get(0),
            )
            .map_err(|e| crate::execute::first_line(&e.to_string()))?;
        if bad > 0 {
            problems.push(format!("{bad} customer(s) do not have exactly one level of ladder '{ladder}'"));
        }
    }
    if !a.overlap.is_empty() {
        let [x, y] = a.overlap.as_slice() else { return Err("`overlap` takes exactly two segment names".into()) };
        let max = a.max_overlap.ok_or("`overlap` needs `max_overlap` (a share of the smaller segment, 0..1)")?;
        let share: Option<f64> = conn
            .query_row(
                "SELECT CAST(count(*) AS DOUBLE) / nullif(least((SELECT count(*) FROM segment_members WHERE segment = ?), (SELECT count(*) FROM segment_members WHERE segment = ?)), 0)
                 FROM segment_members a JOIN segment_members b ON a.customer_id = b.customer_id WHERE a.segment = ? AND b.segment = ?",
                [x, y, x, y],
                |r| r.get(0),
            )
            .map_err(|e| crate::execute::first_line(&e.to_string()))?;
        let share = share.unwrap_or(0.0);
        if share > max {
            problems.push(format!("'{x}' and '{y}' overlap by {:.2}% of the smaller segment, above max_overlap {:.2}%", share * 100.0, max * 100.0));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Check every assertion against the published results.
pub fn assertions(project: &Project, conn: &Connection) -> Vec<Outcome> {
    project
        .assertions
        .iter()
        .map(|item| {
            let started = Instant::now();
            let (status, message) = match assertion(conn, &item.def) {
                Ok(()) => ("pass", String::new()),
                Err(m) if item.def.severity == AssertSeverity::Warn => ("warn", m),
                Err(m) => ("fail", m),
            };
            Outcome { kind: "assertion", name: item.def.name.clone(), origin: origin(project, item), status, message, millis: started.elapsed().as_millis() }
        })
        .collect()
}

/// Fixture tests, then assertions when the output database exists.
pub fn run_all(project: &Project) -> Result<TestReport> {
    let mut results = fixture_tests(project);
    let mut assertions_skipped = None;
    if !project.assertions.is_empty() {
        let db = crate::project::resolve(&project.root, &project.config.output.database);
        if db.exists() {
            let conn = crate::execute::open_read_only(&db)?;
            results.extend(assertions(project, &conn));
        } else {
            assertions_skipped = Some(format!("{} does not exist yet; run `segmenter run` to check assertions", project.config.output.database));
        }
    }
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    Ok(TestReport { passed: count("pass"), failed: count("fail"), warnings: count("warn"), assertions_skipped, results })
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl TestReport {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let mark = match r.status {
                "pass" => "PASS",
                "warn" => "WARN",
                _ => "FAIL",
            };
            out.push_str(&format!("{mark}  {} {} ({})\n", r.kind, r.name, r.origin));
            for line in r.message.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
        if let Some(why) = &self.assertions_skipped {
            out.push_str(&format!("note: assertions not checked: {why}\n"));
        }
        out.push_str(&format!("\n{} passed, {} failed, {} warning(s)\n", self.passed, self.failed, self.warnings));
        out
    }

    /// JUnit XML for CI systems: one suite per kind; warnings are passing cases with output.
    pub fn to_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"segmenter\">\n");
        for kind in ["fixture", "assertion"] {
            let cases: Vec<&Outcome> = self.results.iter().filter(|r| r.kind == kind).collect();
            let failures = cases.iter().filter(|r| r.status == "fail").count();
            out.push_str(&format!("  <testsuite name=\"{kind}\" tests=\"{}\" failures=\"{failures}\">\n", cases.len()));
            for c in cases {
                let (file, line) = c.origin.rsplit_once(':').unwrap_or((&c.origin, "1"));
                out.push_str(&format!(
                    "    <testcase name=\"{}\" classname=\"{kind}\" file=\"{}\" line=\"{}\" time=\"{:.3}\"",
                    xml(&c.name),
                    xml(file),
                    xml(line),
                    c.millis as f64 / 1000.0
                ));
                match c.status {
                    "fail" => out.push_str(&format!(
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml(c.message.lines().next().unwrap_or_default()),
                        xml(&c.message)
                    )),
                    "warn" => out.push_str(&format!(">\n      <system-out>warning: {}</system-out>\n    </testcase>\n", xml(&c.message))),
                    _ => out.push_str("/>\n"),
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Map a run of `segmenter test` to its exit code: 1 when anything failed.
pub fn exit_code(r: &TestReport) -> i32 {
    if r.failed > 0 {
        crate::error::exit::TESTS_FAILED
    } else {
        crate::error::exit::OK
    }
}

