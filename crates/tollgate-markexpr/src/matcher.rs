//! What an expression is evaluated against.

use tollgate_inventory::TestItem;

use crate::value::{python_eq, KwargValue};

/// Answers one mark term of an expression, like pytest's `ExpressionMatcher`.
pub trait MarkMatcher {
    /// Whether the subject has a mark called `name` whose keyword arguments
    /// include every `(key, value)` of `kwargs`. A bare `name` term passes no
    /// kwargs.
    fn matches(&self, name: &str, kwargs: &[(String, KwargValue)]) -> bool;
}

/// pytest's `MarkMatcher`: true iff SOME mark with that name has ALL the
/// requested kwargs, each equal under Python's `==`
/// (`mark.kwargs.get(k, NOTSET) == v`). Positional arguments are never
/// consulted.
impl MarkMatcher for TestItem {
    fn matches(&self, name: &str, kwargs: &[(String, KwargValue)]) -> bool {
        self.markers.iter().filter(|m| m.name == name).any(|mark| {
            kwargs.iter().all(|(key, wanted)| {
                mark.kwarg(key)
                    .is_some_and(|actual| python_eq(actual, wanted))
            })
        })
    }
}

/// A set of bare mark names (marks without arguments): a `name` term is true
/// iff the name is in the set; `name(k=v)` is always false, as it is in
/// pytest for a mark that has no kwargs.
#[derive(Debug, Clone, Copy)]
pub struct NameSet<'a>(pub &'a [&'a str]);

impl MarkMatcher for NameSet<'_> {
    fn matches(&self, name: &str, kwargs: &[(String, KwargValue)]) -> bool {
        kwargs.is_empty() && self.0.contains(&name)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tollgate_inventory::{Language, MarkOrigin, MarkSource, MarkValue, Marker};

    use super::*;

    fn marker(name: &str, kwargs: &[(&str, MarkValue)]) -> Marker {
        let origin = MarkOrigin {
            file: "test_x.py".into(),
            line: 1,
            source: MarkSource::FunctionDecorator,
            learned: None,
        };
        let mut m = Marker::new(name, origin);
        m.kwargs = kwargs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>();
        m
    }

    fn item(markers: Vec<Marker>) -> TestItem {
        TestItem {
            id: "test_x.py::test_a".into(),
            language: Language::Python,
            file: "test_x.py".into(),
            line: 1,
            function: "test_x.py::test_a".into(),
            markers,
            dynamic: None,
            rust: None,
        }
    }

    fn kw(pairs: &[(&str, KwargValue)]) -> Vec<(String, KwargValue)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn some_mark_must_have_all_kwargs() {
        let t = item(vec![
            marker("gpu", &[("count", MarkValue::Int(1))]),
            marker(
                "gpu",
                &[
                    ("count", MarkValue::Int(2)),
                    ("vendor", MarkValue::Str("x".into())),
                ],
            ),
        ]);
        assert!(t.matches("gpu", &[]));
        assert!(t.matches("gpu", &kw(&[("count", KwargValue::Int(1))])));
        assert!(t.matches(
            "gpu",
            &kw(&[
                ("count", KwargValue::Int(2)),
                ("vendor", KwargValue::Str("x".into()))
            ])
        ));
        // Each kwarg is satisfied by some mark, but no single mark has both.
        assert!(!t.matches(
            "gpu",
            &kw(&[
                ("count", KwargValue::Int(1)),
                ("vendor", KwargValue::Str("x".into()))
            ])
        ));
        assert!(!t.matches("gpu", &kw(&[("missing", KwargValue::None)])));
        assert!(!t.matches("cpu", &[]));
    }

    #[test]
    fn kwargs_compare_like_python() {
        let t = item(vec![marker(
            "m",
            &[
                ("flag", MarkValue::Bool(true)),
                ("ratio", MarkValue::Float(2.0)),
            ],
        )]);
        assert!(t.matches("m", &kw(&[("flag", KwargValue::Int(1))])));
        assert!(t.matches("m", &kw(&[("ratio", KwargValue::Int(2))])));
        assert!(!t.matches("m", &kw(&[("ratio", KwargValue::Str("2.0".into()))])));
    }

    #[test]
    fn name_set_matches_bare_names_only() {
        let names = NameSet(&["slow", "db"]);
        assert!(names.matches("slow", &[]));
        assert!(!names.matches("fast", &[]));
        assert!(!names.matches("slow", &kw(&[("x", KwargValue::None)])));
    }
}
