//! Every kind of configuration error, each from a tiny fixture under
//! `tests/fixtures/errors/`, with the rendered message snapshotted so the
//! line, column, snippet and hint are all reviewed.

use std::path::Path;

use tollgate_config::Config;

/// Loads `fixtures/errors/<name>.toml`, expects it to be rejected at
/// `line:column`, and snapshots the rendered error.
fn rejects(name: &str, line: usize, column: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/errors")
        .join(format!("{name}.toml"));
    let src = std::fs::read_to_string(&path).unwrap();
    let err = match Config::from_str(&src, "tollgate.toml") {
        Ok(_) => panic!("{name}.toml should be rejected"),
        Err(err) => err,
    };
    let rendered = err.render();
    assert_eq!(
        (err.line(), err.column()),
        (Some(line), Some(column)),
        "{name}:\n{rendered}"
    );
    assert!(
        rendered.starts_with(&format!("tollgate.toml:{line}:{column}: error: ")),
        "{rendered}"
    );
    insta::assert_snapshot!(name, rendered);
}

#[test]
fn syntax_error() {
    rejects("syntax_error", 3, 26);
}

#[test]
fn unknown_key_suggests_the_right_one() {
    rejects("unknown_key", 2, 1);
}

#[test]
fn wrong_type() {
    rejects("wrong_type", 2, 10);
}

#[test]
fn unknown_key_inside_a_marker_table() {
    rejects("unknown_marker_key", 2, 37);
}

#[test]
fn marker_in_two_exclusive_categories() {
    rejects("exclusive_twice", 7, 25);
}

#[test]
fn two_ordered_categories() {
    rejects("two_ordered", 6, 11);
}

#[test]
fn marker_name_pytest_cannot_use() {
    rejects("bad_marker_name", 2, 28);
}

#[test]
fn alias_cycle() {
    rejects("alias_cycle", 5, 1);
}

#[test]
fn alias_to_unknown_marker() {
    rejects("alias_unknown_target", 5, 17);
}

#[test]
fn alias_that_is_also_a_marker() {
    rejects("alias_is_marker", 5, 1);
}

#[test]
fn job_expression_names_unknown_marker() {
    rejects("job_unknown_marker", 11, 25);
}

#[test]
fn job_expression_syntax_error_points_at_the_column() {
    rejects("job_bad_expr", 5, 22);
}

#[test]
fn pipeline_names_unknown_job() {
    rejects("pipeline_unknown_job", 14, 17);
}

#[test]
fn pipeline_stage_not_in_the_lifecycle() {
    rejects("pipeline_bad_stage", 6, 9);
}

#[test]
fn pipeline_unknown_trigger() {
    rejects("pipeline_unknown_trigger", 3, 6);
}

#[test]
fn unknown_variable_type() {
    rejects("unknown_variable_type", 2, 8);
}

#[test]
fn variable_default_of_the_wrong_type() {
    rejects("variable_default_type", 3, 11);
}

#[test]
fn enum_default_not_among_values() {
    rejects("variable_enum_default", 4, 11);
}

#[test]
fn when_names_unknown_variable() {
    rejects("when_unknown_variable", 6, 9);
}

#[test]
fn bad_glob() {
    rejects("bad_glob", 5, 10);
}

#[test]
fn bad_discovery_exclude() {
    rejects("bad_discovery_exclude", 5, 27);
}

#[test]
fn rule_adds_alias_or_unknown_marker() {
    rejects("rule_unknown_marker", 9, 12);
}

#[test]
fn rust_condition_on_a_python_rule() {
    rejects("rule_rust_condition_on_python", 6, 1);
}

#[test]
fn bad_duration() {
    rejects("bad_duration", 2, 11);
}

#[test]
fn unknown_command_placeholder() {
    rejects("unknown_placeholder", 3, 27);
}

#[test]
fn pipeline_names_unknown_gate() {
    rejects("unknown_gate", 12, 8);
}

#[test]
fn percentages_out_of_range() {
    rejects("bad_percent", 2, 32);
}

#[test]
fn bad_redaction_regex() {
    rejects("bad_regex", 3, 13);
}

#[test]
fn default_framework_not_declared() {
    rejects("unknown_default_framework", 5, 21);
}
