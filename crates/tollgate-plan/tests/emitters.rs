//! The CI emitters' output is accepted by what consumes it: the GitHub
//! matrix is JSON of the shape `strategy.matrix` takes, the GitLab child
//! pipeline is YAML in which every job has a script.

mod common;

use common::*;
use serde_json::Value;
use tollgate_plan::emit;

fn plans() -> Vec<tollgate_plan::Plan> {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let mut plans: Vec<_> = ["pre-commit", "pr", "push", "nightly", "weekly", "release"]
        .iter()
        .map(|p| plan_for(&config, &inv, &root, p, &[], None))
        .collect();
    // Docs only: a single job; and a sharded plan.
    plans.push(plan_for(
        &config,
        &inv,
        &root,
        "pr",
        &[],
        Some(&["README.md"]),
    ));
    let src = tollgate_config::presets::DYNAMO.replace(
        "[jobs.unit]\ndescription = \"Unit tests, Rust and Python\"",
        "[jobs.unit]\nshards = 3\ndescription = \"Unit tests, Rust and Python\"",
    );
    assert_ne!(
        src,
        tollgate_config::presets::DYNAMO,
        "the preset's unit job moved: update this test"
    );
    let sharded = tollgate_config::Config::from_str(&src, "tollgate.toml").unwrap();
    let inv = inventory(&sharded, &root);
    plans.push(plan_for(&sharded, &inv, &root, "pr", &[], None));
    plans
}

#[test]
fn github_matrix_has_the_shape_strategy_matrix_accepts() {
    for plan in plans() {
        let out = emit::github(&plan);
        assert!(!out.matrix.contains('\n'), "one line for $GITHUB_OUTPUT");
        let matrix: Value = serde_json::from_str(&out.matrix).unwrap();
        let object = matrix.as_object().unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), ["include"]);
        let include = object["include"].as_array().unwrap();
        let expected: usize = plan.jobs.iter().map(|j| j.shards.len().max(1)).sum();
        assert_eq!(include.len(), expected, "{}", plan.pipeline);
        assert!(include.len() <= 256, "GitHub's matrix limit");
        let mut names = std::collections::BTreeSet::new();
        for entry in include {
            // Every value is a scalar or an array of strings, as matrix values must be.
            let entry = entry.as_object().unwrap();
            for key in [
                "name", "job", "stage", "gating", "gpus", "runs_on", "script", "shard", "shards",
                "tests",
            ] {
                assert!(entry.contains_key(key), "missing {key}");
            }
            assert!(entry["script"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(
                names.insert(entry["name"].as_str().unwrap().to_string()),
                "names are unique"
            );
        }
        assert!(out
            .summary
            .starts_with(&format!("### tollgate plan: `{}`", plan.pipeline)));
        assert!(out
            .summary
            .contains("| stage | job | gating | runner | tests |"));
    }
}

#[test]
fn sharded_jobs_become_one_matrix_entry_per_shard() {
    let plans = plans();
    let sharded = plans.last().unwrap();
    let unit = sharded.jobs.iter().find(|j| j.name == "unit").unwrap();
    assert_eq!(unit.shards.len(), 3);
    let all: usize = unit.shards.iter().map(|s| s.tests.len()).sum();
    assert_eq!(all, unit.tests.len(), "each test in exactly one shard");
    // Shards are balanced to within one file's tests.
    for s in &unit.shards {
        assert!(!s.tests.is_empty());
        assert!(
            s.commands.iter().any(|c| c.contains(".shard-")),
            "{:?}",
            s.commands
        );
    }
    let matrix: Value = serde_json::from_str(&emit::github(sharded).matrix).unwrap();
    let names: Vec<&str> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["job"] == "unit")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["unit (1/3)", "unit (2/3)", "unit (3/3)"]);
}

#[test]
fn gitlab_child_pipeline_parses_and_every_job_has_a_script() {
    for plan in plans() {
        let yaml = emit::gitlab(&plan);
        let doc: serde_json::Map<String, Value> = serde_saphyr::from_str(&yaml)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{yaml}", plan.pipeline));
        let stages: Vec<&str> = doc["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let jobs: Vec<(&String, &Value)> = doc.iter().filter(|(k, _)| *k != "stages").collect();
        let expected: usize = plan.jobs.iter().map(|j| j.shards.len().max(1)).sum();
        assert_eq!(jobs.len(), expected.max(1), "{}", plan.pipeline);
        for (name, job) in jobs {
            let script = job["script"]
                .as_array()
                .unwrap_or_else(|| panic!("{name} has no script"));
            assert!(
                !script.is_empty()
                    && script
                        .iter()
                        .all(|s| s.as_str().is_some_and(|s| !s.is_empty()))
            );
            assert!(
                stages.contains(&job["stage"].as_str().unwrap()),
                "{name}'s stage is declared"
            );
        }
        // Commands survive YAML quoting byte for byte.
        for job in &plan.jobs {
            if let Some(entry) = doc.get(&job.name) {
                let script: Vec<&str> = entry["script"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                assert_eq!(
                    script,
                    job.commands.iter().map(String::as_str).collect::<Vec<_>>()
                );
                assert_eq!(entry.get("allow_failure").is_some(), !job.gating);
            }
        }
    }
}

#[test]
fn snapshots_of_each_format() {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let plan = plan_for(
        &config,
        &inv,
        &root,
        "pr",
        &[],
        Some(&["components/src/dynamo/planner/scaling.py"]),
    );
    insta::assert_snapshot!("pr_planner_gitlab", emit::gitlab(&plan));
    insta::assert_snapshot!("pr_planner_github_summary", emit::github(&plan).summary);
    let json: Value = serde_json::from_str(&emit::json(&plan)).unwrap();
    // The documented JSON contract.
    assert_eq!(json["pipeline"], "pr");
    assert_eq!(json["framework"], "vllm");
    for job in json["jobs"].as_array().unwrap() {
        for key in ["name", "stage", "gating", "runner", "commands", "tests"] {
            assert!(job.get(key).is_some(), "job lacks {key}");
        }
    }
    for dropped in json["dropped"].as_array().unwrap() {
        assert!(dropped["name"].is_string() && dropped["reason"].is_string());
    }
    insta::assert_json_snapshot!("pr_planner_json", json);
}
