//! LCOV tracefiles (`cargo llvm-cov --lcov`, `genhtml` input).
//!
//! Only what line coverage needs is read: `SF:` opens a file record, `DA:`
//! gives a line's hit count, `end_of_record` closes it. Function and branch
//! records are skipped. A file that appears in several records (one per test
//! name, `TN:`) is merged.

use std::collections::BTreeMap;
use std::io::BufRead;

use crate::error::{Error, ErrorKind};
use crate::input::io_error_kind;
use crate::model::FileCoverage;

pub fn parse_lcov<R: BufRead>(mut input: R) -> Result<Vec<FileCoverage>, Error> {
    let mut files: BTreeMap<String, Vec<(u32, u64)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut line = String::new();
    let mut line_no = 0u64;
    let mut saw_any = false;
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .map_err(|e| Error::at_line(io_error_kind(e), line_no + 1, 1))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let record = line.trim_end_matches(['\n', '\r']);
        if record.trim().is_empty() {
            continue;
        }
        let fail = |message: String, column: u64| {
            Error::at_line(ErrorKind::Format(message), line_no, column)
        };
        if let Some(path) = record.strip_prefix("SF:") {
            if current.is_some() {
                return Err(fail(
                    "`SF:` before the previous record's `end_of_record`".into(),
                    1,
                ));
            }
            files.entry(path.to_string()).or_default();
            current = Some(path.to_string());
            saw_any = true;
        } else if let Some(data) = record.strip_prefix("DA:") {
            let Some(path) = &current else {
                return Err(fail(
                    "`DA:` outside a file record (no `SF:` before it)".into(),
                    1,
                ));
            };
            let mut fields = data.split(',');
            let line_field = fields.next().unwrap_or_default();
            let count_field = fields
                .next()
                .ok_or_else(|| fail("`DA:` needs `line,count`".into(), 4))?;
            let line_number: u32 = line_field
                .trim()
                .parse()
                .ok()
                .filter(|&l| l > 0)
                .ok_or_else(|| {
                    invalid(
                        "line number",
                        line_field,
                        "not a positive integer",
                        line_no,
                        4,
                    )
                })?;
            let count = parse_count(count_field.trim()).map_err(|reason| {
                invalid(
                    "hit count",
                    count_field,
                    reason,
                    line_no,
                    5 + line_field.len() as u64,
                )
            })?;
            if let Some(hits) = files.get_mut(path) {
                hits.push((line_number, count));
            }
        } else if record.trim() == "end_of_record" {
            if current.take().is_none() {
                return Err(fail("`end_of_record` without an open record".into(), 1));
            }
        } else if !is_known_record(record) {
            return Err(fail(
                format!(
                    "not an LCOV record: {:?}",
                    record.chars().take(40).collect::<String>()
                ),
                1,
            ));
        }
    }
    if current.is_some() {
        return Err(Error::at_line(
            ErrorKind::Format(
                "the last record has no `end_of_record`: the file is truncated".into(),
            ),
            line_no,
            1,
        ));
    }
    if !saw_any {
        return Err(Error::at_line(
            ErrorKind::Format("no `SF:` record: not an LCOV file".into()),
            line_no.max(1),
            1,
        ));
    }
    Ok(files
        .into_iter()
        .map(|(path, hits)| FileCoverage::from_line_hits(path, hits))
        .collect())
}

/// LCOV counts are integers; some producers write them as floats (`1.0`) or
/// with an exponent. Negative or non-finite counts are errors.
fn parse_count(text: &str) -> Result<u64, &'static str> {
    if let Ok(count) = text.parse::<u64>() {
        return Ok(count);
    }
    let value: f64 = text.parse().map_err(|_| "not a number")?;
    if value.is_nan() {
        Err("not a number")
    } else if value < 0.0 {
        Err("negative")
    } else if value.is_infinite() {
        Err("infinite")
    } else {
        Ok(value as u64)
    }
}

fn invalid(field: &str, value: &str, reason: &'static str, line: u64, column: u64) -> Error {
    Error::at_line(
        ErrorKind::InvalidNumber {
            field: field.to_string(),
            value: value.trim().to_string(),
            reason,
        },
        line,
        column,
    )
}

fn is_known_record(record: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "TN:", "VER:", "FN:", "FNDA:", "FNF:", "FNH:", "FNL:", "FNA:", "BRDA:", "BRF:", "BRH:",
        "LF:", "LH:", "MCDC:",
    ];
    PREFIXES.iter().any(|p| record.starts_with(p)) || record.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_merges_records() {
        let lcov = "TN:\nSF:/repo/src/a.rs\nFN:1,f\nDA:1,3\nDA:2,0\nLF:2\nLH:1\nend_of_record\n\
                    TN:other\nSF:/repo/src/a.rs\nDA:2,1\nDA:3,0\nend_of_record\nSF:/repo/src/b.rs\nDA:7,0,abc\nend_of_record\n";
        let files = parse_lcov(lcov.as_bytes()).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "/repo/src/a.rs");
        assert_eq!(files[0].covered_lines, vec![1, 2]);
        assert_eq!(files[0].uncovered_lines, vec![3]);
        assert_eq!(files[1].uncovered_lines, vec![7]);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let cases = [
            ("SF:a\nDA:1,-4\nend_of_record\n", 2, "negative"),
            ("SF:a\nDA:1,nan\nend_of_record\n", 2, "not a number"),
            ("SF:a\nDA:0,1\nend_of_record\n", 2, "not a positive integer"),
            ("SF:a\nDA:1,1\n", 2, "truncated"),
            ("DA:1,1\n", 1, "outside a file record"),
            ("<xml/>\n", 1, "not an LCOV record"),
            ("", 1, "not an LCOV file"),
        ];
        for (input, line, needle) in cases {
            let err = parse_lcov(input.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(needle), "{input:?}: {err}");
            assert!(
                matches!(err.location, Some(crate::Location::LineCol { line: l, .. }) if l == line),
                "{input:?}: {:?}",
                err.location
            );
        }
    }
}
