//! Where a project runs: a named target's overrides, environment variables in paths, and the
//! command line's `--database`, applied to the loaded project file.
//!
//! `{{ env_var('NAME') }}` or `{{ env_var('NAME', 'default') }}` may appear in source paths,
//! `output.database` and `output.exports_dir` (also inside targets). The values are read at load
//! time and never written anywhere but into those fields (a DSN or password in the environment
//! stays out of the project and the run manifest).

use super::model::ProjectConfig;
use crate::diagnostics::{did_you_mean, Diagnostic, Loc};
use minijinja::{Environment as Jinja, Error, ErrorKind, UndefinedBehavior};
use std::path::PathBuf;

/// The command line's choice of environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `--target` (or `SEGMENTER_TARGET`).
    pub target: Option<String>,
    /// `--database`: the output database, overriding the project and the target.
    pub database: Option<PathBuf>,
    /// `--engine` (or `SEGMENTER_ENGINE`), overriding the project's `engine:`.
    pub engine: Option<crate::project::model::Engine>,
}

/// Apply `env` to `config`; `loc` gives the location of a project-file path such as
/// `output.database`. Problems are diagnostics (E006 unknown target, E007 environment variable).
pub fn apply(config: &mut ProjectConfig, env: &Environment, loc: &dyn Fn(&str) -> Loc) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    if let Some(name) = &env.target {
        apply_target(config, name, loc, &mut diags);
    }
    let mut fields: Vec<(String, &mut String)> = vec![
        ("output.database".into(), &mut config.output.database),
        ("output.exports_dir".into(), &mut config.output.exports_dir),
    ];
    for (name, source) in config.sources.iter_mut() {
        fields.push((format!("sources.{name}.path"), &mut source.path));
    }
    for (path, value) in fields {
        if !value.contains("env_var") {
            continue;
        }
        match expand(value) {
            Ok(expanded) => *value = expanded,
            Err(message) => diags.push(
                Diagnostic::error("E007", loc(&path), message)
                    .with_hint("set the variable, or give a default: {{ env_var('DATA_DIR', 'data') }}"),
            ),
        }
    }
    if let Some(db) = &env.database {
        config.output.database = db.to_string_lossy().to_string();
    }
    diags
}

fn apply_target(config: &mut ProjectConfig, name: &str, loc: &dyn Fn(&str) -> Loc, diags: &mut Vec<Diagnostic>) {
    let Some(target) = config.targets.get(name).cloned() else {
        let hint = match config.targets.is_empty() {
            true => "define it under `targets:` in segmenter.yaml, or leave out --target / SEGMENTER_TARGET".to_string(),
            false => did_you_mean(name, config.targets.keys().map(String::as_str))
                .unwrap_or_else(|| format!("targets are: {}", config.targets.keys().cloned().collect::<Vec<_>>().join(", "))),
        };
        diags.push(Diagnostic::error("E006", Loc::new("--target", 1, 1), format!("unknown target '{name}'")).with_hint(hint));
        return;
    };
    if let Some(db) = target.database {
        config.output.database = db;
    }
    if let Some(dir) = target.exports_dir {
        config.output.exports_dir = dir;
    }
    for (source, over) in target.sources {
        match config.sources.get_mut(&source) {
            Some(def) => def.path = over.path,
            None => diags.push(
                Diagnostic::error("E006", loc(&format!("targets.{name}.sources.{source}")), format!("target '{name}' names unknown source '{source}'"))
                    .with_hint(did_you_mean(&source, config.sources.keys().map(String::as_str)).unwrap_or_else(|| "use a source declared under `sources:`".into())),
            ),
        }
    }
    config.vars.extend(target.vars);
    if target.threads.is_some() {
        config.settings.threads = target.threads;
    }
    if target.memory_limit.is_some() {
        config.settings.memory_limit = target.memory_limit;
    }
}

/// Render `{{ env_var(...) }}` in `text`; nothing else may be templated there.
fn expand(text: &str) -> Result<String, String> {
    let mut jinja = Jinja::new();
    jinja.set_undefined_behavior(UndefinedBehavior::Strict);
    jinja.add_function("env_var", |name: String, default: Option<String>| -> Result<String, Error> {
        match (std::env::var(&name), default) {
            (Ok(value), _) => Ok(value),
            (Err(_), Some(d)) => Ok(d),
            (Err(_), None) => Err(Error::new(ErrorKind::InvalidOperation, format!("environment variable '{name}' is not set"))),
        }
    });
    jinja.render_str(text, ()).map_err(|e| match e.detail() {
        Some(detail) => detail.to_string(),
        None => format!("cannot expand '{text}': {}", e.kind()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_takes_the_variable_or_the_default() {
        // Names no environment of this test process sets.
        assert_eq!(expand("{{ env_var('SEGMENTER_TEST_UNSET_1', 'data') }}/orders.csv").as_deref(), Ok("data/orders.csv"));
        assert_eq!(
            expand("{{ env_var('SEGMENTER_TEST_UNSET_2') }}/x").unwrap_err(),
            "environment variable 'SEGMENTER_TEST_UNSET_2' is not set"
        );
        let home = std::env::var("PATH").unwrap_or_default();
        assert_eq!(expand("{{ env_var('PATH') }}").as_deref(), Ok(home.as_str()));
    }
}
