//! docs/library.md against the library it explains (the repo's segments/*.yaml): every segment,
//! tier ladder and score has its own `### <name>` section, and the rules and feature names on the
//! page are the ones in the YAML (compared with whitespace normalized), so the page cannot drift
//! from the definitions. Reads files only; runs nothing.

use crate::support::repo_root;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// One definition file, parsed.
struct DefinitionFile {
    /// `segments/<file>.yaml`, as the page names it.
    path: String,
    doc: Value,
}

/// Every `segments/*.yaml` (and `*.yml`) of the repo, sorted by name.
fn definition_files() -> Vec<DefinitionFile> {
    let dir = repo_root().join("segments");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("read the segments/ folder of the repo")
        .map(|entry| entry.expect("read an entry of segments/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no segments/*.yaml in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let file = p.file_name().expect("a file name").to_string_lossy().into_owned();
            let path = format!("segments/{file}");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {path}: {e}"));
            let doc = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
            DefinitionFile { path, doc }
        })
        .collect()
}

fn library_page() -> String {
    let path = repo_root().join("docs/library.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    // A `|` inside a table cell is written `\|`.
    text.replace("\\|", "|")
}

/// Runs of whitespace (the newlines and indentation of block scalars, line breaks on the page)
/// as one space.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The items of a top-level list (`segments:`, `features:`, ...); none when the file has no such key.
fn items<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc.get(key).and_then(Value::as_sequence).map_or(&[], Vec::as_slice)
}

fn name(item: &Value, path: &str, key: &str) -> String {
    item.get("name")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{path}: an item of `{key}:` without a name: {item:?}"))
        .to_string()
}

/// A YAML scalar as text: a string as written, a number or boolean as YAML prints it.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `### ` headings of the page outside code blocks, each with its section text (up to the
/// next heading of any level), in page order.
fn sections(page: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut in_code = false;
    let mut current: Option<usize> = None;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            current = None;
            if let Some(heading) = line.strip_prefix("### ") {
                out.push((heading.trim().to_string(), String::new()));
                current = Some(out.len() - 1);
                continue;
            }
        }
        if let Some(i) = current {
            out[i].1.push_str(line);
            out[i].1.push('\n');
        }
    }
    out
}

/// Every segment, tier ladder and score of the library: name -> what it is and where.
fn definitions(files: &[DefinitionFile]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in files {
        for (key, kind) in [("segments", "segment"), ("tiers", "tier ladder"), ("scores", "score")] {
            for item in items(&f.doc, key) {
                out.entry(name(item, &f.path, key)).or_default().push(format!("{kind} in {}", f.path));
            }
        }
    }
    out
}

#[test]
fn library_page_has_one_section_per_definition() {
    let files = definition_files();
    let defined = definitions(&files);
    let page = library_page();
    let headings = sections(&page);
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (heading, _) in &headings {
        *count.entry(heading.as_str()).or_default() += 1;
    }

    let mut problems = Vec::new();
    for (name, what) in &defined {
        if !count.contains_key(name.as_str()) {
            problems.push(format!("missing heading `### {name}` ({})", what.join(", ")));
        }
    }
    for (heading, n) in &count {
        if !defined.contains_key(*heading) {
            problems.push(format!(
                "heading `### {heading}` names no segment, tier ladder or score of segments/*.yaml (removed or renamed? \
                 `###` headings are for definitions only)"
            ));
        }
        if *n > 1 {
            problems.push(format!("heading `### {heading}` appears {n} times"));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/library.md is out of date with segments/*.yaml ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn library_page_copies_the_rules_and_feature_names() {
    let files = definition_files();
    let page = library_page();
    let page_all = normalize(&page);
    let sections: BTreeMap<String, String> = sections(&page).into_iter().map(|(h, text)| (h, normalize(&text))).collect();

    let mut missing = Vec::new();
    // `text` must appear in the `### owner` section.
    let expect_in = |missing: &mut Vec<String>, owner: &str, what: String, text: &str| {
        let text = normalize(text);
        match sections.get(owner) {
            None => missing.push(format!("{what}: no `### {owner}` section")),
            Some(section) if !section.contains(&text) => missing.push(format!("{what}: `{text}` not in the `### {owner}` section")),
            Some(_) => {}
        }
    };

    for f in &files {
        let path = &f.path;
        for segment in items(&f.doc, "segments") {
            let seg = name(segment, path, "segments");
            if let Some(rule) = segment.get("where").and_then(scalar) {
                expect_in(&mut missing, &seg, format!("where of segment {seg} ({path})"), &rule);
            }
        }
        for ladder in items(&f.doc, "tiers") {
            let tier = name(ladder, path, "tiers");
            for level in items(ladder, "levels") {
                let lvl = name(level, path, "levels");
                let what = || format!("level {lvl} of ladder {tier} ({path})");
                expect_in(&mut missing, &tier, what(), &format!("`{lvl}`"));
                if let Some(rule) = level.get("when").and_then(scalar) {
                    expect_in(&mut missing, &tier, format!("when of {}", what()), &rule);
                }
                // Thresholds, also inside any_of groups: `min: { f: v }` is `f >= v`, `max:` is `f <= v`.
                let groups = std::iter::once(level).chain(items(level, "any_of"));
                for group in groups {
                    for (key, op) in [("min", ">="), ("max", "<=")] {
                        let Some(map) = group.get(key).and_then(Value::as_mapping) else { continue };
                        for (feature, value) in map {
                            let (Some(feature), Some(value)) = (scalar(feature), scalar(value)) else { continue };
                            expect_in(&mut missing, &tier, format!("{key} of {}", what()), &format!("{feature} {op} {value}"));
                        }
                    }
                }
            }
        }
        for score in items(&f.doc, "scores") {
            let sc = name(score, path, "scores");
            for label in items(score, "map") {
                let lbl = name(label, path, "map");
                expect_in(&mut missing, &sc, format!("label segment {sc}_{lbl} ({path})"), &format!("`{sc}_{lbl}`"));
                if let Some(rule) = label.get("when").and_then(scalar) {
                    expect_in(&mut missing, &sc, format!("when of label {lbl} of score {sc} ({path})"), &rule);
                }
            }
        }
        for model in items(&f.doc, "models") {
            let m = name(model, path, "models");
            if !page_all.contains(&format!("`{m}`")) {
                missing.push(format!("model `{m}` ({path}) is not on the page"));
            }
        }
        for feature in items(&f.doc, "features") {
            let feat = name(feature, path, "features");
            if !page_all.contains(&format!("`{feat}`")) {
                missing.push(format!("feature `{feat}` ({path}) is not on the page"));
            }
        }
        if !page_all.contains(path.as_str()) {
            missing.push(format!("the file {path} is not named on the page"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/library.md does not copy segments/*.yaml ({} missing):\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}
