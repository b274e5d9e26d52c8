//! `--fix`: applies the mechanical rewrites findings carry.
//!
//! Today that is one kind: an alias spelled after `mark.` on a known line
//! (`@pytest.mark.premerge`, `pytest.mark.gpus_needed_1` in a `pytestmark`
//! list, `@mark.premerge` after `from pytest import mark`) becomes its
//! canonical name. Only the identifier's bytes change; indentation, quotes,
//! comments and line endings stay as they were, and a file with nothing to
//! change is not written. Running it twice changes nothing the second time:
//! the alias is gone, so the pattern no longer matches.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::finding::{Finding, Fix};

/// What [`fix()`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FixReport {
    /// Files rewritten, relative to the root, sorted.
    pub files_changed: Vec<String>,
    /// Identifiers replaced.
    pub edits: usize,
    /// Fixes that found nothing to replace on their line (the file changed
    /// since it was collected, or the mark is written in a form `--fix`
    /// does not rewrite), with the reason.
    pub skipped: Vec<(Fix, String)>,
}

/// Applies the fixes of `findings` to the files under `root`.
pub fn fix(findings: &[Finding], root: &Path) -> io::Result<FixReport> {
    let mut by_file: BTreeMap<&str, Vec<&Fix>> = BTreeMap::new();
    for fix in findings.iter().filter_map(|f| f.fix.as_ref()) {
        by_file.entry(fix.file.as_str()).or_default().push(fix);
    }
    let mut report = FixReport::default();
    let real_root = root.canonicalize()?;
    for (file, fixes) in by_file {
        let path = root.join(file);
        // Only a regular file of the repository is rewritten: a symlink (to
        // a file outside it, or anywhere) is left alone.
        if let Some(reason) = not_rewritable(&path, &real_root) {
            for fix in fixes {
                report.skipped.push((fix.clone(), reason.clone()));
            }
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let outcome = apply(&text, &fixes);
        for fix in outcome.unmatched {
            report.skipped.push((
                fix.clone(),
                format!("no `mark.{}` on line {}", fix.old_marker, fix.line),
            ));
        }
        if outcome.edits > 0 {
            std::fs::write(&path, outcome.text)?;
            report.files_changed.push(file.to_string());
            report.edits += outcome.edits;
        }
    }
    Ok(report)
}

/// Why `path` must not be rewritten, if it must not: it is a symlink, not
/// a regular file, or resolves outside `real_root` (through a symlinked
/// directory).
fn not_rewritable(path: &Path, real_root: &Path) -> Option<String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) => return Some(format!("cannot read {}: {e}", path.display())),
    };
    if meta.file_type().is_symlink() {
        return Some(format!(
            "{} is a symbolic link: not rewritten",
            path.display()
        ));
    }
    if !meta.is_file() {
        return Some(format!(
            "{} is not a regular file: not rewritten",
            path.display()
        ));
    }
    match path.canonicalize() {
        Ok(real) if real.starts_with(real_root) => None,
        _ => Some(format!(
            "{} resolves outside the repository: not rewritten",
            path.display()
        )),
    }
}

/// The result of applying fixes to one file's text.
#[derive(Debug)]
pub(crate) struct Applied<'f> {
    pub text: String,
    pub edits: usize,
    pub unmatched: Vec<&'f Fix>,
}

/// Pure core of [`fix()`]: rewrites `text`. Every edit is computed against
/// the original text, then applied back to front so offsets stay valid.
pub(crate) fn apply<'f>(text: &str, fixes: &[&'f Fix]) -> Applied<'f> {
    let lines = line_ranges(text);
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    let mut unmatched = Vec::new();
    for fix in fixes {
        let index = (fix.line as usize).checked_sub(1);
        let Some((start, end)) = index.and_then(|i| lines.get(i)).copied() else {
            unmatched.push(*fix);
            continue;
        };
        let found = mark_identifiers(&text[start..end], &fix.old_marker);
        if found.is_empty() {
            unmatched.push(*fix);
        }
        for at in found {
            let begin = start + at;
            edits.push((begin, begin + fix.old_marker.len(), fix.new_marker.as_str()));
        }
    }
    edits.sort_unstable_by_key(|&(begin, end, _)| (begin, end));
    edits.dedup_by_key(|&mut (begin, _, _)| begin);
    let mut out = text.to_string();
    for &(begin, end, new) in edits.iter().rev() {
        out.replace_range(begin..end, new);
    }
    Applied {
        text: out,
        edits: edits.len(),
        unmatched,
    }
}

/// Byte ranges of each line, without its line ending.
fn line_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        ranges.push((start, start + content.len()));
        start += line.len();
    }
    ranges
}

/// Offsets in `line` of `name` written as a mark attribute: right after
/// `mark.`, where `mark` starts a word, and followed by a non-identifier
/// character (so `premerge` never matches inside `premerge_slow`).
fn mark_identifiers(line: &str, name: &str) -> Vec<usize> {
    const PREFIX: &str = "mark.";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = line[from..].find(PREFIX) {
        let prefix_at = from + pos;
        let name_at = prefix_at + PREFIX.len();
        from = name_at;
        let word_start = line[..prefix_at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c));
        let after = line[name_at..].strip_prefix(name);
        let word_end = after.is_some_and(|rest| rest.chars().next().is_none_or(|c| !is_ident(c)));
        if word_start && word_end {
            found.push(name_at);
        }
    }
    found
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(line: u32, old: &str, new: &str) -> Fix {
        Fix {
            file: "t.py".into(),
            line,
            old_marker: old.into(),
            new_marker: new.into(),
        }
    }

    #[test]
    fn only_the_identifier_on_the_named_line_changes() {
        let text = "import pytest\r\n\r\n@pytest.mark.premerge  # premerge stays in comments\r\ndef test_a():\r\n    pytest.mark.premerge\r\n";
        let f = fix(3, "premerge", "pre_merge");
        let out = apply(text, &[&f]);
        assert_eq!(
            out.text,
            "import pytest\r\n\r\n@pytest.mark.pre_merge  # premerge stays in comments\r\ndef test_a():\r\n    pytest.mark.premerge\r\n"
        );
        assert_eq!(out.edits, 1);
        assert!(out.unmatched.is_empty());
    }

    #[test]
    fn longer_names_and_other_attributes_are_left_alone() {
        let text = "x = [pytest.mark.premerge_slow, pytest.mark.premerge, remark.premerge, mark.premerge(1)]\n";
        let f = fix(1, "premerge", "pre_merge");
        let out = apply(text, &[&f]);
        assert_eq!(
            out.text,
            "x = [pytest.mark.premerge_slow, pytest.mark.pre_merge, remark.premerge, mark.pre_merge(1)]\n"
        );
        assert_eq!(out.edits, 2);
    }

    #[test]
    fn several_fixes_on_one_line_and_duplicates_apply_once() {
        let text = "pytestmark = [pytest.mark.premerge, pytest.mark.gpus_needed_1]";
        let a = fix(1, "premerge", "pre_merge");
        let b = fix(1, "gpus_needed_1", "gpu_1");
        let out = apply(text, &[&a, &b, &a]);
        assert_eq!(
            out.text,
            "pytestmark = [pytest.mark.pre_merge, pytest.mark.gpu_1]"
        );
        assert_eq!(out.edits, 2);
    }

    #[test]
    fn a_fix_that_matches_nothing_is_reported_and_changes_nothing() {
        let text = "@pytest.mark.pre_merge\n";
        let stale = fix(1, "premerge", "pre_merge");
        let beyond = fix(9, "premerge", "pre_merge");
        let out = apply(text, &[&stale, &beyond]);
        assert_eq!(out.text, text);
        assert_eq!(out.edits, 0);
        assert_eq!(out.unmatched.len(), 2);
    }

    #[test]
    fn applying_twice_is_a_no_op() {
        let text = "@mark.premerge\ndef test_x(): pass\n";
        let f = fix(1, "premerge", "pre_merge");
        let once = apply(text, &[&f]).text;
        let twice = apply(&once, &[&f]);
        assert_eq!(twice.text, once);
        assert_eq!(twice.edits, 0);
    }
}
