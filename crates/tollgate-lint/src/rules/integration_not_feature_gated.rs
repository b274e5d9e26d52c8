//! TG401: a Rust integration test (a `tests/*.rs` target) that exists
//! without the integration feature, so plain `cargo test` runs it (seed 003:
//! "place all integration tests behind the `integration` feature gate").
//!
//! The feature is the one the config's `[[rules]]` use to mark integration
//! targets (`target_kind = ["test"], features = ["integration"]`); a project
//! without such a rule has opted out and gets no finding. One finding per
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
    let mut features: Vec<&str> = ctx
        .config
        .rules
        .iter()
        .filter(|r| r.target_kind.iter().any(|k| k == "test"))
        .flat_map(|r| r.features.iter().map(String::as_str))
        .collect();
    features.sort_unstable();
    features.dedup();
    if features.is_empty() {
        return;
    }
    let mut by_file: BTreeMap<&str, Vec<&TestItem>> = BTreeMap::new();
    for test in ctx.tests {
        let Some(facts) = &test.rust else { continue };
        if facts.target_kind == "test"
            && !features.iter().all(|f| facts.required_features.iter().any(|r| r == f))
        {
            by_file.entry(&test.file).or_default().push(test);
        }
    }
    let cfg: Vec<String> = features.iter().map(|f| format!("feature = \"{f}\"")).collect();
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
