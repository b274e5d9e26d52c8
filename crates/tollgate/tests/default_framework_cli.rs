//! `tollgate plan` with `default_framework = { prefer = [...] }` and a seeded
//! history store: vllm's tests flaked on recorded runs (a failed attempt then
//! a pass, as `tollgate ingest` records JUnit's `<flakyFailure>`), so the pull
//! request's run moves to trtllm and the plan prints why; without the store
//! it stays on vllm.

mod common;

use std::path::Path;

use common::write;
use serde_json::Value;

const CONFIG: &str = r#"
[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_merge = "", nightly = "" }
[taxonomy.categories.framework]
markers = { vllm = "", trtllm = "" }
[frameworks.vllm]
[frameworks.trtllm]
[changes]
default_framework = { prefer = ["vllm", "trtllm"], switch_when_flake_rate_above = 0.05 }
[jobs.e2e]
stage = 3
expr = "pre_merge"
framework = "selected"
[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["e2e"]
"#;

fn module(framework: &str) -> String {
    let mut text =
        format!("import pytest\n\npytestmark = [pytest.mark.pre_merge, pytest.mark.{framework}]\n");
    for n in 0..10 {
        text.push_str(&format!("\n\ndef test_{n}():\n    pass\n"));
    }
    text
}

/// JUnit of one run of vllm's tests, `flaky` of them with a failed first attempt.
fn junit(flaky: usize) -> String {
    let mut cases = String::new();
    for n in 0..10 {
        let retry = if n < flaky {
            r#"<flakyFailure message="boom" type="AssertionError">assert 1 == 2</flakyFailure>"#
        } else {
            ""
        };
        cases.push_str(&format!(
            r#"<testcase classname="tests.vllm.test_vllm" name="test_{n}" file="tests/vllm/test_vllm.py" time="0.1">{retry}</testcase>"#
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="10" failures="0" errors="0" skipped="0">{cases}</testsuite></testsuites>"#
    )
}

fn plan(dir: &Path, store: &str) -> Value {
    let out = common::tollgate(dir)
        .args([
            "plan",
            "--pipeline",
            "pr",
            "--format",
            "json",
            "--store",
            store,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn flaky_history_moves_the_default_framework_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "tollgate.toml", CONFIG);
    write(root, "tests/vllm/test_vllm.py", &module("vllm"));
    write(root, "tests/trtllm/test_trtllm.py", &module("trtllm"));
    let store = root.join("history.db");
    let store = store.to_str().unwrap();

    // No store yet: vllm, the first preferred framework.
    let doc = plan(root, store);
    assert_eq!(doc["framework"], "vllm", "{doc}");
    assert!(!store_exists(root), "planning must not create the store");

    // One run in which 3 of vllm's 10 tests flaked (30% > 5%).
    let file = write(root, "run1.xml", &junit(3));
    let out = common::ingest(root, "junit", &file, "run1", "main", store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    let doc = plan(root, store);
    assert_eq!(doc["framework"], "trtllm", "{doc}");
    assert_eq!(doc["framework_source"], "history", "{doc}");
    let notes = doc["notes"].to_string();
    assert!(notes.contains("`vllm` 3 of 10 test(s) (30.0%)"), "{notes}");
    let job = common::job(&doc, "e2e");
    let tests = common::strings(&job["tests"]);
    assert_eq!(tests.len(), 10, "{tests:?}");
    assert!(
        tests.iter().all(|t| t.starts_with("tests/trtllm/")),
        "{tests:?}"
    );
}

fn store_exists(root: &Path) -> bool {
    root.join("history.db").exists()
}
