//! The `dynamo` preset against the seeds it reproduces, and the `minimal`
//! preset's basics.

use tollgate_config::{
    marker_drift, presets, pytest_markers_block, Action, Config, Drift, FrameworkMode,
    FrameworkRule, VariableType,
};
use tollgate_inventory::{Inventory, Language, MarkSource, RustFacts, TestItem};
use tollgate_markexpr::Expression;

fn dynamo() -> Config {
    Config::from_str(presets::DYNAMO, "tollgate.toml").unwrap()
}

#[test]
fn lifecycle_is_ordered_and_inherited() {
    let config = dynamo();
    let (name, lifecycle) = config.taxonomy.lifecycle().unwrap();
    assert_eq!(name, "lifecycle");
    assert!(lifecycle.required);
    assert_eq!(
        lifecycle.markers.keys().collect::<Vec<_>>(),
        [
            "pre_commit",
            "pre_merge",
            "post_merge",
            "nightly",
            "weekly",
            "release"
        ]
    );
    assert_eq!(
        config.taxonomy.stages_up_to("nightly").unwrap(),
        ["pre_commit", "pre_merge", "post_merge", "nightly"]
    );
}

#[test]
fn categories_follow_seeds_003_and_004() {
    let t = dynamo().taxonomy;
    let cat = |name: &str| t.categories.get(name).unwrap();
    for required in ["lifecycle", "type", "hardware"] {
        assert!(cat(required).required, "{required} is required");
    }
    for exclusive in ["type", "hardware", "framework"] {
        assert!(cat(exclusive).exclusive, "{exclusive} is exclusive");
    }
    assert_eq!(
        cat("type").markers.keys().collect::<Vec<_>>(),
        ["unit", "integration", "e2e", "benchmark", "stress"]
    );
    assert_eq!(
        cat("hardware").markers.keys().collect::<Vec<_>>(),
        ["gpu_0", "gpu_1", "gpu_2", "gpu_4", "gpu_8"]
    );
    assert_eq!(t.marker("gpu_4").unwrap().1.gpus, Some(4));
    for m in ["h100", "gb200", "a100", "l40"] {
        assert_eq!(t.categories_of(m), ["gpu_type"]);
    }
    for m in ["vllm", "trtllm", "sglang", "custom_backend", "none"] {
        assert_eq!(t.categories_of(m), ["framework"]);
    }
    for m in ["k8s", "slurm", "docker", "cloud"] {
        assert_eq!(t.categories_of(m), ["environment"]);
    }
    assert!(cat("environment").requires_runner);
    assert_eq!(t.categories_of("nixl"), ["component"]);
    assert_eq!(t.categories_of("security"), ["trait", "component"]);
    assert!(!cat("component").required);
}

#[test]
fn the_seeds_inconsistent_spellings_are_aliases() {
    let t = dynamo().taxonomy;
    for n in [0, 1, 2, 4, 8] {
        assert_eq!(
            t.resolve_alias(&format!("gpus_needed_{n}")),
            Some(format!("gpu_{n}").as_str())
        );
    }
    assert_eq!(t.resolve_alias("premerge"), Some("pre_merge"));
    assert_eq!(t.resolve_alias("postmerge"), Some("post_merge"));
    assert_eq!(t.resolve_alias("performance"), Some("benchmark"));
}

#[test]
fn pipelines_and_jobs_reproduce_the_seed_table() {
    let config = dynamo();
    assert_eq!(
        config.pipelines.keys().collect::<Vec<_>>(),
        ["pre-commit", "pr", "push", "nightly", "weekly", "release"]
    );
    let pr = config.pipelines.get("pr").unwrap();
    assert_eq!(pr.stage, "pre_merge");
    assert!(pr.change_aware);
    assert_eq!(
        pr.jobs,
        [
            "lint",
            "build",
            "unit",
            "unit_1",
            "integration_0",
            "integration_1",
            "e2e_0",
            "e2e_1"
        ]
    );
    let push = config.pipelines.get("push").unwrap();
    assert!(push.jobs.iter().any(|j| j == "e2e_2"));
    assert!(config
        .pipelines
        .get("weekly")
        .unwrap()
        .jobs
        .contains(&"stress".to_string()));
    assert!(!config
        .pipelines
        .get("nightly")
        .unwrap()
        .jobs
        .contains(&"stress".to_string()));

    // Dynamo never builds all features: no pipeline asks for them.
    for (name, pipeline) in config.pipelines.iter() {
        for (job, over) in pipeline.overrides.iter() {
            assert!(
                !over.cargo.as_ref().is_some_and(|c| c.all_features),
                "{name}.{job}"
            );
        }
    }
    // Seed 000: PR and push test the changed or default framework; the
    // scheduled and manual pipelines test every framework.
    for (name, rule) in [
        ("pr", FrameworkRule::ChangedOrDefault),
        ("push", FrameworkRule::ChangedOrDefault),
        ("nightly", FrameworkRule::All),
        ("weekly", FrameworkRule::All),
        ("release", FrameworkRule::All),
    ] {
        assert_eq!(
            config.pipelines.get(name).unwrap().framework_rule(),
            rule,
            "{name}"
        );
    }
    assert_eq!(
        config.jobs.get("integration_0").unwrap().cargo.features,
        ["integration"]
    );
    assert_eq!(config.jobs.get("e2e_1").unwrap().runner.gpus, 1);
    assert_eq!(
        config.jobs.get("e2e_1").unwrap().framework,
        FrameworkMode::Selected
    );
    let release_bench = config
        .pipelines
        .get("release")
        .unwrap()
        .overrides
        .get("benchmark");
    assert_eq!(release_bench.unwrap().gating, Some(true));
}

#[test]
fn job_expressions_leave_the_lifecycle_to_inheritance() {
    let config = dynamo();
    let (_, lifecycle) = config.taxonomy.lifecycle().unwrap();
    for (name, job) in config.jobs.iter() {
        let Some(expr) = &job.expr else { continue };
        let parsed = Expression::parse(expr).unwrap();
        for (marker, _) in parsed.marker_names() {
            assert!(config.taxonomy.is_marker(marker), "{name}: {marker}");
            assert!(
                !lifecycle.markers.contains_key(marker),
                "{name} names {marker}"
            );
        }
    }
}

#[test]
fn trigger_variables_of_seed_000_and_004_are_declared() {
    let config = dynamo();
    for name in [
        "RUN_PRE_MERGE_TESTS",
        "RUN_VLLM",
        "RUN_END_TO_END_TESTS",
        "RUN_TENSORRTLLM",
        "RUN_INTEGRATION_TESTS_ON_JET",
        "RUN_SDK_CI",
        "RUN_TRTLLM_BENCHMARKS_ON_JET",
        "RUN_VLLM_BENCHMARKS_ON_JET",
        "NIGHTLY_BUILD",
        "RELEASE_CI",
        "DYNAMO_TEST_GPU_COUNT",
        "DYNAMO_TEST_FRAMEWORK",
        "DYNAMO_TEST_MODE",
        "DYNAMO_LOG_LEVEL",
        "DYNAMO_DEFAULT_FRAMEWORK",
        "CI_FAIL_FAST",
        "CI_COVERAGE_THRESHOLD",
        "CI_SKIP_SLOW_TESTS",
    ] {
        assert!(config.variables.contains_key(name), "{name} is declared");
    }
    let default_fw = config.variables.get("DYNAMO_DEFAULT_FRAMEWORK").unwrap();
    assert_eq!(default_fw.kind, VariableType::Enum);
    let default = config.changes.default_framework.as_ref().unwrap();
    assert_eq!(default.preferred(), Some("vllm"));
    // Seed 000: persistent flakiness moves the default to the next framework.
    assert_eq!(default.names(), ["vllm", "trtllm", "sglang"]);
}

#[test]
fn owners_budgets_and_gates_match_the_seeds() {
    let config = dynamo();
    assert_eq!(
        config.frameworks.get("vllm").unwrap().owner.as_deref(),
        Some("Alec")
    );
    assert_eq!(
        config.frameworks.get("trtllm").unwrap().owner.as_deref(),
        Some("Tanmay")
    );
    assert_eq!(
        config.components.get("kvbm").unwrap().owner.as_deref(),
        Some("Ryan Oslon")
    );
    assert_eq!(
        config.components.get("nixl").unwrap().owner.as_deref(),
        Some("Adit")
    );
    assert_eq!(
        config.owners.ci_areas.get("infra_fail").map(String::as_str),
        Some("Meenakshi")
    );

    let secs = |name: &str| config.budgets.get(name).unwrap().limit.as_secs_f64();
    assert_eq!(
        (secs("unit"), secs("integration"), secs("e2e")),
        (15.0, 300.0, 900.0)
    );

    let pr = config.gates.get("pr").unwrap();
    assert_eq!(pr.critical_failures, Some(Action::Block));
    let drop = pr.coverage_drop.as_ref().unwrap();
    assert_eq!((drop.max_points, drop.action), (2.0, Action::Block));
    let rust = pr
        .coverage
        .iter()
        .find(|c| c.language == Language::Rust)
        .unwrap();
    assert_eq!((rust.min_lines, rust.critical[0].min_lines), (80.0, 90.0));
    let python = pr
        .coverage
        .iter()
        .find(|c| c.language == Language::Python)
        .unwrap();
    assert_eq!(
        (python.min_lines, python.critical[0].min_lines),
        (85.0, 95.0)
    );
    assert_eq!(pr.flaky_rate.as_ref().unwrap().max_percent, 5.0);

    let release = config.gates.get("release").unwrap();
    let perf = release.perf_regression.as_ref().unwrap();
    assert_eq!((perf.max_percent, perf.action), (5.0, Action::Block));
    let push_perf = config
        .gates
        .get("post_merge")
        .unwrap()
        .perf_regression
        .as_ref()
        .unwrap();
    assert_eq!(push_perf.action, Action::Alert);
    assert_eq!(release.limits[0].max, Some(200.0));
}

fn rust_test(package: &str, kind: &str, features: &[&str], ignored: bool) -> TestItem {
    TestItem {
        id: format!("{package} tests::t"),
        language: Language::Rust,
        file: format!("lib/{package}/src/lib.rs"),
        line: 10,
        function: "tests::t".into(),
        markers: Vec::new(),
        dynamic: None,
        rust: Some(RustFacts {
            package: package.into(),
            target_kind: kind.into(),
            target_name: package.into(),
            binary_id: package.into(),
            required_features: features.iter().map(|f| f.to_string()).collect(),
            test_attribute: "test".into(),
            ignored: ignored.then(|| "needs a long run".to_string()),
            ..RustFacts::default()
        }),
    }
}

#[test]
fn dynamo_rules_mark_rust_and_python_tests_per_the_seeds() {
    let config = dynamo();
    let python = TestItem {
        id: "tests/serve/test_vllm_serve.py::test_chat".into(),
        language: Language::Python,
        file: "tests/serve/test_vllm_serve.py".into(),
        line: 5,
        function: "tests/serve/test_vllm_serve.py::test_chat".into(),
        markers: Vec::new(),
        dynamic: None,
        rust: None,
    };
    let mut inv = Inventory {
        tests: vec![
            rust_test("dynamo-runtime", "lib", &[], false),
            rust_test("dynamo-kvbm", "test", &["integration"], true),
            python,
        ],
        diagnostics: Vec::new(),
    };
    config.apply_rules(&mut inv);
    let names = |i: usize| inv.tests[i].marker_names();
    assert_eq!(names(0), ["gpu_0", "pre_merge", "unit"]);
    assert_eq!(
        names(1),
        ["gpu_0", "integration", "kvbm", "pre_merge", "slow"]
    );
    assert_eq!(names(2), ["e2e"]);
    assert!(inv
        .tests
        .iter()
        .flat_map(|t| &t.markers)
        .all(|m| m.origin.source == MarkSource::ConfigRule && m.origin.line > 0));
}

#[test]
fn taxonomy_covers_every_marker_seed_000_registers() {
    let registered: Vec<(String, String)> =
        include_str!("fixtures/seed_000_registered_markers.txt")
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(n, d)| (n.trim().to_string(), d.trim().to_string()))
            .collect();
    assert!(registered.len() > 30);
    let drift = marker_drift(&dynamo(), &registered);
    let unknown: Vec<&str> = drift
        .iter()
        .filter(|d| matches!(d, Drift::NotInTaxonomy { .. }))
        .map(Drift::name)
        .collect();
    assert_eq!(unknown, Vec::<&str>::new());
    let unregistered: Vec<&str> = drift.iter().map(Drift::name).collect();
    for name in [
        "pre_commit",
        "post_merge",
        "release",
        "benchmark",
        "none",
        "nixl",
        "premerge",
    ] {
        assert!(unregistered.contains(&name), "{name} should be reported");
    }
    assert!(!unregistered.contains(&"gpu_1"));
}

#[test]
fn dynamo_ini_block_registers_markers_and_aliases() {
    let block = pytest_markers_block(&dynamo());
    assert!(block.starts_with("markers =\n    pre_commit: "));
    assert!(block.contains("\n    gpu_0: marks tests to run on CPU\n"));
    assert!(block.contains("\n    gpus_needed_1: alias of gpu_1 (deprecated spelling)\n"));
    assert!(
        !block.contains("\n    skip:"),
        "pytest registers skip itself"
    );
}

#[test]
fn minimal_preset_is_small_and_complete() {
    let config = Config::from_str(presets::MINIMAL, "tollgate.toml").unwrap();
    assert_eq!(config.taxonomy.categories.len(), 3);
    assert_eq!(
        config.pipelines.keys().collect::<Vec<_>>(),
        ["pr", "nightly"]
    );
    assert_eq!(
        config.taxonomy.stages_up_to("nightly").unwrap(),
        ["pre_merge", "nightly"]
    );
}
