//! The binary's memory: jemalloc with its options is the allocator of the whole process (so that
//! `memory_limit` bounds the resident size, bench/RESULTS.md sixth round).

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_allocates_with_jemalloc_returning_pages_after_a_second() {
    // jemalloc reports where its options came from when asked to (`confirm_conf`).
    let out = assert_cmd::Command::cargo_bin("segmenter").expect("binary").env("MALLOC_CONF", "confirm_conf:true").arg("--version").output().expect("runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours = "<jemalloc>: malloc_conf #2 (string pointed to by the global variable malloc_conf): \"dirty_decay_ms:1000,muzzy_decay_ms:0\"";
    assert!(stderr.lines().any(|l| l == ours), "{stderr}");
    assert!(stderr.lines().any(|l| l == "<jemalloc>: -- Set conf value: dirty_decay_ms:1000"), "{stderr}");
}
