//! Mapping JUnit `classname` + `name` back to the ids tollgate uses.
//!
//! **pytest** builds both attributes from the node id (`_pytest/junitxml.py`,
//! `mangle_test_address`): the id is split at `[` (parameters), the part
//! before it at `::`; the first piece (the file path) has `/` replaced by `.`
//! and a trailing `.py` removed; `classname` is every piece but the last
//! joined with `.`, `name` the last piece plus the parameters. With
//! `junit_prefix` set, `classname` starts with `<prefix>.`.
//! `junit_family=xunit1` also writes `file` (and `line`), which makes the
//! inversion exact. `xunit2` (pytest's default since 6.0) does not, so the
//! dotted path is ambiguous (`tests.test_a.TestB` could be `tests/test_a.py::TestB`
//! or `tests/test_a/TestB.py`). In that case the split is resolved, in order, by:
//! 1. the set of known test files (from discovery) when the caller has one:
//!    the longest dotted prefix that names a known file is the module;
//! 2. otherwise, a heuristic: trailing pieces that start with an upper-case
//!    letter are classes (pytest's default `python_classes = Test*`).
//!
//! **nextest** writes one `<testsuite>` per test binary named by its binary id
//! (`my-crate::integration`) and sets each case's `classname` to the same
//! binary id, so the id is `<classname> <name>` — exactly what `cargo nextest
//! list` prints.
//!
//! **Anything else** gets `<classname>::<name>` (or `<name>` when there is no
//! classname).

use std::collections::BTreeSet;

/// How to turn a test case into an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdStyle {
    /// Decide per report: nextest's root is `<testsuites name="nextest-run">`;
    /// pytest names its suite `pytest` (its `junit_suite_name` default) or
    /// writes `file="*.py"`; anything else is generic.
    #[default]
    Auto,
    Pytest,
    Nextest,
    Generic,
}

/// What the pytest inversion needs to know about the project.
#[derive(Debug, Clone, Default)]
pub struct PytestIds {
    /// `junit_prefix` from the pytest configuration, if set.
    pub junit_prefix: Option<String>,
    /// Known test files, repo-relative with `/` (e.g. from discovery). Makes
    /// the module/class split exact for `xunit2` reports.
    pub known_files: Option<BTreeSet<String>>,
}

/// The pytest node id for a JUnit test case (see the module docs for the rule).
pub fn pytest_node_id(classname: &str, name: &str, file: Option<&str>, opts: &PytestIds) -> String {
    let classname = match &opts.junit_prefix {
        Some(prefix) => classname
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(classname),
        None => classname,
    };
    if classname.is_empty() {
        return name.to_string();
    }
    let parts: Vec<&str> = classname.split('.').collect();
    let module_len = file
        .and_then(|file| module_len_from_file(&parts, file))
        .or_else(|| {
            opts.known_files
                .as_ref()
                .and_then(|known| module_len_from_known(&parts, known))
        })
        .unwrap_or_else(|| module_len_by_case(&parts));
    let (module, classes) = parts.split_at(module_len.clamp(1, parts.len()));
    let mut id = module.join("/");
    id.push_str(".py");
    for class in classes {
        id.push_str("::");
        id.push_str(class);
    }
    id.push_str("::");
    id.push_str(name);
    id
}

/// xunit1: `file="tests/test_a.py"` tells how many dotted pieces are the module.
fn module_len_from_file(parts: &[&str], file: &str) -> Option<usize> {
    let module = file.replace('\\', "/");
    let module = module.strip_suffix(".py")?;
    let len = module.split('/').count();
    let matches = len <= parts.len() && module.split('/').zip(parts).all(|(a, b)| a == *b);
    matches.then_some(len)
}

fn module_len_from_known(parts: &[&str], known: &BTreeSet<String>) -> Option<usize> {
    (1..=parts.len())
        .rev()
        .find(|&k| known.contains(&format!("{}.py", parts[..k].join("/"))))
}

/// Trailing pieces starting with an upper-case letter are classes; at least
/// one piece stays the module.
fn module_len_by_case(parts: &[&str]) -> usize {
    let classes = parts
        .iter()
        .skip(1)
        .rev()
        .take_while(|p| p.chars().next().is_some_and(char::is_uppercase))
        .count();
    parts.len() - classes
}

/// nextest: `<binary-id> <test name>`.
pub fn nextest_id(classname: &str, name: &str) -> String {
    if classname.is_empty() {
        name.to_string()
    } else {
        format!("{classname} {name}")
    }
}

/// Any other producer: `<classname>::<name>`.
pub fn generic_id(classname: &str, name: &str) -> String {
    if classname.is_empty() {
        name.to_string()
    } else {
        format!("{classname}::{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(classname: &str, name: &str) -> String {
        pytest_node_id(classname, name, None, &PytestIds::default())
    }

    #[test]
    fn pytest_module_level_and_class_tests() {
        assert_eq!(id("tests.test_a", "test_x"), "tests/test_a.py::test_x");
        assert_eq!(
            id("tests.test_a.TestB", "test_y[1-a.b]"),
            "tests/test_a.py::TestB::test_y[1-a.b]"
        );
        assert_eq!(
            id("tests.test_a.TestB.TestInner", "test_z"),
            "tests/test_a.py::TestB::TestInner::test_z"
        );
        assert_eq!(id("test_root", "test_x"), "test_root.py::test_x");
    }

    #[test]
    fn pytest_prefix_is_stripped() {
        let opts = PytestIds {
            junit_prefix: Some("py".into()),
            known_files: None,
        };
        assert_eq!(
            pytest_node_id("py.tests.test_a", "t", None, &opts),
            "tests/test_a.py::t"
        );
    }

    #[test]
    fn pytest_xunit1_file_attribute_is_exact() {
        // A lower-case class name defeats the case heuristic; `file` does not.
        let opts = PytestIds::default();
        assert_eq!(
            pytest_node_id(
                "tests.test_a.check_things",
                "test_x",
                Some("tests/test_a.py"),
                &opts
            ),
            "tests/test_a.py::check_things::test_x"
        );
        assert_eq!(
            pytest_node_id("tests.Test_mod", "test_x", Some("tests/Test_mod.py"), &opts),
            "tests/Test_mod.py::test_x"
        );
    }

    #[test]
    fn pytest_known_files_resolve_the_split() {
        let opts = PytestIds {
            junit_prefix: None,
            known_files: Some(["tests/Test_mod.py".to_string()].into_iter().collect()),
        };
        assert_eq!(
            pytest_node_id("tests.Test_mod", "test_x", None, &opts),
            "tests/Test_mod.py::test_x"
        );
        // Unknown to the set: fall back to the heuristic.
        assert_eq!(
            pytest_node_id("other.test_b.TestC", "t", None, &opts),
            "other/test_b.py::TestC::t"
        );
    }

    #[test]
    fn nextest_and_generic_ids() {
        assert_eq!(
            nextest_id("my-crate::integration", "api::works"),
            "my-crate::integration api::works"
        );
        assert_eq!(
            generic_id("com.acme.FooTest", "testBar"),
            "com.acme.FooTest::testBar"
        );
        assert_eq!(generic_id("", "lonely"), "lonely");
    }
}
