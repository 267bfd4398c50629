//! The `segmenter` binary: parse arguments, run the command, exit with its code.

use clap::Parser;

/// jemalloc is the whole process's allocator, DuckDB's C++ included (the unprefixed build makes it
/// the process's `malloc`), as in DuckDB's own Linux builds. With glibc's malloc, freed 256 KiB
/// buffer blocks stayed in its arenas and a 100M-order run peaked at 4.5 GiB under a 4 GB
/// `memory_limit` (bench/RESULTS.md, sixth round).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: return freed pages to the system after a second
/// (default 10 s) so that memory one step freed is not still resident while the next one
/// allocates. `MALLOC_CONF` in the environment still overrides them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static malloc_conf: Option<&'static u8> = Some(&MALLOC_CONF[0]);

#[cfg(all(target_os = "linux", target_env = "gnu"))]
static MALLOC_CONF: &[u8] = b"dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() {
    // Like other Unix tools, stop quietly when the reader of our output goes away
    // (`segmenter compile | head -1`) instead of panicking in `println!` (Rust ignores SIGPIPE).
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    segmenter::signals::install();
    let cli = segmenter::cli::Cli::parse();
    std::process::exit(segmenter::app::main_with(cli));
}
