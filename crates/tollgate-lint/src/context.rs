//! Everything the rules look up, hashed once per run so that every rule is
//! linear in the number of tests and markers (the taxonomy's own maps are
//! small ordered lists, fine for one lookup but not for millions).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use globset::GlobSet;
use rayon::prelude::*;
use tollgate_config::markers::PYTEST_BUILTIN_MARKERS;
use tollgate_config::{Category, Config};
use tollgate_inventory::{Language, MarkSource, Marker, TestItem};

use crate::registrations::PytestMarkers;
use crate::QuarantineInput;

/// Marks `tollgate run` gives a meaning to: a per-test timeout in seconds
/// and pytest-rerunfailures' retries.
pub(crate) const RUNNER_MARKERS: &[&str] = &["timeout", "flaky"];

/// The taxonomy, the tests grouped by function, and pytest's registrations.
pub(crate) struct Context<'a> {
    pub config: &'a Config,
    pub tests: &'a [TestItem],
    pub pytest: Option<&'a PytestMarkers>,
    pub quarantine: Option<&'a QuarantineInput>,
    /// What discovery could not read or parse (set by [`crate::lint`]).
    pub diagnostics: &'a [tollgate_inventory::Diagnostic],
    /// Alias → canonical marker (chains followed).
    canonical: FastMap<&'a str, &'a str>,
    /// Canonical marker → bit mask of its categories (bit i: `categories[i]`).
    marker_categories: FastMap<&'a str, u64>,
    pub categories: Vec<CategoryInfo<'a>>,
    /// Bare names registered with pytest (`timeout(seconds)` → `timeout`).
    pub registered: FastMap<&'a str, ()>,
    /// pytest's built-in marks (`parametrize`, `skip`, ...), hashed: every
    /// parametrized test carries one, so a list scan per mark adds up.
    builtin: FastMap<&'static str, ()>,
    /// Indexes into `tests`, grouped by the function they come from, in
    /// inventory order.
    pub functions: Vec<Vec<usize>>,
    /// Per test (same index as `tests`): its markers resolved once.
    pub resolved: Vec<Resolved<'a>>,
}

/// A test's markers seen through the taxonomy, computed once per lint run
/// so that no rule hashes a marker name again.
pub(crate) struct Resolved<'a> {
    /// Distinct canonical names, in the order their first mark is attached,
    /// each with that first mark and its category mask.
    pub marks: Vec<(&'a str, &'a Marker, u64)>,
    /// Union of the category masks.
    pub categories: u64,
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
        quarantine: Option<&'a QuarantineInput>,
    ) -> Self {
        let taxonomy = &config.taxonomy;
        let canonical: FastMap<&str, &str> = taxonomy
            .aliases
            .keys()
            .filter_map(|alias| Some((alias, taxonomy.resolve_alias(alias)?)))
            .collect();
        let mut marker_categories: FastMap<&str, u64> = FastMap::default();
        let mut categories = Vec::new();
        // A mask has 64 bits; a taxonomy with more categories than that is
        // not a real one, and its extra categories are simply not checked.
        for (index, (name, category)) in taxonomy.categories.iter().enumerate().take(64) {
            for marker in category.markers.keys() {
                *marker_categories.entry(marker).or_default() |= 1 << index;
            }
            categories.push(CategoryInfo {
                name,
                category,
                applies_to: compile(&category.applies_to),
            });
        }
        let registered = pytest
            .map(|p| p.markers.iter().map(|m| (m.bare_name(), ())).collect())
            .unwrap_or_default();
        // The two per-test passes are independent: run them side by side.
        let (resolved, functions) = rayon::join(
            || {
                tests
                    .par_iter()
                    .map(|test| resolve(test, &canonical, &marker_categories))
                    .collect()
            },
            || group_by_function(tests),
        );
        Context {
            config,
            tests,
            pytest,
            quarantine,
            diagnostics: &[],
            canonical,
            marker_categories,
            categories,
            registered,
            // pytest's own marks, and the marks `tollgate run` reads
            // (`timeout(N)`, `flaky(reruns=N)`): never unknown to tollgate.
            builtin: PYTEST_BUILTIN_MARKERS
                .iter()
                .chain(RUNNER_MARKERS)
                .map(|&m| (m, ()))
                .collect(),
            functions,
            resolved,
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

    pub(crate) fn is_registered(&self, name: &str) -> bool {
        self.registered.contains_key(name)
    }

    /// Whether `name` is one of pytest's built-in marks.
    pub(crate) fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains_key(name)
    }
}

fn resolve<'a>(
    test: &'a TestItem,
    canonical: &FastMap<&'a str, &'a str>,
    marker_categories: &FastMap<&'a str, u64>,
) -> Resolved<'a> {
    let mut marks: Vec<(&str, &Marker, u64)> = Vec::with_capacity(test.markers.len());
    let mut categories = 0;
    for mark in &test.markers {
        let name = canonical
            .get(mark.name.as_str())
            .copied()
            .unwrap_or(&mark.name);
        if marks.iter().any(|(n, _, _)| *n == name) {
            continue;
        }
        let mask = marker_categories.get(name).copied().unwrap_or(0);
        categories |= mask;
        marks.push((name, mark, mask));
    }
    Resolved { marks, categories }
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

fn group_by_function(tests: &[TestItem]) -> Vec<Vec<usize>> {
    let mut index: FastMap<(&str, &str), usize> = FastMap::default();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut previous: Option<((&str, &str), usize)> = None;
    for (i, test) in tests.iter().enumerate() {
        let key = match test.language {
            Language::Python => ("", test.function.as_str()),
            Language::Rust => (test.file.as_str(), test.id.as_str()),
        };
        // The cases of a parametrized function come one after the other:
        // most tests join the group of the test before them, unhashed.
        if let Some((_, g)) = previous.filter(|(k, _)| *k == key) {
            groups[g].push(i);
            continue;
        }
        match index.get(&key) {
            Some(&g) => {
                groups[g].push(i);
                previous = Some((key, g));
            }
            None => {
                index.insert(key, groups.len());
                previous = Some((key, groups.len()));
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// Which tests of one function fail a check: all of them (report the
/// function once) or only some cases (report each case).
pub(crate) enum Failing {
    Function(usize),
    Cases(Vec<usize>),
}

impl Failing {
    /// `None` when no test of `group` fails `check` (called with indexes
    /// into [`Context::tests`]).
    pub(crate) fn of(group: &[usize], mut check: impl FnMut(usize) -> bool) -> Option<Self> {
        let failing: Vec<usize> = group.iter().copied().filter(|&i| check(i)).collect();
        match failing.first() {
            None => None,
            Some(&first) if failing.len() == group.len() => Some(Failing::Function(first)),
            Some(_) => Some(Failing::Cases(failing)),
        }
    }

    /// Each place to report: the test's index and the label of what is
    /// reported (the function, or the single case).
    pub(crate) fn sites<'t>(&self, tests: &'t [TestItem]) -> Vec<(usize, &'t str)> {
        match self {
            Failing::Function(i) => vec![(*i, test_label(&tests[*i]))],
            Failing::Cases(cases) => cases.iter().map(|&i| (i, tests[i].id.as_str())).collect(),
        }
    }
}

/// A `HashMap` with a word-at-a-time multiplicative hash (FxHash's): the
/// keys here are marker names and test ids, hashed hundreds of thousands of
/// times per run, where SipHash's collision resistance buys nothing (the
/// input is the user's own tree) and a byte-at-a-time hash is slow on long
/// node ids.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
}
