//! The pure core: a synthetic store read in, the report model, its Markdown
//! and HTML out.

use std::collections::HashMap;

use tollgate_report::{
    build, html, markdown, redacted_json, BenchInput, ComponentDef, Components, ReportInput,
};
use tollgate_store::{
    AttemptRecord, CoverageRollup, FlakyReport, FlakyTest, JobRecord, RunInfo, TestRunRow, Verdict,
};

fn run(id: i64, key: &str, branch: &str, complete: bool) -> RunInfo {
    RunInfo {
        id,
        run_key: key.into(),
        commit: format!("{key}0123456789abcdef"),
        branch: branch.into(),
        pipeline: "pr".into(),
        variables: Default::default(),
        runner: String::new(),
        started_at_ms: id * 1000,
        finished_at_ms: Some(id * 1000 + 500),
        complete,
    }
}

fn job(name: &str) -> JobRecord {
    JobRecord {
        name: name.into(),
        status: "failed".into(),
        wall_ms: Some(2000),
        cpu_ms: Some(1500),
        peak_rss_kb: Some(10240),
        first_attempts: 5,
        first_failures: 2,
    }
}

fn row(test: i64, passed: u32, failed: u32, last_failed: bool, secs: f64) -> TestRunRow {
    TestRunRow {
        test,
        job: 0,
        attempts: passed + failed,
        passed,
        failed,
        skipped: u32::from(passed + failed == 0),
        last_failed,
        duration_s: secs,
    }
}

fn attempt(test: &str, n: u32, outcome: &str, message: &str) -> AttemptRecord {
    AttemptRecord {
        job: "unit".into(),
        test_id: test.into(),
        attempt: n,
        outcome: outcome.into(),
        duration_s: 0.5,
        message: (!message.is_empty()).then(|| message.to_string()),
    }
}

const A: &str = "tests/router/test_route.py::test_ok";
const B: &str = "tests/router/test_route.py::test_breaks";
const C: &str = "tests/kv/test_cache.py::test_flaky";
const S: &str = "tests/kv/test_cache.py::test_skipped_now";
const GONE: &str = "tests/kv/test_cache.py::test_gone";
const NEW: &str = "tests/kv/test_cache.py::test_new";

/// Base run: everything passes. This run: B fails (twice), C flakes, S is
/// skipped, GONE is gone and NEW is new.
fn input() -> ReportInput {
    let names: HashMap<i64, String> = [(1, A), (2, B), (3, C), (4, S), (5, GONE), (6, NEW)]
        .into_iter()
        .map(|(i, n)| (i, n.to_string()))
        .collect();
    let base_states = vec![
        (1, b'P', 1.0),
        (2, b'P', 1.0),
        (3, b'P', 1.0),
        (4, b'P', 1.0),
        (5, b'P', 1.0),
    ];
    ReportInput {
        title: "demo test report".into(),
        generated_at_ms: 5_000,
        run: Some(run(3, "r3", "main", true)),
        base: Some(run(2, "r2", "main", true)),
        jobs: vec![job("unit")],
        rows: vec![
            row(1, 1, 0, false, 0.25),
            row(2, 0, 2, true, 4.0),
            row(3, 1, 1, false, 2.0),
            row(4, 0, 0, false, 0.0),
            row(6, 1, 0, false, 9.0),
        ],
        names,
        history: vec![
            (
                run(1, "r1", "main", true),
                vec![(1, b'P', 1.0), (2, b'F', 1.0)],
            ),
            (run(2, "r2", "main", true), base_states.clone()),
        ],
        base_states: Some(base_states),
        attempts: vec![
            attempt(
                B,
                1,
                "failed",
                "AssertionError: 1 != 2\nsecret sk-PLANTED-0042",
            ),
            attempt(B, 2, "failed", "AssertionError: 1 != 2"),
            attempt(C, 1, "failed", "timeout"),
            attempt(C, 2, "passed", ""),
        ],
        flaky: Some(FlakyReport {
            flaky: vec![FlakyTest {
                test_id: C.into(),
                commits: 4,
                flaky_commits: 2,
                attempts: 9,
                failed_attempts: 3,
                flake_rate: 0.5,
            }],
            tests_considered: 6,
            runs_considered: 3,
            runs_excluded: 0,
        }),
        coverage_language: vec![CoverageRollup {
            key: "python".into(),
            files: 2,
            lines_total: 200,
            lines_covered: 150,
        }],
        coverage_component: Vec::new(),
        base_coverage_language: vec![CoverageRollup {
            key: "python".into(),
            files: 2,
            lines_total: 200,
            lines_covered: 160,
        }],
        base_coverage_component: Vec::new(),
        bench: vec![BenchInput {
            name: "decode".into(),
            metric: "latency".into(),
            unit: "ms".into(),
            values: vec![110.0, 110.0],
            history: vec![100.0, 100.0],
        }],
        run_coverage: [("r3".to_string(), 75.0), ("r1".to_string(), 80.0)]
            .into_iter()
            .collect(),
        verdicts: vec![Verdict {
            check: "critical".into(),
            status: "block".into(),
            measured: Some(1.0),
            threshold: Some(0.0),
            detail: "1 gating test failed".into(),
        }],
        include_tests: true,
        slowest: 3,
    }
}

fn components() -> Components {
    Components::new(vec![
        ComponentDef {
            name: "router".into(),
            paths: vec!["tests/router/**".into()],
            owner: Some("@net-team".into()),
            ..ComponentDef::default()
        },
        ComponentDef {
            name: "kv".into(),
            paths: vec!["tests/kv/**".into()],
            owner: Some("@kv-team".into()),
            critical: true,
            ..ComponentDef::default()
        },
    ])
    .unwrap()
}

#[test]
fn deltas_against_the_base_run() {
    let report = build(&input(), &components());
    let d = &report.deltas;
    assert!(d.has_base);
    assert_eq!(d.new_failures, [B]);
    assert_eq!(d.new_flaky, [C]);
    assert_eq!(d.newly_skipped, [S]);
    assert_eq!(d.removed, [GONE]);
    assert!(d.fixed.is_empty());
    assert_eq!(d.added, 1);
    assert_eq!(report.status, "block");
    assert_eq!(
        (
            report.counts.tests,
            report.counts.passed,
            report.counts.failed,
            report.counts.flaky,
            report.counts.skipped
        ),
        (5, 2, 1, 1, 1)
    );
    assert_eq!(report.base_counts.map(|c| c.passed), Some(5));
}

#[test]
fn failures_are_grouped_by_component_with_every_attempt() {
    let report = build(&input(), &components());
    type Group<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str, usize, bool)>);
    let groups: Vec<Group> = report
        .failures
        .iter()
        .map(|g| {
            (
                g.component.as_str(),
                g.owner.as_str(),
                g.tests
                    .iter()
                    .map(|t| (t.id.as_str(), t.state.as_str(), t.attempts.len(), t.new))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("router", "@net-team", vec![(B, "failed", 2, true)]),
            ("kv", "@kv-team", vec![(C, "flaky", 2, false)]),
        ]
    );
    let b = &report.failures[0].tests[0];
    assert!(b.attempts[0].output.starts_with("AssertionError"));
    assert_eq!(report.flaky[0].id, C);
    assert!(report.flaky[0].in_run);
    assert_eq!(report.flaky[0].component, "kv");
    assert_eq!(report.slowest[0].id, NEW);
    assert_eq!(report.coverage[0].base_percent, Some(80.0));
    assert_eq!(report.coverage[0].percent, 75.0);
    assert_eq!(report.bench[0].change_percent, Some(10.0));
    // History strips: r1, r2, this run.
    let tests = report.tests.as_ref().unwrap();
    let i = tests.id.iter().position(|t| t == B).unwrap();
    assert_eq!(tests.history[i], "FPF");
    let n = tests.id.iter().position(|t| t == NEW).unwrap();
    assert_eq!(tests.history[n], "--P");
    assert_eq!(report.runs.len(), 3);
    // Duration histories of the tests worth opening (failures, flaky, slowest).
    assert_eq!(
        report.durations[B],
        vec![Some(1000), Some(1000), Some(4000)]
    );
    assert_eq!(report.durations[NEW], vec![None, None, Some(9000)]);
    assert!(!report.durations.contains_key(S));
}

#[test]
fn markdown_puts_the_verdict_first_and_shows_the_changes() {
    let report = build(&input(), &components());
    let text = markdown::render(&report, markdown::GITHUB_SUMMARY_LIMIT);
    insta::assert_snapshot!(text);
}

#[test]
fn markdown_shrinks_least_important_sections_first() {
    let mut input = input();
    // 3,000 failures and 3,000 removed tests: far beyond 4 KB.
    for i in 0..3000i64 {
        let id = 100 + i;
        input
            .names
            .insert(id, format!("tests/router/test_many.py::test_{i:05}"));
        input.rows.push(row(id, 0, 1, true, 0.1));
        input.attempts.push(attempt(
            &format!("tests/router/test_many.py::test_{i:05}"),
            1,
            "failed",
            "boom",
        ));
        let gone = 10_000 + i;
        input
            .names
            .insert(gone, format!("tests/kv/test_old.py::test_{i:05}"));
        input.base_states.as_mut().unwrap().push((gone, b'P', 0.1));
    }
    let report = build(&input, &components());
    for limit in [4_000usize, 20_000, 65_535] {
        let text = markdown::render(&report, limit);
        assert!(text.len() <= limit, "{} > {limit}", text.len());
        assert!(text.starts_with("## ❌ tollgate: blocked"), "{text}");
        assert!(text.contains("more"), "{text}");
        // The gate section survives whole; removed tests go before failures.
        assert!(text.contains("**critical** block"), "{text}");
        let removed_kept = text.matches("test_old.py").count();
        let failures_kept = text.matches("test_many.py").count();
        assert!(
            failures_kept >= removed_kept,
            "{limit}: {failures_kept} < {removed_kept}"
        );
    }
    // Tiny limits still hold.
    for limit in [0usize, 3, 10, 100] {
        assert!(markdown::render(&report, limit).len() <= limit);
    }
}

/// The report JSON embedded in a page.
fn embedded(page: &str) -> serde_json::Value {
    let start = page
        .find(r#"<script type="application/json" id="tollgate-data">"#)
        .expect("data script");
    let rest = &page[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</script>").unwrap();
    serde_json::from_str(&rest[open..close]).expect("embedded JSON")
}

#[test]
fn html_is_one_file_with_no_network_and_redacted_data() {
    let mut input = input();
    input
        .names
        .insert(2, format!("{B}[</script><script>alert(1)</script>]"));
    let report = build(&input, &components());
    let redact = |s: &str| {
        s.contains("sk-PLANTED")
            .then(|| s.replace("sk-PLANTED-0042", "[REDACTED]"))
    };
    let value = redacted_json(&report, &redact);
    let page = html::render_value(&value, html::Mode::File);
    assert!(
        !page.contains("sk-PLANTED"),
        "a redacted value reached the page"
    );
    assert!(page.contains("[REDACTED]"));
    // The only `</script>` are the two elements' own ends.
    assert_eq!(page.matches("</script>").count(), 2);
    let data = embedded(&page);
    assert_eq!(data["counts"]["tests"], 5);
    assert!(data["tests"]["id"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v.as_str().unwrap().contains("</script>")));
    // No request leaves the page: a CSP that forbids them, and no URL in any
    // src/href but fragments and data: URLs.
    assert!(page.contains("default-src 'none'"));
    assert!(page.contains("connect-src 'none'"));
    for attr in ["src=\"", "href=\""] {
        for (i, _) in page.match_indices(attr) {
            let value = &page[i + attr.len()..];
            assert!(
                value.starts_with('#') || value.starts_with("data:"),
                "{attr}{}",
                &value[..value.len().min(40)]
            );
        }
    }
    let without_svg_ns = page.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_svg_ns.contains("http://") && !without_svg_ns.contains("https://"));
    let dashboard = html::render_value(&value, html::Mode::Dashboard);
    assert!(dashboard.contains("connect-src 'self'"));
}

/// 20,000 tests with 30 runs of history: under 200 bytes a test, so
/// 100,000 tests stay under 20 MB (bench/report_scale.py measures 100,000).
#[test]
fn the_page_grows_by_under_200_bytes_a_test() {
    let mut input = input();
    input.rows.clear();
    input.names.clear();
    let mut states = Vec::new();
    for i in 0..20_000i64 {
        input.names.insert(
            i,
            format!(
                "tests/pkg{:03}/test_mod{:02}.py::test_case_{i}",
                i % 500,
                i % 37
            ),
        );
        input
            .rows
            .push(row(i, 1, 0, false, 0.01 * (i % 100) as f64));
        states.push((i, b'P', 0.5));
    }
    input.history = (0..29)
        .map(|k| (run(k + 10, &format!("h{k}"), "main", true), states.clone()))
        .collect();
    input.base_states = Some(states);
    let report = build(&input, &components());
    let page = html::render(&report, html::Mode::File);
    assert!(page.len() < 20_000 * 200, "{} bytes", page.len());
    assert_eq!(report.tests.as_ref().unwrap().id.len(), 20_000);
    // Passed in every run: the empty strip.
    assert_eq!(report.tests.as_ref().unwrap().history[0], "");
}

/// A run's trend point: key, branch, p50, p95, flake rate, coverage.
type TrendRow<'a> = (
    &'a str,
    &'a str,
    Option<u64>,
    Option<u64>,
    Option<f64>,
    Option<f64>,
);
/// An owner with (component, tests, failed, flaky).
type OwnerRow<'a> = (&'a str, Vec<(&'a str, u64, u64, u64)>);

/// Trends: one point per run with its branch, pass counts, duration
/// percentiles, flake rate and coverage (the page draws a line per branch).
#[test]
fn runs_carry_what_the_trends_draw() {
    let mut input = input();
    input.history[0].0.branch = "release".into();
    let report = build(&input, &components());
    let runs: Vec<TrendRow> = report
        .runs
        .iter()
        .map(|r| {
            (
                r.key.as_str(),
                r.branch.as_str(),
                r.p50_ms,
                r.p95_ms,
                r.flake_rate,
                r.coverage_percent,
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            (
                "r1",
                "release",
                Some(1000),
                Some(1000),
                Some(0.0),
                Some(80.0)
            ),
            ("r2", "main", Some(1000), Some(1000), Some(0.0), None),
            // This run: 0.25, 4.0, 2.0, 0.0, 9.0 s; one flaky of four that ran.
            ("r3", "main", Some(2000), Some(9000), Some(0.25), Some(75.0)),
        ]
    );
}

/// A step in a benchmark's history is a change point the page marks.
#[test]
fn bench_change_points() {
    let mut input = input();
    input.bench[0].history = vec![100.0, 101.0, 99.0, 100.0, 130.0, 131.0, 129.0];
    input.bench[0].values = vec![130.0];
    let report = build(&input, &components());
    let cps = &report.bench[0].change_points;
    assert_eq!(cps.len(), 1, "{cps:?}");
    assert_eq!(cps[0].index, 4);
    assert!((cps[0].change_percent - 30.0).abs() < 0.1, "{cps:?}");
    // The example's flat history has none.
    assert!(build(&self::input(), &components()).bench[0]
        .change_points
        .is_empty());
}

/// Owners → components → tests: a component's owner, else CODEOWNERS on
/// the test's file (through tollgate-owners), else the fallback owner.
#[test]
fn owners_drill_down_uses_the_owners_config() {
    let config: tollgate_config::Config = toml::from_str(
        r#"
[components.router]
paths = ["tests/router/**"]
owner = "@net-team"
[components.kv]
paths = ["tests/kv/**"]
[owners]
fallback = "@platform"
"#,
    )
    .unwrap();
    let codeowners = tollgate_owners::CodeOwners::parse(
        "CODEOWNERS",
        "/tests/kv/ @kv-team @storage\n",
        tollgate_owners::Flavor::Github,
    )
    .unwrap();
    let resolver = tollgate_owners::Resolver::new(&config, Some(codeowners)).unwrap();
    let mut components = Components::new(vec![
        ComponentDef {
            name: "router".into(),
            paths: vec!["tests/router/**".into()],
            owner: Some("@net-team".into()),
            ..ComponentDef::default()
        },
        ComponentDef {
            name: "kv".into(),
            paths: vec!["tests/kv/**".into()],
            ..ComponentDef::default()
        },
    ])
    .unwrap()
    .with_owners(resolver);
    let mut input = input();
    input.names.insert(7, "tests/misc/test_x.py::test_y".into());
    input.rows.push(row(7, 1, 0, false, 0.1));
    let report = build(&input, &components);
    let owners: Vec<OwnerRow> = report
        .owners
        .iter()
        .map(|o| {
            (
                o.owner.as_str(),
                o.components
                    .iter()
                    .map(|c| {
                        (
                            c.component.as_str(),
                            c.counts.tests,
                            c.counts.failed,
                            c.counts.flaky,
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        owners,
        [
            ("@net-team", vec![("router", 2, 1, 0)]),
            ("@kv-team, @storage", vec![("kv", 3, 0, 1)]),
            ("@platform", vec![("", 1, 0, 0)]),
        ]
    );
    // The test table points at them.
    let table = report.tests.as_ref().unwrap();
    let i = table.id.iter().position(|id| id == C).unwrap();
    assert_eq!(
        report.meta.owners[table.owner[i] as usize],
        "@kv-team, @storage"
    );
    assert_eq!(report.flaky[0].owner, "@kv-team, @storage");
    // Without [owners]: only component owners.
    components = self::components();
    let report = build(&input, &components);
    assert_eq!(report.owners.last().unwrap().owner, "");
}
