//! TG104: a mark spelled with an alias (`premerge`, `gpus_needed_1`) instead
//! of its canonical name. Selection follows aliases, so nothing breaks, but
//! the seeds want one spelling; `--fix` rewrites Python marks in place.

use std::collections::HashSet;

use tollgate_inventory::{Language, MarkSource};

use crate::context::{mark_label, Context};
use crate::finding::{At, Finding, Fix, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG104",
    name: "alias-in-use",
    summary: "a marker is spelled with an alias instead of its canonical name",
    severity: Severity::Warning,
    fixable: true,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut reported: HashSet<(&str, u32, &str)> = HashSet::new();
    for test in ctx.tests {
        for mark in &test.markers {
            let name = mark.name.as_str();
            if mark.origin.source == MarkSource::ConfigRule || !ctx.is_alias(name) {
                continue;
            }
            if !reported.insert((mark.origin.file.as_str(), mark.origin.line, name)) {
                continue;
            }
            let canonical = ctx.canonical(name);
            let mut finding = INFO.finding(
                At::new(&mark.origin.file, mark.origin.line).test(mark_label(test, mark)),
                format!("`{name}` is an alias of `{canonical}`"),
                format!("write `{canonical}`"),
            );
            if test.language == Language::Python && is_python_mark(mark.origin.source) {
                finding.fixable = true;
                finding.fix = Some(Fix {
                    file: mark.origin.file.clone(),
                    line: mark.origin.line,
                    old_marker: name.to_string(),
                    new_marker: canonical.to_string(),
                });
            }
            out.push(finding);
        }
    }
}

/// Marks written as `mark.<name>` in Python source, which `--fix` can edit.
fn is_python_mark(source: MarkSource) -> bool {
    matches!(
        source,
        MarkSource::FunctionDecorator
            | MarkSource::ClassDecorator
            | MarkSource::InheritedClass
            | MarkSource::ModulePytestmark
            | MarkSource::ClassPytestmark
            | MarkSource::Param
    )
}
