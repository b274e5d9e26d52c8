//! `tollgate ci diff`: what today's CI selects versus what tollgate's plan
//! selects, per pipeline (SPEC §6 "Adoption").

use std::fmt::Write as _;

use clap::{Args, Subcommand, ValueEnum};
use tollgate_plan::ci::{self, CiDiff, LanguageDiff};
use tollgate_plan::{self as planner, PlanInput, Variables};

use crate::ci_source::{self, CiKind};
use crate::exit::{usage, Status};
use crate::project::ConfigLocation;

#[derive(Debug, Args)]
pub struct CiArgs {
    #[command(subcommand)]
    pub command: CiCommand,
    #[command(flatten)]
    pub location: ConfigLocation,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Per pipeline, the tests today's CI selects (its `pytest -m` expressions evaluated
    /// on the inventory, its `cargo test` steps by workspace) versus the tests tollgate's
    /// plan selects: run by both, only by the CI (with why tollgate leaves each out),
    /// only by tollgate (with the jobs that run it).
    #[command(after_help = DIFF_EXAMPLES)]
    Diff(DiffArgs),
}

const DIFF_EXAMPLES: &str = "Examples:
  tollgate init --from-ci && tollgate ci diff       import today's CI, then check the import
  tollgate ci diff --pipeline nightly --limit 0     every difference of the nightly pipeline
  tollgate ci diff --format json > diff.json

Pipelines are matched by name: today's CI is read as pr, push, nightly, weekly and release \
(see `tollgate init --from-ci --help`); a CI pipeline tollgate.toml lacks is reported and skipped.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Only this pipeline.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// Which CI to read [default: GitHub when .github/workflows exists, else GitLab].
    #[arg(long, value_enum)]
    pub ci: Option<CiKind>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
    /// Test ids printed per list in the human format (0: all).
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
}

pub fn run(args: &CiArgs) -> anyhow::Result<Status> {
    match &args.command {
        CiCommand::Diff(diff) => run_diff(&args.location, diff),
    }
}

fn run_diff(location: &ConfigLocation, args: &DiffArgs) -> anyhow::Result<Status> {
    let project = location.load()?;
    let (config, root) = (&project.config, &project.root);
    let (_, import) = ci_source::read(root, args.ci)?;
    if let Some(name) = &args.pipeline {
        if import.pipeline(name).is_none() {
            let known: Vec<&str> = import.pipelines.iter().map(|p| p.name.as_str()).collect();
            return Err(usage(format!(
                "today's CI has no pipeline `{name}` (it has: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let inventory = project.collect()?.inventory;
    let selector = tollgate_select::Selector::new(config);
    let env = |name: &str| std::env::var(name).ok();
    let mut diffs: Vec<CiDiff> = Vec::new();
    let mut skipped = Vec::new();
    for ci_pipeline in &import.pipelines {
        if args
            .pipeline
            .as_ref()
            .is_some_and(|p| *p != ci_pipeline.name)
        {
            continue;
        }
        let Some(pipeline) = config.pipelines.get(&ci_pipeline.name) else {
            skipped.push(ci_pipeline.name.clone());
            continue;
        };
        let variables = Variables::resolve(config, Some(pipeline), &[], &env)
            .map_err(|e| usage(e.to_string()))?;
        let plan = planner::plan(&PlanInput {
            config,
            inventory: &inventory,
            pipeline: &ci_pipeline.name,
            variables: &variables,
            changes: None,
            durations: None,
            shards: None,
            flaky: None,
        })
        .map_err(|e| usage(e.to_string()))?;
        diffs.push(ci::diff(ci_pipeline, &plan, &inventory, &selector));
    }
    let text = match args.format {
        DiffFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "ci": import.ci,
                "pipelines": diffs,
                "not_in_tollgate_toml": skipped,
                "untranslated": import.untranslated,
            }))? + "\n"
        }
        DiffFormat::Human => human(&diffs, &skipped, args.limit),
    };
    print!("{text}");
    Ok(Status::Success)
}

fn human(diffs: &[CiDiff], skipped: &[String], limit: usize) -> String {
    let mut out = String::new();
    for d in diffs {
        let _ = writeln!(
            out,
            "pipeline {} (today: {})",
            d.pipeline,
            d.sources.join(", ")
        );
        for (lang, side) in [("python", &d.python), ("rust", &d.rust)] {
            language(&mut out, lang, side, limit);
        }
    }
    for name in skipped {
        let _ = writeln!(
            out,
            "pipeline {name}: today's CI has it, tollgate.toml does not (add [pipelines.{name}] to compare)"
        );
    }
    if diffs.is_empty() && skipped.is_empty() {
        out.push_str("today's CI selects no tests by marker expression or cargo test\n");
    }
    out
}

fn language(out: &mut String, lang: &str, side: &LanguageDiff, limit: usize) {
    if side.ci == 0 && side.tollgate == 0 {
        return;
    }
    let coverage = side
        .coverage
        .map_or("-".to_string(), |c| format!("{:.4}", c));
    let _ = writeln!(
        out,
        "  {lang}: CI {}, tollgate {}, both {}, only CI {}, only tollgate {}; coverage of CI's selection {coverage}",
        side.ci,
        side.tollgate,
        side.both,
        side.only_ci.len(),
        side.only_tollgate.len()
    );
    for (title, list) in [
        ("only CI", &side.only_ci),
        ("only tollgate", &side.only_tollgate),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    {title}:");
        let shown = if limit == 0 {
            list.len()
        } else {
            limit.min(list.len())
        };
        for e in &list[..shown] {
            let _ = writeln!(out, "      {}  ({})", e.test, e.reason);
        }
        if shown < list.len() {
            let _ = writeln!(
                out,
                "      ... {} more (--limit 0 lists all)",
                list.len() - shown
            );
        }
    }
}
