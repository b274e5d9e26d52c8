//! The renderers on real findings (the mistakes example): SARIF validates
//! against the official SARIF 2.1.0 schema; JSON and GitHub annotations
//! have the documented shape.

mod common;

use tollgate_lint::render::{github, human, json, render, sarif, Format};
use tollgate_lint::Finding;

fn mistakes() -> Vec<Finding> {
    common::lint_dir(common::mistakes_example().path())
}

fn sarif_schema() -> serde_json::Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(path).expect("vendored schema");
    serde_json::from_str(&text).expect("schema is JSON")
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let findings = mistakes();
    assert!(!findings.is_empty());
    let log: serde_json::Value = serde_json::from_str(&sarif(&findings)).expect("SARIF is JSON");
    let validator = jsonschema::draft4::new(&sarif_schema()).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The validator is not vacuous: a result without a message is rejected.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .expect("a result object")
        .remove("message");
    assert!(!validator.is_valid(&broken));

    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), tollgate_lint::all_rules().count());
    assert_eq!(rules[0]["id"], "TG101");
    assert_eq!(rules[0]["name"], "missing-required-category");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), findings.len());
    for (result, finding) in results.iter().zip(&findings) {
        assert_eq!(result["ruleId"], finding.code);
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], finding.file.as_str());
        assert_eq!(location["region"]["startLine"], finding.line);
    }
}

#[test]
fn an_empty_run_is_valid_sarif_too() {
    let log: serde_json::Value = serde_json::from_str(&sarif(&[])).expect("SARIF is JSON");
    let validator = jsonschema::draft4::new(&sarif_schema()).expect("schema compiles");
    assert!(validator.is_valid(&log));
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn json_lists_findings_and_a_summary() {
    let findings = mistakes();
    let value: serde_json::Value = serde_json::from_str(&json(&findings)).expect("JSON");
    assert_eq!(
        value["findings"].as_array().map(Vec::len),
        Some(findings.len())
    );
    let errors = findings
        .iter()
        .filter(|f| f.severity == tollgate_lint::Severity::Error)
        .count();
    assert_eq!(value["summary"]["errors"], errors);
    assert_eq!(value["summary"]["warnings"], findings.len() - errors);
    assert_eq!(value["summary"]["fixable"], 2);
    let alias = value["findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["code"] == "TG104"))
        .expect("an alias finding");
    assert_eq!(alias["fixable"], true);
    assert_eq!(alias["fix"]["new_marker"], "gpu_1");
    insta::assert_snapshot!(
        "mistakes_json_first",
        serde_json::to_string_pretty(&value["findings"][0]).unwrap_or_default()
    );
}

#[test]
fn github_annotations_one_per_finding() {
    let findings = mistakes();
    let text = github(&findings);
    assert_eq!(text.lines().count(), findings.len());
    assert!(text
        .lines()
        .all(|l| l.starts_with("::error file=") || l.starts_with("::warning file=")));
    insta::assert_snapshot!("mistakes_github", text);
}

#[test]
fn human_colours_only_when_asked() {
    let findings = mistakes();
    assert!(!human(&findings, false).contains('\x1b'));
    assert!(human(&findings, true).contains("\x1b[31merror TG101\x1b[0m"));
    assert_eq!(human(&[], false), "All checks passed!\n");
    assert_eq!(
        render(Format::Human, &findings, false),
        human(&findings, false)
    );
}
