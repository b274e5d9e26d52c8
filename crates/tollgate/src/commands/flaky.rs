//! `tollgate flaky [--window 30d] [--component X]`: which tests flake, per
//! test and per component, with the evidence (commits on which a test both
//! passed and failed, attempts) and the `tollgate quarantine add` lines a
//! maintainer would run for the worst offenders.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tollgate_config::{compile_globs, Config};
use tollgate_store::{FlakyQuery, FlakyTest, TestHistoryEntry};

use crate::exit::{usage, Status};
use crate::health::{now_ms, write_stdout};
use crate::history_store::open_store_read;
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlakyFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct FlakyArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// How far back to look (`30d`, `12h`, ...).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub window: String,

    /// Only tests of this component (from `[components]`).
    #[arg(long, value_name = "NAME")]
    pub component: Option<String>,

    /// Only runs of this pipeline.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Worst offenders shown (and given evidence and a quarantine line).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Suggest quarantine from this flake rate (percent of commits) up.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0)]
    pub quarantine_above: f64,

    #[arg(long, value_enum, default_value_t = FlakyFormat::Table)]
    pub format: FlakyFormat,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// One flaky test with the component it belongs to and the commits that prove it.
#[derive(Debug, serde::Serialize)]
struct Offender {
    #[serde(flatten)]
    test: FlakyTest,
    component: Option<String>,
    /// Commits on which it both passed and failed, newest first.
    evidence: Vec<Evidence>,
}

#[derive(Debug, serde::Serialize)]
struct Evidence {
    commit: String,
    /// Outcomes in attempt order, e.g. `failed, passed`.
    outcomes: Vec<String>,
}

pub fn run(args: &FlakyArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    if let Some(name) = &args.component {
        if !project.config.components.contains_key(name) {
            let known: Vec<&str> = project.config.components.keys().collect();
            return Err(crate::exit::unknown_name("component", name, known));
        }
    }
    if let Some(name) = &args.pipeline {
        if !project.config.pipelines.contains_key(name) {
            let known: Vec<&str> = project.config.pipelines.keys().collect();
            return Err(crate::exit::unknown_name("pipeline", name, known));
        }
    }
    let components = ComponentMatcher::new(&project.config)?;
    let mut store = open_store_read(&project, args.store.as_deref())?;
    let report = store.flaky_tests(&FlakyQuery {
        since_ms: now_ms().saturating_sub(crate::health::window_ms("--window", &args.window)?),
        pipeline: args.pipeline.clone(),
        ..FlakyQuery::default()
    })?;

    let mut offenders = Vec::new();
    for test in report.flaky.iter().cloned() {
        let component = components.component_of(&test.test_id);
        if args.component.is_some() && component != args.component {
            continue;
        }
        offenders.push(Offender {
            test,
            component,
            evidence: Vec::new(),
        });
    }
    for offender in offenders.iter_mut().take(args.top) {
        let history = store.test_history(&offender.test.test_id, 500)?;
        offender.evidence = evidence(&history);
    }

    let mut per_component: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for o in &offenders {
        let key = o.component.clone().unwrap_or_else(|| "(none)".to_string());
        let entry = per_component.entry(key).or_default();
        entry.0 += 1;
        entry.1 += o.test.flaky_commits;
        entry.2 += o.test.failed_attempts;
    }

    if args.format == FlakyFormat::Json {
        let value = serde_json::json!({
            "window": args.window,
            "runs_considered": report.runs_considered,
            "runs_excluded_as_infrastructure": report.runs_excluded,
            "tests_considered": report.tests_considered,
            "flaky_rate_percent": report.flaky_rate_percent(),
            "components": per_component.iter().map(|(name, (tests, commits, failed))| serde_json::json!({
                "component": name, "flaky_tests": tests, "flaky_commits": commits, "failed_attempts": failed,
            })).collect::<Vec<_>>(),
            "tests": offenders.iter().take(args.top).collect::<Vec<_>>(),
            "quarantine": suggestions(&offenders, args).collect::<Vec<_>>(),
        });
        write_stdout(&(serde_json::to_string_pretty(&value)? + "\n"))?;
        return Ok(Status::Success);
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "window {}: {} runs ({} left out as infrastructure failures), {} tests, {} flaky ({:.2}%)",
        args.window,
        report.runs_considered,
        report.runs_excluded,
        report.tests_considered,
        report.flaky.len(),
        report.flaky_rate_percent()
    );
    if offenders.is_empty() {
        let _ = writeln!(out, "no flaky tests");
        write_stdout(&out)?;
        return Ok(Status::Success);
    }
    let _ = writeln!(out, "\nper component:");
    for (name, (tests, commits, failed)) in &per_component {
        let _ = writeln!(
            out,
            "  {name:<24} {tests} flaky tests, {commits} flaky commits, {failed} failed attempts"
        );
    }
    let _ = writeln!(out, "\nworst offenders:");
    for o in offenders.iter().take(args.top) {
        let t = &o.test;
        let _ = writeln!(
            out,
            "  {:>6.1}%  {}  ({} of {} commits, {} of {} attempts failed){}",
            100.0 * t.flake_rate,
            t.test_id,
            t.flaky_commits,
            t.commits,
            t.failed_attempts,
            t.attempts,
            o.component
                .as_deref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default()
        );
        for e in o.evidence.iter().take(3) {
            let _ = writeln!(
                out,
                "           {}: {}",
                short(&e.commit),
                e.outcomes.join(" → ")
            );
        }
    }
    let lines: Vec<String> = suggestions(&offenders, args).collect();
    if !lines.is_empty() {
        let _ = writeln!(out, "\nsuggested quarantine:");
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    write_stdout(&out)?;
    Ok(Status::Success)
}

fn suggestions<'a>(
    offenders: &'a [Offender],
    args: &'a FlakyArgs,
) -> impl Iterator<Item = String> + 'a {
    offenders
        .iter()
        .take(args.top)
        .filter(|o| 100.0 * o.test.flake_rate >= args.quarantine_above)
        .map(|o| {
            let reason = format!(
                "flaky on {} of {} commits in the last {}",
                o.test.flaky_commits, o.test.commits, args.window
            );
            format!(
                "tollgate quarantine add {} --reason {}",
                shell_quote(&o.test.test_id),
                shell_quote(&reason)
            )
        })
}

/// Commits on which the test both passed and failed, with outcomes in attempt order.
fn evidence(history: &[TestHistoryEntry]) -> Vec<Evidence> {
    let mut by_commit: Vec<(String, Vec<&TestHistoryEntry>)> = Vec::new();
    for entry in history {
        match by_commit.iter_mut().find(|(c, _)| *c == entry.commit) {
            Some((_, entries)) => entries.push(entry),
            None => by_commit.push((entry.commit.clone(), vec![entry])),
        }
    }
    by_commit
        .into_iter()
        .filter(|(_, entries)| {
            entries.iter().any(|e| e.outcome == "passed")
                && entries.iter().any(|e| e.outcome == "failed")
        })
        .map(|(commit, mut entries)| {
            entries.sort_by_key(|e| (e.started_at_ms, e.attempt));
            Evidence {
                commit,
                outcomes: entries.iter().map(|e| e.outcome.clone()).collect(),
            }
        })
        .collect()
}

/// Test → component: the file part of the id against `paths`, else the
/// first `::` segment against `packages` (Rust ids start with the crate).
struct ComponentMatcher {
    components: Vec<(String, PathMatcher)>,
}

type PathMatcher = Box<dyn Fn(&str) -> bool>;

impl ComponentMatcher {
    fn new(config: &Config) -> anyhow::Result<Self> {
        let mut components = Vec::new();
        for (name, component) in config.components.iter() {
            let globs = compile_globs(&component.paths)
                .map_err(|e| usage(format!("component `{name}`: {e}")))?;
            let packages = component.packages.clone();
            let matcher: PathMatcher =
                Box::new(move |file| globs.is_match(file) || packages.iter().any(|p| p == file));
            components.push((name.to_string(), matcher));
        }
        Ok(ComponentMatcher { components })
    }

    fn component_of(&self, test_id: &str) -> Option<String> {
        let file = test_id.split("::").next().unwrap_or(test_id);
        self.components
            .iter()
            .find(|(_, matches)| matches(file))
            .map(|(name, _)| name.clone())
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// POSIX single-quoting, so a suggested command can be pasted as is.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
