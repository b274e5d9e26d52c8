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
pub mod learn;
pub mod lint;
pub mod metrics;
pub mod notify;
pub mod owners;
pub mod plan;
pub mod quarantine;
pub mod report;
pub mod run;
pub mod serve;
pub mod store;
pub mod triage;

use crate::cli::{Cli, Command};
use crate::exit::Status;

pub fn dispatch(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Collect(args) => collect::run(&args),
        Command::Init(args) => config::init(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Learn(args) => learn::run(&args),
        Command::Gate(args) => gate::run(&args),
        Command::Flaky(args) => flaky::run(&args),
        Command::History(args) => history::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Quarantine(args) => quarantine::run(&args),
        Command::Store(args) => store::run(&args),
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
        Command::Completions(args) => completions(&args),
        Command::Man(args) => man(&args),
    }
}

/// `tollgate completions SHELL`: clap_complete's script on stdout.
fn completions(args: &crate::cli::CompletionsArgs) -> anyhow::Result<Status> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let shell = match args.shell {
        crate::cli::Shell::Bash => Shell::Bash,
        crate::cli::Shell::Zsh => Shell::Zsh,
        crate::cli::Shell::Fish => Shell::Fish,
    };
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "tollgate", &mut out);
    write_stdout(&out)
}

/// `tollgate man`: the man page (roff) on stdout, or with `--dir` one page
/// per command (`tollgate.1`, `tollgate-run.1`, ...) written there.
fn man(args: &crate::cli::ManArgs) -> anyhow::Result<Status> {
    use anyhow::Context;
    use clap::CommandFactory;
    let command = Cli::command();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(command, dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        eprintln!("wrote the man pages into {}", dir.display());
        return Ok(Status::Success);
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(command).render(&mut out)?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<Status> {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_all(bytes) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(anyhow::Error::new(e).context("cannot write to stdout"));
        }
    }
    Ok(Status::Success)
}
