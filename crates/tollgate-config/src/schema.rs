//! The shape of `tollgate.toml`, as plain serde types.
//!
//! Every table denies unknown keys so a typo is an error with a span rather
//! than a silently ignored setting. Cross-references (a pipeline naming a job,
//! a job's marker expression naming markers, ...) are checked afterwards in
//! [`crate::validate`], which needs the whole file.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use tollgate_inventory::Language;

use crate::duration::DurationSpec;
use crate::ordered::OrderedMap;

/// The whole file. Every section is optional so that a project can start
/// with only a taxonomy and grow into pipelines and gates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub project: Project,
    #[serde(default)]
    pub taxonomy: Taxonomy,
    /// Declarative rules that add markers discovery cannot see (§3).
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub lint: Lint,
    #[serde(default)]
    pub frameworks: OrderedMap<Framework>,
    #[serde(default)]
    pub components: OrderedMap<Component>,
    #[serde(default)]
    pub changes: Changes,
    #[serde(default)]
    pub owners: Owners,
    #[serde(default)]
    pub variables: OrderedMap<Variable>,
    #[serde(default)]
    pub jobs: OrderedMap<Job>,
    /// CI runner labels for jobs that set none, by GPU count and framework
    /// (`[[runner_labels]] gpus = 1, framework = "vllm", labels = [...]`);
    /// the first matching entry wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runner_labels: Vec<RunnerLabels>,
    #[serde(default)]
    pub pipelines: OrderedMap<Pipeline>,
    #[serde(default)]
    pub budgets: OrderedMap<Budget>,
    #[serde(default)]
    pub gates: OrderedMap<Gate>,
    #[serde(default)]
    pub quarantine: Quarantine,
    #[serde(default)]
    pub store: Store,
    #[serde(default)]
    pub run: Run,
    #[serde(default)]
    pub notify: Notify,
    #[serde(default)]
    pub triage: Triage,
    #[serde(default)]
    pub discovery: Discovery,
    /// Python discovery settings (`[python] plugins`).
    #[serde(default, skip_serializing_if = "PythonSettings::is_empty")]
    pub python: PythonSettings,
    /// File name that rule origins point at (`tollgate.toml`); set by the loader.
    #[serde(skip)]
    pub origin_file: String,
}

/// `[python]`: what static pytest collection cannot find out by itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonSettings {
    /// pytest plugins the project uses, beside those tollgate finds from
    /// its settings (`-p`, plugin ini options and flags, dependency files).
    /// A known plugin by its distribution name (`"pytest-repeat"`), or a
    /// table for one tollgate does not model:
    /// `{ name = "ours", markers = ["needs_db"], parametrizes = ["matrix"] }`
    /// — `markers` it registers (so lint knows them), `parametrizes` the
    /// marks whose tests it multiplies or changes (those tests are flagged
    /// dynamic: run whole, and filled in by `tollgate learn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PythonPlugin>,
}

impl PythonSettings {
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }
}

/// One entry of `[python] plugins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PythonPlugin {
    /// A plugin by name (`"pytest-timeout"`).
    Name(String),
    /// A plugin with what it does spelled out.
    Declared(PluginDeclaration),
}

/// `{ name = ..., markers = [...], parametrizes = [...] }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginDeclaration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parametrizes: Vec<String>,
}

impl PythonPlugin {
    pub fn declaration(&self) -> PluginDeclaration {
        match self {
            PythonPlugin::Name(name) => PluginDeclaration {
                name: name.clone(),
                ..Default::default()
            },
            PythonPlugin::Declared(d) => d.clone(),
        }
    }
}

/// What discovery leaves out of the project's inventory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    /// Globs, relative to the project root (`*` stays within a directory,
    /// `**` crosses them), of files whose tests are not the project's own:
    /// test fixtures that contain test files, vendored code, nested example
    /// projects (`"crates/*/tests/fixtures/**"`). Their tests and diagnostics
    /// are dropped from every command's inventory, so no job runs them and
    /// lint does not judge them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub name: Option<String>,
}

// ---------------------------------------------------------------- taxonomy

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// When true, a marker that is not in the taxonomy is an error everywhere
    /// (lint, job expressions), as pytest's `--strict-markers` would make it.
    #[serde(default)]
    pub strict: bool,
    /// Categories in the order they are written; listings follow this order.
    #[serde(default)]
    pub categories: OrderedMap<Category>,
    /// Other spellings of a marker: `gpus_needed_1 = "gpu_1"`. An alias may
    /// point at another alias; the chain must end at a marker.
    #[serde(default)]
    pub aliases: OrderedMap<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    #[serde(default)]
    pub description: String,
    /// Every test (under `applies_to`, if given) must carry a marker of this category.
    #[serde(default)]
    pub required: bool,
    /// Globs (relative to the project root) limiting where `required` applies,
    /// e.g. components are only required under `components/**`.
    #[serde(default)]
    pub applies_to: Vec<String>,
    /// A test may carry at most one marker of this category.
    #[serde(default)]
    pub exclusive: bool,
    /// The markers are stages in the written order (the lifecycle): a test
    /// marked for an earlier stage also runs in every later one.
    #[serde(default)]
    pub ordered: bool,
    /// Tests carrying a marker of this category need a runner that provides
    /// that marker (`runner.provides`), e.g. `k8s` or `h100`.
    #[serde(default)]
    pub requires_runner: bool,
    pub markers: OrderedMap<MarkerDef>,
}

/// A marker in the taxonomy. Written either as `name = "description"` or as a
/// table `name = { description = "...", gpus = 2, locations = [...] }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MarkerDef {
    pub description: String,
    /// GPUs a test with this marker needs (`gpu_2` → 2). Runners offer `gpus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u32>,
    /// Globs where tests with this marker belong (seed 003's "test types and
    /// locations" table); lint reports a test elsewhere. Empty: anywhere.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerTable {
    #[serde(default)]
    description: String,
    gpus: Option<u32>,
    #[serde(default)]
    locations: Vec<String>,
}

impl<'de> Deserialize<'de> for MarkerDef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MarkerVisitor;

        impl<'de> Visitor<'de> for MarkerVisitor {
            type Value = MarkerDef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a description string or a table { description, gpus }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<MarkerDef, E> {
                Ok(MarkerDef {
                    description: v.to_string(),
                    ..MarkerDef::default()
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MarkerDef, A::Error> {
                let table = MarkerTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(MarkerDef {
                    description: table.description,
                    gpus: table.gpus,
                    locations: table.locations,
                })
            }
        }

        deserializer.deserialize_any(MarkerVisitor)
    }
}

// ---------------------------------------------------------------- rules

/// Adds `markers` to every test matching all the conditions given. Rules run
/// in file order, after discovery, and see markers added by earlier rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub description: String,
    pub language: Option<Language>,
    /// Globs on the test's file path (relative to the project root).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Rust only: target kinds (`lib`, `bin`, `test`, `bench`, `example`).
    #[serde(default)]
    pub target_kind: Vec<String>,
    /// Rust only: the test exists only with all of these features enabled.
    #[serde(default)]
    pub features: Vec<String>,
    /// Rust only: the test carries this attribute.
    pub attribute: Option<RustAttribute>,
    /// Rust only: Cargo package names (globs).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Skip tests that already carry one of these markers, or any marker of
    /// one of these categories (explicit annotations win over rules).
    #[serde(default)]
    pub unless: Vec<String>,
    pub markers: Vec<String>,
    /// 1-based line of the rule's `[[rules]]` header; set by the loader.
    #[serde(skip)]
    pub line: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RustAttribute {
    Ignore,
    ShouldPanic,
}

/// The Rust target kinds rules may name (as Cargo and nextest name them).
pub const TARGET_KINDS: &[&str] = &["lib", "bin", "test", "bench", "example", "proc-macro"];

// ---------------------------------------------------------------- lint

/// Settings for `tollgate lint` beyond what the taxonomy implies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lint {
    /// Rule codes that are not reported.
    #[serde(default)]
    pub disable: Vec<String>,
    /// `#[ignore]` must say why (`#[ignore = "needs a GPU"]`).
    #[serde(default)]
    pub require_ignore_reason: bool,
    /// The Cargo feature Rust integration tests (`tests/*.rs` targets) must
    /// be behind (seed 003, a Dynamo convention), checked by TG401. Empty
    /// (the default) turns the check off; the dynamo preset sets it.
    #[serde(default)]
    pub integration_feature: String,
    /// How Python test files must be named.
    pub file_name: Option<FileNameRule>,
}

/// Seed 003: "place all integration tests behind the `integration` feature
/// gate": the value the dynamo preset gives `[lint] integration_feature`.
pub const DEFAULT_INTEGRATION_FEATURE: &str = "integration";

/// A file-name pattern such as `test_{component}_{flow}.py` (seed 003).
/// `{component}` and `{framework}` stand for a declared component or framework
/// name, `{flow}` and `{name}` for any `[a-z0-9_]+`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileNameRule {
    pub pattern: String,
    /// Globs of test files the pattern applies to; empty means all.
    #[serde(default)]
    pub applies_to: Vec<String>,
}

/// Placeholders a [`FileNameRule`] pattern may use.
pub const FILE_NAME_PLACEHOLDERS: &[&str] = &["component", "framework", "flow", "name"];

// ---------------------------------------------------------------- frameworks, components, owners

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    #[serde(default)]
    pub description: String,
    /// Globs: a change under these paths belongs to this framework.
    #[serde(default)]
    pub paths: Vec<String>,
    /// The marker that tags this framework's tests; defaults to the table name.
    pub marker: Option<String>,
    pub owner: Option<String>,
    /// The container image its tests run in.
    pub container: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub paths: Vec<String>,
    /// Cargo packages that belong to this component.
    #[serde(default)]
    pub packages: Vec<String>,
    /// Defaults to the table name.
    pub marker: Option<String>,
    pub owner: Option<String>,
    /// A critical component (seed 000): its prime-path tests gate.
    #[serde(default)]
    pub critical: bool,
}

impl Framework {
    pub fn marker_or<'a>(&'a self, name: &'a str) -> &'a str {
        self.marker.as_deref().unwrap_or(name)
    }
}

impl Component {
    pub fn marker_or<'a>(&'a self, name: &'a str) -> &'a str {
        self.marker.as_deref().unwrap_or(name)
    }
}

/// How changed files steer a run (§6 change awareness).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    /// Framework tested when the changes are not confined to one framework:
    /// a name, or `{ prefer = [...], switch_when_flake_rate_above = 0.05 }`
    /// to choose it from history (seed 000's dynamic test selection).
    pub default_framework: Option<DefaultFramework>,
    /// Variable that receives the chosen framework (`DYNAMO_TEST_FRAMEWORK`).
    pub framework_variable: Option<String>,
    /// Variable that overrides `default_framework` (`DYNAMO_DEFAULT_FRAMEWORK`).
    pub default_framework_variable: Option<String>,
    /// Globs whose change widens the run to everything (lock files, CI config).
    #[serde(default)]
    pub widen: Vec<String>,
    /// Globs of documentation: a change touching only these runs lint only.
    #[serde(default)]
    pub docs: Vec<String>,
    /// Globs that are claimed but affect no test (e.g. `.gitignore`).
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// `changes.default_framework`: a fixed framework, or one chosen from
/// history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DefaultFramework {
    Name(String),
    History(HistoryDefault),
}

/// Seed 000: "vLLM is currently the default framework, but if persistent
/// flakiness is detected, the default can switch to TensorRTLLM or another
/// framework". The first framework of `prefer` whose flake rate in the
/// history store (its tests that flaked over the window, over its tests)
/// is at most `switch_when_flake_rate_above` is the default; without
/// history, the first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryDefault {
    pub prefer: Vec<String>,
    #[serde(default = "default_switch_rate")]
    pub switch_when_flake_rate_above: f64,
}

fn default_switch_rate() -> f64 {
    0.05
}

impl DefaultFramework {
    /// The default framework when history says nothing.
    pub fn preferred(&self) -> Option<&str> {
        match self {
            DefaultFramework::Name(name) => Some(name),
            DefaultFramework::History(h) => h.prefer.first().map(String::as_str),
        }
    }

    /// Every framework it names.
    pub fn names(&self) -> Vec<&str> {
        match self {
            DefaultFramework::Name(name) => vec![name.as_str()],
            DefaultFramework::History(h) => h.prefer.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owners {
    /// A CODEOWNERS file consulted for paths no component claims.
    pub codeowners: Option<String>,
    /// Who gets what nobody else owns.
    pub fallback: Option<String>,
    /// CI-area points of contact (seed 004): `test_fail = "Pavithra"`.
    #[serde(default)]
    pub ci_areas: OrderedMap<String>,
    /// How to reach an owner named anywhere in this file.
    #[serde(default)]
    pub contacts: OrderedMap<Contact>,
    /// The marker a test names its own owner with (`@pytest.mark.owner("alice")`);
    /// defaults to `owner`.
    pub marker: Option<String>,
    /// How `codeowners` is read: `github` (last match wins) or `gitlab`
    /// (sections, default owners, `!` exclusions). Default: `gitlab` when the
    /// file is under `.gitlab/`, else `github`.
    pub codeowners_flavor: Option<CodeownersFlavor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeownersFlavor {
    Github,
    Gitlab,
}

/// How failures are attributed and classified (`tollgate triage`, alerts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    /// A regular expression finding the structured log line that names the
    /// failing component; its `component` group is the component. Default:
    /// seed 004's `<component> - <uuid> - <state> <error>`.
    pub log_pattern: Option<String>,
    /// Extra regular expressions that mark a failure as infrastructure
    /// (runner lost, registry down, ...), on top of the built-in ones.
    #[serde(default)]
    pub infra_patterns: Vec<String>,
    /// Extra regular expressions that mark a failure as a build failure.
    #[serde(default)]
    pub build_patterns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub email: Option<String>,
    pub github: Option<String>,
    pub slack: Option<String>,
}

// ---------------------------------------------------------------- variables

/// A trigger variable, declared once (seed 000: "all CI variables must be
/// defined in one place"); resolved from flags, then the environment, then
/// the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(rename = "type")]
    pub kind: VariableType,
    pub default: Option<VarValue>,
    #[serde(default)]
    pub description: String,
    /// Environment variable to read; defaults to the table name.
    pub env: Option<String>,
    /// Allowed values of an `enum` variable.
    #[serde(default)]
    pub values: Vec<String>,
}

impl Variable {
    pub fn env_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.env.as_deref().unwrap_or(name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    Bool,
    String,
    Int,
    Float,
    Enum,
}

impl fmt::Display for VariableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VariableType::Bool => "bool",
            VariableType::String => "string",
            VariableType::Int => "int",
            VariableType::Float => "float",
            VariableType::Enum => "enum",
        })
    }
}

/// A variable's value as written in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VarValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for VarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarValue::Bool(b) => write!(f, "{b}"),
            VarValue::Int(i) => write!(f, "{i}"),
            VarValue::Float(x) => write!(f, "{x}"),
            VarValue::Str(s) => f.write_str(s),
        }
    }
}

// ---------------------------------------------------------------- jobs and pipelines

/// One CI job: what it selects, how it runs, on what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    #[serde(default)]
    pub description: String,
    /// Stage order within a pipeline: lower runs first, and a failed gating
    /// job stops every later stage.
    #[serde(default = "one")]
    pub stage: u32,
    /// Marker expression in pytest `-m` syntax. Absent for jobs that select no
    /// tests (lint, build). The pipeline's lifecycle filter is added to it.
    pub expr: Option<String>,
    /// Languages whose tests this job runs; empty means both.
    #[serde(default)]
    pub languages: Vec<Language>,
    /// Command templates. Placeholders: see [`crate::validate::PLACEHOLDERS`]
    /// and `{VAR}` for any declared variable. Empty: the planner derives them.
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub runner: Runner,
    /// A gating job blocks the merge/release when it fails.
    #[serde(default)]
    pub gating: bool,
    pub timeout: Option<DurationSpec>,
    #[serde(default = "one")]
    pub shards: u32,
    /// Run only when this boolean expression over `bool` variables holds
    /// (same grammar as marker expressions): `when = "RUN_VLLM"`.
    pub when: Option<String>,
    #[serde(default)]
    pub cargo: CargoOptions,
    #[serde(default)]
    pub framework: FrameworkMode,
}

fn one() -> u32 {
    1
}

/// What a job's runner offers; tests needing more are dropped from the job
/// and reported, never run into a failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runner {
    #[serde(default)]
    pub gpus: u32,
    /// Markers of `requires_runner` categories this runner satisfies
    /// (`k8s`, `slurm`, `h100`, ...).
    #[serde(default)]
    pub provides: Vec<String>,
    /// CPU architectures (`x86_64`, `aarch64`); empty means the default platform.
    #[serde(default)]
    pub arch: Vec<String>,
    /// CI runner labels, passed through to emitters.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// Runner labels for the jobs that need `gpus` GPUs (any count when unset)
/// and run `framework`'s tests (any when unset).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerLabels {
    pub gpus: Option<u32>,
    pub framework: Option<String>,
    pub labels: Vec<String>,
}

impl Config {
    /// The labels of the first `[[runner_labels]]` entry matching a job
    /// that needs `gpus` GPUs and runs `framework`'s tests.
    pub fn runner_labels_for(&self, gpus: u32, framework: Option<&str>) -> Option<&[String]> {
        self.runner_labels
            .iter()
            .find(|r| {
                r.gpus.is_none_or(|g| g == gpus)
                    && r.framework.as_deref().is_none_or(|f| Some(f) == framework)
            })
            .map(|r| r.labels.as_slice())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CargoOptions {
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub all_features: bool,
    /// Build without each crate's default features (`--no-default-features`).
    /// Otherwise a test behind a default feature runs without naming it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_default_features: bool,
    /// How `#[ignore]`d tests are treated: excluded (default), included, or only.
    #[serde(default)]
    pub ignored: IgnoredTests,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoredTests {
    #[default]
    Exclude,
    Include,
    Only,
}

/// How a job relates to frameworks (seed 004: framework-specific tests run
/// in that framework's container).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameworkMode {
    /// Not framework-specific (lint, build, unit).
    #[default]
    Any,
    /// Runs in the container of the framework chosen from the changes (or the
    /// default one); selects tests of that framework and framework-free ones.
    Selected,
    /// One instance per framework.
    Each,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    #[serde(default)]
    pub description: String,
    /// The lifecycle marker this pipeline runs: tests marked for this stage or
    /// an earlier one are selected.
    pub stage: String,
    /// The CI event that starts it.
    pub on: Trigger,
    /// Branches (globs) for `push`/`pull_request` triggers.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Cron schedule for `schedule` triggers.
    pub schedule: Option<String>,
    pub jobs: Vec<String>,
    pub gate: Option<String>,
    /// Use changed files to narrow the run (§6); otherwise run everything.
    #[serde(default)]
    pub change_aware: bool,
    /// Variables this pipeline sets (`NIGHTLY_BUILD = true`).
    #[serde(default)]
    pub set: OrderedMap<VarValue>,
    /// Per-pipeline changes to a job (e.g. `cargo.all_features` at night).
    #[serde(default)]
    pub overrides: OrderedMap<JobOverride>,
    /// Stop at the first failed gating stage (defaults to `run.fail_fast`).
    pub fail_fast: Option<bool>,
    /// Which frameworks the `framework = "selected"` jobs test:
    /// `"changed-or-default"`, `"all"` or a list of framework names.
    /// Unset: seed 000's rule, see [`Pipeline::framework_rule`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frameworks: Option<FrameworkRule>,
    /// Where a test marked with several frameworks runs when the pipeline
    /// has one job instance per framework: `"each"` of their instances
    /// (default), or `"one"`: only the instance of the first of its
    /// frameworks in the pipeline's framework order.
    #[serde(default, skip_serializing_if = "MultiFramework::is_each")]
    pub multi_framework: MultiFramework,
}

/// Where a test marked with several frameworks runs ([`Pipeline::multi_framework`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiFramework {
    /// In the instance of each of its frameworks.
    #[default]
    Each,
    /// In one instance: that of its first framework in the pipeline's order.
    One,
}

impl MultiFramework {
    pub fn is_each(&self) -> bool {
        *self == MultiFramework::Each
    }
}

impl Pipeline {
    /// The pipeline's framework rule: as written, else seed 000's default —
    /// pull requests, pushes and commits test the changed framework or the
    /// default one; scheduled and manual (nightly, weekly, release) runs
    /// test every framework.
    pub fn framework_rule(&self) -> FrameworkRule {
        match &self.frameworks {
            Some(rule) => rule.clone(),
            None => match self.on {
                Trigger::Commit | Trigger::PullRequest | Trigger::Push => {
                    FrameworkRule::ChangedOrDefault
                }
                Trigger::Schedule | Trigger::Manual => FrameworkRule::All,
            },
        }
    }
}

/// Which frameworks a pipeline's `framework = "selected"` jobs test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameworkRule {
    /// The one framework the changes lie in, else the default one.
    ChangedOrDefault,
    /// Every declared framework, one job instance each.
    All,
    /// These frameworks, one job instance each.
    List(Vec<String>),
}

impl fmt::Display for FrameworkRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameworkRule::ChangedOrDefault => f.write_str("changed-or-default"),
            FrameworkRule::All => f.write_str("all"),
            FrameworkRule::List(names) => write!(f, "[{}]", names.join(", ")),
        }
    }
}

impl Serialize for FrameworkRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FrameworkRule::List(names) => names.serialize(serializer),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for FrameworkRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RuleVisitor;

        impl<'de> Visitor<'de> for RuleVisitor {
            type Value = FrameworkRule;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"changed-or-default\", \"all\" or a list of framework names")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<FrameworkRule, E> {
                match v {
                    "changed-or-default" => Ok(FrameworkRule::ChangedOrDefault),
                    "all" => Ok(FrameworkRule::All),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<FrameworkRule, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(FrameworkRule::List(names))
            }
        }

        deserializer.deserialize_any(RuleVisitor)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Commit,
    PullRequest,
    Push,
    Schedule,
    #[default]
    Manual,
}

/// Fields a pipeline may replace on a job it runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobOverride {
    pub expr: Option<String>,
    pub commands: Option<Vec<String>>,
    pub gating: Option<bool>,
    pub runner: Option<Runner>,
    pub timeout: Option<DurationSpec>,
    pub shards: Option<u32>,
    pub cargo: Option<CargoOptions>,
}

// ---------------------------------------------------------------- budgets and gates

/// A time budget for the tests an expression selects (seed 003).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub expr: String,
    pub limit: DurationSpec,
    #[serde(default)]
    pub scope: BudgetScope,
    /// Pipelines it applies to; empty means all.
    #[serde(default)]
    pub pipelines: Vec<String>,
    /// What exceeding this budget does at a gate. Unset: whatever the gate's
    /// `budgets = "block"|"alert"` says; set: this budget's own action (a
    /// gate without `budgets` checks no budget at all).
    #[serde(default)]
    pub action: Option<Action>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    /// The whole selection, per runner invocation.
    #[default]
    Suite,
    /// Every single test.
    Test,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Block,
    #[default]
    Alert,
}

/// A pipeline's quality gate (§8): each present check is evaluated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    #[serde(default)]
    pub description: String,
    /// Start from another gate's checks and add or tighten.
    pub extends: Option<String>,
    /// Any failed gating job or test.
    pub critical_failures: Option<Action>,
    #[serde(default)]
    pub coverage: Vec<CoverageCheck>,
    pub coverage_drop: Option<CoverageDropCheck>,
    pub patch_coverage: Option<PatchCoverageCheck>,
    pub perf_regression: Option<PerfRegressionCheck>,
    /// Absolute performance limits (`ttft_ms < 200`).
    #[serde(default)]
    pub limits: Vec<LimitCheck>,
    pub flaky_rate: Option<FlakyRateCheck>,
    /// Whether an exceeded time budget blocks or alerts.
    pub budgets: Option<Action>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageCheck {
    pub language: Language,
    /// Minimum line coverage in percent.
    pub min_lines: f64,
    /// Stricter minimums for some paths (critical paths, public APIs).
    #[serde(default)]
    pub critical: Vec<CriticalCoverage>,
    #[serde(default = "block")]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalCoverage {
    pub name: String,
    pub paths: Vec<String>,
    pub min_lines: f64,
}

fn block() -> Action {
    Action::Block
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageDropCheck {
    /// Largest allowed drop, in percentage points, against the baseline.
    pub max_points: f64,
    #[serde(default = "block")]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchCoverageCheck {
    pub min_percent: f64,
    #[serde(default)]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerfRegressionCheck {
    /// Largest allowed slowdown against history, in percent.
    pub max_percent: f64,
    #[serde(default)]
    pub test: StatTest,
    /// Significance level: a regression must be significant to count.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// History samples needed before the check judges at all.
    #[serde(default = "default_min_samples")]
    pub min_samples: u32,
    #[serde(default)]
    pub action: Action,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_min_samples() -> u32 {
    5
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatTest {
    #[default]
    MannWhitney,
    Welch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitCheck {
    /// Benchmark metric name as the results parser reports it (`ttft_ms`).
    pub metric: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    /// Only benchmarks matching this marker expression: a benchmark named
    /// after a collected test (pytest-benchmark names it by node id) is
    /// judged on that test's markers; a benchmark that is no collected test
    /// (criterion, a plain CSV) matches no expression. When nothing matches,
    /// the check alerts rather than passing silently.
    pub expr: Option<String>,
    #[serde(default = "block")]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlakyRateCheck {
    pub max_percent: f64,
    #[serde(default)]
    pub action: Action,
}

// ---------------------------------------------------------------- quarantine, store, run, notify

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quarantine {
    #[serde(default = "default_quarantine_file")]
    pub file: String,
    /// Every entry must name an issue.
    #[serde(default)]
    pub require_issue: bool,
    /// Every entry must have an expiry date.
    #[serde(default)]
    pub require_expiry: bool,
}

fn default_quarantine_file() -> String {
    ".tollgate/quarantine.toml".to_string()
}

impl Default for Quarantine {
    fn default() -> Self {
        Quarantine {
            file: default_quarantine_file(),
            require_issue: false,
            require_expiry: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    /// `sqlite://<path>` or `postgres://...`.
    #[serde(default = "default_store_url")]
    pub url: String,
    /// Environment variable that overrides `url` (keeps passwords out of the file).
    pub url_env: Option<String>,
}

fn default_store_url() -> String {
    "sqlite://.tollgate/history.db".to_string()
}

impl Default for Store {
    fn default() -> Self {
        Store {
            url: default_store_url(),
            url_env: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// Python interpreter for pytest; defaults to `<venv>/bin/python` or `python3`.
    pub python: Option<String>,
    pub venv: Option<String>,
    /// Retries of a failed test; pass-after-fail is reported as flaky.
    #[serde(default)]
    pub retries: u32,
    /// Default per-test timeout.
    pub timeout: Option<DurationSpec>,
    /// Jobs run in parallel on this machine; 0 means one per core.
    #[serde(default)]
    pub parallel: u32,
    #[serde(default = "yes")]
    pub fail_fast: bool,
    #[serde(default)]
    pub redact: Redact,
}

fn yes() -> bool {
    true
}

impl Default for Run {
    fn default() -> Self {
        Run {
            python: None,
            venv: None,
            retries: 0,
            timeout: None,
            parallel: 0,
            fail_fast: true,
            redact: Redact::default(),
        }
    }
}

/// Secrets removed from every stored or printed output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redact {
    /// Environment variables whose values are redacted (`HF_TOKEN`).
    #[serde(default)]
    pub env: Vec<String>,
    /// Regular expressions whose matches are redacted.
    #[serde(default)]
    pub patterns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// The same alert is not sent again within this window (Alertmanager's
    /// `repeat_interval`); after it, a still-failing cluster is sent once more.
    pub dedup: Option<DurationSpec>,
    /// Alert a failure only after this many consecutive failing runs of the
    /// same signature on the same branch (default 1). Critical failures on a
    /// gated branch are sent at once.
    pub confirm_runs: Option<u32>,
    /// Branches (globs) whose critical failures are sent without confirmation.
    #[serde(default)]
    pub gated_branches: Vec<String>,
    /// Send one notice when a cluster that was alerted stops failing (default true).
    pub resolve: Option<bool>,
    /// A delivery error makes `tollgate gate` exit 3 (default: reported only).
    #[serde(default)]
    pub fatal: bool,
    #[serde(default)]
    pub webhook: Vec<Webhook>,
    pub email: Option<Email>,
    pub github_issue: Option<GithubIssue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    GateFailed,
    CriticalFailure,
    CoverageDrop,
    PerfRegression,
    Flaky,
}

/// A Slack-compatible webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: Option<String>,
    pub url_env: Option<String>,
    /// Events sent; empty means all.
    #[serde(default)]
    pub on: Vec<NotifyEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Email {
    pub to: Vec<String>,
    pub from: String,
    /// Environment variable holding `smtps://user:pass@host:port`.
    pub smtp_url_env: String,
    #[serde(default)]
    pub on: Vec<NotifyEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubIssue {
    /// `owner/name`.
    pub repo: String,
    /// REST API base, for GitHub Enterprise (`https://ghe.example/api/v3`);
    /// default `https://api.github.com`.
    pub api_url: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default = "default_token_env")]
    pub token_env: String,
    #[serde(default)]
    pub on: Vec<NotifyEvent>,
}

fn default_token_env() -> String {
    "GITHUB_TOKEN".to_string()
}
