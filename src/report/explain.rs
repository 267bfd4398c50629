//! `segmenter explain SEGMENT --customer ID`: the rule, the customer's feature values, and
//! which top-level condition held or failed, evaluated on the published features.

use crate::compile::dialect::{Dialect, DuckDb};
use crate::compile::tree;
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

/// Split a boolean SQL expression at its top-level ANDs (not inside parentheses, strings or
/// `BETWEEN x AND y`).
pub fn split_and(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let (mut depth, mut i, mut start, mut between) = (0i32, 0usize, 0usize, 0u32);
    let mut parts = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                let q = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            c if c.is_ascii_alphabetic() && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) => {
                let end = (i..bytes.len()).find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')).unwrap_or(bytes.len());
                let word = sql[i..end].to_ascii_uppercase();
                if depth == 0 && word == "BETWEEN" {
                    between += 1;
                } else if depth == 0 && word == "AND" {
                    if between > 0 {
                        between -= 1;
                    } else {
                        parts.push(sql[start..i].trim().to_string());
                        start = end;
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(sql[start..].trim().to_string());
    // A conjunct that is itself a parenthesised AND (from `extends`) is split further.
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| match strip_outer_parens(&p) {
            Some(inner) if split_and(inner).len() > 1 => split_and(inner),
            _ => vec![p],
        })
        .collect()
}

/// `(x)` -> `x` when the first parenthesis closes at the very end.
fn strip_outer_parens(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in inner.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    (depth == 0).then_some(inner.trim())
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
    let rule = crate::compile::outputs::on_features(&seg.rule, model, &d);
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
    for part in split_and(&rule) {
        let sql = format!("SELECT ({part})::BOOLEAN FROM customer_features WHERE CAST(customer_id AS VARCHAR) = ?");
        let holds: Option<bool> = conn.query_row(&sql, [customer], |r| r.get(0)).map_err(|e| Error::Step {
            step: format!("explain condition `{part}`"),
            message: crate::execute::first_line(&e.to_string()),
        })?;
        conditions.push(Condition { sql: part, holds });
    }
    let mut names: Vec<String> = Vec::new();
    for id in tree::column_refs(&rule) {
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
        rule: seg.rule.clone(),
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

#[cfg(test)]
mod tests {
    use super::split_and;

    #[test]
    fn splits_top_level_ands_only() {
        assert_eq!(
            split_and("a > 1 AND (b = 2 AND c = 3) AND d BETWEEN 1 AND 2 AND e = 'x AND y'"),
            vec!["a > 1", "b = 2", "c = 3", "d BETWEEN 1 AND 2", "e = 'x AND y'"]
        );
        assert_eq!(split_and("brand_new > 1 and x"), vec!["brand_new > 1", "x"]);
        assert_eq!(split_and("(a AND b)\n  AND (c OR d)"), vec!["a", "b", "(c OR d)"]);
        assert_eq!(split_and("(a) OR (b AND c)"), vec!["(a) OR (b AND c)"]);
    }
}
