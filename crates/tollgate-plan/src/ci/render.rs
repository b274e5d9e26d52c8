//! A [`CiImport`] as a commented `tollgate.toml` that reproduces today's CI.
//!
//! - taxonomy: the markers registered with pytest (and any a CI expression
//!   names), the lifecycle stages in their order, `gpu_N` with its GPU
//!   count, the known framework back-ends; not strict (pytest decides what
//!   it accepts, as today);
//! - a job per CI test selection, with the CI's own `-m` expression, its
//!   runner labels and GPU count; a job per `cargo test` step;
//! - a pipeline per CI trigger. Its lifecycle stage is the natural one
//!   (`pr` → `pre_merge`, ...) when every expression of it names a
//!   lifecycle marker, so tollgate's inheritance changes nothing; when one
//!   does not (a nightly selecting `vllm and gpu_0`), the stage is the last
//!   one, and a rule gives tests without any lifecycle marker that last
//!   stage, so the pipeline selects exactly what the CI does.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use tollgate_config::Trigger;
use tollgate_markexpr::Expression;

use super::{CiImport, CiJob, CiJobKind};

/// What `init --from-ci` knows of the repository beside its CI.
#[derive(Debug, Clone, Default)]
pub struct ProjectFacts {
    pub name: String,
    /// pytest's registered markers: (name as written, description).
    pub registered: Vec<(String, String)>,
    /// Where the registrations are (`pyproject.toml`).
    pub registered_in: Option<String>,
    /// Cargo workspace roots, relative (`.` for the root).
    pub workspaces: Vec<String>,
    /// The CODEOWNERS file, relative.
    pub codeowners: Option<String>,
    /// The command that wrote the file.
    pub command: String,
}

const STAGES: [(&str, &str); 6] = [
    ("pre_commit", "marks tests to run in the pre-commit hook"),
    ("pre_merge", "marks tests to run before merging"),
    ("post_merge", "marks tests to run after merging"),
    ("nightly", "marks tests to run nightly"),
    ("weekly", "marks tests to run weekly"),
    ("release", "marks tests to run in the release pipeline"),
];

const FRAMEWORKS: [&str; 4] = ["vllm", "sglang", "trtllm", "tensorrt_llm"];

/// pytest's own markers: never written into the taxonomy.
const BUILTIN: [&str; 8] = [
    "filterwarnings",
    "parametrize",
    "skip",
    "skipif",
    "tryfirst",
    "trylast",
    "usefixtures",
    "xfail",
];

/// The marker that `init --from-ci`'s rule gives every Rust test.
pub const CARGO_MARKER: &str = "cargo";

fn natural_stage(pipeline: &str) -> &'static str {
    match pipeline {
        "pr" => "pre_merge",
        "push" => "post_merge",
        "nightly" => "nightly",
        "weekly" => "weekly",
        _ => "release",
    }
}

fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Commit => "commit",
        Trigger::PullRequest => "pull_request",
        Trigger::Push => "push",
        Trigger::Schedule => "schedule",
        Trigger::Manual => "manual",
    }
}

fn bare(name: &str) -> &str {
    name.split('(').next().unwrap_or(name).trim()
}

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        q(s)
    }
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
    )
}

fn comment(text: &str) -> String {
    text.lines()
        .map(|l| format!("# {l}").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Whether `expr` names a lifecycle marker.
fn names_lifecycle(expr: &str) -> bool {
    Expression::parse(expr).is_ok_and(|e| {
        e.marker_names()
            .iter()
            .any(|(n, _)| STAGES.iter().any(|(s, _)| s == n))
    })
}

/// The `tollgate.toml` text.
pub fn render_config(import: &CiImport, facts: &ProjectFacts) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# tollgate.toml, imported from today's CI ({}) by `{}`.\n\
         #\n\
         # Its pipelines and jobs reproduce what the CI definitions run today; each\n\
         # says where it came from. `tollgate ci diff` compares its plans with the\n\
         # CI. From here, move towards the seeds' strategy one step at a time\n\
         # (lifecycle inheritance, jobs per type and GPU count, change awareness).\n\
         # What could not be translated is listed at the end of this file ({} item(s)).\n\n",
        import.ci,
        facts.command,
        import.untranslated.len()
    );
    let _ = writeln!(out, "[project]\nname = {}\n", q(&facts.name));

    // ---- markers
    let exprs: Vec<&str> = import
        .pipelines
        .iter()
        .flat_map(|p| p.jobs.iter())
        .filter_map(|j| match &j.kind {
            CiJobKind::Pytest { expr } => Some(expr.as_str()),
            CiJobKind::Cargo { .. } => None,
        })
        .collect();
    let mut in_exprs: Vec<String> = Vec::new();
    for e in &exprs {
        if let Ok(parsed) = Expression::parse(e) {
            for (n, _) in parsed.marker_names() {
                if !in_exprs.iter().any(|x| x == n) {
                    in_exprs.push(n.to_string());
                }
            }
        }
    }
    let mut registered: Vec<(String, String)> = Vec::new();
    for (name, description) in &facts.registered {
        let name = bare(name);
        if !BUILTIN.contains(&name) && !registered.iter().any(|(n, _)| n == name) {
            registered.push((name.to_string(), description.trim().to_string()));
        }
    }
    for n in &in_exprs {
        if !BUILTIN.contains(&n.as_str()) && !registered.iter().any(|(r, _)| r == n) {
            registered.push((n.clone(), "named by a CI marker expression".to_string()));
        }
    }
    let description_of = |name: &str, fallback: &str| {
        registered
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| fallback.to_string())
    };
    let lifecycle_used: BTreeSet<&str> = import
        .pipelines
        .iter()
        .map(|p| natural_stage(&p.name))
        .chain(["release"])
        .collect();
    let stages: Vec<(&str, &str)> = STAGES
        .iter()
        .copied()
        .filter(|(s, _)| lifecycle_used.contains(s) || registered.iter().any(|(n, _)| n == s))
        .collect();
    let is_gpu = |n: &str| {
        n.strip_prefix("gpu_")
            .or_else(|| n.strip_prefix("gpus_needed_"))
            .and_then(|c| c.parse::<u32>().ok())
    };
    let _ = write!(
        out,
        "[taxonomy]\n\
         # Imported: pytest decides which markers exist (see {}); `tollgate\n\
         # markers --check` and `tollgate lint` report drift and unknown markers.\n\
         strict = false\n\n",
        facts
            .registered_in
            .as_deref()
            .unwrap_or("the pytest ini file")
    );
    out.push_str(
        "[taxonomy.categories.lifecycle]\n\
         description = \"When the test runs: the earliest pipeline stage that must run it\"\n\
         ordered = true\n\n\
         [taxonomy.categories.lifecycle.markers]\n",
    );
    for (s, fallback) in &stages {
        let _ = writeln!(out, "{} = {}", key(s), q(&description_of(s, fallback)));
    }
    let gpus: Vec<(String, u32)> = registered
        .iter()
        .filter_map(|(n, _)| is_gpu(n).map(|c| (n.clone(), c)))
        .collect();
    if !gpus.is_empty() {
        out.push_str(
            "\n[taxonomy.categories.hardware]\n\
             description = \"GPUs a test needs; a job's runner must offer them\"\n\n\
             [taxonomy.categories.hardware.markers]\n",
        );
        for (n, c) in &gpus {
            let _ = writeln!(
                out,
                "{} = {{ description = {}, gpus = {c} }}",
                key(n),
                q(&description_of(n, ""))
            );
        }
    }
    let frameworks: Vec<&str> = registered
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| FRAMEWORKS.contains(n))
        .collect();
    if !frameworks.is_empty() {
        out.push_str(
            "\n[taxonomy.categories.framework]\n\
             description = \"The inference back-end a test needs\"\n\n\
             [taxonomy.categories.framework.markers]\n",
        );
        for n in &frameworks {
            let _ = writeln!(out, "{} = {}", key(n), q(&description_of(n, "")));
        }
    }
    out.push_str(
        "\n[taxonomy.categories.imported]\n\
         description = \"Every other marker registered with pytest or named by the CI\"\n\n\
         [taxonomy.categories.imported.markers]\n",
    );
    for (n, d) in &registered {
        if stages.iter().any(|(s, _)| s == n)
            || is_gpu(n).is_some()
            || frameworks.contains(&n.as_str())
        {
            continue;
        }
        let _ = writeln!(out, "{} = {}", key(n), q(d));
    }
    let has_cargo = import.pipelines.iter().any(|p| {
        p.jobs
            .iter()
            .any(|j| matches!(j.kind, CiJobKind::Cargo { .. }))
    });
    if has_cargo {
        let _ = writeln!(
            out,
            "{CARGO_MARKER} = \"Rust tests (given by the rule below; what today's `cargo test` runs)\""
        );
    }
    out.push('\n');

    // ---- pipelines: stage, and whether lifecycle-free tests need a rule
    let stage_of = |p: &super::CiPipeline| {
        let all_name_lifecycle = p.jobs.iter().all(|j| match &j.kind {
            CiJobKind::Pytest { expr } => names_lifecycle(expr),
            CiJobKind::Cargo { .. } => true,
        });
        if all_name_lifecycle {
            natural_stage(&p.name)
        } else {
            "release"
        }
    };
    let lifecycle_free = import
        .pipelines
        .iter()
        .any(|p| stage_of(p) == "release" && p.name != "release");

    // ---- rules
    if has_cargo {
        let cargo_pipelines: Vec<&str> = import
            .pipelines
            .iter()
            .filter(|p| {
                p.jobs
                    .iter()
                    .any(|j| matches!(j.kind, CiJobKind::Cargo { .. }))
            })
            .map(|p| natural_stage(&p.name))
            .collect();
        let earliest = STAGES
            .iter()
            .map(|(s, _)| *s)
            .find(|s| cargo_pipelines.contains(s))
            .unwrap_or("pre_merge");
        let _ = write!(
            out,
            "# Rust tests carry no markers; today's CI runs them with `cargo test`.\n\
             [[rules]]\n\
             description = \"Rust tests (today's cargo test steps)\"\n\
             language = \"rust\"\n\
             markers = [\"{CARGO_MARKER}\"]\n\n\
             [[rules]]\n\
             description = \"Rust tests run from the first pipeline that runs cargo today\"\n\
             language = \"rust\"\n\
             unless = [\"lifecycle\"]\n\
             markers = [\"{earliest}\"]\n\n"
        );
    }
    if lifecycle_free {
        out.push_str(
            "# Some of today's pipelines select without a lifecycle marker (see their\n\
             # comments): they run tests that have none, which tollgate's lifecycle\n\
             # inheritance would leave out. Such tests get the last stage, so only\n\
             # those pipelines run them, as today.\n\
             [[rules]]\n\
             description = \"Python tests without a lifecycle marker (today's CI runs them where no lifecycle is asked for)\"\n\
             language = \"python\"\n\
             unless = [\"lifecycle\"]\n\
             markers = [\"release\"]\n\n",
        );
    }

    // ---- jobs (unique names across pipelines)
    let mut defined: Vec<(String, CiJob)> = Vec::new();
    let mut names_per_pipeline: Vec<Vec<String>> = Vec::new();
    for p in &import.pipelines {
        let mut names = Vec::new();
        for job in &p.jobs {
            let same = defined
                .iter()
                .find(|(_, j)| j.kind == job.kind && j.gpus == job.gpus && j.labels == job.labels);
            let name = match same {
                Some((n, _)) => n.clone(),
                None => {
                    let mut name = job.name.clone();
                    if defined.iter().any(|(n, _)| *n == name) {
                        name = format!("{}-{}", job.name, p.name);
                    }
                    let mut k = 2;
                    while defined.iter().any(|(n, _)| *n == name) {
                        name = format!("{}-{}-{k}", job.name, p.name);
                        k += 1;
                    }
                    defined.push((name.clone(), job.clone()));
                    name
                }
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names_per_pipeline.push(names);
    }
    out.push_str(
        "# =============================================================================\n\
         # Jobs: one per test selection of today's CI.\n\
         # =============================================================================\n",
    );
    for (name, job) in &defined {
        out.push_str(&comment(&format!(
            "from {}\ntoday: {}",
            job.origin, job.command
        )));
        let _ = writeln!(out, "[jobs.{}]", key(name));
        let _ = writeln!(out, "stage = 3\ngating = true");
        match &job.kind {
            CiJobKind::Pytest { expr } => {
                let _ = writeln!(out, "expr = {}", q(expr));
                out.push_str("languages = [\"python\"]\n");
                out.push_str("commands = [\"pytest -m \\\"{markexpr}\\\"\"]\n");
            }
            CiJobKind::Cargo { dirs } => {
                let _ = writeln!(out, "expr = \"{CARGO_MARKER}\"");
                out.push_str("languages = [\"rust\"]\n");
                let all = facts.workspaces.iter().all(|w| dirs.contains(w));
                if !all {
                    out.push_str(&comment(&format!(
                        "today it runs in {} only; this job runs every workspace's tests",
                        dirs.join(", ")
                    )));
                }
                out.push_str(
                    "commands = [\"cargo nextest run --workspace {cargo_features} {nextest_filter}\"]\n",
                );
            }
        }
        let mut runner = format!("runner = {{ gpus = {}", job.gpus);
        if !job.labels.is_empty() {
            let _ = write!(runner, ", labels = {}", list(&job.labels));
        }
        runner.push_str(" }");
        let _ = writeln!(out, "{runner}\n");
    }

    out.push_str(
        "# =============================================================================\n\
         # Pipelines: one per CI trigger.\n\
         # =============================================================================\n",
    );
    for (p, names) in import.pipelines.iter().zip(&names_per_pipeline) {
        let stage = stage_of(p);
        out.push_str(&comment(&format!("from {}", p.sources.join(", "))));
        if stage != natural_stage(&p.name) {
            out.push_str(&comment(&format!(
                "Its CI selects regardless of lifecycle markers, so its stage is `{stage}`\n(every stage) rather than `{}`.",
                natural_stage(&p.name)
            )));
        }
        let _ = writeln!(out, "[pipelines.{}]", key(&p.name));
        let _ = writeln!(out, "stage = {}", q(stage));
        let _ = writeln!(out, "on = {}", q(trigger_name(p.trigger)));
        if !p.branches.is_empty() && matches!(p.trigger, Trigger::Push | Trigger::PullRequest) {
            let _ = writeln!(out, "branches = {}", list(&p.branches));
        }
        if let Some(cron) = &p.schedule {
            let _ = writeln!(out, "schedule = {}", q(cron));
        }
        let _ = writeln!(out, "jobs = {}\n", list(names));
    }

    if let Some(codeowners) = &facts.codeowners {
        let _ = writeln!(out, "[owners]\ncodeowners = {}\n", q(codeowners));
    }
    if !facts.workspaces.is_empty() {
        out.push_str(&comment(&format!(
            "Cargo workspaces: {} (a Rust job runs `cargo` once in each).",
            facts.workspaces.join(", ")
        )));
        out.push('\n');
    }
    if !import.untranslated.is_empty() {
        out.push_str(
            "# =============================================================================\n\
             # Not translated (review by hand):\n",
        );
        for u in &import.untranslated {
            out.push_str(&comment(&format!("- {}: {}", u.at, u.what)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::read_github;

    #[test]
    fn the_imported_config_loads_and_says_where_things_came_from() {
        let pr = r#"
on:
  push:
    branches: ["pull-request/[0-9]+"]
jobs:
  vllm:
    uses: ./.github/workflows/shared.yml
    with:
      cpu_only_test_markers: pre_merge and vllm and gpu_0
      gpu_test_markers: pre_merge and vllm and gpu_1
  rust:
    runs-on: ubuntu-latest
    steps:
      - run: cargo test --locked
"#;
        let nightly = r#"
on:
  schedule: [{cron: "0 8 * * *"}]
jobs:
  vllm:
    uses: ./.github/workflows/shared.yml
    with:
      cpu_only_test_markers: vllm and gpu_0
"#;
        let import = read_github(
            &[
                ("pr.yaml".into(), pr.into()),
                ("nightly.yml".into(), nightly.into()),
            ],
            &|_| None,
        );
        let facts = ProjectFacts {
            name: "demo".into(),
            registered: vec![
                ("pre_merge".into(), "before merging".into()),
                ("gpu_0".into(), "no GPU".into()),
                ("gpu_1".into(), "one GPU".into()),
                ("vllm".into(), "vllm tests".into()),
                ("timeout".into(), "plugin".into()),
                ("skip".into(), "builtin".into()),
            ],
            registered_in: Some("pyproject.toml".into()),
            workspaces: vec![".".into()],
            codeowners: Some("CODEOWNERS".into()),
            command: "tollgate init --from-ci".into(),
        };
        let text = render_config(&import, &facts);
        let config = match tollgate_config::Config::from_str(&text, "tollgate.toml") {
            Ok(c) => c,
            Err(e) => panic!("{}\n{text}", e.render()),
        };
        assert_eq!(config.pipelines.get("pr").unwrap().stage, "pre_merge");
        assert_eq!(config.pipelines.get("nightly").unwrap().stage, "release");
        assert_eq!(
            config.jobs.get("vllm_gpu").unwrap().expr.as_deref(),
            Some("pre_merge and vllm and gpu_1")
        );
        assert_eq!(config.jobs.get("vllm_gpu").unwrap().runner.gpus, 1);
        assert!(config.taxonomy.is_marker("timeout"));
        assert!(!config.taxonomy.is_marker("skip"));
        assert!(
            text.contains("# from pr.yaml: jobs.vllm, with.gpu_test_markers"),
            "{text}"
        );
        assert!(
            text.contains("Its CI selects regardless of lifecycle markers"),
            "{text}"
        );
        // The nightly's job differs from the PR's job of the same name.
        assert!(config.jobs.contains_key("vllm_cpu_only-nightly"), "{text}");
    }
}
