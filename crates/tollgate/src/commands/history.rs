//! `tollgate history`: what the store remembers — recent runs, one test's
//! attempts over time, and the recorded durations the shard planner uses.

use std::fmt::Write as _;

use crate::exit::Status;
use crate::health::{now_ms, write_stdout};
use crate::history_store::open_store_read;
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// One test's attempts, newest first, instead of the recent runs.
    #[arg(long, value_name = "ID", conflicts_with = "durations")]
    pub test: Option<String>,

    /// Mean durations of passing tests over `--window`, slowest first.
    #[arg(long)]
    pub durations: bool,

    /// How far back `--durations` looks.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub window: String,

    /// Only runs of this pipeline.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// At most this many rows.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: u32,

    #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
    pub format: HistoryFormat,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

pub fn run(args: &HistoryArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    if let Some(name) = &args.pipeline {
        if !project.config.pipelines.contains_key(name) {
            let known: Vec<&str> = project.config.pipelines.keys().collect();
            return Err(crate::exit::unknown_name("pipeline", name, known));
        }
    }
    let mut store = open_store_read(&project, args.store.as_deref())?;
    let json = args.format == HistoryFormat::Json;
    let mut out = String::new();

    if let Some(test) = &args.test {
        let entries = store.test_history(test, args.limit)?;
        if json {
            out = serde_json::to_string_pretty(&entries)? + "\n";
        } else if entries.is_empty() {
            let _ = writeln!(out, "no recorded attempts of {test}");
        } else {
            let rows = entries
                .iter()
                .map(|e| {
                    vec![
                        e.run_key.clone(),
                        e.commit.get(..12).unwrap_or(&e.commit).to_string(),
                        e.job.clone(),
                        e.attempt.to_string(),
                        e.outcome.clone(),
                        format!("{:.3}", e.duration_s),
                    ]
                })
                .collect();
            out = table(
                &[
                    ("RUN", Align::Left),
                    ("COMMIT", Align::Left),
                    ("JOB", Align::Left),
                    ("ATTEMPT", Align::Right),
                    ("OUTCOME", Align::Left),
                    ("SECONDS", Align::Right),
                ],
                rows,
            );
        }
    } else if args.durations {
        let since = now_ms().saturating_sub(crate::health::window_ms("--window", &args.window)?);
        let mut durations = store.test_durations(since, i64::MAX, args.pipeline.as_deref())?;
        durations.sort_by(|a, b| {
            b.mean_s
                .total_cmp(&a.mean_s)
                .then_with(|| a.test_id.cmp(&b.test_id))
        });
        durations.truncate(args.limit as usize);
        if json {
            out = serde_json::to_string_pretty(&durations)? + "\n";
        } else {
            let _ = writeln!(out, "{:>10} {:>7}  TEST", "MEAN (s)", "SAMPLES");
            for d in &durations {
                let _ = writeln!(out, "{:>10.3} {:>7}  {}", d.mean_s, d.samples, d.test_id);
            }
        }
    } else {
        let runs = store.recent_runs(args.pipeline.as_deref(), args.limit)?;
        let mut rows = Vec::new();
        for run in runs {
            let counts = store.run_counts(&run.run_key)?;
            let failures = store.run_failures(&run.run_key)?;
            let status = run_status(&run, &failures);
            rows.push((run, counts, status));
        }
        if json {
            let value: Vec<_> = rows
                .iter()
                .map(|(run, counts, status)| {
                    serde_json::json!({
                        "run": run,
                        "status": status,
                        "duration_s": duration_ms(run).map(|ms| ms as f64 / 1000.0),
                        "counts": counts,
                    })
                })
                .collect();
            out = serde_json::to_string_pretty(&value)? + "\n";
        } else {
            let rows = rows
                .iter()
                .map(|(run, counts, status)| {
                    vec![
                        run.run_key.clone(),
                        run.pipeline.clone(),
                        status.to_string(),
                        utc_minute(run.started_at_ms),
                        duration_ms(run).map_or_else(|| "-".to_string(), human_duration),
                        run.commit.get(..12).unwrap_or(&run.commit).to_string(),
                        run.branch.clone(),
                        counts.tests.to_string(),
                        counts.attempts.to_string(),
                    ]
                })
                .collect();
            out = table(
                &[
                    ("RUN", Align::Left),
                    ("PIPELINE", Align::Left),
                    ("STATUS", Align::Left),
                    ("STARTED (UTC)", Align::Left),
                    ("DURATION", Align::Right),
                    ("COMMIT", Align::Left),
                    ("BRANCH", Align::Left),
                    ("TESTS", Align::Right),
                    ("ATTEMPTS", Align::Right),
                ],
                rows,
            );
        }
    }
    write_stdout(&out)?;
    Ok(Status::Success)
}

/// A run's verdict from what the store recorded (pure): an infrastructure
/// error in any job, else failed jobs or tests, else incomplete (never
/// finished, interrupted, or a gating job not run), else passed.
fn run_status(
    run: &tollgate_store::RunInfo,
    failures: &tollgate_store::RunFailures,
) -> &'static str {
    if failures
        .failed_jobs
        .iter()
        .any(|(_, status)| status == "infrastructureerror")
    {
        "infra"
    } else if !failures.failed_jobs.is_empty() || !failures.failed_tests.is_empty() {
        "failed"
    } else if !run.complete || run.finished_at_ms.is_none() {
        "incomplete"
    } else {
        "passed"
    }
}

fn duration_ms(run: &tollgate_store::RunInfo) -> Option<i64> {
    run.finished_at_ms
        .map(|end| end.saturating_sub(run.started_at_ms).max(0))
}

/// `1m05s`, `12.3s`, `2h03m`.
fn human_duration(ms: i64) -> String {
    let secs = ms as f64 / 1000.0;
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// `2026-12-07 02:10` (UTC) from milliseconds since the epoch.
fn utc_minute(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let minute_of_day = ms.rem_euclid(86_400_000) / 60_000;
    let date = tollgate_config::quarantine::Date::from_days_since_epoch(days);
    format!("{date} {:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// A plain-text table whose columns are as wide as their widest cell, so it
/// stays aligned in a CI log whatever the run keys look like.
fn table(columns: &[(&str, Align)], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|(h, _)| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = columns.iter().map(|(h, _)| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(columns.iter().zip(&widths))
            .map(|(cell, ((_, align), &width))| match align {
                Align::Left => format!("{cell:<width$}"),
                Align::Right => format!("{cell:>width$}"),
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{human_duration, table, utc_minute, Align};

    #[test]
    fn times_read_like_a_person_writes_them() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_796_609_400_000), "2026-12-07 02:10");
        assert_eq!(human_duration(12_345), "12.3s");
        assert_eq!(human_duration(65_000), "1m05s");
        assert_eq!(human_duration(7_380_000), "2h03m");
    }

    #[test]
    fn columns_fit_their_widest_cell() {
        let text = table(
            &[("RUN", Align::Left), ("TESTS", Align::Right)],
            vec![
                vec!["local-pr-1795349200967".into(), "91".into()],
                vec!["r2".into(), "1234567".into()],
            ],
        );
        assert_eq!(
            text,
            "RUN                       TESTS\n\
             local-pr-1795349200967       91\n\
             r2                      1234567\n"
        );
    }
}
