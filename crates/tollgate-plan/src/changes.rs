//! Change awareness (SPEC §6): which tests a set of changed files can affect,
//! and which framework a change-aware pipeline tests.
//!
//! Every changed file is *claimed* by something, or reported:
//! - `changes.ignore` / `changes.docs` globs: inert (docs-only → lint only);
//! - `changes.widen` globs (lock files, CI config): the run widens to everything;
//! - framework and component globs: their tests (by marker) are affected;
//! - a Cargo package directory: the tests of that crate and of every crate
//!   depending on it ([`RustGraph`]);
//! - a Python file: the tests importing it, transitively ([`ImportGraph`]);
//!   a changed test file affects its own tests, a `conftest.py` every test
//!   below its directory.
//!
//! A file nobody claims widens the run too, and is listed: tollgate cannot
//! know what it affects, and silently ignoring it is how a change slips
//! through untested.
//!
//! The framework rule is seed 004's: if every code change lies in one
//! framework's paths, that framework is tested; otherwise the default one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;
use tollgate_config::Config;
use tollgate_inventory::Inventory;

use crate::error::PlanError;
use crate::py_imports::ImportGraph;
use crate::rust_graph::RustGraph;

/// What the project's sources say about how files relate to tests.
#[derive(Debug, Clone, Default)]
pub struct ProjectGraph {
    pub rust: RustGraph,
    pub python: ImportGraph,
}

impl ProjectGraph {
    /// Reads Cargo manifests and Python imports below `root`.
    pub fn scan(root: &Path) -> ProjectGraph {
        let (rust, python) = rayon::join(|| RustGraph::scan(root), || ImportGraph::scan(root));
        ProjectGraph { rust, python }
    }
}

/// Parses a changed-files list: one path per line (or NUL-separated, as
/// `git diff --name-only -z` writes), relative to the project root.
/// Blank lines are skipped, a leading `./` is dropped, duplicates are
/// removed (first occurrence kept). `origin` names the list in errors.
pub fn parse_changed_files(text: &str, origin: &str) -> Result<Vec<String>, PlanError> {
    let separator = if text.contains('\0') { '\0' } else { '\n' };
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    for (index, raw) in text.split(separator).enumerate() {
        let entry = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if entry.is_empty() {
            continue;
        }
        let bad = |reason: &str| PlanError::MalformedChangedFiles {
            origin: origin.to_string(),
            line: index + 1,
            entry: entry.to_string(),
            reason: reason.to_string(),
        };
        if entry.contains('\t') {
            return Err(bad(
                "contains a tab (is this `git diff --name-status` output? use `--name-only`)",
            ));
        }
        if entry.chars().any(char::is_control) {
            return Err(bad("contains a control character"));
        }
        if entry.starts_with('/') || entry.get(1..3) == Some(":\\") || entry.get(1..3) == Some(":/")
        {
            return Err(bad(
                "is an absolute path; paths must be relative to the project root",
            ));
        }
        if entry.contains('\\') {
            return Err(bad("contains a backslash; use `/` as the path separator"));
        }
        let path = entry.trim_start_matches("./");
        if path.split('/').any(|segment| segment == "..") {
            return Err(bad("leaves the project root (`..`)"));
        }
        if path.is_empty() || path.ends_with('/') {
            return Err(bad("is a directory, not a file"));
        }
        if seen.insert(path.to_string()) {
            files.push(path.to_string());
        }
    }
    Ok(files)
}

/// Why a changed file matters (or does not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Claim {
    Ignored { glob: String },
    Docs { glob: String },
    Widen { glob: String },
    Framework { name: String },
    Component { name: String },
    RustPackage { name: String },
    PythonTest,
    Conftest,
    PythonModule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub claims: Vec<Claim>,
}

/// How far the changes reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeScope {
    /// Run every selected test.
    Everything { reason: String },
    /// Run the lint job only.
    LintOnly { reason: String },
    /// Run only these tests (id → why the changes reach it).
    Affected { tests: BTreeMap<String, String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeAnalysis {
    pub files: Vec<ChangedFile>,
    /// Files no rule claims (they widen the run).
    pub unclaimed: Vec<String>,
    pub scope: ChangeScope,
    /// The framework every code change lies in, if there is one.
    pub framework: Option<String>,
}

impl ChangeAnalysis {
    pub fn affected_reason(&self, test_id: &str) -> Option<&str> {
        match &self.scope {
            ChangeScope::Affected { tests } => tests.get(test_id).map(String::as_str),
            _ => None,
        }
    }
}

/// Globs compiled the way `tollgate-config` does (`*` stops at `/`).
struct Globs {
    set: GlobSet,
    sources: Vec<String>,
}

impl Globs {
    fn new(globs: &[String]) -> Globs {
        let mut builder = GlobSetBuilder::new();
        let mut sources = Vec::new();
        for glob in globs {
            // Validation already rejected bad globs; skip rather than panic.
            if let Ok(g) = GlobBuilder::new(glob).literal_separator(true).build() {
                builder.add(g);
                sources.push(glob.clone());
            }
        }
        Globs {
            set: builder.build().unwrap_or_else(|_| GlobSet::empty()),
            sources,
        }
    }

    /// The first glob matching `path`.
    fn first_match(&self, path: &str) -> Option<&str> {
        self.set
            .matches(path)
            .first()
            .and_then(|&i| self.sources.get(i))
            .map(String::as_str)
    }
}

/// Classifies `files` and works out which tests they reach. Pure.
/// [`analyze`] for a pipeline: the project's dependency graphs (Rust crates,
/// Python imports) are read from `root` only when the pipeline narrows its
/// run by changes, since only then do they matter.
pub fn analyze_for_pipeline(
    config: &Config,
    pipeline: &tollgate_config::Pipeline,
    root: &std::path::Path,
    files: &[String],
    inventory: &Inventory,
) -> ChangeAnalysis {
    let graph = if pipeline.change_aware {
        ProjectGraph::scan(root)
    } else {
        ProjectGraph::default()
    };
    analyze(config, files, &graph, inventory)
}

pub fn analyze(
    config: &Config,
    files: &[String],
    graph: &ProjectGraph,
    inventory: &Inventory,
) -> ChangeAnalysis {
    let ignore = Globs::new(&config.changes.ignore);
    let docs = Globs::new(&config.changes.docs);
    let widen = Globs::new(&config.changes.widen);
    let frameworks: Vec<(&str, Globs)> = config
        .frameworks
        .iter()
        .map(|(name, fw)| (name, Globs::new(&fw.paths)))
        .collect();
    let components: Vec<(&str, Globs, Globs)> = config
        .components
        .iter()
        .map(|(name, c)| (name, Globs::new(&c.paths), Globs::new(&c.packages)))
        .collect();
    let test_files: BTreeSet<&str> = inventory.tests.iter().map(|t| t.file.as_str()).collect();

    let mut changed = Vec::new();
    for path in files {
        let mut claims = Vec::new();
        if let Some(glob) = ignore.first_match(path) {
            claims.push(Claim::Ignored { glob: glob.into() });
        } else if let Some(glob) = docs.first_match(path) {
            claims.push(Claim::Docs { glob: glob.into() });
        } else {
            if let Some(glob) = widen.first_match(path) {
                claims.push(Claim::Widen { glob: glob.into() });
            }
            for (name, globs) in &frameworks {
                if globs.first_match(path).is_some() {
                    claims.push(Claim::Framework {
                        name: name.to_string(),
                    });
                }
            }
            let package = graph.rust.package_of(path);
            for (name, paths, packages) in &components {
                let by_package = package.is_some_and(|p| packages.first_match(p).is_some());
                if paths.first_match(path).is_some() || by_package {
                    claims.push(Claim::Component {
                        name: name.to_string(),
                    });
                }
            }
            if let Some(name) = package {
                claims.push(Claim::RustPackage { name: name.into() });
            }
            if path.ends_with(".py") {
                claims.push(if test_files.contains(path.as_str()) {
                    Claim::PythonTest
                } else if path == "conftest.py" || path.ends_with("/conftest.py") {
                    Claim::Conftest
                } else {
                    Claim::PythonModule
                });
            }
        }
        changed.push(ChangedFile {
            path: path.clone(),
            claims,
        });
    }

    let unclaimed: Vec<String> = changed
        .iter()
        .filter(|f| f.claims.is_empty())
        .map(|f| f.path.clone())
        .collect();
    let inert = |f: &ChangedFile| {
        f.claims
            .iter()
            .all(|c| matches!(c, Claim::Ignored { .. } | Claim::Docs { .. }))
            && !f.claims.is_empty()
    };
    let code: Vec<&ChangedFile> = changed.iter().filter(|f| !inert(f)).collect();
    let framework = single_framework(&code);
    let widening: Vec<&str> = changed
        .iter()
        .filter(|f| f.claims.iter().any(|c| matches!(c, Claim::Widen { .. })))
        .map(|f| f.path.as_str())
        .collect();

    let scope = if changed.is_empty() {
        ChangeScope::LintOnly {
            reason: "no files changed".into(),
        }
    } else if !widening.is_empty() {
        ChangeScope::Everything {
            reason: format!("{} widen(s) the run", list(&widening)),
        }
    } else if !unclaimed.is_empty() {
        let names: Vec<&str> = unclaimed.iter().map(String::as_str).collect();
        ChangeScope::Everything {
            reason: format!("no rule claims {}, so the run widens", list(&names)),
        }
    } else if code.is_empty() {
        ChangeScope::LintOnly {
            reason: "only documentation or ignored files changed".into(),
        }
    } else {
        ChangeScope::Affected {
            tests: affected_tests(config, &code, graph, inventory),
        }
    };
    ChangeAnalysis {
        files: changed,
        unclaimed,
        scope,
        framework,
    }
}

fn list(items: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

/// The one framework every code change is claimed by, if any.
fn single_framework(code: &[&ChangedFile]) -> Option<String> {
    let mut found: Option<&str> = None;
    for file in code {
        let mut names = file.claims.iter().filter_map(|c| match c {
            Claim::Framework { name } => Some(name.as_str()),
            _ => None,
        });
        let (Some(name), None) = (names.next(), names.next()) else {
            return None;
        };
        match found {
            Some(other) if other != name => return None,
            _ => found = Some(name),
        }
    }
    found.map(str::to_string)
}

/// Every test the code changes reach, with the first reason found.
fn affected_tests(
    config: &Config,
    code: &[&ChangedFile],
    graph: &ProjectGraph,
    inventory: &Inventory,
) -> BTreeMap<String, String> {
    let taxonomy = &config.taxonomy;
    let mut markers: BTreeMap<String, String> = BTreeMap::new();
    let mut packages: BTreeSet<&str> = BTreeSet::new();
    let mut python: Vec<&str> = Vec::new();
    for file in code {
        for claim in &file.claims {
            match claim {
                Claim::Framework { name } => {
                    let marker = config
                        .frameworks
                        .get(name)
                        .map_or(name.as_str(), |f| f.marker_or(name));
                    markers.entry(marker.to_string()).or_insert_with(|| {
                        format!(
                            "carries `{marker}`: `{}` changed in framework `{name}`",
                            file.path
                        )
                    });
                }
                Claim::Component { name } => {
                    let marker = config
                        .components
                        .get(name)
                        .map_or(name.as_str(), |c| c.marker_or(name));
                    markers.entry(marker.to_string()).or_insert_with(|| {
                        format!(
                            "carries `{marker}`: `{}` changed in component `{name}`",
                            file.path
                        )
                    });
                }
                Claim::RustPackage { name } => {
                    packages.insert(name);
                }
                Claim::PythonTest | Claim::Conftest | Claim::PythonModule => {
                    python.push(&file.path)
                }
                Claim::Ignored { .. } | Claim::Docs { .. } | Claim::Widen { .. } => {}
            }
        }
    }
    let crates = graph.rust.affected(&packages);
    let reached = if python.is_empty() {
        BTreeMap::new()
    } else {
        graph.python.importers_of(&python)
    };
    let conftest_dirs: Vec<(&str, &str)> = reached
        .iter()
        .filter_map(|(file, origin)| {
            let dir = file.strip_suffix("conftest.py")?;
            (dir.is_empty() || dir.ends_with('/')).then_some((dir, origin.as_str()))
        })
        .collect();

    let mut affected = BTreeMap::new();
    for test in &inventory.tests {
        let reason = if let Some(origin) = reached.get(&test.file) {
            Some(if *origin == test.file {
                format!("its file `{}` changed", test.file)
            } else {
                format!("imports changed `{origin}` (directly or through other modules)")
            })
        } else if let Some((dir, origin)) = conftest_dirs
            .iter()
            .find(|(dir, _)| test.file.starts_with(dir))
        {
            Some(format!(
                "below `{dir}conftest.py`, reached by changed `{origin}`"
            ))
        } else if let Some((package, origin)) = test
            .rust
            .as_ref()
            .and_then(|r| crates.get_key_value(&r.package))
        {
            Some(if package == origin {
                format!("crate `{package}` changed")
            } else {
                format!("crate `{package}` depends on changed crate `{origin}`")
            })
        } else {
            test.markers
                .iter()
                .find_map(|m| markers.get(taxonomy.canonical(&m.name)).cloned())
        };
        if let Some(reason) = reason {
            affected.insert(test.id.clone(), reason);
        }
    }
    affected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_nul_separated_lists() {
        let files = parse_changed_files("a/b.py\n\n./c.rs\r\na/b.py\n", "list").unwrap();
        assert_eq!(files, ["a/b.py", "c.rs"]);
        let files = parse_changed_files("x.py\0y/z.md\0", "-").unwrap();
        assert_eq!(files, ["x.py", "y/z.md"]);
        assert!(parse_changed_files("", "-").unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_entries_with_the_line() {
        let cases = [
            ("ok.py\n/abs/path.py", 2, "absolute"),
            ("M\tsrc/lib.rs", 1, "--name-status"),
            ("../outside.py", 1, "leaves the project root"),
            ("a\\b.py", 1, "backslash"),
            ("dir/", 1, "directory"),
            ("a\u{1b}[0m.py", 1, "control character"),
        ];
        for (text, line, needle) in cases {
            let err = parse_changed_files(text, "changed.txt").unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("changed.txt:{line}: ")),
                "{message}"
            );
            assert!(message.contains(needle), "{message}");
        }
    }
}
