//! What to run: the plain input of the runner core.
//!
//! A [`RunSpec`] is built from a plan (see [`crate::from_plan`]) or by hand in
//! tests. Nothing here refers to the configuration file or the plan crate, so
//! the engine can be exercised on any project without either.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// One pipeline run on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct RunSpec {
    pub pipeline: String,
    /// Project root: runners start here and test ids are relative to it.
    pub root: PathBuf,
    pub jobs: Vec<JobSpec>,
    /// Stop after the first stage in which a gating job failed.
    pub fail_fast: bool,
    /// Jobs run at the same time within a stage; 0 means one per core.
    pub parallel: usize,
    /// GPUs this machine offers (from `nvidia-smi`, a flag or the config).
    pub machine_gpus: u32,
    /// Markers of `requires_runner` categories this machine provides.
    pub machine_provides: Vec<String>,
}

/// One job: a list of steps run in order within one stage.
#[derive(Debug, Clone, Serialize)]
pub struct JobSpec {
    pub name: String,
    pub stage: u32,
    pub gating: bool,
    /// Declared optional on this runner: when it cannot run here, the
    /// pipeline is still judged (not "incomplete").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// GPUs the job's runner needs.
    pub gpus: u32,
    /// Runner capabilities the job needs (`k8s`, `h100`, ...).
    pub provides: Vec<String>,
    /// Extra environment for every process of the job.
    pub env: Vec<(String, String)>,
    /// Wall-clock limit for the whole job (every step and retry).
    pub wall_timeout: Option<Duration>,
    /// Time budget of the job's test suite (its test steps' wall time,
    /// builds excluded), reported when exceeded.
    pub budget: Option<Budget>,
    /// Per-test budgets (`scope = "test"`): every listed test should take
    /// less than the limit; overruns are reported.
    pub test_budgets: Vec<TestBudget>,
    pub steps: Vec<Step>,
}

/// A named time limit (a `[budgets.NAME]` entry of the config).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub name: String,
    pub limit: Duration,
}

/// A per-test budget and the tests of the job it applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestBudget {
    pub name: String,
    pub limit: Duration,
    /// Test ids (as in the job's steps).
    pub tests: Vec<String>,
}

/// One thing a job does.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// A shell command (`sh -c`), e.g. a lint or build step. It fails the job
    /// when it exits non-zero.
    Shell { command: String },
    /// pytest over the given node ids.
    Pytest(PytestStep),
    /// cargo-nextest (or `cargo test`) over the given Rust tests.
    Rust(RustStep),
}

#[derive(Debug, Clone, Serialize)]
pub struct PytestStep {
    /// Interpreter that has pytest installed (a venv's `bin/python`).
    pub python: PathBuf,
    pub tests: Vec<TestSpec>,
    /// Extra pytest arguments placed before the node ids.
    pub extra_args: Vec<String>,
    /// More plugins to load with `-p` (written next to the watchdog plugin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginFile>,
    /// Environment variables for the pytest processes (what those plugins read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
}

/// A pytest plugin shipped as source: written as `<module>.py` into the
/// step's private plugin directory, loaded with `-p <module>`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginFile {
    pub module: String,
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RustStep {
    /// The Cargo workspace the tests belong to, relative to the project root
    /// (empty for the root's own): cargo runs there, since a command run from
    /// the root cannot reach a nested workspace's tests.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub workspace: String,
    /// Tests as `<binary-id> <test name>` ids.
    pub tests: Vec<TestSpec>,
    /// Extra cargo arguments (`--features x`, `--all-features`).
    pub cargo_args: Vec<String>,
    /// Use `cargo test` even when nextest is installed.
    pub force_cargo_test: bool,
}

/// One selected test and how it may run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestSpec {
    /// The inventory id (pytest node id, or `<binary-id> <test name>`).
    pub id: String,
    /// Per-test timeout; `None` means unlimited (the job's wall timeout still applies).
    pub timeout: Option<Duration>,
    /// How many times a failed test is re-run.
    pub retries: u32,
}

impl TestSpec {
    pub fn new(id: impl Into<String>) -> Self {
        TestSpec {
            id: id.into(),
            timeout: None,
            retries: 0,
        }
    }
}

impl JobSpec {
    /// A job with no steps and default settings; fill in the rest.
    pub fn new(name: impl Into<String>, stage: u32) -> Self {
        JobSpec {
            name: name.into(),
            stage,
            gating: true,
            optional: false,
            gpus: 0,
            provides: Vec::new(),
            env: Vec::new(),
            wall_timeout: None,
            budget: None,
            test_budgets: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Every test the job selects, in step order.
    pub fn tests(&self) -> impl Iterator<Item = &TestSpec> {
        self.steps.iter().flat_map(|s| match s {
            Step::Shell { .. } => &[][..],
            Step::Pytest(p) => &p.tests[..],
            Step::Rust(r) => &r.tests[..],
        })
    }
}
