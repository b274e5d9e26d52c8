//! In-process timing of a plan on a project: discovery alone versus
//! discovery + rules + plan (+ change analysis with `--changed FILE...`).
//! `bench/plan_bench.py` times the real binary; this is for profiling the
//! library before the CLI exists.
//!
//! cargo run --release -p tollgate-plan --example plan_timing -- ROOT PIPELINE [CHANGED...]

use std::path::PathBuf;
use std::time::Instant;

use tollgate_config::{presets, Config};
use tollgate_discover_python as py;
use tollgate_discover_rust as rs;
use tollgate_plan::{analyze, plan, PlanInput, ProjectGraph, Variables};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(pipeline)) = (args.next(), args.next()) else {
        eprintln!("usage: plan_timing ROOT PIPELINE [CHANGED...]");
        std::process::exit(2);
    };
    let changed: Vec<String> = args.collect();
    let root = PathBuf::from(root);
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let config = match std::fs::read_to_string(root.join("tollgate.toml")) {
        Ok(text) => Config::from_str(&text, "tollgate.toml"),
        Err(_) => Config::from_str(presets::DYNAMO, "tollgate.toml"),
    }
    .unwrap_or_else(|e| panic!("{}", e.render()));

    let start = Instant::now();
    let (python, rust) = rayon::join(
        || {
            py::collect(&py::CollectOptions {
                invocation_dir: root.clone(),
                args: vec![],
                rootdir: None,
                config_file: None,
                plugins: Vec::new(),
            })
        },
        || {
            rs::collect(&rs::CollectOptions {
                paths: vec![root.clone()],
                features: rs::FeatureSelection {
                    features: vec![],
                    all_features: true,
                    no_default_features: false,
                },
            })
        },
    );
    let mut inventory = python.expect("python").inventory;
    inventory.extend(rust.expect("rust").inventory);
    let collected = start.elapsed();

    let start = Instant::now();
    config.apply_rules(&mut inventory);
    let rules = start.elapsed();
    let start = Instant::now();
    let analysis = (!changed.is_empty())
        .then(|| analyze(&config, &changed, &ProjectGraph::scan(&root), &inventory));
    let changes = start.elapsed();
    let start = Instant::now();
    let variables = Variables::resolve(&config, config.pipelines.get(&pipeline), &[], &|_| None)
        .expect("variables");
    let planned = plan(&PlanInput {
        config: &config,
        inventory: &inventory,
        pipeline: &pipeline,
        variables: &variables,
        changes: analysis.as_ref(),
        durations: None,
        shards: None,
        flaky: None,
    })
    .expect("plan");
    let planning = start.elapsed();
    let start = Instant::now();
    let json = tollgate_plan::emit::json(&planned);
    let emitting = start.elapsed();
    println!(
        "{} tests; collect {:.3}s, rules {:.3}s, changes {:.3}s, plan {:.3}s, json {:.3}s ({} jobs, {} bytes)",
        inventory.tests.len(),
        collected.as_secs_f64(),
        rules.as_secs_f64(),
        changes.as_secs_f64(),
        planning.as_secs_f64(),
        emitting.as_secs_f64(),
        planned.jobs.len(),
        json.len()
    );
}
