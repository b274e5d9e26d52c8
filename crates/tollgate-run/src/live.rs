//! Live progress: the events the engine emits while it runs, the display mode
//! for an environment, each event as one plain line (CI logs), and the
//! per-job state a progress bar shows. Everything here is pure; drawing is
//! the CLI's.

use std::collections::HashMap;

use crate::outcome::AttemptOutcome;
use crate::report::{Counts, JobReport, JobStatus};

/// Something that happened during a run (text already redacted).
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// A job started; `tests` is how many tests it selects (0 for lint/build).
    JobStarted { job: String, tests: usize },
    /// A test started (pytest says so; nextest and libtest do not always).
    TestStarted { job: String, id: String },
    /// One attempt of a test ended (`attempt` counts from 1 per test and job).
    TestFinished {
        job: String,
        id: String,
        outcome: AttemptOutcome,
        attempt: u32,
    },
    /// A job ended; its final counts.
    JobFinished {
        job: String,
        status: JobStatus,
        counts: Counts,
        wall_secs: f64,
        /// `(used, limit)` seconds when the suite went over its budget.
        over_budget: Option<(f64, f64)>,
        /// Tests over a per-test budget.
        tests_over_budget: usize,
        /// First line of why it failed or stopped.
        reason: Option<String>,
    },
    /// A job never started: skipped, cancelled, or not runnable here.
    JobNotStarted {
        job: String,
        status: JobStatus,
        reason: String,
    },
    /// Right after a [`RunEvent::JobFinished`] with failures: their details
    /// (see [`crate::failures`]), for `--failure-output immediate`.
    JobFailures { job: String, text: String },
}

impl RunEvent {
    /// The [`RunEvent::JobFinished`] of a finished job.
    pub fn job_finished(r: &JobReport) -> Self {
        RunEvent::JobFinished {
            job: r.name.clone(),
            status: r.status,
            counts: r.counts.clone(),
            wall_secs: r.resources.wall_secs,
            over_budget: r
                .budget
                .as_ref()
                .filter(|b| b.exceeded)
                .map(|b| (b.used_secs, b.limit_secs)),
            tests_over_budget: r.over_budget_tests.len(),
            reason: r
                .reason
                .as_ref()
                .map(|m| m.lines().next().unwrap_or_default().to_string()),
        }
    }

    pub fn job(&self) -> &str {
        match self {
            RunEvent::JobStarted { job, .. }
            | RunEvent::TestStarted { job, .. }
            | RunEvent::TestFinished { job, .. }
            | RunEvent::JobFinished { job, .. }
            | RunEvent::JobNotStarted { job, .. }
            | RunEvent::JobFailures { job, .. } => job,
        }
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Redrawn bars, one per running job (an interactive terminal).
    Bars,
    /// One line per event, no escape codes, no carriage returns: logs.
    Plain,
}

/// The mode for an environment (pure): bars only on an interactive
/// terminal outside CI; `CI` counts as set unless empty, `0` or `false`;
/// `TERM=dumb` cannot redraw.
pub fn progress_mode(
    stderr_is_terminal: bool,
    ci: Option<&str>,
    term: Option<&str>,
) -> ProgressMode {
    let in_ci = ci.is_some_and(|v| {
        let v = v.trim();
        !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
    });
    if !stderr_is_terminal || in_ci || term == Some("dumb") {
        ProgressMode::Plain
    } else {
        ProgressMode::Bars
    }
}

/// Control characters (escape codes, carriage returns) turned into spaces,
/// so a test id or a message cannot redraw a log line.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub fn status_label(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Passed => "passed",
        JobStatus::Failed => "FAILED",
        JobStatus::PassedWithFlakes => "passed with flaky tests",
        JobStatus::Skipped => "skipped",
        JobStatus::NotRunnable => "not runnable here",
        JobStatus::InfrastructureError => "INFRASTRUCTURE ERROR",
        JobStatus::Incomplete => "INCOMPLETE",
        JobStatus::Cancelled => "cancelled",
    }
}

fn outcome_label(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::Passed => "passed",
        AttemptOutcome::Failed => "FAILED",
        AttemptOutcome::Error => "ERROR",
        AttemptOutcome::Skipped => "skipped",
        AttemptOutcome::Timeout => "TIMEOUT",
        AttemptOutcome::Missing => "MISSING",
        AttemptOutcome::NotRun => "NOT RUN",
    }
}

/// The event as one plain line, or `None` for events too frequent to log
/// (a test starting, a first-attempt pass or skip). Never contains control
/// characters.
pub fn plain_line(event: &RunEvent) -> Option<String> {
    let line = match event {
        RunEvent::JobStarted { job, tests: 0 } => format!("[{job}] started"),
        RunEvent::JobStarted { job, tests } => format!("[{job}] started: {tests} test(s)"),
        RunEvent::TestStarted { .. } | RunEvent::JobFailures { .. } => return None,
        RunEvent::TestFinished {
            job,
            id,
            outcome,
            attempt,
        } => {
            if !outcome.is_failure() && *attempt <= 1 {
                return None;
            }
            format!(
                "[{job}] {} {id} (attempt {attempt})",
                outcome_label(*outcome)
            )
        }
        RunEvent::JobFinished {
            job,
            status,
            counts: c,
            wall_secs,
            over_budget,
            tests_over_budget,
            reason,
        } => {
            let mut line = format!(
                "[{job}] {}: {} passed, {} failed, {} flaky, {} skipped, {} quarantined in {wall_secs:.1}s",
                status_label(*status),
                c.passed,
                c.failed,
                c.flaky,
                c.skipped,
                c.quarantined
            );
            if c.timed_out > 0 {
                line.push_str(&format!(", {} timed out", c.timed_out));
            }
            if c.not_run > 0 {
                line.push_str(&format!(", {} not run (build failed)", c.not_run));
            }
            if let Some((used, limit)) = over_budget {
                line.push_str(&format!(
                    ", over its budget ({used:.1}s, limit {limit:.0}s)"
                ));
            }
            if *tests_over_budget > 0 {
                line.push_str(&format!(
                    ", {tests_over_budget} test(s) over the per-test budget"
                ));
            }
            if let Some(reason) = reason {
                line.push_str(&format!(": {reason}"));
            }
            line
        }
        RunEvent::JobNotStarted {
            job,
            status,
            reason,
        } => format!(
            "[{job}] {}: {}",
            status_label(*status),
            reason.lines().next().unwrap_or_default()
        ),
    };
    Some(sanitize(&line))
}

/// What a job's progress bar shows, folded from its events.
#[derive(Debug, Clone, Default)]
pub struct JobProgress {
    /// Tests the job selects.
    pub total: usize,
    /// The test running now, when the runner says.
    pub current: Option<String>,
    /// Per reported id: whether an attempt failed, and the last outcome.
    seen: HashMap<String, (bool, AttemptOutcome)>,
}

/// Live counts of a job: `flaky` are tests that failed and then passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounts {
    pub passed: usize,
    pub failed: usize,
    pub flaky: usize,
    pub skipped: usize,
}

impl JobProgress {
    pub fn apply(&mut self, event: &RunEvent) {
        match event {
            RunEvent::JobStarted { tests, .. } => self.total = *tests,
            RunEvent::TestStarted { id, .. } => self.current = Some(id.clone()),
            RunEvent::TestFinished { id, outcome, .. } => {
                let entry = self.seen.entry(id.clone()).or_insert((false, *outcome));
                entry.0 |= outcome.is_failure();
                entry.1 = *outcome;
                if self.current.as_deref() == Some(id.as_str()) {
                    self.current = None;
                }
            }
            RunEvent::JobFinished { .. } | RunEvent::JobNotStarted { .. } => self.current = None,
            RunEvent::JobFailures { .. } => {}
        }
    }

    pub fn counts(&self) -> LiveCounts {
        let mut c = LiveCounts::default();
        for (failed_before, last) in self.seen.values() {
            match last {
                AttemptOutcome::Passed if *failed_before => c.flaky += 1,
                AttemptOutcome::Passed => c.passed += 1,
                AttemptOutcome::Skipped => c.skipped += 1,
                _ => c.failed += 1,
            }
        }
        c
    }

    /// Tests with a result so far, at most `total` (parametrized cases are
    /// reported one by one but selected as one).
    pub fn done(&self) -> usize {
        self.seen.len().min(self.total)
    }

    /// A CI log's heartbeat for a long job (`tollgate run` prints one a
    /// minute at most, when tests finish): what a progress bar would show,
    /// on one plain line.
    pub fn plain_line(&self, job: &str, elapsed_secs: f64) -> String {
        let c = self.counts();
        format!(
            "[{job}] running: {}/{} done ({} passed, {} failed, {} flaky, {} skipped) after {elapsed_secs:.0}s",
            self.done(),
            self.total,
            c.passed,
            c.failed,
            c.flaky,
            c.skipped
        )
    }

    /// The bar's message: counts, then the running test.
    pub fn message(&self) -> String {
        let c = self.counts();
        let mut msg = format!(
            "{} passed, {} failed, {} flaky, {} skipped",
            c.passed, c.failed, c.flaky, c.skipped
        );
        if let Some(current) = &self.current {
            msg.push_str(&format!(" · {}", sanitize(current)));
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_on_an_interactive_terminal_outside_ci() {
        use ProgressMode::*;
        assert_eq!(progress_mode(true, None, Some("xterm-256color")), Bars);
        assert_eq!(progress_mode(true, None, None), Bars);
        assert_eq!(progress_mode(false, None, Some("xterm")), Plain);
        assert_eq!(progress_mode(true, Some("true"), Some("xterm")), Plain);
        assert_eq!(progress_mode(true, Some("1"), Some("xterm")), Plain);
        assert_eq!(progress_mode(true, Some("false"), Some("xterm")), Bars);
        assert_eq!(progress_mode(true, Some(""), Some("xterm")), Bars);
        assert_eq!(progress_mode(true, None, Some("dumb")), Plain);
    }

    fn finished(id: &str, outcome: AttemptOutcome, attempt: u32) -> RunEvent {
        RunEvent::TestFinished {
            job: "unit".into(),
            id: id.into(),
            outcome,
            attempt,
        }
    }

    fn sample_events() -> Vec<RunEvent> {
        vec![
            RunEvent::JobStarted {
                job: "lint".into(),
                tests: 0,
            },
            RunEvent::JobStarted {
                job: "unit".into(),
                tests: 4,
            },
            RunEvent::TestStarted {
                job: "unit".into(),
                id: "t.py::a".into(),
            },
            finished("t.py::a", AttemptOutcome::Passed, 1),
            finished("t.py::b", AttemptOutcome::Failed, 1),
            finished("t.py::c", AttemptOutcome::Timeout, 1),
            finished("t.py::b", AttemptOutcome::Passed, 2),
            finished("t.py::c", AttemptOutcome::Failed, 2),
            finished("t.py::d", AttemptOutcome::Skipped, 1),
            RunEvent::JobFinished {
                job: "unit".into(),
                status: JobStatus::Failed,
                counts: Counts {
                    passed: 1,
                    failed: 1,
                    flaky: 1,
                    skipped: 1,
                    quarantined: 0,
                    ..Counts::default()
                },
                wall_secs: 17.25,
                over_budget: Some((17.25, 15.0)),
                tests_over_budget: 1,
                reason: None,
            },
            RunEvent::JobFinished {
                job: "lint".into(),
                status: JobStatus::Failed,
                counts: Counts::default(),
                wall_secs: 0.5,
                over_budget: None,
                tests_over_budget: 0,
                reason: Some("`ruff check` failed (Code(1))".into()),
            },
            RunEvent::JobNotStarted {
                job: "integration".into(),
                status: JobStatus::Cancelled,
                reason: "fail-fast: gating job unit failed".into(),
            },
            RunEvent::JobNotStarted {
                job: "e2e_2".into(),
                status: JobStatus::NotRunnable,
                reason: "needs 2 GPU(s), this machine has 0\nsecond line".into(),
            },
        ]
    }

    #[test]
    fn plain_lines_snapshot() {
        let lines: Vec<String> = sample_events().iter().filter_map(plain_line).collect();
        let text = lines.join("\n");
        assert!(!text.contains('\r') && !text.contains('\x1b'));
        insta::assert_snapshot!("plain_progress_lines", text);
    }

    #[test]
    fn a_heartbeat_line_counts_what_is_done() {
        let mut p = JobProgress::default();
        p.apply(&RunEvent::JobStarted {
            job: "unit".into(),
            tests: 3,
        });
        p.apply(&finished("a", AttemptOutcome::Passed, 1));
        p.apply(&finished("b", AttemptOutcome::Failed, 1));
        assert_eq!(
            p.plain_line("unit", 61.4),
            "[unit] running: 2/3 done (1 passed, 1 failed, 0 flaky, 0 skipped) after 61s"
        );
    }

    #[test]
    fn plain_lines_cannot_carry_escape_codes() {
        let line = plain_line(&finished("t.py::a[\x1b[2K\rx]", AttemptOutcome::Failed, 1)).unwrap();
        assert_eq!(line, "[unit] FAILED t.py::a[ [2K x] (attempt 1)");
    }

    #[test]
    fn bar_state_counts_flaky_tests_and_follows_the_current_test() {
        let mut p = JobProgress::default();
        for e in sample_events().iter().filter(|e| e.job() == "unit").take(2) {
            p.apply(e);
        }
        assert_eq!(p.total, 4);
        assert_eq!(p.current.as_deref(), Some("t.py::a"));
        assert!(p.message().ends_with(" · t.py::a"), "{}", p.message());
        for e in sample_events().iter().filter(|e| e.job() == "unit").skip(2) {
            p.apply(e);
        }
        assert_eq!(
            p.counts(),
            LiveCounts {
                passed: 1,
                failed: 1,
                flaky: 1,
                skipped: 1
            }
        );
        assert_eq!(p.done(), 4);
        assert_eq!(p.current, None);
        assert_eq!(p.message(), "1 passed, 1 failed, 1 flaky, 1 skipped");
    }
}
