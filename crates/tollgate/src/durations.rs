//! What `plan --shards` and `run --shard` share: the recorded test durations
//! that balance shards, read the same way by both so that every runner of a
//! CI run splits the tests alike.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;

use crate::exit::usage;
use crate::health::now_ms;
use crate::history_store::{open_store, store_location, StoreLocation};
use crate::project::Project;

/// How far back recorded durations count for shard balancing.
const DURATION_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// Test durations from the history store, for balancing shards.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Mean seconds of passing attempts per test id; `None` without a store.
    pub durations: Option<HashMap<String, f64>>,
    /// Why there are none, when there are none.
    pub note: Option<String>,
}

/// The mean duration of each test's passing attempts over the last 30 days,
/// from `--store` or the configured store (`tollgate plan --shards` and
/// `tollgate run --shard` both read it this way, so they split alike as long
/// as the store does not change in between). A store that is
/// missing, empty or unreadable gives none, with a note: the shards are
/// then balanced by test count. A missing SQLite file is not created.
pub fn recorded_durations(project: &Project, flag: Option<&str>, until_ms: i64) -> Recorded {
    let fallback = "shards are balanced by test count";
    if let Some(path) = missing_sqlite_file(project, flag) {
        return Recorded {
            durations: None,
            note: Some(format!(
                "no history store at {}: {fallback}",
                path.display()
            )),
        };
    }
    let since = until_ms.min(now_ms()).saturating_sub(DURATION_WINDOW_MS);
    let read = open_store(project, flag).and_then(|mut store| {
        store
            .test_durations(since, until_ms, None)
            .context("cannot read test durations")
    });
    match read {
        Ok(rows) if rows.is_empty() => Recorded {
            durations: None,
            note: Some(format!(
                "the history store holds no test durations from the 30 days before {}: {fallback}",
                DurationsUntil::describe(until_ms)
            )),
        },
        Ok(rows) => Recorded {
            durations: Some(rows.into_iter().map(|d| (d.test_id, d.mean_s)).collect()),
            note: None,
        },
        Err(e) => Recorded {
            durations: None,
            note: Some(format!("{e:#}: {fallback}")),
        },
    }
}

/// The SQLite file the store would be opened at, when it does not exist.
fn missing_sqlite_file(project: &Project, flag: Option<&str>) -> Option<PathBuf> {
    match store_location(project, flag) {
        StoreLocation::Sqlite(path) if !path.exists() => Some(path),
        _ => None,
    }
}

/// `--durations-until`: which recorded runs count when balancing shards.
///
/// Shards of one CI run are planned independently on several runners; they
/// must split alike, so they must read the same durations even while other
/// runs (and their own earlier shards) are being recorded. Only runs that
/// finished before a fixed instant count: by default the start of the
/// current UTC day, the same on every runner of a pipeline that does not
/// straddle midnight. Give an explicit date (or `now`, for a single machine)
/// to choose otherwise.
#[derive(Debug, Clone, clap::Args)]
pub struct DurationsUntil {
    /// Balance shards by runs that finished before WHEN: `today` (00:00 UTC today, the
    /// default: every shard of a CI run reads the same durations while runs keep being
    /// recorded), `now`, a day `YYYY-MM-DD` (00:00 UTC), or milliseconds since the epoch.
    /// Give every shard the same value.
    #[arg(long = "durations-until", value_name = "WHEN", default_value = "today")]
    pub when: String,
}

impl DurationsUntil {
    /// The instant, in milliseconds since the epoch.
    pub fn ms(&self) -> anyhow::Result<i64> {
        parse_until(&self.when, now_ms()).ok_or_else(|| {
            usage(format!(
                "--durations-until {:?}: expected `today`, `now`, a date YYYY-MM-DD or milliseconds since the epoch",
                self.when
            ))
        })
    }

    /// `2026-11-22 00:00 UTC`, or the instant in milliseconds when it is not a whole day.
    fn describe(ms: i64) -> String {
        const DAY_MS: i64 = 86_400_000;
        if ms.rem_euclid(DAY_MS) == 0 {
            let day = tollgate_config::quarantine::Date::from_days_since_epoch(ms / DAY_MS);
            format!("{day} 00:00 UTC")
        } else {
            "now".to_string()
        }
    }
}

/// `today`, `now` or `YYYY-MM-DD` (00:00 UTC) as milliseconds since the epoch.
fn parse_until(text: &str, now_ms: i64) -> Option<i64> {
    const DAY_MS: i64 = 86_400_000;
    match text.trim() {
        "now" => Some(now_ms),
        "today" => Some(now_ms.div_euclid(DAY_MS) * DAY_MS),
        ms if !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()) => ms.parse().ok(),
        day => {
            let date = tollgate_config::quarantine::Date::parse(day)?;
            // Reject dates that do not exist (2026-02-30) by round-tripping.
            let days = date.days_since_epoch();
            (tollgate_config::quarantine::Date::from_days_since_epoch(days) == date)
                .then_some(days * DAY_MS)
        }
    }
}

/// How far back flakiness counts when choosing the default framework from
/// history (`default_framework = { prefer = [...] }`).
const FLAKY_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// The flake rate of each test that flaked over the last 30 days, from
/// `--store` or the configured store, when the config chooses its default
/// framework from history (else `None`, and the store is not opened). A
/// missing store gives `None`, an unreadable one `None` with a note: the
/// first preferred framework is then the default.
pub fn recorded_flakiness(
    project: &Project,
    flag: Option<&str>,
) -> (Option<HashMap<String, f64>>, Option<String>) {
    let wants = matches!(
        project.config.changes.default_framework,
        Some(tollgate_config::DefaultFramework::History(_))
    );
    if !wants {
        return (None, None);
    }
    let fallback = "the default framework is the first preferred one";
    // No store yet (a new project): no history, nothing to say.
    if missing_sqlite_file(project, flag).is_some() {
        return (None, None);
    }
    let since = now_ms().saturating_sub(FLAKY_WINDOW_MS);
    let read = open_store(project, flag).and_then(|mut store| {
        store
            .flaky_tests(&tollgate_store::FlakyQuery {
                since_ms: since,
                limit: u32::MAX,
                ..tollgate_store::FlakyQuery::default()
            })
            .context("cannot read flaky tests")
    });
    match read {
        Ok(report) => (
            Some(
                report
                    .flaky
                    .into_iter()
                    .map(|t| (t.test_id, t.flake_rate))
                    .collect(),
            ),
            None,
        ),
        Err(e) => (None, Some(format!("{e:#}: {fallback}"))),
    }
}

#[cfg(test)]
mod until_tests {
    use super::parse_until;

    #[test]
    fn durations_until_today_now_and_dates() {
        let now = 1_795_000_000_123; // 2026-11-18 10:26:40.123 UTC
        assert_eq!(parse_until("now", now), Some(now));
        assert_eq!(parse_until("today", now), Some(1_794_960_000_000));
        assert_eq!(parse_until("2026-11-18", now), Some(1_794_960_000_000));
        assert_eq!(parse_until("1970-01-02", now), Some(86_400_000));
        assert_eq!(parse_until("2026-02-30", now), None);
        assert_eq!(parse_until("1795000000000", now), Some(1_795_000_000_000));
        assert_eq!(parse_until("yesterday", now), None);
    }
}
