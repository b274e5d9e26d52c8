//! Plan → [`RunSpec`]: the adapter between `tollgate-plan` and the runner core.
//!
//! The plan says which tests each job selects and the commands a CI system
//! would run; tollgate runs test jobs itself (pytest with an args file and its
//! watchdog, nextest with a generated profile), so for those the plan's
//! command strings are not executed — only jobs without tests (lint, build)
//! run their commands through `sh -c`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tollgate_config::{BudgetScope, Config};
use tollgate_inventory::{Inventory, Language, MarkValue, TestItem};
use tollgate_markexpr::Expression;
use tollgate_plan::{Plan, PlannedJob};

use crate::spec::{Budget, JobSpec, PytestStep, RunSpec, RustStep, Step, TestBudget, TestSpec};

#[derive(Debug, thiserror::Error)]
pub enum FromPlanError {
    #[error("no job named `{name}` in the plan of pipeline `{pipeline}` (jobs: {available})")]
    UnknownJob {
        name: String,
        pipeline: String,
        available: String,
    },
    #[error("invalid shard `{0}`: expected K/N with 1 <= K <= N")]
    BadShard(String),
    #[error("job `{job}`: invalid timeout `{text}`: {reason}")]
    BadTimeout {
        job: String,
        text: String,
        reason: String,
    },
    #[error("budget `{name}`: invalid expression `{expr}`: {message}")]
    BadBudget {
        name: String,
        expr: String,
        message: String,
    },
}

/// What this machine offers and which part of the plan to run.
#[derive(Debug, Clone, Default)]
pub struct MachineOptions {
    /// GPUs here; `None` asks `nvidia-smi` (0 when it is absent).
    pub gpus: Option<u32>,
    /// Runner capabilities here (`k8s`, `h100`, ...).
    pub provides: Vec<String>,
    /// Run only this job (its plan name, or its `[jobs.NAME]` table).
    pub job: Option<String>,
    /// `K/N`: run the K-th of N shards of every job.
    pub shard: Option<String>,
    /// Overrides the plan's fail-fast (`CI_FAIL_FAST`).
    pub fail_fast: Option<bool>,
}

/// GPUs `nvidia-smi -L` lists; `None` when it is not installed or fails
/// (the caller counts that as 0 GPUs, silently: most machines have none).
pub fn detect_gpus() -> Option<u32> {
    gpus_from(std::path::Path::new("nvidia-smi"))
}

/// [`detect_gpus`] with the program given (a path, or a name looked up on PATH).
pub fn gpus_from(program: &Path) -> Option<u32> {
    let out = std::process::Command::new(program)
        .arg("-L")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(count_gpus(&String::from_utf8_lossy(&out.stdout)))
}

/// Counts the `GPU N: ...` lines of `nvidia-smi -L` (MIG devices, listed
/// indented under their GPU, are not counted again) (pure).
pub fn count_gpus(listing: &str) -> u32 {
    listing.lines().filter(|l| l.starts_with("GPU ")).count() as u32
}

/// Parses `K/N`.
pub fn parse_shard(text: &str) -> Result<(u32, u32), FromPlanError> {
    let bad = || FromPlanError::BadShard(text.to_string());
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u32 = k.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// The interpreter pytest runs in: `run.python`, else `<venv>/bin/python`
/// (`run.venv`, else `.venv` when present), else `python3`.
pub fn python_interpreter(config: &Config, root: &Path) -> PathBuf {
    if let Some(python) = &config.run.python {
        return resolve(root, python);
    }
    let venv = match &config.run.venv {
        Some(v) => Some(resolve(root, v)),
        None => Some(root.join(".venv")).filter(|v| v.is_dir()),
    };
    match venv {
        Some(v) => v.join("bin").join("python"),
        None => PathBuf::from("python3"),
    }
}

fn resolve(root: &Path, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() || !path.contains('/') {
        p
    } else {
        root.join(p)
    }
}

/// A number written as a mark argument, in seconds.
fn seconds(value: &MarkValue) -> Option<Duration> {
    let secs = match value {
        MarkValue::Int(i) => *i as f64,
        MarkValue::Float(f) => *f,
        _ => return None,
    };
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// `@pytest.mark.timeout(N)` / `timeout(timeout=N)` on the test.
pub fn marked_timeout(item: &TestItem) -> Option<Duration> {
    let mark = item.markers.iter().find(|m| m.name == "timeout")?;
    mark.args
        .first()
        .and_then(seconds)
        .or_else(|| mark.kwarg("timeout").and_then(seconds))
}

/// `@pytest.mark.flaky(reruns=N)` (pytest-rerunfailures' spelling) overrides
/// the configured retries for one test.
pub fn marked_retries(item: &TestItem) -> Option<u32> {
    let mark = item.markers.iter().find(|m| m.name == "flaky")?;
    match mark.kwarg("reruns") {
        Some(MarkValue::Int(n)) => u32::try_from(*n).ok(),
        _ => None,
    }
}

pub fn from_plan(
    plan: &Plan,
    config: &Config,
    inventory: &Inventory,
    root: &Path,
    machine: &MachineOptions,
) -> Result<RunSpec, FromPlanError> {
    let items: HashMap<&str, &TestItem> =
        inventory.tests.iter().map(|t| (t.id.as_str(), t)).collect();
    let shard = machine.shard.as_deref().map(parse_shard).transpose()?;
    if let Some(name) = &machine.job {
        if !plan.jobs.iter().any(|j| &j.name == name || &j.job == name) {
            return Err(FromPlanError::UnknownJob {
                name: name.clone(),
                pipeline: plan.pipeline.clone(),
                available: plan
                    .jobs
                    .iter()
                    .map(|j| j.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let broken = broken_python_files(inventory);
    let budgets = applicable_budgets(config, &plan.pipeline)?;
    let python = python_interpreter(config, root);
    let default_timeout = config.run.timeout.as_ref().map(|t| t.duration);
    let mut jobs = Vec::new();
    for planned in &plan.jobs {
        if machine
            .job
            .as_ref()
            .is_some_and(|n| *n != planned.name && *n != planned.job)
        {
            continue;
        }
        let tests = shard_tests(planned, shard);
        let mut job = JobSpec::new(&planned.name, planned.stage);
        job.gating = planned.gating;
        job.gpus = planned.runner.gpus;
        job.provides = planned.runner.provides.clone();
        job.wall_timeout = match &planned.timeout {
            Some(text) => Some(tollgate_config::parse_duration(text).map_err(|e| {
                FromPlanError::BadTimeout {
                    job: planned.name.clone(),
                    text: text.clone(),
                    reason: e.to_string(),
                }
            })?),
            None => None,
        };
        // A job without tests runs its commands; a test job whose shard is
        // empty here runs nothing (its commands would run every test).
        if planned.tests.is_empty() {
            job.steps = planned
                .commands
                .iter()
                .map(|c| Step::Shell { command: c.clone() })
                .collect();
        } else {
            let selected: Vec<&TestItem> = tests
                .iter()
                .filter_map(|id| items.get(id.as_str()).copied())
                .collect();
            // A suite budget applies to a job whose every test it selects
            // (the tightest when several do); a per-test budget to each test
            // it selects.
            job.budget = budgets
                .iter()
                .filter(|b| b.scope == BudgetScope::Suite)
                .filter(|b| !selected.is_empty() && selected.iter().all(|t| b.expr.evaluate(*t)))
                .min_by_key(|b| b.limit)
                .map(|b| Budget {
                    name: b.name.clone(),
                    limit: b.limit,
                });
            job.test_budgets = budgets
                .iter()
                .filter(|b| b.scope == BudgetScope::Test)
                .filter_map(|b| {
                    let tests: Vec<String> = selected
                        .iter()
                        .filter(|t| b.expr.evaluate(**t))
                        .map(|t| t.id.clone())
                        .collect();
                    (!tests.is_empty()).then(|| TestBudget {
                        name: b.name.clone(),
                        limit: b.limit,
                        tests,
                    })
                })
                .collect();
            let spec_for = |id: &String| {
                let item = items.get(id.as_str());
                TestSpec {
                    id: id.clone(),
                    timeout: item.and_then(|t| marked_timeout(t)).or(default_timeout),
                    retries: item
                        .and_then(|t| marked_retries(t))
                        .unwrap_or(config.run.retries),
                }
            };
            let is_rust = |id: &String| match items.get(id.as_str()) {
                Some(item) => item.language == Language::Rust,
                // Not in the inventory: pytest ids have `::` in a path ending in `.py`.
                None => !id.split("::").next().is_some_and(|f| f.ends_with(".py")),
            };
            let (rust_ids, python_ids): (Vec<&String>, Vec<&String>) =
                tests.iter().partition(|id| is_rust(id));
            if !python_ids.is_empty() {
                let mut tests: Vec<TestSpec> = python_ids.into_iter().map(spec_for).collect();
                let mut extra_args = Vec::new();
                // A test file discovery could not read or parse has tests no
                // one knows: pytest gets the file itself, so its own error
                // fails the job (once, in shard 1), and the other tests still
                // run.
                if shard.is_none_or(|(k, _)| k == 1) && !broken.is_empty() {
                    tests.extend(broken.iter().map(|f| TestSpec::new(f.clone())));
                    extra_args.push("--continue-on-collection-errors".to_string());
                }
                job.steps.push(Step::Pytest(PytestStep {
                    python: python.clone(),
                    tests,
                    extra_args,
                    plugins: Vec::new(),
                    env: Vec::new(),
                }));
            }
            // One cargo run per Cargo workspace, in its directory: the
            // root's first, then nested ones in path order (as `plan` prints).
            let mut by_workspace: std::collections::BTreeMap<&str, Vec<&String>> =
                std::collections::BTreeMap::new();
            for id in rust_ids {
                let workspace = items
                    .get(id.as_str())
                    .and_then(|t| t.rust.as_ref())
                    .map_or("", |r| r.workspace.as_str());
                by_workspace.entry(workspace).or_default().push(id);
            }
            for (workspace, ids) in by_workspace {
                job.steps.push(Step::Rust(RustStep {
                    workspace: workspace.to_string(),
                    tests: ids.into_iter().map(spec_for).collect(),
                    cargo_args: cargo_args(config, &plan.pipeline, &planned.job),
                    force_cargo_test: false,
                }));
            }
        }
        jobs.push(job);
    }
    Ok(RunSpec {
        pipeline: plan.pipeline.clone(),
        root: root.to_path_buf(),
        jobs,
        fail_fast: machine.fail_fast.unwrap_or(plan.fail_fast),
        parallel: config.run.parallel as usize,
        machine_gpus: machine.gpus.or_else(detect_gpus).unwrap_or(0),
        machine_provides: machine.provides.clone(),
    })
}

/// Python test files discovery could not parse, read, or that are over its
/// size limit: none of their tests is in the inventory (pure).
pub fn broken_python_files(inventory: &Inventory) -> Vec<String> {
    let mut files: Vec<String> = inventory
        .diagnostics
        .iter()
        .filter(|d| d.severity == tollgate_inventory::Severity::Error)
        .filter(|d| matches!(d.code.as_str(), "parse-error" | "unreadable" | "too-large"))
        .filter(|d| d.file.ends_with(".py"))
        .map(|d| d.file.clone())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// The job's tests for shard K/N: the plan's shard when it made one, else
/// every N-th test (a stable split of the plan's order).
fn shard_tests(job: &PlannedJob, shard: Option<(u32, u32)>) -> Vec<String> {
    let Some((k, n)) = shard else {
        return job.tests.clone();
    };
    if job.shards.iter().any(|s| s.count == n) {
        // The plan's split (it leaves out shards that would be empty).
        return job
            .shards
            .iter()
            .find(|s| s.index == k)
            .map_or_else(Vec::new, |s| s.tests.clone());
    }
    job.tests
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as u32) % n == k - 1)
        .map(|(_, t)| t.clone())
        .collect()
}

/// A configured budget, parsed.
struct ParsedBudget {
    name: String,
    limit: Duration,
    scope: BudgetScope,
    expr: Expression,
}

fn applicable_budgets(config: &Config, pipeline: &str) -> Result<Vec<ParsedBudget>, FromPlanError> {
    config
        .budgets
        .iter()
        .filter(|(_, b)| b.pipelines.is_empty() || b.pipelines.iter().any(|p| p == pipeline))
        .map(|(name, b)| {
            let expr = Expression::parse(&b.expr).map_err(|e| FromPlanError::BadBudget {
                name: name.to_string(),
                expr: b.expr.clone(),
                message: e.to_string(),
            })?;
            Ok(ParsedBudget {
                name: name.to_string(),
                limit: b.limit.duration,
                scope: b.scope,
                expr,
            })
        })
        .collect()
}

fn cargo_args(config: &Config, pipeline: &str, job: &str) -> Vec<String> {
    let overridden = config
        .pipelines
        .get(pipeline)
        .and_then(|p| p.overrides.get(job))
        .and_then(|o| o.cargo.as_ref());
    let Some(cargo) = overridden.or_else(|| config.jobs.get(job).map(|j| &j.cargo)) else {
        return Vec::new();
    };
    let mut args = Vec::new();
    if cargo.all_features {
        args.push("--all-features".to_string());
    } else if !cargo.features.is_empty() {
        args.push("--features".to_string());
        args.push(cargo.features.join(","));
    }
    match cargo.ignored {
        tollgate_config::IgnoredTests::Exclude => {}
        tollgate_config::IgnoredTests::Include => args.push("--run-ignored=all".to_string()),
        tollgate_config::IgnoredTests::Only => args.push("--run-ignored=only".to_string()),
    }
    args
}

#[cfg(test)]
mod tests {
    use tollgate_inventory::{MarkOrigin, MarkSource, Marker};

    use super::*;

    fn item(id: &str, marks: Vec<Marker>) -> TestItem {
        TestItem {
            id: id.to_string(),
            language: Language::Python,
            file: "t.py".into(),
            line: 1,
            function: id.to_string(),
            markers: marks,
            dynamic: None,
            rust: None,
        }
    }

    fn mark(name: &str) -> Marker {
        Marker::new(
            name,
            MarkOrigin {
                file: "t.py".into(),
                line: 1,
                source: MarkSource::FunctionDecorator,
                learned: None,
            },
        )
    }

    #[test]
    fn timeout_and_retries_come_from_marks() {
        let mut timeout = mark("timeout");
        timeout.args = vec![MarkValue::Int(300)];
        let mut flaky = mark("flaky");
        flaky.kwargs.insert("reruns".into(), MarkValue::Int(2));
        let t = item("t.py::a", vec![timeout, flaky]);
        assert_eq!(marked_timeout(&t), Some(Duration::from_secs(300)));
        assert_eq!(marked_retries(&t), Some(2));
        let mut kw = mark("timeout");
        kw.kwargs.insert("timeout".into(), MarkValue::Float(1.5));
        assert_eq!(
            marked_timeout(&item("x", vec![kw])),
            Some(Duration::from_millis(1500))
        );
        let mut bad = mark("timeout");
        bad.args = vec![MarkValue::Str("soon".into())];
        assert_eq!(marked_timeout(&item("x", vec![bad])), None);
        assert_eq!(marked_retries(&item("x", vec![])), None);
    }

    #[test]
    fn gpus_come_from_nvidia_smi_and_its_absence_means_none() {
        use std::os::unix::fs::PermissionsExt;
        let listing = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\n  MIG 1g.10gb Device 0: (UUID: MIG-1)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)\n";
        assert_eq!(count_gpus(listing), 2);
        assert_eq!(count_gpus(""), 0);
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("nvidia-smi");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\n[ \"$1\" = -L ] || exit 9\nprintf '{}'\n",
                listing.replace('\n', "\\n")
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(gpus_from(&fake), Some(2));
        // Installed but failing (no driver): no GPUs known.
        let broken = dir.path().join("broken-smi");
        std::fs::write(
            &broken,
            "#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n",
        )
        .unwrap();
        std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(gpus_from(&broken), None);
        assert_eq!(gpus_from(&dir.path().join("absent")), None);
    }

    #[test]
    fn shards() {
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
        for bad in ["0/3", "4/3", "x/3", "3", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let job = PlannedJob {
            name: "unit".into(),
            job: "unit".into(),
            framework: None,
            stage: 2,
            gating: true,
            runner: Default::default(),
            commands: vec![],
            tests: (0..5).map(|i| format!("t{i}")).collect(),
            python_tests: 5,
            rust_tests: 0,
            shards: vec![],
            needs: vec![],
            timeout: None,
        };
        assert_eq!(shard_tests(&job, Some((2, 2))), ["t1", "t3"]);
        assert_eq!(shard_tests(&job, None).len(), 5);
        // The plan's split wins; a shard it left out (nothing to run) is empty.
        let shard = |index: u32, tests: &[&str]| tollgate_plan::Shard {
            index,
            count: 3,
            commands: vec![],
            tests: tests.iter().map(|t| t.to_string()).collect(),
            estimated_s: None,
        };
        let split = PlannedJob {
            shards: vec![shard(1, &["t4", "t0"]), shard(2, &["t1", "t2", "t3"])],
            ..job
        };
        assert_eq!(shard_tests(&split, Some((1, 3))), ["t4", "t0"]);
        assert_eq!(shard_tests(&split, Some((2, 3))), ["t1", "t2", "t3"]);
        assert!(shard_tests(&split, Some((3, 3))).is_empty());
    }
}
