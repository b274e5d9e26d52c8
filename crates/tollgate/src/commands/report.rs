//! `tollgate report`: the test health of a run from the history store, as
//! one self-contained HTML file and/or the Markdown summary for a pull
//! request (`$GITHUB_STEP_SUMMARY`, a PR comment).

use std::path::PathBuf;

use anyhow::Context;
use tollgate_report::{html, markdown, GatherError, GatherOptions};

use crate::exit::{usage, Status};
use crate::health;
use crate::project::ConfigLocation;

pub const EXAMPLES: &str = "Examples:
  tollgate report --html target/tollgate-report/index.html
  tollgate report --markdown >> \"$GITHUB_STEP_SUMMARY\"
  tollgate report --pipeline nightly --runs 50 --html nightly.html --markdown --max-bytes 60000
  tollgate report --run \"$CI_PIPELINE_ID\" --base-branch main --markdown

The HTML file needs no network (open it from file:// or a CI artifact): overview with the gate's \
verdict and the changes against the base run (the latest complete run of the pipeline on the base \
branch), failures by component with every attempt's output, flaky tests, slowest tests, owners → \
components → tests, trends per branch (pass rate, flake rate, duration p50/p95, coverage), jobs' \
resources, coverage, benchmarks with their change points, and a page per test with its history. \
Keys: / search, 1-9 and 0 tabs, j/k move, Enter open. Exit codes: 0 written, 2 usage, 3 store unreachable.";

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// Write the HTML report to FILE (its directory is created).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Print the Markdown summary to standard output.
    #[arg(long)]
    pub markdown: bool,

    /// Write the Markdown summary to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub markdown_file: Option<PathBuf>,

    /// The Markdown summary stays within this many bytes (least important
    /// sections cut first, with "N more" lines).
    #[arg(long, value_name = "N", default_value_t = markdown::GITHUB_SUMMARY_LIMIT)]
    pub max_bytes: usize,

    /// The run to report on [default: the latest run, of --pipeline when given].
    #[arg(long, value_name = "KEY")]
    pub run: Option<String>,

    /// Only runs of this pipeline.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Runs of history in the report (history strips and trends).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub runs: u32,

    /// The branch whose latest complete run is the base of the comparison
    /// [default: the run's own branch].
    #[arg(long, value_name = "BRANCH")]
    pub base_branch: Option<String>,

    /// How far back flakiness is measured.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub flaky_window: String,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<Status> {
    if args.html.is_none() && !args.markdown && args.markdown_file.is_none() {
        return Err(usage(
            "nothing to write: pass --html FILE, --markdown or --markdown-file FILE",
        ));
    }
    if args.runs == 0 {
        return Err(usage("--runs must be at least 1"));
    }
    let project = args.location.load()?;
    let components = health::components(&project)?;
    let redact = health::redact_fn(health::redactor(&project)?);
    let window = health::window_ms("--flaky-window", &args.flaky_window)?;
    let now = health::now_ms();
    let mut store = health::open_store(&project, args.store.as_deref())?;
    let title = format!(
        "{} test report",
        project.config.project.name.as_deref().unwrap_or("tollgate")
    );
    let input = tollgate_report::gather(
        &mut store,
        &GatherOptions {
            run: args.run.clone(),
            pipeline: args.pipeline.clone(),
            runs: args.runs,
            base_branch: args.base_branch.clone(),
            include_tests: args.html.is_some(),
            title,
            now_ms: now,
            flaky_since_ms: now.saturating_sub(window),
        },
    )
    .map_err(|e| match e {
        GatherError::Store(e) => anyhow::Error::new(e).context("cannot read the store"),
        other => usage(other.to_string()),
    })?;
    let report = tollgate_report::build(&input, &components);
    let value = tollgate_report::redacted_json(&report, &redact);

    if let Some(path) = &args.html {
        let page = html::render_value(&value, html::Mode::File);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "wrote {} ({} tests, run {})",
            path.display(),
            report.counts.tests,
            report.meta.run.key
        );
    }
    if args.markdown || args.markdown_file.is_some() {
        // Redacting can only shorten a secret to `[REDACTED]` or lengthen a
        // short one: render, redact, and render smaller if it grew.
        let mut budget = args.max_bytes;
        let text = loop {
            let text = markdown::render(&report, budget);
            let text = redact(&text).unwrap_or(text);
            if text.len() <= args.max_bytes || budget == 0 {
                break text;
            }
            budget = budget.saturating_sub(text.len() - args.max_bytes);
        };
        match &args.markdown_file {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                std::fs::write(path, &text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            None => health::write_stdout(&text)?,
        }
    }
    Ok(Status::Success)
}
