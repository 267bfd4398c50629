//! Shared helpers: copies of fixture projects in temp dirs, running the binary, querying results.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    // Cargo sets it when it runs the tests too: a test binary built from another checkout
    // sharing the target dir (CI's clone, say) then still reads this checkout's files.
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// Copy `src` (a folder) into a fresh temp dir and return it.
pub fn copy_project(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(src, dir.path());
    dir
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read_dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "out" {
            continue;
        }
        let target = dst.join(&name);
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A copy of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> tempfile::TempDir {
    copy_project(&repo_root().join("tests/fixtures").join(name))
}

pub fn segmenter(project: &Path) -> Command {
    let mut cmd = Command::cargo_bin("segmenter").expect("binary");
    cmd.arg("--project").arg(project);
    cmd
}

/// Rows of a query as strings, columns joined by `|`, NULL as `NULL`.
pub fn rows(db: &Path, sql: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(db).expect("open db");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let out = stmt
        .query_map([], |r| {
            let n = r.as_ref().column_count();
            let mut cells = Vec::new();
            for i in 0..n {
                let v: duckdb::types::Value = r.get(i)?;
                cells.push(value_str(&v));
            }
            Ok(cells.join("|"))
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    out
}

fn value_str(v: &duckdb::types::Value) -> String {
    use duckdb::types::Value as V;
    match v {
        V::Null => "NULL".into(),
        V::Boolean(b) => b.to_string(),
        V::Text(s) | V::Enum(s) => s.clone(),
        V::TinyInt(x) => x.to_string(),
        V::SmallInt(x) => x.to_string(),
        V::Int(x) => x.to_string(),
        V::BigInt(x) => x.to_string(),
        V::HugeInt(x) => x.to_string(),
        V::UTinyInt(x) => x.to_string(),
        V::USmallInt(x) => x.to_string(),
        V::UInt(x) => x.to_string(),
        V::UBigInt(x) => x.to_string(),
        V::Double(x) => x.to_string(),
        V::Float(x) => x.to_string(),
        V::Decimal(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// Members of one segment, as sorted customer ids joined by commas.
pub fn members(db: &Path, segment: &str) -> String {
    rows(db, &format!("SELECT customer_id FROM segment_members WHERE segment = '{segment}' ORDER BY customer_id")).join(",")
}

/// Declare every column type of the tiny fixture's orders CSV, so a header-only file is accepted.
pub fn type_all_order_columns(project: &Path) {
    let cfg = std::fs::read_to_string(project.join("segmenter.yaml")).expect("read");
    let cfg = cfg.replace(
        r#"types: { amount: "DECIMAL(12,2)" }"#,
        r#"types: { order_id: BIGINT, customer_id: BIGINT, ordered_at: TIMESTAMP, amount: "DECIMAL(12,2)", coupon_code: VARCHAR }"#,
    );
    std::fs::write(project.join("segmenter.yaml"), cfg).expect("write");
}

/// The sample project (the repo root's config, definitions, macros and sample data) in a temp dir.
pub fn sample_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for entry in ["segmenter.yaml", "segments", "sample-data", "macros"] {
        let src = repo_root().join(entry);
        if src.is_dir() {
            copy_dir(&src, &dir.path().join(entry));
        } else {
            std::fs::copy(&src, dir.path().join(entry)).expect("copy");
        }
    }
    dir
}
