//! Run history for tollgate: runs, jobs, every attempt of every test,
//! coverage per file, benchmark samples and gate verdicts.
//!
//! Two backends behind one [`Store`]: a SQLite file (default
//! [`DEFAULT_SQLITE_PATH`], zero set-up) for one machine and PostgreSQL
//! (`postgres://...`) for a team whose CI runners share one history. Both
//! have the same schema (versioned migrations under `migrations/`), and the
//! read queries are the same SQL text (see [`sql`]); only bulk writes are
//! tuned per backend.
//!
//! Guarantees:
//! - **All or nothing**: [`Store::ingest`] writes a [`Batch`] in one
//!   transaction; a process killed mid-ingest leaves none of it.
//! - **Shards merge**: batches with the same `run_key` (e.g. `CI_PIPELINE_ID`)
//!   from several runners land in one run; re-ingesting the same results
//!   (test attempts, benchmark series of a job) replaces them instead of
//!   duplicating them.
//! - **Concurrent writers wait, they do not fail**: SQLite runs in WAL mode
//!   with a busy timeout and `IMMEDIATE` write transactions; PostgreSQL
//!   serialises shards of one run on its row.

mod error;
mod learned;
mod lines;
mod migrate;
mod model;
mod notify;
mod postgres;
mod queries;
mod reporting;
mod rollup;
pub mod sql;
mod sqlite;
mod upkeep;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::{StoreError, DEADLINE_ENV};
pub use learned::LearnedRow;
pub use lines::{decode_lines, encode_lines, language_of};
pub use migrate::LATEST_VERSION;
pub use model::{
    Batch, BenchPoint, BenchWindow, CoverageEntry, CoverageRollup, FailedTest, FlakyQuery,
    FlakyReport, FlakyTest, IngestSummary, JobMeta, RollupBy, RunCounts, RunFailures, RunInfo,
    RunMeta, StoredCoverage, TestDuration, TestHistoryEntry, TestTime, Verdict,
};
pub use notify::{AlertRow, FailedAttempt};
pub use postgres::{operation_deadline, PgStore};
pub use reporting::{AttemptRecord, JobRecord, StoreStamp, TestRunRow};
pub use sqlite::SqliteStore;
use tollgate_results::{BenchSample, TestResult};
pub use upkeep::{MigrationStatus, PruneSummary, StoreStats};

use crate::sql::Sql;

/// Where the SQLite store lives, relative to the repository root.
pub const DEFAULT_SQLITE_PATH: &str = ".tollgate/history.db";

/// Runs `work` — opening the store at `location` and using it — within the
/// client-side deadline of a PostgreSQL store ([`operation_deadline`]; the
/// server's `statement_timeout` cannot bound a server that stalls), on a
/// thread that is abandoned, with its connection, on expiry
/// ([`StoreError::Stalled`]). `what` names the operation in that error;
/// `override_secs` replaces the deadline (see [`DEADLINE_ENV`]). A SQLite
/// store runs `work` on the caller's thread: it is bounded by its busy
/// timeout.
pub fn with_deadline<T, E>(
    location: &str,
    what: &str,
    override_secs: Option<u64>,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        postgres::bounded(location, what, override_secs, work)
    } else {
        work()
    }
}

/// A history store on either backend.
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens `location`: a `postgres://` / `postgresql://` URL, a
    /// `sqlite://PATH` URL, or a plain file path (SQLite). Creates and
    /// migrates the schema as needed.
    pub fn open(location: &str) -> Result<Store, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            return Ok(Store::Postgres(PgStore::connect(location)?));
        }
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        Ok(Store::Sqlite(SqliteStore::open(Path::new(path))?))
    }

    /// Opens `location` for commands that only read (`history`, `flaky`):
    /// a SQLite store must exist already (no empty store is created at a
    /// mistyped path) and may be read-only.
    pub fn open_read(location: &str) -> Result<Store, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            return Ok(Store::Postgres(PgStore::connect(location)?));
        }
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        Ok(Store::Sqlite(SqliteStore::open_read(Path::new(path))?))
    }

    /// The schema version of the store at `location` and what this build
    /// would apply, without creating or migrating anything (`tollgate store
    /// migrate --check`). A SQLite file that does not exist is at version 0.
    pub fn migration_status(location: &str) -> Result<MigrationStatus, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            return PgStore::migration_status(location);
        }
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        SqliteStore::migration_status(Path::new(path))
    }

    /// Rows, size on disk and time span.
    pub fn stats(&mut self) -> Result<StoreStats, StoreError> {
        let version = self.schema_version()?;
        let mut stats = upkeep::counts(self.sql())?;
        stats.backend = self.backend();
        stats.schema_version = version;
        stats.size_bytes = match self {
            Store::Sqlite(s) => s.size_bytes()?,
            Store::Postgres(p) => p.size_bytes()?,
        };
        Ok(stats)
    }

    /// Drops the raw results (test attempts, coverage by file) of runs
    /// started before `before_ms`, in one transaction, and test ids no
    /// attempt refers to any more. The runs stay, with their jobs (status,
    /// times, first-attempt counts), job rollups (each test's state and
    /// time in the run), benchmark samples and gate verdicts.
    pub fn prune(&mut self, before_ms: i64) -> Result<PruneSummary, StoreError> {
        match self {
            Store::Sqlite(s) => s.prune(before_ms),
            Store::Postgres(p) => p.prune(before_ms),
        }
    }

    /// `postgres` or `sqlite`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    fn sql(&mut self) -> &mut dyn Sql {
        match self {
            Store::Sqlite(s) => s,
            Store::Postgres(p) => p,
        }
    }

    pub fn schema_version(&mut self) -> Result<u32, StoreError> {
        match self {
            Store::Sqlite(s) => s.schema_version(),
            Store::Postgres(p) => p.schema_version(),
        }
    }

    /// Writes a batch (one job's results of one run) in one transaction.
    ///
    /// Writing is idempotent per job: a test attempt already stored for the
    /// job replaces the old one, and the batch's benchmark samples replace
    /// every stored sample of the same `(name, metric)` in the job (all the
    /// samples of one series in one batch are kept). Re-uploading a file is
    /// therefore harmless; repeats of a benchmark that should all count go in
    /// one batch or in different jobs.
    pub fn ingest(&mut self, batch: &Batch<'_>) -> Result<IngestSummary, StoreError> {
        validate(batch)?;
        match self {
            Store::Sqlite(s) => s.ingest(batch),
            Store::Postgres(p) => p.ingest(batch),
        }
    }

    /// Builds the rollup of every job that has stored attempts but none
    /// (jobs stored before schema version 6, or written by other means than
    /// [`Store::ingest`]); returns how many were built. `tollgate store
    /// migrate` calls it. Until then reports read such jobs' attempts: the
    /// same answers, only slower.
    pub fn build_missing_rollups(&mut self) -> Result<u64, StoreError> {
        rollup::build_missing(self.sql())
    }

    /// Marks a run finished; only `complete` runs can be baselines.
    pub fn finish_run(
        &mut self,
        run_key: &str,
        finished_at_ms: i64,
        complete: bool,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.finish_run(run_key, finished_at_ms, complete),
            Store::Postgres(p) => p.finish_run(run_key, finished_at_ms, complete),
        }
    }

    pub fn record_verdicts(
        &mut self,
        run_key: &str,
        verdicts: &[Verdict],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.record_verdicts(run_key, verdicts, at_ms),
            Store::Postgres(p) => p.record_verdicts(run_key, verdicts, at_ms),
        }
    }

    pub fn run(&mut self, run_key: &str) -> Result<Option<RunInfo>, StoreError> {
        queries::run(self.sql(), run_key)
    }

    pub fn recent_runs(
        &mut self,
        pipeline: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RunInfo>, StoreError> {
        queries::recent_runs(self.sql(), pipeline, limit)
    }

    /// The latest complete run of `pipeline` on `branch`.
    pub fn baseline_run(
        &mut self,
        pipeline: &str,
        branch: &str,
    ) -> Result<Option<RunInfo>, StoreError> {
        queries::baseline_run(self.sql(), pipeline, branch)
    }

    /// The baseline a gate compares `judged` against: the latest complete
    /// run of its pipeline on `branch` that started before it. Never the
    /// judged run itself (a complete run on the base branch would otherwise
    /// be its own baseline).
    pub fn baseline_for(
        &mut self,
        judged: &RunInfo,
        branch: &str,
    ) -> Result<Option<RunInfo>, StoreError> {
        queries::baseline_for(self.sql(), judged, branch)
    }

    pub fn run_counts(&mut self, run_key: &str) -> Result<RunCounts, StoreError> {
        queries::run_counts(self.sql(), run_key)
    }

    /// Failed jobs and tests of a run, for the gate's critical-failures check.
    pub fn run_failures(&mut self, run_key: &str) -> Result<RunFailures, StoreError> {
        queries::run_failures(self.sql(), run_key)
    }

    pub fn test_history(
        &mut self,
        test_id: &str,
        limit: u32,
    ) -> Result<Vec<TestHistoryEntry>, StoreError> {
        queries::test_history(self.sql(), test_id, limit)
    }

    pub fn flaky_tests(&mut self, query: &FlakyQuery) -> Result<FlakyReport, StoreError> {
        queries::flaky_tests(self.sql(), query)
    }

    /// Mean passing duration per test over runs started at or after
    /// `since_ms` and finished before `until_ms` (a run with no finish time
    /// counts by its start), for shard balancing and `tollgate history`.
    ///
    /// The upper bound is what keeps the shards of one CI run consistent:
    /// every shard that reads with the same `until_ms` sees the same
    /// durations, however many runs record results in the meantime.
    pub fn test_durations(
        &mut self,
        since_ms: i64,
        until_ms: i64,
        pipeline: Option<&str>,
    ) -> Result<Vec<TestDuration>, StoreError> {
        queries::test_durations(self.sql(), since_ms, until_ms, pipeline)
    }

    pub fn coverage_rollup(
        &mut self,
        run_key: &str,
        by: RollupBy,
    ) -> Result<Vec<CoverageRollup>, StoreError> {
        queries::coverage_rollup(self.sql(), run_key, by)
    }

    /// The stored (shard-merged) coverage of one run, by path.
    pub fn coverage_files(&mut self, run_key: &str) -> Result<Vec<StoredCoverage>, StoreError> {
        queries::coverage_files(self.sql(), run_key)
    }

    pub fn bench_history(
        &mut self,
        name: &str,
        metric: &str,
        pipeline: Option<&str>,
        limit: u32,
    ) -> Result<Vec<BenchPoint>, StoreError> {
        queries::bench_history(self.sql(), name, metric, pipeline, limit)
    }

    /// Every benchmark sample of one run (all jobs and shards).
    pub fn run_bench(&mut self, run_key: &str) -> Result<Vec<BenchSample>, StoreError> {
        queries::run_bench(self.sql(), run_key)
    }

    /// The benchmark samples a run's are compared against: the latest runs of
    /// the pipeline on the base branch within the window (see [`BenchWindow`]).
    pub fn bench_window(&mut self, window: &BenchWindow) -> Result<Vec<BenchSample>, StoreError> {
        queries::bench_window(self.sql(), window)
    }

    /// The first failed attempt of every failing test of a run, with its
    /// message and whether a retry passed (for triage).
    pub fn failed_attempts(&mut self, run_key: &str) -> Result<Vec<FailedAttempt>, StoreError> {
        notify::failed_attempts(self.sql(), run_key)
    }

    /// Earlier runs of `pipeline` on `branch` than `run`, newest first.
    pub fn runs_before(&mut self, run: &RunInfo, limit: u32) -> Result<Vec<RunInfo>, StoreError> {
        notify::runs_before(
            self.sql(),
            &run.pipeline,
            &run.branch,
            run.started_at_ms,
            run.id,
            limit,
        )
    }

    /// Claims `(channel, run_key, claim)` for sending; `true` for exactly one
    /// of any number of concurrent callers (a uniqueness constraint decides).
    pub fn notify_claim(
        &mut self,
        channel: &str,
        run_key: &str,
        claim: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        notify::claim(self.sql(), channel, run_key, claim, at_ms)
    }

    /// Releases a claim whose delivery failed.
    pub fn notify_release(
        &mut self,
        channel: &str,
        run_key: &str,
        claim: &str,
    ) -> Result<(), StoreError> {
        notify::release(self.sql(), channel, run_key, claim)
    }

    /// Every alert state of a channel.
    pub fn notify_alerts(&mut self, channel: &str) -> Result<Vec<AlertRow>, StoreError> {
        notify::alerts(self.sql(), channel)
    }

    /// Records what was sent for an alert.
    pub fn notify_record(&mut self, row: &AlertRow) -> Result<(), StoreError> {
        notify::record_alert(self.sql(), row)
    }

    /// Records what pytest collected from test files (one row per file and
    /// content key; a row for the same key replaces the old one).
    pub fn record_learned(&mut self, rows: &[LearnedRow]) -> Result<(), StoreError> {
        learned::record(self.sql(), rows)
    }

    /// The learned rows whose content key is among `keys` (each key is a
    /// hash that names its file's path as well as its content). A store
    /// opened read-only at an older schema has learned nothing: no rows.
    pub fn learned_by_keys(&mut self, keys: &[&str]) -> Result<Vec<LearnedRow>, StoreError> {
        if self.schema_version()? < learned::SINCE_VERSION {
            return Ok(Vec::new());
        }
        learned::by_keys(self.sql(), keys)
    }

    /// Time per test and job of one run, for time budgets.
    pub fn run_test_times(&mut self, run_key: &str) -> Result<Vec<TestTime>, StoreError> {
        queries::run_test_times(self.sql(), run_key)
    }
}

/// Upserts a job and returns its id (shared SQL; `?N` parameters).
const UPSERT_JOB: &str = "INSERT INTO jobs (run_id, name, status, wall_ms, cpu_ms, peak_rss_kb) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (run_id, name) DO UPDATE SET \
       status = CASE WHEN excluded.status <> '' THEN excluded.status ELSE jobs.status END, \
       wall_ms = COALESCE(excluded.wall_ms, jobs.wall_ms), \
       cpu_ms = COALESCE(excluded.cpu_ms, jobs.cpu_ms), \
       peak_rss_kb = COALESCE(excluded.peak_rss_kb, jobs.peak_rss_kb) \
     RETURNING id";

const UPSERT_COVERAGE: &str = "INSERT INTO coverage_files \
       (run_id, path, language, component, lines_total, lines_covered, covered_lines, uncovered_lines) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     ON CONFLICT (run_id, path) DO UPDATE SET \
       component = CASE WHEN excluded.component <> '' THEN excluded.component ELSE coverage_files.component END, \
       lines_total = excluded.lines_total, lines_covered = excluded.lines_covered, \
       covered_lines = excluded.covered_lines, uncovered_lines = excluded.uncovered_lines";

/// Recounts a job's first attempts and first-attempt failures (`?1` job,
/// `?2` run) after an ingest; see the `jobs` table.
const RECOUNT_JOB: &str = "UPDATE jobs SET \
       first_attempts = (SELECT COUNT(*) FROM test_attempts WHERE run_id = ?2 AND job_id = ?1 AND attempt = 1), \
       first_failures = (SELECT COUNT(*) FROM test_attempts \
                         WHERE run_id = ?2 AND job_id = ?1 AND attempt = 1 AND outcome IN ('failed', 'error')) \
     WHERE id = ?1";

/// Removes one benchmark series of one job of one run (`?1` run, `?2` job,
/// `?3` name, `?4` metric) before a batch writes it again.
const DELETE_BENCH_SERIES: &str =
    "DELETE FROM bench_samples WHERE run_id = ?1 AND job_id = ?2 AND name = ?3 AND metric = ?4";

/// The distinct `(name, metric)` series of a batch's benchmark samples, sorted.
fn bench_series(samples: &[tollgate_results::BenchSample]) -> Vec<(&str, &str)> {
    let mut series: Vec<(&str, &str)> = samples
        .iter()
        .map(|s| (s.name.as_str(), s.metric.as_str()))
        .collect();
    series.sort_unstable();
    series.dedup();
    series
}

const INSERT_VERDICT: &str = "INSERT INTO gate_verdicts \
       (run_id, check_name, status, measured, threshold, detail, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Checks what the parsers guarantee, for callers that build batches
/// themselves: nothing is written if any of it is wrong.
fn validate(batch: &Batch<'_>) -> Result<(), StoreError> {
    let bad_number = |v: f64| !v.is_finite() || v < 0.0;
    if batch.run.run_key.is_empty() {
        return Err(StoreError::Invalid(
            "a run needs a non-empty run key".into(),
        ));
    }
    for t in batch.tests {
        if t.id.is_empty() || t.attempt == 0 {
            return Err(StoreError::Invalid(format!(
                "test {:?} attempt {}: needs an id and an attempt number from 1",
                t.id, t.attempt
            )));
        }
        if bad_number(t.duration) {
            return Err(StoreError::Invalid(format!(
                "test {:?} attempt {}: duration {} is not a finite, non-negative number",
                t.id, t.attempt, t.duration
            )));
        }
    }
    for s in batch.bench {
        if bad_number(s.value) {
            return Err(StoreError::Invalid(format!(
                "benchmark {:?} metric {:?}: value {} is not a finite, non-negative number",
                s.name, s.metric, s.value
            )));
        }
    }
    if let Some(c) = batch.coverage.iter().find(|c| c.file.path.is_empty()) {
        return Err(StoreError::Invalid(format!(
            "coverage entry without a path ({} lines)",
            c.file.lines_total
        )));
    }
    Ok(())
}

/// One row per (test, attempt): a batch that names the same attempt twice
/// (two files from one job) keeps the last, as a re-ingest would.
fn dedupe_attempts(tests: &[TestResult]) -> Vec<&TestResult> {
    let mut last: BTreeMap<(&str, u32), usize> = BTreeMap::new();
    for (i, t) in tests.iter().enumerate() {
        last.insert((t.id.as_str(), t.attempt), i);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &tests[i]).collect()
}

/// Wall-clock now in Unix milliseconds (the store's only clock read: the
/// time a migration was applied).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_results::Outcome;

    fn result(id: &str, attempt: u32, outcome: Outcome) -> TestResult {
        TestResult {
            id: id.into(),
            classname: String::new(),
            name: id.into(),
            outcome,
            duration: 0.1,
            message: None,
            stdout: None,
            stderr: None,
            attempt,
        }
    }

    #[test]
    fn duplicate_attempts_keep_the_last() {
        let tests = [
            result("a", 1, Outcome::Failed),
            result("b", 1, Outcome::Passed),
            result("a", 1, Outcome::Passed),
            result("a", 2, Outcome::Passed),
        ];
        let kept: Vec<_> = dedupe_attempts(&tests)
            .iter()
            .map(|t| (t.id.as_str(), t.attempt, t.outcome))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("b", 1, Outcome::Passed),
                ("a", 1, Outcome::Passed),
                ("a", 2, Outcome::Passed)
            ]
        );
    }
}

/// `location` fit for messages: the password of a `postgres://` URL, in its
/// user part or its query string (`?password=...`), is hidden.
pub fn display_location(location: &str) -> String {
    let Some(scheme_end) = location.find("://") else {
        return location.to_string();
    };
    let (scheme, rest) = location.split_at(scheme_end + 3);
    let (authority_and_path, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority_end = authority_and_path
        .find('/')
        .unwrap_or(authority_and_path.len());
    let (authority, path) = authority_and_path.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            format!("{user}:…@{host}")
        }
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}{authority}{path}");
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                    format!("{key}=…")
                }
                _ => param.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[cfg(test)]
mod location_tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_user_info_and_query() {
        assert_eq!(
            display_location(
                "postgres://u:hunter2@db:5432/x?password=s3cret&sslmode=disable&sslpassword=p"
            ),
            "postgres://u:…@db:5432/x?password=…&sslmode=disable&sslpassword=…"
        );
        assert_eq!(
            display_location("postgres://db/x?user=u"),
            "postgres://db/x?user=u"
        );
        assert_eq!(
            display_location(".tollgate/history.db"),
            ".tollgate/history.db"
        );
    }
}

/// The run key every shard of one CI run shares, whichever command records
/// it (`tollgate run` or `tollgate ingest`): `TOLLGATE_RUN_KEY` as given,
/// else `gitlab-<CI_PIPELINE_ID>`, else `github-<GITHUB_RUN_ID>-<attempt>`;
/// `None` outside CI. `env` looks a variable up (empty counts as unset).
pub fn ci_run_key(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let get = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(key) = get("TOLLGATE_RUN_KEY") {
        return Some(key);
    }
    if let Some(id) = get("CI_PIPELINE_ID") {
        return Some(format!("gitlab-{id}"));
    }
    let id = get("GITHUB_RUN_ID")?;
    let attempt = get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
    Some(format!("github-{id}-{attempt}"))
}

#[cfg(test)]
mod run_key_tests {
    use super::*;

    #[test]
    fn one_ci_run_has_one_key() {
        let key = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ci_run_key(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        };
        assert_eq!(
            key(&[("CI_PIPELINE_ID", "777123")]).as_deref(),
            Some("gitlab-777123")
        );
        assert_eq!(
            key(&[("GITHUB_RUN_ID", "9"), ("GITHUB_RUN_ATTEMPT", "2")]).as_deref(),
            Some("github-9-2")
        );
        assert_eq!(
            key(&[("TOLLGATE_RUN_KEY", "k"), ("CI_PIPELINE_ID", "1")]).as_deref(),
            Some("k")
        );
        assert_eq!(key(&[("CI_PIPELINE_ID", "")]), None);
    }
}
