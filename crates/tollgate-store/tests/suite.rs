//! The store's behaviour, run against every backend: each test is a function
//! of its [`Location`], called from the `sqlite` and `postgres` modules below.

mod common;

use common::{
    empty_batch, failed, ingest_bench, ingest_tests, job, passed, result, run_meta, Location,
};
use tollgate_results::{BenchSample, FileCoverage, Outcome};
use tollgate_store::{
    Batch, CoverageEntry, FlakyQuery, RollupBy, Store, StoreError, Verdict, LATEST_VERSION,
};

fn migrations_apply_once_and_reopen_cleanly(loc: &Location) {
    let mut store = loc.open();
    assert_eq!(
        store.schema_version().unwrap(),
        LATEST_VERSION,
        "{}",
        loc.name()
    );
    drop(store);
    let mut again = loc.open();
    assert_eq!(
        again.schema_version().unwrap(),
        LATEST_VERSION,
        "{}",
        loc.name()
    );
    assert_eq!(again.backend(), loc.name());
}

fn shards_of_one_run_merge_and_reingest_replaces(loc: &Location) {
    let mut store = loc.open();
    let shard1 = run_meta("ci-42", "abc123", "main", "pre_merge", 2_000);
    let mut shard2 = run_meta("ci-42", "", "", "", 1_000);
    shard2.runner = "runner-2".into();
    ingest_tests(
        &mut store,
        &shard1,
        "unit",
        &[passed("a", 0.1), failed("b", 0.2)],
    );
    ingest_tests(&mut store, &shard2, "integration_1", &[passed("c", 1.0)]);
    // The same file uploaded twice (a retried CI step) replaces, not duplicates.
    ingest_tests(
        &mut store,
        &shard1,
        "unit",
        &[passed("a", 0.1), passed("b", 0.2)],
    );

    let run = store.run("ci-42").unwrap().expect("run exists");
    assert_eq!(
        run.commit,
        "abc123",
        "{}: an empty shard field keeps the stored one",
        loc.name()
    );
    assert_eq!(
        (run.branch.as_str(), run.pipeline.as_str()),
        ("main", "pre_merge")
    );
    assert_eq!(
        run.started_at_ms,
        1_000,
        "{}: the earliest shard start wins",
        loc.name()
    );
    assert_eq!(run.variables.get("RUN_VLLM").map(String::as_str), Some("1"));
    assert!(!run.complete);
    let counts = store.run_counts("ci-42").unwrap();
    assert_eq!(
        (counts.jobs, counts.attempts, counts.tests),
        (2, 3, 3),
        "{}",
        loc.name()
    );
    let history = store.test_history("b", 10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].outcome,
        "passed",
        "{}: re-ingest replaced the attempt",
        loc.name()
    );
    assert_eq!(history[0].job, "unit");
    assert_eq!(store.recent_runs(None, 10).unwrap().len(), 1);
}

fn baseline_is_the_latest_complete_run_of_the_pipeline_on_the_branch(loc: &Location) {
    let mut store = loc.open();
    let t = [passed("a", 0.1)];
    for (key, branch, pipeline, started, complete) in [
        ("r1", "main", "pre_merge", 100, true),
        ("r2", "main", "pre_merge", 200, true),
        ("r3", "main", "pre_merge", 300, false), // still running
        ("r4", "feature", "pre_merge", 400, true),
        ("r5", "main", "nightly", 500, true),
    ] {
        ingest_tests(
            &mut store,
            &run_meta(key, "c", branch, pipeline, started),
            "unit",
            &t,
        );
        if complete {
            store.finish_run(key, started + 50, true).unwrap();
        }
    }
    let baseline = store
        .baseline_run("pre_merge", "main")
        .unwrap()
        .expect("baseline");
    assert_eq!(baseline.run_key, "r2", "{}", loc.name());
    assert_eq!(baseline.finished_at_ms, Some(250));
    assert!(baseline.complete);
    assert_eq!(store.baseline_run("post_merge", "main").unwrap(), None);
    assert_eq!(
        store
            .recent_runs(Some("pre_merge"), 2)
            .unwrap()
            .iter()
            .map(|r| r.run_key.as_str())
            .collect::<Vec<_>>(),
        ["r4", "r3"]
    );
    assert!(matches!(
        store.finish_run("nope", 1, true),
        Err(StoreError::UnknownRun(_))
    ));
}

fn flaky_rate_counts_retries_and_same_commit_disagreement_but_not_infra_failures(loc: &Location) {
    use Outcome::Passed;
    let mut store = loc.open();
    let ids = ["a", "b", "c", "d", "e"];
    let all_pass = |except: &[&str]| -> Vec<_> {
        ids.iter()
            .filter(|i| !except.contains(i))
            .map(|i| passed(i, 0.1))
            .collect()
    };
    // Commit c1: `a` passes in r1 and fails in r2; `b` fails then passes on retry in r1.
    let mut r1 = all_pass(&["b"]);
    r1.extend([failed("b", 0.1), result("b", 2, Passed, 0.1)]);
    ingest_tests(
        &mut store,
        &run_meta("r1", "c1", "main", "pre_merge", 100),
        "unit",
        &r1,
    );
    let mut r2 = all_pass(&["a"]);
    r2.push(failed("a", 0.1));
    ingest_tests(
        &mut store,
        &run_meta("r2", "c1", "main", "pre_merge", 200),
        "unit",
        &r2,
    );
    // Commit c2: r3 is an infrastructure failure (4 of 5 failed); r4 passes.
    let mut r3: Vec<_> = ids[..4].iter().map(|i| failed(i, 0.1)).collect();
    r3.push(passed("e", 0.1));
    ingest_tests(
        &mut store,
        &run_meta("r3", "c2", "main", "pre_merge", 300),
        "unit",
        &r3,
    );
    ingest_tests(
        &mut store,
        &run_meta("r4", "c2", "main", "pre_merge", 400),
        "unit",
        &all_pass(&[]),
    );
    // Another pipeline, outside the filter below: `c` flaky there.
    let mut other = all_pass(&["c"]);
    other.extend([failed("c", 0.1), result("c", 2, Passed, 0.1)]);
    ingest_tests(
        &mut store,
        &run_meta("n1", "c3", "main", "nightly", 500),
        "unit",
        &other,
    );

    let report = store
        .flaky_tests(&FlakyQuery {
            pipeline: Some("pre_merge".into()),
            ..FlakyQuery::default()
        })
        .unwrap();
    assert_eq!(
        (report.runs_considered, report.runs_excluded),
        (3, 1),
        "{}",
        loc.name()
    );
    assert_eq!(report.tests_considered, 5);
    let flaky: Vec<_> = report
        .flaky
        .iter()
        .map(|f| (f.test_id.as_str(), f.commits, f.flaky_commits))
        .collect();
    assert_eq!(flaky, vec![("a", 2, 1), ("b", 2, 1)], "{}", loc.name());
    let b = &report.flaky[1];
    assert_eq!(
        (b.attempts, b.failed_attempts),
        (4, 1),
        "{}: r1 twice, r2 and r4 once",
        loc.name()
    );
    assert!((b.flake_rate - 0.5).abs() < 1e-9);
    assert!((report.flaky_rate_percent() - 40.0).abs() < 1e-9);

    // Without the pipeline filter `c` shows up; with a window after r2 only c2/c3 count.
    let everything = store.flaky_tests(&FlakyQuery::default()).unwrap();
    assert_eq!(everything.flaky.len(), 3);
    let recent = store
        .flaky_tests(&FlakyQuery {
            since_ms: 250,
            ..FlakyQuery::default()
        })
        .unwrap();
    assert_eq!(
        recent
            .flaky
            .iter()
            .map(|f| f.test_id.as_str())
            .collect::<Vec<_>>(),
        ["c"],
        "{}",
        loc.name()
    );
    // A stricter infrastructure threshold (more than 15% failed first
    // attempts) also drops r1 and r2 (1 of 5 each): nothing flaky is left.
    let strict = store
        .flaky_tests(&FlakyQuery {
            pipeline: Some("pre_merge".into()),
            infra_failure_ratio: 0.15,
            ..FlakyQuery::default()
        })
        .unwrap();
    assert_eq!(
        (strict.runs_considered, strict.runs_excluded),
        (1, 3),
        "{}",
        loc.name()
    );
    assert!(strict.flaky.is_empty());
}

fn durations_average_passing_attempts(loc: &Location) {
    let mut store = loc.open();
    ingest_tests(
        &mut store,
        &run_meta("r1", "c1", "main", "p", 100),
        "unit",
        &[passed("a", 1.0), failed("b", 9.0)],
    );
    ingest_tests(
        &mut store,
        &run_meta("r2", "c2", "main", "p", 200),
        "unit",
        &[passed("a", 3.0), passed("b", 2.0)],
    );
    let d = store.test_durations(0, i64::MAX, Some("p")).unwrap();
    let got: Vec<_> = d
        .iter()
        .map(|d| (d.test_id.as_str(), d.mean_s, d.samples))
        .collect();
    assert_eq!(got, vec![("a", 2.0, 2), ("b", 2.0, 1)], "{}", loc.name());
    assert!(store
        .test_durations(150, i64::MAX, None)
        .unwrap()
        .iter()
        .all(|d| d.samples == 1));
    // The upper bound: r2 started at 200 and never finished, so it
    // counts by its start; a bound at 200 leaves only r1.
    let before = store.test_durations(0, 200, None).unwrap();
    assert_eq!(
        before
            .iter()
            .map(|d| (d.test_id.as_str(), d.samples))
            .collect::<Vec<_>>(),
        vec![("a", 1)],
        "{}",
        loc.name()
    );
    // Finishing r1 late moves it past a bound that its start was under:
    // at 300 only r2 (started 200, unfinished) counts.
    store.finish_run("r1", 500, true).unwrap();
    let samples = |until: i64, store: &mut tollgate_store::Store| {
        store
            .test_durations(0, until, None)
            .unwrap()
            .iter()
            .map(|d| (d.test_id.clone(), d.samples))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        samples(300, &mut store),
        [("a".to_string(), 1), ("b".to_string(), 1)],
        "{}",
        loc.name()
    );
    assert_eq!(
        samples(501, &mut store),
        [("a".to_string(), 2), ("b".to_string(), 1)],
        "{}",
        loc.name()
    );
}

fn cov(path: &str, covered: &[u32], uncovered: &[u32], component: &str) -> CoverageEntry {
    let hits = covered
        .iter()
        .map(|&l| (l, 1))
        .chain(uncovered.iter().map(|&l| (l, 0)));
    CoverageEntry {
        file: FileCoverage::from_line_hits(path.into(), hits),
        component: Some(component.into()),
    }
}

fn coverage_merges_across_shards_and_rolls_up(loc: &Location) {
    let mut store = loc.open();
    let run = run_meta("r1", "c1", "main", "p", 100);
    let shard_a = [
        cov("src/lib.rs", &[1, 2], &[3, 4], "router"),
        cov("py/planner/a.py", &[1], &[2, 3, 4], "planner"),
    ];
    let shard_b = [cov("src/lib.rs", &[3], &[1, 4], "router")];
    for (job_name, coverage) in [("unit", &shard_a[..]), ("integration", &shard_b[..])] {
        store
            .ingest(&Batch {
                coverage,
                ..empty_batch(&run, &job(job_name))
            })
            .unwrap();
    }
    let files = store.coverage_files("r1").unwrap();
    let lib = files.iter().find(|f| f.path == "src/lib.rs").unwrap();
    assert_eq!(lib.covered_lines, vec![1, 2, 3], "{}", loc.name());
    assert_eq!(lib.uncovered_lines, vec![4], "{}", loc.name());
    assert_eq!(
        (lib.language.as_str(), lib.component.as_str()),
        ("rust", "router")
    );
    let by_lang = store.coverage_rollup("r1", RollupBy::Language).unwrap();
    let got: Vec<_> = by_lang
        .iter()
        .map(|r| (r.key.as_str(), r.files, r.lines_total, r.lines_covered))
        .collect();
    assert_eq!(
        got,
        vec![("python", 1, 4, 1), ("rust", 1, 4, 3)],
        "{}",
        loc.name()
    );
    assert!((by_lang[1].percent() - 75.0).abs() < 1e-9);
    let by_component = store.coverage_rollup("r1", RollupBy::Component).unwrap();
    assert_eq!(
        by_component
            .iter()
            .map(|r| r.key.as_str())
            .collect::<Vec<_>>(),
        ["planner", "router"]
    );
}

fn benchmarks_and_verdicts_are_kept(loc: &Location) {
    let mut store = loc.open();
    for (i, value) in [100.0, 110.0, 90.0].iter().enumerate() {
        let run = run_meta(&format!("r{i}"), "c", "main", "nightly", 100 * i as i64);
        ingest_bench(
            &mut store,
            &run,
            "benchmark",
            &bench("serve", "ttft", &[*value]),
        );
    }
    let points = store
        .bench_history("serve", "ttft", Some("nightly"), 10)
        .unwrap();
    assert_eq!(
        points.iter().map(|p| p.value).collect::<Vec<_>>(),
        [90.0, 110.0, 100.0],
        "{}",
        loc.name()
    );
    assert_eq!(points[0].unit, "ms");
    let verdicts = [
        Verdict {
            check: "coverage_drop".into(),
            status: "block".into(),
            measured: Some(-2.5),
            threshold: Some(-2.0),
            detail: "rust".into(),
        },
        Verdict {
            check: "flaky_rate".into(),
            status: "pass".into(),
            measured: None,
            threshold: None,
            detail: String::new(),
        },
    ];
    store.record_verdicts("r2", &verdicts, 1_000).unwrap();
    assert!(matches!(
        store.record_verdicts("missing", &verdicts, 1),
        Err(StoreError::UnknownRun(_))
    ));
}

fn bad_batches_are_refused_before_writing(loc: &Location) {
    let mut store = loc.open();
    let run = run_meta("", "c", "main", "p", 1);
    let err = store.ingest(&empty_batch(&run, &job("unit"))).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let run = run_meta("r", "c", "main", "p", 1);
    for duration in [f64::NAN, -1.0, f64::INFINITY] {
        let tests = [passed("ok", 0.1), passed("bad", duration)];
        let err = store
            .ingest(&Batch {
                tests: &tests,
                ..empty_batch(&run, &job("unit"))
            })
            .unwrap_err();
        assert!(err.to_string().contains("\"bad\""), "{}: {err}", loc.name());
    }
    let bench = bench("x", "m", &[f64::NAN]);
    assert!(store
        .ingest(&Batch {
            bench: &bench,
            ..empty_batch(&run, &job("unit"))
        })
        .is_err());
    assert_eq!(
        store.run("r").unwrap(),
        None,
        "{}: nothing was written",
        loc.name()
    );
}

/// A failure in the middle of a batch (here: a trigger rejecting the
/// benchmark rows, written after tests and coverage) leaves nothing behind.
fn a_failing_batch_is_rolled_back_entirely(loc: &Location) {
    let mut store = loc.open();
    match &loc {
        common::Location::Sqlite { path, .. } => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("CREATE TRIGGER reject BEFORE INSERT ON bench_samples BEGIN SELECT RAISE(ABORT, 'rejected by test'); END;")
                .unwrap();
        }
        common::Location::Postgres { url, .. } => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client
                .batch_execute(
                    "CREATE FUNCTION reject() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'rejected by test'; END $$ LANGUAGE plpgsql; \
                     CREATE TRIGGER reject BEFORE INSERT ON bench_samples FOR EACH ROW EXECUTE FUNCTION reject();",
                )
                .unwrap();
        }
    }
    let run = run_meta("r", "c", "main", "p", 1);
    let tests: Vec<_> = (0..500).map(|i| passed(&format!("t{i}"), 0.1)).collect();
    let coverage = [cov("src/lib.rs", &[1], &[2], "x")];
    let bench = bench("x", "m", &[1.0]);
    let err = store
        .ingest(&Batch {
            tests: &tests,
            coverage: &coverage,
            bench: &bench,
            ..empty_batch(&run, &job("unit"))
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("rejected by test"),
        "{}: {err}",
        loc.name()
    );
    assert_eq!(store.run("r").unwrap(), None, "{}", loc.name());
    assert!(store.test_history("t1", 10).unwrap().is_empty());
    // The store still works afterwards.
    store
        .ingest(&Batch {
            tests: &tests,
            coverage: &coverage,
            ..empty_batch(&run, &job("unit"))
        })
        .unwrap();
    assert_eq!(store.run_counts("r").unwrap().attempts, 500);
}

fn odd_text_round_trips(loc: &Location) {
    let mut store: Store = loc.open();
    let id = "tests/test_ü.py::test_x[a'b\"c;--DROP TABLE runs]";
    let mut failing = failed(id, 0.5);
    failing.message = Some("nul \0 byte and émoji 🦀".into());
    ingest_tests(
        &mut store,
        &run_meta("r", "c", "main", "p", 1),
        "unit",
        &[failing],
    );
    let history = store.test_history(id, 5).unwrap();
    assert_eq!(history.len(), 1, "{}", loc.name());
    assert_eq!(
        history[0].message.as_deref(),
        Some("nul \u{fffd} byte and émoji 🦀")
    );
}

fn run_failures_are_failed_jobs_and_tests_failing_their_last_attempt(loc: &Location) {
    let mut store = loc.open();
    let run = run_meta("ci-7", "abc", "main", "pr", 1_000);
    ingest_tests(
        &mut store,
        &run,
        "unit",
        &[
            passed("passes", 0.1),
            // Flaky: failed, then passed on retry: not a failure of the run.
            failed("flaky", 0.1),
            result("flaky", 2, Outcome::Passed, 0.1),
            failed("broken", 0.1),
            result("broken", 2, Outcome::Error, 0.1),
        ],
    );
    let mut failed_job = job("e2e_0");
    failed_job.status = "failed".into();
    store
        .ingest(&Batch {
            tests: &[failed("e2e", 1.0)],
            ..empty_batch(&run, &failed_job)
        })
        .unwrap_or_else(|e| panic!("{}: {e}", loc.name()));

    let failures = store.run_failures("ci-7").unwrap();
    assert_eq!(
        failures.failed_jobs,
        [("e2e_0".to_string(), "failed".to_string())],
        "{}",
        loc.name()
    );
    let tests: Vec<(&str, &str)> = failures
        .failed_tests
        .iter()
        .map(|t| (t.job.as_str(), t.test_id.as_str()))
        .collect();
    assert_eq!(
        tests,
        [("e2e_0", "e2e"), ("unit", "broken")],
        "{}",
        loc.name()
    );
    assert!(matches!(
        store.run_failures("no-such-run"),
        Err(tollgate_store::StoreError::UnknownRun(_))
    ));
}

fn bench(name: &str, metric: &str, values: &[f64]) -> Vec<BenchSample> {
    values
        .iter()
        .map(|&value| BenchSample {
            name: name.into(),
            metric: metric.into(),
            value,
            unit: "ms".into(),
        })
        .collect()
}

fn values(samples: &[BenchSample], name: &str, metric: &str) -> Vec<f64> {
    samples
        .iter()
        .filter(|s| s.name == name && s.metric == metric)
        .map(|s| s.value)
        .collect()
}

fn reingesting_a_benchmark_replaces_its_series_in_that_job(loc: &Location) {
    let mut store = loc.open();
    let run = run_meta("b-1", "c1", "feature", "perf", 1_000);
    let first = [
        bench("serve", "ttft", &[10.0, 11.0]),
        bench("serve", "itl", &[2.0]),
    ]
    .concat();
    ingest_bench(&mut store, &run, "bench", &first);
    // The same file again (a retried upload): still three samples.
    ingest_bench(&mut store, &run, "bench", &first);
    assert_eq!(
        store.run_counts("b-1").unwrap().bench_samples,
        3,
        "{}",
        loc.name()
    );
    // A new measurement of one series replaces that series only.
    ingest_bench(
        &mut store,
        &run,
        "bench",
        &bench("serve", "ttft", &[20.0, 21.0, 22.0]),
    );
    let stored = store.run_bench("b-1").unwrap();
    assert_eq!(
        values(&stored, "serve", "ttft"),
        [20.0, 21.0, 22.0],
        "{}",
        loc.name()
    );
    assert_eq!(values(&stored, "serve", "itl"), [2.0], "{}", loc.name());
    // Another job (another shard) adds to the run instead of replacing.
    ingest_bench(
        &mut store,
        &run,
        "bench_2",
        &bench("serve", "ttft", &[30.0]),
    );
    let stored = store.run_bench("b-1").unwrap();
    assert_eq!(
        values(&stored, "serve", "ttft"),
        [20.0, 21.0, 22.0, 30.0],
        "{}",
        loc.name()
    );
    assert_eq!(stored[0].unit, "ms");
    assert_eq!(store.run_counts("b-1").unwrap().bench_samples, 5);
}

fn bench_window_is_recent_runs_of_the_pipeline_on_the_branch_without_the_judged_run(
    loc: &Location,
) {
    let mut store = loc.open();
    let cases: [(&str, &str, &str, i64, f64); 7] = [
        ("old", "main", "perf", 100, 1.0), // before the window
        ("m1", "main", "perf", 1_000, 2.0),
        ("m2", "main", "perf", 2_000, 3.0),
        ("m3", "main", "perf", 3_000, 4.0),
        ("other-branch", "feature", "perf", 3_500, 50.0),
        ("other-pipeline", "main", "nightly", 3_600, 60.0),
        ("judged", "main", "perf", 4_000, 70.0),
    ];
    for (key, branch, pipeline, started, value) in cases {
        let run = run_meta(key, "c", branch, pipeline, started);
        ingest_bench(
            &mut store,
            &run,
            "bench",
            &bench("serve", "ttft", &[value, value + 0.5]),
        );
    }
    // A run without benchmarks does not use up the window.
    ingest_tests(
        &mut store,
        &run_meta("tests-only", "c", "main", "perf", 3_900),
        "unit",
        &[passed("a", 0.1)],
    );
    let mut window = tollgate_store::BenchWindow {
        pipeline: "perf".into(),
        branch: "main".into(),
        since_ms: 500,
        exclude_run_key: "judged".into(),
        max_runs: 10,
    };
    let got = store.bench_window(&window).unwrap();
    assert_eq!(
        values(&got, "serve", "ttft"),
        [4.0, 4.5, 3.0, 3.5, 2.0, 2.5],
        "{}: newest run first, its samples in order",
        loc.name()
    );
    window.max_runs = 2;
    let got = store.bench_window(&window).unwrap();
    assert_eq!(
        values(&got, "serve", "ttft"),
        [4.0, 4.5, 3.0, 3.5],
        "{}",
        loc.name()
    );
    window.since_ms = 0;
    window.max_runs = 100;
    assert_eq!(
        store.bench_window(&window).unwrap().len(),
        8,
        "{}",
        loc.name()
    );
    window.branch = "release".into();
    assert!(store.bench_window(&window).unwrap().is_empty());
}

fn test_times_sum_attempts_per_job(loc: &Location) {
    let mut store = loc.open();
    let run = run_meta("t-1", "c", "main", "pr", 1_000);
    ingest_tests(
        &mut store,
        &run,
        "unit",
        &[
            failed("a", 2.0),
            result("a", 2, Outcome::Passed, 3.0),
            passed("b", 0.5),
        ],
    );
    ingest_tests(&mut store, &run, "e2e", &[passed("a", 7.0)]);
    let times = store.run_test_times("t-1").unwrap();
    let got: Vec<(&str, &str, u32, f64, f64)> = times
        .iter()
        .map(|t| {
            (
                t.job.as_str(),
                t.test_id.as_str(),
                t.attempts,
                t.total_s,
                t.max_s,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("e2e", "a", 1, 7.0, 7.0),
            ("unit", "a", 2, 5.0, 3.0),
            ("unit", "b", 1, 0.5, 0.5)
        ],
        "{}",
        loc.name()
    );
    assert!(matches!(
        store.run_test_times("missing"),
        Err(StoreError::UnknownRun(_))
    ));
}

/// Runs raw SQL on a test store (to age it back to an older schema).
fn raw(loc: &Location, sql: &str) -> Vec<String> {
    match loc {
        common::Location::Sqlite { path, .. } => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch(sql).unwrap();
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bench_samples' ORDER BY name")
                .unwrap();
            stmt.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        }
        common::Location::Postgres { url, .. } => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client.batch_execute(sql).unwrap();
            client
                .query(
                    "SELECT indexname::text FROM pg_indexes WHERE tablename = 'bench_samples' \
                     AND schemaname = current_schema() ORDER BY indexname",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
        }
    }
}

fn a_version_1_store_is_upgraded_in_place(loc: &Location) {
    let mut store = loc.open();
    ingest_bench(
        &mut store,
        &run_meta("kept", "c", "main", "perf", 1),
        "bench",
        &bench("s", "m", &[1.0]),
    );
    drop(store);
    // What a store written by the previous release looks like.
    let indexes = raw(
        loc,
        "DROP INDEX bench_samples_run; ALTER TABLE runs DROP COLUMN pruned; \
         DROP TABLE notify_claims; DROP TABLE notify_alerts; DROP TABLE learned_files; \
         DROP TABLE job_rollups; \
         DELETE FROM schema_version WHERE version >= 2;",
    );
    assert!(
        !indexes.iter().any(|i| i == "bench_samples_run"),
        "{indexes:?}"
    );
    let mut store = loc.open();
    assert_eq!(
        store.schema_version().unwrap(),
        LATEST_VERSION,
        "{}",
        loc.name()
    );
    drop(store);
    let indexes = raw(loc, "SELECT 1;");
    assert!(
        indexes.iter().any(|i| i == "bench_samples_run"),
        "{}: {indexes:?}",
        loc.name()
    );
    let mut store = loc.open();
    assert_eq!(
        store.run_counts("kept").unwrap().bench_samples,
        1,
        "{}",
        loc.name()
    );
}

/// A history with every shape the queries care about: two pipelines and
/// branches, runs sharing commits, retries that pass, tests that fail on one
/// run of a commit and pass on the other, an infrastructure failure,
/// unfinished runs, coverage over shards, benchmarks.
fn varied_history(store: &mut Store) {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for r in 0..14u64 {
        let pipeline = if r % 4 == 3 { "nightly" } else { "pre_merge" };
        let branch = if r % 5 == 4 { "feature" } else { "main" };
        let run = run_meta(
            &format!("run-{r}"),
            &format!("commit-{}", r / 2),
            branch,
            pipeline,
            1_000 * r as i64,
        );
        for j in 0..3u64 {
            let infra = r == 6 && j == 0;
            let mut tests = Vec::new();
            for t in 0..25u64 {
                let id = format!("tests/test_{j}.py::test_{t}");
                let secs = 0.01 * (next(100) + 1) as f64;
                let roll = next(20);
                if infra || roll == 0 {
                    tests.push(failed(&id, secs));
                } else if roll == 1 {
                    tests.push(failed(&id, secs));
                    tests.push(result(&id, 2, Outcome::Passed, secs / 2.0));
                } else if roll == 2 {
                    tests.push(result(&id, 1, Outcome::Skipped, 0.0));
                } else {
                    tests.push(passed(&id, secs));
                }
            }
            let coverage = [
                cov("src/lib.rs", &[1 + j as u32, 10], &[20 + r as u32], "core"),
                cov(&format!("py/mod_{j}.py"), &[1, 2], &[3], "py"),
            ];
            let samples = bench("latency", "p50", &[1.0 + r as f64, 2.0 + j as f64]);
            store
                .ingest(&Batch {
                    run: &run,
                    job: &job(&format!("job_{j}")),
                    tests: &tests,
                    coverage: &coverage,
                    bench: &samples,
                })
                .unwrap();
        }
        if r % 7 != 5 {
            store
                .finish_run(&format!("run-{r}"), 1_000 * r as i64 + 500, r % 3 != 1)
                .unwrap();
        }
    }
}

/// Every read query's answer on `store`, as JSON with floats rounded (the
/// backends may sum in a different order) and row ids left out (a
/// PostgreSQL upsert spends a sequence value even when it updates).
fn every_answer(store: &mut Store) -> serde_json::Value {
    use serde_json::json;
    let mut out = serde_json::Map::new();
    let mut put = |k: String, v: serde_json::Value| {
        out.insert(k, v);
    };
    for r in 0..14 {
        let key = format!("run-{r}");
        put(format!("run {key}"), json!(store.run(&key).unwrap()));
        put(
            format!("counts {key}"),
            json!(store.run_counts(&key).unwrap()),
        );
        put(
            format!("failures {key}"),
            json!(store.run_failures(&key).unwrap()),
        );
        for by in [RollupBy::Language, RollupBy::Component] {
            put(
                format!("rollup {key} {by:?}"),
                json!(store.coverage_rollup(&key, by).unwrap()),
            );
        }
        put(
            format!("coverage {key}"),
            json!(store.coverage_files(&key).unwrap()),
        );
        put(
            format!("bench {key}"),
            json!(store.run_bench(&key).unwrap()),
        );
        put(
            format!("times {key}"),
            json!(store.run_test_times(&key).unwrap()),
        );
        put(
            format!("failed attempts {key}"),
            json!(format!("{:?}", store.failed_attempts(&key).unwrap())),
        );
        if let Some(info) = store.run(&key).unwrap() {
            for branch in ["main", "feature"] {
                put(
                    format!("baseline for {key} {branch}"),
                    json!(store.baseline_for(&info, branch).unwrap()),
                );
            }
            put(
                format!("runs before {key}"),
                json!(store.runs_before(&info, 5).unwrap()),
            );
        }
    }
    for pipeline in [None, Some("pre_merge"), Some("nightly")] {
        put(
            format!("recent {pipeline:?}"),
            json!(store.recent_runs(pipeline, 100).unwrap()),
        );
        for since in [0, 4_000, 9_000] {
            for ratio in [0.5, 0.9] {
                let q = FlakyQuery {
                    since_ms: since,
                    pipeline: pipeline.map(str::to_string),
                    infra_failure_ratio: ratio,
                    limit: 1000,
                };
                put(
                    format!("flaky {pipeline:?} {since} {ratio}"),
                    json!(store.flaky_tests(&q).unwrap()),
                );
            }
            for until in [5_000, i64::MAX] {
                put(
                    format!("durations {pipeline:?} {since} {until}"),
                    json!(store.test_durations(since, until, pipeline).unwrap()),
                );
            }
        }
        put(
            format!("bench history {pipeline:?}"),
            json!(store
                .bench_history("latency", "p50", pipeline, 100)
                .unwrap()),
        );
    }
    for (pipeline, branch) in [
        ("pre_merge", "main"),
        ("nightly", "main"),
        ("pre_merge", "feature"),
    ] {
        put(
            format!("baseline {pipeline} {branch}"),
            json!(store.baseline_run(pipeline, branch).unwrap()),
        );
        put(
            format!("bench window {pipeline} {branch}"),
            json!(store
                .bench_window(&tollgate_store::BenchWindow {
                    pipeline: pipeline.into(),
                    branch: branch.into(),
                    since_ms: 2_000,
                    exclude_run_key: "run-13".into(),
                    max_runs: 3,
                })
                .unwrap()),
        );
    }
    for t in [
        "tests/test_0.py::test_3",
        "tests/test_2.py::test_24",
        "nope",
    ] {
        put(
            format!("history {t}"),
            json!(store.test_history(t, 100).unwrap()),
        );
    }
    let mut stats = store.stats().unwrap();
    stats.backend = "";
    stats.size_bytes = 0;
    put("stats".into(), json!(stats));
    round_floats(serde_json::Value::Object(out))
}

fn round_floats(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            serde_json::json!((f * 1e9).round() / 1e9)
        }
        J::Array(a) => J::Array(a.into_iter().map(round_floats).collect()),
        J::Object(o) => J::Object(
            o.into_iter()
                .filter(|(k, _)| k != "id")
                .map(|(k, v)| (k, round_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The shared suite's cross-check: the same history on SQLite and on
/// `loc` answers every query the same, before and after a prune.
fn every_query_answers_as_on_sqlite(loc: &Location) {
    let reference = common::sqlite();
    let mut a = reference.open();
    let mut b = loc.open();
    varied_history(&mut a);
    varied_history(&mut b);
    let (ja, jb) = (every_answer(&mut a), every_answer(&mut b));
    let obj = |j: &serde_json::Value| j.as_object().cloned().unwrap_or_default();
    for (key, va) in obj(&ja) {
        assert_eq!(Some(&va), obj(&jb).get(&key), "{}: {key}", loc.name());
    }
    assert_eq!(ja, jb, "{}", loc.name());
    // Half of the jobs without a rollup (stored by an older tollgate): the
    // queries read their attempts, and answer the same.
    raw(loc, "DELETE FROM job_rollups WHERE job_id % 2 = 0");
    let partly = every_answer(&mut b);
    for (key, va) in obj(&ja) {
        assert_eq!(
            Some(&va),
            obj(&partly).get(&key),
            "{}: {key}, half of the rollups missing",
            loc.name()
        );
    }
    assert!(b.build_missing_rollups().unwrap() > 0, "{}", loc.name());
    assert_eq!(
        a.prune(6_000).unwrap(),
        b.prune(6_000).unwrap(),
        "{}",
        loc.name()
    );
    assert_eq!(
        every_answer(&mut a),
        every_answer(&mut b),
        "{}: after prune",
        loc.name()
    );
}

/// `prune` drops raw results of old runs only, keeps their runs and jobs,
/// and a second prune with the same cutoff has nothing left to do.
fn prune_drops_old_raw_results_and_keeps_runs(loc: &Location) {
    let mut store = loc.open();
    varied_history(&mut store);
    let before = store.stats().unwrap();
    assert_eq!(before.runs, 14, "{}", loc.name());
    assert_eq!(before.pruned_runs, 0);
    assert!(before.size_bytes > 0, "{}", loc.name());
    assert_eq!(before.oldest_run_ms, Some(0));
    assert_eq!(before.newest_run_ms, Some(13_000));
    let old_attempts = store.run_counts("run-2").unwrap().attempts;
    let kept_counts = store.run_counts("run-9").unwrap();
    let summary = store.prune(6_000).unwrap();
    assert_eq!(
        summary.runs,
        6,
        "{}: runs 0..=5 started before 6000",
        loc.name()
    );
    assert!(summary.attempts >= 6 * old_attempts.min(75), "{summary:?}");
    assert_eq!(summary.coverage_files, 6 * 4, "{}", loc.name());
    let after = store.stats().unwrap();
    assert_eq!(after.runs, 14);
    assert_eq!(after.pruned_runs, 6);
    assert_eq!(after.attempts, before.attempts - summary.attempts);
    assert_eq!(after.jobs, before.jobs, "{}: jobs stay", loc.name());
    assert_eq!(after.bench_samples, before.bench_samples);
    let pruned = store.run_counts("run-2").unwrap();
    assert_eq!(
        (pruned.jobs, pruned.attempts, pruned.coverage_files),
        (3, 0, 0)
    );
    assert_eq!(store.run_counts("run-9").unwrap(), kept_counts);
    assert!(store.run("run-2").unwrap().is_some());
    // Flaky and durations over the whole history see only what is left.
    let flaky = store.flaky_tests(&FlakyQuery::default()).unwrap();
    let since_six = store
        .flaky_tests(&FlakyQuery {
            since_ms: 6_000,
            ..FlakyQuery::default()
        })
        .unwrap();
    assert_eq!(flaky, since_six, "{}", loc.name());
    assert_eq!(
        store.prune(6_000).unwrap(),
        tollgate_store::PruneSummary::default()
    );
}

/// `migration_status` reads without creating: a missing SQLite file stays
/// missing, a fresh PostgreSQL schema stays empty.
fn migration_status_reads_without_creating(loc: &Location) {
    let status = Store::migration_status(&loc.url()).unwrap();
    assert_eq!(
        (status.current, status.latest),
        (0, LATEST_VERSION),
        "{}",
        loc.name()
    );
    assert_eq!(status.pending().len(), LATEST_VERSION as usize);
    if let Location::Sqlite { path, .. } = loc {
        assert!(!path.exists(), "migration_status created the store");
    }
    let status = Store::migration_status(&loc.url()).unwrap();
    assert_eq!(status.current, 0, "{}: still nothing", loc.name());
    drop(loc.open());
    let status = Store::migration_status(&loc.url()).unwrap();
    assert_eq!(status.current, LATEST_VERSION, "{}", loc.name());
    assert!(status.pending().is_empty() && !status.too_new());
}

fn learned_files_upsert_by_path_and_key(loc: &Location) {
    use tollgate_store::LearnedRow;
    let mut store = loc.open();
    let row = |path: &str, key: &str, source: &str, items: &str| LearnedRow {
        path: path.into(),
        key_hash: key.into(),
        source: source.into(),
        recorded_at_ms: 1_000,
        items: items.into(),
    };
    // More rows than one statement holds, to cross a chunk boundary.
    let many: Vec<LearnedRow> = (0..450)
        .map(|i| {
            row(
                &format!("tests/test_{i}.py"),
                &format!("k{i}"),
                "learn-1",
                "[]",
            )
        })
        .collect();
    store.record_learned(&many).unwrap();
    store
        .record_learned(&[row(
            "tests/test_7.py",
            "k7",
            "run-9",
            "[{\"id\":\"x ' é\"}]",
        )])
        .unwrap();
    let got = store.learned_by_keys(&["k7", "k449", "absent"]).unwrap();
    assert_eq!(got.len(), 2, "{}", loc.name());
    assert_eq!(got[0].path, "tests/test_449.py");
    assert_eq!(
        got[1],
        row("tests/test_7.py", "k7", "run-9", "[{\"id\":\"x ' é\"}]"),
        "{}: a row for the same key is replaced",
        loc.name()
    );
    let keys: Vec<String> = (0..450).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert_eq!(store.learned_by_keys(&refs).unwrap().len(), 450);
}

/// A bytes literal in `loc`'s SQL.
fn blob_literal(loc: &Location, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match loc {
        Location::Sqlite { .. } => format!("X'{hex}'"),
        Location::Postgres { .. } => format!("'\\x{hex}'::bytea"),
    }
}

/// `(run key, job name, format byte)` of every job rollup, sorted.
fn rollup_formats(loc: &Location) -> Vec<(String, String, u8)> {
    let query = "SELECT r.run_key, j.name, x.summary FROM job_rollups x \
                 JOIN jobs j ON j.id = x.job_id JOIN runs r ON r.id = x.run_id";
    let mut out: Vec<(String, String, u8)> = match loc {
        Location::Sqlite { path, .. } => {
            let conn = rusqlite::Connection::open(path).unwrap();
            let mut stmt = conn.prepare(query).unwrap();
            stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, Vec<u8>>(2)?[0]))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        }
        Location::Postgres { url, .. } => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client
                .query(query, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get::<_, Vec<u8>>(2)[0]))
                .collect()
        }
    };
    out.sort();
    out
}

/// Replaces the rollup of job `job` of run `run_key` by what the release
/// that brought the rollups wrote (format 1: the general form without the
/// passing seconds), encoded here byte by byte from the job's attempts.
fn write_format_1_rollup(loc: &Location, store: &mut Store, run_key: &str, job: &str) {
    let put_varint = |out: &mut Vec<u8>, mut v: u64| {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    };
    let run = store.run(run_key).unwrap().unwrap();
    let jobs = store.run_jobs(run_key).unwrap();
    let index = jobs.iter().position(|j| j.name == job).unwrap();
    let mut rows: Vec<_> = store
        .run_test_rows_from_attempts(&run, &jobs)
        .unwrap()
        .into_iter()
        .filter(|r| r.job == index)
        .collect();
    rows.sort_by_key(|r| r.test);
    let mut blob = vec![1u8];
    let mut previous = 0i64;
    for r in &rows {
        put_varint(&mut blob, (r.test - previous) as u64);
        previous = r.test;
        let counts = (r.attempts, r.passed, r.failed, r.skipped, r.last_failed);
        match counts {
            (1, 1, 0, 0, false) => blob.push(0),
            (1, 0, 1, 0, true) => blob.push(1),
            (1, 0, 0, 1, false) => blob.push(2),
            _ => {
                blob.push(3);
                for n in [r.attempts, r.passed, r.failed, r.skipped] {
                    put_varint(&mut blob, u64::from(n));
                }
                blob.push(u8::from(r.last_failed));
            }
        }
        blob.extend_from_slice(&r.duration_s.to_le_bytes());
    }
    raw(
        loc,
        &format!(
            "UPDATE job_rollups SET summary = {} WHERE job_id = \
               (SELECT j.id FROM jobs j JOIN runs r ON r.id = j.run_id \
                WHERE r.run_key = '{run_key}' AND j.name = '{job}')",
            blob_literal(loc, &blob)
        ),
    );
}

/// The duration lookup and the failures of a run, from the job rollups and,
/// for a job without one (or with a format-1 rollup lacking the passing
/// seconds), from its attempts: the same answers, bit for bit, and after a
/// prune what the attempts alone gave.
fn durations_and_failures_read_rollups_and_attempts_alike(loc: &Location) {
    let mut store = loc.open();
    let r1 = run_meta("r1", "c1", "main", "p", 100);
    let r2 = run_meta("r2", "c2", "main", "p", 200);
    let r3 = run_meta("r3", "c3", "main", "other", 300);
    // Ingested first, so that test ids and job ids do not follow the
    // names' order.
    ingest_tests(
        &mut store,
        &r1,
        "zeta",
        &[
            failed("z_retried", 1.0),
            result("z_retried", 2, Outcome::Passed, 0.1),
            failed("m_broken", 0.5),
            result("m_broken", 2, Outcome::Error, 0.25),
            failed("a_fails", 4.0),
            passed("b_ok", 0.3),
        ],
    );
    ingest_tests(
        &mut store,
        &r1,
        "alpha",
        &[
            passed("z_retried", 0.2),
            failed("m_broken", 1.5),
            result("c_skip", 1, Outcome::Skipped, 0.0),
        ],
    );
    let mut mid = job("mid");
    mid.status = "failed".into();
    store
        .ingest(&Batch {
            // Passed, then failed: a failure, and 0.125 s of passing.
            tests: &[
                passed("a_fails", 0.125),
                result("a_fails", 2, Outcome::Failed, 0.0625),
            ],
            ..empty_batch(&r1, &mid)
        })
        .unwrap();
    ingest_tests(
        &mut store,
        &r2,
        "zeta",
        &[
            passed("z_retried", 0.7),
            failed("b_ok", 1.0),
            result("b_ok", 2, Outcome::Passed, 0.6),
            // Failed in r1: its name outlives r1's prune.
            passed("m_broken", 0.5),
        ],
    );
    ingest_tests(&mut store, &r3, "zeta", &[passed("z_retried", 100.0)]);
    for (key, at) in [("r1", 150), ("r2", 250), ("r3", 350)] {
        store.finish_run(key, at, true).unwrap();
    }

    type Answers = (
        Vec<tollgate_store::TestDuration>,
        Vec<tollgate_store::TestDuration>,
        Vec<tollgate_store::TestDuration>,
        tollgate_store::RunFailures,
        tollgate_store::RunFailures,
    );
    let answers = |store: &mut Store| -> Answers {
        (
            store.test_durations(0, i64::MAX, Some("p")).unwrap(),
            store.test_durations(0, i64::MAX, None).unwrap(),
            store.test_durations(150, i64::MAX, Some("p")).unwrap(),
            store.run_failures("r1").unwrap(),
            store.run_failures("r2").unwrap(),
        )
    };
    let expected = answers(&mut store);
    // Only passing attempts count, added by run, then job, in order.
    let durations: Vec<_> = expected
        .0
        .iter()
        .map(|d| (d.test_id.as_str(), d.mean_s, d.samples))
        .collect();
    assert_eq!(
        durations,
        [
            ("a_fails", 0.125, 1),
            ("b_ok", (0.3 + 0.6) / 2.0, 2),
            ("m_broken", 0.5, 1),
            ("z_retried", (0.1 + 0.2 + 0.7) / 3.0, 3),
        ],
        "{}",
        loc.name()
    );
    assert_eq!(
        expected.1.last().map(|d| (d.samples, d.mean_s)),
        Some((4, (0.1 + 0.2 + 0.7 + 100.0) / 4.0)),
        "{}",
        loc.name()
    );
    let failures: Vec<_> = expected
        .3
        .failed_tests
        .iter()
        .map(|t| (t.job.as_str(), t.test_id.as_str(), t.job_status.as_str()))
        .collect();
    assert_eq!(
        failures,
        [
            ("alpha", "m_broken", "passed"),
            ("mid", "a_fails", "failed"),
            ("zeta", "a_fails", "passed"),
            ("zeta", "m_broken", "passed"),
        ],
        "{}",
        loc.name()
    );
    assert_eq!(
        expected.3.failed_jobs,
        [("mid".to_string(), "failed".to_string())]
    );
    assert!(expected.4.failed_tests.is_empty(), "{}", loc.name());
    assert_eq!(
        rollup_formats(loc).iter().map(|f| f.2).collect::<Vec<_>>(),
        [2; 5],
        "{}: this build writes format 2",
        loc.name()
    );

    // A job without a rollup beside jobs with one: read from its attempts.
    raw(
        loc,
        "DELETE FROM job_rollups WHERE job_id IN (SELECT id FROM jobs WHERE name = 'alpha')",
    );
    assert_eq!(
        answers(&mut store),
        expected,
        "{}: alpha without a rollup",
        loc.name()
    );
    // A format-1 rollup: its general entries lack the passing seconds
    // (z_retried failed, then passed), so durations read that job's
    // attempts; the failures read its last-failed flags.
    write_format_1_rollup(loc, &mut store, "r1", "zeta");
    write_format_1_rollup(loc, &mut store, "r2", "zeta");
    assert_eq!(
        answers(&mut store),
        expected,
        "{}: format-1 rollups",
        loc.name()
    );
    // `store migrate` builds the missing rollup and rewrites format 1.
    assert_eq!(store.build_missing_rollups().unwrap(), 3, "{}", loc.name());
    assert_eq!(store.build_missing_rollups().unwrap(), 0, "{}", loc.name());
    assert_eq!(
        rollup_formats(loc).iter().map(|f| f.2).collect::<Vec<_>>(),
        [2; 5],
        "{}",
        loc.name()
    );
    assert_eq!(answers(&mut store), expected, "{}: rebuilt", loc.name());

    // A prune drops r1's attempts: durations and failures read what is
    // left, as they did from the attempts, though r1 keeps its rollups (one
    // of them format 1, which stays: there is nothing to rebuild it from).
    write_format_1_rollup(loc, &mut store, "r1", "zeta");
    assert_eq!(store.prune(150).unwrap().runs, 1, "{}", loc.name());
    assert_eq!(store.build_missing_rollups().unwrap(), 0, "{}", loc.name());
    assert_eq!(
        rollup_formats(loc)
            .iter()
            .map(|f| (f.0.as_str(), f.1.as_str(), f.2))
            .collect::<Vec<_>>(),
        [
            ("r1", "alpha", 2),
            ("r1", "mid", 2),
            ("r1", "zeta", 1),
            ("r2", "zeta", 2),
            ("r3", "zeta", 2),
        ],
        "{}",
        loc.name()
    );
    assert_eq!(
        store.test_durations(0, i64::MAX, Some("p")).unwrap(),
        expected.2,
        "{}: after prune, r2 alone",
        loc.name()
    );
    let pruned = store.run_failures("r1").unwrap();
    assert_eq!(pruned.failed_jobs, expected.3.failed_jobs);
    assert!(
        pruned.failed_tests.is_empty(),
        "{}: a pruned run's failed tests went with its attempts: {:?}",
        loc.name(),
        pruned.failed_tests
    );
}

/// Names by id, read by range where ids lie close together and by list
/// where they do not: exactly the ids asked for, whichever way.
fn test_names_are_exactly_the_ids_asked_for(loc: &Location) {
    let mut store = loc.open();
    let tests: Vec<_> = (0..400).map(|i| passed(&format!("t{i:03}"), 0.1)).collect();
    ingest_tests(
        &mut store,
        &run_meta("r", "c", "main", "p", 1),
        "unit",
        &tests,
    );
    let run = store.run("r").unwrap().unwrap();
    let mut ids: Vec<i64> = store
        .run_test_summary(run.id)
        .unwrap()
        .iter()
        .map(|t| t.0)
        .collect();
    ids.sort_unstable();
    let all = store.test_names(&ids).unwrap();
    assert_eq!(all.len(), 400, "{}", loc.name());
    // A dense stretch with holes, every third id elsewhere, a duplicate and
    // an id no test has.
    let mut asked: Vec<i64> = ids[10..300]
        .iter()
        .copied()
        .filter(|i| i % 5 != 0)
        .collect();
    asked.extend(ids[300..].iter().step_by(3));
    asked.push(ids[11]);
    asked.push(ids[399] + 1_000);
    let got = store.test_names(&asked).unwrap();
    let mut expected: Vec<(i64, String)> = asked
        .iter()
        .filter_map(|i| Some((*i, all.get(i)?.clone())))
        .collect();
    expected.sort();
    expected.dedup();
    let mut got: Vec<(i64, String)> = got.into_iter().collect();
    got.sort();
    assert_eq!(got, expected, "{}", loc.name());
    assert!(got.len() > 250, "{}: {}", loc.name(), got.len());
}

/// Every test above on a fresh SQLite file.
mod sqlite {
    #[test]
    fn migrations_apply_once_and_reopen_cleanly() {
        super::migrations_apply_once_and_reopen_cleanly(&crate::common::sqlite());
    }

    #[test]
    fn shards_of_one_run_merge_and_reingest_replaces() {
        super::shards_of_one_run_merge_and_reingest_replaces(&crate::common::sqlite());
    }

    #[test]
    fn baseline_is_the_latest_complete_run_of_the_pipeline_on_the_branch() {
        super::baseline_is_the_latest_complete_run_of_the_pipeline_on_the_branch(
            &crate::common::sqlite(),
        );
    }

    #[test]
    fn flaky_rate_counts_retries_and_same_commit_disagreement_but_not_infra_failures() {
        super::flaky_rate_counts_retries_and_same_commit_disagreement_but_not_infra_failures(
            &crate::common::sqlite(),
        );
    }

    #[test]
    fn durations_average_passing_attempts() {
        super::durations_average_passing_attempts(&crate::common::sqlite());
    }

    #[test]
    fn coverage_merges_across_shards_and_rolls_up() {
        super::coverage_merges_across_shards_and_rolls_up(&crate::common::sqlite());
    }

    #[test]
    fn benchmarks_and_verdicts_are_kept() {
        super::benchmarks_and_verdicts_are_kept(&crate::common::sqlite());
    }

    #[test]
    fn bad_batches_are_refused_before_writing() {
        super::bad_batches_are_refused_before_writing(&crate::common::sqlite());
    }

    #[test]
    fn a_failing_batch_is_rolled_back_entirely() {
        super::a_failing_batch_is_rolled_back_entirely(&crate::common::sqlite());
    }

    #[test]
    fn odd_text_round_trips() {
        super::odd_text_round_trips(&crate::common::sqlite());
    }

    #[test]
    fn run_failures_are_failed_jobs_and_tests_failing_their_last_attempt() {
        super::run_failures_are_failed_jobs_and_tests_failing_their_last_attempt(
            &crate::common::sqlite(),
        );
    }

    #[test]
    fn reingesting_a_benchmark_replaces_its_series_in_that_job() {
        super::reingesting_a_benchmark_replaces_its_series_in_that_job(&crate::common::sqlite());
    }

    #[test]
    fn bench_window_is_recent_runs_of_the_pipeline_on_the_branch_without_the_judged_run() {
        super::bench_window_is_recent_runs_of_the_pipeline_on_the_branch_without_the_judged_run(
            &crate::common::sqlite(),
        );
    }

    #[test]
    fn test_times_sum_attempts_per_job() {
        super::test_times_sum_attempts_per_job(&crate::common::sqlite());
    }

    #[test]
    fn a_version_1_store_is_upgraded_in_place() {
        super::a_version_1_store_is_upgraded_in_place(&crate::common::sqlite());
    }

    #[test]
    fn every_query_answers_as_on_sqlite() {
        super::every_query_answers_as_on_sqlite(&crate::common::sqlite());
    }

    #[test]
    fn prune_drops_old_raw_results_and_keeps_runs() {
        super::prune_drops_old_raw_results_and_keeps_runs(&crate::common::sqlite());
    }

    #[test]
    fn migration_status_reads_without_creating() {
        super::migration_status_reads_without_creating(&crate::common::sqlite());
    }

    #[test]
    fn learned_files_upsert_by_path_and_key() {
        super::learned_files_upsert_by_path_and_key(&crate::common::sqlite());
    }

    #[test]
    fn durations_and_failures_read_rollups_and_attempts_alike() {
        super::durations_and_failures_read_rollups_and_attempts_alike(&crate::common::sqlite());
    }

    #[test]
    fn test_names_are_exactly_the_ids_asked_for() {
        super::test_names_are_exactly_the_ids_asked_for(&crate::common::sqlite());
    }
}

/// Every test above on a fresh PostgreSQL schema. Ignored by default so that a
/// machine without the server reports them skipped, not passed; `scripts/test.sh`
/// runs them (`--run-ignored all`) when the server answers or `CI` is set, and
/// then an unreachable server fails them.
mod postgres {
    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn migrations_apply_once_and_reopen_cleanly() {
        super::migrations_apply_once_and_reopen_cleanly(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn shards_of_one_run_merge_and_reingest_replaces() {
        super::shards_of_one_run_merge_and_reingest_replaces(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn baseline_is_the_latest_complete_run_of_the_pipeline_on_the_branch() {
        super::baseline_is_the_latest_complete_run_of_the_pipeline_on_the_branch(
            &crate::common::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn flaky_rate_counts_retries_and_same_commit_disagreement_but_not_infra_failures() {
        super::flaky_rate_counts_retries_and_same_commit_disagreement_but_not_infra_failures(
            &crate::common::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn durations_average_passing_attempts() {
        super::durations_average_passing_attempts(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn coverage_merges_across_shards_and_rolls_up() {
        super::coverage_merges_across_shards_and_rolls_up(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn benchmarks_and_verdicts_are_kept() {
        super::benchmarks_and_verdicts_are_kept(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn bad_batches_are_refused_before_writing() {
        super::bad_batches_are_refused_before_writing(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn a_failing_batch_is_rolled_back_entirely() {
        super::a_failing_batch_is_rolled_back_entirely(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn odd_text_round_trips() {
        super::odd_text_round_trips(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn run_failures_are_failed_jobs_and_tests_failing_their_last_attempt() {
        super::run_failures_are_failed_jobs_and_tests_failing_their_last_attempt(
            &crate::common::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn reingesting_a_benchmark_replaces_its_series_in_that_job() {
        super::reingesting_a_benchmark_replaces_its_series_in_that_job(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn bench_window_is_recent_runs_of_the_pipeline_on_the_branch_without_the_judged_run() {
        super::bench_window_is_recent_runs_of_the_pipeline_on_the_branch_without_the_judged_run(
            &crate::common::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn test_times_sum_attempts_per_job() {
        super::test_times_sum_attempts_per_job(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn a_version_1_store_is_upgraded_in_place() {
        super::a_version_1_store_is_upgraded_in_place(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn every_query_answers_as_on_sqlite() {
        super::every_query_answers_as_on_sqlite(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn prune_drops_old_raw_results_and_keeps_runs() {
        super::prune_drops_old_raw_results_and_keeps_runs(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn migration_status_reads_without_creating() {
        super::migration_status_reads_without_creating(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn learned_files_upsert_by_path_and_key() {
        super::learned_files_upsert_by_path_and_key(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn durations_and_failures_read_rollups_and_attempts_alike() {
        super::durations_and_failures_read_rollups_and_attempts_alike(&crate::common::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn test_names_are_exactly_the_ids_asked_for() {
        super::test_names_are_exactly_the_ids_asked_for(&crate::common::postgres());
    }
}
