//! `tollgate metrics`: the Prometheus metrics `serve` exposes, written once
//! (for node_exporter's textfile collector after a run).

use std::path::PathBuf;

use anyhow::Context;
use tollgate_report::metrics::PipelineMetrics;
use tollgate_report::{GatherError, GatherOptions};

use crate::exit::{usage, Status};
use crate::health;
use crate::project::ConfigLocation;

pub const EXAMPLES: &str = "Examples:
  tollgate metrics --textfile /var/lib/node_exporter/textfile/tollgate.prom
  tollgate metrics                          print the exposition to standard output
  tollgate metrics --top-k 20 --store postgres://ci@db/tollgate

Series per pipeline, job, component, owner, language and gate check, never per test except the \
K flakiest and K slowest tests, so their number does not grow with the number of tests. The file \
is written atomically (a temporary file renamed), as the textfile collector needs. Exit codes: 0 \
written, 2 usage, 3 store unreachable.";

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub textfile: Option<PathBuf>,

    /// History store: a SQLite path or a postgres:// URL [default: `[store]` in tollgate.toml].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Per-test series: the K flakiest and the K slowest tests.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub top_k: usize,

    /// How far back flakiness is measured.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub flaky_window: String,
}

pub fn run(args: &MetricsArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    let components = health::components(&project)?;
    let redactor = health::redactor(&project)?;
    let quarantine = health::quarantine_figures(&project)?;
    let window = health::window_ms("--flaky-window", &args.flaky_window)?;
    let now = health::now_ms();
    let mut store = health::open_store(&project, args.store.as_deref())?;
    let mut pipelines = Vec::new();
    for (pipeline, runs) in store.run_counts_by_pipeline()? {
        let latest = tollgate_report::gather(
            &mut store,
            &GatherOptions {
                run: None,
                pipeline: Some(pipeline.clone()),
                runs: 1,
                base_branch: None,
                include_tests: false,
                title: String::new(),
                now_ms: now,
                flaky_since_ms: now.saturating_sub(window),
            },
        )
        .map_err(|e| match e {
            GatherError::Store(e) => anyhow::Error::new(e).context("cannot read the store"),
            other => usage(other.to_string()),
        })?;
        pipelines.push(PipelineMetrics {
            pipeline,
            runs,
            latest,
        });
    }
    let text = tollgate_report::metrics::render(&pipelines, &components, quarantine, args.top_k);
    let text = redactor.redact(&text).into_owned();
    match &args.textfile {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            std::io::Write::write_all(&mut tmp, text.as_bytes())
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            tmp.persist(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let series = text.lines().filter(|l| !l.starts_with('#')).count();
            eprintln!("wrote {} ({series} series)", path.display());
        }
        None => health::write_stdout(&text)?,
    }
    Ok(Status::Success)
}
