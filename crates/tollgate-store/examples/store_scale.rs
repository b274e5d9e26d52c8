//! Query speed as history grows (issue 17): generates a store of N results
//! and times the queries a team runs against it, on SQLite and (with `--pg`)
//! PostgreSQL, for each N given; prints every figure, the PostgreSQL /
//! SQLite ratio, the largest-N / smallest-N ratio, and whether both backends
//! gave the same answers.
//!
//! ```text
//! cargo run --release -p tollgate-store --example store_scale -- \
//!     --results 1000000,10000000 --pg postgres://postgres@127.0.0.1:5432/test \
//!     [--keep DIR] [--rounds 5] [--repeat 3]
//! ```
//!
//! `--keep DIR` keeps the generated stores (SQLite `DIR/history-N.db`,
//! PostgreSQL schema `tg_scale_N`) and reuses them on the next run when they
//! hold the expected runs, so that a change to a query is measured without
//! generating ten million results again. Without it every store is a fresh
//! temporary one, dropped at the end.
//!
//! The generated history: 60,000 tests per run (one job), so N results are
//! N / 60,000 runs. The last 30 days hold the same 8 runs whatever N is
//! (two runs per commit; about 1% of tests fail their first attempt and pass
//! the retry in a third of the runs); every older run lies before the window.
//! Queries (every store is generated first; then `--rounds` rounds of
//! `--repeat` passes, each pass timing every query once on every store,
//! query by query — the flaky query on every store in turn, then the
//! baseline, then the durations — so that a change of load hits all sizes
//! alike; the best time of each query on each store is reported. Queries of
//! a few to tens of milliseconds on a machine with other work running need
//! the samples: with one pass per round and each store's queries timed
//! together, one burst of load could cost a size its whole round):
//! - flaky: the flaky-rate query over the 30-day window (`tollgate flaky`, the gate);
//! - baseline: the latest complete run of the pipeline and its failures (the gate);
//! - durations: mean passing duration of every test over the window (sharding).
//!
//! Targets: flaky < 1 s, baseline < 200 ms, durations < 500 ms on both
//! backends at 10,000,000 results, and within 20% of the 1,000,000 figures.
//! One `PASS`/`FAIL` line per bar; the exit status is 1 when one fails (or
//! the backends disagree), 0 otherwise.

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
    results: usize,
    ingest_s: Option<f64>,
    flaky_s: f64,
    baseline_s: f64,
    durations_s: f64,
    flaky: Option<FlakyReport>,
    durations: Vec<TestDuration>,
    baseline: String,
}

impl Default for Figures {
    fn default() -> Self {
        Figures {
            results: 0,
            ingest_s: None,
            // Best times: none yet.
            flaky_s: f64::INFINITY,
            baseline_s: f64::INFINITY,
            durations_s: f64::INFINITY,
            flaky: None,
            durations: Vec::new(),
            baseline: String::new(),
        }
    }
}

fn runs_for(n: usize) -> usize {
    n.div_ceil(TESTS).max(WINDOW_RUNS)
}

/// Fills `store` with the history for `n` results unless it holds it
/// already (a kept store); returns the results stored and, when generated,
/// the time it took.
fn generate(
    label: &str,
    store: &mut Store,
    n: usize,
) -> Result<(usize, Option<f64>), Box<dyn std::error::Error>> {
    let ids: Vec<String> = (0..TESTS).map(test_id).collect();
    let runs = runs_for(n);
    let stats = store.stats()?;
    if stats.runs as usize == runs {
        eprintln!(
            "{label}: reusing the store of {} results ({runs} runs)",
            stats.attempts
        );
        return Ok((stats.attempts as usize, None));
    }
    if stats.runs != 0 {
        return Err(format!(
            "{label}: the kept store holds {} runs, not {runs}: remove it",
            stats.runs
        )
        .into());
    }
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
    Ok((stored, Some(ingest_s)))
}

/// The queries timed.
#[derive(Debug, Clone, Copy)]
enum Query {
    Flaky,
    Baseline,
    Durations,
}

/// Times `query` once on `store`; keeps the best time and the answer.
fn measure(
    store: &mut Store,
    f: &mut Figures,
    query: Query,
) -> Result<(), Box<dyn std::error::Error>> {
    let since = NOW_MS - 30 * DAY_MS;
    let started = Instant::now();
    let best = |slot: &mut f64| *slot = slot.min(started.elapsed().as_secs_f64());
    match query {
        Query::Flaky => {
            let flaky = store.flaky_tests(&FlakyQuery {
                since_ms: since,
                pipeline: Some("pre_merge".into()),
                ..FlakyQuery::default()
            })?;
            best(&mut f.flaky_s);
            f.flaky = Some(flaky);
        }
        Query::Baseline => {
            let run = store
                .baseline_run("pre_merge", "main")?
                .ok_or_else(|| tollgate_store::StoreError::UnknownRun("baseline".into()))?;
            let failures = store.run_failures(&run.run_key)?;
            best(&mut f.baseline_s);
            f.baseline = format!(
                "{} ({} failed tests)",
                run.run_key,
                failures.failed_tests.len()
            );
        }
        Query::Durations => {
            let durations = store.test_durations(since, NOW_MS, Some("pre_merge"))?;
            best(&mut f.durations_s);
            f.durations = durations;
        }
    }
    Ok(())
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Prints one bar's line; false when it fails.
fn bar(ok: bool, what: String) -> bool {
    println!("{} bar: {what}", if ok { "PASS" } else { "FAIL" });
    ok
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mut sizes: Vec<usize> = arg(&args, "--results")
        .unwrap_or_else(|| "1000000,10000000".into())
        .split(',')
        .map(|s| s.trim().replace('_', "").parse())
        .collect::<Result<_, _>>()?;
    sizes.sort_unstable();
    sizes.dedup();
    let rounds: usize = arg(&args, "--rounds").map_or(Ok(5), |r| r.parse())?;
    let repeat: usize = arg(&args, "--repeat").map_or(Ok(3), |r| r.parse())?;
    let keep = arg(&args, "--keep").map(std::path::PathBuf::from);
    let pg = arg(&args, "--pg");
    let tmp = tempfile::tempdir()?;
    let dir = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    // Every store, generated (or reused) first.
    let mut stores: Vec<(usize, &'static str, Store, Figures)> = Vec::new();
    let mut schemas = Vec::new();
    for &n in &sizes {
        let path = dir.join(format!("history-{n}.db"));
        let mut sqlite = Store::open(&path.display().to_string())?;
        let (results, ingest_s) = generate("sqlite", &mut sqlite, n)?;
        stores.push((
            n,
            "sqlite",
            sqlite,
            Figures {
                results,
                ingest_s,
                ..Figures::default()
            },
        ));
        if let Some(url) = &pg {
            let schema = if keep.is_some() {
                format!("tg_scale_{n}")
            } else {
                format!("tg_scale_{}_{n}", std::process::id())
            };
            let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
            admin.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
            if keep.is_none() {
                schemas.push(schema.clone());
            }
            let sep = if url.contains('?') { '&' } else { '?' };
            let mut store = Store::open(&format!("{url}{sep}options=-csearch_path%3D{schema}"))?;
            let (results, ingest_s) = generate("postgres", &mut store, n)?;
            // Fresh statistics, as autovacuum gives a store that lives.
            admin.batch_execute(&format!(
                "ANALYZE {schema}.runs, {schema}.jobs, {schema}.tests, {schema}.test_attempts"
            ))?;
            stores.push((
                n,
                "postgres",
                store,
                Figures {
                    results,
                    ingest_s,
                    ..Figures::default()
                },
            ));
        }
    }
    let outcome = (|| -> Result<bool, Box<dyn std::error::Error>> {
        eprintln!(
            "measuring: {rounds} rounds of {repeat} passes, load average {}",
            load_average()
        );
        for _ in 0..rounds.max(1) * repeat.max(1) {
            for query in [Query::Flaky, Query::Baseline, Query::Durations] {
                for (_, _, store, figures) in stores.iter_mut() {
                    measure(store, figures, query)?;
                }
            }
        }
        Ok(report(&sizes, &stores))
    })();
    if let Some(url) = &pg {
        let mut admin = postgres::Client::connect(url, postgres::NoTls)?;
        for schema in &schemas {
            admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))?;
        }
    }
    if !outcome? {
        std::process::exit(1);
    }
    Ok(())
}

fn report(sizes: &[usize], stores: &[(usize, &'static str, Store, Figures)]) -> bool {
    let get = |n: usize, backend: &str| {
        stores
            .iter()
            .find(|(m, b, _, _)| *m == n && *b == backend)
            .map(|(_, _, _, f)| f)
    };
    println!("\n| results | backend | flaky s (< 1) | baseline s (< 0.2) | durations s (< 0.5) | ingest s |");
    println!("|---:|---|---:|---:|---:|---:|");
    for (_, backend, _, f) in stores {
        println!(
            "| {} | {backend} | {:.3} | {:.4} | {:.3} | {} |",
            f.results,
            f.flaky_s,
            f.baseline_s,
            f.durations_s,
            f.ingest_s
                .map_or("(kept store)".to_string(), |s| format!("{s:.1}"))
        );
    }
    println!("load average after measuring: {}", load_average());
    let mut all = true;
    let (Some(&small), Some(&large)) = (sizes.first(), sizes.last()) else {
        return all;
    };
    for backend in ["sqlite", "postgres"] {
        let Some(b) = get(large, backend) else {
            continue;
        };
        all &= bar(
            b.flaky_s < 1.0,
            format!(
                "{backend} flaky query over 30 days at {} results: {:.3} s (< 1 s)",
                b.results, b.flaky_s
            ),
        );
        all &= bar(
            b.baseline_s < 0.2,
            format!(
                "{backend} gate baseline lookup at {} results: {:.4} s (< 0.2 s)",
                b.results, b.baseline_s
            ),
        );
        all &= bar(
            b.durations_s < 0.5,
            format!(
                "{backend} duration lookup for {} tests at {} results: {:.3} s (< 0.5 s)",
                b.durations.len(),
                b.results,
                b.durations_s
            ),
        );
        if small == large {
            continue;
        }
        let Some(a) = get(small, backend) else {
            continue;
        };
        for (what, x, y) in [
            ("flaky", a.flaky_s, b.flaky_s),
            ("baseline", a.baseline_s, b.baseline_s),
            ("durations", a.durations_s, b.durations_s),
        ] {
            let ratio = y / x;
            all &= bar(
                ratio <= 1.2,
                format!(
                    "{backend} {what} at {} / {} results: {ratio:.2}x ({y:.4} s vs {x:.4} s; <= 1.20x)",
                    b.results, a.results
                ),
            );
        }
    }
    for &n in sizes {
        if let (Some(s), Some(p)) = (get(n, "sqlite"), get(n, "postgres")) {
            let same_durations = s.durations.len() == p.durations.len()
                && s.durations.iter().zip(&p.durations).all(|(a, b)| {
                    a.test_id == b.test_id
                        && a.samples == b.samples
                        && (a.mean_s - b.mean_s).abs() < 1e-9
                });
            let ingest = match (p.ingest_s, s.ingest_s) {
                (Some(p), Some(s)) => format!("{:.2}x", p / s),
                _ => "(kept stores)".into(),
            };
            println!(
                "{} results: postgres / sqlite: flaky {:.2}x, baseline {:.2}x, durations {:.2}x, generation {ingest}",
                s.results,
                p.flaky_s / s.flaky_s,
                p.baseline_s / s.baseline_s,
                p.durations_s / s.durations_s,
            );
            all &= bar(
                s.flaky == p.flaky && s.baseline == p.baseline && same_durations,
                format!(
                    "same answers on both backends at {} results: flaky {}, baseline {}, durations {}",
                    s.results,
                    s.flaky == p.flaky,
                    s.baseline == p.baseline,
                    same_durations
                ),
            );
        }
    }
    all
}
