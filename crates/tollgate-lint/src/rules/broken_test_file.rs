//! TG502: a test file discovery could not parse (a syntax error), read, or
//! that is over its size limit. None of its tests is known, so none can be
//! checked or selected: an error, never a silent loss. `tollgate run` hands
//! such a file to pytest itself, so the job fails with pytest's own error.

use crate::context::Context;
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG502",
    name: "broken-test-file",
    summary: "a test file cannot be parsed, read, or is over the size limit",
    severity: Severity::Error,
    fixable: false,
};

/// Discovery's codes for a file whose tests are lost.
const CODES: &[&str] = &["parse-error", "unreadable", "too-large", "file-too-large"];

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for d in ctx
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && CODES.contains(&d.code.as_str()))
    {
        let help = match d.code.as_str() {
            "parse-error" => "fix the syntax error (`tollgate run` gives the file to pytest, which fails on it too)",
            "too-large" | "file-too-large" => {
                "split the file: discovery skips test files over 10 MiB"
            }
            _ => "make the file readable, or remove it",
        };
        let mut finding = INFO.finding(
            At::new(&d.file, d.line),
            match d.code.as_str() {
                "parse-error" => format!(
                    "syntax error: {}; none of this file's tests can be collected",
                    d.message
                ),
                _ => format!("{}; none of this file's tests can be collected", d.message),
            },
            help.to_string(),
        );
        finding.column = d.column;
        out.push(finding);
    }
}
