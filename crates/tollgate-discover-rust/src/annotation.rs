//! The per-test marker annotation teams write in Rust source:
//!
//! ```text
//! // tollgate: markers(integration, gpu_1)
//! #[test]
//! fn talks_to_the_gpu() {}
//! ```
//!
//! A line comment (`//`, `///` or `//!`-free) starting with `tollgate:` and
//! holding `markers(name, name, ...)`. It applies to the item it sits on: the
//! comment must be in the block of comment lines directly above the item (no
//! blank line in between) or between its attributes, or trail one of them
//! (`#[test] // tollgate: markers(slow)`). Written on a `mod` (inline or
//! `mod x;`), it applies to every test inside.
//!
//! Why a comment and not an attribute: it is found with a line scan, costs the
//! test crate nothing (no dependency, no `cfg_attr` trick the compiler has to
//! accept), and survives `rustfmt`. Only bare names are supported; arguments
//! belong in `tollgate.toml` rules.

use std::collections::{BTreeMap, BTreeSet};

/// One `tollgate: markers(...)` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// 1-based line of the comment.
    pub line: u32,
    pub markers: Vec<String>,
}

/// The annotations and comment lines of one file.
#[derive(Debug, Clone, Default)]
pub struct SourceNotes {
    annotations: BTreeMap<u32, Annotation>,
    comment_lines: BTreeSet<u32>,
}

/// Finds every annotation in `text`. Cheap: files without `tollgate:` cost one
/// substring search.
pub fn find_annotations(text: &str) -> SourceNotes {
    let mut notes = SourceNotes::default();
    if !text.contains("tollgate:") {
        return notes;
    }
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        if line.trim_start().starts_with("//") {
            notes.comment_lines.insert(number);
        }
        if let Some(markers) = parse_comment(line) {
            notes.annotations.insert(
                number,
                Annotation {
                    line: number,
                    markers,
                },
            );
        }
    }
    notes
}

impl SourceNotes {
    /// Annotations that apply to an item whose attributes start on
    /// `first_line` and whose name is on `item_line`.
    pub fn for_item(&self, first_line: u32, item_line: u32) -> Vec<Annotation> {
        if self.annotations.is_empty() {
            return Vec::new();
        }
        let mut start = first_line;
        while start > 1 && self.comment_lines.contains(&(start - 1)) {
            start -= 1;
        }
        self.annotations
            .range(start..=item_line)
            .map(|(_, a)| a.clone())
            .collect()
    }
}

/// `markers` of a line holding `// tollgate: markers(a, b)`, if it does.
fn parse_comment(line: &str) -> Option<Vec<String>> {
    let comment = &line[line.find("//")?..];
    let body = comment.trim_start_matches('/').trim_start();
    let rest = body.strip_prefix("tollgate:")?.trim_start();
    let inner = rest.strip_prefix("markers(")?;
    let inner = &inner[..inner.find(')')?];
    let markers: Vec<String> = inner
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    Some(markers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_comment_forms() {
        assert_eq!(
            parse_comment("    // tollgate: markers(integration, gpu_0)"),
            Some(vec!["integration".into(), "gpu_0".into()])
        );
        assert_eq!(
            parse_comment("/// tollgate: markers(slow)"),
            Some(vec!["slow".into()])
        );
        assert_eq!(
            parse_comment("#[test] // tollgate:markers(e2e)"),
            Some(vec!["e2e".into()])
        );
        assert_eq!(parse_comment("// tollgate: owners(me)"), None);
        assert_eq!(parse_comment("let s = \"tollgate: markers(x)\";"), None);
    }

    #[test]
    fn applies_to_the_item_directly_below() {
        let text = "// tollgate: markers(a)\n\n// tollgate: markers(b)\n// other comment\n#[test]\n#[ignore] // tollgate: markers(c)\nfn t() {}\n";
        let notes = find_annotations(text);
        let found: Vec<Vec<String>> = notes
            .for_item(5, 7)
            .into_iter()
            .map(|a| a.markers)
            .collect();
        assert_eq!(found, vec![vec!["b".to_string()], vec!["c".to_string()]]);
    }
}
