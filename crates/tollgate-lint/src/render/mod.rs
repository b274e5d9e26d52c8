//! Output formats. Each renderer is pure: findings in, a `String` out.

mod github;
mod human;
mod json;
mod sarif;

use std::fmt;
use std::str::FromStr;

pub use github::{github, github_capped, github_summary, DEFAULT_MAX_ANNOTATIONS};
pub use human::human;
pub use json::json;
pub use sarif::sarif;

use crate::finding::Finding;

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
    Sarif,
    Github,
}

impl Format {
    pub const ALL: &'static [Format] =
        &[Format::Human, Format::Json, Format::Sarif, Format::Github];

    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected human, json, sarif or github)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// Renders `findings` in `format`; `color` only affects `human` (pass
/// whether stdout is a terminal).
pub fn render(format: Format, findings: &[Finding], color: bool) -> String {
    match format {
        Format::Human => human(findings, color),
        Format::Json => json(findings),
        Format::Sarif => sarif(findings),
        Format::Github => github(findings),
    }
}

/// Counts for summaries.
pub(crate) struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub fixable: usize,
}

impl Counts {
    pub(crate) fn of(findings: &[Finding]) -> Self {
        let errors = findings
            .iter()
            .filter(|f| f.severity == crate::Severity::Error)
            .count();
        Counts {
            errors,
            warnings: findings.len() - errors,
            fixable: findings.iter().filter(|f| f.fixable).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(*f));
        }
        assert_eq!(
            "xml".parse::<Format>().map_err(|e| e.to_string()),
            Err("unknown format `xml` (expected human, json, sarif or github)".to_string())
        );
    }
}
