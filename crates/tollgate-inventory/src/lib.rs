//! The test inventory: the plain data that static discovery produces and every
//! later stage (lint, select, plan, run, gate) consumes.
//!
//! Discovery crates (`tollgate-discover-python`, `tollgate-discover-rust`) fill
//! an [`Inventory`]; nothing in this crate does I/O. Keeping the model in its own
//! small crate lets each discoverer, the marker-expression evaluator and the CLI
//! agree on one vocabulary without depending on each other.

pub mod codec;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Which runner a test belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Rust,
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::Python => "python",
            Language::Rust => "rust",
        })
    }
}

/// A literal value as written in a mark's arguments.
///
/// Only values that can be known without running code are represented exactly;
/// anything else is kept as its source text in [`MarkValue::Expr`] so that it can
/// be shown but never compared equal to a literal.
///
/// In JSON a value is written as itself (`"s"`, `3`, `1.5`, `true`, `null`,
/// `[...]`); an expression is `{"expr": "<source>"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MarkValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<MarkValue>),
    /// Source text of an expression that cannot be evaluated statically.
    Expr {
        expr: String,
    },
}

/// How a marker came to be attached to a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkSource {
    /// `@pytest.mark.x` on the test function itself.
    FunctionDecorator,
    /// `@pytest.mark.x` on the enclosing class (or an enclosing class).
    ClassDecorator,
    /// A class decorator or class `pytestmark` of a base class, inherited.
    InheritedClass,
    /// `pytestmark = ...` at module level.
    ModulePytestmark,
    /// `pytestmark = ...` in a class body.
    ClassPytestmark,
    /// `pytest.param(..., marks=...)`: applies to one parametrized case only.
    Param,
    /// An attribute on a Rust test (`#[ignore]`, `#[should_panic]`, ...).
    RustAttribute,
    /// An explicit annotation written in source for tollgate (e.g. a Rust comment).
    Annotation,
    /// A declarative rule from `tollgate.toml`.
    ConfigRule,
    /// What real pytest reported (`tollgate learn`, or a pytest job of
    /// `tollgate run`); [`MarkOrigin::learned`] says which.
    Learned,
}

/// Where a marker was written (or which rule added it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkOrigin {
    /// Path relative to the project root, `/`-separated.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    pub source: MarkSource,
    /// For [`MarkSource::Learned`]: the learn id or run key whose pytest
    /// collection reported the mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<String>,
}

impl MarkOrigin {
    /// Where the mark comes from, for people: `file:line`, or
    /// `learned (<learn id or run key>)`.
    pub fn describe(&self) -> String {
        match &self.learned {
            Some(from) => format!("learned ({from})"),
            None => format!("{}:{}", self.file, self.line),
        }
    }
}

/// One marker on a test, with its arguments as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<MarkValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kwargs: BTreeMap<String, MarkValue>,
    pub origin: MarkOrigin,
}

impl Marker {
    pub fn new(name: impl Into<String>, origin: MarkOrigin) -> Self {
        Marker {
            name: name.into(),
            args: Vec::new(),
            kwargs: BTreeMap::new(),
            origin,
        }
    }

    pub fn kwarg(&self, key: &str) -> Option<&MarkValue> {
        self.kwargs.get(key)
    }
}

/// Facts about a Rust test that configuration rules turn into markers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RustFacts {
    /// Cargo package name.
    pub package: String,
    /// `lib`, `bin`, `test`, `bench` or `example`.
    pub target_kind: String,
    /// Target name (as Cargo names it).
    pub target_name: String,
    /// nextest's binary id (`pkg`, `pkg::bin/name`, `pkg::test_name`, ...).
    pub binary_id: String,
    /// Features that must be enabled for the test to exist (from `cfg` on the
    /// item, enclosing modules, the file, and the target's `required-features`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_features: Vec<String>,
    /// Test attribute path as written: `test`, `tokio::test`, `rstest`, ...
    pub test_attribute: String,
    /// `Some(reason)` if `#[ignore]`d; the reason is empty when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// The line of the `#[ignore]` attribute, for diagnostics that point at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_line: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub should_panic: bool,
    /// Of `required_features`, those the package's default features enable:
    /// a job building with default features runs the test without naming them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_enabled: Vec<String>,
    /// The Cargo workspace the test belongs to: its root directory relative
    /// to the project root, `/`-separated (empty for the root workspace).
    /// Its `cargo` commands run in that directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workspace: String,
}

/// One collected test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestItem {
    /// The id as `tollgate collect --format ids` prints it: a pytest node id,
    /// or nextest's `<binary-id> <test name>`.
    pub id: String,
    pub language: Language,
    /// Path relative to the project root, `/`-separated.
    pub file: String,
    /// 1-based line of the test's definition.
    pub line: u32,
    /// The test function this item belongs to: for pytest the node id without
    /// the `[param]` suffix; for Rust the test name.
    pub function: String,
    pub markers: Vec<Marker>,
    /// Set when the item could not be fully known statically (e.g. parametrize
    /// values computed at import time); the reason says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rust: Option<RustFacts>,
}

impl TestItem {
    pub fn has_marker(&self, name: &str) -> bool {
        self.markers.iter().any(|m| m.name == name)
    }

    /// Distinct marker names, sorted.
    pub fn marker_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.markers.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A note that changes nothing listed (e.g. an assumption that matches
    /// what the real tool does); `--strict` does not fail on it.
    Info,
    Warning,
    Error,
}

/// Something discovery could not read, parse or resolve. Never fatal: the rest
/// of the tree is still collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable short code, e.g. `parse-error`, `unreadable`, `dynamic-marks`.
    pub code: String,
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u32,
    /// 1-based; 0 when unknown.
    pub column: u32,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": {sev}[{}]: {}", self.code, self.message)
    }
}

/// Everything discovery found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub tests: Vec<TestItem>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Inventory {
    pub fn extend(&mut self, other: Inventory) {
        self.tests.extend(other.tests);
        self.diagnostics.extend(other.diagnostics);
    }

    /// Tests grouped by their function (see [`TestItem::function`]).
    pub fn by_function(&self) -> BTreeMap<&str, Vec<&TestItem>> {
        let mut map: BTreeMap<&str, Vec<&TestItem>> = BTreeMap::new();
        for t in &self.tests {
            map.entry(t.function.as_str()).or_default().push(t);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> MarkOrigin {
        MarkOrigin {
            file: "tests/test_a.py".into(),
            line: 3,
            source: MarkSource::FunctionDecorator,
            learned: None,
        }
    }

    #[test]
    fn marker_names_are_sorted_and_distinct() {
        let t = TestItem {
            id: "tests/test_a.py::test_x".into(),
            language: Language::Python,
            file: "tests/test_a.py".into(),
            line: 4,
            function: "tests/test_a.py::test_x".into(),
            markers: vec![
                Marker::new("unit", origin()),
                Marker::new("gpu_0", origin()),
                Marker::new("unit", origin()),
            ],
            dynamic: None,
            rust: None,
        };
        assert_eq!(t.marker_names(), vec!["gpu_0", "unit"]);
        assert!(t.has_marker("unit"));
        assert!(!t.has_marker("e2e"));
    }

    #[test]
    fn diagnostic_display_has_file_line_col() {
        let d = Diagnostic {
            severity: Severity::Error,
            code: "parse-error".into(),
            file: "a/test_b.py".into(),
            line: 3,
            column: 7,
            message: "unexpected indent".into(),
        };
        assert_eq!(
            d.to_string(),
            "a/test_b.py:3:7: error[parse-error]: unexpected indent"
        );
    }

    #[test]
    fn json_shape_of_a_marker() {
        let mut m = Marker::new("gpus", origin());
        m.kwargs.insert("count".into(), MarkValue::Int(2));
        insta::assert_json_snapshot!(m, @r#"
        {
          "name": "gpus",
          "kwargs": {
            "count": 2
          },
          "origin": {
            "file": "tests/test_a.py",
            "line": 3,
            "source": "function_decorator"
          }
        }
        "#);
    }
}
