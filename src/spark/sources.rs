//! The sources of a Spark run: each one a temporary view, read by Spark itself (a CSV, Parquet
//! or JSON path, or a table of the catalog), renamed and cast as declared, under the name the
//! plan reads (`SparkSql::source_view`).

use super::session::{step_error, Spark};
use crate::error::{Error, Result};
use crate::project::model::{CsvOptions, SourceFormat};
use crate::validate::{Resolved, ResolvedSource};
use spark_connect::{col, DataFrame};

/// Register every source of the model as the temporary view its plan reads.
pub fn register(spark: &Spark, model: &Resolved) -> Result<()> {
    let d = crate::compile::dialect::SparkSql::PARQUET;
    for (src, plan) in model.sources.iter().zip(crate::compile::spark_sources(model)) {
        let step = format!("read source '{}'", src.name);
        let mut df = read(spark, src).map_err(|e| match e {
            Error::Spark { message, .. } => Error::Spark { step: step.clone(), message },
            other => other,
        })?;
        if !src.rename.is_empty() {
            df = df.with_columns_renamed(src.rename.clone());
        }
        for (column, ty) in &src.types {
            df = df.with_column(column, col(column).cast_str(&crate::compile::dialect::Dialect::type_name(&d, ty)));
        }
        // A Spark run does not describe the sources beforehand: the columns the library reads
        // that the data lacks are found here.
        let columns = df.columns().map_err(|e| step_error(&step, &e))?;
        let absent = crate::validate::LIBRARY_COLUMN_DEFAULTS.iter().filter(|(s, c, _)| *s == src.name && !columns.iter().any(|have| have == c));
        for (_, column, value) in absent {
            df = df.with_column(column, spark_connect::column::lit_boolean(*value));
        }
        df.create_or_replace_temp_view(&plan.view).map_err(|e| step_error(&step, &e))?;
    }
    Ok(())
}

fn read(spark: &Spark, src: &ResolvedSource) -> Result<DataFrame> {
    let reader = spark.session().read();
    let path = server_path(&src.path);
    Ok(match src.format {
        SourceFormat::Table => spark.session().table(&src.path).map_err(|e| step_error("read", &e))?,
        SourceFormat::Postgres => {
            return Err(Error::Usage(format!(
                "source '{}' is a PostgreSQL table, which DuckDB runs read: a Spark run reads files or Spark tables",
                src.name
            )))
        }
        SourceFormat::Parquet => reader.parquet(&path),
        SourceFormat::Json => reader.json(&path),
        SourceFormat::Csv => {
            let mut reader = reader.option("inferSchema", "true");
            for (key, value) in csv_options(&src.name, src.csv.as_ref())? {
                reader = reader.option(key, &value);
            }
            reader.csv(&path)
        }
    })
}

/// A local path made absolute (the server resolves relative paths against its own folder);
/// a URL (`s3a://`, `hdfs://`, `file:/`) as written.
fn server_path(path: &str) -> String {
    if path.contains(":/") {
        return path.to_string();
    }
    std::path::absolute(path).map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| path.to_string())
}

/// Spark's CSV reader options for a source's declared CSV dialect (a header by default, as
/// DuckDB detects one).
pub fn csv_options(source: &str, csv: Option<&CsvOptions>) -> Result<Vec<(&'static str, String)>> {
    let default = CsvOptions::default();
    let csv = csv.unwrap_or(&default);
    let mut out = vec![("header", csv.header.unwrap_or(true).to_string())];
    let texts = [("sep", &csv.delim), ("quote", &csv.quote), ("escape", &csv.escape), ("encoding", &csv.encoding), ("nullValue", &csv.nullstr)];
    out.extend(texts.into_iter().filter_map(|(key, v)| v.clone().map(|v| (key, v))));
    let unsupported = |option: &str, why: &str| {
        Error::Usage(format!("source '{source}': the CSV option {option} {why} on Spark; convert the file (or read it with --engine duckdb)"))
    };
    for (key, format) in [("dateFormat", &csv.dateformat), ("timestampFormat", &csv.timestampformat)] {
        if let Some(f) = format {
            out.push((key, java_pattern(f).map_err(|code| unsupported(&format!("'{f}'"), &format!("uses {code}, which has no Spark pattern")))?));
        }
    }
    if csv.decimal_separator.as_deref().is_some_and(|s| s != ".") {
        return Err(unsupported("decimal_separator", "cannot be read"));
    }
    Ok(out)
}

/// A strptime format (`%d/%m/%Y`) as a Java date pattern (`dd/MM/yyyy`); the `%` code that has
/// none as the error.
pub fn java_pattern(strptime: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = strptime.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            if c.is_ascii_alphabetic() {
                out.push_str(&format!("'{c}'"));
            } else if c == '\'' {
                out.push_str("''");
            } else {
                out.push(c);
            }
            continue;
        }
        let code = chars.next().unwrap_or(' ');
        out.push_str(match code {
            'Y' => "yyyy",
            'y' => "yy",
            'm' => "MM",
            'd' => "dd",
            'H' => "HH",
            'M' => "mm",
            'S' => "ss",
            'f' => "SSSSSS",
            'b' => "MMM",
            'B' => "MMMM",
            '%' => "%",
            _ => return Err(format!("%{code}")),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strptime_formats_become_java_patterns() {
        assert_eq!(java_pattern("%d/%m/%Y").as_deref(), Ok("dd/MM/yyyy"));
        assert_eq!(java_pattern("%Y-%m-%dT%H:%M:%S.%f").as_deref(), Ok("yyyy-MM-dd'T'HH:mm:ss.SSSSSS"));
        assert_eq!(java_pattern("%d %b %y").as_deref(), Ok("dd MMM yy"));
        assert_eq!(java_pattern("%j"), Err("%j".to_string()));
    }

    #[test]
    fn csv_options_default_to_a_header_and_refuse_a_decimal_comma() {
        assert_eq!(csv_options("orders", None).unwrap(), vec![("header", "true".to_string())]);
        let semicolons = CsvOptions { delim: Some(";".into()), header: Some(false), nullstr: Some("NA".into()), ..Default::default() };
        assert_eq!(
            csv_options("orders", Some(&semicolons)).unwrap(),
            vec![("header", "false".to_string()), ("sep", ";".to_string()), ("nullValue", "NA".to_string())]
        );
        let comma = CsvOptions { decimal_separator: Some(",".into()), ..Default::default() };
        assert_eq!(
            csv_options("orders", Some(&comma)).unwrap_err().to_string(),
            "source 'orders': the CSV option decimal_separator cannot be read on Spark; convert the file (or read it with --engine duckdb)"
        );
    }
}
