//! The system under test: the `tollgate collect` binary.

use std::path::Path;
use std::process::Command;

use tollgate_inventory::Inventory;

use super::cases::Invocation;

/// What one `tollgate collect --format json` run produced.
#[derive(Debug)]
pub struct TollgateRun {
    pub exit_code: Option<i32>,
    /// `None` when stdout was not an inventory; `stdout` says what it was.
    pub inventory: Option<Inventory>,
    pub stdout: String,
    pub stderr: String,
}

fn command(project: &Path, invocation: &Invocation, format: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("tollgate"));
    cmd.current_dir(project.join(&invocation.cwd))
        .args(["collect", "--lang", "python", "--format", format])
        .args(extra)
        .args(invocation.options())
        .args(&invocation.paths);
    cmd
}

/// Runs `tollgate collect --lang python --format json` (plus `extra` flags).
pub fn collect_json(
    project: &Path,
    invocation: &Invocation,
    extra: &[&str],
) -> Result<TollgateRun, String> {
    let output = crate::common::checked_output(&mut command(project, invocation, "json", extra))
        .map_err(|e| format!("cannot run tollgate: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    Ok(TollgateRun {
        exit_code: output.status.code(),
        inventory: serde_json::from_str(&stdout).ok(),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Runs `tollgate collect --lang python --format ids`: one node id a line.
pub fn collect_ids(project: &Path, invocation: &Invocation) -> Result<Vec<String>, String> {
    let output = crate::common::checked_output(&mut command(project, invocation, "ids", &[]))
        .map_err(|e| format!("cannot run tollgate: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}
