//! What validation and the compiler need to know about a rule's SQL, read from its parsed tree
//! (sqlparser, DuckDB dialect) instead of from its text: the columns or features it names,
//! its `stat()` and `segment()` calls (and their replacement by real SQL), whether it is one
//! function call, and whether an aggregate in it orders its input.

use super::template::{StatFunc, TemplateRef};
use sqlparser::ast::{
    visit_expressions, visit_expressions_mut, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments,
    ObjectNamePart, OneOrManyWithParens, Value,
};
use sqlparser::dialect::{DuckDbDialect, GenericDialect};
use sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// An identifier used as a column reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentRef {
    pub name: String,
}

/// `sql` parsed as one expression, or `None` when it is not one (or is longer than any rule may
/// be, which validation reports: E032).
pub fn parse(sql: &str) -> Option<Expr> {
    parse_in(&DuckDbDialect {}, sql)
}

/// `sql` parsed as one expression in DuckDB's spelling or, failing that, in the generic one
/// (which also reads Spark's backquoted names).
fn parse_any(sql: &str) -> Option<Expr> {
    parse(sql).or_else(|| parse_in(&GenericDialect {}, sql))
}

fn parse_in(dialect: &dyn sqlparser::dialect::Dialect, sql: &str) -> Option<Expr> {
    if sql.len() > crate::validate::guard::MAX_RULE_BYTES {
        return None;
    }
    let mut parser = Parser::new(dialect).try_with_sql(sql).ok()?;
    let expr = parser.parse_expr().ok()?;
    (parser.peek_token().token == sqlparser::tokenizer::Token::EOF).then_some(expr)
}

/// The `stat(...)` or `segment(...)` call `f` stands for, if it is one.
fn rule_ref(f: &Function) -> Option<TemplateRef> {
    let [ObjectNamePart::Identifier(name)] = f.name.0.as_slice() else { return None };
    let FunctionArguments::List(list) = &f.args else { return None };
    let args: Vec<&Value> = list
        .args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => Some(&v.value),
            _ => None,
        })
        .collect();
    if args.len() != list.args.len() {
        return None;
    }
    match (name.value.to_ascii_lowercase().as_str(), args.as_slice()) {
        ("segment", [Value::SingleQuotedString(s)]) => Some(TemplateRef::Segment(s.clone())),
        ("stat", [Value::SingleQuotedString(func), Value::SingleQuotedString(feature), rest @ ..]) => {
            let q = match rest {
                [] => None,
                [Value::Number(n, _)] => Some(n.parse().ok()?),
                _ => return None,
            };
            Some(TemplateRef::Stat { func: StatFunc::parse(func, q).ok()?, feature: feature.clone() })
        }
        _ => None,
    }
}

/// The `stat()` and `segment()` calls of `sql`, in order of appearance.
pub fn rule_refs(sql: &str) -> Vec<TemplateRef> {
    parse_any(sql).map(|e| rule_refs_in(&e)).unwrap_or_default()
}

/// The `stat()` and `segment()` calls of a parsed rule, in order of appearance.
pub fn rule_refs_in(expr: &Expr) -> Vec<TemplateRef> {
    let mut refs = Vec::new();
    let _ = visit_expressions(expr, |e| {
        if let Some(r) = match e {
            Expr::Function(f) => rule_ref(f),
            _ => None,
        } {
            refs.push(r);
        }
        ControlFlow::<()>::Continue(())
    });
    refs
}

/// Calls named `stat` or `segment` in `sql` that are not well-formed references (written
/// without the template braces, with arguments that are not string literals): their names.
pub fn malformed_refs(expr: &Expr) -> Vec<String> {
    let mut names = Vec::new();
    let _ = visit_expressions(expr, |e| {
        if let Expr::Function(f) = e {
            let name = f.name.to_string().to_ascii_lowercase();
            if (name == "stat" || name == "segment") && rule_ref(f).is_none() {
                names.push(name);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    names
}

/// `sql` with each `stat()`/`segment()` call for which `replace` gives SQL replaced by that SQL
/// (parenthesized), printed from the tree; `sql` unchanged when nothing was replaced.
pub fn replace_refs<E>(sql: &str, replace: &mut dyn FnMut(&TemplateRef) -> Result<Option<String>, E>) -> Result<String, E> {
    let Some(mut expr) = parse_any(sql) else { return Ok(sql.to_string()) };
    let mut replaced = false;
    let mut failure = None;
    let _ = visit_expressions_mut(&mut expr, |e| {
        let Some(r) = (match e {
            Expr::Function(f) => rule_ref(f),
            _ => None,
        }) else {
            return ControlFlow::Continue(());
        };
        match replace(&r) {
            // The replacements are the compiler's own SQL and always parse; one that did not
            // would leave the call in place for the engine to refuse.
            Ok(Some(text)) => {
                if let Some(new) = parse_any(&text) {
                    // Parenthesized unless it prints as one term already.
                    let atomic = matches!(new, Expr::Subquery(_) | Expr::Nested(_) | Expr::Function(_) | Expr::Identifier(_) | Expr::Value(_));
                    *e = if atomic { new } else { Expr::Nested(Box::new(new)) };
                    replaced = true;
                }
            }
            Ok(None) => {}
            Err(err) => {
                failure = Some(err);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    match failure {
        Some(err) => Err(err),
        None if replaced => Ok(expr.to_string()),
        None => Ok(sql.to_string()),
    }
}

/// The plain names `sql` reads as columns, in order of appearance (duplicates kept): not
/// function names, keywords, type names, qualified names (`t.col`) or names bound by a lambda
/// (`x -> x > 1`). Empty when `sql` is not one expression.
pub fn column_refs(sql: &str) -> Vec<IdentRef> {
    parse(sql).map(|e| column_refs_in(&e)).unwrap_or_default()
}

/// [`column_refs`] of a parsed rule.
pub fn column_refs_in(expr: &Expr) -> Vec<IdentRef> {
    let mut lambda_params = BTreeSet::new();
    let mut names = Vec::new();
    let _ = visit_expressions(expr, |e| {
        match e {
            Expr::Identifier(id) => names.push(id.value.clone()),
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
        assert_eq!(names("list_filter(tags, t -> t = 'vip') AND segment('loyal')"), vec!["tags"]);
        assert_eq!(names("t.col > 1"), vec![] as Vec<String>);
        assert_eq!(names("order_count > greatest(3, stat('avg', 'order_count'))"), vec!["order_count"]);
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

    #[test]
    fn stat_and_segment_calls_are_nodes_replaced_in_the_tree() {
        use crate::compile::template::{StatFunc, TemplateRef};
        let sql = "n > greatest(3, stat('avg', 'order_count')) AND NOT segment('loyal') AND note = 'segment(''x'')'";
        assert_eq!(
            rule_refs(sql),
            vec![TemplateRef::Stat { func: StatFunc::Avg, feature: "order_count".into() }, TemplateRef::Segment("loyal".into())]
        );
        let out: Result<String, ()> = replace_refs(sql, &mut |r| {
            Ok(Some(match r {
                TemplateRef::Stat { .. } => "(SELECT avg(\"order_count\") FROM \"customer_features\")".to_string(),
                TemplateRef::Segment(_) => "a >= 1 AND b".to_string(),
            }))
        });
        assert_eq!(
            out.as_deref(),
            Ok("n > greatest(3, (SELECT avg(\"order_count\") FROM \"customer_features\")) AND NOT (a >= 1 AND b) AND note = 'segment(''x'')'")
        );
        // A name that looks like the old text placeholders is just a name now.
        assert_eq!(names("__stat_0__ > 1"), vec!["__stat_0__"]);
        assert!(rule_refs("stat(order_count) > 1").is_empty(), "not a statistic call");
    }
}
