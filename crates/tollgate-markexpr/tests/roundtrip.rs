//! Property: any expression the grammar allows parses, evaluates like a
//! straightforward reference evaluator, and survives `Display` → `parse`
//! with the same result on every mark set (and a fixed point of `Display`).

use std::collections::BTreeMap;

use proptest::prelude::*;
use tollgate_inventory::{Language, MarkOrigin, MarkSource, MarkValue, Marker, TestItem};
use tollgate_markexpr::Expression;

const NAMES: &[&str] = &["a", "b", "slow", "a::b", "x-y", "é", "True", "n[1]"];
const KEYS: &[&str] = &["k", "n", "flag"];
const STRINGS: &[&str] = &["", "x", "it's", "a b", "say \"hi\""];

/// A literal as the generator writes it.
#[derive(Debug, Clone)]
enum Literal {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    None,
}

/// An expression tree, written out with arbitrary redundant parentheses.
#[derive(Debug, Clone)]
enum Gen {
    Mark(&'static str, BTreeMap<&'static str, Literal>),
    Not(Box<Gen>),
    And(Vec<Gen>),
    Or(Vec<Gen>),
    Paren(Box<Gen>),
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(Literal::Str),
        (-3i64..4).prop_map(Literal::Int),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::None),
    ]
}

fn mark_value() -> impl Strategy<Value = MarkValue> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(|s| MarkValue::Str(s.to_string())),
        (-3i64..4).prop_map(MarkValue::Int),
        any::<bool>().prop_map(MarkValue::Bool),
        Just(MarkValue::None),
    ]
}

fn gen() -> impl Strategy<Value = Gen> {
    let name = prop::sample::select(NAMES);
    let kwargs = prop::collection::btree_map(prop::sample::select(KEYS), literal(), 0..3);
    let leaf = (name, kwargs).prop_map(|(name, kwargs)| Gen::Mark(name, kwargs));
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|g| Gen::Not(Box::new(g))),
            inner.clone().prop_map(|g| Gen::Paren(Box::new(g))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Gen::And),
            prop::collection::vec(inner, 2..4).prop_map(Gen::Or),
        ]
    })
}

fn marks() -> impl Strategy<Value = Vec<Marker>> {
    let kwargs = prop::collection::btree_map(prop::sample::select(KEYS), mark_value(), 0..3);
    let marker = (prop::sample::select(NAMES), kwargs).prop_map(|(name, kwargs)| {
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
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        m
    });
    prop::collection::vec(marker, 0..5)
}

fn render_literal(value: &Literal) -> String {
    match value {
        Literal::Str(s) if s.contains('\'') => format!("\"{s}\""),
        Literal::Str(s) => format!("'{s}'"),
        Literal::Int(n) => n.to_string(),
        Literal::Bool(true) => "True".into(),
        Literal::Bool(false) => "False".into(),
        Literal::None => "None".into(),
    }
}

/// Writes `g`, parenthesizing every compound operand so the text means
/// exactly the tree whatever the precedence rules.
fn render(g: &Gen) -> String {
    let operand = |g: &Gen| match g {
        Gen::And(_) | Gen::Or(_) => format!("({})", render(g)),
        _ => render(g),
    };
    match g {
        Gen::Mark(name, kwargs) if kwargs.is_empty() => name.to_string(),
        Gen::Mark(name, kwargs) => {
            let args: Vec<String> = kwargs
                .iter()
                .map(|(k, v)| format!("{k}={}", render_literal(v)))
                .collect();
            format!("{name}({})", args.join(","))
        }
        Gen::Not(inner) => format!("not {}", operand(inner)),
        Gen::Paren(inner) => format!("( {} )", render(inner)),
        Gen::And(terms) => terms.iter().map(operand).collect::<Vec<_>>().join(" and "),
        Gen::Or(terms) => terms.iter().map(operand).collect::<Vec<_>>().join("\tor "),
    }
}

/// Python's `mark_value == literal` for the kinds generated here.
fn reference_eq(mark: &MarkValue, literal: &Literal) -> bool {
    let as_int = |m: &MarkValue| match m {
        MarkValue::Int(n) => Some(*n),
        MarkValue::Bool(b) => Some(i64::from(*b)),
        _ => None,
    };
    match (mark, literal) {
        (MarkValue::Str(a), Literal::Str(b)) => a == b,
        (MarkValue::None, Literal::None) => true,
        (m, Literal::Int(n)) => as_int(m) == Some(*n),
        (m, Literal::Bool(b)) => as_int(m) == Some(i64::from(*b)),
        _ => false,
    }
}

fn reference_eval(g: &Gen, marks: &[Marker]) -> bool {
    match g {
        Gen::Mark(name, kwargs) => marks.iter().any(|m| {
            m.name == *name
                && kwargs.iter().all(|(k, v)| {
                    m.kwargs
                        .get(*k)
                        .is_some_and(|actual| reference_eq(actual, v))
                })
        }),
        Gen::Not(inner) => !reference_eval(inner, marks),
        Gen::Paren(inner) => reference_eval(inner, marks),
        Gen::And(terms) => terms.iter().all(|t| reference_eval(t, marks)),
        Gen::Or(terms) => terms.iter().any(|t| reference_eval(t, marks)),
    }
}

fn item(markers: Vec<Marker>) -> TestItem {
    TestItem {
        id: "t.py::test".into(),
        language: Language::Python,
        file: "t.py".into(),
        line: 1,
        function: "t.py::test".into(),
        markers,
        dynamic: None,
        rust: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_round_trips(g in gen(), mark_sets in prop::collection::vec(marks(), 1..6)) {
        let text = render(&g);
        let parsed = Expression::parse(&text)
            .map_err(|err| TestCaseError::fail(format!("{text:?}: {err}")))?;
        let canonical = parsed.to_string();
        let reparsed = Expression::parse(&canonical)
            .map_err(|err| TestCaseError::fail(format!("{canonical:?}: {err}")))?;
        prop_assert_eq!(reparsed.to_string(), canonical.clone(), "Display is a fixed point");
        prop_assert_eq!(parsed.marker_names().len(), reparsed.marker_names().len());
        for marks in mark_sets {
            let expected = reference_eval(&g, &marks);
            let subject = item(marks);
            prop_assert_eq!(parsed.evaluate(&subject), expected, "{} on {:?}", text, subject.markers);
            prop_assert_eq!(reparsed.evaluate(&subject), expected, "{} (from {})", canonical, text);
        }
    }
}
