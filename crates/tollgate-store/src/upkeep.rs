//! Retention and upkeep: what `tollgate store stats|prune|migrate --check`
//! asks of a store.

use serde::Serialize;

use crate::error::StoreError;
use crate::migrate::LATEST_VERSION;
use crate::sql::{Sql, Value};

/// Rows, size and time span of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub backend: &'static str,
    pub schema_version: u32,
    pub runs: u64,
    pub jobs: u64,
    /// Distinct test ids ever recorded (and not pruned).
    pub tests: u64,
    pub attempts: u64,
    pub coverage_files: u64,
    pub bench_samples: u64,
    pub verdicts: u64,
    /// Bytes on disk: the SQLite file and its WAL, or the PostgreSQL
    /// schema's tables with their indexes.
    pub size_bytes: u64,
    pub oldest_run_ms: Option<i64>,
    pub newest_run_ms: Option<i64>,
    /// Runs whose raw results were pruned (their run, jobs, benchmark
    /// samples and gate verdicts remain).
    pub pruned_runs: u64,
}

/// What [`crate::Store::prune`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PruneSummary {
    /// Runs whose raw results were dropped.
    pub runs: u64,
    pub attempts: u64,
    pub coverage_files: u64,
    /// Test ids no remaining attempt refers to.
    pub tests: u64,
}

/// The schema version of a store and what this build would apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MigrationStatus {
    /// 0 for a store that does not exist yet.
    pub current: u32,
    pub latest: u32,
}

impl MigrationStatus {
    /// Versions this build would apply, in order.
    pub fn pending(&self) -> Vec<u32> {
        (self.current + 1..=self.latest).collect()
    }

    /// The store was written by a newer tollgate.
    pub fn too_new(&self) -> bool {
        self.current > self.latest
    }
}

pub(crate) fn status(current: u32) -> MigrationStatus {
    MigrationStatus {
        current,
        latest: LATEST_VERSION,
    }
}

/// Row counts and time span, shared by both backends (`size_bytes`,
/// `backend` and `schema_version` are filled in by the caller).
pub(crate) fn counts(sql: &mut dyn Sql) -> Result<StoreStats, StoreError> {
    let rows = sql.query(
        "SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM tests), \
                (SELECT COUNT(*) FROM test_attempts), (SELECT COUNT(*) FROM coverage_files), \
                (SELECT COUNT(*) FROM bench_samples), (SELECT COUNT(*) FROM gate_verdicts), \
                (SELECT MIN(started_at) FROM runs), (SELECT MAX(started_at) FROM runs), \
                (SELECT COUNT(*) FROM runs WHERE pruned)",
        &[],
    )?;
    let row = rows.first().cloned().unwrap_or_default();
    let get = |i: usize| row.get(i).cloned().unwrap_or(Value::Null);
    let n = |i: usize| get(i).int().max(0) as u64;
    Ok(StoreStats {
        backend: "",
        schema_version: 0,
        runs: n(0),
        jobs: n(1),
        tests: n(2),
        attempts: n(3),
        coverage_files: n(4),
        bench_samples: n(5),
        verdicts: n(6),
        size_bytes: 0,
        oldest_run_ms: get(7).opt_int(),
        newest_run_ms: get(8).opt_int(),
        pruned_runs: n(9),
    })
}

/// The statements of a prune, in order, each with `?1` = the cutoff (Unix
/// ms; runs started before it lose their raw results). Counted by the
/// caller from each statement's affected rows. Runs, jobs (with their
/// first-attempt counts), job rollups (every test's folded attempts, see
/// `job_rollups`), benchmark samples and gate verdicts stay: they are the
/// per-run rollups the trends, the reports' history and the gate read.
pub(crate) const PRUNE_ATTEMPTS: &str =
    "DELETE FROM test_attempts WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?1 AND NOT pruned)";
pub(crate) const PRUNE_COVERAGE: &str =
    "DELETE FROM coverage_files WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?1 AND NOT pruned)";
pub(crate) const PRUNE_MARK_RUNS: &str =
    "UPDATE runs SET pruned = TRUE WHERE started_at < ?1 AND NOT pruned";
///
/// Test ids no attempt refers to go, except the highest: kept rollups still
/// name pruned tests by id, and SQLite gives a new row the highest id plus
/// one, so keeping the highest means an id is never handed to another test
/// (PostgreSQL's sequence never reuses one anyway).
pub(crate) const PRUNE_TESTS: &str =
    "DELETE FROM tests WHERE NOT EXISTS (SELECT 1 FROM test_attempts a WHERE a.test_id = tests.id) \
     AND id < (SELECT MAX(id) FROM tests)";
