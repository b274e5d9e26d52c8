//! TG202: a marker registered with pytest that no test uses — dead
//! configuration, or a sign that the tests meant to carry it forgot it.
//!
//! A registration counts as used when some Python mark is written with that
//! name or is an alias of it. pytest's built-in marks are never reported.

use tollgate_config::markers::PYTEST_BUILTIN_MARKERS;
use tollgate_inventory::{Language, MarkSource};

use crate::context::{Context, FastMap};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG202",
    name: "registered-unused",
    summary: "a marker is registered with pytest but no test uses it",
    severity: Severity::Warning,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let Some(pytest) = ctx.pytest else {
        return;
    };
    let mut used: FastMap<&str, ()> = FastMap::default();
    for test in ctx.tests.iter().filter(|t| t.language == Language::Python) {
        for mark in &test.markers {
            if mark.origin.source != MarkSource::ConfigRule {
                used.insert(&mark.name, ());
                used.insert(ctx.canonical(&mark.name), ());
            }
        }
    }
    for registration in &pytest.markers {
        let name = registration.bare_name();
        if used.contains_key(name) || PYTEST_BUILTIN_MARKERS.contains(&name) {
            continue;
        }
        out.push(INFO.finding(
            At::new(&pytest.file, registration.line),
            format!("marker `{name}` is registered with pytest but no test uses it"),
            "remove the registration, or mark the tests that need it".to_string(),
        ));
    }
}
