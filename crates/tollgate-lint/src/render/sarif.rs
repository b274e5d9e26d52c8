//! SARIF 2.1.0 for code scanning: the rule table in `tool.driver.rules`,
//! one result per finding with its location.

use serde_json::{json, Value};

use crate::finding::{Finding, Severity};
use crate::rules::all_rules;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn sarif(findings: &[Finding]) -> String {
    let rules: Vec<Value> = all_rules()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": { "fixable": r.fixable },
            })
        })
        .collect();
    let results: Vec<Value> = findings.iter().map(result).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "tollgate",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn result(f: &Finding) -> Value {
    let mut text = f.message.clone();
    if let Some(help) = &f.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let mut physical = json!({
        "artifactLocation": { "uri": f.file, "uriBaseId": "%SRCROOT%" },
    });
    if f.line > 0 {
        let mut region = json!({ "startLine": f.line });
        if f.column > 0 {
            region["startColumn"] = json!(f.column);
        }
        physical["region"] = region;
    }
    let mut result = json!({
        "ruleId": f.code,
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [{ "physicalLocation": physical }],
    });
    if let Some(index) = all_rules().position(|r| r.code == f.code) {
        result["ruleIndex"] = json!(index);
    }
    result
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
