//! A Spark Connect session and its errors as segmenter errors.
//!
//! The client's API is blocking (it runs its own tokio runtime), so segmenter calls it from
//! plain threads only. `spark.sql(...)` is lazy: DDL and INSERTs run when collected, which
//! [`Spark::exec`] does.

use crate::error::{Error, Result};
use spark_connect::row::{Row, Value};
use spark_connect::{SparkError, SparkSession};

/// One Spark Connect session.
pub struct Spark {
    session: SparkSession,
    pub url: String,
}

impl Spark {
    /// Connect and ask the server's version, so an unreachable server fails here with a hint.
    pub fn connect(url: &str) -> Result<Spark> {
        let unreachable = |e: SparkError| Error::Usage(format!(
            "cannot reach the Spark Connect server at {url}: {}\n  hint: start a local one with `scripts/spark-connect.sh start` \
             (it prints its URL), then pass it as --spark-url or SEGMENTER_SPARK_URL, or set spark.url in segmenter.yaml",
            first_line(&e)
        ));
        // The client retries a refused connection for minutes: look first.
        reachable(url).map_err(|message| Error::Usage(format!(
            "cannot reach the Spark Connect server at {url}: {message}\n  hint: start a local one with `scripts/spark-connect.sh start` \
             (it prints its URL), then pass it as --spark-url or SEGMENTER_SPARK_URL, or set spark.url in segmenter.yaml"
        )))?;
        let session = SparkSession::builder().remote(url).get_or_create().map_err(unreachable)?;
        let version = session.version().map_err(unreachable)?;
        tracing::info!(url, version, "connected to Spark");
        Ok(Spark { session, url: url.to_string() })
    }

    /// Run one statement to its end (DDL, INSERT or a query whose rows are dropped).
    pub fn exec(&self, step: &str, sql: &str) -> Result<()> {
        tracing::debug!(step, sql, "spark");
        self.session.sql(sql).and_then(|df| df.collect()).map(|_| ()).map_err(|e| step_error(step, &e))
    }

    /// The rows of a query.
    pub fn rows(&self, step: &str, sql: &str) -> Result<Vec<Row>> {
        tracing::debug!(step, sql, "spark");
        self.session.sql(sql).and_then(|df| df.collect()).map_err(|e| step_error(step, &e))
    }

    /// The first column of the first row as a whole number (0 without rows).
    pub fn count(&self, step: &str, sql: &str) -> Result<i64> {
        Ok(self.rows(step, sql)?.first().and_then(|r| r.get(0)).and_then(whole).unwrap_or(0))
    }

    pub fn session(&self) -> &SparkSession {
        &self.session
    }
}

/// Whether a TCP connection to the URL's host and port (default 15002) opens within 10 seconds.
fn reachable(url: &str) -> std::result::Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let rest = url.strip_prefix("sc://").ok_or_else(|| "a Spark Connect URL starts with sc://".to_string())?;
    let authority = rest.split(['/', ';']).next().unwrap_or_default();
    let address = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) { authority.to_string() } else { format!("{authority}:15002") };
    let addrs: Vec<_> = address.to_socket_addrs().map_err(|e| format!("{address}: {e}"))?.collect();
    let mut last = format!("{address}: no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(10)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{address}: {e}"),
        }
    }
    Err(last)
}

/// A whole number of any of Spark's integer types.
pub fn whole(v: &Value) -> Option<i64> {
    match v {
        Value::Byte(n) => Some(i64::from(*n)),
        Value::Short(n) => Some(i64::from(*n)),
        Value::Integer(n) => Some(i64::from(*n)),
        Value::Long(n) => Some(*n),
        _ => None,
    }
}

/// A value as text (numbers and text; NULL and nested values as empty).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Decimal { value, .. } => value.clone(),
        Value::Double(f) => f.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        other => whole(other).map(|n| n.to_string()).unwrap_or_default(),
    }
}

/// A number of any of Spark's numeric types.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Double(f) => Some(*f),
        Value::Float(f) => Some(f64::from(*f)),
        Value::Decimal { value, .. } => value.parse().ok(),
        other => whole(other).map(|n| n as f64),
    }
}

/// A failed statement: the step that ran it and the server's message (its first line).
pub fn step_error(step: &str, e: &SparkError) -> Error {
    Error::Spark { step: step.to_string(), message: first_line(e) }
}

fn first_line(e: &SparkError) -> String {
    let whole = if e.message.is_empty() { e.to_string() } else { e.message.clone() };
    crate::execute::first_line(&whole)
}
