//! TG702: a quarantine entry that matches no collected test. The test was
//! renamed, moved or deleted, and the entry now guards nothing — or, worse,
//! a typo means the flaky test it was written for is not quarantined at all.
//!
//! Entries are matched like the runner matches them (exact id, or `*`/`?`
//! wildcards). Expired entries are left to TG701.

use tollgate_config::quarantine::{id_matches, Date};

use crate::context::Context;
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG702",
    name: "quarantine-unmatched",
    summary: "a quarantine entry matches no collected test",
    severity: Severity::Warning,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let Some(input) = ctx.quarantine else {
        return;
    };
    for (index, entry) in input.quarantine.entries.iter().enumerate() {
        let live = entry
            .expires
            .as_deref()
            .is_none_or(|text| Date::parse(text).is_some_and(|d| d >= input.today));
        if !live {
            continue;
        }
        let pattern = entry.id.as_str();
        let exact = !pattern.contains(['*', '?']);
        let matched = if exact {
            ctx.tests.iter().any(|t| t.id == pattern)
        } else {
            ctx.tests.iter().any(|t| id_matches(pattern, &t.id))
        };
        if matched {
            continue;
        }
        // The commonest slip: a parametrized function's id, whose cases are
        // `name[...]`; say how to cover them all.
        let cases = format!("{pattern}[");
        let help = if exact && ctx.tests.iter().any(|t| t.id.starts_with(&cases)) {
            format!("the test is parametrized: `{pattern}[*]` covers every case")
        } else {
            "check the id against `tollgate collect --format ids`, or remove the entry with `tollgate quarantine remove`".to_string()
        };
        out.push(INFO.finding(
            At::new(&input.file, input.line(index)),
            format!("quarantine entry `{pattern}` matches no collected test"),
            help,
        ));
    }
}
