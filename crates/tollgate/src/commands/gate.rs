//! `tollgate gate --pipeline NAME`: judge a stored run against the
//! pipeline's quality gate (SPEC §8).
//!
//! The store is queried here, at the edge; `tollgate_gate::evaluate` is a
//! pure function of what was measured. Exit 0 on pass, 1 when blocked;
//! alerts are listed but never change the exit code. With `[notify]`, the
//! run's failure clusters and the checks that did not pass are sent to
//! their owners after the verdict is written.
//!
//! What each check is fed from the store:
//! - performance: this run's samples of every `(benchmark, metric)` against
//!   the samples of the same series in the latest `--perf-runs` runs of the
//!   pipeline on the base branch within `--perf-window` (the judged run left
//!   out), compared with the configured test;
//! - absolute limits: the mean of this run's samples of the metric; a limit
//!   with `expr` only looks at benchmarks named after a collected test whose
//!   markers match;
//! - budgets (`[budgets]` that apply to the pipeline): the run's recorded
//!   test durations, all attempts, of the tests the budget's expression
//!   selects — per job for `scope = "suite"`, per test (longest attempt) for
//!   `scope = "test"`. Limits with `expr` and budgets collect the project's
//!   tests for their markers; other gates never do. A suite's spend here is
//!   its tests' summed time (what the store holds for results made anywhere);
//!   `tollgate run` itself reports a suite budget against the wall time of
//!   the test phase, which is shorter when the runner runs tests in parallel.

use std::path::{Path, PathBuf};
use std::process::Command;

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use tollgate_config::{BudgetScope, Config};
use tollgate_gate::bench::{group_series, BenchValue};
use tollgate_gate::{
    render, Baseline, BudgetUsage, FileCoverage, FlakyStats, Measurements, Outcome, Verdict,
};
use tollgate_inventory::TestItem;
use tollgate_markexpr::Expression;
use tollgate_results::BenchSample;
use tollgate_store::{BenchWindow, FlakyQuery, StoredCoverage, TestTime};

use crate::health::{now_ms, write_stdout};
use crate::history_store::open_store;

use crate::exit::{usage, Status};
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GateFormat {
    Table,
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct GateArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// The pipeline whose gate applies (its `gate = ...`, else the gate of the same name).
    #[arg(long, value_name = "NAME")]
    pub pipeline: String,

    /// The run to judge [default: the latest run of the pipeline].
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    /// Branch whose latest complete run of the pipeline is the baseline.
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub base_branch: String,

    #[arg(long, value_enum, default_value_t = GateFormat::Table)]
    pub format: GateFormat,

    /// Write the verdict here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// How far back the flaky-rate check looks.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub flaky_window: String,

    /// How far back the benchmark history of the perf-regression check looks
    /// (runs of the pipeline on the base branch).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub perf_window: String,

    /// At most this many base-branch runs (the latest) form the benchmark history.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub perf_runs: u32,

    /// Do not send the run's alerts even though `[notify]` is configured.
    #[arg(long)]
    pub no_notify: bool,
}

pub fn run(args: &GateArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    let config = &project.config;
    let gate_name = gate_for_pipeline(config, &args.pipeline)?;
    let gate =
        tollgate_gate::resolve_gate(&config.gates, &gate_name).map_err(|e| usage(e.to_string()))?;
    let perf_window_ms = crate::health::window_ms("--perf-window", &args.perf_window)?;
    let flaky_window_ms = crate::health::window_ms("--flaky-window", &args.flaky_window)?;

    let mut store = open_store(&project, args.store.as_deref())?;
    let run = match &args.run {
        Some(key) => store
            .run(key)?
            .ok_or_else(|| usage(format!("no run `{key}` in the store")))?,
        None => store
            .recent_runs(Some(&args.pipeline), 1)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                usage(format!(
                    "no run of pipeline `{}` in the store",
                    args.pipeline
                ))
            })?,
    };

    let coverage = store
        .coverage_files(&run.run_key)?
        .into_iter()
        .map(file_coverage)
        .collect();
    // The baseline is an earlier run, never the judged run itself.
    let baseline_run = store.baseline_for(&run, &args.base_branch)?;
    let baseline = match &baseline_run {
        Some(base) => Some(
            store
                .coverage_files(&base.run_key)?
                .into_iter()
                .map(file_coverage)
                .collect(),
        ),
        None => None,
    };
    let flaky = match &gate.flaky_rate {
        Some(_) => {
            let report = store.flaky_tests(&FlakyQuery {
                since_ms: now_ms().saturating_sub(flaky_window_ms),
                pipeline: Some(args.pipeline.clone()),
                ..FlakyQuery::default()
            })?;
            Some(FlakyStats {
                flaky_tests: report.flaky.len() as u64,
                tests_considered: report.tests_considered,
            })
        }
        None => None,
    };
    let changed_lines = match &gate.patch_coverage {
        Some(_) => git_changed_lines(&project.root, &args.base_branch, &run.commit),
        None => None,
    };
    let failures = store.run_failures(&run.run_key)?;

    // Benchmarks: this run's series, with the base branch's history when the
    // perf-regression check needs it.
    let bench = if gate.perf_regression.is_some() || !gate.limits.is_empty() {
        let current = store.run_bench(&run.run_key)?;
        let history = match &gate.perf_regression {
            Some(_) => store.bench_window(&BenchWindow {
                pipeline: args.pipeline.clone(),
                branch: args.base_branch.clone(),
                since_ms: now_ms().saturating_sub(perf_window_ms),
                exclude_run_key: run.run_key.clone(),
                max_runs: args.perf_runs,
            })?,
            None => Vec::new(),
        };
        group_series(
            current.iter().map(bench_value),
            history.iter().map(bench_value),
        )
    } else {
        Vec::new()
    };

    // Budgets and limits with a marker expression need the tests' markers.
    let budgets: Vec<(&str, &tollgate_config::Budget)> = match gate.budgets {
        Some(_) => config
            .budgets
            .iter()
            .filter(|(_, b)| b.pipelines.is_empty() || b.pipelines.contains(&args.pipeline))
            .collect(),
        None => Vec::new(),
    };
    let inventory = if !budgets.is_empty() || gate.limits.iter().any(|l| l.expr.is_some()) {
        Some(
            project
                .collect()
                .with_context(|| {
                    format!("collecting the tests that gate `{gate_name}` selects by marker")
                })?
                .inventory,
        )
    } else {
        None
    };
    let by_id: HashMap<&str, &TestItem> = inventory
        .iter()
        .flat_map(|inv| inv.tests.iter())
        .map(|t| (t.id.as_str(), t))
        .collect();
    let budgets = if budgets.is_empty() {
        Vec::new()
    } else {
        budget_usage(&budgets, &by_id, &store.run_test_times(&run.run_key)?)?
    };
    let bench_tests = inventory.as_ref().map(|_| {
        bench
            .iter()
            .filter_map(|s| by_id.get(s.name.as_str()))
            .map(|t| (t.id.clone(), (*t).clone()))
            .collect()
    });

    let measurements = Measurements {
        critical_failures: Some(critical_failures(config, &failures)),
        coverage,
        changed_lines,
        bench,
        flaky,
        budgets,
        bench_tests,
    };
    let verdict = tollgate_gate::evaluate(&gate, &measurements, &Baseline { coverage: baseline })
        .map_err(|e| usage(format!("gate `{gate_name}`: {e}")))?;

    store.record_verdicts(&run.run_key, &stored_verdicts(&verdict), now_ms())?;

    let title = format!(
        "tollgate gate `{gate_name}` — pipeline {}, run {}",
        args.pipeline, run.run_key
    );
    let critical = measurements.critical_failures.clone().unwrap_or_default();
    let context = GateContext {
        gate: &gate_name,
        pipeline: &args.pipeline,
        run: &run,
        baseline: baseline_run.as_ref(),
        base_branch: &args.base_branch,
        critical: &critical,
    };
    let text = match args.format {
        GateFormat::Table => context.header() + &render::table(&verdict) + &context.failures(),
        GateFormat::Markdown => render::markdown(&verdict, &title) + &context.markdown(),
        GateFormat::Json => context.json(&verdict) + "\n",
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => write_stdout(&text)?,
    }
    for alert in verdict.alerts() {
        eprintln!("alert: {}: {}", alert.name, alert.detail);
    }
    let status = match verdict.verdict {
        Outcome::Pass => Status::Success,
        Outcome::Blocked => Status::Findings,
    };
    // Alerts go out after the verdict is written: a notify failure never
    // loses it, and changes the exit status only with `[notify] fatal`.
    if crate::delivery::configured(&config.notify) && !args.no_notify {
        let tests = inventory.as_ref().map(|i| i.tests.as_slice());
        let sent =
            crate::failures::triage_run(&project, &mut store, &run, &args.base_branch, tests)
                .and_then(|t| {
                    let checks =
                        crate::failures::check_failures(&project, &mut store, &run, tests)?;
                    crate::delivery::deliver(
                        &project,
                        &mut store,
                        &t,
                        checks.as_deref(),
                        now_ms(),
                        false,
                    )
                });
        let errors = match sent {
            Ok(outcome) => {
                for line in &outcome.lines {
                    eprintln!("notify: {line}");
                }
                outcome.errors
            }
            Err(e) => vec![format!("{e:#}")],
        };
        for e in &errors {
            eprintln!("notify error: {e}");
        }
        if !errors.is_empty() && config.notify.fatal {
            return Ok(Status::Infrastructure);
        }
    }
    Ok(status)
}

/// The pipeline's `gate = ...`, else a gate named like the pipeline.
fn gate_for_pipeline(config: &Config, pipeline: &str) -> anyhow::Result<String> {
    if let Some(gate) = config.pipelines.get(pipeline).and_then(|p| p.gate.clone()) {
        return Ok(gate);
    }
    if config.gates.contains_key(pipeline) {
        return Ok(pipeline.to_string());
    }
    let known: Vec<&str> = config.pipelines.keys().collect();
    Err(usage(format!(
        "pipeline `{pipeline}` has no gate (pipelines: {}); set `gate = \"...\"` on it or add [gates.{pipeline}]",
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    )))
}

fn file_coverage(stored: StoredCoverage) -> FileCoverage {
    FileCoverage {
        path: stored.path,
        language: stored.language,
        covered_lines: stored.covered_lines,
        uncovered_lines: stored.uncovered_lines,
    }
}

fn stored_verdicts(verdict: &Verdict) -> Vec<tollgate_store::Verdict> {
    verdict
        .checks
        .iter()
        .map(|c| tollgate_store::Verdict {
            check: c.name.clone(),
            status: c.status.as_str().to_string(),
            measured: c.measured,
            threshold: c.threshold,
            detail: c.detail.clone(),
        })
        .collect()
}

/// Changed lines of the run's commit (or HEAD) against the base branch,
/// from git; `None` when git cannot tell (no repository, unknown branch).
fn git_changed_lines(
    root: &Path,
    base_branch: &str,
    commit: &str,
) -> Option<std::collections::BTreeMap<String, Vec<tollgate_gate::LineRange>>> {
    let head = if commit.is_empty() { "HEAD" } else { commit };
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["diff", "--no-color", "--no-ext-diff", "--relative", "-U0"])
        .arg(format!("{base_branch}...{head}"))
        .arg("--")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(tollgate_gate::diff::changed_lines(
        &String::from_utf8_lossy(&output.stdout),
    ))
}

/// Failures that block: gating jobs that failed (a job's recorded status
/// already accounts for retries and quarantine), and failed tests of jobs that
/// failed or whose status is unknown (results ingested from elsewhere). A job
/// tollgate.toml does not know counts as gating: unknown is not harmless.
/// What the verdict is about: the run judged, its baseline, and every
/// critical failure (the table shows the first few).
struct GateContext<'a> {
    gate: &'a str,
    pipeline: &'a str,
    run: &'a tollgate_store::RunInfo,
    baseline: Option<&'a tollgate_store::RunInfo>,
    base_branch: &'a str,
    critical: &'a [String],
}

/// Failing jobs and tests listed under the table.
const LISTED_FAILURES: usize = 10;

impl GateContext<'_> {
    fn short(commit: &str) -> &str {
        commit.get(..12).unwrap_or(commit)
    }

    fn baseline_text(&self) -> String {
        match self.baseline {
            Some(b) => format!(
                "baseline run {} (commit {}, branch {})",
                b.run_key,
                Self::short(&b.commit),
                b.branch
            ),
            None => format!(
                "no baseline: no earlier complete run of `{}` on `{}`",
                self.pipeline, self.base_branch
            ),
        }
    }

    fn header(&self) -> String {
        format!(
            "gate `{}` for pipeline `{}`: run {} (commit {}, branch {}); {}\n\n",
            self.gate,
            self.pipeline,
            self.run.run_key,
            Self::short(&self.run.commit),
            self.run.branch,
            self.baseline_text()
        )
    }

    fn failures(&self) -> String {
        if self.critical.is_empty() {
            return String::new();
        }
        let mut out = String::from("\ncritical failures:\n");
        for f in self.critical.iter().take(LISTED_FAILURES) {
            out.push_str(&format!("  {f}\n"));
        }
        if self.critical.len() > LISTED_FAILURES {
            out.push_str(&format!(
                "  and {} more (`--format json` lists them all)\n",
                self.critical.len() - LISTED_FAILURES
            ));
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = format!("\n{}\n", self.baseline_text());
        if !self.critical.is_empty() {
            out.push_str("\n**Critical failures**\n\n");
            for f in self.critical.iter().take(LISTED_FAILURES) {
                out.push_str(&format!("- `{}`\n", f.replace('`', "'")));
            }
            if self.critical.len() > LISTED_FAILURES {
                out.push_str(&format!(
                    "- and {} more\n",
                    self.critical.len() - LISTED_FAILURES
                ));
            }
        }
        out
    }

    /// The verdict with every check's detail, the run, the baseline, the
    /// alerts and every critical failure.
    fn json(&self, verdict: &tollgate_gate::Verdict) -> String {
        let run = |r: &tollgate_store::RunInfo| {
            serde_json::json!({
                "key": r.run_key,
                "commit": r.commit,
                "branch": r.branch,
                "started_at_ms": r.started_at_ms,
                "complete": r.complete,
            })
        };
        let value = serde_json::json!({
            "gate": self.gate,
            "pipeline": self.pipeline,
            "verdict": verdict.verdict,
            "run": run(self.run),
            "baseline": self.baseline.map(run),
            "checks": verdict.checks.iter().map(|c| serde_json::json!({
                "name": c.name,
                "status": c.status,
                "measured": c.measured,
                "threshold": c.threshold,
                "detail": c.detail,
            })).collect::<Vec<_>>(),
            "alerts": verdict.alerts().map(|c| serde_json::json!({
                "name": c.name,
                "detail": c.detail,
            })).collect::<Vec<_>>(),
            "critical_failures": self.critical,
        });
        serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// A job status as the store keeps it (`infrastructureerror`), as a person reads it.
fn stored_status_text(status: &str) -> &str {
    match status {
        "infrastructureerror" => "infrastructure error",
        "passedwithflakes" => "passed with flaky tests",
        "notrunnable" => "not runnable",
        other => other,
    }
}

fn critical_failures(
    config: &tollgate_config::Config,
    failures: &tollgate_store::RunFailures,
) -> Vec<String> {
    // Plan job names may carry a suffix (`e2e_1[vllm]`, `unit#2`); the config
    // names the base job.
    let gating = |job: &str| {
        let base = job.split(['[', '#']).next().unwrap_or(job);
        config.jobs.get(base).is_none_or(|j| j.gating)
    };
    let mut critical: Vec<String> = failures
        .failed_jobs
        .iter()
        .filter(|(job, _)| gating(job))
        .map(|(job, status)| format!("job {job} ({})", stored_status_text(status)))
        .collect();
    critical.extend(
        failures
            .failed_tests
            .iter()
            .filter(|t| gating(&t.job))
            .filter(|t| {
                t.job_status.is_empty() || failures.failed_jobs.iter().any(|(j, _)| *j == t.job)
            })
            .map(|t| t.test_id.clone()),
    );
    critical
}

fn bench_value(sample: &BenchSample) -> BenchValue<'_> {
    BenchValue {
        name: &sample.name,
        metric: &sample.metric,
        unit: &sample.unit,
        value: sample.value,
    }
}

/// What the run spent against each time budget: the tests a budget's marker
/// expression selects, per job (a suite budget: the job's time on them) or
/// one by one (a per-test budget: the longest attempt). A test the inventory
/// does not know has no markers and falls under no budget.
fn budget_usage(
    budgets: &[(&str, &tollgate_config::Budget)],
    tests: &HashMap<&str, &TestItem>,
    times: &[TestTime],
) -> anyhow::Result<Vec<BudgetUsage>> {
    let mut out = Vec::new();
    for (name, budget) in budgets {
        let expr = Expression::parse(&budget.expr).map_err(|e| {
            usage(format!(
                "budget `{name}`: expression {:?}: {e}",
                budget.expr
            ))
        })?;
        let limit_s = budget.limit.as_secs_f64();
        let selected = times.iter().filter(|t| {
            tests
                .get(t.test_id.as_str())
                .is_some_and(|item| expr.evaluate(*item))
        });
        // (subject, spent) of everything the budget covers.
        let spends: Vec<(String, f64)> = match budget.scope {
            BudgetScope::Suite => {
                let mut per_job: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
                for t in selected {
                    let entry = per_job.entry(&t.job).or_default();
                    entry.0 += t.total_s;
                    entry.1 += 1;
                }
                per_job
                    .into_iter()
                    .map(|(job, (spent, n))| {
                        let tests = if n == 1 { "test" } else { "tests" };
                        (format!("job {job}: summed time of {n} {tests}"), spent)
                    })
                    .collect()
            }
            BudgetScope::Test => selected
                .map(|t| (format!("test {} in job {}", t.test_id, t.job), t.max_s))
                .collect(),
        };
        let worst = spends
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
        out.push(BudgetUsage {
            name: (*name).to_string(),
            spent_s: worst.map(|w| w.1),
            limit_s,
            subject: worst.map(|w| w.0.clone()).unwrap_or_default(),
            over: spends.iter().filter(|s| s.1 > limit_s).count() as u64,
            action: budget.action,
        });
    }
    Ok(out)
}
