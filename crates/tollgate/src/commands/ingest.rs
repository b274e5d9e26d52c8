//! `tollgate ingest junit|coverage|bench FILE...`: results produced elsewhere
//! (another CI step, another runner) into the history store.
//!
//! Every file is parsed before anything is written, and everything is written
//! in one transaction: a bad file or a killed process leaves the store as it
//! was. Shards of one CI pipeline pass the same `--run` (by default the CI
//! system's pipeline id) and are merged into one run.

use std::path::PathBuf;

use anyhow::Context;
use tollgate_results::coverage::{relativize, OutsidePolicy};
use tollgate_results::files::{bench_file, coverage_file, junit_file};
use tollgate_results::junit::JunitOptions;
use tollgate_results::Limits;
use tollgate_store::{Batch, CoverageEntry, JobMeta, RunMeta, Store, DEFAULT_SQLITE_PATH};

use crate::exit::{usage, Status};
use crate::progress::Progress;

/// What the files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IngestKind {
    /// JUnit XML from pytest, cargo-nextest or any other runner.
    Junit,
    /// LCOV, Cobertura XML, coverage.py JSON or llvm-cov JSON (detected from content).
    Coverage,
    /// pytest-benchmark JSON, criterion estimates.json/sample.json, or `metric,value,unit` CSV/JSON.
    Bench,
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// What the files hold.
    #[arg(value_enum)]
    pub kind: IngestKind,

    /// Report files; the format is detected from each file's content.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Run identity shared by every shard of one pipeline
    /// [default: $CI_PIPELINE_ID, $GITHUB_RUN_ID (+ attempt), else a new local id].
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    /// History store: a SQLite file path or a postgres:// URL
    /// [default: $TOLLGATE_STORE, else .tollgate/history.db].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Job the results belong to.
    #[arg(long, value_name = "NAME", default_value = "ingest")]
    pub job: String,

    /// Pipeline name recorded with the run (baselines are per pipeline).
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Commit [default: $CI_COMMIT_SHA or $GITHUB_SHA].
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,

    /// Branch [default: $CI_COMMIT_REF_NAME or $GITHUB_REF_NAME].
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,

    /// Mark the run complete afterwards, making it eligible as a baseline
    /// (let the last shard do this).
    #[arg(long)]
    pub complete: bool,

    /// Repository root that coverage paths are made relative to [default: current directory].
    #[arg(long, value_name = "DIR")]
    pub repo_root: Option<PathBuf>,

    /// Drop coverage of files outside the repository (dependencies, the
    /// standard library) instead of refusing the report.
    #[arg(long)]
    pub skip_outside: bool,

    /// Refuse input files larger than this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub max_size_mib: u64,
}

pub fn run(args: &IngestArgs) -> anyhow::Result<Status> {
    let limits = Limits {
        max_input_bytes: args.max_size_mib.saturating_mul(1024 * 1024),
        ..Limits::default()
    };
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let repo_root = args.repo_root.clone().unwrap_or_else(|| cwd.clone());
    let repo_root = repo_root.canonicalize().unwrap_or(repo_root);

    // Parse everything first: a bad file must not leave half an ingest behind.
    let mut tests = Vec::new();
    let mut coverage = Vec::new();
    let mut bench = Vec::new();
    let mut skipped = Vec::new();
    // A bar over the files' bytes on a terminal (nothing in a log): a large
    // JUnit or coverage file takes a while to parse and store.
    let sizes: Vec<u64> = args
        .files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .collect();
    let progress = Progress::bytes("ingest", sizes.iter().sum());
    for (file, size) in args.files.iter().zip(&sizes) {
        progress.message(format!("parsing {}", file.display()));
        match args.kind {
            IngestKind::Junit => {
                let options = JunitOptions {
                    limits,
                    ..JunitOptions::default()
                };
                tests.extend(junit_file(file, &options).map_err(input_error)?);
            }
            IngestKind::Coverage => {
                let report = coverage_file(file, None, &limits).map_err(input_error)?;
                let policy = if args.skip_outside {
                    OutsidePolicy::Skip
                } else {
                    OutsidePolicy::Error
                };
                let rel = relativize(report.files, &repo_root, &report.source_roots, policy)
                    .map_err(|e| input_error(e.in_file(file)))?;
                skipped.extend(rel.skipped);
                coverage.extend(rel.files.into_iter().map(|file| CoverageEntry {
                    file,
                    component: None,
                }));
            }
            IngestKind::Bench => {
                bench.extend(bench_file(file, None, &limits).map_err(input_error)?)
            }
        }
        progress.inc(*size);
    }

    let run_key = args
        .run
        .clone()
        .or_else(ci_run_key)
        .unwrap_or_else(local_run_key);
    let meta = RunMeta {
        run_key: run_key.clone(),
        commit: args
            .commit
            .clone()
            .or_else(|| first_env(&["CI_COMMIT_SHA", "GITHUB_SHA"]))
            .unwrap_or_default(),
        branch: args
            .branch
            .clone()
            .or_else(|| first_env(&["CI_COMMIT_REF_NAME", "GITHUB_HEAD_REF", "GITHUB_REF_NAME"]))
            .unwrap_or_default(),
        pipeline: args.pipeline.clone().unwrap_or_default(),
        variables: Default::default(),
        runner: first_env(&["CI_RUNNER_DESCRIPTION", "RUNNER_NAME", "HOSTNAME"])
            .unwrap_or_default(),
        started_at_ms: now_ms(),
    };
    let job = JobMeta {
        name: args.job.clone(),
        ..JobMeta::default()
    };

    let location = args
        .store
        .clone()
        .or_else(|| first_env(&["TOLLGATE_STORE"]))
        .unwrap_or_else(|| cwd.join(DEFAULT_SQLITE_PATH).display().to_string());
    // Opening and writing run within the client-side deadline of a
    // PostgreSQL store: a server that stalls mid-query cannot hang CI.
    let deadline = crate::history_store::deadline_override()?;
    let shown = redact(&location);
    let complete = args.complete;
    let key = run_key.clone();
    progress.message(format!(
        "writing {} test attempts, {} coverage files, {} benchmark samples to the store",
        tests.len(),
        coverage.len(),
        bench.len()
    ));
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let opened_in = opened.clone();
    let result = tollgate_store::with_deadline(&location, "ingest", deadline, {
        let location = location.clone();
        move || {
            let mut store = Store::open(&location)?;
            opened_in.store(true, std::sync::atomic::Ordering::SeqCst);
            let summary = store.ingest(&Batch {
                run: &meta,
                job: &job,
                tests: &tests,
                coverage: &coverage,
                bench: &bench,
            })?;
            if complete {
                store.finish_run(&key, now_ms(), true)?;
            }
            Ok((summary, store.backend()))
        }
    });
    let (summary, backend) = match result {
        Ok(done) => done,
        Err(e @ tollgate_store::StoreError::BadLocation(_)) => {
            return Err(usage(format!("cannot open the store {shown}: {e}")))
        }
        Err(e) if opened.load(std::sync::atomic::Ordering::SeqCst) => {
            return Err(anyhow::Error::new(e).context(format!("cannot write to the store {shown}")))
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot open the store {shown}")))
        }
    };
    drop(progress);
    for path in &skipped {
        eprintln!("note: coverage of {path} skipped: outside the repository");
    }
    eprintln!(
        "ingested {} test attempts, {} coverage files, {} benchmark samples into run {run_key} ({} store){}",
        summary.attempts,
        summary.coverage_files,
        summary.bench_samples,
        backend,
        if args.complete { "; run marked complete" } else { "" }
    );
    Ok(Status::Success)
}

/// A file that cannot be ingested. Bad content (text that is not UTF-8
/// included) or a wrong path (missing, a directory, a FIFO or device, not
/// readable) is the caller's to fix (exit 2); any other I/O error reading a
/// file that is there is the machine's (exit 3). Either way nothing has been
/// written yet.
fn input_error(e: tollgate_results::Error) -> anyhow::Error {
    use std::io::ErrorKind as Io;
    let machine = matches!(
        &e.kind,
        tollgate_results::ErrorKind::Io(io)
            if !matches!(
                io.kind(),
                Io::NotFound
                    | Io::PermissionDenied
                    | Io::IsADirectory
                    | Io::InvalidInput
                    | Io::InvalidData
            )
    );
    let message = format!("{e}; nothing was ingested");
    if machine {
        anyhow::anyhow!(message)
    } else {
        usage(message)
    }
}

fn first_env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// The CI system's id for the whole pipeline, which every shard shares (the
/// same key `tollgate run` records under).
fn ci_run_key() -> Option<String> {
    tollgate_store::ci_run_key(&|name| std::env::var(name).ok())
}

fn local_run_key() -> String {
    format!("local-{}-{}", now_ms(), std::process::id())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A store URL without its password (user part or query string), for messages.
fn redact(location: &str) -> String {
    tollgate_store::display_location(location)
}
