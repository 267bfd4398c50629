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
    let yaml = yaml.replace("output:\n  database: out/tiny.duckdb\n", &format!("output:\n  database: out/tiny.duckdb\n{exports}consent: {{ source: consent, without_row: contactable }}\npii: [country]\n"));
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

/// The tiny fixture with `consent.csv` as given and one email export of `clv_low`
/// (members 1,3,7,8,9,10,11,13), channel written as `channel`.
fn email_export(consent: &str, channel: &str) -> tempfile::TempDir {
    let dir = project_with_exports(&format!(
        "  exports:\n    - {{ name: email_low, format: csv, channel: {channel}, segments: [clv_low], columns: [customer_id] }}\n"
    ));
    std::fs::write(dir.path().join("data/consent.csv"), consent).expect("consent");
    dir
}

fn exported_ids(dir: &std::path::Path) -> String {
    let csv = std::fs::read_to_string(dir.join("out/exports/2026-06-30/email_low.csv")).expect("csv");
    csv.lines().skip(1).collect::<Vec<_>>().join(",")
}

#[test]
fn channels_are_compared_trimmed_and_in_lower_case_and_unknown_ones_are_errors() {
    let consent = "customer_id,channel,opted_out,updated_at\n1,EMAIL,true,2026-02-01\n3, email ,true,2026-03-01\n7,sms,true,2026-01-01\n";
    let dir = email_export(consent, "Email");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    assert_eq!(exported_ids(dir.path()), "7,8,9,10,11,13");
    let typo = email_export(consent, "emial");
    let out = segmenter(typo.path()).arg("validate").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default(),
        "segmenter.yaml:19:48: error[E063]: unknown channel 'emial' in export 'email_low'; hint: did you mean 'email'?"
    );
}

#[test]
fn unclear_consent_rows_block_the_run_and_leave_their_customer_out_when_forced() {
    // 1's latest row has no flag; the row without a customer id would otherwise empty the export.
    let consent = "customer_id,channel,opted_out,updated_at\n1,email,false,2025-01-01\n1,email,,2026-02-01\n,email,true,2026-01-01\n";
    let dir = email_export(consent, "email");
    let out = segmenter(dir.path()).arg("run").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "source 'consent' (data/consent.csv): 1 row(s) where customer_id is empty (first: data row 3); such a customer is not contactable on that channel",
        "source 'consent' (data/consent.csv): 1 row(s) where opted_out is neither true nor false (first: data row 2); such a customer is not contactable on that channel",
    ] {
        assert!(stderr.contains(expected), "{stderr}");
    }
    assert!(!dir.path().join("out/exports").exists(), "a blocked run exports nothing");
    segmenter(dir.path()).args(["--quiet", "run", "--force"]).assert().success();
    assert_eq!(exported_ids(dir.path()), "3,7,8,9,10,11,13");
}

#[test]
fn duplicate_and_empty_customer_ids_block_the_run() {
    let dir = fixture("tiny");
    let path = dir.path().join("data/customers.csv");
    let csv = std::fs::read_to_string(&path).expect("csv");
    std::fs::write(&path, format!("{csv}2,2020-01-01,1990-01-01,DE\n,2020-01-01,1990-01-01,FR\n")).expect("write");
    let out = segmenter(dir.path()).arg("run").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("source 'customers' (data/customers.csv): 1 customer_id appear more than once (e.g. 2); 1 row(s) have an empty customer_id"),
        "{stderr}"
    );
    assert!(!dir.path().join("out/tiny.duckdb").exists() || rows(&dir.path().join("out/tiny.duckdb"), "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'segment_members'") == vec!["0"]);
}

#[test]
fn personal_data_cannot_leave_through_a_feature_or_a_rename() {
    let dir = project_with_exports("  exports:\n    - { name: crm, columns: [customer_id, contact] }\n");
    std::fs::write(dir.path().join("segments/contact.yaml"), "features:\n  - { name: contact, expr: \"upper(country)\" }\n").expect("write");
    let out = segmenter(dir.path()).arg("validate").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default(),
        "segmenter.yaml:19:43: error[E062]: export 'crm' would write the feature 'contact', which reads the personal-data column 'country'; hint: remove the column, or set `allow_pii: true` on this export if it is allowed to leave the database"
    );
    let renamed = project_with_exports("  exports:\n    - { name: crm, columns: [customer_id, land] }\n");
    let yaml_path = renamed.path().join("segmenter.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("yaml");
    let yaml = yaml.replace(
        "customers: { path: data/customers.csv, key: customer_id, time: signup_date }",
        "customers: { path: data/customers.csv, key: customer_id, time: signup_date, rename: { country: land } }",
    );
    std::fs::write(&yaml_path, yaml).expect("write");
    std::fs::write(renamed.path().join("segments/features.yaml"),
        std::fs::read_to_string(renamed.path().join("segments/features.yaml")).expect("read").replace("{ name: country, source: customers, kind: declared }", "{ name: country, source: customers, expr: land, kind: declared }")).expect("write");
    let out = segmenter(renamed.path()).arg("validate").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let first = String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default().to_string();
    assert!(first.ends_with("error[E062]: export 'crm' would write the personal-data column 'land' (renamed from 'country'); hint: remove the column, or set `allow_pii: true` on this export if it is allowed to leave the database"), "{first}");
}

#[test]
fn a_failed_export_fails_the_run_before_anything_is_published() {
    let dir = project_with_exports("  exports:\n    - { name: all, format: csv, columns: [customer_id, segment] }\n");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let db = dir.path().join("out/tiny.duckdb");
    let before = std::fs::read(&db).expect("db");
    // The exports folder cannot be written: a file stands where it should be.
    let root = dir.path().join("out/exports");
    std::fs::remove_dir_all(&root).expect("rm");
    std::fs::write(&root, "not a folder").expect("write");
    let out = segmenter(dir.path()).arg("run").output().expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    // Only the failed run's row was added: the tables are those of the first run.
    assert_eq!(rows(&db, "SELECT string_agg(status, ',' ORDER BY started_at) FROM runs"), vec!["ok,failed"]);
    assert_eq!(rows(&db, "SELECT exports FROM runs WHERE status = 'ok'"), vec!["[{\"export\":\"all\",\"path\":\"out/exports/2026-06-30/all.csv\",\"rows\":39}]"]);
    assert_ne!(std::fs::read(&db).expect("db"), before, "the failed run's row is recorded");
}

#[test]
fn leftovers_of_a_killed_run_are_removed_or_put_back_by_the_next_run() {
    let dir = project_with_exports("  exports:\n    - { name: all, format: csv, columns: [customer_id, segment] }\n");
    let root = dir.path().join("out/exports");
    // A run killed while staging, one killed between the two renames of a promotion (the old
    // dated folder set aside, no new one), and a temporary file of an older version.
    std::fs::create_dir_all(root.join(".staging-2026-06-30-999")).expect("mkdir");
    std::fs::create_dir_all(root.join(".replaced-2026-03-31-998")).expect("mkdir");
    std::fs::write(root.join(".replaced-2026-03-31-998/all.csv"), "customer_id,segment\n").expect("write");
    std::fs::create_dir_all(root.join("2026-01-31")).expect("mkdir");
    std::fs::write(root.join("2026-01-31/all.csv.4242.tmp"), "half").expect("write");
    segmenter(dir.path()).args(["--quiet", "run"]).assert().success();
    let mut left = walk(&root).into_iter().map(|p| p.replace(&root.to_string_lossy().to_string(), "")).collect::<Vec<_>>();
    left.sort();
    assert_eq!(left, vec!["/2026-03-31/all.csv", "/2026-06-30/all.csv"]);
}

#[test]
fn a_channel_export_without_its_optional_consent_data_is_skipped_with_a_warning() {
    let dir = project_with_exports(
        "  exports:\n    - { name: email_low, format: csv, channel: email, segments: [clv_low], columns: [customer_id] }\n    - { name: all, format: csv, columns: [customer_id, segment] }\n",
    );
    std::fs::remove_file(dir.path().join("data/consent.csv")).expect("rm");
    let yaml_path = dir.path().join("segmenter.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("yaml").replace(
        "consent: { path: data/consent.csv, key: customer_id, time: updated_at }",
        "consent: { path: data/consent.csv, key: customer_id, time: updated_at, optional: true }",
    );
    std::fs::write(&yaml_path, yaml).expect("write");
    let out = segmenter(dir.path()).arg("run").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "warning[W013]: export 'email_low' skipped: its channel needs the consent source 'consent', which has no data"
    ));
    let written = dir.path().join("out/exports/2026-06-30");
    assert!(!written.join("email_low.csv").exists(), "nobody is contactable without consent data");
    assert!(written.join("all.csv").exists());
}

/// By default consent must be recorded: a customer without any consent row for the channel is
/// not written to its exports, and the run summary says so.
#[test]
fn without_a_consent_row_a_customer_is_not_contactable_by_default() {
    let dir = email_export("customer_id,channel,opted_out,updated_at\n3,email,false,2026-03-01\n7,EMAIL,false,2026-01-01\n", "email");
    let yaml_path = dir.path().join("segmenter.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).expect("yaml").replace("consent: { source: consent, without_row: contactable }", "consent: { source: consent }");
    std::fs::write(&yaml_path, yaml).expect("write");
    let out = segmenter(dir.path()).arg("run").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("consent: customers without a consent row for a channel are not contactable on it (consent.without_row)"));
    assert_eq!(exported_ids(dir.path()), "3,7");
}
