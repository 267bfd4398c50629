//! The corpus of broken projects in `tests/corpus/`: every case must give exactly its expected
//! diagnostics and exit code from `segmenter --format json validate`, and nothing may panic.
//!
//! A case is a folder `tests/corpus/<NNN-short-name>/`, an overlay on the fixture project
//! `tests/fixtures/tiny`:
//!
//! - `files/`: copied over the fixture (replacing files of the same path);
//! - `delete.txt` (optional): paths to remove afterwards, one per line;
//! - `generate.txt` (optional): a big input written by this harness instead of being committed,
//!   one line `KIND N` (lines starting with `#` are comments):
//!   - `huge-yaml N`: `segments/huge.yaml` with N one-line segments, the last one misspelling
//!     `total_spent` as `totl_spent`;
//!   - `huge-where N`: `segments/huge.yaml` with one segment whose `where` is one line of N times
//!     `order_count > 0 AND ` followed by `totl_spent > 10`;
//!   - `huge-csv N`: `data/orders.csv` with N rows whose header lacks the `total` column
//!     (it is called `amount_eur`);
//!   - `deep-yaml N`: `segments/deep.yaml` with a feature whose `default` is a flow sequence
//!     nested N deep (`[[[...]]]`);
//! - `expected.json`: `{"exit_code": 2, "diagnostics": [{"code", "file", "line", "col",
//!   "message"}, ...]}`: all diagnostics (errors and warnings) in order; only these five fields
//!   are compared (hint, snippet and severity are not). In messages, the absolute path of the
//!   temporary project folder is written `<project>`.
//! - `known-bug.txt` (optional): the case's `expected.json` is what segmenter SHOULD print, but it
//!   does not yet; the file says what is wrong. Such a case must still not panic; a mismatch is
//!   listed, not failed, and a case that starts matching fails until its known-bug.txt is removed.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const FIELDS: [&str; 5] = ["code", "file", "line", "col", "message"];

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/corpus")
}

fn case_dirs() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Build the project of one case in `dir`.
fn prepare(case: &Path, dir: &Path) -> Result<(), String> {
    copy_dir(&repo_root().join("tests/fixtures/tiny"), dir);
    let files = case.join("files");
    if files.is_dir() {
        copy_dir(&files, dir);
    }
    if let Ok(list) = std::fs::read_to_string(case.join("delete.txt")) {
        for rel in list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let p = dir.join(rel);
            let r = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            r.map_err(|e| format!("delete.txt: cannot remove {rel}: {e}"))?;
        }
    }
    if let Ok(spec) = std::fs::read_to_string(case.join("generate.txt")) {
        for line in spec.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            generate(line, dir)?;
        }
    }
    Ok(())
}

fn generate(line: &str, dir: &Path) -> Result<(), String> {
    let mut words = line.split_whitespace();
    let kind = words.next().unwrap_or_default();
    let n: usize = words.next().and_then(|w| w.parse().ok()).ok_or_else(|| format!("generate.txt: no count in '{line}'"))?;
    let (rel, text) = match kind {
        "huge-yaml" => {
            let mut s = String::with_capacity(n * 70 + 16);
            s.push_str("segments:\n");
            for i in 0..n {
                let rule = if i + 1 == n { "totl_spent > 10".to_string() } else { format!("order_count > {}", i % 50) };
                s.push_str(&format!("  - {{ name: s{i:06}, where: {rule}, tags: [generated] }}\n"));
            }
            ("segments/huge.yaml", s)
        }
        "huge-where" => {
            let rule = format!("{}totl_spent > 10", "order_count > 0 AND ".repeat(n));
            ("segments/huge.yaml", format!("segments:\n  - name: huge\n    where: {rule}\n"))
        }
        "huge-csv" => {
            let mut s = String::with_capacity(n * 40 + 64);
            s.push_str("order_id,client,ordered_at,amount_eur,coupon_code\n");
            for i in 0..n {
                s.push_str(&format!("{i},{},2026-01-01 10:00:00,{}.50,\n", i % 13 + 1, i % 997));
            }
            ("data/orders.csv", s)
        }
        "deep-yaml" => {
            let nested = format!("{}{}", "[".repeat(n), "]".repeat(n));
            ("segments/deep.yaml", format!("features:\n  - name: n_sessions\n    source: sessions\n    expr: count(*)\n    default: {nested}\n"))
        }
        other => return Err(format!("generate.txt: unknown kind '{other}'")),
    };
    std::fs::write(dir.join(rel), text).map_err(|e| format!("generate.txt: cannot write {rel}: {e}"))
}

/// The compared part of a result: exit code and the five fields of every diagnostic.
fn summary(exit_code: Option<i64>, diags: &[Value]) -> String {
    let mut out = format!("exit {}\n", exit_code.map_or("?".to_string(), |c| c.to_string()));
    for d in diags {
        let f = |k: &str| match &d[k] {
            Value::String(s) => s.clone(),
            Value::Null => "<missing>".to_string(),
            v => v.to_string(),
        };
        out.push_str(&format!("  {}:{}:{}: {}: {}\n", f("file"), f("line"), f("col"), f("code"), f("message")));
    }
    out
}

fn only_fields(d: &Value) -> Value {
    Value::Object(FIELDS.iter().map(|k| (k.to_string(), d[*k].clone())).collect())
}

/// Run one case; `Err((crashed, description))` says how it differs from `expected.json`
/// (`crashed`: it panicked or was killed, which no case may do).
fn check(case: &Path) -> Result<(), (bool, String)> {
    check_inner(case).map_err(|(crashed, problems)| (crashed, problems.join("\n")))
}

fn check_inner(case: &Path) -> Result<(), (bool, Vec<String>)> {
    let setup = |e: String| (false, vec![e]);
    let expected_text = std::fs::read_to_string(case.join("expected.json")).map_err(|e| setup(format!("no expected.json: {e}")))?;
    let expected: Value = serde_json::from_str(&expected_text).map_err(|e| setup(format!("expected.json is not JSON: {e}")))?;
    let want_code = expected["exit_code"].as_i64();
    let want: Vec<Value> = expected["diagnostics"].as_array().cloned().unwrap_or_default().iter().map(only_fields).collect();

    let tmp = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
    let dir = tmp.path();
    prepare(case, dir).map_err(setup)?;
    let out = segmenter(dir).args(["--format", "json", "validate"]).output().map_err(|e| setup(format!("cannot run segmenter: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let code = out.status.code();
    let mut problems = Vec::new();
    let crashed = stderr.contains("panicked") || code == Some(101) || code.is_none();
    if stderr.contains("panicked") || code == Some(101) {
        problems.push(format!("segmenter panicked (exit {code:?}):\n{stderr}"));
    }
    if code.is_none() {
        problems.push(format!("segmenter was killed by a signal:\n{stderr}"));
    }
    let got: Vec<Value> = match serde_json::from_slice::<Value>(&out.stdout) {
        Ok(v) => v["diagnostics"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            problems.push(format!("stdout is not JSON ({e}):\n{}\nstderr:\n{stderr}", String::from_utf8_lossy(&out.stdout)));
            Vec::new()
        }
    };
    // Messages that quote a data file's absolute path name the temporary project folder.
    let mut roots = vec![dir.display().to_string()];
    if let Ok(c) = dir.canonicalize() {
        roots.insert(0, c.display().to_string());
    }
    let got: Vec<Value> = got
        .iter()
        .map(|d| {
            let mut d = only_fields(d);
            if let Some(m) = d["message"].as_str() {
                let mut m = m.to_string();
                for r in &roots {
                    m = m.replace(r.as_str(), "<project>");
                }
                d["message"] = Value::String(m);
            }
            d
        })
        .collect();
    let got_code = code.map(i64::from);
    if got_code != want_code || got != want {
        problems.push(format!("expected:\n{}got:\n{}", summary(want_code, &want), summary(got_code, &got)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err((crashed, problems))
    }
}

#[test]
fn every_broken_project_in_the_corpus_gives_its_expected_diagnostics_without_panicking() {
    let cases = case_dirs();
    assert!(cases.len() >= 60, "the corpus has {} cases; it must have at least 60", cases.len());
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let known: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let name = case.file_name().unwrap_or_default().to_string_lossy().to_string();
                let known_bug = std::fs::read_to_string(case.join("known-bug.txt")).ok();
                match (check(case), known_bug) {
                    (Ok(()), None) => {}
                    (Ok(()), Some(_)) => failures.lock().unwrap_or_else(|p| p.into_inner()).push((i, format!("{name}: now gives its expected output; delete its known-bug.txt"))),
                    (Err((false, e)), Some(why)) => known.lock().unwrap_or_else(|p| p.into_inner()).push((i, format!("{name} (known bug: {}): {e}", why.trim()))),
                    (Err((_, e)), _) => failures.lock().unwrap_or_else(|p| p.into_inner()).push((i, format!("{name}: {e}"))),
                }
            });
        }
    });
    let mut known = known.into_inner().unwrap_or_else(|p| p.into_inner());
    known.sort();
    for (_, k) in &known {
        eprintln!("{k}");
    }
    let mut failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.into_iter().map(|(_, f)| f).collect::<Vec<_>>().join("\n---\n")
    );
}
