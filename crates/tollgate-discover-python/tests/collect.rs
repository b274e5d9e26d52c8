//! Integration tests: `collect()` on the fixture projects under
//! `tests/fixtures/`, against snapshots verified with pytest 9.2, and (when a
//! Python with pytest is available) against pytest itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use tollgate_discover_python::{collect, CollectOptions, Collection};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn collect_in(dir: &Path, args: &[&str]) -> Collection {
    collect(&CollectOptions {
        invocation_dir: dir.to_path_buf(),
        args: args.iter().map(|s| s.to_string()).collect(),
        rootdir: None,
        config_file: None,
        plugins: Vec::new(),
    })
    .expect("collect")
}

/// One line per item: id, marker names in iter_markers order, dynamic flag.
fn render(c: &Collection) -> String {
    let mut out = String::new();
    for t in &c.inventory.tests {
        let names: Vec<&str> = t.markers.iter().map(|m| m.name.as_str()).collect();
        out.push_str(&format!("{}\t{}", t.id, names.join(",")));
        if let Some(reason) = &t.dynamic {
            out.push_str(&format!("\tDYNAMIC: {reason}"));
        }
        out.push('\n');
    }
    for d in &c.inventory.diagnostics {
        out.push_str(&format!("# {d}\n"));
    }
    out
}

#[test]
fn basic_fixture() {
    insta::assert_snapshot!("basic", render(&collect_in(&fixture("basic"), &[])));
}

#[test]
fn config_and_imports_fixture() {
    let c = collect_in(&fixture("config_imports"), &[]);
    assert!(c.strict_markers);
    assert_eq!(
        c.registered_markers[0],
        ("gpu".to_string(), "g".to_string())
    );
    insta::assert_snapshot!("config_imports", render(&c));
}

#[test]
fn explicit_args_and_selection() {
    let dir = fixture("config_imports");
    let c = collect_in(
        &dir,
        &["other", "pkg/tests/test_imp.py::TestChild::test_child"],
    );
    let ids: Vec<&str> = c.inventory.tests.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "other/test_o.py::test_o",
            "pkg/tests/test_imp.py::TestChild::test_child"
        ]
    );
    // Invoked below the rootdir: testpaths do not apply, ids stay rootdir-relative.
    let c = collect_in(&dir.join("other"), &[]);
    let ids: Vec<&str> = c.inventory.tests.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec!["other/test_o.py::test_o"]);
}

#[test]
fn dynamic_fixture() {
    insta::assert_snapshot!("dynamic", render(&collect_in(&fixture("dynamic"), &[])));
}

#[test]
fn marker_arguments_and_origins() {
    let c = collect_in(
        &fixture("basic"),
        &[
            "tests/test_basic.py::test_marks",
            "tests/test_basic.py::test_params",
        ],
    );
    let json = serde_json::to_string_pretty(&c.inventory.tests).expect("json");
    insta::assert_snapshot!("marker_arguments", json);
}

#[test]
fn missing_path_is_a_usage_error() {
    let err = collect(&CollectOptions {
        invocation_dir: fixture("basic"),
        args: vec!["nope".into()],
        ..Default::default()
    });
    assert!(err.is_err());
}

/// The Python interpreter with pytest, if this machine has one.
fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TOLLGATE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import pytest"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(candidate)
}

/// `(id, marker names)` per item from pytest, via the dump_markers plugin.
fn pytest_items(python: &Path, dir: &Path, args: &[&str]) -> Vec<(String, String)> {
    let out = tempfile::NamedTempFile::new().expect("tmp");
    let plugin_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("oracle");
    let status = Command::new(python)
        .current_dir(dir)
        .env("PYTHONPATH", &plugin_dir)
        .env("DUMP_MARKERS_OUT", out.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args([
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "dump_markers",
            "-p",
            "no:cacheprovider",
        ])
        .args(args)
        .output()
        .expect("run pytest");
    assert!(status.status.code().is_some());
    std::fs::read_to_string(out.path())
        .expect("dump")
        .lines()
        .map(|l| {
            let (id, marks) = l.split_once('\t').unwrap_or((l, ""));
            (id.to_string(), marks.to_string())
        })
        .collect()
}

/// Ids and marker names equal pytest's for every statically known item;
/// items flagged dynamic agree at function level.
#[test]
fn agrees_with_pytest() {
    let Some(python) = python() else {
        eprintln!("no python with pytest: skipping the live oracle comparison");
        return;
    };
    for (name, args) in [
        ("basic", vec![]),
        ("config_imports", vec![]),
        ("config_imports", vec!["other", "pkg"]),
        ("dynamic", vec![]),
    ] {
        let dir = fixture(name);
        let ours = collect_in(&dir, &args);
        let theirs = pytest_items(&python, &dir, &args);
        let dynamic_functions: BTreeSet<&str> = ours
            .inventory
            .tests
            .iter()
            .filter(|t| {
                t.id == t.function
                    && t.dynamic
                        .as_deref()
                        .is_some_and(|r| r.contains("parametrize"))
            })
            .map(|t| t.function.as_str())
            .collect();
        let ours_static: Vec<(String, String)> = ours
            .inventory
            .tests
            .iter()
            .filter(|t| !dynamic_functions.contains(t.function.as_str()))
            .map(|t| {
                (
                    t.id.clone(),
                    t.markers
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                )
            })
            .collect();
        let theirs_static: Vec<(String, String)> = theirs
            .iter()
            .filter(|(id, _)| !dynamic_functions.contains(id.split('[').next().unwrap_or(id)))
            .cloned()
            .collect();
        assert_eq!(ours_static, theirs_static, "fixture {name} {args:?}");
        for f in &dynamic_functions {
            assert!(
                theirs.iter().any(|(id, _)| id.split('[').next() == Some(f)),
                "{f} not collected by pytest"
            );
        }
    }
}
