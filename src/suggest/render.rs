//! A [`Suggestion`] for a terminal, and bands as YAML to paste.

use super::{Band, Candidate, Suggestion};
use crate::report::{percent, table};

/// The widest bar of the histogram, in `#`.
const BAR_WIDTH: usize = 40;

/// A number for people: whole numbers as such, others to two decimals (more below 1), no
/// trailing zeros. JSON keeps the exact values.
pub fn number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let decimals = if x.abs() >= 1.0 { 2 } else { (3 - x.abs().log10().floor() as i32).clamp(2, 12) as usize };
    let s = format!("{x:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// The whole report: the distribution, the candidates and, with `--segments`, the bands.
pub fn text(s: &Suggestion) -> String {
    let mut out = format!(
        "{} ({}) as of {}: {} customers, {} with a value, {} NULL\nmin {}  mean {}  max {}\n\n",
        s.feature, s.sql_type, s.as_of, s.population, s.count, s.nulls, number(s.min), number(s.mean), number(s.max)
    );
    let headers: Vec<&str> = s.quantiles.0.iter().map(|(n, _)| *n).collect();
    let values: Vec<String> = s.quantiles.0.iter().map(|(_, v)| number(*v)).collect();
    out.push_str(&table(&headers, &[values], &vec![true; headers.len()]));
    out.push_str(&format!("\ndistribution ({} bars of equal width, # = customers)\n", s.histogram.len()));
    out.push_str(&histogram(s));
    out.push_str(&format!("\nthresholds (members: {} >= threshold)\n", s.feature));
    out.push_str(&candidates(&s.candidates));
    if let Some(bands) = &s.bands {
        out.push_str(&format!(
            "\n{} bands by natural breaks, to paste\n\n# segmenter.yaml (optional: the rules default to these values)\n{}\n# a definitions file, e.g. segments/{}_bands.yaml\n{}",
            bands.segments.len(),
            bands.vars_yaml,
            s.feature,
            bands.definitions_yaml
        ));
    }
    out
}

fn histogram(s: &Suggestion) -> String {
    let from: Vec<String> = s.histogram.iter().map(|b| number(b.from)).collect();
    let to: Vec<String> = s.histogram.iter().map(|b| number(b.to)).collect();
    let (wf, wt) = (from.iter().map(String::len).max().unwrap_or(0), to.iter().map(String::len).max().unwrap_or(0));
    let most = s.histogram.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let mut out = String::new();
    for (i, bar) in s.histogram.iter().enumerate() {
        // A bar of one customer among millions still shows.
        let len = ((bar.count as f64 * BAR_WIDTH as f64 / most as f64).round() as usize).max(usize::from(bar.count > 0));
        out.push_str(&format!("  {:>wf$} .. {:>wt$}  {:<BAR_WIDTH$}  {}\n", from[i], to[i], "#".repeat(len), bar.count));
    }
    out
}

fn candidates(list: &[Candidate]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            let overlaps: Vec<String> =
                c.overlaps.iter().map(|o| format!("{} {:.2} ({})", o.segment, o.jaccard, percent(o.share_of_candidate))).collect();
            vec![c.label.clone(), number(c.threshold), c.size.to_string(), percent(c.share), overlaps.join(", ")]
        })
        .collect();
    let headers = ["candidate", "threshold", "size", "share", "most alike segments: Jaccard (share of the members in it)"];
    table(&headers, &rows, &[false, true, true, true, false])
}

/// Bands as the `vars:` block of segmenter.yaml and a definitions file whose rules read those
/// vars, each defaulting to the proposed value (so the file works alone too).
pub fn bands_yaml(feature: &str, as_of: &str, bands: &[Band]) -> (String, String) {
    let mut vars = String::from("vars:\n");
    for b in bands {
        if let (Some(var), Some(from)) = (&b.var, b.from) {
            vars.push_str(&format!("  {var}: {from}\n"));
        }
    }
    let read = |b: &Band| b.var.as_ref().zip(b.from).map(|(var, from)| format!("{{{{ var('{var}', {from}) }}}}"));
    let mut defs = String::from("segments:\n");
    for (i, b) in bands.iter().enumerate() {
        let lower = read(b).map(|v| format!("{feature} >= {v}"));
        let upper = bands.get(i + 1).and_then(read).map(|v| format!("{feature} < {v}"));
        let rule = lower.into_iter().chain(upper).collect::<Vec<_>>().join(" AND ");
        let range = match (b.from, b.to) {
            (None, Some(to)) => format!("below {to}"),
            (Some(from), Some(to)) => format!("from {from} to below {to}"),
            (Some(from), None) => format!("{from} and above"),
            (None, None) => "any value".into(),
        };
        defs.push_str(&format!(
            "  - name: {}\n    description: \"{feature} {range} (natural breaks: {} customers, {} on {as_of})\"\n    where: \"{rule}\"\n",
            b.name,
            b.size,
            percent(b.share)
        ));
    }
    (vars, defs)
}
