//! TG102: a test carries two different markers of an exclusive category
//! (`gpu_0` and `gpu_1`; `unit` and `e2e`).
//!
//! Aliases are resolved first, so `gpu_1` with `gpus_needed_1` is one marker
//! (TG104 reports the spelling). The finding points at the most specific of
//! the conflicting marks — a function decorator before a class mark before a
//! module `pytestmark` — since that is usually the one added by mistake.

use tollgate_inventory::{MarkSource, Marker};

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
            let conflict = |i: usize| in_category(ctx, i, index).count() > 1;
            let Some(failing) = Failing::of(group, conflict) else {
                continue;
            };
            let category = ctx.categories[index].name;
            for (i, label) in failing.sites(ctx.tests) {
                let test = &ctx.tests[i];
                let names: Vec<&str> = in_category(ctx, i, index).map(|(n, _)| n).collect();
                let at = in_category(ctx, i, index)
                    .map(|(_, m)| m)
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

/// The test's distinct markers in category `index` (canonical name and the
/// first mark), in the order they are attached.
fn in_category<'c>(
    ctx: &'c Context<'_>,
    test: usize,
    index: usize,
) -> impl Iterator<Item = (&'c str, &'c Marker)> + 'c {
    ctx.resolved[test]
        .marks
        .iter()
        .filter(move |(_, _, mask)| mask & (1 << index) != 0)
        .map(|&(name, mark, _)| (name, mark))
}

/// Lower is more specific to the test.
fn specificity(source: MarkSource) -> u8 {
    match source {
        MarkSource::Param => 0,
        MarkSource::FunctionDecorator
        | MarkSource::RustAttribute
        | MarkSource::Annotation
        | MarkSource::Learned => 1,
        MarkSource::ClassDecorator | MarkSource::ClassPytestmark => 2,
        MarkSource::InheritedClass => 3,
        MarkSource::ModulePytestmark => 4,
        MarkSource::ConfigRule => 5,
    }
}
