//! The pure core: store data in, [`Report`] out.

use std::collections::{BTreeMap, HashMap};

use tollgate_store::{
    AttemptRecord, CoverageRollup, FlakyReport, JobRecord, RunInfo, TestRunRow, Verdict,
};

use crate::components::Components;
use crate::model::*;

/// Everything a report is made of, as read from the store.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub title: String,
    pub generated_at_ms: i64,
    pub run: Option<RunInfo>,
    pub base: Option<RunInfo>,
    pub jobs: Vec<JobRecord>,
    pub rows: Vec<TestRunRow>,
    /// Names of every interned test id the rows and states mention.
    pub names: HashMap<i64, String>,
    /// Earlier runs of the pipeline, oldest first, with their per-test states
    /// (see `Store::run_test_summary`). The report's own run is not in it.
    pub history: Vec<(RunInfo, Vec<(i64, u8, f64)>)>,
    /// The base run's per-test states (may also be in `history`).
    pub base_states: Option<Vec<(i64, u8, f64)>>,
    pub attempts: Vec<AttemptRecord>,
    pub flaky: Option<FlakyReport>,
    pub coverage_language: Vec<CoverageRollup>,
    pub coverage_component: Vec<CoverageRollup>,
    pub base_coverage_language: Vec<CoverageRollup>,
    pub base_coverage_component: Vec<CoverageRollup>,
    /// `(name, metric, unit, this run's values, earlier runs' means oldest first)`.
    pub bench: Vec<BenchInput>,
    pub verdicts: Vec<Verdict>,
    /// Include the table of every test.
    pub include_tests: bool,
    /// At most this many slowest tests.
    pub slowest: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchInput {
    pub name: String,
    pub metric: String,
    pub unit: String,
    pub values: Vec<f64>,
    pub history: Vec<f64>,
}

fn brief(run: &RunInfo) -> RunBrief {
    RunBrief {
        key: run.run_key.clone(),
        commit: run.commit.clone(),
        branch: run.branch.clone(),
        pipeline: run.pipeline.clone(),
        started_at_ms: run.started_at_ms,
        finished_at_ms: run.finished_at_ms,
        complete: run.complete,
    }
}

fn counts_of(states: impl Iterator<Item = (u8, f64)>) -> Counts {
    let mut c = Counts::default();
    for (state, seconds) in states {
        c.tests += 1;
        c.test_seconds += seconds;
        match state {
            b'P' => c.passed += 1,
            b'F' => c.failed += 1,
            b'K' => c.flaky += 1,
            _ => c.skipped += 1,
        }
    }
    c.test_seconds = round3(c.test_seconds);
    c
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A test's state in one job: failed when its last attempt failed, flaky
/// when it failed and then passed, passed, or skipped.
fn row_state(row: &TestRunRow) -> u8 {
    if row.failed > 0 && row.last_failed {
        b'F'
    } else if row.failed > 0 {
        b'K'
    } else if row.passed > 0 {
        b'P'
    } else {
        b'S'
    }
}

/// Worst state of a test over its jobs.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |s: u8| match s {
        b'F' => 3,
        b'K' => 2,
        b'P' => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Builds the report. Pure: same input, same report.
pub fn build(input: &ReportInput, components: &Components) -> Report {
    let name = |id: i64| input.names.get(&id).cloned().unwrap_or_default();

    // Per test of this run: worst state over its jobs, summed time, first job.
    let mut current: BTreeMap<String, (u8, f64, usize)> = BTreeMap::new();
    for row in &input.rows {
        let entry = current
            .entry(name(row.test))
            .or_insert((b'S', 0.0, row.job));
        entry.0 = worse(entry.0, row_state(row));
        entry.1 += row.duration_s;
    }
    let counts = counts_of(current.values().map(|(s, d, _)| (*s, *d)));

    let base_map: Option<HashMap<String, (u8, f64)>> = input.base_states.as_ref().map(|states| {
        states
            .iter()
            .map(|(id, s, d)| (name(*id), (*s, *d)))
            .collect()
    });
    let base_counts = input
        .base_states
        .as_ref()
        .map(|states| counts_of(states.iter().map(|(_, s, d)| (*s, *d))));

    let mut deltas = Deltas {
        has_base: base_map.is_some(),
        ..Deltas::default()
    };
    if let Some(base) = &base_map {
        for (id, (state, _, _)) in &current {
            match (base.get(id).map(|b| b.0), *state) {
                (None, _) => deltas.added += 1,
                (Some(b), b'F') if b != b'F' => deltas.new_failures.push(id.clone()),
                (Some(b'F'), s) if s == b'P' || s == b'K' => deltas.fixed.push(id.clone()),
                (Some(b), b'K') if b != b'K' => deltas.new_flaky.push(id.clone()),
                (Some(b), b'S') if b != b'S' => deltas.newly_skipped.push(id.clone()),
                _ => {}
            }
        }
        let mut removed: Vec<String> = base
            .keys()
            .filter(|id| !current.contains_key(*id))
            .cloned()
            .collect();
        removed.sort();
        deltas.removed = removed;
    }

    // Failures and flaky tests of this run, with every attempt, grouped by component.
    let mut attempts_of: BTreeMap<(&str, &str), Vec<&AttemptRecord>> = BTreeMap::new();
    for a in &input.attempts {
        attempts_of
            .entry((a.job.as_str(), a.test_id.as_str()))
            .or_default()
            .push(a);
    }
    let mut groups: BTreeMap<String, Vec<FailedTestView>> = BTreeMap::new();
    for ((job, id), attempts) in &attempts_of {
        let last_failed = attempts
            .iter()
            .max_by_key(|a| a.attempt)
            .is_some_and(|a| a.outcome == "failed" || a.outcome == "error");
        let component = components.component_of(id).unwrap_or("").to_string();
        let new = base_map
            .as_ref()
            .is_some_and(|b| b.get(*id).is_none_or(|(s, _)| *s != b'F'));
        groups.entry(component).or_default().push(FailedTestView {
            id: id.to_string(),
            job: job.to_string(),
            state: if last_failed { "failed" } else { "flaky" }.to_string(),
            new: new && last_failed,
            attempts: attempts
                .iter()
                .map(|a| AttemptView {
                    n: a.attempt,
                    outcome: a.outcome.clone(),
                    seconds: round3(a.duration_s),
                    output: a.message.clone().unwrap_or_default(),
                })
                .collect(),
        });
    }
    let mut failures: Vec<FailureGroup> = groups
        .into_iter()
        .map(|(component, mut tests)| {
            // Failures before flaky tests, new failures first.
            tests.sort_by(|a, b| {
                (a.state != "failed", !a.new, &a.id).cmp(&(b.state != "failed", !b.new, &b.id))
            });
            FailureGroup {
                owner: components.owner_of(&component).unwrap_or("").to_string(),
                component,
                tests,
            }
        })
        .collect();
    failures.sort_by(|a, b| {
        let failed = |g: &FailureGroup| g.tests.iter().filter(|t| t.state == "failed").count();
        failed(b)
            .cmp(&failed(a))
            .then_with(|| a.component.cmp(&b.component))
    });

    let flaky = input
        .flaky
        .as_ref()
        .map(|report| {
            report
                .flaky
                .iter()
                .map(|f| {
                    let component = components
                        .component_of(&f.test_id)
                        .unwrap_or("")
                        .to_string();
                    FlakyView {
                        owner: components.owner_of(&component).unwrap_or("").to_string(),
                        component,
                        in_run: current.get(&f.test_id).is_some_and(|(s, _, _)| *s == b'K'),
                        id: f.test_id.clone(),
                        flake_rate: f.flake_rate,
                        commits: f.commits,
                        flaky_commits: f.flaky_commits,
                        failed_attempts: f.failed_attempts,
                        attempts: f.attempts,
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    // Slowest tests, with the share of their job's time.
    let mut job_seconds = vec![0.0f64; input.jobs.len()];
    for row in &input.rows {
        if let Some(s) = job_seconds.get_mut(row.job) {
            *s += row.duration_s;
        }
    }
    let mut by_time: Vec<&TestRunRow> = input.rows.iter().collect();
    by_time.sort_by(|a, b| {
        b.duration_s
            .total_cmp(&a.duration_s)
            .then(a.test.cmp(&b.test))
    });
    let slowest = by_time
        .iter()
        .take(input.slowest)
        .map(|row| {
            let id = name(row.test);
            let total = job_seconds.get(row.job).copied().unwrap_or(0.0);
            SlowTest {
                base_seconds: base_map
                    .as_ref()
                    .and_then(|b| b.get(&id))
                    .map(|(_, d)| round3(*d)),
                job: input
                    .jobs
                    .get(row.job)
                    .map(|j| j.name.clone())
                    .unwrap_or_default(),
                seconds: round3(row.duration_s),
                job_share: if total > 0.0 {
                    (1000.0 * row.duration_s / total).round() / 10.0
                } else {
                    0.0
                },
                id,
            }
        })
        .collect();

    let coverage = coverage_views(input, components);

    let bench = input
        .bench
        .iter()
        .map(|b| {
            let value = mean(&b.values);
            let base = (!b.history.is_empty()).then(|| mean(&b.history));
            BenchView {
                name: b.name.clone(),
                metric: b.metric.clone(),
                unit: b.unit.clone(),
                value,
                history: b.history.clone(),
                change_percent: base
                    .filter(|m| *m != 0.0)
                    .map(|m| ((value - m) / m * 1000.0).round() / 10.0),
            }
        })
        .collect();

    let mut runs: Vec<RunPoint> = input
        .history
        .iter()
        .map(|(run, states)| RunPoint {
            key: run.run_key.clone(),
            commit: run.commit.clone(),
            branch: run.branch.clone(),
            started_at_ms: run.started_at_ms,
            counts: counts_of(states.iter().map(|(_, s, d)| (*s, *d))),
        })
        .collect();
    if let Some(run) = &input.run {
        runs.push(RunPoint {
            key: run.run_key.clone(),
            commit: run.commit.clone(),
            branch: run.branch.clone(),
            started_at_ms: run.started_at_ms,
            counts,
        });
    }

    let mut component_names: Vec<String> = vec![String::new()];
    component_names.extend(components.names().map(str::to_string));
    let tests = input.include_tests.then(|| {
        let history_maps: Vec<HashMap<&str, u8>> = input
            .history
            .iter()
            .map(|(_, states)| {
                states
                    .iter()
                    .filter_map(|(id, s, _)| input.names.get(id).map(|n| (n.as_str(), *s)))
                    .collect()
            })
            .collect();
        let mut table = TestTable::default();
        let mut state = Vec::with_capacity(current.len());
        for (id, (s, seconds, job)) in &current {
            let component = components
                .component_of(id)
                .and_then(|c| component_names.iter().position(|n| n == c))
                .unwrap_or(0);
            table.component.push(u32::try_from(component).unwrap_or(0));
            table.job.push(u32::try_from(*job).unwrap_or(0));
            state.push(*s);
            table.ms.push((seconds * 1000.0).round() as u64);
            let mut strip: Vec<u8> = history_maps
                .iter()
                .map(|m| m.get(id.as_str()).copied().unwrap_or(b'-'))
                .collect();
            strip.push(*s);
            table
                .history
                .push(String::from_utf8(strip).unwrap_or_default());
            table.id.push(id.clone());
        }
        table.state = String::from_utf8(state).unwrap_or_default();
        table
    });

    let status = overall_status(&input.verdicts, &counts);
    Report {
        meta: Meta {
            title: input.title.clone(),
            generated_at_ms: input.generated_at_ms,
            run: input.run.as_ref().map(brief).unwrap_or(RunBrief {
                key: String::new(),
                commit: String::new(),
                branch: String::new(),
                pipeline: String::new(),
                started_at_ms: 0,
                finished_at_ms: None,
                complete: false,
            }),
            base: input.base.as_ref().map(brief),
            components: component_names,
            job_names: input.jobs.iter().map(|j| j.name.clone()).collect(),
        },
        status,
        verdicts: input.verdicts.clone(),
        counts,
        base_counts,
        deltas,
        failures,
        flaky,
        slowest,
        jobs: input.jobs.clone(),
        coverage,
        bench,
        runs,
        tests,
    }
}

/// The gate's verdict when one was recorded (worst check), else what the
/// tests say.
fn overall_status(verdicts: &[Verdict], counts: &Counts) -> String {
    if verdicts.iter().any(|v| v.status == "block") {
        "block".into()
    } else if verdicts.iter().any(|v| v.status == "alert") {
        "alert".into()
    } else if !verdicts.is_empty() {
        "pass".into()
    } else if counts.failed > 0 {
        "failed".into()
    } else {
        "passed".into()
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

fn coverage_views(input: &ReportInput, components: &Components) -> Vec<CoverageView> {
    let mut out = Vec::new();
    for (by, now, base) in [
        (
            "language",
            &input.coverage_language,
            &input.base_coverage_language,
        ),
        (
            "component",
            &input.coverage_component,
            &input.base_coverage_component,
        ),
    ] {
        for c in now {
            out.push(CoverageView {
                by: by.to_string(),
                key: c.key.clone(),
                lines_total: c.lines_total,
                lines_covered: c.lines_covered,
                percent: (c.percent() * 100.0).round() / 100.0,
                base_percent: base
                    .iter()
                    .find(|b| b.key == c.key)
                    .map(|b| (b.percent() * 100.0).round() / 100.0),
                critical: by == "component" && components.is_critical(&c.key),
            });
        }
    }
    out
}
