//! The `tollgate collect` command-line contract: exit codes, formats, errors.

mod common;

use common::{tollgate, write};
use predicates::prelude::*;

fn small_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "pytest.ini",
        "[pytest]\nmarkers =\n    unit: unit tests\n    e2e: end to end\n",
    );
    write(
        dir.path(),
        "tests/test_math.py",
        "import pytest\n\n@pytest.mark.unit\ndef test_add():\n    assert 1 + 1 == 2\n\n\
@pytest.mark.e2e\n@pytest.mark.parametrize('n', [1, 2])\ndef test_e2e(n):\n    pass\n",
    );
    dir
}

#[test]
fn ids_are_printed_one_per_line() {
    let dir = small_project();
    tollgate(dir.path())
        .args(["collect", "--lang", "python"])
        .assert()
        .success()
        .stdout("tests/test_math.py::test_add\ntests/test_math.py::test_e2e[1]\ntests/test_math.py::test_e2e[2]\n");
}

#[test]
fn marker_expression_selects() {
    let dir = small_project();
    tollgate(dir.path())
        .args(["collect", "--lang", "python", "-m", "e2e and not unit"])
        .assert()
        .success()
        .stdout("tests/test_math.py::test_e2e[1]\ntests/test_math.py::test_e2e[2]\n");
}

#[test]
fn invalid_expression_is_a_usage_error_naming_the_column() {
    let dir = small_project();
    tollgate(dir.path())
        .args(["collect", "-m", "unit and (e2e"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("column 14"));
}

#[test]
fn missing_path_is_a_usage_error() {
    let dir = small_project();
    tollgate(dir.path())
        .args(["collect", "no/such/dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir"));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let dir = small_project();
    tollgate(dir.path())
        .args(["collect", "--frobnicate"])
        .assert()
        .code(2);
}

#[test]
fn a_broken_file_is_a_diagnostic_and_the_rest_is_collected() {
    let dir = small_project();
    write(
        dir.path(),
        "tests/test_broken.py",
        "def test_x(:\n    pass\n",
    );
    tollgate(dir.path())
        .args(["collect", "--lang", "python"])
        .assert()
        .success()
        .stdout(predicate::str::contains("tests/test_math.py::test_add"))
        .stderr(predicate::str::contains("tests/test_broken.py:1:"));
    tollgate(dir.path())
        .args(["collect", "--lang", "python", "--strict"])
        .assert()
        .code(1);
}

#[test]
fn json_has_markers_with_origins() {
    let dir = small_project();
    let out = tollgate(dir.path())
        .args(["collect", "--lang", "python", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    let tests = json["tests"].as_array().expect("tests array");
    assert_eq!(tests.len(), 3);
    let add = &tests[0];
    assert_eq!(add["id"], "tests/test_math.py::test_add");
    assert_eq!(add["language"], "python");
    assert_eq!(add["file"], "tests/test_math.py");
    assert_eq!(add["line"], 4);
    assert_eq!(add["markers"][0]["name"], "unit");
    assert_eq!(add["markers"][0]["origin"]["line"], 3);
    assert_eq!(add["markers"][0]["origin"]["source"], "function_decorator");
    assert!(json["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .is_empty());
}

#[test]
fn rust_tests_are_listed_like_nextest() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"my-crate\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nintegration = []\n",
    );
    write(
        dir.path(),
        "src/lib.rs",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn b() {}\n    #[test]\n    #[ignore = \"slow\"]\n    fn a() {}\n}\n",
    );
    write(
        dir.path(),
        "tests/api.rs",
        "#![cfg(feature = \"integration\")]\n#[test]\nfn works() {}\n",
    );
    tollgate(dir.path())
        .args(["collect", "--lang", "rust"])
        .assert()
        .success()
        .stdout("my-crate tests::b\n");
    tollgate(dir.path())
        .args([
            "collect",
            "--lang",
            "rust",
            "--features",
            "integration",
            "--run-ignored",
            "all",
        ])
        .assert()
        .success()
        .stdout("my-crate tests::a\nmy-crate tests::b\nmy-crate::api works\n");
}

fn two_member_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n",
    );
    for name in ["a", "b"] {
        write(
            dir.path(),
            &format!("{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nedition = \"2021\"\n\n[features]\nslow = []\n"),
        );
        write(
            dir.path(),
            &format!("{name}/src/lib.rs"),
            "#[test]\nfn t() {}\n#[cfg(feature = \"slow\")]\n#[test]\nfn slow() {}\n",
        );
    }
    dir
}

#[test]
fn packages_and_member_manifests_narrow_like_nextest() {
    let dir = two_member_workspace();
    tollgate(dir.path())
        .args(["collect", "--lang", "rust", "-p", "b"])
        .assert()
        .success()
        .stdout("b t\n");
    tollgate(dir.path())
        .args([
            "collect",
            "--lang",
            "rust",
            "--features",
            "slow",
            "a/Cargo.toml",
        ])
        .assert()
        .success()
        .stdout("a slow\na t\n");
    tollgate(dir.path())
        .args(["collect", "--lang", "rust", "--workspace", "--exclude", "a"])
        .assert()
        .success()
        .stdout("b t\n");
    tollgate(dir.path())
        .args(["collect", "--lang", "rust", "-p", "missing"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`missing`"));
}

#[test]
fn strict_fails_on_unexpanded_test_macros_not_on_info_notes() {
    let dir = two_member_workspace();
    // An unknown cfg on a module is assumed off, as nextest does: a note.
    write(
        dir.path(),
        "a/src/lib.rs",
        "#[cfg(tokio_unstable)]\nmod extra {}\n#[test]\nfn t() {}\n",
    );
    tollgate(dir.path())
        .args(["collect", "--lang", "rust", "--strict", "-p", "a"])
        .assert()
        .success()
        .stderr(predicate::str::contains("info[unknown-cfg]"));
    // A macro from elsewhere that makes tests: reported at the call.
    write(
        dir.path(),
        "b/src/lib.rs",
        "#[cfg(test)]\nmod tests {\n    other_crate::make_tests! { #[test] fn hidden() {} }\n}\n",
    );
    tollgate(dir.path())
        .args(["collect", "--lang", "rust", "--strict", "-p", "b"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "b/src/lib.rs:3:5: warning[macro-tests]",
        ))
        .stderr(predicate::str::contains("warning[incomplete-binary]"));
}

#[test]
fn an_expression_selecting_nothing_exits_5_like_pytest() {
    let dir = small_project();
    tollgate(dir.path())
        .args(["collect", "--lang", "python", "-m", "unit and e2e"])
        .assert()
        .code(5)
        .stdout("")
        .stderr(predicate::str::contains("no tests selected"));
}

/// One inventory for every command: on the example, `collect -m unit` (with
/// the config's rules, every Rust feature and ignored test, as the planner
/// sees them) lists exactly the union of the `unit` job's tests over every
/// pipeline's plan.
#[test]
fn collect_applies_the_config_rules_like_plan() {
    let root = common::example_root();
    let out = tollgate(&root)
        .args([
            "collect",
            "-m",
            "unit",
            "--all-features",
            "--run-ignored",
            "all",
        ])
        .output()
        .expect("tollgate runs");
    assert!(out.status.success(), "{}", common::describe(&out));
    let mut collected: Vec<String> = common::text(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    collected.sort();
    assert!(
        collected.iter().any(|id| id.contains(' ')),
        "Rust tests get `unit` from the config's rules: {collected:?}"
    );
    let mut planned = std::collections::BTreeSet::new();
    for pipeline in ["pre-commit", "pr", "push", "nightly", "weekly", "release"] {
        let out = tollgate(&root)
            .args(["plan", "--pipeline", pipeline, "--format", "json"])
            .output()
            .expect("tollgate runs");
        assert!(out.status.success(), "{}", common::describe(&out));
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan json");
        for job in plan["jobs"].as_array().into_iter().flatten() {
            let name = job["name"].as_str().unwrap_or_default();
            if name.split(['[', '#']).next() == Some("unit") {
                planned.extend(common::strings(&job["tests"]));
            }
        }
    }
    let planned: Vec<String> = planned.into_iter().collect();
    assert_eq!(collected, planned);
}

/// Discovery's progress is for a terminal only: with stderr a pipe (a CI
/// log) `collect` writes no spinner, no escape code, no carriage return.
#[test]
fn no_progress_is_drawn_when_stderr_is_not_a_terminal() {
    let root = common::example_root();
    let out = tollgate(&root)
        .args(["collect", "--format", "ids"])
        .env("TERM", "xterm-256color")
        .output()
        .expect("tollgate runs");
    assert!(out.status.success(), "{}", common::describe(&out));
    let stderr = common::text(&out.stderr);
    assert!(!stderr.contains("collecting tests"), "{stderr:?}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r'),
        "{stderr:?}"
    );
}

/// The check every scenario test's tollgate output goes through
/// (`common::tollgate(..).output()`) catches the dumps issue 13 found.
#[test]
fn the_debug_dump_check_catches_struct_and_variant_dumps() {
    use std::os::unix::process::ExitStatusExt;
    let output = |stderr: &str| std::process::Output {
        status: std::process::ExitStatus::from_raw(0),
        stdout: b"ok\n".to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    };
    for leak in [
        "quarantine entry Expired { expires: Date { year: 2020, month: 1, day: 1 } }",
        "job lint failed (Code(1))",
        "cannot open: Os { code: 2, kind: NotFound, message: \"No such file\" }",
        "base run Some(\"r1\")",
    ] {
        let caught = std::panic::catch_unwind(|| {
            common::assert_no_debug_dump("test", &output(leak));
        });
        assert!(caught.is_err(), "not caught: {leak}");
    }
    // Plain messages pass.
    common::assert_no_debug_dump(
        "test",
        &output("failed (exit code 1)\nassert (2 * 3) == 7\n{\"a\": 1}\n"),
    );
}

/// `[python] plugins` in tollgate.toml: a declared plugin's markers count as
/// registered (no strict-markers refusal of `-m needs_db`), and the tests
/// carrying a mark it `parametrizes` are flagged dynamic with the reason.
#[test]
fn declared_plugins_register_markers_and_flag_what_they_parametrize() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "pytest.ini",
        "[pytest]\naddopts = --strict-markers\nmarkers =\n    unit: unit tests\n",
    );
    write(
        dir.path(),
        "tests/test_p.py",
        "import pytest\n\n@pytest.mark.needs_db\ndef test_db():\n    pass\n\n\
@pytest.mark.matrix\ndef test_matrix():\n    pass\n\n@pytest.mark.unit\ndef test_unit():\n    pass\n",
    );
    // Without the declaration, pytest would refuse `-m needs_db` (unregistered).
    tollgate(dir.path())
        .args(["collect", "--lang", "python", "-m", "needs_db"])
        .assert()
        .code(2);
    write(
        dir.path(),
        "tollgate.toml",
        "[python]\nplugins = [\"pytest-timeout\", { name = \"ours\", markers = [\"needs_db\", \"matrix\"], parametrizes = [\"matrix\"] }]\n",
    );
    tollgate(dir.path())
        .args(["collect", "--lang", "python", "-m", "needs_db"])
        .assert()
        .success()
        .stdout("tests/test_p.py::test_db\n");
    let out = tollgate(dir.path())
        .args(["collect", "--lang", "python", "--format", "json"])
        .output()
        .expect("run tollgate");
    assert!(out.status.success(), "{}", common::describe(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let tests = doc["tests"].as_array().expect("tests array");
    let dynamic = |id: &str| {
        tests
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["dynamic"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("{id} not collected"))
    };
    assert!(
        dynamic("tests/test_p.py::test_matrix").contains("plugin ours"),
        "{}",
        dynamic("tests/test_p.py::test_matrix")
    );
    assert_eq!(dynamic("tests/test_p.py::test_db"), "");
    // Plugins' markers are not the project's registrations: no drift.
    write(
        dir.path(),
        "tollgate.toml",
        "[taxonomy.categories.type]\nmarkers = { unit = \"unit tests\" }\n\n\
[python]\nplugins = [\"pytest-timeout\", { name = \"ours\", markers = [\"needs_db\", \"matrix\"], parametrizes = [\"matrix\"] }]\n",
    );
    let out = tollgate(dir.path())
        .args(["markers", "--check"])
        .output()
        .expect("run tollgate");
    let said = format!("{}{}", common::text(&out.stdout), common::text(&out.stderr));
    assert!(out.status.success(), "{}", common::describe(&out));
    assert!(
        !said.contains("timeout") && !said.contains("needs_db"),
        "{said}"
    );
}
