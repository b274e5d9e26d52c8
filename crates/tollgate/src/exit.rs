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
    /// `run`: nothing failed, but a gating job could not run on this machine.
    Incomplete = 4,
    /// `collect`: the selection is empty (pytest's exit code 5).
    NoTests = 5,
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

/// A usage error for a name that is not among `known` (`pipeline`,
/// `component`, ...), with a did-you-mean and the list.
pub fn unknown_name<'a>(
    what: &str,
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> anyhow::Error {
    let list: Vec<&str> = known.clone().into_iter().collect();
    let hint = match tollgate_config::closest(name, known) {
        Some(close) => format!("did you mean `{close}`? "),
        None => String::new(),
    };
    usage(format!(
        "unknown {what} `{name}`: {hint}(known: {})",
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    ))
}

pub fn report(err: &anyhow::Error) {
    eprintln!("{}", render_error(err));
}

/// `error: ` and the error with each cause once: a cause whose text the
/// message before it already contains (a library error that prints its
/// source) is not repeated, and a message that already starts with `error:`
/// (a rendered config diagnostic) does not get a second one (pure).
pub fn render_error(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || parts.iter().any(|p| p.contains(text)) {
            continue;
        }
        parts.push(text.to_string());
    }
    let joined = parts.join(": ");
    match joined.strip_prefix("error:") {
        Some(rest) => format!("error:{rest}"),
        None => format!("error: {joined}"),
    }
}

pub fn code_for(err: &anyhow::Error) -> Status {
    if err.downcast_ref::<UsageError>().is_some() {
        Status::Usage
    } else {
        Status::Infrastructure
    }
}

/// Lets go of `value` without freeing it, for the large read-only results a
/// command holds until it exits (the inventory of every test, a plan).
///
/// Why: the process is about to end, and the operating system takes its
/// memory back at once; freeing 60,000 tests' strings one by one first cost
/// about a sixth of a warm `tollgate collect` on the benchmark corpus.
/// Only for plain data: nothing with a destructor that must run (files to
/// flush, child processes, temporary directories) may be passed here.
pub fn release_at_exit<T>(value: T) {
    std::mem::forget(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the store: {0}")]
    struct StoreError(#[source] std::io::Error);

    #[test]
    fn each_cause_is_said_once_and_error_once() {
        let io = std::io::Error::other("database is locked");
        let err = anyhow::Error::new(StoreError(io)).context("cannot record the run");
        assert_eq!(
            render_error(&err),
            "error: cannot record the run: cannot open the store: database is locked"
        );
        let config = usage("error: unknown key `jbos`\n --> tollgate.toml:3:1");
        assert_eq!(
            render_error(&config),
            "error: unknown key `jbos`\n --> tollgate.toml:3:1"
        );
    }
}
