//! Read-only queries for reports, the dashboard and metrics (`tollgate
//! report`, `tollgate serve`, `tollgate metrics`). Written once for both
//! backends, like [`crate::queries`]; nothing here writes.
//!
//! Test names are interned in the store, and a report over 100,000 tests
//! and 30 runs covers millions of attempts: a run's tests are read from its
//! jobs' rollups (see `crate::rollup`) by interned test id (an integer), and
//! names are fetched once, for the tests the report shows.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::StoreError;
use crate::model::{RunInfo, Verdict};
use crate::queries::run_id;
use crate::rollup::{self, Folded, Path};
use crate::sql::{Row, Sql, Value};
use crate::Store;

/// A job of a run with its recorded resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub name: String,
    pub status: String,
    pub wall_ms: Option<i64>,
    pub cpu_ms: Option<i64>,
    pub peak_rss_kb: Option<i64>,
    pub first_attempts: u64,
    pub first_failures: u64,
}

/// One test in one job of a run, all its attempts folded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestRunRow {
    /// The store's interned id of the test (see [`Store::test_names`]).
    pub test: i64,
    /// Index into the run's jobs as returned by [`Store::run_jobs`].
    pub job: usize,
    pub attempts: u32,
    pub passed: u32,
    /// `failed` and `error` attempts.
    pub failed: u32,
    pub skipped: u32,
    /// Whether the last attempt failed (or errored).
    pub last_failed: bool,
    /// All attempts together, seconds.
    pub duration_s: f64,
}

/// One attempt with its message (the redacted output `tollgate run` stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    pub job: String,
    pub test_id: String,
    pub attempt: u32,
    pub outcome: String,
    pub duration_s: f64,
    pub message: Option<String>,
}

/// Changes whenever a run, job, gate verdict or a job's test counts change
/// (every ingest that adds or changes first attempts, every finished run
/// and recorded gate), read from the small tables only: a cache keyed by it
/// costs one cheap query per request. A re-ingest that changes only later
/// attempts or messages with the same counts keeps it: caches bound their
/// age too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct StoreStamp {
    pub runs: i64,
    pub jobs: i64,
    pub first_attempts: i64,
    pub first_failures: i64,
    pub verdicts: i64,
    pub finished: i64,
}

fn col(row: &Row, i: usize) -> Value {
    row.get(i).cloned().unwrap_or(Value::Null)
}

fn count(v: &Value) -> u64 {
    v.int().max(0) as u64
}

impl Store {
    /// The jobs of a run, by name.
    pub fn run_jobs(&mut self, run_key: &str) -> Result<Vec<JobRecord>, StoreError> {
        let sql = self.sql();
        let id = run_id(sql, run_key)?;
        let rows = sql.query(
            "SELECT name, status, wall_ms, cpu_ms, peak_rss_kb, first_attempts, first_failures \
             FROM jobs WHERE run_id = ?1 ORDER BY name",
            &[id.into()],
        )?;
        Ok(rows
            .iter()
            .map(|r| JobRecord {
                name: col(r, 0).text(),
                status: col(r, 1).text(),
                wall_ms: col(r, 2).opt_int(),
                cpu_ms: col(r, 3).opt_int(),
                peak_rss_kb: col(r, 4).opt_int(),
                first_attempts: count(&col(r, 5)),
                first_failures: count(&col(r, 6)),
            })
            .collect())
    }

    /// Every test of a run per job with its attempts folded; `jobs` is the
    /// run's [`Store::run_jobs`] (rows point into it). Read from the jobs'
    /// rollups (see `job_rollups`), or their attempts for a job without one.
    pub fn run_test_rows(
        &mut self,
        run: &RunInfo,
        jobs: &[JobRecord],
    ) -> Result<Vec<TestRunRow>, StoreError> {
        let folded = rollup::run_tests(self.sql(), run.id, Path::Rollups)?;
        Ok(test_rows(folded, jobs))
    }

    /// [`Store::run_test_rows`] from the raw attempts alone, never the
    /// rollups: what the rollups are checked against.
    pub fn run_test_rows_from_attempts(
        &mut self,
        run: &RunInfo,
        jobs: &[JobRecord],
    ) -> Result<Vec<TestRunRow>, StoreError> {
        let folded = rollup::run_tests(self.sql(), run.id, Path::Attempts)?;
        Ok(test_rows(folded, jobs))
    }

    /// Per test of a run, over all its jobs: `(test, state, seconds)` where
    /// state is `P` passed, `F` failed, `K` flaky (passed and failed), `S`
    /// skipped; for the history strips of older runs. Read from the jobs'
    /// rollups (kept by `tollgate store prune`), or their attempts for a job
    /// without one; by ascending test id.
    pub fn run_test_summary(&mut self, run_id: i64) -> Result<Vec<(i64, u8, f64)>, StoreError> {
        let folded = rollup::run_tests(self.sql(), run_id, Path::Rollups)?;
        Ok(summary(folded))
    }

    /// [`Store::run_test_summary`] from the raw attempts alone, never the
    /// rollups: what the rollups are checked against.
    pub fn run_test_summary_from_attempts(
        &mut self,
        run_id: i64,
    ) -> Result<Vec<(i64, u8, f64)>, StoreError> {
        let folded = rollup::run_tests(self.sql(), run_id, Path::Attempts)?;
        Ok(summary(folded))
    }

    /// Names of interned test ids (unknown ids are left out).
    pub fn test_names(&mut self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        Store::names_of(self.sql(), ids)
    }

    /// [`Store::test_names`] for the shared queries.
    ///
    /// Ids that lie close together (the tests of a window are mostly
    /// interned in runs of neighbouring ids) are read by id range, at most
    /// twice as many rows as wanted, the others by `IN` lists: 60,000 names
    /// cost one range scan, not twelve lists of 5,000 literals to parse and
    /// probe (PostgreSQL: 0.26 s for the lists, 0.04 s for the range).
    pub(crate) fn names_of(
        sql: &mut dyn Sql,
        ids: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        let mut wanted = ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let (ranges, scattered) = dense_ranges(&wanted);
        let mut names = HashMap::with_capacity(wanted.len());
        let mut keep = |rows: Vec<Row>| {
            for r in rows {
                let mut r = r.into_iter();
                let id = r.next().map_or(0, |v| v.int());
                if wanted.binary_search(&id).is_ok() {
                    let name = match r.next() {
                        Some(Value::Text(t)) => t,
                        other => other.map(|v| v.text()).unwrap_or_default(),
                    };
                    names.insert(id, name);
                }
            }
        };
        for chunk in ranges.chunks(100) {
            let any = chunk
                .iter()
                .map(|(lo, hi)| format!("id BETWEEN {lo} AND {hi}"))
                .collect::<Vec<_>>()
                .join(" OR ");
            keep(sql.query(&format!("SELECT id, name FROM tests WHERE {any}"), &[])?);
        }
        for chunk in scattered.chunks(5000) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            keep(sql.query(
                &format!("SELECT id, name FROM tests WHERE id IN ({list})"),
                &[],
            )?);
        }
        Ok(names)
    }

    /// Every attempt, with its message, of the tests that failed at least
    /// once in the run (failures and flaky tests), by job, test, attempt.
    pub fn run_failed_attempts(&mut self, run_key: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let sql = self.sql();
        let id = run_id(sql, run_key)?;
        let rows = sql.query(
            "SELECT j.name, t.name, a.attempt, a.outcome, a.duration_s, a.message \
             FROM test_attempts a JOIN tests t ON t.id = a.test_id JOIN jobs j ON j.id = a.job_id \
             WHERE a.run_id = ?1 AND EXISTS (SELECT 1 FROM test_attempts f \
                 WHERE f.run_id = a.run_id AND f.job_id = a.job_id AND f.test_id = a.test_id \
                 AND f.outcome IN ('failed', 'error')) \
             ORDER BY j.name, t.name, a.attempt",
            &[id.into()],
        )?;
        Ok(rows
            .iter()
            .map(|r| AttemptRecord {
                job: col(r, 0).text(),
                test_id: col(r, 1).text(),
                attempt: u32::try_from(col(r, 2).int()).unwrap_or(0),
                outcome: col(r, 3).text(),
                duration_s: col(r, 4).real(),
                message: col(r, 5).opt_text(),
            })
            .collect())
    }

    /// The gate verdicts recorded for a run, in the order recorded (a gate
    /// run twice records twice: the last recording of a check wins).
    pub fn run_verdicts(&mut self, run_key: &str) -> Result<Vec<Verdict>, StoreError> {
        let sql = self.sql();
        let id = run_id(sql, run_key)?;
        let rows = sql.query(
            "SELECT check_name, status, measured, threshold, detail FROM gate_verdicts \
             WHERE run_id = ?1 ORDER BY recorded_at, id",
            &[id.into()],
        )?;
        let mut verdicts: Vec<Verdict> = Vec::new();
        for r in &rows {
            let v = Verdict {
                check: col(r, 0).text(),
                status: col(r, 1).text(),
                measured: match col(r, 2) {
                    Value::Null => None,
                    v => Some(v.real()),
                },
                threshold: match col(r, 3) {
                    Value::Null => None,
                    v => Some(v.real()),
                },
                detail: col(r, 4).text(),
            };
            verdicts.retain(|old| old.check != v.check);
            verdicts.push(v);
        }
        Ok(verdicts)
    }

    /// Distinct pipelines with at least one run.
    pub fn pipelines(&mut self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .sql()
            .query("SELECT DISTINCT pipeline FROM runs ORDER BY pipeline", &[])?;
        Ok(rows.iter().map(|r| col(r, 0).text()).collect())
    }

    /// Number of runs per pipeline.
    pub fn run_counts_by_pipeline(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self.sql().query(
            "SELECT pipeline, COUNT(*) FROM runs GROUP BY pipeline ORDER BY pipeline",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| (col(r, 0).text(), count(&col(r, 1))))
            .collect())
    }

    /// See [`StoreStamp`].
    pub fn stamp(&mut self) -> Result<StoreStamp, StoreError> {
        let rows = self.sql().query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM runs), \
                    (SELECT COALESCE(MAX(id), 0) FROM jobs), \
                    (SELECT CAST(COALESCE(SUM(first_attempts), 0) AS BIGINT) FROM jobs), \
                    (SELECT CAST(COALESCE(SUM(first_failures), 0) AS BIGINT) FROM jobs), \
                    (SELECT COALESCE(MAX(id), 0) FROM gate_verdicts), \
                    (SELECT CAST(COALESCE(SUM(CASE WHEN finished_at IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) FROM runs)",
            &[],
        )?;
        let r = rows.first().cloned().unwrap_or_default();
        Ok(StoreStamp {
            runs: col(&r, 0).int(),
            jobs: col(&r, 1).int(),
            first_attempts: col(&r, 2).int(),
            first_failures: col(&r, 3).int(),
            verdicts: col(&r, 4).int(),
            finished: col(&r, 5).int(),
        })
    }
}

/// Splits sorted, distinct ids into ranges worth reading whole (at least 64
/// ids, spanning at most twice as many) and the ids left.
fn dense_ranges(ids: &[i64]) -> (Vec<(i64, i64)>, Vec<i64>) {
    const MIN_RANGE: usize = 64;
    let (mut ranges, mut scattered) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < ids.len() {
        let lo = ids[start];
        let mut end = start + 1;
        while end < ids.len() {
            let span = i128::from(ids[end]) - i128::from(lo) + 1;
            if span > 2 * (end - start + 1) as i128 {
                break;
            }
            end += 1;
        }
        if end - start >= MIN_RANGE {
            ranges.push((lo, ids[end - 1]));
        } else {
            scattered.extend_from_slice(&ids[start..end]);
        }
        start = end;
    }
    (ranges, scattered)
}

fn test_rows(folded: Vec<(String, Vec<Folded>)>, jobs: &[JobRecord]) -> Vec<TestRunRow> {
    let mut rows = Vec::with_capacity(folded.iter().map(|(_, t)| t.len()).sum());
    for (name, tests) in folded {
        // A job of the run that `jobs` does not list is left out.
        let Some(job) = jobs.iter().position(|j| j.name == name) else {
            continue;
        };
        rows.extend(tests.into_iter().map(|f| TestRunRow {
            test: f.test,
            job,
            attempts: f.attempts,
            passed: f.passed,
            failed: f.failed,
            skipped: f.skipped,
            last_failed: f.last_failed,
            duration_s: f.duration_s,
        }));
    }
    rows
}

fn summary(folded: Vec<(String, Vec<Folded>)>) -> Vec<(i64, u8, f64)> {
    rollup::fold_jobs(folded.into_iter().map(|(_, tests)| tests).collect())
        .into_iter()
        .map(|(test, passed, failed, seconds)| {
            let state = match (passed, failed) {
                (true, true) => b'K',
                (false, true) => b'F',
                (true, false) => b'P',
                (false, false) => b'S',
            };
            (test, state, seconds)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::dense_ranges;

    #[test]
    fn close_ids_go_by_range_and_scattered_ones_by_list() {
        let dense: Vec<i64> = (1..=100).collect();
        assert_eq!(dense_ranges(&dense), (vec![(1, 100)], vec![]));
        // Every other id: twice the rows, still a range.
        let halves: Vec<i64> = (0..100).map(|i| 1000 + 2 * i).collect();
        assert_eq!(dense_ranges(&halves), (vec![(1000, 1198)], vec![]));
        // Every third: not worth it.
        let thirds: Vec<i64> = (0..100).map(|i| 3 * i).collect();
        assert_eq!(dense_ranges(&thirds), (vec![], thirds.clone()));
        // Too few to be a range.
        let few: Vec<i64> = (1..=63).collect();
        assert_eq!(dense_ranges(&few), (vec![], few.clone()));
        let mut mixed = vec![-5, 3];
        mixed.extend(10..=90);
        mixed.extend([500, i64::MAX]);
        assert_eq!(
            dense_ranges(&mixed),
            (vec![(10, 90)], vec![-5, 3, 500, i64::MAX])
        );
        assert_eq!(dense_ranges(&[]), (vec![], vec![]));
    }
}
