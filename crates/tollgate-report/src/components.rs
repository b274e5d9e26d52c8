//! Test → component → owner, from `[components]` of tollgate.toml: the file
//! part of a test id against the component's path globs, else the first
//! `::` segment against its packages (Rust ids start with the crate).
//!
//! Owners of a test come from `[owners]` through `tollgate_owners::Resolver`
//! when one is attached ([`Components::with_owners`]): the component's (or
//! framework's) owner, else CODEOWNERS on the test's file, else the
//! `[owners] fallback`. Without one, the component's `owner`.

use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use tollgate_owners::Resolver;

/// One component as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentDef {
    pub name: String,
    pub paths: Vec<String>,
    pub packages: Vec<String>,
    pub owner: Option<String>,
    pub critical: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("component `{component}`: invalid path glob {glob:?}: {source}")]
pub struct ComponentError {
    pub component: String,
    pub glob: String,
    #[source]
    pub source: globset::Error,
}

#[derive(Clone, Default)]
pub struct Components {
    defs: Vec<(ComponentDef, GlobSet)>,
    owners: Option<Arc<Resolver>>,
}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Components")
            .field(
                "defs",
                &self.defs.iter().map(|(d, _)| d).collect::<Vec<_>>(),
            )
            .field("owners", &self.owners.is_some())
            .finish()
    }
}

impl Components {
    pub fn new(defs: Vec<ComponentDef>) -> Result<Components, ComponentError> {
        let mut out = Vec::with_capacity(defs.len());
        for def in defs {
            let mut builder = GlobSetBuilder::new();
            for glob in &def.paths {
                let g = Glob::new(glob).map_err(|source| ComponentError {
                    component: def.name.clone(),
                    glob: glob.clone(),
                    source,
                })?;
                builder.add(g);
            }
            let set = builder.build().map_err(|source| ComponentError {
                component: def.name.clone(),
                glob: def.paths.join(", "),
                source,
            })?;
            out.push((def, set));
        }
        Ok(Components {
            defs: out,
            owners: None,
        })
    }

    /// Attributes owners through `[owners]` (CODEOWNERS, fallback) as well.
    pub fn with_owners(mut self, resolver: Resolver) -> Components {
        self.owners = Some(Arc::new(resolver));
        self
    }

    /// The owners of a test (comma-separated), given its component: the
    /// component's owner, else (with `[owners]` attached) CODEOWNERS on the
    /// test's file, else the fallback owner.
    pub fn owner_of_test(&self, test_id: &str, component: Option<&str>) -> Option<String> {
        if let Some(owner) = component.and_then(|c| self.owner_of(c)) {
            return Some(owner.to_string());
        }
        let resolver = self.owners.as_ref()?;
        if let Some(o) = component.and_then(|c| resolver.for_component(c)) {
            return Some(o.owners.join(", "));
        }
        let file = test_id.split("::").next().unwrap_or(test_id);
        resolver
            .for_path(file)
            .filter(|o| !o.owners.is_empty())
            .map(|o| o.owners.join(", "))
    }

    pub fn component_of(&self, test_id: &str) -> Option<&str> {
        let file = test_id.split("::").next().unwrap_or(test_id);
        // Rust ids as nextest prints them: `crate::binary test::path`.
        let package = file.split([' ', '$']).next().unwrap_or(file);
        self.defs
            .iter()
            .find(|(def, globs)| globs.is_match(file) || def.packages.iter().any(|p| p == package))
            .map(|(def, _)| def.name.as_str())
    }

    /// The owner of a component: `[components.X] owner`.
    pub fn owner_of(&self, component: &str) -> Option<&str> {
        self.defs
            .iter()
            .find(|(def, _)| def.name == component)
            .and_then(|(def, _)| def.owner.as_deref())
    }

    pub fn is_critical(&self, component: &str) -> bool {
        self.defs
            .iter()
            .any(|(def, _)| def.name == component && def.critical)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|(def, _)| def.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_then_packages() {
        let c = Components::new(vec![
            ComponentDef {
                name: "router".into(),
                paths: vec!["tests/router/**".into()],
                owner: Some("@net".into()),
                ..ComponentDef::default()
            },
            ComponentDef {
                name: "kv".into(),
                packages: vec!["kvbm".into()],
                critical: true,
                ..ComponentDef::default()
            },
        ])
        .expect("valid globs");
        assert_eq!(
            c.component_of("tests/router/test_a.py::test_x"),
            Some("router")
        );
        assert_eq!(c.component_of("kvbm::tests::it"), Some("kv"));
        assert_eq!(c.component_of("other.py::t"), None);
        assert_eq!(c.owner_of("router"), Some("@net"));
        assert!(c.is_critical("kv"));
        assert!(!c.is_critical("router"));
    }

    #[test]
    fn bad_glob_names_the_component() {
        let err = Components::new(vec![ComponentDef {
            name: "x".into(),
            paths: vec!["a/[".into()],
            ..ComponentDef::default()
        }])
        .expect_err("unclosed class");
        assert!(err.to_string().contains("component `x`"), "{err}");
    }
}
