//! The plan: plain data, serialized as-is by the JSON emitter (its shape is
//! a contract scripts rely on: `pipeline`, `framework`, `jobs[].name`,
//! `.stage`, `.gating`, `.runner`, `.commands`, `.tests`, `dropped[].name`,
//! `.reason`).

use serde::Serialize;

use crate::changes::ChangeAnalysis;
use crate::vars::Variables;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub pipeline: String,
    /// The lifecycle stage the pipeline runs (tests of earlier stages included).
    pub stage: String,
    /// The framework under test (`framework = "selected"` jobs), if any.
    pub framework: Option<String>,
    /// Why that framework: `changes`, `variable`, `default`.
    pub framework_source: Option<String>,
    /// Stop at the first failed gating stage.
    pub fail_fast: bool,
    /// Distinct job stages, in the order they run.
    pub stages: Vec<u32>,
    /// Jobs to run, by stage, then in the pipeline's order.
    pub jobs: Vec<PlannedJob>,
    /// Jobs not run, each with why.
    pub dropped: Vec<DroppedJob>,
    /// Tests a job's expression selects but its runner cannot host:
    /// reported, never run into a failure.
    pub unrunnable: Vec<UnrunnableTest>,
    /// Tests the pipeline's lifecycle stage covers that no job of the plan
    /// runs, each with why: nothing planned runs nowhere unannounced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<UncoveredTest>,
    pub variables: Variables,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeAnalysis>,
    /// Node-id files that pytest commands read (`pytest @file`); the CLI
    /// writes them before the commands run.
    #[serde(skip)]
    pub args_files: Vec<ArgsFile>,
    /// Things a reader of the plan should know (e.g. a command rewritten).
    pub notes: Vec<String>,
    /// The `tollgate plan` invocation that made this plan (without
    /// `--format`/`--output`); CI emitters run it with `--job NAME` inside a
    /// job to recreate the files its commands read. `None`: `tollgate plan
    /// --pipeline <pipeline>`.
    #[serde(skip)]
    pub replan: Option<String>,
}

impl Plan {
    /// Whether `commands` read files the plan writes (node-id files, nextest
    /// configs), which exist only where `tollgate plan` ran.
    pub fn reads_plan_files(commands: &[String]) -> bool {
        commands
            .iter()
            .any(|c| c.contains(crate::planner::ARGS_DIR))
    }

    /// The command that recreates `job`'s files in a CI job.
    pub fn replan_job(&self, job: &str) -> String {
        let base = self.replan.clone().unwrap_or_else(|| {
            format!(
                "tollgate plan --pipeline {}",
                crate::commands::shell_quote(&self.pipeline)
            )
        });
        format!(
            "{base} --job {} > /dev/null",
            crate::commands::shell_quote(job)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedJob {
    /// The job's name, with `[framework]` for per-framework instances.
    pub name: String,
    /// The `[jobs.NAME]` table it comes from.
    pub job: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    pub stage: u32,
    pub gating: bool,
    pub runner: RunnerNeeds,
    pub commands: Vec<String>,
    /// Selected test ids, as `tollgate collect --format ids` prints them.
    pub tests: Vec<String>,
    pub python_tests: usize,
    pub rust_tests: usize,
    /// Present when the job runs in more than one shard.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Shard>,
    /// Gating jobs of earlier stages that must pass first.
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// What a job's runner must offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunnerNeeds {
    pub gpus: u32,
    pub provides: Vec<String>,
    pub arch: Vec<String>,
    pub labels: Vec<String>,
    /// The framework container the job runs in, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl RunnerNeeds {
    /// A short description for tables: `cpu`, `1 gpu`, `8 gpu k8s`.
    pub fn summary(&self) -> String {
        let mut parts = vec![match self.gpus {
            0 => "cpu".to_string(),
            n => format!("{n} gpu"),
        }];
        parts.extend(self.provides.iter().cloned());
        parts.extend(self.arch.iter().cloned());
        parts.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
    pub commands: Vec<String>,
    pub tests: Vec<String>,
    /// Estimated seconds, from recorded durations (tests without one count
    /// as the median of the job's); absent when none of the job's tests has
    /// one and the split is by test count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedJob {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnrunnableTest {
    pub job: String,
    pub test: String,
    pub reason: String,
}

/// A test the pipeline's lifecycle covers that no job of the plan runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UncoveredTest {
    pub test: String,
    pub reason: String,
}

/// A file of pytest node ids, one per line, read by `pytest @path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgsFile {
    /// Relative to the project root.
    pub path: String,
    pub contents: String,
}
