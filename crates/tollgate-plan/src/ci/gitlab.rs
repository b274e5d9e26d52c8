//! A `.gitlab-ci.yml` to a [`CiImport`]: jobs' `script` lines (and the
//! shell scripts they call) for `pytest -m` and `cargo test`; pipelines from
//! `rules: - if:` / `only:` (`merge_request_event` → `pr`, `schedule` →
//! `nightly`, tags → `release`, the default branch → `push`; a job without
//! either runs on every push → `push`); runner labels from `tags`.

use serde_json::Value;
use tollgate_config::Trigger;

use super::shell::{self, Found};
use super::{gpus_in, job_name, CiImport, CiJob, CiJobKind};

const RESERVED: &[&str] = &[
    "stages",
    "variables",
    "include",
    "default",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "pages",
];

/// Reads `.gitlab-ci.yml`'s text; `read` returns scripts its jobs call.
pub fn read_gitlab(file: &str, text: &str, read: &dyn Fn(&str) -> Option<String>) -> CiImport {
    let mut import = CiImport {
        ci: "gitlab".to_string(),
        ..CiImport::default()
    };
    let Ok(root) = serde_saphyr::from_str::<Value>(text) else {
        import.note(file, "not valid YAML; skipped");
        return import;
    };
    let Some(map) = root.as_object() else {
        return import;
    };
    if map.contains_key("include") {
        import.note(file, "`include:` files are not read");
    }
    for (name, job) in map {
        if name.starts_with('.') || RESERVED.contains(&name.as_str()) || !job.is_object() {
            continue;
        }
        let at = format!("{file}: {name}");
        let labels: Vec<String> = job
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let mut script = String::new();
        for key in ["before_script", "script"] {
            match job.get(key) {
                Some(Value::String(s)) => {
                    script.push_str(s);
                    script.push('\n');
                }
                Some(Value::Array(lines)) => {
                    for line in lines.iter().filter_map(Value::as_str) {
                        script.push_str(line);
                        script.push('\n');
                    }
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        for f in shell::scan(&script) {
            match f {
                Found::Script { path } => match read(&path) {
                    Some(text) => found.extend(
                        shell::scan(&text)
                            .into_iter()
                            .filter(|f| !matches!(f, Found::Script { .. })),
                    ),
                    None => import.note(
                        &at,
                        format!("calls `{path}`, which is not in the repository"),
                    ),
                },
                other => found.push(other),
            }
        }
        let mut jobs = Vec::new();
        for f in found {
            match f {
                Found::Pytest {
                    command,
                    expr: Some(expr),
                } if !expr.contains('$') && tollgate_markexpr::Expression::parse(&expr).is_ok() => {
                    let n = jobs.len();
                    jobs.push(CiJob {
                        name: if n == 0 {
                            job_name(name, None)
                        } else {
                            format!("{}_{}", job_name(name, None), n + 1)
                        },
                        origin: at.clone(),
                        gpus: gpus_in(&expr).unwrap_or(0),
                        kind: CiJobKind::Pytest { expr },
                        labels: labels.clone(),
                        command,
                    });
                }
                Found::Pytest { command, .. } => import.note(
                    &at,
                    format!(
                        "`{command}` does not select by a plain marker expression; not translated"
                    ),
                ),
                Found::Cargo { command } => jobs.push(CiJob {
                    name: format!("{}_rust", job_name(name, None)),
                    origin: at.clone(),
                    kind: CiJobKind::Cargo {
                        dirs: vec![".".to_string()],
                    },
                    gpus: 0,
                    labels: labels.clone(),
                    command,
                }),
                Found::Script { .. } => {}
            }
        }
        if jobs.is_empty() {
            continue;
        }
        for (pipeline, trigger, source) in pipelines_of(file, name, job) {
            for j in &jobs {
                import.add(pipeline, trigger, &source, j.clone());
            }
        }
    }
    import.finish()
}

fn pipelines_of(file: &str, name: &str, job: &Value) -> Vec<(&'static str, Trigger, String)> {
    let mut conditions: Vec<String> = Vec::new();
    if let Some(rules) = job.get("rules").and_then(Value::as_array) {
        for rule in rules {
            if rule.get("when").and_then(Value::as_str) == Some("never") {
                continue;
            }
            if let Some(cond) = rule.get("if").and_then(Value::as_str) {
                conditions.push(cond.to_string());
            }
        }
    }
    for key in ["only"] {
        match job.get(key) {
            Some(Value::Array(a)) => {
                conditions.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
            }
            Some(Value::Object(m)) => conditions.extend(
                m.get("refs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    let source = |what: &str| format!("{file}: {name} ({what})");
    if conditions.is_empty() {
        return vec![("push", Trigger::Push, source("no rules: every push"))];
    }
    let mut out = Vec::new();
    for cond in &conditions {
        let c = cond.as_str();
        let entry = if c.contains("merge_request_event") || c == "merge_requests" {
            ("pr", Trigger::PullRequest)
        } else if c.contains("\"schedule\"") || c.contains("'schedule'") || c == "schedules" {
            ("nightly", Trigger::Schedule)
        } else if c.contains("CI_COMMIT_TAG") || c == "tags" {
            ("release", Trigger::Manual)
        } else if c.contains("CI_DEFAULT_BRANCH")
            || c.contains("CI_COMMIT_BRANCH")
            || c == "branches"
            || c == "main"
            || c == "master"
        {
            ("push", Trigger::Push)
        } else if c.contains("\"web\"") || c == "web" {
            ("release", Trigger::Manual)
        } else {
            continue;
        };
        if !out.iter().any(|(n, _, _)| *n == entry.0) {
            out.push((entry.0, entry.1, source(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jobs_and_rules() {
        let text = r#"
stages: [test]
.template:
  script: [pytest -m "never"]
unit:
  tags: [cpu]
  script:
    - pytest -m "pre_merge and unit"
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
nightly-gpu:
  tags: [gpu, a100]
  script: pytest -m "nightly and gpu_1"
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
rust:
  script: [cargo test --workspace]
"#;
        let import = read_gitlab(".gitlab-ci.yml", text, &|_| None);
        let names: Vec<&str> = import.pipelines.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pr", "push", "nightly"]);
        assert_eq!(import.pipeline("pr").unwrap().jobs.len(), 1);
        let mut push: Vec<&str> = import
            .pipeline("push")
            .unwrap()
            .jobs
            .iter()
            .map(|j| j.name.as_str())
            .collect();
        push.sort_unstable();
        assert_eq!(push, ["rust_rust", "unit"]);
        let nightly = &import.pipeline("nightly").unwrap().jobs[0];
        assert_eq!(nightly.gpus, 1);
        assert_eq!(nightly.labels, ["gpu", "a100"]);
    }
}
