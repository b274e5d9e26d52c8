//! A package's build targets, following Cargo's target auto-discovery.
//!
//! Cargo infers targets from the layout (`src/lib.rs`, `src/main.rs`,
//! `src/bin/*.rs`, `src/bin/*/main.rs`, `tests/`, `benches/`, `examples/`
//! likewise), then merges the declared `[lib]`/`[[bin]]`/... tables: a
//! declared target replaces an inferred one with the same name *or* path, and
//! `autobins = false` (etc.) keeps only the declared ones.
//!
//! [`Layout`] is the only I/O here: it lists what exists on disk once, so the
//! merge ([`package_targets`]) is a pure function.

use std::path::{Path, PathBuf};

use crate::manifest::{Package, TargetDecl};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetKind {
    Lib,
    ProcMacro,
    Bin,
    Test,
    Bench,
    Example,
}

impl TargetKind {
    /// The kind as [`tollgate_inventory::RustFacts::target_kind`] spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Lib => "lib",
            TargetKind::ProcMacro => "proc-macro",
            TargetKind::Bin => "bin",
            TargetKind::Test => "test",
            TargetKind::Bench => "bench",
            TargetKind::Example => "example",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetKind,
    pub name: String,
    /// The crate root file (absolute).
    pub root: PathBuf,
    /// Built as a test binary by `cargo test` (the `test` key and its default).
    pub test: bool,
    pub harness: bool,
    pub required_features: Vec<String>,
}

impl Target {
    /// nextest's binary id: `pkg` for a library, `pkg::name` for an
    /// integration test, `pkg::kind/name` otherwise.
    pub fn binary_id(&self, package: &str) -> String {
        match self.kind {
            TargetKind::Lib | TargetKind::ProcMacro => package.to_string(),
            TargetKind::Test => format!("{package}::{}", self.name),
            kind => format!("{package}::{}/{}", kind.as_str(), self.name),
        }
    }
}

/// Target files that exist in a package directory, by convention.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub lib: bool,
    pub main: bool,
    /// `(name, path)` pairs, sorted by name.
    pub bins: Vec<(String, PathBuf)>,
    pub tests: Vec<(String, PathBuf)>,
    pub benches: Vec<(String, PathBuf)>,
    pub examples: Vec<(String, PathBuf)>,
}

impl Layout {
    /// Reads the conventional target locations under `dir`.
    pub fn read(dir: &Path) -> Layout {
        Layout {
            lib: dir.join("src/lib.rs").is_file(),
            main: dir.join("src/main.rs").is_file(),
            bins: list_targets(&dir.join("src/bin")),
            tests: list_targets(&dir.join("tests")),
            benches: list_targets(&dir.join("benches")),
            examples: list_targets(&dir.join("examples")),
        }
    }
}

/// `dir/*.rs` and `dir/*/main.rs`, as `(name, path)`.
fn list_targets(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.is_dir() {
            let main = path.join("main.rs");
            if main.is_file() {
                out.push((name.to_string(), main));
            }
        } else if let Some(stem) = name.strip_suffix(".rs") {
            out.push((stem.to_string(), path.clone()));
        }
    }
    out.sort();
    out
}

/// Every target of `package` in `dir`, in Cargo's order (lib, bins, tests,
/// benches, examples).
pub fn package_targets(dir: &Path, package: &Package, layout: &Layout) -> Vec<Target> {
    let mut out = Vec::new();
    let lib_decl = package.lib.clone();
    if lib_decl.is_some() || (layout.lib && package.autolib) {
        let decl = lib_decl.unwrap_or_default();
        let kind = if decl.proc_macro {
            TargetKind::ProcMacro
        } else {
            TargetKind::Lib
        };
        out.push(make_target(
            kind,
            decl.name
                .clone()
                .unwrap_or_else(|| package.name.replace('-', "_")),
            dir.join(decl.path.as_deref().unwrap_or("src/lib.rs")),
            &decl,
            true,
        ));
    }
    let mut inferred_bins = layout.bins.clone();
    if layout.main {
        inferred_bins.insert(0, (package.name.clone(), dir.join("src/main.rs")));
    }
    let groups = [
        (
            TargetKind::Bin,
            &package.bins,
            inferred_bins,
            package.autobins,
            "src/bin",
            true,
        ),
        (
            TargetKind::Test,
            &package.tests,
            layout.tests.clone(),
            package.autotests,
            "tests",
            true,
        ),
        (
            TargetKind::Bench,
            &package.benches,
            layout.benches.clone(),
            package.autobenches,
            "benches",
            false,
        ),
        (
            TargetKind::Example,
            &package.examples,
            layout.examples.clone(),
            package.autoexamples,
            "examples",
            false,
        ),
    ];
    for (kind, declared, inferred, auto, default_dir, test_default) in groups {
        out.extend(merge(
            dir,
            kind,
            declared,
            &inferred,
            auto,
            default_dir,
            test_default,
        ));
    }
    out
}

fn merge(
    dir: &Path,
    kind: TargetKind,
    declared: &[TargetDecl],
    inferred: &[(String, PathBuf)],
    autodiscover: bool,
    default_dir: &str,
    test_default: bool,
) -> Vec<Target> {
    let mut out = Vec::new();
    for decl in declared {
        let Some(name) = decl.name.clone() else {
            continue;
        };
        let root = match &decl.path {
            Some(p) => dir.join(p),
            None => inferred
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| dir.join(default_dir).join(format!("{name}.rs"))),
        };
        out.push(make_target(kind, name, root, decl, test_default));
    }
    if autodiscover {
        let default = TargetDecl::default();
        for (name, path) in inferred {
            let taken = out.iter().any(|t| t.name == *name || t.root == *path);
            if !taken {
                out.push(make_target(
                    kind,
                    name.clone(),
                    path.clone(),
                    &default,
                    test_default,
                ));
            }
        }
    }
    out
}

fn make_target(
    kind: TargetKind,
    name: String,
    root: PathBuf,
    decl: &TargetDecl,
    test_default: bool,
) -> Target {
    Target {
        kind,
        name,
        root,
        test: decl.test.unwrap_or(test_default),
        harness: decl.harness.unwrap_or(true),
        required_features: decl.required_features.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            lib: true,
            main: true,
            bins: vec![("tool".into(), PathBuf::from("/p/src/bin/tool.rs"))],
            tests: vec![
                ("basic".into(), PathBuf::from("/p/tests/basic.rs")),
                ("suite".into(), PathBuf::from("/p/tests/suite/main.rs")),
            ],
            benches: vec![("b".into(), PathBuf::from("/p/benches/b.rs"))],
            examples: vec![],
        }
    }

    fn summary(targets: &[Target]) -> Vec<String> {
        targets
            .iter()
            .map(|t| {
                format!(
                    "{} {} test={}",
                    t.binary_id("my-pkg"),
                    t.root.display(),
                    t.test
                )
            })
            .collect()
    }

    #[test]
    fn inferred_targets_and_binary_ids() {
        let pkg = Package {
            name: "my-pkg".into(),
            autolib: true,
            autobins: true,
            autotests: true,
            autobenches: true,
            autoexamples: true,
            ..Package::default()
        };
        let got = summary(&package_targets(Path::new("/p"), &pkg, &layout()));
        assert_eq!(
            got,
            vec![
                "my-pkg /p/src/lib.rs test=true",
                "my-pkg::bin/my-pkg /p/src/main.rs test=true",
                "my-pkg::bin/tool /p/src/bin/tool.rs test=true",
                "my-pkg::basic /p/tests/basic.rs test=true",
                "my-pkg::suite /p/tests/suite/main.rs test=true",
                "my-pkg::bench/b /p/benches/b.rs test=false",
            ]
        );
    }

    #[test]
    fn declared_targets_replace_inferred_ones_by_name_or_path() {
        let decl = |name: &str, path: Option<&str>| TargetDecl {
            name: Some(name.into()),
            path: path.map(str::to_string),
            ..TargetDecl::default()
        };
        let pkg = Package {
            name: "my-pkg".into(),
            autolib: true,
            autobins: true,
            autotests: false,
            autobenches: true,
            autoexamples: true,
            tests: vec![decl("custom", Some("checks/c.rs")), decl("suite", None)],
            bins: vec![decl("renamed", Some("src/bin/tool.rs"))],
            ..Package::default()
        };
        let got = summary(&package_targets(Path::new("/p"), &pkg, &layout()));
        assert!(got.contains(&"my-pkg::bin/renamed /p/src/bin/tool.rs test=true".to_string()));
        assert!(!got.iter().any(|t| t.starts_with("my-pkg::bin/tool ")));
        assert!(got.contains(&"my-pkg::custom /p/checks/c.rs test=true".to_string()));
        assert!(got.contains(&"my-pkg::suite /p/tests/suite/main.rs test=true".to_string()));
        assert!(!got.iter().any(|t| t.starts_with("my-pkg::basic")));
    }
}
