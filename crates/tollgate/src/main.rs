//! `tollgate`: a test-strategy engine for Rust + Python monorepos.
//!
//! This binary is deliberately thin: argument parsing and output live here,
//! every decision lives in the library crates (`tollgate-discover-*`,
//! `tollgate-markexpr`, ...). Exit codes are part of the contract:
//! 0 success, 1 findings (`--strict` diagnostics, lint errors, failed tests),
//! 2 usage or configuration errors, 3 infrastructure errors.

mod cache;
mod ci_source;
mod cli;
mod commands;
mod delivery;
mod durations;
mod exit;
mod failures;
mod health;
mod history_store;
mod learned;
mod progress;
mod project;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's malloc: discovery builds (and a warm run
/// decodes from the cache) hundreds of thousands of small strings on every
/// core. Measured on the 54,000-item benchmark corpus (bench/README.md,
/// "Warm collect"), glibc's allocator took about a quarter of a warm
/// `collect`'s time in `malloc`, `free` and their consolidation; the crate
/// costs a few seconds of C compilation once.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // `tollgate run`'s reaper (see `tollgate_run::reaper`): not a command.
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(tollgate_run::reaper::ARG))
    {
        tollgate_run::reaper::main();
    }
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            exit::report(&err);
            exit::code_for(&err).into()
        }
    }
}
