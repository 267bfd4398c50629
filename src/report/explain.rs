//! `segmenter explain SEGMENT --customer ID`: the rule, the customer's feature values, and
//! which top-level condition held or failed, evaluated on the published features.

use crate::compile::dialect::{Dialect, DuckDb};
use crate::error::{Error, Result};
use crate::validate::Resolved;
use duckdb::Connection;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    pub segment: String,
    pub description: Option<String>,
    pub origin: String,
    pub rule: String,
    pub customer: String,
    pub as_of: String,
    /// Membership in the published `segment_members`.
    pub member: bool,
    pub conditions: Vec<Condition>,
    /// Feature values of the customer, for every feature the rule uses.
    pub features: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Condition {
    pub sql: String,
    /// true / false, or None when the condition is NULL (which counts as not met).
    pub holds: Option<bool>,
}

fn value_text(v: &duckdb::types::Value) -> String {
    use duckdb::types::Value as V;
    match v {
        V::Null => "NULL".into(),
        V::Boolean(b) => b.to_string(),
        V::Text(s) => format!("'{s}'"),
        V::Decimal(d) => d.to_string(),
        V::Double(x) => format!("{x:.4}").trim_end_matches('0').trim_end_matches('.').to_string(),
        V::Float(x) => x.to_string(),
        V::BigInt(x) => x.to_string(),
        V::Int(x) => x.to_string(),
        V::HugeInt(x) => x.to_string(),
        V::SmallInt(x) => x.to_string(),
        V::TinyInt(x) => x.to_string(),
        V::UBigInt(x) => x.to_string(),
        other => format!("{other:?}"),
    }
}

/// Explain one segment for one customer against the published tables.
pub fn explain(conn: &Connection, model: &Resolved, segment: &str, customer: &str) -> Result<Explanation> {
    let d = DuckDb;
    let Some(seg) = model.segments.iter().find(|s| s.name == segment) else {
        let hint = crate::diagnostics::did_you_mean(segment, model.segments.iter().map(|s| s.name.as_str()))
            .map_or(String::new(), |h| format!(" ({h})"));
        return Err(Error::Usage(format!("no segment rule named '{segment}'{hint}; explain works on segments with a `where` rule")));
    };
    let err = |e: duckdb::Error| Error::Step { step: "explain".into(), message: crate::execute::first_line(&e.to_string()) };
    let exists: i64 = conn
        .query_row("SELECT count(*) FROM customer_features WHERE CAST(customer_id AS VARCHAR) = ?", [customer], |r| r.get(0))
        .map_err(|e| Error::Usage(format!("the output database has no customer_features table; run `segmenter run` first ({})", crate::execute::first_line(&e.to_string()))))?;
    if exists == 0 {
        return Err(Error::Usage(format!("customer '{customer}' is not in customer_features (not a customer on the last run's as_of)")));
    }
    let as_of: String = conn
        .query_row(&format!("SELECT coalesce({}, '') FROM segment_catalog", DuckDb.cast("max(as_of)", "VARCHAR")), [], |r| r.get(0))
        .unwrap_or_default();
    let member: i64 = conn
        .query_row(
            "SELECT count(*) FROM segment_members WHERE segment = ? AND CAST(customer_id AS VARCHAR) = ?",
            [segment, customer],
            |r| r.get(0),
        )
        .map_err(err)?;
    let mut conditions = Vec::new();
    for conjunct in seg.rule.conjuncts() {
        let part = crate::compile::outputs::on_features(&conjunct, model, &d);
        let sql = format!("SELECT ({part})::BOOLEAN FROM customer_features WHERE CAST(customer_id AS VARCHAR) = ?");
        let holds: Option<bool> = conn.query_row(&sql, [customer], |r| r.get(0)).map_err(|e| Error::Step {
            step: format!("explain condition `{part}`"),
            message: crate::execute::first_line(&e.to_string()),
        })?;
        conditions.push(Condition { sql: part, holds });
    }
    let mut names: Vec<String> = Vec::new();
    for id in seg.rule.columns() {
        if model.features.iter().any(|f| f.name == id.name) && !names.contains(&id.name) {
            names.push(id.name);
        }
    }
    let mut features = Vec::new();
    for name in names {
        let sql = format!("SELECT {} FROM customer_features WHERE CAST(customer_id AS VARCHAR) = ?", d.ident(&name));
        let v: duckdb::types::Value = conn.query_row(&sql, [customer], |r| r.get(0)).map_err(err)?;
        features.push((name, value_text(&v)));
    }
    Ok(Explanation {
        segment: seg.name.clone(),
        description: seg.description.clone(),
        origin: seg.origin.clone(),
        rule: seg.rule.to_string(),
        customer: customer.to_string(),
        as_of,
        member: member > 0,
        conditions,
        features,
    })
}

impl Explanation {
    pub fn to_text(&self) -> String {
        let mut out = format!("segment {} ({})", self.segment, self.origin);
        if let Some(desc) = &self.description {
            out.push_str(&format!(": {desc}"));
        }
        out.push_str(&format!(
            "\ncustomer {} on {}: {}\n\nconditions (all must hold):\n",
            self.customer,
            self.as_of,
            if self.member { "MEMBER" } else { "NOT A MEMBER" }
        ));
        for c in &self.conditions {
            let mark = match c.holds {
                Some(true) => "holds ",
                Some(false) => "fails ",
                None => "NULL  ",
            };
            out.push_str(&format!("  {mark} {}\n", c.sql.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
        out.push_str("\nfeature values:\n");
        let w = self.features.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (n, v) in &self.features {
            out.push_str(&format!("  {n:<w$}  {v}\n"));
        }
        out
    }
}
