//! GitHub Actions workflow commands: one annotation per finding,
//! `::error file=F,line=L,col=C,title=TG101::message`.

use std::fmt::Write;

use crate::finding::{Finding, Severity};

pub fn github(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = format!("file={}", escape_property(&f.file));
        if f.line > 0 {
            let _ = write!(properties, ",line={}", f.line);
            if f.column > 0 {
                let _ = write!(properties, ",col={}", f.column);
            }
        }
        let _ = write!(properties, ",title={}", escape_property(f.code));
        let mut message = f.message.clone();
        if let Some(help) = &f.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(out, "::{command} {properties}::{}", escape_data(&message));
    }
    out
}

/// GitHub shows at most this many annotations of each kind per step; the
/// rest are dropped without a word.
pub const DEFAULT_MAX_ANNOTATIONS: usize = 10;

/// At most `max` annotations, errors first (in their order, then
/// warnings), and a notice saying how many were left out and where the full
/// list is (`summary_written`: the step summary; else the log with
/// `--format human`).
pub fn github_capped(findings: &[Finding], max: usize, summary_written: bool) -> String {
    if findings.len() <= max {
        return github(findings);
    }
    let mut ordered: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    ordered.extend(findings.iter().filter(|f| f.severity != Severity::Error));
    let shown: Vec<Finding> = ordered.iter().take(max).map(|f| (*f).clone()).collect();
    let mut out = github(&shown);
    let counts = super::Counts::of(findings);
    let where_ = if summary_written {
        "the full list is in the step summary"
    } else {
        "run `tollgate lint` for the full list"
    };
    let _ = writeln!(
        out,
        "::notice title=tollgate lint::{}",
        escape_data(&format!(
            "{} finding(s) ({} error(s), {} warning(s)); {} shown as annotations, {} more not shown; {where_}",
            findings.len(),
            counts.errors,
            counts.warnings,
            shown.len(),
            findings.len() - shown.len()
        ))
    );
    out
}

/// The step summary's size limit is 1 MiB; the Markdown list stops well
/// before it.
const SUMMARY_LIMIT: usize = 900 * 1024;

/// Every finding as Markdown, for `$GITHUB_STEP_SUMMARY`.
pub fn github_summary(findings: &[Finding]) -> String {
    let counts = super::Counts::of(findings);
    let mut out = format!(
        "## tollgate lint: {} error(s), {} warning(s)\n\n| where | code | severity | message |\n|---|---|---|---|\n",
        counts.errors, counts.warnings
    );
    for (i, f) in findings.iter().enumerate() {
        let severity = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let row = format!(
            "| `{}:{}` | {} | {severity} | {} |\n",
            f.file,
            f.line,
            f.code,
            f.message.replace('|', "\\|").replace('\n', " ")
        );
        if out.len() + row.len() > SUMMARY_LIMIT {
            let _ = writeln!(
                out,
                "\n{} more finding(s) not listed (the summary is limited to 1 MiB); run `tollgate lint --format json` for all.",
                findings.len() - i
            );
            break;
        }
        out.push_str(&row);
    }
    out
}

/// The escaping the Actions runner undoes for a command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values additionally escape `:` and `,`, which delimit them.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(i: usize, severity: Severity) -> Finding {
        Finding {
            code: "TG103",
            rule: "unknown-marker",
            severity,
            message: format!("finding {i}"),
            help: None,
            file: "tests/test_x.py".into(),
            line: i as u32 + 1,
            column: 0,
            test: None,
            fixable: false,
            fix: None,
        }
    }

    #[test]
    fn annotations_are_capped_errors_first_with_a_notice() {
        let mut findings: Vec<Finding> = (0..30).map(|i| finding(i, Severity::Warning)).collect();
        findings.push(finding(30, Severity::Error));
        let out = github_capped(&findings, 10, true);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 11, "{out}");
        assert!(lines[0].starts_with("::error "), "{}", lines[0]);
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::warning ")).count(),
            9
        );
        assert!(
            lines[10].starts_with(
                "::notice title=tollgate lint::31 finding(s) (1 error(s), 30 warning(s)); 10 shown"
            ),
            "{}",
            lines[10]
        );
        assert!(lines[10].contains("step summary"));
        // Under the cap: unchanged.
        assert_eq!(
            github_capped(&findings[..3], 10, false),
            github(&findings[..3])
        );
        let summary = github_summary(&findings);
        assert_eq!(summary.matches("| `tests/test_x.py:").count(), 31);
    }

    #[test]
    fn delimiters_are_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
