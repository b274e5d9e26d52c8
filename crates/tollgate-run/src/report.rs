//! The results of a run: plain data, written as JSON, summarised as a table,
//! turned into an exit status.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::outcome::{Attempt, FinalOutcome};
use crate::process::ProcessRecord;
use crate::step::StepFailure;
use crate::supervise::Resources;

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub pipeline: String,
    /// False when tollgate was interrupted: some jobs or tests never ran.
    pub complete: bool,
    pub status: RunStatus,
    pub wall_secs: f64,
    pub jobs: Vec<JobReport>,
}

/// The run's verdict; [`RunStatus::exit_code`] maps it to tollgate's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Passed,
    Failed,
    /// A runner was missing or could not start; nothing to judge.
    InfrastructureError,
    /// Stopped by SIGINT/SIGTERM; results are partial.
    Interrupted,
    /// Nothing failed, but a gating job did not run here (it needs a GPU or
    /// runner this machine lacks) and was not declared optional: the
    /// pipeline is not judged.
    Incomplete,
}

impl RunStatus {
    /// 0 pass, 1 tests failed, 3 infrastructure error (interrupted runs
    /// count as infrastructure: the results are not a verdict), 4 incomplete
    /// (a gating job could not run here).
    pub fn exit_code(self) -> u8 {
        match self {
            RunStatus::Passed => 0,
            RunStatus::Failed => 1,
            RunStatus::InfrastructureError | RunStatus::Interrupted => 3,
            RunStatus::Incomplete => 4,
        }
    }

    /// How the verdict is written for a person.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Passed => "passed",
            RunStatus::Failed => "FAILED",
            RunStatus::InfrastructureError => "INFRASTRUCTURE ERROR",
            RunStatus::Interrupted => "INTERRUPTED (partial results)",
            RunStatus::Incomplete => "INCOMPLETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Passed,
    Failed,
    /// Passed, but some tests were flaky.
    PassedWithFlakes,
    /// Not run: an earlier gating stage failed, or the run was interrupted.
    Skipped,
    /// Its runner needs (GPUs, capabilities) do not fit this machine.
    NotRunnable,
    InfrastructureError,
    /// Started but stopped by an interrupt or its wall timeout.
    Incomplete,
    /// Started, then stopped by fail-fast when a gating job of its stage
    /// failed: its processes were terminated, its partial results kept.
    Cancelled,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub flaky: usize,
    pub skipped: usize,
    pub quarantined: usize,
    pub timed_out: usize,
    /// Never ran because their build failed.
    pub not_run: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    /// The `[budgets.NAME]` it comes from.
    pub name: String,
    pub limit_secs: f64,
    pub used_secs: f64,
    pub exceeded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub id: String,
    pub outcome: FinalOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_reason: Option<String>,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub name: String,
    pub stage: u32,
    pub gating: bool,
    /// Declared optional on this runner (`run --optional`): not running it
    /// does not make the pipeline incomplete.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    pub status: JobStatus,
    /// Why it was skipped, not runnable, incomplete or broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub counts: Counts,
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetReport>,
    /// Tests that ran longer than a per-test budget (`scope = "test"`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub over_budget_tests: Vec<TestOverrun>,
    pub tests: Vec<TestReport>,
    pub processes: Vec<ProcessRecord>,
}

/// A test whose longest attempt exceeded a per-test budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestOverrun {
    pub id: String,
    pub budget: String,
    pub limit_secs: f64,
    pub used_secs: f64,
}

impl JobReport {
    pub fn not_started(
        name: &str,
        stage: u32,
        gating: bool,
        status: JobStatus,
        reason: String,
    ) -> Self {
        JobReport {
            name: name.to_string(),
            stage,
            gating,
            optional: false,
            status,
            reason: Some(reason),
            counts: Counts::default(),
            resources: Resources::default(),
            budget: None,
            over_budget_tests: Vec::new(),
            tests: Vec::new(),
            processes: Vec::new(),
        }
    }

    /// A gating job that did not run on this machine and was not declared
    /// optional: the pipeline cannot be judged without it.
    pub fn gating_not_run(&self) -> bool {
        self.gating && !self.optional && self.status == JobStatus::NotRunnable
    }

    /// Failed in a way that stops later stages when the job gates.
    pub fn is_failure(&self) -> bool {
        matches!(
            self.status,
            JobStatus::Failed | JobStatus::InfrastructureError | JobStatus::Incomplete
        )
    }
}

pub fn count(tests: &[TestReport]) -> Counts {
    let mut c = Counts::default();
    for t in tests {
        match t.outcome {
            FinalOutcome::Passed => c.passed += 1,
            FinalOutcome::Failed => c.failed += 1,
            FinalOutcome::Flaky => c.flaky += 1,
            FinalOutcome::Skipped => c.skipped += 1,
            FinalOutcome::Quarantined => c.quarantined += 1,
            FinalOutcome::TimedOut => c.timed_out += 1,
            FinalOutcome::NotRun => c.not_run += 1,
        }
    }
    c
}

/// A job's status from its tests and the way its steps ended (pure).
pub fn job_status(counts: &Counts, failure: Option<&StepFailure>) -> (JobStatus, Option<String>) {
    match failure {
        Some(StepFailure::Infrastructure(m)) => (JobStatus::InfrastructureError, Some(m.clone())),
        Some(StepFailure::Interrupted) => (JobStatus::Incomplete, Some("interrupted".to_string())),
        Some(StepFailure::Deadline) => (JobStatus::Incomplete, Some("job timeout".to_string())),
        Some(StepFailure::CommandFailed(m)) => (JobStatus::Failed, Some(m.clone())),
        None if counts.failed > 0 || counts.timed_out > 0 || counts.not_run > 0 => {
            (JobStatus::Failed, None)
        }
        None if counts.flaky > 0 => (JobStatus::PassedWithFlakes, None),
        None => (JobStatus::Passed, None),
    }
}

/// The run's status from its jobs (pure).
pub fn run_status(jobs: &[JobReport], interrupted: bool) -> RunStatus {
    if interrupted {
        RunStatus::Interrupted
    } else if jobs
        .iter()
        .any(|j| j.status == JobStatus::InfrastructureError)
    {
        RunStatus::InfrastructureError
    } else if jobs.iter().any(JobReport::is_failure) {
        RunStatus::Failed
    } else if jobs.iter().any(JobReport::gating_not_run) {
        RunStatus::Incomplete
    } else {
        RunStatus::Passed
    }
}

/// The `--json` document: the report plus a per-test-id index.
#[derive(Debug, Serialize)]
struct JsonDocument<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    /// `id → {job, outcome, attempts}`; a test selected by two jobs keeps the
    /// worse outcome.
    tests: BTreeMap<&'a str, TestIndexEntry<'a>>,
}

#[derive(Debug, Serialize)]
struct TestIndexEntry<'a> {
    job: &'a str,
    outcome: FinalOutcome,
    attempts: usize,
}

fn severity(o: FinalOutcome) -> u8 {
    match o {
        FinalOutcome::Failed | FinalOutcome::TimedOut => 5,
        FinalOutcome::NotRun => 4,
        FinalOutcome::Flaky => 3,
        FinalOutcome::Quarantined => 2,
        FinalOutcome::Passed => 1,
        FinalOutcome::Skipped => 0,
    }
}

pub fn to_json(report: &RunReport) -> String {
    let mut tests: BTreeMap<&str, TestIndexEntry<'_>> = BTreeMap::new();
    for job in &report.jobs {
        for t in &job.tests {
            let entry = TestIndexEntry {
                job: &job.name,
                outcome: t.outcome,
                attempts: t.attempts.len(),
            };
            match tests.get(t.id.as_str()) {
                Some(prev) if severity(prev.outcome) >= severity(t.outcome) => {}
                _ => {
                    tests.insert(&t.id, entry);
                }
            }
        }
    }
    let doc = JsonDocument { report, tests };
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn job_status_label(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Passed => "passed",
        JobStatus::Failed => "FAILED",
        JobStatus::PassedWithFlakes => "passed (flaky)",
        JobStatus::Skipped => "skipped",
        JobStatus::NotRunnable => "not runnable here",
        JobStatus::InfrastructureError => "INFRA ERROR",
        JobStatus::Incomplete => "INCOMPLETE",
        JobStatus::Cancelled => "cancelled",
    }
}

/// Seconds as a short duration: `15s`, `5m`, `90s`, `1.5s`.
fn secs(s: f64) -> String {
    if s >= 120.0 && (s % 60.0).abs() < 0.5 {
        format!("{:.0}m", s / 60.0)
    } else if s >= 10.0 || s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

fn rss(kib: u64) -> String {
    match kib {
        0 => "-".to_string(),
        k if k < 1024 => format!("{k}K"),
        k if k < 1024 * 1024 => format!("{:.0}M", k as f64 / 1024.0),
        k => format!("{:.1}G", k as f64 / 1024.0 / 1024.0),
    }
}

/// The final table, one row per job (pure).
pub fn summary_table(report: &RunReport) -> String {
    let header = [
        "job", "status", "pass", "fail", "t/o", "flaky", "skip", "quar", "not run", "time",
        "peak rss", "budget",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for j in &report.jobs {
        // Test time (builds excluded) against the limit.
        let budget = match &j.budget {
            None => "-".to_string(),
            Some(b) if b.exceeded => {
                format!("EXCEEDED {}/{}", secs(b.used_secs), secs(b.limit_secs))
            }
            Some(b) => format!("ok {}/{}", secs(b.used_secs), secs(b.limit_secs)),
        };
        let mut status = job_status_label(j.status).to_string();
        if j.optional && j.status == JobStatus::NotRunnable {
            status.push_str(" (optional)");
        }
        rows.push(vec![
            j.name.clone(),
            status,
            j.counts.passed.to_string(),
            j.counts.failed.to_string(),
            j.counts.timed_out.to_string(),
            j.counts.flaky.to_string(),
            j.counts.skipped.to_string(),
            j.counts.quarantined.to_string(),
            j.counts.not_run.to_string(),
            format!("{:.1}s", j.resources.wall_secs),
            rss(j.resources.max_rss_kib),
            budget,
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    for j in &report.jobs {
        if let Some(reason) = &j.reason {
            // An infrastructure error is the user's to fix: all of it, with
            // the fix, is shown; other reasons (a build log) keep to one line
            // here (the failure details above show the rest).
            let mut lines = reason.lines();
            let _ = writeln!(out, "{}: {}", j.name, lines.next().unwrap_or_default());
            if j.status == JobStatus::InfrastructureError {
                for line in lines {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
        if let Some(b) = j.budget.as_ref().filter(|b| b.exceeded) {
            let _ = writeln!(
                out,
                "  over budget `{}`: the suite took {:.1}s, its limit is {}",
                b.name,
                b.used_secs,
                secs(b.limit_secs)
            );
        }
        for o in &j.over_budget_tests {
            let _ = writeln!(
                out,
                "  over budget `{}`: {} took {:.1}s, the limit per test is {}",
                o.budget,
                o.id,
                o.used_secs,
                secs(o.limit_secs)
            );
        }
        for t in j.tests.iter().filter(|t| {
            !matches!(
                t.outcome,
                FinalOutcome::Passed | FinalOutcome::Skipped | FinalOutcome::NotRun
            )
        }) {
            let attempts = match t.attempts.len() {
                0 | 1 => String::new(),
                n => format!(" ({n} attempts)"),
            };
            let _ = writeln!(
                out,
                "  {} {}{attempts}",
                t.outcome.as_str().to_uppercase(),
                t.id
            );
        }
        if j.counts.not_run > 0 {
            let _ = writeln!(
                out,
                "  {} test(s) not run: their build failed",
                j.counts.not_run
            );
        }
    }
    let gating_not_run: Vec<&str> = report
        .jobs
        .iter()
        .filter(|j| j.gating_not_run())
        .map(|j| j.name.as_str())
        .collect();
    if report.status == RunStatus::Incomplete {
        let _ = writeln!(
            out,
            "gating job(s) not run here: {}; run them on a runner that has what they need, \
             or declare them optional for this runner with `--optional JOB`",
            gating_not_run.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "pipeline {}: {} in {:.1}s",
        report.pipeline,
        report.status.label(),
        report.wall_secs
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::AttemptOutcome;

    fn test(id: &str, outcome: FinalOutcome) -> TestReport {
        TestReport {
            id: id.to_string(),
            outcome,
            quarantine_reason: None,
            attempts: vec![Attempt {
                number: 1,
                outcome: AttemptOutcome::Passed,
                duration: 0.5,
                message: None,
                output: None,
            }],
        }
    }

    fn job(name: &str, tests: Vec<TestReport>, failure: Option<StepFailure>) -> JobReport {
        let counts = count(&tests);
        let (status, reason) = job_status(&counts, failure.as_ref());
        JobReport {
            name: name.to_string(),
            stage: 2,
            gating: true,
            optional: false,
            status,
            reason,
            counts,
            resources: Resources {
                wall_secs: 1.25,
                user_secs: 1.0,
                system_secs: 0.1,
                max_rss_kib: 20_480,
            },
            budget: Some(BudgetReport {
                name: "unit".into(),
                limit_secs: 15.0,
                used_secs: 1.25,
                exceeded: false,
            }),
            over_budget_tests: Vec::new(),
            tests,
            processes: Vec::new(),
        }
    }

    #[test]
    fn statuses_follow_tests_and_failures() {
        let flaky = job("u", vec![test("a", FinalOutcome::Flaky)], None);
        assert_eq!(flaky.status, JobStatus::PassedWithFlakes);
        let quarantined = job("q", vec![test("a", FinalOutcome::Quarantined)], None);
        assert_eq!(quarantined.status, JobStatus::Passed);
        let failed = job("f", vec![test("a", FinalOutcome::Failed)], None);
        let infra = job(
            "i",
            vec![],
            Some(StepFailure::Infrastructure("no pytest".into())),
        );
        assert_eq!(
            run_status(&[flaky.clone(), quarantined.clone()], false),
            RunStatus::Passed
        );
        assert_eq!(
            run_status(&[flaky.clone(), failed.clone()], false),
            RunStatus::Failed
        );
        assert_eq!(
            run_status(&[failed, infra], false),
            RunStatus::InfrastructureError
        );
        assert_eq!(run_status(&[flaky], true), RunStatus::Interrupted);
        assert_eq!(RunStatus::Failed.exit_code(), 1);
    }

    #[test]
    fn a_gating_job_not_run_here_makes_the_run_incomplete_unless_optional() {
        let passed = job("unit", vec![test("a", FinalOutcome::Passed)], None);
        let mut gpu = JobReport::not_started(
            "e2e_1",
            2,
            true,
            JobStatus::NotRunnable,
            "needs 1 GPU(s), this machine has 0".into(),
        );
        assert_eq!(
            run_status(&[passed.clone(), gpu.clone()], false),
            RunStatus::Incomplete
        );
        assert_eq!(RunStatus::Incomplete.exit_code(), 4);
        let failed = job("f", vec![test("a", FinalOutcome::Failed)], None);
        assert_eq!(
            run_status(&[failed, gpu.clone()], false),
            RunStatus::Failed,
            "a failure is the stronger verdict"
        );
        let mut not_gating = gpu.clone();
        not_gating.gating = false;
        assert_eq!(
            run_status(&[passed.clone(), not_gating], false),
            RunStatus::Passed
        );
        gpu.optional = true;
        let report = RunReport {
            pipeline: "pr".into(),
            complete: true,
            status: run_status(&[passed.clone(), gpu.clone()], false),
            wall_secs: 1.0,
            jobs: vec![passed, gpu],
        };
        assert_eq!(report.status, RunStatus::Passed);
        assert!(summary_table(&report).contains("not runnable here (optional)"));
    }

    #[test]
    fn timed_out_and_not_run_tests_are_counted_apart_from_failures() {
        let timed_out = job("t", vec![test("a", FinalOutcome::TimedOut)], None);
        assert_eq!(timed_out.counts.timed_out, 1);
        assert_eq!(timed_out.counts.failed, 0);
        assert_eq!(timed_out.status, JobStatus::Failed);
        let build = job(
            "b",
            vec![
                test("x", FinalOutcome::NotRun),
                test("y", FinalOutcome::NotRun),
            ],
            Some(StepFailure::CommandFailed(
                "the Rust test build failed".into(),
            )),
        );
        assert_eq!(build.counts.not_run, 2);
        assert_eq!(build.counts.failed, 0);
        let report = RunReport {
            pipeline: "pr".into(),
            complete: true,
            status: run_status(&[timed_out.clone(), build.clone()], false),
            wall_secs: 1.0,
            jobs: vec![timed_out, build],
        };
        let table = summary_table(&report);
        assert!(table.contains("  TIMED OUT a\n"), "{table}");
        assert!(
            table.contains("  2 test(s) not run: their build failed"),
            "{table}"
        );
        assert!(!table.contains("FAILED x"), "{table}");
    }

    #[test]
    fn json_indexes_tests_by_id_keeping_the_worse_outcome() {
        let report = RunReport {
            pipeline: "pr".into(),
            complete: true,
            status: RunStatus::Failed,
            wall_secs: 2.0,
            jobs: vec![
                job(
                    "a",
                    vec![
                        test("t1", FinalOutcome::Passed),
                        test("t2", FinalOutcome::Flaky),
                    ],
                    None,
                ),
                job("b", vec![test("t1", FinalOutcome::Failed)], None),
            ],
        };
        let v: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(v["tests"]["t1"]["outcome"], "failed");
        assert_eq!(v["tests"]["t1"]["job"], "b");
        assert_eq!(v["tests"]["t2"]["outcome"], "flaky");
        assert_eq!(v["complete"], true);
        assert_eq!(v["jobs"][0]["tests"][1]["attempts"][0]["outcome"], "passed");
    }

    #[test]
    fn summary_table_snapshot() {
        let report = RunReport {
            pipeline: "pr".into(),
            complete: true,
            status: RunStatus::Failed,
            wall_secs: 3.0,
            jobs: vec![
                job(
                    "unit",
                    vec![
                        test("t.py::a", FinalOutcome::Passed),
                        test("t.py::b", FinalOutcome::Flaky),
                    ],
                    None,
                ),
                job("e2e", vec![test("t.py::c", FinalOutcome::Failed)], None),
                JobReport::not_started(
                    "e2e_2",
                    2,
                    true,
                    JobStatus::NotRunnable,
                    "needs 2 GPUs, this machine has 0".into(),
                ),
            ],
        };
        insta::assert_snapshot!("summary_table", summary_table(&report));
    }

    #[test]
    fn exceeded_budgets_and_infrastructure_errors_are_spelled_out() {
        let mut slow = job(
            "integration",
            vec![test("t.py::a", FinalOutcome::Passed)],
            None,
        );
        slow.budget = Some(BudgetReport {
            name: "integration".into(),
            limit_secs: 300.0,
            used_secs: 312.4,
            exceeded: true,
        });
        slow.over_budget_tests = vec![TestOverrun {
            id: "t.py::a".into(),
            budget: "slow_test".into(),
            limit_secs: 60.0,
            used_secs: 75.5,
        }];
        let infra = job(
            "unit",
            vec![],
            Some(StepFailure::Infrastructure(
                "pytest is not installed for /usr/bin/python3: install it with `/usr/bin/python3 -m pip install pytest`\nor point tollgate at an interpreter that has pytest: `[run] python = ...`".into(),
            )),
        );
        let report = RunReport {
            pipeline: "pr".into(),
            complete: true,
            status: run_status(&[slow.clone(), infra.clone()], false),
            wall_secs: 320.0,
            jobs: vec![slow, infra],
        };
        assert_eq!(report.status.exit_code(), 3);
        let table = summary_table(&report);
        assert!(table.contains("EXCEEDED 312s/5m"), "{table}");
        assert!(table.contains("`[run] python = ...`"), "{table}");
        insta::assert_snapshot!("summary_table_budgets_and_infra", table);
        let v: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(v["jobs"][0]["budget"]["exceeded"], true);
        assert_eq!(v["jobs"][0]["budget"]["name"], "integration");
        assert_eq!(v["jobs"][0]["over_budget_tests"][0]["id"], "t.py::a");
        assert_eq!(v["jobs"][0]["over_budget_tests"][0]["budget"], "slow_test");
    }
}
