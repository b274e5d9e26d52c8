//! Seed 000's dynamic test selection: `default_framework = { prefer = [...],
//! switch_when_flake_rate_above = 0.05 }` moves a pull request's run to the
//! next preferred framework when the history store saw the first one's
//! tests flake too often, and the plan says why.

mod common;

use std::collections::HashMap;

use tollgate_config::Config;
use tollgate_inventory::{Inventory, Language, MarkOrigin, MarkSource, Marker, TestItem};
use tollgate_plan::{plan, Plan, PlanInput, Variables};

const CONFIG: &str = r#"
[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_merge = "", nightly = "" }
[taxonomy.categories.framework]
markers = { vllm = "", trtllm = "", sglang = "" }
[frameworks.vllm]
[frameworks.trtllm]
[frameworks.sglang]
[changes]
default_framework = { prefer = ["vllm", "trtllm", "sglang"], switch_when_flake_rate_above = 0.05 }
[jobs.e2e]
stage = 3
expr = "pre_merge"
framework = "selected"
[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["e2e"]
"#;

fn test(n: usize, framework: &str) -> TestItem {
    let file = format!("tests/{framework}/test_{framework}_{n}.py");
    let origin = MarkOrigin {
        file: file.clone(),
        line: 1,
        source: MarkSource::FunctionDecorator,
        learned: None,
    };
    TestItem {
        id: format!("{file}::test_{n}"),
        language: Language::Python,
        file,
        line: 1,
        function: format!("test_{n}"),
        markers: ["pre_merge", framework]
            .iter()
            .map(|m| Marker::new(*m, origin.clone()))
            .collect(),
        dynamic: None,
        rust: None,
    }
}

/// Ten tests per framework.
fn inventory() -> Inventory {
    let tests = ["vllm", "trtllm", "sglang"]
        .iter()
        .flat_map(|fw| (0..10).map(move |n| test(n, fw)))
        .collect();
    Inventory {
        tests,
        diagnostics: vec![],
    }
}

/// The flake rates the store would report: `flaked` tests per framework.
fn flaky(flaked: &[(&str, usize)]) -> HashMap<String, f64> {
    flaked
        .iter()
        .flat_map(|(fw, k)| (0..*k).map(move |n| (test(n, fw).id, 0.5)))
        .collect()
}

fn pr(config: &Config, inv: &Inventory, history: Option<&HashMap<String, f64>>) -> Plan {
    let variables =
        Variables::resolve(config, config.pipelines.get("pr"), &[], &common::no_env).unwrap();
    plan(&PlanInput {
        config,
        inventory: inv,
        pipeline: "pr",
        variables: &variables,
        changes: None,
        durations: None,
        shards: None,
        flaky: history,
    })
    .unwrap()
}

fn config() -> Config {
    match Config::from_str(CONFIG, "tollgate.toml") {
        Ok(c) => c,
        Err(e) => panic!("{}", e.render()),
    }
}

fn run_tests(plan: &Plan) -> Vec<&str> {
    plan.jobs
        .iter()
        .flat_map(|j| j.tests.iter().map(String::as_str))
        .collect()
}

#[test]
fn without_history_or_flakiness_the_first_preferred_framework_is_the_default() {
    let (config, inv) = (config(), inventory());
    for history in [None, Some(flaky(&[])), Some(flaky(&[("trtllm", 9)]))] {
        let plan = pr(&config, &inv, history.as_ref());
        assert_eq!(plan.framework.as_deref(), Some("vllm"));
        assert_eq!(plan.framework_source.as_deref(), Some("default"));
        assert!(
            plan.notes.iter().all(|n| !n.contains("history")),
            "{:?}",
            plan.notes
        );
    }
    // Exactly at the threshold (0 of 10 over 0.05 is fine; 5% is not above 5%).
    let plan = pr(&config, &inv, Some(&flaky(&[("vllm", 0)])));
    assert_eq!(plan.framework.as_deref(), Some("vllm"));
}

#[test]
fn a_persistently_flaky_framework_moves_the_pr_run_to_the_next_one_with_the_reason() {
    let (config, inv) = (config(), inventory());
    let plan = pr(&config, &inv, Some(&flaky(&[("vllm", 2)])));
    assert_eq!(plan.framework.as_deref(), Some("trtllm"));
    assert_eq!(plan.framework_source.as_deref(), Some("history"));
    let note = plan
        .notes
        .iter()
        .find(|n| n.contains("chosen from history"))
        .unwrap_or_else(|| panic!("{:?}", plan.notes));
    assert!(note.contains("`vllm` 2 of 10 test(s) (20.0%)"), "{note}");
    assert!(
        note.contains("switch_when_flake_rate_above = 0.05"),
        "{note}"
    );
    // The run is trtllm's: its tests run, vllm's do not.
    let tests = run_tests(&plan);
    assert_eq!(tests.len(), 10, "{tests:?}");
    assert!(tests.iter().all(|t| t.contains("/trtllm/")), "{tests:?}");
    let human = tollgate_plan::emit::human(&plan);
    assert!(human.contains("framework trtllm (history)"), "{human}");
    assert!(human.contains("chosen from history"), "{human}");

    // vllm and trtllm both flaky: sglang.
    let plan = pr(&config, &inv, Some(&flaky(&[("vllm", 2), ("trtllm", 1)])));
    assert_eq!(plan.framework.as_deref(), Some("sglang"));
    // Every one flaky: the least flaky, here trtllm.
    let plan = pr(
        &config,
        &inv,
        Some(&flaky(&[("vllm", 3), ("trtllm", 1), ("sglang", 2)])),
    );
    assert_eq!(plan.framework.as_deref(), Some("trtllm"));
}

#[test]
fn an_explicit_framework_still_wins_over_history() {
    let mut config = config();
    config.changes.framework_variable = None;
    let inv = inventory();
    let variables =
        Variables::resolve(&config, config.pipelines.get("pr"), &[], &common::no_env).unwrap();
    // A fixed default (no `prefer`) ignores history.
    config.changes.default_framework =
        Some(tollgate_config::DefaultFramework::Name("sglang".into()));
    let history = flaky(&[("sglang", 10)]);
    let plan = plan(&PlanInput {
        config: &config,
        inventory: &inv,
        pipeline: "pr",
        variables: &variables,
        changes: None,
        durations: None,
        shards: None,
        flaky: Some(&history),
    })
    .unwrap();
    assert_eq!(plan.framework.as_deref(), Some("sglang"));
}

#[test]
fn a_bad_history_default_is_a_config_error() {
    for (text, needle) in [
        (
            "default_framework = { prefer = [\"vllm\", \"tensorrt\"] }",
            "`tensorrt` is not a declared framework",
        ),
        (
            "default_framework = { prefer = [\"vllm\"], switch_when_flake_rate_above = 5.0 }",
            "a fraction between 0 and 1",
        ),
        ("default_framework = { prefer = [] }", "names no framework"),
    ] {
        let config = CONFIG.replace(
            "default_framework = { prefer = [\"vllm\", \"trtllm\", \"sglang\"], switch_when_flake_rate_above = 0.05 }",
            text,
        );
        let err = Config::from_str(&config, "tollgate.toml").unwrap_err();
        let rendered = err.render();
        assert!(rendered.contains(needle), "{text}: {rendered}");
    }
}
