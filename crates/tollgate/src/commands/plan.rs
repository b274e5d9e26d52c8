//! `tollgate plan`: config, discovery and changed files (I/O) → a plan
//! (pure, `tollgate-plan`) → an emitter → stdout or `--output`.
//!
//! Every check that can fail on bad input (config, pipeline, variables,
//! changed files, git) runs before anything is written, and files are
//! written atomically, so an error never leaves a partial file behind.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use tollgate_plan::{self as planner, PlanError, PlanInput, Variables};

use crate::durations::{recorded_durations, DurationsUntil, Recorded};
use crate::exit::{usage, Status};
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A table for terminals and CI logs.
    Human,
    /// The whole plan: `{"pipeline", "framework", "jobs": [...], "dropped": [...], ...}`.
    Json,
    /// A GitHub Actions `strategy.matrix` (`{"include": [...]}`); the step summary goes to
    /// `$GITHUB_STEP_SUMMARY` when it is set.
    Github,
    /// A GitLab child pipeline (YAML).
    Gitlab,
}

/// Plan a pipeline: its jobs, runners, exact commands and tests.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Do not use what `tollgate learn` or `tollgate run` recorded of pytest's own collection
    /// for entries static discovery flags dynamic.
    #[arg(long)]
    pub no_learned: bool,

    #[command(flatten)]
    pub cache: crate::project::CacheChoice,

    /// The pipeline to plan, as named under `[pipelines]` in tollgate.toml (e.g. pr, nightly).
    #[arg(long, value_name = "NAME")]
    pub pipeline: String,

    /// Narrow a change-aware pipeline to what changed since the merge base of REF and HEAD
    /// (uncommitted changes included).
    #[arg(long, value_name = "REF", conflicts_with = "changed_files")]
    pub base: Option<String>,

    /// Narrow a change-aware pipeline to these changed files: one path per line (or
    /// NUL-separated), relative to the project root; `-` reads stdin.
    #[arg(long, value_name = "FILE|-")]
    pub changed_files: Option<PathBuf>,

    /// Set a trigger variable declared in tollgate.toml (beats the environment, the
    /// pipeline's `set` and the default). Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,

    /// Write the output to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Only this job (its name as the plan prints it, e.g. `unit` or `e2e_1[vllm]`, or its
    /// `[jobs.NAME]`): print it and write only the files its commands read. CI jobs run
    /// this to recreate those files where they run, instead of copying them from the
    /// planning job.
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,

    /// Explain why TEST (an id as `tollgate collect` prints it) is in or out of each job.
    #[arg(long, value_name = "TEST")]
    pub explain: Option<String>,

    /// Split every job that runs tests into N shards (overriding `shards` in tollgate.toml
    /// and the pipeline's overrides; 1 turns sharding off), balanced by the durations
    /// recorded in the history store: shard K/N holds exactly the tests that
    /// `tollgate run --pipeline NAME --shard K/N` runs. Jobs with fewer tests than N get
    /// fewer shards.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shards: Option<u32>,

    /// History store to read test durations from when sharding: a SQLite file path or a
    /// postgres:// URL [default: `[store]` in tollgate.toml]. A missing or empty store
    /// balances shards by test count. Give `tollgate run --shard` the same store.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Write the node-id files that commands read with `@FILE` (selections too long or too
    /// irregular for a command line) under DIR, as `DIR/<pipeline>/<job>.args`. The printed
    /// commands read them from `.tollgate/plan`: `--write-args .tollgate/plan` makes them
    /// run as printed. Without it, `plan` writes nothing.
    #[arg(long, value_name = "DIR")]
    pub write_args: Option<PathBuf>,

    #[command(flatten)]
    pub durations_until: DurationsUntil,

    #[command(flatten)]
    pub location: ConfigLocation,
}

pub fn run(args: &PlanArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    let (config, root) = (&project.config, &project.root);

    // Bad input first: nothing is discovered or written before these pass.
    let pipeline = planner::find_pipeline(config, &args.pipeline).map_err(plan_usage)?;
    let env = |name: &str| std::env::var(name).ok();
    let variables =
        Variables::resolve(config, Some(pipeline), &args.vars, &env).map_err(plan_usage)?;
    let changed = changed_files(args, root)?;

    let inventory = project
        .collect_learned(
            crate::learned::Use {
                enabled: !args.no_learned,
                store: args.store.as_deref(),
            },
            args.cache,
        )?
        .inventory;
    let analysis = changed
        .map(|files| planner::analyze_for_pipeline(config, pipeline, root, &files, &inventory));
    let recorded = if shards_anything(config, pipeline, args.shards) {
        recorded_durations(&project, args.store.as_deref(), args.durations_until.ms()?)
    } else {
        Recorded::default()
    };
    let (flaky, flaky_note) = crate::durations::recorded_flakiness(&project, args.store.as_deref());
    let input = PlanInput {
        config,
        inventory: &inventory,
        pipeline: &args.pipeline,
        variables: &variables,
        changes: analysis.as_ref(),
        durations: recorded.durations.as_ref(),
        shards: args.shards,
        flaky: flaky.as_ref(),
    };

    // Every format passes through the run's redaction: a secret a variable
    // took from the environment (or a test id holds) is never printed.
    let redactor = tollgate_run::Redactor::from_process_env(
        &config.run.redact.env,
        &config.run.redact.patterns,
    )
    .map_err(|e| usage(format!("[run.redact]: {e}")))?;
    if let Some(test) = &args.explain {
        let text = planner::explain(&input, test).map_err(plan_usage)?;
        emit(args, &redactor.redact_owned(text))?;
        return Ok(Status::Success);
    }

    let mut plan = planner::plan(&input).map_err(plan_usage)?;
    plan.replan = Some(replan_command(args));
    if let Some(name) = &args.job {
        keep_only_job(&mut plan, name)?;
    }
    if let (Some(note), Some("default")) = (flaky_note, plan.framework_source.as_deref()) {
        plan.notes.insert(0, note);
    }
    if let Some(note) = recorded.note {
        if plan.jobs.iter().any(|j| !j.shards.is_empty()) {
            plan.notes.insert(0, note);
        }
    }
    let rendered = match args.format {
        PlanFormat::Human => planner::emit::human(&plan),
        PlanFormat::Json => planner::emit::json(&plan),
        PlanFormat::Gitlab => planner::emit::gitlab(&plan),
        PlanFormat::Github => {
            let out = planner::emit::github(&plan);
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                append(Path::new(&summary), &redactor.redact(&out.summary))?;
            }
            out.matrix + "\n"
        }
    };
    let rendered = redactor.redact_owned(rendered);
    // The commands read these node-id files: written (before the plan) only
    // when asked, so that planning leaves the work tree alone.
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if let Some(dir) = &args.write_args {
        let dir = cwd.join(dir);
        for file in &plan.args_files {
            let relative = Path::new(&file.path)
                .strip_prefix(planner::ARGS_DIR)
                .unwrap_or(Path::new(&file.path));
            let target = dir.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let contents = redactor.redact(&file.contents);
            planner::write_atomically(&target, contents.as_bytes())
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    emit(args, &rendered)?;
    let mut stderr = io::stderr().lock();
    if args.write_args.is_none() && !plan.args_files.is_empty() {
        let _ = writeln!(
            stderr,
            "note: {} command(s) read their tests from files under {}; write them with \
             `--write-args {}` to run the commands as printed (or use `tollgate run`)",
            plan.args_files.len(),
            planner::ARGS_DIR,
            planner::ARGS_DIR
        );
    }
    for diag in &inventory.diagnostics {
        let _ = writeln!(stderr, "{diag}");
    }
    crate::exit::release_at_exit((plan, inventory, analysis, rendered));
    Ok(Status::Success)
}

/// `tollgate plan` as invoked, without the options that only shape its
/// output: what a CI job runs with `--job NAME` to get the same plan.
fn replan_command(args: &PlanArgs) -> String {
    use tollgate_plan::shell_quote;
    let mut words = vec![
        "tollgate plan --pipeline".to_string(),
        shell_quote(&args.pipeline),
    ];
    if let Some(base) = &args.base {
        words.push(format!("--base {}", shell_quote(base)));
    }
    for var in &args.vars {
        words.push(format!("--var {}", shell_quote(var)));
    }
    if let Some(n) = args.shards {
        words.push(format!("--shards {n}"));
    }
    if let Some(config) = &args.location.config {
        words.push(format!(
            "--config {}",
            shell_quote(&config.to_string_lossy())
        ));
    }
    words.join(" ")
}

/// Keeps the job called `name` (or every instance of `[jobs.NAME]`) and the
/// files its commands read.
fn keep_only_job(plan: &mut tollgate_plan::Plan, name: &str) -> anyhow::Result<()> {
    let matches = |j: &tollgate_plan::PlannedJob| j.name == name || j.job == name;
    if !plan.jobs.iter().any(matches) {
        let known: Vec<&str> = plan.jobs.iter().map(|j| j.name.as_str()).collect();
        return Err(usage(format!(
            "pipeline `{}` plans no job `{name}` (it plans: {})",
            plan.pipeline,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    plan.jobs.retain(matches);
    let commands: Vec<&String> = plan
        .jobs
        .iter()
        .flat_map(|j| {
            j.commands
                .iter()
                .chain(j.shards.iter().flat_map(|s| s.commands.iter()))
        })
        .collect();
    plan.args_files
        .retain(|f| commands.iter().any(|c| c.contains(&f.path)));
    Ok(())
}

/// Whether any job of `pipeline` may be sharded (only then is the store read).
fn shards_anything(
    config: &tollgate_config::Config,
    pipeline: &tollgate_config::Pipeline,
    flag: Option<u32>,
) -> bool {
    if let Some(n) = flag {
        return n > 1;
    }
    pipeline.jobs.iter().any(|name| {
        let over = pipeline.overrides.get(name).and_then(|o| o.shards);
        let job = config.jobs.get(name).map_or(1, |j| j.shards);
        over.unwrap_or(job) > 1
    })
}

/// Every planner error is the user's input (a flag, a file, the repository).
fn plan_usage(err: PlanError) -> anyhow::Error {
    usage(err.to_string())
}

fn changed_files(args: &PlanArgs, root: &Path) -> anyhow::Result<Option<Vec<String>>> {
    if let Some(base) = &args.base {
        let files = planner::git::changed_files(root, base).map_err(|e| plan_usage(e.into()))?;
        return Ok(Some(files));
    }
    let Some(path) = &args.changed_files else {
        return Ok(None);
    };
    let (text, origin) = if path.as_os_str() == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("cannot read the changed files from stdin: {e}")))?;
        (text, "<stdin>".to_string())
    } else {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
        (text, path.display().to_string())
    };
    planner::parse_changed_files(&text, &origin)
        .map(Some)
        .map_err(plan_usage)
}

fn emit(args: &PlanArgs, text: &str) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            planner::write_atomically(path, text.as_bytes())?;
            Ok(())
        }
        None => {
            // A closed pipe (`tollgate plan | head`) is not an error worth reporting.
            match io::stdout().lock().write_all(text.as_bytes()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(e).context("cannot write to stdout")
                }
                _ => Ok(()),
            }
        }
    }
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
