//! Exports: dated files written atomically, only the configured columns, consent applied per
//! channel (membership is still computed), and personal data refused unless allowed.

use crate::support::*;

/// The tiny fixture plus a consent file and exports in its project file.
fn project_with_exports(exports: &str) -> tempfile::TempDir {
    let dir = fixture("tiny");
    // 1: opted out of email (latest row); 3: opted out, then back in (latest row wins);
    // 7: opted out of sms only.
    std::fs::write(
        dir.path().join("data/consent.csv"),
        "customer_id,channel,opted_out,updated_at\n1,email,false,2025-01-01\n1,email,true,2026-02-01\n3,email,true,2025-01-01\n3,email,false,2026-03-01\n7,sms,true,2026-01-01\n",
    )
    .expect("consent");
    let yaml = std::fs::read_to_string(dir.path().join("segmenter.yaml")).expect("yaml");
    let yaml = yaml.replace(
        "  sessions: { path: data/sessions.csv, key: customer_id, time: started_at }\n",
        "  sessions: { path: data/sessions.csv, key: customer_id, time: started_at }\n  consent: { path: data/consent.csv, key: customer_id, time: updated_at }\n",
    );
    let yaml = yaml.replace("output:\n  database: out/tiny.duckdb\n", &format!("output:\n  database: out/tiny.duckdb\n{exports}consent: {{ source: consent }}\npii: [country]\n"));
    std::fs::write(dir.path().join("segmenter.yaml"), yaml).expect("write");
    dir
}

#[test]
fn opted_out_customers_are_members_but_in_no_export_file() {
    let dir = project_with_exports(
        "  exports:\n    - { name: email_low, format: csv, channel: email, segments: [clv_low], columns: [customer_id, segment, total_spent] }\n    - { name: per_segment, format: parquet, layout: per_segment, channel: email, segments: [clv_low, clv_high] }\n",
    );
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    assert_eq!(members(&db, "clv_low"), "1,3,7,8,9,10,11,13", "membership ignores consent");
    let csv = std::fs::read_to_string(dir.path().join("out/exports/2026-06-30/email_low.csv")).expect("csv");
    assert_eq!(
        csv,
        "customer_id,segment,total_spent\n3,clv_low,0.00\n7,clv_low,499.99\n8,clv_low,500.00\n9,clv_low,400.00\n10,clv_low,100.00\n11,clv_low,400.00\n13,clv_low,0.00\n"
    );
    let low = dir.path().join("out/exports/2026-06-30/per_segment/clv_low.parquet");
    let high = dir.path().join("out/exports/2026-06-30/per_segment/clv_high.parquet");
    assert_eq!(
        rows(&db, &format!("SELECT string_agg(customer_id::VARCHAR, ',' ORDER BY customer_id) FROM read_parquet('{}')", low.display())),
        vec!["3,7,8,9,10,11,13"]
    );
    assert_eq!(rows(&db, &format!("SELECT count(*) FROM read_parquet('{}')", high.display())), vec!["1"]);
    // No temporary files are left next to the exports.
    let leftovers: Vec<_> = walk(&dir.path().join("out/exports")).into_iter().filter(|p| p.ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path().to_string_lossy().to_string());
        }
    }
    out
}

#[test]
fn personal_data_and_unknown_columns_are_refused_before_anything_runs() {
    let dir = project_with_exports("  exports:\n    - { name: crm, columns: [customer_id, country, totl_spent] }\n");
    let out = segmenter(dir.path()).args(["run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "segmenter.yaml:19:43: error[E062]: export 'crm' would write the personal-data column 'country'; hint: remove the column, or set `allow_pii: true` on this export if it is allowed to leave the database\n\
         segmenter.yaml:19:52: error[E061]: unknown column 'totl_spent' in export 'crm'; hint: did you mean 'total_spent'?\n\
         error: 2 error(s) in the project definitions"
    );
    assert!(!dir.path().join("out").exists(), "nothing ran");
    let allowed = project_with_exports("  exports:\n    - { name: crm, format: csv, allow_pii: true, segments: [clv_high], columns: [customer_id, country] }\n");
    segmenter(allowed.path()).args(["--quiet", "run"]).assert().success();
    assert_eq!(std::fs::read_to_string(allowed.path().join("out/exports/2026-06-30/crm.csv")).expect("csv"), "customer_id,country\n5,US\n");
}
