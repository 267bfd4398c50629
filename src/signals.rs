//! SIGINT and SIGTERM stop a run the way a failure does: the running DuckDB query is
//! interrupted, the run's error path rolls back and removes its working copy, the lock is
//! released, and the process exits with 128 + the signal's number (130, 143).
//!
//! Outside a run's critical section (from taking the lock to the publish) there is nothing to
//! clean up, so a signal ends the process at once, as it would without a handler.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

/// The signal received during a run (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Whether a run's critical section is in progress.
static IN_RUN: AtomicBool = AtomicBool::new(false);

/// The run's DuckDB connection, interrupted when a signal arrives.
static HANDLE: Mutex<Option<Arc<duckdb::InterruptHandle>>> = Mutex::new(None);

/// Starts the thread that handles SIGINT and SIGTERM (once, at the start of `main`).
#[cfg(unix)]
pub fn install() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        for sig in signals.forever() {
            // A second signal while the run cleans up ends the process (the user insists).
            if !IN_RUN.load(Ordering::SeqCst) || RECEIVED.swap(sig, Ordering::SeqCst) != 0 {
                std::process::exit(128 + sig);
            }
            if let Some(handle) = HANDLE.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                handle.interrupt();
            }
        }
    });
    // Without the thread signals keep their default action, which ends the process anyway.
    drop(spawned);
}

/// Signals keep their default action where there is no handler thread.
#[cfg(not(unix))]
pub fn install() {}

/// While alive, a signal is recorded (and interrupts the watched connection's query) instead of
/// ending the process; the run stops at its next step and cleans up as on an error.
pub struct RunGuard(());

impl Default for RunGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl RunGuard {
    pub fn new() -> RunGuard {
        IN_RUN.store(true, Ordering::SeqCst);
        RunGuard(())
    }

    /// Interrupt this connection's running query on a signal.
    pub fn watch(&self, handle: Arc<duckdb::InterruptHandle>) {
        *HANDLE.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        *HANDLE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        IN_RUN.store(false, Ordering::SeqCst);
    }
}

/// The signal that stopped the run, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// The signal's name for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
