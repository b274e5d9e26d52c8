//! Judging measurements against a gate's checks (SPEC §8).
//!
//! Conventions shared by every check, so that "at the threshold" means the
//! same thing everywhere: a minimum is met when `measured >= threshold`, a
//! maximum when `measured <= threshold`. A check that has nothing to measure
//! (no coverage recorded, too little benchmark history) never blocks: it
//! passes when there is legitimately nothing to judge and alerts when data
//! the gate asks for is missing, so a misconfigured pipeline is visible
//! without stopping every merge.

use std::collections::BTreeMap;

use globset::GlobSet;
use tollgate_config::{
    Action, CoverageCheck, CoverageDropCheck, FlakyRateCheck, Gate, LimitCheck, PatchCoverageCheck,
    PerfRegressionCheck, StatTest,
};

use crate::model::{
    Baseline, BenchSeries, BudgetUsage, CheckResult, FileCoverage, Measurements, Status, Verdict,
};
use crate::stats;
use crate::GateError;

fn on_failure(action: Action) -> Status {
    match action {
        Action::Block => Status::Block,
        Action::Alert => Status::Alert,
    }
}

fn result(
    name: String,
    failed: bool,
    action: Action,
    measured: Option<f64>,
    threshold: Option<f64>,
    detail: String,
) -> CheckResult {
    CheckResult {
        name,
        status: if failed {
            on_failure(action)
        } else {
            Status::Pass
        },
        measured,
        threshold,
        detail,
    }
}

fn missing(name: String, threshold: Option<f64>, detail: String) -> CheckResult {
    CheckResult {
        name,
        status: Status::Alert,
        measured: None,
        threshold,
        detail,
    }
}

/// Evaluates every check the gate configures, in a fixed order.
pub fn evaluate(
    gate: &Gate,
    measured: &Measurements,
    baseline: &Baseline,
) -> Result<Verdict, GateError> {
    let mut checks = Vec::new();
    if let Some(action) = gate.critical_failures {
        checks.push(critical_failures(
            action,
            measured.critical_failures.as_deref(),
        ));
    }
    for check in &gate.coverage {
        checks.extend(coverage(check, &measured.coverage)?);
    }
    if let Some(check) = &gate.coverage_drop {
        checks.extend(coverage_drop(
            check,
            &measured.coverage,
            baseline.coverage.as_deref(),
        ));
    }
    if let Some(check) = &gate.patch_coverage {
        checks.push(patch_coverage(check, measured));
    }
    if let Some(check) = &gate.perf_regression {
        checks.extend(
            measured
                .bench
                .iter()
                .filter(|s| !crate::bench::is_spread_metric(&s.metric))
                .map(|s| perf_regression(check, s)),
        );
    }
    for limit in &gate.limits {
        checks.extend(limits(limit, measured)?);
    }
    if let Some(check) = &gate.flaky_rate {
        checks.push(flaky_rate(check, measured));
    }
    if let Some(action) = gate.budgets {
        checks.extend(
            measured
                .budgets
                .iter()
                .map(|b| budget(b.action.unwrap_or(action), b)),
        );
    }
    Ok(Verdict::from_checks(checks))
}

/// Resolves `extends` chains: the child's checks replace the parent's one by
/// one (coverage per language, limits per metric), everything else is kept.
pub fn resolve_gate(
    gates: &tollgate_config::OrderedMap<Gate>,
    name: &str,
) -> Result<Gate, GateError> {
    let mut chain = Vec::new();
    let mut next = Some(name.to_string());
    while let Some(current) = next {
        if chain.contains(&current) {
            return Err(GateError::ExtendsCycle(current));
        }
        let gate = gates
            .get(&current)
            .ok_or_else(|| GateError::UnknownGate(current.clone()))?;
        next = gate.extends.clone();
        chain.push(current);
    }
    let mut merged = Gate::default();
    for name in chain.iter().rev() {
        let Some(gate) = gates.get(name) else {
            continue;
        };
        merged.description = gate.description.clone();
        merged.critical_failures = gate.critical_failures.or(merged.critical_failures);
        for check in &gate.coverage {
            merged.coverage.retain(|c| c.language != check.language);
            merged.coverage.push(check.clone());
        }
        merged.coverage_drop = gate.coverage_drop.clone().or(merged.coverage_drop);
        merged.patch_coverage = gate.patch_coverage.clone().or(merged.patch_coverage);
        merged.perf_regression = gate.perf_regression.clone().or(merged.perf_regression);
        for limit in &gate.limits {
            merged.limits.retain(|l| l.metric != limit.metric);
            merged.limits.push(limit.clone());
        }
        merged.flaky_rate = gate.flaky_rate.clone().or(merged.flaky_rate);
        merged.budgets = gate.budgets.or(merged.budgets);
    }
    Ok(merged)
}

fn critical_failures(action: Action, failures: Option<&[String]>) -> CheckResult {
    let name = "critical_failures".to_string();
    let Some(failures) = failures else {
        return missing(
            name,
            Some(0.0),
            "test outcomes of the run are unknown".into(),
        );
    };
    // The first few by name, then how many more (the JSON lists them all).
    const SHOWN: usize = 5;
    let detail = match failures {
        [] => "no gating test or job failed".to_string(),
        _ if failures.len() <= SHOWN => format!("failed: {}", failures.join(", ")),
        _ => format!(
            "failed: {} and {} more",
            failures[..SHOWN].join(", "),
            failures.len() - SHOWN
        ),
    };
    result(
        name,
        !failures.is_empty(),
        action,
        Some(failures.len() as f64),
        Some(0.0),
        detail,
    )
}

/// Covered and executable line counts of some files.
fn line_counts<'a>(files: impl Iterator<Item = &'a FileCoverage>) -> (usize, usize) {
    files.fold((0, 0), |(covered, total), f| {
        (
            covered + f.covered_lines.len(),
            total + f.covered_lines.len() + f.uncovered_lines.len(),
        )
    })
}

fn percent(covered: usize, total: usize) -> f64 {
    100.0 * covered as f64 / total as f64
}

/// Line coverage per language, and per critical-path glob set.
fn coverage(check: &CoverageCheck, files: &[FileCoverage]) -> Result<Vec<CheckResult>, GateError> {
    let language = check.language.to_string();
    let of_language: Vec<&FileCoverage> = files.iter().filter(|f| f.language == language).collect();
    let mut out = Vec::new();
    let name = format!("coverage.{language}");
    let (covered, total) = line_counts(of_language.iter().copied());
    out.push(if total == 0 {
        missing(
            name,
            Some(check.min_lines),
            format!("no {language} coverage recorded"),
        )
    } else {
        let pct = percent(covered, total);
        result(
            name,
            pct < check.min_lines,
            check.action,
            Some(pct),
            Some(check.min_lines),
            format!("{covered}/{total} lines"),
        )
    });
    for critical in &check.critical {
        let globs = glob_set(&critical.paths)?;
        let (covered, total) = line_counts(
            of_language
                .iter()
                .copied()
                .filter(|f| globs.is_match(&f.path)),
        );
        let name = format!("coverage.{language}.{}", critical.name);
        out.push(if total == 0 {
            // Nothing under these paths was measured: not a failure of the code.
            CheckResult {
                name,
                status: Status::Pass,
                measured: None,
                threshold: Some(critical.min_lines),
                detail: "no covered files under these paths".into(),
            }
        } else {
            let pct = percent(covered, total);
            result(
                name,
                pct < critical.min_lines,
                check.action,
                Some(pct),
                Some(critical.min_lines),
                format!("{covered}/{total} lines"),
            )
        });
    }
    Ok(out)
}

/// Matches paths the way the config's rules do (`*` stays within a directory).
fn glob_set(patterns: &[String]) -> Result<GlobSet, GateError> {
    tollgate_config::compile_globs(patterns).map_err(|source| GateError::Glob {
        pattern: patterns.join(", "),
        source,
    })
}

/// Coverage drop per language against the baseline, in percentage points.
fn coverage_drop(
    check: &CoverageDropCheck,
    files: &[FileCoverage],
    baseline: Option<&[FileCoverage]>,
) -> Vec<CheckResult> {
    let Some(baseline) = baseline else {
        return vec![CheckResult {
            name: "coverage_drop".into(),
            status: Status::Pass,
            measured: None,
            threshold: Some(check.max_points),
            detail: "no baseline run on the base branch yet".into(),
        }];
    };
    let per_language = |files: &[FileCoverage]| {
        let mut map: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for f in files {
            let entry = map.entry(f.language.clone()).or_default();
            let (c, t) = line_counts(std::iter::once(f));
            entry.0 += c;
            entry.1 += t;
        }
        map
    };
    let now = per_language(files);
    let before = per_language(baseline);
    let mut out = Vec::new();
    for (language, &(base_covered, base_total)) in &before {
        if base_total == 0 {
            continue;
        }
        let name = format!("coverage_drop.{language}");
        let base_pct = percent(base_covered, base_total);
        match now.get(language) {
            Some(&(covered, total)) if total > 0 => {
                let pct = percent(covered, total);
                let drop = base_pct - pct;
                out.push(result(
                    name,
                    drop > check.max_points,
                    check.action,
                    Some(drop),
                    Some(check.max_points),
                    format!("{base_pct:.2}% → {pct:.2}%"),
                ));
            }
            _ => out.push(missing(
                name,
                Some(check.max_points),
                format!("baseline has {language} coverage, this run has none"),
            )),
        }
    }
    out
}

/// Coverage of the changed, executable lines.
fn patch_coverage(check: &PatchCoverageCheck, measured: &Measurements) -> CheckResult {
    let name = "patch_coverage".to_string();
    let Some(changed) = &measured.changed_lines else {
        return missing(
            name,
            Some(check.min_percent),
            "no diff against the base branch".into(),
        );
    };
    let in_ranges = |line: &u32, ranges: &[crate::model::LineRange]| {
        ranges.iter().any(|r| r.first <= *line && *line <= r.last)
    };
    let (mut covered, mut total) = (0usize, 0usize);
    for file in &measured.coverage {
        let Some(ranges) = changed.get(&file.path) else {
            continue;
        };
        let c = file
            .covered_lines
            .iter()
            .filter(|l| in_ranges(l, ranges))
            .count();
        let u = file
            .uncovered_lines
            .iter()
            .filter(|l| in_ranges(l, ranges))
            .count();
        covered += c;
        total += c + u;
    }
    if total == 0 {
        return CheckResult {
            name,
            status: Status::Pass,
            measured: None,
            threshold: Some(check.min_percent),
            detail: "no executable changed lines".into(),
        };
    }
    let pct = percent(covered, total);
    result(
        name,
        pct < check.min_percent,
        check.action,
        Some(pct),
        Some(check.min_percent),
        format!("{covered}/{total} changed lines covered"),
    )
}

/// A regression must be both significant (one-sided test at `alpha`) and
/// larger than `max_percent` as a change of the mean: significance alone
/// would block on tiny real changes, size alone would block on noise.
fn perf_regression(check: &PerfRegressionCheck, series: &BenchSeries) -> CheckResult {
    let name = format!("perf.{}.{}", series.name, series.metric);
    let threshold = Some(check.max_percent);
    if series.current.is_empty() || series.history.len() < check.min_samples as usize {
        return CheckResult {
            name,
            status: Status::Pass,
            measured: None,
            threshold,
            detail: format!(
                "{} history samples, {} needed",
                series.history.len(),
                check.min_samples
            ),
        };
    }
    // A sample that is not a finite number (or a mean that overflows) cannot
    // be judged; passing it would fail open ("pass NaN%"): it fails instead.
    let finite = |xs: &[f64]| xs.iter().all(|v| v.is_finite());
    let base = stats::mean(&series.history);
    let now = stats::mean(&series.current);
    if !finite(&series.current) || !finite(&series.history) || !base.is_finite() || !now.is_finite()
    {
        return result(
            name,
            true,
            check.action,
            None,
            threshold,
            "refused: a sample is not a finite number (NaN, infinite, or too large to average)"
                .into(),
        );
    }
    // Turn "better is higher" into "worse is higher" so one test serves both.
    let sign = if series.higher_is_better { -1.0 } else { 1.0 };
    let current: Vec<f64> = series.current.iter().map(|v| sign * v).collect();
    let history: Vec<f64> = series.history.iter().map(|v| sign * v).collect();
    let p_value = match check.test {
        StatTest::Welch => stats::welch_greater(&current, &history),
        StatTest::MannWhitney => stats::mann_whitney_greater(&current, &history),
    };
    let change_percent = if base == 0.0 {
        0.0
    } else {
        // (now - base) can exceed f64::MAX for finite means far apart:
        // then divide first (the result is refused below if still infinite).
        let diff = now - base;
        if diff.is_finite() {
            100.0 * sign * diff / base.abs()
        } else {
            100.0 * sign * (now / base.abs() - base / base.abs())
        }
    };
    if !change_percent.is_finite() {
        return result(
            name,
            true,
            check.action,
            None,
            threshold,
            "refused: the change of the mean is not a finite number".into(),
        );
    }
    let significant = p_value.is_some_and(|p| p < check.alpha);
    result(
        name,
        significant && change_percent > check.max_percent,
        check.action,
        Some(change_percent),
        threshold,
        match p_value {
            Some(p) => format!("{change_percent:+.2}% (p = {p:.4})"),
            None => format!("{change_percent:+.2}% (not enough spread for a test)"),
        },
    )
}

/// Absolute limits on the mean of this run's samples of a metric, for every
/// benchmark, or only for those whose test matches the limit's marker
/// expression (`expr`).
fn limits(limit: &LimitCheck, measured: &Measurements) -> Result<Vec<CheckResult>, GateError> {
    let selector = match &limit.expr {
        Some(text) => Some(tollgate_markexpr::Expression::parse(text).map_err(|e| {
            GateError::LimitExpression {
                metric: limit.metric.clone(),
                expr: text.clone(),
                message: e.to_string(),
            }
        })?),
        None => None,
    };
    let selected = |s: &BenchSeries| match (&selector, &measured.bench_tests) {
        (None, _) => true,
        (Some(expr), Some(tests)) => tests.get(&s.name).is_some_and(|t| expr.evaluate(t)),
        (Some(_), None) => false,
    };
    let matching: Vec<&BenchSeries> = measured
        .bench
        .iter()
        .filter(|s| s.metric == limit.metric && !s.current.is_empty() && selected(s))
        .collect();
    if matching.is_empty() {
        let detail = match (&limit.expr, &measured.bench_tests) {
            (Some(expr), None) => format!(
                "cannot tell which benchmarks match `{expr}`: the test inventory is unknown"
            ),
            (Some(expr), Some(_)) => {
                format!(
                    "no `{}` samples of tests matching `{expr}` in this run",
                    limit.metric
                )
            }
            (None, _) => format!("no `{}` samples in this run", limit.metric),
        };
        return Ok(vec![missing(
            format!("limit.{}", limit.metric),
            limit.max.or(limit.min),
            detail,
        )]);
    }
    let mut out = Vec::new();
    for series in matching {
        // A mean that is not a finite number fails the limit, never passes it.
        let value = stats::mean(&series.current);
        let name = format!("limit.{}.{}", series.name, limit.metric);
        if let Some(max) = limit.max {
            out.push(result(
                name.clone(),
                !value.is_finite() || value > max,
                limit.action,
                Some(value),
                Some(max),
                format!("{value:.3} {} ≤ {max}", series.unit),
            ));
        }
        if let Some(min) = limit.min {
            out.push(result(
                name,
                !value.is_finite() || value < min,
                limit.action,
                Some(value),
                Some(min),
                format!("{value:.3} {} ≥ {min}", series.unit),
            ));
        }
    }
    Ok(out)
}

/// A time budget: the largest spend among what it covers against its limit.
fn budget(action: Action, usage: &BudgetUsage) -> CheckResult {
    let name = format!("budget.{}", usage.name);
    let Some(spent) = usage.spent_s else {
        return CheckResult {
            name,
            status: Status::Pass,
            measured: None,
            threshold: Some(usage.limit_s),
            detail: "no test of this run falls under the budget".into(),
        };
    };
    let over = match usage.over {
        0 | 1 => String::new(),
        n => format!("; {n} over the limit"),
    };
    result(
        name,
        spent > usage.limit_s,
        action,
        Some(spent),
        Some(usage.limit_s),
        format!(
            "{spent:.1}s of {:.1}s ({}){over}",
            usage.limit_s, usage.subject
        ),
    )
}

fn flaky_rate(check: &FlakyRateCheck, measured: &Measurements) -> CheckResult {
    let name = "flaky_rate".to_string();
    let Some(flaky) = measured.flaky else {
        return missing(name, Some(check.max_percent), "no flake statistics".into());
    };
    if flaky.tests_considered == 0 {
        return CheckResult {
            name,
            status: Status::Pass,
            measured: None,
            threshold: Some(check.max_percent),
            detail: "no tests ran in the window".into(),
        };
    }
    let pct = 100.0 * flaky.flaky_tests as f64 / flaky.tests_considered as f64;
    result(
        name,
        pct > check.max_percent,
        check.action,
        Some(pct),
        Some(check.max_percent),
        format!(
            "{} of {} tests flaky",
            flaky.flaky_tests, flaky.tests_considered
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FlakyStats, LineRange};
    use crate::testrng::XorShift;
    use tollgate_config::CriticalCoverage;
    use tollgate_inventory::Language;

    /// A file with `covered` of 1,000 lines covered (one line = 0.1 points).
    fn file(path: &str, language: &str, covered: u32) -> FileCoverage {
        FileCoverage {
            path: path.into(),
            language: language.into(),
            covered_lines: (1..=covered).collect(),
            uncovered_lines: (covered + 1..=1000).collect(),
        }
    }

    fn only(gate: &Gate, m: &Measurements, b: &Baseline) -> Vec<CheckResult> {
        match evaluate(gate, m, b) {
            Ok(v) => v.checks,
            Err(e) => panic!("evaluate failed: {e}"),
        }
    }

    fn statuses(checks: &[CheckResult]) -> Vec<(&str, Status)> {
        checks.iter().map(|c| (c.name.as_str(), c.status)).collect()
    }

    #[test]
    fn critical_failures_table() {
        let gate = Gate {
            critical_failures: Some(Action::Block),
            ..Gate::default()
        };
        let cases: [(Option<Vec<String>>, Status); 3] = [
            (Some(vec![]), Status::Pass),
            (Some(vec!["tests/test_a.py::test_x".into()]), Status::Block),
            (None, Status::Alert),
        ];
        for (failures, expected) in cases {
            let m = Measurements {
                critical_failures: failures.clone(),
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!(checks[0].status, expected, "{failures:?}");
            assert_eq!(checks[0].threshold, Some(0.0));
        }
    }

    #[test]
    fn coverage_per_language_at_under_and_over() {
        let gate = Gate {
            coverage: vec![CoverageCheck {
                language: Language::Rust,
                min_lines: 80.0,
                critical: vec![],
                action: Action::Block,
            }],
            ..Gate::default()
        };
        // 799/1000 = 79.9% (just under), 800 = at, 801 = just over.
        for (covered, expected) in [
            (799, Status::Block),
            (800, Status::Pass),
            (801, Status::Pass),
        ] {
            let m = Measurements {
                coverage: vec![
                    file("src/lib.rs", "rust", covered),
                    file("a.py", "python", 0),
                ],
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!(
                statuses(&checks),
                [("coverage.rust", expected)],
                "{covered}"
            );
            assert_eq!(checks[0].measured, Some(f64::from(covered) / 10.0));
        }
        // Nothing recorded for the language: visible, never blocking.
        let checks = only(&gate, &Measurements::default(), &Baseline::default());
        assert_eq!(checks[0].status, Status::Alert);
    }

    #[test]
    fn coverage_on_critical_paths_at_under_and_over() {
        let gate = Gate {
            coverage: vec![CoverageCheck {
                language: Language::Python,
                min_lines: 50.0,
                critical: vec![CriticalCoverage {
                    name: "public".into(),
                    paths: vec!["pkg/**/__init__.py".into()],
                    min_lines: 95.0,
                }],
                action: Action::Alert,
            }],
            ..Gate::default()
        };
        for (covered, expected) in [
            (949, Status::Alert),
            (950, Status::Pass),
            (951, Status::Pass),
        ] {
            let m = Measurements {
                coverage: vec![
                    file("pkg/sub/__init__.py", "python", covered),
                    file("pkg/other.py", "python", 0),
                ],
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            // The language as a whole (about 47.5%) is under 50%: alert.
            assert_eq!(
                statuses(&checks),
                [
                    ("coverage.python", Status::Alert),
                    ("coverage.python.public", expected)
                ],
                "{covered}"
            );
            assert_eq!(checks[1].measured, Some(f64::from(covered) / 10.0));
        }
        let gate_bad_glob = Gate {
            coverage: vec![CoverageCheck {
                language: Language::Python,
                min_lines: 1.0,
                critical: vec![CriticalCoverage {
                    name: "x".into(),
                    paths: vec!["a/[".into()],
                    min_lines: 1.0,
                }],
                action: Action::Block,
            }],
            ..Gate::default()
        };
        let err = evaluate(
            &gate_bad_glob,
            &Measurements::default(),
            &Baseline::default(),
        );
        assert!(matches!(err, Err(GateError::Glob { .. })));
    }

    #[test]
    fn coverage_drop_at_under_and_over() {
        let gate = Gate {
            coverage_drop: Some(CoverageDropCheck {
                max_points: 2.0,
                action: Action::Block,
            }),
            ..Gate::default()
        };
        let baseline = Baseline {
            coverage: Some(vec![file("src/lib.rs", "rust", 900)]),
        };
        // Drops of 1.9, 2.0, 2.1 and 3 points; a rise is fine.
        for (covered, expected) in [
            (881, Status::Pass),
            (880, Status::Pass),
            (879, Status::Block),
            (870, Status::Block),
            (950, Status::Pass),
        ] {
            let m = Measurements {
                coverage: vec![file("src/lib.rs", "rust", covered)],
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &baseline);
            assert_eq!(
                statuses(&checks),
                [("coverage_drop.rust", expected)],
                "{covered}"
            );
            let drop = checks[0].measured.unwrap_or(f64::NAN);
            assert!((drop - (900.0 - f64::from(covered)) / 10.0).abs() < 1e-9);
        }
        // No baseline yet: nothing to compare, pass.
        let checks = only(&gate, &Measurements::default(), &Baseline::default());
        assert_eq!(statuses(&checks), [("coverage_drop", Status::Pass)]);
        // The language vanished from this run: alert.
        let checks = only(&gate, &Measurements::default(), &baseline);
        assert_eq!(statuses(&checks), [("coverage_drop.rust", Status::Alert)]);
    }

    #[test]
    fn patch_coverage_at_under_and_over() {
        let gate = Gate {
            patch_coverage: Some(PatchCoverageCheck {
                min_percent: 75.0,
                action: Action::Block,
            }),
            ..Gate::default()
        };
        // Lines 1..=4 changed (plus a non-executable line 2000); covered of them varies.
        let cases = [(2, Status::Block), (3, Status::Pass), (4, Status::Pass)];
        for (covered, expected) in cases {
            let f = FileCoverage {
                path: "src/a.rs".into(),
                language: "rust".into(),
                covered_lines: (1..=covered).chain(10..=20).collect(),
                uncovered_lines: (covered + 1..=4).collect(),
            };
            let changed = [(
                "src/a.rs".to_string(),
                vec![
                    LineRange { first: 1, last: 4 },
                    LineRange {
                        first: 2000,
                        last: 2000,
                    },
                ],
            )]
            .into_iter()
            .collect();
            let m = Measurements {
                coverage: vec![f],
                changed_lines: Some(changed),
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!(
                statuses(&checks),
                [("patch_coverage", expected)],
                "{covered}"
            );
            assert_eq!(checks[0].measured, Some(f64::from(covered) * 25.0));
        }
        // 74.9 / 75 / 75.1 with 1,000 changed lines.
        for (covered, expected) in [
            (749, Status::Block),
            (750, Status::Pass),
            (751, Status::Pass),
        ] {
            let m = Measurements {
                coverage: vec![file("x.py", "python", covered)],
                changed_lines: Some(
                    [(
                        "x.py".to_string(),
                        vec![LineRange {
                            first: 1,
                            last: 1000,
                        }],
                    )]
                    .into_iter()
                    .collect(),
                ),
                ..Measurements::default()
            };
            assert_eq!(only(&gate, &m, &Baseline::default())[0].status, expected);
        }
        let no_diff = only(&gate, &Measurements::default(), &Baseline::default());
        assert_eq!(no_diff[0].status, Status::Alert);
    }

    fn perf_gate(test: StatTest) -> Gate {
        Gate {
            perf_regression: Some(PerfRegressionCheck {
                max_percent: 5.0,
                test,
                alpha: 0.05,
                min_samples: 5,
                action: Action::Block,
            }),
            ..Gate::default()
        }
    }

    fn series(current: Vec<f64>, history: Vec<f64>) -> BenchSeries {
        BenchSeries {
            name: "decode".into(),
            metric: "mean".into(),
            unit: "s".into(),
            higher_is_better: false,
            current,
            history,
        }
    }

    /// Deterministic samples with a tiny spread around `centre`, so the test
    /// is always significant and only the size of the change decides.
    fn tight(centre: f64) -> Vec<f64> {
        (0..20)
            .map(|i| centre + (f64::from(i) - 9.5) * 1e-4)
            .collect()
    }

    #[test]
    fn perf_regression_at_under_and_over() {
        for test in [StatTest::Welch, StatTest::MannWhitney] {
            let gate = perf_gate(test);
            for (current, expected) in [
                (104.9, Status::Pass),
                (105.0, Status::Pass),
                (105.1, Status::Block),
                (90.0, Status::Pass),
            ] {
                let m = Measurements {
                    bench: vec![series(tight(current), tight(100.0))],
                    ..Measurements::default()
                };
                let checks = only(&gate, &m, &Baseline::default());
                assert_eq!(
                    statuses(&checks),
                    [("perf.decode.mean", expected)],
                    "{test:?} {current}"
                );
                let change = checks[0].measured.unwrap_or(f64::NAN);
                assert!((change - (current - 100.0)).abs() < 1e-6);
            }
            // Throughput falling 10% is a regression; rising is not.
            for (current, expected) in [(90.0, Status::Block), (110.0, Status::Pass)] {
                let mut s = series(tight(current), tight(100.0));
                s.higher_is_better = true;
                let m = Measurements {
                    bench: vec![s],
                    ..Measurements::default()
                };
                assert_eq!(only(&gate, &m, &Baseline::default())[0].status, expected);
            }
            // Below min_samples of history: not judged.
            let m = Measurements {
                bench: vec![series(tight(200.0), vec![100.0; 4])],
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!((checks[0].status, checks[0].measured), (Status::Pass, None));
        }
    }

    /// Runs `trials` seeded comparisons of 20 current against 20 history
    /// samples (normal, 5% relative spread) with the current mean shifted by
    /// `shift`; returns how many were blocked.
    fn blocked_trials(test: StatTest, shift: f64, trials: u32, seed: u64) -> u32 {
        let gate = perf_gate(test);
        let mut rng = XorShift::new(seed);
        let mut blocked = 0;
        for _ in 0..trials {
            let history: Vec<f64> = (0..20).map(|_| 100.0 + 5.0 * rng.normal()).collect();
            let current: Vec<f64> = (0..20)
                .map(|_| 100.0 * (1.0 + shift) + 5.0 * rng.normal())
                .collect();
            let m = Measurements {
                bench: vec![series(current, history)],
                ..Measurements::default()
            };
            if only(&gate, &m, &Baseline::default())[0].status == Status::Block {
                blocked += 1;
            }
        }
        blocked
    }

    #[test]
    fn perf_check_ignores_pure_noise() {
        for test in [StatTest::Welch, StatTest::MannWhitney] {
            let flagged = blocked_trials(test, 0.0, 1_000, 42);
            eprintln!("{test:?}: noise flagged in {flagged}/1000");
            assert!(flagged <= 10, "{test:?}: noise flagged in {flagged}/1000");
        }
    }

    #[test]
    fn perf_check_finds_a_ten_percent_shift() {
        for test in [StatTest::Welch, StatTest::MannWhitney] {
            let flagged = blocked_trials(test, 0.10, 1_000, 7);
            eprintln!("{test:?}: 10% shift flagged in {flagged}/1000");
            assert!(
                flagged >= 950,
                "{test:?}: 10% shift flagged in {flagged}/1000"
            );
        }
    }

    #[test]
    fn non_finite_and_overflowing_samples_fail_closed() {
        let history: Vec<f64> = [100.0, 101.0, 99.0, 100.5, 99.5].to_vec();
        for current in [
            vec![f64::NAN],
            vec![f64::INFINITY],
            vec![f64::MAX, f64::MAX],
            vec![-f64::MAX],
        ] {
            for test in [StatTest::Welch, StatTest::MannWhitney] {
                let m = Measurements {
                    bench: vec![series(current.clone(), history.clone())],
                    ..Measurements::default()
                };
                let checks = only(&perf_gate(test), &m, &Baseline::default());
                assert_ne!(
                    checks[0].status,
                    Status::Pass,
                    "{current:?} {test:?}: {checks:?}"
                );
                assert!(checks[0].detail.contains("refused"), "{checks:?}");
            }
        }
        // History with an overflowing mean is refused too.
        let m = Measurements {
            bench: vec![series(vec![1.0], vec![f64::MAX, f64::MAX, 1.0, 2.0, 3.0])],
            ..Measurements::default()
        };
        let checks = only(&perf_gate(StatTest::Welch), &m, &Baseline::default());
        assert_ne!(checks[0].status, Status::Pass, "{checks:?}");
    }

    #[test]
    fn noisy_single_sample_is_not_a_regression() {
        // One current value inside the history's spread, even if 6% above its mean.
        let history: Vec<f64> = [80.0, 120.0, 90.0, 110.0, 100.0, 85.0, 115.0].to_vec();
        let m = Measurements {
            bench: vec![series(vec![106.0], history)],
            ..Measurements::default()
        };
        let checks = only(&perf_gate(StatTest::Welch), &m, &Baseline::default());
        assert_eq!(checks[0].status, Status::Pass);
    }

    #[test]
    fn absolute_limits_at_under_and_over() {
        let gate = Gate {
            limits: vec![LimitCheck {
                metric: "ttft_ms".into(),
                max: Some(200.0),
                min: None,
                expr: None,
                action: Action::Block,
            }],
            ..Gate::default()
        };
        for (value, expected) in [
            (199.9, Status::Pass),
            (200.0, Status::Pass),
            (200.1, Status::Block),
        ] {
            let mut s = series(vec![value], vec![]);
            s.metric = "ttft_ms".into();
            let m = Measurements {
                bench: vec![s, series(vec![1e9], vec![])],
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!(
                statuses(&checks),
                [("limit.decode.ttft_ms", expected)],
                "{value}"
            );
        }
        let min_gate = Gate {
            limits: vec![LimitCheck {
                metric: "ops".into(),
                max: None,
                min: Some(1000.0),
                expr: None,
                action: Action::Alert,
            }],
            ..Gate::default()
        };
        for (value, expected) in [
            (999.9, Status::Alert),
            (1000.0, Status::Pass),
            (1000.1, Status::Pass),
        ] {
            let mut s = series(vec![value], vec![]);
            s.metric = "ops".into();
            let m = Measurements {
                bench: vec![s],
                ..Measurements::default()
            };
            assert_eq!(
                only(&min_gate, &m, &Baseline::default())[0].status,
                expected
            );
        }
        let none = only(&gate, &Measurements::default(), &Baseline::default());
        assert_eq!(statuses(&none), [("limit.ttft_ms", Status::Alert)]);
    }

    #[test]
    fn flaky_rate_at_under_and_over() {
        let gate = Gate {
            flaky_rate: Some(FlakyRateCheck {
                max_percent: 5.0,
                action: Action::Alert,
            }),
            ..Gate::default()
        };
        // 49, 50, 51 flaky of 1,000 = 4.9%, 5.0%, 5.1%.
        for (flaky, expected) in [(49, Status::Pass), (50, Status::Pass), (51, Status::Alert)] {
            let m = Measurements {
                flaky: Some(FlakyStats {
                    flaky_tests: flaky,
                    tests_considered: 1000,
                }),
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!(statuses(&checks), [("flaky_rate", expected)], "{flaky}");
        }
        let empty = Measurements {
            flaky: Some(FlakyStats::default()),
            ..Measurements::default()
        };
        assert_eq!(
            only(&gate, &empty, &Baseline::default())[0].status,
            Status::Pass
        );
    }

    #[test]
    fn budgets_at_under_and_over() {
        let gate = Gate {
            budgets: Some(Action::Block),
            ..Gate::default()
        };
        for (spent, expected) in [
            (599.9, Status::Pass),
            (600.0, Status::Pass),
            (600.1, Status::Block),
        ] {
            let m = Measurements {
                budgets: vec![BudgetUsage {
                    name: "pre_merge".into(),
                    spent_s: Some(spent),
                    limit_s: 600.0,
                    subject: "job unit".into(),
                    over: 0,
                    action: None,
                }],
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!(
                statuses(&checks),
                [("budget.pre_merge", expected)],
                "{spent}"
            );
        }
    }

    #[test]
    fn a_budget_nothing_falls_under_passes_and_details_name_the_worst() {
        let gate = Gate {
            budgets: Some(Action::Alert),
            ..Gate::default()
        };
        let m = Measurements {
            budgets: vec![
                BudgetUsage {
                    name: "e2e".into(),
                    spent_s: None,
                    limit_s: 900.0,
                    ..BudgetUsage::default()
                },
                BudgetUsage {
                    name: "unit".into(),
                    spent_s: Some(20.0),
                    limit_s: 15.0,
                    subject: "job unit_2 (40 tests)".into(),
                    over: 2,
                    action: None,
                },
            ],
            ..Measurements::default()
        };
        let checks = only(&gate, &m, &Baseline::default());
        assert_eq!(
            statuses(&checks),
            [("budget.e2e", Status::Pass), ("budget.unit", Status::Alert)]
        );
        assert_eq!(checks[0].measured, None);
        assert_eq!(
            checks[1].detail,
            "20.0s of 15.0s (job unit_2 (40 tests)); 2 over the limit"
        );
    }

    #[test]
    fn a_budget_s_own_action_beats_the_gate_s() {
        let over = |action| BudgetUsage {
            name: "e2e".into(),
            spent_s: Some(901.0),
            limit_s: 900.0,
            action,
            ..BudgetUsage::default()
        };
        for (gate_action, own, expected) in [
            (Action::Alert, None, Status::Alert),
            (Action::Block, None, Status::Block),
            (Action::Alert, Some(Action::Block), Status::Block),
            (Action::Block, Some(Action::Alert), Status::Alert),
        ] {
            let gate = Gate {
                budgets: Some(gate_action),
                ..Gate::default()
            };
            let m = Measurements {
                budgets: vec![over(own)],
                ..Measurements::default()
            };
            let checks = only(&gate, &m, &Baseline::default());
            assert_eq!(
                statuses(&checks),
                [("budget.e2e", expected)],
                "{gate_action:?} {own:?}"
            );
        }
    }

    fn test_item(id: &str, marks: &[&str]) -> tollgate_inventory::TestItem {
        let origin = tollgate_inventory::MarkOrigin {
            file: "tests/test_perf.py".into(),
            line: 1,
            source: tollgate_inventory::MarkSource::FunctionDecorator,
            learned: None,
        };
        tollgate_inventory::TestItem {
            id: id.into(),
            language: Language::Python,
            file: "tests/test_perf.py".into(),
            line: 1,
            function: id.into(),
            markers: marks
                .iter()
                .map(|m| tollgate_inventory::Marker::new(*m, origin.clone()))
                .collect(),
            dynamic: None,
            rust: None,
        }
    }

    #[test]
    fn a_limit_expression_selects_benchmarks_by_their_tests_markers() {
        let gate = Gate {
            limits: vec![LimitCheck {
                metric: "ttft_ms".into(),
                max: Some(200.0),
                min: None,
                expr: Some("gpu and not nightly".into()),
                action: Action::Block,
            }],
            ..Gate::default()
        };
        let bench = |name: &str, value: f64| BenchSeries {
            name: name.into(),
            metric: "ttft_ms".into(),
            unit: "ms".into(),
            current: vec![value],
            ..BenchSeries::default()
        };
        let tests = [
            test_item("t.py::gpu_fast", &["gpu"]),
            test_item("t.py::gpu_nightly", &["gpu", "nightly"]),
            test_item("t.py::cpu", &[]),
        ]
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
        let mut m = Measurements {
            bench: vec![
                bench("t.py::gpu_fast", 150.0),
                bench("t.py::gpu_nightly", 900.0),
                bench("t.py::cpu", 900.0),
                bench("criterion/not-a-test", 900.0),
            ],
            bench_tests: Some(tests),
            ..Measurements::default()
        };
        let checks = only(&gate, &m, &Baseline::default());
        assert_eq!(
            statuses(&checks),
            [("limit.t.py::gpu_fast.ttft_ms", Status::Pass)]
        );
        // The matching benchmark over the limit blocks.
        m.bench[0].current = vec![250.0];
        let checks = only(&gate, &m, &Baseline::default());
        assert_eq!(
            statuses(&checks),
            [("limit.t.py::gpu_fast.ttft_ms", Status::Block)]
        );
        // Nothing matches: an alert that says so, not a silent pass.
        m.bench.remove(0);
        let checks = only(&gate, &m, &Baseline::default());
        assert_eq!(statuses(&checks), [("limit.ttft_ms", Status::Alert)]);
        assert!(
            checks[0].detail.contains("matching `gpu and not nightly`"),
            "{}",
            checks[0].detail
        );
        // No inventory: the expression cannot be judged.
        m.bench_tests = None;
        let checks = only(&gate, &m, &Baseline::default());
        assert_eq!(statuses(&checks), [("limit.ttft_ms", Status::Alert)]);
        assert!(
            checks[0].detail.contains("inventory is unknown"),
            "{}",
            checks[0].detail
        );
        // A broken expression is an error, not a verdict.
        let mut bad = gate.clone();
        bad.limits[0].expr = Some("gpu and".into());
        let err = evaluate(&bad, &m, &Baseline::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("`gpu and` in the limit on `ttft_ms`"),
            "{err}"
        );
    }

    #[test]
    fn spread_statistics_are_not_perf_regressions() {
        let mut spread = series(tight(300.0), tight(100.0));
        spread.metric = "stddev".into();
        let m = Measurements {
            bench: vec![spread, series(tight(100.0), tight(100.0))],
            ..Measurements::default()
        };
        let checks = only(&perf_gate(StatTest::Welch), &m, &Baseline::default());
        assert_eq!(statuses(&checks), [("perf.decode.mean", Status::Pass)]);
    }

    #[test]
    fn alerts_do_not_block_but_one_block_does() {
        let gate = Gate {
            critical_failures: Some(Action::Alert),
            flaky_rate: Some(FlakyRateCheck {
                max_percent: 5.0,
                action: Action::Block,
            }),
            ..Gate::default()
        };
        let mut m = Measurements {
            critical_failures: Some(vec!["x".into()]),
            flaky: Some(FlakyStats {
                flaky_tests: 0,
                tests_considered: 10,
            }),
            ..Measurements::default()
        };
        let verdict = evaluate(&gate, &m, &Baseline::default()).ok();
        assert_eq!(verdict.map(|v| v.verdict), Some(crate::Outcome::Pass));
        m.flaky = Some(FlakyStats {
            flaky_tests: 1,
            tests_considered: 10,
        });
        let verdict = evaluate(&gate, &m, &Baseline::default()).ok();
        assert_eq!(verdict.map(|v| v.verdict), Some(crate::Outcome::Blocked));
    }

    #[test]
    fn extends_merges_and_detects_cycles() {
        let toml = r#"
            [gates.pr]
            critical_failures = "block"
            coverage_drop = { max_points = 2.0 }
            [[gates.pr.coverage]]
            language = "rust"
            min_lines = 80.0
            [gates.release]
            extends = "pr"
            coverage_drop = { max_points = 1.0 }
            [[gates.release.coverage]]
            language = "rust"
            min_lines = 85.0
            [[gates.release.limits]]
            metric = "ttft_ms"
            max = 200.0
            [gates.a]
            extends = "b"
            [gates.b]
            extends = "a"
        "#;
        let config: tollgate_config::Config = match toml::from_str(toml) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let release = resolve_gate(&config.gates, "release").ok();
        let release = release.as_ref();
        assert_eq!(
            release.and_then(|g| g.critical_failures),
            Some(Action::Block)
        );
        assert_eq!(
            release
                .and_then(|g| g.coverage_drop.as_ref())
                .map(|c| c.max_points),
            Some(1.0)
        );
        assert_eq!(release.map(|g| g.coverage.len()), Some(1));
        assert_eq!(release.map(|g| g.coverage[0].min_lines), Some(85.0));
        assert_eq!(release.map(|g| g.limits.len()), Some(1));
        assert!(matches!(
            resolve_gate(&config.gates, "a"),
            Err(GateError::ExtendsCycle(_))
        ));
        assert!(matches!(
            resolve_gate(&config.gates, "nope"),
            Err(GateError::UnknownGate(_))
        ));
    }
}
