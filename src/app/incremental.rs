//! Incremental runs. Each source scan stores per-customer aggregates of the source's rows in a
//! state table the output database keeps (`compile::STATE_PREFIX`). A run after an earlier
//! one brings each scan's table up to date instead of computing it again: it recomputes, from
//! all of the source's rows, only the customers whose stored row can have changed, which are
//!
//! - the customers with a row in a file the earlier run did not read, and
//! - the customers with a row, in the files it read, that one of the scan's sets of rows (the
//!   time cut, a window, a filter) takes in or leaves out between the two `as_of`s.
//!
//! Every other customer's aggregates are those of the same rows, so the result equals a full
//! computation. Whatever could break that makes the scan compute in full, with a one-line
//! reason: `--full`, no state, an `as_of` before the state's, a file read before that changed
//! or went away, a changed definition, a stored value that depends on `as_of` itself, the
//! clock or chance in a scan, a source that is not files.

use crate::compile::{affected_table, source_relation_of_files, Plan, Step};
use crate::compile::dialect::{Dialect, DuckDb};
use crate::publish::state::Saved;
use crate::publish::InputFile;
use crate::validate::{Resolved, ResolvedSource};
use std::collections::BTreeMap;

/// How this run computes its scans.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Scans brought up to date from the state.
    pub incremental: Vec<String>,
    /// Why each other scan is computed in full, one line each (one line for all when the reason
    /// is the run's).
    pub full: Vec<String>,
    /// Scans of a source that is a table, always computed in full (no file tells which rows are
    /// new): kept in the manifest, not repeated on stderr every run.
    pub tables: Vec<String>,
    /// The state's `as_of`, when a scan started from it.
    pub from: Option<String>,
}

impl Outcome {
    /// One line for the run summary and the manifest.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(from) = &self.from {
            notes.push(format!("incremental: {} scan(s) brought up to date from the state of {from} ({})", self.incremental.len(), self.incremental.join(", ")));
        }
        notes.extend(self.full.iter().chain(&self.tables).map(|r| format!("full scan: {r}")));
        notes
    }

    fn all_full(reason: &str) -> Outcome {
        Outcome { full: vec![reason.to_string()], ..Outcome::default() }
    }
}

/// What the decision needs besides the plan.
pub struct Inputs<'a> {
    pub resolved: &'a Resolved,
    pub saved: Option<Saved>,
    /// The run's input files, hashed.
    pub files: &'a [InputFile],
    /// The same definitions compiled (staged) at the state's `as_of`, or why they could not be.
    pub at_saved: &'a dyn Fn(&str) -> std::result::Result<Plan, String>,
    /// `--full`.
    pub forced: bool,
}

/// Rewrite the scan steps of `plan` (a staged plan of a run that publishes its result) to bring
/// their tables up to date where that is exact; the others are computed in full.
pub fn prepare(plan: &mut Plan, inputs: Inputs) -> Outcome {
    let Some(saved) = inputs.saved.as_ref().filter(|_| !inputs.forced) else {
        let reason = if inputs.forced { "--full" } else { "no state from an earlier run in this database" };
        return Outcome::all_full(reason);
    };
    if inputs.resolved.as_of < saved.as_of {
        return Outcome::all_full(&format!("as_of {} is before the state's {}", inputs.resolved.as_of, saved.as_of));
    }
    let old = match (inputs.at_saved)(&saved.as_of) {
        Ok(old) => old,
        Err(e) => return Outcome::all_full(&format!("the definitions do not compile at the state's as_of {}: {e}", saved.as_of)),
    };
    let mut outcome = Outcome::default();
    let mut new_files_of = BTreeMap::new();
    // Per source: its scans that can start from the state, and their sets of rows then and now.
    let mut eligible: BTreeMap<String, (Vec<usize>, Vec<(String, String)>)> = BTreeMap::new();
    for (i, step) in plan.steps.iter().enumerate().filter(|(_, s)| s.state.is_some()) {
        let Some(src) = source_of(step, inputs.resolved) else { continue };
        let files = new_files_of.entry(src.name.clone()).or_insert_with(|| files_since(src, saved, inputs.files));
        match files.clone().and_then(|_| check(step, &old, saved)) {
            Ok(conds) => {
                let entry = eligible.entry(src.name.clone()).or_default();
                entry.0.push(i);
                entry.1.extend(conds.into_iter().filter(|pair| pair.0 != pair.1));
            }
            Err(reason) => outcome.full.push(format!("{}: {reason}", step.scan_name())),
        }
    }
    for (source, (steps, moved)) in eligible {
        let Some(src) = inputs.resolved.sources.iter().find(|s| s.name == source) else { continue };
        let new = new_files_of.get(&source).and_then(|f| f.clone().ok()).unwrap_or_default();
        let affected = affected_sql(src, saved, &new, &moved);
        for (n, &i) in steps.iter().enumerate() {
            let step = &mut plan.steps[i];
            match &affected {
                Affected::Customers(sql) => {
                    bring_up_to_date(step, if n == 0 { sql } else { "" });
                    outcome.incremental.push(step.scan_name().to_string());
                }
                Affected::Nobody => {
                    // No new file and no moving set of rows: the stored table is this run's.
                    step.sql = String::new();
                    outcome.incremental.push(step.scan_name().to_string());
                }
                Affected::NotFiles => outcome.tables.push(format!("{}: source '{source}' is not read from files", step.scan_name())),
            }
        }
    }
    if !outcome.incremental.is_empty() {
        outcome.from = Some(saved.as_of.clone());
    }
    outcome
}

/// Make the scan steps of a run that publishes no whole result (a backfill, a selected run)
/// write temporary tables, which shadow the state tables without touching them.
pub fn keep_state(plan: &mut Plan) {
    for step in plan.steps.iter_mut().filter(|s| s.state.is_some()) {
        if let Some(select) = &step.select {
            step.sql = format!("CREATE OR REPLACE TEMP TABLE {} AS\n{select}", DuckDb.ident(&step.target));
        }
    }
}

fn source_of<'a>(step: &Step, resolved: &'a Resolved) -> Option<&'a ResolvedSource> {
    let source = &step.state.as_ref()?.source;
    resolved.sources.iter().find(|s| &s.name == source)
}

/// The files of `src` the state has not read, or why the state cannot be used for it.
fn files_since(src: &ResolvedSource, saved: &Saved, now: &[InputFile]) -> std::result::Result<Vec<String>, String> {
    let now: Vec<&InputFile> = now.iter().filter(|f| f.source == src.name).collect();
    for old in saved.files.iter().filter(|f| f.source == src.name) {
        match now.iter().find(|f| f.path == old.path) {
            None => return Err(format!("{} was read by the run of {} and is gone", old.path, saved.as_of)),
            Some(f) if f.blake3 != old.blake3 => return Err(format!("{} changed since the run of {}", old.path, saved.as_of)),
            Some(_) => {}
        }
    }
    Ok(now.iter().filter(|f| !saved.files.iter().any(|o| o.source == src.name && o.path == f.path)).map(|f| f.path.clone()).collect())
}

/// Whether `step` can start from the state: its SQL at the state's `as_of` is what filled the
/// state, and only its sets of rows move with `as_of`. Its sets of rows, then and now.
fn check(step: &Step, old: &Plan, saved: &Saved) -> std::result::Result<Vec<(String, String)>, String> {
    let Some(now) = &step.state else { return Err("not a source scan".into()) };
    let stored = saved.scans.iter().find(|(scan, _)| *scan == step.target).map(|(_, sql)| sql);
    let Some(stored) = stored else { return Err(format!("no state for it from the run of {}", saved.as_of)) };
    let then = old.steps.iter().find(|s| s.target == step.target);
    let (Some(then), Some(then_state)) = (then, then.and_then(|s| s.state.as_ref())) else {
        return Err("no state for it from the run of the same definitions".into());
    };
    if then.select.as_deref() != Some(stored.as_str()) {
        return Err(format!("its definitions changed since the run of {}", saved.as_of));
    }
    if now.unstable {
        return Err("it calls a function of the clock or of chance (now(), current_date, random(), ...)".into());
    }
    let moves = "a value it stores depends on as_of, not only on which rows it reads";
    if then_state.items != now.items || then_state.conds.len() != now.conds.len() {
        return Err(moves.into());
    }
    // A set of rows can only change where one of its conditions does: comparing those alone
    // finds every customer whose rows move (and a few more), without evaluating the rest.
    let mut moved = Vec::new();
    for (a, b) in then_state.conds.iter().zip(&now.conds) {
        if a.len() != b.len() {
            return Err(moves.into());
        }
        moved.extend(a.iter().zip(b).filter(|(x, y)| x != y).map(|(x, y)| (x.clone(), y.clone())));
    }
    Ok(moved)
}

/// Which customers of a source a run recomputes.
#[derive(Debug, PartialEq)]
enum Affected {
    /// The statement filling the source's table of them.
    Customers(String),
    /// None: no new file, and no set of rows moves.
    Nobody,
    /// Unknown: the source is not read from files.
    NotFiles,
}

/// The customers to recompute: those in `new` files, and those with a row in the files the
/// state read whose membership of a set of rows changes (`moved`: each set's condition then and
/// now, of every scan of the source).
fn affected_sql(src: &ResolvedSource, saved: &Saved, new: &[String], moved: &[(String, String)]) -> Affected {
    let d = DuckDb;
    let key = d.ident(&src.key);
    let read: Vec<String> = saved.files.iter().filter(|f| f.source == src.name).map(|f| f.path.clone()).collect();
    let mut moved: Vec<String> = moved.iter().map(|(a, b)| format!("coalesce(({a}), FALSE) <> coalesce(({b}), FALSE)")).collect();
    moved.sort();
    moved.dedup();
    // A table's rows can change anywhere: no file says which are new (no relation over files).
    let (Some(new_rows), Some(read_rows)) = (source_relation_of_files(src, new), source_relation_of_files(src, &read)) else {
        return Affected::NotFiles;
    };
    let mut parts = Vec::new();
    if !new.is_empty() {
        parts.push(format!("SELECT {key} AS customer_id FROM {new_rows}"));
    }
    if !moved.is_empty() && !read.is_empty() {
        parts.push(format!("SELECT {key} AS customer_id FROM {read_rows}\nWHERE {}", moved.join("\n   OR ")));
    }
    if parts.is_empty() {
        return Affected::Nobody;
    }
    Affected::Customers(format!("CREATE OR REPLACE TEMP TABLE {} AS\n{};\n", d.ident(&affected_table(&src.name)), parts.join("\nUNION\n")))
}

/// The step recomputes the affected customers' rows of its table (after `affected`, which fills
/// the source's table of them, when the step is the source's first).
///
/// The table is written anew (the other customers' rows copied) rather than changed by
/// `DELETE` and `INSERT`: DuckDB keeps the deletion marks of a changed table in memory outside
/// its buffer limit whenever the table is read, which took the features step of a run at 100M
/// orders 150-400 MiB over `memory_limit` (bench/RESULTS.md, sixteenth round).
fn bring_up_to_date(step: &mut Step, affected: &str) {
    let Some(state) = &step.state else { return };
    let d = DuckDb;
    let table = d.ident(&step.target);
    let customers = d.ident(&affected_table(&state.source));
    step.sql = format!(
        "{affected}CREATE OR REPLACE TABLE {table} AS\n\
         SELECT kept.* FROM {table} AS kept\n\
         WHERE NOT EXISTS (SELECT 1 FROM {customers} AS a WHERE a.customer_id = kept.customer_id)\n\
         UNION ALL\n{}",
        state.restricted
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::model::SourceFormat;

    fn source(format: SourceFormat) -> ResolvedSource {
        ResolvedSource {
            name: "orders".into(),
            path: "data/orders/*.csv".into(),
            format,
            key: "customer_id".into(),
            time: Some("ordered_at".into()),
            rename: Vec::new(),
            types: Vec::new(),
            csv: None,
            database: None,
            absent: Vec::new(),
        }
    }

    fn saved() -> Saved {
        let file = |path: &str| InputFile { source: "orders".into(), path: path.into(), bytes: 10, blake3: format!("hash of {path}") };
        Saved { as_of: "2026-06-01".into(), scans: Vec::new(), files: vec![file("data/orders/1.csv"), file("data/orders/2.csv")] }
    }

    /// The customers of new files, and those of the files read before whose rows a moving
    /// condition takes in or leaves out; a table source has no files to tell.
    #[test]
    fn affected_customers_come_from_new_files_and_moved_rows() {
        let moved = [("ordered_at < DATE '2026-06-02'".to_string(), "ordered_at < DATE '2026-06-03'".to_string())];
        let sql = affected_sql(&source(SourceFormat::Csv), &saved(), &["data/orders/3.csv".into()], &moved);
        assert_eq!(
            sql,
            Affected::Customers(
            "CREATE OR REPLACE TEMP TABLE \"__segmenter_affected__orders\" AS\n\
             SELECT \"customer_id\" AS customer_id FROM (SELECT * FROM read_csv(['data/orders/3.csv']))\n\
             UNION\n\
             SELECT \"customer_id\" AS customer_id FROM (SELECT * FROM read_csv(['data/orders/1.csv', 'data/orders/2.csv']))\n\
             WHERE coalesce((ordered_at < DATE '2026-06-02'), FALSE) <> coalesce((ordered_at < DATE '2026-06-03'), FALSE);\n"
                    .to_string()
            )
        );
        // No new file and no moving set: nobody, and the stored table stays as it is.
        assert_eq!(affected_sql(&source(SourceFormat::Csv), &saved(), &[], &[]), Affected::Nobody);
        assert_eq!(affected_sql(&source(SourceFormat::Table), &saved(), &[], &moved), Affected::NotFiles);
        assert_eq!(affected_sql(&source(SourceFormat::Postgres), &saved(), &[], &moved), Affected::NotFiles);
    }

    /// A file read before that changed or went away makes its source's scans full.
    #[test]
    fn a_changed_or_missing_file_stops_the_increment() {
        let now = |hash2: &str| {
            vec![
                InputFile { source: "orders".into(), path: "data/orders/1.csv".into(), bytes: 10, blake3: "hash of data/orders/1.csv".into() },
                InputFile { source: "orders".into(), path: "data/orders/2.csv".into(), bytes: 10, blake3: hash2.into() },
                InputFile { source: "orders".into(), path: "data/orders/3.csv".into(), bytes: 10, blake3: "x".into() },
            ]
        };
        let src = source(SourceFormat::Csv);
        assert_eq!(files_since(&src, &saved(), &now("hash of data/orders/2.csv")), Ok(vec!["data/orders/3.csv".to_string()]));
        assert_eq!(files_since(&src, &saved(), &now("other")), Err("data/orders/2.csv changed since the run of 2026-06-01".to_string()));
        assert_eq!(files_since(&src, &saved(), &now("x")[..1]), Err("data/orders/2.csv was read by the run of 2026-06-01 and is gone".to_string()));
    }
}
