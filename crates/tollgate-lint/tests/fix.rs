//! `--fix` rewrites aliases in place, touches nothing else, is idempotent,
//! and the fixed project still collects to the same test ids.

mod common;

use std::path::Path;

use tollgate_lint::fix;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if entry.file_name() != "target" && entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &target);
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn ids(root: &Path) -> Vec<String> {
    common::collect(root)
        .inventory
        .tests
        .into_iter()
        .map(|t| t.id)
        .collect()
}

#[test]
fn fix_rewrites_aliases_exactly_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    copy_dir(&common::fixtures().join("alias-in-use/bad"), root);
    let file = root.join("pkg/tests/test_planner_scaling.py");
    let before_ids = ids(root);

    let findings = common::lint_dir(root);
    let report = fix(&findings, root).expect("fix");
    assert_eq!(report.edits, 3);
    assert_eq!(report.files_changed, ["pkg/tests/test_planner_scaling.py"]);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let fixed = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        fixed,
        "import pytest\nfrom pytest import mark\n\npytestmark = [pytest.mark.unit, pytest.mark.pre_merge]\n\n\n\
@mark.gpu_1  # keep this comment: gpus_needed_1\ndef test_alias_in_decorator():\n    pass\n\n\n\
class TestGroup:\n    pytestmark = pytest.mark.gpu_1\n\n    def test_alias_in_class(self):\n        pass\n"
    );

    assert_eq!(
        ids(root),
        before_ids,
        "the fixed file collects to the same tests"
    );
    let after = common::lint_dir(root);
    assert!(!after.iter().any(|f| f.code == "TG104"));

    let again = fix(&after, root).expect("fix");
    assert_eq!(again.edits, 0);
    assert!(again.files_changed.is_empty());
    assert_eq!(std::fs::read_to_string(&file).expect("read"), fixed);
}

#[test]
fn fix_on_the_mistakes_example_changes_only_fixable_lines() {
    let dir = common::mistakes_example();
    let root = dir.path();
    let example = common::workspace_root().join("examples/monorepo-mistakes");
    let before_ids = ids(root);
    let before = common::lint_dir(root);

    let report = fix(&before, root).expect("fix");
    assert_eq!(
        report.files_changed,
        ["tests/serve/test_serve_completions.py"]
    );
    assert_eq!(report.edits, 1);
    // The `[tp1]` alias is attributed to the parametrize line, where it is
    // not written: reported as skipped, nothing edited there.
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(
        report.skipped[0].0.file,
        "components/backends/vllm/tests/test_vllm_tensor_parallel.py"
    );

    let original = std::fs::read_to_string(example.join("tests/serve/test_serve_completions.py"))
        .expect("read");
    let fixed =
        std::fs::read_to_string(root.join("tests/serve/test_serve_completions.py")).expect("read");
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(fixed.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        [("@pytest.mark.premerge", "@pytest.mark.pre_merge")]
    );
    assert_eq!(original.len() + 1, fixed.len());

    assert_eq!(ids(root), before_ids);
    // The alias finding is gone; its registration in pyproject.toml is now
    // unused, which lint rightly reports instead.
    let after = common::lint_dir(root);
    let gone: Vec<_> = before
        .iter()
        .filter(|f| !after.contains(f))
        .map(|f| (f.code, f.line))
        .collect();
    let new: Vec<_> = after
        .iter()
        .filter(|f| !before.contains(f))
        .map(|f| (f.code, f.message.as_str()))
        .collect();
    assert_eq!(gone, [("TG104", 55)]);
    assert_eq!(
        new,
        [(
            "TG202",
            "marker `premerge` is registered with pytest but no test uses it"
        )]
    );
    assert_eq!(fix(&after, root).expect("fix").edits, 0);
}
