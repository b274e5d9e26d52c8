//! Every rule has a fixture project that breaks it (`bad`) and one that
//! does not (`good`), under `tests/fixtures/<rule-name>/`. The bad one's
//! findings for that rule are snapshotted; the good one must have none.

mod common;

use tollgate_lint::{all_rules, render::human, Finding};

fn findings_of(rule: &str, dir: &str) -> Vec<Finding> {
    let root = common::fixtures().join(rule).join(dir);
    assert!(root.is_dir(), "missing fixture {}", root.display());
    common::lint_dir(&root)
        .into_iter()
        .filter(|f| f.rule == rule)
        .collect()
}

#[test]
fn every_rule_fires_on_its_bad_fixture_only() {
    for rule in all_rules() {
        let bad = findings_of(rule.name, "bad");
        assert!(
            !bad.is_empty(),
            "{} ({}) did not fire on its bad fixture",
            rule.code,
            rule.name
        );
        assert!(bad.iter().all(|f| f.code == rule.code));
        insta::assert_snapshot!(format!("{}_{}", rule.code, rule.name), human(&bad, false));

        let good = findings_of(rule.name, "good");
        assert!(
            good.is_empty(),
            "{} fired on its good fixture:\n{}",
            rule.code,
            human(&good, false)
        );
    }
}

#[test]
fn good_fixtures_are_clean_under_every_rule() {
    for rule in all_rules() {
        let root = common::fixtures().join(rule.name).join("good");
        let findings = common::lint_dir(&root);
        assert!(
            findings.is_empty(),
            "good fixture of {}:\n{}",
            rule.name,
            human(&findings, false)
        );
    }
}

#[test]
fn disabled_rules_are_not_reported() {
    let root = common::fixtures().join("unknown-marker/bad");
    let mut project = common::collect(&root);
    assert!(project.lint().iter().any(|f| f.code == "TG103"));
    project.config.lint.disable = vec!["unknown-marker".into()];
    assert!(!project.lint().iter().any(|f| f.code == "TG103"));
    project.config.lint.disable = vec!["tg103".into()];
    assert!(!project.lint().iter().any(|f| f.code == "TG103"));
}

#[test]
fn without_strict_taxonomy_unknown_markers_are_warnings() {
    let root = common::fixtures().join("unknown-marker/bad");
    let mut project = common::collect(&root);
    project.config.taxonomy.strict = false;
    let unknown: Vec<_> = project
        .lint()
        .into_iter()
        .filter(|f| f.code == "TG103")
        .collect();
    assert_eq!(unknown.len(), 2);
    assert!(unknown
        .iter()
        .all(|f| f.severity == tollgate_lint::Severity::Warning));
}
