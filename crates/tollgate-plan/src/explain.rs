//! `tollgate plan --explain TEST`: why one test is in or out of each job of
//! a pipeline — which term of the expression failed, the lifecycle, the
//! runner, the framework under test, the changed files.

use std::fmt::Write as _;

use tollgate_inventory::{MarkSource, TestItem};
use tollgate_markexpr::Expression;
use tollgate_select::Verdict;

use crate::changes::ChangeScope;
use crate::error::{closest, PlanError};
use crate::planner::{Context, Outcome, PlanInput, Rejection};

/// A plain-text explanation (pastes well in a terminal or a CI log).
pub fn explain(input: &PlanInput<'_>, test_id: &str) -> Result<String, PlanError> {
    let ctx = Context::new(input)?;
    let Some(test) = input.inventory.tests.iter().find(|t| t.id == test_id) else {
        return Err(PlanError::UnknownTest {
            id: test_id.to_string(),
            suggestion: closest(test_id, input.inventory.tests.iter().map(|t| t.id.as_str())),
        });
    };
    let taxonomy = &input.config.taxonomy;
    let mut out = String::new();
    let _ = writeln!(out, "test {}", test.id);
    let _ = writeln!(out, "  at {}:{}", test.file, test.line);
    let markers: Vec<String> = test
        .markers
        .iter()
        .map(|m| {
            let mut name = m.name.clone();
            if taxonomy.resolve_alias(&m.name).is_some() {
                name.push_str(&format!(" (= {})", taxonomy.canonical(&m.name)));
            }
            if m.origin.source == MarkSource::ConfigRule {
                name.push_str(" (from a rule)");
            }
            name
        })
        .collect();
    let _ = writeln!(
        out,
        "  markers: {}",
        if markers.is_empty() {
            "(none)".into()
        } else {
            markers.join(", ")
        }
    );
    let stages = taxonomy
        .stages_up_to(&ctx.pipeline.stage)
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  pipeline `{}` runs stage `{}` and inherits: {}",
        input.pipeline,
        ctx.pipeline.stage,
        stages.join(", ")
    );
    if let Some(fw) = &ctx.framework {
        let _ = writeln!(
            out,
            "  framework under test: `{fw}` ({})",
            ctx.framework_source.unwrap_or("default")
        );
    }
    if let Some(changes) = input.changes.filter(|_| ctx.pipeline.change_aware) {
        let line = match &changes.scope {
            ChangeScope::Everything { reason } => format!("the run is not narrowed: {reason}"),
            ChangeScope::LintOnly { reason } => format!("{reason}: lint only"),
            ChangeScope::Affected { .. } => match changes.affected_reason(&test.id) {
                Some(reason) => format!("affected: {reason}"),
                None => "not affected by any changed file".to_string(),
            },
        };
        let _ = writeln!(out, "  changes: {line}");
    }
    let _ = writeln!(out, "jobs:");
    let instances = ctx.instances();
    let width = instances.iter().map(|i| i.name.len()).max().unwrap_or(0);
    for inst in &instances {
        let outcome = ctx.outcome(inst, test, &ctx.frameworks_of(test));
        let verdict = match (&outcome, ctx.job_skipped(inst)) {
            (Outcome::Selected, Some(skip)) => {
                format!("out  selected, but the job does not run: {skip}")
            }
            (Outcome::Selected, None) => "IN".to_string(),
            (Outcome::Unrunnable(reason), _) => format!("out  reported as unrunnable: {reason}"),
            (Outcome::Rejected(Rejection::Selection(v)), _) => {
                format!("out  {}", selection_detail(&ctx, inst, test, v))
            }
            (Outcome::Rejected(Rejection::Framework(reason)), _) => format!("out  {reason}"),
            (Outcome::Rejected(Rejection::NotAffected), _) => {
                "out  selected, but not affected by the changed files".to_string()
            }
        };
        let _ = writeln!(out, "  {:<width$}  {verdict}", inst.name);
    }
    Ok(out)
}

fn selection_detail(
    ctx: &Context<'_>,
    inst: &crate::planner::Instance<'_>,
    test: &TestItem,
    verdict: &Verdict,
) -> String {
    let taxonomy = &ctx.input.config.taxonomy;
    match verdict {
        Verdict::ExpressionFalse => {
            let Some(text) = ctx.job_expr(inst.job_name, inst.job) else {
                return verdict.to_string();
            };
            let Ok(expr) = Expression::parse(text) else {
                return verdict.to_string();
            };
            let mut terms: Vec<String> = Vec::new();
            for (name, _) in expr.marker_names() {
                let has = test
                    .markers
                    .iter()
                    .any(|m| taxonomy.canonical(&m.name) == taxonomy.canonical(name));
                let term = format!("{name}={}", if has { "yes" } else { "no" });
                if !terms.contains(&term) {
                    terms.push(term);
                }
            }
            format!("expression `{text}` is false ({})", terms.join(", "))
        }
        Verdict::LaterLifecycle => {
            let earliest = test
                .markers
                .iter()
                .filter_map(|m| {
                    taxonomy
                        .stage_index(&m.name)
                        .map(|i| (i, taxonomy.canonical(&m.name)))
                })
                .min()
                .map_or("?", |(_, name)| name);
            format!(
                "its earliest lifecycle stage `{earliest}` comes after the pipeline's `{}`",
                ctx.pipeline.stage
            )
        }
        other => other.to_string(),
    }
}
