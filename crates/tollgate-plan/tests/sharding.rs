//! Shards from recorded durations, through the whole planner: the example
//! monorepo with the `dynamo` preset, `PlanInput::shards` overriding every
//! test job, durations changing the split, and the estimate per shard.

mod common;

use std::collections::HashMap;

use common::*;
use tollgate_plan::{emit, plan, Plan, PlanInput, PlannedJob, Variables};

fn plan_with(shards: Option<u32>, durations: Option<&HashMap<String, f64>>) -> Plan {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let variables =
        Variables::resolve(&config, config.pipelines.get("nightly"), &[], &no_env).unwrap();
    plan(&PlanInput {
        config: &config,
        inventory: &inv,
        pipeline: "nightly",
        variables: &variables,
        changes: None,
        durations,
        shards,
        flaky: None,
    })
    .unwrap()
}

fn job<'p>(plan: &'p Plan, name: &str) -> &'p PlannedJob {
    plan.jobs.iter().find(|j| j.name == name).unwrap()
}

/// The job with the most tests: the one sharding matters for.
fn biggest(plan: &Plan) -> &PlannedJob {
    plan.jobs.iter().max_by_key(|j| j.tests.len()).unwrap()
}

fn shard_ids(job: &PlannedJob) -> Vec<Vec<String>> {
    job.shards.iter().map(|s| s.tests.clone()).collect()
}

#[test]
fn the_shard_flag_splits_every_test_job_and_no_other() {
    let unsharded = plan_with(None, None);
    assert!(unsharded.jobs.iter().all(|j| j.shards.is_empty()));
    let plan = plan_with(Some(3), None);
    for j in &plan.jobs {
        match j.tests.len() {
            0 | 1 => assert!(j.shards.is_empty(), "{}", j.name),
            n => {
                assert_eq!(j.shards.len(), n.min(3), "{}", j.name);
                assert!(j.shards.iter().all(|s| s.count == 3));
                assert!(
                    j.commands.is_empty(),
                    "a sharded job's commands are per shard"
                );
                let mut all: Vec<&String> = j.shards.iter().flat_map(|s| &s.tests).collect();
                all.sort();
                let mut expected: Vec<&String> = j.tests.iter().collect();
                expected.sort();
                assert_eq!(all, expected, "{}: every test in exactly one shard", j.name);
                // Without durations there is no time estimate to show.
                assert!(j.shards.iter().all(|s| s.estimated_s.is_none()));
            }
        }
    }
    // Without durations the caller says why (the planner has nothing to add
    // but the files it split).
    assert!(
        plan.notes
            .iter()
            .all(|n| !n.contains("duration") && !n.contains("median")),
        "{:#?}",
        plan.notes
    );
    // `--shards 1` turns sharding off.
    assert!(plan_with(Some(1), None)
        .jobs
        .iter()
        .all(|j| j.shards.is_empty()));
}

#[test]
fn recorded_durations_decide_the_split() {
    let by_count = plan_with(Some(2), None);
    let unit = biggest(&by_count).name.clone();
    let tests = biggest(&by_count).tests.clone();
    assert!(tests.len() >= 4, "{unit} has {} tests", tests.len());

    // The first test is slower than all the others together: it gets a shard
    // of its own, which a split by count never does.
    let mut durations: HashMap<String, f64> = tests.iter().map(|t| (t.clone(), 1.0)).collect();
    durations.insert(tests[0].clone(), 10.0 * tests.len() as f64);
    let timed = plan_with(Some(2), Some(&durations));
    let shards = shard_ids(job(&timed, &unit));
    assert_ne!(shards, shard_ids(job(&by_count, &unit)));
    assert_eq!(shards[0], [tests[0].clone()]);
    let estimates: Vec<f64> = job(&timed, &unit)
        .shards
        .iter()
        .map(|s| s.estimated_s.unwrap())
        .collect();
    assert_eq!(
        estimates,
        [10.0 * tests.len() as f64, (tests.len() - 1) as f64]
    );

    // Same input, same plan.
    assert_eq!(timed, plan_with(Some(2), Some(&durations)));
    // The estimate is in the JSON and in the table.
    assert!(emit::json(&timed).contains("\"estimated_s\""));
    assert!(emit::human(&timed).contains(&format!("[{unit} 1/2] 1 test(s), ~")));
}

#[test]
fn tests_without_history_count_as_the_median_and_are_noted() {
    let plan = plan_with(Some(2), None);
    let unit = biggest(&plan);
    let known: HashMap<String, f64> = unit
        .tests
        .iter()
        .take(3)
        .zip([1.0, 2.0, 30.0])
        .map(|(t, d)| (t.clone(), d))
        .collect();
    let timed = plan_with(Some(2), Some(&known));
    let planned = job(&timed, &unit.name);
    let total: f64 = planned.shards.iter().filter_map(|s| s.estimated_s).sum();
    let expected = 33.0 + 2.0 * (unit.tests.len() - 3) as f64;
    assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
    let missing = unit.tests.len() - 3;
    assert!(
        timed.notes.iter().any(|n| n.contains(&format!(
            "job `{}`: {missing} of {} tests have no recorded duration and count as the median, 2.000 s",
            unit.name,
            unit.tests.len()
        ))),
        "{:#?}",
        timed.notes
    );
    // Durations for other tests only: this job is balanced by count, and says so.
    let elsewhere: HashMap<String, f64> = [("not/a/test.py::x".to_string(), 5.0)].into();
    let by_count = plan_with(Some(2), Some(&elsewhere));
    assert_eq!(
        shard_ids(job(&by_count, &unit.name)),
        shard_ids(job(&plan, &unit.name))
    );
    assert!(by_count.notes.iter().any(|n| n.contains(&format!(
        "job `{}`: no recorded durations for its tests, so its shards are balanced by test count",
        unit.name
    ))));
}
