//! Line coverage reports: LCOV, Cobertura XML, coverage.py JSON, llvm-cov JSON.

mod cobertura;
mod coveragepy;
mod lcov;
mod llvm_json;
mod paths;

use std::io::BufRead;

pub use cobertura::parse_cobertura;
pub use coveragepy::parse_coveragepy;
pub use lcov::parse_lcov;
pub use llvm_json::parse_llvm_json;
pub use paths::{relativize, OutsidePolicy, Relativized};

use crate::error::Error;
use crate::input::Limits;
use crate::model::FileCoverage;

/// Files as written in a report, plus the roots relative paths refer to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoverageReport {
    pub files: Vec<FileCoverage>,
    /// Cobertura `<source>` entries; empty for other formats.
    pub source_roots: Vec<String>,
}

/// A coverage file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageFormat {
    Lcov,
    Cobertura,
    CoveragePyJson,
    LlvmJson,
}

impl CoverageFormat {
    /// Recognises the format from the first bytes of a file (a few KiB).
    pub fn sniff(head: &[u8]) -> Option<CoverageFormat> {
        let text = String::from_utf8_lossy(head);
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('<') {
            return trimmed
                .contains("<coverage")
                .then_some(CoverageFormat::Cobertura);
        }
        if trimmed.starts_with('{') {
            if trimmed.contains("llvm.coverage.json.export") || trimmed.contains("\"segments\"") {
                return Some(CoverageFormat::LlvmJson);
            }
            if trimmed.contains("\"executed_lines\"") || trimmed.contains("\"meta\"") {
                return Some(CoverageFormat::CoveragePyJson);
            }
            return None;
        }
        let first = trimmed.lines().next().unwrap_or_default();
        ["TN:", "SF:", "VER:"]
            .iter()
            .any(|p| first.starts_with(p))
            .then_some(CoverageFormat::Lcov)
    }

    pub fn name(self) -> &'static str {
        match self {
            CoverageFormat::Lcov => "LCOV",
            CoverageFormat::Cobertura => "Cobertura XML",
            CoverageFormat::CoveragePyJson => "coverage.py JSON",
            CoverageFormat::LlvmJson => "llvm-cov JSON",
        }
    }
}

/// Parses a coverage report of a known format.
pub fn parse_coverage<R: BufRead>(
    input: R,
    format: CoverageFormat,
    limits: &Limits,
) -> Result<CoverageReport, Error> {
    let files = match format {
        CoverageFormat::Lcov => parse_lcov(input)?,
        CoverageFormat::Cobertura => return parse_cobertura(input, limits),
        CoverageFormat::CoveragePyJson => parse_coveragepy(input)?,
        CoverageFormat::LlvmJson => parse_llvm_json(input)?,
    };
    Ok(CoverageReport {
        files,
        source_roots: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(
            CoverageFormat::sniff(b"TN:\nSF:a\n"),
            Some(CoverageFormat::Lcov)
        );
        assert_eq!(
            CoverageFormat::sniff(b"SF:/a.rs\n"),
            Some(CoverageFormat::Lcov)
        );
        assert_eq!(
            CoverageFormat::sniff(b"<?xml version=\"1.0\" ?>\n<coverage version=\"7\">"),
            Some(CoverageFormat::Cobertura)
        );
        assert_eq!(
            CoverageFormat::sniff(br#"{"data":[{"files":[]}],"type":"llvm.coverage.json.export"}"#),
            Some(CoverageFormat::LlvmJson)
        );
        assert_eq!(
            CoverageFormat::sniff(br#"{"meta": {"format": 3}, "files": {}}"#),
            Some(CoverageFormat::CoveragePyJson)
        );
        assert_eq!(CoverageFormat::sniff(b"<testsuites/>"), None);
        assert_eq!(CoverageFormat::sniff(b"metric,value,unit"), None);
    }
}
