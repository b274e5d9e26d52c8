//! One module per subcommand. Each returns the process status; errors that
//! carry [`crate::exit::UsageError`] end with status 2.

pub mod ci;
mod collect;
pub mod config;
pub mod flaky;
pub mod gate;
pub mod grafana_dashboard;
pub mod history;
pub mod ingest;
pub mod lint;
pub mod metrics;
pub mod notify;
pub mod owners;
pub mod plan;
pub mod quarantine;
pub mod report;
pub mod run;
pub mod serve;
pub mod triage;

use crate::cli::{Cli, Command};
use crate::exit::Status;

pub fn dispatch(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Collect(args) => collect::run(&args),
        Command::Init(args) => config::init(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Gate(args) => gate::run(&args),
        Command::Flaky(args) => flaky::run(&args),
        Command::History(args) => history::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Quarantine(args) => quarantine::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Metrics(args) => metrics::run(&args),
        Command::GrafanaDashboard(args) => grafana_dashboard::run(&args),
        Command::Config(args) => config::config(&args),
        Command::Markers(args) => config::markers(&args),
        Command::Owners(args) => owners::run(&args),
        Command::Triage(args) => triage::run(&args),
        Command::Notify(args) => notify::run(&args),
        Command::Ci(args) => ci::run(&args),
    }
}
