//! Which features each workspace member is compiled with by
//! `cargo nextest list --workspace [--features ..] [--all-features] [--no-default-features]`.
//!
//! Cargo unifies features across one build: a member gets the features the
//! command line asks for *and* every feature another member enables on it
//! through a dependency (normal, dev or build: `cargo test --workspace` builds
//! them all). So features are resolved for the whole workspace at once, as a
//! fixpoint over `(member, feature)` pairs. Only members matter: a feature of
//! a crates.io dependency never decides whether a member's test exists.

use std::collections::{BTreeMap, BTreeSet};

use crate::cfg::{Cfg, CfgContext};
use crate::manifest::{Dependency, Package};
use crate::FeatureSelection;

/// A member and its dependencies, with each dependency that is itself a
/// member resolved to that member's index.
pub struct MemberDeps<'a> {
    pub package: &'a Package,
    /// Dependencies after `workspace = true` inheritance, paired with the
    /// index of the member they point at (if any).
    pub dependencies: Vec<(Dependency, Option<usize>)>,
}

/// Resolves the enabled features of every member (same order as `members`).
///
/// `cli_member`: with feature resolver 1, `--features` and
/// `--no-default-features` apply only to the package in the current
/// directory (the root package); every other member gets its defaults. Pass
/// that member's index then, `None` to apply the flags to every member.
pub fn resolve(
    members: &[MemberDeps<'_>],
    selection: &FeatureSelection,
    cli_member: Option<usize>,
) -> Vec<BTreeSet<String>> {
    resolve_selected(members, selection, cli_member, &vec![true; members.len()])
}

/// [`resolve`] for a build of the `selected` members only (`-p`, a
/// member's manifest path): the command line's features apply to them, and
/// other members get features only through dependencies of the selected.
pub fn resolve_selected(
    members: &[MemberDeps<'_>],
    selection: &FeatureSelection,
    cli_member: Option<usize>,
    selected: &[bool],
) -> Vec<BTreeSet<String>> {
    // Members built at all: the selected and what they depend on.
    let mut built: Vec<bool> = (0..members.len())
        .map(|i| selected.get(i).copied().unwrap_or(false))
        .collect();
    let mut queue: Vec<usize> = (0..members.len()).filter(|&i| built[i]).collect();
    while let Some(index) = queue.pop() {
        for (_, target) in &members[index].dependencies {
            if let Some(t) = *target {
                if !built[t] {
                    built[t] = true;
                    queue.push(t);
                }
            }
        }
    }
    let mut resolver = Resolver {
        members,
        enabled: vec![BTreeSet::new(); members.len()],
        enabled_deps: vec![BTreeSet::new(); members.len()],
        weak: vec![BTreeMap::new(); members.len()],
    };
    for (index, member) in members.iter().enumerate() {
        if !built[index] {
            continue;
        }
        for (dep, target) in &member.dependencies {
            if !dep.optional {
                if let Some(target) = target {
                    resolver.enable_through(*target, dep);
                }
            }
        }
        if !selected.get(index).copied().unwrap_or(false) {
            continue;
        }
        if selection.all_features {
            let features: Vec<String> = member.package.features.keys().cloned().collect();
            for f in features {
                resolver.enable(index, &f);
            }
            let optional: Vec<String> = member
                .dependencies
                .iter()
                .filter(|(d, _)| d.optional)
                .map(|(d, _)| d.key.clone())
                .collect();
            for key in optional {
                resolver.enable_dep(index, &key);
            }
            continue;
        }
        if cli_member.is_some_and(|cli| cli != index) {
            resolver.enable(index, "default");
            continue;
        }
        if !selection.no_default_features {
            resolver.enable(index, "default");
        }
        for requested in selection.features.iter().flat_map(|f| split_list(f)) {
            match requested.split_once('/') {
                Some((pkg, feature)) if pkg == member.package.name => {
                    resolver.enable(index, feature)
                }
                // `dep/feature` of one of this member's dependencies.
                Some((dep, _)) if resolver.has_dependency(index, dep) => {
                    resolver.apply_value(index, requested)
                }
                Some(_) => {}
                None => resolver.enable(index, requested),
            }
        }
    }
    resolver.enabled
}

/// `--features "a,b c"`: cargo accepts commas and spaces.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ']).filter(|s| !s.is_empty())
}

struct Resolver<'a> {
    members: &'a [MemberDeps<'a>],
    enabled: Vec<BTreeSet<String>>,
    /// Optional dependencies switched on, by key.
    enabled_deps: Vec<BTreeSet<String>>,
    /// `dep?/feature` waiting for `dep` to be switched on.
    weak: Vec<BTreeMap<String, Vec<String>>>,
}

impl Resolver<'_> {
    fn enable(&mut self, member: usize, feature: &str) {
        let Some(m) = self.members.get(member) else {
            return;
        };
        let declared = m.package.features.get(feature);
        let implicit = declared.is_none() && has_implicit_feature(m, feature);
        if declared.is_none() && !implicit {
            return;
        }
        if !self.enabled[member].insert(feature.to_string()) {
            return;
        }
        if implicit {
            self.enable_dep(member, feature);
        }
        for value in declared.cloned().unwrap_or_default() {
            self.apply_value(member, &value);
        }
    }

    fn apply_value(&mut self, member: usize, value: &str) {
        if let Some(dep) = value.strip_prefix("dep:") {
            self.enable_dep(member, dep);
            return;
        }
        let Some((dep, feature)) = value.split_once('/') else {
            self.enable(member, value);
            return;
        };
        let (dep, weak) = match dep.strip_suffix('?') {
            Some(d) => (d, true),
            None => (dep, false),
        };
        if weak && !self.enabled_deps[member].contains(dep) && self.is_optional(member, dep) {
            self.weak[member]
                .entry(dep.to_string())
                .or_default()
                .push(feature.to_string());
            return;
        }
        if !weak {
            self.enable_dep(member, dep);
        }
        for target in self.targets_of(member, dep) {
            self.enable(target, feature);
        }
    }

    fn enable_dep(&mut self, member: usize, key: &str) {
        let Some(m) = self.members.get(member) else {
            return;
        };
        if !m
            .dependencies
            .iter()
            .any(|(d, _)| d.key == key && d.optional)
        {
            return;
        }
        if !self.enabled_deps[member].insert(key.to_string()) {
            return;
        }
        if has_implicit_feature(m, key) {
            self.enabled[member].insert(key.to_string());
        }
        let deps: Vec<(Dependency, usize)> = m
            .dependencies
            .iter()
            .filter(|(d, _)| d.key == key)
            .filter_map(|(d, t)| t.map(|t| (d.clone(), t)))
            .collect();
        for (dep, target) in deps {
            self.enable_through(target, &dep);
        }
        if let Some(pending) = self.weak[member].remove(key) {
            for target in self.targets_of(member, key) {
                for feature in &pending {
                    self.enable(target, feature);
                }
            }
        }
    }

    /// What a dependency declaration asks of the member it points at.
    fn enable_through(&mut self, target: usize, dep: &Dependency) {
        if dep.default_features != Some(false) {
            self.enable(target, "default");
        }
        for feature in &dep.features {
            self.enable(target, feature);
        }
    }

    fn has_dependency(&self, member: usize, key: &str) -> bool {
        self.members[member]
            .dependencies
            .iter()
            .any(|(d, _)| d.key == key.trim_end_matches('?'))
    }

    fn is_optional(&self, member: usize, key: &str) -> bool {
        self.members[member]
            .dependencies
            .iter()
            .any(|(d, _)| d.key == key && d.optional)
    }

    fn targets_of(&self, member: usize, key: &str) -> Vec<usize> {
        self.members[member]
            .dependencies
            .iter()
            .filter(|(d, _)| d.key == key)
            .filter_map(|(_, t)| *t)
            .collect()
    }
}

/// An optional dependency is also a feature of the same name unless some
/// feature refers to it as `dep:name`.
fn has_implicit_feature(member: &MemberDeps<'_>, key: &str) -> bool {
    let dep_ref = format!("dep:{key}");
    member
        .dependencies
        .iter()
        .any(|(d, _)| d.key == key && d.optional)
        && !member
            .package
            .features
            .values()
            .flatten()
            .any(|v| *v == dep_ref)
}

/// Whether a `[target.X.dependencies]` table applies on
/// x86_64-unknown-linux-gnu.
pub fn target_applies(target: Option<&str>) -> bool {
    let Some(target) = target else {
        return true;
    };
    match target
        .strip_prefix("cfg(")
        .and_then(|t| t.strip_suffix(')'))
    {
        Some(predicate) => {
            let none = BTreeSet::new();
            Cfg::parse_str(predicate)
                .evaluate(&CfgContext {
                    features: &none,
                    test: false,
                    proc_macro: false,
                })
                .value
        }
        None => target == "x86_64-unknown-linux-gnu",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, features: &[(&str, &[&str])]) -> Package {
        Package {
            name: name.into(),
            features: features
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            ..Package::default()
        }
    }

    fn dep(key: &str, optional: bool, default: Option<bool>, features: &[&str]) -> Dependency {
        Dependency {
            key: key.into(),
            package: key.into(),
            optional,
            default_features: default,
            features: features.iter().map(|s| s.to_string()).collect(),
            ..Dependency::default()
        }
    }

    fn resolve_with(members: &[MemberDeps<'_>], sel: &FeatureSelection) -> Vec<BTreeSet<String>> {
        resolve(members, sel, None)
    }

    fn names(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn defaults_chains_and_no_default() {
        let a = package(
            "a",
            &[("default", &["fast"]), ("fast", &[]), ("slow", &["fast"])],
        );
        let members = [MemberDeps {
            package: &a,
            dependencies: vec![],
        }];
        let got = resolve(&members, &FeatureSelection::default(), None);
        assert_eq!(names(&got[0]), vec!["default", "fast"]);
        let sel = FeatureSelection {
            no_default_features: true,
            features: vec!["slow".into()],
            ..FeatureSelection::default()
        };
        assert_eq!(
            names(&resolve(&members, &sel, None)[0]),
            vec!["fast", "slow"]
        );
    }

    #[test]
    fn members_unify_features_through_dependencies() {
        let a = package("a", &[("default", &["fast"]), ("fast", &[]), ("gpu", &[])]);
        let b = package("b", &[("integration", &["a/gpu"])]);
        let members = [
            MemberDeps {
                package: &a,
                dependencies: vec![],
            },
            MemberDeps {
                package: &b,
                dependencies: vec![(dep("a", false, Some(false), &[]), Some(0))],
            },
        ];
        let sel = FeatureSelection {
            no_default_features: true,
            ..FeatureSelection::default()
        };
        assert!(resolve(&members, &sel, None)[0].is_empty());
        let sel = FeatureSelection {
            no_default_features: true,
            features: vec!["b/integration".into()],
            ..FeatureSelection::default()
        };
        assert_eq!(names(&resolve(&members, &sel, None)[0]), vec!["gpu"]);
    }

    #[test]
    fn optional_dependencies_dep_prefix_and_weak_features() {
        let a = package("a", &[("x", &[])]);
        let b = package(
            "b",
            &[
                ("rt", &["dep:a"]),
                ("weak", &["a?/x"]),
                ("strong", &["opt/y"]),
            ],
        );
        let members = [
            MemberDeps {
                package: &a,
                dependencies: vec![],
            },
            MemberDeps {
                package: &b,
                dependencies: vec![
                    (dep("a", true, None, &[]), Some(0)),
                    (dep("opt", true, None, &[]), None),
                ],
            },
        ];
        let sel = |f: &[&str]| FeatureSelection {
            features: f.iter().map(|s| s.to_string()).collect(),
            ..FeatureSelection::default()
        };
        // `dep:a` hides the implicit feature `a`; `opt` keeps its implicit one.
        let got = resolve_with(&members, &sel(&["strong"]));
        assert_eq!(names(&got[1]), vec!["opt", "strong"]);
        let got = resolve_with(&members, &sel(&["weak"]));
        assert!(got[0].is_empty());
        let got = resolve_with(&members, &sel(&["weak", "rt"]));
        assert_eq!(names(&got[0]), vec!["x"]);
    }

    #[test]
    fn resolver_1_applies_flags_to_the_current_package_only() {
        let a = package("a", &[("default", &["x"]), ("x", &[]), ("y", &[])]);
        let b = package("b", &[("default", &["x"]), ("x", &[]), ("y", &[])]);
        let members = [
            MemberDeps {
                package: &a,
                dependencies: vec![],
            },
            MemberDeps {
                package: &b,
                dependencies: vec![],
            },
        ];
        let sel = FeatureSelection {
            no_default_features: true,
            features: vec!["y".into()],
            ..FeatureSelection::default()
        };
        let got = resolve(&members, &sel, Some(0));
        assert_eq!(names(&got[0]), vec!["y"]);
        assert_eq!(names(&got[1]), vec!["default", "x"]);
    }

    #[test]
    fn target_tables() {
        assert!(target_applies(None));
        assert!(target_applies(Some("cfg(unix)")));
        assert!(!target_applies(Some("cfg(windows)")));
        assert!(target_applies(Some("x86_64-unknown-linux-gnu")));
        assert!(!target_applies(Some("aarch64-apple-darwin")));
    }
}
