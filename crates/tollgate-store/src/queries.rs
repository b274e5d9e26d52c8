//! Read queries, written once for both backends (see [`crate::sql`]).
//!
//! The queries a team runs on every CI run — the flaky rate over a window,
//! the gate's baseline failures, the duration lookup for sharding — read
//! the per-job rollups (`job_rollups`, see [`crate::rollup`]): a few blobs
//! per run of the window, then the names of the tests they return, so their
//! cost grows with the window, not with the history (issue 17: read from
//! `test_attempts`, each probed an index whose depth grows with every run
//! ever stored; 10,000,000 results answered up to 1.35x slower than
//! 1,000,000 on PostgreSQL). A job without a rollup is read from its
//! attempts with the same fold, so both paths give the same answers.

use std::collections::{BTreeMap, HashMap};

use crate::error::StoreError;
use tollgate_results::BenchSample;

use crate::model::{
    BenchPoint, BenchWindow, CoverageRollup, FailedTest, FlakyQuery, FlakyReport, FlakyTest,
    RollupBy, RunCounts, RunFailures, RunInfo, StoredCoverage, TestDuration, TestHistoryEntry,
    TestTime,
};
use crate::sql::{Row, Sql, Value};

const RUN_COLUMNS: &str =
    "id, run_key, commit_sha, branch, pipeline, variables, runner, started_at, finished_at, complete";

fn run_from_row(row: &Row) -> RunInfo {
    let get = |i: usize| row.get(i).cloned().unwrap_or(Value::Null);
    RunInfo {
        id: get(0).int(),
        run_key: get(1).text(),
        commit: get(2).text(),
        branch: get(3).text(),
        pipeline: get(4).text(),
        variables: serde_json::from_str::<BTreeMap<String, String>>(&get(5).text())
            .unwrap_or_default(),
        runner: get(6).text(),
        started_at_ms: get(7).int(),
        finished_at_ms: get(8).opt_int(),
        complete: get(9).bool(),
    }
}

fn col(row: &Row, i: usize) -> Value {
    row.get(i).cloned().unwrap_or(Value::Null)
}

pub fn run(sql: &mut dyn Sql, run_key: &str) -> Result<Option<RunInfo>, StoreError> {
    let rows = sql.query(
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_key = ?1"),
        &[run_key.into()],
    )?;
    Ok(rows.first().map(run_from_row))
}

pub fn run_id(sql: &mut dyn Sql, run_key: &str) -> Result<i64, StoreError> {
    let rows = sql.query("SELECT id FROM runs WHERE run_key = ?1", &[run_key.into()])?;
    rows.first()
        .map(|r| col(r, 0).int())
        .ok_or_else(|| StoreError::UnknownRun(run_key.to_string()))
}

pub fn recent_runs(
    sql: &mut dyn Sql,
    pipeline: Option<&str>,
    limit: u32,
) -> Result<Vec<RunInfo>, StoreError> {
    let rows = sql.query(
        &format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE (CAST(?1 AS TEXT) IS NULL OR pipeline = ?1) \
             ORDER BY started_at DESC, id DESC LIMIT ?2"
        ),
        &[pipeline.into(), i64::from(limit).into()],
    )?;
    Ok(rows.iter().map(run_from_row).collect())
}

/// The latest complete run of `pipeline` on `branch`: what gates compare against.
pub fn baseline_run(
    sql: &mut dyn Sql,
    pipeline: &str,
    branch: &str,
) -> Result<Option<RunInfo>, StoreError> {
    let rows = sql.query(
        &format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE pipeline = ?1 AND branch = ?2 AND complete = ?3 \
             ORDER BY started_at DESC, id DESC LIMIT 1"
        ),
        &[pipeline.into(), branch.into(), true.into()],
    )?;
    Ok(rows.first().map(run_from_row))
}

/// The baseline of `judged`: the latest complete run of its pipeline on
/// `branch` that started before it (never `judged` itself, nor a later run).
pub fn baseline_for(
    sql: &mut dyn Sql,
    judged: &RunInfo,
    branch: &str,
) -> Result<Option<RunInfo>, StoreError> {
    let rows = sql.query(
        &format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE pipeline = ?1 AND branch = ?2 AND complete = ?3 \
               AND id <> ?4 AND (started_at < ?5 OR (started_at = ?5 AND id < ?4)) \
             ORDER BY started_at DESC, id DESC LIMIT 1"
        ),
        &[
            judged.pipeline.as_str().into(),
            branch.into(),
            true.into(),
            judged.id.into(),
            judged.started_at_ms.into(),
        ],
    )?;
    Ok(rows.first().map(run_from_row))
}

pub fn run_counts(sql: &mut dyn Sql, run_key: &str) -> Result<RunCounts, StoreError> {
    let id = run_id(sql, run_key)?;
    let count = |sql: &mut dyn Sql, q: &str| -> Result<u64, StoreError> {
        let rows = sql.query(q, &[id.into()])?;
        Ok(rows.first().map_or(0, |r| col(r, 0).int().max(0) as u64))
    };
    Ok(RunCounts {
        jobs: count(sql, "SELECT COUNT(*) FROM jobs WHERE run_id = ?1")?,
        attempts: count(sql, "SELECT COUNT(*) FROM test_attempts WHERE run_id = ?1")?,
        tests: count(
            sql,
            "SELECT COUNT(DISTINCT test_id) FROM test_attempts WHERE run_id = ?1",
        )?,
        coverage_files: count(sql, "SELECT COUNT(*) FROM coverage_files WHERE run_id = ?1")?,
        bench_samples: count(sql, "SELECT COUNT(*) FROM bench_samples WHERE run_id = ?1")?,
    })
}

/// What failed in a run: jobs whose recorded status is a failure, and tests
/// whose final attempt (per job) failed. `tollgate run` records a job's status
/// with quarantine and retries already applied; results ingested from
/// elsewhere carry no job status, so their tests speak for themselves.
///
/// The tests come from the jobs' rollups (see `job_rollups`: each test's
/// last-failed flag), one blob per job, then the names of the failed tests
/// alone: the cost grows with the run, not with the history (the attempts
/// query probed the `test_attempts` index once per failed attempt and again
/// for each one's last attempt: 2.5 ms at 1,000,000 results and 3.4 ms at
/// 10,000,000 on PostgreSQL, issue 17). A job without a rollup (stored by
/// an older tollgate until `tollgate store migrate`) is read from its
/// attempts: the same tests. Ordered by job name, then test name, by bytes
/// on both backends (what SQLite's and a `C` / `C.UTF-8` PostgreSQL's
/// `ORDER BY` gave).
pub fn run_failures(sql: &mut dyn Sql, run_key: &str) -> Result<RunFailures, StoreError> {
    let run = sql.query(
        "SELECT id, pruned FROM runs WHERE run_key = ?1",
        &[run_key.into()],
    )?;
    let Some(run) = run.first() else {
        return Err(StoreError::UnknownRun(run_key.to_string()));
    };
    let (id, pruned) = (col(run, 0).int(), col(run, 1).bool());
    let jobs = sql.query(
        "SELECT name, status FROM jobs WHERE run_id = ?1 \
         AND status IN ('failed', 'infrastructureerror', 'incomplete') ORDER BY name",
        &[id.into()],
    )?;
    let rolled = sql.query(
        "SELECT j.id, j.name, j.status, r.summary FROM jobs j \
         LEFT JOIN job_rollups r ON r.job_id = j.id WHERE j.run_id = ?1",
        &[id.into()],
    )?;
    // (job name, job status) by job id; then (job id, test id) per failure.
    let mut job_of: HashMap<i64, (String, String)> = HashMap::with_capacity(rolled.len());
    let mut failed: Vec<(i64, i64)> = Vec::new();
    let mut without_rollup = false;
    for j in &rolled {
        let job_id = col(j, 0).int();
        job_of.insert(job_id, (col(j, 1).text(), col(j, 2).text()));
        match j.get(3) {
            // A pruned run's failed tests went with its attempts (as when
            // they were read from the attempts alone): its rollups are not
            // read here.
            Some(Value::Blob(blob)) if !pruned => failed.extend(
                crate::rollup::decode(blob, job_id)?
                    .iter()
                    .filter(|t| t.last_failed)
                    .map(|t| (job_id, t.test)),
            ),
            _ => without_rollup = true,
        }
    }
    if without_rollup {
        // The attempts of the jobs without a rollup (of every job, pruned).
        let raw = sql.query(
            "SELECT a.job_id, a.test_id FROM test_attempts a \
             WHERE a.run_id = ?1 AND a.outcome IN ('failed', 'error') \
             AND (?2 OR NOT EXISTS (SELECT 1 FROM job_rollups r WHERE r.job_id = a.job_id)) \
             AND a.attempt = (SELECT MAX(b.attempt) FROM test_attempts b \
                              WHERE b.run_id = a.run_id AND b.job_id = a.job_id AND b.test_id = a.test_id)",
            &[id.into(), pruned.into()],
        )?;
        failed.extend(raw.iter().map(|r| (col(r, 0).int(), col(r, 1).int())));
    }
    let mut ids: Vec<i64> = failed.iter().map(|f| f.1).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = crate::Store::names_of(sql, &ids)?;
    let mut failed_tests: Vec<FailedTest> = failed
        .iter()
        .filter_map(|(job, test)| {
            let (job, status) = job_of.get(job)?;
            Some(FailedTest {
                job: job.clone(),
                test_id: names.get(test)?.clone(),
                job_status: status.clone(),
            })
        })
        .collect();
    failed_tests.sort_unstable_by(|a, b| a.job.cmp(&b.job).then_with(|| a.test_id.cmp(&b.test_id)));
    Ok(RunFailures {
        failed_jobs: jobs
            .iter()
            .map(|r| (col(r, 0).text(), col(r, 1).text()))
            .collect(),
        failed_tests,
    })
}

pub fn test_history(
    sql: &mut dyn Sql,
    test_id: &str,
    limit: u32,
) -> Result<Vec<TestHistoryEntry>, StoreError> {
    let rows = sql.query(
        "SELECT r.run_key, r.commit_sha, r.branch, r.started_at, j.name, a.attempt, a.outcome, a.duration_s, a.message \
         FROM test_attempts a \
         JOIN tests t ON t.id = a.test_id \
         JOIN runs r ON r.id = a.run_id \
         JOIN jobs j ON j.id = a.job_id \
         WHERE t.name = ?1 \
         ORDER BY r.started_at DESC, r.id DESC, a.attempt DESC LIMIT ?2",
        &[test_id.into(), i64::from(limit).into()],
    )?;
    Ok(rows
        .iter()
        .map(|r| TestHistoryEntry {
            run_key: col(r, 0).text(),
            commit: col(r, 1).text(),
            branch: col(r, 2).text(),
            started_at_ms: col(r, 3).int(),
            job: col(r, 4).text(),
            attempt: u32::try_from(col(r, 5).int()).unwrap_or(0),
            outcome: col(r, 6).text(),
            duration_s: col(r, 7).real(),
            message: col(r, 8).opt_text(),
        })
        .collect())
}

/// Runs in the window that are not infrastructure failures: runs where more
/// than `?3` of the first attempts failed are left out. The per-job counts
/// kept at ingest make this independent of the size of `test_attempts`.
const GOOD_RUNS: &str = "\
    window_runs AS ( \
        SELECT r.id, r.commit_sha FROM runs r \
        WHERE r.started_at >= ?1 AND NOT r.pruned AND (CAST(?2 AS TEXT) IS NULL OR r.pipeline = ?2) \
    ), \
    run_health AS ( \
        SELECT j.run_id, SUM(j.first_attempts) AS total, SUM(j.first_failures) AS failed \
        FROM jobs j JOIN window_runs w ON w.id = j.run_id GROUP BY j.run_id \
    ), \
    tested_runs AS ( \
        SELECT w.id, w.commit_sha, h.total, h.failed FROM window_runs w JOIN run_health h ON h.run_id = w.id \
        WHERE h.total > 0 \
    ), \
    good_runs AS ( \
        SELECT id, commit_sha FROM tested_runs \
        WHERE CAST(failed AS DOUBLE PRECISION) <= ?3 * CAST(total AS DOUBLE PRECISION) \
    )";

/// Flaky tests over the window.
///
/// Only a test that failed somewhere can be flaky, and failures are rare, so
/// the query starts from the failed attempts of the window's runs (a partial
/// index) and keeps the `(test, commit)` pairs that also have a passing
/// attempt on the same commit (a retry in the same run or another run),
/// each looked up by an index probe by `(test, run)` written as a
/// correlated scalar subquery so that no planner turns it into a scan of all
/// attempts. The cost grows with the window, not with the history (probing
/// every test id ever stored did: 1.9x from 1,000,000 to 10,000,000 results
/// on PostgreSQL).
///
/// The statistics (commits a test ran on, attempts, failed attempts) and
/// the tests considered come from the good runs' job rollups (see
/// `job_rollups`), one pass over each run's tests: gathered in SQL they
/// cost a random heap read per attempt of every flaky test, and a
/// `DISTINCT` over every attempt of the window (2.9 s of a 4 s report of
/// 100,000 tests x 30 runs on PostgreSQL). Worst first: by flaky commits,
/// then rate, then name (by bytes, on both backends).
pub fn flaky_tests(sql: &mut dyn Sql, query: &FlakyQuery) -> Result<FlakyReport, StoreError> {
    let params = [
        Value::Int(query.since_ms),
        query.pipeline.as_deref().into(),
        Value::Real(query.infra_failure_ratio),
    ];
    let summary = sql.query(
        &format!(
            "WITH {GOOD_RUNS} SELECT \
                (SELECT COUNT(*) FROM good_runs), \
                (SELECT COUNT(*) FROM tested_runs) - (SELECT COUNT(*) FROM good_runs)"
        ),
        &params,
    )?;
    let first = summary.first().cloned().unwrap_or_default();
    let good: Vec<(i64, String)> = sql
        .query(
            &format!("WITH {GOOD_RUNS} SELECT id, commit_sha FROM good_runs ORDER BY id"),
            &params,
        )?
        .iter()
        .map(|r| (col(r, 0).int(), col(r, 1).text()))
        .collect();
    let flaky_commits = sql.query(
        &format!(
            "WITH {GOOD_RUNS}, \
             failing AS ( \
                SELECT DISTINCT a.test_id, g.commit_sha \
                FROM good_runs g CROSS JOIN test_attempts a \
                WHERE a.run_id = g.id AND a.outcome IN ('failed', 'error') \
             ), \
             flaky_pairs AS ( \
                SELECT f.test_id, f.commit_sha FROM failing f \
                WHERE ( \
                    SELECT 1 FROM good_runs g CROSS JOIN test_attempts p \
                    WHERE g.commit_sha = f.commit_sha AND p.run_id = g.id AND p.test_id = f.test_id \
                      AND p.outcome = 'passed' LIMIT 1 \
                ) IS NOT NULL \
             ) \
             SELECT test_id, CAST(COUNT(*) AS BIGINT) FROM flaky_pairs GROUP BY test_id"
        ),
        &params,
    )?;
    // Per flaky test: flaky commits, then what the rollups add up.
    #[derive(Default)]
    struct Stats {
        flaky_commits: u64,
        commits: Vec<usize>,
        attempts: u64,
        failed_attempts: u64,
    }
    let mut stats: HashMap<i64, Stats> = flaky_commits
        .iter()
        .map(|r| {
            let n = col(r, 1).int().max(0) as u64;
            (
                col(r, 0).int(),
                Stats {
                    flaky_commits: n,
                    ..Stats::default()
                },
            )
        })
        .collect();
    let mut commit_index: HashMap<&str, usize> = HashMap::new();
    let mut considered: Vec<i64> = Vec::new();
    for (run, commit) in &good {
        let next = commit_index.len();
        let commit = *commit_index.entry(commit.as_str()).or_insert(next);
        for (_, tests) in crate::rollup::run_tests(sql, *run, crate::rollup::Path::Rollups)? {
            for t in &tests {
                if let Some(s) = stats.get_mut(&t.test) {
                    if s.commits.last() != Some(&commit) {
                        s.commits.push(commit);
                    }
                    s.attempts += u64::from(t.attempts);
                    s.failed_attempts += u64::from(t.failed);
                }
            }
            considered = crate::rollup::merge_union(&considered, tests.iter().map(|t| t.test));
        }
    }
    let ids: Vec<i64> = stats.keys().copied().collect();
    let names = crate::Store::names_of(sql, &ids)?;
    let mut flaky: Vec<FlakyTest> = stats
        .into_iter()
        .filter_map(|(id, mut s)| {
            s.commits.sort_unstable();
            s.commits.dedup();
            let commits = s.commits.len() as u64;
            Some(FlakyTest {
                test_id: names.get(&id)?.clone(),
                commits,
                flaky_commits: s.flaky_commits,
                attempts: s.attempts,
                failed_attempts: s.failed_attempts,
                flake_rate: if commits == 0 {
                    0.0
                } else {
                    s.flaky_commits as f64 / commits as f64
                },
            })
        })
        .collect();
    flaky.sort_by(|a, b| {
        b.flaky_commits
            .cmp(&a.flaky_commits)
            .then(b.flake_rate.total_cmp(&a.flake_rate))
            .then_with(|| a.test_id.cmp(&b.test_id))
    });
    flaky.truncate(query.limit as usize);
    Ok(FlakyReport {
        flaky,
        runs_considered: col(&first, 0).int().max(0) as u64,
        runs_excluded: col(&first, 1).int().max(0) as u64,
        tests_considered: considered.len() as u64,
    })
}

/// Mean duration of passing attempts per test over runs started since
/// `since_ms` and finished (or, unfinished, started) before `until_ms`.
///
/// Read from the window's job rollups (see `job_rollups`: each test's
/// passing attempts and their seconds), a few blobs per run, then the
/// names: the cost grows with the window, not with the history (averaging
/// the window's raw attempts read them by the `run_id` index, 0.29 s at
/// 1,000,000 results and 0.38 s at 10,000,000 for 60,000 tests on
/// PostgreSQL, issue 17). A job without a rollup, or with a format-1 rollup
/// that lacks a test's passing seconds, is folded from its attempts, and
/// so is every job of a pruned run (its rollups outlive the attempts that
/// this lookup averaged before; a prune leaves none). Both paths fold a
/// job's attempts with the same [`crate::rollup::Folder`], and the jobs add
/// up by ascending run id, then job id: the same means, bit for bit.
pub fn test_durations(
    sql: &mut dyn Sql,
    since_ms: i64,
    until_ms: i64,
    pipeline: Option<&str>,
) -> Result<Vec<TestDuration>, StoreError> {
    use crate::rollup::{run_tests, Path};
    let runs = sql.query(
        "SELECT id, pruned FROM runs \
         WHERE started_at >= ?1 AND COALESCE(finished_at, started_at) < ?3 \
           AND (CAST(?2 AS TEXT) IS NULL OR pipeline = ?2) \
         ORDER BY id",
        &[since_ms.into(), pipeline.into(), until_ms.into()],
    )?;
    // By test id: (test, seconds of passing attempts, passing attempts).
    let mut sums: Vec<(i64, f64, u64)> = Vec::new();
    for r in &runs {
        let path = if col(r, 1).bool() {
            Path::Attempts
        } else {
            Path::PassedSeconds
        };
        for (_, tests) in run_tests(sql, col(r, 0).int(), path)? {
            sums = crate::rollup::add_passing(sums, &tests);
        }
    }
    let ids: Vec<i64> = sums.iter().map(|s| s.0).collect();
    let mut names = crate::Store::names_of(sql, &ids)?;
    let mut durations: Vec<TestDuration> = sums
        .into_iter()
        .filter_map(|(id, seconds, n)| {
            Some(TestDuration {
                test_id: names.remove(&id)?,
                mean_s: seconds / n as f64,
                samples: n,
            })
        })
        .collect();
    // Sorted here, by bytes, not by the server's collation: the same order
    // on both backends, and cheaper than PostgreSQL sorting 60,000 names.
    durations.sort_unstable_by(|a, b| a.test_id.cmp(&b.test_id));
    Ok(durations)
}

pub fn coverage_rollup(
    sql: &mut dyn Sql,
    run_key: &str,
    by: RollupBy,
) -> Result<Vec<CoverageRollup>, StoreError> {
    let id = run_id(sql, run_key)?;
    let key = match by {
        RollupBy::Language => "language",
        RollupBy::Component => "component",
    };
    let rows = sql.query(
        &format!(
            "SELECT {key}, COUNT(*), CAST(SUM(lines_total) AS BIGINT), CAST(SUM(lines_covered) AS BIGINT) \
             FROM coverage_files WHERE run_id = ?1 GROUP BY {key} ORDER BY {key}"
        ),
        &[id.into()],
    )?;
    Ok(rows
        .iter()
        .map(|r| CoverageRollup {
            key: col(r, 0).text(),
            files: col(r, 1).int().max(0) as u64,
            lines_total: col(r, 2).int().max(0) as u64,
            lines_covered: col(r, 3).int().max(0) as u64,
        })
        .collect())
}

/// The stored coverage of one run, by path.
pub fn coverage_files(sql: &mut dyn Sql, run_key: &str) -> Result<Vec<StoredCoverage>, StoreError> {
    let id = run_id(sql, run_key)?;
    let rows = sql.query(
        "SELECT path, language, component, covered_lines, uncovered_lines \
         FROM coverage_files WHERE run_id = ?1 ORDER BY path",
        &[id.into()],
    )?;
    rows.iter()
        .map(|r| {
            let path = col(r, 0).text();
            let decode = |v: Value| {
                crate::lines::decode_lines(&v.text()).ok_or_else(|| {
                    StoreError::Invalid(format!("corrupt line set stored for {path}"))
                })
            };
            Ok(StoredCoverage {
                covered_lines: decode(col(r, 3))?,
                uncovered_lines: decode(col(r, 4))?,
                language: col(r, 1).text(),
                component: col(r, 2).text(),
                path: path.clone(),
            })
        })
        .collect()
}

pub fn bench_history(
    sql: &mut dyn Sql,
    name: &str,
    metric: &str,
    pipeline: Option<&str>,
    limit: u32,
) -> Result<Vec<BenchPoint>, StoreError> {
    let rows = sql.query(
        "SELECT r.run_key, r.commit_sha, r.started_at, b.value, b.unit \
         FROM bench_samples b JOIN runs r ON r.id = b.run_id \
         WHERE b.name = ?1 AND b.metric = ?2 AND (CAST(?3 AS TEXT) IS NULL OR r.pipeline = ?3) \
         ORDER BY r.started_at DESC, b.id DESC LIMIT ?4",
        &[
            name.into(),
            metric.into(),
            pipeline.into(),
            i64::from(limit).into(),
        ],
    )?;
    Ok(rows
        .iter()
        .map(|r| BenchPoint {
            run_key: col(r, 0).text(),
            commit: col(r, 1).text(),
            started_at_ms: col(r, 2).int(),
            value: col(r, 3).real(),
            unit: col(r, 4).text(),
        })
        .collect())
}

fn bench_sample(r: &Row) -> BenchSample {
    BenchSample {
        name: col(r, 0).text(),
        metric: col(r, 1).text(),
        value: col(r, 2).real(),
        unit: col(r, 3).text(),
    }
}

/// Every benchmark sample of one run (all jobs), in the order written.
pub fn run_bench(sql: &mut dyn Sql, run_key: &str) -> Result<Vec<BenchSample>, StoreError> {
    let id = run_id(sql, run_key)?;
    let rows = sql.query(
        "SELECT name, metric, value, unit FROM bench_samples WHERE run_id = ?1 ORDER BY id",
        &[id.into()],
    )?;
    Ok(rows.iter().map(bench_sample).collect())
}

/// The benchmark samples of the history window (see [`BenchWindow`]), newest
/// run first.
pub fn bench_window(
    sql: &mut dyn Sql,
    window: &BenchWindow,
) -> Result<Vec<BenchSample>, StoreError> {
    let rows = sql.query(
        "WITH hist AS ( \
            SELECT r.id, r.started_at FROM runs r \
            WHERE r.pipeline = ?1 AND r.branch = ?2 AND r.started_at >= ?3 AND r.run_key <> ?4 \
              AND EXISTS (SELECT 1 FROM bench_samples s WHERE s.run_id = r.id) \
            ORDER BY r.started_at DESC, r.id DESC LIMIT ?5 \
         ) \
         SELECT b.name, b.metric, b.value, b.unit FROM bench_samples b JOIN hist h ON h.id = b.run_id \
         ORDER BY h.started_at DESC, h.id DESC, b.id",
        &[
            window.pipeline.as_str().into(),
            window.branch.as_str().into(),
            window.since_ms.into(),
            window.exclude_run_key.as_str().into(),
            i64::from(window.max_runs).into(),
        ],
    )?;
    Ok(rows.iter().map(bench_sample).collect())
}

/// Time per test and job of one run, all attempts summed.
pub fn run_test_times(sql: &mut dyn Sql, run_key: &str) -> Result<Vec<TestTime>, StoreError> {
    let id = run_id(sql, run_key)?;
    let rows = sql.query(
        "SELECT j.name, t.name, COUNT(*), SUM(a.duration_s), MAX(a.duration_s) \
         FROM test_attempts a JOIN tests t ON t.id = a.test_id JOIN jobs j ON j.id = a.job_id \
         WHERE a.run_id = ?1 GROUP BY j.name, t.name ORDER BY j.name, t.name",
        &[id.into()],
    )?;
    Ok(rows
        .iter()
        .map(|r| TestTime {
            job: col(r, 0).text(),
            test_id: col(r, 1).text(),
            attempts: u32::try_from(col(r, 2).int()).unwrap_or(0),
            total_s: col(r, 3).real(),
            max_s: col(r, 4).real(),
        })
        .collect())
}
