//! Quality gates (SPEC §8) as a pure function: a gate from `tollgate.toml`,
//! the measurements of a run and its baseline go in, a [`Verdict`] comes
//! out. The CLI queries the history store and renders; nothing here does I/O.

pub mod bench;
pub mod diff;
mod evaluate;
mod model;
pub mod render;
pub mod stats;
#[cfg(test)]
mod testrng;

pub use evaluate::{evaluate, resolve_gate};
pub use model::{
    Baseline, BenchSeries, BudgetUsage, CheckResult, FileCoverage, FlakyStats, LineRange,
    Measurements, Outcome, Status, Verdict,
};

/// Why a gate could not be evaluated at all (as opposed to failing a check).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("unknown gate `{0}`")]
    UnknownGate(String),
    #[error("gate `{0}` extends itself (directly or through other gates)")]
    ExtendsCycle(String),
    #[error("invalid marker expression `{expr}` in the limit on `{metric}`: {message}")]
    LimitExpression {
        metric: String,
        expr: String,
        message: String,
    },
    #[error("invalid glob `{pattern}` in a critical coverage path")]
    Glob {
        pattern: String,
        #[source]
        source: globset::Error,
    },
}
