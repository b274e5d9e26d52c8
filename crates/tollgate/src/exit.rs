//! Exit codes and top-level error reporting.

use std::process::ExitCode;

/// tollgate's exit status; see the crate docs for the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success = 0,
    Findings = 1,
    Usage = 2,
    #[allow(dead_code)] // used by `run` (infrastructure failures such as a missing runner)
    Infrastructure = 3,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        ExitCode::from(status as u8)
    }
}

/// An error that should end the process with a usage status (2): bad
/// arguments, a bad path, an invalid expression or configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

pub fn report(err: &anyhow::Error) {
    eprintln!("error: {err:#}");
}

pub fn code_for(err: &anyhow::Error) -> Status {
    if err.downcast_ref::<UsageError>().is_some() {
        Status::Usage
    } else {
        Status::Infrastructure
    }
}
