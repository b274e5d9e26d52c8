//! TG101: a test lacks a marker of a required category (seed 003: "every
//! test must have a lifecycle, a test type and a hardware marker").
//!
//! Categories with `applies_to` globs are required only for tests under
//! them (components where applicable). Markers added by `[[rules]]` count:
//! a rule is the declarative stand-in for what a conftest hook would add.

use crate::context::{Context, Failing};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG101",
    name: "missing-required-category",
    summary: "a test has no marker of a required category",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let required: Vec<usize> = (0..ctx.categories.len())
        .filter(|&i| ctx.categories[i].category.required)
        .collect();
    if required.is_empty() {
        return;
    }
    for group in &ctx.functions {
        for &index in &required {
            let info = &ctx.categories[index];
            let lacks = |i: usize| {
                let test = &ctx.tests[i];
                let applies = info
                    .applies_to
                    .as_ref()
                    .is_none_or(|globs| globs.is_match(&test.file));
                applies && ctx.resolved[i].categories & (1 << index) == 0
            };
            let Some(failing) = Failing::of(group, lacks) else {
                continue;
            };
            let choices: Vec<&str> = info.category.markers.keys().collect();
            for (i, label) in failing.sites(ctx.tests) {
                let test = &ctx.tests[i];
                out.push(INFO.finding(
                    At::new(&test.file, test.line).test(label),
                    format!("`{label}` has no {} marker", info.name),
                    format!("add one of: {}", choices.join(", ")),
                ));
            }
        }
    }
}
