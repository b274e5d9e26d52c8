//! nextest filtersets that fit on a command line.
//!
//! Linux limits one argument to 128 KiB (`MAX_ARG_STRLEN`) and all of them
//! together to about 2 MiB; a filterset naming 20,000 tests one by one is
//! several times that. So the selection is written as compactly as it can
//! be exactly:
//! 1. a binary whose every known test is selected is `binary_id(=b)`;
//! 2. else a module whose every known test is selected is one regex,
//!    `test(/^a::b::/)`, and only the remaining names are listed;
//! 3. tests nextest would not run anyway (`#[ignore]`d ones when the job
//!    excludes them) do not spoil a group.
//!
//! "Known" means every test of that binary in the inventory, which is
//! collected with every feature on: a job that builds fewer features lists
//! a subset of them, so a group that is complete in the inventory is
//! complete in the job. When even the compact form is too long, the caller
//! puts it in a nextest config file as a profile's `default-filter`.

use std::collections::{BTreeMap, HashMap};
use tollgate_discover_rust::nextest::escape;

use tollgate_config::IgnoredTests;
use tollgate_inventory::TestItem;

/// The longest filterset put on a command line, in bytes: Linux's 128 KiB
/// per argument, less room for the rest of a long command.
pub const MAX_FILTERSET_ARG: usize = 96 * 1024;

/// The longest command printed, in bytes (the limit for all arguments and
/// the environment together is 2 MiB; this keeps well inside it).
pub const MAX_COMMAND: usize = 1024 * 1024;

/// Every Rust test of the inventory by nextest binary id.
#[derive(Debug, Default)]
pub(crate) struct RustUniverse<'a> {
    by_binary: HashMap<&'a str, Vec<&'a TestItem>>,
}

impl<'a> RustUniverse<'a> {
    pub(crate) fn new(tests: &'a [TestItem]) -> Self {
        let mut by_binary: HashMap<&str, Vec<&TestItem>> = HashMap::new();
        for t in tests {
            if let Some(facts) = &t.rust {
                by_binary
                    .entry(facts.binary_id.as_str())
                    .or_default()
                    .push(t);
            }
        }
        RustUniverse { by_binary }
    }
}

/// Whether nextest runs `test` at all under `ignored` (others cannot spoil
/// a group: a regex matching them selects nothing more).
fn runs(test: &TestItem, ignored: IgnoredTests) -> bool {
    let is_ignored = test.rust.as_ref().is_some_and(|f| f.ignored.is_some());
    match ignored {
        IgnoredTests::Exclude => !is_ignored,
        IgnoredTests::Include => true,
        IgnoredTests::Only => is_ignored,
    }
}

/// A module tree of one binary's test names.
#[derive(Default)]
struct Node<'t> {
    /// Tests named exactly this path (leaf names), with whether selected.
    leaves: Vec<(&'t str, bool)>,
    children: BTreeMap<&'t str, Node<'t>>,
    /// Every counted test below is selected.
    complete: bool,
}

impl<'t> Node<'t> {
    fn insert(&mut self, name: &'t str, segments: &[&'t str], selected: bool) {
        match segments {
            [] | [_] => self.leaves.push((name, selected)),
            [first, rest @ ..] => self
                .children
                .entry(first)
                .or_default()
                .insert(name, rest, selected),
        }
    }

    fn settle(&mut self) -> bool {
        let mut complete = self.leaves.iter().all(|(_, s)| *s);
        for child in self.children.values_mut() {
            complete &= child.settle();
        }
        self.complete = complete;
        complete
    }

    fn emit(&self, prefix: &str, out: &mut Vec<String>) {
        for (name, selected) in &self.leaves {
            if *selected {
                out.push(format!("test(={})", escape(name)));
            }
        }
        for (segment, child) in &self.children {
            let path = if prefix.is_empty() {
                (*segment).to_string()
            } else {
                format!("{prefix}::{segment}")
            };
            // Module paths are Rust identifiers; anything else is listed
            // name by name rather than escaped into a regex.
            let plain = path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            if plain && child.complete && child.any_selected() {
                out.push(format!("test(/^{path}::/)"));
            } else {
                child.emit(&path, out);
            }
        }
    }

    fn any_selected(&self) -> bool {
        self.leaves.iter().any(|(_, s)| *s) || self.children.values().any(Node::any_selected)
    }
}

/// The selection `tests` as a filterset, as compact as it can exactly be.
pub(crate) fn compact(
    tests: &[&TestItem],
    universe: &RustUniverse<'_>,
    ignored: IgnoredTests,
) -> String {
    let mut order: Vec<&str> = Vec::new();
    let mut selected: HashMap<&str, Vec<&str>> = HashMap::new();
    for t in tests {
        let Some(facts) = &t.rust else { continue };
        let binary = facts.binary_id.as_str();
        let names = selected.entry(binary).or_insert_with(|| {
            order.push(binary);
            Vec::new()
        });
        names.push(t.function.as_str());
    }
    if order.is_empty() {
        return "none()".to_string();
    }
    let mut groups = Vec::new();
    for binary in order {
        let names: std::collections::HashSet<&str> = selected
            .get(binary)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let known: Vec<&TestItem> = universe
            .by_binary
            .get(binary)
            .map(|all| all.iter().copied().filter(|t| runs(t, ignored)).collect())
            .unwrap_or_default();
        let mut root = Node::default();
        let mut counted = std::collections::HashSet::new();
        for t in &known {
            let name = t.function.as_str();
            if counted.insert(name) {
                let segments: Vec<&str> = name.split("::").collect();
                root.insert(name, &segments, names.contains(name));
            }
        }
        // Selected names the universe lacks (an inventory built elsewhere):
        // nothing is known about the rest of their binary, so it is never
        // taken whole; they are listed exactly.
        let mut unknown = false;
        for name in &names {
            if !counted.contains(name) {
                root.leaves.push((name, true));
                unknown = true;
            }
        }
        let binary_term = format!("binary_id(={})", escape(binary));
        if root.settle() && !unknown {
            groups.push(binary_term);
            continue;
        }
        let mut terms = Vec::new();
        root.emit("", &mut terms);
        groups.push(format!("({binary_term} & ({}))", terms.join(" | ")));
    }
    groups.join(" | ")
}

/// The config file that carries a filterset too long for the command line:
/// a profile whose `default-filter` it is (nextest ≥ 0.9.76).
pub(crate) fn config_file(filterset: &str) -> String {
    let mut escaped = String::with_capacity(filterset.len() + 16);
    for c in filterset.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    format!(
        "# Written by `tollgate plan`: the job's selection, too long for a command line.\n\
         [profile.tollgate]\n\
         default-filter = \"{escaped}\"\n"
    )
}

/// The name of the profile [`config_file`] defines.
pub(crate) const PROFILE: &str = "tollgate";

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
    fn whole_binaries_modules_and_single_names() {
        let all = vec![
            item("a", "x::one", false),
            item("a", "x::two", false),
            item("b", "m::n::one", false),
            item("b", "m::n::two", false),
            item("b", "m::other", false),
            item("b", "m::skipped", true),
            item("b", "top", false),
        ];
        let universe = RustUniverse::new(&all);
        let pick = |ids: &[usize]| ids.iter().map(|&i| &all[i]).collect::<Vec<_>>();
        assert_eq!(
            compact(&pick(&[0, 1, 2, 3, 6]), &universe, IgnoredTests::Exclude),
            "binary_id(=a) | (binary_id(=b) & (test(=top) | test(/^m::n::/)))"
        );
        // The ignored test does not spoil `m` when ignored tests are excluded.
        assert_eq!(
            compact(&pick(&[2, 3, 4]), &universe, IgnoredTests::Exclude),
            "(binary_id(=b) & (test(/^m::/)))"
        );
        assert_eq!(
            compact(&pick(&[2, 3, 4]), &universe, IgnoredTests::Include),
            "(binary_id(=b) & (test(=m::other) | test(/^m::n::/)))"
        );
        assert_eq!(compact(&[], &universe, IgnoredTests::Exclude), "none()");
    }

    #[test]
    fn config_file_is_valid_toml() {
        let text = config_file(r#"test(=a\,b) | test(/^x::/)"#);
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            parsed["profile"]["tollgate"]["default-filter"].as_str(),
            Some(r#"test(=a\,b) | test(/^x::/)"#)
        );
    }
}
