//! TG301: a test lives where its type says it must not (seed 003's "test
//! types and locations": unit and integration tests in a component's
//! `tests/`, end-to-end tests under the top-level `tests/`, ...).
//!
//! The allowed places are each marker's `locations` globs in the taxonomy;
//! a marker without `locations` may be anywhere. The finding points at the
//! mark when it is written in the test's file, else at the test.

use std::collections::HashMap;

use globset::GlobSet;
use tollgate_inventory::TestItem;

use crate::context::{compile, Context, Failing};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG301",
    name: "wrong-location",
    summary: "a test is in the wrong place for its type",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut allowed: HashMap<&str, (GlobSet, &[String])> = HashMap::new();
    for info in &ctx.categories {
        for (name, def) in info.category.markers.iter() {
            if let Some(globs) = compile(&def.locations) {
                allowed.insert(name, (globs, &def.locations));
            }
        }
    }
    if allowed.is_empty() {
        return;
    }
    for group in &ctx.functions {
        let mut names: Vec<&str> = group
            .iter()
            .flat_map(|t| t.markers.iter().map(|m| ctx.canonical(&m.name)))
            .filter(|name| allowed.contains_key(name))
            .collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let Some((globs, written)) = allowed.get(name) else {
                continue;
            };
            let misplaced = |t: &TestItem| carries(ctx, t, name) && !globs.is_match(&t.file);
            let Some(failing) = Failing::of(group, misplaced) else {
                continue;
            };
            for (test, label) in failing.sites() {
                let line = test
                    .markers
                    .iter()
                    .find(|m| ctx.canonical(&m.name) == name && m.origin.file == test.file)
                    .map_or(test.line, |m| m.origin.line);
                out.push(INFO.finding(
                    At::new(&test.file, line).test(label),
                    format!("`{label}` is a `{name}` test outside the places for `{name}` tests"),
                    format!(
                        "move it under {}, or change its marker",
                        written.join(" or ")
                    ),
                ));
            }
        }
    }
}

fn carries(ctx: &Context<'_>, test: &TestItem, name: &str) -> bool {
    test.markers.iter().any(|m| ctx.canonical(&m.name) == name)
}
