//! The plain data a gate is evaluated on, and the verdict it produces.
//!
//! The CLI fills [`Measurements`] and [`Baseline`] from the history store;
//! the evaluation never touches I/O, so every check can be tested from
//! literals.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tollgate_inventory::TestItem;

/// Line coverage of one file in one run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileCoverage {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    /// `rust`, `python`, ... (as the store's roll-up names it).
    pub language: String,
    pub covered_lines: Vec<u32>,
    pub uncovered_lines: Vec<u32>,
}

/// A closed range of changed lines in a file (`first..=last`, 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRange {
    pub first: u32,
    pub last: u32,
}

/// One benchmark metric: this run's samples against the history window.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BenchSeries {
    /// The benchmark (`tests/test_perf.py::test_decode`).
    pub name: String,
    /// What was measured (`mean`, `ttft_ms`, ...).
    pub metric: String,
    pub unit: String,
    /// Throughput-like metrics (`ops/s`) regress when they fall.
    pub higher_is_better: bool,
    pub current: Vec<f64>,
    pub history: Vec<f64>,
}

/// Flakiness over the gate's window (see `tollgate_store::FlakyReport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlakyStats {
    pub flaky_tests: u64,
    pub tests_considered: u64,
}

/// A time budget and what was spent against it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BudgetUsage {
    pub name: String,
    /// The largest spend among what the budget covers (the slowest job for a
    /// suite budget, the slowest test for a per-test one); `None` when
    /// nothing in the run falls under the budget.
    pub spent_s: Option<f64>,
    pub limit_s: f64,
    /// What `spent_s` was measured on (`job unit (12 tests)`, `test tests/x.py::t`).
    #[serde(default)]
    pub subject: String,
    /// How many of the covered jobs or tests went over the limit.
    #[serde(default)]
    pub over: u64,
    /// The budget's own action (`[budgets.NAME] action`), which beats the
    /// gate's `budgets` action; `None` to follow the gate.
    #[serde(default)]
    pub action: Option<tollgate_config::Action>,
}

/// Everything measured about the run being judged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Measurements {
    /// Failed gating tests and jobs (their ids); `None` when unknown.
    pub critical_failures: Option<Vec<String>>,
    pub coverage: Vec<FileCoverage>,
    /// Changed lines per file, for patch coverage; `None` when no diff is known.
    pub changed_lines: Option<BTreeMap<String, Vec<LineRange>>>,
    pub bench: Vec<BenchSeries>,
    pub flaky: Option<FlakyStats>,
    pub budgets: Vec<BudgetUsage>,
    /// The collected tests that benchmarks are named after (pytest-benchmark
    /// names a benchmark by its test's node id), by id: what a limit's marker
    /// expression (`expr`) is evaluated on. `None` when the inventory is
    /// unknown; a benchmark missing from the map matches no expression.
    pub bench_tests: Option<BTreeMap<String, TestItem>>,
}

/// What the run is compared against: the latest complete run of the same
/// pipeline on the base branch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// `None` when the store has no baseline run yet.
    pub coverage: Option<Vec<FileCoverage>>,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Alert,
    Block,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Alert => "alert",
            Status::Block => "block",
        }
    }
}

/// One check's result. `detail` explains it for people (table, Markdown)
/// and is left out of the JSON, whose shape is fixed by the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub status: Status,
    pub measured: Option<f64>,
    pub threshold: Option<f64>,
    #[serde(skip)]
    pub detail: String,
}

/// The gate's overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Blocked,
}

/// `{"verdict": "pass"|"blocked", "checks": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub verdict: Outcome,
    pub checks: Vec<CheckResult>,
}

impl Verdict {
    /// Blocked as soon as one check blocks; alerts never block.
    pub fn from_checks(checks: Vec<CheckResult>) -> Verdict {
        let blocked = checks.iter().any(|c| c.status == Status::Block);
        Verdict {
            verdict: if blocked {
                Outcome::Blocked
            } else {
                Outcome::Pass
            },
            checks,
        }
    }

    pub fn alerts(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.status == Status::Alert)
    }
}
