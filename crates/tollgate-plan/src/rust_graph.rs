//! The Cargo workspace dependency graph, for change awareness: a change in a
//! crate reaches the tests of that crate and of every crate that depends on
//! it, directly or transitively (normal, dev and build dependencies alike:
//! any of them can make a test fail).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use tollgate_discover_rust::workspace;

/// Packages with their directories and who depends on whom.
#[derive(Debug, Clone, Default)]
pub struct RustGraph {
    /// Package name → its directory relative to the project root (`""` for a
    /// package at the root).
    dirs: BTreeMap<String, String>,
    /// Package name → packages that depend on it.
    dependents: BTreeMap<String, BTreeSet<String>>,
}

impl RustGraph {
    /// Reads the workspace manifests below `root` (no `cargo` invocation).
    pub fn scan(root: &Path) -> RustGraph {
        let root = workspace::normalize(root);
        let discovery = workspace::discover(std::slice::from_ref(&root));
        let mut packages = Vec::new();
        let mut dir_to_name: BTreeMap<std::path::PathBuf, String> = BTreeMap::new();
        for ws in &discovery.workspaces {
            for member in &ws.members {
                dir_to_name.insert(
                    workspace::normalize(&member.dir),
                    member.package.name.clone(),
                );
            }
        }
        let mut edges = Vec::new();
        for ws in &discovery.workspaces {
            for member in &ws.members {
                // A member outside the project (`members = ["../x"]`) holds
                // no file a changed-files list can name.
                if let Ok(rel) = workspace::normalize(&member.dir).strip_prefix(&root) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    packages.push((member.package.name.clone(), rel));
                }
                for (_, dir) in ws.dependencies_of(member) {
                    if let Some(dep) = dir.and_then(|d| dir_to_name.get(&d)) {
                        edges.push((member.package.name.clone(), dep.clone()));
                    }
                }
            }
        }
        RustGraph::new(packages, edges)
    }

    /// `packages`: `(name, dir relative to the root)`; `edges`:
    /// `(dependent, dependency)`.
    pub fn new(packages: Vec<(String, String)>, edges: Vec<(String, String)>) -> RustGraph {
        let mut dependents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            if from != to {
                dependents.entry(to).or_default().insert(from);
            }
        }
        RustGraph {
            dirs: packages.into_iter().collect(),
            dependents,
        }
    }

    /// The package whose directory holds `path` (the innermost one, for
    /// nested packages).
    pub fn package_of(&self, path: &str) -> Option<&str> {
        self.dirs
            .iter()
            .filter(|(_, dir)| {
                dir.is_empty() || path == dir.as_str() || path.starts_with(&format!("{dir}/"))
            })
            .max_by_key(|(_, dir)| dir.len())
            .map(|(name, _)| name.as_str())
    }

    /// `changed` and every package depending on one of them, each with the
    /// changed package that reached it.
    pub fn affected(&self, changed: &BTreeSet<&str>) -> BTreeMap<String, String> {
        let mut reached: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = VecDeque::new();
        for package in changed {
            reached.insert(package.to_string(), package.to_string());
            queue.push_back((package.to_string(), package.to_string()));
        }
        while let Some((package, origin)) = queue.pop_front() {
            for dependent in self.dependents.get(&package).into_iter().flatten() {
                if !reached.contains_key(dependent) {
                    reached.insert(dependent.clone(), origin.clone());
                    queue.push_back((dependent.clone(), origin.clone()));
                }
            }
        }
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> RustGraph {
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        RustGraph::new(
            vec![
                s("runtime", "lib/runtime"),
                s("llm", "lib/llm"),
                s("kvbm", "lib/kvbm"),
                s("cli", "lib/llm/cli"),
            ],
            vec![s("llm", "runtime"), s("kvbm", "llm"), s("cli", "llm")],
        )
    }

    #[test]
    fn files_belong_to_the_innermost_package() {
        let g = graph();
        assert_eq!(g.package_of("lib/llm/src/lib.rs"), Some("llm"));
        assert_eq!(g.package_of("lib/llm/cli/src/main.rs"), Some("cli"));
        assert_eq!(g.package_of("lib/llm/Cargo.toml"), Some("llm"));
        assert_eq!(g.package_of("lib/llmx/src/lib.rs"), None);
        assert_eq!(g.package_of("README.md"), None);
    }

    #[test]
    fn changes_reach_reverse_dependencies_transitively() {
        let g = graph();
        let reached = g.affected(&BTreeSet::from(["runtime"]));
        assert_eq!(
            reached.keys().collect::<Vec<_>>(),
            ["cli", "kvbm", "llm", "runtime"]
        );
        let reached = g.affected(&BTreeSet::from(["kvbm"]));
        assert_eq!(reached.keys().collect::<Vec<_>>(), ["kvbm"]);
    }

    #[test]
    fn scans_the_example_workspace() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/monorepo");
        let g = RustGraph::scan(&root);
        assert_eq!(g.package_of("lib/kvbm/src/pool.rs"), Some("dynamo-kvbm"));
        assert_eq!(
            g.package_of("lib/llm/src/kv_router/mod.rs"),
            Some("dynamo-llm")
        );
        // The example's crates do not depend on each other.
        let reached = g.affected(&BTreeSet::from(["dynamo-runtime"]));
        assert_eq!(reached.keys().collect::<Vec<_>>(), ["dynamo-runtime"]);
    }
}
