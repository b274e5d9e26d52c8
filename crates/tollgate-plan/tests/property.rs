//! Lifecycle inheritance as a property: on the `dynamo` preset, for random
//! tests with random marker sets (exclusive categories respected, aliases
//! mixed in), every test a pipeline runs is run by every later pipeline.

mod common;

use std::collections::BTreeSet;

use proptest::prelude::*;
use tollgate_inventory::{
    Inventory, Language, MarkOrigin, MarkSource, Marker, RustFacts, TestItem,
};
use tollgate_plan::{plan, PlanInput, Variables};

const ORDER: [&str; 6] = ["pre-commit", "pr", "push", "nightly", "weekly", "release"];

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    proptest::option::of(proptest::sample::select(options))
}

fn markers() -> impl Strategy<Value = Vec<&'static str>> {
    let lifecycle = proptest::sample::subsequence(
        &[
            "pre_commit",
            "pre_merge",
            "premerge",
            "post_merge",
            "nightly",
            "weekly",
            "release",
        ][..],
        0..3,
    );
    (
        lifecycle,
        pick(&[
            "unit",
            "integration",
            "e2e",
            "benchmark",
            "performance",
            "stress",
        ]),
        pick(&[
            "gpu_0",
            "gpu_1",
            "gpu_2",
            "gpu_4",
            "gpu_8",
            "gpus_needed_1",
            "gpus_needed_2",
        ]),
        pick(&["vllm", "trtllm", "sglang"]),
        pick(&["k8s", "slurm", "docker", "cloud"]),
        pick(&["h100", "planner", "router", "slow", "smoke"]),
    )
        .prop_map(|(lifecycle, t, hw, fw, env, other)| {
            lifecycle
                .into_iter()
                .chain([t, hw, fw, env, other].into_iter().flatten())
                .collect()
        })
}

fn test_item() -> impl Strategy<Value = TestItem> {
    (
        markers(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u32..1000,
    )
        .prop_map(|(names, rust, ignored, needs_feature, n)| {
            let file = if rust {
                "lib/x/src/lib.rs".to_string()
            } else {
                format!("tests/test_{n}.py")
            };
            let origin = MarkOrigin {
                file: file.clone(),
                line: 1,
                source: MarkSource::FunctionDecorator,
                learned: None,
            };
            TestItem {
                id: if rust {
                    format!("x t{n}")
                } else {
                    format!("{file}::test_{n}")
                },
                language: if rust {
                    Language::Rust
                } else {
                    Language::Python
                },
                file,
                line: 1,
                function: format!("t{n}"),
                markers: names
                    .iter()
                    .map(|m| Marker::new(*m, origin.clone()))
                    .collect(),
                dynamic: None,
                rust: rust.then(|| RustFacts {
                    package: "x".into(),
                    target_kind: "lib".into(),
                    target_name: "x".into(),
                    binary_id: "x".into(),
                    required_features: if needs_feature {
                        vec!["integration".into()]
                    } else {
                        vec![]
                    },
                    test_attribute: "test".into(),
                    ignored: ignored.then(String::new),
                    ..RustFacts::default()
                }),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn selected_in_an_earlier_pipeline_implies_selected_in_every_later_one(
        tests in proptest::collection::vec(test_item(), 1..12)
    ) {
        let config = common::dynamo();
        let mut seen = BTreeSet::new();
        let tests: Vec<TestItem> = tests.into_iter().filter(|t| seen.insert(t.id.clone())).collect();
        let inventory = Inventory { tests, diagnostics: vec![] };
        let selected: Vec<BTreeSet<String>> = ORDER
            .iter()
            .map(|pipeline| {
                let variables =
                    Variables::resolve(&config, config.pipelines.get(pipeline), &[], &common::no_env).unwrap();
                let plan = plan(&PlanInput {
                    config: &config,
                    inventory: &inventory,
                    pipeline,
                    variables: &variables,
                    changes: None,
                    durations: None,
                    shards: None,
                    flaky: None,
                })
                .unwrap();
                plan.jobs.iter().flat_map(|j| j.tests.iter().cloned()).collect()
            })
            .collect();
        for (i, earlier) in selected.iter().enumerate() {
            for (j, later) in selected.iter().enumerate().skip(i + 1) {
                let missing: Vec<&String> = earlier.difference(later).collect();
                prop_assert!(
                    missing.is_empty(),
                    "selected in `{}` but not in `{}`: {:?}",
                    ORDER[i],
                    ORDER[j],
                    missing
                );
            }
        }
    }
}
