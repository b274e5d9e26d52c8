//! TG301: a test lives where its type says it must not (seed 003's "test
//! types and locations": unit and integration tests in a component's
//! `tests/`, end-to-end tests under the top-level `tests/`, ...).
//!
//! The allowed places are each marker's `locations` globs in the taxonomy;
//! a marker without `locations` may be anywhere. The finding points at the
//! mark when it is written in the test's file, else at the test.

use crate::context::{compile, Context, Failing, FastMap};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;
use globset::GlobSet;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG301",
    name: "wrong-location",
    summary: "a test is in the wrong place for its type",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut allowed: FastMap<&str, (GlobSet, &[String])> = FastMap::default();
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
            .flat_map(|&i| ctx.resolved[i].marks.iter().map(|(name, _, _)| *name))
            .filter(|name| allowed.contains_key(name))
            .collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let Some((globs, written)) = allowed.get(name) else {
                continue;
            };
            let mark_of = |i: usize| {
                ctx.resolved[i]
                    .marks
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map(|(_, mark, _)| *mark)
            };
            let misplaced = |i: usize| mark_of(i).is_some() && !globs.is_match(&ctx.tests[i].file);
            let Some(failing) = Failing::of(group, misplaced) else {
                continue;
            };
            for (i, label) in failing.sites(ctx.tests) {
                let test = &ctx.tests[i];
                let line = mark_of(i)
                    .filter(|m| m.origin.file == test.file)
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
