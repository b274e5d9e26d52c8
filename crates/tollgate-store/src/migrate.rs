//! Versioned schema migrations, one SQL file per version per backend,
//! embedded in the binary. `schema_version` records what was applied.
//!
//! Add a migration by adding `migrations/{sqlite,postgres}/NNNN_name.sql` and
//! a [`MIGRATIONS`] entry; never edit an applied one.

pub(crate) struct Migration {
    pub version: u32,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_bench_by_run.sql"),
        postgres: include_str!("../migrations/postgres/0002_bench_by_run.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_copy_attempts.sql"),
        postgres: include_str!("../migrations/postgres/0003_copy_attempts.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_notify.sql"),
        postgres: include_str!("../migrations/postgres/0004_notify.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/sqlite/0005_learned.sql"),
        postgres: include_str!("../migrations/postgres/0005_learned.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../migrations/sqlite/0006_job_rollups.sql"),
        postgres: include_str!("../migrations/postgres/0006_job_rollups.sql"),
    },
];

/// The schema version this build writes.
pub const LATEST_VERSION: u32 = 6;

pub(crate) const CREATE_VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";

/// Migrations newer than `current`, in order.
pub(crate) fn pending(current: u32) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS.iter().filter(move |m| m.version > current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dense_and_end_at_latest() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST_VERSION));
        assert_eq!(pending(0).count(), MIGRATIONS.len());
        assert_eq!(pending(LATEST_VERSION).count(), 0);
    }
}
