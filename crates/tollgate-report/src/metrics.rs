//! Prometheus metrics in OpenMetrics text, for `tollgate serve`'s
//! `/metrics` and `tollgate metrics --textfile` (node_exporter's textfile
//! collector).
//!
//! Bounded cardinality by design: series are per pipeline, job, component,
//! owner, language and gate check — never per test, except the configurable
//! top-K flakiest and slowest tests. With P pipelines, J jobs, C components,
//! L languages, G checks and K (C counting the tests outside every
//! component as one more), the count is at most
//! `P·(4 + 4J + 5J + 4C + 2C + L + G·4 + 4 + 2K) + 2` whatever the number of
//! tests. The job label is `ci_job`: Prometheus keeps `job` for its own
//! scrape job.

use std::collections::BTreeMap;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

use crate::build::ReportInput;
use crate::components::Components;

/// What one pipeline contributes: its latest run (as gathered for a
/// report) and how many runs it has.
#[derive(Debug, Clone)]
pub struct PipelineMetrics {
    pub pipeline: String,
    pub runs: u64,
    pub latest: ReportInput,
}

/// Figures that do not come from the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuarantineFigures {
    pub quarantined: u64,
    /// Entries that expire within the next 7 days (or already have).
    pub expiring: u64,
}

type Labels = Vec<(String, String)>;
type G = Family<Labels, Gauge<f64, AtomicU64>>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn set(family: &G, pairs: &[(&str, &str)], value: f64) {
    family.get_or_create(&labels(pairs)).set(value);
}

struct Families {
    runs: G,
    last_run: G,
    tests: G,
    component_tests: G,
    job_duration: G,
    job_cpu: G,
    job_rss: G,
    job_status: G,
    flaky_rate: G,
    flaky_tests: G,
    component_flaky: G,
    coverage_language: G,
    coverage_component: G,
    gate_verdict: G,
    gate_check: G,
    gate_measured: G,
    test_flake_rate: G,
    test_duration: G,
    quarantined: G,
    expiring: G,
}

impl Families {
    fn new(registry: &mut Registry) -> Families {
        let mut reg = |name: &str, help: &str, unit: Option<Unit>| {
            let f = G::default();
            match unit {
                Some(u) => registry.register_with_unit(name, help, u, f.clone()),
                None => registry.register(name, help, f.clone()),
            }
            f
        };
        Families {
            runs: reg("tollgate_runs", "Runs recorded in the store", None),
            last_run: reg(
                "tollgate_last_run_timestamp",
                "Start of the latest run (Unix time)",
                Some(Unit::Seconds),
            ),
            tests: reg(
                "tollgate_tests",
                "Tests of the latest run by job and final outcome (passed, failed, flaky, skipped)",
                None,
            ),
            component_tests: reg(
                "tollgate_component_tests",
                "Tests of the latest run by component, owner and final outcome",
                None,
            ),
            job_duration: reg(
                "tollgate_job_duration",
                "Wall time of each job of the latest run",
                Some(Unit::Seconds),
            ),
            job_cpu: reg(
                "tollgate_job_cpu",
                "CPU time of each job of the latest run",
                Some(Unit::Seconds),
            ),
            job_rss: reg(
                "tollgate_job_peak_rss",
                "Peak resident memory of each job of the latest run",
                Some(Unit::Bytes),
            ),
            job_status: reg(
                "tollgate_job_status",
                "1 for the recorded status of each job of the latest run",
                None,
            ),
            flaky_rate: reg(
                "tollgate_flaky_rate",
                "Flaky tests over tests that ran in the window, as a ratio",
                Some(Unit::Other("ratio".into())),
            ),
            flaky_tests: reg(
                "tollgate_flaky_tests",
                "Tests that were flaky on some commit in the window",
                None,
            ),
            component_flaky: reg(
                "tollgate_component_flaky_tests",
                "Flaky tests in the window by component and owner",
                None,
            ),
            coverage_language: reg(
                "tollgate_coverage_language",
                "Line coverage of the latest run per language, as a ratio",
                Some(Unit::Other("ratio".into())),
            ),
            coverage_component: reg(
                "tollgate_coverage_component",
                "Line coverage of the latest run per component, as a ratio",
                Some(Unit::Other("ratio".into())),
            ),
            gate_verdict: reg(
                "tollgate_gate_verdict",
                "1 for the gate's overall verdict of the latest run (pass, alert, block, none)",
                None,
            ),
            gate_check: reg(
                "tollgate_gate_check",
                "1 for each gate check's status in the latest run",
                None,
            ),
            gate_measured: reg(
                "tollgate_gate_check_measured",
                "Each gate check's measured value in the latest run",
                None,
            ),
            test_flake_rate: reg(
                "tollgate_top_test_flake_rate",
                "Flake rate of the top-K flakiest tests (the only per-test series)",
                Some(Unit::Other("ratio".into())),
            ),
            test_duration: reg(
                "tollgate_top_test_duration",
                "Time of the top-K slowest tests of the latest run (the only per-test series)",
                Some(Unit::Seconds),
            ),
            quarantined: reg(
                "tollgate_quarantined_tests",
                "Entries in the quarantine file",
                None,
            ),
            expiring: reg(
                "tollgate_quarantine_expiring_tests",
                "Quarantine entries expired or expiring within 7 days",
                None,
            ),
        }
    }
}

/// The OpenMetrics exposition (ends with `# EOF`).
pub fn render(
    pipelines: &[PipelineMetrics],
    components: &Components,
    quarantine: QuarantineFigures,
    top_k: usize,
) -> String {
    let mut registry = Registry::default();
    let f = Families::new(&mut registry);
    for p in pipelines {
        pipeline_metrics(&f, p, components, top_k);
    }
    set(&f.quarantined, &[], quarantine.quarantined as f64);
    set(&f.expiring, &[], quarantine.expiring as f64);
    let mut out = String::new();
    // Encoding into a String cannot fail.
    let _ = encode(&mut out, &registry);
    out
}

fn state_name(failed: u32, passed: u32, last_failed: bool) -> &'static str {
    if failed > 0 && last_failed {
        "failed"
    } else if failed > 0 {
        "flaky"
    } else if passed > 0 {
        "passed"
    } else {
        "skipped"
    }
}

fn pipeline_metrics(f: &Families, p: &PipelineMetrics, components: &Components, top_k: usize) {
    let pl = p.pipeline.as_str();
    let input = &p.latest;
    set(&f.runs, &[("pipeline", pl)], p.runs as f64);
    if let Some(run) = &input.run {
        set(
            &f.last_run,
            &[("pipeline", pl)],
            run.started_at_ms as f64 / 1000.0,
        );
    }
    // Per job and outcome; per component, owner and outcome.
    let outcomes = ["passed", "failed", "flaky", "skipped"];
    let mut by_job: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut by_component: BTreeMap<(String, &str), u64> = BTreeMap::new();
    for job in &input.jobs {
        for o in outcomes {
            by_job.insert((job.name.as_str(), o), 0);
        }
    }
    // Every component and the tests outside them ("") always have all four
    // outcomes: the series do not come and go with the tests.
    for name in components.names().chain([""]) {
        for o in outcomes {
            by_component.insert((name.to_string(), o), 0);
        }
    }
    for row in &input.rows {
        let outcome = state_name(row.failed, row.passed, row.last_failed);
        if let Some(job) = input.jobs.get(row.job) {
            *by_job.entry((job.name.as_str(), outcome)).or_default() += 1;
        }
        let component = input
            .names
            .get(&row.test)
            .and_then(|n| components.component_of(n))
            .unwrap_or("")
            .to_string();
        *by_component.entry((component, outcome)).or_default() += 1;
    }
    for ((job, outcome), n) in &by_job {
        set(
            &f.tests,
            &[("pipeline", pl), ("ci_job", job), ("outcome", outcome)],
            *n as f64,
        );
    }
    for ((component, outcome), n) in &by_component {
        let owner = components.owner_of(component).unwrap_or("");
        set(
            &f.component_tests,
            &[
                ("pipeline", pl),
                ("component", component),
                ("owner", owner),
                ("outcome", outcome),
            ],
            *n as f64,
        );
    }
    for job in &input.jobs {
        let l = [("pipeline", pl), ("ci_job", job.name.as_str())];
        if let Some(ms) = job.wall_ms {
            set(&f.job_duration, &l, ms as f64 / 1000.0);
        }
        if let Some(ms) = job.cpu_ms {
            set(&f.job_cpu, &l, ms as f64 / 1000.0);
        }
        if let Some(kb) = job.peak_rss_kb {
            set(&f.job_rss, &l, kb as f64 * 1024.0);
        }
        let status = if job.status.is_empty() {
            "unknown"
        } else {
            job.status.as_str()
        };
        set(
            &f.job_status,
            &[
                ("pipeline", pl),
                ("ci_job", job.name.as_str()),
                ("status", status),
            ],
            1.0,
        );
    }
    if let Some(flaky) = &input.flaky {
        set(
            &f.flaky_rate,
            &[("pipeline", pl)],
            flaky.flaky_rate_percent() / 100.0,
        );
        set(
            &f.flaky_tests,
            &[("pipeline", pl)],
            flaky.flaky.len() as f64,
        );
        let mut per_component: BTreeMap<String, u64> =
            components.names().map(|n| (n.to_string(), 0)).collect();
        for t in &flaky.flaky {
            let c = components.component_of(&t.test_id).unwrap_or("");
            *per_component.entry(c.to_string()).or_default() += 1;
        }
        for (c, n) in &per_component {
            set(
                &f.component_flaky,
                &[
                    ("pipeline", pl),
                    ("component", c),
                    ("owner", components.owner_of(c).unwrap_or("")),
                ],
                *n as f64,
            );
        }
        for t in flaky.flaky.iter().take(top_k) {
            set(
                &f.test_flake_rate,
                &[("pipeline", pl), ("test", t.test_id.as_str())],
                t.flake_rate,
            );
        }
    }
    for c in &input.coverage_language {
        set(
            &f.coverage_language,
            &[("pipeline", pl), ("language", c.key.as_str())],
            c.percent() / 100.0,
        );
    }
    for c in &input.coverage_component {
        set(
            &f.coverage_component,
            &[("pipeline", pl), ("component", c.key.as_str())],
            c.percent() / 100.0,
        );
    }
    let overall = if input.verdicts.iter().any(|v| v.status == "block") {
        "block"
    } else if input.verdicts.iter().any(|v| v.status == "alert") {
        "alert"
    } else if input.verdicts.is_empty() {
        "none"
    } else {
        "pass"
    };
    for s in ["pass", "alert", "block", "none"] {
        set(
            &f.gate_verdict,
            &[("pipeline", pl), ("verdict", s)],
            f64::from(u8::from(s == overall)),
        );
    }
    for v in &input.verdicts {
        for s in ["pass", "alert", "block"] {
            set(
                &f.gate_check,
                &[("pipeline", pl), ("check", v.check.as_str()), ("status", s)],
                f64::from(u8::from(v.status == s)),
            );
        }
        if let Some(m) = v.measured.filter(|m| m.is_finite()) {
            set(
                &f.gate_measured,
                &[("pipeline", pl), ("check", v.check.as_str())],
                m,
            );
        }
    }
    let mut slow: Vec<_> = input.rows.iter().collect();
    slow.sort_by(|a, b| {
        b.duration_s
            .total_cmp(&a.duration_s)
            .then(a.test.cmp(&b.test))
    });
    for row in slow.into_iter().take(top_k) {
        if let Some(name) = input.names.get(&row.test) {
            set(
                &f.test_duration,
                &[("pipeline", pl), ("test", name.as_str())],
                row.duration_s,
            );
        }
    }
}
