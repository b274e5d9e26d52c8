//! `tollgate collect`: discovery (I/O) → selection and formatting (pure).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use tollgate_discover_python as py;
use tollgate_discover_rust as rs;
use tollgate_inventory::{Diagnostic, Inventory, Language, TestItem};
use tollgate_markexpr::Expression;

use crate::cli::{CollectArgs, CollectFormat, Lang, RunIgnored};
use crate::exit::{usage, Status};
use crate::progress::Progress;

pub fn run(args: &CollectArgs) -> anyhow::Result<Status> {
    let started = Instant::now();
    // Parse the expression before any discovery work: a typo should fail fast.
    let expr = match &args.marker_expr {
        Some(src) => Some(
            Expression::parse(src)
                .map_err(|e| usage(format!("invalid -m expression {src:?}: {e}")))?,
        ),
        None => None,
    };
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    for path in &args.paths {
        // pytest also takes node ids (`tests/test_a.py::TestX::test_y`): the
        // file part is what must exist.
        let text = path.to_string_lossy();
        let file_part = text.split("::").next().unwrap_or_default();
        if !cwd.join(file_part).exists() {
            return Err(usage(format!("file or directory not found: {text}")));
        }
    }

    let want_python = args.lang != Lang::Rust;
    let want_rust = args.lang != Lang::Python;
    // A spinner on a terminal (nothing in a log): a large tree takes a while.
    // One inventory for every command: the rules and annotations of the
    // project's tollgate.toml (when there is one) apply here as in `plan`.
    let config = project_config(&cwd)?;
    let plugins = crate::project::declared_plugins(config.as_ref());
    let progress = Progress::spinner("collecting tests");
    let (python, rust) = rayon::join(
        || {
            want_python
                .then(|| collect_python(args, &cwd, &plugins, config.as_ref()))
                .transpose()
        },
        || want_rust.then(|| collect_rust(args, &cwd)).transpose(),
    );
    drop(progress);
    let mut inventory = Inventory::default();
    let mut selected_python = Vec::new();
    if let Some(mut collection) = python?.flatten() {
        if args.verbose {
            let stats = collection.cache_stats;
            eprintln!(
                "python: {} files parsed, {} from cache",
                stats.parsed, stats.cached
            );
        }
        if args.verify {
            return verify(args, &cwd, &collection);
        }
        if !args.no_learned {
            let project = crate::learned::project_or_default(&cwd)?;
            crate::learned::apply(
                &project,
                crate::learned::Use {
                    enabled: true,
                    store: args.store.as_deref(),
                },
                &collection.rootdir,
                collection.inifile.as_deref(),
                &mut collection.inventory,
            );
        }
        if let Some(config) = &config {
            drop_excluded(config, &mut collection.inventory)?;
            crate::project::apply_rules_in_parallel(config, &mut collection.inventory);
        }
        // pytest applies a `-m` from the ini's addopts unless the command line
        // gives its own.
        let addopts_expr = match (&expr, &collection.addopts_markexpr) {
            (None, Some(src)) => Some(Expression::parse(src).map_err(|e| {
                usage(format!(
                    "invalid -m expression {src:?} in the pytest ini's addopts: {e}"
                ))
            })?),
            _ => None,
        };
        let python_expr = expr.as_ref().or(addopts_expr.as_ref());
        if let Some(e) = python_expr {
            check_strict_markers(e, &collection)?;
        }
        selected_python = select_indices(&collection.inventory.tests, python_expr);
        inventory.extend(collection.inventory);
    }
    let python_count = inventory.tests.len();
    if let Some(mut inv) = rust? {
        if let Some(config) = &config {
            drop_excluded(config, &mut inv)?;
            crate::project::apply_rules_in_parallel(config, &mut inv);
        }
        let inv = filter_ignored(inv, args.run_ignored);
        let selected_rust = select_indices(&inv.tests, expr.as_ref());
        selected_python.extend(selected_rust.into_iter().map(|i| i + python_count));
        inventory.extend(inv);
    }
    let selected: Vec<&TestItem> = selected_python
        .iter()
        .map(|&i| &inventory.tests[i])
        .collect();

    let mut stdout = io::stdout().lock();
    let rendered = match args.format {
        CollectFormat::Ids => render_ids(&selected),
        CollectFormat::Json => render_json(&selected, &inventory.diagnostics)?,
        CollectFormat::Table => render_table(&selected),
    };
    // A closed pipe (`tollgate collect | head`) is not an error worth reporting.
    if let Err(e) = stdout.write_all(rendered.as_bytes()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e).context("cannot write to stdout");
        }
    }

    let mut stderr = io::stderr().lock();
    for diag in &inventory.diagnostics {
        let _ = writeln!(stderr, "{diag}");
    }
    if args.format == CollectFormat::Table {
        let _ = writeln!(
            stderr,
            "{}",
            summary_line(
                &selected,
                inventory.tests.len(),
                &inventory.diagnostics,
                started.elapsed()
            )
        );
    }

    let findings = inventory
        .diagnostics
        .iter()
        .any(|d| d.severity >= tollgate_inventory::Severity::Warning);
    let status = if args.strict && findings {
        Status::Findings
    } else if selected.is_empty() && args.marker_expr.is_some() {
        // pytest's exit code when `-m` deselects everything.
        let _ = writeln!(stderr, "no tests selected by -m expression");
        Status::NoTests
    } else {
        Status::Success
    };
    drop(selected);
    crate::exit::release_at_exit(inventory);
    Ok(status)
}

/// `[discovery] exclude`: what `plan` never sees, `collect` does not list.
fn drop_excluded(config: &tollgate_config::Config, inv: &mut Inventory) -> anyhow::Result<()> {
    config
        .drop_excluded(inv)
        .map_err(|e| usage(format!("[discovery] exclude: {e}")))
}

/// `collect --verify`: static discovery against what pytest collected, for
/// every file with learned items that still match it.
fn verify(args: &CollectArgs, cwd: &Path, collection: &py::Collection) -> anyhow::Result<Status> {
    let project = crate::learned::project_or_default(cwd)?;
    let files = crate::learned::python_files(&collection.inventory.tests);
    let table = match crate::learned::open_existing(&project, args.store.as_deref()) {
        Some(mut store) => crate::learned::current(
            &mut store,
            &collection.rootdir,
            collection.inifile.as_deref(),
            &files,
        )
        .context("cannot read learned items")?,
        None => Default::default(),
    };
    let found = py::learned::verify(&collection.inventory.tests, &table);
    let mut out = String::new();
    for d in &found {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_all(out.as_bytes()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e).context("cannot write to stdout");
        }
    }
    let learned_items: usize = table.values().map(|f| f.items.len()).sum();
    eprintln!(
        "{} disagreements over {} files with learned items ({learned_items} items); {} files without",
        found.len(),
        table.len(),
        files.len().saturating_sub(table.len())
    );
    Ok(if found.is_empty() {
        Status::Success
    } else {
        Status::Findings
    })
}

/// The tollgate.toml governing `cwd`, if any (`collect` works without one).
fn project_config(cwd: &Path) -> anyhow::Result<Option<tollgate_config::Config>> {
    let Some(path) = tollgate_config::Config::discover(cwd) else {
        return Ok(None);
    };
    // Rules match paths relative to the project root; collect's ids are
    // relative to where it runs, so they agree only from the root itself.
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if std::fs::canonicalize(&root).ok() != std::fs::canonicalize(cwd).ok() {
        return Ok(None);
    }
    tollgate_config::Config::load(&path)
        .map(Some)
        .map_err(|e| usage(e.render()))
}

/// `None` when every path given is Rust-only (pytest would not be run).
fn collect_python(
    args: &CollectArgs,
    cwd: &Path,
    plugins: &[py::plugins::DeclaredPlugin],
    config: Option<&tollgate_config::Config>,
) -> anyhow::Result<Option<py::Collection>> {
    let opts = py::CollectOptions {
        invocation_dir: cwd.to_path_buf(),
        args: args
            .paths
            .iter()
            .filter(|p| !is_rust_only_path(p))
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        rootdir: args.rootdir.as_ref().map(|d| cwd.join(d)),
        config_file: args.config_file.as_ref().map(|f| cwd.join(f)),
        plugins: plugins.to_vec(),
    };
    if !args.paths.is_empty() && opts.args.is_empty() {
        return Ok(None);
    }
    // The cache lives in the project of the nearest tollgate.toml; without
    // one there is no project to keep it in, and nothing is written.
    let cache_root = if args.cache.no_cache {
        None
    } else {
        tollgate_config::Config::discover(cwd)
            .and_then(|config| config.parent().map(Path::to_path_buf))
    };
    crate::project::collect_python(
        &opts,
        cache_root.as_deref(),
        crate::project::cache_secrets(config),
    )
    .map(Some)
    .map_err(|e| usage(e.to_string()))
}

/// Under `--strict-markers` (or `strict_markers`/`strict` in the ini) pytest
/// refuses a `-m` expression that names an unregistered marker; so do we.
fn check_strict_markers(expr: &Expression, collection: &py::Collection) -> anyhow::Result<()> {
    if !collection.strict_markers {
        return Ok(());
    }
    let mut unknown: Vec<&str> = expr
        .marker_names()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| {
            !tollgate_config::markers::PYTEST_BUILTIN_MARKERS.contains(name)
                && !collection
                    .registered_markers
                    .iter()
                    .chain(&collection.plugin_markers)
                    .any(|(r, _)| r == name)
        })
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "Unknown marker(s) in '-m' expression: {}. Register them in the pytest ini \
         `markers` option (see `tollgate markers`).",
        unknown.join(", ")
    )))
}

fn collect_rust(args: &CollectArgs, cwd: &Path) -> anyhow::Result<Inventory> {
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        vec![cwd.to_path_buf()]
    } else {
        // A directory means "the workspace around it and every workspace
        // below"; a file (`Cargo.toml`) means only the workspace around it.
        args.paths
            .iter()
            .map(|p| {
                let text = p.to_string_lossy();
                cwd.join(text.split("::").next().unwrap_or_default())
            })
            .collect()
    };
    let opts = rs::CollectOptions {
        paths,
        features: rs::FeatureSelection {
            features: args
                .features
                .iter()
                .flat_map(|f| f.split([',', ' ']))
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            all_features: args.all_features,
            no_default_features: args.no_default_features,
        },
    };
    let packages = rs::PackageSelection {
        packages: args.package.clone(),
        workspace: args.workspace,
        exclude: args.exclude.clone(),
    };
    let collection = rs::collect_packages(&opts, &packages).map_err(|e| usage(e.to_string()))?;
    Ok(collection.inventory)
}

/// Paths that only mean something to Cargo; pytest is not given them.
fn is_rust_only_path(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("rs"))
        || path.file_name().is_some_and(|n| n == "Cargo.toml")
}

/// Keep the Rust tests nextest would list for this `--run-ignored` mode.
fn filter_ignored(mut inv: Inventory, mode: RunIgnored) -> Inventory {
    inv.tests.retain(|t| {
        let ignored = t.rust.as_ref().is_some_and(|r| r.ignored.is_some());
        match mode {
            RunIgnored::Default => !ignored,
            RunIgnored::Only => ignored,
            RunIgnored::All => true,
        }
    });
    inv
}

/// Indices of the tests an expression selects. Like pytest, `-m ''` selects everything.
pub fn select_indices(tests: &[TestItem], expr: Option<&Expression>) -> Vec<usize> {
    match expr {
        Some(expr) if !expr.skips_selection() => tests
            .iter()
            .enumerate()
            .filter(|(_, t)| expr.evaluate(*t))
            .map(|(i, _)| i)
            .collect(),
        _ => (0..tests.len()).collect(),
    }
}

pub fn render_ids(tests: &[&TestItem]) -> String {
    let mut out = String::with_capacity(tests.len() * 64);
    for t in tests {
        out.push_str(&t.id);
        out.push('\n');
    }
    out
}

pub fn render_json(tests: &[&TestItem], diagnostics: &[Diagnostic]) -> anyhow::Result<String> {
    #[derive(serde::Serialize)]
    struct View<'a> {
        tests: &'a [&'a TestItem],
        diagnostics: &'a [Diagnostic],
    }
    let mut s = serde_json::to_string_pretty(&View { tests, diagnostics })?;
    s.push('\n');
    Ok(s)
}

pub fn render_table(tests: &[&TestItem]) -> String {
    let rows: Vec<(String, String, String)> = tests
        .iter()
        .map(|t| {
            let lang = match t.language {
                Language::Python => "py",
                Language::Rust => "rs",
            };
            let mut markers = t.marker_names().join(" ");
            if t.dynamic.is_some() {
                markers.push_str(if markers.is_empty() {
                    "(dynamic)"
                } else {
                    " (dynamic)"
                });
            }
            (
                format!("{lang} {}", t.id),
                format!("{}:{}", t.file, t.line),
                markers,
            )
        })
        .collect();
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(8);
    let mut out = format!("{:<w0$}  {:<w1$}  MARKERS\n", "TEST", "LOCATION");
    for (id, loc, markers) in rows {
        out.push_str(format!("{id:<w0$}  {loc:<w1$}  {markers}").trim_end());
        out.push('\n');
    }
    out
}

fn summary_line(
    selected: &[&TestItem],
    total: usize,
    diagnostics: &[Diagnostic],
    elapsed: std::time::Duration,
) -> String {
    let python = selected
        .iter()
        .filter(|t| t.language == Language::Python)
        .count();
    let rust = selected.len() - python;
    let deselected = total - selected.len();
    let mut line = format!("{} tests ({python} python, {rust} rust)", selected.len());
    if deselected > 0 {
        line.push_str(&format!(", {deselected} deselected"));
    }
    if !diagnostics.is_empty() {
        line.push_str(&format!(", {} diagnostics", diagnostics.len()));
    }
    line.push_str(&format!(" in {:.2}s", elapsed.as_secs_f64()));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_inventory::{MarkOrigin, MarkSource, Marker, RustFacts};

    fn py_test(id: &str, markers: &[&str]) -> TestItem {
        let file = id.split("::").next().unwrap_or_default().to_string();
        TestItem {
            id: id.into(),
            language: Language::Python,
            file: file.clone(),
            line: 3,
            function: id.split('[').next().unwrap_or_default().into(),
            markers: markers
                .iter()
                .map(|m| {
                    Marker::new(
                        *m,
                        MarkOrigin {
                            file: file.clone(),
                            line: 2,
                            source: MarkSource::FunctionDecorator,
                            learned: None,
                        },
                    )
                })
                .collect(),
            dynamic: None,
            rust: None,
        }
    }

    fn rust_test(name: &str, ignored: bool) -> TestItem {
        TestItem {
            id: format!("runtime {name}"),
            language: Language::Rust,
            file: "lib/runtime/src/lib.rs".into(),
            line: 10,
            function: name.into(),
            markers: vec![],
            dynamic: None,
            rust: Some(RustFacts {
                package: "runtime".into(),
                target_kind: "lib".into(),
                target_name: "runtime".into(),
                binary_id: "runtime".into(),
                test_attribute: "test".into(),
                ignored: ignored.then(String::new),
                ..RustFacts::default()
            }),
        }
    }

    #[test]
    fn empty_expression_selects_everything_like_pytest() {
        let tests = vec![py_test("t.py::a", &["unit"]), py_test("t.py::b", &[])];
        let expr = Expression::parse("").expect("empty parses");
        assert_eq!(select_indices(&tests, Some(&expr)), [0, 1]);
        // A blank (not empty) expression is compiled by pytest and matches nothing.
        let expr = Expression::parse(" ").expect("blank parses");
        assert!(select_indices(&tests, Some(&expr)).is_empty());
        let expr = Expression::parse("unit").expect("parses");
        assert_eq!(select_indices(&tests, Some(&expr)), [0]);
        let expr = Expression::parse("not unit").expect("parses");
        assert_eq!(select_indices(&tests, Some(&expr)), [1]);
    }

    #[test]
    fn run_ignored_modes_mirror_nextest() {
        let inv = Inventory {
            tests: vec![rust_test("a", false), rust_test("b", true)],
            diagnostics: vec![],
        };
        let ids = |mode| -> Vec<String> {
            filter_ignored(inv.clone(), mode)
                .tests
                .into_iter()
                .map(|t| t.function)
                .collect()
        };
        assert_eq!(ids(RunIgnored::Default), ["a"]);
        assert_eq!(ids(RunIgnored::Only), ["b"]);
        assert_eq!(ids(RunIgnored::All), ["a", "b"]);
    }

    #[test]
    fn table_output() {
        let mut dynamic = py_test("tests/test_x.py::test_gen", &["unit"]);
        dynamic.dynamic = Some("argvalues come from a call".into());
        let tests = [
            py_test(
                "tests/test_x.py::test_a[1]",
                &["unit", "gpu_0", "pre_merge"],
            ),
            dynamic,
            rust_test("tests::it_works", false),
        ];
        let refs: Vec<&TestItem> = tests.iter().collect();
        insta::assert_snapshot!("collect_table", render_table(&refs));
    }

    #[test]
    fn rust_only_paths_are_not_given_to_pytest() {
        assert!(is_rust_only_path(Path::new("lib/x/src/lib.rs")));
        assert!(is_rust_only_path(Path::new("lib/x/Cargo.toml")));
        assert!(!is_rust_only_path(Path::new("tests/test_a.py")));
        assert!(!is_rust_only_path(Path::new("tests")));
    }
}
