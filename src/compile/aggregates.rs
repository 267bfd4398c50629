//! Aggregate calls in a feature's tree. A source's scan stores each customer's aggregate
//! values (its state, which an incremental run brings up to date for the customers whose rows
//! changed) and the features query computes each feature from them: `date_diff('day',
//! max(ordered_at), DATE '2026-06-30')` is stored as `max(ordered_at)`, and the `date_diff`
//! around it, which changes with `as_of` for every customer, is evaluated when the features
//! are joined.

use super::tree::Rule;
use sqlparser::ast::{visit_expressions, visit_expressions_mut, Expr, Ident};
use std::ops::ControlFlow;

/// DuckDB's aggregate functions (`duckdb_functions()` of DuckDB 1.5 with `function_type =
/// 'aggregate'`, and the json extension's), lower case; a test checks the list against the
/// engine.
pub const AGGREGATES: &[&str] = &[
    "any_value", "approx_count_distinct", "approx_quantile", "approx_top_k", "arbitrary", "arg_max", "arg_max_null",
    "arg_max_nulls_last", "arg_min", "arg_min_null", "arg_min_nulls_last", "argmax", "argmin", "array_agg", "avg", "bit_and",
    "bit_or", "bit_xor", "bitstring_agg", "bool_and", "bool_or", "corr", "count", "count_if", "count_star", "countif",
    "covar_pop", "covar_samp", "cume_dist", "dense_rank", "entropy", "favg", "fill", "first", "first_value", "fsum",
    "group_concat", "histogram", "histogram_exact", "json_group_array", "json_group_object", "json_group_structure",
    "kahan_sum", "kurtosis", "kurtosis_pop", "lag", "last", "last_value", "lead", "list", "listagg", "mad", "max", "max_by",
    "mean", "median", "min", "min_by", "mode", "nth_value", "ntile", "percent_rank", "product", "quantile", "quantile_cont",
    "quantile_disc", "rank", "rank_dense", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2",
    "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "reservoir_quantile", "row_number", "sem", "skewness", "stddev",
    "stddev_pop", "stddev_samp", "string_agg", "sum", "sum_no_overflow", "sumkahan", "var_pop", "var_samp", "variance",
];

/// Functions whose value is not fixed by their arguments: the clock (`now()`, `current_date`)
/// or chance (`random()`). A scan that calls one cannot be brought up to date from its state.
const UNSTABLE: &[&str] = &[
    "current_date", "current_time", "current_timestamp", "get_current_time", "get_current_timestamp", "localtime",
    "localtimestamp", "now", "today", "transaction_timestamp", "random", "setseed", "uuid", "uuidv4", "uuidv7",
    "gen_random_uuid", "nextval", "currval",
];

fn function_name(f: &sqlparser::ast::Function) -> String {
    f.name.0.last().map(|p| p.to_string().trim_matches('"').to_ascii_lowercase()).unwrap_or_default()
}

/// An aggregate call (not a window function: those have `OVER`).
fn is_aggregate(e: &Expr) -> bool {
    matches!(e, Expr::Function(f) if f.over.is_none() && AGGREGATES.contains(&function_name(f).as_str()))
}

/// `rule` with each aggregate call replaced by the column `alias.name`, where `name` is what
/// `store` returns for the call (the caller names and deduplicates the stored aggregates).
pub fn split(rule: &Rule, alias: &str, store: &mut dyn FnMut(Rule) -> String) -> Rule {
    let mut expr = rule.expr().clone();
    // Post-order: an aggregate's arguments hold no aggregate (SQL does not nest them).
    let _ = visit_expressions_mut(&mut expr, |e| {
        if is_aggregate(e) {
            let call = std::mem::replace(e, Expr::Identifier(Ident::new(alias)));
            *e = Expr::CompoundIdentifier(vec![Ident::new(alias), Ident::new(store(Rule::new(call)))]);
        }
        ControlFlow::<()>::Continue(())
    });
    Rule::new(expr)
}

/// True when `rule` is one aggregate call.
pub fn is_one_call(rule: &Rule) -> bool {
    is_aggregate(rule.expr())
}

/// True when `rule` is one column reference (`alias.name`), which is NULL exactly when the
/// customer has no row in the scan.
pub fn is_column(rule: &Rule) -> bool {
    matches!(rule.expr(), Expr::CompoundIdentifier(_) | Expr::Identifier(_))
}

/// True when `rule` calls a function whose value is not fixed by its arguments ([`UNSTABLE`]);
/// also `CURRENT_DATE` and the like written without parentheses.
pub fn is_unstable(rule: &Rule) -> bool {
    visit_expressions(rule.expr(), |e| match e {
        Expr::Function(f) if UNSTABLE.contains(&function_name(f).as_str()) => ControlFlow::Break(()),
        Expr::Identifier(id) if id.quote_style.is_none() && UNSTABLE.contains(&id.value.to_ascii_lowercase().as_str()) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(sql: &str) -> (String, Vec<String>) {
        let mut stored: Vec<String> = Vec::new();
        let outer = split(&Rule::parse(sql).unwrap_or_else(|| panic!("{sql}")), "a1", &mut |call| {
            let text = call.to_string();
            let i = stored.iter().position(|s| *s == text).unwrap_or_else(|| {
                stored.push(text);
                stored.len() - 1
            });
            format!("s{i}")
        });
        (outer.to_string(), stored)
    }

    #[test]
    fn aggregates_are_stored_and_the_rest_is_evaluated_over_them() {
        assert_eq!(split_all("sum(amount)"), ("a1.s0".into(), vec!["sum(amount)".into()]));
        assert_eq!(
            split_all("date_diff('day', max(ordered_at), DATE '2026-06-30')"),
            ("date_diff('day', a1.s0, DATE '2026-06-30')".into(), vec!["max(ordered_at)".into()])
        );
        assert_eq!(
            split_all("date_diff('month', min(ordered_at), max(ordered_at)) + 1"),
            ("date_diff('month', a1.s0, a1.s1) + 1".into(), vec!["min(ordered_at)".into(), "max(ordered_at)".into()])
        );
        assert_eq!(
            split_all("sum(amount) / nullif(count(*), 0) + sum(amount)"),
            ("a1.s0 / nullif(a1.s1, 0) + a1.s0".into(), vec!["sum(amount)".into(), "count(*)".into()])
        );
        assert_eq!(split_all("count(DISTINCT date_trunc('month', ordered_at))").1, vec!["count(DISTINCT date_trunc('month', ordered_at))".to_string()]);
        assert_eq!(split_all("coalesce(max(x), 0)").0, "coalesce(a1.s0, 0)");
        // A window function is not an aggregate of the customer's rows.
        assert!(split_all("sum(x) OVER ()").1.is_empty());
        assert!(split_all("lower(name)").1.is_empty());
    }

    #[test]
    fn only_a_column_reference_is_null_exactly_without_rows() {
        let outer = |sql: &str| split_all(sql).0;
        assert!(is_column(&Rule::parse(&outer("sum(x)")).unwrap_or_else(|| panic!())));
        assert!(!is_column(&Rule::parse(&outer("coalesce(sum(x), 0)")).unwrap_or_else(|| panic!())));
    }

    #[test]
    fn the_clock_and_chance_are_unstable() {
        let unstable = |sql: &str| is_unstable(&Rule::parse(sql).unwrap_or_else(|| panic!("{sql}")));
        assert!(unstable("count(*) FILTER (WHERE ordered_at > now() - INTERVAL 7 DAY)"));
        assert!(unstable("max(ordered_at) > current_date"));
        assert!(unstable("sum(random())"));
        assert!(!unstable("count(*) FILTER (WHERE ordered_at > DATE '2026-06-30' - INTERVAL 7 DAY)"));
        assert!(!unstable("max(\"now\")"));
    }
}
