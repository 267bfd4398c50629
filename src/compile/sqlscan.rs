//! A small SQL lexer that finds the column/feature identifiers an expression refers to.
//!
//! It lets validation say "unknown feature 'totl_spent'" with a location before any query
//! reaches DuckDB. It skips string literals, function names (followed by `(`), keywords, type
//! names after `::` or `AS`, qualified names after `.`, lambda parameters and `__ref_N__`
//! template placeholders.

/// An identifier used as a column reference, with its byte offset in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentRef {
    pub name: String,
    pub offset: usize,
}

/// Words that are SQL syntax, not column names (compared case-insensitively).
const KEYWORDS: &[&str] = &[
    "all", "and", "any", "array", "as", "asc", "at", "between", "both", "by", "case", "cast", "collate",
    "current_date", "current_time", "current_timestamp", "date", "day", "days", "desc", "distinct", "else", "end",
    "escape", "exists", "extract", "false", "filter", "first", "following", "for", "from", "glob", "group",
    "hour", "hours", "ilike", "in", "interval", "is", "isnull", "last", "leading", "like", "limit", "list",
    "map", "minute", "minutes", "month", "months", "not", "notnull", "null", "nulls", "on", "or", "order",
    "over", "partition", "preceding", "quarter", "range", "row", "rows", "second", "seconds", "select",
    "similar", "some", "struct", "then", "time", "timestamp", "to", "trailing", "true", "try_cast",
    "unbounded", "union", "using", "week", "weeks", "when", "where", "within", "year", "years",
    "current", "exclude", "ties", "others", "no", "regexp", "rlike", "semi", "anti", "century", "decade",
    "millennium", "millisecond", "milliseconds", "microsecond", "microseconds", "dow", "doy", "epoch",
    "isodow", "isoyear", "yearweek", "varchar", "integer", "bigint", "double", "decimal", "boolean", "text",
    "float", "real", "smallint", "tinyint", "hugeint", "numeric", "uuid", "blob", "json",
];

fn is_keyword(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    KEYWORDS.contains(&lower.as_str())
}

/// Identifiers referenced as columns in `sql`, in order of appearance (duplicates kept).
pub fn column_refs(sql: &str) -> Vec<IdentRef> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // The previous significant token, to recognise `.name`, `::type` and `AS type`.
    let mut prev = String::new();
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if c == b'\'' {
            i = skip_quoted(bytes, i, b'\'');
            prev = "'".into();
        } else if c == b'"' {
            let end = skip_quoted(bytes, i, b'"');
            let name = sql[i + 1..end.saturating_sub(1).max(i + 1)].replace("\"\"", "\"");
            let next = next_significant(bytes, end);
            if !(prev == "." || prev == "::" || next == Some(b'(') || next == Some(b'.')) {
                out.push(IdentRef { name, offset: i });
            }
            prev = "ident".into();
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$') {
                i += 1;
            }
            let word = &sql[start..i];
            let next = next_significant(bytes, i);
            let is_lambda = sql[i..].trim_start().starts_with("->");
            let after_as_type = prev.eq_ignore_ascii_case("as") || prev == "::";
            let skip = is_keyword(word)
                || is_placeholder(word)
                || next == Some(b'(')
                || next == Some(b'.')
                || prev == "."
                || after_as_type
                || is_lambda;
            if !skip {
                out.push(IdentRef { name: word.to_string(), offset: start });
            }
            prev = word.to_string();
        } else if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_') {
                i += 1;
            }
            prev = "0".into();
        } else if c == b':' && bytes.get(i + 1) == Some(&b':') {
            prev = "::".into();
            i += 2;
        } else {
            prev = (c as char).to_string();
            i += 1;
        }
    }
    remove_lambda_params(sql, out)
}

/// Drop uses of names bound as lambda parameters (`x -> x > 1`) anywhere in the expression.
fn remove_lambda_params(sql: &str, refs: Vec<IdentRef>) -> Vec<IdentRef> {
    let mut params = Vec::new();
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"->") {
            let before = sql[..i].trim_end();
            let name: String = before.chars().rev().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            params.push(name.chars().rev().collect::<String>());
            i += 2;
        } else {
            i += 1;
        }
    }
    refs.into_iter().filter(|r| !params.contains(&r.name)).collect()
}

/// Template placeholders (`__ref_3__`) stand for SQL produced by `stat()` and `segment()`.
pub fn is_placeholder(word: &str) -> bool {
    word.starts_with("__ref_") && word.ends_with("__")
}

fn skip_quoted(bytes: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == q {
            if bytes.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn next_significant(bytes: &[u8], mut i: usize) -> Option<u8> {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    bytes.get(i).copied()
}

/// When `sql` is exactly one function call `name(...)` (after trimming), e.g. `sum(amount)`,
/// the function's name.
pub fn single_call(sql: &str) -> Option<&str> {
    let t = sql.trim_end();
    let bytes = t.as_bytes();
    let name_end = t.find('(')?;
    let name = t[..name_end].trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = name_end;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                i = skip_quoted(bytes, i, bytes[i]);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (i == bytes.len() - 1).then_some(name);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// True when `sql` has `ORDER BY` outside string literals and quoted names (any spacing and case).
pub fn has_order_by(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' || c == b'"' {
            i = skip_quoted(bytes, i, c);
            words.push(String::new());
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            words.push(sql[start..i].to_ascii_lowercase());
        } else {
            if !c.is_ascii_whitespace() {
                words.push(String::new());
            }
            i += 1;
        }
    }
    words.windows(2).any(|w| w[0] == "order" && w[1] == "by")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        column_refs(sql).into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn finds_columns_not_functions_keywords_or_strings() {
        assert_eq!(
            names("sum(amount) FILTER (WHERE coupon_code IS NOT NULL AND channel = 'web')"),
            vec!["amount", "coupon_code", "channel"]
        );
        assert_eq!(names("date_diff('day', max(ordered_at), DATE '2026-06-30')"), vec!["ordered_at"]);
        assert_eq!(names("CAST(total AS DECIMAL(12,2)) > 5 AND x::INTEGER = 1"), vec!["total", "x"]);
        assert_eq!(names("\"Total Spent\" > 5 -- comment about foo"), vec!["Total Spent"]);
        assert_eq!(names("list_filter(tags, t -> t = 'vip') AND __ref_0__"), vec!["tags"]);
        assert_eq!(names("t.col > 1"), vec![] as Vec<String>);
    }

    #[test]
    fn finds_order_by_outside_strings() {
        assert!(has_order_by("string_agg(products, ';' ORDER BY created_at DESC, cart_id)"));
        assert!(has_order_by("list(x order\n   by y)"));
        assert!(!has_order_by("string_agg(products, ' ORDER BY ')"));
        assert!(!has_order_by("\"order\" + by"));
        assert!(!has_order_by("sum(border_by)"));
    }

    #[test]
    fn recognises_single_calls() {
        assert!(single_call("sum(amount)").is_some());
        assert!(single_call("count(DISTINCT order_id) ").is_some());
        assert!(single_call("sum(a) / count(*)").is_none());
        assert!(single_call("amount").is_none());
    }
}
