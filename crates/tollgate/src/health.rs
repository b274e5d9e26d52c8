//! What the commands that read the history store share (`report`, `serve`,
//! `metrics`, `gate`, `flaky`, `history`, ...): the store, the clock and
//! windows, stdout, the redactor and the component map of the project.

use anyhow::Context;
use tollgate_report::{ComponentDef, Components};
use tollgate_run::Redactor;

use crate::exit::usage;
use crate::project::Project;

/// The history store the project's commands use (`--store`, else `[store]`),
/// opened for reading only: `report`, `serve` and `metrics` never create a
/// store at a mistyped path (a usage error, exit 2) and read a read-only one.
pub fn open_store(project: &Project, flag: Option<&str>) -> anyhow::Result<tollgate_store::Store> {
    crate::history_store::open_store_read(project, flag)
}

/// The secrets of `[run.redact]` plus the default token variables, over this
/// process's environment: nothing they cover is ever printed or served.
pub fn redactor(project: &Project) -> anyhow::Result<Redactor> {
    let redact = &project.config.run.redact;
    Redactor::from_process_env(&redact.env, &redact.patterns).map_err(|e| {
        usage(format!(
            "{}: [run.redact]: {e}",
            project.config_path.display()
        ))
    })
}

/// A redaction function for [`tollgate_report::redact_value`].
pub fn redact_fn(redactor: Redactor) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    move |text: &str| match redactor.redact(text) {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(s) => Some(s),
    }
}

/// `[components]` as the report attributes tests, with `[owners]`
/// (CODEOWNERS, fallback) for the owners of tests outside every component.
pub fn components(project: &Project) -> anyhow::Result<Components> {
    let defs = project
        .config
        .components
        .iter()
        .map(|(name, c)| ComponentDef {
            name: name.to_string(),
            paths: c.paths.clone(),
            packages: c.packages.clone(),
            owner: c.owner.clone(),
            critical: c.critical,
        })
        .collect();
    let components = Components::new(defs)
        .map_err(|e| usage(format!("{}: {e}", project.config_path.display())))
        .context("cannot read the components")?;
    Ok(components.with_owners(crate::failures::resolver(project)?))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Writes a command's output; a closed pipe is not an error.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        _ => Ok(()),
    }
}

/// Quarantine entries and those expired or expiring within 7 days.
pub fn quarantine_figures(
    project: &Project,
) -> anyhow::Result<tollgate_report::metrics::QuarantineFigures> {
    let path = project.root.join(&project.config.quarantine.file);
    let quarantine = tollgate_run::Quarantine::load(&path).map_err(|e| usage(e.to_string()))?;
    let soon = tollgate_run::Date::today_utc().days_since_epoch() + 7;
    let expiring = quarantine
        .entries
        .iter()
        .filter(|e| {
            e.expires
                .as_deref()
                .and_then(tollgate_run::Date::parse)
                .is_some_and(|d| d.days_since_epoch() <= soon)
        })
        .count();
    Ok(tollgate_report::metrics::QuarantineFigures {
        quarantined: quarantine.entries.len() as u64,
        expiring: expiring as u64,
    })
}

/// Milliseconds of a duration flag such as `30d`.
pub fn window_ms(flag: &str, text: &str) -> anyhow::Result<i64> {
    let window = tollgate_config::parse_duration(text)
        .map_err(|e| usage(format!("invalid {flag} {text:?}: {e}")))?;
    Ok(i64::try_from(window.as_millis()).unwrap_or(i64::MAX))
}
