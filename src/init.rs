//! `segmenter init DIR`: a fresh, runnable starter project from templates embedded in the binary.

use crate::error::{Error, Result};
use std::path::Path;

/// (relative path, contents) of every starter file: the project in `starter/` (customers and
/// orders, value bands with a fixture test, RFM, a ladder with assertions), which the test suite
/// runs and tests.
pub const STARTER_FILES: &[(&str, &str)] = &[
    ("segmenter.yaml", include_str!("../starter/segmenter.yaml")),
    ("segments/features.yaml", include_str!("../starter/segments/features.yaml")),
    ("segments/value.yaml", include_str!("../starter/segments/value.yaml")),
    ("segments/rfm.yaml", include_str!("../starter/segments/rfm.yaml")),
    ("segments/tiers.yaml", include_str!("../starter/segments/tiers.yaml")),
    ("data/customers.csv", include_str!("../starter/data/customers.csv")),
    ("data/orders.csv", include_str!("../starter/data/orders.csv")),
    (".gitignore", include_str!("../starter/.gitignore")),
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
    // The JSON Schemas the files' modelines point at, for editor autocomplete.
    let schemas: Vec<(String, String)> =
        crate::project::schema::FILES.iter().map(|(name, make)| (format!("schema/{name}"), make())).collect();
    let files = STARTER_FILES.iter().map(|(rel, text)| (rel.to_string(), text.to_string())).chain(schemas);
    for (rel, text) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io { context: format!("creating {}", parent.display()), source: e })?;
        }
        if path.exists() {
            continue;
        }
        std::fs::write(&path, text).map_err(|e| Error::Io { context: format!("writing {}", path.display()), source: e })?;
        written.push(rel);
    }
    Ok(written)
}
