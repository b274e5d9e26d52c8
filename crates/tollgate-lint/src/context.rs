//! Everything the rules look up, hashed once per run so that every rule is
//! linear in the number of tests and markers (the taxonomy's own maps are
//! small ordered lists, fine for one lookup but not for millions).

use std::collections::{HashMap, HashSet};

use globset::GlobSet;
use tollgate_config::{Category, Config};
use tollgate_inventory::{Language, MarkSource, Marker, TestItem};

use crate::registrations::PytestMarkers;

/// The taxonomy, the tests grouped by function, and pytest's registrations.
pub(crate) struct Context<'a> {
    pub config: &'a Config,
    pub tests: &'a [TestItem],
    pub pytest: Option<&'a PytestMarkers>,
    /// Alias → canonical marker (chains followed).
    canonical: HashMap<&'a str, &'a str>,
    /// Canonical marker → indexes into `categories`.
    marker_categories: HashMap<&'a str, Vec<usize>>,
    pub categories: Vec<CategoryInfo<'a>>,
    /// Bare names registered with pytest (`timeout(seconds)` → `timeout`).
    pub registered: HashSet<&'a str>,
    /// Tests grouped by the function they come from, in inventory order.
    pub functions: Vec<Vec<&'a TestItem>>,
}

pub(crate) struct CategoryInfo<'a> {
    pub name: &'a str,
    pub category: &'a Category,
    /// Compiled `applies_to`; `None` when the category applies everywhere.
    pub applies_to: Option<GlobSet>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        config: &'a Config,
        tests: &'a [TestItem],
        pytest: Option<&'a PytestMarkers>,
    ) -> Self {
        let taxonomy = &config.taxonomy;
        let canonical = taxonomy
            .aliases
            .keys()
            .filter_map(|alias| Some((alias, taxonomy.resolve_alias(alias)?)))
            .collect();
        let mut marker_categories: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut categories = Vec::new();
        for (index, (name, category)) in taxonomy.categories.iter().enumerate() {
            for marker in category.markers.keys() {
                marker_categories.entry(marker).or_default().push(index);
            }
            categories.push(CategoryInfo {
                name,
                category,
                applies_to: compile(&category.applies_to),
            });
        }
        let registered = pytest
            .map(|p| p.markers.iter().map(|m| m.bare_name()).collect())
            .unwrap_or_default();
        Context {
            config,
            tests,
            pytest,
            canonical,
            marker_categories,
            categories,
            registered,
            functions: group_by_function(tests),
        }
    }

    /// `name` itself, or the marker it is an alias of.
    pub(crate) fn canonical<'n>(&'n self, name: &'n str) -> &'n str {
        self.canonical.get(name).copied().unwrap_or(name)
    }

    pub(crate) fn is_alias(&self, name: &str) -> bool {
        self.canonical.contains_key(name)
    }

    /// Whether `name` (canonical) is a taxonomy marker.
    pub(crate) fn is_marker(&self, name: &str) -> bool {
        self.marker_categories.contains_key(name)
    }

    /// Indexes into [`Context::categories`] of the categories of `name`
    /// (canonical).
    pub(crate) fn categories_of(&self, name: &str) -> &[usize] {
        self.marker_categories.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Compiles globs the way config rules match them; `None` for an empty
/// list. Validation has already rejected bad globs, so a failure here only
/// happens for a config built in memory, and then matches nothing.
pub(crate) fn compile(globs: &[String]) -> Option<GlobSet> {
    if globs.is_empty() {
        return None;
    }
    Some(tollgate_config::compile_globs(globs).unwrap_or_else(|_| GlobSet::empty()))
}

/// How a finding names a test: pytest functions by their node id without the
/// parameter suffix, Rust tests by their nextest id (binary and name).
pub(crate) fn test_label(test: &TestItem) -> &str {
    match test.language {
        Language::Python => &test.function,
        Language::Rust => &test.id,
    }
}

/// How a finding about a mark names the test: the single case when the mark
/// was given to that case only (`pytest.param(..., marks=...)`).
pub(crate) fn mark_label<'t>(test: &'t TestItem, mark: &Marker) -> &'t str {
    if mark.origin.source == MarkSource::Param {
        &test.id
    } else {
        test_label(test)
    }
}

fn group_by_function(tests: &[TestItem]) -> Vec<Vec<&TestItem>> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut groups: Vec<Vec<&TestItem>> = Vec::new();
    for test in tests {
        let key = match test.language {
            Language::Python => ("", test.function.as_str()),
            Language::Rust => (test.file.as_str(), test.id.as_str()),
        };
        match index.get(&key) {
            Some(&i) => groups[i].push(test),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![test]);
            }
        }
    }
    groups
}

/// Which tests of one function fail a check: all of them (report the
/// function once) or only some cases (report each case).
pub(crate) enum Failing<'t> {
    Function(&'t TestItem),
    Cases(Vec<&'t TestItem>),
}

impl<'t> Failing<'t> {
    /// `None` when no test of `group` fails `check`.
    pub(crate) fn of(group: &[&'t TestItem], check: impl Fn(&TestItem) -> bool) -> Option<Self> {
        let failing: Vec<&TestItem> = group.iter().copied().filter(|t| check(t)).collect();
        match failing.first() {
            None => None,
            Some(first) if failing.len() == group.len() => Some(Failing::Function(first)),
            Some(_) => Some(Failing::Cases(failing)),
        }
    }

    /// Each place to report, with the label of what is reported.
    pub(crate) fn sites(&self) -> Vec<(&'t TestItem, &'t str)> {
        match self {
            Failing::Function(test) => vec![(*test, test_label(test))],
            Failing::Cases(cases) => cases.iter().map(|t| (*t, t.id.as_str())).collect(),
        }
    }
}
