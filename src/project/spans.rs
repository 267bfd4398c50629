//! Where each node of a YAML file starts, by path (`segments.3.where`).
//!
//! serde_yaml gives typed values but no positions; this index is built from yaml-rust2's event
//! parser over the same text so later stages can point at the exact line and column of a field.

use std::collections::{HashMap, HashSet};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Start positions (1-based line, 1-based column) of every node, keyed by dotted path.
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    starts: HashMap<String, (usize, usize)>,
    /// Paths whose value is a block scalar (`|` or `>`): its text starts on the next line.
    block: HashSet<String>,
    /// Paths whose value is a quoted scalar: its text starts one column after the quote.
    quoted: HashSet<String>,
    /// Keys written twice in one mapping: (mapping path, key, position of the second).
    duplicates: Vec<(String, String, (usize, usize))>,
}

enum Frame {
    /// A mapping; `key` holds the pending key when the next scalar/node is its value.
    Map { path: String, key: Option<String>, unplaced: bool },
    Seq { path: String, next: usize },
}

fn join(base: &str, part: &str) -> String {
    if base.is_empty() {
        part.to_string()
    } else {
        format!("{base}.{part}")
    }
}

impl SpanIndex {
    /// Index `text`. A text that fails to parse yields the part indexed before the error;
    /// the syntax error itself is reported by serde_yaml with its own location.
    pub fn build(text: &str) -> SpanIndex {
        let mut index = SpanIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Ok((event, mark)) = parser.next_token() {
            let pos = (mark.line().max(1), mark.col() + 1);
            // Path of the node this event starts (if it starts one) and whether it is a map key.
            let node_path = match stack.last_mut() {
                None => Some(String::new()),
                Some(Frame::Map { path, key, .. }) => match key.take() {
                    Some(k) => Some(join(path, &k)),
                    None => None, // this node is a key
                },
                Some(Frame::Seq { path, next }) => {
                    let p = join(path, &next.to_string());
                    if !matches!(event, Event::SequenceEnd) {
                        *next += 1;
                    }
                    Some(p)
                }
            };
            match event {
                Event::Scalar(value, style, ..) => match node_path {
                    Some(p) => {
                        match style {
                            TScalarStyle::Literal | TScalarStyle::Folded => {
                                // The event's mark is the first content line; point at its text.
                                let indent = text.lines().nth(pos.0 - 1).map_or(0, |l| l.len() - l.trim_start().len());
                                index.starts.entry(p.clone()).or_insert((pos.0, indent + 1));
                                index.block.insert(p.clone());
                            }
                            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                                index.quoted.insert(p.clone());
                            }
                            _ => {}
                        }
                        index.starts.entry(p).or_insert(pos);
                    }
                    None => {
                        if let Some(Frame::Map { path, key, unplaced }) = stack.last_mut() {
                            // A block mapping starts where its first key is written.
                            if std::mem::take(unplaced) {
                                index.starts.insert(path.clone(), pos);
                            }
                            let key_path = format!("{}#key", join(path, &value));
                            if index.starts.contains_key(&key_path) && !index.duplicates.iter().any(|(p, k, _)| p == path && *k == value) {
                                index.duplicates.push((path.clone(), value.clone(), pos));
                            }
                            index.starts.entry(key_path).or_insert(pos);
                            *key = Some(value);
                        }
                    }
                },
                Event::MappingStart(..) => {
                    let p = node_path.unwrap_or_default();
                    let unplaced = !index.starts.contains_key(&p);
                    index.starts.entry(p.clone()).or_insert(pos);
                    stack.push(Frame::Map { path: p, key: None, unplaced });
                }
                Event::SequenceStart(..) => {
                    let p = node_path.unwrap_or_default();
                    index.starts.entry(p.clone()).or_insert(pos);
                    stack.push(Frame::Seq { path: p, next: 0 });
                }
                // An alias (`*big`) repeats the anchored node; its fields are not indexed again,
                // so anything about them points at the alias itself (through the parent fallback).
                Event::Alias(_) => {
                    if let Some(p) = node_path {
                        index.starts.entry(p).or_insert(pos);
                    }
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                // One document per file (serde_yaml reports a second one); index only the first.
                Event::StreamEnd | Event::DocumentEnd => break,
                _ => {}
            }
        }
        index
    }

    /// The first key written twice in the same mapping: (mapping path, key, where the second is).
    pub fn first_duplicate(&self) -> Option<&(String, String, (usize, usize))> {
        self.duplicates.first()
    }

    /// Position of the value at `path`, e.g. `segments.3.where`.
    pub fn value(&self, path: &str) -> Option<(usize, usize)> {
        self.starts.get(path).copied()
    }

    /// True when the value at `path` is a block scalar (`|`, `>`); its position is its first text line.
    pub fn is_block(&self, path: &str) -> bool {
        self.block.contains(path)
    }

    /// True when the value at `path` is a quoted scalar.
    pub fn is_quoted(&self, path: &str) -> bool {
        self.quoted.contains(path)
    }

    /// Position of the key at `path` (where `where:` is written), falling back to the value.
    pub fn key(&self, path: &str) -> Option<(usize, usize)> {
        self.starts.get(&format!("{path}#key")).copied().or_else(|| self.value(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_paths() {
        let text = "segments:\n  - name: a\n    where: x > 1\n  - name: b\n    where: |\n      y > 2\n";
        let idx = SpanIndex::build(text);
        assert_eq!(idx.value("segments.0"), Some((2, 5)));
        assert_eq!(idx.value("segments.0.where"), Some((3, 12)));
        assert_eq!(idx.key("segments.1.where"), Some((5, 5)));
        assert_eq!(idx.value("segments.1.name"), Some((4, 11)));
        // A block scalar's value starts at its first content line.
        assert_eq!(idx.value("segments.1.where"), Some((6, 7)));
    }

    #[test]
    fn an_alias_is_placed_where_it_is_written() {
        let idx = SpanIndex::build("segments:\n  - &big { name: big }\n  - *big\n");
        assert_eq!(idx.value("segments.0.name"), Some((2, 18)));
        assert_eq!(idx.value("segments.1"), Some((3, 5)));
        assert_eq!(idx.value("segments.1.name"), None);
    }
}
