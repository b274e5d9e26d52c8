//! Tests a job's expression selects but its runner cannot host are reported,
//! never run into a failure: a k8s test in a container-only job, a test
//! marked for 2 GPUs landing in a 1-GPU job.

mod common;

use tollgate_inventory::{Inventory, Language, MarkOrigin, MarkSource, Marker, TestItem};
use tollgate_plan::{emit, plan, PlanInput, Variables};

fn test(id: &str, markers: &[&str]) -> TestItem {
    let file = id.split("::").next().unwrap_or_default().to_string();
    let origin = MarkOrigin {
        file: file.clone(),
        line: 1,
        source: MarkSource::FunctionDecorator,
        learned: None,
    };
    TestItem {
        id: id.into(),
        language: Language::Python,
        file,
        line: 2,
        function: id.into(),
        markers: markers
            .iter()
            .map(|m| Marker::new(*m, origin.clone()))
            .collect(),
        dynamic: None,
        rust: None,
    }
}

#[test]
fn unhostable_tests_are_reported_and_their_job_dropped_when_nothing_is_left() {
    let config = common::dynamo();
    let inventory = Inventory {
        tests: vec![
            test(
                "tests/serve/test_serve_k8s.py::test_deploy",
                &["e2e", "gpu_0", "pre_merge", "k8s"],
            ),
            test(
                "tests/serve/test_serve_tp.py::test_two_gpus",
                &["e2e", "gpu_1", "gpu_2", "pre_merge"],
            ),
            test(
                "tests/serve/test_serve_ok.py::test_ok",
                &["e2e", "gpu_1", "pre_merge"],
            ),
        ],
        diagnostics: vec![],
    };
    let variables =
        Variables::resolve(&config, config.pipelines.get("pr"), &[], &common::no_env).unwrap();
    let plan = plan(&PlanInput {
        config: &config,
        inventory: &inventory,
        pipeline: "pr",
        variables: &variables,
        changes: None,
        durations: None,
        shards: None,
        flaky: None,
    })
    .unwrap();
    let unrunnable: Vec<(&str, &str, &str)> = plan
        .unrunnable
        .iter()
        .map(|u| (u.job.as_str(), u.test.as_str(), u.reason.as_str()))
        .collect();
    assert_eq!(
        unrunnable,
        [
            (
                "e2e_0",
                "tests/serve/test_serve_k8s.py::test_deploy",
                "the job's runner does not provide `k8s`"
            ),
            (
                "e2e_1",
                "tests/serve/test_serve_tp.py::test_two_gpus",
                "the test needs 2 GPU(s), the job's runner offers 1"
            ),
        ]
    );
    // e2e_0 had only the k8s test: dropped, saying why. e2e_1 runs the test it can host.
    let e2e_0 = plan.dropped.iter().find(|d| d.name == "e2e_0").unwrap();
    assert_eq!(
        e2e_0.reason,
        "selects no test its runner can host (1 matching test(s) need more than `cpu` offers)"
    );
    let e2e_1 = plan.jobs.iter().find(|j| j.name == "e2e_1").unwrap();
    assert_eq!(e2e_1.tests, ["tests/serve/test_serve_ok.py::test_ok"]);
    // pytest -m would pick the 2-GPU test too: the job runs from node ids.
    assert_eq!(e2e_1.commands, ["pytest @.tollgate/plan/pr/e2e_1.args"]);
    let human = emit::human(&plan);
    assert!(
        human.contains("not run (the runner cannot host them):"),
        "{human}"
    );
}
