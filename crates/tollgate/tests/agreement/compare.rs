//! The pure core of the harness: compare what pytest and tollgate collected.
//!
//! Both answers are first reduced to a [`Collected`] (plain sets and maps); the
//! functions here turn two of them into a list of [`Difference`]s, each of which
//! prints exactly which ids, markers or selections disagree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One tool's answer for one invocation, reduced to what is compared.
#[derive(Debug, Default, Clone)]
pub struct Collected {
    /// Node ids in output order; duplicates are kept so they can be reported.
    pub ids: Vec<String>,
    /// Marker names per node id.
    pub markers: BTreeMap<String, BTreeSet<String>>,
    /// The function each id belongs to (the id without its `[...]` part).
    pub function_of: BTreeMap<String, String>,
    /// Marker names per function, leaving out marks that belong to a single
    /// parametrized case (`pytest.param(..., marks=...)`).
    pub function_markers: BTreeMap<String, BTreeSet<String>>,
    /// Functions with at least one case-specific mark.
    pub functions_with_param_marks: BTreeSet<String>,
    /// Functions flagged `dynamic` (tollgate only).
    pub dynamic: BTreeSet<String>,
}

impl Collected {
    pub fn id_set(&self) -> BTreeSet<String> {
        self.ids.iter().cloned().collect()
    }

    pub fn functions(&self) -> BTreeSet<String> {
        self.function_markers.keys().cloned().collect()
    }

    /// Only the ids whose function satisfies `keep`.
    pub fn filter_functions(&self, keep: impl Fn(&str) -> bool) -> Collected {
        let kept = |id: &String| self.function_of.get(id).is_some_and(|f| keep(f));
        Collected {
            ids: self.ids.iter().filter(|id| kept(id)).cloned().collect(),
            markers: self
                .markers
                .iter()
                .filter(|(id, _)| kept(id))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            function_of: self
                .function_of
                .iter()
                .filter(|(id, _)| kept(id))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            function_markers: self
                .function_markers
                .iter()
                .filter(|(f, _)| keep(f))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            functions_with_param_marks: self
                .functions_with_param_marks
                .iter()
                .filter(|f| keep(f))
                .cloned()
                .collect(),
            dynamic: self.dynamic.iter().filter(|f| keep(f)).cloned().collect(),
        }
    }
}

/// pytest's node id without the parametrization part: `f.py::T::test[1-a]` →
/// `f.py::T::test`. The `[` is searched after the first `::` because
/// parameter ids may themselves contain `::` and `[`.
pub fn function_of(nodeid: &str) -> &str {
    let start = nodeid.find("::").map_or(0, |i| i + 2);
    match nodeid[start..].find('[') {
        Some(i) => &nodeid[..start + i],
        None => nodeid,
    }
}

/// One way in which tollgate disagrees with pytest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// pytest collects these (ids or functions), tollgate does not.
    Missing {
        what: &'static str,
        items: Vec<String>,
    },
    /// tollgate collects these, pytest does not.
    Extra {
        what: &'static str,
        items: Vec<String>,
    },
    /// tollgate printed these ids more than once.
    Duplicates(Vec<String>),
    /// Marker names differ for these ids (or functions).
    Markers {
        what: &'static str,
        diffs: Vec<MarkerDiff>,
    },
    /// `-m expr` selects differently (among what both collected).
    Selection {
        expr: String,
        missing: Vec<String>,
        extra: Vec<String>,
    },
    /// Functions whose `dynamic` flag is wrong.
    Dynamic {
        not_flagged: Vec<String>,
        wrongly_flagged: Vec<String>,
    },
    /// tollgate's `function` field is not its id without `[...]`.
    FunctionField(Vec<(String, String)>),
    /// Anything else about a run (exit code, output, diagnostics).
    Problem(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerDiff {
    pub key: String,
    pub pytest: BTreeSet<String>,
    pub tollgate: BTreeSet<String>,
}

/// `pytest` minus `tollgate` and `tollgate` minus `pytest`, sorted.
fn set_diff(pytest: &BTreeSet<String>, tollgate: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    (
        pytest.difference(tollgate).cloned().collect(),
        tollgate.difference(pytest).cloned().collect(),
    )
}

fn missing_and_extra(
    what: &'static str,
    pytest: &BTreeSet<String>,
    tollgate: &BTreeSet<String>,
) -> Vec<Difference> {
    let (missing, extra) = set_diff(pytest, tollgate);
    let mut out = Vec::new();
    if !missing.is_empty() {
        out.push(Difference::Missing {
            what,
            items: missing,
        });
    }
    if !extra.is_empty() {
        out.push(Difference::Extra { what, items: extra });
    }
    out
}

fn duplicates(ids: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut dups = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            dups.insert(id.clone());
        }
    }
    dups.into_iter().collect()
}

fn marker_diffs(
    what: &'static str,
    pytest: &BTreeMap<String, BTreeSet<String>>,
    tollgate: &BTreeMap<String, BTreeSet<String>>,
) -> Option<Difference> {
    let diffs: Vec<MarkerDiff> = pytest
        .iter()
        .filter_map(|(key, expected)| {
            let actual = tollgate.get(key)?;
            (actual != expected).then(|| MarkerDiff {
                key: key.clone(),
                pytest: expected.clone(),
                tollgate: actual.clone(),
            })
        })
        .collect();
    (!diffs.is_empty()).then_some(Difference::Markers { what, diffs })
}

/// Node ids, duplicates, marker names per common id, and the `function` field.
pub fn compare_exact(pytest: &Collected, tollgate: &Collected) -> Vec<Difference> {
    let mut out = missing_and_extra("ids", &pytest.id_set(), &tollgate.id_set());
    let dups = duplicates(&tollgate.ids);
    if !dups.is_empty() {
        out.push(Difference::Duplicates(dups));
    }
    out.extend(marker_diffs("ids", &pytest.markers, &tollgate.markers));
    let wrong_function: Vec<(String, String)> = tollgate
        .function_of
        .iter()
        .filter(|(id, function)| function_of(id) != function.as_str())
        .map(|(id, function)| (id.clone(), function.clone()))
        .collect();
    if !wrong_function.is_empty() {
        out.push(Difference::FunctionField(wrong_function));
    }
    out
}

/// For projects where some values are not static: the set of functions,
/// marker names per function, the `dynamic` flags, and exact ids for every
/// function that is not expected to be dynamic. An expected-dynamic function
/// that tollgate did not flag is accepted only if its ids are exactly pytest's.
pub fn compare_functions(
    pytest: &Collected,
    tollgate: &Collected,
    expected_dynamic: &BTreeSet<String>,
) -> Vec<Difference> {
    // A module that generates its tests at import time is one dynamic entry
    // (its path, no `::`): what pytest finds in it is not compared one by one.
    let outside = |f: &str| dynamic_module_of(f, expected_dynamic).is_none();
    let pytest = &pytest.filter_functions(outside);
    let modules: Vec<String> = expected_dynamic
        .iter()
        .filter(|f| !f.contains("::"))
        .cloned()
        .collect();
    let unflagged_modules: Vec<String> = modules
        .iter()
        .filter(|m| !tollgate.dynamic.contains(*m))
        .cloned()
        .collect();
    let tollgate = &tollgate.filter_functions(outside);
    let expected_dynamic: &BTreeSet<String> = &expected_dynamic
        .iter()
        .filter(|f| f.contains("::"))
        .cloned()
        .collect();
    let mut out = missing_and_extra("functions", &pytest.functions(), &tollgate.functions());
    out.extend(marker_diffs(
        "functions",
        &pytest.function_markers,
        &tollgate.function_markers,
    ));
    let (unflagged, wrongly_flagged) = set_diff(expected_dynamic, &tollgate.dynamic);
    // A value that is not a literal but that tollgate evaluated exactly right
    // (say `list(range(2))`) needs no flag: only wrong guesses are reported.
    let not_flagged: Vec<String> = unflagged
        .into_iter()
        .filter(|f| {
            let only = |g: &str| g == f.as_str();
            !compare_exact(
                &pytest.filter_functions(only),
                &tollgate.filter_functions(only),
            )
            .is_empty()
        })
        .collect();
    let mut not_flagged = not_flagged;
    not_flagged.extend(unflagged_modules);
    if !not_flagged.is_empty() || !wrongly_flagged.is_empty() {
        out.push(Difference::Dynamic {
            not_flagged,
            wrongly_flagged,
        });
    }
    let is_static = |f: &str| !expected_dynamic.contains(f);
    out.extend(compare_exact(
        &pytest.filter_functions(is_static),
        &tollgate.filter_functions(is_static),
    ));
    out
}

/// The dynamic module entry (a listed path without `::`) that covers
/// function `f`: `f` itself when it is one, or the module `f` is in.
pub fn dynamic_module_of<'a>(f: &'a str, dynamic: &BTreeSet<String>) -> Option<&'a str> {
    let file = f.split_once("::").map_or(f, |(file, _)| file);
    dynamic.contains(file).then_some(file)
}

/// What `-m expr` selected, restricted to `universe` (what both tools
/// collected without `-m`), so a missing id is reported once, not per expression.
pub fn compare_selection(
    expr: &str,
    universe: &BTreeSet<String>,
    pytest: &BTreeSet<String>,
    tollgate: &BTreeSet<String>,
) -> Option<Difference> {
    let restrict =
        |s: &BTreeSet<String>| -> BTreeSet<String> { s.intersection(universe).cloned().collect() };
    let (missing, extra) = set_diff(&restrict(pytest), &restrict(tollgate));
    (!missing.is_empty() || !extra.is_empty()).then(|| Difference::Selection {
        expr: expr.to_owned(),
        missing,
        extra,
    })
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[String]) -> fmt::Result {
    for item in items {
        writeln!(f, "      {item}")?;
    }
    Ok(())
}

fn names(set: &BTreeSet<String>) -> String {
    let v: Vec<&str> = set.iter().map(String::as_str).collect();
    format!("[{}]", v.join(", "))
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Missing { what, items } => {
                writeln!(
                    f,
                    "    missing {what} (pytest collects, tollgate does not):"
                )?;
                write_list(f, items)
            }
            Difference::Extra { what, items } => {
                writeln!(f, "    extra {what} (tollgate collects, pytest does not):")?;
                write_list(f, items)
            }
            Difference::Duplicates(ids) => {
                writeln!(f, "    ids tollgate lists more than once:")?;
                write_list(f, ids)
            }
            Difference::Markers { what, diffs } => {
                writeln!(f, "    marker names differ for {what}:")?;
                for d in diffs {
                    let (missing, extra) = set_diff(&d.pytest, &d.tollgate);
                    writeln!(f, "      {}", d.key)?;
                    writeln!(
                        f,
                        "          pytest {}  tollgate {}  (tollgate lacks [{}], adds [{}])",
                        names(&d.pytest),
                        names(&d.tollgate),
                        missing.join(", "),
                        extra.join(", ")
                    )?;
                }
                Ok(())
            }
            Difference::Selection {
                expr,
                missing,
                extra,
            } => {
                writeln!(f, "    -m {expr:?} selects differently:")?;
                if !missing.is_empty() {
                    writeln!(f, "      pytest selects, tollgate does not:")?;
                    for id in missing {
                        writeln!(f, "        {id}")?;
                    }
                }
                if !extra.is_empty() {
                    writeln!(f, "      tollgate selects, pytest does not:")?;
                    for id in extra {
                        writeln!(f, "        {id}")?;
                    }
                }
                Ok(())
            }
            Difference::Dynamic {
                not_flagged,
                wrongly_flagged,
            } => {
                if !not_flagged.is_empty() {
                    writeln!(
                        f,
                        "    functions with non-static values not flagged dynamic:"
                    )?;
                    write_list(f, not_flagged)?;
                }
                if !wrongly_flagged.is_empty() {
                    writeln!(f, "    functions flagged dynamic although static:")?;
                    write_list(f, wrongly_flagged)?;
                }
                Ok(())
            }
            Difference::FunctionField(pairs) => {
                writeln!(f, "    `function` is not the id without [...]:")?;
                for (id, function) in pairs {
                    writeln!(f, "      {id}  has function {function}")?;
                }
                Ok(())
            }
            Difference::Problem(text) => {
                for line in text.lines() {
                    writeln!(f, "    {line}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn collected(items: &[(&str, &[&str])]) -> Collected {
        let mut c = Collected::default();
        for (id, marks) in items {
            let function = function_of(id).to_owned();
            c.ids.push(id.to_string());
            c.markers.insert(id.to_string(), set(marks));
            c.function_of.insert(id.to_string(), function.clone());
            c.function_markers
                .entry(function)
                .or_default()
                .extend(set(marks));
        }
        c
    }

    #[test]
    fn function_of_strips_the_param_part_only() {
        assert_eq!(function_of("a.py::T::test_x[1-a]"), "a.py::T::test_x");
        assert_eq!(function_of("a.py::test_x[a::b[c]]"), "a.py::test_x");
        assert_eq!(function_of("a.py::test_x"), "a.py::test_x");
        assert_eq!(function_of("dir[1]/a.py::test_x[2]"), "dir[1]/a.py::test_x");
    }

    #[test]
    fn equal_answers_have_no_difference() {
        let a = collected(&[("t.py::test_a", &["slow"]), ("t.py::test_b[1]", &[])]);
        assert!(compare_exact(&a, &a.clone()).is_empty());
    }

    #[test]
    fn reports_missing_extra_duplicate_and_marker_differences() {
        let pytest = collected(&[("t.py::a", &["slow"]), ("t.py::b", &[])]);
        let mut tollgate = collected(&[("t.py::a", &["fast"]), ("t.py::c", &[])]);
        tollgate.ids.push("t.py::c".into());
        let diffs = compare_exact(&pytest, &tollgate);
        assert_eq!(
            diffs,
            vec![
                Difference::Missing {
                    what: "ids",
                    items: vec!["t.py::b".into()]
                },
                Difference::Extra {
                    what: "ids",
                    items: vec!["t.py::c".into()]
                },
                Difference::Duplicates(vec!["t.py::c".into()]),
                Difference::Markers {
                    what: "ids",
                    diffs: vec![MarkerDiff {
                        key: "t.py::a".into(),
                        pytest: set(&["slow"]),
                        tollgate: set(&["fast"]),
                    }]
                },
            ]
        );
        let text: String = diffs.iter().map(ToString::to_string).collect();
        assert!(
            text.contains("tollgate lacks [slow], adds [fast]"),
            "{text}"
        );
    }

    #[test]
    fn wrong_function_field_is_reported() {
        let pytest = collected(&[("t.py::a[1]", &[])]);
        let mut tollgate = pytest.clone();
        tollgate
            .function_of
            .insert("t.py::a[1]".into(), "t.py::a[1]".into());
        assert_eq!(
            compare_exact(&pytest, &tollgate),
            vec![Difference::FunctionField(vec![(
                "t.py::a[1]".into(),
                "t.py::a[1]".into()
            )])]
        );
    }

    #[test]
    fn selection_is_compared_within_the_universe() {
        let universe = set(&["a", "b", "c"]);
        let diff = compare_selection("slow", &universe, &set(&["a", "b"]), &set(&["b", "c", "z"]));
        assert_eq!(
            diff,
            Some(Difference::Selection {
                expr: "slow".into(),
                missing: vec!["a".into()],
                extra: vec!["c".into()],
            })
        );
        assert_eq!(
            compare_selection("x", &universe, &set(&["a"]), &set(&["a", "z"])),
            None
        );
    }

    #[test]
    fn function_mode_checks_flags_and_static_ids() {
        let pytest = collected(&[
            ("t.py::dyn[1]", &["parametrize"]),
            ("t.py::dyn[2]", &["parametrize"]),
            ("t.py::stat[1]", &["parametrize"]),
        ]);
        let mut tollgate = collected(&[
            ("t.py::dyn", &["parametrize"]),
            ("t.py::stat[one]", &["parametrize"]),
        ]);
        tollgate
            .function_of
            .insert("t.py::dyn".into(), "t.py::dyn".into());
        let expected = set(&["t.py::dyn", "t.py::stat"]);
        let diffs = compare_functions(&pytest, &tollgate, &expected);
        assert_eq!(
            diffs,
            vec![Difference::Dynamic {
                not_flagged: vec!["t.py::dyn".into(), "t.py::stat".into()],
                wrongly_flagged: vec![],
            },]
        );
        // Expanded exactly like pytest instead of flagged: accepted.
        let exact = collected(&[
            ("t.py::dyn[1]", &["parametrize"]),
            ("t.py::dyn[2]", &["parametrize"]),
            ("t.py::stat[1]", &["parametrize"]),
        ]);
        assert!(compare_functions(&pytest, &exact, &set(&["t.py::dyn"])).is_empty());
        let only_dyn = set(&["t.py::dyn"]);
        tollgate.dynamic = only_dyn.clone();
        let diffs = compare_functions(&pytest, &tollgate, &only_dyn);
        assert_eq!(
            diffs,
            vec![
                Difference::Missing {
                    what: "ids",
                    items: vec!["t.py::stat[1]".into()]
                },
                Difference::Extra {
                    what: "ids",
                    items: vec!["t.py::stat[one]".into()]
                },
            ]
        );
    }
}
