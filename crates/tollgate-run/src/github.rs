//! GitHub Actions: the run as a step summary (Markdown for
//! `$GITHUB_STEP_SUMMARY`) and `::error` workflow commands for failures,
//! capped at GitHub's limits (pure; the CLI writes them when
//! `GITHUB_ACTIONS` is set).

use std::fmt::Write as _;

use crate::failures::headline;
use crate::outcome::FinalOutcome;
use crate::report::{JobStatus, RunReport};

/// GitHub shows at most 10 error annotations per step.
pub const MAX_ERROR_ANNOTATIONS: usize = 10;
/// A step summary may hold 1 MiB; tollgate's stays far below.
pub const MAX_SUMMARY_BYTES: usize = 64 * 1024;
/// Failing tests listed in the summary.
const SUMMARY_TESTS: usize = 50;

/// `%`, CR and LF escaped as workflow command data requires.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values additionally escape `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The file a test id names, when it is a pytest node id (`a/b.py::t`).
fn test_file(id: &str) -> Option<&str> {
    let file = id.split("::").next()?;
    file.ends_with(".py").then_some(file)
}

/// `::error` lines for failed and timed-out tests and failed jobs, at most
/// [`MAX_ERROR_ANNOTATIONS`] (the last one says how many more there are).
pub fn annotations(report: &RunReport) -> Vec<String> {
    let mut all: Vec<(Option<&str>, String, String)> = Vec::new();
    for job in &report.jobs {
        let failed_tests: Vec<_> = job
            .tests
            .iter()
            .filter(|t| matches!(t.outcome, FinalOutcome::Failed | FinalOutcome::TimedOut))
            .collect();
        if failed_tests.is_empty() && job.status == JobStatus::Failed {
            let reason = job.reason.as_deref().unwrap_or("failed");
            all.push((
                None,
                format!("tollgate: job {} failed", job.name),
                reason.to_string(),
            ));
        }
        for t in failed_tests {
            let last = t.attempts.last();
            let what = if t.outcome == FinalOutcome::TimedOut {
                "timed out".to_string()
            } else {
                last.and_then(|a| a.message.as_deref())
                    .and_then(headline)
                    .unwrap_or_else(|| "failed".to_string())
            };
            all.push((test_file(&t.id), format!("{} [{}]", t.id, job.name), what));
        }
    }
    let total = all.len();
    let mut out: Vec<String> = all
        .into_iter()
        .take(MAX_ERROR_ANNOTATIONS)
        .map(|(file, title, message)| {
            let mut props = String::new();
            if let Some(f) = file {
                let _ = write!(props, "file={},", escape_property(f));
            }
            let _ = write!(props, "title={}", escape_property(&title));
            format!("::error {props}::{}", escape_data(&message))
        })
        .collect();
    if total > MAX_ERROR_ANNOTATIONS {
        if let Some(last) = out.last_mut() {
            last.push_str(&escape_data(&format!(
                "\n(and {} more failure(s): see the step summary and the job log)",
                total - MAX_ERROR_ANNOTATIONS
            )));
        }
    }
    out
}

/// The run as Markdown: verdict, one row per job, the failing tests with
/// their assertion line (bounded by [`MAX_SUMMARY_BYTES`]).
pub fn step_summary(report: &RunReport) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### tollgate: pipeline `{}` {} in {:.1}s\n",
        report.pipeline,
        report.status.label(),
        report.wall_secs
    );
    md.push_str("| job | status | passed | failed | timed out | flaky | skipped | quarantined | not run |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for j in &report.jobs {
        let c = &j.counts;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&j.name),
            crate::live::status_label(j.status),
            c.passed,
            c.failed,
            c.timed_out,
            c.flaky,
            c.skipped,
            c.quarantined,
            c.not_run
        );
    }
    let failing: Vec<(&str, &crate::report::TestReport)> = report
        .jobs
        .iter()
        .flat_map(|j| j.tests.iter().map(move |t| (j.name.as_str(), t)))
        .filter(|(_, t)| {
            matches!(
                t.outcome,
                FinalOutcome::Failed | FinalOutcome::TimedOut | FinalOutcome::Flaky
            )
        })
        .collect();
    if !failing.is_empty() {
        md.push_str("\n| test | job | outcome | message |\n|---|---|---|---|\n");
        for (job, t) in failing.iter().take(SUMMARY_TESTS) {
            let message = t
                .attempts
                .iter()
                .rev()
                .find(|a| a.outcome.is_failure())
                .and_then(|a| a.message.as_deref())
                .and_then(headline)
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                t.id.replace('`', "'"),
                cell(job),
                t.outcome.as_str(),
                cell(&message)
            );
        }
        if failing.len() > SUMMARY_TESTS {
            let _ = writeln!(md, "\n… and {} more", failing.len() - SUMMARY_TESTS);
        }
    }
    for j in report.jobs.iter().filter(|j| j.gating_not_run()) {
        let _ = writeln!(
            md,
            "\n> gating job `{}` did not run here: {}",
            j.name,
            j.reason.as_deref().unwrap_or("not runnable")
        );
    }
    if md.len() > MAX_SUMMARY_BYTES {
        let mut cut = MAX_SUMMARY_BYTES;
        while !md.is_char_boundary(cut) {
            cut -= 1;
        }
        md.truncate(cut);
        md.push_str("\n\n… (cut at 64 KiB)\n");
    }
    md
}

/// Text safe in a Markdown table cell: one line, no `|`.
fn cell(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    let clipped: String = line.chars().take(200).collect();
    clipped.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Attempt, AttemptOutcome};
    use crate::report::{count, job_status, JobReport, RunStatus, TestReport};
    use crate::supervise::Resources;

    fn failing(id: &str, message: &str) -> TestReport {
        TestReport {
            id: id.into(),
            outcome: FinalOutcome::Failed,
            quarantine_reason: None,
            attempts: vec![Attempt {
                number: 1,
                outcome: AttemptOutcome::Failed,
                duration: 0.1,
                message: Some(message.into()),
                output: None,
            }],
        }
    }

    fn report(tests: Vec<TestReport>) -> RunReport {
        let counts = count(&tests);
        let (status, reason) = job_status(&counts, None);
        RunReport {
            pipeline: "pr".into(),
            complete: true,
            status: RunStatus::Failed,
            wall_secs: 1.0,
            jobs: vec![JobReport {
                name: "unit".into(),
                stage: 2,
                gating: true,
                optional: false,
                status,
                reason,
                counts,
                resources: Resources::default(),
                budget: None,
                over_budget_tests: Vec::new(),
                tests,
                processes: Vec::new(),
            }],
        }
    }

    #[test]
    fn annotations_name_the_file_and_the_assertion_and_stop_at_ten() {
        let one = report(vec![failing(
            "pkg/tests/test_mul.py::test_mul",
            "@pytest.mark.unit\ndef test_mul():\nE   assert 6 == 7",
        )]);
        assert_eq!(
            annotations(&one),
            ["::error file=pkg/tests/test_mul.py,title=pkg/tests/test_mul.py%3A%3Atest_mul [unit]::assert 6 == 7"]
        );
        let many = report(
            (0..25)
                .map(|i| failing(&format!("t.py::t{i}"), "E   boom"))
                .collect(),
        );
        let lines = annotations(&many);
        assert_eq!(lines.len(), MAX_ERROR_ANNOTATIONS);
        assert!(
            lines[9].ends_with("%0A(and 15 more failure(s): see the step summary and the job log)")
        );
    }

    #[test]
    fn the_step_summary_has_the_verdict_jobs_and_failures() {
        let md = step_summary(&report(vec![failing("t.py::a", "E   assert 1 == 2")]));
        assert!(md.starts_with("### tollgate: pipeline `pr` FAILED"), "{md}");
        assert!(md.contains("| unit | FAILED | 0 | 1 |"), "{md}");
        assert!(
            md.contains("| `t.py::a` | unit | failed | assert 1 == 2 |"),
            "{md}"
        );
    }
}
