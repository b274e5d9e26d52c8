//! The read-only queries behind `tollgate report`, `serve` and `metrics`,
//! on both backends.

mod common;

use common::{failed, ingest_tests, passed, result, run_meta, Location};
use tollgate_results::Outcome;
use tollgate_store::Verdict;

fn per_test_rows_fold_attempts_per_job(loc: &Location) {
    let mut store = loc.open();
    let run = run_meta("r1", "c1", "main", "pr", 1_000);
    ingest_tests(
        &mut store,
        &run,
        "unit",
        &[
            passed("a", 0.5),
            failed("b", 0.25),
            result("b", 2, Outcome::Failed, 0.25),
            failed("c", 1.0),
            result("c", 2, Outcome::Passed, 2.0),
            result("s", 1, Outcome::Skipped, 0.0),
        ],
    );
    ingest_tests(&mut store, &run, "e2e", &[passed("a", 3.0)]);
    let info = store.run("r1").unwrap().unwrap();
    let jobs = store.run_jobs("r1").unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["e2e", "unit"],
        "{}",
        loc.name()
    );
    assert_eq!(jobs[1].peak_rss_kb, Some(51200));
    assert_eq!(jobs[1].first_attempts, 4);
    assert_eq!(jobs[1].first_failures, 2);
    let rows = store.run_test_rows(&info, &jobs).unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.test).collect();
    let names = store.test_names(&ids).unwrap();
    let mut seen: Vec<(String, String, u32, u32, u32, bool, f64)> = rows
        .iter()
        .map(|r| {
            (
                names[&r.test].clone(),
                jobs[r.job].name.clone(),
                r.attempts,
                r.passed,
                r.failed,
                r.last_failed,
                r.duration_s,
            )
        })
        .collect();
    seen.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        seen,
        vec![
            ("a".into(), "e2e".into(), 1, 1, 0, false, 3.0),
            ("a".into(), "unit".into(), 1, 1, 0, false, 0.5),
            ("b".into(), "unit".into(), 2, 0, 2, true, 0.5),
            ("c".into(), "unit".into(), 2, 1, 1, false, 3.0),
            ("s".into(), "unit".into(), 1, 0, 0, false, 0.0),
        ],
        "{}",
        loc.name()
    );
    let mut summary = store.run_test_summary(info.id).unwrap();
    summary.sort_by_key(|(id, _, _)| names[id].clone());
    let states: Vec<(String, char)> = summary
        .iter()
        .map(|(id, s, _)| (names[id].clone(), char::from(*s)))
        .collect();
    assert_eq!(
        states,
        vec![
            ("a".into(), 'P'),
            ("b".into(), 'F'),
            ("c".into(), 'K'),
            ("s".into(), 'S')
        ],
        "{}",
        loc.name()
    );
    // Every attempt of the tests that failed at least once, with messages.
    let attempts = store.run_failed_attempts("r1").unwrap();
    let got: Vec<(String, u32, String, Option<String>)> = attempts
        .iter()
        .map(|a| {
            (
                a.test_id.clone(),
                a.attempt,
                a.outcome.clone(),
                a.message.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("b".into(), 1, "failed".into(), Some("b failed".into())),
            ("b".into(), 2, "failed".into(), Some("b failed".into())),
            ("c".into(), 1, "failed".into(), Some("c failed".into())),
            ("c".into(), 2, "passed".into(), None),
        ],
        "{}",
        loc.name()
    );
}

fn verdicts_pipelines_and_the_stamp(loc: &Location) {
    let mut store = loc.open();
    let r1 = run_meta("r1", "c1", "main", "pr", 1_000);
    let r2 = run_meta("r2", "c2", "main", "nightly", 2_000);
    ingest_tests(&mut store, &r1, "unit", &[passed("a", 0.1)]);
    let before = store.stamp().unwrap();
    // A test failing now where it passed changes the stamp too.
    ingest_tests(&mut store, &r1, "unit", &[failed("a", 0.1)]);
    let refailed = store.stamp().unwrap();
    assert_ne!(
        before,
        refailed,
        "{}: a changed outcome changes the stamp",
        loc.name()
    );
    let before = refailed;
    ingest_tests(&mut store, &r2, "unit", &[passed("a", 0.1)]);
    let after = store.stamp().unwrap();
    assert_ne!(before, after, "{}: an ingest changes the stamp", loc.name());
    store.finish_run("r2", 3_000, true).unwrap();
    let finished = store.stamp().unwrap();
    assert_ne!(
        after,
        finished,
        "{}: finishing a run changes it",
        loc.name()
    );
    let verdict = |status: &str| Verdict {
        check: "critical".into(),
        status: status.into(),
        measured: Some(1.0),
        threshold: None,
        detail: "x".into(),
    };
    store
        .record_verdicts("r2", &[verdict("block")], 10)
        .unwrap();
    store.record_verdicts("r2", &[verdict("pass")], 20).unwrap();
    assert_ne!(finished, store.stamp().unwrap(), "{}", loc.name());
    let v = store.run_verdicts("r2").unwrap();
    assert_eq!(v.len(), 1, "{}: the last recording wins", loc.name());
    assert_eq!(v[0].status, "pass");
    assert_eq!(v[0].measured, Some(1.0));
    assert_eq!(v[0].threshold, None);
    assert_eq!(store.pipelines().unwrap(), ["nightly", "pr"]);
    assert_eq!(
        store.run_counts_by_pipeline().unwrap(),
        vec![("nightly".to_string(), 1), ("pr".to_string(), 1)]
    );
    // Unknown runs are errors, not empty answers.
    assert!(store.run_jobs("nope").is_err());
    assert!(store.run_verdicts("nope").is_err());
}

/// Runs raw SQL on a test store (to take its rollups away).
fn raw(loc: &Location, sql: &str) {
    match loc {
        Location::Sqlite { path, .. } => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch(sql).unwrap();
        }
        Location::Postgres { url, .. } => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client.batch_execute(sql).unwrap();
        }
    }
}

/// Every run's per-job rows and per-test summary, from the rollups and from
/// the raw attempts; the summaries with f64 bits, so "the same" is exact.
type Answers = Vec<(
    String,
    Vec<(i64, usize, u32, u32, u32, u32, bool, u64)>,
    Vec<(i64, u8, u64)>,
)>;

fn answers(store: &mut tollgate_store::Store, from_attempts: bool) -> Answers {
    let mut runs = store.recent_runs(None, 100).unwrap();
    runs.sort_by(|a, b| a.run_key.cmp(&b.run_key));
    runs.into_iter()
        .map(|run| {
            let jobs = store.run_jobs(&run.run_key).unwrap();
            let (rows, summary) = if from_attempts {
                (
                    store.run_test_rows_from_attempts(&run, &jobs).unwrap(),
                    store.run_test_summary_from_attempts(run.id).unwrap(),
                )
            } else {
                (
                    store.run_test_rows(&run, &jobs).unwrap(),
                    store.run_test_summary(run.id).unwrap(),
                )
            };
            let rows = rows
                .iter()
                .map(|r| {
                    (
                        r.test,
                        r.job,
                        r.attempts,
                        r.passed,
                        r.failed,
                        r.skipped,
                        r.last_failed,
                        r.duration_s.to_bits(),
                    )
                })
                .collect();
            let summary = summary
                .iter()
                .map(|&(t, s, secs)| (t, s, secs.to_bits()))
                .collect();
            (run.run_key, rows, summary)
        })
        .collect()
}

/// The rollups written at ingest answer as the raw attempts do, bit for
/// bit: for a job ingested in several batches, a batch sent twice, a
/// re-ingest that changes outcomes, retries whose seconds do not add up
/// exactly in another order, a test in several jobs; after their removal
/// (reports read the attempts) and rebuild; and after a prune, which keeps
/// them while the attempts go.
fn rollups_answer_as_the_attempts_do(loc: &Location) {
    let mut store = loc.open();
    let r1 = run_meta("r1", "c1", "main", "pr", 1_000);
    let r2 = run_meta("r2", "c2", "main", "pr", 100_000_000);
    let shard_a = [
        passed("a", 0.1),
        failed("b", 0.2),
        result("b", 2, Outcome::Error, 0.3),
        result("b", 3, Outcome::Passed, 0.7),
        result("s", 1, Outcome::Skipped, 0.0),
    ];
    let shard_b = [passed("c", 1e-9), failed("d", 3.0)];
    // One job in two batches, the first sent twice.
    ingest_tests(&mut store, &r1, "unit", &shard_a);
    ingest_tests(&mut store, &r1, "unit", &shard_b);
    ingest_tests(&mut store, &r1, "unit", &shard_a);
    // A test in two jobs; a re-ingest that turns a pass into a failure.
    ingest_tests(
        &mut store,
        &r1,
        "e2e",
        &[passed("a", 0.2), passed("e", 1.0)],
    );
    ingest_tests(&mut store, &r1, "e2e", &[failed("e", 1.5)]);
    ingest_tests(
        &mut store,
        &r2,
        "unit",
        &[passed("a", 0.3), passed("b", 0.1)],
    );
    let from_attempts = answers(&mut store, true);
    assert_eq!(answers(&mut store, false), from_attempts, "{}", loc.name());

    // What the rollups must say (so the comparison above is not vacuous).
    let info = store.run("r1").unwrap().unwrap();
    let ids: Vec<i64> = store
        .run_test_summary(info.id)
        .unwrap()
        .iter()
        .map(|x| x.0)
        .collect();
    let names = store.test_names(&ids).unwrap();
    let mut states: Vec<(String, char, f64)> = store
        .run_test_summary(info.id)
        .unwrap()
        .iter()
        .map(|&(id, s, secs)| (names[&id].clone(), char::from(s), secs))
        .collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    let b_secs = 0.2 + 0.3 + 0.7;
    assert_eq!(
        states,
        vec![
            ("a".into(), 'P', 0.1 + 0.2),
            ("b".into(), 'K', b_secs),
            ("c".into(), 'P', 1e-9),
            ("d".into(), 'F', 3.0),
            ("e".into(), 'F', 1.5),
            ("s".into(), 'S', 0.0),
        ],
        "{}",
        loc.name()
    );

    // Without rollups, reports read the attempts; `build_missing_rollups`
    // builds them back, once.
    raw(loc, "DELETE FROM job_rollups");
    assert_eq!(answers(&mut store, false), from_attempts, "{}", loc.name());
    assert_eq!(store.build_missing_rollups().unwrap(), 3, "{}", loc.name());
    assert_eq!(store.build_missing_rollups().unwrap(), 0, "{}", loc.name());
    assert_eq!(answers(&mut store, false), from_attempts, "{}", loc.name());

    // A prune drops r1's attempts and keeps its rollups.
    let pruned = store.prune(50_000_000).unwrap();
    assert_eq!(pruned.runs, 1, "{}", loc.name());
    assert!(store
        .run_test_summary_from_attempts(info.id)
        .unwrap()
        .is_empty());
    assert_eq!(
        answers(&mut store, false),
        from_attempts,
        "{}: after prune",
        loc.name()
    );
    // A pruned test's id is not handed to a new test: its history stays its own.
    ingest_tests(&mut store, &r2, "unit", &[passed("new", 0.5)]);
    let r2_id = store.run("r2").unwrap().unwrap().id;
    let new_id = store
        .run_test_summary(r2_id)
        .unwrap()
        .iter()
        .map(|x| x.0)
        .max()
        .unwrap();
    assert!(!ids.contains(&new_id), "{}: id {new_id} reused", loc.name());
}

/// Every test above on a fresh SQLite file.
mod sqlite {
    #[test]
    fn per_test_rows_fold_attempts_per_job() {
        super::per_test_rows_fold_attempts_per_job(&crate::common::sqlite());
    }

    #[test]
    fn verdicts_pipelines_and_the_stamp() {
        super::verdicts_pipelines_and_the_stamp(&crate::common::sqlite());
    }

    #[test]
    fn rollups_answer_as_the_attempts_do() {
        super::rollups_answer_as_the_attempts_do(&crate::common::sqlite());
    }
}

/// Every test above on a fresh PostgreSQL schema. Ignored by default so that a
/// machine without the server reports them skipped, not passed; `scripts/test.sh`
/// runs them (`--run-ignored all`) when the server answers or `CI` is set, and
/// then an unreachable server fails them.
mod postgres {
    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn per_test_rows_fold_attempts_per_job() {
        super::per_test_rows_fold_attempts_per_job(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn verdicts_pipelines_and_the_stamp() {
        super::verdicts_pipelines_and_the_stamp(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn rollups_answer_as_the_attempts_do() {
        super::rollups_answer_as_the_attempts_do(&crate::common::postgres());
    }
}
