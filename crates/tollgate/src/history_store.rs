//! Where the history store is and how commands open it (shared by every
//! command that reads or writes history).

use std::path::PathBuf;

use anyhow::Context;
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

/// Opens (creating a SQLite file if needed) the store [`store_location`] finds.
pub(crate) fn open_store(project: &Project, flag: Option<&str>) -> anyhow::Result<Store> {
    let location = match store_location(project, flag) {
        StoreLocation::Postgres(url) => url,
        StoreLocation::Sqlite(path) => path.display().to_string(),
    };
    Store::open(&location).with_context(|| format!("cannot open the store {}", redact(&location)))
}

/// Hides a password in a postgres URL.
pub(crate) fn redact(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &location[..scheme], &location[at + 1..])
        }
        _ => location.to_string(),
    }
}
