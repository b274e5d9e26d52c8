//! TG103: a mark that is neither a taxonomy marker, nor an alias, nor one
//! of pytest's built-in marks — usually a typo (`nightyl`).
//!
//! With `taxonomy.strict = false` a mark registered with pytest but absent
//! from the taxonomy (a plugin's `asyncio`, say) is accepted and the finding
//! is a warning; with `strict = true` every mark must be in the taxonomy and
//! the finding is an error. Reported once per place the mark is written.

use std::collections::HashSet;

use tollgate_inventory::MarkSource;

use crate::context::{mark_label, Context, FastMap};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG103",
    name: "unknown-marker",
    summary: "a marker that is not in the taxonomy (with a did-you-mean)",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let strict = ctx.config.taxonomy.strict;
    let mut reported: HashSet<(&str, u32, &str)> = HashSet::new();
    let mut suggestions: FastMap<&str, String> = FastMap::default();
    for test in ctx.tests {
        for mark in &test.markers {
            let name = mark.name.as_str();
            if mark.origin.source == MarkSource::ConfigRule
                || ctx.is_marker(name)
                || ctx.is_alias(name)
                || ctx.is_builtin(name)
                || (!strict && ctx.is_registered(name))
            {
                continue;
            }
            if !reported.insert((mark.origin.file.as_str(), mark.origin.line, name)) {
                continue;
            }
            let help = suggestions
                .entry(name)
                .or_insert_with(|| suggest(ctx, name))
                .clone();
            let mut finding = INFO.finding(
                At::new(&mark.origin.file, mark.origin.line).test(mark_label(test, mark)),
                format!("unknown marker `{name}`"),
                help,
            );
            if !strict {
                finding.severity = Severity::Warning;
            }
            out.push(finding);
        }
    }
}

/// The did-you-mean hint for an unknown name.
fn suggest(ctx: &Context<'_>, name: &str) -> String {
    match ctx.config.taxonomy.suggest(name) {
        Some(s) => {
            let canonical = ctx.canonical(s);
            if canonical == s {
                format!("did you mean `{s}`?")
            } else {
                format!("did you mean `{canonical}` (written `{s}`)?")
            }
        }
        None => "add it to a taxonomy category in tollgate.toml, or remove it".to_string(),
    }
}
