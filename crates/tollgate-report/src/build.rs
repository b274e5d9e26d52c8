//! The pure core: store data in, [`Report`] out.

use std::collections::{BTreeMap, HashMap};

use tollgate_store::{
    AttemptRecord, CoverageRollup, FlakyReport, JobRecord, RunInfo, TestRunRow, Verdict,
};

use crate::changepoint::Detector;
use crate::components::Components;
use crate::model::*;

/// Per test of one run: `(interned test id, state letter, seconds)` (see
/// `Store::run_test_summary`).
pub type TestStates = Vec<(i64, u8, f64)>;

/// Everything a report is made of, as read from the store.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub title: String,
    pub generated_at_ms: i64,
    pub run: Option<RunInfo>,
    pub base: Option<RunInfo>,
    pub jobs: Vec<JobRecord>,
    pub rows: Vec<TestRunRow>,
    /// Names of the interned test ids of `rows` and `base_states` (history
    /// strips go by id).
    pub names: HashMap<i64, String>,
    /// Earlier runs of the pipeline, oldest first, with their per-test states
    /// (see `Store::run_test_summary`). The report's own run is not in it.
    pub history: Vec<(RunInfo, TestStates)>,
    /// The base run's per-test states (may also be in `history`).
    pub base_states: Option<TestStates>,
    pub attempts: Vec<AttemptRecord>,
    pub flaky: Option<FlakyReport>,
    pub coverage_language: Vec<CoverageRollup>,
    pub coverage_component: Vec<CoverageRollup>,
    pub base_coverage_language: Vec<CoverageRollup>,
    pub base_coverage_component: Vec<CoverageRollup>,
    /// `(name, metric, unit, this run's values, earlier runs' means oldest first)`.
    pub bench: Vec<BenchInput>,
    /// Line coverage percent of the report's run and its history's runs
    /// that recorded coverage, by run key.
    pub run_coverage: HashMap<String, f64>,
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
                        owner: components
                            .owner_of_test(
                                &f.test_id,
                                Some(component.as_str()).filter(|c| !c.is_empty()),
                            )
                            .unwrap_or_default(),
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
    let slowest_ids: Vec<String> = by_time
        .iter()
        .take(input.slowest)
        .map(|row| name(row.test))
        .collect();
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
                change_points: {
                    let mut series = b.history.clone();
                    series.push(value);
                    Detector::default().detect(&series)
                },
            }
        })
        .collect();

    let mut runs: Vec<RunPoint> = input
        .history
        .iter()
        .map(|(run, states)| {
            run_point(
                run,
                counts_of(states.iter().map(|(_, s, d)| (*s, *d))),
                states.iter().map(|(_, _, d)| *d).collect(),
                input.run_coverage.get(&run.run_key).copied(),
            )
        })
        .collect();
    if let Some(run) = &input.run {
        runs.push(run_point(
            run,
            counts,
            current.values().map(|(_, d, _)| *d).collect(),
            input.run_coverage.get(&run.run_key).copied(),
        ));
    }

    // Component and owner of every test of the run (tests of one file share
    // both: attributed once per file).
    let mut component_names: Vec<String> = vec![String::new()];
    component_names.extend(components.names().map(str::to_string));
    let mut owner_names: Vec<String> = vec![String::new()];
    let mut owner_index: HashMap<String, u32> = HashMap::new();
    let mut by_file: HashMap<&str, (u32, u32)> = HashMap::new();
    let attribution: Vec<(u32, u32)> = current
        .keys()
        .map(|id| {
            let file = id.split("::").next().unwrap_or(id);
            *by_file.entry(file).or_insert_with(|| {
                let component = components.component_of(id);
                let c = component
                    .and_then(|c| component_names.iter().position(|n| n == c))
                    .unwrap_or(0);
                let o = match components.owner_of_test(id, component) {
                    Some(owner) => *owner_index.entry(owner.clone()).or_insert_with(|| {
                        owner_names.push(owner);
                        u32::try_from(owner_names.len() - 1).unwrap_or(0)
                    }),
                    None => 0,
                };
                (u32::try_from(c).unwrap_or(0), o)
            })
        })
        .collect();
    let owners = owner_views(
        current
            .values()
            .map(|(s, _, _)| *s)
            .zip(attribution.iter().copied()),
        &component_names,
        &owner_names,
    );

    let tests = input.include_tests.then(|| {
        // History strips, one row of `runs + 1` letters per test, filled by
        // interned id (no name lookups over runs x tests).
        let width = input.history.len() + 1;
        let position: HashMap<&str, usize> = current
            .keys()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let row_of: HashMap<i64, usize> = input
            .rows
            .iter()
            .filter_map(|r| {
                let name = input.names.get(&r.test)?;
                Some((r.test, *position.get(name.as_str())?))
            })
            .collect();
        let mut strips = vec![b'-'; current.len() * width];
        for (k, (_, states)) in input.history.iter().enumerate() {
            for (id, s, _) in states {
                if let Some(i) = row_of.get(id) {
                    strips[i * width + k] = *s;
                }
            }
        }
        let mut table = TestTable::default();
        let mut state = Vec::with_capacity(current.len());
        for (i, ((id, (s, seconds, job)), (component, owner))) in
            current.iter().zip(&attribution).enumerate()
        {
            table.component.push(*component);
            table.owner.push(*owner);
            table.job.push(u32::try_from(*job).unwrap_or(0));
            state.push(*s);
            table.ms.push((seconds * 1000.0).round() as u64);
            let strip = &mut strips[i * width..(i + 1) * width];
            strip[width - 1] = *s;
            // Most tests passed in every run: "" says so in two bytes.
            table.history.push(if strip.iter().all(|c| *c == b'P') {
                String::new()
            } else {
                String::from_utf8(strip.to_vec()).unwrap_or_default()
            });
            table.id.push(id.clone());
        }
        table.state = String::from_utf8(state).unwrap_or_default();
        table
    });

    // Duration histories of the tests worth opening.
    let mut wanted: Vec<String> = failures
        .iter()
        .flat_map(|g| g.tests.iter().map(|t| t.id.clone()))
        .collect();
    wanted.extend(slowest_ids);
    wanted.sort();
    wanted.dedup();
    wanted.truncate(1000);
    let mut durations: BTreeMap<String, Vec<Option<u64>>> = BTreeMap::new();
    if !wanted.is_empty() {
        let wanted_ids: HashMap<i64, &str> = input
            .names
            .iter()
            .filter(|(_, name)| wanted.binary_search(name).is_ok())
            .map(|(id, name)| (*id, name.as_str()))
            .collect();
        let runs = input.history.len();
        let mut series: HashMap<i64, Vec<Option<u64>>> = wanted_ids
            .keys()
            .map(|id| (*id, vec![None; runs + 1]))
            .collect();
        for (i, (_, states)) in input.history.iter().enumerate() {
            for (id, _, d) in states {
                if let Some(s) = series.get_mut(id) {
                    s[i] = Some((d * 1000.0).round() as u64);
                }
            }
        }
        for (id, mut s) in series {
            let name = wanted_ids[&id];
            s[runs] = current
                .get(name)
                .map(|(_, d, _)| (d * 1000.0).round() as u64);
            durations.insert(name.to_string(), s);
        }
    }

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
            owners: owner_names,
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
        owners,
        durations,
    }
}

fn run_point(
    run: &RunInfo,
    counts: Counts,
    mut seconds: Vec<f64>,
    coverage: Option<f64>,
) -> RunPoint {
    seconds.sort_unstable_by(f64::total_cmp);
    // Nearest rank.
    let rank = |p: f64| {
        let n = seconds.len();
        (n > 0).then(|| {
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            (seconds[i] * 1000.0).round() as u64
        })
    };
    let ran = counts.passed + counts.failed + counts.flaky;
    RunPoint {
        key: run.run_key.clone(),
        commit: run.commit.clone(),
        branch: run.branch.clone(),
        started_at_ms: run.started_at_ms,
        counts,
        p50_ms: rank(0.5),
        p95_ms: rank(0.95),
        flake_rate: (ran > 0).then(|| (counts.flaky as f64 / ran as f64 * 1e4).round() / 1e4),
        coverage_percent: coverage.map(|c| (c * 100.0).round() / 100.0),
    }
}

/// Owners → components → counts, from each test's state and `(component,
/// owner)` indices. Owners with the most failed tests first, then flaky,
/// then by name; tests no owner claims last.
fn owner_views(
    tests: impl Iterator<Item = (u8, (u32, u32))>,
    component_names: &[String],
    owner_names: &[String],
) -> Vec<OwnerView> {
    let mut by: BTreeMap<u32, BTreeMap<u32, OwnerCounts>> = BTreeMap::new();
    for (state, (component, owner)) in tests {
        let c = by.entry(owner).or_default().entry(component).or_default();
        c.tests += 1;
        match state {
            b'F' => c.failed += 1,
            b'K' => c.flaky += 1,
            b'S' => c.skipped += 1,
            _ => {}
        }
    }
    let add = |a: &mut OwnerCounts, b: &OwnerCounts| {
        a.tests += b.tests;
        a.failed += b.failed;
        a.flaky += b.flaky;
        a.skipped += b.skipped;
    };
    let order = |a: &OwnerCounts, an: &str, b: &OwnerCounts, bn: &str| {
        (
            an.is_empty(),
            std::cmp::Reverse(a.failed),
            std::cmp::Reverse(a.flaky),
            an,
        )
            .cmp(&(
                bn.is_empty(),
                std::cmp::Reverse(b.failed),
                std::cmp::Reverse(b.flaky),
                bn,
            ))
    };
    let name = |names: &[String], i: u32| names.get(i as usize).cloned().unwrap_or_default();
    let mut out: Vec<OwnerView> = by
        .into_iter()
        .map(|(owner, comps)| {
            let mut counts = OwnerCounts::default();
            let mut components: Vec<OwnerComponent> = comps
                .into_iter()
                .map(|(c, n)| {
                    add(&mut counts, &n);
                    OwnerComponent {
                        component: name(component_names, c),
                        counts: n,
                    }
                })
                .collect();
            components.sort_by(|a, b| order(&a.counts, &a.component, &b.counts, &b.component));
            OwnerView {
                owner: name(owner_names, owner),
                counts,
                components,
            }
        })
        .collect();
    out.sort_by(|a, b| order(&a.counts, &a.owner, &b.counts, &b.owner));
    out
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
