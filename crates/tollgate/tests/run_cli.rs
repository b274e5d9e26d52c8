//! `tollgate run` (the real binary) on a one-test project: where the run is
//! recorded (`--store`, as `tollgate gate` takes it), what progress looks
//! like off a terminal, budgets from `[budgets]`, and the message and exit
//! code when the interpreter has no pytest.

mod common;

use std::path::Path;
use std::process::Output;

use common::{python, text};

fn project(python: &Path, extra_config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"[project]
name = "run-cli"

[run]
python = "{}"

[taxonomy.categories.lifecycle]
ordered = true

[taxonomy.categories.lifecycle.markers]
pre_merge = "before merging"

[taxonomy.categories.type.markers]
unit = "unit tests"

[jobs.unit]
stage = 2
gating = true
expr = "unit"

[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["unit"]
{extra_config}"#,
        python.display()
    );
    std::fs::write(dir.path().join("tollgate.toml"), config).unwrap();
    std::fs::write(
        dir.path().join("pytest.ini"),
        "[pytest]\nmarkers =\n    unit: unit tests\n    pre_merge: before merging\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("tests")).unwrap();
    std::fs::write(
        dir.path().join("tests/test_a.py"),
        "import time\n\nimport pytest\n\n\n@pytest.mark.unit\n@pytest.mark.pre_merge\ndef test_naps():\n    time.sleep(0.05)\n",
    )
    .unwrap();
    dir
}

/// `tollgate ARGS` in `dir` with `env` set, run to its end (within 300 s).
fn tollgate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = common::tollgate(dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap()
}

#[test]
fn the_run_is_recorded_where_store_says_and_progress_is_plain_lines() {
    let Some(python) = python() else { return };
    let dir = project(&python, "");
    let db = dir.path().join("elsewhere.db");
    let out = tollgate(
        dir.path(),
        &["run", "--pipeline", "pr", "--store", db.to_str().unwrap()],
        &[("TOLLGATE_RUN_KEY", "run-cli-1")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!dir.path().join(".tollgate/history.db").exists());
    let mut store = tollgate_store::Store::open(db.to_str().unwrap()).unwrap();
    let run = store
        .run("run-cli-1")
        .unwrap()
        .expect("the run is in --store");
    assert_eq!(run.pipeline, "pr");

    // Not a terminal: one plain line per event, nothing a log cannot show.
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.contains(&"[unit] started: 1 test(s)"), "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[unit] passed: 1 passed, 0 failed")),
        "{stderr}"
    );

    // `--store` and `--no-store` contradict each other: a usage error.
    let out = tollgate(
        dir.path(),
        &["run", "--pipeline", "pr", "--no-store", "--store", "x.db"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn budgets_from_the_config_are_reported_when_exceeded() {
    let Some(python) = python() else { return };
    let budgets = r#"
[budgets.unit]
expr = "unit"
limit = "2ms"

[budgets.slow_unit_test]
expr = "unit"
limit = "10ms"
scope = "test"

# Tighter, but for another pipeline: not this run's.
[budgets.other_pipeline]
expr = "unit"
limit = "1ms"
pipelines = ["nightly"]

[pipelines.nightly]
stage = "pre_merge"
on = "manual"
jobs = ["unit"]
"#;
    let dir = project(&python, budgets);
    let out = tollgate(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "pr",
            "--no-store",
            "--json",
            "run.json",
        ],
        &[("CI", "true")],
    );
    // Budgets are reported; the gate decides what they block.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("over budget `unit`: the suite took"),
        "{stdout}"
    );
    assert!(
        stdout.contains("over budget `slow_unit_test`: tests/test_a.py::test_naps took"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    let job = &json["jobs"][0];
    assert_eq!(job["budget"]["name"], "unit");
    assert_eq!(job["budget"]["exceeded"], true);
    assert_eq!(job["over_budget_tests"][0]["budget"], "slow_unit_test");
    assert!(job["over_budget_tests"][0]["used_secs"].as_f64().unwrap() >= 0.05);
    assert!(text(&out.stderr).contains("over its budget"));
}

#[test]
fn an_interpreter_without_pytest_is_an_infrastructure_error_that_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("python-without-pytest");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"$0: No module named pytest\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let project = project(&fake, "");
    let out = tollgate(
        project.path(),
        &["run", "--pipeline", "pr", "--no-store"],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        format!("pytest is not installed for {}", fake.display()),
        format!("{} -m pip install pytest", fake.display()),
        "python3 -m venv .venv".to_string(),
        "[run] python = ".to_string(),
    ] {
        assert!(stdout.contains(&needle), "`{needle}` not in:\n{stdout}");
    }
}

/// A nested Cargo workspace's tests are unreachable from the root's `cargo
/// nextest run`: `run` runs each workspace's tests in its own directory, as
/// `plan` prints them, and every test is reported.
#[test]
fn tests_of_a_nested_workspace_run_in_its_directory() {
    if std::process::Command::new("cargo-nextest")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo-nextest is not installed"
        );
        eprintln!("skipping: cargo-nextest is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, body: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    };
    write(
        "tollgate.toml",
        r#"[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_merge = "before merging" }

[taxonomy.categories.type.markers]
unit = "unit tests"

[[rules]]
language = "rust"
markers = ["unit", "pre_merge"]

[jobs.unit]
expr = "unit"
gating = true

[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["unit"]
"#,
    );
    let lib = |name: &str| {
        format!("#[cfg(test)]\nmod tests {{\n    #[test]\n    fn {name}_works() {{\n        assert_eq!(1 + 1, 2);\n    }}\n}}\n")
    };
    write(
        "Cargo.toml",
        "[package]\nname = \"outer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\nexclude = [\"tools/inner\"]\n",
    );
    write("src/lib.rs", &lib("outer"));
    write(
        "tools/inner/Cargo.toml",
        "[package]\nname = \"inner\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write("tools/inner/src/lib.rs", &lib("inner"));
    let target = dir.path().join("shared-target");
    let json = dir.path().join("results.json");
    let out = tollgate(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "pr",
            "--no-store",
            "--json",
            json.to_str().unwrap(),
        ],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let results = std::fs::read_to_string(&json).unwrap();
    for id in ["outer tests::outer_works", "inner tests::inner_works"] {
        assert!(results.contains(id), "{id} missing from {results}");
    }
    assert!(
        text(&out.stderr).contains("[unit] passed: 2 passed, 0 failed"),
        "{}",
        text(&out.stderr)
    );
}
