//! Alert de-duplication state and triage queries, on every backend.

mod common;

use common::{ingest_tests, locations, result, run_meta};
use tollgate_results::Outcome;
use tollgate_store::AlertRow;

#[test]
fn eight_concurrent_claims_have_one_winner() {
    for loc in locations() {
        // Migrate first so the threads race on the claim, not on the schema.
        drop(loc.open());
        let url = loc.url();
        let winners: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let url = url.clone();
                    s.spawn(move || {
                        let mut store = tollgate_store::Store::open(&url).expect("open");
                        usize::from(
                            store
                                .notify_claim("webhook", "ci-1", "firing:Rudy", 1)
                                .expect("claim"),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        assert_eq!(winners, 1, "{}", loc.name());
        let mut store = loc.open();
        // Another run, or another claim, is free; a released claim can be taken again.
        assert!(store
            .notify_claim("webhook", "ci-2", "firing:Rudy", 2)
            .unwrap());
        assert!(!store
            .notify_claim("webhook", "ci-1", "firing:Rudy", 3)
            .unwrap());
        store
            .notify_release("webhook", "ci-1", "firing:Rudy")
            .unwrap();
        assert!(store
            .notify_claim("webhook", "ci-1", "firing:Rudy", 4)
            .unwrap());
    }
}

#[test]
fn alert_rows_round_trip_and_keep_the_first_run_and_issue() {
    for loc in locations() {
        let mut store = loc.open();
        let mut row = AlertRow {
            channel: "github".into(),
            alert: "fp1".into(),
            owner: "Rudy".into(),
            pipeline: "nightly".into(),
            branch: "main".into(),
            status: "firing".into(),
            first_run_key: "r1".into(),
            last_run_key: "r1".into(),
            last_sent_at_ms: 10,
            summary: "KeyError".into(),
            issue_number: Some(7),
            reopened: false,
        };
        store.notify_record(&row).unwrap();
        row.first_run_key = "r2".into();
        row.last_run_key = "r2".into();
        row.issue_number = None;
        row.reopened = true;
        row.last_sent_at_ms = 20;
        store.notify_record(&row).unwrap();
        let rows = store.notify_alerts("github").unwrap();
        assert_eq!(rows.len(), 1, "{}", loc.name());
        let got = &rows[0];
        assert_eq!(
            (
                got.first_run_key.as_str(),
                got.last_run_key.as_str(),
                got.issue_number,
                got.reopened,
                got.last_sent_at_ms
            ),
            ("r1", "r2", Some(7), true, 20),
            "{}",
            loc.name()
        );
        assert!(store.notify_alerts("webhook").unwrap().is_empty());
    }
}

#[test]
fn failed_attempts_keep_the_first_and_know_retries() {
    for loc in locations() {
        let mut store = loc.open();
        let run = run_meta("ci-9", "abc", "main", "nightly", 1_000);
        ingest_tests(
            &mut store,
            &run,
            "unit",
            &[
                result("t_flaky", 1, Outcome::Failed, 0.1),
                result("t_flaky", 2, Outcome::Passed, 0.1),
                result("t_broken", 1, Outcome::Error, 0.1),
                result("t_broken", 2, Outcome::Failed, 0.1),
                result("t_ok", 1, Outcome::Passed, 0.1),
            ],
        );
        let got = store.failed_attempts("ci-9").unwrap();
        let summary: Vec<(&str, u32, &str, bool)> = got
            .iter()
            .map(|a| {
                (
                    a.test_id.as_str(),
                    a.attempt,
                    a.outcome.as_str(),
                    a.passed_later,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("t_broken", 1, "error", false),
                ("t_flaky", 1, "failed", true)
            ],
            "{}",
            loc.name()
        );
        assert_eq!(got[1].message, "t_flaky failed");
        let earlier = run_meta("ci-8", "abb", "main", "nightly", 500);
        ingest_tests(
            &mut store,
            &earlier,
            "unit",
            &[result("t_ok", 1, Outcome::Passed, 0.1)],
        );
        let other = run_meta("ci-7", "abb", "feature", "nightly", 400);
        ingest_tests(
            &mut store,
            &other,
            "unit",
            &[result("t_ok", 1, Outcome::Passed, 0.1)],
        );
        let this = store.run("ci-9").unwrap().unwrap();
        let before: Vec<String> = store
            .runs_before(&this, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.run_key)
            .collect();
        assert_eq!(before, ["ci-8"], "{}", loc.name());
    }
}
