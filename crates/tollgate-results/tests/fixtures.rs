//! Real reports (see `fixtures/README.md`) parsed end to end.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tollgate_results::coverage::{relativize, CoverageFormat, OutsidePolicy};
use tollgate_results::files::{bench_file, coverage_file, junit_file};
use tollgate_results::junit::{IdStyle, JunitOptions, PytestIds};
use tollgate_results::{Limits, Outcome};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn collected_ids() -> Vec<String> {
    std::fs::read_to_string(fixture("pytest/node_ids.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn pytest_xunit2_ids_match_collect_only() {
    let results = junit_file(&fixture("pytest/xunit2.xml"), &JunitOptions::default()).unwrap();
    let ids: Vec<String> = results.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, collected_ids());
    let outcome = |id: &str| {
        results
            .iter()
            .find(|r| r.id.ends_with(id))
            .map(|r| r.outcome)
    };
    assert_eq!(outcome("::test_add"), Some(Outcome::Passed));
    assert_eq!(outcome("test_div[1-0-None]"), Some(Outcome::Failed));
    assert_eq!(outcome("::TestGroup::test_fails"), Some(Outcome::Failed));
    assert_eq!(outcome("::test_skipped"), Some(Outcome::Skipped));
    assert_eq!(outcome("::test_setup_error"), Some(Outcome::Error));
    // pytest reports an xfail as a skip.
    assert_eq!(outcome("::test_xfail"), Some(Outcome::Skipped));
    let failed = results
        .iter()
        .find(|r| r.id.ends_with("test_fails"))
        .unwrap();
    let message = failed.message.as_deref().unwrap();
    assert!(
        message.starts_with("AssertionError: math is broken\nassert 4 == 5"),
        "{message}"
    );
    assert!(
        message.contains("> ") || message.contains(">       assert"),
        "{message}"
    );
    assert!(results.iter().all(|r| r.attempt == 1 && r.duration >= 0.0));
}

#[test]
fn pytest_xunit1_uses_the_file_attribute_and_keeps_output() {
    let results = junit_file(&fixture("pytest/xunit1.xml"), &JunitOptions::default()).unwrap();
    let ids: Vec<String> = results.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, collected_ids());
    let add = results
        .iter()
        .find(|r| r.id.ends_with("::test_add"))
        .unwrap();
    assert!(add
        .stdout
        .as_deref()
        .unwrap_or_default()
        .contains("adding & checking <stdout>"));
    let fails = results
        .iter()
        .find(|r| r.id.ends_with("::test_fails"))
        .unwrap();
    assert!(fails
        .stderr
        .as_deref()
        .unwrap_or_default()
        .contains("some stderr"));
}

#[test]
fn pytest_known_files_option_gives_the_same_ids() {
    let options = JunitOptions {
        id_style: IdStyle::Pytest,
        pytest: PytestIds {
            junit_prefix: None,
            known_files: Some(BTreeSet::from(["tests/unit/test_calc.py".to_string()])),
        },
        ..JunitOptions::default()
    };
    let results = junit_file(&fixture("pytest/xunit2.xml"), &options).unwrap();
    assert_eq!(
        results.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        collected_ids()
    );
}

#[test]
fn nextest_retries_become_attempts() {
    let results = junit_file(
        &fixture("nextest/junit-retries.xml"),
        &JunitOptions::default(),
    )
    .unwrap();
    let summary: Vec<(String, u32, Outcome)> = results
        .iter()
        .map(|r| (r.id.clone(), r.attempt, r.outcome))
        .collect();
    let expected = [
        ("tg-sample tests::doubles", 1, Outcome::Passed),
        ("tg-sample::api flaky_then_passes", 1, Outcome::Failed),
        ("tg-sample::api flaky_then_passes", 2, Outcome::Passed),
        ("tg-sample::api nested::deep", 1, Outcome::Passed),
        ("tg-sample::api passes", 1, Outcome::Passed),
        ("tg-sample::api fails_always", 1, Outcome::Failed),
        ("tg-sample::api fails_always", 2, Outcome::Failed),
        ("tg-sample::api fails_always", 3, Outcome::Failed),
    ];
    let expected: Vec<(String, u32, Outcome)> = expected
        .iter()
        .map(|(i, a, o)| (i.to_string(), *a, *o))
        .collect();
    assert_eq!(summary, expected);
    let flaky_first = &results[1];
    assert!((flaky_first.duration - 0.888).abs() < 1e-9);
    assert!(flaky_first
        .message
        .as_deref()
        .unwrap()
        .contains("panicked at tests/api.rs:19:9"));
    assert!(flaky_first
        .stdout
        .as_deref()
        .unwrap()
        .contains("test flaky_then_passes ... FAILED"));
}

#[test]
fn coveragepy_formats_agree() {
    let root = Path::new("/tmp/tg-pyproj");
    let limits = Limits::default();
    let mut per_format = Vec::new();
    for (file, format) in [
        ("coveragepy/coverage.json", CoverageFormat::CoveragePyJson),
        ("coveragepy/coverage.xml", CoverageFormat::Cobertura),
        ("coveragepy/coverage.lcov", CoverageFormat::Lcov),
    ] {
        let path = fixture(file);
        let report = coverage_file(&path, None, &limits).unwrap();
        assert_eq!(
            CoverageFormat::sniff(&std::fs::read(&path).unwrap()),
            Some(format),
            "{file}"
        );
        let rel = relativize(
            report.files,
            root,
            &report.source_roots,
            OutsidePolicy::Error,
        )
        .unwrap();
        per_format.push(rel.files);
    }
    let calc = per_format[0]
        .iter()
        .find(|f| f.path == "src/calc/__init__.py")
        .unwrap();
    assert_eq!((calc.lines_total, calc.lines_covered), (9, 7));
    assert_eq!(calc.uncovered_lines, vec![12, 13]);
    // coverage.py's report said 42 statements, 36 covered.
    let total: u32 = per_format[0].iter().map(|f| f.lines_total).sum();
    let covered: u32 = per_format[0].iter().map(|f| f.lines_covered).sum();
    assert_eq!((total, covered), (42, 36));
    assert_eq!(per_format[0], per_format[1], "JSON vs Cobertura");
    assert_eq!(per_format[0], per_format[2], "JSON vs LCOV");
}

#[test]
fn llvm_lcov_and_json_agree_and_flag_registry_paths() {
    let limits = Limits::default();
    let root = Path::new("/repo");
    let lcov = coverage_file(&fixture("llvm/lcov.info"), None, &limits).unwrap();
    let err = relativize(lcov.files.clone(), root, &[], OutsidePolicy::Error).unwrap_err();
    assert!(err.to_string().contains(".cargo/registry"), "{err}");
    let lcov = relativize(lcov.files, root, &[], OutsidePolicy::Skip).unwrap();
    assert_eq!(lcov.skipped.len(), 1);
    let json = coverage_file(&fixture("llvm/export.json"), None, &limits).unwrap();
    let json = relativize(json.files, root, &[], OutsidePolicy::Error).unwrap();
    let lib = |files: &[tollgate_results::FileCoverage]| {
        files
            .iter()
            .find(|f| f.path == "crates/calc/src/lib.rs")
            .cloned()
            .unwrap()
    };
    assert_eq!(lib(&lcov.files), lib(&json.files));
    assert_eq!(lib(&json.files).covered_lines, vec![1, 2, 3]);
}

#[test]
fn benchmarks() {
    let limits = Limits::default();
    let pb = bench_file(&fixture("bench/pytest-benchmark.json"), None, &limits).unwrap();
    assert!(pb
        .iter()
        .all(|s| s.name == "tests/test_bench.py::test_bench_add"));
    assert_eq!(pb.iter().filter(|s| s.metric == "sample").count(), 171);
    assert!(pb.iter().any(|s| s.metric == "ops" && s.unit == "ops/s"));

    let est = bench_file(
        &fixture("bench/criterion/fib/20/new/estimates.json"),
        None,
        &limits,
    )
    .unwrap();
    assert_eq!(est.len(), 5);
    assert!(est.iter().all(|s| s.name == "fib/20" && s.unit == "ns"));
    let sample = bench_file(
        &fixture("bench/criterion/fib/20/new/sample.json"),
        None,
        &limits,
    )
    .unwrap();
    assert_eq!(sample.len(), 4);
    assert!((sample[0].value - 5030120.0 / 199.0).abs() < 1e-6);

    let csv = bench_file(&fixture("bench/serve.csv"), None, &limits).unwrap();
    let json = bench_file(&fixture("bench/serve.json"), None, &limits).unwrap();
    assert_eq!(csv.len(), 3);
    assert_eq!(
        (csv[0].name.as_str(), csv[0].metric.as_str(), csv[0].value),
        ("serve", "ttft", 182.5)
    );
    assert_eq!(json[0], csv[0]);
    assert_eq!(json[1].name, "llama-8b");
}
