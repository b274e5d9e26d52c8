//! Table-driven tests of parsing, evaluation, canonical printing and errors.

use super::*;

fn parse(input: &str) -> Expression {
    match Expression::parse(input) {
        Ok(expr) => expr,
        Err(err) => panic!("{input:?} should parse, got {err}"),
    }
}

fn eval(input: &str, marks: &[&str]) -> bool {
    parse(input).evaluate(&NameSet(marks))
}

#[test]
fn precedence_and_parentheses() {
    // (expression, marks present, expected)
    let cases: &[(&str, &[&str], bool)] = &[
        ("a or b and c", &["a"], true), // a or (b and c)
        ("a or b and c", &["b"], false),
        ("(a or b) and c", &["a"], false),
        ("(a or b) and c", &["a", "c"], true),
        ("not a and b", &["b"], true), // (not a) and b
        ("not a and b", &["a", "b"], false),
        ("not (a and b)", &["a"], true),
        ("not a or b", &["a"], false), // (not a) or b
        ("not not a", &["a"], true),
        ("not not not a", &["a"], false),
        ("a and b or c and d", &["c", "d"], true),
        ("a and (b or c) and d", &["a", "c", "d"], true),
        ("a and (b or c) and d", &["a", "d"], false),
        ("((a))", &["a"], true),
        ("  a\tand\t b ", &["a", "b"], true),
        ("not(a)", &[], true),
        ("a and(b)", &["a", "b"], true),
    ];
    for &(input, marks, expected) in cases {
        assert_eq!(eval(input, marks), expected, "{input:?} with {marks:?}");
    }
}

#[test]
fn identifiers_with_odd_characters() {
    let idents = [
        "a::b",
        "x-y",
        "a.b",
        "a[1]",
        "a/b",
        r"a\b",
        "+",
        "-",
        "1",
        "True",
        "False",
        "None",
        "é",
        "中文",
        "a:b+c-d.e[f]g\\h/i",
        "__debug__",
        "if",
        "orx",
        "nota",
    ];
    for ident in idents {
        let expr = parse(ident);
        assert_eq!(
            expr.marker_names(),
            vec![(ident, 0..ident.len())],
            "{ident:?}"
        );
        assert!(expr.evaluate(&NameSet(&[ident])), "{ident:?} present");
        assert!(!expr.evaluate(&NameSet(&["other"])), "{ident:?} absent");
        assert_eq!(expr.to_string(), ident);
    }
}

#[test]
fn kwargs_of_every_value_kind() {
    let cases: &[(&str, &[(&str, KwargValue)])] = &[
        ("m(s='text')", &[("s", KwargValue::Str("text".into()))]),
        ("m(s=\"it's\")", &[("s", KwargValue::Str("it's".into()))]),
        ("m(s='')", &[("s", KwargValue::Str(String::new()))]),
        (
            "m(s='a (b) or c')",
            &[("s", KwargValue::Str("a (b) or c".into()))],
        ),
        ("m(n=42)", &[("n", KwargValue::Int(42))]),
        ("m(n=-7)", &[("n", KwargValue::Int(-7))]),
        ("m(n=007)", &[("n", KwargValue::Int(7))]),
        ("m(n=-0)", &[("n", KwargValue::Int(0))]),
        ("m(n=١٢)", &[("n", KwargValue::Int(12))]),
        (
            "m(n=9223372036854775807)",
            &[("n", KwargValue::Int(i64::MAX))],
        ),
        (
            "m(n=-9223372036854775808)",
            &[("n", KwargValue::Int(i64::MIN))],
        ),
        (
            "m(n=-00099999999999999999999)",
            &[("n", KwargValue::BigInt("-99999999999999999999".into()))],
        ),
        ("m(b=True)", &[("b", KwargValue::Bool(true))]),
        ("m(b=False)", &[("b", KwargValue::Bool(false))]),
        ("m(v=None)", &[("v", KwargValue::None)]),
        (
            "m( a = 1 ,b='x',\tc=None )",
            &[
                ("a", KwargValue::Int(1)),
                ("b", KwargValue::Str("x".into())),
                ("c", KwargValue::None),
            ],
        ),
        ("m(match=1)", &[("match", KwargValue::Int(1))]),
        ("m(_x1=1)", &[("_x1", KwargValue::Int(1))]),
    ];
    for &(input, expected) in cases {
        let expected: Vec<(String, KwargValue)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let recorder = Recorder::default();
        parse(input).evaluate(&recorder);
        assert_eq!(
            recorder.calls.take(),
            vec![("m".to_string(), expected)],
            "{input:?}"
        );
    }
}

/// One question the evaluator asked: a mark name and the kwargs wanted.
type Call = (String, Vec<(String, KwargValue)>);

/// Records what the evaluator asks, and answers true.
#[derive(Default)]
struct Recorder {
    calls: std::cell::RefCell<Vec<Call>>,
}

impl MarkMatcher for Recorder {
    fn matches(&self, name: &str, kwargs: &[(String, KwargValue)]) -> bool {
        self.calls
            .borrow_mut()
            .push((name.to_owned(), kwargs.to_vec()));
        true
    }
}

#[test]
fn errors_name_the_column() {
    // (expression, column, message) — all checked against pytest 9.2.0.
    let cases: &[(&str, usize, &str)] = &[
        ("a b", 3, "expected end of input; got identifier"),
        (
            "a or",
            5,
            "expected not OR left parenthesis OR identifier; got end of input",
        ),
        (
            "(",
            2,
            "expected not OR left parenthesis OR identifier; got end of input",
        ),
        (
            ")",
            1,
            "expected not OR left parenthesis OR identifier; got right parenthesis",
        ),
        (
            "not",
            4,
            "expected not OR left parenthesis OR identifier; got end of input",
        ),
        (
            "and",
            1,
            "expected not OR left parenthesis OR identifier; got and",
        ),
        (
            "a and or b",
            7,
            "expected not OR left parenthesis OR identifier; got or",
        ),
        ("(a", 3, "expected right parenthesis; got end of input"),
        ("a)", 2, "expected end of input; got right parenthesis"),
        ("a = b", 3, "expected end of input; got ="),
        ("ab,c", 3, "expected end of input; got ,"),
        (
            "'a'",
            1,
            "expected not OR left parenthesis OR identifier; got string literal",
        ),
        ("a()", 3, "expected identifier; got right parenthesis"),
        ("a(x=1,)", 7, "expected identifier; got right parenthesis"),
        (
            "a(x=1)(y=2)",
            7,
            "expected end of input; got left parenthesis",
        ),
        ("a(x=1", 6, "expected right parenthesis; got end of input"),
        (
            "a(x=1 y=2)",
            7,
            "expected right parenthesis; got identifier",
        ),
        ("a(x)", 4, "expected =; got right parenthesis"),
        ("a(=1)", 3, "expected identifier; got ="),
        ("a(x==2)", 5, "expected identifier; got ="),
        ("a(x=)", 5, "expected identifier; got right parenthesis"),
        ("a(1)", 3, "not a valid python identifier 1"),
        ("a(1x=2)", 3, "not a valid python identifier 1x"),
        ("a(x-y=2)", 3, "not a valid python identifier x-y"),
        ("a(x=y)", 5, "unexpected character/s \"y\""),
        ("a(x=-)", 5, "unexpected character/s \"-\""),
        ("a(x=--1)", 5, "unexpected character/s \"--1\""),
        ("a(x=1.5)", 5, "unexpected character/s \"1.5\""),
        ("a(x=true)", 5, "unexpected character/s \"true\""),
        ("a(True=1)", 3, "unexpected reserved python keyword `True`"),
        (
            "a(class=1)",
            3,
            "unexpected reserved python keyword `class`",
        ),
        ("#", 1, "unexpected character \"#\""),
        ("a\nb", 2, "unexpected character \"\n\""),
        ("e\u{301}", 2, "unexpected character \"\u{301}\""),
        ("été or #", 8, "unexpected character \"#\""),
        ("a(x='a", 5, "closing quote \"'\" is missing"),
        ("a(x=\"a'", 5, "closing quote \"\"\" is missing"),
        (
            "a(x='a\\b')",
            7,
            "escaping with \"\\\" not supported in marker expression",
        ),
        (
            "a(é='\\')",
            6,
            "escaping with \"\\\" not supported in marker expression",
        ),
        // The parser fails before the lexer reaches the bad character.
        (
            ") #",
            1,
            "expected not OR left parenthesis OR identifier; got right parenthesis",
        ),
        // ...but lexing one token ahead reaches it first here.
        ("a #", 3, "unexpected character \"#\""),
        ("a(x=²)", 5, "invalid literal for int() with base 10: '²'"),
        // CPython compiler errors carry no position: column 1.
        ("a(x=1, x=2)", 1, "keyword argument repeated: x"),
        ("a(__debug__=1)", 1, "cannot assign to __debug__"),
        (
            "a(x=1,y=2,x=3) or b(__debug__=1)",
            1,
            "keyword argument repeated: x",
        ),
        (
            "b(__debug__=1) or a(x=1, x=2)",
            1,
            "cannot assign to __debug__",
        ),
        // A syntax error anywhere wins over a compiler error.
        ("a(x=1, x=2) or #", 16, "unexpected character \"#\""),
    ];
    for &(input, column, message) in cases {
        let err = match Expression::parse(input) {
            Ok(expr) => panic!("{input:?} should fail, parsed as {expr}"),
            Err(err) => err,
        };
        assert_eq!(
            (err.column, err.message.as_str()),
            (column, message),
            "{input:?}"
        );
        assert_eq!(err.to_string(), format!("at column {column}: {message}"));
    }
}

#[test]
fn empty_expressions() {
    for input in ["", " ", "\t \t"] {
        let expr = parse(input);
        assert!(expr.is_empty(), "{input:?}");
        assert!(!expr.evaluate(&NameSet(&["a"])));
        assert_eq!(expr.to_string(), "");
        assert!(expr.marker_names().is_empty());
        assert_eq!(expr.skips_selection(), input.is_empty(), "{input:?}");
    }
    assert!(!parse("a").is_empty());
}

#[test]
fn canonical_display() {
    let cases = [
        ("a   or  b", "a or b"),
        ("a or (b or c)", "a or b or c"),
        ("(a and b) and c", "a and b and c"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("not (not a)", "not not a"),
        ("not (a or b)", "not (a or b)"),
        ("not (a and b)", "not (a and b)"),
        ("(not a) and b", "not a and b"),
        ("((a))", "a"),
        ("m( k = 'v' , n=-007,x=١٢)", "m(k='v', n=-7, x=12)"),
        ("m(s=\"it's\", t=\"x\")", "m(s=\"it's\", t='x')"),
        ("m(b=True, c=False, d=None)", "m(b=True, c=False, d=None)"),
    ];
    for (input, canonical) in cases {
        let expr = parse(input);
        assert_eq!(expr.to_string(), canonical, "{input:?}");
        assert_eq!(
            parse(canonical).to_string(),
            canonical,
            "{canonical:?} is a fixpoint"
        );
    }
}

#[test]
fn marker_names_in_source_order_with_byte_spans() {
    let expr = parse("not é and (b(x=1) or é)");
    assert_eq!(
        expr.marker_names(),
        vec![("é", 4..6), ("b", 12..13), ("é", 22..24)]
    );
    for (name, span) in expr.marker_names() {
        assert_eq!(&expr.source()[span], name);
    }
}

#[test]
fn mark_terms_say_which_compare_kwargs() {
    let expr = parse("not a and (b(x=1) or a) and c(y='z')");
    assert_eq!(
        expr.mark_terms(),
        vec![("a", false), ("b", true), ("a", false), ("c", true)]
    );
    assert!(parse("").mark_terms().is_empty());
}

#[test]
fn kwargs_must_all_match_one_mark_of_the_item() {
    use std::collections::BTreeMap;
    use tollgate_inventory::{Language, MarkOrigin, MarkSource, MarkValue, Marker, TestItem};

    let marker = |name: &str, kwargs: &[(&str, MarkValue)]| {
        let mut m = Marker::new(
            name,
            MarkOrigin {
                file: "t.py".into(),
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
    };
    let item = TestItem {
        id: "t.py::test".into(),
        language: Language::Python,
        file: "t.py".into(),
        line: 1,
        function: "t.py::test".into(),
        markers: vec![
            marker(
                "gpu",
                &[
                    ("count", MarkValue::Int(2)),
                    ("slow", MarkValue::Bool(true)),
                ],
            ),
            marker("db", &[]),
        ],
        dynamic: None,
        rust: None,
    };
    let cases = [
        ("gpu", true),
        ("gpu(count=2)", true),
        ("gpu(count=2, slow=1)", true),
        ("gpu(count=2, slow=False)", false),
        ("gpu(count='2')", false),
        ("db(x=None)", false),
        ("db and not gpu(count=3)", true),
    ];
    for (input, expected) in cases {
        assert_eq!(parse(input).evaluate(&item), expected, "{input:?}");
    }
}

#[test]
fn nesting_is_bounded_without_overflowing_the_stack() {
    let deep = format!("{}a{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    assert!(parse(&deep).evaluate(&NameSet(&["a"])));
    let nots = format!("{}a", "not ".repeat(MAX_NESTING));
    assert!(parse(&nots).evaluate(&NameSet(&["a"])));

    let too_deep = format!(
        "{}a{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    let err = Expression::parse(&too_deep).unwrap_err();
    assert_eq!(err.column, MAX_NESTING + 1);
    assert!(
        err.message.starts_with("expression nested too deeply"),
        "{err}"
    );

    // Long flat chains are not nesting.
    let long = vec!["a"; 100_000].join(" or ");
    assert!(parse(&long).evaluate(&NameSet(&["a"])));
}

#[test]
fn pytest_usage_messages() {
    let err = Expression::parse("a or").unwrap_err();
    assert!(!err.is_compile_error());
    assert_eq!(
        err.pytest_message("a or"),
        "Wrong expression passed to '-m': a or: at column 5: \
         expected not OR left parenthesis OR identifier; got end of input"
    );
    // CPython's compiler errors have no source text: pytest prints `None`.
    let err = Expression::parse("m(k=1, k=2)").unwrap_err();
    assert!(err.is_compile_error());
    assert_eq!(
        err.pytest_message("m(k=1, k=2)"),
        "Wrong expression passed to '-m': None: at column 1: keyword argument repeated: k"
    );
}

/// Compiled against one shared table, every expression gives on every
/// subject what evaluating it directly gives.
#[test]
fn compiled_expressions_agree_with_direct_evaluation() {
    use tollgate_inventory::{Language, MarkOrigin, MarkSource, MarkValue, Marker, TestItem};

    let texts = [
        "a",
        "not a",
        "a and b",
        "a or b and not c",
        "(a or b) and (c or not d)",
        "not (a and (b or not (c and d)))",
        "gpu(count=2)",
        "gpu(count=2) or not gpu",
        "a and gpu(count=1, vendor='x')",
        "",
    ];
    let expressions: Vec<Expression> = texts.iter().map(|t| parse(t)).collect();
    let mut table = TermTable::default();
    let compiled: Vec<CompiledExpression> = expressions.iter().map(|e| table.compile(e)).collect();
    // Bare names are shared across expressions; kwargs terms are not.
    assert_eq!(table.len(), 4 + 1 + 3);

    let item = |marks: &[(&str, Option<i64>)]| TestItem {
        id: "t.py::test_x".into(),
        language: Language::Python,
        file: "t.py".into(),
        line: 1,
        function: "t.py::test_x".into(),
        markers: marks
            .iter()
            .map(|(name, count)| {
                let mut m = Marker::new(
                    *name,
                    MarkOrigin {
                        file: "t.py".into(),
                        line: 1,
                        source: MarkSource::FunctionDecorator,
                        learned: None,
                    },
                );
                if let Some(n) = count {
                    m.kwargs.insert("count".into(), MarkValue::Int(*n));
                    m.kwargs.insert("vendor".into(), MarkValue::Str("x".into()));
                }
                m
            })
            .collect(),
        dynamic: None,
        rust: None,
    };
    let names = ["a", "b", "c", "d"];
    let mut subjects = Vec::new();
    for bits in 0..16u32 {
        let mut marks: Vec<(&str, Option<i64>)> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| (*n, None))
            .collect();
        subjects.push(item(&marks));
        marks.push(("gpu", Some(i64::from(bits % 3))));
        subjects.push(item(&marks));
    }
    let mut both = [0usize; 2];
    for subject in &subjects {
        let answers = table.answers(subject);
        for (expr, c) in expressions.iter().zip(&compiled) {
            let direct = expr.evaluate(subject);
            assert_eq!(c.evaluate(&answers), direct, "`{}`", expr.source());
            both[usize::from(direct)] += 1;
        }
    }
    // Both outcomes occur: the comparison is not vacuous.
    assert!(both[0] > 50 && both[1] > 50, "{both:?}");
}
