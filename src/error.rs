//! Library error type; the binary maps each variant to an exit code.

use crate::diagnostics::Diagnostic;

/// Exit codes: 0 ok, 1 tests failed, 2 definition or usage error, 3 data or runtime error,
/// 128 + N when signal N stopped a run (130 SIGINT, 143 SIGTERM).
pub mod exit {
    pub const OK: i32 = 0;
    pub const TESTS_FAILED: i32 = 1;
    pub const DEFINITION: i32 = 2;
    pub const RUNTIME: i32 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems in what the user wrote; each diagnostic says where.
    #[error("{} error(s) in the project definitions", .0.iter().filter(|d| d.is_error()).count())]
    Definitions(Vec<Diagnostic>),
    /// DuckDB failed while running a step of the plan.
    #[error("step '{step}' failed in DuckDB: {message}{}", hint(.message))]
    Step { step: String, message: String },
    /// Spark failed while running a step of a Spark run.
    #[error("step '{step}' failed in Spark: {message}")]
    Spark { step: String, message: String },
    /// The output database could not be opened or written.
    #[error("output database {path}: {message}{}", hint(.message))]
    Database { path: String, message: String },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// Another run holds the output database's lock.
    /// `holder` is "pid 4242, started 2026-06-30T01:00:00.000Z" (or "pid unknown" while that run
    /// is still writing its lock file).
    #[error("another segmenter run is writing {database} ({holder}); wait for it to finish")]
    Locked { database: String, holder: String },
    /// Data-quality gates blocked publishing; nothing was changed.
    #[error("data-quality gates blocked the publish (nothing changed; rerun with --force to publish anyway):\n  {}", .0.join("\n  "))]
    Gates(Vec<String>),
    /// The data cannot be used as declared (a value that does not convert to its column's type).
    #[error("{0}")]
    Data(String),
    /// Bad command-line usage the parser could not catch.
    #[error("{0}")]
    Usage(String),
    /// SIGINT or SIGTERM stopped a run; it rolled back like a failed one.
    #[error("stopped by {}: nothing was published (the run is recorded as failed)", crate::signals::name(*.signal))]
    Interrupted { signal: i32 },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Definitions(_) | Error::Usage(_) => exit::DEFINITION,
            Error::Gates(_) => exit::TESTS_FAILED,
            Error::Step { .. } | Error::Spark { .. } | Error::Database { .. } | Error::Io { .. } | Error::Locked { .. } | Error::Data(_) => exit::RUNTIME,
            Error::Interrupted { signal } => 128 + signal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to do about a DuckDB message the user can act on (empty for the others).
fn hint(message: &str) -> String {
    if message.starts_with("Out of Memory Error") {
        format!(
            "\n  hint: the work needs more memory than DuckDB may use ({}% of the memory limit): raise \
             settings.memory_limit or --memory-limit, or lower threads (each thread holds its own buffers)",
            crate::execute::BUFFER_SHARE
        )
    } else {
        String::new()
    }
}
