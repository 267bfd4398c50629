//! What a DuckDB session may touch outside its database: only the project's declared data,
//! its output folder and DuckDB's spill folder.
//!
//! Definitions are text from a repository (pull requests included), so the session that runs
//! them is locked down once opened: no file outside the allowed folders can be read or written,
//! no extension is installed or loaded on demand, and the configuration is locked so no later
//! statement can lift any of it. Rules are also refused early by `validate::guard`; this is
//! the engine's own guarantee behind that check.

use crate::project::{resolve, Project};
use duckdb::Connection;
use std::path::{Path, PathBuf};

/// The files a session may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Only inside these folders (and nothing at all for an empty list).
    Within(Vec<PathBuf>),
    /// Anything the process may: only for sessions that run no definition text (`generate`).
    Unrestricted,
}

impl Default for Access {
    fn default() -> Self {
        Access::Within(Vec::new())
    }
}

impl Access {
    /// The project's source folders (a glob's folder before its first wildcard), the output
    /// database's folder and the exports folder.
    pub fn project(project: &Project) -> Access {
        let root = &project.root;
        let files = project.config.sources.values().filter(|s| s.read_format() != crate::project::model::SourceFormat::Postgres);
        let mut dirs: Vec<PathBuf> = files.map(|s| data_dir(&resolve(root, &s.path))).collect();
        let db = resolve(root, &project.config.output.database);
        dirs.extend(db.parent().map(Path::to_path_buf));
        dirs.push(resolve(root, &project.config.output.exports_dir));
        Access::Within(dirs)
    }
}

/// The folder holding a source path: its parent, or for a glob the folder before the wildcard.
fn data_dir(path: &Path) -> PathBuf {
    let mut dir = PathBuf::new();
    for part in path.iter() {
        if part.to_string_lossy().contains(['*', '?', '[']) {
            return dir;
        }
        dir.push(part);
    }
    dir.parent().map(Path::to_path_buf).unwrap_or(dir)
}

/// An absolute, normalized form of `dir` (as DuckDB compares paths), even if it does not exist yet.
fn absolute(dir: &Path) -> PathBuf {
    let base = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::canonicalize(base).unwrap_or_else(|_| std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf()))
}

/// Applies `access` to a freshly opened session; after this no setting can change.
pub fn lock_down(conn: &Connection, access: &Access, quote: impl Fn(&str) -> String) -> Result<(), String> {
    let Access::Within(dirs) = access else { return Ok(()) };
    let mut list: Vec<String> = Vec::new();
    for dir in dirs {
        let abs = absolute(dir);
        // DuckDB matches a folder as a prefix ending in a separator.
        let mut text = abs.to_string_lossy().replace('\\', "/");
        if !text.ends_with('/') {
            text.push('/');
        }
        if !list.contains(&text) {
            list.push(text);
        }
    }
    let dirs_sql = list.iter().map(|d| quote(d)).collect::<Vec<_>>().join(", ");
    let statements = [
        "SET autoinstall_known_extensions = false".to_string(),
        "SET autoload_known_extensions = false".to_string(),
        format!("SET allowed_directories = [{dirs_sql}]"),
        "SET enable_external_access = false".to_string(),
        "SET lock_configuration = true".to_string(),
    ];
    for sql in statements {
        conn.execute_batch(&sql).map_err(|e| super::first_line(&e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_allows_the_folder_before_its_wildcard() {
        assert_eq!(data_dir(Path::new("p/data/orders/*.parquet")), PathBuf::from("p/data/orders"));
        assert_eq!(data_dir(Path::new("p/data/2026-*/orders.csv")), PathBuf::from("p/data"));
        assert_eq!(data_dir(Path::new("p/sample-data/orders.parquet")), PathBuf::from("p/sample-data"));
    }
}
