//! Questions asked of the taxonomy: is this a marker, what does this alias
//! mean, which stages does a pipeline inherit.

use std::collections::HashMap;

use crate::schema::{Category, MarkerDef, Taxonomy};

/// Aliases may chain (`a → b → c`); a chain longer than this is a cycle the
/// validator would have rejected, so lookups stop rather than loop.
const MAX_ALIAS_CHAIN: usize = 32;

impl Taxonomy {
    /// The marker definition and the name of its first category.
    pub fn marker(&self, name: &str) -> Option<(&str, &MarkerDef)> {
        self.categories
            .iter()
            .find_map(|(cat, c)| c.markers.get(name).map(|m| (cat, m)))
    }

    pub fn is_marker(&self, name: &str) -> bool {
        self.marker(name).is_some()
    }

    /// Names of every category the marker belongs to, in file order.
    pub fn categories_of(&self, name: &str) -> Vec<&str> {
        self.categories
            .iter()
            .filter(|(_, c)| c.markers.contains_key(name))
            .map(|(cat, _)| cat)
            .collect()
    }

    /// The canonical marker an alias stands for, following alias chains;
    /// `None` when `name` is not an alias (or the chain is broken).
    pub fn resolve_alias(&self, name: &str) -> Option<&str> {
        let mut current = self.aliases.get(name)?.as_str();
        for _ in 0..MAX_ALIAS_CHAIN {
            match self.aliases.get(current) {
                Some(next) => current = next.as_str(),
                None => return Some(current),
            }
        }
        None
    }

    /// `name` itself, or what it is an alias of.
    pub fn canonical<'a>(&'a self, name: &'a str) -> &'a str {
        self.resolve_alias(name).unwrap_or(name)
    }

    /// [`Taxonomy::canonical`] for callers that ask it of every marker of
    /// every test: every alias resolved once and hashed (`canonical` scans
    /// the alias list).
    pub fn canonical_names(&self) -> CanonicalNames<'_> {
        CanonicalNames(
            self.aliases
                .iter()
                .filter_map(|(alias, _)| Some((alias, self.resolve_alias(alias)?)))
                .collect(),
        )
    }

    /// Markers in taxonomy order, each with its category, deduplicated (a
    /// marker listed in two categories appears once, under the first).
    pub fn all_markers(&self) -> Vec<(&str, &str, &MarkerDef)> {
        let mut out: Vec<(&str, &str, &MarkerDef)> = Vec::new();
        for (cat, c) in self.categories.iter() {
            for (name, def) in c.markers.iter() {
                if !out.iter().any(|(n, _, _)| *n == name) {
                    out.push((name, cat, def));
                }
            }
        }
        out
    }

    /// The ordered category (the lifecycle), if any. Validation guarantees
    /// there is at most one.
    pub fn lifecycle(&self) -> Option<(&str, &Category)> {
        self.categories.iter().find(|(_, c)| c.ordered)
    }

    /// The lifecycle stages a pipeline running `stage` selects: `stage` and
    /// every earlier one (seed 003: "use the marker for the earliest pipeline
    /// stage where the test must run"). `None` if `stage` is not a lifecycle
    /// marker.
    pub fn stages_up_to(&self, stage: &str) -> Option<Vec<&str>> {
        let (_, lifecycle) = self.lifecycle()?;
        let index = lifecycle.markers.position(self.canonical(stage))?;
        Some(lifecycle.markers.keys().take(index + 1).collect())
    }

    /// Position of a lifecycle marker in the stage order.
    pub fn stage_index(&self, stage: &str) -> Option<usize> {
        self.lifecycle()?.1.markers.position(self.canonical(stage))
    }

    /// Closest marker or alias name, for "did you mean" hints.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let candidates = self
            .all_markers()
            .into_iter()
            .map(|(n, _, _)| n)
            .chain(self.aliases.keys());
        crate::suggest::closest(name, candidates)
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::Config;

    fn taxonomy(src: &str) -> crate::schema::Taxonomy {
        toml::from_str::<Config>(src).unwrap().taxonomy
    }

    const SRC: &str = r#"
[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_commit = "a", pre_merge = "b", post_merge = "c", nightly = "d" }

[taxonomy.categories.hardware]
exclusive = true
markers = { gpu_0 = "cpu", gpu_2 = { description = "two", gpus = 2 } }

[taxonomy.aliases]
premerge = "pre_merge"
gpus_needed_2 = "two_gpus"
two_gpus = "gpu_2"
"#;

    #[test]
    fn aliases_resolve_through_chains() {
        let t = taxonomy(SRC);
        assert_eq!(t.resolve_alias("premerge"), Some("pre_merge"));
        assert_eq!(t.resolve_alias("gpus_needed_2"), Some("gpu_2"));
        assert_eq!(t.resolve_alias("gpu_2"), None);
        assert_eq!(t.canonical("gpu_0"), "gpu_0");
    }

    #[test]
    fn lifecycle_inheritance_follows_written_order() {
        let t = taxonomy(SRC);
        assert_eq!(
            t.stages_up_to("post_merge"),
            Some(vec!["pre_commit", "pre_merge", "post_merge"])
        );
        assert_eq!(
            t.stages_up_to("premerge"),
            Some(vec!["pre_commit", "pre_merge"])
        );
        assert_eq!(t.stages_up_to("gpu_0"), None);
        assert_eq!(t.stage_index("nightly"), Some(3));
    }

    #[test]
    fn marker_lookup_and_suggestions() {
        let t = taxonomy(SRC);
        let (cat, def) = t.marker("gpu_2").unwrap();
        assert_eq!(cat, "hardware");
        assert_eq!(def.gpus, Some(2));
        assert_eq!(t.suggest("gpu2"), Some("gpu_2"));
        assert_eq!(t.suggest("nigthly"), Some("nightly"));
        assert_eq!(t.suggest("completely_different"), None);
    }
}

/// Every alias of a taxonomy → its canonical marker (see
/// [`Taxonomy::canonical_names`]). Hashed with foldhash: the keys are the
/// config's own marker names, never chosen by an adversary.
#[derive(Debug, Clone, Default)]
pub struct CanonicalNames<'a>(HashMap<&'a str, &'a str, foldhash::fast::RandomState>);

impl<'a> CanonicalNames<'a> {
    /// `name` itself, or the marker it is an alias of.
    pub fn of<'n>(&self, name: &'n str) -> &'n str
    where
        'a: 'n,
    {
        self.0.get(name).copied().unwrap_or(name)
    }
}
