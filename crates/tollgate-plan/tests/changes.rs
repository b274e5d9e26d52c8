//! Change-aware plans of the example's PR pipeline for a set of change sets,
//! each checked against what the changed files reach, worked out by hand
//! from the example's sources and `tollgate.toml`'s (the `dynamo` preset's)
//! `[changes]`, `[frameworks]` and `[components]`.

mod common;
#[path = "../../tollgate/tests/common/copy.rs"]
mod copy;

use common::*;
use copy::copy_tree;
use tollgate_plan::{ChangeScope, Claim, Plan};

fn pr(files: &[&str]) -> Plan {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    plan_for(&config, &inv, &root, "pr", &[], Some(files))
}

fn selected(plan: &Plan) -> Vec<&str> {
    let mut ids: Vec<&str> = plan
        .jobs
        .iter()
        .flat_map(|j| j.tests.iter().map(String::as_str))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
fn docs_only_changes_run_lint_only() {
    let plan = pr(&[
        "README.md",
        "docs/architecture.md",
        "components/backends/vllm/README.md",
    ]);
    assert_eq!(job_names(&plan), ["lint"]);
    let changes = plan.changes.as_ref().unwrap();
    assert!(matches!(&changes.scope, ChangeScope::LintOnly { .. }));
    assert!(changes.unclaimed.is_empty());
    // A README inside the vLLM tree is documentation, not a vLLM change.
    assert_eq!(
        changes.files[2].claims,
        [Claim::Docs {
            glob: "**/*.md".into()
        }]
    );
    for d in &plan.dropped {
        assert_eq!(
            d.reason, "only documentation or ignored files changed: lint only",
            "{}",
            d.name
        );
    }
    assert_eq!(
        dropped_names(&plan),
        [
            "build",
            "unit",
            "unit_1",
            "integration_0",
            "integration_1",
            "e2e_0",
            "e2e_1"
        ]
    );
    insta::assert_snapshot!("docs_only", tollgate_plan::emit::human(&plan));
}

#[test]
fn no_changes_at_all_run_lint_only() {
    let plan = pr(&[]);
    assert_eq!(job_names(&plan), ["lint"]);
}

#[test]
fn a_lock_file_widens_the_run_to_everything() {
    let plan = pr(&["Cargo.lock", "components/src/dynamo/planner/scaling.py"]);
    let full = pr_without_changes();
    assert_eq!(selected(&plan), selected(&full));
    assert_eq!(python_total(&plan), 53);
    let changes = plan.changes.as_ref().unwrap();
    assert_eq!(
        changes.scope,
        ChangeScope::Everything {
            reason: "`Cargo.lock` widen(s) the run".into()
        }
    );
}

fn pr_without_changes() -> Plan {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    plan_for(&config, &inv, &root, "pr", &[], None)
}

#[test]
fn an_unclaimed_file_widens_the_run_and_is_reported() {
    let plan = pr(&["scripts/release.sh"]);
    let changes = plan.changes.as_ref().unwrap();
    assert_eq!(changes.unclaimed, ["scripts/release.sh"]);
    assert!(matches!(changes.scope, ChangeScope::Everything { .. }));
    assert_eq!(python_total(&plan), 53);
    assert!(
        plan.notes.iter().any(|n| n.contains("scripts/release.sh")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn changes_inside_one_framework_test_that_framework() {
    // handlers.py is imported by dynamo.vllm (its package) and by the
    // frontend, which tests/conftest.py imports: every test below tests/
    // is reached, plus the vLLM-marked tests and the vLLM backend tests.
    let plan = pr(&["components/backends/vllm/src/dynamo/vllm/handlers.py"]);
    assert_eq!(plan.framework.as_deref(), Some("vllm"));
    assert_eq!(plan.framework_source.as_deref(), Some("changes"));
    let changes = plan.changes.as_ref().unwrap();
    assert_eq!(
        changes.files[0].claims,
        [
            Claim::Framework {
                name: "vllm".into()
            },
            Claim::PythonModule
        ]
    );
    let ids = selected(&plan);
    // Planner and KVBM unit tests import nothing of vLLM and carry no vllm marker.
    assert!(
        !ids.iter().any(|id| id.contains("planner/tests/")),
        "{ids:?}"
    );
    assert!(ids
        .iter()
        .any(|id| id.starts_with("components/backends/vllm/tests/test_vllm_handler.py")));
    assert!(ids.iter().any(|id| id.starts_with("tests/serve/")));
    // No Rust crate changed: no Rust test runs.
    assert!(plan.jobs.iter().all(|j| j.rust_tests == 0));
    insta::assert_snapshot!("one_framework", tollgate_plan::emit::human(&plan));
}

#[test]
fn changes_in_two_frameworks_test_the_default_framework() {
    let plan = pr(&[
        "components/backends/vllm/src/dynamo/vllm/args.py",
        "components/backends/trtllm/src/dynamo/trtllm/args.py",
    ]);
    assert_eq!(plan.framework.as_deref(), Some("vllm"));
    assert_eq!(plan.framework_source.as_deref(), Some("default"));
    let plan = pr(&["components/backends/trtllm/src/dynamo/trtllm/args.py"]);
    assert_eq!(plan.framework.as_deref(), Some("trtllm"));
    assert_eq!(plan.framework_source.as_deref(), Some("changes"));
    assert_eq!(
        plan.jobs
            .iter()
            .find(|j| j.name == "build")
            .unwrap()
            .commands,
        ["./container/build.sh --framework trtllm"]
    );
}

#[test]
fn a_python_module_reaches_the_tests_importing_it() {
    // dynamo.common.gpu is imported by three vLLM test files and one serve
    // test, and by no module: exactly those files' tests are affected.
    let plan = pr(&["components/src/dynamo/common/gpu.py"]);
    let changes = plan.changes.as_ref().unwrap();
    let ChangeScope::Affected { tests } = &changes.scope else {
        panic!("expected affected tests, got {:?}", changes.scope)
    };
    let files: std::collections::BTreeSet<&str> = tests
        .keys()
        .map(|id| id.split("::").next().unwrap_or_default())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        [
            "components/backends/vllm/tests/test_vllm_args.py",
            "components/backends/vllm/tests/test_vllm_engine.py",
            "components/backends/vllm/tests/test_vllm_tensor_parallel.py",
            "tests/serve/test_serve_multi_gpu.py",
        ]
    );
    assert!(tests.values().all(|r| r == "imports changed `components/src/dynamo/common/gpu.py` (directly or through other modules)"));
    // In the PR only the pre-merge ones run: the argument-parsing unit tests
    // (test_vllm_args.py) and the pre-merge vLLM integration tests.
    let ids = selected(&plan);
    assert!(
        ids.iter()
            .all(|id| id.starts_with("components/backends/vllm/tests/")),
        "{ids:?}"
    );
    assert!(ids
        .iter()
        .any(|id| id.starts_with("components/backends/vllm/tests/test_vllm_args.py")));
    // A selection narrowed by changes is not expressible with -m: node ids.
    let unit = plan.jobs.iter().find(|j| j.name == "unit").unwrap();
    assert_eq!(unit.commands, ["pytest @.tollgate/plan/pr/unit.args"]);
    let args = plan
        .args_files
        .iter()
        .find(|a| a.path == ".tollgate/plan/pr/unit.args")
        .unwrap();
    assert_eq!(args.contents.lines().collect::<Vec<_>>(), unit.tests);
    insta::assert_snapshot!("python_import", tollgate_plan::emit::human(&plan));
}

#[test]
fn a_module_imported_by_a_conftest_reaches_every_test_below_it() {
    // logging.py ← frontend/server.py ← frontend/__init__.py ← tests/conftest.py
    let plan = pr(&["components/src/dynamo/common/logging.py"]);
    let changes = plan.changes.as_ref().unwrap();
    let ChangeScope::Affected { tests } = &changes.scope else {
        panic!()
    };
    assert!(tests.keys().filter(|id| id.starts_with("tests/")).count() > 10);
    assert!(
        tests.keys().all(|id| id.starts_with("tests/")),
        "{:?}",
        tests.keys()
    );
    let reason = &tests["tests/kvbm/test_kvbm_offload.py::test_host_tier_hit_without_disk"];
    assert_eq!(
        reason,
        "below `tests/conftest.py`, reached by changed `components/src/dynamo/common/logging.py`"
    );
}

/// The example with one extra path dependency (`dynamo-kvbm` → `dynamo-llm`),
/// copied to a temporary directory: the example's crates are independent.
fn example_with_kvbm_depending_on_llm() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&example_root(), dir.path());
    let manifest = dir.path().join("lib/kvbm/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[dependencies]\ndynamo-llm = {{ path = \"../llm\" }}\n"),
    )
    .unwrap();
    dir
}

#[test]
fn a_rust_change_reaches_the_tests_of_dependent_crates() {
    let dir = example_with_kvbm_depending_on_llm();
    let root = dir.path();
    let config = dynamo();
    let inv = inventory(&config, root);
    let plan = plan_for(
        &config,
        &inv,
        root,
        "pr",
        &[],
        Some(&["lib/llm/src/tokens.rs"]),
    );
    // dynamo-llm changed; dynamo-kvbm depends on it; dynamo-runtime does not.
    // Unit: llm 10 + kvbm 6; integration: llm 3 + kvbm 1 (ignored ones excluded).
    assert_eq!(counts(&plan, "unit"), Some((0, 16)));
    assert_eq!(counts(&plan, "integration_0"), Some((0, 4)));
    let unit = plan.jobs.iter().find(|j| j.name == "unit").unwrap();
    assert!(unit
        .tests
        .iter()
        .all(|id| !id.starts_with("dynamo-runtime")));
    let changes = plan.changes.as_ref().unwrap();
    let reason = changes
        .affected_reason("dynamo-kvbm pool::tests::insert_then_hit_on_device")
        .unwrap();
    assert_eq!(
        reason,
        "crate `dynamo-kvbm` depends on changed crate `dynamo-llm`"
    );
    // No Python test is affected: the Python jobs are dropped, with the reason.
    assert_eq!(job_names(&plan), ["lint", "build", "unit", "integration_0"]);
    let e2e = plan.dropped.iter().find(|d| d.name == "e2e_0").unwrap();
    assert!(
        e2e.reason.starts_with("selects no test the changes affect"),
        "{}",
        e2e.reason
    );
    insta::assert_snapshot!("rust_dependents", tollgate_plan::emit::human(&plan));

    // Without the dependency, the same change reaches dynamo-llm alone.
    let plan = pr(&["lib/llm/src/tokens.rs"]);
    assert_eq!(counts(&plan, "unit"), Some((0, 10)));
    assert_eq!(counts(&plan, "integration_0"), Some((0, 3)));
}

#[test]
fn a_change_in_a_component_reaches_its_marked_tests() {
    // lib/llm/src/kv_router/** belongs to the router component: Rust tests of
    // dynamo-llm and every Python test marked `router` are affected.
    let plan = pr(&["lib/llm/src/kv_router/indexer.rs"]);
    let changes = plan.changes.as_ref().unwrap();
    assert_eq!(
        changes.files[0].claims,
        [
            Claim::Component {
                name: "router".into()
            },
            Claim::RustPackage {
                name: "dynamo-llm".into()
            }
        ]
    );
    let ids = selected(&plan);
    assert!(ids
        .iter()
        .any(|id| id.starts_with("components/src/dynamo/router/tests/")));
    assert!(!ids
        .iter()
        .any(|id| id.starts_with("components/src/dynamo/planner/")));
}

#[test]
fn non_change_aware_pipelines_ignore_the_changes_and_say_so() {
    let config = dynamo();
    let root = example_root();
    let inv = inventory(&config, &root);
    let plan = plan_for(&config, &inv, &root, "nightly", &[], Some(&["README.md"]));
    assert_eq!(python_total(&plan), 66);
    assert!(plan.notes[0].contains("is not change-aware"));
}
