//! The oracle: real pytest, driven through `tests/oracle/collect_oracle.py`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::cases::Invocation;

/// A Python interpreter that can import pytest.
#[derive(Debug, Clone)]
pub struct Python {
    pub program: PathBuf,
    pub pytest_version: String,
    /// Installed plugins load (the interpreter of the plugin fixtures);
    /// otherwise none does.
    pub autoload_plugins: bool,
}

impl Python {
    /// `TOLLGATE_PYTHON`, else `<repo>/.venv/bin/python`, else `python3`; an
    /// error (saying why) when that interpreter cannot import pytest.
    pub fn find(repo: &Path) -> Result<Python, String> {
        let program = match std::env::var_os("TOLLGATE_PYTHON") {
            Some(explicit) => PathBuf::from(explicit),
            None => {
                let venv = repo.join(".venv/bin/python");
                if venv.exists() {
                    venv
                } else {
                    PathBuf::from("python3")
                }
            }
        };
        Python::at(program, false)
    }

    /// The interpreter whose installed plugins the `interpreter = "plugins"`
    /// fixtures model: `TOLLGATE_PLUGINS_PYTHON`, else
    /// `<repo>/.venv-plugins/bin/python` (made by scripts/test.sh).
    pub fn find_with_plugins(repo: &Path) -> Result<Python, String> {
        let program = std::env::var_os("TOLLGATE_PLUGINS_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join(".venv-plugins/bin/python"));
        Python::at(program, true)
    }

    fn at(program: PathBuf, autoload_plugins: bool) -> Result<Python, String> {
        let output = Command::new(&program)
            .args(["-c", "import pytest; print(pytest.__version__)"])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} cannot import pytest: {}",
                program.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let pytest_version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok(Python {
            program,
            pytest_version,
            autoload_plugins,
        })
    }
}

/// One item pytest collected (see `tests/oracle/markers_plugin.py`).
#[derive(Debug, Clone, Deserialize)]
pub struct OracleItem {
    pub nodeid: String,
    /// Names from `item.iter_markers()`.
    pub markers: BTreeSet<String>,
    /// Names of the marks not coming from `pytest.param(..., marks=...)`.
    pub function_markers: BTreeSet<String>,
    /// Names of the marks coming from `pytest.param(..., marks=...)`.
    pub param_markers: BTreeSet<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OracleError {
    pub nodeid: String,
    pub message: String,
}

/// What `-m EXPR` keeps, as computed by pytest's own `-m` code.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Selection {
    Selected {
        selected: Vec<String>,
    },
    /// pytest rejects the expression (syntax, or an unknown marker under strict markers).
    Error {
        error: String,
    },
}

/// What one pytest run collected.
#[derive(Debug, Clone, Deserialize)]
pub struct OracleRun {
    pub exit_code: i32,
    pub items: Vec<OracleItem>,
    pub errors: Vec<OracleError>,
    /// Answers to the `select` expressions given to [`collect`].
    #[serde(default)]
    pub selections: BTreeMap<String, Selection>,
}

impl OracleRun {
    /// The last line of each collection error: enough to see what went wrong.
    pub fn error_summary(&self) -> String {
        self.errors
            .iter()
            .map(|e| {
                let last = e.message.lines().last().unwrap_or_default();
                format!("  {}: {last}", e.nodeid)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs pytest's collection for `invocation` inside `project`, and answers
/// what each of `select` (`-m` expressions) would keep.
///
/// Selections are computed in the same run to keep the suite fast (one pytest
/// start per invocation instead of one per expression); the
/// `oracle_selections_match_real_dash_m` test checks them against real
/// `pytest -m` runs.
pub fn collect(
    python: &Python,
    script: &Path,
    project: &Path,
    invocation: &Invocation,
    select: &[String],
) -> Result<OracleRun, String> {
    let mut cmd = Command::new(&python.program);
    cmd.arg(script)
        .arg("--project")
        .arg(project.join(&invocation.cwd))
        .arg("--with-errors");
    if python.autoload_plugins {
        cmd.arg("--autoload-plugins");
    }
    for expr in select {
        // `--select=` keeps an expression starting with `-` (or empty) one argument.
        cmd.arg(format!("--select={expr}"));
    }
    let output = cmd
        .args(invocation.options())
        .arg("--")
        .args(&invocation.paths)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "pytest oracle failed for {invocation} (exit {:?}): {e}\nstderr:\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
