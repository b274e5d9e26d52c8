//! Shared set-up: the example monorepo collected the way `tollgate plan`
//! collects it, with the `dynamo` preset.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};

use tollgate_config::{presets, Config};
use tollgate_discover_python as py;
use tollgate_discover_rust as rs;
use tollgate_inventory::{Inventory, Language, TestItem};
use tollgate_plan::{analyze, plan, Plan, PlanInput, ProjectGraph, Variables};

/// Canonical: discovery computes node ids from the path, and `..` in it
/// would leak into them.
pub fn example_root() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/monorepo");
    std::fs::canonicalize(&path).unwrap_or(path)
}

pub fn dynamo() -> Config {
    match Config::from_str(presets::DYNAMO, "tollgate.toml") {
        Ok(c) => c,
        Err(e) => panic!("dynamo preset invalid:\n{}", e.render()),
    }
}

/// Python and Rust tests below `root` (every feature on, ignored tests
/// included: jobs decide), with the config's rules applied.
pub fn inventory(config: &Config, root: &Path) -> Inventory {
    let python = py::collect(&py::CollectOptions {
        invocation_dir: root.to_path_buf(),
        args: vec![],
        rootdir: None,
        config_file: None,
        plugins: Vec::new(),
    })
    .expect("python collection");
    let rust = rs::collect(&rs::CollectOptions {
        paths: vec![root.to_path_buf()],
        features: rs::FeatureSelection {
            features: vec![],
            all_features: true,
            no_default_features: false,
        },
    })
    .expect("rust collection");
    let mut inv = python.inventory;
    inv.extend(rust.inventory);
    config.apply_rules(&mut inv);
    inv
}

pub fn no_env(_: &str) -> Option<String> {
    None
}

/// Plans `pipeline` with the given `--var` flags, an empty environment and
/// optionally a changed-files list.
pub fn plan_for(
    config: &Config,
    inv: &Inventory,
    root: &Path,
    pipeline: &str,
    flags: &[&str],
    changed: Option<&[&str]>,
) -> Plan {
    let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    let variables = Variables::resolve(config, config.pipelines.get(pipeline), &flags, &no_env)
        .expect("variables");
    let analysis = changed.map(|files| {
        let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        analyze(config, &files, &ProjectGraph::scan(root), inv)
    });
    plan(&PlanInput {
        config,
        inventory: inv,
        pipeline,
        variables: &variables,
        changes: analysis.as_ref(),
        durations: None,
        shards: None,
        flaky: None,
    })
    .expect("plan")
}

/// `(python, rust)` test counts of a planned job, `None` if it is not planned.
pub fn counts(plan: &Plan, job: &str) -> Option<(usize, usize)> {
    plan.jobs
        .iter()
        .find(|j| j.name == job)
        .map(|j| (j.python_tests, j.rust_tests))
}

pub fn python_total(plan: &Plan) -> usize {
    plan.jobs.iter().map(|j| j.python_tests).sum()
}

pub fn job_names(plan: &Plan) -> Vec<&str> {
    plan.jobs.iter().map(|j| j.name.as_str()).collect()
}

pub fn dropped_names(plan: &Plan) -> Vec<&str> {
    plan.dropped.iter().map(|d| d.name.as_str()).collect()
}

pub fn ids(inv: &Inventory, lang: Language) -> Vec<&TestItem> {
    inv.tests.iter().filter(|t| t.language == lang).collect()
}
