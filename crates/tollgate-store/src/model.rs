//! What goes into the store and what comes out: plain data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tollgate_results::{BenchSample, FileCoverage, TestResult};

/// Identity and context of a run. Shards of one CI pipeline from several
/// runners pass the same `run_key` (e.g. `CI_PIPELINE_ID`) and are merged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunMeta {
    pub run_key: String,
    pub commit: String,
    pub branch: String,
    pub pipeline: String,
    /// Trigger variables as resolved for this run.
    pub variables: BTreeMap<String, String>,
    pub runner: String,
    /// Unix milliseconds. When shards disagree, the earliest wins.
    pub started_at_ms: i64,
}

/// The job a batch of results belongs to (`unit`, `integration_1`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobMeta {
    pub name: String,
    /// `passed`, `failed`, ...; empty when unknown (results ingested from elsewhere).
    pub status: String,
    pub wall_ms: Option<i64>,
    pub cpu_ms: Option<i64>,
    pub peak_rss_kb: Option<i64>,
}

/// One coverage file with the component it belongs to (from configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageEntry {
    pub file: FileCoverage,
    pub component: Option<String>,
}

/// Everything one ingest writes, in one transaction: all of it or none.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub run: &'a RunMeta,
    pub job: &'a JobMeta,
    pub tests: &'a [TestResult],
    pub coverage: &'a [CoverageEntry],
    pub bench: &'a [BenchSample],
}

/// What an ingest wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct IngestSummary {
    pub run_id: i64,
    pub attempts: u64,
    pub coverage_files: u64,
    pub bench_samples: u64,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub run_key: String,
    pub commit: String,
    pub branch: String,
    pub pipeline: String,
    pub variables: BTreeMap<String, String>,
    pub runner: String,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub complete: bool,
}

/// Row counts of one run (for `history` and for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RunCounts {
    pub jobs: u64,
    pub attempts: u64,
    pub tests: u64,
    pub coverage_files: u64,
    pub bench_samples: u64,
}

/// What failed in one run (see [`crate::Store::run_failures`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RunFailures {
    /// `(job name, status)` of jobs recorded as failed, errored or incomplete.
    pub failed_jobs: Vec<(String, String)>,
    /// Tests whose final attempt in their job failed.
    pub failed_tests: Vec<FailedTest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedTest {
    pub job: String,
    pub test_id: String,
    /// The job's recorded status; empty for results ingested without one.
    pub job_status: String,
}

/// One attempt of one test in some run, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestHistoryEntry {
    pub run_key: String,
    pub commit: String,
    pub branch: String,
    pub started_at_ms: i64,
    pub job: String,
    pub attempt: u32,
    pub outcome: String,
    pub duration_s: f64,
    pub message: Option<String>,
}

/// Which runs the flaky-rate query looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct FlakyQuery {
    /// Runs started at or after this time (Unix ms).
    pub since_ms: i64,
    pub pipeline: Option<String>,
    /// A run whose first attempts failed at more than this fraction is an
    /// infrastructure failure and is left out (0.5: "most tests failed").
    pub infra_failure_ratio: f64,
    /// At most this many tests, worst first.
    pub limit: u32,
}

impl Default for FlakyQuery {
    fn default() -> Self {
        FlakyQuery {
            since_ms: 0,
            pipeline: None,
            infra_failure_ratio: 0.5,
            limit: 1000,
        }
    }
}

/// Flakiness of one test over the window.
///
/// A test is flaky on a commit when, across all (non-infrastructure) runs of
/// that commit, it both passed and failed — which covers "passed on retry"
/// within one run as well as "passed in one run, failed in another".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlakyTest {
    pub test_id: String,
    /// Commits the test ran on.
    pub commits: u64,
    /// Commits on which it both passed and failed.
    pub flaky_commits: u64,
    pub attempts: u64,
    pub failed_attempts: u64,
    /// `flaky_commits / commits`.
    pub flake_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlakyReport {
    /// Tests with at least one flaky commit, worst first (by flaky commits, then rate).
    pub flaky: Vec<FlakyTest>,
    /// Distinct tests that ran in the considered runs.
    pub tests_considered: u64,
    pub runs_considered: u64,
    /// Runs left out as infrastructure failures.
    pub runs_excluded: u64,
}

impl FlakyReport {
    /// Flaky tests over tests that ran, in percent (the gate's "flaky rate").
    pub fn flaky_rate_percent(&self) -> f64 {
        if self.tests_considered == 0 {
            0.0
        } else {
            100.0 * self.flaky.len() as f64 / self.tests_considered as f64
        }
    }
}

/// Mean duration of a test over recent passing attempts (for shard balancing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestDuration {
    pub test_id: String,
    pub mean_s: f64,
    pub samples: u64,
}

/// Coverage of one run summed per language or per component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageRollup {
    pub key: String,
    pub files: u64,
    pub lines_total: u64,
    pub lines_covered: u64,
}

impl CoverageRollup {
    pub fn percent(&self) -> f64 {
        if self.lines_total == 0 {
            100.0
        } else {
            100.0 * self.lines_covered as f64 / self.lines_total as f64
        }
    }
}

/// One file's stored coverage in a run (all shards merged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCoverage {
    pub path: String,
    pub language: String,
    pub component: String,
    pub covered_lines: Vec<u32>,
    pub uncovered_lines: Vec<u32>,
}

/// How to group coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollupBy {
    Language,
    Component,
}

/// One benchmark value in some run, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchPoint {
    pub run_key: String,
    pub commit: String,
    pub started_at_ms: i64,
    pub value: f64,
    pub unit: String,
}

/// The time one test took in one job of a run, over all its attempts (what
/// time budgets are judged on).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestTime {
    pub job: String,
    pub test_id: String,
    pub attempts: u32,
    /// Seconds, all attempts together (retries spend the budget too).
    pub total_s: f64,
    /// The longest single attempt, in seconds.
    pub max_s: f64,
}

/// Which runs' benchmark samples are the history a run is compared against:
/// the latest `max_runs` runs of `pipeline` on `branch` that started at or
/// after `since_ms` and recorded benchmarks, leaving out the judged run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchWindow {
    pub pipeline: String,
    pub branch: String,
    pub since_ms: i64,
    pub exclude_run_key: String,
    pub max_runs: u32,
}

/// A gate check's result, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub check: String,
    /// `pass`, `alert` or `block`.
    pub status: String,
    pub measured: Option<f64>,
    pub threshold: Option<f64>,
    pub detail: String,
}
