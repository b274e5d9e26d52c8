//! `tollgate plan --shards N` and `tollgate run --shard K/N`, the real
//! binary: durations recorded in the history store (`tollgate ingest junit`)
//! change the split, a missing store falls back to the split by test count
//! (with a note, never an error, and without creating the store), and each
//! `run --shard K/N` runs exactly the tests `plan` put in shard K.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::{job, python, strings};
use serde_json::Value;

/// Three test files of four unit tests each; `tests/test_a.py::test_0` is
/// recorded as slower than all the others together.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("tollgate.toml"),
        tollgate_config::presets::MINIMAL,
    )
    .unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    for file in ["a", "b", "c"] {
        let tests: String = (0..4)
            .map(|i| format!("\n\ndef test_{i}():\n    assert True\n"))
            .collect();
        std::fs::write(
            root.join(format!("tests/test_{file}.py")),
            format!("import pytest\n\npytestmark = pytest.mark.unit\n{tests}"),
        )
        .unwrap();
    }
    dir
}

fn ids() -> Vec<String> {
    ["a", "b", "c"]
        .iter()
        .flat_map(|f| (0..4).map(move |i| format!("tests/test_{f}.py::test_{i}")))
        .collect()
}

/// `tollgate ARGS` in `root`, which must succeed.
fn tollgate(root: &Path, args: &[&str]) -> Output {
    let out = common::tollgate(root)
        .args(args)
        .output()
        .expect("tollgate runs");
    assert!(
        out.status.success(),
        "tollgate {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Records a run in which test 0 of `test_a.py` took 100 s and every other 1 s.
fn record_durations(root: &Path) {
    let cases: String = ids()
        .iter()
        .map(|id| {
            let time = if id == "tests/test_a.py::test_0" {
                100.0
            } else {
                1.0
            };
            format!("<testcase name=\"{id}\" time=\"{time}\"/>\n")
        })
        .collect();
    let junit = root.join("durations.xml");
    std::fs::write(
        &junit,
        format!("<testsuites><testsuite name=\"earlier\">\n{cases}</testsuite></testsuites>\n"),
    )
    .unwrap();
    let store = root.join(".tollgate/history.db");
    tollgate(
        root,
        &[
            "ingest",
            "junit",
            junit.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--pipeline",
            "pr",
        ],
    );
}

/// One planned shard: its test ids and estimated seconds.
type PlannedShard = (Vec<String>, Option<f64>);

/// `plan --pipeline pr --shards 2 --format json` (plus `extra`): the `test`
/// job's shards and the plan's notes.
fn planned_shards(root: &Path, extra: &[&str]) -> (Vec<PlannedShard>, Vec<String>) {
    let mut args = vec![
        "plan",
        "--pipeline",
        "pr",
        "--shards",
        "2",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let plan: Value = serde_json::from_slice(&tollgate(root, &args).stdout).unwrap();
    let shards = job(&plan, "test")["shards"]
        .as_array()
        .expect("the test job is sharded")
        .iter()
        .map(|s| {
            assert_eq!(s["count"], 2);
            (strings(&s["tests"]), s["estimated_s"].as_f64())
        })
        .collect();
    (shards, strings(&plan["notes"]))
}

#[test]
fn recorded_durations_change_the_split() {
    let dir = project();
    let root = dir.path();

    // No store yet: balanced by count (whole files would make 8 and 4
    // tests, so one file is split), a note, and no store file created by
    // planning.
    let (by_count, notes) = planned_shards(root, &[]);
    assert!(!root.join(".tollgate/history.db").exists());
    let sizes: Vec<usize> = by_count.iter().map(|(t, _)| t.len()).collect();
    assert_eq!(sizes, [6, 6]);
    assert!(by_count.iter().all(|(_, estimate)| estimate.is_none()));
    assert!(
        notes.iter().any(|n| n.starts_with("no history store at ")
            && n.ends_with("shards are balanced by test count")),
        "{notes:?}"
    );

    record_durations(root);
    // By default only runs finished before today (UTC) count, so that every
    // shard of a CI run reads the same durations: the run just recorded
    // does not count yet.
    let (today, notes) = planned_shards(root, &[]);
    assert_eq!(today, by_count);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("no test durations from the 30 days before ")
                && n.contains(" 00:00 UTC")),
        "{notes:?}"
    );
    let (timed, notes) = planned_shards(root, &["--durations-until", "now"]);
    assert_eq!(
        timed,
        [
            (vec!["tests/test_a.py::test_0".to_string()], Some(100.0)),
            (ids()[1..].to_vec(), Some(11.0)),
        ]
    );
    assert!(
        notes.iter().all(|n| !n.contains("history store")),
        "{notes:?}"
    );
    // The human table shows each shard's estimate.
    let human = tollgate(
        root,
        &[
            "plan",
            "--pipeline",
            "pr",
            "--shards",
            "2",
            "--durations-until",
            "now",
        ],
    );
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("[test 1/2] 1 test(s), ~1m 40s"), "{text}");
    assert!(text.contains("[test 2/2] 11 test(s), ~11.0s"), "{text}");

    // `--store` elsewhere: that store's durations (none there: by count).
    let absent = root.join("elsewhere.db");
    let (elsewhere, _) = planned_shards(
        root,
        &[
            "--store",
            absent.to_str().unwrap(),
            "--durations-until",
            "now",
        ],
    );
    assert_eq!(elsewhere, by_count);
    assert!(!absent.exists());
}

#[test]
fn run_shard_runs_exactly_the_planned_shard() {
    let Some(python) = python() else {
        return;
    };
    let dir = project();
    let root = dir.path();
    let config = root.join("tollgate.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[run]\npython = {:?}\n",
        python.display().to_string()
    ));
    std::fs::write(&config, text).unwrap();
    record_durations(root);
    // One instant for the plan and every shard, as CI would pass it: what
    // the shards record while they run must not move tests between them.
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();

    let (planned, _) = planned_shards(root, &["--durations-until", &until]);
    assert_eq!(planned.len(), 2);
    // Durations decide this split (by count it would be 6 and 6).
    assert_eq!(planned[0].0, ["tests/test_a.py::test_0"]);
    for (k, (tests, _)) in planned.iter().enumerate() {
        let report = root.join(format!("shard-{}.json", k + 1));
        let shard = format!("{}/2", k + 1);
        tollgate(
            root,
            &[
                "run",
                "--pipeline",
                "pr",
                "--job",
                "test",
                "--shard",
                &shard,
                // Each shard records its results (shard 1's 12-test
                // durations would change the split) yet reads the same ones.
                "--durations-until",
                &until,
                "--json",
                report.to_str().unwrap(),
            ],
        );
        let doc: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let ran: BTreeSet<&str> = doc["tests"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = tests.iter().map(String::as_str).collect();
        assert_eq!(ran, expected, "shard {shard}");
        assert!(doc["tests"]
            .as_object()
            .unwrap()
            .values()
            .all(|t| t["outcome"] == "passed"));
    }
}
