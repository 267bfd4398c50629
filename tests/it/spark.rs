//! The Spark SQL of `compile --engine spark` on a real local Spark: a Spark Connect server from
//! the PySpark wheel (scripts/spark-connect.sh, Java 17) runs the plan of the tiny fixture, the
//! library fixture and the sample shop (scripts/spark-plan.py registers the sources and runs the
//! steps), and every segment and tier level has exactly the members DuckDB gives.
//!
//! Without Java the test says so on stderr and passes; everything else it needs it installs.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Spark Connect server for this test: started if none runs, stopped again if we started it.
struct LocalSpark {
    url: String,
    python: PathBuf,
    started: bool,
}

impl LocalSpark {
    fn script() -> PathBuf {
        repo_root().join("scripts/spark-connect.sh")
    }

    /// `None` (with the reason on stderr) when this machine has no Java.
    fn start() -> Option<LocalSpark> {
        let running = Command::new(Self::script()).arg("status").output().expect("spark-connect.sh status").status.success();
        let out = Command::new(Self::script()).arg("start").output().expect("spark-connect.sh start");
        if out.status.code() == Some(3) {
            eprintln!("SKIPPED the Spark test: {}", String::from_utf8_lossy(&out.stderr).trim());
            return None;
        }
        assert!(out.status.success(), "spark-connect.sh start failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string();
        let out = Command::new(Self::script()).arg("python").output().expect("spark-connect.sh python");
        assert!(out.status.success(), "no PySpark client:\n{}", String::from_utf8_lossy(&out.stderr));
        let python = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Some(LocalSpark { url, python, started: !running })
    }

    /// `segment<TAB>ids` and `ladder/tier<TAB>ids` lines of the project's plan run on Spark.
    fn members(&self, project: &Path) -> Vec<String> {
        let bin = assert_cmd::cargo::cargo_bin("segmenter");
        let out = Command::new(&self.python)
            .arg(repo_root().join("scripts/spark-plan.py"))
            .arg(project)
            .arg(&self.url)
            .arg(bin)
            .output()
            .expect("spark-plan.py");
        assert!(out.status.success(), "the Spark plan of {} failed:\n{}", project.display(), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    }
}

impl Drop for LocalSpark {
    fn drop(&mut self) {
        if self.started {
            let _ = Command::new(Self::script()).arg("stop").output();
        }
    }
}

/// The same lines from the DuckDB run's tables.
fn duckdb_members(db: &Path) -> Vec<String> {
    let members = "SELECT segment::VARCHAR || chr(9) || string_agg(customer_id::VARCHAR, ',' ORDER BY customer_id) FROM segment_members GROUP BY segment ORDER BY 1";
    let tiers = "SELECT ladder::VARCHAR || '/' || tier::VARCHAR || chr(9) || string_agg(customer_id::VARCHAR, ',' ORDER BY customer_id) FROM tier_assignments GROUP BY ladder, tier ORDER BY 1";
    let mut lines = rows(db, members);
    lines.extend(rows(db, tiers));
    lines
}

#[test]
fn the_spark_plan_gives_duckdbs_members_and_tiers() {
    let Some(spark) = LocalSpark::start() else { return };
    let library = fixture("library");
    for entry in ["segments", "macros"] {
        copy_dir(&repo_root().join(entry), &library.path().join(entry));
    }
    let projects = [(fixture("tiny"), "out/tiny.duckdb"), (library, "out/library.duckdb"), (sample_project(), "out/segments.duckdb")];
    for (dir, db) in &projects {
        segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
        let expected = duckdb_members(&dir.path().join(db));
        assert!(expected.len() > 10, "{expected:?}");
        let got = spark.members(dir.path());
        let differ: Vec<String> = expected
            .iter()
            .filter(|l| !got.contains(l))
            .map(|l| format!("DuckDB {}", l.split('\t').next().unwrap_or_default()))
            .chain(got.iter().filter(|l| !expected.contains(l)).map(|l| format!("Spark {}", l.split('\t').next().unwrap_or_default())))
            .collect();
        assert!(differ.is_empty(), "{}: segments or tiers with other members on Spark: {differ:?}", dir.path().display());
    }
}
