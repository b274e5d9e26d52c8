//! `tollgate quarantine add|remove|list`: edit `.tollgate/quarantine.toml`
//! (or the file `[quarantine] file` names).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use tollgate_config::Config;
use tollgate_run::{Date, Quarantine, QuarantineEntry};

use crate::exit::{usage, Status};

/// Manage quarantined tests: they run, but cannot fail the run.
#[derive(Debug, Args)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    pub action: QuarantineAction,

    /// The config file [default: the nearest tollgate.toml in the current directory or above].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineAction {
    /// Quarantine a test id, or a pattern with `*` and `?` (replaces an entry with the same id).
    /// Warns when it matches no test collected in the project.
    #[command(after_help = "Example:
  tollgate quarantine add 'tests/test_x.py::test_y' --reason 'races the cache' --owner @ana \\
      --issue https://github.com/org/repo/issues/12 --expires 2026-12-31")]
    Add {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        owner: Option<String>,
        /// Link to the issue tracking the fix.
        #[arg(long)]
        issue: Option<String>,
        /// Last day the entry applies (YYYY-MM-DD, UTC); a day already past is refused.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
    },
    /// Remove the entry whose id (or pattern) is exactly ID.
    #[command(after_help = "Example:
  tollgate quarantine remove 'tests/test_x.py::test_y'")]
    Remove { id: String },
    /// List entries; expired ones are marked.
    #[command(after_help = "Example:
  tollgate quarantine list")]
    List,
}

pub fn run(args: &QuarantineArgs) -> anyhow::Result<Status> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let config_path = match &args.config {
        Some(path) => cwd.join(path),
        None => Config::discover(&cwd).ok_or_else(|| {
            usage(format!(
                "no tollgate.toml in {} or above (pass --config FILE)",
                cwd.display()
            ))
        })?,
    };
    let config = Config::load(&config_path).map_err(|e| usage(e.render()))?;
    let root = config_path
        .parent()
        .map_or_else(|| cwd.clone(), Path::to_path_buf);
    let path = root.join(&config.quarantine.file);
    let mut quarantine = Quarantine::load(&path).map_err(|e| usage(e.to_string()))?;
    let today = Date::today_utc();
    match &args.action {
        QuarantineAction::Add {
            id,
            reason,
            owner,
            issue,
            expires,
        } => {
            if let Some(problem) = tollgate_config::quarantine::too_broad(id) {
                return Err(usage(format!("{id:?} {problem}")));
            }
            if let Some(text) = expires {
                let Some(day) = Date::parse(text) else {
                    return Err(usage(format!("--expires {text:?}: expected YYYY-MM-DD")));
                };
                // An entry past its last day never applies (and lint reports
                // it): writing one is always a mistake.
                if day < today {
                    return Err(usage(format!(
                        "--expires {text}: that day is already past (today is {today}, UTC), \
                         so the entry would never apply; give the last day the quarantine \
                         should still hold"
                    )));
                }
            }
            if config.quarantine.require_issue && issue.is_none() {
                return Err(usage(
                    "this project requires --issue for every quarantine entry",
                ));
            }
            if config.quarantine.require_expiry && expires.is_none() {
                return Err(usage(
                    "this project requires --expires for every quarantine entry",
                ));
            }
            quarantine.add(QuarantineEntry {
                id: id.clone(),
                reason: reason.clone(),
                owner: owner.clone(),
                issue: issue.clone(),
                expires: expires.clone(),
            });
            quarantine.save(&path)?;
            eprintln!("quarantined {id} in {}", path.display());
            warn_if_unmatched(id, &config_path, &root, &config);
        }
        QuarantineAction::Remove { id } => {
            if !quarantine.remove(id) {
                return Err(usage(format!(
                    "no quarantine entry with id {id:?} in {}",
                    path.display()
                )));
            }
            quarantine.save(&path)?;
            eprintln!("removed {id} from {}", path.display());
        }
        QuarantineAction::List => {
            let expired: Vec<usize> = tollgate_run::expired_entries(&quarantine, today)
                .into_iter()
                .map(|e| e.index)
                .collect();
            let mut out = io::stdout().lock();
            for (i, e) in quarantine.entries.iter().enumerate() {
                let mut line = format!("{}  {}", e.id, e.reason);
                for (label, value) in [
                    ("owner", &e.owner),
                    ("issue", &e.issue),
                    ("expires", &e.expires),
                ] {
                    if let Some(v) = value {
                        line.push_str(&format!("  {label}={v}"));
                    }
                }
                if expired.contains(&i) {
                    line.push_str("  [EXPIRED]");
                }
                let _ = writeln!(out, "{line}");
            }
        }
    }
    Ok(Status::Success)
}

/// Warns (on stderr; the entry stays) when `pattern` matches no test that
/// tollgate collects in the project: a typo in an id would otherwise
/// quarantine nothing without a word. A test not collectable here (another
/// language's, one added later) is why this is a warning, not an error.
fn warn_if_unmatched(pattern: &str, config_path: &Path, root: &Path, config: &Config) {
    let project = crate::project::Project {
        config_path: config_path.to_path_buf(),
        root: root.to_path_buf(),
        config: config.clone(),
    };
    match project.collect() {
        Ok(found) => {
            let tests = &found.inventory.tests;
            if !tests
                .iter()
                .any(|t| tollgate_config::quarantine::id_matches(pattern, &t.id))
            {
                eprintln!(
                    "warning: {pattern} matches none of the {} tests collected here \
                     (check the id with `tollgate collect --format ids`); the entry is kept",
                    tests.len()
                );
            }
        }
        Err(e) => eprintln!("warning: cannot check which tests {pattern} matches: {e:#}"),
    }
}
