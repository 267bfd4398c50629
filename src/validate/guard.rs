//! A rule is one SQL expression over columns and features, never a statement.
//!
//! Every rendered snippet (`expr`, `filter`, `where`, `when`, `population`) is parsed with
//! sqlparser's DuckDB dialect as exactly one expression: a `;`, a `)` that would close the
//! surrounding query, or any other text after the expression is refused, and so is every
//! subquery (the only place a table function such as `read_text('/etc/passwd')` can appear) and
//! every function that reads files or the engine's own state. The run's DuckDB session is also
//! locked down (see `execute::lock_down`); this check makes the rule fail early, at file:line,
//! before any SQL reaches the engine.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, FunctionArguments, InTarget, Query, Visit, Visitor};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

/// Why a snippet is not an acceptable rule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardKind {
    /// The text does not parse as an expression (sqlparser's message).
    Syntax(String),
    /// An expression parsed, then more text followed (the token found).
    TrailingText(String),
    /// A `(SELECT ...)`, `EXISTS (...)` or `IN (SELECT ...)`.
    Subquery,
    /// A function that reads files, other databases or engine state.
    Function(String),
    /// Longer than [`MAX_RULE_BYTES`] (its length).
    TooLong(usize),
}

/// The longest rule text accepted (the library's longest is under 1 KB); longer ones are refused
/// before parsing, which bounds the parser's time and the tree's depth.
pub const MAX_RULE_BYTES: usize = 64 * 1024;

/// A refused snippet: the kind and where in the rendered snippet (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardError {
    pub kind: GuardKind,
    pub line: usize,
    pub col: usize,
}

impl GuardError {
    /// The diagnostic's message for the snippet of `owner`.
    pub fn message(&self, owner: &str) -> String {
        match &self.kind {
            GuardKind::Syntax(msg) => format!("the SQL of {owner} does not parse as an expression: {msg}"),
            GuardKind::TrailingText(tok) => format!("the SQL of {owner} is more than one expression: unexpected `{tok}`"),
            GuardKind::TooLong(bytes) => format!("the SQL of {owner} is {bytes} bytes long, more than the limit of {MAX_RULE_BYTES}"),
            GuardKind::Subquery => format!("the SQL of {owner} contains a subquery"),
            GuardKind::Function(name) => format!("the SQL of {owner} calls `{name}`, which reads outside the project's data"),
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> String {
        match &self.kind {
            GuardKind::Syntax(_) => "write one expression, e.g. `total_spent > 100 AND order_count >= 2`".into(),
            GuardKind::TrailingText(_) => "a rule is exactly one expression: no `;`, no unbalanced `)`, nothing after it".into(),
            GuardKind::TooLong(_) => "a rule is a short expression; move repeated parts into features".into(),
            GuardKind::Subquery => "rules read only their source's columns and features; compute what you need in a feature".into(),
            GuardKind::Function(_) => "rules cannot read files, other databases or settings; declare the data as a source in segmenter.yaml".into(),
        }
    }
}

/// Functions a rule may never call: they read files, attach or query other data, or expose
/// the engine's settings and catalog. Compared case-insensitively; entries ending in `_` are
/// prefixes.
const FORBIDDEN_FUNCTIONS: &[&str] = &[
    "read_", "glob", "query", "query_table", "sniff_csv", "parquet_", "duckdb_", "pragma_", "getenv",
    "current_setting", "load_extension", "install_extension", "iceberg_", "delta_scan", "postgres_",
    "sqlite_", "mysql_", "st_read", "json_execute_serialized_sql", "sql_auto_complete", "which_secret",
    "checkpoint", "force_checkpoint",
];

fn is_forbidden(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    FORBIDDEN_FUNCTIONS.iter().any(|f| match f.strip_suffix('_') {
        Some(_) => lower.starts_with(f),
        None => lower == *f,
    })
}

/// Parses `sql` as exactly one expression and refuses subqueries and forbidden functions.
pub fn check_expression(sql: &str) -> Result<Expr, GuardError> {
    if sql.len() > MAX_RULE_BYTES {
        return Err(GuardError { kind: GuardKind::TooLong(sql.len()), line: 1, col: 1 });
    }
    let dialect = DuckDbDialect {};
    let at = |loc: Location| (loc.line.max(1) as usize, loc.column.max(1) as usize);
    let mut parser = Parser::new(&dialect).try_with_sql(sql).map_err(|e| syntax(e, (1, 1)))?;
    let expr = match parser.parse_expr() {
        Ok(expr) => expr,
        Err(e) => {
            let next = parser.peek_token();
            // The end of the text has no span of its own: point just after the last character.
            let pos = if next.token == Token::EOF { end_of(sql) } else { at(next.span.start) };
            return Err(syntax(e, pos));
        }
    };
    let next = parser.peek_token();
    if next.token != Token::EOF {
        let (line, col) = at(next.span.start);
        return Err(GuardError { kind: GuardKind::TrailingText(next.token.to_string()), line, col });
    }
    let mut finder = Refused(None);
    let _ = expr.visit(&mut finder);
    match finder.0 {
        Some(kind) => Err(GuardError { kind, line: 1, col: 1 }),
        None => Ok(expr),
    }
}

/// 1-based line and column just after the last character of `sql`.
fn end_of(sql: &str) -> (usize, usize) {
    let trimmed = sql.trim_end();
    let line = trimmed.matches('\n').count() + 1;
    let col = trimmed.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn syntax(e: ParserError, (line, col): (usize, usize)) -> GuardError {
    let msg = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "nested too deeply".to_string(),
    };
    GuardError { kind: GuardKind::Syntax(msg), line, col }
}

/// Stops at the first refused node.
struct Refused(Option<GuardKind>);

impl Visitor for Refused {
    type Break = ();

    // Any query, wherever the parser put it (a function argument, a lambda, ...).
    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.0 = Some(GuardKind::Subquery);
        ControlFlow::Break(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        let kind = match expr {
            Expr::Subquery(_) | Expr::Exists { .. } => Some(GuardKind::Subquery),
            Expr::In { target: InTarget::Subquery(_) | InTarget::Table { .. }, .. } => Some(GuardKind::Subquery),
            Expr::Function(f) if matches!(f.args, FunctionArguments::Subquery(_)) => Some(GuardKind::Subquery),
            Expr::Function(f) => {
                let name = f.name.0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(".");
                let last = f.name.0.last().map(|p| p.to_string()).unwrap_or_default();
                (f.name.0.len() > 1 || is_forbidden(last.trim_matches('"'))).then_some(GuardKind::Function(name))
            }
            _ => None,
        };
        match kind {
            Some(k) => {
                self.0 = Some(k);
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(sql: &str) -> GuardKind {
        check_expression(sql).expect_err(sql).kind
    }

    #[test]
    fn accepts_the_library_shapes() {
        for sql in [
            "sum(amount)",
            "count(DISTINCT order_id) FILTER (WHERE amount > 0)",
            "total_spent / nullif(order_count, 0)",
            "date_diff('day', last_order_at, DATE '2026-06-30') <= 90",
            "list_filter(tags, x -> x LIKE 'a%')",
            "amount::DECIMAL(18,2) > 10 AND country IN ('DE', 'FR')",
            "CASE WHEN a > 1 THEN 'x' ELSE 'y' END = 'x'",
            "order_count > greatest(3, stat('avg', 'order_count')) AND tenure_days >= 365",
            "arg_max(category, amount ORDER BY amount)",
            "(month(ordered_at) * 100 + day(ordered_at)) BETWEEN 1124 AND 1231",
        ] {
            assert!(check_expression(sql).is_ok(), "{sql}: {:?}", check_expression(sql));
        }
    }

    #[test]
    fn refuses_a_statement_after_the_rule() {
        let sql = "TRUE), FALSE); ATTACH '../evil.duckdb' AS e; SELECT coalesce((TRUE\n-- ATTACH-> CREATE->";
        let err = check_expression(sql).unwrap_err();
        assert_eq!((err.kind, err.line, err.col), (GuardKind::TrailingText(")".into()), 1, 5));
        assert_eq!(kind("amount > 1; DROP TABLE x"), GuardKind::TrailingText(";".into()));
    }

    #[test]
    fn refuses_subqueries_and_file_functions() {
        assert_eq!(kind("(SELECT count(*) FROM read_text('/etc/passwd')) > 0"), GuardKind::Subquery);
        assert_eq!(kind("EXISTS (SELECT 1)"), GuardKind::Subquery);
        assert_eq!(kind("a IN (SELECT 1)"), GuardKind::Subquery);
        assert_eq!(kind("len(glob('/etc/*')) > 0"), GuardKind::Function("glob".into()));
        assert_eq!(kind("READ_TEXT('/etc/passwd') IS NULL"), GuardKind::Function("READ_TEXT".into()));
        assert_eq!(kind("current_setting('home_directory') = ''"), GuardKind::Function("current_setting".into()));
        assert_eq!(kind("main.f(1)"), GuardKind::Function("main.f".into()));
    }
}
