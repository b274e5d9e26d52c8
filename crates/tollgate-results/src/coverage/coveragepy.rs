//! coverage.py's JSON report (`coverage json`, format 2 and 3).
//!
//! Each file lists `executed_lines` and `missing_lines`; together they are
//! the executable statements. Paths are relative to where coverage ran
//! (normally the repository root) unless `relative_files` was off and the
//! data was combined from elsewhere — [`super::relativize`] deals with both.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::json::read_json;
use crate::model::FileCoverage;

#[derive(Deserialize)]
struct Report {
    files: BTreeMap<String, FileEntry>,
}

#[derive(Deserialize)]
struct FileEntry {
    executed_lines: Vec<u32>,
    missing_lines: Vec<u32>,
}

pub fn parse_coveragepy<R: Read>(input: R) -> Result<Vec<FileCoverage>, Error> {
    let report: Report = read_json(input)?;
    let mut files = Vec::with_capacity(report.files.len());
    for (path, entry) in report.files {
        if entry
            .executed_lines
            .iter()
            .chain(&entry.missing_lines)
            .any(|&l| l == 0)
        {
            return Err(Error::at_json(
                ErrorKind::InvalidNumber {
                    field: "line number".into(),
                    value: "0".into(),
                    reason: "not a positive integer",
                },
                format!("files[{path:?}]"),
            ));
        }
        let hits = entry
            .executed_lines
            .into_iter()
            .map(|l| (l, 1))
            .chain(entry.missing_lines.into_iter().map(|l| (l, 0)));
        files.push(FileCoverage::from_line_hits(path, hits));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_executed_and_missing_lines() {
        let doc = r#"{"meta": {"format": 3}, "files": {"pkg/a.py": {"executed_lines": [1, 2, 5],
            "summary": {"covered_lines": 3}, "missing_lines": [3], "excluded_lines": [9]}}, "totals": {}}"#;
        let files = parse_coveragepy(doc.as_bytes()).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].covered_lines, vec![1, 2, 5]);
        assert_eq!(files[0].uncovered_lines, vec![3]);
    }

    #[test]
    fn negative_lines_and_wrong_shape_are_errors() {
        let err = parse_coveragepy(
            r#"{"files": {"a.py": {"executed_lines": [-1], "missing_lines": []}}}"#.as_bytes(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("1:"), "{err}");
        let err = parse_coveragepy(r#"{"data": []}"#.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("missing field `files`"), "{err}");
    }
}
