//! A Rust selection too long for a command line runs as printed with real
//! cargo-nextest: a generated one-crate workspace of 3,000 tiny tests, every
//! other one selected (so no binary or module compacts into one term), makes
//! a filterset above the 96 KiB argument limit; `plan --write-args` writes
//! the nextest config file whose profile carries it, and the job's printed
//! command, run by `sh` in the workspace, runs exactly the selected tests
//! (the others panic) and no more.

mod common;

use std::fmt::Write as _;

use common::{describe, text, write};
use serde_json::Value;

const MODULES: usize = 30;
const PER_MODULE: usize = 100;

const CONFIG: &str = r#"[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_merge = "before merging" }

[taxonomy.categories.type.markers]
unit = "unit tests"
slow = "slow tests"

[[rules]]
language = "rust"
markers = ["pre_merge"]

[jobs.unit]
expr = "unit"
gating = true

[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["unit"]
"#;

/// Tests with long names (as real suites have), even ones `unit`, odd ones
/// `slow` and failing: running one of them would fail the command.
fn lib_rs() -> String {
    let mut s = String::new();
    for m in 0..MODULES {
        let _ = writeln!(s, "#[cfg(test)]\nmod subsystem_{m}_behaviour {{");
        for t in 0..PER_MODULE {
            let (marker, body) = if t % 2 == 0 {
                ("unit", "")
            } else {
                ("slow", "panic!(\"not selected\");")
            };
            let _ = writeln!(
                s,
                "    // tollgate: markers({marker})\n    #[test]\n    fn test_{t:03}_does_what_its_rather_long_descriptive_name_says() {{ {body} }}"
            );
        }
        s.push_str("}\n");
    }
    s
}

#[test]
fn a_selection_above_the_argument_limit_runs_as_printed_with_real_nextest() {
    if std::process::Command::new("cargo-nextest")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo-nextest is not installed"
        );
        eprintln!("skipping: cargo-nextest is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "tollgate.toml", CONFIG);
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"big\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(root, "src/lib.rs", &lib_rs());

    let out = common::tollgate(root)
        .args([
            "plan",
            "--pipeline",
            "pr",
            "--format",
            "json",
            "--write-args",
            ".tollgate/plan",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = common::job(&plan, "unit");
    let selected = MODULES * PER_MODULE / 2;
    assert_eq!(
        job["tests"].as_array().map(Vec::len),
        Some(selected),
        "{job}"
    );
    let commands: Vec<&str> = job["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let cargo: Vec<&&str> = commands.iter().filter(|c| c.contains("nextest")).collect();
    assert_eq!(cargo.len(), 1, "{commands:?}");
    let command = cargo[0];
    // The selection went to the config file: the command is short.
    assert!(command.contains("--config-file"), "{command}");
    assert!(command.len() < 4096, "{} bytes", command.len());
    let notes = plan["notes"].to_string();
    assert!(notes.contains("too long for a command line"), "{notes}");

    // Run it as printed, in a private target directory.
    let target = root.join("target");
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("NEXTEST_PROFILE")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let output = format!("{}{}", text(&run.stdout), text(&run.stderr));
    assert!(run.status.success(), "`{command}` failed:\n{output}");
    let summary = format!("{selected} tests run: {selected} passed");
    assert!(output.contains(&summary), "`{summary}` not in:\n{output}");
    let skipped = MODULES * PER_MODULE - selected;
    assert!(
        output.contains(&format!("{skipped} skipped")),
        "{skipped} skipped not in:\n{output}"
    );
}
