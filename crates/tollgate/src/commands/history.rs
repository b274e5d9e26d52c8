//! `tollgate history`: what the store remembers — recent runs, one test's
//! attempts over time, and the recorded durations the shard planner uses.

use std::fmt::Write as _;

use super::gate::{now_ms, open_store_read, window_ms, write_stdout};
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
            let rows = rows
                .iter()
                .map(|(run, counts)| {
                    vec![
                        run.run_key.clone(),
                        run.pipeline.clone(),
                        run.branch.clone(),
                        run.commit.get(..12).unwrap_or(&run.commit).to_string(),
                        if run.complete { "yes" } else { "no" }.to_string(),
                        counts.tests.to_string(),
                        counts.attempts.to_string(),
                        counts.coverage_files.to_string(),
                    ]
                })
                .collect();
            out = table(
                &[
                    ("RUN", Align::Left),
                    ("PIPELINE", Align::Left),
                    ("BRANCH", Align::Left),
                    ("COMMIT", Align::Left),
                    ("COMPLETE", Align::Left),
                    ("TESTS", Align::Right),
                    ("ATTEMPTS", Align::Right),
                    ("COV FILES", Align::Right),
                ],
                rows,
            );
        }
    }
    write_stdout(&out)?;
    Ok(Status::Success)
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
    use super::{table, Align};

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
