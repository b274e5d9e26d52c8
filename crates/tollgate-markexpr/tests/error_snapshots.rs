//! Snapshots of error messages as a CLI would print them, pytest-style
//! (each line checked against `pytest -m` output by hand).

use tollgate_markexpr::Expression;

fn report(inputs: &[&str]) -> String {
    let mut out = String::new();
    for input in inputs {
        let line = match Expression::parse(input) {
            Ok(expr) => format!("unexpectedly valid: {expr}"),
            Err(err) => err.pytest_message(input),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn structural_errors() {
    insta::assert_snapshot!(
        "structural_errors",
        report(&[
            "slow and",
            "(slow or db",
            "slow db",
            "not",
            "slow)",
            "'slow'"
        ])
    );
}

#[test]
fn kwarg_errors() {
    insta::assert_snapshot!(
        "kwarg_errors",
        report(&[
            "gpu()",
            "gpu(count)",
            "gpu(1=2)",
            "gpu(class=1)",
            "gpu(count=two)",
            "gpu(count=1.5)",
            "gpu(name='a\\b')",
            "gpu(name='a",
            "gpu(count=1, count=2)",
            "gpu(__debug__=1)",
        ])
    );
}

#[test]
fn lexical_errors() {
    insta::assert_snapshot!(
        "lexical_errors",
        report(&["slow & db", "slow | db", "é and @"])
    );
}
