//! Stage 1, load: read `segmenter.yaml` and every `segments/**/*.yaml` into a typed [`Project`].
//!
//! Loading never stops at the first problem: every file is read and every YAML or schema error
//! becomes a [`Diagnostic`] with file, line and column.

pub mod environment;
pub mod model;
pub mod spans;

pub use environment::Environment;

use crate::diagnostics::{did_you_mean, Diagnostic, Loc};
use model::*;
use spans::SpanIndex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The project file's name at the project root.
pub const PROJECT_FILE: &str = "segmenter.yaml";
/// Folder with definition files.
pub const SEGMENTS_DIR: &str = "segments";
/// Folder with shared minijinja macro files (`*.jinja`).
pub const MACROS_DIR: &str = "macros";

/// JSON Schemas of the project file and of definition files, for editors and CI.
pub mod schema {
    /// `segmenter.yaml`.
    pub fn project() -> String {
        let schema = schemars::schema_for!(super::model::ProjectConfig);
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    }

    /// `segments/*.yaml`.
    pub fn definitions() -> String {
        let schema = schemars::schema_for!(super::model::DefinitionFile);
        serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
    }

    /// Committed copies (kept current by a test): `schema/<name>`.
    pub const FILES: [(&str, fn() -> String); 2] = [("segmenter.schema.json", project), ("definitions.schema.json", definitions)];
}

/// A file that was read, with the index of where its nodes are.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
    pub spans: SpanIndex,
}

/// A definition together with where it was written.
#[derive(Debug, Clone)]
pub struct Item<T> {
    pub def: T,
    /// Index into [`Project::files`].
    pub file: usize,
    /// YAML path of the item, e.g. `segments.3`.
    pub path: String,
}

/// A shared macro file, registered as a template under its relative path.
#[derive(Debug, Clone)]
pub struct MacroFile {
    pub path: String,
    pub text: String,
}

/// Everything the later stages need, read from disk once.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub config: ProjectConfig,
    /// `files[0]` is the project file; the rest are definition files in path order.
    pub files: Vec<SourceFile>,
    pub features: Vec<Item<FeatureDef>>,
    pub segments: Vec<Item<SegmentDef>>,
    pub tiers: Vec<Item<TierLadder>>,
    pub scores: Vec<Item<ScoreDef>>,
    pub tests: Vec<Item<FixtureTest>>,
    pub assertions: Vec<Item<Assertion>>,
    pub models: Vec<Item<ModelDef>>,
    pub macros: Vec<MacroFile>,
}

impl Project {
    /// Location of `field` inside an item (or of the item itself when `field` is empty).
    pub fn loc<T>(&self, item: &Item<T>, field: &str) -> Loc {
        let path = if field.is_empty() { item.path.clone() } else { format!("{}.{}", item.path, field) };
        self.loc_at(item.file, &path)
    }

    /// Location of the node at `path` in file `file`; falls back to the closest indexed parent.
    pub fn loc_at(&self, file: usize, path: &str) -> Loc {
        self.files.get(file).map_or_else(Loc::default, |f| f.loc(path))
    }

    /// Location of the key of `field` (where `field:` is written).
    pub fn key_loc<T>(&self, item: &Item<T>, field: &str) -> Loc {
        let path = format!("{}.{}", item.path, field);
        match self.files.get(item.file).and_then(|f| f.spans.key(&path).map(|p| (f, p))) {
            Some((f, (line, col))) => Loc::new(&f.path, line, col),
            None => self.loc(item, field),
        }
    }

    /// Location of a key in the project file, e.g. `sources.orders.path`.
    pub fn config_loc(&self, path: &str) -> Loc {
        self.loc_at(0, path)
    }
}

impl SourceFile {
    /// Location of the node at `path`; falls back to the closest indexed parent.
    fn loc(&self, path: &str) -> Loc {
        let mut p = path.to_string();
        loop {
            if let Some((line, col)) = self.spans.value(&p) {
                return Loc::new(&self.path, line, col);
            }
            match p.rfind('.') {
                Some(i) => p.truncate(i),
                None => return Loc::file(&self.path),
            }
        }
    }
}

/// A loaded project (possibly partial) plus every problem found while loading.
pub struct Loaded {
    pub project: Option<Project>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Read the project at `root`. `project` is `None` only when the project file itself is unusable.
pub fn load_project(root: &Path) -> Loaded {
    load_project_in(root, &Environment::default())
}

/// [`load_project`] with a target, environment variables and `--database` applied (see
/// [`environment`]).
pub fn load_project_in(root: &Path, env: &Environment) -> Loaded {
    let mut diags = Vec::new();
    let config_path = root.join(PROJECT_FILE);
    let Some(text) = read_text(&config_path, PROJECT_FILE, &mut diags) else {
        return Loaded { project: None, diagnostics: diags };
    };
    if let Some(d) = too_deep(&text, PROJECT_FILE) {
        diags.push(d);
        return Loaded { project: None, diagnostics: diags };
    }
    let spans = SpanIndex::build(&text);
    if let Some(d) = duplicate_key(&spans, PROJECT_FILE) {
        diags.push(d);
        return Loaded { project: None, diagnostics: diags };
    }
    let mut config: ProjectConfig = match parse_yaml(&text, PROJECT_FILE) {
        Ok(c) => c,
        Err(d) => {
            diags.push(d);
            return Loaded { project: None, diagnostics: diags };
        }
    };
    let file = SourceFile { path: PROJECT_FILE.to_string(), spans };
    let env_problems = environment::apply(&mut config, env, &|path| file.loc(path));
    if !env_problems.is_empty() {
        diags.extend(env_problems);
        return Loaded { project: None, diagnostics: diags };
    }
    let mut project = Project {
        root: root.to_path_buf(),
        config,
        files: vec![file],
        features: Vec::new(),
        segments: Vec::new(),
        tiers: Vec::new(),
        scores: Vec::new(),
        tests: Vec::new(),
        assertions: Vec::new(),
        models: Vec::new(),
        macros: Vec::new(),
    };
    for rel in list_files(root, SEGMENTS_DIR, &["yaml", "yml"]) {
        load_definition_file(&mut project, &rel, &mut diags);
    }
    for rel in list_files(root, MACROS_DIR, &["jinja", "j2", "sql"]) {
        if let Some(text) = read_text(&root.join(&rel), &rel, &mut diags) {
            project.macros.push(MacroFile { path: rel, text });
        }
    }
    Loaded { project: Some(project), diagnostics: diags }
}

fn load_definition_file(project: &mut Project, rel: &str, diags: &mut Vec<Diagnostic>) {
    let Some(text) = read_text(&project.root.join(rel), rel, diags) else { return };
    if is_blank_yaml(&text) {
        diags.push(
            Diagnostic::warning("W001", Loc::file(rel), "definition file is empty")
                .with_hint("add features, segments, tiers or scores, or delete the file"),
        );
        return;
    }
    if let Some(d) = too_deep(&text, rel) {
        diags.push(d);
        return;
    }
    let spans = SpanIndex::build(&text);
    if let Some(d) = duplicate_key(&spans, rel) {
        diags.push(d);
        return;
    }
    let def: DefinitionFile = match parse_yaml(&text, rel) {
        Ok(d) => d,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    let file = project.files.len();
    project.files.push(SourceFile { path: rel.to_string(), spans });
    let wrap = |kind: &str, i: usize| format!("{kind}.{i}");
    for (i, d) in def.features.into_iter().enumerate() {
        project.features.push(Item { def: d, file, path: wrap("features", i) });
    }
    for (i, d) in def.segments.into_iter().enumerate() {
        project.segments.push(Item { def: d, file, path: wrap("segments", i) });
    }
    for (i, d) in def.tiers.into_iter().enumerate() {
        project.tiers.push(Item { def: d, file, path: wrap("tiers", i) });
    }
    for (i, d) in def.scores.into_iter().enumerate() {
        project.scores.push(Item { def: d, file, path: wrap("scores", i) });
    }
    for (i, d) in def.tests.into_iter().enumerate() {
        project.tests.push(Item { def: d, file, path: wrap("tests", i) });
    }
    for (i, d) in def.assertions.into_iter().enumerate() {
        project.assertions.push(Item { def: d, file, path: wrap("assertions", i) });
    }
    for (i, d) in def.models.into_iter().enumerate() {
        project.models.push(Item { def: d, file, path: wrap("models", i) });
    }
}

/// The deepest `[`/`{` nesting a YAML file may use (definitions need 3 or 4).
pub const MAX_FLOW_DEPTH: usize = 64;

/// A file whose flow collections nest deeper than [`MAX_FLOW_DEPTH`]: refused before parsing,
/// whose time grows with the square of the depth. Brackets in quotes and comments do not count.
fn too_deep(text: &str, file: &str) -> Option<Diagnostic> {
    let mut depth = 0usize;
    for (n, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        for (col, c) in line.chars().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') if col == 0 || line[..line.char_indices().nth(col).map_or(0, |(b, _)| b)].ends_with([' ', '\t']) => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(
                            Diagnostic::error("E002", Loc::new(file, n + 1, col + 1), format!("YAML nested more than {MAX_FLOW_DEPTH} levels deep"))
                                .with_hint("definitions nest a few levels; check for unbalanced [ or {"),
                        );
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

/// True when a YAML text has nothing but whitespace, comments and document markers.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

fn read_text(path: &Path, rel: &str, diags: &mut Vec<Diagnostic>) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            // A byte-order mark is not part of the text; keep lines and columns as editors show them.
            Ok(s) => Some(s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s)),
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
                let col = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
                diags.push(
                    Diagnostic::error("E004", Loc::new(rel, line, col), "file is not valid UTF-8")
                        .with_hint("save the file as UTF-8"),
                );
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel == PROJECT_FILE => {
            diags.push(
                Diagnostic::error("E004", Loc::file(rel), "project file not found")
                    .with_hint("run segmenter in a project folder, pass --project DIR, or create one with `segmenter init DIR`"),
            );
            None
        }
        Err(e) => {
            diags.push(Diagnostic::error("E004", Loc::file(rel), format!("cannot read file: {e}")));
            None
        }
    }
}

/// Files under `root/dir` with one of `exts`, as sorted relative paths with `/` separators.
pub fn list_files(root: &Path, dir: &str, exts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from(dir)];
    while let Some(rel_dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel_dir)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let rel = rel_dir.join(&name);
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(rel),
                Ok(_) => {
                    let ext_ok = Path::new(&name).extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e));
                    if ext_ok {
                        out.push(rel.to_string_lossy().replace('\\', "/"));
                    }
                }
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

/// Deserialize `text` into `T`, turning serde_yaml's error into a located diagnostic.
/// A key written twice in one mapping, at the second one (YAML parsers keep only one silently,
/// or report it at the start of the mapping).
fn duplicate_key(spans: &SpanIndex, file: &str) -> Option<Diagnostic> {
    let (path, key, (line, col)) = spans.first_duplicate()?;
    // `segments.0` is shown as `segments[0]`, like the schema errors.
    let shown: String = path
        .split('.')
        .enumerate()
        .map(|(i, part)| if part.chars().all(|c| c.is_ascii_digit()) && i > 0 { format!("[{part}]") } else if i > 0 { format!(".{part}") } else { part.to_string() })
        .collect();
    let within = if shown.is_empty() { String::new() } else { format!(" in {shown}") };
    Some(
        Diagnostic::error("E001", Loc::new(file, *line, *col), format!("YAML syntax error: duplicate key '{key}'{within}"))
            .with_hint("each key may appear once per block; delete or merge one of them"),
    )
}

pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, Diagnostic> {
    serde_yaml::from_str(text).map_err(|e| {
        let mut d = yaml_error_to_diagnostic(&e, file);
        // The scanner reports a tab after it: point at the tab itself.
        if d.message.contains("found a tab character") {
            if let Some(col) = text.lines().nth(d.loc.line.saturating_sub(1)).and_then(|l| l.find('\t')) {
                d.loc.col = l_chars(text, d.loc.line, col) + 1;
            }
        }
        d
    })
}

/// Characters before byte `byte` of line `line` (1-based) of `text`.
fn l_chars(text: &str, line: usize, byte: usize) -> usize {
    text.lines().nth(line.saturating_sub(1)).map_or(byte, |l| l[..byte.min(l.len())].chars().count())
}

fn yaml_error_to_diagnostic(e: &serde_yaml::Error, file: &str) -> Diagnostic {
    let mut loc = e.location().map_or_else(|| Loc::file(file), |l| Loc::new(file, l.line(), l.column()));
    let raw = e.to_string();
    // serde_yaml appends " at line L column C"; the location is already in `loc`. A scanner error
    // may add ", while scanning X at line L column C": where X started is the place to fix.
    let mut msg = match raw.find(" at line ") {
        Some(i) => raw[..i].to_string(),
        None => raw.clone(),
    };
    // (Only for an unexpected end: other scanner errors are where the scanner stopped.)
    if let Some(w) = raw.find(", while scanning ").filter(|_| raw.starts_with("found unexpected end of stream")) {
        let context = &raw[w..];
        if let Some(at) = context.find(" at line ") {
            let nums: Vec<usize> = context[at + 9..].split(|c: char| !c.is_ascii_digit()).filter_map(|x| x.parse().ok()).collect();
            if let [line, col, ..] = nums[..] {
                loc = Loc::new(file, line, col);
            }
            msg = format!("{msg}{}", &context[..at]);
        }
    }
    let (context, detail) = match msg.split_once(": ") {
        Some((ctx, rest)) if !ctx.contains(' ') => (Some(ctx.to_string()), rest.to_string()),
        _ => (None, msg.clone()),
    };
    let within = context.map(|c| format!(" in {c}")).unwrap_or_default();
    if let Some(rest) = detail.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = did_you_mean(key, allowed.iter().copied())
            .unwrap_or_else(|| format!("allowed keys: {}", allowed.join(", ")));
        return Diagnostic::error("E002", loc, format!("unknown key '{key}'{within}")).with_hint(hint);
    }
    if let Some(rest) = detail.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        return Diagnostic::error("E003", loc, format!("missing required key '{key}'{within}"))
            .with_hint(format!("add `{key}:`"));
    }
    if let Some(rest) = detail.strip_prefix("unknown variant `") {
        let (val, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = did_you_mean(val, allowed.iter().copied())
            .unwrap_or_else(|| format!("allowed values: {}", allowed.join(", ")));
        return Diagnostic::error("E003", loc, format!("invalid value '{val}'{within}")).with_hint(hint);
    }
    if detail.starts_with("invalid type") || detail.starts_with("invalid value") || detail.starts_with("invalid length") || detail.starts_with("data did not match") {
        return Diagnostic::error("E003", loc, format!("{detail}{within}"))
            .with_hint("see docs/language.md for the expected shape");
    }
    Diagnostic::error("E001", loc, format!("YAML syntax error: {detail}{within}"))
        .with_hint("check indentation, colons and quoting on this line")
}

/// Resolve a project-relative path against the project root.
pub fn resolve(root: &Path, rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    }
}

/// Vars from the project file with command-line overrides (`--var name=value`, value parsed as YAML).
pub fn merged_vars(
    config: &ProjectConfig,
    overrides: &[(String, String)],
) -> BTreeMap<String, serde_yaml::Value> {
    let mut vars = config.vars.clone();
    for (k, v) in overrides {
        let value = serde_yaml::from_str(v).unwrap_or_else(|_| serde_yaml::Value::String(v.clone()));
        vars.insert(k.clone(), value);
    }
    vars
}
