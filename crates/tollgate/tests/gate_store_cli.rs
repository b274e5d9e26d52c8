//! `tollgate ingest` then `tollgate gate`, the real binary, on both store
//! backends: a SQLite file and a throwaway PostgreSQL schema (the store
//! suite's backends, `common::stores`). Each check the gate reads from the
//! store is driven over and under its threshold: a performance regression against
//! the base branch's benchmark history (and noise that must pass), an
//! absolute limit on benchmarks selected by marker expression, time budgets,
//! the flaky rate and the coverage drop. Every verdict is checked against the
//! JSON shape the spec fixes.

mod common;

use std::path::{Path, PathBuf};

use common::stores::Location;
use common::{check, tollgate, write};
use serde_json::Value;

/// The minimal preset, its gate extended with every store-fed check, and
/// three time budgets. `tests/test_app.py` gives the markers budgets and
/// limits select by.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let preset = tollgate_config::presets::MINIMAL;
    let last = "flaky_rate = { max_percent = 5.0, action = \"alert\" }";
    assert!(
        preset.trim_end().ends_with(last),
        "the preset's gate is no longer its last table"
    );
    let config = format!(
        "{preset}\
coverage_drop = {{ max_points = 2.0, action = \"block\" }}
perf_regression = {{ max_percent = 5.0, min_samples = 5, action = \"block\" }}
budgets = \"block\"

[[gates.default.limits]]
metric = \"ttft_ms\"
max = 200.0
expr = \"e2e\"

[budgets.unit_suite]
expr = \"unit\"
limit = \"10s\"
pipelines = [\"pr\"]

[budgets.e2e_each]
expr = \"e2e\"
limit = \"3s\"
scope = \"test\"

[budgets.nightly_only]
expr = \"unit\"
limit = \"1s\"
pipelines = [\"nightly\"]
"
    );
    std::fs::write(dir.path().join("tollgate.toml"), config).unwrap();
    std::fs::create_dir_all(dir.path().join("tests")).unwrap();
    std::fs::write(
        dir.path().join("tests/test_app.py"),
        "import pytest\n\n\n@pytest.mark.unit\ndef test_fast():\n    pass\n\n\n\
         @pytest.mark.unit\ndef test_other():\n    pass\n\n\n\
         @pytest.mark.e2e\ndef test_serve():\n    pass\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/core.py"), "# line\n".repeat(100)).unwrap();
    dir
}

/// `tollgate ingest KIND FILE --run RUN --branch BRANCH --pipeline pr ...`, which must succeed.
fn ingest(dir: &Path, loc: &Location, kind: &str, file: &Path, run: &str, branch: &str) {
    ingest_with(dir, loc, kind, file, run, branch, &[]);
}

fn ingest_with(
    dir: &Path,
    loc: &Location,
    kind: &str,
    file: &Path,
    run: &str,
    branch: &str,
    extra: &[&str],
) {
    let output = common::ingest(dir, kind, file, run, branch, &loc.url())
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}: ingest {kind} {}: {}",
        loc.name(),
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the gate on `run` as JSON, checks the exit code and the spec's shape.
fn gate(dir: &Path, loc: &Location, run: &str, expected_code: i32) -> (Value, String) {
    let output = tollgate(dir)
        .args(["gate", "--pipeline", "pr", "--run", run, "--format", "json"])
        .args(["--store", &loc.url()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "{}: gate on {run}: stdout {} stderr {stderr}",
        loc.name(),
        String::from_utf8_lossy(&output.stdout)
    );
    let verdict: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{}: gate JSON on {run}: {e}", loc.name()));
    assert_shape(&verdict);
    let blocked = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["status"] == "block");
    assert_eq!(
        verdict["verdict"],
        if blocked { "blocked" } else { "pass" },
        "{verdict}"
    );
    assert_eq!(expected_code, i32::from(blocked), "{verdict}");
    (verdict, stderr)
}

/// `{"verdict": "pass"|"blocked", "checks": [{"name", "status", "measured", "threshold"}]}`.
fn assert_shape(verdict: &Value) {
    assert!(
        ["pass", "blocked"].contains(&verdict["verdict"].as_str().unwrap_or_default()),
        "{verdict}"
    );
    let checks = verdict["checks"].as_array().expect("checks is an array");
    assert!(!checks.is_empty(), "{verdict}");
    for c in checks {
        assert!(c["name"].is_string(), "{c}");
        assert!(
            ["pass", "alert", "block"].contains(&c["status"].as_str().unwrap_or_default()),
            "{c}"
        );
        for key in ["measured", "threshold"] {
            assert!(
                c.get(key).is_some_and(|v| v.is_number() || v.is_null()),
                "{key} in {c}"
            );
        }
    }
}

/// The check `name` of `verdict`, whose status must be `status`.
#[track_caller]
fn check_is<'a>(verdict: &'a Value, loc: &Location, name: &str, status: &str) -> &'a Value {
    let found = check(verdict, name);
    assert_eq!(found["status"], status, "{}: {found}", loc.name());
    found
}

fn has_check(verdict: &Value, prefix: &str) -> bool {
    verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"].as_str().unwrap_or_default().starts_with(prefix))
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-6)
}

/// A `name,metric,value,unit` CSV of one series.
fn bench_csv(dir: &Path, file: &str, name: &str, metric: &str, values: &[f64]) -> PathBuf {
    let mut text = String::from("name,metric,value,unit\n");
    for v in values {
        text.push_str(&format!("{name},{metric},{v},ms\n"));
    }
    write(dir, file, &text)
}

/// `n` deterministic values around `centre`, spread ±2%.
fn noisy(centre: f64, n: usize, phase: usize) -> Vec<f64> {
    (0..n)
        .map(|i| centre * (1.0 + 0.005 * (((i * 7 + phase * 3) % 9) as f64 - 4.0)))
        .collect()
}

fn a_ten_percent_slowdown_blocks_and_noise_passes(loc: &Location) {
    let project = project();
    let dir = project.path();
    // History: six runs of `pr` on main, four samples each.
    for i in 0..6 {
        let csv = bench_csv(
            dir,
            &format!("base{i}.csv"),
            "decode",
            "latency",
            &noisy(100.0, 4, i),
        );
        ingest(dir, loc, "bench", &csv, &format!("base{i}"), "main");
    }
    // A run on another branch is not history.
    let csv = bench_csv(dir, "other.csv", "decode", "latency", &noisy(500.0, 4, 0));
    ingest(dir, loc, "bench", &csv, "other", "feature-x");

    let csv = bench_csv(dir, "slow.csv", "decode", "latency", &noisy(110.0, 8, 1));
    ingest(dir, loc, "bench", &csv, "slow", "feature");
    let (verdict, _) = gate(dir, loc, "slow", 1);
    let perf = check_is(&verdict, loc, "perf.decode.latency", "block");
    let change = perf["measured"].as_f64().unwrap();
    assert!((9.0..11.0).contains(&change), "{}: {perf}", loc.name());
    assert_eq!(perf["threshold"], 5.0);

    let csv = bench_csv(dir, "same.csv", "decode", "latency", &noisy(100.0, 8, 2));
    ingest(dir, loc, "bench", &csv, "same", "feature");
    let (verdict, _) = gate(dir, loc, "same", 0);
    let perf = check_is(&verdict, loc, "perf.decode.latency", "pass");
    assert!(perf["measured"].as_f64().unwrap().abs() < 2.0, "{perf}");

    // Re-ingesting the slow file into the same run changes nothing: the
    // series is replaced, not doubled.
    let csv = dir.join("slow.csv");
    ingest(dir, loc, "bench", &csv, "slow", "feature");
    let counts = loc.open().run_counts("slow").unwrap();
    assert_eq!(counts.bench_samples, 8, "{}", loc.name());
}

fn too_little_history_is_not_judged(loc: &Location) {
    let project = project();
    let dir = project.path();
    let csv = bench_csv(dir, "base.csv", "decode", "latency", &noisy(100.0, 4, 0));
    ingest(dir, loc, "bench", &csv, "base", "main");
    let csv = bench_csv(dir, "slow.csv", "decode", "latency", &noisy(150.0, 8, 0));
    ingest(dir, loc, "bench", &csv, "slow", "feature");
    let (verdict, _) = gate(dir, loc, "slow", 0);
    let perf = check_is(&verdict, loc, "perf.decode.latency", "pass");
    assert!(perf["measured"].is_null(), "{perf}");
}

fn an_absolute_limit_applies_to_the_benchmarks_its_expression_selects(loc: &Location) {
    let project = project();
    let dir = project.path();
    let serve = "tests/test_app.py::test_serve";
    let fast = "tests/test_app.py::test_fast";
    let mut text = String::from("name,metric,value,unit\n");
    for (name, value) in [(serve, 150.0), (serve, 170.0), (fast, 900.0)] {
        text.push_str(&format!("{name},ttft_ms,{value},ms\n"));
    }
    let csv = write(dir, "ok.csv", &text);
    ingest(dir, loc, "bench", &csv, "ok", "feature");
    let (verdict, _) = gate(dir, loc, "ok", 0);
    let limit = check_is(&verdict, loc, &format!("limit.{serve}.ttft_ms"), "pass");
    assert!(close(&limit["measured"], 160.0), "{limit}");
    assert_eq!(limit["threshold"], 200.0);
    // test_fast is a unit test: `expr = "e2e"` leaves its 900 ms alone.
    assert!(!has_check(&verdict, &format!("limit.{fast}")), "{verdict}");

    let csv = bench_csv(dir, "slow.csv", serve, "ttft_ms", &[240.0, 260.0]);
    ingest(dir, loc, "bench", &csv, "slow", "feature");
    let (verdict, _) = gate(dir, loc, "slow", 1);
    let limit = check_is(&verdict, loc, &format!("limit.{serve}.ttft_ms"), "block");
    assert!(close(&limit["measured"], 250.0), "{limit}");

    // A run without any ttft samples: the limit alerts, it does not pass silently.
    let csv = bench_csv(dir, "other.csv", "decode", "latency", &[1.0]);
    ingest(dir, loc, "bench", &csv, "none", "feature");
    let (verdict, stderr) = gate(dir, loc, "none", 0);
    check_is(&verdict, loc, "limit.ttft_ms", "alert");
    assert!(stderr.contains("alert: limit.ttft_ms"), "{stderr}");
}

/// JUnit for the three tests of `tests/test_app.py` with these durations;
/// `flaky_other` adds a failed first attempt of `test_other`.
fn junit(dir: &Path, file: &str, fast: f64, other: f64, serve: f64, flaky_other: bool) -> PathBuf {
    let retry = if flaky_other {
        r#"<flakyFailure message="boom" type="AssertionError">assert 1 == 2</flakyFailure>"#
    } else {
        ""
    };
    write(
        dir,
        file,
        &format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" failures="0" errors="0" skipped="0">
<testcase classname="tests.test_app" name="test_fast" file="tests/test_app.py" time="{fast}"/>
<testcase classname="tests.test_app" name="test_other" file="tests/test_app.py" time="{other}">{retry}</testcase>
<testcase classname="tests.test_app" name="test_serve" file="tests/test_app.py" time="{serve}"/>
</testsuite></testsuites>"#
        ),
    )
}

fn exceeded_time_budgets_block(loc: &Location) {
    let project = project();
    let dir = project.path();
    let file = junit(dir, "over.xml", 6.0, 5.0, 4.0, false);
    ingest_with(
        dir,
        loc,
        "junit",
        &file,
        "over",
        "feature",
        &["--job", "unit"],
    );
    let (verdict, _) = gate(dir, loc, "over", 1);
    let suite = check_is(&verdict, loc, "budget.unit_suite", "block");
    assert!(close(&suite["measured"], 11.0), "{suite}");
    assert_eq!(suite["threshold"], 10.0);
    let each = check_is(&verdict, loc, "budget.e2e_each", "block");
    assert!(close(&each["measured"], 4.0), "{each}");
    assert_eq!(each["threshold"], 3.0);
    // A budget for another pipeline is not checked.
    assert!(!has_check(&verdict, "budget.nightly_only"), "{verdict}");

    let file = junit(dir, "under.xml", 5.0, 5.0, 3.0, false);
    ingest_with(
        dir,
        loc,
        "junit",
        &file,
        "under",
        "feature",
        &["--job", "unit"],
    );
    let (verdict, _) = gate(dir, loc, "under", 0);
    let suite = check_is(&verdict, loc, "budget.unit_suite", "pass");
    assert!(close(&suite["measured"], 10.0), "{suite}");
    check_is(&verdict, loc, "budget.e2e_each", "pass");
}

fn a_flaky_rate_over_five_percent_alerts_without_blocking(loc: &Location) {
    let project = project();
    let dir = project.path();
    let file = junit(dir, "green.xml", 0.1, 0.1, 0.1, false);
    ingest(dir, loc, "junit", &file, "green", "feature");
    let (verdict, _) = gate(dir, loc, "green", 0);
    let flaky = check_is(&verdict, loc, "flaky_rate", "pass");
    assert!(close(&flaky["measured"], 0.0), "{flaky}");

    let file = junit(dir, "flaky.xml", 0.1, 0.1, 0.1, true);
    ingest(dir, loc, "junit", &file, "flaky", "feature");
    let (verdict, stderr) = gate(dir, loc, "flaky", 0);
    let flaky = check_is(&verdict, loc, "flaky_rate", "alert");
    assert!(close(&flaky["measured"], 100.0 / 3.0), "{flaky}");
    assert_eq!(flaky["threshold"], 5.0);
    assert_eq!(verdict["verdict"], "pass");
    assert!(stderr.contains("alert: flaky_rate"), "{stderr}");
    // Passed on retry: not a critical failure.
    check_is(&verdict, loc, "critical_failures", "pass");
}

fn a_coverage_drop_over_two_points_blocks(loc: &Location) {
    let project = project();
    let dir = project.path();
    let base = common::lcov(dir, "base.lcov", "app/core.py", 90);
    ingest_with(dir, loc, "coverage", &base, "base", "main", &["--complete"]);
    let drop3 = common::lcov(dir, "drop3.lcov", "app/core.py", 87);
    ingest(dir, loc, "coverage", &drop3, "drop3", "feature");
    let drop2 = common::lcov(dir, "drop2.lcov", "app/core.py", 88);
    ingest(dir, loc, "coverage", &drop2, "drop2", "feature");

    let (verdict, _) = gate(dir, loc, "drop3", 1);
    let drop = check_is(&verdict, loc, "coverage_drop.python", "block");
    assert!(close(&drop["measured"], 3.0), "{drop}");
    assert_eq!(drop["threshold"], 2.0);
    // Exactly at the threshold passes.
    let (verdict, _) = gate(dir, loc, "drop2", 0);
    let drop = check_is(&verdict, loc, "coverage_drop.python", "pass");
    assert!(close(&drop["measured"], 2.0), "{drop}");
}

/// The baseline is the latest complete run on the base branch that started
/// before the judged run: a complete run on `main` is never its own
/// baseline, nor is a later run the baseline of an earlier one.
fn the_baseline_is_an_earlier_run_never_the_judged_one(loc: &Location) {
    let project = project();
    let dir = project.path();
    let cov = common::lcov(dir, "cov.lcov", "app/core.py", 90);
    ingest_with(dir, loc, "coverage", &cov, "first", "main", &["--complete"]);
    let (verdict, _) = gate(dir, loc, "first", 0);
    assert_eq!(verdict["run"]["key"], "first", "{verdict}");
    assert_eq!(
        verdict["baseline"],
        Value::Null,
        "{}: {verdict}",
        loc.name()
    );
    // The table says so in words.
    let table = tollgate(dir)
        .args([
            "gate",
            "--pipeline",
            "pr",
            "--run",
            "first",
            "--store",
            &loc.url(),
        ])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("no baseline: no earlier complete run of `pr` on `main`"),
        "{table}"
    );
    assert!(!table.contains("baseline run first"), "{table}");

    ingest_with(
        dir,
        loc,
        "coverage",
        &cov,
        "second",
        "main",
        &["--complete"],
    );
    let (verdict, _) = gate(dir, loc, "second", 0);
    assert_eq!(
        verdict["baseline"]["key"],
        "first",
        "{}: {verdict}",
        loc.name()
    );
    // A later run is not the baseline of an earlier one.
    let (verdict, _) = gate(dir, loc, "first", 0);
    assert_eq!(
        verdict["baseline"],
        Value::Null,
        "{}: {verdict}",
        loc.name()
    );
    // An incomplete run on main is no baseline either.
    ingest(dir, loc, "coverage", &cov, "third", "main");
    let (verdict, _) = gate(dir, loc, "third", 0);
    assert_eq!(
        verdict["baseline"]["key"],
        "second",
        "{}: {verdict}",
        loc.name()
    );
}

/// Every test above on a fresh SQLite file.
mod sqlite {
    #[test]
    fn the_baseline_is_an_earlier_run_never_the_judged_one() {
        super::the_baseline_is_an_earlier_run_never_the_judged_one(&crate::common::stores::sqlite());
    }

    #[test]
    fn a_ten_percent_slowdown_blocks_and_noise_passes() {
        super::a_ten_percent_slowdown_blocks_and_noise_passes(&crate::common::stores::sqlite());
    }

    #[test]
    fn too_little_history_is_not_judged() {
        super::too_little_history_is_not_judged(&crate::common::stores::sqlite());
    }

    #[test]
    fn an_absolute_limit_applies_to_the_benchmarks_its_expression_selects() {
        super::an_absolute_limit_applies_to_the_benchmarks_its_expression_selects(
            &crate::common::stores::sqlite(),
        );
    }

    #[test]
    fn exceeded_time_budgets_block() {
        super::exceeded_time_budgets_block(&crate::common::stores::sqlite());
    }

    #[test]
    fn a_flaky_rate_over_five_percent_alerts_without_blocking() {
        super::a_flaky_rate_over_five_percent_alerts_without_blocking(
            &crate::common::stores::sqlite(),
        );
    }

    #[test]
    fn a_coverage_drop_over_two_points_blocks() {
        super::a_coverage_drop_over_two_points_blocks(&crate::common::stores::sqlite());
    }
}

/// Every test above on a fresh PostgreSQL schema. Ignored by default so that a
/// machine without the server reports them skipped, not passed; `scripts/test.sh`
/// runs them (`--run-ignored all`) when the server answers or `CI` is set, and
/// then an unreachable server fails them.
mod postgres {
    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn the_baseline_is_an_earlier_run_never_the_judged_one() {
        super::the_baseline_is_an_earlier_run_never_the_judged_one(
            &crate::common::stores::postgres(),
        );
    }
    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn a_ten_percent_slowdown_blocks_and_noise_passes() {
        super::a_ten_percent_slowdown_blocks_and_noise_passes(&crate::common::stores::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn too_little_history_is_not_judged() {
        super::too_little_history_is_not_judged(&crate::common::stores::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn an_absolute_limit_applies_to_the_benchmarks_its_expression_selects() {
        super::an_absolute_limit_applies_to_the_benchmarks_its_expression_selects(
            &crate::common::stores::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn exceeded_time_budgets_block() {
        super::exceeded_time_budgets_block(&crate::common::stores::postgres());
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn a_flaky_rate_over_five_percent_alerts_without_blocking() {
        super::a_flaky_rate_over_five_percent_alerts_without_blocking(
            &crate::common::stores::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn a_coverage_drop_over_two_points_blocks() {
        super::a_coverage_drop_over_two_points_blocks(&crate::common::stores::postgres());
    }
}
