//! Whole-strategy checks on a small hand-written strategy (each finding
//! provoked on purpose) and on the example with the `dynamo` preset.

mod common;

use tollgate_config::Config;
use tollgate_inventory::{Inventory, Language, MarkOrigin, MarkSource, Marker, TestItem};
use tollgate_plan::strategy_checks;

const STRATEGY: &str = r#"
[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_merge = "", nightly = "" }
[taxonomy.categories.type]
markers = { unit = "", e2e = "", gpu_1 = { description = "", gpus = 1 } }
[taxonomy.categories.env]
requires_runner = true
markers = { k8s = "" }

[jobs.unit]
expr = "unit"
[jobs.e2e_pr]
expr = "e2e"
[jobs.e2e_nightly]
expr = "e2e and not slowish"
[jobs.gpu]
expr = "gpu_1"
runner = { gpus = 1 }
[jobs.unused]
expr = "unit"

[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["unit", "e2e_pr", "gpu"]
[pipelines.nightly]
stage = "nightly"
on = "schedule"
jobs = ["unit", "e2e_nightly"]
"#;

fn test(id: &str, markers: &[&str]) -> TestItem {
    let origin = MarkOrigin {
        file: "tests/test_a.py".into(),
        line: 3,
        source: MarkSource::FunctionDecorator,
        learned: None,
    };
    TestItem {
        id: id.into(),
        language: Language::Python,
        file: "tests/test_a.py".into(),
        line: 4,
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
fn each_check_reports_what_it_should() {
    let config = Config::from_str(STRATEGY, "tollgate.toml").unwrap();
    let inv = Inventory {
        tests: vec![
            test("ok_unit", &["unit", "pre_merge"]),
            test("no_lifecycle", &["unit"]),
            test("slowish_e2e", &["e2e", "pre_merge", "slowish"]),
            test("needs_k8s", &["unit", "pre_merge", "k8s"]),
            test("gpu_in_pr_only", &["gpu_1", "pre_merge"]),
        ],
        diagnostics: vec![],
    };
    let findings = strategy_checks(&config, &inv);
    let summary: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f.code.to_string(),
                f.test.clone().or(f.job.clone()).unwrap_or_default(),
            )
        })
        .collect();
    let expect = |code: &str, subject: &str| (code.to_string(), subject.to_string());
    assert_eq!(
        summary,
        [
            expect("never-run", "no_lifecycle"),
            expect("broken-inheritance", "slowish_e2e"),
            expect("never-run", "needs_k8s"),
            expect("broken-inheritance", "gpu_in_pr_only"),
            expect("job-selects-nothing", "e2e_nightly"),
            expect("unknown-marker", "e2e_nightly"),
        ]
    );
    let broken = &findings[1];
    assert_eq!(
        broken.message,
        "`slowish_e2e` runs in `pr` but not in the later `nightly`: lifecycle stages promise every later pipeline runs it"
    );
    assert_eq!((broken.file.as_str(), broken.line), ("tests/test_a.py", 4));
    // `unused` is in no pipeline at all: that is lint's unused-job business, not "selects nothing".
    assert!(!summary.iter().any(|(_, s)| s == "unused"));
}

#[test]
fn the_example_strategy_is_sound_except_for_ignored_rust_tests() {
    let config = common::dynamo();
    let inv = common::inventory(&config, &common::example_root());
    let findings = strategy_checks(&config, &inv);
    // The three #[ignore]d Rust tests run nowhere: no job of the preset
    // sets `cargo.ignored`. Everything else is run, and inherited.
    let never: Vec<&str> = findings
        .iter()
        .filter(|f| f.code == "never-run")
        .filter_map(|f| f.test.as_deref())
        .collect();
    assert_eq!(never.len(), 3, "{never:?}");
    let ignored: Vec<&str> = inv
        .tests
        .iter()
        .filter(|t| t.rust.as_ref().is_some_and(|r| r.ignored.is_some()))
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(never, ignored);
    assert!(
        !findings.iter().any(|f| f.code == "broken-inheritance"),
        "{findings:?}"
    );
    assert!(
        !findings.iter().any(|f| f.code == "unknown-marker"),
        "{findings:?}"
    );
    // The GPU unit jobs, integration_8 and e2e_8 select nothing in the
    // example: no unit test needs a GPU and no test needs 4 or 8.
    let empty: Vec<&str> = findings
        .iter()
        .filter(|f| f.code == "job-selects-nothing")
        .filter_map(|f| f.job.as_deref())
        .collect();
    assert_eq!(
        empty,
        ["unit_1", "unit_2", "unit_8", "integration_8", "e2e_8"]
    );
}
