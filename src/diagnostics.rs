//! User-facing problems in definitions, with a location, a code and a hint.
//!
//! Every stage that finds something wrong in what the user wrote produces a [`Diagnostic`];
//! stages collect them all instead of stopping at the first, and the CLI renders them as
//! `file:line:col: error[E201]: message` lines (or JSON).

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is: errors stop the pipeline, warnings are reported and the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a project file: a path relative to the project root, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, PartialOrd, Ord)]
pub struct Loc {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl Loc {
    pub fn new(file: impl Into<String>, line: usize, col: usize) -> Self {
        Loc { file: file.into(), line, col }
    }

    /// The location of a definition's `file:line` origin (column 1).
    pub fn from_origin(origin: &str) -> Self {
        match origin.rsplit_once(':') {
            Some((file, line)) => Loc::new(file, line.parse().unwrap_or(1), 1),
            None => Loc::file(origin),
        }
    }

    /// A location that names only the file (line 1, column 1).
    pub fn file(file: impl Into<String>) -> Self {
        Loc::new(file, 1, 1)
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One problem found in the project, pointing at where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code explained in docs/errors.md, e.g. `E201`.
    pub code: &'static str,
    #[serde(flatten)]
    pub loc: Loc,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The source line the location points at (filled in by [`attach_snippets`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, loc: Loc, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, code, loc, message: message.into(), hint: None, snippet: None }
    }

    pub fn warning(code: &'static str, loc: Loc, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, code, loc, message: message.into(), hint: None, snippet: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The one-line form followed by the offending line and a caret under the column.
    pub fn with_snippet_lines(&self) -> String {
        let mut out = self.to_string();
        if let Some(line) = &self.snippet {
            let num = self.loc.line.to_string();
            let pad = " ".repeat(num.len());
            let caret_at: String = line.chars().take(self.loc.col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            out.push_str(&format!("\n {num} | {line}\n {pad} | {caret_at}^"));
        }
        out
    }
}

/// Fill in `snippet` with the line each diagnostic points at (files read once, lossily).
pub fn attach_snippets(diags: &mut [Diagnostic], root: &std::path::Path) {
    let mut cache: std::collections::HashMap<String, Option<Vec<String>>> = std::collections::HashMap::new();
    for d in diags.iter_mut() {
        if d.snippet.is_some() || d.loc.file.is_empty() {
            continue;
        }
        let lines = cache.entry(d.loc.file.clone()).or_insert_with(|| {
            let bytes = std::fs::read(root.join(&d.loc.file)).ok()?;
            // Big files are not worth reading for one line of context.
            (bytes.len() <= 8 << 20).then(|| String::from_utf8_lossy(&bytes).lines().map(str::to_string).collect())
        });
        if let Some(text) = lines.as_ref().and_then(|l| l.get(d.loc.line.wrapping_sub(1))) {
            let text: String = text.trim_end().chars().take(240).collect();
            // A location known only by line points at the line's first character.
            if d.loc.col == 1 {
                d.loc.col = text.chars().take_while(|c| *c == ' ').count() + 1;
            }
            if !text.trim().is_empty() {
                d.snippet = Some(text);
            }
        }
    }
}

impl fmt::Display for Diagnostic {
    /// One line: `file:line:col: error[E201]: message; hint: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {}[{}]: {}", self.loc, sev, self.code, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; hint: {h}")?;
        }
        Ok(())
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score > best.map_or(0.0, |b| b.0) {
            best = Some((score, c));
        }
    }
    best.filter(|(s, _)| *s >= 0.8).map(|(_, c)| format!("did you mean '{c}'?"))
}

/// Sort diagnostics by file and position, errors first within a place.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| (&a.loc, a.severity, a.code).cmp(&(&b.loc, b.severity, b.code)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_line_with_hint() {
        let d = Diagnostic::error("E201", Loc::new("segments/value.yaml", 14, 9), "unknown feature 'totl_spent'")
            .with_hint("did you mean 'total_spent'?");
        assert_eq!(
            d.to_string(),
            "segments/value.yaml:14:9: error[E201]: unknown feature 'totl_spent'; hint: did you mean 'total_spent'?"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let c = ["total_spent", "order_count"];
        assert_eq!(did_you_mean("totl_spent", c).as_deref(), Some("did you mean 'total_spent'?"));
        assert_eq!(did_you_mean("zzz", c), None);
    }
}
