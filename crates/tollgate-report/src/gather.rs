//! The I/O edge: reads a [`ReportInput`] from the store.

use std::collections::{BTreeMap, HashMap};

use tollgate_store::{FlakyQuery, RollupBy, RunInfo, Store, StoreError};

use crate::build::{BenchInput, ReportInput};

/// Which run to report on and how much history to include.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherOptions {
    /// A run key; default: the latest run (of `pipeline` when given).
    pub run: Option<String>,
    pub pipeline: Option<String>,
    /// Runs of history (including the report's run).
    pub runs: u32,
    /// The base branch for the comparison run (the latest complete run of
    /// the pipeline on it); default: the report run's own branch.
    pub base_branch: Option<String>,
    pub include_tests: bool,
    pub title: String,
    pub now_ms: i64,
    /// Flakiness window start (Unix ms).
    pub flaky_since_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("the store has no runs{}", .0.as_deref().map(|p| format!(" of pipeline `{p}`")).unwrap_or_default())]
    NoRuns(Option<String>),
    #[error("no run `{0}` in the store")]
    UnknownRun(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads everything the report shows.
pub fn gather(store: &mut Store, options: &GatherOptions) -> Result<ReportInput, GatherError> {
    let run = match &options.run {
        Some(key) => store
            .run(key)?
            .ok_or_else(|| GatherError::UnknownRun(key.clone()))?,
        None => store
            .recent_runs(options.pipeline.as_deref(), 1)?
            .into_iter()
            .next()
            .ok_or_else(|| GatherError::NoRuns(options.pipeline.clone()))?,
    };
    let pipeline = options
        .pipeline
        .clone()
        .unwrap_or_else(|| run.pipeline.clone());
    // History: earlier runs of the pipeline, oldest first.
    let mut earlier: Vec<RunInfo> = store
        .recent_runs(Some(&pipeline), options.runs.max(1).saturating_add(50))?
        .into_iter()
        .filter(|r| r.id != run.id && (r.started_at_ms, r.id) < (run.started_at_ms, run.id))
        .take(options.runs.saturating_sub(1) as usize)
        .collect();
    earlier.reverse();
    let base_branch = options
        .base_branch
        .clone()
        .unwrap_or_else(|| run.branch.clone());
    let base = store
        .recent_runs(Some(&pipeline), 200)?
        .into_iter()
        .find(|r| {
            r.complete
                && r.branch == base_branch
                && r.id != run.id
                && (r.started_at_ms, r.id) < (run.started_at_ms, run.id)
        });

    let jobs = store.run_jobs(&run.run_key)?;
    let rows = store.run_test_rows(&run, &jobs)?;
    let mut history = Vec::with_capacity(earlier.len());
    for r in earlier {
        let states = store.run_test_summary(r.id)?;
        history.push((r, states));
    }
    let base_states = match &base {
        Some(b) => match history.iter().find(|(r, _)| r.id == b.id) {
            Some((_, states)) => Some(states.clone()),
            None => Some(store.run_test_summary(b.id)?),
        },
        None => None,
    };
    // Names of this run's tests and the base run's (removed tests); history
    // strips go by interned id.
    let mut ids: Vec<i64> = rows.iter().map(|r| r.test).collect();
    if let Some(states) = &base_states {
        ids.extend(states.iter().map(|x| x.0));
    }
    ids.sort_unstable();
    ids.dedup();
    let names = store.test_names(&ids)?;

    let attempts = store.run_failed_attempts(&run.run_key)?;
    let flaky = store.flaky_tests(&FlakyQuery {
        since_ms: options.flaky_since_ms,
        pipeline: Some(pipeline.clone()),
        limit: 500,
        ..FlakyQuery::default()
    })?;
    let coverage_language = store.coverage_rollup(&run.run_key, RollupBy::Language)?;
    let coverage_component = store.coverage_rollup(&run.run_key, RollupBy::Component)?;
    let (base_coverage_language, base_coverage_component) = match &base {
        Some(b) => (
            store.coverage_rollup(&b.run_key, RollupBy::Language)?,
            store.coverage_rollup(&b.run_key, RollupBy::Component)?,
        ),
        None => (Vec::new(), Vec::new()),
    };

    // Benchmarks: this run's series, each with its recent history.
    let mut series: BTreeMap<(String, String), (String, Vec<f64>)> = BTreeMap::new();
    for s in store.run_bench(&run.run_key)? {
        let entry = series
            .entry((s.name.clone(), s.metric.clone()))
            .or_insert_with(|| (s.unit.clone(), Vec::new()));
        entry.1.push(s.value);
    }
    let mut bench = Vec::with_capacity(series.len());
    for ((name, metric), (unit, values)) in series {
        let points = store.bench_history(&name, &metric, Some(&pipeline), 500)?;
        // One value per earlier run (mean of its samples), oldest first.
        let mut per_run: Vec<(i64, String, Vec<f64>)> = Vec::new();
        for p in points.iter().filter(|p| p.run_key != run.run_key) {
            match per_run.iter_mut().find(|(_, k, _)| *k == p.run_key) {
                Some((_, _, v)) => v.push(p.value),
                None => per_run.push((p.started_at_ms, p.run_key.clone(), vec![p.value])),
            }
        }
        per_run.truncate(options.runs as usize);
        per_run.reverse();
        bench.push(BenchInput {
            name,
            metric,
            unit,
            values,
            history: per_run
                .into_iter()
                .map(|(_, _, v)| v.iter().sum::<f64>() / v.len() as f64)
                .collect(),
        });
    }

    // Line coverage of each run shown in the trends.
    let mut run_coverage = HashMap::new();
    let percent = |rollup: &[tollgate_store::CoverageRollup]| {
        let total: u64 = rollup.iter().map(|c| c.lines_total).sum();
        let covered: u64 = rollup.iter().map(|c| c.lines_covered).sum();
        (total > 0).then(|| 100.0 * covered as f64 / total as f64)
    };
    if let Some(p) = percent(&coverage_language) {
        run_coverage.insert(run.run_key.clone(), p);
    }
    for (r, _) in &history {
        if let Some(p) = percent(&store.coverage_rollup(&r.run_key, RollupBy::Language)?) {
            run_coverage.insert(r.run_key.clone(), p);
        }
    }

    let verdicts = store.run_verdicts(&run.run_key)?;
    Ok(ReportInput {
        title: options.title.clone(),
        generated_at_ms: options.now_ms,
        run: Some(run),
        base,
        jobs,
        rows,
        names,
        history,
        base_states,
        attempts,
        flaky: Some(flaky),
        coverage_language,
        coverage_component,
        base_coverage_language,
        base_coverage_component,
        bench,
        run_coverage,
        verdicts,
        include_tests: options.include_tests,
        slowest: 50,
    })
}
