//! Agreement between `tollgate collect --lang python` and real pytest.
//!
//! Each project under `tests/fixtures/python/` (repository root) is collected
//! by pytest itself (through `tests/oracle/collect_oracle.py`) and by the
//! `tollgate` binary, for every invocation its `cases.toml` lists. They must
//! agree on the node ids, on the marker names of each id (pytest's
//! `item.iter_markers()`), and on what each `-m` expression selects.
//!
//! pytest is the oracle: if it cannot be imported these tests fail under `CI`
//! and are skipped with a loud note otherwise. `TOLLGATE_PYTHON` chooses the
//! interpreter (default: `<repo>/.venv/bin/python`, then `python3`).

mod agreement;
mod common;

/// One `#[test]` per fixture project, so a failure names its fixture.
macro_rules! fixture_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                agreement::check_fixture(stringify!($name));
            }
        )*

        const FIXTURES: &[&str] = &[$(stringify!($name)),*];
    };
}

fixture_tests!(
    addopts_options,
    args_files_dirs,
    classes,
    cli_config_rootdir,
    collect_ignore,
    cross_module,
    dynamic,
    hard_edges,
    helper_params,
    import_time_generation,
    ini_dot_pytest_ini,
    ini_none,
    ini_none_setup_py,
    ini_pyproject_ini_options,
    ini_pyproject_native,
    ini_pytest_ini,
    ini_pytest_toml,
    ini_setup_cfg,
    ini_syntax,
    ini_tox,
    marks_aliases,
    marks_decorators,
    marks_module_class,
    norecursedirs_default,
    norecursedirs_override,
    packages,
    parametrize_ids,
    parametrize_structure,
    plugin_models,
    python_patterns,
    realworld_patterns,
    same_basename_importlib,
    strict_markers,
    testpaths_globs,
    unittest_cases,
);

#[test]
fn every_fixture_project_has_a_test() {
    let on_disk = agreement::project::fixture_names().expect("listing tests/fixtures/python");
    let listed: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "add the fixture to fixture_tests!(...) in this file (or remove the stale name)"
    );
}

#[test]
fn bad_input_tree() {
    agreement::bad_input::check();
}

/// The oracle's one-run `-m` answers equal real `pytest -m` runs (matches,
/// keyword arguments, the empty expression, and a strict-markers rejection).
#[test]
fn oracle_selections_match_real_dash_m() {
    agreement::check_oracle_selections("marks_decorators");
    agreement::check_oracle_selections("strict_markers");
}

/// Compares a real suite when `TOLLGATE_AGREE_PROJECT` points at one (see
/// `agreement::check_external_project`); does nothing otherwise.
#[test]
fn external_project() {
    agreement::check_external_project();
}
