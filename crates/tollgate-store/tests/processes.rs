//! Many processes, and killed processes, on every backend.
//!
//! The writers are this test binary re-executed (see `common::spawn_self`):
//! a child runs only `child_entry`, which acts on `TG_STORE_CHILD_*` and is
//! a no-op in a normal test run.

mod common;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use common::{job, result, run_meta, spawn_self, Location};
use tollgate_results::{FileCoverage, Outcome};
use tollgate_store::{Batch, CoverageEntry, Store};

const SHARDS: usize = 8;
const TESTS_PER_SHARD: usize = 2_000;
/// The many-process variant: more processes, less data each.
const MANY_SHARDS: usize = 32;
const MANY_TESTS_PER_SHARD: usize = 250;
const BATCHES_PER_SHARD: usize = 5;
const CRASH_BATCH: usize = 60_000;

#[test]
fn child_entry() {
    let Ok(role) = std::env::var("TG_STORE_CHILD_ROLE") else {
        return; // a normal test run: nothing to do
    };
    let url = std::env::var("TG_STORE_CHILD_URL").expect("TG_STORE_CHILD_URL");
    let mut store = Store::open(&url).unwrap_or_else(|e| panic!("child open: {e}"));
    match role.as_str() {
        "shard" => {
            let shard: usize = std::env::var("TG_STORE_CHILD_SHARD")
                .unwrap()
                .parse()
                .unwrap();
            let tests: usize = std::env::var("TG_STORE_CHILD_TESTS")
                .unwrap()
                .parse()
                .unwrap();
            write_shard(&mut store, shard, tests);
        }
        "crash" => loop_big_ingests(&mut store),
        "writer" => {
            let writer: usize = std::env::var("TG_STORE_CHILD_SHARD")
                .unwrap()
                .parse()
                .unwrap();
            write_overlapping(&mut store, writer);
        }
        other => panic!("unknown child role {other}"),
    }
}

/// One CI shard: its own job, its own tests, in several batches, plus
/// coverage of a file every shard touches (lines `shard` and `100 + shard`).
fn write_shard(store: &mut Store, shard: usize, tests_per_shard: usize) {
    let run = run_meta(
        "pipeline-7",
        "c0ffee",
        "main",
        "pre_merge",
        1_000 + shard as i64,
    );
    let job = job(&format!("unit_{shard}"));
    let per_batch = tests_per_shard / BATCHES_PER_SHARD;
    for b in 0..BATCHES_PER_SHARD {
        let tests: Vec<_> = (0..per_batch)
            .map(|i| {
                result(
                    &format!("tests/shard{shard}/test_{b}.py::test_{i}"),
                    1,
                    Outcome::Passed,
                    0.01,
                )
            })
            .collect();
        let coverage = [CoverageEntry {
            file: FileCoverage::from_line_hits(
                "src/shared.rs".into(),
                [(shard as u32 + 1, 1), (100 + shard as u32, 0)],
            ),
            component: Some("core".into()),
        }];
        store
            .ingest(&Batch {
                run: &run,
                job: &job,
                tests: &tests,
                coverage: &coverage,
                bench: &[],
            })
            .unwrap_or_else(|e| panic!("shard {shard} batch {b}: {e}"));
    }
}

/// The sixteen-writer workload: every writer records its shard (its own job)
/// of the same [`WRITER_RUNS`] runs, in the same order, so all of them
/// contend for each run's row at once; a writer's tests overlap the next
/// writer's by half (test names are interned concurrently, in different
/// batches); every tenth test fails its first attempt and passes the retry;
/// and the last run's batch is sent twice (a re-upload replaces, it does
/// not add).
const WRITERS: usize = 16;
const WRITER_RUNS: usize = 4;
const WRITER_TESTS: usize = 2_000;

fn overlapping_tests(writer: usize) -> Vec<tollgate_results::TestResult> {
    let mut tests = Vec::new();
    for j in 0..WRITER_TESTS {
        let id = format!(
            "tests/test_{:03}.py::test_{}",
            (writer * WRITER_TESTS / 2 + j) % 500,
            writer * WRITER_TESTS / 2 + j
        );
        if j % 10 == 0 {
            tests.push(result(&id, 1, Outcome::Failed, 0.02));
            tests.push(result(&id, 2, Outcome::Passed, 0.01));
        } else {
            tests.push(result(&id, 1, Outcome::Passed, 0.01));
        }
    }
    tests
}

/// Attempts each writer's batch holds.
fn attempts_per_writer_batch() -> usize {
    WRITER_TESTS + WRITER_TESTS / 10
}

fn write_overlapping(store: &mut Store, writer: usize) {
    let tests = overlapping_tests(writer);
    let job = job(&format!("shard_{writer:02}"));
    for k in 0..WRITER_RUNS {
        let run = run_meta(
            &format!("writers-{k}"),
            "c0ffee",
            "main",
            "pre_merge",
            1_000 + k as i64,
        );
        let sends = if k + 1 == WRITER_RUNS { 2 } else { 1 };
        for _ in 0..sends {
            store
                .ingest(&Batch {
                    run: &run,
                    job: &job,
                    tests: &tests,
                    coverage: &[],
                    bench: &[],
                })
                .unwrap_or_else(|e| panic!("writer {writer} run {k}: {e}"));
        }
    }
}

/// Sixteen writer processes on one (migrated) store: each must succeed (no
/// deadlock or serialization error surfaces), within `deadline`, and every
/// row is there once. Prints the wall time of the writers.
fn sixteen_processes_write_overlapping_runs(loc: &Location) {
    drop(loc.open());
    let deadline = Duration::from_secs(300);
    let started = Instant::now();
    let mut children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            spawn_self(
                "child_entry",
                &[
                    ("TG_STORE_CHILD_ROLE", "writer".into()),
                    ("TG_STORE_CHILD_URL", loc.url()),
                    ("TG_STORE_CHILD_SHARD", writer.to_string()),
                ],
            )
        })
        .collect();
    let mut failed = Vec::new();
    let mut done = [false; WRITERS];
    while done.iter().any(|d| !d) {
        for (writer, child) in children.iter_mut().enumerate() {
            if done[writer] {
                continue;
            }
            if let Some(status) = child.try_wait().unwrap() {
                done[writer] = true;
                if !status.success() {
                    failed.push(format!("writer {writer}: {status}"));
                }
            }
        }
        if started.elapsed() > deadline {
            for child in &mut children {
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!(
                "{}: {WRITERS} writers still running after {deadline:?}",
                loc.name()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    assert!(
        failed.is_empty(),
        "{}: writers failed: {failed:?}",
        loc.name()
    );
    let mut store = loc.open();
    let mut rows = 0;
    for k in 0..WRITER_RUNS {
        let counts = store.run_counts(&format!("writers-{k}")).unwrap();
        assert_eq!(counts.jobs, WRITERS as u64, "{} run {k}", loc.name());
        assert_eq!(
            counts.attempts,
            (WRITERS * attempts_per_writer_batch()) as u64,
            "{} run {k}: lost or duplicated rows",
            loc.name()
        );
        rows += counts.attempts;
    }
    let distinct: std::collections::BTreeSet<String> = (0..WRITERS)
        .flat_map(overlapping_tests)
        .map(|t| t.id)
        .collect();
    let stats = store.stats().unwrap();
    assert_eq!(
        stats.tests,
        distinct.len() as u64,
        "{}: interned once",
        loc.name()
    );
    println!(
        "{}: {WRITERS} writer processes, {rows} of {} attempts stored, {:.2} s",
        loc.name(),
        WRITERS * WRITER_RUNS * attempts_per_writer_batch(),
        elapsed.as_secs_f64()
    );
}

/// Ingests big batches forever, each into its own run, until killed.
fn loop_big_ingests(store: &mut Store) {
    for k in 0.. {
        let run = run_meta(&format!("crash-{k}"), "c", "main", "p", k);
        let tests: Vec<_> = (0..CRASH_BATCH)
            .map(|i| {
                result(
                    &format!("tests/test_{}.py::test_{i}", i % 97),
                    1,
                    Outcome::Passed,
                    0.01,
                )
            })
            .collect();
        println!("begin {k}");
        store
            .ingest(&Batch {
                run: &run,
                job: &job("unit"),
                tests: &tests,
                coverage: &[],
                bench: &[],
            })
            .unwrap();
        println!("done {k}");
    }
}

/// Starts `shards` writer processes on `loc` and waits for them all; each
/// must succeed.
fn run_shard_writers(loc: &Location, shards: usize, tests_per_shard: usize) {
    let children: Vec<_> = (0..shards)
        .map(|shard| {
            spawn_self(
                "child_entry",
                &[
                    ("TG_STORE_CHILD_ROLE", "shard".into()),
                    ("TG_STORE_CHILD_URL", loc.url()),
                    ("TG_STORE_CHILD_SHARD", shard.to_string()),
                    ("TG_STORE_CHILD_TESTS", tests_per_shard.to_string()),
                ],
            )
        })
        .collect();
    let mut failed = Vec::new();
    for (shard, mut child) in children.into_iter().enumerate() {
        let status = child.wait().unwrap();
        if !status.success() {
            failed.push(format!("shard {shard}: {status}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{}: shard writers failed: {failed:?}",
        loc.name()
    );
}

/// Every row of every shard is there, in one merged run, and no coverage
/// update was lost.
fn assert_merged(loc: &Location, shards: usize, tests_per_shard: usize) {
    let mut store = loc.open();
    let counts = store.run_counts("pipeline-7").unwrap();
    assert_eq!(counts.jobs, shards as u64, "{}", loc.name());
    assert_eq!(
        counts.attempts,
        (shards * tests_per_shard) as u64,
        "{}",
        loc.name()
    );
    assert_eq!(
        counts.tests,
        (shards * tests_per_shard) as u64,
        "{}",
        loc.name()
    );
    assert_eq!(
        store.recent_runs(None, 10).unwrap().len(),
        1,
        "{}: one merged run",
        loc.name()
    );
    assert_eq!(
        store.run("pipeline-7").unwrap().unwrap().started_at_ms,
        1_000
    );
    let files = store.coverage_files("pipeline-7").unwrap();
    assert_eq!(files.len(), 1);
    let expected_covered: Vec<u32> = (1..=shards as u32).collect();
    let expected_uncovered: Vec<u32> = (100..100 + shards as u32).collect();
    assert_eq!(
        (&files[0].covered_lines, &files[0].uncovered_lines),
        (&expected_covered, &expected_uncovered),
        "{}: no lost coverage update",
        loc.name()
    );
}

fn eight_processes_write_shards_of_one_run(loc: &Location) {
    // Create the schema first so the children race on data, not DDL
    // (migration races are covered by `eight_processes_open_a_fresh_store`).
    drop(loc.open());
    run_shard_writers(loc, SHARDS, TESTS_PER_SHARD);
    assert_merged(loc, SHARDS, TESTS_PER_SHARD);
}

/// Nothing created yet: all the processes race to create and migrate it
/// (eight CI shards starting on a new store).
fn eight_processes_open_a_fresh_store(loc: &Location) {
    run_shard_writers(loc, SHARDS, TESTS_PER_SHARD);
    assert_merged(loc, SHARDS, TESTS_PER_SHARD);
}

fn thirty_two_processes_open_a_fresh_store(loc: &Location) {
    run_shard_writers(loc, MANY_SHARDS, MANY_TESTS_PER_SHARD);
    assert_merged(loc, MANY_SHARDS, MANY_TESTS_PER_SHARD);
}

fn kill_9_mid_ingest_leaves_all_or_nothing(loc: &Location) {
    drop(loc.open());
    let mut killed_mid_ingest = 0;
    for (round, delay_ms) in [150u64, 400, 900].into_iter().enumerate() {
        let mut child = spawn_self(
            "child_entry",
            &[
                ("TG_STORE_CHILD_ROLE", "crash".into()),
                ("TG_STORE_CHILD_URL", loc.url()),
            ],
        );
        // Wait until an ingest has begun, give it `delay_ms`, then SIGKILL.
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let started = Instant::now();
        let mut last = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.starts_with("begin") {
                last = line;
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "child never began"
            );
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Lines printed before the kill tell whether it died inside an ingest.
        for line in lines.map_while(Result::ok) {
            last = line;
        }
        if last.starts_with("begin") {
            killed_mid_ingest += 1;
        }
        let mut store = loc.open();
        for run in store.recent_runs(None, 1000).unwrap() {
            let attempts = store.run_counts(&run.run_key).unwrap().attempts;
            assert_eq!(
                attempts,
                CRASH_BATCH as u64,
                "{} round {round}: run {} is partial",
                loc.name(),
                run.run_key
            );
        }
        if let common::Location::Sqlite { path, .. } = loc {
            let conn = rusqlite::Connection::open(path).unwrap();
            let check: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok");
        }
    }
    assert!(
        killed_mid_ingest > 0,
        "{}: no kill landed inside an ingest; make batches bigger",
        loc.name()
    );
}

mod sqlite {
    use crate::common::sqlite;

    #[test]
    fn eight_processes_write_shards_of_one_run() {
        super::eight_processes_write_shards_of_one_run(&sqlite());
    }

    #[test]
    fn eight_processes_open_a_fresh_store() {
        super::eight_processes_open_a_fresh_store(&sqlite());
    }

    #[test]
    fn thirty_two_processes_open_a_fresh_store() {
        super::thirty_two_processes_open_a_fresh_store(&sqlite());
    }

    #[test]
    fn kill_9_mid_ingest_leaves_all_or_nothing() {
        super::kill_9_mid_ingest_leaves_all_or_nothing(&sqlite());
    }

    #[test]
    fn sixteen_processes_write_overlapping_runs() {
        super::sixteen_processes_write_overlapping_runs(&sqlite());
    }
}

/// Ignored by default so that a machine without the server reports them
/// skipped, not passed; `scripts/test.sh` runs them when the server answers
/// or `CI` is set, and then an unreachable server fails them.
mod postgres {
    use crate::common::postgres;

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn eight_processes_write_shards_of_one_run() {
        super::eight_processes_write_shards_of_one_run(&postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn eight_processes_open_a_fresh_store() {
        super::eight_processes_open_a_fresh_store(&postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn thirty_two_processes_open_a_fresh_store() {
        super::thirty_two_processes_open_a_fresh_store(&postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn kill_9_mid_ingest_leaves_all_or_nothing() {
        super::kill_9_mid_ingest_leaves_all_or_nothing(&postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn sixteen_processes_write_overlapping_runs() {
        super::sixteen_processes_write_overlapping_runs(&postgres());
    }
}
