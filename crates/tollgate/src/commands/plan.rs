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

    /// Explain why TEST (an id as `tollgate collect` prints it) is in or out of each job.
    #[arg(long, value_name = "TEST")]
    pub explain: Option<String>,

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

    if let Some(test) = &args.explain {
        let text = planner::explain(&input, test).map_err(plan_usage)?;
        emit(args, &text)?;
        return Ok(Status::Success);
    }

    let plan = planner::plan(&input).map_err(plan_usage)?;
    let rendered = match args.format {
        PlanFormat::Human => planner::emit::human(&plan),
        PlanFormat::Json => planner::emit::json(&plan),
        PlanFormat::Gitlab => planner::emit::gitlab(&plan),
        PlanFormat::Github => {
            let out = planner::emit::github(&plan);
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                append(Path::new(&summary), &out.summary)?;
            }
            out.matrix + "\n"
        }
    };
    // The commands read these node-id files: write them before the plan.
    for file in &plan.args_files {
        planner::write_atomically(&root.join(&file.path), file.contents.as_bytes())?;
    }
    emit(args, &rendered)?;
    let mut stderr = io::stderr().lock();
    for diag in &inventory.diagnostics {
        let _ = writeln!(stderr, "{diag}");
    }
    Ok(Status::Success)
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
