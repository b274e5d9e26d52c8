//! TG102: a test carries two different markers of an exclusive category
//! (`gpu_0` and `gpu_1`; `unit` and `e2e`).
//!
//! Aliases are resolved first, so `gpu_1` with `gpus_needed_1` is one marker
//! (TG104 reports the spelling). The finding points at the most specific of
//! the conflicting marks — a function decorator before a class mark before a
//! module `pytestmark` — since that is usually the one added by mistake.

use tollgate_inventory::{MarkSource, Marker, TestItem};

use crate::context::{Context, Failing};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG102",
    name: "exclusive-category-conflict",
    summary: "a test has two markers of an exclusive category",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let exclusive: Vec<usize> = (0..ctx.categories.len())
        .filter(|&i| ctx.categories[i].category.exclusive)
        .collect();
    for group in &ctx.functions {
        for &index in &exclusive {
            let conflict = |test: &TestItem| in_category(ctx, test, index).len() > 1;
            let Some(failing) = Failing::of(group, conflict) else {
                continue;
            };
            let category = ctx.categories[index].name;
            for (test, label) in failing.sites() {
                let marks = in_category(ctx, test, index);
                let names: Vec<&str> = marks.iter().map(|m| ctx.canonical(&m.name)).collect();
                let at = marks
                    .iter()
                    .filter(|m| m.origin.file == test.file)
                    .min_by_key(|m| (specificity(m.origin.source), m.origin.line))
                    .map_or(test.line, |m| m.origin.line);
                out.push(INFO.finding(
                    At::new(&test.file, at).test(label),
                    format!(
                        "`{label}` has {} {category} markers: {}",
                        names.len(),
                        names.join(", ")
                    ),
                    format!("{category} is exclusive: keep exactly one of them"),
                ));
            }
        }
    }
}

/// The test's marks in category `index`, one per distinct canonical name,
/// in the order they are attached.
fn in_category<'t>(ctx: &Context<'_>, test: &'t TestItem, index: usize) -> Vec<&'t Marker> {
    let mut seen: Vec<&str> = Vec::new();
    let mut marks = Vec::new();
    for mark in &test.markers {
        let name = ctx.canonical(&mark.name);
        if ctx.categories_of(name).contains(&index) && !seen.contains(&name) {
            seen.push(name);
            marks.push(mark);
        }
    }
    marks
}

/// Lower is more specific to the test.
fn specificity(source: MarkSource) -> u8 {
    match source {
        MarkSource::Param => 0,
        MarkSource::FunctionDecorator | MarkSource::RustAttribute | MarkSource::Annotation => 1,
        MarkSource::ClassDecorator | MarkSource::ClassPytestmark => 2,
        MarkSource::InheritedClass => 3,
        MarkSource::ModulePytestmark => 4,
        MarkSource::ConfigRule => 5,
    }
}
