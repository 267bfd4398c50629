//! The DuckDB the binary links (the prebuilt library by default, or `--features bundled`), and
//! the lock-down every session that runs definition text gets.

use segmenter::execute::{open, Access, EngineSettings};

fn one(conn: &duckdb::Connection, sql: &str) -> String {
    conn.query_row(sql, [], |r| r.get::<_, String>(0)).expect(sql)
}

#[test]
fn links_duckdb_1_5_5_with_parquet_and_json_built_in() {
    // duckdb_extensions() lists the extension folder, which a locked session may not read.
    let conn = open(None, &EngineSettings { access: Access::Unrestricted, ..Default::default() }).expect("session");
    assert_eq!(one(&conn, "SELECT version()"), "v1.5.5");
    let loaded = one(
        &conn,
        "SELECT string_agg(extension_name, ',' ORDER BY extension_name) FROM duckdb_extensions() \
         WHERE loaded AND extension_name IN ('json', 'parquet')",
    );
    assert_eq!(loaded, "json,parquet");
    // Both work without any file access: write and read them in memory.
    assert_eq!(one(&conn, "SELECT json_extract_string('{\"a\": \"x\"}', '$.a')"), "x");
}

#[test]
fn a_locked_session_reads_only_its_folders_and_cannot_be_unlocked() {
    let data = tempfile::tempdir().expect("temp dir");
    let outside = tempfile::tempdir().expect("temp dir");
    for dir in [data.path(), outside.path()] {
        std::fs::write(dir.join("t.csv"), "a\n1\n").expect("write");
    }
    let settings = EngineSettings { access: Access::Within(vec![data.path().to_path_buf()]), ..Default::default() };
    let conn = open(None, &settings).expect("session");
    let inside = data.path().join("t.csv").display().to_string();
    assert_eq!(one(&conn, &format!("SELECT a::VARCHAR FROM read_csv('{inside}')")), "1");
    let outside_file = outside.path().join("t.csv").display().to_string();
    let err = conn.execute_batch(&format!("SELECT * FROM read_csv('{outside_file}')")).expect_err("outside the folders");
    assert!(err.to_string().contains("Permission Error"), "{err}");
    let err = conn.execute_batch("SET enable_external_access = true").expect_err("locked");
    assert!(err.to_string().contains("the configuration has been locked"), "{err}");
    let written = outside.path().join("w.csv");
    assert!(conn.execute_batch(&format!("COPY (SELECT 1) TO '{}'", written.display())).is_err());
    assert!(!written.exists());
}

/// DuckDB's official postgres extension of the same version loads into the prebuilt library
/// (as the PostgreSQL sources and publish need). `scripts/duckdb-extensions.sh` fetches it from
/// its PyPI wheel (`duckdb-extension-postgres-scanner`) into the per-user cache once.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[test]
fn the_official_postgres_extension_of_the_same_version_loads() {
    let out = std::process::Command::new(crate::support::repo_root().join("scripts/duckdb-extensions.sh")).output().expect("the script runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or_default());
    let platform = if cfg!(target_arch = "x86_64") { "linux_amd64" } else { "linux_arm64" };
    let file = dir.join("v1.5.5").join(platform).join("postgres_scanner.duckdb_extension");
    let conn = open(None, &EngineSettings { access: Access::Unrestricted, ..Default::default() }).expect("session");
    conn.execute_batch(&format!("LOAD '{}'", file.display())).expect("the extension loads");
    // DuckDB checks the extension's DuckDB version and platform when loading it; once loaded, its
    // functions are there.
    assert_eq!(one(&conn, "SELECT loaded::VARCHAR FROM duckdb_extensions() WHERE extension_name = 'postgres_scanner'"), "true");
    assert_eq!(one(&conn, "SELECT (count(*) > 0)::VARCHAR FROM duckdb_functions() WHERE function_name = 'postgres_scan'"), "true");
}
