//! `tollgate triage [--run ID]`: a stored run's failures grouped by root
//! cause — per cluster its tests, owner, class, first sighting, whether it
//! already failed on the base branch and whether it passed on retry, and the
//! (redacted) log excerpt around the error.

use std::fmt::Write as _;

use crate::exit::Status;
use crate::failures::{find_run, triage_run, RunTriage};
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TriageFormat {
    Human,
    Json,
    Markdown,
}

pub const TRIAGE_EXAMPLES: &str = "Examples:
  tollgate triage                          the latest run's failures, clustered, with owners
  tollgate triage --run $CI_PIPELINE_ID --format markdown >> $GITHUB_STEP_SUMMARY
  tollgate triage --pipeline nightly --format json

Exit status: 0 when the run has no failures, 1 when it has, 2 on bad arguments, 3 when the store cannot be read.";

#[derive(Debug, clap::Args)]
pub struct TriageArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// The run to triage [default: the latest run (of --pipeline, if given)].
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    /// With no --run: the latest run of this pipeline.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Branch whose latest complete run says whether a failure is pre-existing.
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub base_branch: String,

    #[arg(long, value_enum, default_value_t = TriageFormat::Human)]
    pub format: TriageFormat,

    /// Do not collect the project's tests (markers and files then come only
    /// from the test ids, and per-test owner markers are not seen).
    #[arg(long)]
    pub no_collect: bool,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

pub fn run(args: &TriageArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    let mut store = crate::history_store::open_store(&project, args.store.as_deref())?;
    let run = find_run(&mut store, args.run.as_deref(), args.pipeline.as_deref())?;
    let inventory = if args.no_collect {
        None
    } else {
        project.collect().ok().map(|p| p.inventory)
    };
    let triage = triage_run(
        &project,
        &mut store,
        &run,
        &args.base_branch,
        inventory.as_ref().map(|i| i.tests.as_slice()),
    )?;
    let text = match args.format {
        TriageFormat::Json => serde_json::to_string_pretty(&triage)? + "\n",
        TriageFormat::Human => human(&triage),
        TriageFormat::Markdown => markdown(&triage),
    };
    print!("{text}");
    Ok(if triage.failures == 0 {
        Status::Success
    } else {
        Status::Findings
    })
}

fn owner(c: &crate::failures::ClusterReport) -> (String, String) {
    c.cluster.owner.as_ref().map_or_else(
        || {
            (
                "(no owner)".to_string(),
                "nothing in [owners] or CODEOWNERS claims it".to_string(),
            )
        },
        |o| (o.owners.join(", "), o.why.clone()),
    )
}

fn flags(c: &crate::failures::ClusterReport) -> String {
    let mut f = Vec::new();
    if c.pre_existing {
        f.push("pre-existing on the base branch".to_string());
    }
    if c.cluster.flaky {
        f.push("flaky (passed on retry)".to_string());
    }
    if c.streak > 1 {
        f.push(format!("failing {} runs in a row", c.streak));
    }
    f.join("; ")
}

fn human(t: &RunTriage) -> String {
    let mut out = format!(
        "run {} ({} on {}, commit {}): {} failing test(s) in {} cluster(s)\n",
        t.run_key,
        t.pipeline,
        t.branch,
        t.commit,
        t.failures,
        t.clusters.len()
    );
    for (i, c) in t.clusters.iter().enumerate() {
        let (who, why) = owner(c);
        let _ = writeln!(
            out,
            "\n#{} {} [{}]{} — {} test(s), {} failure(s)\n  signature: {}\n  owner: {who} ({why})\n  first seen: run {} (commit {})",
            i + 1,
            c.cluster.fingerprint,
            c.cluster.class.as_str(),
            c.cluster.component.as_deref().map(|x| format!(" in {x}")).unwrap_or_default(),
            c.cluster.tests.len(),
            c.cluster.failures,
            c.cluster.signature,
            c.first_seen_run,
            c.first_seen_commit,
        );
        let f = flags(c);
        if !f.is_empty() {
            let _ = writeln!(out, "  {f}");
        }
        for test in c.cluster.tests.iter().take(10) {
            let _ = writeln!(out, "  - {test}");
        }
        if c.cluster.tests.len() > 10 {
            let _ = writeln!(out, "  … and {} more", c.cluster.tests.len() - 10);
        }
        if !c.cluster.excerpt.is_empty() {
            for l in c.cluster.excerpt.lines() {
                let _ = writeln!(out, "    | {l}");
            }
        }
    }
    out
}

fn markdown(t: &RunTriage) -> String {
    let mut out = format!(
        "## tollgate triage — run {} ({} on `{}`)\n\n{} failing test(s) in {} cluster(s).\n\n| # | class | component | owner | tests | first seen | notes | signature |\n|---|---|---|---|---|---|---|---|\n",
        t.run_key, t.pipeline, t.branch, t.failures, t.clusters.len()
    );
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    for (i, c) in t.clusters.iter().enumerate() {
        let (who, _) = owner(c);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | `{}` |",
            i + 1,
            c.cluster.class.as_str(),
            c.cluster.component.as_deref().unwrap_or(""),
            esc(&who),
            c.cluster.tests.len(),
            esc(&c.first_seen_run),
            esc(&flags(c)),
            esc(&c.cluster.signature).replace('`', "'"),
        );
    }
    for (i, c) in t.clusters.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n<details><summary>#{} {} test(s)</summary>\n",
            i + 1,
            c.cluster.tests.len()
        );
        for test in c.cluster.tests.iter().take(50) {
            let _ = writeln!(out, "- `{test}`");
        }
        if !c.cluster.excerpt.is_empty() {
            let _ = writeln!(
                out,
                "\n```\n{}\n```",
                c.cluster.excerpt.replace("```", "'''")
            );
        }
        let _ = writeln!(out, "</details>");
    }
    out
}
