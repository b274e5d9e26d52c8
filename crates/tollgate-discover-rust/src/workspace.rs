//! Finding Cargo workspaces and their members, the way Cargo does.
//!
//! From a search path we go *up* to the workspace it belongs to (the nearest
//! `Cargo.toml` with `[workspace]` that lists it as a member, skipping roots
//! that `exclude` it, as Cargo does) and *down* to every other workspace root
//! or standalone package below it that is not a member of one already found
//! (nested separate workspaces), skipping `target/` and hidden directories and
//! not following symlinked directories (no loops).
//!
//! Members are those of `cargo … --workspace`: `members` globs minus
//! `exclude`, the root package, and path dependencies inside the root
//! directory. `default-members` only changes what a bare `cargo` command
//! selects, so it is ignored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use crate::manifest::{parse_manifest, Dependency, Manifest, Package};

/// A problem found while reading manifests or walking directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub line: u32,
    pub column: u32,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub members: Vec<Member>,
    /// Cargo's feature resolver version (1, 2 or 3).
    pub resolver: u8,
    /// Index of the root package in `members` (`None` for a virtual manifest).
    pub root_package: Option<usize>,
    pub dependencies: BTreeMap<String, Dependency>,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub dir: PathBuf,
    pub package: Package,
}

impl Workspace {
    /// A member's dependencies after `workspace = true` inheritance, each with
    /// the directory it points at when it is a path dependency.
    pub fn dependencies_of(&self, member: &Member) -> Vec<(Dependency, Option<PathBuf>)> {
        member
            .package
            .dependencies
            .iter()
            .map(|dep| {
                if dep.inherits_workspace {
                    let base = self.dependencies.get(&dep.key);
                    let mut merged = dep.clone();
                    if let Some(base) = base {
                        merged.package = base.package.clone();
                        merged.features = base
                            .features
                            .iter()
                            .chain(dep.features.iter())
                            .cloned()
                            .collect();
                        // A workspace entry with default features on cannot be
                        // turned off by a member.
                        merged.default_features = match base.default_features {
                            Some(false) => dep.default_features.or(Some(false)),
                            _ => None,
                        };
                    }
                    let dir = base
                        .and_then(|b| b.path.as_ref())
                        .map(|p| normalize(&self.root.join(p)));
                    (merged, dir)
                } else {
                    let dir = dep.path.as_ref().map(|p| normalize(&member.dir.join(p)));
                    (dep.clone(), dir)
                }
            })
            .collect()
    }
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub workspaces: Vec<Workspace>,
    pub problems: Vec<Problem>,
}

/// Finds the workspaces for `paths` (absolute). A directory selects the
/// workspace enclosing it and every workspace below it; a file (typically a
/// `Cargo.toml`, like cargo's `--manifest-path`) selects only the workspace
/// enclosing it.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut finder = Finder::default();
    for path in paths {
        let is_file = path.is_file();
        let start = if is_file {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path.clone()
        };
        let start = normalize(&start);
        if let Some(root) = finder.enclosing_root(&start) {
            finder.load(&root);
        }
        if !is_file {
            finder.walk_below(&start);
        }
    }
    let mut workspaces: Vec<Workspace> = finder.loaded.into_values().collect();
    workspaces.sort_by(|a, b| a.root.cmp(&b.root));
    Discovery {
        workspaces,
        problems: finder.problems,
    }
}

#[derive(Default)]
struct Finder {
    manifests: HashMap<PathBuf, Option<Manifest>>,
    loaded: BTreeMap<PathBuf, Workspace>,
    /// Package directories already in a loaded workspace.
    covered: BTreeSet<PathBuf>,
    problems: Vec<Problem>,
}

impl Finder {
    fn manifest(&mut self, dir: &Path) -> Option<Manifest> {
        if let Some(m) = self.manifests.get(dir) {
            return m.clone();
        }
        let path = dir.join("Cargo.toml");
        let parsed = match std::fs::read_to_string(&path) {
            Ok(text) => match parse_manifest(&text) {
                Ok(m) => Some(m),
                Err(e) => {
                    self.problems.push(Problem {
                        path: path.clone(),
                        line: e.line,
                        column: e.column,
                        code: "invalid-manifest",
                        message: e.message,
                    });
                    None
                }
            },
            Err(e) if path.exists() => {
                self.problems.push(Problem {
                    path: path.clone(),
                    line: 0,
                    column: 0,
                    code: "unreadable",
                    message: e.to_string(),
                });
                None
            }
            Err(_) => None,
        };
        self.manifests.insert(dir.to_path_buf(), parsed.clone());
        parsed
    }

    /// The workspace root `dir` belongs to, if any manifest is at or above it.
    fn enclosing_root(&mut self, dir: &Path) -> Option<PathBuf> {
        let package_dir = dir
            .ancestors()
            .find(|a| a.join("Cargo.toml").is_file())?
            .to_path_buf();
        let manifest = self.manifest(&package_dir)?;
        if manifest.workspace.is_some() {
            return Some(package_dir);
        }
        for ancestor in package_dir.ancestors().skip(1) {
            if !ancestor.join("Cargo.toml").is_file() {
                continue;
            }
            let Some(m) = self.manifest(ancestor) else {
                continue;
            };
            let Some(ws) = &m.workspace else { continue };
            if is_excluded(ancestor, &ws.exclude, &package_dir) {
                continue;
            }
            let members = self.members(ancestor, &m);
            if members.contains(&package_dir) {
                return Some(ancestor.to_path_buf());
            }
            break;
        }
        Some(package_dir)
    }

    /// Member directories of the workspace rooted at `root`.
    fn members(&mut self, root: &Path, manifest: &Manifest) -> Vec<PathBuf> {
        let mut members: Vec<PathBuf> = Vec::new();
        if manifest.package.is_some() {
            members.push(root.to_path_buf());
        }
        let Some(ws) = &manifest.workspace else {
            return members;
        };
        for pattern in &ws.members {
            for dir in expand_member_glob(root, pattern) {
                if !is_excluded(root, &ws.exclude, &dir)
                    && dir.join("Cargo.toml").is_file()
                    && !members.contains(&dir)
                {
                    members.push(dir);
                }
            }
        }
        // Path dependencies inside the root are members too.
        let mut index = 0;
        while index < members.len() {
            let dir = members[index].clone();
            index += 1;
            let Some(Manifest {
                package: Some(pkg), ..
            }) = self.manifest(&dir)
            else {
                continue;
            };
            for dep in &pkg.dependencies {
                let path = match (&dep.path, dep.inherits_workspace) {
                    (Some(p), _) => Some(normalize(&dir.join(p))),
                    (None, true) => ws
                        .dependencies
                        .get(&dep.key)
                        .and_then(|d| d.path.as_ref())
                        .map(|p| normalize(&root.join(p))),
                    _ => None,
                };
                if let Some(path) = path {
                    if path.starts_with(root)
                        && !is_excluded(root, &ws.exclude, &path)
                        && path.join("Cargo.toml").is_file()
                        && !members.contains(&path)
                    {
                        members.push(path);
                    }
                }
            }
        }
        members
    }

    fn load(&mut self, root: &Path) {
        if self.loaded.contains_key(root) {
            return;
        }
        let Some(manifest) = self.manifest(root) else {
            return;
        };
        let dirs = self.members(root, &manifest);
        let mut members = Vec::new();
        for dir in dirs {
            if self.covered.contains(&dir) {
                continue;
            }
            if let Some(Manifest {
                package: Some(package),
                ..
            }) = self.manifest(&dir)
            {
                self.covered.insert(dir.clone());
                members.push(Member { dir, package });
            }
        }
        let resolver = resolver_version(&manifest);
        let root_package = members.iter().position(|m| m.dir == root);
        let dependencies = manifest
            .workspace
            .map(|w| w.dependencies)
            .unwrap_or_default();
        self.loaded.insert(
            root.to_path_buf(),
            Workspace {
                root: root.to_path_buf(),
                members,
                resolver,
                root_package,
                dependencies,
            },
        );
    }

    fn walk_below(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                if dir.exists() {
                    self.problems.push(Problem {
                        path: dir.to_path_buf(),
                        line: 0,
                        column: 0,
                        code: "unreadable",
                        message: e.to_string(),
                    });
                }
                return;
            }
        };
        let mut subdirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                !name.starts_with('.') && name != "target"
            })
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        for sub in subdirs {
            if sub.join("Cargo.toml").is_file() && !self.covered.contains(&sub) {
                if let Some(root) = self.enclosing_root(&sub) {
                    self.load(&root);
                }
            }
            self.walk_below(&sub);
        }
    }
}

/// `resolver` from `[workspace]` or the root `[package]`, else implied by
/// the root package's edition (2021: 2, 2024: 3); a virtual manifest
/// without it uses 1.
fn resolver_version(manifest: &Manifest) -> u8 {
    let ws = manifest.workspace.as_ref();
    let explicit = ws.and_then(|w| w.resolver.as_deref()).or_else(|| {
        manifest
            .package
            .as_ref()
            .and_then(|p| p.resolver.as_deref())
    });
    if let Some(v) = explicit {
        return v.parse().unwrap_or(1);
    }
    let edition = manifest
        .package
        .as_ref()
        .and_then(|p| p.edition.clone())
        .or_else(|| ws.and_then(|w| w.package_edition.clone()));
    match manifest.package.as_ref().and(edition.as_deref()) {
        Some("2024") => 3,
        Some("2021") => 2,
        _ => 1,
    }
}

fn is_excluded(root: &Path, exclude: &[String], dir: &Path) -> bool {
    exclude
        .iter()
        .any(|ex| dir.starts_with(normalize(&root.join(ex))))
}

/// Expands a `members` entry (`crates/*`, `app`, `libs/**`) to directories.
fn expand_member_glob(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut current = vec![root.to_path_buf()];
    for component in pattern.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let mut next = Vec::new();
        for base in &current {
            if component == "**" {
                collect_dirs(base, &mut next);
            } else if component.contains(['*', '?', '[']) {
                let Ok(glob) = globset::Glob::new(component) else {
                    continue;
                };
                let matcher = glob.compile_matcher();
                let Ok(entries) = std::fs::read_dir(base) else {
                    continue;
                };
                let mut found: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .filter(|e| matcher.is_match(e.file_name()))
                    .map(|e| e.path())
                    .collect();
                found.sort();
                next.extend(found);
            } else {
                next.push(normalize(&base.join(component)));
            }
        }
        current = next;
    }
    current
}

/// `base` and every directory below it (not following symlinks).
fn collect_dirs(base: &Path, out: &mut Vec<PathBuf>) {
    out.push(base.to_path_buf());
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name();
            !name.to_string_lossy().starts_with('.') && name != "target"
        })
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        collect_dirs(&sub, out);
    }
}

/// Removes `.` and resolves `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn members_globs_exclude_path_deps_and_nested_workspaces() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            root,
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/old\"]\n",
        );
        write(
            root,
            "crates/a/Cargo.toml",
            "[package]\nname = \"a\"\n[dependencies]\nlocal = { path = \"../../libs/local\" }\n",
        );
        write(root, "crates/old/Cargo.toml", "[package]\nname = \"old\"\n");
        write(
            root,
            "libs/local/Cargo.toml",
            "[package]\nname = \"local\"\n",
        );
        write(
            root,
            "nested/Cargo.toml",
            "[package]\nname = \"nested\"\n[workspace]\n",
        );
        write(
            root,
            "target/debug/x/Cargo.toml",
            "[package]\nname = \"junk\"\n",
        );

        let found = discover(&[root.to_path_buf()]);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        let summary: Vec<(String, Vec<String>)> = found
            .workspaces
            .iter()
            .map(|w| {
                (
                    w.root.strip_prefix(root).unwrap().display().to_string(),
                    w.members.iter().map(|m| m.package.name.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (String::new(), vec!["a".to_string(), "local".to_string()]),
                ("crates/old".to_string(), vec!["old".to_string()]),
                ("nested".to_string(), vec!["nested".to_string()]),
            ]
        );
    }

    #[test]
    fn a_path_inside_a_member_selects_the_whole_workspace() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(
            root,
            "Cargo.toml",
            "[workspace]\nmembers = [\"a\", \"b\"]\n",
        );
        write(root, "a/Cargo.toml", "[package]\nname = \"a\"\n");
        write(root, "a/src/lib.rs", "");
        write(root, "b/Cargo.toml", "[package]\nname = \"b\"\n");
        let found = discover(&[root.join("a/src")]);
        assert_eq!(found.workspaces.len(), 1);
        assert_eq!(found.workspaces[0].members.len(), 2);
    }

    #[test]
    fn invalid_manifest_is_a_problem_not_a_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "good/Cargo.toml", "[package]\nname = \"good\"\n");
        write(root, "bad/Cargo.toml", "[package\nname = \"bad\"\n");
        let found = discover(&[root.to_path_buf()]);
        assert_eq!(found.workspaces.len(), 1);
        assert_eq!(found.problems.len(), 1);
        assert_eq!(found.problems[0].code, "invalid-manifest");
        assert_eq!(found.problems[0].line, 1);
    }

    #[test]
    fn normalize_resolves_parent_components() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
