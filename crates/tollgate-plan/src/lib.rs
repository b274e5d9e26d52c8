//! Pipelines to plans (SPEC §6): which jobs a CI event runs, on what
//! runners, with which exact commands and tests — narrowed by the changed
//! files when the pipeline is change-aware — and the emitters that hand the
//! plan to a CI system.
//!
//! - [`Variables::resolve`]: trigger variables from flags, environment,
//!   pipeline and defaults.
//! - [`parse_changed_files`], [`git::changed_files`]: the change set;
//!   [`ProjectGraph::scan`] + [`analyze`]: what it reaches.
//! - [`plan`]: the pure core — [`PlanInput`] in, [`Plan`] out.
//! - [`emit`]: human, JSON, GitHub Actions matrix + step summary, GitLab
//!   child pipeline; [`explain`]: why a test is in or out of each job.
//! - [`strategy_checks`]: whole-strategy findings, shared with lint.
//! - [`shards`]: a job's tests into shards of near-equal recorded duration.
//!
//! Only [`git`], [`ProjectGraph::scan`] and [`write_atomically`] touch the
//! outside world.

mod changes;
pub mod ci;
mod commands;
pub mod emit;
mod error;
mod explain;
mod filterset;
pub mod git;
mod model;
mod planner;
mod py_imports;
mod pytest_expr;
mod rust_graph;
pub mod shards;
mod strategy;
mod vars;
mod write;

pub use changes::{
    analyze, analyze_for_pipeline, parse_changed_files, ChangeAnalysis, ChangeScope, ChangedFile,
    Claim, ProjectGraph,
};
pub use commands::shell_quote;
pub use error::PlanError;
pub use explain::explain;
pub use filterset::{MAX_COMMAND, MAX_FILTERSET_ARG};
pub use model::{
    ArgsFile, DroppedJob, Plan, PlannedJob, RunnerNeeds, Shard, UncoveredTest, UnrunnableTest,
};
pub use planner::{find_pipeline, plan, pytest_arg_problem, PlanInput, ARGS_DIR};
pub use py_imports::{extract_imports, Import, ImportGraph};
pub use rust_graph::RustGraph;
pub use strategy::{strategy_checks, Finding};
pub use vars::{ResolvedVar, VarSource, Variables};
pub use write::{check_output_target, new_temp_file, write_atomically};
