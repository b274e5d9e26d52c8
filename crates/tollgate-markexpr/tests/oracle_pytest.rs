//! Differential test against real pytest: every expression in the table is
//! parsed and evaluated against every mark set both here and by pytest's own
//! `Expression` and `MarkMatcher` (through `tests/oracle.py`), and the results,
//! error columns and messages must agree.
//!
//! The Python used is `$TOLLGATE_PYTHON`, else the workspace's
//! `.venv/bin/python`, else `python3`. Without an importable pytest the test
//! fails when `$CI` is set and is skipped (loudly) otherwise.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use tollgate_inventory::{Language, MarkOrigin, MarkSource, MarkValue, Marker, TestItem};
use tollgate_markexpr::{Expression, KwargValue, MarkMatcher};

/// Expressions to compare; valid and invalid ones.
const EXPRESSIONS: &[&str] = &[
    // Boolean structure.
    "a",
    "b",
    "not a",
    "a and b",
    "a or b",
    "a and not b",
    "not (a or b)",
    "(a or b) and not (a and b)",
    "a or b and c",
    "not not a",
    "slow and not db",
    "slow or db and not a",
    "",
    " ",
    "\t",
    // Kwargs of every kind, against marks holding every kind of value.
    "gpu",
    "gpu(count=2)",
    "gpu(count=1)",
    "gpu(count=2, vendor='nvidia')",
    "gpu(count=1, vendor='nvidia')",
    "gpu(vendor=\"nvidia\")",
    "gpu(count=True)",
    "gpu(count=2) and not gpu(count=3)",
    "flags(on=True)",
    "flags(on=1)",
    "flags(off=0)",
    "flags(off=False)",
    "flags(none=None)",
    "flags(none=False)",
    "flags(ratio=1)",
    "flags(ratio=True)",
    "flags(half=0)",
    "flags(big=100000000000000000000)",
    "flags(big=99999999999999999999)",
    "flags(list=1)",
    "flags(s='x')",
    "flags(s=\"x\")",
    "flags(s='y')",
    "flags(missing=None)",
    "flags(on=True, off=False, none=None)",
    "m(n=1)",
    "m(n='1')",
    "m(n=١)",
    "m(n=-0)",
    "m(n=-1)",
    "m(n=007)",
    // Odd identifiers.
    "a::b",
    "x-y",
    "a.b or a[1]",
    "a/b and a\\b",
    "+",
    "True",
    "not None",
    "é",
    "a(x=1) or b",
    // Errors.
    "a b",
    "a or",
    "(a",
    "a)",
    ") #",
    "a #",
    "not",
    "and",
    "'a'",
    "a()",
    "a(x=1,)",
    "a(x=1)(y=2)",
    "a(x)",
    "a(=1)",
    "a(x==2)",
    "a(1x=2)",
    "a(x-y=2)",
    "a(x=y)",
    "a(x=--1)",
    "a(x=1.5)",
    "a(True=1)",
    "a(lambda=1)",
    "a(x='a",
    "a(x=\"it's\")",
    "a(x='a\\b')",
    "a\nb",
    "e\u{301}",
    "été or #",
    "a(x=1, x=2)",
    "a(__debug__=1)",
    "b(__debug__=1) or a(x=1, x=2)",
    "a(x=1, x=2) or #",
    "a(x=²)",
];

fn marker(name: &str, kwargs: &[(&str, MarkValue)]) -> Marker {
    let mut m = Marker::new(
        name,
        MarkOrigin {
            file: "test_x.py".into(),
            line: 1,
            source: MarkSource::FunctionDecorator,
            learned: None,
        },
    );
    m.kwargs = kwargs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<BTreeMap<_, _>>();
    m
}

fn mark_sets() -> Vec<Vec<Marker>> {
    let bare = |names: &[&str]| names.iter().map(|n| marker(n, &[])).collect::<Vec<_>>();
    vec![
        vec![],
        bare(&["a"]),
        bare(&["a", "b"]),
        bare(&["b", "c"]),
        bare(&["slow", "db"]),
        bare(&["slow"]),
        vec![
            marker(
                "gpu",
                &[
                    ("count", MarkValue::Int(2)),
                    ("vendor", MarkValue::Str("nvidia".into())),
                ],
            ),
            marker("gpu", &[("count", MarkValue::Int(1))]),
        ],
        vec![marker(
            "flags",
            &[
                ("on", MarkValue::Bool(true)),
                ("off", MarkValue::Bool(false)),
                ("none", MarkValue::None),
                ("ratio", MarkValue::Float(1.0)),
                ("half", MarkValue::Float(0.5)),
                ("big", MarkValue::Float(1e20)),
                ("list", MarkValue::List(vec![MarkValue::Int(1)])),
                ("s", MarkValue::Str("x".into())),
            ],
        )],
        vec![
            marker("m", &[("n", MarkValue::Int(1))]),
            marker("m", &[("n", MarkValue::Str("1".into()))]),
            marker("m", &[("n", MarkValue::Int(0))]),
        ],
        vec![
            marker("m", &[("n", MarkValue::Int(-1))]),
            marker("m", &[("n", MarkValue::Int(7))]),
        ],
        bare(&["a::b", "x-y", "a[1]", "a\\b", "+", "True", "None", "é"]),
    ]
}

fn item(markers: Vec<Marker>) -> TestItem {
    TestItem {
        id: "test_x.py::test_x".into(),
        language: Language::Python,
        file: "test_x.py".into(),
        line: 1,
        function: "test_x.py::test_x".into(),
        markers,
        dynamic: None,
        rust: None,
    }
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `$TOLLGATE_PYTHON`, else `<workspace>/.venv/bin/python`, else `python3`.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("TOLLGATE_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = crate_dir().join("../../.venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

/// Runs a Python script with `input` on stdin; `None` (after a loud note)
/// when pytest is unavailable and `$CI` is not set.
fn run_python(script: &Path, args: &[&str], input: &str) -> Option<Value> {
    let python = python();
    let child = Command::new(&python)
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let unavailable = |why: String| {
        assert!(
            std::env::var_os("CI").is_none(),
            "pytest oracle unavailable on CI: {why}"
        );
        eprintln!("\n!!!!!!!! NOTE: pytest oracle SKIPPED: {why} !!!!!!!!\n");
        None
    };
    let mut child = match child {
        Ok(child) => child,
        Err(err) => return unavailable(format!("cannot run {}: {err}", python.display())),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("write to python");
    }
    let output = child.wait_with_output().expect("wait for python");
    if output.status.code() == Some(3) {
        return unavailable(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("oracle prints JSON"))
}

/// Our answer in the oracle's JSON shape.
fn ours(expr: &str, item: &TestItem) -> Value {
    match Expression::parse(expr) {
        Ok(parsed) => json!({ "result": parsed.evaluate(item) }),
        Err(err) => {
            // pytest's SyntaxError carries the input, except for the errors
            // CPython's compiler raises.
            let text = (!err.is_compile_error()).then_some(expr);
            json!({ "error": { "column": err.column, "message": err.message, "text": text } })
        }
    }
}

#[test]
fn agrees_with_pytest() {
    let sets = mark_sets();
    let mut cases = Vec::new();
    for expr in EXPRESSIONS {
        for marks in &sets {
            cases.push(json!({ "expr": expr, "marks": marks }));
        }
    }
    let request = json!({ "cases": cases }).to_string();
    let Some(response) = run_python(&crate_dir().join("tests/oracle.py"), &[], &request) else {
        return;
    };
    assert_eq!(
        response["pytest"], "9.2.0",
        "the oracle is pinned to pytest 9.2.0"
    );
    let results = response["results"].as_array().expect("results array");
    assert_eq!(results.len(), cases.len());

    let mut mismatches = Vec::new();
    let mut index = 0;
    for expr in EXPRESSIONS {
        for marks in &sets {
            let theirs = &results[index];
            index += 1;
            let mine = ours(expr, &item(marks.clone()));
            let agree = match theirs.get("crash").and_then(Value::as_str) {
                // pytest crashes where we report an error: the message must
                // still be Python's.
                Some(crash) => mine["error"]["message"]
                    .as_str()
                    .is_some_and(|message| crash == format!("ValueError: {message}")),
                None => &mine == theirs,
            };
            if !agree {
                let names: Vec<&str> = marks.iter().map(|m| m.name.as_str()).collect();
                mismatches.push(format!(
                    "{expr:?} on {names:?}: pytest {theirs}, ours {mine}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "disagreements with pytest:\n{}",
        mismatches.join("\n")
    );
}

/// Records the kwargs of the one term an expression has.
#[derive(Default)]
struct Kwargs(std::cell::RefCell<Vec<(String, KwargValue)>>);

impl MarkMatcher for Kwargs {
    fn matches(&self, _name: &str, kwargs: &[(String, KwargValue)]) -> bool {
        self.0.replace(kwargs.to_vec());
        true
    }
}

const XID_START: u64 = 1;
const XID_CONTINUE: u64 = 2;
const DIGIT: u64 = 4;
const DECIMAL: u64 = 8;

/// The crate's character classes are a table generated from Python; probe
/// them through the public API at every range boundary of the running
/// Python's own table, so a Unicode-version drift shows up here.
#[test]
fn character_classes_agree_with_python() {
    let script = crate_dir().join("tools/gen_unicode_table.py");
    let Some(response) = run_python(&script, &["--json"], "") else {
        return;
    };
    let rows: Vec<[u64; 4]> = serde_json::from_value(response["rows"].clone()).expect("rows");
    let in_table = |cp: u64| rows.iter().any(|r| r[0] <= cp && cp <= r[1]);
    let mut problems = Vec::new();
    for &[first, last, flags, zero] in &rows {
        for cp in [first, last] {
            let Some(c) = u32::try_from(cp).ok().and_then(char::from_u32) else {
                continue;
            };
            if let Err(err) = Expression::parse(&c.to_string()) {
                problems.push(format!("U+{cp:04X} is \\w in Python, ours: {err}"));
            }
            let start = Expression::parse(&format!("m({c}=1)")).is_ok();
            let cont = Expression::parse(&format!("m(a{c}=1)")).is_ok();
            if start != (flags & XID_START != 0) || cont != (flags & XID_CONTINUE != 0) {
                problems.push(format!(
                    "U+{cp:04X}: identifier start {start}, continue {cont}"
                ));
            }
            let value = Expression::parse(&format!("m(x={c})")).map(|expr| {
                let kwargs = Kwargs::default();
                expr.evaluate(&kwargs);
                kwargs.0.take()
            });
            let expected = if flags & DECIMAL != 0 {
                let digit = i64::try_from(cp - zero).expect("digit");
                Some(vec![("x".to_string(), KwargValue::Int(digit))])
            } else {
                None
            };
            match (&value, &expected) {
                (Ok(got), Some(want)) if got == want => {}
                (Err(err), None)
                    if flags & DIGIT != 0 && err.message.starts_with("invalid literal") => {}
                (Err(err), None)
                    if flags & DIGIT == 0 && err.message.starts_with("unexpected character/s") => {}
                _ => problems.push(format!("U+{cp:04X} as a value: {value:?}, flags {flags}")),
            }
        }
        for cp in [first.wrapping_sub(1), last + 1] {
            let Some(c) = u32::try_from(cp).ok().and_then(char::from_u32) else {
                continue;
            };
            if in_table(cp) || ":+-.[]\\/ \t()=,'\"".contains(c) {
                continue;
            }
            let expected = format!("at column 1: unexpected character \"{c}\"");
            match Expression::parse(&c.to_string()) {
                Err(err) if err.to_string() == expected => {}
                other => problems.push(format!("U+{cp:04X} is not \\w in Python, ours: {other:?}")),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "character classes differ from Python (Unicode {}); regenerate src/unicode_table.rs:\n{}",
        response["unicode_version"],
        problems.join("\n")
    );
}
