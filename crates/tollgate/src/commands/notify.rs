//! `tollgate notify --run ID [--dry-run]`: send (or re-send) a stored run's
//! alerts — its failure clusters and the gate checks its stored verdicts
//! failed, one message per owner per channel, de-duplicated through the
//! store — to the channels in `[notify]`.

use crate::exit::{usage, Status};
use crate::failures::{find_run, triage_run};
use crate::project::ConfigLocation;

pub const NOTIFY_EXAMPLES: &str = "Examples:
  tollgate notify --run $CI_PIPELINE_ID             send the run's alerts to [notify]'s channels
  tollgate notify --pipeline nightly --dry-run      print what would be sent, send nothing

Sending is de-duplicated: shards of one run send each message once, an alert is not repeated
within `[notify] dedup`, and a cluster that stops failing gets one resolve notice.
Exit status: 0 sent (or nothing to send), 2 bad arguments or no [notify], 3 a delivery failed.";

#[derive(Debug, clap::Args)]
pub struct NotifyArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// The run whose alerts are sent [default: the latest run (of --pipeline)].
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Branch whose latest complete run says whether a failure is pre-existing.
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub base_branch: String,

    /// Print what would be sent; send nothing and change nothing in the store.
    #[arg(long)]
    pub dry_run: bool,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

pub fn run(args: &NotifyArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    if !crate::delivery::configured(&project.config.notify) {
        return Err(usage(
            "tollgate.toml has no channel under [notify] ([[notify.webhook]], [notify.email], [notify.github_issue])",
        ));
    }
    let mut store = crate::history_store::open_store(&project, args.store.as_deref())?;
    let run = find_run(&mut store, args.run.as_deref(), args.pipeline.as_deref())?;
    let inventory = project.collect().ok().map(|p| p.inventory);
    let triage = triage_run(
        &project,
        &mut store,
        &run,
        &args.base_branch,
        inventory.as_ref().map(|i| i.tests.as_slice()),
    )?;
    let checks = crate::failures::check_failures(
        &project,
        &mut store,
        &run,
        inventory.as_ref().map(|i| i.tests.as_slice()),
    )?;
    let outcome = crate::delivery::deliver(
        &project,
        &mut store,
        &triage,
        checks.as_deref(),
        crate::health::now_ms(),
        args.dry_run,
    )?;
    for line in &outcome.lines {
        println!("{line}");
    }
    if outcome.lines.is_empty() {
        println!("nothing to send for run {}", run.run_key);
    }
    for e in &outcome.errors {
        eprintln!("notify error: {e}");
    }
    Ok(if outcome.errors.is_empty() {
        Status::Success
    } else {
        Status::Infrastructure
    })
}
