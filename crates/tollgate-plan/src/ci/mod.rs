//! Today's CI, read (SPEC §6 "Adoption"): which pipelines a repository's CI
//! definitions run, which tests each job selects with `pytest -m` and
//! `cargo test`/`cargo nextest`, on which runners — so that `tollgate init
//! --from-ci` can write a `tollgate.toml` that reproduces it and `tollgate
//! ci diff` can compare it with tollgate's plan.
//!
//! Pure: the caller hands in the files' text and a reader for the scripts
//! they call. Whatever cannot be translated is listed in
//! [`CiImport::untranslated`], never dropped silently.

mod diff;
mod github;
mod gitlab;
mod render;
mod shell;

use std::collections::BTreeSet;

use serde::Serialize;
use tollgate_config::Trigger;
use tollgate_inventory::{Inventory, Language, TestItem};
use tollgate_markexpr::Expression;

pub use diff::{diff, CiDiff, DiffEntry, LanguageDiff};
pub use github::read_github;
pub use gitlab::read_gitlab;
pub use render::{render_config, ProjectFacts};

/// What a repository's CI runs, by tollgate pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CiImport {
    /// `github` or `gitlab`.
    pub ci: String,
    pub pipelines: Vec<CiPipeline>,
    /// What could not be translated, each with where it is.
    pub untranslated: Vec<Untranslated>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CiPipeline {
    /// tollgate's name for it: `pr`, `push`, `nightly`, `weekly`, `release`.
    pub name: String,
    #[serde(skip)]
    pub trigger: Trigger,
    pub branches: Vec<String>,
    pub schedule: Option<String>,
    /// Where it comes from: `pr.yaml (on: push to pull-request/[0-9]+)`.
    pub sources: Vec<String>,
    pub jobs: Vec<CiJob>,
}

/// One test selection of today's CI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CiJob {
    /// A tollgate job name (`vllm-test_cpu_only`).
    pub name: String,
    /// `pr.yaml: jobs.vllm-test, with.cpu_only_test_markers`.
    pub origin: String,
    pub kind: CiJobKind,
    pub gpus: u32,
    /// Runner labels (`runs-on`, a `*runner` input).
    pub labels: Vec<String>,
    /// The command as today's CI writes it.
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CiJobKind {
    /// `pytest -m EXPR`.
    Pytest { expr: String },
    /// `cargo test` / `cargo nextest run` in these workspace directories
    /// (relative, `.` for the root).
    Cargo { dirs: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Untranslated {
    /// `pr.yaml: jobs.vllm-test`.
    pub at: String,
    pub what: String,
}

impl CiImport {
    pub fn pipeline(&self, name: &str) -> Option<&CiPipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// Adds `job` to pipeline `name`, creating the pipeline on first use.
    pub(crate) fn add(&mut self, name: &str, trigger: Trigger, source: &str, job: CiJob) {
        let index = match self.pipelines.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                self.pipelines.push(CiPipeline {
                    name: name.to_string(),
                    trigger,
                    branches: Vec::new(),
                    schedule: None,
                    sources: Vec::new(),
                    jobs: Vec::new(),
                });
                self.pipelines.len() - 1
            }
        };
        let pipeline = &mut self.pipelines[index];
        if !pipeline.sources.iter().any(|s| s == source) {
            pipeline.sources.push(source.to_string());
        }
        if !pipeline.jobs.iter().any(|j| j.name == job.name) {
            pipeline.jobs.push(job);
        }
    }

    /// Pipelines in lifecycle order: pr, push, nightly, weekly, release.
    pub(crate) fn finish(mut self) -> Self {
        const ORDER: [&str; 5] = ["pr", "push", "nightly", "weekly", "release"];
        self.pipelines.sort_by_key(|p| {
            ORDER
                .iter()
                .position(|o| *o == p.name)
                .unwrap_or(ORDER.len())
        });
        self
    }

    pub(crate) fn note(&mut self, at: impl Into<String>, what: impl Into<String>) {
        let item = Untranslated {
            at: at.into(),
            what: what.into(),
        };
        if !self.untranslated.contains(&item) {
            self.untranslated.push(item);
        }
    }
}

/// Which tests of `inventory` one CI job runs: a `pytest -m` expression
/// evaluated as pytest would (on the markers written in the source, not the
/// ones tollgate's rules add); `cargo test` runs every Rust test of its
/// workspaces that is not `#[ignore]`d and exists with default features.
pub fn ci_job_selects(job: &CiJob, test: &TestItem, parsed: Option<&Expression>) -> bool {
    match &job.kind {
        CiJobKind::Pytest { .. } => {
            test.language == Language::Python
                && parsed
                    .is_some_and(|e| e.evaluate(crate::pytest_expr::pytest_view(test).as_ref()))
        }
        CiJobKind::Cargo { dirs } => {
            let Some(facts) = &test.rust else {
                return false;
            };
            let ws = if facts.workspace.is_empty() {
                "."
            } else {
                facts.workspace.as_str()
            };
            dirs.iter().any(|d| d.trim_end_matches('/') == ws)
                && facts.ignored.is_none()
                && facts
                    .required_features
                    .iter()
                    .all(|f| facts.default_enabled.contains(f))
        }
    }
}

/// Every test id `pipeline`'s CI jobs select.
pub fn ci_selection(pipeline: &CiPipeline, inventory: &Inventory) -> BTreeSet<String> {
    let parsed: Vec<Option<Expression>> = pipeline
        .jobs
        .iter()
        .map(|j| match &j.kind {
            CiJobKind::Pytest { expr } => Expression::parse(expr).ok(),
            CiJobKind::Cargo { .. } => None,
        })
        .collect();
    inventory
        .tests
        .iter()
        .filter(|t| {
            pipeline
                .jobs
                .iter()
                .zip(&parsed)
                .any(|(job, expr)| ci_job_selects(job, t, expr.as_ref()))
        })
        .map(|t| t.id.clone())
        .collect()
}

/// The GPUs an expression asks for: the largest `gpu_N` / `gpus_needed_N`
/// it names (`(gpu_2 or gpu_4)` needs a 4-GPU runner to host both).
pub(crate) fn gpus_in(expr: &str) -> Option<u32> {
    let parsed = Expression::parse(expr).ok()?;
    parsed
        .marker_names()
        .into_iter()
        .filter_map(|(name, _)| {
            name.strip_prefix("gpus_needed_")
                .or_else(|| name.strip_prefix("gpu_"))
                .and_then(|n| n.parse::<u32>().ok())
        })
        .max()
}

/// `vllm-test` + `cpu_only_test_markers` → `vllm-test_cpu_only`.
pub(crate) fn job_name(job: &str, input: Option<&str>) -> String {
    let mut name = job.to_string();
    if let Some(input) = input {
        let mut short = input;
        for suffix in [
            "_test_markers",
            "_markers",
            "_test_marks",
            "_marks",
            "_marker",
        ] {
            if let Some(s) = short.strip_suffix(suffix) {
                short = s;
                break;
            }
        }
        if !short.is_empty() {
            name.push('_');
            name.push_str(short);
        }
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The tollgate pipeline a cron schedule is: weekly when it names a day of
/// the week, else nightly.
pub(crate) fn schedule_pipeline(cron: &str) -> &'static str {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    match fields.get(4) {
        Some(dow) if *dow != "*" && *dow != "?" => "weekly",
        _ => "nightly",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpus_and_names() {
        assert_eq!(gpus_in("pre_merge and vllm and (gpu_2 or gpu_4)"), Some(4));
        assert_eq!(gpus_in("pre_merge and gpus_needed_1"), Some(1));
        assert_eq!(gpus_in("unit"), None);
        assert_eq!(
            job_name("vllm-test", Some("cpu_only_test_markers")),
            "vllm-test_cpu_only"
        );
        assert_eq!(job_name("rust tests", None), "rust_tests");
        assert_eq!(schedule_pipeline("0 8 * * *"), "nightly");
        assert_eq!(schedule_pipeline("0 4 * * 6"), "weekly");
    }
}
