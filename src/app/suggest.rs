//! `segmenter suggest FEATURE`: the project computed in memory, then [`crate::suggest`].

use super::{in_memory_settings, load_and_resolve, print_warnings, Schemas};
use crate::cli::{Cli, Format, SelectArgs, SuggestArgs};
use crate::error::{exit, Result};
use crate::suggest::{render, SuggestRequest};

pub(super) fn cmd_suggest(cli: &Cli, args: &SuggestArgs) -> Result<i32> {
    let select = SelectArgs { as_of: args.as_of.clone(), vars: args.vars.clone(), all_features: true, ..Default::default() };
    let (project, resolved, diags) = load_and_resolve(cli, &select, Schemas::Read)?;
    print_warnings(cli, &diags);
    crate::suggest::check_feature(&resolved, &args.feature)?;
    let conn = crate::execute::open(None, &in_memory_settings(&project)?)?;
    crate::execute::compute_in_memory(&conn, &resolved, &crate::compile::compile(&resolved))?;
    let request = SuggestRequest { feature: args.feature.clone(), breaks: args.candidates as usize, bands: args.segments.map(|n| n as usize) };
    let suggestion = crate::suggest::suggest(&conn, &resolved.as_of, &request)?;
    match cli.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&suggestion).unwrap_or_default()),
        Format::Text => print!("{}", render::text(&suggestion)),
    }
    Ok(exit::OK)
}
