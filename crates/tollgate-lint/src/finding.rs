//! What a rule reports: plain data that every renderer and `--fix` read.

use serde::Serialize;
pub use tollgate_inventory::Severity;

/// One problem, at one place, found by one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule code (`TG101`).
    pub code: &'static str,
    /// Rule name in kebab-case (`missing-required-category`).
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// How to fix it, in one sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Path relative to the project root, `/`-separated.
    pub file: String,
    /// 1-based; 0 when the finding concerns the whole file.
    pub line: u32,
    /// 1-based; 0 when unknown.
    pub column: u32,
    /// The test function (or single parametrized case) concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// Whether `--fix` can rewrite it.
    pub fixable: bool,
    /// The rewrite `--fix` applies, when `fixable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

/// A mechanical rewrite: replace one identifier on one line.
///
/// The lint core never reads source files, so a fix names the line and the
/// text to replace rather than byte offsets; [`crate::fix`] finds the exact
/// byte range on that line when it applies it. Nothing else on the line, or
/// in the file, is touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub file: String,
    pub line: u32,
    /// A marker spelling as written after `mark.` (`premerge`).
    pub old_marker: String,
    /// Its replacement (`pre_merge`).
    pub new_marker: String,
}

/// Where a finding points and what it is about; the rule supplies the rest.
#[derive(Debug, Clone, Default)]
pub(crate) struct At {
    pub file: String,
    pub line: u32,
    pub test: Option<String>,
}

impl At {
    pub(crate) fn new(file: &str, line: u32) -> Self {
        At {
            file: file.to_string(),
            line,
            test: None,
        }
    }

    pub(crate) fn test(mut self, test: &str) -> Self {
        self.test = Some(test.to_string());
        self
    }
}

/// Orders findings for output: by file, line, column, then code.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (
            a.file.as_str(),
            a.line,
            a.column,
            a.code,
            a.test.as_deref(),
            a.message.as_str(),
        )
            .cmp(&(
                b.file.as_str(),
                b.line,
                b.column,
                b.code,
                b.test.as_deref(),
                b.message.as_str(),
            ))
    });
}
