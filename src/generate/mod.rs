//! The deterministic synthetic data generator behind `segmenter generate` and the committed
//! `sample-data/`.
//!
//! Each table is one DuckDB SELECT (in `sql/`, reading earlier tables as `gen_<table>` views) whose randomness comes from `hash(seed, row,
//! salt)`, never from `random()`, and which ends in an ORDER BY on a unique key; with one
//! thread the same seed gives byte-identical files. The selects are streamed by `COPY`, so
//! memory stays bounded at any scale.

use crate::compile::dialect::{CopyFormat, Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::execute::{first_line, open, EngineSettings};
use std::collections::BTreeMap;
use std::path::Path;

/// Parameters of a generated data set.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub seed: u64,
    pub customers: u64,
    /// Last day of the history, `YYYY-MM-DD` (already validated).
    pub as_of: String,
    /// Multiplies repeat buyers' order counts: 1.0 gives about 4.5 orders per customer (the
    /// sample), [`SCALE_FREQUENCY`] about 10.
    pub frequency: f64,
    /// Write every table as Parquet (for large scales) instead of the sample's CSV/Parquet mix.
    pub all_parquet: bool,
    /// DuckDB memory limit while generating, e.g. `4GB`.
    pub memory_limit: String,
    /// DuckDB threads; 1 keeps the files byte-identical for a seed.
    pub threads: u32,
}

/// `frequency` that gives about 10 orders per customer (`generate --orders N`).
pub const SCALE_FREQUENCY: f64 = 2.7;

/// How a table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
}

/// (table, file format, SELECT) for every generated table, in writing order.
pub const TABLES: &[(&str, FileFormat, &str)] = &[
    ("customers", FileFormat::Csv, include_str!("sql/customers.sql")),
    ("orders", FileFormat::Parquet, include_str!("sql/orders.sql")),
    ("order_items", FileFormat::Parquet, include_str!("sql/order_items.sql")),
    ("sessions", FileFormat::Parquet, include_str!("sql/sessions.sql")),
    ("carts", FileFormat::Csv, include_str!("sql/carts.sql")),
    ("campaign_events", FileFormat::Csv, include_str!("sql/campaign_events.sql")),
    ("consent", FileFormat::Csv, include_str!("sql/consent.sql")),
    ("survey", FileFormat::Csv, include_str!("sql/survey.sql")),
];

/// File name of a generated table.
pub fn file_name(table: &str, format: FileFormat) -> String {
    match format {
        FileFormat::Csv => format!("{table}.csv"),
        FileFormat::Parquet => format!("{table}.parquet"),
    }
}

/// Write every table into `out_dir`; returns rows written per file name. `progress` is called
/// before each table with (index, number of tables, file name).
pub fn generate(out_dir: &Path, opts: &GenerateOptions, progress: &mut dyn FnMut(usize, usize, &str)) -> Result<BTreeMap<String, i64>> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::Io { context: format!("creating {}", out_dir.display()), source: e })?;
    // One thread keeps the output byte-identical (more threads: same rows, same order, but the
    // Parquet row groups may be cut differently); the memory limit makes the big ORDER BYs
    // (order lines, sessions) spill to a temporary folder instead of growing with the data.
    let conn = open(None, &EngineSettings { threads: Some(opts.threads.max(1)), memory_limit: Some(opts.memory_limit.clone()), access: crate::execute::Access::Unrestricted, ..Default::default() })?;
    let d = DuckDb;
    let spill = out_dir.join(".generate-tmp");
    conn.execute_batch(&format!("SET temp_directory = {}", d.string(&spill.to_string_lossy())))
        .map_err(|e| Error::Step { step: "generate settings".into(), message: first_line(&e.to_string()) })?;
    let step = |what: &str, e: duckdb::Error| Error::Step { step: format!("generate {what}"), message: first_line(&e.to_string()) };
    conn.execute_batch(&format!(
        "SET preserve_insertion_order = true; SET VARIABLE seed = {}; SET VARIABLE customers = {}; SET VARIABLE as_of = {}; SET VARIABLE frequency = {};",
        opts.seed,
        opts.customers,
        d.date(&opts.as_of),
        d.cast(&opts.frequency.to_string(), "DOUBLE")
    ))
    .map_err(|e| step("settings", e))?;
    let mut counts = BTreeMap::new();
    for (i, (table, format, select)) in TABLES.iter().enumerate() {
        let format = if opts.all_parquet { &FileFormat::Parquet } else { format };
        let name = file_name(table, *format);
        progress(i, TABLES.len(), &name);
        let final_path = out_dir.join(&name);
        // Write to a temporary name and rename, so a failure never leaves half a file.
        let tmp_path = out_dir.join(format!(".{name}.tmp"));
        let copy_format = match format {
            FileFormat::Csv => CopyFormat::Csv,
            FileFormat::Parquet => CopyFormat::ParquetZstd { row_group_size: 122_880 },
        };
        let path_sql = d.string(&tmp_path.to_string_lossy());
        let select = select.trim().trim_end_matches(';');
        // Later tables read earlier ones through these (lazy) views, e.g. orders from gen_customers.
        conn.execute_batch(&format!("CREATE TEMP VIEW gen_{table} AS {select};")).map_err(|e| step(table, e))?;
        conn.execute_batch(&d.copy_to(&format!("FROM gen_{table}"), &tmp_path.to_string_lossy(), copy_format)?).map_err(|e| step(table, e))?;
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {}", reader(*format, &path_sql)), [], |r| r.get(0))
            .map_err(|e| step(table, e))?;
        std::fs::rename(&tmp_path, &final_path).map_err(|e| Error::Io { context: format!("writing {}", final_path.display()), source: e })?;
        if *format == FileFormat::Parquet {
            // Later tables read the written file instead of computing (and sorting) this table
            // again: the same rows in the same order, since Parquet keeps the types exactly.
            let written = d.string(&final_path.to_string_lossy());
            conn.execute_batch(&format!("CREATE OR REPLACE TEMP VIEW gen_{table} AS FROM read_parquet({written});")).map_err(|e| step(table, e))?;
        }
        counts.insert(name, rows);
    }
    let _ = std::fs::remove_dir_all(&spill);
    Ok(counts)
}

fn reader(format: FileFormat, path_sql: &str) -> String {
    match format {
        FileFormat::Csv => format!("read_csv({path_sql})"),
        FileFormat::Parquet => format!("read_parquet({path_sql})"),
    }
}
