//! "Nothing planned runs nowhere", as a property over generated taxonomies,
//! jobs and inventories:
//! - every test a pipeline's lifecycle stage covers is run by some job of
//!   its plan or listed in `not_run` with a reason — never both, never
//!   neither;
//! - in a pipeline that tests every framework, a test marked for several
//!   frameworks runs in the instance of each of them of every
//!   framework-specific job that selects it — or, with `multi_framework =
//!   "one"`, in the instance of the first of them only;
//! - a test is never run by a job whose runner cannot host its GPUs.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use tollgate_config::Config;
use tollgate_inventory::{Inventory, Language, MarkOrigin, MarkSource, Marker, TestItem};
use tollgate_plan::{plan, PlanInput, Variables};

const FRAMEWORKS: [&str; 3] = ["fa", "fb", "fc"];
const TYPES: [&str; 3] = ["unit", "integration", "e2e"];
const HARDWARE: [(&str, u32); 3] = [("gpu_0", 0), ("gpu_1", 1), ("gpu_2", 2)];

#[derive(Debug, Clone)]
struct JobSpec {
    types: Vec<usize>,
    gpus: Vec<usize>,
    runner_gpus: u32,
    mode: usize,
}

#[derive(Debug, Clone)]
struct Setup {
    frameworks: usize,
    jobs: Vec<JobSpec>,
    /// Framework rule of the nightly pipeline: 0 all, 1 changed-or-default,
    /// 2 a list of the first framework.
    nightly_rule: usize,
    /// The release pipeline runs a test of several frameworks in one
    /// instance (`multi_framework = "one"`) instead of each.
    release_one: bool,
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    (
        proptest::sample::subsequence(vec![0usize, 1, 2], 1..=3),
        proptest::sample::subsequence(vec![0usize, 1, 2], 1..=3),
        0u32..=2,
        0usize..3,
    )
        .prop_map(|(types, gpus, runner_gpus, mode)| JobSpec {
            types,
            gpus,
            runner_gpus,
            mode,
        })
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        1usize..=3,
        proptest::collection::vec(job_spec(), 1..5),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(frameworks, jobs, nightly_rule, release_one)| Setup {
            frameworks,
            jobs,
            nightly_rule,
            release_one,
        })
}

fn config_text(setup: &Setup) -> String {
    let fws = &FRAMEWORKS[..setup.frameworks];
    let mut s = String::from(
        "[taxonomy]\nstrict = true\n\
         [taxonomy.categories.lifecycle]\nordered = true\n\
         markers = { pre_merge = \"\", nightly = \"\", release = \"\" }\n\
         [taxonomy.categories.type]\nmarkers = { unit = \"\", integration = \"\", e2e = \"\" }\n\
         [taxonomy.categories.hardware]\nexclusive = true\n\
         markers = { gpu_0 = { gpus = 0 }, gpu_1 = { gpus = 1 }, gpu_2 = { gpus = 2 } }\n\
         [taxonomy.categories.framework]\nmarkers = { fa = \"\", fb = \"\", fc = \"\" }\n",
    );
    for fw in fws {
        s.push_str(&format!("[frameworks.{fw}]\n"));
    }
    s.push_str(&format!("[changes]\ndefault_framework = \"{}\"\n", fws[0]));
    let mut names = Vec::new();
    for (i, job) in setup.jobs.iter().enumerate() {
        let types: Vec<&str> = job.types.iter().map(|&t| TYPES[t]).collect();
        let gpus: Vec<&str> = job.gpus.iter().map(|&g| HARDWARE[g].0).collect();
        let mode = ["any", "selected", "each"][job.mode];
        s.push_str(&format!(
            "[jobs.j{i}]\nstage = 3\nexpr = \"({}) and ({})\"\nframework = \"{mode}\"\nrunner = {{ gpus = {} }}\n",
            types.join(" or "),
            gpus.join(" or "),
            job.runner_gpus
        ));
        names.push(format!("\"j{i}\""));
    }
    let jobs = names.join(", ");
    let rule = match setup.nightly_rule {
        0 => "\"all\"".to_string(),
        1 => "\"changed-or-default\"".to_string(),
        _ => format!("[\"{}\"]", fws[0]),
    };
    s.push_str(&format!(
        "[pipelines.pr]\nstage = \"pre_merge\"\non = \"pull_request\"\njobs = [{jobs}]\n\
         [pipelines.nightly]\nstage = \"nightly\"\non = \"schedule\"\nframeworks = {rule}\njobs = [{jobs}]\n\
         [pipelines.release]\nstage = \"release\"\non = \"manual\"\njobs = [{jobs}]\n{}",
        if setup.release_one { "multi_framework = \"one\"\n" } else { "" }
    ));
    s
}

fn test_item() -> impl Strategy<Value = (Vec<usize>, usize, usize, Vec<usize>)> {
    (
        proptest::sample::subsequence(vec![0usize, 1, 2], 0..=2),
        0usize..3,
        0usize..3,
        proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3),
    )
}

fn make_test(
    n: usize,
    (lifecycle, ty, hw, fws): (Vec<usize>, usize, usize, Vec<usize>),
) -> TestItem {
    let file = format!("tests/test_{n}.py");
    let origin = MarkOrigin {
        file: file.clone(),
        line: 1,
        source: MarkSource::FunctionDecorator,
        learned: None,
    };
    let mut names: Vec<&str> = lifecycle
        .iter()
        .map(|&l| ["pre_merge", "nightly", "release"][l])
        .collect();
    names.push(TYPES[ty]);
    names.push(HARDWARE[hw].0);
    names.extend(fws.iter().map(|&f| FRAMEWORKS[f]));
    TestItem {
        id: format!("{file}::test_{n}"),
        language: Language::Python,
        file,
        line: 1,
        function: format!("test_{n}"),
        markers: names
            .iter()
            .map(|m| Marker::new(*m, origin.clone()))
            .collect(),
        dynamic: None,
        rust: None,
    }
}

fn gpus_needed(test: &TestItem) -> u32 {
    HARDWARE
        .iter()
        .find(|(name, _)| test.markers.iter().any(|m| m.name == *name))
        .map_or(0, |(_, g)| *g)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_covered_test_is_run_or_listed_with_a_reason(
        setup in setup(),
        raw in proptest::collection::vec(test_item(), 1..25),
    ) {
        let text = config_text(&setup);
        let config = match Config::from_str(&text, "tollgate.toml") {
            Ok(c) => c,
            Err(e) => panic!("generated config invalid:\n{}\n{text}", e.render()),
        };
        let tests: Vec<TestItem> = raw.into_iter().enumerate().map(|(n, r)| make_test(n, r)).collect();
        let inventory = Inventory { tests, diagnostics: vec![] };
        let declared: BTreeSet<&str> = FRAMEWORKS[..setup.frameworks].iter().copied().collect();
        for pipeline in ["pr", "nightly", "release"] {
            let variables = Variables::resolve(&config, config.pipelines.get(pipeline), &[], &common::no_env).unwrap();
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
            let stage_index = ["pre_merge", "nightly", "release"].iter().position(|s| *s == plan.stage).unwrap();
            let mut runs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for job in &plan.jobs {
                for t in &job.tests {
                    runs.entry(t.as_str()).or_default().push(job.name.as_str());
                }
            }
            let listed: BTreeMap<&str, &str> = plan.not_run.iter().map(|u| (u.test.as_str(), u.reason.as_str())).collect();
            prop_assert_eq!(listed.len(), plan.not_run.len(), "a test listed twice");
            for test in &inventory.tests {
                let earliest = ["pre_merge", "nightly", "release"]
                    .iter()
                    .position(|s| test.markers.iter().any(|m| m.name == *s));
                let covered = earliest.is_some_and(|e| e <= stage_index);
                let run = runs.contains_key(test.id.as_str());
                let reason = listed.get(test.id.as_str());
                if covered {
                    prop_assert!(run != reason.is_some(),
                        "{pipeline}: `{}` run={run} listed={:?}\n{text}", test.id, reason);
                    if let Some(reason) = reason {
                        prop_assert!(!reason.is_empty());
                    }
                } else {
                    prop_assert!(!run && reason.is_none(),
                        "{pipeline}: `{}` is outside the stage but run={run} listed={:?}", test.id, reason);
                }
                // No job runs a test its runner cannot host.
                for job_name in runs.get(test.id.as_str()).into_iter().flatten() {
                    let job = plan.jobs.iter().find(|j| j.name == *job_name).unwrap();
                    prop_assert!(job.runner.gpus >= gpus_needed(test),
                        "{pipeline}: `{}` needs {} GPUs, runs in `{job_name}` with {}", test.id, gpus_needed(test), job.runner.gpus);
                }
            }
            // Every framework: a test of several frameworks runs in each
            // framework's instance of each framework-specific job selecting it.
            let tests_all = pipeline == "release" || (pipeline == "nightly" && setup.nightly_rule == 0);
            if tests_all {
                for test in &inventory.tests {
                    let fws: Vec<&str> = FRAMEWORKS.iter().copied()
                        .filter(|f| declared.contains(f) && test.markers.iter().any(|m| m.name == *f))
                        .collect();
                    for (i, spec) in setup.jobs.iter().enumerate() {
                        if spec.mode == 0 {
                            continue;
                        }
                        let job = format!("j{i}");
                        let verdict = tollgate_select::Selector::new(&config).job_verdict(pipeline, &job, test);
                        if verdict.is_some_and(|v| v.is_selected()) {
                            // `multi_framework = "one"`: only the first of its
                            // frameworks (in declared order) runs it.
                            let one = pipeline == "release" && setup.release_one;
                            for (k, fw) in fws.iter().enumerate() {
                                let instance = format!("{job}[{fw}]");
                                let ran = runs.get(test.id.as_str()).is_some_and(|j| j.contains(&instance.as_str()));
                                prop_assert_eq!(ran, !one || k == 0,
                                    "{}: `{}` ({:?}) run by `{}`: {}", pipeline, test.id, fws, instance, ran);
                            }
                        }
                    }
                }
            }
        }
    }
}
