//! Harness comparing `tollgate collect` with real pytest on fixture projects.
//!
//! - [`cases`]: what to run (a fixture's `cases.toml`);
//! - [`oracle`]: pytest, through `tests/oracle/collect_oracle.py`;
//! - [`tollgate_cli`]: the binary under test;
//! - [`compare`]: the pure comparison and its report;
//! - [`project`]: fixture locations and throw-away copies;
//! - [`bad_input`]: the tree of files that cannot be collected.

pub mod bad_input;
pub mod cases;
pub mod compare;
pub mod oracle;
pub mod project;
pub mod tollgate_cli;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use tollgate_inventory::{Inventory, MarkSource, Severity};

use cases::{Case, CompareMode, FixtureCases, Invocation};
use compare::{Collected, Difference};
use oracle::{OracleRun, Python, Selection};
use project::ProjectCopy;

/// The interpreter to ask, or `None` (after a loud note) when pytest is not
/// installed. Under `CI` a missing pytest fails the test instead: the oracle
/// silently not running would make every agreement test pass.
pub fn require_python() -> Option<&'static Python> {
    static PYTHON: OnceLock<Result<Python, String>> = OnceLock::new();
    required(PYTHON.get_or_init(|| Python::find(&project::repo_root())))
}

/// [`require_python`] for the fixtures that model plugins: the interpreter
/// with them installed.
pub fn require_plugins_python() -> Option<&'static Python> {
    static PYTHON: OnceLock<Result<Python, String>> = OnceLock::new();
    required(PYTHON.get_or_init(|| Python::find_with_plugins(&project::repo_root())))
}

fn required(found: &'static Result<Python, String>) -> Option<&'static Python> {
    match found {
        Ok(python) => Some(python),
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("pytest is required for the agreement tests under CI: {reason}")
        }
        Err(reason) => {
            eprintln!();
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!! SKIPPED: python/pytest agreement not checked: {reason}");
            eprintln!(
                "!! Run scripts/test.sh once (it makes .venv and .venv-plugins), or set \
                 TOLLGATE_PYTHON / TOLLGATE_PLUGINS_PYTHON."
            );
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            None
        }
    }
}

/// pytest's answer reduced to what is compared.
pub fn from_oracle(run: &OracleRun) -> Collected {
    let mut c = Collected::default();
    for item in &run.items {
        let function = compare::function_of(&item.nodeid).to_owned();
        c.ids.push(item.nodeid.clone());
        c.markers.insert(item.nodeid.clone(), item.markers.clone());
        c.function_of.insert(item.nodeid.clone(), function.clone());
        c.function_markers
            .entry(function.clone())
            .or_default()
            .extend(item.function_markers.iter().cloned());
        if !item.param_markers.is_empty() {
            c.functions_with_param_marks.insert(function);
        }
    }
    c
}

/// tollgate's answer reduced to what is compared (Python items only).
pub fn from_inventory(inventory: &Inventory) -> Collected {
    let mut c = Collected::default();
    for test in inventory.tests.iter().filter(|t| t.rust.is_none()) {
        c.ids.push(test.id.clone());
        let names: BTreeSet<String> = test.markers.iter().map(|m| m.name.clone()).collect();
        c.markers.insert(test.id.clone(), names);
        c.function_of.insert(test.id.clone(), test.function.clone());
        let shared = test
            .markers
            .iter()
            .filter(|m| m.origin.source != MarkSource::Param)
            .map(|m| m.name.clone());
        c.function_markers
            .entry(test.function.clone())
            .or_default()
            .extend(shared);
        if test
            .markers
            .iter()
            .any(|m| m.origin.source == MarkSource::Param)
        {
            c.functions_with_param_marks.insert(test.function.clone());
        }
        if test.dynamic.is_some() {
            c.dynamic.insert(test.function.clone());
        }
    }
    c
}

/// Runs every case of fixture `name` (on a copy) and panics with a report of
/// every difference found.
pub fn check_fixture(name: &str) {
    let source = project::python_fixtures().join(name);
    let cases = FixtureCases::load(&source.join("cases.toml")).unwrap_or_else(|e| panic!("{e}"));
    let python = match cases.interpreter.as_deref() {
        None => require_python(),
        Some("plugins") => require_plugins_python(),
        Some(other) => {
            panic!("{name}/cases.toml: unknown interpreter `{other}` (expected \"plugins\")")
        }
    };
    let Some(python) = python else {
        return;
    };
    let copy = ProjectCopy::of(&source).unwrap_or_else(|e| panic!("copying {name}: {e}"));
    let report = check_project(python, copy.root(), &cases);
    assert!(
        report.is_empty(),
        "tollgate disagrees with pytest {} on fixture `{name}` \
         (tests/fixtures/python/{name}):{report}",
        python.pytest_version
    );
}

/// Checks a project outside the repository, in place (neither tool writes
/// into it): `TOLLGATE_AGREE_PROJECT=/path/to/project`, with `-m` expressions
/// in `TOLLGATE_AGREE_MARKEXPRS` (separated by `;`) and optional paths in
/// `TOLLGATE_AGREE_ARGS` (separated by whitespace). This is how a real suite
/// is compared; without the variable there is nothing to check.
pub fn check_external_project() {
    let Some(project) = std::env::var_os("TOLLGATE_AGREE_PROJECT") else {
        eprintln!("note: TOLLGATE_AGREE_PROJECT is not set: no external project to compare");
        return;
    };
    let Some(python) = require_python() else {
        return;
    };
    let split = |var: &str, sep: &dyn Fn(char) -> bool| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_default()
            .split(sep)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let cases = FixtureCases {
        interpreter: None,
        compare: CompareMode::Exact,
        dynamic_functions: Vec::new(),
        tolerate_collection_errors: true,
        cases: vec![Case {
            name: "external".to_owned(),
            cwd: None,
            args: split("TOLLGATE_AGREE_ARGS", &char::is_whitespace),
            rootdir: None,
            config: None,
            markexprs: split("TOLLGATE_AGREE_MARKEXPRS", &|c| c == ';'),
        }],
    };
    let root = Path::new(&project);
    let report = check_project(python, root, &cases);
    assert!(
        report.is_empty(),
        "tollgate disagrees with pytest {} on {}:{report}",
        python.pytest_version,
        root.display()
    );
}

/// Every case of `cases` on the project at `root`; the report is empty when
/// tollgate and pytest agree.
fn check_project(python: &Python, root: &Path, cases: &FixtureCases) -> String {
    let mut report = String::new();
    for case in &cases.cases {
        let diffs = check_case(python, root, cases, case);
        if !diffs.is_empty() {
            let _ = writeln!(
                report,
                "\n  case `{}`: {}",
                case.name,
                case.invocation(root)
            );
            for diff in diffs {
                let _ = write!(report, "{diff}");
            }
        }
    }
    report
}

fn oracle_run(
    python: &Python,
    root: &Path,
    invocation: &Invocation,
    select: &[String],
    tolerate_errors: bool,
) -> OracleRun {
    let run = oracle::collect(python, &project::oracle_script(), root, invocation, select)
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = !run.errors.is_empty() || !matches!(run.exit_code, 0 | 2 | 5);
    if failed && tolerate_errors {
        eprintln!(
            "note: pytest cannot import some files of {invocation}; they are left out:\n{}",
            run.error_summary()
        );
    } else {
        // The fixtures are valid pytest projects: an error here is a broken
        // fixture or oracle, not a tollgate bug.
        assert!(
            !failed,
            "pytest itself fails to collect {invocation} (exit {}):\n{}",
            run.exit_code,
            run.error_summary()
        );
    }
    run
}

/// Leaves out of `c` the files pytest could not import (an external suite may
/// need packages that are not installed here).
fn without_failed_files(c: Collected, oracle: &OracleRun) -> Collected {
    if oracle.errors.is_empty() {
        return c;
    }
    let failed: BTreeSet<&str> = oracle.errors.iter().map(|e| e.nodeid.as_str()).collect();
    c.filter_functions(|function| {
        let file = function.split("::").next().unwrap_or(function);
        !failed.contains(file)
    })
}

/// One case: the plain invocation, then each `-m` expression.
fn check_case(python: &Python, root: &Path, cases: &FixtureCases, case: &Case) -> Vec<Difference> {
    let invocation = case.invocation(root);
    let oracle = oracle_run(
        python,
        root,
        &invocation,
        &case.markexprs,
        cases.tolerate_collection_errors,
    );
    let pytest = from_oracle(&oracle);
    let tollgate = match run_tollgate(root, &invocation) {
        Ok(t) => t,
        Err(problem) => return vec![problem],
    };
    // `--format ids` must print what `--format json` lists, failed files or not.
    let ids_format = ids_format_difference(root, &invocation, &tollgate.collected);
    let tollgate = TollgateAnswer {
        collected: without_failed_files(tollgate.collected, &oracle),
        ..tollgate
    };
    let expected_dynamic: BTreeSet<String> = cases.dynamic_functions.iter().cloned().collect();
    let mut diffs = match cases.compare {
        CompareMode::Exact => compare::compare_exact(&pytest, &tollgate.collected),
        CompareMode::Function => {
            compare::compare_functions(&pytest, &tollgate.collected, &expected_dynamic)
        }
    };
    if cases.compare == CompareMode::Exact && !tollgate.errors.is_empty() {
        diffs.push(Difference::Problem(format!(
            "error diagnostics on a project pytest collects cleanly:\n{}",
            tollgate.errors.join("\n")
        )));
    }
    diffs.extend(ids_format);

    let universe = selection_universe(cases, &expected_dynamic, &pytest, &tollgate.collected);
    for expr in &case.markexprs {
        let selected = invocation.with_markexpr(expr);
        match oracle.selections.get(expr) {
            None => panic!("the oracle did not answer -m {expr:?}"),
            Some(Selection::Error { error }) => {
                diffs.extend(expect_usage_error(root, &selected, error));
            }
            Some(Selection::Selected {
                selected: by_pytest,
            }) => {
                let by_tollgate = match run_tollgate(root, &selected) {
                    Ok(t) => without_failed_files(t.collected, &oracle),
                    Err(problem) => {
                        diffs.push(problem);
                        continue;
                    }
                };
                let pytest_keys = selection_keys(
                    by_pytest
                        .iter()
                        .map(|id| (id.as_str(), compare::function_of(id))),
                    &expected_dynamic,
                );
                let tollgate_keys = collected_keys(&by_tollgate, &expected_dynamic);
                diffs.extend(compare::compare_selection(
                    expr,
                    &universe,
                    &pytest_keys,
                    &tollgate_keys,
                ));
            }
        }
    }
    diffs
}

/// pytest rejects `-m expr` (exit 4, a usage error); tollgate must too (exit 2).
fn expect_usage_error(
    root: &Path,
    invocation: &Invocation,
    pytest_error: &str,
) -> Option<Difference> {
    let run = match tollgate_cli::collect_json(root, invocation, &[]) {
        Ok(run) => run,
        Err(e) => return Some(Difference::Problem(e)),
    };
    (run.exit_code != Some(2)).then(|| {
        Difference::Problem(format!(
            "-m {:?}: pytest rejects it ({pytest_error}); tollgate exits {:?}, expected 2",
            invocation.markexpr.as_deref().unwrap_or_default(),
            run.exit_code
        ))
    })
}

/// What a selection is compared on: node ids, except for functions whose
/// values are dynamic, which are compared as whole functions.
fn selection_keys<'a>(
    ids_and_functions: impl IntoIterator<Item = (&'a str, &'a str)>,
    dynamic: &BTreeSet<String>,
) -> BTreeSet<String> {
    ids_and_functions
        .into_iter()
        .map(|(id, function)| {
            if let Some(module) = compare::dynamic_module_of(function, dynamic) {
                module.to_owned()
            } else if dynamic.contains(function) {
                function.to_owned()
            } else {
                id.to_owned()
            }
        })
        .collect()
}

/// [`selection_keys`] of everything in `c`.
fn collected_keys(c: &Collected, dynamic: &BTreeSet<String>) -> BTreeSet<String> {
    let pairs = c.ids.iter().map(|id| {
        let function = c.function_of.get(id).map_or(id.as_str(), String::as_str);
        (id.as_str(), function)
    });
    selection_keys(pairs, dynamic)
}

/// Keys both tools collected without `-m`. Dynamic functions whose cases carry
/// their own marks are left out: which case has which mark is unknowable.
fn selection_universe(
    cases: &FixtureCases,
    dynamic: &BTreeSet<String>,
    pytest: &Collected,
    tollgate: &Collected,
) -> BTreeSet<String> {
    let both: BTreeSet<String> = collected_keys(pytest, dynamic)
        .intersection(&collected_keys(tollgate, dynamic))
        .cloned()
        .collect();
    if cases.compare == CompareMode::Exact {
        return both;
    }
    both.into_iter()
        .filter(|key| !pytest.functions_with_param_marks.contains(key) || !dynamic.contains(key))
        .collect()
}

struct TollgateAnswer {
    collected: Collected,
    /// Error diagnostics, as printed.
    errors: Vec<String>,
}

fn run_tollgate(root: &Path, invocation: &Invocation) -> Result<TollgateAnswer, Difference> {
    let run = tollgate_cli::collect_json(root, invocation, &[]).map_err(Difference::Problem)?;
    let describe = |what: &str| {
        Difference::Problem(format!(
            "tollgate collect {invocation}: {what}\n  stdout: {}\n  stderr: {}",
            run.stdout.trim(),
            run.stderr.trim()
        ))
    };
    // 5 is pytest's (and tollgate's) exit code for a `-m` that selects nothing.
    if !matches!(run.exit_code, Some(0) | Some(5)) {
        return Err(describe(&format!(
            "exit {:?} (expected 0 or 5)",
            run.exit_code
        )));
    }
    let Some(inventory) = run.inventory.as_ref() else {
        return Err(describe("stdout is not an inventory JSON"));
    };
    if (run.exit_code == Some(5)) != (invocation.markexpr.is_some() && inventory.tests.is_empty()) {
        return Err(describe(&format!(
            "exit {:?} with {} test(s) selected (5 exactly when -m selects nothing)",
            run.exit_code,
            inventory.tests.len()
        )));
    }
    Ok(TollgateAnswer {
        collected: from_inventory(inventory),
        errors: inventory
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect(),
    })
}

/// `--format ids` must print exactly the ids of `--format json`.
fn ids_format_difference(
    root: &Path,
    invocation: &Invocation,
    json: &Collected,
) -> Option<Difference> {
    match tollgate_cli::collect_ids(root, invocation) {
        Err(e) => Some(Difference::Problem(format!("--format ids failed: {e}"))),
        Ok(ids) => {
            let printed: BTreeSet<String> = ids.into_iter().collect();
            let (only_json, only_ids): (Vec<_>, Vec<_>) = (
                json.id_set().difference(&printed).cloned().collect(),
                printed.difference(&json.id_set()).cloned().collect(),
            );
            (!only_json.is_empty() || !only_ids.is_empty()).then(|| {
                Difference::Problem(format!(
                    "--format ids differs from --format json: only in json {only_json:?}, only in ids {only_ids:?}"
                ))
            })
        }
    }
}

/// The oracle answers `-m` in-process (one pytest run per invocation); this
/// checks those answers against real `pytest -m` runs for every expression of
/// fixture `name`, so the shortcut cannot drift from pytest.
pub fn check_oracle_selections(name: &str) {
    let Some(python) = require_python() else {
        return;
    };
    let source = project::python_fixtures().join(name);
    let cases = FixtureCases::load(&source.join("cases.toml")).unwrap_or_else(|e| panic!("{e}"));
    let copy = ProjectCopy::of(&source).unwrap_or_else(|e| panic!("copying {name}: {e}"));
    let mut checked = 0;
    for case in &cases.cases {
        let invocation = case.invocation(copy.root());
        let in_process = oracle_run(python, copy.root(), &invocation, &case.markexprs, false);
        for expr in &case.markexprs {
            let real = oracle::collect(
                python,
                &project::oracle_script(),
                copy.root(),
                &invocation.with_markexpr(expr),
                &[],
            );
            match (in_process.selections.get(expr), real) {
                (Some(Selection::Selected { selected }), Ok(run)) => {
                    let real_ids: Vec<String> = run.items.into_iter().map(|i| i.nodeid).collect();
                    assert_eq!(selected, &real_ids, "-m {expr:?} in {name}/{}", case.name);
                }
                (Some(Selection::Error { .. }), Err(_)) => {}
                (answer, real) => panic!(
                    "-m {expr:?} in {name}/{}: in-process {answer:?}, real pytest {real:?}",
                    case.name
                ),
            }
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "fixture {name} has no -m expressions to cross-check"
    );
}
