//! `tollgate learn`: real `pytest --collect-only` with tollgate's learn
//! plugin, in the project's environment; what it collected is recorded in
//! the history store, keyed by each file's content (see
//! `tollgate_discover_python::learned`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use tollgate_discover_python::learned;

use crate::exit::{usage, Status};

pub const EXAMPLES: &str = "Examples:
  tollgate learn                              what pytest collects from the project, recorded
  tollgate learn tests/ --python .venv/bin/python
  tollgate collect --verify                   where static discovery and pytest disagree

`collect`, `lint`, `plan` and `run` then use what pytest saw in place of the entries static \
discovery flags dynamic, for as long as each file, its conftest chain and the ini file are \
unchanged (`--no-learned` turns this off). Every pytest job of `tollgate run` records the same.

Exit codes: 0 recorded, 2 usage error, 3 pytest could not run or the store could not be written.";

#[derive(Debug, Args)]
pub struct LearnArgs {
    /// Files or directories, as you would pass them to pytest [default: pytest's own].
    pub paths: Vec<PathBuf>,

    /// pytest's `--rootdir`.
    #[arg(long, value_name = "DIR")]
    pub rootdir: Option<PathBuf>,

    /// pytest's `-c/--config-file`.
    #[arg(short = 'c', long = "config-file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// The interpreter with pytest and the project's plugins [default: `[run] python`,
    /// else `[run] venv` or `.venv`, else python3].
    #[arg(long, value_name = "PY")]
    pub python: Option<PathBuf>,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml,
    /// else .tollgate/history.db].
    #[arg(long, value_name = "URL|PATH")]
    pub store: Option<String>,
}

pub fn run(args: &LearnArgs) -> anyhow::Result<Status> {
    let started = Instant::now();
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let project = crate::learned::project_or_default(&cwd)?;
    let python = args.python.clone().unwrap_or_else(|| {
        tollgate_run::from_plan::python_interpreter(&project.config, &project.root)
    });

    // The plugin and its report live in a private directory (0700) that is
    // removed when learn ends.
    let scratch = tempfile::Builder::new()
        .prefix("tollgate-learn-")
        .tempdir()
        .context("cannot create a scratch directory")?;
    let plugin_dir =
        crate::learned::write_plugin(scratch.path()).context("cannot write the learn plugin")?;
    let report_path = scratch.path().join("report.json");

    let mut command = Command::new(&python);
    command.args([
        "-m",
        "pytest",
        "--collect-only",
        "-qq",
        "-p",
        learned::PLUGIN_MODULE,
    ]);
    if let Some(dir) = &args.rootdir {
        command.arg("--rootdir").arg(dir);
    }
    if let Some(file) = &args.config_file {
        command.arg("-c").arg(file);
    }
    command.args(&args.paths);
    command
        .current_dir(&cwd)
        .env("PYTHONPATH", crate::learned::pythonpath_with(&plugin_dir))
        .env(learned::OUTPUT_ENV, &report_path);
    let output = command.output().map_err(|e| {
        usage(format!(
            "cannot run {}: {e} (pass --python, or set `[run] python` in tollgate.toml)",
            python.display()
        ))
    })?;
    let pytest_took = started.elapsed();
    if output.status.code() == Some(4) {
        // pytest's own usage error (a path that does not exist, a bad option):
        // what it reports is not the project's collection.
        return Err(usage(format!(
            "pytest refused the arguments:\n{}",
            tail(&output.stdout, &output.stderr)
        )));
    }
    let text = match std::fs::read_to_string(&report_path) {
        Ok(text) => text,
        Err(_) => {
            eprintln!("{}", tail(&output.stdout, &output.stderr));
            eprintln!(
                "error: pytest ({}) ended with {} before collecting anything",
                python.display(),
                output.status
            );
            return Ok(Status::Infrastructure);
        }
    };
    let report = learned::parse_report(&text)?;
    if !report.errors.is_empty() {
        eprintln!("{}", tail(&output.stdout, &output.stderr));
        eprintln!(
            "warning: pytest could not collect {} (not recorded): {}",
            report.errors.len(),
            report.errors.join(", ")
        );
    }
    let now = crate::learned::now_ms();
    let id = format!("learn-{now}");
    let rows = crate::learned::rows(&report, &id, now);
    let items: usize = report.items.len();
    let mut store = crate::history_store::open_store(&project, args.store.as_deref())?;
    store
        .record_learned(&rows)
        .context("cannot record the learned items")?;
    eprintln!(
        "learned {items} items of {} files as {id} (pytest {:.2}s, total {:.2}s)",
        rows.len(),
        pytest_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(Status::Success)
}

/// The last lines pytest printed, for a message.
fn tail(stdout: &[u8], stderr: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(stderr));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
