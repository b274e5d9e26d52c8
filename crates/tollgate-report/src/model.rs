//! The report: plain data, serialised as the JSON the HTML page embeds and
//! the dashboard serves. Compact by design: the table of every test is
//! columnar (one array per column) so 100,000 tests stay a few megabytes.

use serde::Serialize;
use tollgate_store::{JobRecord, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub meta: Meta,
    /// `pass`, `alert`, `block` (from the recorded gate), else `failed` /
    /// `passed` from the tests alone.
    pub status: String,
    pub verdicts: Vec<Verdict>,
    pub counts: Counts,
    pub base_counts: Option<Counts>,
    pub deltas: Deltas,
    pub failures: Vec<FailureGroup>,
    pub flaky: Vec<FlakyView>,
    pub slowest: Vec<SlowTest>,
    pub jobs: Vec<JobRecord>,
    pub coverage: Vec<CoverageView>,
    pub bench: Vec<BenchView>,
    /// The last runs of the pipeline, oldest first; the report's run is last.
    pub runs: Vec<RunPoint>,
    /// Every test of the run (absent when a dashboard page loads it lazily).
    pub tests: Option<TestTable>,
    /// Owners → components → test counts of this run, for the drill-down
    /// (owners with the most failures first; tests without an owner last).
    pub owners: Vec<OwnerView>,
    /// Milliseconds per run of [`Report::runs`] (oldest first, `null` when it
    /// did not run) for the tests a reader opens most: failures, flaky and
    /// slowest tests (at most 1,000).
    pub durations: std::collections::BTreeMap<String, Vec<Option<u64>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meta {
    pub title: String,
    pub generated_at_ms: i64,
    pub run: RunBrief,
    pub base: Option<RunBrief>,
    /// Component names; [`TestTable::component`] indexes into it (0 = none).
    pub components: Vec<String>,
    /// Job names; [`TestTable::job`] indexes into it.
    pub job_names: Vec<String>,
    /// Owner names; [`TestTable::owner`] indexes into it (0 = none).
    pub owners: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunBrief {
    pub key: String,
    pub commit: String,
    pub branch: String,
    pub pipeline: String,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub complete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Counts {
    pub tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub flaky: u64,
    pub skipped: u64,
    /// Sum of every attempt's time, seconds.
    pub test_seconds: f64,
}

/// What changed against the base run (ids, sorted).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Deltas {
    pub has_base: bool,
    pub new_failures: Vec<String>,
    pub fixed: Vec<String>,
    pub new_flaky: Vec<String>,
    pub newly_skipped: Vec<String>,
    pub removed: Vec<String>,
    pub added: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureGroup {
    pub component: String,
    pub owner: String,
    pub tests: Vec<FailedTestView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedTestView {
    pub id: String,
    pub job: String,
    /// `failed` (the last attempt failed) or `flaky` (a retry passed).
    pub state: String,
    pub new: bool,
    pub attempts: Vec<AttemptView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptView {
    pub n: u32,
    pub outcome: String,
    pub seconds: f64,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlakyView {
    pub id: String,
    pub component: String,
    pub owner: String,
    pub flake_rate: f64,
    pub commits: u64,
    /// Commits on which it both passed and failed: the same-commit evidence.
    pub flaky_commits: u64,
    pub failed_attempts: u64,
    pub attempts: u64,
    /// Flaked in the report's run.
    pub in_run: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowTest {
    pub id: String,
    pub job: String,
    pub seconds: f64,
    /// Seconds in the base run, when it ran there.
    pub base_seconds: Option<f64>,
    /// Share of the job's summed test time, percent.
    pub job_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageView {
    /// `language` or `component`.
    pub by: String,
    pub key: String,
    pub lines_total: u64,
    pub lines_covered: u64,
    pub percent: f64,
    pub base_percent: Option<f64>,
    pub critical: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchView {
    pub name: String,
    pub metric: String,
    pub unit: String,
    /// This run's value (mean of its samples).
    pub value: f64,
    /// Earlier runs' values, oldest first (the run's own value not included).
    pub history: Vec<f64>,
    /// Change against the mean of the history, percent.
    pub change_percent: Option<f64>,
    /// Shifts of the mean over the history and this run (indices into
    /// `history` followed by `value`): see [`crate::changepoint`].
    pub change_points: Vec<crate::changepoint::ChangePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunPoint {
    pub key: String,
    pub commit: String,
    pub branch: String,
    pub started_at_ms: i64,
    pub counts: Counts,
    /// Median and 95th percentile of the tests' durations, milliseconds.
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// Flaky tests over tests that ran (passed, failed or flaky), ratio.
    pub flake_rate: Option<f64>,
    /// Line coverage of the run, percent (none recorded: `null`).
    pub coverage_percent: Option<f64>,
}

/// One owner's tests in this run, by component.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OwnerView {
    /// Empty: tests no owner claims.
    pub owner: String,
    pub counts: OwnerCounts,
    pub components: Vec<OwnerComponent>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OwnerComponent {
    /// Empty: tests outside every component.
    pub component: String,
    pub counts: OwnerCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OwnerCounts {
    pub tests: u64,
    pub failed: u64,
    pub flaky: u64,
    pub skipped: u64,
}

/// Every test of the run, by column; index `i` of each column is one test.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TestTable {
    pub id: Vec<String>,
    /// Index into [`Meta::components`].
    pub component: Vec<u32>,
    /// Index into [`Meta::job_names`].
    pub job: Vec<u32>,
    /// Index into [`Meta::owners`].
    pub owner: Vec<u32>,
    /// One letter per test: `P` passed, `F` failed, `K` flaky, `S` skipped.
    pub state: String,
    /// Milliseconds, all attempts.
    pub ms: Vec<u64>,
    /// Per test, one letter per run of [`Report::runs`] (oldest first; `-`
    /// when it did not run); the empty string when it passed in every run
    /// (most tests: it keeps 100,000 tests x 30 runs small).
    pub history: Vec<String>,
}
