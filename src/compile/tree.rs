//! What validation and the compiler need to know about a rule's SQL, read from its parsed tree
//! (sqlparser, DuckDB dialect) instead of from its text: the columns or features it names,
//! whether it is one function call, and whether an aggregate in it orders its input.

use sqlparser::ast::{visit_expressions, Expr, FunctionArgumentClause, FunctionArguments, OneOrManyWithParens};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// An identifier used as a column reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentRef {
    pub name: String,
}

/// `sql` parsed as one expression, or `None` when it is not one.
pub fn parse(sql: &str) -> Option<Expr> {
    let dialect = DuckDbDialect {};
    let mut parser = Parser::new(&dialect).try_with_sql(sql).ok()?;
    let expr = parser.parse_expr().ok()?;
    (parser.peek_token().token == sqlparser::tokenizer::Token::EOF).then_some(expr)
}

/// Template placeholders (`__ref_3__`, `__stat_0__`) stand for SQL that `stat()` and
/// `segment()` produce; they are not columns.
pub fn is_placeholder(word: &str) -> bool {
    (word.starts_with("__ref_") || word.starts_with("__stat_") || word.starts_with("__segment_")) && word.ends_with("__")
}

/// The plain names `sql` reads as columns, in order of appearance (duplicates kept): not
/// function names, keywords, type names, qualified names (`t.col`), names bound by a lambda
/// (`x -> x > 1`) or template placeholders. Empty when `sql` is not one expression.
pub fn column_refs(sql: &str) -> Vec<IdentRef> {
    let Some(expr) = parse(sql) else { return Vec::new() };
    let mut lambda_params = BTreeSet::new();
    let mut names = Vec::new();
    let _ = visit_expressions(&expr, |e| {
        match e {
            Expr::Identifier(id) if !is_placeholder(&id.value) => names.push(id.value.clone()),
            Expr::Lambda(l) => match &l.params {
                OneOrManyWithParens::One(p) => {
                    lambda_params.insert(p.name.value.clone());
                }
                OneOrManyWithParens::Many(ps) => lambda_params.extend(ps.iter().map(|p| p.name.value.clone())),
            },
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    names.into_iter().filter(|n| !lambda_params.contains(n)).map(|name| IdentRef { name }).collect()
}

/// When `sql` is exactly one function call `name(...)`, e.g. `sum(amount)` or
/// `count(DISTINCT order_id)`, the function's name.
pub fn single_call(sql: &str) -> Option<String> {
    match parse(sql)? {
        Expr::Function(f) if f.name.0.len() == 1 => Some(f.name.to_string()),
        _ => None,
    }
}

/// True when an aggregate in `sql` orders its input (`string_agg(x, ',' ORDER BY y)`,
/// `quantile(x) WITHIN GROUP (ORDER BY y)`).
pub fn has_order_by(sql: &str) -> bool {
    let Some(expr) = parse(sql) else { return false };
    let found = visit_expressions(&expr, |e| match e {
        Expr::Function(f) => {
            let in_args = match &f.args {
                FunctionArguments::List(list) => list.clauses.iter().any(|c| matches!(c, FunctionArgumentClause::OrderBy(_))),
                _ => false,
            };
            if in_args || !f.within_group.is_empty() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
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
        assert_eq!(names("order_count > greatest(3, __stat_0__)"), vec!["order_count"]);
        // A comment cannot hide a name, nor make one up.
        assert_eq!(names("a > 1 -- b -> c\n AND d"), vec!["a", "d"]);
    }

    #[test]
    fn finds_order_by_in_aggregates_only() {
        assert!(has_order_by("string_agg(products, ';' ORDER BY created_at DESC, cart_id)"));
        assert!(has_order_by("list(x order\n   by y)"));
        assert!(!has_order_by("string_agg(products, ' ORDER BY ')"));
        assert!(!has_order_by("\"order\" + by"));
        assert!(!has_order_by("sum(border_by)"));
    }

    #[test]
    fn recognises_single_calls() {
        assert_eq!(single_call("sum(amount)").as_deref(), Some("sum"));
        assert_eq!(single_call("count(DISTINCT order_id) ").as_deref(), Some("count"));
        assert!(single_call("sum(a) / count(*)").is_none());
        assert!(single_call("amount").is_none());
    }
}
