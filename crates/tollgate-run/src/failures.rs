//! Failure details for the console, the way pytest's and nextest's users
//! expect them: for each failed, timed-out or flaky test its failed attempts
//! with the assertion or traceback excerpt (pytest's `longrepr`) or the panic
//! message, and the captured output; for a job whose command or build failed,
//! the compiler's error lines or the command's output tail. Everything is
//! bounded, and built from the report, whose text is already redacted (pure).

use std::fmt::Write as _;

use crate::outcome::{Attempt, AttemptOutcome, FinalOutcome};
use crate::report::{JobReport, JobStatus, RunReport, TestReport};

/// When failure details are printed (`run --failure-output`, as nextest's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureOutput {
    /// As each job ends, above the progress display.
    Immediate,
    /// Once, after every job, before the summary table.
    #[default]
    Final,
    /// Not at all (the `--json` and `--junit` files still have them).
    Never,
}

/// How much of each failure is shown.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Lines of a message (traceback, panic) per attempt.
    pub message_lines: usize,
    /// Lines of captured output per attempt (its end, where errors are).
    pub output_lines: usize,
    /// Characters per line.
    pub line_chars: usize,
    /// Tests shown per job; the rest are counted.
    pub tests_per_job: usize,
    /// Lines of a failed command's output or a failed build's errors.
    pub job_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_lines: 60,
            output_lines: 30,
            line_chars: 400,
            tests_per_job: 20,
            job_lines: 60,
        }
    }
}

/// Details of every job's failures, in job order; empty when none failed.
pub fn details(report: &RunReport, limits: &Limits) -> String {
    report
        .jobs
        .iter()
        .filter_map(|j| job_details(j, limits))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One job's failures, or `None` when it has nothing to show.
pub fn job_details(job: &JobReport, limits: &Limits) -> Option<String> {
    let mut out = String::new();
    if matches!(job.status, JobStatus::Failed | JobStatus::Incomplete) {
        if let Some(reason) = &job.reason {
            let mut lines = reason.lines();
            let first = lines.next().unwrap_or_default();
            let rest: Vec<&str> = lines.collect();
            let _ = writeln!(out, "━━ {} [{}] {}", job_label(job.status), job.name, first);
            if !rest.is_empty() {
                excerpt(&mut out, &rest, limits.job_lines, 0, limits.line_chars);
            }
        }
    }
    let shown: Vec<&TestReport> = job.tests.iter().filter(|t| worth_showing(t)).collect();
    for t in shown.iter().take(limits.tests_per_job) {
        test_details(&mut out, &job.name, t, limits);
    }
    if shown.len() > limits.tests_per_job {
        let _ = writeln!(
            out,
            "… and {} more failing test(s) in {} (all of them are in the --json and --junit files)",
            shown.len() - limits.tests_per_job,
            job.name
        );
    }
    (!out.is_empty()).then_some(out)
}

fn job_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Incomplete => "INCOMPLETE",
        _ => "FAILED",
    }
}

fn worth_showing(t: &TestReport) -> bool {
    match t.outcome {
        FinalOutcome::Failed | FinalOutcome::TimedOut | FinalOutcome::Flaky => true,
        // A quarantined test that failed: shown, so its owner sees why.
        FinalOutcome::Quarantined => t.attempts.iter().any(|a| a.outcome.is_failure()),
        FinalOutcome::Passed | FinalOutcome::Skipped | FinalOutcome::NotRun => false,
    }
}

fn test_details(out: &mut String, job: &str, t: &TestReport, limits: &Limits) {
    let label = match t.outcome {
        FinalOutcome::TimedOut => "TIMED OUT",
        FinalOutcome::Flaky => "FLAKY",
        FinalOutcome::Quarantined => "QUARANTINED",
        _ => "FAILED",
    };
    let _ = writeln!(out, "━━ {label} [{job}] {}", t.id);
    if let Some(reason) = &t.quarantine_reason {
        let _ = writeln!(out, "  quarantined: {reason}");
    }
    if t.attempts.is_empty() {
        let _ = writeln!(out, "  the runner never reported this test");
    }
    let total = t.attempts.len();
    let mut previous: Option<&str> = None;
    for a in &t.attempts {
        let _ = writeln!(out, "  {}", attempt_line(a, total));
        if !a.outcome.is_failure() {
            continue;
        }
        match a.message.as_deref() {
            Some(m) if previous == Some(m) => {
                let _ = writeln!(out, "    (same message as the attempt before)");
            }
            Some(m) => {
                let m = message_beside_output(m, a.output.as_deref());
                let lines: Vec<&str> = m.lines().collect();
                excerpt(out, &lines, limits.message_lines, 4, limits.line_chars);
            }
            None => {}
        }
        previous = a.message.as_deref();
        if let Some(o) = a.output.as_deref().filter(|o| !o.trim().is_empty()) {
            let _ = writeln!(out, "    ── captured output ──");
            let lines: Vec<&str> = o.lines().collect();
            let start = lines.len().saturating_sub(limits.output_lines);
            if start > 0 {
                let _ = writeln!(out, "    … {start} earlier line(s) omitted …");
            }
            for line in &lines[start..] {
                let _ = writeln!(out, "    {}", clip(line, limits.line_chars));
            }
        }
    }
}

/// What of an attempt's message to show above its captured output. A Rust
/// test's message is the panic with its backtrace, which libtest also wrote
/// to the captured stderr shown below: then only its first line (`thread …
/// panicked at file:line`) is kept, so the panic appears once, as nextest
/// shows it. A message the output does not hold (pytest's longrepr) is kept
/// whole.
fn message_beside_output<'m>(message: &'m str, output: Option<&str>) -> &'m str {
    let Some(output) = output else {
        return message;
    };
    let message = message.trim_end();
    let (first, rest) = message.split_once('\n').unwrap_or((message, ""));
    let rest = rest.trim();
    if !rest.is_empty() && output.contains(rest) {
        first
    } else {
        message
    }
}

fn attempt_line(a: &Attempt, total: usize) -> String {
    let what = a.outcome.as_str();
    let when = if a.outcome == AttemptOutcome::Timeout {
        format!(" after {:.1}s (its timeout)", a.duration)
    } else if a.duration > 0.0 {
        format!(" in {:.2}s", a.duration)
    } else {
        String::new()
    };
    if total > 1 {
        format!("attempt {} of {total}: {what}{when}", a.number)
    } else {
        format!("{what}{when}")
    }
}

/// At most `max` lines: the head and the end (where the assertion is) of a
/// longer text, indented.
fn excerpt(out: &mut String, lines: &[&str], max: usize, indent: usize, line_chars: usize) {
    let pad = " ".repeat(indent);
    if lines.len() <= max {
        for line in lines {
            let _ = writeln!(out, "{pad}{}", clip(line, line_chars));
        }
        return;
    }
    let head = max / 4;
    let tail = max - head;
    for line in &lines[..head] {
        let _ = writeln!(out, "{pad}{}", clip(line, line_chars));
    }
    let _ = writeln!(
        out,
        "{pad}… {} line(s) omitted …",
        lines.len() - head - tail
    );
    for line in &lines[lines.len() - tail..] {
        let _ = writeln!(out, "{pad}{}", clip(line, line_chars));
    }
}

/// A line without control characters (no redrawing a terminal), cut at
/// `max` characters.
fn clip(line: &str, max: usize) -> String {
    let clean: String = line
        .trim_end()
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect();
    match clean.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &clean[..at]),
        None => clean,
    }
}

/// The line that says what went wrong (pure): pytest's first `E ` line (the
/// assertion or exception), the message after Rust's `panicked at …:`, else
/// the first non-empty line that is not a decorator.
pub fn headline(message: &str) -> Option<String> {
    let lines: Vec<&str> = message.lines().collect();
    if let Some(e) = lines.iter().find(|l| l.starts_with("E ")) {
        return Some(e[1..].trim().to_string());
    }
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        let line = lines[i].trim();
        // `thread 't' panicked at src/lib.rs:3:5:` then the message on the next line.
        if line.ends_with(':') {
            if let Some(next) = lines[i + 1..].iter().find(|l| !l.trim().is_empty()) {
                return Some(next.trim().to_string());
            }
        }
        return Some(line.to_string());
    }
    lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with('@'))
        .map(str::to_string)
}

/// The compiler's error blocks in a build log (each `error…` line up to the
/// next blank line), at most `max` lines; `None` when there is none (pure).
pub fn compiler_errors(log: &str, max: usize) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    let mut inside = false;
    for line in log.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("error[") || trimmed.starts_with("error:") {
            inside = true;
        }
        if inside {
            if line.trim().is_empty() {
                inside = false;
                out.push("");
                continue;
            }
            out.push(line);
        }
    }
    while out.last() == Some(&"") {
        out.pop();
    }
    if out.is_empty() {
        return None;
    }
    let omitted = out.len().saturating_sub(max);
    out.truncate(max);
    let mut text = out.join("\n");
    if omitted > 0 {
        let _ = write!(text, "\n… {omitted} more line(s) of compiler errors …");
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{count, job_status, Counts};
    use crate::step::StepFailure;
    use crate::supervise::Resources;

    const LONGREPR: &str = "@pytest.mark.pre_merge\n\
        def test_mul_fails():\n\
        >       assert mul(2, 3) == 7\n\
        E       assert 6 == 7\n\
        E        +  where 6 = mul(2, 3)\n\
        \n\
        pkg/tests/test_mul.py:9: AssertionError";

    fn attempt(number: u32, outcome: AttemptOutcome, message: Option<&str>) -> Attempt {
        Attempt {
            number,
            outcome,
            duration: 0.25,
            message: message.map(str::to_string),
            output: None,
        }
    }

    fn job(tests: Vec<TestReport>, failure: Option<StepFailure>) -> JobReport {
        let counts = count(&tests);
        let (status, reason) = job_status(&counts, failure.as_ref());
        JobReport {
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
        }
    }

    fn test(id: &str, outcome: FinalOutcome, attempts: Vec<Attempt>) -> TestReport {
        TestReport {
            id: id.into(),
            outcome,
            quarantine_reason: None,
            attempts,
        }
    }

    #[test]
    fn the_assertion_is_the_headline_not_the_decorator() {
        assert_eq!(headline(LONGREPR).as_deref(), Some("assert 6 == 7"));
        let panic = "thread 'tests::adds' panicked at src/lib.rs:10:9:\n\
                     assertion `left == right` failed\n  left: 4\n right: 5";
        assert_eq!(
            headline(panic).as_deref(),
            Some("assertion `left == right` failed")
        );
        assert_eq!(
            headline("killed by tollgate: the test ran past its timeout").as_deref(),
            Some("killed by tollgate: the test ran past its timeout")
        );
        assert_eq!(headline(""), None);
    }

    #[test]
    fn failed_flaky_and_timed_out_tests_show_their_attempts() {
        let mut failing = attempt(1, AttemptOutcome::Failed, Some(LONGREPR));
        failing.output = Some("----- Captured stdout call -----\nmultiplying".into());
        let tests = vec![
            test(
                "t.py::ok",
                FinalOutcome::Passed,
                vec![attempt(1, AttemptOutcome::Passed, None)],
            ),
            test(
                "t.py::test_mul_fails",
                FinalOutcome::Failed,
                vec![failing.clone(), {
                    let mut again = failing.clone();
                    again.number = 2;
                    again
                }],
            ),
            test(
                "t.py::test_flaky",
                FinalOutcome::Flaky,
                vec![
                    attempt(1, AttemptOutcome::Failed, Some("E   assert False")),
                    attempt(2, AttemptOutcome::Passed, None),
                ],
            ),
            test(
                "t.py::test_hangs",
                FinalOutcome::TimedOut,
                vec![Attempt {
                    duration: 2.0,
                    ..attempt(
                        1,
                        AttemptOutcome::Timeout,
                        Some("killed by tollgate: the test ran past its timeout"),
                    )
                }],
            ),
        ];
        let text = job_details(&job(tests, None), &Limits::default()).unwrap();
        insta::assert_snapshot!("failure_details", text);
        assert!(text.contains("E       assert 6 == 7"), "{text}");
        assert!(
            text.contains("(same message as the attempt before)"),
            "{text}"
        );
        assert!(text.contains("TIMED OUT [unit] t.py::test_hangs"), "{text}");
        assert!(!text.contains("t.py::ok"), "{text}");
    }

    #[test]
    fn a_panic_also_in_the_captured_output_is_shown_once() {
        let panic = "thread 't' (7) panicked at src/lib.rs:3:5:\nassertion `left == right` failed\n  left: 1\n right: 2\nstack backtrace:\n   0: rust_begin_unwind";
        let output = format!(
            "running 1 test\ntest t ... FAILED\n{panic}\nnote: run with `RUST_BACKTRACE=full`"
        );
        let tests = vec![test(
            "crate t",
            FinalOutcome::Failed,
            vec![Attempt {
                output: Some(output),
                ..attempt(
                    1,
                    AttemptOutcome::Failed,
                    Some(&format!(
                        "thread 't' (7) panicked at src/lib.rs:3:5\n\n{panic}"
                    )),
                )
            }],
        )];
        let text = job_details(&job(tests, None), &Limits::default()).unwrap();
        assert_eq!(
            text.matches("assertion `left == right` failed").count(),
            1,
            "{text}"
        );
        assert_eq!(text.matches("stack backtrace").count(), 1, "{text}");
        assert!(
            text.contains("    thread 't' (7) panicked at src/lib.rs:3:5\n"),
            "{text}"
        );
        // A message the output does not hold is shown whole.
        assert_eq!(message_beside_output("a\nb", Some("c")), "a\nb");
        assert_eq!(message_beside_output("a\nb", None), "a\nb");
    }

    #[test]
    fn long_texts_are_bounded_keeping_the_end() {
        let long: String = (1..=500).map(|i| format!("line {i}\n")).collect();
        let tests = vec![test(
            "t.py::big",
            FinalOutcome::Failed,
            vec![Attempt {
                output: Some(long.clone()),
                ..attempt(1, AttemptOutcome::Failed, Some(&long))
            }],
        )];
        let limits = Limits::default();
        let text = job_details(&job(tests, None), &limits).unwrap();
        assert!(text.contains("line 500"), "{text}");
        assert!(text.contains("line 1\n"), "{text}");
        assert!(!text.contains("line 250\n"), "{text}");
        assert!(text.contains("omitted"), "{text}");
        assert!(text.lines().count() < 110, "{}", text.lines().count());
        let many: Vec<TestReport> = (0..30)
            .map(|i| {
                test(
                    &format!("t.py::t{i}"),
                    FinalOutcome::Failed,
                    vec![attempt(1, AttemptOutcome::Failed, Some("E x"))],
                )
            })
            .collect();
        let text = job_details(&job(many, None), &limits).unwrap();
        assert!(
            text.contains("… and 10 more failing test(s) in unit"),
            "{text}"
        );
    }

    #[test]
    fn a_failed_command_shows_its_output_and_a_passing_job_nothing() {
        let failed = job(
            vec![],
            Some(StepFailure::CommandFailed(
                "`ruff check .` failed (exit code 1)\nx.py:1:1: F401 unused import".into(),
            )),
        );
        let text = job_details(&failed, &Limits::default()).unwrap();
        assert_eq!(
            text,
            "━━ FAILED [unit] `ruff check .` failed (exit code 1)\nx.py:1:1: F401 unused import\n"
        );
        let passing = job(
            vec![test(
                "a",
                FinalOutcome::Passed,
                vec![attempt(1, AttemptOutcome::Passed, None)],
            )],
            None,
        );
        assert_eq!(job_details(&passing, &Limits::default()), None);
        assert_eq!(
            passing.counts,
            Counts {
                passed: 1,
                ..Counts::default()
            }
        );
    }

    #[test]
    fn compiler_errors_are_picked_out_of_a_build_log() {
        let log = "   Compiling demo v0.1.0\n\
                   warning: unused variable: `x`\n  --> src/lib.rs:2:9\n\n\
                   error[E0308]: mismatched types\n --> src/lib.rs:5:5\n  |\n5 |     \"a\"\n  |     ^^^ expected `u32`\n\n\
                   error: could not compile `demo` (lib test) due to 1 previous error\n";
        let errors = compiler_errors(log, 60).unwrap();
        assert!(
            errors.starts_with("error[E0308]: mismatched types"),
            "{errors}"
        );
        assert!(errors.contains("src/lib.rs:5:5"), "{errors}");
        assert!(errors.contains("could not compile"), "{errors}");
        assert!(!errors.contains("warning"), "{errors}");
        assert_eq!(compiler_errors("   Compiling demo\n", 60), None);
        let capped = compiler_errors(log, 2).unwrap();
        assert!(
            capped.ends_with("more line(s) of compiler errors …"),
            "{capped}"
        );
    }
}
