//! The database file a run writes: a copy of the published one, renamed over it when the run
//! commits.
//!
//! A run never writes the published file in place. DuckDB recovers from most crashes through
//! its WAL, but a process killed at the wrong moment of a checkpoint can leave a file whose
//! blocks fail their checksums (seen in CI: `Corrupt database file: computed checksum ... does
//! not match stored checksum`). With a copy, a killed run leaves the published file byte for
//! byte as it was (a failed one publishes only its `runs` row), and readers that have it open
//! keep reading the old one until they reopen (an open reader no longer blocks a run either).
//! The copy is cheap next to a run (0.12 s for the 366 MB database of the 10M-orders benchmark)
//! but needs free disk space for a second database, and grows with the history.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// `<database>.next` (and its `.wal` and `.tmp` siblings) while a run writes it.
pub struct WorkingCopy {
    live: PathBuf,
    next: PathBuf,
    /// The database as the user configured it, for error messages.
    display: String,
    published: bool,
    /// A read-only DuckDB session on the published file from the copy to the rename: its
    /// shared lock lets readers in but keeps other programs from writing what the rename
    /// would throw away.
    hold: Option<duckdb::Connection>,
}

impl std::fmt::Debug for WorkingCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkingCopy").field("live", &self.live).field("next", &self.next).field("published", &self.published).finish()
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

impl WorkingCopy {
    /// The working copy of `db`: `<db>.next`.
    pub fn path_for(db: &Path) -> PathBuf {
        sibling(db, ".next")
    }

    /// Remove what a killed run left (`<db>.next`, its WAL and its spill folder), then copy the
    /// published database to `<db>.next`. Call with the run lock held.
    ///
    /// A WAL next to the published file (left by another program that wrote to it and died)
    /// is first folded into it by DuckDB's own recovery, so the copy has everything and no old
    /// WAL can replay over the file this run publishes.
    ///
    /// From the copy until [`WorkingCopy::publish`] the published file is held open read-only:
    /// other programs can read it but not write it (their writes would be lost with the old
    /// file). One that is writing it when the run starts makes the run fail, naming it.
    /// DuckDB errors name the database as `display`, as [`crate::publish::RunLock::acquire`] does.
    pub fn create(db: &Path, display: &str) -> Result<WorkingCopy> {
        // A database reached through a symlink is replaced where it really is (the rename
        // would otherwise turn the link into a file and leave its target stale).
        let db = &std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
        let mut copy = WorkingCopy { live: db.to_path_buf(), next: Self::path_for(db), display: display.to_string(), published: false, hold: None };
        copy.remove_files();
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        }
        if !db.exists() {
            return Ok(copy);
        }
        if sibling(db, ".wal").exists() {
            let conn = duckdb::Connection::open(db).map_err(|e| copy.db_err(e))?;
            conn.execute_batch("CHECKPOINT").map_err(|e| copy.db_err(e))?;
            conn.close().map_err(|(_, e)| copy.db_err(e))?;
        }
        // Copy first, then hold: closing any other handle on the file (the copy's) would drop
        // the hold's POSIX lock. A write in between shows in the file's size or time.
        let before = stamp(db);
        std::fs::copy(db, &copy.next).map_err(io(format!("copying {} to {}", db.display(), copy.next.display())))?;
        copy.hold = Some(crate::execute::open_read_only(db).map_err(|e| copy.named(e))?);
        if stamp(db) != before || sibling(db, ".wal").exists() {
            return Err(Error::Io {
                context: format!("copying {}", db.display()),
                source: std::io::Error::other("another program wrote to the database while it was copied; run again when it is done"),
            });
        }
        Ok(copy)
    }

    /// The file a run writes.
    pub fn path(&self) -> &Path {
        &self.next
    }

    /// Open the copy with the run's engine settings.
    pub fn open(&self, settings: &crate::execute::EngineSettings) -> Result<duckdb::Connection> {
        crate::execute::open(Some(&self.next), settings).map_err(|e| self.named(e))
    }

    /// A DuckDB error on the published file or the copy, named as the user knows the database.
    fn named(&self, e: Error) -> Error {
        match e {
            // The copy's path contains the published one's: replace it first.
            Error::Database { message, .. } => Error::Database {
                path: self.display.clone(),
                message: message.replace(&self.next.display().to_string(), &self.display).replace(&self.live.display().to_string(), &self.display),
            },
            e => e,
        }
    }

    fn db_err(&self, e: duckdb::Error) -> Error {
        self.named(Error::Database { path: String::new(), message: crate::execute::first_line(&e.to_string()) })
    }

    /// Make the copy the published database: checkpoint it (everything into the main file),
    /// close it, flush it to disk and rename it over the published one.
    pub fn publish(mut self, conn: duckdb::Connection) -> Result<()> {
        conn.execute_batch("CHECKPOINT").map_err(|e| self.db_err(e))?;
        conn.close().map_err(|(_, e)| self.db_err(e))?;
        let wal = sibling(&self.next, ".wal");
        if wal.exists() {
            return Err(Error::Io {
                context: format!("publishing {}", self.next.display()),
                source: std::io::Error::other(format!("{} is still there after the checkpoint", wal.display())),
            });
        }
        let file = std::fs::File::open(&self.next).map_err(io(format!("opening {}", self.next.display())))?;
        file.sync_all().map_err(io(format!("flushing {}", self.next.display())))?;
        std::fs::rename(&self.next, &self.live).map_err(io(format!("renaming {} to {}", self.next.display(), self.live.display())))?;
        self.published = true;
        self.hold = None;
        // The rename itself reaches the disk with its folder.
        if let Some(dir) = self.live.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    /// For a run that did not succeed: add its `runs` row (`insert`) and publish the copy,
    /// which differs from the published file only by that row. Best effort: if either fails,
    /// the published file stays as it is and the run's own error is what gets reported.
    pub fn publish_record(self, conn: duckdb::Connection, insert: &str) {
        if conn.execute_batch(insert).is_ok() {
            let _ = self.publish(conn);
        }
    }

    fn remove_files(&self) {
        let _ = std::fs::remove_file(&self.next);
        let _ = std::fs::remove_file(sibling(&self.next, ".wal"));
        let _ = std::fs::remove_dir_all(sibling(&self.next, ".tmp"));
    }
}

/// Size and modification time of a file, to notice a write.
fn stamp(path: &Path) -> Option<(u64, std::time::SystemTime)> {
    std::fs::metadata(path).ok().and_then(|m| Some((m.len(), m.modified().ok()?)))
}

impl Drop for WorkingCopy {
    /// A run that did not publish leaves nothing behind.
    fn drop(&mut self) {
        if !self.published {
            self.remove_files();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(db: &Path) -> i64 {
        let conn = duckdb::Connection::open(db).expect("open");
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn a_copy_is_published_by_rename_and_discarded_when_dropped() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("out/x.duckdb");
        // First run: nothing published yet.
        let copy = WorkingCopy::create(&db, "x.duckdb").expect("create");
        assert_eq!(copy.path(), dir.path().join("out/x.duckdb.next"));
        let conn = duckdb::Connection::open(copy.path()).expect("open");
        conn.execute_batch("CREATE TABLE t AS SELECT * FROM range(3)").expect("write");
        assert!(!db.exists(), "nothing is published before the commit");
        copy.publish(conn).expect("publish");
        assert_eq!(count(&db), 3);
        assert!(!WorkingCopy::path_for(&db).exists());
        // A run that stops before publishing leaves the published file and no copy.
        let copy = WorkingCopy::create(&db, "x.duckdb").expect("create");
        let conn = duckdb::Connection::open(copy.path()).expect("open");
        conn.execute_batch("INSERT INTO t SELECT * FROM range(10)").expect("write");
        drop(conn);
        drop(copy);
        assert_eq!(count(&db), 3);
        assert_eq!(std::fs::read_dir(dir.path().join("out")).expect("ls").count(), 1, "only x.duckdb is left");
    }

    #[cfg(unix)]
    #[test]
    fn a_database_behind_a_symlink_is_replaced_where_it_is() {
        let dir = tempfile::tempdir().expect("tmp");
        let real = dir.path().join("data/x.duckdb");
        let first = WorkingCopy::create(&real, "x.duckdb").expect("create");
        let conn = duckdb::Connection::open(first.path()).expect("open");
        conn.execute_batch("CREATE TABLE t AS SELECT * FROM range(3)").expect("write");
        first.publish(conn).expect("publish");
        let link = dir.path().join("x.duckdb");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let copy = WorkingCopy::create(&link, "x.duckdb").expect("create");
        let conn = duckdb::Connection::open(copy.path()).expect("open");
        conn.execute_batch("INSERT INTO t SELECT * FROM range(2)").expect("write");
        copy.publish(conn).expect("publish");
        assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "the link is still a link");
        assert_eq!(count(&real), 5);
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed_and_a_wal_is_folded_in_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.duckdb");
        // A database whose last writer died: its main file plus a WAL with one more commit.
        let writer_dir = tempfile::tempdir().expect("tmp");
        let w = writer_dir.path().join("x.duckdb");
        let conn = duckdb::Connection::open(&w).expect("open");
        conn.execute_batch("SET checkpoint_threshold = '1GB'; CREATE TABLE t AS SELECT * FROM range(3); CHECKPOINT; INSERT INTO t SELECT * FROM range(4)").expect("write");
        std::fs::copy(&w, &db).expect("copy");
        std::fs::copy(writer_dir.path().join("x.duckdb.wal"), dir.path().join("x.duckdb.wal")).expect("copy wal");
        drop(conn);
        // What a run killed mid-way left.
        std::fs::write(dir.path().join("x.duckdb.next"), "half a database").expect("write");
        std::fs::write(dir.path().join("x.duckdb.next.wal"), "half a wal").expect("write");
        std::fs::create_dir(dir.path().join("x.duckdb.next.tmp")).expect("mkdir");
        let copy = WorkingCopy::create(&db, "x.duckdb").expect("create");
        assert!(!dir.path().join("x.duckdb.wal").exists(), "the WAL was folded into the published file");
        assert!(!dir.path().join("x.duckdb.next.wal").exists() && !dir.path().join("x.duckdb.next.tmp").exists());
        assert_eq!(count(copy.path()), 7, "the copy has the rows of the WAL too");
    }
}
