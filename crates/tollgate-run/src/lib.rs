//! `tollgate run`: drives pytest and cargo-nextest for a plan (SPEC §7).
//!
//! The core takes a plain [`RunSpec`] (built from a plan by [`from_plan`])
//! and returns a [`RunReport`]: stage order and fail-fast, parallel jobs,
//! per-test timeouts and job deadlines enforced by killing process groups,
//! retries with flaky detection, quarantine, budgets, CPU time and peak RSS
//! per job, and secret redaction of everything reported. Writing files and
//! printing belong to the CLI; recording into the history store goes through
//! [`ResultSink`].

pub mod engine;
pub mod failures;
pub mod from_plan;
pub mod github;
pub mod junit_out;
pub mod live;
pub mod outcome;
pub mod process;
pub mod progress;
pub mod pytest;
pub mod quarantine;
pub mod reaper;
pub mod redact;
pub mod report;
pub mod rust;
pub mod signals;
pub mod sink;
pub mod spec;
pub mod step;
#[cfg(feature = "store")]
pub mod store;
pub mod supervise;

pub use engine::{run, unfit_reason, EngineOptions};
pub use failures::FailureOutput;
pub use from_plan::{detect_gpus, from_plan, parse_shard, FromPlanError, MachineOptions};
pub use junit_out::write_junit;
pub use live::{plain_line, progress_mode, JobProgress, ProgressMode, RunEvent};
pub use outcome::{final_outcome, Attempt, AttemptOutcome, FinalOutcome};
pub use quarantine::{
    expired_entries, Date, ExpiredEntry, Quarantine, QuarantineEntry, QuarantineError,
};
pub use redact::{Redactor, DEFAULT_SECRET_ENV, REDACTED};
pub use report::{summary_table, to_json, JobReport, JobStatus, RunReport, RunStatus, TestReport};
pub use sink::{MemorySink, ResultSink};
pub use spec::{Budget, JobSpec, PytestStep, RunSpec, RustStep, Step, TestBudget, TestSpec};
#[cfg(feature = "store")]
pub use store::{job_batch, StoreSink};
