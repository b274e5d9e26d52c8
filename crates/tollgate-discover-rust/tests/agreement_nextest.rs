//! Agreement with the real oracle: for every fixture, workspace and feature
//! combination, the collector's ids must equal what
//! `cargo nextest list --workspace --message-format oneline` prints, line for
//! line, for each `--run-ignored` mode; and the filterset the collector
//! writes must make nextest list exactly the chosen tests.
//!
//! Fixture builds go to `<repo>/target/fixtures` so they share compiled
//! dependencies and stay out of the source tree. Without cargo-nextest the
//! test fails when `CI` is set and is skipped loudly otherwise.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use tollgate_discover_rust::{
    collect, collect_packages, nextest_filterset, nextest_list_ids, workspace, CollectOptions,
    FeatureSelection, PackageSelection, RunIgnored,
};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(crate_dir().join("tests/fixtures"))
        .expect("fixtures directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    out.sort();
    out
}

fn nextest_available() -> bool {
    let ok = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo-nextest is required in CI (install it, or unset CI to skip)"
        );
        eprintln!("\n*** NOTE: cargo-nextest not found; agreement with nextest NOT checked ***\n");
    }
    ok
}

/// Feature flags every workspace of every fixture accepts.
const COMMON_COMBOS: &[&[&str]] = &[
    &[],
    &["--features", "integration"],
    &["--all-features"],
    &["--no-default-features"],
    &["--no-default-features", "--features", "integration"],
];

/// Flags naming packages or features of one fixture's root workspace only.
const ROOT_COMBOS: &[(&str, &[&str])] = &[
    ("ws", &["--features", "alpha-core/gpu,beta/cli"]),
    (
        "ws",
        &[
            "--no-default-features",
            "--features",
            "gamma/rt alpha-core/everything",
        ],
    ),
    ("edge", &["--features", "extras"]),
    ("macros", &["--features", "extra"]),
    (
        "edge",
        &["--no-default-features", "--features", "edge-feat/net"],
    ),
];

fn selection(flags: &[&str]) -> FeatureSelection {
    let mut sel = FeatureSelection::default();
    let mut iter = flags.iter();
    while let Some(flag) = iter.next() {
        match *flag {
            "--all-features" => sel.all_features = true,
            "--no-default-features" => sel.no_default_features = true,
            "--features" => sel.features.extend(iter.next().map(|s| s.to_string())),
            other => panic!("unexpected flag {other}"),
        }
    }
    sel
}

fn nextest_list(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--workspace"];
    args.extend_from_slice(extra);
    nextest_list_exactly(dir, &args)
}

/// `cargo nextest list --message-format oneline ARGS` (no `--workspace`).
fn nextest_list_exactly(dir: &Path, extra: &[&str]) -> Vec<String> {
    let target_dir = crate_dir().join("../../target/fixtures");
    let output = Command::new("cargo")
        .args(["nextest", "list", "--message-format", "oneline"])
        .args(extra)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        // nextest tells the tests it runs which profile runs them; a nested
        // `cargo nextest list` would take it as its own (`tollgate:run`, a
        // tool profile, when this suite runs under `tollgate run`).
        .env_remove("NEXTEST_PROFILE")
        .output()
        .expect("run cargo nextest");
    assert!(
        output.status.success(),
        "cargo nextest list {extra:?} failed in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A precise line diff (both sides are small).
fn diff(expected: &[String], got: &[String]) -> String {
    let exp: BTreeSet<&String> = expected.iter().collect();
    let gotset: BTreeSet<&String> = got.iter().collect();
    let mut out = String::new();
    for line in expected.iter().filter(|l| !gotset.contains(l)) {
        out.push_str(&format!("  missing (nextest lists it): {line}\n"));
    }
    for line in got.iter().filter(|l| !exp.contains(l)) {
        out.push_str(&format!("  extra (nextest does not):   {line}\n"));
    }
    if out.is_empty() && expected != got {
        out.push_str("  same lines, different order:\n");
        for (i, (e, g)) in expected.iter().zip(got).enumerate() {
            if e != g {
                out.push_str(&format!("    line {i}: nextest `{e}`, collector `{g}`\n"));
            }
        }
    }
    out
}

#[test]
fn collector_lists_what_nextest_lists() {
    if !nextest_available() {
        return;
    }
    let mut failures = Vec::new();
    let mut compared = 0;
    for fixture in fixtures() {
        let discovered = workspace::discover(std::slice::from_ref(&fixture));
        let name = fixture.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let combos = COMMON_COMBOS.iter().map(|flags| (*flags, true)).chain(
            ROOT_COMBOS
                .iter()
                .filter(|(f, _)| *f == name)
                .map(|(_, flags)| (*flags, false)),
        );
        for (flags, everywhere) in combos {
            let collection = collect(&CollectOptions {
                paths: vec![fixture.clone()],
                features: selection(flags),
            })
            .expect("collect");
            for ws in &discovered.workspaces {
                if !everywhere && ws.root != fixture {
                    continue;
                }
                let packages: BTreeSet<&str> =
                    ws.members.iter().map(|m| m.package.name.as_str()).collect();
                for (mode, flag) in [
                    (RunIgnored::Default, None),
                    (RunIgnored::All, Some("all")),
                    (RunIgnored::Only, Some("only")),
                ] {
                    let mut extra: Vec<&str> = flags.to_vec();
                    if let Some(flag) = flag {
                        extra.extend(["--run-ignored", flag]);
                    }
                    let expected = nextest_list(&ws.root, &extra);
                    let ids = nextest_list_ids(&collection.inventory, mode);
                    let got: Vec<String> = collection
                        .inventory
                        .tests
                        .iter()
                        .filter(|t| ids.contains(&t.id.as_str()))
                        .filter(|t| {
                            t.rust
                                .as_ref()
                                .is_some_and(|r| packages.contains(r.package.as_str()))
                        })
                        .map(|t| t.id.clone())
                        .collect();
                    compared += expected.len();
                    if expected != got {
                        failures.push(format!(
                            "{} {:?}:\n{}",
                            ws.root.display(),
                            extra,
                            diff(&expected, &got)
                        ));
                    }
                }
            }
            if !failures.is_empty() {
                let diags: Vec<String> = collection
                    .inventory
                    .diagnostics
                    .iter()
                    .map(|d| d.to_string())
                    .collect();
                failures.push(format!("diagnostics:\n  {}", diags.join("\n  ")));
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "disagreement with nextest:\n{}",
        failures.join("\n")
    );
    eprintln!("compared {compared} nextest lines");
    assert!(compared > 100, "too few tests compared: {compared}");
}

#[test]
fn filterset_selects_exactly_the_chosen_tests() {
    if !nextest_available() {
        return;
    }
    let fixture = crate_dir().join("tests/fixtures/ws");
    let collection = collect(&CollectOptions {
        paths: vec![fixture.clone()],
        features: FeatureSelection::default(),
    })
    .expect("collect");
    let main_ws: BTreeSet<String> = workspace::discover(std::slice::from_ref(&fixture))
        .workspaces
        .iter()
        .filter(|w| w.root == fixture)
        .flat_map(|w| w.members.iter().map(|m| m.package.name.clone()))
        .collect();
    // Every third test, ignored ones included, across all binaries.
    let chosen: Vec<_> = collection
        .inventory
        .tests
        .iter()
        .filter(|t| {
            t.rust
                .as_ref()
                .is_some_and(|r| main_ws.contains(&r.package))
        })
        .step_by(3)
        .collect();
    assert!(chosen.len() > 10);
    let filterset = nextest_filterset(&chosen);
    let listed = nextest_list(&fixture, &["--run-ignored", "all", "-E", &filterset]);
    let expected: Vec<String> = chosen.iter().map(|t| t.id.clone()).collect();
    assert_eq!(
        listed,
        expected,
        "filterset: {filterset}\n{}",
        diff(&expected, &listed)
    );
}

/// `-p`, `--workspace --exclude`, and a member's manifest path (with
/// features that only that member has) list what nextest lists.
#[test]
fn narrowing_lists_what_nextest_lists() {
    if !nextest_available() {
        return;
    }
    let fixture = crate_dir().join("tests/fixtures/macros");
    let member_manifest = fixture.join("local/Cargo.toml");
    let member_manifest_text = member_manifest.to_string_lossy().into_owned();
    let cases: Vec<(Vec<&str>, PathBuf, PackageSelection, FeatureSelection)> = vec![
        (
            vec!["-p", "mac-ext"],
            fixture.clone(),
            PackageSelection {
                packages: vec!["mac-ext".into()],
                ..Default::default()
            },
            FeatureSelection::default(),
        ),
        (
            vec![
                "--workspace",
                "--exclude",
                "mac-ext",
                "--features",
                "mac-local/extra",
            ],
            fixture.clone(),
            PackageSelection {
                workspace: true,
                exclude: vec!["mac-ext".into()],
                ..Default::default()
            },
            FeatureSelection {
                features: vec!["mac-local/extra".into()],
                ..Default::default()
            },
        ),
        (
            vec![
                "--manifest-path",
                &member_manifest_text,
                "--features",
                "integration,extra",
            ],
            member_manifest.clone(),
            PackageSelection::default(),
            FeatureSelection {
                features: vec!["integration,extra".into()],
                ..Default::default()
            },
        ),
    ];
    let mut failures = Vec::new();
    for (flags, path, packages, features) in cases {
        let collection = collect_packages(
            &CollectOptions {
                paths: vec![path],
                features,
            },
            &packages,
        )
        .expect("collect");
        for (mode, flag) in [(RunIgnored::Default, None), (RunIgnored::All, Some("all"))] {
            let mut extra = flags.clone();
            if let Some(flag) = flag {
                extra.extend(["--run-ignored", flag]);
            }
            let expected = nextest_list_exactly(&fixture, &extra);
            let got: Vec<String> = nextest_list_ids(&collection.inventory, mode)
                .into_iter()
                .map(str::to_string)
                .collect();
            assert!(!expected.is_empty(), "{extra:?} lists nothing");
            if expected != got {
                failures.push(format!("{extra:?}:\n{}", diff(&expected, &got)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
