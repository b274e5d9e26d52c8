//! `tollgate run`: plan the pipeline, then drive pytest and cargo-nextest
//! through `tollgate-run` and write the results.
//!
//! Everything that decides lives in `tollgate-run` (a pure-ish engine over a
//! plain `RunSpec`); this module loads the inputs, prints, and writes files.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tollgate_config::{Config, VarValue};
use tollgate_plan::{self as planner, PlanInput, Variables};
use tollgate_run::{
    self as runner, EngineOptions, MachineOptions, Quarantine, Redactor, RunStatus,
};

use crate::exit::{usage, Status};
use crate::project::ConfigLocation;

/// Run a pipeline here: stages in order, retries, quarantine, budgets, redaction.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline to run, as named under `[pipelines]` in tollgate.toml (e.g. pr, nightly).
    #[arg(long, value_name = "NAME")]
    pub pipeline: String,

    /// Run only this job (its plan name, e.g. `e2e_1[vllm]`, or its `[jobs.NAME]` table).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,

    /// Run the K-th of N shards of each job.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    /// Narrow a change-aware pipeline to what changed since the merge base of REF and HEAD.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,

    /// Set a trigger variable declared in tollgate.toml. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Write one merged JUnit report of the run to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write the results as JSON to FILE (per test id: outcome and attempts).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// GPUs this machine offers [default: counted with `nvidia-smi -L`, else 0].
    #[arg(long, value_name = "N")]
    pub gpus: Option<u32>,

    /// Runner capabilities this machine provides (`k8s`, `h100`, ...). Repeatable.
    #[arg(long = "provides", value_name = "MARKER")]
    pub provides: Vec<String>,

    /// Do not record the run in the history store (`[store]` in tollgate.toml).
    #[arg(long)]
    pub no_store: bool,

    #[command(flatten)]
    pub location: ConfigLocation,
}

pub fn run(args: &RunArgs) -> anyhow::Result<Status> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    put_own_directory_on_path();
    let project = args.location.load()?;
    let (config, root) = (&project.config, &project.root);

    // Every input is checked before anything runs.
    let pipeline =
        planner::find_pipeline(config, &args.pipeline).map_err(|e| usage(e.to_string()))?;
    let env = |name: &str| std::env::var(name).ok();
    let variables = Variables::resolve(config, Some(pipeline), &args.vars, &env)
        .map_err(|e| usage(e.to_string()))?;
    let redactor = Redactor::from_process_env(&config.run.redact.env, &config.run.redact.patterns)
        .map_err(|e| usage(format!("[run.redact]: {e}")))?;
    let quarantine_path = root.join(&config.quarantine.file);
    let quarantine = Quarantine::load(&quarantine_path).map_err(|e| usage(e.to_string()))?;
    let changed = match &args.base {
        Some(base) => {
            Some(planner::git::changed_files(root, base).map_err(|e| usage(e.to_string()))?)
        }
        None => None,
    };

    let inventory = project.collect()?.inventory;
    let analysis = changed
        .map(|files| planner::analyze_for_pipeline(config, pipeline, root, &files, &inventory));
    let input = PlanInput {
        config,
        inventory: &inventory,
        pipeline: &args.pipeline,
        variables: &variables,
        changes: analysis.as_ref(),
    };
    let plan = planner::plan(&input).map_err(|e| usage(e.to_string()))?;
    let machine = MachineOptions {
        gpus: args.gpus,
        provides: args.provides.clone(),
        job: args.job.clone(),
        shard: args.shard.clone(),
        fail_fast: ci_fail_fast(&variables),
    };
    let spec = runner::from_plan(&plan, config, &inventory, root, &machine)
        .map_err(|e| usage(e.to_string()))?;

    let mut stderr = io::stderr().lock();
    for expired in runner::expired_entries(&quarantine, runner::Date::today_utc()) {
        let _ = writeln!(
            stderr,
            "warning: {}: quarantine entry `{}` {:?}: it no longer applies",
            quarantine_path.display(),
            expired.id,
            expired.problem
        );
    }
    for dropped in &plan.dropped {
        let _ = writeln!(stderr, "not run: {}: {}", dropped.name, dropped.reason);
    }
    for test in &plan.unrunnable {
        let _ = writeln!(
            stderr,
            "not runnable here: {} in {}: {}",
            test.test, test.job, test.reason
        );
    }
    drop(stderr);

    runner::signals::install_handlers();
    STARTED_MS.get_or_init(now_ms);
    let progress = |line: &str| progress_line(line);
    let opts = EngineOptions::new(&quarantine, &redactor, &progress);
    let report = runner::run(&spec, &opts);

    // Partial results are written too: `complete: false` says they are partial.
    if let Some(path) = &args.json {
        let text = redactor.redact_owned(runner::to_json(&report));
        planner::write_atomically(&cwd.join(path), text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        let xml = runner::write_junit(&report).with_context(|| "cannot render the JUnit report")?;
        let xml = redactor.redact_owned(String::from_utf8_lossy(&xml).into_owned());
        planner::write_atomically(&cwd.join(path), xml.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !args.no_store {
        record(config, root, &plan, &report);
    }
    let summary = redactor.redact_owned(runner::summary_table(&report));
    if let Err(e) = io::stdout().lock().write_all(summary.as_bytes()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e).context("cannot write to stdout");
        }
    }
    Ok(match report.status {
        RunStatus::Passed => Status::Success,
        RunStatus::Failed => Status::Findings,
        RunStatus::InfrastructureError | RunStatus::Interrupted => Status::Infrastructure,
    })
}

static STARTED_MS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();

/// Job commands may call `tollgate` itself (`tollgate lint` as the lint job):
/// they get this very binary, whatever is installed elsewhere on PATH.
fn put_own_directory_on_path() {
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    else {
        return;
    };
    let mut paths = vec![dir];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    if let Ok(joined) = std::env::join_paths(paths) {
        // Called first thing in `run`, before any thread is started.
        std::env::set_var("PATH", joined);
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Records the run in the history store. A store problem is reported, never
/// turned into a failed run: the tests' verdict stands on its own.
fn record(config: &Config, root: &Path, plan: &planner::Plan, report: &runner::RunReport) {
    let url = config
        .store
        .url_env
        .as_deref()
        .and_then(|name| std::env::var(name).ok())
        .unwrap_or_else(|| config.store.url.clone());
    let location = match url.strip_prefix("sqlite://") {
        Some(path) if !Path::new(path).is_absolute() => {
            format!("sqlite://{}", root.join(path).display())
        }
        _ => url,
    };
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let started_at_ms = *STARTED_MS.get_or_init(now_ms);
    let run_key = ["TOLLGATE_RUN_KEY", "CI_PIPELINE_ID", "GITHUB_RUN_ID"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| format!("local-{}-{started_at_ms}", plan.pipeline));
    let run = tollgate_store::RunMeta {
        run_key,
        commit: git(&["rev-parse", "HEAD"]),
        branch: git(&["rev-parse", "--abbrev-ref", "HEAD"]),
        pipeline: plan.pipeline.clone(),
        variables: plan
            .variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.value.to_string()))
            .collect(),
        runner: std::env::var("RUNNER_NAME").unwrap_or_else(|_| "local".to_string()),
        started_at_ms,
    };
    let result = tollgate_store::Store::open(&location)
        .map_err(|e| e.to_string())
        .and_then(|store| {
            let mut sink = runner::StoreSink { store, run };
            runner::ResultSink::record(&mut sink, report).map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        eprintln!("warning: the run was not recorded in the history store: {e}");
    }
}

/// `CI_FAIL_FAST` from the declared variables, else the environment.
fn ci_fail_fast(variables: &Variables) -> Option<bool> {
    let text = match variables.get("CI_FAIL_FAST") {
        Some(VarValue::Bool(b)) => return Some(*b),
        Some(value) => value.to_string(),
        None => std::env::var("CI_FAIL_FAST").ok()?,
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Progress goes to stderr, one plain line per event: readable in CI logs
/// and in a terminal alike (lines arrive from parallel jobs).
fn progress_line(line: &str) {
    let mut err = io::stderr().lock();
    let prefix = if io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        "· "
    } else {
        ""
    };
    let _ = writeln!(err, "{prefix}{line}");
}
