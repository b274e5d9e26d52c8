//! `tollgate store`: upkeep of the history store — its size and span
//! (`stats`), retention (`prune --keep 90d`) and schema migrations
//! (`migrate`, `migrate --check`).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Subcommand};
use tollgate_config::parse_duration;
use tollgate_store::Store;

use crate::exit::{usage, Status};
use crate::history_store::{open_store, redact, store_location, StoreLocation};
use crate::project::ConfigLocation;

#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL", global = true)]
    pub store: Option<String>,

    #[command(subcommand)]
    pub action: StoreAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Rows per table, size on disk, oldest and newest run, schema version.
    #[command(after_help = "Examples:
  tollgate store stats
  tollgate store stats --store postgres://ci@db/tollgate --format json")]
    Stats {
        #[arg(long, value_enum, default_value_t = StoreFormat::Table)]
        format: StoreFormat,
    },
    /// Drop the raw results (test attempts, coverage by file) of runs older
    /// than the window, in one transaction. The runs stay, with their jobs
    /// (status, times, first-attempt counts), each test's state and time per
    /// job (the rollups reports read), benchmark samples and gate verdicts.
    #[command(after_help = "Examples:
  tollgate store prune --keep 90d
  tollgate store prune --keep 30d --store postgres://ci@db/tollgate")]
    Prune {
        /// Keep the raw results of runs started within this window (e.g. 90d, 12w).
        #[arg(long, value_name = "DURATION")]
        keep: String,
        #[arg(long, value_enum, default_value_t = StoreFormat::Table)]
        format: StoreFormat,
    },
    /// Bring the schema up to date (opening a store for writing does this
    /// too) and build the per-job rollups reports read for jobs stored
    /// without one (by an older tollgate); with --check, only report the
    /// schema: exit 0 when up to date, 1 when migrations are pending or the
    /// store is newer than this tollgate.
    /// Safe from several runners at once: migrations are serialised (an
    /// advisory lock on PostgreSQL, a lock file and an immediate
    /// transaction on SQLite) and each applies once.
    #[command(after_help = "Examples:
  tollgate store migrate --check        exit 1 if this tollgate would change the schema
  tollgate store migrate --store postgres://ci@db/tollgate")]
    Migrate {
        /// Report pending migrations without applying them or creating a store.
        #[arg(long)]
        check: bool,
    },
}

pub fn run(args: &StoreArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    match &args.action {
        StoreAction::Stats { format } => {
            let mut store = open_store(&project, args.store.as_deref())?;
            let stats = store
                .stats()
                .context("cannot read the store's statistics")?;
            let out = if *format == StoreFormat::Json {
                serde_json::to_string_pretty(&stats)? + "\n"
            } else {
                let mut out = String::new();
                let when = |ms: Option<i64>| ms.map_or_else(|| "-".to_string(), format_ms);
                let _ = writeln!(
                    out,
                    "backend         {} (schema version {})",
                    stats.backend, stats.schema_version
                );
                let _ = writeln!(out, "size            {}", human_bytes(stats.size_bytes));
                let _ = writeln!(
                    out,
                    "runs            {} ({} pruned)",
                    stats.runs, stats.pruned_runs
                );
                let _ = writeln!(out, "oldest run      {}", when(stats.oldest_run_ms));
                let _ = writeln!(out, "newest run      {}", when(stats.newest_run_ms));
                let _ = writeln!(out, "jobs            {}", stats.jobs);
                let _ = writeln!(out, "tests           {}", stats.tests);
                let _ = writeln!(out, "test attempts   {}", stats.attempts);
                let _ = writeln!(out, "coverage files  {}", stats.coverage_files);
                let _ = writeln!(out, "bench samples   {}", stats.bench_samples);
                let _ = writeln!(out, "gate verdicts   {}", stats.verdicts);
                out
            };
            print!("{out}");
            Ok(Status::Success)
        }
        StoreAction::Prune { keep, format } => {
            let window =
                parse_duration(keep).map_err(|e| usage(format!("invalid --keep {keep:?}: {e}")))?;
            let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
            let before = now_ms().saturating_sub(window_ms);
            let mut store = open_store(&project, args.store.as_deref())?;
            let summary = store.prune(before).context("cannot prune the store")?;
            if *format == StoreFormat::Json {
                print!("{}", serde_json::to_string_pretty(&summary)? + "\n");
            } else {
                println!(
                    "pruned runs started before {}: {} runs, {} test attempts, {} coverage files, {} test ids",
                    format_ms(before),
                    summary.runs,
                    summary.attempts,
                    summary.coverage_files,
                    summary.tests
                );
            }
            Ok(Status::Success)
        }
        StoreAction::Migrate { check } => {
            let location = match store_location(&project, args.store.as_deref()) {
                StoreLocation::Postgres(url) => url,
                StoreLocation::Sqlite(path) => path.display().to_string(),
            };
            let shown = redact(&location);
            let status = Store::migration_status(&location)
                .with_context(|| format!("cannot read the schema version of {shown}"))?;
            if status.too_new() {
                println!(
                    "{shown}: schema version {} is newer than this tollgate ({}); upgrade tollgate",
                    status.current, status.latest
                );
                return Ok(Status::Findings);
            }
            let pending = status.pending();
            if pending.is_empty() && !*check {
                let mut store = open_store(&project, args.store.as_deref())?;
                println!("{shown}: schema version {}, up to date", status.current);
                report_rollups(&mut store, &shown)?;
                return Ok(Status::Success);
            }
            if pending.is_empty() {
                println!("{shown}: schema version {}, up to date", status.current);
                return Ok(Status::Success);
            }
            let list = pending
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if *check {
                if status.current == 0 {
                    println!(
                        "{shown}: no store yet; `tollgate store migrate` would create it at schema version {}",
                        status.latest
                    );
                } else {
                    println!(
                        "{shown}: schema version {}; pending migrations: {list}",
                        status.current
                    );
                }
                return Ok(Status::Findings);
            }
            let mut store = open_store(&project, args.store.as_deref())?;
            let now = store.schema_version()?;
            println!(
                "{shown}: migrated from schema version {} to {now} (applied {list})",
                status.current
            );
            report_rollups(&mut store, &shown)?;
            Ok(Status::Success)
        }
    }
}

/// Builds the rollups jobs stored without one lack, and rewrites those in an
/// older format, saying so when any were.
fn report_rollups(store: &mut Store, shown: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let built = store
        .build_missing_rollups()
        .with_context(|| format!("cannot build the per-job rollups of {shown}"))?;
    if built > 0 {
        println!(
            "{shown}: built the rollups of {built} jobs stored without one or in an older format ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM UTC`.
fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_sizes() {
        assert_eq!(format_ms(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_ms(1_700_000_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
