//! Where the history store is and how commands open it (shared by every
//! command that reads or writes history).

use std::path::PathBuf;

use tollgate_store::Store;

use crate::project::Project;

/// Where the history store is: `--store`, else `[store] url_env`, else
/// `[store] url`; a relative SQLite path is relative to the project root.
pub(crate) enum StoreLocation {
    Postgres(String),
    Sqlite(PathBuf),
}

pub(crate) fn store_location(project: &Project, flag: Option<&str>) -> StoreLocation {
    let configured = &project.config.store;
    let location = flag
        .map(str::to_string)
        .or_else(|| {
            configured
                .url_env
                .as_deref()
                .and_then(|name| std::env::var(name).ok())
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_else(|| configured.url.clone());
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        StoreLocation::Postgres(location)
    } else {
        let path = location.strip_prefix("sqlite://").unwrap_or(&location);
        StoreLocation::Sqlite(project.root.join(path))
    }
}

/// `TOLLGATE_STORE_DEADLINE` (seconds): replaces the client-side deadline of
/// a PostgreSQL store operation ([`tollgate_store::operation_deadline`]).
/// Anything but a positive whole number is a usage error.
pub(crate) fn deadline_override() -> anyhow::Result<Option<u64>> {
    let name = tollgate_store::DEADLINE_ENV;
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Some(secs)),
            _ => Err(crate::exit::usage(format!(
                "{name}={v:?}: expected a whole number of seconds above 0"
            ))),
        },
    }
}

/// Opens (creating a SQLite file if needed) the store [`store_location`] finds.
pub(crate) fn open_store(project: &Project, flag: Option<&str>) -> anyhow::Result<Store> {
    let location = location_text(project, flag);
    store_result(&location, Store::open(&location))
}

/// Opens (creating a SQLite file if needed) the store [`store_location`]
/// finds and runs `work` on it, on a thread, within the client-side deadline
/// of a PostgreSQL store (see [`tollgate_store::with_deadline`]): a server
/// that stalls mid-query cannot hang the command. `what` names the work in
/// the error on expiry.
pub(crate) fn with_store<T: Send + 'static>(
    project: &Project,
    flag: Option<&str>,
    what: &str,
    work: impl FnOnce(Store) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let location = location_text(project, flag);
    let override_secs = deadline_override()?;
    let shown = redact(&location);
    let opening = location.clone();
    tollgate_store::with_deadline(&location, what, override_secs, move || {
        work(store_result(&opening, Store::open(&opening))?)
    })
    .map_err(|e| match e.downcast_ref::<tollgate_store::StoreError>() {
        Some(tollgate_store::StoreError::Stalled { .. }) => {
            e.context(format!("cannot use the store {shown}"))
        }
        _ => e,
    })
}

/// Opens the store [`store_location`] finds for reading only: a store that
/// does not exist is an error (exit 2), not a new empty store; a read-only
/// one can be read.
pub(crate) fn open_store_read(project: &Project, flag: Option<&str>) -> anyhow::Result<Store> {
    let location = location_text(project, flag);
    store_result(&location, Store::open_read(&location))
}

fn location_text(project: &Project, flag: Option<&str>) -> String {
    match store_location(project, flag) {
        StoreLocation::Postgres(url) => url,
        StoreLocation::Sqlite(path) => path.display().to_string(),
    }
}

/// A store error with its location (password hidden); the user's mistakes
/// (a malformed URL, a missing store) are usage errors.
fn store_result(
    location: &str,
    result: Result<Store, tollgate_store::StoreError>,
) -> anyhow::Result<Store> {
    use tollgate_store::StoreError;
    let shown = redact(location);
    match result {
        Ok(store) => Ok(store),
        Err(e @ (StoreError::BadLocation(_) | StoreError::Missing(_))) => Err(crate::exit::usage(
            format!("cannot open the store {shown}: {e}"),
        )),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot open the store {shown}"))),
    }
}

/// Hides a password in a postgres URL, in its user part and its query string.
pub(crate) fn redact(location: &str) -> String {
    tollgate_store::display_location(location)
}
