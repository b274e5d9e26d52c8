//! Store speed on a synthetic corpus; prints numbers.
//!
//! ```text
//! cargo run --release -p tollgate-store --example store_bench [-- --pg postgres://postgres@127.0.0.1:5432/test] [--sqlite PATH] [--fresh 5] [--ingest-only]
//! ```
//!
//! With `--pg`, the ingest bar is measured apart as well: `--fresh` fresh
//! stores per backend, alternating, each timed on one ingest of 101,000
//! results; the medians give one PASS/FAIL line per bar, and the exit status
//! is 1 when one fails. `--ingest-only` measures that alone.
//!
//! Targets: ingest 100,000 test results in < 2 s on each backend, PostgreSQL
//! at most 1.5x SQLite (issue 17; issue 6 asked < 5 s on SQLite); a
//! flaky-rate query over 1,000,000 stored results in < 1 s. With `--pg URL`
//! the same runs against PostgreSQL in a throw-away schema, and the last
//! lines give PostgreSQL / SQLite for every figure.

use std::time::Instant;

use tollgate_results::{Outcome, TestResult};
use tollgate_store::{Batch, FlakyQuery, JobMeta, RunMeta, Store};

const TESTS_PER_RUN: usize = 100_000;
const RUNS: usize = 10;

fn results(run: usize) -> Vec<TestResult> {
    (0..TESTS_PER_RUN)
        .flat_map(|i| {
            let id = format!(
                "tests/pkg{}/test_mod{}.py::TestThing::test_case_{i}[param-{}]",
                i % 40,
                i % 1000,
                i % 7
            );
            // ~1% of tests are flaky: they fail first and pass on retry in every other run.
            let flaky = i.is_multiple_of(100) && run.is_multiple_of(2);
            let mut attempts = vec![TestResult {
                id: id.clone(),
                classname: String::new(),
                name: String::new(),
                outcome: if flaky {
                    Outcome::Failed
                } else {
                    Outcome::Passed
                },
                duration: 0.001 * (i % 500) as f64,
                message: flaky.then(|| "AssertionError: timing".to_string()),
                stdout: None,
                stderr: None,
                attempt: 1,
            }];
            if flaky {
                let mut retry = attempts[0].clone();
                retry.outcome = Outcome::Passed;
                retry.message = None;
                retry.attempt = 2;
                attempts.push(retry);
            }
            attempts
        })
        .collect()
}

/// Seconds: first ingest (fresh store), mean of the other ingests, flaky
/// query (repeat), duration query.
struct Figures {
    first_ingest: f64,
    later_ingest: f64,
    flaky: f64,
    durations: f64,
}

fn bench(label: &str, mut store: Store) -> Result<Figures, Box<dyn std::error::Error>> {
    let job = JobMeta {
        name: "unit".into(),
        ..JobMeta::default()
    };
    let mut total = 0usize;
    let mut first_ingest = None;
    let mut later = Vec::new();
    for run in 0..RUNS {
        let tests = results(run);
        let meta = RunMeta {
            run_key: format!("bench-{run}"),
            commit: format!("commit-{}", run / 2),
            branch: "main".into(),
            pipeline: "pre_merge".into(),
            started_at_ms: run as i64 * 1000,
            ..RunMeta::default()
        };
        let started = Instant::now();
        store.ingest(&Batch {
            run: &meta,
            job: &job,
            tests: &tests,
            coverage: &[],
            bench: &[],
        })?;
        let elapsed = started.elapsed();
        total += tests.len();
        if run == 0 {
            first_ingest = Some(elapsed);
            println!(
                "{label}: ingest {} results (fresh store): {:.3} s (target < 5 s)",
                tests.len(),
                elapsed.as_secs_f64()
            );
        } else {
            later.push(elapsed.as_secs_f64());
        }
    }
    let later_ingest = later.iter().sum::<f64>() / later.len().max(1) as f64;
    println!(
        "{label}: {total} results stored; first ingest {:.3} s, later ingests {later_ingest:.3} s each",
        first_ingest.map_or(0.0, |d| d.as_secs_f64())
    );
    let mut flaky = 0.0;
    for pass in ["first", "repeat"] {
        let started = Instant::now();
        let report = store.flaky_tests(&FlakyQuery::default())?;
        flaky = started.elapsed().as_secs_f64();
        println!(
            "{label}: flaky-rate query over {total} results ({pass}): {:.3} s (target < 1 s): \
             {} flaky of {} tests, {} runs",
            started.elapsed().as_secs_f64(),
            report.flaky.len(),
            report.tests_considered,
            report.runs_considered
        );
    }
    let started = Instant::now();
    let durations = store.test_durations(0, i64::MAX, Some("pre_merge"))?;
    let durations_s = started.elapsed().as_secs_f64();
    println!(
        "{label}: duration query: {durations_s:.3} s for {} tests",
        durations.len()
    );
    Ok(Figures {
        first_ingest: first_ingest.map_or(0.0, |d| d.as_secs_f64()),
        later_ingest,
        flaky,
        durations: durations_s,
    })
}

/// Seconds to ingest run 0's 101,000 results into the fresh store `store`.
fn fresh_ingest(store: &mut Store) -> Result<f64, Box<dyn std::error::Error>> {
    let tests = results(0);
    let meta = RunMeta {
        run_key: "fresh".into(),
        commit: "commit-0".into(),
        branch: "main".into(),
        pipeline: "pre_merge".into(),
        ..RunMeta::default()
    };
    let job = JobMeta {
        name: "unit".into(),
        ..JobMeta::default()
    };
    let started = Instant::now();
    store.ingest(&Batch {
        run: &meta,
        job: &job,
        tests: &tests,
        coverage: &[],
        bench: &[],
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// A PostgreSQL URL whose sessions use `schema`.
fn in_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The ingest bar (issue 17): `--fresh N` (default 5) fresh stores per
/// backend, alternating SQLite and PostgreSQL, each timed on one ingest of
/// 101,000 results; the medians are compared. Prints a PASS/FAIL line per
/// bar; false when one fails.
fn ingest_bar(url: &str, n: usize) -> Result<bool, Box<dyn std::error::Error>> {
    let (mut sqlite, mut pg) = (Vec::new(), Vec::new());
    let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
    eprintln!(
        "ingest bar: {n} fresh stores per backend, load average {}",
        load_average()
    );
    for i in 0..n {
        let dir = tempfile::tempdir()?;
        let mut store = Store::open(&dir.path().join("history.db").display().to_string())?;
        sqlite.push(fresh_ingest(&mut store)?);
        drop(store);
        let schema = format!("tg_bench_fresh_{}_{i}", std::process::id());
        admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
        let result = Store::open(&in_schema(url, &schema))
            .map_err(Into::into)
            .and_then(|mut store| fresh_ingest(&mut store));
        admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
        pg.push(result?);
    }
    let list = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "fresh-store ingest of 101,000 results, s: sqlite [{}], postgres [{}]; load average {}",
        list(&sqlite),
        list(&pg),
        load_average()
    );
    let (s, p) = (median(sqlite), median(pg));
    let mut ok = true;
    for (label, secs) in [("sqlite", s), ("postgres", p)] {
        let pass = secs < 2.0;
        println!("{} bar: {label} ingest of 101,000 results into a fresh store: median {secs:.3} s (< 2 s)", if pass { "PASS" } else { "FAIL" });
        ok &= pass;
    }
    let pass = p <= 1.5 * s;
    println!(
        "{} bar: postgres / sqlite ingest: {:.2}x (median {p:.3} s vs {s:.3} s; <= 1.5x)",
        if pass { "PASS" } else { "FAIL" },
        p / s
    );
    Ok(ok && pass)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let pg_url = args
        .iter()
        .position(|a| a == "--pg")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let fresh: usize = args
        .iter()
        .position(|a| a == "--fresh")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(5), |n| n.parse())?;
    if args.iter().any(|a| a == "--ingest-only") {
        let url = pg_url.ok_or("--ingest-only needs --pg URL")?;
        if !ingest_bar(&url, fresh)? {
            std::process::exit(1);
        }
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    // `--sqlite PATH` keeps the database for inspection.
    let path = match args
        .iter()
        .position(|a| a == "--sqlite")
        .and_then(|i| args.get(i + 1))
    {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("history.db"),
    };
    let sqlite = bench("sqlite", Store::open(&path.display().to_string())?)?;

    if let Some(url) = args
        .iter()
        .position(|a| a == "--pg")
        .and_then(|i| args.get(i + 1))
    {
        let schema = format!("tg_bench_{}", std::process::id());
        let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
        admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
        let sep = if url.contains('?') { '&' } else { '?' };
        let result = Store::open(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
            .map_err(Into::into)
            .and_then(|store| bench("postgres", store));
        if args.iter().any(|a| a == "--pg-keep") {
            println!("postgres: schema {schema} kept");
        } else {
            admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
        }
        let pg = result?;
        let bars = ingest_bar(url, fresh)?;
        println!(
            "postgres / sqlite: first ingest {:.2}x ({:.3} s vs {:.3} s; target <= 1.5x, both < 2 s), \
             later ingests {:.2}x, flaky query {:.2}x, duration query {:.2}x",
            pg.first_ingest / sqlite.first_ingest,
            pg.first_ingest,
            sqlite.first_ingest,
            pg.later_ingest / sqlite.later_ingest,
            pg.flaky / sqlite.flaky,
            pg.durations / sqlite.durations
        );
        if !bars {
            std::process::exit(1);
        }
    }
    Ok(())
}
