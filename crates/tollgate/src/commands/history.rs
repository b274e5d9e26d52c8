//! `tollgate history`: what the store remembers — recent runs, one test's
//! attempts over time, and the recorded durations the shard planner uses.

use std::fmt::Write as _;

use super::gate::{now_ms, open_store, window_ms, write_stdout};
use crate::exit::Status;
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
    let mut store = open_store(&project, args.store.as_deref())?;
    let json = args.format == HistoryFormat::Json;
    let mut out = String::new();

    if let Some(test) = &args.test {
        let entries = store.test_history(test, args.limit)?;
        if json {
            out = serde_json::to_string_pretty(&entries)? + "\n";
        } else if entries.is_empty() {
            let _ = writeln!(out, "no recorded attempts of {test}");
        } else {
            let _ = writeln!(
                out,
                "{:<20} {:<12} {:<16} {:>7} {:<8} {:>10}",
                "RUN", "COMMIT", "JOB", "ATTEMPT", "OUTCOME", "SECONDS"
            );
            for e in &entries {
                let _ = writeln!(
                    out,
                    "{:<20} {:<12} {:<16} {:>7} {:<8} {:>10.3}",
                    e.run_key,
                    e.commit.get(..12).unwrap_or(&e.commit),
                    e.job,
                    e.attempt,
                    e.outcome,
                    e.duration_s
                );
            }
        }
    } else if args.durations {
        let since = now_ms().saturating_sub(window_ms(&args.window)?);
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
            rows.push((run, counts));
        }
        if json {
            let value: Vec<_> = rows
                .iter()
                .map(|(run, counts)| serde_json::json!({ "run": run, "counts": counts }))
                .collect();
            out = serde_json::to_string_pretty(&value)? + "\n";
        } else {
            let _ = writeln!(
                out,
                "{:<20} {:<16} {:<16} {:<12} {:<8} {:>6} {:>8} {:>9}",
                "RUN", "PIPELINE", "BRANCH", "COMMIT", "COMPLETE", "TESTS", "ATTEMPTS", "COV FILES"
            );
            for (run, counts) in &rows {
                let _ = writeln!(
                    out,
                    "{:<20} {:<16} {:<16} {:<12} {:<8} {:>6} {:>8} {:>9}",
                    run.run_key,
                    run.pipeline,
                    run.branch,
                    run.commit.get(..12).unwrap_or(&run.commit),
                    if run.complete { "yes" } else { "no" },
                    counts.tests,
                    counts.attempts,
                    counts.coverage_files
                );
            }
        }
    }
    write_stdout(&out)?;
    Ok(Status::Success)
}
