//! Machine-readable output: `{"findings": [...], "summary": {...}}`, one
//! object per finding with every field of [`Finding`].

use serde::Serialize;

use crate::finding::Finding;
use crate::render::Counts;

#[derive(Serialize)]
struct Report<'a> {
    findings: &'a [Finding],
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    fixable: usize,
}

pub fn json(findings: &[Finding]) -> String {
    let counts = Counts::of(findings);
    // Columns as the human output shows them: 1-based, the first column
    // when the exact one is unknown (0 stays for a whole-file finding).
    let findings: Vec<Finding> = findings
        .iter()
        .map(|f| Finding {
            column: if f.line > 0 { f.column.max(1) } else { 0 },
            ..f.clone()
        })
        .collect();
    let report = Report {
        findings: &findings,
        summary: Summary {
            errors: counts.errors,
            warnings: counts.warnings,
            fixable: counts.fixable,
        },
    };
    // Serializing plain structs of strings and numbers cannot fail.
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}
