//! `segmenter diff`: the same data, two versions of the definitions, exact added/removed.

use crate::support::*;
use std::process::Command;

/// The library fixture with the repo's library next to it.
fn library() -> tempfile::TempDir {
    let dir = fixture("library");
    for entry in ["segments", "macros"] {
        copy_dir(&repo_root().join(entry), &dir.path().join(entry));
    }
    dir
}

fn lower_clv_low_max(project: &std::path::Path) {
    let file = project.join("segments/value.yaml");
    let text = std::fs::read_to_string(&file).expect("value.yaml").replace("var('clv_low_max', 1000)", "var('clv_low_max', 999.99)");
    std::fs::write(file, text).expect("write");
}

#[test]
fn diff_against_a_folder_counts_exactly_who_moves() {
    let head = library();
    let base = library();
    lower_clv_low_max(base.path());
    let out = segmenter(head.path()).args(["--format", "json", "diff", "--base"]).arg(base.path()).output().expect("diff");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let changed: Vec<String> = v["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter(|c| c["status"] != "unchanged")
        .map(|c| format!("{}:{}:{}->{}:+{}:-{}:{}:{}", c["name"], c["status"], c["base_size"], c["size"], c["added"], c["removed"], c["sample_added"], c["sample_removed"]))
        .collect();
    // Customers 1 and 7 spent exactly 1000.00: low under "<= 1000", medium under "<= 999.99".
    assert_eq!(
        changed,
        vec!["\"clv_low\":\"changed\":9->11:+2:-0:[\"1\",\"7\"]:[]", "\"clv_medium\":\"changed\":7->5:+0:-2:[]:[\"1\",\"7\"]"]
    );
    assert_eq!(v["tiers"].as_array().map(|t| t.iter().all(|c| c["status"] == "unchanged")), Some(true));
}

#[test]
fn diff_against_a_git_revision_prints_a_pull_request_comment() {
    let dir = library();
    let git = |args: &[&str]| {
        let ok = Command::new("git").arg("-C").arg(dir.path()).args(args).output().expect("git").status.success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["-c", "user.email=t@example.com", "-c", "user.name=t", "add", "."]);
    git(&["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base"]);
    lower_clv_low_max(dir.path());
    let out = segmenter(dir.path()).args(["diff", "--base", "HEAD", "--to", "markdown"]).output().expect("diff");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "### segmenter diff against `HEAD` (as of 2026-06-30)\n\n**Segments:** 2 changed, 72 unchanged.\n\n\
         | name | status | before | after | added | removed | e.g. added | e.g. removed |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n\
         | clv_low | changed | 11 | 9 | +0 | -2 |  | 1, 7 |\n| clv_medium | changed | 5 | 7 | +2 | -0 | 1, 7 |  |\n\n**Tier levels:** no changes.\n\n"
    );
    let out = segmenter(dir.path()).args(["diff", "--base", "no-such-branch"]).output().expect("diff");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --base 'no-such-branch' is neither a folder nor a git revision of this project (unknown revision)"
    );
}
