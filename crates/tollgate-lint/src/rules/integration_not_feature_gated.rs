//! TG401: a Rust integration test (a `tests/*.rs` target) that exists
//! without the integration feature, so plain `cargo test` runs it (seed 003:
//! "place all integration tests behind the `integration` feature gate").
//!
//! The feature is `[lint] integration_feature` (default `integration`); an
//! empty one turns the rule off. A test is gated when the feature is among
//! its required features, from `#![cfg(feature = ...)]` on the file, an
//! enclosing module, or the target's `required-features`. One finding per
//! file: the fix (`#![cfg(feature = "...")]` at its top) is per file too.

use std::collections::BTreeMap;

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
    let feature = ctx.config.lint.integration_feature.as_str();
    if feature.is_empty() {
        return;
    }
    let mut by_file: BTreeMap<&str, Vec<&TestItem>> = BTreeMap::new();
    for test in ctx.tests {
        let Some(facts) = &test.rust else { continue };
        if facts.target_kind == "test" && !facts.required_features.iter().any(|r| r == feature) {
            by_file.entry(&test.file).or_default().push(test);
        }
    }
    for (file, tests) in by_file {
        let target = tests
            .first()
            .and_then(|t| t.rust.as_ref())
            .map_or("?", |f| f.target_name.as_str());
        out.push(INFO.finding(
            At::new(file, 1),
            format!(
                "integration test target `{target}` is not behind the `{feature}` feature: {} test(s) run in plain `cargo test`",
                tests.len()
            ),
            format!("add `#![cfg(feature = \"{feature}\")]` at the top of the file, or `required-features` to its [[test]] target"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use tollgate_config::Config;
    use tollgate_inventory::{Language, RustFacts};

    use super::*;

    fn integration_test(file: &str, features: &[&str]) -> TestItem {
        TestItem {
            id: format!("pkg::{file} t"),
            language: Language::Rust,
            file: file.into(),
            line: 3,
            function: "t".into(),
            markers: Vec::new(),
            dynamic: None,
            rust: Some(RustFacts {
                target_kind: "test".into(),
                target_name: file.into(),
                required_features: features.iter().map(|f| f.to_string()).collect(),
                ..RustFacts::default()
            }),
        }
    }

    fn flagged(config_src: &str, tests: &[TestItem]) -> Vec<String> {
        let config = Config::from_str(config_src, "tollgate.toml").unwrap_or_default();
        let ctx = Context::new(&config, tests, None, None);
        let mut out = Vec::new();
        check(&ctx, &mut out);
        out.into_iter().map(|f| f.file).collect()
    }

    #[test]
    fn the_feature_comes_from_the_lint_settings() {
        let tests = [
            integration_test("tests/a.rs", &["integration"]),
            integration_test("tests/b.rs", &["it"]),
            integration_test("tests/c.rs", &[]),
        ];
        // Off unless configured: a Dynamo convention, set by its preset.
        assert!(flagged("", &tests).is_empty());
        let dynamo = "[lint]\nintegration_feature = \"integration\"\n";
        assert_eq!(flagged(dynamo, &tests), ["tests/b.rs", "tests/c.rs"]);
        let custom = "[lint]\nintegration_feature = \"it\"\n";
        assert_eq!(flagged(custom, &tests), ["tests/a.rs", "tests/c.rs"]);
        assert!(flagged("[lint]\nintegration_feature = \"\"\n", &tests).is_empty());
    }
}
