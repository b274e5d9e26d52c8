//! `tollgate gate` end to end: results go in through `tollgate ingest`, the
//! gate reads the store, and the exit status and JSON say whether the run may
//! merge. A coverage drop of 3 points against the baseline on `main` blocks,
//! a drop of 1 point passes (the minimal preset's gate plus a 2-point limit).

mod common;

use std::path::Path;

use common::{check, tollgate};

/// The minimal preset with a coverage-drop check added to its gate.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = tollgate_config::presets::MINIMAL.replace(
        "flaky_rate = { max_percent = 5.0, action = \"alert\" }",
        "flaky_rate = { max_percent = 5.0, action = \"alert\" }\n\
         coverage_drop = { max_points = 2.0, action = \"block\" }",
    );
    assert!(
        config.contains("coverage_drop"),
        "the preset's gate changed shape"
    );
    std::fs::write(dir.path().join("tollgate.toml"), config).unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "// 100 lines\n".repeat(100)).unwrap();
    dir
}

fn junit(dir: &Path) -> std::path::PathBuf {
    common::write(
        dir,
        "junit.xml",
        r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2" failures="0" errors="0" skipped="0">
<testcase classname="tests.test_a" name="test_one" file="tests/test_a.py" time="0.5"/>
<testcase classname="tests.test_a" name="test_two" file="tests/test_a.py" time="1.5"/>
</testsuite></testsuites>"#,
    )
}

/// Ingests coverage (and a JUnit file) as run `run` of pipeline `pr`.
fn ingest(dir: &Path, run: &str, branch: &str, covered: u32, complete: bool) {
    let store = dir.join(".tollgate/history.db").display().to_string();
    let report = common::lcov(dir, &format!("{run}.lcov"), "src/lib.rs", covered);
    for (kind, file) in [("coverage", report), ("junit", junit(dir))] {
        let mut cmd = common::ingest(dir, kind, &file, run, branch, &store);
        if complete && kind == "junit" {
            cmd.arg("--complete");
        }
        cmd.assert().success();
    }
}

fn gate_json(dir: &Path, run: &str, expected_code: i32) -> serde_json::Value {
    let output = tollgate(dir)
        .args(["gate", "--pipeline", "pr", "--run", run, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn coverage_drop_of_three_points_blocks_and_one_point_passes() {
    let dir = project();
    let root = dir.path();
    ingest(root, "base", "main", 90, true);
    ingest(root, "drop3", "feature", 87, false);
    ingest(root, "drop1", "feature", 89, false);

    let blocked = gate_json(root, "drop3", 1);
    assert_eq!(blocked["verdict"], "blocked");
    let drop = check(&blocked, "coverage_drop.rust");
    assert_eq!(drop["status"], "block");
    assert!(
        (drop["measured"].as_f64().unwrap() - 3.0).abs() < 1e-9,
        "{drop}"
    );
    assert_eq!(drop["threshold"], 2.0);
    // Exactly the specified keys on every check, the detail included.
    for c in blocked["checks"].as_array().unwrap() {
        let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["detail", "measured", "name", "status", "threshold"]);
        assert!(["pass", "alert", "block"].contains(&c["status"].as_str().unwrap()));
    }
    let mut top: Vec<&str> = blocked
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    top.sort_unstable();
    assert_eq!(
        top,
        [
            "alerts",
            "baseline",
            "checks",
            "critical_failures",
            "gate",
            "pipeline",
            "run",
            "verdict"
        ]
    );
    assert!(blocked["run"]["key"].is_string(), "{blocked:#}");

    let passed = gate_json(root, "drop1", 0);
    assert_eq!(passed["verdict"], "pass");
    let drop = check(&passed, "coverage_drop.rust");
    assert_eq!(drop["status"], "pass");
    assert!(
        (drop["measured"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{drop}"
    );
    // No flaky tests were recorded: the alert-only check passes.
    assert_eq!(check(&passed, "flaky_rate")["status"], "pass");
}

#[test]
fn markdown_and_table_outputs_and_usage_errors() {
    let dir = project();
    let root = dir.path();
    ingest(root, "base", "main", 90, true);
    ingest(root, "drop3", "feature", 87, false);

    let summary = root.join("summary.md");
    tollgate(root)
        .args([
            "gate",
            "--pipeline",
            "pr",
            "--run",
            "drop3",
            "--format",
            "markdown",
            "--output",
        ])
        .arg(&summary)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("❌ blocked"), "{text}");
    assert!(
        text.contains("| `coverage_drop.rust` | ❌ block | 3 | 2 |"),
        "{text}"
    );

    // The latest run of the pipeline is judged by default.
    let output = tollgate(root)
        .args(["gate", "--pipeline", "pr"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("coverage_drop.rust") && table.contains("gate: blocked"),
        "{table}"
    );

    tollgate(root)
        .args(["gate", "--pipeline", "nope"])
        .assert()
        .code(2);
    tollgate(root)
        .args(["gate", "--pipeline", "pr", "--run", "missing"])
        .assert()
        .code(2);

    // History sees both runs.
    let output = tollgate(root).args(["history"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("base") && text.contains("drop3"), "{text}");
}

#[test]
fn a_failed_test_is_a_critical_failure_that_blocks() {
    let dir = project();
    let root = dir.path();
    ingest(root, "base", "main", 90, true);
    ingest(root, "green", "feature", 90, false);
    let green = gate_json(root, "green", 0);
    let critical = check(&green, "critical_failures");
    assert_eq!(critical["status"], "pass", "{critical}");
    assert_eq!(critical["measured"], 0.0);

    let failing = root.join("failing.xml");
    std::fs::write(
        &failing,
        r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2" failures="1" errors="0" skipped="0">
<testcase classname="tests.test_a" name="test_one" file="tests/test_a.py" time="0.5"/>
<testcase classname="tests.test_a" name="test_two" file="tests/test_a.py" time="1.5"><failure message="boom">assert 1 == 2</failure></testcase>
</testsuite></testsuites>"#,
    )
    .unwrap();
    let store = root.join(".tollgate/history.db").display().to_string();
    common::ingest(root, "junit", &failing, "red", "feature", &store)
        .assert()
        .success();
    let red = gate_json(root, "red", 1);
    assert_eq!(red["verdict"], "blocked");
    let critical = check(&red, "critical_failures");
    assert_eq!(critical["status"], "block", "{critical}");
    assert_eq!(critical["measured"], 1.0, "{critical}");
}
