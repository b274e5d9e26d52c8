//! `--explain`: one test, every job of a pipeline, the reason for each.

mod common;

use common::*;
use tollgate_plan::{analyze, explain, PlanInput, ProjectGraph, Variables};

fn explain_in(pipeline: &str, test: &str, changed: Option<&[&str]>) -> String {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let variables =
        Variables::resolve(&config, config.pipelines.get(pipeline), &[], &no_env).unwrap();
    let analysis = changed.map(|files| {
        let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        analyze(&config, &files, &ProjectGraph::scan(&root), &inv)
    });
    explain(
        &PlanInput {
            config: &config,
            inventory: &inv,
            pipeline,
            variables: &variables,
            changes: analysis.as_ref(),
            durations: None,
            shards: None,
            flaky: None,
        },
        test,
    )
    .unwrap()
}

#[test]
fn says_which_term_lifecycle_or_runner_keeps_a_test_out() {
    let text = explain_in(
        "pr",
        "tests/kvbm/test_kvbm_offload.py::test_host_tier_hit_without_disk",
        None,
    );
    let line = |job: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{job} ")))
            .unwrap_or_else(|| panic!("no line for {job}:\n{text}"))
            .to_string()
    };
    assert!(
        line("lint").ends_with("the job selects no tests (no marker expression)"),
        "{text}"
    );
    assert!(
        line("unit").contains("expression `unit` is false (unit=no)"),
        "{text}"
    );
    assert!(
        line("e2e_0").contains(
            "its earliest lifecycle stage `nightly` comes after the pipeline's `pre_merge`"
        ),
        "{text}"
    );
    assert!(
        line("e2e_1").contains("expression `e2e and gpu_1` is false (e2e=yes, gpu_1=no)"),
        "{text}"
    );
    assert!(
        text.contains("markers: nightly, e2e, gpu_0, kvbm"),
        "{text}"
    );
    insta::assert_snapshot!("explain_kvbm_in_pr", text);
}

#[test]
fn selected_tests_are_in_and_changes_are_explained() {
    let id = "components/src/dynamo/planner/tests/test_planner_metrics_client.py::test_fetch_observation_from_http_endpoint";
    let text = explain_in("pr", id, None);
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("integration_0") && l.ends_with("IN")),
        "{text}"
    );
    let text = explain_in("pr", id, Some(&["lib/runtime/src/nats.rs"]));
    assert!(
        text.contains("changes: not affected by any changed file"),
        "{text}"
    );
    assert!(
        text.contains("selected, but not affected by the changed files"),
        "{text}"
    );
    let text = explain_in(
        "pr",
        id,
        Some(&["components/src/dynamo/planner/metrics_client.py"]),
    );
    assert!(
        text.contains("changes: affected: its file") || text.contains("changes: affected: imports"),
        "{text}"
    );
}
