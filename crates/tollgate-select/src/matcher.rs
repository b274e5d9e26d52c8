//! Evaluating marker expressions with aliases followed.
//!
//! pytest itself knows nothing of aliases, but tollgate's taxonomy says
//! `premerge` *is* `pre_merge`; selection must agree with the taxonomy or a
//! test written with an old spelling would silently drop out of every job.

use std::collections::HashMap;

use tollgate_config::{CanonicalNames, Taxonomy};
use tollgate_inventory::TestItem;
use tollgate_markexpr::{KwargValue, MarkMatcher};

/// Every spelling of every marker, hashed once per config.
#[derive(Debug, Default)]
pub(crate) struct Spellings<'c> {
    /// Alias → canonical marker (chains already followed), asked for every
    /// term of every expression on every test.
    canonical: CanonicalNames<'c>,
    /// Canonical marker → its aliases.
    aliases: HashMap<&'c str, Vec<&'c str>, foldhash::fast::RandomState>,
}

impl<'c> Spellings<'c> {
    pub(crate) fn new(taxonomy: &'c Taxonomy) -> Self {
        let mut aliases: HashMap<&'c str, Vec<&'c str>, foldhash::fast::RandomState> =
            HashMap::default();
        // In document order (not the hash map's).
        for (alias, _) in taxonomy.aliases.iter() {
            if let Some(target) = taxonomy.resolve_alias(alias) {
                aliases.entry(target).or_default().push(alias);
            }
        }
        Spellings {
            canonical: taxonomy.canonical_names(),
            aliases,
        }
    }

    /// `name` itself, or the marker it is an alias of.
    pub(crate) fn canonical<'a>(&'a self, name: &'a str) -> &'a str {
        self.canonical.of(name)
    }

    /// The aliases of the canonical marker `name`.
    pub(crate) fn aliases_of(&self, name: &str) -> &[&'c str] {
        self.aliases.get(name).map_or(&[], Vec::as_slice)
    }
}

/// A test seen through the taxonomy: a term matches if the test carries the
/// term's marker under any of its spellings (with the kwargs pytest would
/// compare).
pub(crate) struct AliasAwareMatcher<'a, 'c> {
    spellings: &'a Spellings<'c>,
    test: &'a TestItem,
}

impl<'a, 'c> AliasAwareMatcher<'a, 'c> {
    pub(crate) fn new(spellings: &'a Spellings<'c>, test: &'a TestItem) -> Self {
        AliasAwareMatcher { spellings, test }
    }
}

impl MarkMatcher for AliasAwareMatcher<'_, '_> {
    fn matches(&self, name: &str, kwargs: &[(String, KwargValue)]) -> bool {
        let canonical = self.spellings.canonical(name);
        self.test.matches(canonical, kwargs)
            || self
                .spellings
                .aliases_of(canonical)
                .iter()
                .any(|alias| self.test.matches(alias, kwargs))
    }
}
