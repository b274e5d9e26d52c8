//! Golden plans for the example monorepo with the `dynamo` preset, one per
//! pipeline, checked against seed 004's pipeline → job → command table as
//! worked out by hand in `examples/monorepo/MARKING.md` (Python counts per
//! job) and from the example's Rust tests: 33 unit + 10 integration tests,
//! 3 of them `#[ignore]`d (1 unit, 2 integration), which jobs leave out
//! (`cargo.ignored` defaults to `exclude`): 32 unit and 8 integration run.

mod common;

use common::*;
use tollgate_inventory::Language;

const RUST_UNIT: usize = 32;
const RUST_INTEGRATION: usize = 8;

#[test]
fn the_example_has_the_tests_marking_md_describes() {
    let config = dynamo();
    let inv = inventory(&config, &example_root());
    assert_eq!(ids(&inv, Language::Python).len(), 69);
    assert_eq!(ids(&inv, Language::Rust).len(), 43);
    let ignored = inv
        .tests
        .iter()
        .filter(|t| t.rust.as_ref().is_some_and(|r| r.ignored.is_some()))
        .count();
    assert_eq!(ignored, 3);
}

#[test]
fn pre_commit_runs_lint_only() {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let plan = plan_for(&config, &inv, &root, "pre-commit", &[], None);
    assert_eq!(job_names(&plan), ["lint"]);
    assert_eq!(plan.jobs[0].commands, ["pre-commit run --all-files"]);
    assert!(plan.dropped.is_empty());
    insta::assert_snapshot!("pre-commit", tollgate_plan::emit::human(&plan));
}

#[test]
fn pr_runs_the_pre_merge_jobs_and_drops_the_empty_gpu_job() {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let plan = plan_for(&config, &inv, &root, "pr", &[], None);
    assert_eq!(
        job_names(&plan),
        [
            "lint",
            "build",
            "unit",
            "integration_0",
            "integration_1",
            "e2e_0"
        ]
    );
    assert_eq!(counts(&plan, "unit"), Some((38, RUST_UNIT)));
    assert_eq!(counts(&plan, "integration_0"), Some((5, RUST_INTEGRATION)));
    assert_eq!(counts(&plan, "integration_1"), Some((2, 0)));
    assert_eq!(counts(&plan, "e2e_0"), Some((8, 0)));
    assert_eq!(python_total(&plan), 53);
    // MARKING.md: "The PR End-to-end_1 job selects nothing: no GPU runner should be booked for it."
    assert_eq!(dropped_names(&plan), ["unit_1", "e2e_1"]);
    assert_eq!(plan.dropped[1].reason, "selects no test");
    // The framework under test is the default one, and `build` builds it.
    assert_eq!(plan.framework.as_deref(), Some("vllm"));
    assert_eq!(plan.framework_source.as_deref(), Some("default"));
    let build = &plan.jobs[1];
    assert_eq!(build.commands, ["./container/build.sh --framework vllm"]);
    // Stage order: lint (1) and build (2) gate the test stage.
    assert_eq!(plan.stages, [1, 2, 3]);
    assert_eq!(plan.jobs[2].needs, ["lint", "build"]);
    assert!(plan.fail_fast);
    // Every selection here is expressible with `-m`.
    let unit = &plan.jobs[2];
    assert!(
        unit.commands[0]
            .starts_with("cargo nextest run --workspace -E 'binary_id(=dynamo-kvbm) | "),
        "{}",
        unit.commands[0]
    );
    assert_eq!(
        unit.commands[1],
        "pytest -m \"(unit) and (pre_commit or (pre_merge or premerge)) and (vllm or not (trtllm or sglang))\""
    );
    assert!(plan.args_files.is_empty());
    insta::assert_snapshot!("pr", tollgate_plan::emit::human(&plan));
}

#[test]
fn push_adds_post_merge_tests_multi_gpu_jobs_and_every_framework_build() {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let plan = plan_for(&config, &inv, &root, "push", &[], None);
    assert_eq!(
        job_names(&plan),
        [
            "lint",
            "build_all[vllm]",
            "build_all[trtllm]",
            "build_all[sglang]",
            "unit",
            "integration_0",
            "integration_1",
            "integration_2",
            "e2e_0",
            "e2e_1",
            "e2e_2"
        ]
    );
    assert_eq!(counts(&plan, "unit"), Some((38, RUST_UNIT)));
    assert_eq!(counts(&plan, "integration_0"), Some((6, RUST_INTEGRATION)));
    assert_eq!(counts(&plan, "integration_1"), Some((3, 0)));
    assert_eq!(counts(&plan, "integration_2"), Some((1, 0)));
    assert_eq!(counts(&plan, "e2e_0"), Some((9, 0)));
    assert_eq!(counts(&plan, "e2e_1"), Some((1, 0)));
    assert_eq!(counts(&plan, "e2e_2"), Some((1, 0)));
    assert_eq!(python_total(&plan), 59);
    // No unit test of the example needs a GPU.
    assert_eq!(dropped_names(&plan), ["unit_1", "unit_2"]);
    insta::assert_snapshot!("push", tollgate_plan::emit::human(&plan));
}

/// The Python and Rust tests of every instance of `[jobs.JOB]`, summed.
fn job_total(plan: &tollgate_plan::Plan, job: &str) -> (usize, usize) {
    plan.jobs
        .iter()
        .filter(|j| j.job == job)
        .fold((0, 0), |(p, r), j| (p + j.python_tests, r + j.rust_tests))
}

/// Nightly, weekly and release share the test jobs; the cluster jobs differ.
fn check_scheduled(
    pipeline: &str,
    benchmark: &[(&str, usize)],
    stress: Option<usize>,
    python: usize,
) {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let plan = plan_for(&config, &inv, &root, pipeline, &[], None);
    // Every framework in its own instance (seed 000: scheduled pipelines
    // test all frameworks); the instances of a job add up to the job.
    assert_eq!(counts(&plan, "unit[vllm]"), Some((16, 0)));
    assert_eq!(counts(&plan, "unit[common]"), Some((23, RUST_UNIT)));
    assert_eq!(job_total(&plan, "unit"), (39, RUST_UNIT));
    assert_eq!(job_total(&plan, "integration_0"), (6, RUST_INTEGRATION));
    assert_eq!(job_total(&plan, "integration_1"), (4, 0));
    assert_eq!(job_total(&plan, "integration_2"), (1, 0));
    assert_eq!(counts(&plan, "e2e_0[vllm]"), Some((10, 0)));
    assert_eq!(counts(&plan, "e2e_0[common]"), Some((3, 0)));
    assert_eq!(job_total(&plan, "e2e_1"), (1, 0));
    assert_eq!(job_total(&plan, "e2e_2"), (1, 0));
    // Only the #[ignore]d Rust tests run nowhere, and the plan says why.
    let not_run: Vec<(&str, &str)> = plan
        .not_run
        .iter()
        .map(|u| (u.test.as_str(), u.reason.as_str()))
        .collect();
    assert_eq!(
        not_run,
        [
            (
                "dynamo-kvbm::offload churn_keeps_tier_sizes_within_capacity",
                "job `integration_0`: the test is #[ignore]d and the job excludes ignored tests"
            ),
            (
                "dynamo-llm tokens::tests::no_collisions_over_many_distinct_prefixes",
                "job `unit`: the test is #[ignore]d and the job excludes ignored tests"
            ),
            (
                "dynamo-runtime::nats_roundtrip sustained_publish_throughput",
                "job `integration_0`: the test is #[ignore]d and the job excludes ignored tests"
            ),
        ]
    );
    for (job, n) in benchmark {
        assert_eq!(counts(&plan, job), Some((*n, 0)), "{pipeline} {job}");
    }
    assert_eq!(
        counts(&plan, "stress").map(|c| c.0),
        stress,
        "{pipeline} stress"
    );
    assert_eq!(python_total(&plan), python);
    // Seed 004's nightly `cargo test --all-features` is not what Dynamo
    // builds: integration runs with the crates' defaults plus `integration`.
    let integration = plan
        .jobs
        .iter()
        .find(|j| j.name == "integration_0[common]")
        .unwrap();
    assert!(
        integration.commands[0].contains("--features integration")
            && !integration.commands[0].contains("--all-features"),
        "{}",
        integration.commands[0]
    );
    // No test needs 4 or 8 GPUs: those jobs are dropped, no runner is booked.
    for fw in ["vllm", "trtllm", "sglang", "common"] {
        for job in ["integration_8", "e2e_8"] {
            let name = format!("{job}[{fw}]");
            assert!(
                dropped_names(&plan).contains(&name.as_str()),
                "{pipeline}: {name} not dropped"
            );
        }
    }
    insta::assert_snapshot!(pipeline.to_string(), tollgate_plan::emit::human(&plan));
}

#[test]
fn nightly_adds_nightly_tests_and_the_benchmark() {
    check_scheduled("nightly", &[("benchmark[common]", 1)], None, 66);
}

#[test]
fn weekly_adds_the_stress_test() {
    check_scheduled("weekly", &[("benchmark[common]", 1)], Some(1), 67);
}

#[test]
fn release_runs_every_python_test_and_benchmarks_gate() {
    check_scheduled(
        "release",
        &[("benchmark[vllm]", 1), ("benchmark[common]", 1)],
        Some(2),
        69,
    );
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let plan = plan_for(&config, &inv, &root, "release", &[], None);
    // Seed 004: performance gating tests are added for release.
    assert!(plan
        .jobs
        .iter()
        .filter(|j| j.job == "benchmark")
        .all(|j| j.gating));
    let nightly = plan_for(&config, &inv, &root, "nightly", &[], None);
    assert!(nightly
        .jobs
        .iter()
        .filter(|j| j.job == "benchmark")
        .all(|j| !j.gating));
}

#[test]
fn later_pipelines_run_every_test_earlier_ones_run() {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let order = ["pre-commit", "pr", "push", "nightly", "weekly", "release"];
    let selected: Vec<std::collections::BTreeSet<String>> = order
        .iter()
        .map(|p| {
            plan_for(&config, &inv, &root, p, &[], None)
                .jobs
                .iter()
                .flat_map(|j| j.tests.iter().cloned())
                .collect()
        })
        .collect();
    for pair in selected.windows(2) {
        assert!(pair[0].is_subset(&pair[1]));
    }
}

#[test]
fn conditional_jobs_follow_trigger_variables() {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    // The PR pipeline sets RUN_END_TO_END_TESTS; a flag turns it off again.
    let plan = plan_for(
        &config,
        &inv,
        &root,
        "pr",
        &["RUN_END_TO_END_TESTS=false"],
        None,
    );
    assert!(!job_names(&plan).contains(&"e2e_0"));
    let e2e = plan.dropped.iter().find(|d| d.name == "e2e_0").unwrap();
    assert_eq!(
        e2e.reason,
        "its condition `RUN_END_TO_END_TESTS or NIGHTLY_BUILD` is false"
    );
    // An explicit framework wins over the default.
    let plan = plan_for(
        &config,
        &inv,
        &root,
        "pr",
        &["DYNAMO_TEST_FRAMEWORK=trtllm"],
        None,
    );
    assert_eq!(plan.framework.as_deref(), Some("trtllm"));
    assert_eq!(plan.framework_source.as_deref(), Some("variable"));
    // vLLM tests do not run in the TensorRT-LLM container (the unit job is
    // not framework-specific, so it still runs them).
    let vllm_tests = |p: &tollgate_plan::Plan| {
        p.jobs
            .iter()
            .filter(|j| j.framework.is_some())
            .flat_map(|j| &j.tests)
            .filter(|t| t.starts_with("tests/serve/test_serve_completions.py"))
            .count()
    };
    assert_eq!(vllm_tests(&plan), 0);
    assert!(vllm_tests(&plan_for(&config, &inv, &root, "pr", &[], None)) > 0);
}
