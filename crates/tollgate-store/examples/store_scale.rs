//! Query speed as history grows (issue 17): generates a store of N results
//! and times the queries a team runs against it, on SQLite and (with `--pg`)
//! PostgreSQL, for each N given; prints every figure, the PostgreSQL /
//! SQLite ratio, the largest-N / smallest-N ratio, and whether both backends
//! gave the same answers.
//!
//! ```text
//! cargo run --release -p tollgate-store --example store_scale -- \
//!     --results 1000000,10000000 --pg postgres://postgres@127.0.0.1:5432/test
//! ```
//!
//! The generated history: 60,000 tests per run (one job), so N results are
//! N / 60,000 runs. The last 30 days hold the same 8 runs whatever N is
//! (two runs per commit; about 1% of tests fail their first attempt and pass
//! the retry in a third of the runs); every older run lies before the window.
//! Queries (each timed twice, the second figure is reported):
//! - flaky: the flaky-rate query over the 30-day window (`tollgate flaky`, the gate);
//! - baseline: the latest complete run of the pipeline and its failures (the gate);
//! - durations: mean passing duration of every test over the window (sharding).
//!
//! Targets: flaky < 1 s, baseline < 200 ms, durations < 500 ms on both
//! backends at 10,000,000 results, and within 20% of the 1,000,000 figures.

use std::collections::BTreeMap;
use std::time::Instant;

use tollgate_results::{Outcome, TestResult};
use tollgate_store::{Batch, FlakyQuery, FlakyReport, JobMeta, RunMeta, Store, TestDuration};

const TESTS: usize = 60_000;
const WINDOW_RUNS: usize = 8;
const DAY_MS: i64 = 86_400_000;
/// "Now" for the generated history (a fixed instant: reruns agree).
const NOW_MS: i64 = 1_800_000_000_000;

fn test_id(i: usize) -> String {
    format!(
        "tests/pkg{}/test_mod{}.py::TestThing::test_case_{i}[param-{}]",
        i % 40,
        i % 1000,
        i % 7
    )
}

/// The results of run `run` (0 = oldest).
fn results(run: usize, ids: &[String]) -> Vec<TestResult> {
    let mut out = Vec::with_capacity(ids.len() + ids.len() / 200);
    for (i, id) in ids.iter().enumerate() {
        let flaky = i.is_multiple_of(97) && (run + i).is_multiple_of(3);
        let attempt = |attempt: u32, outcome: Outcome| TestResult {
            id: id.clone(),
            classname: String::new(),
            name: String::new(),
            outcome,
            duration: 0.001 * ((i * 7 + run) % 500) as f64,
            message: (outcome == Outcome::Failed).then(|| "AssertionError".to_string()),
            stdout: None,
            stderr: None,
            attempt,
        };
        if flaky {
            out.push(attempt(1, Outcome::Failed));
            out.push(attempt(2, Outcome::Passed));
        } else {
            out.push(attempt(1, Outcome::Passed));
        }
    }
    out
}

/// When run `run` of `runs` started: the last [`WINDOW_RUNS`] evenly over the
/// last 30 days, every older one a day apart before that.
fn started_at(run: usize, runs: usize) -> i64 {
    let window_start = NOW_MS - 30 * DAY_MS;
    let first_window_run = runs.saturating_sub(WINDOW_RUNS);
    if run >= first_window_run {
        let k = (run - first_window_run) as i64;
        window_start + DAY_MS + k * (28 * DAY_MS / WINDOW_RUNS as i64)
    } else {
        window_start - DAY_MS * (first_window_run - run) as i64
    }
}

struct Figures {
    ingest_s: f64,
    flaky_s: f64,
    baseline_s: f64,
    durations_s: f64,
    flaky: FlakyReport,
    durations: Vec<TestDuration>,
    baseline: String,
}

fn seconds<T>(
    mut f: impl FnMut() -> Result<T, tollgate_store::StoreError>,
) -> Result<(f64, T), tollgate_store::StoreError> {
    f()?; // the first call warms caches; the second is the figure
    let started = Instant::now();
    let out = f()?;
    Ok((started.elapsed().as_secs_f64(), out))
}

fn measure(
    label: &str,
    store: &mut Store,
    n: usize,
) -> Result<Figures, Box<dyn std::error::Error>> {
    let ids: Vec<String> = (0..TESTS).map(test_id).collect();
    let runs = n.div_ceil(TESTS).max(WINDOW_RUNS);
    let job = JobMeta {
        name: "unit".into(),
        status: "passed".into(),
        ..JobMeta::default()
    };
    let started = Instant::now();
    let mut stored = 0usize;
    for run in 0..runs {
        let tests = results(run, &ids);
        let meta = RunMeta {
            run_key: format!("run-{run}"),
            commit: format!("commit-{}", run / 2),
            branch: "main".into(),
            pipeline: "pre_merge".into(),
            started_at_ms: started_at(run, runs),
            ..RunMeta::default()
        };
        store.ingest(&Batch {
            run: &meta,
            job: &job,
            tests: &tests,
            coverage: &[],
            bench: &[],
        })?;
        store.finish_run(&meta.run_key, meta.started_at_ms + 600_000, true)?;
        stored += tests.len();
        if run % 10 == 9 {
            eprint!("\r{label}: {stored} results stored");
        }
    }
    let ingest_s = started.elapsed().as_secs_f64();
    eprintln!("\r{label}: {stored} results stored in {ingest_s:.1} s ({runs} runs)");
    let since = NOW_MS - 30 * DAY_MS;
    let (flaky_s, flaky) = seconds(|| {
        store.flaky_tests(&FlakyQuery {
            since_ms: since,
            pipeline: Some("pre_merge".into()),
            ..FlakyQuery::default()
        })
    })?;
    let (baseline_s, baseline) = seconds(|| {
        let run = store
            .baseline_run("pre_merge", "main")?
            .ok_or_else(|| tollgate_store::StoreError::UnknownRun("baseline".into()))?;
        let failures = store.run_failures(&run.run_key)?;
        Ok(format!(
            "{} ({} failed tests)",
            run.run_key,
            failures.failed_tests.len()
        ))
    })?;
    let (durations_s, durations) =
        seconds(|| store.test_durations(since, NOW_MS, Some("pre_merge")))?;
    println!(
        "{label} {stored} results: flaky {flaky_s:.3} s ({} flaky of {} tests, {} runs) | \
         baseline {baseline_s:.3} s ({baseline}) | durations {durations_s:.3} s ({} tests) | \
         ingest {ingest_s:.1} s",
        flaky.flaky.len(),
        flaky.tests_considered,
        flaky.runs_considered,
        durations.len()
    );
    Ok(Figures {
        ingest_s,
        flaky_s,
        baseline_s,
        durations_s,
        flaky,
        durations,
        baseline,
    })
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = arg(&args, "--results")
        .unwrap_or_else(|| "1000000,10000000".into())
        .split(',')
        .map(|s| s.trim().replace('_', "").parse())
        .collect::<Result<_, _>>()?;
    let pg = arg(&args, "--pg");
    let mut table: BTreeMap<(usize, &str), Figures> = BTreeMap::new();
    for &n in &sizes {
        let dir = tempfile::tempdir()?;
        let mut sqlite = Store::open(&dir.path().join("history.db").display().to_string())?;
        table.insert((n, "sqlite"), measure("sqlite", &mut sqlite, n)?);
        drop(sqlite);
        if let Some(url) = &pg {
            let schema = format!("tg_scale_{}_{n}", std::process::id());
            let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
            admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
            let sep = if url.contains('?') { '&' } else { '?' };
            let result = Store::open(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
                .map_err(Box::<dyn std::error::Error>::from)
                .and_then(|mut store| measure("postgres", &mut store, n));
            admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
            table.insert((n, "postgres"), result?);
        }
    }

    println!("\n| results | backend | flaky s (< 1) | baseline s (< 0.2) | durations s (< 0.5) | ingest s |");
    println!("|---:|---|---:|---:|---:|---:|");
    for ((n, backend), f) in &table {
        println!(
            "| {n} | {backend} | {:.3} | {:.3} | {:.3} | {:.1} |",
            f.flaky_s, f.baseline_s, f.durations_s, f.ingest_s
        );
    }
    let (Some(&small), Some(&large)) = (sizes.iter().min(), sizes.iter().max()) else {
        return Ok(());
    };
    for backend in ["sqlite", "postgres"] {
        if let (Some(a), Some(b)) = (table.get(&(small, backend)), table.get(&(large, backend))) {
            println!(
                "{backend}: {large} / {small} results: flaky {:.2}x, baseline {:.2}x, durations {:.2}x (target <= 1.20)",
                b.flaky_s / a.flaky_s,
                b.baseline_s / a.baseline_s,
                b.durations_s / a.durations_s
            );
        }
    }
    for &n in &sizes {
        if let (Some(s), Some(p)) = (table.get(&(n, "sqlite")), table.get(&(n, "postgres"))) {
            let same_durations = s.durations.len() == p.durations.len()
                && s.durations.iter().zip(&p.durations).all(|(a, b)| {
                    a.test_id == b.test_id
                        && a.samples == b.samples
                        && (a.mean_s - b.mean_s).abs() < 1e-9
                });
            println!(
                "{n} results: postgres / sqlite: flaky {:.2}x, baseline {:.2}x, durations {:.2}x, ingest {:.2}x; \
                 same answers: flaky {}, baseline {}, durations {}",
                p.flaky_s / s.flaky_s,
                p.baseline_s / s.baseline_s,
                p.durations_s / s.durations_s,
                p.ingest_s / s.ingest_s,
                s.flaky == p.flaky,
                s.baseline == p.baseline,
                same_durations
            );
        }
    }
    Ok(())
}
