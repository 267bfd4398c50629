//! `segmenter init DIR`: a fresh, runnable starter project from templates embedded in the binary.

use crate::error::{Error, Result};
use std::path::Path;

/// (relative path, contents) of every starter file. The starter is the hand-checked tiny
/// project the test suite verifies (tests/fixtures/tiny), so it is known to run.
pub const STARTER_FILES: &[(&str, &str)] = &[
    ("segmenter.yaml", include_str!("../tests/fixtures/tiny/segmenter.yaml")),
    ("segments/features.yaml", include_str!("../tests/fixtures/tiny/segments/features.yaml")),
    ("segments/segments.yaml", include_str!("../tests/fixtures/tiny/segments/segments.yaml")),
    ("segments/tiers.yaml", include_str!("../tests/fixtures/tiny/segments/tiers.yaml")),
    ("data/customers.csv", include_str!("../tests/fixtures/tiny/data/customers.csv")),
    ("data/orders.csv", include_str!("../tests/fixtures/tiny/data/orders.csv")),
    ("data/sessions.csv", include_str!("../tests/fixtures/tiny/data/sessions.csv")),
];

/// Write the starter project into `dir`; refuses to overwrite an existing project file.
pub fn init_project(dir: &Path) -> Result<Vec<String>> {
    if dir.join(crate::project::PROJECT_FILE).exists() {
        return Err(Error::Usage(format!(
            "{} already has a {}; choose an empty folder",
            dir.display(),
            crate::project::PROJECT_FILE
        )));
    }
    let mut written = Vec::new();
    for (rel, text) in STARTER_FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io { context: format!("creating {}", parent.display()), source: e })?;
        }
        if path.exists() {
            continue;
        }
        std::fs::write(&path, text).map_err(|e| Error::Io { context: format!("writing {}", path.display()), source: e })?;
        written.push(rel.to_string());
    }
    Ok(written)
}
