//! One module per subcommand. Each returns the process status; errors that
//! carry [`crate::exit::UsageError`] end with status 2.

mod collect;
pub mod config;
pub mod lint;

use crate::cli::{Cli, Command};
use crate::exit::Status;

pub fn dispatch(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Collect(args) => collect::run(&args),
        Command::Init(args) => config::init(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Config(args) => config::config(&args),
        Command::Markers(args) => config::markers(&args),
    }
}
