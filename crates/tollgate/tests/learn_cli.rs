//! `tollgate learn` and the learned inventory, end to end with real pytest:
//! a module that generates its tests at import time (flagged dynamic
//! statically) becomes exact after `learn`, falls back to static discovery
//! when it is edited while the other files stay learned, `--no-learned`
//! turns it off, `collect --verify` finds disagreements, and `run` records
//! the same as a side effect. SQLite always; PostgreSQL when asked for (see
//! `scripts/test.sh`).

mod common;

use std::path::Path;

use common::stores::Location;
use common::{describe, python, text, tollgate_std, write};
use serde_json::Value;

/// A project with two generated modules, a plain one, and a pytest.ini.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "pytest.ini",
        "[pytest]\nmarkers =\n    slow: slow\n    gpu: gpu\n",
    );
    write(root, "tests/__init__.py", "");
    write(
        root,
        "tests/test_gen.py",
        "import pytest\n\n\
         for _name in (\"A\", \"B\"):\n\
         \x20   def _test(self):\n\
         \x20       pass\n\
         \x20   globals()[\"Test\" + _name] = type(\"Test\" + _name, (), {\"test_x\": pytest.mark.gpu(_test)})\n",
    );
    write(
        root,
        "tests/test_other_gen.py",
        "import pytest\n\n\
         for _i in range(3):\n\
         \x20   exec(f\"@pytest.mark.slow\\ndef test_e{_i}():\\n    pass\\n\")\n",
    );
    write(
        root,
        "tests/test_plain.py",
        "import pytest\n\n@pytest.mark.slow\ndef test_a():\n    pass\n\n\ndef test_b():\n    pass\n",
    );
    dir
}

/// `tollgate ARGS` in `dir`; asserts it exits with `code`, returns stdout.
fn tollgate(dir: &Path, args: &[&str], code: i32) -> String {
    let out = tollgate_std(dir).args(args).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "tollgate {args:?}\n{}",
        describe(&out)
    );
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        describe(&out)
    );
    text(&out.stdout)
}

/// pytest's own `--collect-only -q` ids.
fn pytest_ids(dir: &Path, py: &Path) -> Vec<String> {
    let out = std::process::Command::new(py)
        .args([
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(dir)
        .env_remove("PYTHONPATH")
        .output()
        .expect("pytest runs");
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains("::"))
        .map(str::to_string)
        .collect()
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

fn with_store<'a>(args: &[&'a str], store: &'a str) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(["--store", store]);
    v
}

fn learned_generated_modules_are_exact_until_edited(loc: &Location) {
    let Some(py) = python() else { return };
    let dir = project();
    let root = dir.path();
    let store = loc.url();
    let py_arg = py.display().to_string();

    let static_ids = lines(&tollgate(root, &with_store(&["collect"], &store), 0));
    assert!(
        static_ids.contains(&"tests/test_gen.py".to_string()),
        "statically the generating module is one dynamic entry: {static_ids:?}"
    );
    if matches!(loc, Location::Sqlite { .. }) {
        assert!(
            !Path::new(&store).exists(),
            "collect must not create a store"
        );
    }

    tollgate(
        root,
        &with_store(&["learn", "--python", &py_arg], &store),
        0,
    );
    let oracle = pytest_ids(root, &py);
    assert_eq!(oracle.len(), 7, "{oracle:?}");
    let learned_ids = lines(&tollgate(root, &with_store(&["collect"], &store), 0));
    assert_eq!(
        learned_ids, oracle,
        "after learn, collect lists what pytest collects"
    );

    let json: Value = serde_json::from_str(&tollgate(
        root,
        &with_store(&["collect", "--format", "json", "-m", "gpu"], &store),
        0,
    ))
    .expect("json");
    let tests = json["tests"].as_array().expect("tests");
    let ids: Vec<&str> = tests.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "tests/test_gen.py::TestA::test_x",
            "tests/test_gen.py::TestB::test_x"
        ]
    );
    let origin = &tests[0]["markers"][0]["origin"];
    assert_eq!(origin["source"], "learned");
    assert!(
        origin["learned"]
            .as_str()
            .is_some_and(|s| s.starts_with("learn-")),
        "{origin}"
    );

    let off = lines(&tollgate(
        root,
        &with_store(&["collect", "--no-learned"], &store),
        0,
    ));
    assert_eq!(off, static_ids, "--no-learned lists static discovery only");

    // Editing one generated module: it falls back to static, the other stays learned.
    let gen = root.join("tests/test_gen.py");
    let mut source = std::fs::read_to_string(&gen).expect("read");
    source.push_str("# edited\n");
    std::fs::write(&gen, source).expect("write");
    let after = lines(&tollgate(root, &with_store(&["collect"], &store), 0));
    assert!(
        after.contains(&"tests/test_gen.py".to_string()),
        "{after:?}"
    );
    assert!(
        !after.iter().any(|i| i.starts_with("tests/test_gen.py::")),
        "{after:?}"
    );
    assert!(
        after.contains(&"tests/test_other_gen.py::test_e2".to_string()),
        "the unedited module stays learned: {after:?}"
    );
}

fn verify_reports_where_static_and_pytest_disagree(loc: &Location) {
    let Some(py) = python() else { return };
    let dir = project();
    let root = dir.path();
    let store = loc.url();
    // Before anything is learned there is nothing to disagree with.
    tollgate(root, &with_store(&["collect", "--verify"], &store), 0);
    tollgate(
        root,
        &with_store(&["learn", "--python", &py.display().to_string()], &store),
        0,
    );
    let found = tollgate(root, &with_store(&["collect", "--verify"], &store), 1);
    assert!(
        found.contains("tests/test_gen.py: only static discovery lists it"),
        "{found}"
    );
    assert!(
        found.contains("tests/test_gen.py::TestA::test_x: only pytest collected it"),
        "{found}"
    );
    // A marker set that differs: a conftest hook adds a mark static
    // discovery cannot see... the plain file alone agrees.
    tollgate(
        root,
        &with_store(&["collect", "--verify", "tests/test_plain.py"], &store),
        0,
    );
    write(
        root,
        "tests/conftest.py",
        "import pytest\n\n\ndef pytest_collection_modifyitems(items):\n\
         \x20   for item in items:\n\
         \x20       item.add_marker(pytest.mark.gpu)\n",
    );
    tollgate(
        root,
        &with_store(&["learn", "--python", &py.display().to_string()], &store),
        0,
    );
    let found = tollgate(
        root,
        &with_store(&["collect", "--verify", "tests/test_plain.py"], &store),
        1,
    );
    assert!(
        found.contains("tests/test_plain.py::test_b: markers differ; only pytest: gpu"),
        "{found}"
    );
}

fn run_records_what_pytest_collected(loc: &Location) {
    let Some(py) = python() else { return };
    let dir = project();
    let root = dir.path();
    let store = loc.url();
    write(
        root,
        "tollgate.toml",
        &format!(
            r#"[project]
name = "learn-cli"

[run]
python = {:?}

[taxonomy.categories.lifecycle]
ordered = true

[taxonomy.categories.lifecycle.markers]
pre_merge = "before merging"

[jobs.unit]
stage = 2
gating = true
expr = "not gpu"

[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["unit"]

[[rules]]
language = "python"
paths = ["tests/**"]
markers = ["pre_merge"]
"#,
            py.display().to_string()
        ),
    );
    let out = tollgate_std(root)
        .args(["run", "--pipeline", "pr", "--store", &store])
        .output()
        .expect("runs");
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "{}",
        describe(&out)
    );
    // The dynamic modules ran whole (their entry is the file), so pytest
    // collected them whole: they are learned now.
    let ids = lines(&tollgate(root, &with_store(&["collect"], &store), 0));
    assert!(
        ids.contains(&"tests/test_other_gen.py::test_e0".to_string()),
        "{ids:?}\n{}",
        describe(&out)
    );
    let json: Value = serde_json::from_str(&tollgate(
        root,
        &with_store(
            &["collect", "--format", "json", "tests/test_other_gen.py"],
            &store,
        ),
        0,
    ))
    .expect("json");
    let origin = &json["tests"][0]["markers"][0]["origin"];
    assert_eq!(origin["source"], "learned", "{json}");
    assert!(
        origin["learned"]
            .as_str()
            .is_some_and(|s| s.starts_with("local-pr-")),
        "the run key is the origin: {origin}"
    );
}

/// A path pytest refuses is a usage error (2), and nothing is stored.
fn learn_passes_pytests_refusal_on(loc: &Location) {
    let Some(py) = python() else { return };
    let dir = project();
    let store = loc.url();
    let py_arg = py.display().to_string();
    let out = tollgate(
        dir.path(),
        &with_store(&["learn", "--python", &py_arg, "no/such/dir"], &store),
        2,
    );
    assert!(out.is_empty(), "{out}");
    if matches!(loc, Location::Sqlite { .. }) {
        assert!(!Path::new(&store).exists(), "no store for a refused learn");
    }
}

mod sqlite {
    use super::common::stores;

    #[test]
    fn learn_passes_pytests_refusal_on() {
        super::learn_passes_pytests_refusal_on(&stores::sqlite());
    }

    #[test]
    fn learned_generated_modules_are_exact_until_edited() {
        super::learned_generated_modules_are_exact_until_edited(&stores::sqlite());
    }

    #[test]
    fn verify_reports_where_static_and_pytest_disagree() {
        super::verify_reports_where_static_and_pytest_disagree(&stores::sqlite());
    }

    #[test]
    fn run_records_what_pytest_collected() {
        super::run_records_what_pytest_collected(&stores::sqlite());
    }
}

mod postgres {
    use super::common::stores;

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn learned_generated_modules_are_exact_until_edited() {
        super::learned_generated_modules_are_exact_until_edited(&stores::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn run_records_what_pytest_collected() {
        super::run_records_what_pytest_collected(&stores::postgres());
    }
}
