//! Rules in Spark SQL: the portable function set and the rewrite of a rule's tree from DuckDB's
//! spelling to Spark's.
//!
//! A rule is parsed once (DuckDB dialect). For Spark the tree is rewritten bottom-up: functions
//! of the portable set get their Spark name or an equivalent expression (`date_diff('day', a,
//! b)` becomes `datediff(b, a)`), `::` casts become `CAST`, type names and list literals get
//! Spark's spelling, double-quoted names become backquoted, and string literals that hold a
//! quote or a backslash are rebuilt from pieces (Spark reads backslash escapes and joins
//! adjacent literals, so DuckDB's `'O''Hare'` would mean something else there). Anything with
//! no Spark spelling is reported with its position, so `validate --engine spark` can point at it.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Value, ValueWithSpan,
};
use sqlparser::tokenizer::Span;
use super::tree::{binary, call, empty_function, nested, number};
use std::ops::ControlFlow;

/// A construct of a rule that Spark cannot run, at a 1-based line and column of the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unportable {
    /// What it is: "function `list_filter`", "a lambda (`x -> ...`)", "type HUGEINT".
    pub what: String,
    /// The portable way to say it.
    pub hint: String,
    pub line: usize,
    pub col: usize,
}

/// How a function of the portable set is spelled on Spark.
#[derive(Debug, Clone, Copy)]
pub enum Spelling {
    /// Same name and arguments.
    Same,
    /// Another name, same arguments.
    Renamed(&'static str),
    /// An equivalent expression, described for the docs.
    Rewritten(&'static str),
}

/// One function rules may use on every engine.
#[derive(Debug, Clone, Copy)]
pub struct Portable {
    /// The DuckDB name (lowercase).
    pub name: &'static str,
    pub spark: Spelling,
}

const fn same(name: &'static str) -> Portable {
    Portable { name, spark: Spelling::Same }
}

const fn renamed(name: &'static str, spark: &'static str) -> Portable {
    Portable { name, spark: Spelling::Renamed(spark) }
}

const fn rewritten(name: &'static str, spark: &'static str) -> Portable {
    Portable { name, spark: Spelling::Rewritten(spark) }
}

/// The functions rules may call on every engine, with their Spark spelling (docs/language.md
/// prints this list; a test keeps the two equal).
pub const PORTABLE: &[Portable] = &[
    // aggregates
    same("count"), same("sum"), same("avg"), same("min"), same("max"), same("median"),
    same("stddev"), same("stddev_samp"), same("stddev_pop"), same("var_samp"), same("var_pop"),
    same("bool_or"), same("bool_and"), same("count_if"), same("any_value"),
    renamed("quantile_cont", "percentile"), renamed("arg_max", "max_by"), renamed("arg_min", "min_by"),
    renamed("list", "collect_list"), renamed("array_agg", "collect_list"),
    rewritten("string_agg", "listagg(x, sep) WITHIN GROUP (ORDER BY ...), or array_join(collect_list(x), sep) without ORDER BY"),
    // dates
    rewritten("date_diff", "datediff(b, a) for 'day'; month and year differences from year() and month()"),
    rewritten("date_sub", "whole days, months or years from datediff, year(), month() and dayofmonth()"),
    same("date_trunc"), same("year"), same("month"), same("day"), same("dayofmonth"), same("quarter"),
    same("hour"), same("minute"), same("make_date"), same("last_day"), same("current_date"),
    rewritten("dayofweek", "dayofweek(x) - 1 (0 = Sunday, as in DuckDB)"),
    rewritten("isodow", "(dayofweek(x) + 5) % 7 + 1 (1 = Monday)"),
    // strings
    same("lower"), same("upper"), same("length"), renamed("strlen", "length"), same("trim"), same("ltrim"),
    same("rtrim"), same("replace"), same("concat"), same("substring"), same("substr"), same("lpad"),
    same("rpad"), same("left"), same("right"), same("split_part"), renamed("starts_with", "startswith"),
    renamed("ends_with", "endswith"), same("contains"), renamed("regexp_matches", "regexp_like"),
    // math
    same("abs"), same("round"), same("floor"), same("ceil"), same("ceiling"), same("sqrt"), same("exp"),
    same("ln"), renamed("log", "log10"), same("log10"), same("log2"), same("pow"), same("power"), same("sign"),
    same("greatest"), same("least"),
    // conditionals and lists
    same("coalesce"), same("nullif"), same("if"), same("ifnull"), renamed("list_contains", "array_contains"),
];

/// DuckDB-only functions people reach for, and the portable way to say the same.
const ALTERNATIVES: &[(&str, &str)] = &[
    ("quantile", "use quantile_cont(x, q) (the continuous quantile)"),
    ("quantile_disc", "use quantile_cont(x, q) (the continuous quantile)"),
    ("datediff", "use date_diff('day', a, b)"),
    ("datesub", "use date_sub('year', a, b)"),
    ("strftime", "compare dates with year(), month() and day() instead of formatting them"),
    ("epoch", "use date_diff('day', a, b) for a difference in days"),
    ("list_filter", "count or sum with FILTER (WHERE ...) in a feature instead"),
    ("list_transform", "compute the value per row in a feature instead"),
    ("string_split", "use split_part(s, sep, n)"),
    ("regexp_full_match", "use regexp_matches(s, pattern) with ^...$"),
];

/// The portable entry of function `name`.
pub fn portable(name: &str) -> Option<&'static Portable> {
    let lower = name.to_ascii_lowercase();
    PORTABLE.iter().find(|p| p.name == lower)
}

/// `expr` (a rule parsed with the DuckDB dialect) spelled for Spark, or everything in it that
/// has no Spark spelling.
pub fn to_spark(expr: &Expr) -> Result<Expr, Vec<Unportable>> {
    let mut out = expr.clone();
    let mut problems = Vec::new();
    let _ = sqlparser::ast::visit_expressions_mut(&mut out, |e| {
        if let Err(p) = rewrite(e) {
            problems.push(p);
        }
        ControlFlow::<()>::Continue(())
    });
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort_by_key(|p| (p.line, p.col));
        Err(problems)
    }
}

fn at(span: Span) -> (usize, usize) {
    (span.start.line.max(1) as usize, span.start.column.max(1) as usize)
}

fn unportable(span: Span, what: String, hint: &str) -> Unportable {
    let (line, col) = at(span);
    Unportable { what, hint: hint.to_string(), line, col }
}

/// Rewrite one node whose children are already rewritten.
fn rewrite(e: &mut Expr) -> Result<(), Unportable> {
    match e {
        Expr::Function(f) => rewrite_call(e_take_function(f)).map(|new| *e = new),
        Expr::Cast { kind, data_type, expr, .. } => {
            let span = expr_span(expr);
            *data_type = spark_type(data_type).ok_or_else(|| {
                unportable(span, format!("type {data_type}"), "cast to VARCHAR, INTEGER, BIGINT, DOUBLE, DECIMAL(p,s), DATE, TIMESTAMP or BOOLEAN")
            })?;
            if *kind == CastKind::DoubleColon {
                *kind = CastKind::Cast;
            }
            Ok(())
        }
        Expr::Identifier(id) => {
            backquote(id);
            Ok(())
        }
        Expr::CompoundIdentifier(ids) => {
            ids.iter_mut().for_each(backquote);
            Ok(())
        }
        Expr::Value(v) => {
            if let Value::SingleQuotedString(s) = &v.value {
                if s.contains('\'') || s.contains('\\') {
                    *e = string_from_pieces(s);
                }
            }
            Ok(())
        }
        Expr::Array(a) => {
            *e = call("array", std::mem::take(&mut a.elem));
            Ok(())
        }
        Expr::IsDistinctFrom(a, b) => {
            let spaceship = Expr::BinaryOp { left: a.clone(), op: BinaryOperator::Spaceship, right: b.clone() };
            *e = Expr::UnaryOp { op: sqlparser::ast::UnaryOperator::Not, expr: Box::new(Expr::Nested(Box::new(spaceship))) };
            Ok(())
        }
        Expr::IsNotDistinctFrom(a, b) => {
            *e = Expr::BinaryOp { left: a.clone(), op: BinaryOperator::Spaceship, right: b.clone() };
            Ok(())
        }
        other => check_construct(other),
    }
}

/// Constructs DuckDB has and Spark does not.
fn check_construct(e: &Expr) -> Result<(), Unportable> {
    let span = expr_span(e);
    let what = match e {
        Expr::Lambda(_) => "a lambda (`x -> ...`)",
        Expr::CompoundFieldAccess { .. } => "a subscript or field access (`l[1]`, `s.f`)",
        Expr::Dictionary(_) | Expr::Map(_) | Expr::Struct { .. } => "a struct or map literal",
        Expr::SimilarTo { .. } => "SIMILAR TO",
        Expr::Collate { .. } => "COLLATE",
        _ => return Ok(()),
    };
    Err(unportable(span, what.to_string(), "compute it in a feature with the portable functions (docs/language.md, Engines and portable functions)"))
}

fn e_take_function(f: &mut Function) -> Function {
    std::mem::replace(f, empty_function())
}

fn function_name(f: &Function) -> (String, Span) {
    match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => (id.value.to_ascii_lowercase(), id.span),
        _ => (f.name.to_string(), Span::empty()),
    }
}

/// A call to a portable function in Spark's spelling.
fn rewrite_call(mut f: Function) -> Result<Expr, Unportable> {
    let (name, span) = function_name(&f);
    // segmenter's own `stat()` and `segment()`: replaced before the rule reaches an engine.
    if name == "stat" || name == "segment" {
        return Ok(Expr::Function(f));
    }
    let Some(p) = portable(&name) else {
        let hint = ALTERNATIVES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| *h)
            .unwrap_or("use a function of the portable set (docs/language.md, Engines and portable functions)");
        return Err(unportable(span, format!("function `{name}`"), hint));
    };
    match p.spark {
        Spelling::Same => Ok(Expr::Function(f)),
        Spelling::Renamed(to) => {
            f.name = ObjectName::from(vec![Ident::new(to)]);
            Ok(Expr::Function(f))
        }
        Spelling::Rewritten(_) => rewrite_special(&name, f, span),
    }
}

fn rewrite_special(name: &str, f: Function, span: Span) -> Result<Expr, Unportable> {
    match name {
        "date_diff" | "date_sub" => date_difference(name, &f, span),
        "dayofweek" => Ok(binary(call("dayofweek", plain_args(&f)), BinaryOperator::Minus, number("1"))),
        "isodow" => {
            // (dayofweek(x) + 5) % 7 + 1: Monday 1 .. Sunday 7.
            let shifted = nested(binary(call("dayofweek", plain_args(&f)), BinaryOperator::Plus, number("5")));
            Ok(binary(binary(shifted, BinaryOperator::Modulo, number("7")), BinaryOperator::Plus, number("1")))
        }
        _ => string_agg(f, span),
    }
}

/// `string_agg(x, sep ORDER BY k)` as `listagg(x, sep) WITHIN GROUP (ORDER BY k)`.
fn string_agg(mut f: Function, span: Span) -> Result<Expr, Unportable> {
    let FunctionArguments::List(list) = &mut f.args else {
        return Err(unportable(span, "string_agg without arguments".into(), "write string_agg(x, ';')"));
    };
    let order: Vec<_> = list
        .clauses
        .drain(..)
        .filter_map(|c| match c {
            FunctionArgumentClause::OrderBy(o) => Some(o),
            _ => None,
        })
        .flatten()
        .collect();
    f.name = ObjectName::from(vec![Ident::new("listagg")]);
    f.within_group = order;
    Ok(Expr::Function(f))
}

/// `date_diff(unit, a, b)` (boundaries crossed) and `date_sub(unit, a, b)` (whole units) for
/// the units day, month and year.
fn date_difference(name: &str, f: &Function, span: Span) -> Result<Expr, Unportable> {
    let args = plain_args(f);
    let unit = match args.first() {
        Some(Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(u), .. })) => u.to_ascii_lowercase(),
        _ => String::new(),
    };
    let hint = "write the unit as 'day', 'month' or 'year'";
    let [_, a, b] = args.as_slice() else {
        return Err(unportable(span, format!("{name} with {} arguments", args.len()), hint));
    };
    let years = binary(call("year", vec![b.clone()]), BinaryOperator::Minus, call("year", vec![a.clone()]));
    let months = binary(
        binary(nested(years.clone()), BinaryOperator::Multiply, number("12")),
        BinaryOperator::Plus,
        nested(binary(call("month", vec![b.clone()]), BinaryOperator::Minus, call("month", vec![a.clone()]))),
    );
    // date_sub counts whole units: one less when b's day in the month (for months) or in the
    // year (for years) comes before a's.
    let day_key = |x: &Expr| binary(binary(call("month", vec![x.clone()]), BinaryOperator::Multiply, number("100")), BinaryOperator::Plus, call("dayofmonth", vec![x.clone()]));
    let unfinished = |earlier: Expr| -> Expr {
        Expr::Case {
            case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
            end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
            operand: None,
            conditions: vec![sqlparser::ast::CaseWhen { condition: earlier, result: number("1") }],
            else_result: Some(Box::new(number("0"))),
        }
    };
    Ok(match (name, unit.as_str()) {
        (_, "day") => call("datediff", vec![b.clone(), a.clone()]),
        ("date_diff", "month") => months,
        ("date_diff", "year") => years,
        ("date_sub", "month") => {
            let earlier = binary(call("dayofmonth", vec![b.clone()]), BinaryOperator::Lt, call("dayofmonth", vec![a.clone()]));
            binary(nested(months), BinaryOperator::Minus, unfinished(earlier))
        }
        ("date_sub", "year") => binary(years, BinaryOperator::Minus, unfinished(binary(day_key(b), BinaryOperator::Lt, day_key(a)))),
        _ => return Err(unportable(span, format!("{name} with unit '{unit}'"), hint)),
    })
}

fn plain_args(f: &Function) -> Vec<Expr> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A string holding quotes or backslashes, as `concat` of plain pieces and `chr(39)`/`chr(92)`.
fn string_from_pieces(s: &str) -> Expr {
    let mut parts = Vec::new();
    let mut piece = String::new();
    for c in s.chars() {
        let code = match c {
            '\'' => "39",
            '\\' => "92",
            _ => {
                piece.push(c);
                continue;
            }
        };
        if !piece.is_empty() {
            parts.push(Expr::value(Value::SingleQuotedString(std::mem::take(&mut piece))));
        }
        parts.push(call("chr", vec![number(code)]));
    }
    if !piece.is_empty() {
        parts.push(Expr::value(Value::SingleQuotedString(piece)));
    }
    call("concat", parts)
}

fn backquote(id: &mut Ident) {
    if id.quote_style.is_some() {
        id.quote_style = Some('`');
    }
}

/// Spark's name for a type rules may cast to.
fn spark_type(t: &DataType) -> Option<DataType> {
    let spark = spark_type_name(&t.to_string())?;
    Some(DataType::Custom(ObjectName::from(vec![Ident::new(spark)]), vec![]))
}

/// Spark's name for a type written in DuckDB's spelling (`VARCHAR`, `DECIMAL(18,2)`), or `None`
/// for a type rules may not use on Spark.
pub fn spark_type_name(ty: &str) -> Option<String> {
    let printed = ty.trim().to_ascii_uppercase();
    let (base, args) = printed.split_once('(').map_or((printed.as_str(), ""), |(b, a)| (b, a));
    Some(match base.trim() {
        "VARCHAR" | "TEXT" | "STRING" | "CHAR" => "STRING".to_string(),
        "INTEGER" | "INT" | "INT4" => "INT".to_string(),
        "BIGINT" | "INT8" => "BIGINT".to_string(),
        "SMALLINT" => "SMALLINT".to_string(),
        "DOUBLE" | "FLOAT8" | "DOUBLE PRECISION" => "DOUBLE".to_string(),
        "FLOAT" | "REAL" | "FLOAT4" => "FLOAT".to_string(),
        "DECIMAL" | "NUMERIC" if args.is_empty() => "DECIMAL(18,3)".to_string(),
        "DECIMAL" | "NUMERIC" => format!("DECIMAL({}", args.replace(' ', "")),
        "DATE" => "DATE".to_string(),
        "TIMESTAMP" => "TIMESTAMP".to_string(),
        "BOOLEAN" | "BOOL" => "BOOLEAN".to_string(),
        _ => return None,
    })
}

fn expr_span(e: &Expr) -> Span {
    use sqlparser::ast::{OneOrManyWithParens, Spanned};
    match e {
        // A lambda has no span of its own: point at its first parameter.
        Expr::Lambda(l) => match &l.params {
            OneOrManyWithParens::One(p) => p.name.span,
            OneOrManyWithParens::Many(ps) => ps.first().map_or(Span::empty(), |p| p.name.span),
        },
        _ => e.span(),
    }
}

#[cfg(test)]
mod tests;
