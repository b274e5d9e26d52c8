//! The read-only queries behind `tollgate report`, `serve` and `metrics`,
//! on both backends.

mod common;

use common::{failed, ingest_tests, locations, passed, result, run_meta};
use tollgate_results::Outcome;
use tollgate_store::Verdict;

#[test]
fn per_test_rows_fold_attempts_per_job() {
    for loc in locations() {
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
}

#[test]
fn verdicts_pipelines_and_the_stamp() {
    for loc in locations() {
        let mut store = loc.open();
        let r1 = run_meta("r1", "c1", "main", "pr", 1_000);
        let r2 = run_meta("r2", "c2", "main", "nightly", 2_000);
        ingest_tests(&mut store, &r1, "unit", &[passed("a", 0.1)]);
        let before = store.stamp().unwrap();
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
}
