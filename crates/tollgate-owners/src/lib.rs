//! Who owns a test, a path or a CI area, and why (SPEC §9, seed 004's PIC
//! tables).
//!
//! Pure: [`Resolver`] is built from the config and the CODEOWNERS text the
//! caller read; every answer carries the reason (`marker owner("x") at
//! tests/a.py:3`, `component kvbm by path lib/llm/src/block_manager/**`,
//! `CODEOWNERS:12 /lib/`, ...).

mod codeowners;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;
use tollgate_config::Config;
use tollgate_inventory::{MarkValue, TestItem};

pub use codeowners::{CodeMatch, CodeOwners, CodeOwnersError, Flavor};

/// The marker a test names its owner with: `@pytest.mark.owner("alice")`,
/// `// tollgate: markers(owner("alice"))`.
pub const DEFAULT_OWNER_MARKER: &str = "owner";

/// An answer: the owners and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ownership {
    pub owners: Vec<String>,
    /// The component or framework the subject belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    pub why: String,
}

/// What kind of thing owns a failure of a given class (seed 004's CI areas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CiArea {
    TestFail,
    InfraFail,
    DockerBuild,
    K8s,
    Cloud,
    Reporting,
    SecurityOsrb,
}

impl CiArea {
    /// The key under `[owners.ci_areas]`.
    pub fn key(self) -> &'static str {
        match self {
            CiArea::TestFail => "test_fail",
            CiArea::InfraFail => "infra_fail",
            CiArea::DockerBuild => "docker_build",
            CiArea::K8s => "k8s",
            CiArea::Cloud => "cloud",
            CiArea::Reporting => "reporting",
            CiArea::SecurityOsrb => "security_osrb",
        }
    }
}

struct Unit {
    kind: &'static str,
    name: String,
    marker: String,
    paths: GlobSet,
    path_text: Vec<String>,
    owner: Option<String>,
}

/// Ownership lookups for one project.
pub struct Resolver {
    owner_marker: String,
    units: Vec<Unit>,
    codeowners: Option<CodeOwners>,
    fallback: Option<String>,
    areas: Vec<(String, String)>,
}

/// A glob in `[components]`/`[frameworks]` that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("{kind} `{name}`: invalid path glob `{glob}`: {message}")]
pub struct ResolverError {
    pub kind: &'static str,
    pub name: String,
    pub glob: String,
    pub message: String,
}

impl Resolver {
    /// `codeowners`: the parsed `[owners] codeowners` file, if the project has one.
    pub fn new(config: &Config, codeowners: Option<CodeOwners>) -> Result<Resolver, ResolverError> {
        let mut units = Vec::new();
        // Components first: they are narrower than frameworks.
        for (name, c) in config.components.iter() {
            units.push(unit(
                "component",
                name,
                c.marker_or(name),
                &c.paths,
                c.owner.clone(),
            )?);
        }
        for (name, f) in config.frameworks.iter() {
            units.push(unit(
                "framework",
                name,
                f.marker_or(name),
                &f.paths,
                f.owner.clone(),
            )?);
        }
        Ok(Resolver {
            owner_marker: config
                .owners
                .marker
                .clone()
                .unwrap_or_else(|| DEFAULT_OWNER_MARKER.to_string()),
            units,
            codeowners,
            fallback: config.owners.fallback.clone(),
            areas: config
                .owners
                .ci_areas
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        })
    }

    /// The component (or framework) of a test: by its markers, else its path.
    pub fn component_of_test(&self, test: &TestItem) -> Option<(String, String)> {
        for u in &self.units {
            if let Some(m) = test.markers.iter().find(|m| m.name == u.marker) {
                return Some((
                    u.name.clone(),
                    format!(
                        "{} `{}` by marker `{}` at {}:{}",
                        u.kind, u.name, m.name, m.origin.file, m.origin.line
                    ),
                ));
            }
        }
        self.component_of_path(&test.file)
    }

    /// The component (or framework) whose path globs claim `path`.
    pub fn component_of_path(&self, path: &str) -> Option<(String, String)> {
        self.units.iter().find(|u| u.paths.is_match(path)).map(|u| {
            let glob = u
                .path_text
                .iter()
                .find(|g| Glob::new(g).is_ok_and(|g| g.compile_matcher().is_match(path)))
                .cloned()
                .unwrap_or_default();
            (
                u.name.clone(),
                format!("{} `{}` by path `{glob}`", u.kind, u.name),
            )
        })
    }

    fn unit_owner(&self, name: &str) -> Option<&str> {
        self.units
            .iter()
            .find(|u| u.name == name)
            .and_then(|u| u.owner.as_deref())
    }

    /// Who owns a test: its owner marker, else its component's or framework's
    /// owner (by marker, then path), else CODEOWNERS on its file, else the fallback.
    pub fn for_test(&self, test: &TestItem) -> Option<Ownership> {
        let component = self.component_of_test(test);
        if let Some(m) = test.markers.iter().find(|m| m.name == self.owner_marker) {
            let owners: Vec<String> = m
                .args
                .iter()
                .chain(m.kwargs.get("name"))
                .filter_map(|v| match v {
                    MarkValue::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            if !owners.is_empty() {
                return Some(Ownership {
                    owners,
                    component: component.map(|c| c.0),
                    why: format!(
                        "marker `{}` at {}:{}",
                        self.owner_marker, m.origin.file, m.origin.line
                    ),
                });
            }
        }
        if let Some((name, why)) = &component {
            if let Some(owner) = self.unit_owner(name) {
                return Some(Ownership {
                    owners: vec![owner.to_string()],
                    component: Some(name.clone()),
                    why: why.clone(),
                });
            }
        }
        self.codeowners_or_fallback(&test.file, component.map(|c| c.0))
    }

    /// Who owns a path: its component or framework, else CODEOWNERS, else the fallback.
    pub fn for_path(&self, path: &str) -> Option<Ownership> {
        let component = self.component_of_path(path);
        if let Some((name, why)) = &component {
            if let Some(owner) = self.unit_owner(name) {
                return Some(Ownership {
                    owners: vec![owner.to_string()],
                    component: Some(name.clone()),
                    why: why.clone(),
                });
            }
        }
        self.codeowners_or_fallback(path, component.map(|c| c.0))
    }

    /// The owner of a component or framework by name (`[components.X] owner`).
    pub fn for_component(&self, name: &str) -> Option<Ownership> {
        let u = self.units.iter().find(|u| u.name == name)?;
        u.owner.as_ref().map(|o| Ownership {
            owners: vec![o.clone()],
            component: Some(name.to_string()),
            why: format!("[{}s.{name}] owner", u.kind),
        })
    }

    /// The point of contact of a CI area, else the fallback.
    pub fn for_area(&self, area: CiArea) -> Option<Ownership> {
        let key = area.key();
        if let Some((_, who)) = self.areas.iter().find(|(k, _)| k == key) {
            return Some(Ownership {
                owners: vec![who.clone()],
                component: None,
                why: format!("CI area `{key}` ([owners.ci_areas])"),
            });
        }
        self.fallback.as_ref().map(|f| Ownership {
            owners: vec![f.clone()],
            component: None,
            why: format!("no owner for CI area `{key}`: [owners] fallback"),
        })
    }

    /// Components and frameworks that name no owner.
    pub fn unowned_units(&self) -> Vec<(&'static str, &str)> {
        self.units
            .iter()
            .filter(|u| u.owner.is_none())
            .map(|u| (u.kind, u.name.as_str()))
            .collect()
    }

    /// Whether a test has an owner other than the project-wide fallback.
    pub fn owns_test_explicitly(&self, test: &TestItem) -> bool {
        self.for_test(test)
            .is_some_and(|o| !o.why.starts_with("[owners] fallback"))
    }

    fn codeowners_or_fallback(&self, path: &str, component: Option<String>) -> Option<Ownership> {
        if let Some(m) = self.codeowners.as_ref().and_then(|c| c.owners_of(path)) {
            return Some(Ownership {
                owners: m.owners,
                component,
                why: m.rules.join(", "),
            });
        }
        self.fallback.as_ref().map(|f| Ownership {
            owners: vec![f.clone()],
            component,
            why: "[owners] fallback".to_string(),
        })
    }
}

fn unit(
    kind: &'static str,
    name: &str,
    marker: &str,
    paths: &[String],
    owner: Option<String>,
) -> Result<Unit, ResolverError> {
    let mut builder = GlobSetBuilder::new();
    for p in paths {
        let glob = Glob::new(p).map_err(|e| ResolverError {
            kind,
            name: name.to_string(),
            glob: p.clone(),
            message: e.kind().to_string(),
        })?;
        builder.add(glob);
    }
    let paths_set = builder.build().map_err(|e| ResolverError {
        kind,
        name: name.to_string(),
        glob: paths.join(", "),
        message: e.to_string(),
    })?;
    Ok(Unit {
        kind,
        name: name.to_string(),
        marker: marker.to_string(),
        paths: paths_set,
        path_text: paths.to_vec(),
        owner,
    })
}

#[cfg(test)]
mod tests;
