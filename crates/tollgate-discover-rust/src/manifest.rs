//! `Cargo.toml`, reduced to what decides which tests exist: the package name,
//! its targets, features and dependencies, and the `[workspace]` table.
//!
//! Reading is lenient on purpose: a field of the wrong type is treated as
//! absent (cargo would reject the manifest, and then nextest lists nothing for
//! it anyway), and only a TOML syntax error is an error.

use std::collections::BTreeMap;

use toml::{Table, Value};

/// A manifest's TOML could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ManifestError {
    /// 1-based; 0 when unknown.
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    pub package: Option<Package>,
    pub workspace: Option<WorkspaceTable>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkspaceTable {
    pub members: Vec<String>,
    /// `resolver = "1" | "2" | "3"`.
    pub resolver: Option<String>,
    /// `[workspace.package] edition`, for `edition.workspace = true`.
    pub package_edition: Option<String>,
    pub exclude: Vec<String>,
    /// `[workspace.dependencies]`, which members inherit with `workspace = true`.
    pub dependencies: BTreeMap<String, Dependency>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Package {
    pub name: String,
    /// `None` when inherited from the workspace or absent (2015).
    pub edition: Option<String>,
    pub resolver: Option<String>,
    pub autolib: bool,
    pub autobins: bool,
    pub autotests: bool,
    pub autobenches: bool,
    pub autoexamples: bool,
    pub lib: Option<TargetDecl>,
    pub bins: Vec<TargetDecl>,
    pub tests: Vec<TargetDecl>,
    pub benches: Vec<TargetDecl>,
    pub examples: Vec<TargetDecl>,
    pub features: BTreeMap<String, Vec<String>>,
    pub dependencies: Vec<Dependency>,
}

/// A `[lib]`, `[[bin]]`, `[[test]]`, `[[bench]]` or `[[example]]` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetDecl {
    pub name: Option<String>,
    pub path: Option<String>,
    pub test: Option<bool>,
    pub harness: Option<bool>,
    pub required_features: Vec<String>,
    pub proc_macro: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    /// The name features refer to it by (the table key).
    pub key: String,
    /// The package's real name (`package = "..."`, else the key).
    pub package: String,
    pub path: Option<String>,
    /// `workspace = true`: inherit from `[workspace.dependencies]`.
    pub inherits_workspace: bool,
    pub features: Vec<String>,
    /// `default-features` as written (`None`: not written, which means on).
    pub default_features: Option<bool>,
    pub optional: bool,
    /// The `cfg(...)` or triple of a `[target.X.dependencies]` table.
    pub target: Option<String>,
}

pub fn parse_manifest(text: &str) -> Result<Manifest, ManifestError> {
    let table: Table = text.parse::<Table>().map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((0, 0));
        ManifestError {
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    Ok(Manifest {
        package: table
            .get("package")
            .and_then(Value::as_table)
            .map(|pkg| read_package(pkg, &table)),
        workspace: table
            .get("workspace")
            .and_then(Value::as_table)
            .map(read_workspace),
    })
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line as u32, column as u32)
}

fn read_workspace(ws: &Table) -> WorkspaceTable {
    WorkspaceTable {
        members: strings(ws.get("members")),
        resolver: ws
            .get("resolver")
            .and_then(Value::as_str)
            .map(str::to_string),
        package_edition: ws
            .get("package")
            .and_then(Value::as_table)
            .and_then(|p| p.get("edition"))
            .and_then(Value::as_str)
            .map(str::to_string),
        exclude: strings(ws.get("exclude")),
        dependencies: ws
            .get("dependencies")
            .and_then(Value::as_table)
            .map(|deps| {
                deps.iter()
                    .map(|(k, v)| (k.clone(), read_dependency(k, v, None)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn read_package(pkg: &Table, root: &Table) -> Package {
    let flag = |key: &str| pkg.get(key).and_then(Value::as_bool).unwrap_or(true);
    let lib = root.get("lib").and_then(Value::as_table).map(read_target);
    let array = |key: &str| -> Vec<TargetDecl> {
        root.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_table)
                    .map(read_target)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut dependencies = Vec::new();
    read_dependency_tables(root, None, &mut dependencies);
    if let Some(targets) = root.get("target").and_then(Value::as_table) {
        for (target, table) in targets {
            if let Some(table) = table.as_table() {
                read_dependency_tables(table, Some(target), &mut dependencies);
            }
        }
    }
    Package {
        name: pkg
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        edition: pkg
            .get("edition")
            .and_then(Value::as_str)
            .map(str::to_string),
        resolver: pkg
            .get("resolver")
            .and_then(Value::as_str)
            .map(str::to_string),
        autolib: flag("autolib"),
        autobins: flag("autobins"),
        autotests: flag("autotests"),
        autobenches: flag("autobenches"),
        autoexamples: flag("autoexamples"),
        lib,
        bins: array("bin"),
        tests: array("test"),
        benches: array("bench"),
        examples: array("example"),
        features: root
            .get("features")
            .and_then(Value::as_table)
            .map(|f| {
                f.iter()
                    .map(|(k, v)| (k.clone(), strings(Some(v))))
                    .collect()
            })
            .unwrap_or_default(),
        dependencies,
    }
}

fn read_dependency_tables(table: &Table, target: Option<&str>, out: &mut Vec<Dependency>) {
    for key in [
        "dependencies",
        "dev-dependencies",
        "dev_dependencies",
        "build-dependencies",
        "build_dependencies",
    ] {
        if let Some(deps) = table.get(key).and_then(Value::as_table) {
            out.extend(deps.iter().map(|(k, v)| read_dependency(k, v, target)));
        }
    }
}

fn read_dependency(key: &str, value: &Value, target: Option<&str>) -> Dependency {
    let mut dep = Dependency {
        key: key.to_string(),
        package: key.to_string(),
        target: target.map(str::to_string),
        ..Dependency::default()
    };
    if let Some(t) = value.as_table() {
        if let Some(p) = t.get("package").and_then(Value::as_str) {
            dep.package = p.to_string();
        }
        dep.path = t.get("path").and_then(Value::as_str).map(str::to_string);
        dep.inherits_workspace = t.get("workspace").and_then(Value::as_bool) == Some(true);
        dep.features = strings(t.get("features"));
        dep.default_features = t
            .get("default-features")
            .or_else(|| t.get("default_features"))
            .and_then(Value::as_bool);
        dep.optional = t.get("optional").and_then(Value::as_bool) == Some(true);
    }
    dep
}

fn read_target(t: &Table) -> TargetDecl {
    TargetDecl {
        name: t.get("name").and_then(Value::as_str).map(str::to_string),
        path: t.get("path").and_then(Value::as_str).map(str::to_string),
        test: t.get("test").and_then(Value::as_bool),
        harness: t.get("harness").and_then(Value::as_bool),
        required_features: strings(
            t.get("required-features")
                .or_else(|| t.get("required_features")),
        ),
        proc_macro: t
            .get("proc-macro")
            .or_else(|| t.get("proc_macro"))
            .and_then(Value::as_bool)
            == Some(true),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_targets_features_and_deps() {
        let m = parse_manifest(
            r#"
[package]
name = "alpha-core"
autotests = false

[lib]
name = "alpha_core"

[features]
default = ["fast"]
gpu = ["dep:cuda", "beta/gpu"]

[dependencies]
beta = { path = "../beta", default-features = false, features = ["x"] }
cuda = { version = "1", optional = true }
tokio.workspace = true

[target.'cfg(unix)'.dev-dependencies]
nix = "1"

[[test]]
name = "needs_gpu"
required-features = ["gpu"]
harness = false
"#,
        )
        .unwrap();
        let pkg = m.package.unwrap();
        assert_eq!(pkg.name, "alpha-core");
        assert!(!pkg.autotests);
        assert!(pkg.autobins);
        assert_eq!(pkg.lib.unwrap().name.as_deref(), Some("alpha_core"));
        assert_eq!(pkg.features["gpu"], vec!["dep:cuda", "beta/gpu"]);
        let beta = &pkg.dependencies[0];
        assert_eq!(beta.path.as_deref(), Some("../beta"));
        assert_eq!(beta.default_features, Some(false));
        assert_eq!(beta.features, vec!["x"]);
        assert!(pkg.dependencies[1].optional);
        assert!(pkg.dependencies[2].inherits_workspace);
        assert_eq!(pkg.dependencies[3].target.as_deref(), Some("cfg(unix)"));
        let t = &pkg.tests[0];
        assert_eq!(t.required_features, vec!["gpu"]);
        assert_eq!(t.harness, Some(false));
        assert!(m.workspace.is_none());
    }

    #[test]
    fn reads_workspace_table() {
        let m =
            parse_manifest("[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/old\"]\n")
                .unwrap();
        assert!(m.package.is_none());
        let ws = m.workspace.unwrap();
        assert_eq!(ws.members, vec!["crates/*"]);
        assert_eq!(ws.exclude, vec!["crates/old"]);
    }

    #[test]
    fn syntax_error_has_a_position() {
        let err = parse_manifest("[package]\nname = \n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.column > 0);
    }
}
