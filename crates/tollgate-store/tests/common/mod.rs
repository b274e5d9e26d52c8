//! Backends for the shared test suite: a fresh SQLite file and a fresh
//! PostgreSQL schema (`tg_test_<random>`, dropped afterwards) per test.
//!
//! PostgreSQL is `TOLLGATE_TEST_PG` or `postgres://postgres@127.0.0.1:5432/test`.
//! PostgreSQL tests are separate `#[ignore]`d functions, so a machine without
//! the server reports them skipped; `scripts/test.sh` runs them when the
//! server answers or `CI` is set, and then an unreachable server fails them.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use tollgate_results::{BenchSample, Outcome, TestResult};
use tollgate_store::{Batch, JobMeta, RunMeta, Store};

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn pg_base_url() -> String {
    std::env::var("TOLLGATE_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

/// Where a test's store lives; dropping it removes the SQLite directory or
/// the PostgreSQL schema.
pub enum Location {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        schema: String,
        url: String,
    },
}

impl Location {
    /// What to pass to `Store::open` (also from child processes).
    pub fn url(&self) -> String {
        match self {
            Location::Sqlite { path, .. } => path.display().to_string(),
            Location::Postgres { url, .. } => url.clone(),
        }
    }

    pub fn open(&self) -> Store {
        Store::open(&self.url()).unwrap_or_else(|e| panic!("open {}: {e}", self.url()))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Location::Sqlite { .. } => "sqlite",
            Location::Postgres { .. } => "postgres",
        }
    }
}

impl Drop for Location {
    fn drop(&mut self) {
        if let Location::Postgres { schema, .. } = self {
            if let Ok(mut client) = postgres::Client::connect(&pg_base_url(), postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// A fresh SQLite store in a temporary directory.
pub fn sqlite() -> Location {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".tollgate/history.db");
    Location::Sqlite { _dir: dir, path }
}

/// A fresh schema on the PostgreSQL server. An unreachable server fails the
/// test: PostgreSQL tests are `#[ignore]`d, so they run only when asked for
/// (`scripts/test.sh` asks when the server answers or `CI` is set).
pub fn postgres() -> Location {
    try_postgres().unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {} is unreachable: {e}\n(the PostgreSQL tests need it; \
             set TOLLGATE_TEST_PG to another server, or run without --run-ignored)",
            pg_base_url()
        )
    })
}

fn try_postgres() -> Result<Location, postgres::Error> {
    let mut client = postgres::Client::connect(&pg_base_url(), postgres::NoTls)?;
    let schema = format!("tg_test_{}", unique_suffix());
    client.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
    let sep = if pg_base_url().contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!("{}{sep}options=-csearch_path%3D{schema}", pg_base_url());
    Ok(Location::Postgres { schema, url })
}

/// Every backend, for tests written as one loop over both: SQLite, and
/// PostgreSQL when it answers. Prefer one test function per backend
/// ([`sqlite`], [`postgres`] under `#[ignore]`): when the server is missing,
/// a loop can only fail (with `CI` set) or quietly test SQLite alone, where a
/// separate PostgreSQL test is reported skipped.
pub fn locations() -> Vec<Location> {
    let mut out = vec![sqlite()];
    match try_postgres() {
        Ok(pg) => out.push(pg),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "PostgreSQL at {} is unreachable and CI is set: {e}",
                    pg_base_url()
                );
            }
            eprintln!(
                "\n!!!!!!!! NOTE: PostgreSQL at {} is unreachable ({e}); running on \
                 SQLite ONLY. Set CI=1 to make this a failure. !!!!!!!!\n",
                pg_base_url()
            );
        }
    }
    out
}

pub fn run_meta(
    run_key: &str,
    commit: &str,
    branch: &str,
    pipeline: &str,
    started_at_ms: i64,
) -> RunMeta {
    RunMeta {
        run_key: run_key.into(),
        commit: commit.into(),
        branch: branch.into(),
        pipeline: pipeline.into(),
        variables: [("RUN_VLLM".to_string(), "1".to_string())]
            .into_iter()
            .collect(),
        runner: "runner-1".into(),
        started_at_ms,
    }
}

pub fn job(name: &str) -> JobMeta {
    JobMeta {
        name: name.into(),
        status: "passed".into(),
        wall_ms: Some(1200),
        cpu_ms: Some(900),
        peak_rss_kb: Some(51200),
    }
}

pub fn result(id: &str, attempt: u32, outcome: Outcome, duration: f64) -> TestResult {
    TestResult {
        id: id.into(),
        classname: String::new(),
        name: id.into(),
        outcome,
        duration,
        message: outcome.is_failure().then(|| format!("{id} failed")),
        stdout: None,
        stderr: None,
        attempt,
    }
}

/// The first attempt of `id`, passed in `secs`.
pub fn passed(id: &str, secs: f64) -> TestResult {
    result(id, 1, Outcome::Passed, secs)
}

/// The first attempt of `id`, failed in `secs`.
pub fn failed(id: &str, secs: f64) -> TestResult {
    result(id, 1, Outcome::Failed, secs)
}

/// A batch of `run`'s job `job` that carries nothing: a test fills in what
/// it ingests with struct update syntax,
/// `Batch { tests: &tests, ..empty_batch(&run, &job) }`.
pub fn empty_batch<'a>(run: &'a RunMeta, job: &'a JobMeta) -> Batch<'a> {
    Batch {
        run,
        job,
        tests: &[],
        coverage: &[],
        bench: &[],
    }
}

/// Ingests tests only.
pub fn ingest_tests(store: &mut Store, run: &RunMeta, job_name: &str, tests: &[TestResult]) {
    store
        .ingest(&Batch {
            tests,
            ..empty_batch(run, &job(job_name))
        })
        .unwrap_or_else(|e| panic!("ingest into {}: {e}", store.backend()));
}

/// Ingests benchmark samples only.
pub fn ingest_bench(store: &mut Store, run: &RunMeta, job_name: &str, samples: &[BenchSample]) {
    store
        .ingest(&Batch {
            bench: samples,
            ..empty_batch(run, &job(job_name))
        })
        .unwrap_or_else(|e| panic!("ingest into {}: {e}", store.backend()));
}

/// Runs this test binary again as a child process executing only `test`,
/// with `envs` set (the child recognises its role from them).
pub fn spawn_self(test: &str, envs: &[(&str, String)]) -> std::process::Child {
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = std::process::Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped());
    cmd.spawn().expect("spawn child test process")
}
