//! TG401: a Rust integration test (a `tests/*.rs` target) that exists
//! without the integration feature, so plain `cargo test` runs it (seed 003:
//! "place all integration tests behind the `integration` feature gate").
//!
//! The feature comes from the config's `[[rules]]`: a rule conditioned on
//! features (and on no target kind other than `test`) that adds a marker a
//! `target_kind = ["test"]` rule adds too — the dynamo preset's pair
//! "features = [integration] → integration" and "target_kind = [test] →
//! integration". A project without such a pair has opted out and gets no
//! finding. One finding per file: the fix (`#![cfg(feature = "...")]` at its
//! top) is per file too.

use std::collections::BTreeMap;

use tollgate_config::Rule;
use tollgate_inventory::TestItem;

use crate::context::Context;
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG401",
    name: "integration-not-feature-gated",
    summary: "a Rust integration test is not behind the integration feature",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let features = integration_features(&ctx.config.rules);
    if features.is_empty() {
        return;
    }
    let mut by_file: BTreeMap<&str, Vec<&TestItem>> = BTreeMap::new();
    for test in ctx.tests {
        let Some(facts) = &test.rust else { continue };
        if facts.target_kind == "test"
            && !features
                .iter()
                .all(|f| facts.required_features.iter().any(|r| r == f))
        {
            by_file.entry(&test.file).or_default().push(test);
        }
    }
    let cfg: Vec<String> = features
        .iter()
        .map(|f| format!("feature = \"{f}\""))
        .collect();
    let cfg = if cfg.len() == 1 {
        cfg.join("")
    } else {
        format!("all({})", cfg.join(", "))
    };
    for (file, tests) in by_file {
        let target = tests
            .first()
            .and_then(|t| t.rust.as_ref())
            .map_or("?", |f| f.target_name.as_str());
        out.push(INFO.finding(
            At::new(file, 1),
            format!(
                "integration test target `{target}` is not behind the `{}` feature: {} test(s) run in plain `cargo test`",
                features.join("`, `"),
                tests.len()
            ),
            format!("add `#![cfg({cfg})]` at the top of the file, or `required-features` to its [[test]] target"),
        ));
    }
}

/// The features integration-test targets must be behind (see the module docs).
fn integration_features(rules: &[Rule]) -> Vec<&str> {
    let is_test_target = |r: &Rule| r.target_kind.iter().any(|k| k == "test");
    let test_markers: Vec<&str> = rules
        .iter()
        .filter(|r| is_test_target(r))
        .flat_map(|r| r.markers.iter().map(String::as_str))
        .collect();
    let mut features: Vec<&str> = rules
        .iter()
        .filter(|r| !r.features.is_empty())
        .filter(|r| r.target_kind.is_empty() || is_test_target(r))
        .filter(|r| r.markers.iter().any(|m| test_markers.contains(&m.as_str())))
        .flat_map(|r| r.features.iter().map(String::as_str))
        .collect();
    features.sort_unstable();
    features.dedup();
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kinds: &[&str], features: &[&str], markers: &[&str]) -> Rule {
        Rule {
            target_kind: kinds.iter().map(|s| s.to_string()).collect(),
            features: features.iter().map(|s| s.to_string()).collect(),
            markers: markers.iter().map(|s| s.to_string()).collect(),
            ..Rule::default()
        }
    }

    #[test]
    fn the_feature_comes_from_rules_that_mark_test_targets() {
        let preset_pair = [
            rule(&[], &["integration"], &["integration"]),
            rule(&["test"], &[], &["integration"]),
            rule(&[], &["planner"], &["planner"]),
        ];
        assert_eq!(integration_features(&preset_pair), ["integration"]);
        let one_rule = [rule(&["test"], &["it"], &["integration"])];
        assert_eq!(integration_features(&one_rule), ["it"]);
        let lib_only = [rule(&["lib"], &["integration"], &["integration"])];
        assert!(integration_features(&lib_only).is_empty());
        assert!(integration_features(&[]).is_empty());
    }
}
