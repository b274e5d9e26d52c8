//! What nextest prints and accepts: list order, `--run-ignored`, filtersets.
//!
//! nextest keeps binaries in a map ordered by binary id *components*: the
//! package name, then the library (no name) before integration tests (name
//! only) before `kind/name` targets, each sorted by name. Tests within a
//! binary are ordered by name. `cargo nextest list` shows only tests that
//! would run: by default not the `#[ignore]`d ones.

use std::cmp::Ordering;

use tollgate_inventory::TestItem;

/// nextest's `--run-ignored`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RunIgnored {
    /// Only tests that are not ignored (nextest's default).
    #[default]
    Default,
    /// Only ignored tests.
    Only,
    /// Both.
    All,
}

impl RunIgnored {
    pub fn includes(self, ignored: bool) -> bool {
        match self {
            RunIgnored::Default => !ignored,
            RunIgnored::Only => ignored,
            RunIgnored::All => true,
        }
    }
}

/// Sort key of a binary id: `(package, rank, kind, name)`.
fn binary_key(binary_id: &str) -> (&str, u8, &str, &str) {
    match binary_id.split_once("::") {
        None => (binary_id, 0, "", ""),
        Some((package, rest)) => match rest.split_once('/') {
            None => (package, 1, "", rest),
            Some((kind, name)) => (package, 2, kind, name),
        },
    }
}

/// Orders two binary ids as nextest does.
pub fn compare_binary_ids(a: &str, b: &str) -> Ordering {
    binary_key(a).cmp(&binary_key(b))
}

fn binary_id(t: &TestItem) -> &str {
    t.rust.as_ref().map_or("", |r| r.binary_id.as_str())
}

/// Sorts Rust tests into nextest's list order (stable for equal keys).
pub fn sort_tests(tests: &mut [TestItem]) {
    tests.sort_by(|a, b| {
        compare_binary_ids(binary_id(a), binary_id(b)).then_with(|| a.function.cmp(&b.function))
    });
}

/// The lines `cargo nextest list --message-format oneline [--run-ignored ..]`
/// prints, in its order, for the Rust tests of an inventory already in list
/// order (as [`crate::collect`] returns it).
pub fn nextest_list_ids(
    inventory: &tollgate_inventory::Inventory,
    run_ignored: RunIgnored,
) -> Vec<&str> {
    inventory
        .tests
        .iter()
        .filter_map(|t| t.rust.as_ref().map(|r| (t, r)))
        .filter(|(_, r)| run_ignored.includes(r.ignored.is_some()))
        .map(|(t, _)| t.id.as_str())
        .collect()
}

/// A nextest filterset (`-E`) selecting exactly `tests`:
/// `(binary_id(=pkg::bin/x) & (test(=a) | test(=b))) | ...`, grouped by
/// binary in first-seen order; `none()` when empty.
///
/// Only exact (`=`) matchers are used so a name can never match a longer one.
/// Selecting ignored tests still needs `--run-ignored` on the command line.
pub fn nextest_filterset(tests: &[&TestItem]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for t in tests {
        let Some(facts) = &t.rust else { continue };
        let name = t.function.as_str();
        match groups.iter_mut().find(|(b, _)| *b == facts.binary_id) {
            Some((_, names)) => {
                if !names.contains(&name) {
                    names.push(name)
                }
            }
            None => groups.push((facts.binary_id.as_str(), vec![name])),
        }
    }
    if groups.is_empty() {
        return "none()".to_string();
    }
    groups
        .iter()
        .map(|(binary, names)| {
            let tests = names
                .iter()
                .map(|n| format!("test(={})", escape(n)))
                .collect::<Vec<_>>()
                .join(" | ");
            format!("(binary_id(={}) & ({tests}))", escape(binary))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Escapes the characters that end or split a filterset matcher
/// (`\`, `)`, `,`), for names written into `test(=...)` or `binary_id(=...)`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | ')' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_inventory::{Language, RustFacts};

    fn item(binary: &str, name: &str, ignored: bool) -> TestItem {
        TestItem {
            id: format!("{binary} {name}"),
            language: Language::Rust,
            file: "src/lib.rs".into(),
            line: 1,
            function: name.into(),
            markers: vec![],
            dynamic: None,
            rust: Some(RustFacts {
                binary_id: binary.into(),
                ignored: ignored.then(String::new),
                ..RustFacts::default()
            }),
        }
    }

    #[test]
    fn binaries_sort_by_components() {
        let mut ids = vec![
            "app::bin/app",
            "beta::example/x",
            "app::explicit",
            "beta::bench/b",
            "app",
            "beta::bin/beta",
            "alpha-core::basic",
            "alpha-core",
        ];
        ids.sort_by(|a, b| compare_binary_ids(a, b));
        assert_eq!(
            ids,
            vec![
                "alpha-core",
                "alpha-core::basic",
                "app",
                "app::explicit",
                "app::bin/app",
                "beta::bench/b",
                "beta::bin/beta",
                "beta::example/x",
            ]
        );
    }

    #[test]
    fn list_ids_follow_run_ignored() {
        let inventory = tollgate_inventory::Inventory {
            tests: vec![item("p", "a", false), item("p", "b", true)],
            diagnostics: vec![],
        };
        assert_eq!(
            nextest_list_ids(&inventory, RunIgnored::Default),
            vec!["p a"]
        );
        assert_eq!(nextest_list_ids(&inventory, RunIgnored::Only), vec!["p b"]);
        assert_eq!(
            nextest_list_ids(&inventory, RunIgnored::All),
            vec!["p a", "p b"]
        );
    }

    #[test]
    fn filterset_groups_by_binary() {
        let a = item("p", "m::a", false);
        let b = item("p::bin/x", "b", false);
        let c = item("p", "m::c", false);
        assert_eq!(
            nextest_filterset(&[&a, &b, &c]),
            "(binary_id(=p) & (test(=m::a) | test(=m::c))) | (binary_id(=p::bin/x) & (test(=b)))"
        );
        assert_eq!(nextest_filterset(&[]), "none()");
    }
}
