//! Store errors.

/// Anything that can go wrong opening, migrating, writing or querying a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("cannot create the store directory {path}: {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The message carries the cause; it is not also a `source`, so that a
    /// chain printer does not say it twice.
    #[error("cannot lock {path} to open the store: {cause}")]
    Lock { path: String, cause: std::io::Error },
    #[error("the store's schema is at version {found}, newer than this tollgate understands ({supported}); upgrade tollgate")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("no run {0:?} in the store")]
    UnknownRun(String),
    #[error("cannot store: {0}")]
    Invalid(String),
    /// The store's location cannot be understood (a bad port in a URL, say):
    /// the user's input, not the server's fault.
    #[error("invalid store location: {0}")]
    BadLocation(String),
    /// A read command asked for a store that is not there.
    #[error("no history store at {0} (record a run first, or check the path)")]
    Missing(String),
    /// A job's rollup (see `job_rollups`) cannot be decoded: the store was
    /// damaged or written by something else.
    #[error("the stored rollup of job {job} is unreadable ({detail})")]
    CorruptRollup { job: i64, detail: String },
    /// The server did not answer in time.
    #[error("PostgreSQL: no answer from {server} within {seconds} s (set `connect_timeout` in the URL to wait longer)")]
    Timeout { server: String, seconds: u64 },
    /// A store operation (open, ingest, ...) outlasted the client-side
    /// deadline: the server accepted the connection and then stalled.
    #[error("PostgreSQL: {server} did not finish the {what} within {seconds} s; the connection was dropped (the deadline is `connect_timeout` plus twice `statement_timeout` from the URL, or {DEADLINE_ENV} in seconds)")]
    Stalled {
        server: String,
        what: String,
        seconds: u64,
    },
}

/// The environment variable that overrides the client-side deadline of a
/// PostgreSQL store operation (seconds).
pub const DEADLINE_ENV: &str = "TOLLGATE_STORE_DEADLINE";

/// `postgres::Error`'s own `Display` says only "db error"; the server's
/// message is in its source.
fn postgres_message(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(err) {
            Some(source) => format!("{err}: {source}"),
            None => err.to_string(),
        },
    }
}
