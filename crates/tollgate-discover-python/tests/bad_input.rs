//! Bad input never panics: each problem becomes one diagnostic and the rest
//! of the tree is still collected.

use std::fs;
use std::path::Path;

use tollgate_discover_python::{collect, CollectOptions};

fn write(path: &Path, content: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, content).expect("write");
}

#[test]
fn every_bad_file_is_one_diagnostic_and_the_rest_is_collected() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(&root.join("pytest.ini"), b"[pytest]\n");
    write(&root.join("tests/test_ok.py"), b"def test_ok(): pass\n");
    write(
        &root.join("tests/test_syntax.py"),
        b"def test_x(:\n    pass\n",
    );
    write(
        &root.join("tests/test_latin1.py"),
        b"def test_y(): pass\n# caf\xe9\n",
    );
    let mut huge = b"def test_huge(): pass\n".to_vec();
    huge.resize(50 * 1024 * 1024, b'#');
    write(&root.join("tests/test_huge.py"), &huge);
    write(
        &root.join("tests/loop/test_in_loop.py"),
        b"def test_loop(): pass\n",
    );
    std::os::unix::fs::symlink("..", root.join("tests/loop/back")).expect("symlink");
    write(
        &root.join("tests/locked/test_locked.py"),
        b"def test_locked(): pass\n",
    );
    let locked = root.join("tests/locked");
    fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
        .expect("chmod");
    let locked_is_unreadable = fs::read_dir(&locked).is_err();

    let c = collect(&CollectOptions {
        invocation_dir: root.to_path_buf(),
        ..Default::default()
    })
    .expect("collect");
    fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod back");

    let ids: Vec<&str> = c.inventory.tests.iter().map(|t| t.id.as_str()).collect();
    let codes: Vec<(&str, &str)> = c
        .inventory
        .diagnostics
        .iter()
        .map(|d| (d.file.as_str(), d.code.as_str()))
        .collect();
    assert!(ids.contains(&"tests/test_ok.py::test_ok"));
    assert!(ids.contains(&"tests/loop/test_in_loop.py::test_loop"));
    assert!(codes.contains(&("tests/test_syntax.py", "parse-error")));
    assert!(codes.contains(&("tests/test_latin1.py", "not-utf8")));
    assert!(codes.contains(&("tests/test_huge.py", "too-large")));
    assert!(codes.contains(&("tests/loop/back", "symlink-loop")));
    let syntax = c
        .inventory
        .diagnostics
        .iter()
        .find(|d| d.code == "parse-error")
        .expect("parse error");
    assert_eq!((syntax.line, syntax.column), (1, 12));
    if locked_is_unreadable {
        assert!(codes.contains(&("tests/locked", "unreadable")));
        assert!(!ids.contains(&"tests/locked/test_locked.py::test_locked"));
    } else {
        // Running as root: permissions do not apply, so the directory is collected.
        assert!(ids.contains(&"tests/locked/test_locked.py::test_locked"));
    }
    // Exactly one diagnostic per problem.
    let expected = 4 + usize::from(locked_is_unreadable);
    assert_eq!(
        c.inventory.diagnostics.len(),
        expected,
        "{:#?}",
        c.inventory.diagnostics
    );
}

#[test]
fn deeply_nested_sources_do_not_overflow_the_stack() {
    let tmp = tempfile::tempdir().expect("tmp");
    let n = 20_000;
    let nested = format!(
        "x = {}1{}\ndef test_a(): pass\n",
        "(".repeat(n),
        ")".repeat(n)
    );
    write(&tmp.path().join("test_deep.py"), nested.as_bytes());
    let long = format!("x = 1{}\ndef test_b(): pass\n", " + 1".repeat(100_000));
    write(&tmp.path().join("test_long.py"), long.as_bytes());
    let c = collect(&CollectOptions {
        invocation_dir: tmp.path().to_path_buf(),
        ..Default::default()
    })
    .expect("collect");
    let ids: Vec<&str> = c.inventory.tests.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec!["test_deep.py::test_a", "test_long.py::test_b"]);
}

#[test]
fn invalid_ini_and_config_file_are_usage_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(&tmp.path().join("pytest.ini"), b"not an ini\n");
    let err = collect(&CollectOptions {
        invocation_dir: tmp.path().to_path_buf(),
        ..Default::default()
    });
    assert!(err.is_err());
    let err = collect(&CollectOptions {
        invocation_dir: tmp.path().to_path_buf(),
        config_file: Some("missing.ini".into()),
        ..Default::default()
    });
    assert!(err.is_err());
}

/// The evaluator's bad input: import cycles, names that refer to each other,
/// huge literals, deeply nested and exponentially growing expressions, and a
/// helper recursing 10,000 deep. Each ends as a diagnostic (the test kept as
/// one dynamic entry), never a panic, a stack overflow or a hang.
#[test]
fn evaluator_bad_input_is_bounded_and_reported() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(&root.join("pytest.ini"), b"[pytest]\n");
    write(&root.join("tests/__init__.py"), b"");
    write(
        &root.join("tests/cyc_a.py"),
        b"from tests.cyc_b import *\nfrom tests.cyc_b import B\nA = [B]\n",
    );
    write(
        &root.join("tests/cyc_b.py"),
        b"from tests.cyc_a import *\nfrom tests.cyc_a import A\nB = [A]\n",
    );
    write(
        &root.join("tests/test_cycle.py"),
        b"import pytest\nfrom tests.cyc_a import A\n@pytest.mark.parametrize('a', A)\ndef test_cycle(a): pass\n",
    );
    write(
        &root.join("tests/test_selfref.py"),
        b"import pytest\nA = [B, B]\nB = [A, A]\nC = C + [1]\n@pytest.mark.parametrize('v', A)\ndef test_mutual(v): pass\n@pytest.mark.parametrize('v', C)\ndef test_self(v): pass\n",
    );
    let mut doubling = String::from("import pytest\nA0 = [1, 2]\n");
    for i in 1..=60 {
        doubling.push_str(&format!("A{i} = A{0} + A{0}\n", i - 1));
    }
    doubling.push_str("@pytest.mark.parametrize('v', A60)\ndef test_doubling(v): pass\n");
    write(&root.join("tests/test_doubling.py"), doubling.as_bytes());
    let mut huge = String::from("import pytest\nVALUES = [");
    for i in 0..100_000 {
        huge.push_str(&format!("{i}, "));
    }
    huge.push_str("]\n@pytest.mark.parametrize('v', VALUES)\ndef test_huge(v): pass\n");
    write(&root.join("tests/test_huge_literal.py"), huge.as_bytes());
    let nested = format!(
        "import pytest\nX = {}1{}\n@pytest.mark.parametrize('v', X)\ndef test_nested(v): pass\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    write(&root.join("tests/test_nested.py"), nested.as_bytes());
    write(
        &root.join("tests/test_recursion.py"),
        b"import pytest\ndef down(n):\n    if n == 0:\n        return [1]\n    return down(n - 1)\n@pytest.mark.parametrize('v', down(10000))\ndef test_deep(v): pass\n",
    );

    let c = collect(&CollectOptions {
        invocation_dir: root.to_path_buf(),
        ..Default::default()
    })
    .expect("collect");
    let dynamic = |function: &str| {
        c.inventory
            .tests
            .iter()
            .find(|t| t.function == function)
            .and_then(|t| t.dynamic.clone())
            .unwrap_or_else(|| panic!("{function} is not a dynamic entry"))
    };
    let warned = |file: &str| {
        c.inventory
            .diagnostics
            .iter()
            .any(|d| d.file == file && d.code == "dynamic-parametrize")
    };
    for (file, function) in [
        ("tests/test_cycle.py", "tests/test_cycle.py::test_cycle"),
        (
            "tests/test_selfref.py",
            "tests/test_selfref.py::test_mutual",
        ),
        ("tests/test_selfref.py", "tests/test_selfref.py::test_self"),
        (
            "tests/test_doubling.py",
            "tests/test_doubling.py::test_doubling",
        ),
        (
            "tests/test_recursion.py",
            "tests/test_recursion.py::test_deep",
        ),
    ] {
        dynamic(function);
        assert!(warned(file), "no diagnostic for {file}");
    }
    let deep = dynamic("tests/test_recursion.py::test_deep");
    assert!(deep.contains("nest deeper"), "{deep}");
    // 5,000 nested brackets are one value (a list): pytest's one case.
    assert!(c
        .inventory
        .tests
        .iter()
        .any(|t| t.id == "tests/test_nested.py::test_nested[v0]" && t.dynamic.is_none()));
    // A huge literal is still just values: every case, exactly.
    let huge_items = c
        .inventory
        .tests
        .iter()
        .filter(|t| t.function == "tests/test_huge_literal.py::test_huge")
        .count();
    assert_eq!(huge_items, 100_000);
}
