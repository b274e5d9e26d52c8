//! Lint on the example monorepo finds nothing; on its mistakes variant it
//! finds exactly the mistakes listed in `examples/monorepo-mistakes/MISTAKES.md`.

mod common;

use std::collections::BTreeSet;

use tollgate_lint::render::human;

#[test]
fn the_clean_example_has_no_findings() {
    let findings = common::lint_dir(&common::workspace_root().join("examples/monorepo"));
    assert!(findings.is_empty(), "{}", human(&findings, false));
}

/// Every finding lint must report on the mistakes variant, keyed by the row
/// of MISTAKES.md it comes from: (row, code, file, line, test).
///
/// Lines are where lint points, which differs from MISTAKES.md's "line"
/// column in one place: #7, where discovery attributes marks passed through
/// `pytest.param(marks=...)` to the `pytest.param` entry (line 18) rather
/// than to the list alias on line 9.
const EXPECTED: &[(u32, &str, &str, u32, Option<&str>)] = &[
    (1, "TG101", "components/backends/vllm/tests/test_vllm_engine.py", 23, Some("components/backends/vllm/tests/test_vllm_engine.py::test_lru_eviction_publishes_removed_events")),
    (1, "TG601", "components/backends/vllm/tests/test_vllm_engine.py", 23, Some("components/backends/vllm/tests/test_vllm_engine.py::test_lru_eviction_publishes_removed_events")),
    (2, "TG101", "tests/serve/test_serve_planner_metrics.py", 12, Some("tests/serve/test_serve_planner_metrics.py::test_planner_reads_frontend_metrics")),
    (2, "TG601", "tests/serve/test_serve_planner_metrics.py", 12, Some("tests/serve/test_serve_planner_metrics.py::test_planner_reads_frontend_metrics")),
    (3, "TG101", "components/src/dynamo/planner/tests/test_planner_load_predictor.py", 15, Some("components/src/dynamo/planner/tests/test_planner_load_predictor.py::test_moving_average_uses_only_the_window")),
    (4, "TG102", "tests/serve/test_serve_multi_gpu.py", 10, Some("tests/serve/test_serve_multi_gpu.py::test_single_gpu_worker_serves")),
    (5, "TG102", "components/src/dynamo/router/tests/test_router_kv_events.py", 42, Some("components/src/dynamo/router/tests/test_router_kv_events.py::test_eviction_is_reflected_in_the_index")),
    (6, "TG103", "tests/fault_tolerance/test_fault_tolerance_migration.py", 14, Some("tests/fault_tolerance/test_fault_tolerance_migration.py::test_request_migrates_off_a_dead_worker")),
    (6, "TG101", "tests/fault_tolerance/test_fault_tolerance_migration.py", 16, Some("tests/fault_tolerance/test_fault_tolerance_migration.py::test_request_migrates_off_a_dead_worker")),
    (6, "TG601", "tests/fault_tolerance/test_fault_tolerance_migration.py", 16, Some("tests/fault_tolerance/test_fault_tolerance_migration.py::test_request_migrates_off_a_dead_worker")),
    (7, "TG104", "components/backends/vllm/tests/test_vllm_tensor_parallel.py", 18, Some("components/backends/vllm/tests/test_vllm_tensor_parallel.py::test_worker_starts_with_tensor_parallelism[tp1]")),
    (8, "TG104", "tests/serve/test_serve_completions.py", 55, Some("tests/serve/test_serve_completions.py::test_unknown_route_and_model_get_404")),
    (9, "TG201", "tests/kvbm/test_kvbm_offload.py", 8, Some("tests/kvbm/test_kvbm_offload.py::test_offloaded_prefix_is_onboarded_from_disk")),
    (10, "TG202", "pyproject.toml", 37, None),
    (11, "TG301", "tests/serve/test_serve_token_blocks.py", 9, Some("tests/serve/test_serve_token_blocks.py::test_block_hashes_share_a_prefix")),
    (12, "TG301", "components/src/dynamo/router/tests/test_router_frontend_flow.py", 13, Some("components/src/dynamo/router/tests/test_router_frontend_flow.py::test_frontend_routes_a_repeated_prefix_to_one_worker")),
    (13, "TG302", "tests/serve/test_misc.py", 10, Some("tests/serve/test_misc.py::test_metrics_endpoint_is_prometheus_text")),
    (14, "TG401", "lib/kvbm/tests/offload.rs", 1, None),
    (15, "TG402", "lib/llm/src/tokens.rs", 86, Some("dynamo-llm tokens::tests::no_collisions_over_many_distinct_prefixes")),
    (16, "TG601", "tests/fault_tolerance/test_fault_tolerance_worker_restart.py", 45, Some("tests/fault_tolerance/test_fault_tolerance_worker_restart.py::test_failover_across_four_gpu_workers")),
    (17, "TG501", "components/src/dynamo/planner/tests/test_planner_scaling.py", 49, Some("components/src/dynamo/planner/tests/test_planner_scaling.py::test_more_load_never_means_fewer_replicas")),
];

/// The rows of MISTAKES.md's table: (row number, file of its "line" column).
fn mistakes_rows() -> Vec<(u32, String)> {
    let path = common::workspace_root().join("examples/monorepo-mistakes/MISTAKES.md");
    let text = std::fs::read_to_string(path).expect("MISTAKES.md");
    text.lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let row: u32 = cells.next()?.parse().ok()?;
            let place = cells.next()?.trim_matches('`');
            let file = place.split(':').next()?.to_string();
            Some((row, file))
        })
        .collect()
}

#[test]
fn the_expected_list_follows_mistakes_md() {
    let rows = mistakes_rows();
    let listed: BTreeSet<u32> = rows.iter().map(|(n, _)| *n).collect();
    let expected: BTreeSet<u32> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(
        listed, expected,
        "every MISTAKES.md row has expected findings and vice versa"
    );
    for (row, file) in &rows {
        assert!(
            EXPECTED.iter().any(|e| e.0 == *row && e.2 == file),
            "row {row}: no expected finding in {file}"
        );
    }
}

#[test]
fn the_mistakes_example_has_exactly_its_mistakes() {
    let findings = common::lint_dir(common::mistakes_example().path());
    let found: BTreeSet<(&str, &str, u32, Option<&str>)> = findings
        .iter()
        .map(|f| (f.code, f.file.as_str(), f.line, f.test.as_deref()))
        .collect();
    let expected: BTreeSet<(&str, &str, u32, Option<&str>)> = EXPECTED
        .iter()
        .map(|&(_, code, file, line, test)| (code, file, line, test))
        .collect();
    let missing: Vec<_> = expected.difference(&found).collect();
    let extra: Vec<_> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && findings.len() == EXPECTED.len(),
        "missing: {missing:#?}\nextra: {extra:#?}\n{}",
        human(&findings, false)
    );
    insta::assert_snapshot!("mistakes_human", human(&findings, false));
}

#[test]
fn the_pre_commit_hook_runs_tollgate_lint_on_the_whole_project() {
    let text = std::fs::read_to_string(common::workspace_root().join(".pre-commit-hooks.yaml"))
        .expect(".pre-commit-hooks.yaml at the repository root");
    let hooks: Vec<&str> = text.lines().filter(|l| l.starts_with("- id: ")).collect();
    assert_eq!(hooks, ["- id: tollgate-lint"]);
    for line in [
        "  entry: tollgate lint\n",
        "  language: system\n",
        "  pass_filenames: false\n",
        "  types_or: [python, rust, toml]\n",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
}
