//! `tollgate plan` from the command line: bad input is a clear error with the
//! usage status (2) and no file written; good input writes the plan and its
//! node-id files.

mod common;

use std::path::{Path, PathBuf};

use common::copy::copy_tree;
use common::{example_root, git, git_commit_all, job, strings};

/// The exit statuses of the contract (see `tollgate --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Success,
    Usage,
    Other(i32),
}

/// The example with the `dynamo` preset as its tollgate.toml, in a temp dir.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&example_root(), dir.path());
    std::fs::write(
        dir.path().join("tollgate.toml"),
        tollgate_config::presets::DYNAMO,
    )
    .unwrap();
    dir
}

/// Runs `tollgate plan ARGS --config ROOT/tollgate.toml`: the status and the error text.
fn run(root: &Path, args: &[&str]) -> (Status, String) {
    let config = root.join("tollgate.toml");
    let out = common::tollgate(root)
        .arg("plan")
        .arg("--config")
        .arg(&config)
        .args(args)
        .output()
        .expect("tollgate runs");
    let status = match out.status.code() {
        Some(0) => Status::Success,
        Some(2) => Status::Usage,
        Some(other) => Status::Other(other),
        None => Status::Other(-1),
    };
    (status, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn out_path(root: &Path) -> PathBuf {
    root.join("out/plan.json")
}

#[track_caller]
fn assert_usage_error(root: &Path, args: &[&str], needle: &str) {
    let out = out_path(root);
    let out_arg = out.display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--format", "json", "--output", &out_arg]);
    let (status, message) = run(root, &all);
    assert_eq!(status, Status::Usage, "{message}");
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    assert!(!out.exists(), "a file was written despite the error");
    // The discovery cache (`.tollgate/cache`, written while collecting,
    // before the error is found) is not an output of plan.
    let written: Vec<String> = std::fs::read_dir(root.join(".tollgate"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name != "cache")
                .collect()
        })
        .unwrap_or_default();
    assert!(
        written.is_empty(),
        "node-id files were written despite the error: {written:?}"
    );
}

#[test]
fn bad_input_is_a_usage_error_and_writes_nothing() {
    let dir = project();
    let root = dir.path();
    assert_usage_error(
        root,
        &["--pipeline", "nighty"],
        "unknown pipeline `nighty` (did you mean `nightly`?)",
    );
    assert_usage_error(
        root,
        &["--pipeline", "pr", "--var", "RUN_VLM=true"],
        "unknown variable `RUN_VLM`",
    );
    assert_usage_error(
        root,
        &["--pipeline", "pr", "--var", "NIGHTLY_BUILD=maybe"],
        "expected a bool",
    );
    assert_usage_error(
        root,
        &["--pipeline", "pr", "--var", "NIGHTLY_BUILD"],
        "NAME=VALUE",
    );
    let list = root.join("changed.txt");
    std::fs::write(
        &list,
        "components/src/dynamo/planner/scaling.py\nM\tlib/llm/src/lib.rs\n",
    )
    .unwrap();
    let list_arg = list.display().to_string();
    assert_usage_error(
        root,
        &["--pipeline", "pr", "--changed-files", &list_arg],
        "changed.txt:2: malformed",
    );
    assert_usage_error(
        root,
        &["--pipeline", "pr", "--changed-files", "/no/such/list"],
        "cannot read /no/such/list",
    );
    assert_usage_error(
        root,
        &["--pipeline", "pr", "--explain", "tests/nope.py::test_x"],
        "unknown test",
    );
    // Not a git repository.
    assert_usage_error(
        root,
        &["--pipeline", "pr", "--base", "main"],
        "not inside a git repository",
    );
}

#[test]
fn an_existing_output_file_survives_an_error() {
    let dir = project();
    let root = dir.path();
    let out = out_path(root);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, "previous plan").unwrap();
    let out_arg = out.display().to_string();
    let (status, _) = run(root, &["--pipeline", "nope", "--output", &out_arg]);
    assert_eq!(status, Status::Usage);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous plan");
}

#[test]
fn missing_base_ref_and_shallow_clone_are_clear_errors() {
    let dir = project();
    let origin = dir.path();
    git_commit_all(origin, "base");
    assert_usage_error(
        origin,
        &["--pipeline", "pr", "--base", "no-such-branch"],
        "base ref `no-such-branch` does not exist",
    );

    // A feature branch two commits ahead, cloned with depth 1: the clone has
    // `main`'s tip but not the history joining it to HEAD.
    git(origin, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(
        origin.join("components/src/dynamo/common/gpu.py"),
        "# changed\n",
    )
    .unwrap();
    git(origin, &["commit", "-q", "-am", "one"]);
    std::fs::write(origin.join("README.md"), "# changed\n").unwrap();
    git(origin, &["commit", "-q", "-am", "two"]);
    let clone_dir = tempfile::tempdir().unwrap();
    let clone = clone_dir.path().join("c");
    let url = format!("file://{}", origin.display());
    git(
        clone_dir.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "c",
        ],
    );
    git(
        &clone,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "origin",
            "main:refs/remotes/origin/main",
        ],
    );
    assert_usage_error(
        &clone,
        &["--pipeline", "pr", "--base", "origin/main"],
        "shallow clone",
    );
}

#[test]
fn base_ref_narrows_the_plan_to_what_changed() {
    let dir = project();
    let root = dir.path();
    git_commit_all(root, "base");
    git(root, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(
        root.join("components/src/dynamo/common/gpu.py"),
        "# changed\n",
    )
    .unwrap();
    git(root, &["commit", "-q", "-am", "change gpu helpers"]);
    let out = out_path(root);
    let out_arg = out.display().to_string();
    let (status, message) = run(
        root,
        &[
            "--pipeline",
            "pr",
            "--base",
            "main",
            "--format",
            "json",
            "--output",
            &out_arg,
        ],
    );
    assert_eq!(status, Status::Success, "{message}");
    // Planning writes nothing unless asked: it says how to get the files.
    assert!(!root.join(".tollgate/plan").exists());
    assert!(message.contains("--write-args .tollgate/plan"), "{message}");
    let args_dir = root.join(".tollgate/plan").display().to_string();
    let (status, message) = run(
        root,
        &[
            "--pipeline",
            "pr",
            "--base",
            "main",
            "--format",
            "json",
            "--output",
            &out_arg,
            "--write-args",
            &args_dir,
        ],
    );
    assert_eq!(status, Status::Success, "{message}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        plan["changes"]["files"][0]["path"],
        "components/src/dynamo/common/gpu.py"
    );
    assert_eq!(plan["changes"]["scope"]["kind"], "affected");
    // The narrowed Python selection runs from a node-id file, which exists.
    let unit = job(&plan, "unit");
    assert_eq!(unit["commands"][0], "pytest @.tollgate/plan/pr/unit.args");
    let ids = std::fs::read_to_string(root.join(".tollgate/plan/pr/unit.args")).unwrap();
    assert_eq!(ids.lines().collect::<Vec<_>>(), strings(&unit["tests"]));
}

#[test]
fn every_format_renders() {
    let dir = project();
    let root = dir.path();
    for format in ["human", "json", "github", "gitlab"] {
        let out = root.join(format!("out/plan.{format}"));
        let out_arg = out.display().to_string();
        let (status, message) = run(
            root,
            &[
                "--pipeline",
                "nightly",
                "--format",
                format,
                "--output",
                &out_arg,
            ],
        );
        assert_eq!(status, Status::Success, "{message}");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("unit"), "{format}: {text}");
    }
    let out = root.join("out/explain.txt");
    let out_arg = out.display().to_string();
    let (status, message) = run(
        root,
        &[
            "--pipeline",
            "pr",
            "--explain",
            "tests/kvbm/test_kvbm_offload.py::test_host_tier_hit_without_disk",
            "--output",
            &out_arg,
        ],
    );
    assert_eq!(status, Status::Success, "{message}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("e2e_0"), "{text}");
    assert!(
        text.contains("comes after the pipeline's `pre_merge`"),
        "{text}"
    );
}

/// `tollgate init --preset dynamo` on a new project without Dynamo's tools:
/// the lint job runs `tollgate lint`, the container build jobs are left out
/// (init says both), and `plan --pipeline pr` plans neither pre-commit nor
/// ./container/build.sh. With the tools the preset is written as it is.
#[test]
fn init_dynamo_fits_the_preset_to_the_tools_the_project_has() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = common::tollgate(root)
        .args(["init", "--preset", "dynamo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    let said = common::text(&out.stderr);
    assert!(said.contains("no .pre-commit-config.yaml here"), "{said}");
    assert!(said.contains("no container/build.sh here"), "{said}");
    let written = std::fs::read_to_string(root.join("tollgate.toml")).unwrap();
    assert!(!written.contains("[jobs.build]"), "{written}");
    let plan = common::tollgate(root)
        .args(["plan", "--pipeline", "pr", "--format", "json"])
        .output()
        .unwrap();
    assert!(plan.status.success(), "{}", common::describe(&plan));
    let plan = common::text(&plan.stdout);
    assert!(plan.contains("tollgate lint"), "{plan}");
    assert!(!plan.contains("pre-commit run"), "{plan}");
    assert!(!plan.contains("container/build.sh"), "{plan}");

    // The same project with Dynamo's tools: the preset as it is.
    std::fs::write(root.join(".pre-commit-config.yaml"), "repos: []\n").unwrap();
    std::fs::create_dir_all(root.join("container")).unwrap();
    std::fs::write(root.join("container/build.sh"), "#!/bin/sh\n").unwrap();
    let out = common::tollgate(root)
        .args(["init", "--preset", "dynamo", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    let written = std::fs::read_to_string(root.join("tollgate.toml")).unwrap();
    assert_eq!(written, tollgate_config::presets::DYNAMO);
}
