use tollgate_config::Config;
use tollgate_inventory::{
    Language, MarkOrigin, MarkSource, MarkValue, Marker, RustFacts, TestItem,
};

use super::*;

const CONFIG: &str = r#"
[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_merge = "a", post_merge = "b", nightly = "c", weekly = "d" }

[taxonomy.categories.type]
exclusive = true
markers = { unit = "u", integration = "i", e2e = "e" }

[taxonomy.categories.hardware]
exclusive = true
markers = { gpu_0 = { description = "cpu", gpus = 0 }, gpu_1 = { description = "one", gpus = 1 }, gpu_4 = { description = "four", gpus = 4 } }

[taxonomy.categories.environment]
requires_runner = true
markers = { k8s = "cluster" }

[taxonomy.categories.other]
markers = { timeout = "t" }

[taxonomy.aliases]
premerge = "pre_merge"
gpus_needed_1 = "gpu_1"

[jobs.unit]
expr = "unit"

[jobs.integration_0]
expr = "integration and gpu_0"
cargo = { features = ["integration"] }

[jobs.e2e_1]
expr = "e2e and gpu_1"
languages = ["python"]
runner = { gpus = 1 }

[jobs.e2e_any]
expr = "e2e"
runner = { gpus = 8, provides = ["k8s"] }

[jobs.timeouts]
expr = "timeout(seconds=5)"

[jobs.lint]

[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["lint", "unit", "integration_0", "e2e_1", "timeouts"]

[pipelines.nightly]
stage = "nightly"
on = "schedule"
jobs = ["unit", "integration_0", "e2e_1"]
overrides.unit = { cargo = { ignored = "include" } }

[pipelines.weekly]
stage = "weekly"
on = "schedule"
jobs = ["e2e_any"]
"#;

fn config() -> Config {
    match Config::from_str(CONFIG, "tollgate.toml") {
        Ok(config) => config,
        Err(err) => panic!("{}", err.render()),
    }
}

fn marker(name: &str) -> Marker {
    Marker::new(
        name,
        MarkOrigin {
            file: "t.py".into(),
            line: 1,
            source: MarkSource::FunctionDecorator,
            learned: None,
        },
    )
}

fn python(markers: &[&str]) -> TestItem {
    TestItem {
        id: "t.py::test_x".into(),
        language: Language::Python,
        file: "t.py".into(),
        line: 1,
        function: "t.py::test_x".into(),
        markers: markers.iter().map(|m| marker(m)).collect(),
        dynamic: None,
        rust: None,
    }
}

fn rust(markers: &[&str], features: &[&str], ignored: bool) -> TestItem {
    TestItem {
        language: Language::Rust,
        rust: Some(RustFacts {
            package: "pkg".into(),
            target_kind: "test".into(),
            target_name: "it".into(),
            binary_id: "pkg::it".into(),
            required_features: features.iter().map(|f| f.to_string()).collect(),
            test_attribute: "test".into(),
            ignored: ignored.then(String::new),
            ignore_line: None,
            should_panic: false,
            ..RustFacts::default()
        }),
        ..python(markers)
    }
}

#[test]
fn expression_and_lifecycle_must_both_hold() {
    let config = config();
    let unit_pr = python(&["pre_merge", "unit", "gpu_0"]);
    assert!(job_selects(&config, "pr", "unit", &unit_pr));
    assert!(!job_selects(&config, "pr", "integration_0", &unit_pr));

    let unit_nightly = python(&["nightly", "unit", "gpu_0"]);
    assert!(!job_selects(&config, "pr", "unit", &unit_nightly));
    assert!(job_selects(&config, "nightly", "unit", &unit_nightly));

    let no_lifecycle = python(&["unit", "gpu_0"]);
    assert!(!pipeline_selects(&config, "pr", &no_lifecycle));
    assert!(!pipeline_selects(&config, "nightly", &no_lifecycle));
}

#[test]
fn earlier_stages_are_inherited_by_later_pipelines() {
    let config = config();
    let selector = Selector::new(&config);
    let test = python(&["pre_merge", "e2e", "gpu_1"]);
    assert!(selector.pipeline_selects("pr", &test));
    assert!(selector.pipeline_selects("nightly", &test));
    assert!(selector.pipeline_selects("weekly", &test));
    let weekly = python(&["weekly", "e2e", "gpu_1"]);
    assert!(!selector.pipeline_selects("nightly", &weekly));
    assert!(selector.pipeline_selects("weekly", &weekly));
}

#[test]
fn aliases_select_like_their_marker() {
    let config = config();
    let test = python(&["premerge", "e2e", "gpus_needed_1"]);
    assert!(job_selects(&config, "pr", "e2e_1", &test));
}

#[test]
fn jobs_without_expression_or_outside_the_pipeline_select_nothing() {
    let config = config();
    let selector = Selector::new(&config);
    let test = python(&["pre_merge", "unit", "gpu_0"]);
    assert_eq!(
        selector.job_verdict("pr", "lint", &test),
        Some(Verdict::NoExpression)
    );
    assert_eq!(selector.job_verdict("pr", "e2e_any", &test), None);
    assert_eq!(selector.job_verdict("nope", "unit", &test), None);
    assert_eq!(selector.jobs("nightly"), ["unit", "integration_0", "e2e_1"]);
}

#[test]
fn runner_must_offer_enough_gpus_and_the_environment() {
    let config = config();
    let selector = Selector::new(&config);
    let four = python(&["pre_merge", "e2e", "gpu_4"]);
    assert_eq!(
        selector.job_verdict("weekly", "e2e_any", &four),
        Some(Verdict::Selected)
    );
    let k8s_on_one_gpu = python(&["pre_merge", "e2e", "gpu_1", "k8s"]);
    assert_eq!(
        selector.job_verdict("pr", "e2e_1", &k8s_on_one_gpu),
        Some(Verdict::RunnerLacks("k8s".into()))
    );
    assert!(selector.pipeline_selects("weekly", &k8s_on_one_gpu));
    // e2e_any has 8 GPUs, so the only limit a 4-GPU test meets is in e2e_1.
    let mut config = config.clone();
    if let Some(job) = config
        .jobs
        .values_mut()
        .find(|j| j.expr.as_deref() == Some("e2e"))
    {
        job.runner.gpus = 2;
    }
    let selector = Selector::new(&config);
    assert_eq!(
        selector.job_verdict("weekly", "e2e_any", &four),
        Some(Verdict::NotEnoughGpus {
            needed: 4,
            offered: 2
        })
    );
}

#[test]
fn languages_restrict_jobs() {
    let config = config();
    let test = rust(&["pre_merge", "e2e", "gpu_1"], &[], false);
    assert!(!job_selects(&config, "pr", "e2e_1", &test));
    assert!(job_selects(
        &config,
        "pr",
        "e2e_1",
        &python(&["pre_merge", "e2e", "gpu_1"])
    ));
}

#[test]
fn rust_tests_need_their_features_and_ignored_handling() {
    let config = config();
    let selector = Selector::new(&config);
    let gated = rust(
        &["pre_merge", "integration", "gpu_0"],
        &["integration"],
        false,
    );
    assert!(selector.pipeline_selects("pr", &gated));
    let other_feature = rust(&["pre_merge", "integration", "gpu_0"], &["nats"], false);
    assert_eq!(
        selector.job_verdict("pr", "integration_0", &other_feature),
        Some(Verdict::FeaturesOff(vec!["nats".into()]))
    );

    let ignored = rust(&["pre_merge", "unit", "gpu_0"], &[], true);
    assert_eq!(
        selector.job_verdict("pr", "unit", &ignored),
        Some(Verdict::IgnoredExcluded)
    );
    assert_eq!(
        selector.job_verdict("nightly", "unit", &ignored),
        Some(Verdict::Selected),
        "the nightly override includes ignored tests"
    );
    assert!(selector.any_pipeline_selects(&ignored));
}

#[test]
fn package_qualified_features_count_for_their_package_only() {
    let mut cargo = CargoOptions {
        features: vec!["pkg/integration".into()],
        ..CargoOptions::default()
    };
    assert!(feature_enabled(&cargo, "pkg", "integration"));
    assert!(!feature_enabled(&cargo, "other", "integration"));
    cargo.all_features = true;
    assert!(feature_enabled(&cargo, "other", "anything"));
}

#[test]
fn keyword_terms_compare_mark_arguments() {
    let config = config();
    let mut test = python(&["pre_merge", "gpu_0"]);
    let mut timeout = marker("timeout");
    timeout.kwargs.insert("seconds".into(), MarkValue::Int(5));
    test.markers.push(timeout);
    assert!(job_selects(&config, "pr", "timeouts", &test));
    if let Some(m) = test.markers.last_mut() {
        m.kwargs.insert("seconds".into(), MarkValue::Int(6));
    }
    assert!(!job_selects(&config, "pr", "timeouts", &test));
}

#[test]
fn no_lifecycle_in_the_taxonomy_means_no_stage_filter() {
    let config = Config::from_str(
        r#"
[taxonomy.categories.type]
markers = { unit = "u" }
[jobs.unit]
expr = "unit"
[pipelines.ci]
stage = "anything"
on = "push"
jobs = ["unit"]
"#,
        "tollgate.toml",
    );
    // A stage that names no lifecycle marker may be rejected by validation;
    // either way selection must not panic and must not invent a filter.
    if let Ok(config) = config {
        assert!(pipeline_selects(&config, "ci", &python(&["unit"])));
    }
}

#[test]
fn features_a_crate_enables_by_default_need_no_flag() {
    let config = Config::from_str(
        "[jobs.unit]\nexpr = \"unit\"\n[jobs.bare]\nexpr = \"unit\"\ncargo = { no_default_features = true }\n\
         [pipelines.pr]\nstage = \"pre_merge\"\non = \"pull_request\"\njobs = [\"unit\", \"bare\"]\n\
         [taxonomy.categories.lifecycle]\nordered = true\nmarkers = { pre_merge = \"\" }\n\
         [taxonomy.categories.type]\nmarkers = { unit = \"\" }\n",
        "tollgate.toml",
    )
    .unwrap();
    let mut test = rust(&["unit", "pre_merge"], &["block-manager"], false);
    let selector = Selector::new(&config);
    assert_eq!(
        selector.job_verdict("pr", "unit", &test),
        Some(Verdict::FeaturesOff(vec!["block-manager".into()]))
    );
    if let Some(facts) = test.rust.as_mut() {
        facts.default_enabled = vec!["block-manager".into()];
    }
    assert_eq!(
        selector.job_verdict("pr", "unit", &test),
        Some(Verdict::Selected)
    );
    // A job that turns default features off does not get them.
    assert_eq!(
        selector.job_verdict("pr", "bare", &test),
        Some(Verdict::FeaturesOff(vec!["block-manager".into()]))
    );
}

/// Every member of a class gets the same verdict from every job of every
/// pipeline as its representative, asked directly; and tests that differ
/// only in what selection does not read (ids, positional arguments, marker
/// order, origins) share a class.
#[test]
fn classes_agree_with_direct_verdicts() {
    let config = config();
    let selector = Selector::new(&config);
    let with_kwarg = |seconds: i64, arg: i64| {
        let mut m = marker("timeout");
        m.kwargs.insert("seconds".into(), MarkValue::Int(seconds));
        m.args.push(MarkValue::Int(arg));
        m
    };
    let names = [
        "pre_merge",
        "premerge",
        "nightly",
        "weekly",
        "unit",
        "integration",
        "e2e",
        "gpu_0",
        "gpu_1",
        "gpus_needed_1",
        "gpu_4",
        "k8s",
    ];
    let mut tests = Vec::new();
    // Every pair and triple of names, in both orders, in both languages,
    // with and without features and #[ignore].
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            for c in [None, Some(names[(i + j) % names.len()])] {
                let set: Vec<&str> = [Some(*a), Some(*b), c].into_iter().flatten().collect();
                let mut t = python(&set);
                t.id = format!("t.py::test_{i}_{j}_{}", c.is_some());
                tests.push(t);
                tests.push(rust(&set, &[], i % 2 == 0));
                tests.push(rust(&set, &["integration"], j % 3 == 0));
            }
        }
    }
    for (seconds, arg) in [(5, 1), (5, 2), (6, 1)] {
        let mut t = python(&["pre_merge", "unit"]);
        t.markers.push(with_kwarg(seconds, arg));
        t.markers[0].origin.line = u32::try_from(arg).unwrap_or(0);
        tests.push(t);
    }
    // A marker no job, stage or runner names, with kwargs.
    for count in [1, 2] {
        let mut t = python(&["pre_merge", "unit"]);
        let mut repeat = marker("repeat");
        repeat.kwargs.insert("count".into(), MarkValue::Int(count));
        t.markers.push(repeat);
        tests.push(t);
    }
    let classes = SelectionClasses::new(&tests, |_| MarkerUse::NameAndKwargs);
    assert!(classes.len() < tests.len(), "no two tests share a class");
    // (5, 1) and (5, 2) differ in a positional argument and an origin only.
    let n = tests.len();
    assert_eq!(classes.class_of(n - 5), classes.class_of(n - 4));
    assert_ne!(classes.class_of(n - 5), classes.class_of(n - 3));
    assert_ne!(classes.class_of(n - 2), classes.class_of(n - 1));
    // Keyed on what the selector reads only: `repeat` is named by no job,
    // stage or runner, so its kwargs no longer split a class; `timeout`'s
    // still do (a job compares them); and the spellings of one marker still
    // do not merge (pytest's `-m` tells them apart).
    let relevance = selector.marker_relevance();
    assert_eq!(relevance.use_of("repeat"), MarkerUse::Ignored);
    assert_eq!(relevance.use_of("timeout"), MarkerUse::NameAndKwargs);
    assert_eq!(relevance.use_of("premerge"), MarkerUse::Name);
    assert_eq!(relevance.use_of("pre_merge"), MarkerUse::Name);
    let read = SelectionClasses::new(&tests, |m| relevance.use_of(&m.name));
    assert!(
        read.len() < classes.len(),
        "{} vs {}",
        read.len(),
        classes.len()
    );
    assert_eq!(read.class_of(n - 2), read.class_of(n - 1));
    assert_ne!(read.class_of(n - 5), read.class_of(n - 3));
    let at = |id: &str| tests.iter().position(|t| t.id == id);
    let (canonical, alias) = (at("t.py::test_0_4_false"), at("t.py::test_1_4_false"));
    assert!(canonical.is_some() && alias.is_some());
    assert_ne!(
        canonical.and_then(|i| read.class_of(i)),
        alias.and_then(|i| read.class_of(i))
    );
    assert_agree(&selector, &tests, &classes);
    assert_agree(&selector, &tests, &read);
}

fn assert_agree(selector: &Selector<'_>, tests: &[TestItem], classes: &SelectionClasses) {
    for pipeline in ["pr", "nightly", "weekly"] {
        for job in selector.jobs(pipeline) {
            for (i, test) in tests.iter().enumerate() {
                let class = classes.class_of(i).expect("every test has a class");
                let representative = &tests[classes.representatives()[class]];
                assert_eq!(
                    selector.job_verdict(pipeline, job, test),
                    selector.job_verdict(pipeline, job, representative),
                    "{pipeline}/{job}: {} vs its class's {}",
                    test.id,
                    representative.id
                );
                assert_eq!(
                    selector.stage_covers(pipeline, test),
                    selector.stage_covers(pipeline, representative)
                );
            }
        }
    }
}
