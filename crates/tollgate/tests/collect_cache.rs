//! The warm-collect cache (`.tollgate/cache/`): a warm run serves unchanged
//! files, an edit re-parses exactly the files whose result depends on it, a
//! damaged entry is ignored and rewritten. Every test compares the warm
//! output with a `--no-cache` run *and* with the change the edit must make,
//! so a cache serving stale results fails it.

mod common;

use std::path::{Path, PathBuf};

use common::{text, tollgate, write};

/// `tollgate collect --verbose ARGS` in `dir`: (stdout, (parsed, cached)).
fn collect(dir: &Path, args: &[&str]) -> (String, (usize, usize)) {
    let out = tollgate(dir)
        .args(["collect", "--verbose"])
        .args(args)
        .output()
        .expect("tollgate runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("python: "))
        .unwrap_or_else(|| panic!("no stats line in {stderr}"));
    // "python: N files parsed, M from cache"
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("number"))
        .collect();
    assert_eq!(numbers.len(), 2, "{line}");
    (text(&out.stdout), (numbers[0], numbers[1]))
}

/// Collects warm, checks it against a `--no-cache` run, returns the ids.
fn warm(dir: &Path, expect: (usize, usize)) -> String {
    let (ids, stats) = collect(dir, &[]);
    let (fresh, fresh_stats) = collect(dir, &["--no-cache"]);
    assert_eq!(
        ids, fresh,
        "the cache served something a fresh parse does not give"
    );
    assert_eq!(fresh_stats.1, 0, "--no-cache used the cache");
    assert_eq!(stats, expect, "(parsed, from cache) on the warm run");
    ids
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "tollgate.toml", "");
    write(dir.path(), "pytest.ini", "[pytest]\ntestpaths = tests\n");
    dir
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = dir.join(".tollgate/cache/python");
    for sub in std::fs::read_dir(root).expect("cache dir").flatten() {
        for f in std::fs::read_dir(sub.path()).expect("subdir").flatten() {
            out.push(f.path());
        }
    }
    out.sort();
    out
}

#[test]
fn warm_run_is_served_from_cache_and_an_edit_reparses_only_that_file() {
    let dir = project();
    for name in ["a", "b", "c"] {
        write(
            dir.path(),
            &format!("tests/test_{name}.py"),
            &format!("def test_{name}():\n    pass\n"),
        );
    }
    let (cold, stats) = collect(dir.path(), &[]);
    assert_eq!(stats, (3, 0));
    assert_eq!(
        cold,
        "tests/test_a.py::test_a\ntests/test_b.py::test_b\ntests/test_c.py::test_c\n"
    );
    assert_eq!(entries(dir.path()).len(), 3);
    assert_eq!(warm(dir.path(), (0, 3)), cold);

    // Only the modification time changes: the content hash is the same.
    let b = dir.path().join("tests/test_b.py");
    let f = std::fs::File::options().write(true).open(&b).unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    assert_eq!(warm(dir.path(), (0, 3)), cold);

    write(
        dir.path(),
        "tests/test_b.py",
        "def test_b():\n    pass\n\ndef test_b2():\n    pass\n",
    );
    let ids = warm(dir.path(), (1, 2));
    assert!(ids.contains("tests/test_b.py::test_b2\n"), "{ids}");
    assert_eq!(warm(dir.path(), (0, 3)), ids);
}

#[test]
fn corrupt_and_truncated_entries_are_ignored_and_rewritten() {
    let dir = project();
    for name in ["a", "b", "c", "d"] {
        write(
            dir.path(),
            &format!("tests/test_{name}.py"),
            &format!(
                "import pytest\n\n@pytest.mark.parametrize('n', [1, 2])\ndef test_{name}(n):\n    pass\n"
            ),
        );
    }
    let (cold, _) = collect(dir.path(), &[]);
    let files = entries(dir.path());
    assert_eq!(files.len(), 4);
    let whole = std::fs::read(&files[0]).unwrap();
    // Truncated in the middle, truncated to nothing, one byte flipped in
    // the payload; the fourth is left alone.
    std::fs::write(&files[0], &whole[..whole.len() / 2]).unwrap();
    std::fs::write(&files[1], b"").unwrap();
    let mut flipped = std::fs::read(&files[2]).unwrap();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x01;
    std::fs::write(&files[2], &flipped).unwrap();

    assert_eq!(warm(dir.path(), (3, 1)), cold);
    // Rewritten: all four are whole again.
    assert_eq!(warm(dir.path(), (0, 4)), cold);
    assert_eq!(std::fs::read(&files[0]).unwrap(), whole);
}

#[test]
fn editing_a_conftest_reparses_exactly_the_modules_under_it() {
    let dir = project();
    write(
        dir.path(),
        "tests/gpu/conftest.py",
        "import pytest\n\n@pytest.fixture(params=['a', 'b'])\ndef device(request):\n    return request.param\n",
    );
    write(
        dir.path(),
        "tests/gpu/test_one.py",
        "def test_one(device):\n    pass\n",
    );
    write(
        dir.path(),
        "tests/gpu/test_two.py",
        "def test_two():\n    pass\n",
    );
    write(
        dir.path(),
        "tests/cpu/test_three.py",
        "def test_three():\n    pass\n",
    );
    let (cold, _) = collect(dir.path(), &[]);
    assert!(
        cold.contains("tests/gpu/test_one.py::test_one[b]\n"),
        "{cold}"
    );
    write(
        dir.path(),
        "tests/gpu/conftest.py",
        "import pytest\n\n@pytest.fixture(params=['a', 'b', 'c'])\ndef device(request):\n    return request.param\n",
    );
    // Both modules under the conftest depend on its fixtures; the other
    // directory does not.
    let ids = warm(dir.path(), (2, 1));
    assert!(
        ids.contains("tests/gpu/test_one.py::test_one[c]\n"),
        "{ids}"
    );
}

#[test]
fn editing_an_imported_helper_reparses_exactly_its_importers() {
    let dir = project();
    write(dir.path(), "tests/helpers/__init__.py", "");
    write(
        dir.path(),
        "tests/helpers/cases.py",
        "import pytest\n\nCASES = [1, 2]\nSLOW = pytest.mark.slow\n\n\
def make_ids():\n    return ['x', 'y']\n",
    );
    write(
        dir.path(),
        "tests/helpers/base.py",
        "class Base:\n    def test_inherited(self):\n        pass\n",
    );
    write(
        dir.path(),
        "tests/test_params.py",
        "import pytest\nfrom helpers.cases import CASES, SLOW\n\n\
@SLOW\n@pytest.mark.parametrize('n', CASES)\ndef test_n(n):\n    pass\n",
    );
    write(
        dir.path(),
        "tests/test_class.py",
        "from helpers.base import Base\n\nclass TestX(Base):\n    pass\n",
    );
    write(
        dir.path(),
        "tests/test_alone.py",
        "def test_alone():\n    pass\n",
    );
    let (cold, _) = collect(dir.path(), &[]);
    assert!(cold.contains("tests/test_params.py::test_n[2]\n"), "{cold}");
    assert!(
        cold.contains("tests/test_class.py::TestX::test_inherited\n"),
        "{cold}"
    );
    let (slow, _) = collect(dir.path(), &["-m", "slow"]);
    assert!(slow.contains("test_n[1]"), "{slow}");

    // A constant and a mark variable of the helper change: only its
    // importer is parsed again.
    write(
        dir.path(),
        "tests/helpers/cases.py",
        "import pytest\n\nCASES = [1, 2, 3]\nSLOW = pytest.mark.fast\n\n\
def make_ids():\n    return ['x', 'y']\n",
    );
    let ids = warm(dir.path(), (1, 2));
    assert!(ids.contains("tests/test_params.py::test_n[3]\n"), "{ids}");
    let (not_slow, _) = collect(dir.path(), &["-m", "not slow"]);
    assert!(
        not_slow.contains("test_n[1]"),
        "stale mark served: {not_slow}"
    );

    // A cross-module base class changes: only its subclass's module.
    write(
        dir.path(),
        "tests/helpers/base.py",
        "class Base:\n    def test_inherited(self):\n        pass\n\n    def test_more(self):\n        pass\n",
    );
    let ids = warm(dir.path(), (1, 2));
    assert!(
        ids.contains("tests/test_class.py::TestX::test_more\n"),
        "{ids}"
    );
}

#[test]
fn a_new_module_that_shadows_an_import_reparses_its_importer() {
    let dir = project();
    // `common` resolves to the project root's `common.py` until a
    // `tests/common.py` appears (the test's own directory is searched first).
    write(dir.path(), "common.py", "CASES = [1]\n");
    write(
        dir.path(),
        "tests/test_x.py",
        "import pytest\nfrom common import CASES\n\n@pytest.mark.parametrize('n', CASES)\ndef test_x(n):\n    pass\n",
    );
    write(dir.path(), "tests/test_y.py", "def test_y():\n    pass\n");
    let (cold, _) = collect(dir.path(), &[]);
    assert!(cold.contains("tests/test_x.py::test_x[1]\n"), "{cold}");
    write(dir.path(), "tests/common.py", "CASES = [5]\n");
    let ids = warm(dir.path(), (1, 1));
    assert!(ids.contains("tests/test_x.py::test_x[5]\n"), "{ids}");
}

#[test]
fn editing_the_ini_reparses_every_module() {
    let dir = project();
    for name in ["a", "b"] {
        write(
            dir.path(),
            &format!("tests/test_{name}.py"),
            &format!("def test_{name}():\n    pass\n\ndef check_{name}():\n    pass\n"),
        );
    }
    let (cold, _) = collect(dir.path(), &[]);
    assert!(!cold.contains("check_"), "{cold}");
    write(
        dir.path(),
        "pytest.ini",
        "[pytest]\ntestpaths = tests\npython_functions = test_* check_*\n",
    );
    let ids = warm(dir.path(), (2, 0));
    assert!(ids.contains("tests/test_a.py::check_a\n"), "{ids}");
    assert_eq!(warm(dir.path(), (0, 2)), ids);
}

#[test]
fn editing_a_rust_macro_in_another_module_changes_the_listing() {
    let dir = project();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"mac\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        dir.path(),
        "src/lib.rs",
        "#[macro_use]\nmod macros;\nmod cases;\n",
    );
    write(
        dir.path(),
        "src/macros.rs",
        "macro_rules! make_test {\n    ($name:ident) => {\n        #[test]\n        fn $name() {}\n    };\n}\n",
    );
    write(dir.path(), "src/cases.rs", "make_test!(alpha);\n");
    let rust = |dir: &Path| {
        let out = tollgate(dir)
            .args(["collect", "--lang", "rust"])
            .output()
            .expect("tollgate runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(rust(dir.path()), "mac cases::alpha\n");
    write(
        dir.path(),
        "src/macros.rs",
        "macro_rules! make_test {\n    ($name:ident) => {\n        mod $name {\n            #[test]\n            fn one() {}\n            #[test]\n            fn two() {}\n        }\n    };\n}\n",
    );
    assert_eq!(
        rust(dir.path()),
        "mac cases::alpha::one\nmac cases::alpha::two\n"
    );
}

#[test]
fn concurrent_cold_runs_agree_and_leave_a_whole_cache() {
    let dir = project();
    for n in 0..20 {
        write(
            dir.path(),
            &format!("tests/test_m{n}.py"),
            &format!("import pytest\n\n@pytest.mark.parametrize('x', range(5))\ndef test_{n}(x):\n    pass\n"),
        );
    }
    let children: Vec<_> = (0..4)
        .map(|_| {
            common::tollgate_std(dir.path())
                .args(["collect"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outputs: Vec<String> = children
        .into_iter()
        .map(|c| text(&c.wait_with_output().expect("wait").stdout))
        .collect();
    let (fresh, _) = collect(dir.path(), &["--no-cache"]);
    assert_eq!(fresh.lines().count(), 100);
    for out in &outputs {
        assert_eq!(out, &fresh);
    }
    assert_eq!(warm(dir.path(), (0, 20)), fresh);
    let names: Vec<String> = entries(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp")), "{names:?}");
}
