//! minijinja rendering of the SQL snippets in definitions.
//!
//! Every `{{ value }}` prints as a SQL literal (strings quoted and escaped, numbers as numbers,
//! lists as `(a, b)`), so vars can never inject SQL; output marked safe (macro results, `as_of`,
//! `| safe`) is pasted as is. Undefined names are errors (strict mode). `stat()` and `segment()`
//! render as calls of those names (`stat('avg', 'order_count')`), which stay nodes of the
//! rule's parsed tree: validation reads them from the tree ([`crate::compile::tree::Rule::refs`])
//! and the compiler replaces those nodes with real SQL.

use crate::project::MacroFile;
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A call of segmenter's own functions in a rule, resolved by the compiler.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateRef {
    /// A population statistic over a feature: `stat('avg', 'order_count')`.
    Stat { func: StatFunc, feature: String },
    /// Another segment's rule, inlined: `segment('loyal')`.
    Segment(String),
}

/// Population statistics available to `stat()`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatFunc {
    Avg,
    Min,
    Max,
    Median,
    Sum,
    Stddev,
    Count,
    /// `quantile_cont(x, q)`.
    Quantile(f64),
}

impl StatFunc {
    /// The call that stands for this statistic of `feature` in a rule.
    pub fn call(self, feature: &str) -> String {
        let name = match self {
            StatFunc::Avg => "avg",
            StatFunc::Min => "min",
            StatFunc::Max => "max",
            StatFunc::Median => "median",
            StatFunc::Sum => "sum",
            StatFunc::Stddev => "stddev",
            StatFunc::Count => "count",
            StatFunc::Quantile(q) => return format!("stat('quantile', {}, {q})", quote_string(feature)),
        };
        format!("stat('{name}', {})", quote_string(feature))
    }

    /// Parse `avg`, `median`, `p90`, or `quantile` with an explicit q.
    pub fn parse(name: &str, q: Option<f64>) -> Result<StatFunc, String> {
        let f = match name.to_ascii_lowercase().as_str() {
            "avg" | "mean" => StatFunc::Avg,
            "min" => StatFunc::Min,
            "max" => StatFunc::Max,
            "median" => StatFunc::Median,
            "sum" => StatFunc::Sum,
            "stddev" => StatFunc::Stddev,
            "count" => StatFunc::Count,
            "quantile" => match q {
                Some(q) if (0.0..=1.0).contains(&q) => StatFunc::Quantile(q),
                _ => return Err("quantile needs a third argument between 0 and 1, e.g. stat('quantile', 'total_spent', 0.9)".into()),
            },
            p if p.starts_with('p') && p.len() > 1 && p[1..].chars().all(|c| c.is_ascii_digit()) => {
                let n: f64 = p[1..].parse().map_err(|_| format!("bad percentile '{p}'"))?;
                if n > 100.0 {
                    return Err(format!("percentile '{p}' is above p100"));
                }
                StatFunc::Quantile(n / 100.0)
            }
            other => {
                return Err(format!(
                    "unknown statistic '{other}'; use avg, min, max, median, sum, stddev, count, p90 or quantile"
                ))
            }
        };
        Ok(f)
    }
}

/// A rendered snippet: SQL text and, once validation parsed it as a rule, its tree and the
/// `stat()`/`segment()` calls in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub sql: String,
    /// Vars the project does not set that the snippet read with a default: (name, the default
    /// as SQL), so that validation can notice one var given different defaults.
    pub defaults: Vec<(String, String)>,
}

/// A template failure mapped to a line of the snippet (1-based) when minijinja knows it.
#[derive(Debug, Clone)]
pub struct RenderError {
    pub line: Option<usize>,
    pub message: String,
    pub hint: String,
}

/// The environment all snippets of a project render in.
pub struct Templates {
    env: Environment<'static>,
    defaults: Arc<Mutex<Vec<(String, String)>>>,
    /// The message and hint of the last error our own template functions raised (minijinja
    /// errors carry one text; the hint travels beside it).
    failure: Arc<Mutex<Option<(String, String)>>>,
    /// `{% import %}` lines for every macro file, prepended (on the same line) to each template.
    prelude: String,
}

/// Render `v` as a SQL literal.
pub fn sql_literal(v: &Value) -> Result<String, Error> {
    Ok(match v.kind() {
        ValueKind::None | ValueKind::Undefined => "NULL".to_string(),
        ValueKind::Bool => if v.is_true() { "TRUE" } else { "FALSE" }.to_string(),
        ValueKind::Number => v.to_string(),
        ValueKind::String => {
            if v.is_safe() {
                v.as_str().unwrap_or_default().to_string()
            } else {
                quote_string(v.as_str().unwrap_or_default())
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Result<Vec<String>, Error> = v.try_iter()?.map(|x| sql_literal(&x)).collect();
            format!("({})", items?.join(", "))
        }
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("a {other} cannot be printed into SQL; print its fields one by one"),
            ))
        }
    })
}

/// Instructions one snippet's rendering may take (the library's largest takes a few hundred).
pub const TEMPLATE_FUEL: u64 = 100_000;

/// The longest text a snippet may render to.
pub const MAX_RENDERED_BYTES: usize = 64 * 1024;

/// A SQL string literal with single quotes doubled.
pub fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Templates {
    /// Build the environment: project vars for `var()`, `as_of` as a DATE literal, macro files.
    pub fn new(vars: &BTreeMap<String, serde_yaml::Value>, as_of: &str, macros: &[MacroFile]) -> Result<Templates, (String, usize, String)> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // A loop that never ends (or runs for minutes) stops with an error instead of hanging.
        env.set_fuel(Some(TEMPLATE_FUEL));
        // A custom escape mode (handled by the formatter below) makes macro output safe SQL.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Custom("sql"));
        env.set_formatter(|out, _state, value| {
            let s = sql_literal(value)?;
            out.write_str(&s).map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"))
        });
        env.add_global("as_of", Value::from_safe_string(format!("DATE '{as_of}'")));
        let vars: BTreeMap<String, Value> = vars.iter().map(|(k, v)| (k.clone(), Value::from_serialize(v))).collect();
        let names: Vec<String> = vars.keys().cloned().collect();
        // `default` is variadic so that an explicit `none` default (SQL NULL) counts as given.
        let defaults: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let used = defaults.clone();
        let failure: Arc<Mutex<Option<(String, String)>>> = Arc::default();
        let failed = failure.clone();
        env.add_function("var", move |name: String, default: minijinja::value::Rest<Value>| -> Result<Value, Error> {
            if default.len() > 1 {
                return Err(Error::new(ErrorKind::TooManyArguments, "var() takes a name and an optional default"));
            }
            match (vars.get(&name), default.first().cloned()) {
                (Some(v), _) => Ok(v.clone()),
                (None, Some(d)) => {
                    let shown = sql_literal(&d).unwrap_or_else(|_| d.to_string());
                    used.lock().unwrap_or_else(|p| p.into_inner()).push((name, shown));
                    Ok(d)
                }
                (None, None) => {
                    let hint = crate::diagnostics::did_you_mean(&name, names.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("define it under `vars:` in segmenter.yaml or give a default: var('{name}', 10)"));
                    let message = format!("unknown var '{name}'");
                    *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some((message.clone(), hint));
                    Err(Error::new(ErrorKind::UndefinedError, message))
                }
            }
        });
        env.add_function("stat", move |func: String, feature: String, q: Option<f64>| -> Result<Value, Error> {
            let func = StatFunc::parse(&func, q).map_err(|m| Error::new(ErrorKind::InvalidOperation, m))?;
            Ok(Value::from_safe_string(func.call(&feature)))
        });
        env.add_function("segment", move |name: String| -> Result<Value, Error> {
            Ok(Value::from_safe_string(format!("segment({})", quote_string(&name))))
        });
        let mut prelude = String::new();
        for m in macros {
            let stem = std::path::Path::new(&m.path).file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if !crate::validate::is_valid_name(stem) {
                return Err((m.path.clone(), 1, format!("macro file name '{stem}' is not a valid identifier")));
            }
            env.add_template_owned(m.path.clone(), m.text.clone()).map_err(|e| (m.path.clone(), e.line().unwrap_or(1), describe(&e)))?;
            prelude.push_str(&format!("{{% import {:?} as {stem} %}}", m.path));
        }
        Ok(Templates { env, defaults, failure, prelude })
    }

    /// Render one snippet. `name` appears in minijinja's own messages (use `file:line`).
    pub fn render(&self, name: &str, text: &str) -> Result<Rendered, RenderError> {
        if !(text.contains("{{") || text.contains("{%") || text.contains("{#")) {
            return Ok(Rendered { sql: text.to_string(), defaults: Vec::new() });
        }
        // The lock is only held around clear/take: the template functions lock it while rendering.
        self.defaults.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).take();
        let source = format!("{}{}", self.prelude, text);
        let out = self.env.render_named_str(name, &source, ());
        let defaults = std::mem::take(&mut *self.defaults.lock().unwrap_or_else(|p| p.into_inner()));
        let err = match out {
            Ok(sql) if sql.len() > MAX_RENDERED_BYTES => {
                return Err(RenderError {
                    line: None,
                    message: format!("template error: the snippet renders to {} bytes, more than the limit of {MAX_RENDERED_BYTES}", sql.len()),
                    hint: "a rule is a short expression; check the loops in {% for %}".into(),
                })
            }
            Ok(sql) => return Ok(Rendered { sql, defaults }),
            Err(e) => e,
        };
        // Strict undefined errors carry no name: take it from the source span minijinja reports.
        // Only when the error is in this snippet: a range inside a macro file is not in `source`.
        let undefined = match (err.kind(), err.detail(), err.range(), err.name()) {
            (ErrorKind::UndefinedError, None, Some(range), Some(n)) if n == name => source.get(range).map(str::to_string),
            // The error is inside a macro file: take the name from that file's text.
            (ErrorKind::UndefinedError, None, Some(range), Some(n)) => {
                self.env.get_template(n).ok().and_then(|t| t.source().get(range).map(str::to_string))
            }
            _ => None,
        };
        let undefined = undefined.as_deref().map(str::trim);
        if let Some(name) = undefined.filter(|n| !n.is_empty()) {
            return Err(RenderError {
                line: err.line(),
                message: format!("template error: undefined name '{name}'"),
                hint: format!("a project var is written {{{{ var('{name}') }}}} (or with a default: var('{name}', 10)); the run date is {{{{ as_of }}}}"),
            });
        }
        let failure = self.failure.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((message, hint)) = failure.filter(|(m, _)| err.detail() == Some(m.as_str())) {
            return Err(RenderError { line: err.line(), message: format!("template error: {message}"), hint });
        }
        Err(RenderError { line: err.line(), message: describe(&err), hint: hint_for(&err) })
    }
}

fn describe(e: &Error) -> String {
    match e.detail() {
        Some(d) => format!("template error: {}: {d}", e.kind()),
        None => format!("template error: {}", e.kind()),
    }
}

fn hint_for(e: &Error) -> String {
    match e.kind() {
        ErrorKind::UndefinedError => {
            "names in {{ }} must be defined: use var('name', default) for project vars, as_of for the run date".into()
        }
        ErrorKind::UnknownFunction => "available functions: var, stat, segment, and macros from macros/".into(),
        ErrorKind::SyntaxError => "check the {{ }} and {% %} delimiters".into(),
        ErrorKind::OutOfFuel => format!("a snippet may take at most {TEMPLATE_FUEL} template instructions; check the loops in {{% for %}}"),
        _ => "see docs/language.md, section Templates".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        let mut vars = BTreeMap::new();
        vars.insert("threshold".to_string(), serde_yaml::Value::from(1000));
        vars.insert("country".to_string(), serde_yaml::Value::from("O'Hare"));
        Templates::new(&vars, "2026-06-30", &[]).unwrap()
    }

    #[test]
    fn vars_render_as_literals() {
        let t = templates();
        let r = t.render("x", "a > {{ var('threshold') }} AND c = {{ var('country') }} AND d <= {{ as_of }}").unwrap();
        assert_eq!(r.sql, "a > 1000 AND c = 'O''Hare' AND d <= DATE '2026-06-30'");
        assert_eq!(t.render("x", "{{ var('missing', [1, 2]) }}").unwrap().sql, "(1, 2)");
        assert_eq!(t.render("x", "{{ var('missing', none) }}").unwrap().sql, "NULL");
    }

    #[test]
    fn stat_and_segment_become_calls_in_the_tree() {
        let t = templates();
        let r = t.render("x", "n > {{ stat('p90', 'order_count') }} AND {{ segment('loyal') }}").unwrap();
        assert_eq!(r.sql, "n > stat('quantile', 'order_count', 0.9) AND segment('loyal')");
        assert_eq!(crate::compile::tree::Rule::parse(&r.sql).map(|r| r.refs()).unwrap_or_default(), vec![TemplateRef::Stat { func: StatFunc::Quantile(0.9), feature: "order_count".into() }, TemplateRef::Segment("loyal".into())]);
    }

    #[test]
    fn macro_output_is_sql_not_a_string_literal() {
        let m = MacroFile { path: "macros/d.sql".into(), text: "{% macro gt(col, n) %}{{ col | safe }} > {{ n }}{% endmacro %}".into() };
        let t = Templates::new(&BTreeMap::new(), "2026-06-30", &[m]).unwrap();
        assert_eq!(t.render("x", "{{ d.gt('amount', 'x') }}").unwrap().sql, "amount > 'x'");
    }

    #[test]
    fn undefined_names_are_errors() {
        let t = templates();
        let e = t.render("x", "a > {{ treshold }}").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert_eq!(e.message, "template error: undefined name 'treshold'");
        let e = t.render("x", "a > 1 AND\nb > {{ var('treshold') }}").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.message, "template error: unknown var 'treshold'");
        assert_eq!(e.hint, "did you mean 'threshold'?");
    }
}
