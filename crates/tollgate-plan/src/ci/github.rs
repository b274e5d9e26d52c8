//! GitHub Actions workflows (`.github/workflows/*.yml`) to a [`CiImport`].
//!
//! - triggers: `pull_request` (and a `push` to mirror branches such as
//!   `pull-request/[0-9]+`) → `pr`; `push` → `push`; `schedule` → `nightly`
//!   (`weekly` when the cron names a weekday); `push` of tags or a
//!   `workflow_dispatch`-only workflow named `release` → `release`;
//! - test selections: `pytest -m` in `run:` steps (and in the shell scripts
//!   they call), and the `with:` inputs of reusable workflows whose name
//!   says they carry pytest markers (`cpu_only_test_markers`,
//!   `pytest_marks`); `cargo test` / `cargo nextest run` in `run:` steps,
//!   in their `working-directory` (a `matrix` list of directories is
//!   expanded);
//! - runners: `runs-on` labels and `*runner` inputs; GPUs from the
//!   expression's `gpu_N` markers, else from the input's name (`cpu_only` →
//!   0, `gpu` → 1).

use serde_json::Value;
use tollgate_config::Trigger;

use super::shell::{self, Found};
use super::{gpus_in, job_name, schedule_pipeline, CiImport, CiJob, CiJobKind};

/// Reads `workflows` (file name → YAML text, as found in
/// `.github/workflows`); `read` returns a repository file's text (scripts
/// the steps call), `None` when it does not exist.
pub fn read_github(
    workflows: &[(String, String)],
    read: &dyn Fn(&str) -> Option<String>,
) -> CiImport {
    let mut import = CiImport {
        ci: "github".to_string(),
        ..CiImport::default()
    };
    let parsed: Vec<(&str, Option<Value>)> = workflows
        .iter()
        .map(|(name, text)| {
            let value = serde_saphyr::from_str::<Value>(text).ok();
            (name.as_str(), value)
        })
        .collect();
    for (file, value) in &parsed {
        let Some(value) = value else {
            import.note(*file, "not valid YAML; skipped");
            continue;
        };
        let triggers = pipelines_of(file, value);
        if triggers.is_empty() {
            continue;
        }
        let Some(jobs) = value.get("jobs").and_then(Value::as_object) else {
            continue;
        };
        for (job_id, job) in jobs {
            let at = format!("{file}: jobs.{job_id}");
            let found = job_selections(file, job_id, job, &parsed, read, &mut import);
            if found.is_empty() {
                continue;
            }
            if let Some(cond) = job.get("if").and_then(Value::as_str) {
                import.note(
                    &at,
                    format!("runs only if `{}` (a condition on the CI run, e.g. changed paths); the tollgate job always runs — use [frameworks]/[components] paths and change_aware for that", one_line(cond)),
                );
            }
            for (pipeline, trigger, source, branches, schedule) in &triggers {
                for job in &found {
                    import.add(pipeline, *trigger, source, job.clone());
                }
                if let Some(p) = import.pipelines.iter_mut().find(|p| p.name == *pipeline) {
                    for b in branches {
                        if !p.branches.contains(b) {
                            p.branches.push(b.clone());
                        }
                    }
                    if p.schedule.is_none() {
                        p.schedule.clone_from(schedule);
                    }
                }
            }
        }
    }
    import.finish()
}

type PipelineOf = (&'static str, Trigger, String, Vec<String>, Option<String>);

/// The tollgate pipelines a workflow's `on:` maps to.
fn pipelines_of(file: &str, workflow: &Value) -> Vec<PipelineOf> {
    // YAML 1.1 readers turn the key `on` into `true`.
    let Some(on) = workflow.get("on").or_else(|| workflow.get("true")) else {
        return Vec::new();
    };
    let events: Vec<(String, Value)> = match on {
        Value::String(s) => vec![(s.clone(), Value::Null)],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| (s.to_string(), Value::Null))
            .collect(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<PipelineOf> = Vec::new();
    let list = |v: &Value, key: &str| -> Vec<String> {
        match v.get(key) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let only_manual = events
        .iter()
        .all(|(e, _)| e == "workflow_dispatch" || e == "workflow_call");
    for (event, config) in &events {
        match event.as_str() {
            "pull_request" | "pull_request_target" | "merge_group" => out.push((
                "pr",
                Trigger::PullRequest,
                format!("{file} (on: {event})"),
                list(config, "branches"),
                None,
            )),
            "push" => {
                let branches = list(config, "branches");
                let tags = list(config, "tags");
                if !tags.is_empty() && branches.is_empty() {
                    out.push((
                        "release",
                        Trigger::Manual,
                        format!("{file} (on: push of tags {})", tags.join(", ")),
                        Vec::new(),
                        None,
                    ));
                } else {
                    // Bots that mirror pull requests to branches (NVIDIA's
                    // copy-pr-bot) make a push to such a branch the PR
                    // pipeline; a workflow that lists both kinds is both.
                    let (mirrors, others): (Vec<String>, Vec<String>) =
                        branches.iter().cloned().partition(|b| is_pr_mirror(b));
                    if !mirrors.is_empty() {
                        out.push((
                            "pr",
                            Trigger::PullRequest,
                            format!("{file} (on: push to {})", mirrors.join(", ")),
                            Vec::new(),
                            None,
                        ));
                    }
                    if mirrors.is_empty() || !others.is_empty() {
                        let what = if others.is_empty() {
                            "push".to_string()
                        } else {
                            format!("push to {}", others.join(", "))
                        };
                        out.push((
                            "push",
                            Trigger::Push,
                            format!("{file} (on: {what})"),
                            others,
                            None,
                        ));
                    }
                }
            }
            "schedule" => {
                let crons: Vec<String> = config
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("cron").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect();
                for cron in crons {
                    let name = schedule_pipeline(&cron);
                    out.push((
                        name,
                        Trigger::Schedule,
                        format!("{file} (on: schedule `{cron}`)"),
                        Vec::new(),
                        Some(cron),
                    ));
                }
            }
            "workflow_dispatch" if only_manual && file.to_ascii_lowercase().contains("release") => {
                out.push((
                    "release",
                    Trigger::Manual,
                    format!("{file} (on: workflow_dispatch)"),
                    Vec::new(),
                    None,
                ));
            }
            _ => {}
        }
    }
    out
}

/// A branch that mirrors pull requests (`pull-request/[0-9]+`, `pr/*`).
fn is_pr_mirror(branch: &str) -> bool {
    let b = branch.to_ascii_lowercase();
    b.contains("pull-request") || b.contains("pull_request") || b.starts_with("pr/")
}

/// A job's test selections: its own `run:` steps, or the `with:` inputs it
/// passes to a reusable workflow.
fn job_selections(
    file: &str,
    job_id: &str,
    job: &Value,
    workflows: &[(&str, Option<Value>)],
    read: &dyn Fn(&str) -> Option<String>,
    import: &mut CiImport,
) -> Vec<CiJob> {
    let at = format!("{file}: jobs.{job_id}");
    let mut out = Vec::new();
    let labels = runs_on(job.get("runs-on"));
    if let Some(uses) = job.get("uses").and_then(Value::as_str) {
        let with = job.get("with").and_then(Value::as_object);
        let mut runner_labels = labels.clone();
        if let Some(with) = with {
            for (key, value) in with {
                if key.ends_with("runner") {
                    if let Some(label) = value.as_str() {
                        runner_labels.push(label.to_string());
                    }
                }
            }
        }
        let found = with_selections(&at, job_id, uses, with, &runner_labels, import, true);
        let any = !found.is_empty();
        out.extend(found);
        if !any {
            // A local reusable workflow whose own steps select tests.
            if let Some(target) = uses.strip_prefix("./.github/workflows/") {
                if let Some((_, Some(called))) = workflows.iter().find(|(f, _)| *f == target) {
                    if let Some(jobs) = called.get("jobs").and_then(Value::as_object) {
                        for (inner_id, inner) in jobs {
                            let mut found = steps_selections(target, inner_id, inner, read, import);
                            for job in &mut found {
                                job.name = job_name(&format!("{job_id}-{inner_id}"), None);
                            }
                            out.extend(found);
                        }
                    }
                }
            }
        }
        return out;
    }
    steps_selections(file, job_id, job, read, import)
}

/// The pytest selections among the `with:` inputs a job (or a step) passes
/// to a reusable workflow or an action: inputs whose name says they carry
/// pytest markers (`cpu_only_test_markers`, `pytest_marks`). `key_in_name`:
/// the input's name becomes part of the tollgate job's name.
fn with_selections(
    at: &str,
    job_id: &str,
    uses: &str,
    with: Option<&serde_json::Map<String, Value>>,
    labels: &[String],
    import: &mut CiImport,
    key_in_name: bool,
) -> Vec<CiJob> {
    let mut out = Vec::new();
    for (key, value) in with.into_iter().flatten() {
        let lower = key.to_ascii_lowercase();
        if !(lower.contains("marker") || lower.contains("marks")) {
            // Whole pytest command lines handed to an action (`extra_pytest_args:
            // -m framework_only --image=...`) are assembled by the action's own
            // shell: what they select is listed for review, never dropped.
            if let Some(args) = scalar(value).filter(|a| has_marker_option(a)) {
                import.note(
                    format!("{at}, with.{key}"),
                    format!(
                        "pytest arguments `{}` passed to {uses}, which builds its own command: \
                         the tests they select are not imported",
                        one_line(&args)
                    ),
                );
            }
            continue;
        }
        let Some(expr) = scalar(value) else { continue };
        let expr = expr.trim().to_string();
        if expr.is_empty() {
            continue;
        }
        if expr.contains("${{") || expr.contains('$') {
            import.note(
                format!("{at}, with.{key}"),
                format!("marker expression `{expr}` comes from a CI variable"),
            );
            continue;
        }
        if tollgate_markexpr::Expression::parse(&expr).is_err() {
            import.note(
                format!("{at}, with.{key}"),
                format!("`{expr}` is not a pytest marker expression"),
            );
            continue;
        }
        let gpus = gpus_in(&expr).unwrap_or_else(|| {
            if lower.contains("cpu") {
                0
            } else {
                u32::from(lower.contains("gpu"))
            }
        });
        out.push(CiJob {
            name: job_name(job_id, key_in_name.then_some(key.as_str())),
            origin: format!("{at}, with.{key} (via {uses})"),
            kind: CiJobKind::Pytest { expr: expr.clone() },
            gpus,
            labels: labels.to_vec(),
            command: format!("pytest -m \"{expr}\""),
        });
    }
    out
}

/// Whether an input's text holds pytest's `-m` option (`-m expr` or
/// `-mexpr`, as a word of its own).
fn has_marker_option(args: &str) -> bool {
    args.split_whitespace().any(|word| {
        word == "-m" || (word.starts_with("-m") && !word.starts_with("--") && word.len() > 2)
    })
}

/// Selections in a job's `run:` steps (and the scripts they call).
fn steps_selections(
    file: &str,
    job_id: &str,
    job: &Value,
    read: &dyn Fn(&str) -> Option<String>,
    import: &mut CiImport,
) -> Vec<CiJob> {
    let at = format!("{file}: jobs.{job_id}");
    let labels = runs_on(job.get("runs-on"));
    let matrix = job.get("strategy").and_then(|s| s.get("matrix"));
    let default_dir = job
        .get("defaults")
        .and_then(|d| d.get("run"))
        .and_then(|r| r.get("working-directory"))
        .and_then(Value::as_str);
    let mut out = Vec::new();
    let mut cargo_dirs: Vec<String> = Vec::new();
    let mut cargo_command = None;
    for (index, step) in job
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(uses) = step.get("uses").and_then(Value::as_str) {
            // An action called with a marker expression (`uses:
            // ./.github/actions/pytest`, `with: pytest_marks: ...`).
            let step_at = format!("{at}, steps[{index}]");
            let with = step.get("with").and_then(Value::as_object);
            for mut job in with_selections(&step_at, job_id, uses, with, &labels, import, false) {
                let n = out.len();
                if n > 0 {
                    job.name = format!("{}_{}", job.name, n + 1);
                }
                out.push(job);
            }
            continue;
        }
        let Some(run) = step.get("run").and_then(Value::as_str) else {
            continue;
        };
        let dir = step
            .get("working-directory")
            .and_then(Value::as_str)
            .or(default_dir);
        let mut found = shell::scan(run);
        // Scripts the step calls, one level deep.
        let mut scripts = Vec::new();
        found.retain(|f| match f {
            Found::Script { path } => {
                scripts.push(path.clone());
                false
            }
            _ => true,
        });
        for path in scripts {
            match read(&path) {
                Some(text) => found.extend(
                    shell::scan(&text)
                        .into_iter()
                        .filter(|f| !matches!(f, Found::Script { .. })),
                ),
                None => import.note(
                    format!("{at}, steps[{index}]"),
                    format!("calls `{path}`, which is not in the repository"),
                ),
            }
        }
        for f in found {
            match f {
                Found::Pytest { command, expr } => {
                    let step_at = format!("{at}, steps[{index}]");
                    match expr {
                        Some(expr) if expr.contains('$') => import.note(
                            step_at,
                            format!("`{command}`: its -m expression comes from a variable"),
                        ),
                        Some(expr) if tollgate_markexpr::Expression::parse(&expr).is_ok() => {
                            let n = out.len();
                            out.push(CiJob {
                                name: if n == 0 {
                                    job_name(job_id, None)
                                } else {
                                    format!("{}_{}", job_name(job_id, None), n + 1)
                                },
                                origin: step_at,
                                gpus: gpus_in(&expr).unwrap_or(0),
                                kind: CiJobKind::Pytest { expr },
                                labels: labels.clone(),
                                command,
                            });
                        }
                        Some(expr) => import.note(
                            step_at,
                            format!("`{command}`: `{expr}` is not a marker expression"),
                        ),
                        None => import.note(
                            step_at,
                            format!("`{command}` selects by path or node id, not by marker; not translated"),
                        ),
                    }
                }
                Found::Cargo { command } => {
                    let dirs = expand_dir(dir, matrix);
                    for d in dirs {
                        if !cargo_dirs.contains(&d) {
                            cargo_dirs.push(d);
                        }
                    }
                    cargo_command.get_or_insert(command);
                }
                Found::Script { .. } => {}
            }
        }
    }
    if let Some(command) = cargo_command {
        out.push(CiJob {
            name: if out.is_empty() {
                job_name(job_id, None)
            } else {
                format!("{}_rust", job_name(job_id, None))
            },
            origin: at,
            kind: CiJobKind::Cargo { dirs: cargo_dirs },
            gpus: 0,
            labels,
            command,
        });
    }
    out
}

/// `working-directory`, with `${{ matrix.KEY }}` expanded to the matrix's list.
fn expand_dir(dir: Option<&str>, matrix: Option<&Value>) -> Vec<String> {
    let Some(dir) = dir else {
        return vec![".".to_string()];
    };
    let trimmed = dir.trim();
    if let Some(key) = trimmed
        .strip_prefix("${{")
        .and_then(|s| s.strip_suffix("}}"))
        .map(str::trim)
        .and_then(|s| s.strip_prefix("matrix."))
    {
        let values: Vec<String> = matrix
            .and_then(|m| m.get(key))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(normalize_dir)
            .collect();
        if !values.is_empty() {
            return values;
        }
    }
    vec![normalize_dir(trimmed)]
}

fn normalize_dir(dir: &str) -> String {
    let d = dir.trim().trim_start_matches("./").trim_end_matches('/');
    if d.is_empty() {
        ".".to_string()
    } else {
        d.to_string()
    }
}

fn runs_on(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) if !s.contains("${{") => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.contains("${{"))
            .map(str::to_string)
            .collect(),
        Some(Value::Object(m)) => m
            .get("group")
            .and_then(Value::as_str)
            .map(|g| vec![format!("group:{g}")])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PR: &str = r#"
name: PR
on:
  push:
    branches:
      - "pull-request/[0-9]+"
jobs:
  vllm-test:
    if: needs.changed-files.outputs.vllm == 'true'
    uses: ./.github/workflows/shared-test.yml
    with:
      amd_runner: prod-tester-amd-gpu-v1
      cpu_only_test_markers: pre_merge and vllm and gpu_0
      gpu_test_markers: pre_merge and vllm and (gpu_2 or gpu_4)
"#;

    const RUST: &str = r#"
on:
  push:
    branches: [main]
  pull_request:
jobs:
  rust-tests:
    runs-on: ubuntu-latest
    strategy:
      matrix: { dir: ['.', 'lib/bindings/python'] }
    steps:
      - run: cargo test --locked --no-run
        working-directory: ${{ matrix.dir }}
      - run: cargo test --locked --all-targets
        working-directory: ${{ matrix.dir }}
      - run: ./ci/py.sh
"#;

    const NIGHTLY: &str = r#"
on:
  schedule:
    - cron: '0 8 * * *'
  workflow_dispatch:
jobs:
  t:
    runs-on: [self-hosted, gpu]
    steps:
      - run: pytest -m "nightly and gpu_1" tests/
"#;

    #[test]
    fn reads_triggers_jobs_and_scripts() {
        let workflows = vec![
            ("pr.yaml".to_string(), PR.to_string()),
            ("pre-merge.yml".to_string(), RUST.to_string()),
            ("nightly.yml".to_string(), NIGHTLY.to_string()),
        ];
        let read = |path: &str| {
            (path == "ci/py.sh").then(|| "python -m pytest -m 'unit and gpu_0'\n".to_string())
        };
        let import = read_github(&workflows, &read);
        let names: Vec<&str> = import.pipelines.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pr", "push", "nightly"]);
        let pr = import.pipeline("pr").unwrap();
        let jobs: Vec<(&str, u32)> = pr.jobs.iter().map(|j| (j.name.as_str(), j.gpus)).collect();
        assert_eq!(
            jobs,
            vec![
                ("vllm-test_cpu_only", 0),
                ("vllm-test_gpu", 4),
                ("rust-tests", 0),
                ("rust-tests_rust", 0),
            ]
        );
        assert_eq!(pr.jobs[0].labels, ["prod-tester-amd-gpu-v1"]);
        let rust = pr
            .jobs
            .iter()
            .find(|j| matches!(j.kind, CiJobKind::Cargo { .. }))
            .unwrap();
        assert_eq!(
            rust.kind,
            CiJobKind::Cargo {
                dirs: vec![".".into(), "lib/bindings/python".into()]
            }
        );
        let push = import.pipeline("push").unwrap();
        assert_eq!(push.branches, ["main"]);
        let nightly = import.pipeline("nightly").unwrap();
        assert_eq!(nightly.schedule.as_deref(), Some("0 8 * * *"));
        assert_eq!(
            nightly.jobs[0].kind,
            CiJobKind::Pytest {
                expr: "nightly and gpu_1".into()
            }
        );
        assert_eq!(nightly.jobs[0].labels, ["self-hosted", "gpu"]);
        assert!(
            import
                .untranslated
                .iter()
                .any(|u| u.at == "pr.yaml: jobs.vllm-test" && u.what.contains("changed-files")),
            "{:?}",
            import.untranslated
        );
    }

    /// Dynamo's container-validation workflow: one `push` trigger lists the
    /// PR mirror branches beside `main`, and its jobs call a local pytest
    /// action with the marker expression as a step input.
    const VALIDATION: &str = r#"
on:
  push:
    branches:
    - main
    - release/*.*.*
    - "pull-request/[0-9]+"
jobs:
  test-parallel:
    runs-on: prod-builder-amd-v1
    steps:
      - uses: actions/checkout@v4
      - name: Run pytest (parallel tests with xdist)
        uses: ./.github/actions/pytest
        with:
          pytest_marks: "pre_merge and parallel and not (vllm or sglang or trtllm) and (gpu_0)"
          test_type: "pre_merge_parallel"
  test-generic-gpu:
    runs-on: prod-tester-amd-gpu-v1
    steps:
      - uses: ./.github/actions/pytest
        with:
          pytest_marks: "pre_merge and none and gpu_1"
          framework: dynamo
      - uses: ./.github/actions/pytest
        with:
          pytest_marks: ${{ inputs.marks }}
  deploy-test:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/dynamo-deploy-test
        with:
          test_name: gaie
          extra_pytest_args: >-
            -m framework_with_gaie
            --image=${{ secrets.REGISTRY }}/dynamo:${{ github.sha }}
"#;

    #[test]
    fn mixed_push_branches_and_step_level_pytest_actions() {
        let workflows = vec![(
            "container-validation-dynamo.yml".to_string(),
            VALIDATION.to_string(),
        )];
        let import = read_github(&workflows, &|_| None);
        let names: Vec<&str> = import.pipelines.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pr", "push"]);
        let push = import.pipeline("push").unwrap();
        assert_eq!(push.branches, ["main", "release/*.*.*"]);
        for pipeline in &import.pipelines {
            let jobs: Vec<(&str, u32, &[String])> = pipeline
                .jobs
                .iter()
                .map(|j| (j.name.as_str(), j.gpus, j.labels.as_slice()))
                .collect();
            assert_eq!(
                jobs,
                // Jobs in name order (the YAML map is read sorted).
                vec![
                    (
                        "test-generic-gpu",
                        1,
                        &["prod-tester-amd-gpu-v1".to_string()][..]
                    ),
                    ("test-parallel", 0, &["prod-builder-amd-v1".to_string()][..]),
                ],
                "{}",
                pipeline.name
            );
            assert_eq!(
                pipeline.jobs[1].kind,
                CiJobKind::Pytest {
                    expr: "pre_merge and parallel and not (vllm or sglang or trtllm) and (gpu_0)"
                        .into()
                }
            );
        }
        assert!(
            import
                .untranslated
                .iter()
                .any(|u| u.at.contains("jobs.test-generic-gpu, steps[1]")
                    && u.what.contains("CI variable")),
            "{:?}",
            import.untranslated
        );
        // A pytest command line inside an action's input is listed, not dropped.
        assert!(
            import.untranslated.iter().any(|u| u
                .at
                .contains("jobs.deploy-test, steps[0], with.extra_pytest_args")
                && u.what.contains("-m framework_with_gaie")
                && u.what.contains("dynamo-deploy-test")),
            "{:?}",
            import.untranslated
        );
    }

    #[test]
    fn marker_options_in_argument_text() {
        assert!(has_marker_option("-m framework_only"));
        assert!(has_marker_option("--image=x -mslow"));
        assert!(!has_marker_option("--markexpr-file x --model=m"));
        assert!(!has_marker_option("--mode fast"));
    }
}
