//! TG201: a taxonomy marker (or alias) applied in Python source but not
//! registered in pytest's ini `markers`: `pytest --strict-markers` refuses
//! to collect the file. An error when strict markers are on, else a warning.
//!
//! Marks unknown to the taxonomy are TG103's; marks added by `[[rules]]`
//! never reach pytest and need no registration.

use std::collections::HashSet;

use tollgate_inventory::{Language, MarkSource};

use crate::context::{mark_label, Context};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG201",
    name: "unregistered-marker",
    summary: "a marker is used but not registered with pytest (--strict-markers fails)",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let Some(pytest) = ctx.pytest else {
        return;
    };
    let mut reported: HashSet<(&str, u32, &str)> = HashSet::new();
    for test in ctx.tests.iter().filter(|t| t.language == Language::Python) {
        for mark in &test.markers {
            let name = mark.name.as_str();
            let known = ctx.is_marker(name) || ctx.is_alias(name);
            if !known
                || mark.origin.source == MarkSource::ConfigRule
                || ctx.is_registered(name)
                || ctx.is_builtin(name)
            {
                continue;
            }
            if !reported.insert((mark.origin.file.as_str(), mark.origin.line, name)) {
                continue;
            }
            let mut finding = INFO.finding(
                At::new(&mark.origin.file, mark.origin.line).test(mark_label(test, mark)),
                format!("marker `{name}` is not registered with pytest"),
                format!(
                    "register it in the `markers` option of {} (`tollgate markers` prints the block)",
                    pytest.file
                ),
            );
            if !pytest.strict {
                finding.severity = Severity::Warning;
            }
            out.push(finding);
        }
    }
}
