//! `llvm-cov export -format=text` JSON (also `cargo llvm-cov --json`).
//!
//! The export has no per-line table, only *segments* per file:
//! `[line, column, count, has_count, is_region_entry, is_gap_region]`
//! (older versions omit the last field). Line coverage is derived from them
//! the way `llvm-cov` itself does it (`LineCoverageStats`): a line is
//! executable if a region starts on it (a non-gap segment with a count that
//! is a region entry) or a counted region wraps into it from an earlier line,
//! and not if it starts a skipped region; its count is the wrapped count or
//! the largest count of a region starting on it.

use std::io::Read;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::json::read_json;
use crate::model::FileCoverage;

#[derive(Deserialize)]
struct Export {
    #[serde(rename = "type")]
    kind: Option<String>,
    data: Vec<Unit>,
}

#[derive(Deserialize)]
struct Unit {
    #[serde(default)]
    files: Vec<FileEntry>,
}

#[derive(Deserialize)]
struct FileEntry {
    filename: String,
    #[serde(default)]
    segments: Vec<Vec<serde_json::Value>>,
}

/// Lines between segments are filled in, so a hostile line number must not
/// make that loop run for billions of lines.
const MAX_LINE: u32 = 10_000_000;

#[derive(Debug, Clone, Copy)]
struct Segment {
    line: u32,
    count: u64,
    has_count: bool,
    is_region_entry: bool,
    is_gap: bool,
}

pub fn parse_llvm_json<R: Read>(input: R) -> Result<Vec<FileCoverage>, Error> {
    let export: Export = read_json(input)?;
    if let Some(kind) = &export.kind {
        if kind != "llvm.coverage.json.export" {
            return Err(Error::at_json(
                ErrorKind::Format(format!(
                    "type is {kind:?}, expected \"llvm.coverage.json.export\""
                )),
                "type",
            ));
        }
    }
    let mut files = Vec::new();
    for (u, unit) in export.data.iter().enumerate() {
        for (f, file) in unit.files.iter().enumerate() {
            let mut segments = file
                .segments
                .iter()
                .enumerate()
                .map(|(s, raw)| {
                    segment(raw).map_err(|kind| {
                        Error::at_json(kind, format!("data[{u}].files[{f}].segments[{s}]"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            segments.sort_by_key(|s| s.line);
            files.push(FileCoverage::from_line_hits(
                file.filename.clone(),
                line_hits(&segments),
            ));
        }
    }
    Ok(files)
}

fn segment(raw: &[serde_json::Value]) -> Result<Segment, ErrorKind> {
    let bad = |what: &str| {
        ErrorKind::Format(format!(
            "segment {what}: expected [line, column, count, has_count, is_region_entry(, is_gap)]"
        ))
    };
    if raw.len() < 5 {
        return Err(bad("too short"));
    }
    let number = |i: usize, field: &str| -> Result<u64, ErrorKind> {
        let value = &raw[i];
        value.as_u64().ok_or_else(|| ErrorKind::InvalidNumber {
            field: field.to_string(),
            value: value.to_string(),
            reason: if value.as_f64().is_some_and(|v| v < 0.0) {
                "negative"
            } else {
                "not a non-negative integer"
            },
        })
    };
    let flag = |i: usize| {
        raw.get(i)
            .map(|v| v.as_bool().ok_or_else(|| bad("flag")))
            .unwrap_or(Ok(false))
    };
    Ok(Segment {
        line: u32::try_from(number(0, "segment line")?)
            .ok()
            .filter(|&l| l <= MAX_LINE)
            .ok_or_else(|| bad("line number is implausibly large"))?,
        count: number(2, "segment count")?,
        has_count: flag(3)?,
        is_region_entry: flag(4)?,
        is_gap: flag(5)?,
    })
}

/// `(line, count)` for every executable line, per `llvm::coverage::LineCoverageStats`,
/// walking every line from the first segment's to the last one's (segments
/// are sorted by position in the export).
fn line_hits(segments: &[Segment]) -> Vec<(u32, u64)> {
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
        return Vec::new();
    };
    let starts_region = |s: &&Segment| !s.is_gap && s.has_count && s.is_region_entry;
    let mut hits = Vec::new();
    let mut wrapped: Option<Segment> = None;
    let mut next = 0;
    for line in first.line..=last.line {
        let begin = next;
        while next < segments.len() && segments[next].line == line {
            next += 1;
        }
        let on_line = &segments[begin..next];
        let region_starts = on_line.iter().filter(starts_region).count();
        let starts_skipped = on_line
            .first()
            .is_some_and(|s| !s.has_count && s.is_region_entry);
        let mapped = (!starts_skipped
            && (wrapped.is_some_and(|w| w.has_count) || region_starts > 0))
            || on_line.iter().any(|s| s.is_region_entry && s.has_count);
        if mapped {
            let wrapped_count = wrapped.map_or(0, |w| w.count);
            let count = on_line
                .iter()
                .filter(starts_region)
                .map(|s| s.count)
                .fold(wrapped_count, u64::max);
            hits.push((line, count));
        }
        if let Some(last_on_line) = on_line.last() {
            wrapped = Some(*last_on_line);
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_lines_from_segments() {
        // fn on lines 1-4: entered once; an `if` body on line 3 never runs;
        // region ends on line 4.
        let doc = r#"{"type": "llvm.coverage.json.export", "version": "2.0.1", "data": [{"files": [{
            "filename": "/repo/src/lib.rs",
            "segments": [[1, 1, 1, true, true, false], [3, 5, 0, true, true, false], [3, 9, 1, true, false, false],
                         [4, 2, 0, false, false, false]],
            "summary": {"lines": {"count": 4, "covered": 3}}}], "functions": [], "totals": {}}]}"#;
        let files = parse_llvm_json(doc.as_bytes()).unwrap();
        assert_eq!(files[0].path, "/repo/src/lib.rs");
        assert_eq!(files[0].covered_lines, vec![1, 2, 3, 4]);
        // A counted region wrapping into a line counts for it (as in llvm-cov);
        // a region that starts after the first one ended does not inherit it.
        let doc2 = doc.replace(
            "[1, 1, 1, true, true, false], [3, 5, 0, true, true, false], [3, 9, 1, true, false, false]",
            "[1, 1, 1, true, true, false], [2, 1, 0, false, false, false], [3, 1, 0, true, true, false]",
        );
        let files = parse_llvm_json(doc2.as_bytes()).unwrap();
        assert_eq!(files[0].covered_lines, vec![1, 2]);
        assert_eq!(files[0].uncovered_lines, vec![3, 4]);
    }

    #[test]
    fn bad_segments_are_errors_with_a_path() {
        let doc = r#"{"data": [{"files": [{"filename": "a.rs", "segments": [[1, 1, -3, true, true]]}]}]}"#;
        let err = parse_llvm_json(doc.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "at data[0].files[0].segments[0]: segment count: negative (got \"-3\")"
        );
        let err = parse_llvm_json(r#"{"type": "other", "data": []}"#.as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected \"llvm.coverage.json.export\""),
            "{err}"
        );
    }
}
