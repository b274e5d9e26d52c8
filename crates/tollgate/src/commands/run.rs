//! `tollgate run`: plan the pipeline, then drive pytest and cargo-nextest
//! through `tollgate-run` and write the results.
//!
//! Everything that decides lives in `tollgate-run` (a pure-ish engine over a
//! plain `RunSpec`); this module loads the inputs, prints, and writes files.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tollgate_config::VarValue;
use tollgate_plan::{self as planner, PlanInput, Variables};
use tollgate_run::{
    self as runner, EngineOptions, JobProgress, MachineOptions, ProgressMode, Quarantine, Redactor,
    RunEvent, RunStatus,
};

use crate::exit::{usage, Status};
use crate::project::{ConfigLocation, Project};

/// Run a pipeline here: stages in order, retries, quarantine, budgets, redaction.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  tollgate run --pipeline pr                      every job of the pull-request pipeline that fits here
  tollgate run --pipeline pr --job unit --json results.json --junit results.xml
  tollgate run --pipeline nightly --shard 2/8     shard 2 of 8 on CI runner 2

Progress goes to stderr (bars on a terminal; one plain line per event when stderr is not a
terminal or CI is set); the summary table goes to stdout. The run is recorded in the history
store unless --no-store is given; judge it afterwards with `tollgate gate --pipeline NAME`.

Failures are shown like pytest and nextest show them: each failed, timed-out or flaky test with
its assertion or panic message and captured output (bounded, secrets redacted), a failed
build's compiler errors, a failed command's output; see --failure-output.

Verdicts: a test killed at its timeout is \"timed out\"; tests whose build failed are \"not run
(build failed)\", not failed; a gating job this machine cannot run (it needs a GPU, say) makes
the pipeline INCOMPLETE unless declared optional here with --optional JOB.

How commands run: pytest and nextest run as argument vectors (node ids in an args file). A job
without tests runs its `commands`: as an argument vector when a command has no shell syntax,
through `sh -c` only when it does (`&&`, `|`, `>`, `$VAR`...). Placeholders such as {MODEL} or
{job} are filled in POSIX-quoted, so a variable's value is always data. Secret values (HF_TOKEN,
*_TOKEN, *_KEY, ...) are redacted from everything printed, stored or written. If tollgate is
killed, a reaper process stops the run's processes and removes its scratch directories.

Exit codes: 0 passed (flaky tests and quarantined failures allowed), 1 tests or a gating job
failed, 2 usage or configuration error, 3 infrastructure error (pytest not installed,
say) or interrupted (partial results are written, marked incomplete), 4 incomplete: nothing
failed but a gating job did not run on this machine.")]
pub struct RunArgs {
    /// The pipeline to run, as named under `[pipelines]` in tollgate.toml (e.g. pr, nightly).
    #[arg(long, value_name = "NAME")]
    pub pipeline: String,

    /// Run only this job (its plan name, e.g. `e2e_1[vllm]`, or its `[jobs.NAME]` table).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,

    /// Run shard K of N of every test job: the tests `tollgate plan --shards N` puts in
    /// shard K (balanced by the durations in the history store; give both the same
    /// store and the same `--durations-until`).
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

    /// Do not use what `tollgate learn` or `tollgate run` recorded of pytest's own collection
    /// for entries static discovery flags dynamic.
    #[arg(long)]
    pub no_learned: bool,

    #[command(flatten)]
    pub cache: crate::project::CacheChoice,

    /// Do not record the run in the history store (`[store]` in tollgate.toml).
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// When to print failure details: `immediate` as each job ends, `final` once before
    /// the summary (stdout), `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = FailureOutputArg::Final)]
    pub failure_output: FailureOutputArg,

    /// A job (plan name or `[jobs.NAME]` table) this runner may leave unrun: when it
    /// cannot run here (no GPU, say) the pipeline is still judged instead of INCOMPLETE.
    /// Repeatable.
    #[arg(long = "optional", value_name = "JOB")]
    pub optional: Vec<String>,

    #[command(flatten)]
    pub durations_until: crate::durations::DurationsUntil,

    #[command(flatten)]
    pub location: ConfigLocation,
}

pub fn run(args: &RunArgs) -> anyhow::Result<Status> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    put_own_directory_on_path();
    let project = args.location.load()?;
    let (config, root) = (&project.config, &project.root);

    // Every input is checked before anything runs: an output that could not
    // be written at the end would lose the whole run's results.
    for path in [&args.json, &args.junit].into_iter().flatten() {
        planner::check_output_target(&cwd.join(path)).map_err(|e| usage(e.to_string()))?;
    }
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

    let inventory = project
        .collect_with(
            languages_to_run(config, pipeline, args.job.as_deref()),
            crate::learned::Use {
                enabled: !args.no_learned,
                store: args.store.as_deref(),
            },
            args.cache,
        )?
        .inventory;
    let analysis = changed
        .map(|files| planner::analyze_for_pipeline(config, pipeline, root, &files, &inventory));
    // `--shard K/N` splits every job as `tollgate plan --shards N` does, by
    // the same recorded durations, so shard K here is shard K of that plan.
    let shard_count = args
        .shard
        .as_deref()
        .map(runner::parse_shard)
        .transpose()
        .map_err(|e| usage(e.to_string()))?
        .map(|(_, n)| n);
    let recorded = match shard_count {
        Some(n) if n > 1 => crate::durations::recorded_durations(
            &project,
            args.store.as_deref(),
            args.durations_until.ms()?,
        ),
        _ => crate::durations::Recorded::default(),
    };
    if let Some(note) = &recorded.note {
        eprintln!("note: {note}");
    }
    let (flaky, flaky_note) = if args.no_store {
        (None, None)
    } else {
        crate::durations::recorded_flakiness(&project, args.store.as_deref())
    };
    if let Some(note) = &flaky_note {
        eprintln!("note: {note}");
    }
    let input = PlanInput {
        config,
        inventory: &inventory,
        pipeline: &args.pipeline,
        variables: &variables,
        changes: analysis.as_ref(),
        durations: recorded.durations.as_ref(),
        shards: shard_count,
        flaky: flaky.as_ref(),
    };
    let plan = planner::plan(&input).map_err(|e| usage(e.to_string()))?;
    let machine = MachineOptions {
        gpus: args.gpus,
        provides: args.provides.clone(),
        job: args.job.clone(),
        shard: args.shard.clone(),
        fail_fast: ci_fail_fast(&variables),
    };
    let mut spec = runner::from_plan(&plan, config, &inventory, root, &machine)
        .map_err(|e| usage(e.to_string()))?;
    for asked in &args.optional {
        if !pipeline.jobs.iter().any(|j| same_job(j, asked))
            && !plan.jobs.iter().any(|j| same_job(&j.name, asked))
        {
            return Err(usage(format!(
                "--optional {asked}: pipeline `{}` has no such job (its jobs: {})",
                args.pipeline,
                pipeline.jobs.join(", ")
            )));
        }
    }
    for job in &mut spec.jobs {
        job.optional = args.optional.iter().any(|o| same_job(&job.name, o));
    }
    // Every pytest job records what pytest collected (the learned
    // inventory), into a private directory read back when the run is
    // recorded.
    let learn_dir = if args.no_store {
        None
    } else {
        tempfile::Builder::new()
            .prefix("tollgate-learned-")
            .tempdir()
            .ok()
    };
    if let Some(dir) = &learn_dir {
        crate::learned::add_to_pytest_steps(&mut spec, dir.path());
    }

    let mut stderr = io::stderr().lock();
    for expired in runner::expired_entries(&quarantine, runner::Date::today_utc()) {
        let _ = writeln!(
            stderr,
            "warning: {}: quarantine entry `{}` {}: it no longer applies",
            quarantine_path.display(),
            expired.id,
            expired.problem
        );
    }
    // With `--job`, only that job's story is told (the others were not run
    // on purpose, and their languages may not even have been collected).
    let told = |job: &str| args.job.as_deref().is_none_or(|j| same_job(job, j));
    for dropped in plan.dropped.iter().filter(|d| told(&d.name)) {
        let _ = writeln!(stderr, "not run: {}: {}", dropped.name, dropped.reason);
    }
    for test in plan.unrunnable.iter().filter(|t| told(&t.job)) {
        let _ = writeln!(
            stderr,
            "not runnable here: {} in {}: {}",
            test.test, test.job, test.reason
        );
    }
    drop(stderr);

    runner::signals::install_handlers();
    runner::supervise::adopt_orphans();
    // If tollgate is killed (SIGKILL: no handler runs), the reaper stops what
    // it started and removes its scratch directories.
    if let Ok(exe) = std::env::current_exe() {
        if !runner::reaper::start(&exe) {
            eprintln!("warning: cannot start the reaper: if tollgate is killed, its test processes may outlive it");
        }
    }
    STARTED_MS.get_or_init(now_ms);
    let mode = runner::progress_mode(
        io::stderr().is_terminal(),
        std::env::var("CI").ok().as_deref(),
        std::env::var("TERM").ok().as_deref(),
    );
    let display = Progress::new(mode, args.failure_output == FailureOutputArg::Immediate);
    let progress = |event: &RunEvent| display.show(event);
    let opts = EngineOptions::new(&quarantine, &redactor, &progress);
    let report = runner::run(&spec, &opts);
    // Whatever a test left running (nextest gives each test its own process
    // group) dies with the run.
    runner::supervise::kill_adopted_orphans();
    display.finish();

    // The store first: its record never depends on a report file.
    if !args.no_store {
        record(
            &project,
            args.store.as_deref(),
            &plan,
            &report,
            &redactor,
            learn_dir.as_ref().map(tempfile::TempDir::path),
        );
    }
    // Partial results are written too: `complete: false` says they are partial.
    let mut file_error: Option<anyhow::Error> = None;
    if let Some(path) = &args.json {
        let text = redactor.redact_owned(runner::to_json(&report));
        if let Err(e) = planner::write_atomically(&cwd.join(path), text.as_bytes()) {
            file_error.get_or_insert(anyhow::Error::new(e));
        }
    }
    if let Some(path) = &args.junit {
        let written = runner::write_junit(&report)
            .with_context(|| "cannot render the JUnit report")
            .and_then(|xml| {
                let xml = redactor.redact_owned(String::from_utf8_lossy(&xml).into_owned());
                planner::write_atomically(&cwd.join(path), xml.as_bytes())
                    .map_err(anyhow::Error::new)
            });
        if let Err(e) = written {
            file_error.get_or_insert(e);
        }
    }
    let mut summary = String::new();
    if args.failure_output == FailureOutputArg::Final {
        let details = runner::failures::details(&report, &Default::default());
        if !details.is_empty() {
            summary.push_str(&details);
            summary.push('\n');
        }
    }
    summary.push_str(&runner::summary_table(&report));
    let summary = redactor.redact_owned(summary);
    if let Err(e) = io::stdout().lock().write_all(summary.as_bytes()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e).context("cannot write to stdout");
        }
    }
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        github_actions(&report, &redactor);
    }
    if let Some(e) = file_error {
        return Err(e);
    }
    Ok(match report.status {
        RunStatus::Passed => Status::Success,
        RunStatus::Failed => Status::Findings,
        RunStatus::InfrastructureError | RunStatus::Interrupted => Status::Infrastructure,
        RunStatus::Incomplete => Status::Incomplete,
    })
}

/// `--failure-output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailureOutputArg {
    Immediate,
    Final,
    Never,
}

/// Under GitHub Actions: the step summary appended to `$GITHUB_STEP_SUMMARY`
/// and `::error` annotations (capped) on stdout, both redacted.
fn github_actions(report: &runner::RunReport, redactor: &Redactor) {
    let mut stdout = io::stdout().lock();
    for line in runner::github::annotations(report) {
        let _ = writeln!(stdout, "{}", redactor.redact(&line));
    }
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let text = redactor.redact_owned(runner::github::step_summary(report));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "warning: cannot write the step summary to {}: {e}",
            Path::new(&path).display()
        );
    }
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

/// Records the run in the history store (located like `tollgate gate` does:
/// `--store`, else `[store]`). A store problem is reported, never turned into
/// a failed run: the tests' verdict stands on its own.
fn record(
    project: &Project,
    flag: Option<&str>,
    plan: &planner::Plan,
    report: &runner::RunReport,
    redactor: &Redactor,
    learn_dir: Option<&Path>,
) {
    let root = &project.root;
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
    // The key `tollgate ingest` uses for the same CI run, so shards recorded
    // either way merge.
    let run_key = tollgate_store::ci_run_key(&|name| std::env::var(name).ok())
        .unwrap_or_else(|| format!("local-{}-{started_at_ms}", plan.pipeline));
    let run = tollgate_store::RunMeta {
        run_key,
        commit: git(&["rev-parse", "HEAD"]),
        branch: git(&["rev-parse", "--abbrev-ref", "HEAD"]),
        pipeline: plan.pipeline.clone(),
        variables: plan
            .variables
            .iter()
            .map(|(k, v)| (k.to_string(), redactor.redact_owned(v.value.to_string())))
            .collect(),
        runner: std::env::var("RUNNER_NAME").unwrap_or_else(|_| "local".to_string()),
        started_at_ms,
    };
    let run_key = run.run_key.clone();
    // Bounded by the store's client-side deadline: a PostgreSQL server that
    // stalls mid-query costs a warning, never the end of the run.
    let report = report.clone();
    let result =
        crate::history_store::with_store(project, flag, "recording of the run", move |store| {
            let mut sink = runner::StoreSink { store, run };
            runner::ResultSink::record(&mut sink, &report).map_err(|e| anyhow::anyhow!("{e}"))
        });
    if let Err(e) = result {
        eprintln!("warning: the run was not recorded in the history store: {e:#}");
        return;
    }
    if let Some(dir) = learn_dir {
        if let Err(e) = crate::learned::record_dir(project, flag, dir, &run_key) {
            eprintln!("warning: what pytest collected was not recorded: {e:#}");
        }
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

/// Live progress on stderr: a bar per running job on a terminal, else one
/// plain line per event (see `tollgate_run::live` for the choice and format).
struct Progress {
    mode: ProgressMode,
    /// Print each job's failure details as it ends.
    immediate: bool,
    bars: Option<MultiProgress>,
    jobs: std::sync::Mutex<std::collections::HashMap<String, (ProgressBar, JobProgress)>>,
    /// Without bars: each running job's progress, when it started and when
    /// its last heartbeat line was printed.
    plain: std::sync::Mutex<std::collections::HashMap<String, PlainJob>>,
}

/// A running job's state for the heartbeat lines of a CI log.
struct PlainJob {
    progress: JobProgress,
    started: std::time::Instant,
    last_line: std::time::Instant,
}

/// How often at most a running job says how far it is in a CI log.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(60);

impl Progress {
    fn new(mode: ProgressMode, immediate: bool) -> Self {
        let bars = (mode == ProgressMode::Bars)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        Progress {
            mode,
            immediate,
            bars,
            jobs: std::sync::Mutex::new(std::collections::HashMap::new()),
            plain: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn show(&self, event: &RunEvent) {
        if let RunEvent::JobFailures { text, .. } = event {
            if self.immediate {
                match self.bars.as_ref() {
                    Some(bars) => {
                        let _ = bars.println(text.trim_end());
                    }
                    None => {
                        let _ = write!(io::stderr().lock(), "{text}");
                    }
                }
            }
            return;
        }
        let Some(bars) = self
            .bars
            .as_ref()
            .filter(|_| self.mode == ProgressMode::Bars)
        else {
            if let Some(line) = runner::plain_line(event) {
                let _ = writeln!(io::stderr().lock(), "{line}");
            }
            self.heartbeat(event);
            return;
        };
        let Ok(mut jobs) = self.jobs.lock() else {
            return;
        };
        if let RunEvent::JobStarted { job, tests } = event {
            let bar = bars.add(ProgressBar::new(*tests as u64));
            let template = if *tests == 0 {
                "{spinner} {prefix:.bold} {elapsed} {wide_msg}"
            } else {
                "{spinner} {prefix:.bold} [{bar:20}] {pos}/{len} {elapsed} {wide_msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(job.clone());
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            jobs.insert(job.clone(), (bar, JobProgress::default()));
        }
        let finished = matches!(event, RunEvent::JobFinished { .. });
        if let Some((bar, state)) = jobs.get_mut(event.job()) {
            state.apply(event);
            bar.set_position(state.done() as u64);
            bar.set_message(state.message());
        }
        // Failures, job ends and jobs not run stay on screen above the bars.
        if !matches!(event, RunEvent::JobStarted { .. }) {
            if let Some(line) = runner::plain_line(event) {
                let _ = bars.println(line);
            }
        }
        if finished {
            if let Some((bar, _)) = jobs.remove(event.job()) {
                bar.finish_and_clear();
            }
        }
    }

    /// A line a minute at most for a running job in a CI log, so that a long
    /// job is not minutes of silence.
    fn heartbeat(&self, event: &RunEvent) {
        let Ok(mut plain) = self.plain.lock() else {
            return;
        };
        let now = std::time::Instant::now();
        match event {
            RunEvent::JobStarted { job, .. } => {
                let mut progress = JobProgress::default();
                progress.apply(event);
                plain.insert(
                    job.clone(),
                    PlainJob {
                        progress,
                        started: now,
                        last_line: now,
                    },
                );
            }
            RunEvent::JobFinished { job, .. } | RunEvent::JobNotStarted { job, .. } => {
                plain.remove(job);
            }
            _ => {
                if let Some(state) = plain.get_mut(event.job()) {
                    state.progress.apply(event);
                    if now.duration_since(state.last_line) >= HEARTBEAT {
                        state.last_line = now;
                        let elapsed = now.duration_since(state.started).as_secs_f64();
                        let line = state.progress.plain_line(event.job(), elapsed);
                        let _ = writeln!(io::stderr().lock(), "{line}");
                    }
                }
            }
        }
    }

    /// Clears what is left of the bars before the summary is printed.
    fn finish(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            for (_, (bar, _)) in jobs.drain() {
                bar.finish_and_clear();
            }
        }
        if let Some(bars) = &self.bars {
            let _ = bars.clear();
        }
    }
}

/// The languages whose tests the jobs about to run can select: a job's
/// `languages` (empty: both), over the pipeline's jobs or just `--job`'s. A
/// pipeline of Rust-only jobs does not pay for Python discovery.
fn languages_to_run(
    config: &tollgate_config::Config,
    pipeline: &tollgate_config::Pipeline,
    job: Option<&str>,
) -> crate::project::Languages {
    use tollgate_inventory::Language;
    let mut languages = crate::project::Languages {
        python: false,
        rust: false,
    };
    for name in &pipeline.jobs {
        // `--job` names a plan job (`e2e_1[vllm]`) or its table (`e2e_1`).
        if job.is_some_and(|j| !same_job(j, name)) {
            continue;
        }
        let Some(spec) = config.jobs.get(name) else {
            // Unknown here: the planner reports it; collect everything.
            return crate::project::Languages::BOTH;
        };
        if spec.expr.is_none() {
            continue; // lint, build: commands only, no tests
        }
        if spec.languages.is_empty() {
            return crate::project::Languages::BOTH;
        }
        languages.python |= spec.languages.contains(&Language::Python);
        languages.rust |= spec.languages.contains(&Language::Rust);
    }
    languages
}

/// Whether plan job `plan_name` (`e2e_1[vllm]`, `unit#2`) is `--job asked`:
/// the plan name itself or its `[jobs.NAME]` table.
fn same_job(plan_name: &str, asked: &str) -> bool {
    plan_name == asked || plan_name.split(['[', '#']).next() == Some(asked)
}

#[cfg(test)]
mod language_tests {
    use super::*;

    fn config(text: &str) -> tollgate_config::Config {
        tollgate_config::Config::from_str(text, "tollgate.toml").unwrap()
    }

    #[test]
    fn only_the_languages_of_the_jobs_that_run_are_collected() {
        let config = config(&format!(
            "{}{}",
            tollgate_config::presets::MINIMAL,
            r#"
[jobs.py]
stage = 2
expr = "unit"
languages = ["python"]

[jobs.rs]
stage = 2
expr = "unit"
languages = ["rust"]

[jobs.any]
stage = 2
expr = "unit"

[pipelines.rust_only]
stage = "pre_merge"
on = "pull_request"
jobs = ["lint", "rs"]

[pipelines.split]
stage = "pre_merge"
on = "pull_request"
jobs = ["py", "rs"]

[pipelines.all]
stage = "pre_merge"
on = "pull_request"
jobs = ["lint", "any"]
"#
        ));
        let langs = |pipeline: &str, job: Option<&str>| {
            let p = config.pipelines.get(pipeline).expect("pipeline");
            let l = languages_to_run(&config, p, job);
            (l.python, l.rust)
        };
        assert_eq!(langs("rust_only", None), (false, true));
        assert_eq!(langs("split", None), (true, true));
        assert_eq!(langs("split", Some("rs")), (false, true));
        assert_eq!(langs("split", Some("py[vllm]")), (true, false));
        assert_eq!(langs("split", Some("py")), (true, false));
        assert_eq!(langs("all", None), (true, true));
        assert!(same_job("e2e_1[vllm]", "e2e_1"));
        assert!(same_job("unit#2", "unit"));
        assert!(!same_job("unit_2", "unit"));
    }
}
