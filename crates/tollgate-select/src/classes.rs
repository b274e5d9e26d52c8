//! Tests that selection cannot tell apart, grouped so that each group is
//! judged once.
//!
//! A large tree has tens of thousands of tests but only a few hundred
//! distinct combinations of what selection reads of a test (its language,
//! its markers with their arguments, and for Rust the package, required
//! features and `#[ignore]`). A pipeline with fifteen test jobs asked the
//! selector about every test for every job — almost a million expression
//! evaluations on the 54,000-item benchmark corpus, a quarter of `plan`'s
//! time. Grouped, every job judges one representative per class and each
//! test takes its class's answer.
//!
//! The key is exactly what [`crate::Selector`]'s verdicts and the planner's
//! framework lookup read of a test, and nothing less: a field read there
//! must be part of [`SelectionFacts`]. Two tests of one class get the same
//! verdict from every job by construction; `classes_agree_with_direct_verdicts`
//! checks it on an inventory that varies every field.
//!
//! Markers that nothing reads are left out of the key by the caller
//! ([`MarkerUse`], from [`crate::Selector::marker_relevance`]): a `timeout`
//! or `parametrize` mark that no expression, stage, runner or framework
//! names cannot change a verdict, and counting its keyword arguments split
//! the benchmark corpus into 16,000 classes where 2,411 say as much.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use tollgate_inventory::{MarkValue, Marker, TestItem};

/// The tests of an inventory grouped by [`SelectionFacts`].
#[derive(Debug, Clone, Default)]
pub struct SelectionClasses {
    /// Class of each test, by inventory index.
    class_of: Vec<u32>,
    /// One test (inventory index) per class, in order of first appearance.
    representatives: Vec<usize>,
}

impl SelectionClasses {
    /// Groups `tests` by their language, their markers as `use_of` says
    /// (by name, or by name and keyword arguments; as a set) and their Rust
    /// selection facts.
    pub fn new(tests: &[TestItem], use_of: impl Fn(&Marker) -> MarkerUse) -> Self {
        // A test's facts are built in one reused buffer, kept only when they
        // start a class (a few thousand), not once per test.
        let mut index: HashMap<SelectionFacts<'_>, u32, foldhash::fast::RandomState> =
            HashMap::default();
        let mut classes = SelectionClasses {
            class_of: Vec::with_capacity(tests.len()),
            representatives: Vec::new(),
        };
        let mut buffer = Vec::new();
        for (i, test) in tests.iter().enumerate() {
            let facts = SelectionFacts::of(test, &use_of, std::mem::take(&mut buffer));
            let class = match index.get(&facts) {
                Some(&class) => {
                    buffer = facts.markers;
                    class
                }
                None => {
                    let class = u32::try_from(classes.representatives.len()).unwrap_or(u32::MAX);
                    index.insert(facts, class);
                    classes.representatives.push(i);
                    class
                }
            };
            classes.class_of.push(class);
        }
        classes
    }

    /// How many classes there are.
    pub fn len(&self) -> usize {
        self.representatives.len()
    }

    pub fn is_empty(&self) -> bool {
        self.representatives.is_empty()
    }

    /// The class of the test at inventory index `test`.
    pub fn class_of(&self, test: usize) -> Option<usize> {
        self.class_of.get(test).map(|&c| c as usize)
    }

    /// One test (inventory index) per class; class `k` is represented by
    /// `representatives()[k]`.
    pub fn representatives(&self) -> &[usize] {
        &self.representatives
    }
}

/// How much of a marker selection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerUse {
    /// Nothing: no expression, stage, runner or framework names it.
    Ignored,
    /// Its name only (no `-m` term compares its keyword arguments).
    Name,
    /// Its name and keyword arguments.
    NameAndKwargs,
}

/// No keyword arguments, for markers counted by name only.
static NO_KWARGS: BTreeMap<String, MarkValue> = BTreeMap::new();

/// What selection reads of a test: equal facts, equal verdicts.
///
/// Markers count by name and keyword arguments only, as a set: a `-m`
/// term matches a name and compares keyword arguments (never positional
/// ones), and lifecycle, hardware and framework lookups go by name. The
/// positional arguments of `parametrize` or `timeout` would otherwise give
/// almost every test a class of its own.
struct SelectionFacts<'t> {
    test: &'t TestItem,
    /// The read markers' names and keyword arguments, sorted by name
    /// (ties in inventory order), repeats dropped.
    markers: Vec<(&'t str, &'t BTreeMap<String, MarkValue>)>,
}

impl<'t> SelectionFacts<'t> {
    /// The facts of `test`, built in `buffer` (emptied first).
    fn of(
        test: &'t TestItem,
        use_of: &impl Fn(&Marker) -> MarkerUse,
        mut buffer: Vec<(&'t str, &'t BTreeMap<String, MarkValue>)>,
    ) -> Self {
        buffer.clear();
        let mut markers = buffer;
        markers.extend(test.markers.iter().filter_map(|m| match use_of(m) {
            MarkerUse::Ignored => None,
            MarkerUse::Name => Some((m.name.as_str(), &NO_KWARGS)),
            MarkerUse::NameAndKwargs => Some((m.name.as_str(), &m.kwargs)),
        }));
        markers.sort_by(|a, b| a.0.cmp(b.0));
        markers.dedup();
        SelectionFacts { test, markers }
    }
}

impl Hash for SelectionFacts<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.test.language.hash(state);
        for (name, kwargs) in &self.markers {
            name.hash(state);
            for (k, v) in kwargs.iter() {
                k.hash(state);
                hash_value(v, state);
            }
        }
        if let Some(facts) = &self.test.rust {
            facts.package.hash(state);
            facts.required_features.hash(state);
            facts.ignored.is_some().hash(state);
        }
    }
}

impl PartialEq for SelectionFacts<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.test, other.test);
        a.language == b.language
            && self.markers == other.markers
            && match (&a.rust, &b.rust) {
                (None, None) => true,
                (Some(x), Some(y)) => {
                    x.package == y.package
                        && x.required_features == y.required_features
                        && x.default_enabled == y.default_enabled
                        && x.ignored.is_some() == y.ignored.is_some()
                }
                _ => false,
            }
    }
}

/// A value with a NaN is not equal to itself: such a test gets a class of
/// its own, which is still correct.
impl Eq for SelectionFacts<'_> {}

/// Hashes a value as `==` compares it. Floats hash by their bits: `0.0`
/// and `-0.0` are equal but hash apart, which only costs a second class for
/// the same facts (never one class for different facts).
fn hash_value<H: Hasher>(v: &MarkValue, state: &mut H) {
    std::mem::discriminant(v).hash(state);
    match v {
        MarkValue::Str(s) => s.hash(state),
        MarkValue::Int(i) => i.hash(state),
        MarkValue::Float(f) => f.to_bits().hash(state),
        MarkValue::Bool(b) => b.hash(state),
        MarkValue::None => {}
        MarkValue::List(items) => {
            items.len().hash(state);
            for item in items {
                hash_value(item, state);
            }
        }
        MarkValue::Expr { expr } => expr.hash(state),
    }
}
