//! Expansion of `@pytest.mark.parametrize` marks into cases with pytest's
//! ids: `ParameterSet._for_parametrize`, `IdMaker` and `Metafunc.parametrize`
//! (stacked calls form a cartesian product, the closest mark outermost).

use crate::ids::{
    ascii_escaped_bytes, ascii_escaped_str, make_unique, python_complex_str, python_float_repr,
    RawId,
};
use crate::value::{MarkDeco, NamedKind, ParamId, Value};

/// Id-affecting ini options.
#[derive(Debug, Clone)]
pub struct IdOptions {
    /// `disable_test_id_escaping_and_forfeit_all_rights_to_community_support`.
    pub disable_escaping: bool,
    /// `parametrize_long_str_id_strategy`.
    pub long_str_strategy: String,
    /// `empty_parameter_set_mark`.
    pub empty_parameter_set_mark: String,
    /// `strict_parametrization_ids` (falls back to `strict`).
    pub strict_ids: bool,
}

impl Default for IdOptions {
    fn default() -> Self {
        IdOptions {
            disable_escaping: false,
            long_str_strategy: "short".into(),
            empty_parameter_set_mark: "skip".into(),
            strict_ids: false,
        }
    }
}

/// One case of the product: its id parts and the marks its `pytest.param`s carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Case {
    pub ids: Vec<String>,
    pub marks: Vec<CaseMark>,
}

/// A mark one case carries from `pytest.param(..., marks=...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseMark {
    /// Index of the parametrize mark it came through.
    pub parametrize: usize,
    pub mark: MarkDeco,
    /// Line of the `marks=` value, when known (else the parametrize's line).
    pub line: Option<u32>,
}

impl Case {
    /// The `[...]` suffix, or `None` when every part is hidden.
    pub fn suffix(&self) -> Option<String> {
        (!self.ids.is_empty()).then(|| self.ids.join("-"))
    }
}

/// Why a function's cases cannot be known, or why pytest would fail it.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpandError {
    /// Not statically knowable: keep the function as one dynamic entry.
    Dynamic(String),
    /// pytest itself reports a collection error for the collector.
    CollectionError(String),
}

struct ParamSetStatic {
    values: Vec<Value>,
    marks: Vec<MarkDeco>,
    marks_line: Option<u32>,
    id: ParamId,
}

fn dynamic<T>(msg: impl Into<String>) -> Result<T, ExpandError> {
    Err(ExpandError::Dynamic(msg.into()))
}

fn argnames_of(v: &Value) -> Result<(Vec<String>, bool), ExpandError> {
    match v {
        Value::Str(s) => {
            let trailing = s.trim_end().ends_with(',');
            let names: Vec<String> = s
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect();
            let force_tuple = names.len() == 1 && !trailing;
            Ok((names, force_tuple))
        }
        Value::List(items) | Value::Tuple(items) => {
            let mut names = Vec::new();
            for i in items {
                match i {
                    Value::Str(s) => names.push(s.clone()),
                    other => {
                        return dynamic(format!(
                            "parametrize argname `{}` is not a string",
                            other.source_text()
                        ))
                    }
                }
            }
            Ok((names, false))
        }
        other => dynamic(format!(
            "parametrize argnames `{}` not static",
            other.source_text()
        )),
    }
}

fn arg<'m>(mark: &'m MarkDeco, index: usize, key: &str) -> Option<&'m Value> {
    mark.args.get(index).or_else(|| mark.kwarg(key))
}

fn parameter_sets(
    argnames: &[String],
    force_tuple: bool,
    argvalues: &Value,
    opts: &IdOptions,
) -> Result<Vec<ParamSetStatic>, ExpandError> {
    let items = match argvalues {
        Value::List(v) | Value::Tuple(v) => v,
        other => {
            return dynamic(format!(
                "parametrize values `{}` are not static",
                other.source_text()
            ))
        }
    };
    let mut sets = Vec::with_capacity(items.len());
    for item in items {
        let set = match item {
            Value::Param(p) => {
                if let Some(m) = &p.unknown_marks {
                    return dynamic(format!("pytest.param marks `{m}` are not static"));
                }
                ParamSetStatic {
                    values: p.values.clone(),
                    marks: p.marks.clone(),
                    marks_line: p.marks_line,
                    id: p.id.clone(),
                }
            }
            v if force_tuple => ParamSetStatic {
                values: vec![v.clone()],
                marks: Vec::new(),
                marks_line: None,
                id: ParamId::Auto,
            },
            Value::List(v) | Value::Tuple(v) => ParamSetStatic {
                values: v.clone(),
                marks: Vec::new(),
                marks_line: None,
                id: ParamId::Auto,
            },
            Value::Str(s) => ParamSetStatic {
                values: s.chars().map(|c| Value::Str(c.to_string())).collect(),
                marks: Vec::new(),
                marks_line: None,
                id: ParamId::Auto,
            },
            other => {
                return dynamic(format!(
                    "parametrize value `{}` is not static",
                    other.source_text()
                ))
            }
        };
        if set.values.len() != argnames.len() {
            return Err(ExpandError::CollectionError(format!(
                "wrong number of values in parametrize: expected {} names, got {} values",
                argnames.len(),
                set.values.len()
            )));
        }
        sets.push(set);
    }
    if sets.is_empty() {
        let reason = format!("got empty parameter set for ({})", argnames.join(", "));
        let mark = match opts.empty_parameter_set_mark.as_str() {
            "" | "skip" => MarkDeco {
                name: "skip".into(),
                args: Vec::new(),
                kwargs: vec![("reason".into(), Value::Str(reason))],
            },
            "xfail" => MarkDeco {
                name: "xfail".into(),
                args: Vec::new(),
                kwargs: vec![
                    ("reason".into(), Value::Str(reason)),
                    ("run".into(), Value::Bool(false)),
                ],
            },
            _ => {
                return Err(ExpandError::CollectionError(format!(
                    "Empty parameter set for ({})",
                    argnames.join(", ")
                )))
            }
        };
        sets.push(ParamSetStatic {
            values: vec![
                Value::Unknown {
                    src: "NOTSET".into()
                };
                argnames.len()
            ],
            marks: vec![mark],
            marks_line: None,
            id: ParamId::Explicit("NOTSET".into()),
        });
    }
    Ok(sets)
}

fn escape_str(s: &str, opts: &IdOptions) -> String {
    if opts.disable_escaping {
        s.to_string()
    } else {
        ascii_escaped_str(s)
    }
}

/// `IdMaker._idval_from_value`; `Ok(None)` = type without a value id.
fn id_from_value(v: &Value, opts: &IdOptions) -> Result<Option<String>, ExpandError> {
    Ok(Some(match v {
        Value::Str(s) => escape_str(s, opts),
        Value::Bytes(b) => ascii_escaped_bytes(b),
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(s) => s.clone(),
        Value::Float(f) => python_float_repr(*f),
        Value::Complex(r, i) => python_complex_str(*r, *i),
        Value::Pattern { pattern, .. } => ascii_escaped_str(pattern),
        Value::Enum { display, .. } => display.clone(),
        Value::Named { name, kind } => match kind {
            NamedKind::Function
            | NamedKind::Class
            | NamedKind::EnumClass
            | NamedKind::Builtin
            | NamedKind::Lambda => name.clone(),
        },
        Value::Tuple(_)
        | Value::List(_)
        | Value::Opaque { .. }
        | Value::Dict { .. }
        | Value::Record { .. }
        | Value::Mark(_)
        | Value::Param(_)
        | Value::HiddenParam => return Ok(None),
        Value::Path { src, .. }
        | Value::Module { src, .. }
        | Value::BoundMethod { src, .. }
        | Value::Comprehension { src, .. }
        | Value::Unknown { src } => {
            return dynamic(format!("parametrize value `{src}` is not static"))
        }
    }))
}

/// `IdMaker._idval`.
fn idval(v: &Value, argname: &str, idx: usize, opts: &IdOptions) -> Result<String, ExpandError> {
    let long = match v {
        Value::Str(s) => s.chars().count() > 100,
        Value::Bytes(b) => b.len() > 100,
        _ => false,
    };
    if long {
        match opts.long_str_strategy.as_str() {
            "legacy" => {}
            "short" | "" => return Ok(format!("{argname}{idx}")),
            other => {
                return dynamic(format!(
                    "parametrize_long_str_id_strategy `{other}` not supported statically"
                ))
            }
        }
    }
    Ok(id_from_value(v, opts)?.unwrap_or_else(|| format!("{argname}{idx}")))
}

/// Ids of one parametrize call, before de-duplication.
fn raw_ids(
    argnames: &[String],
    sets: &[ParamSetStatic],
    ids: Option<&[Value]>,
    opts: &IdOptions,
) -> Result<Vec<RawId>, ExpandError> {
    let mut out = Vec::with_capacity(sets.len());
    for (idx, set) in sets.iter().enumerate() {
        let id = match &set.id {
            ParamId::Explicit(s) => Some(escape_str(s, opts)),
            ParamId::Hidden => None,
            ParamId::Unknown(src) => {
                return dynamic(format!("pytest.param id `{src}` is not static"))
            }
            ParamId::Auto => match ids.and_then(|ids| ids.get(idx)) {
                Some(Value::None) | None => Some(
                    set.values
                        .iter()
                        .zip(argnames)
                        .map(|(v, n)| idval(v, n, idx, opts))
                        .collect::<Result<Vec<_>, _>>()?
                        .join("-"),
                ),
                Some(Value::HiddenParam) => None,
                Some(explicit) => match id_from_value(explicit, opts)? {
                    Some(s) => Some(s),
                    None => {
                        return Err(ExpandError::CollectionError(format!(
                            "ids contains unsupported value {} at index {idx}",
                            explicit.source_text()
                        )))
                    }
                },
            },
        };
        out.push(id);
    }
    Ok(out)
}

/// Expands the parametrize marks (closest first, as `iter_markers` yields
/// them) into the cartesian product of cases.
pub fn expand(marks: &[&MarkDeco], opts: &IdOptions) -> Result<Vec<Case>, ExpandError> {
    let mut calls = vec![Case::default()];
    let mut seen_args: Vec<String> = Vec::new();
    for (mark_index, mark) in marks.iter().enumerate() {
        let Some(names_value) = arg(mark, 0, "argnames") else {
            return Err(ExpandError::CollectionError(
                "parametrize() missing argnames".into(),
            ));
        };
        let Some(values_value) = arg(mark, 1, "argvalues") else {
            return Err(ExpandError::CollectionError(
                "parametrize() missing argvalues".into(),
            ));
        };
        if let Some(src) = values_value.broken_part() {
            return dynamic(format!(
                "parametrize values depend on `{src}`; the module may not import"
            ));
        }
        let (argnames, force_tuple) = argnames_of(names_value)?;
        for n in &argnames {
            if seen_args.contains(n) {
                return Err(ExpandError::CollectionError(format!(
                    "duplicate parametrization of '{n}'"
                )));
            }
        }
        seen_args.extend(argnames.iter().cloned());
        let sets = parameter_sets(&argnames, force_tuple, values_value, opts)?;
        let ids: Option<Vec<Value>> = match mark.kwarg("ids") {
            None | Some(Value::None) => None,
            Some(Value::List(v)) | Some(Value::Tuple(v)) => Some(v.clone()),
            Some(other) => {
                return dynamic(format!(
                    "parametrize ids `{}` is computed (callable or expression)",
                    other.source_text()
                ))
            }
        };
        if let Some(ids) = &ids {
            if ids.len() != sets.len() {
                return Err(ExpandError::CollectionError(format!(
                    "In parametrize: {} parameter sets specified, with different number of ids: {}",
                    sets.len(),
                    ids.len()
                )));
            }
        }
        let raw = raw_ids(&argnames, &sets, ids.as_deref(), opts)?;
        let has_dups = {
            let mut seen = std::collections::HashSet::new();
            !raw.iter().all(|id| seen.insert(id))
        };
        if has_dups && opts.strict_ids {
            return Err(ExpandError::CollectionError(
                "Duplicate parametrization IDs detected, but strict_parametrization_ids is set"
                    .into(),
            ));
        }
        if has_dups && raw.iter().filter(|i| i.is_none()).count() > 1 {
            return Err(ExpandError::CollectionError(
                "multiple instances of HIDDEN_PARAM cannot be used in the same parametrize call"
                    .into(),
            ));
        }
        let unique = make_unique(raw);
        let mut next = Vec::with_capacity(calls.len() * sets.len());
        for call in &calls {
            for (id, set) in unique.iter().zip(&sets) {
                let mut c = call.clone();
                if let Some(id) = id {
                    c.ids.push(id.clone());
                }
                c.marks
                    .extend(set.marks.iter().cloned().map(|mark| CaseMark {
                        parametrize: mark_index,
                        mark,
                        line: set.marks_line,
                    }));
                next.push(c);
            }
        }
        calls = next;
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{NoImports, Scope};
    use ruff_python_parser::parse_expression;

    fn mark(src: &str) -> MarkDeco {
        let parsed = parse_expression(src).unwrap();
        let scope = Scope {
            source: src,
            bindings: Default::default(),
            imports: &NoImports,
            import_depth: 0,
            star_imports: Vec::new(),
            functions: Default::default(),
            frames: Default::default(),
            steps: std::cell::Cell::new(crate::value::STEP_BUDGET),
            guard: Default::default(),
        };
        match scope.eval(&parsed.syntax().body) {
            Value::Mark(m) => m,
            other => panic!("not a mark: {other:?}"),
        }
    }

    fn ids(srcs: &[&str]) -> Result<Vec<Option<String>>, ExpandError> {
        let marks: Vec<MarkDeco> = srcs.iter().map(|s| mark(s)).collect();
        let refs: Vec<&MarkDeco> = marks.iter().collect();
        Ok(expand(&refs, &IdOptions::default())?
            .iter()
            .map(Case::suffix)
            .collect())
    }

    fn some(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn value_derived_ids() {
        assert_eq!(
            ids(&[
                "pytest.mark.parametrize('x', [1, 'a', None, True, 1.5, b'\\xff', -2, (1, 2), {}])"
            ])
            .unwrap(),
            some(&["1", "a", "None", "True", "1.5", "\\xff", "-2", "x7", "x8"])
        );
    }

    #[test]
    fn multiple_names_and_explicit_ids() {
        assert_eq!(
            ids(&["pytest.mark.parametrize('a,b', [(1, 2), pytest.param(3, 4, id='three')])"])
                .unwrap(),
            some(&["1-2", "three"])
        );
        assert_eq!(
            ids(&["pytest.mark.parametrize(('a', 'b'), [(1, 2), (3, 4)], ids=['x', None])"])
                .unwrap(),
            some(&["x", "3-4"])
        );
    }

    #[test]
    fn stacked_closest_first_is_outermost() {
        // iter_markers order: the decorator nearest the def comes first.
        assert_eq!(
            ids(&[
                "pytest.mark.parametrize('y', [2, 3])",
                "pytest.mark.parametrize('x', [0, 1])"
            ])
            .unwrap(),
            some(&["2-0", "2-1", "3-0", "3-1"])
        );
    }

    #[test]
    fn duplicates_and_empty() {
        assert_eq!(
            ids(&["pytest.mark.parametrize('x', [1, 1, 'a', 'a'])"]).unwrap(),
            some(&["1_0", "1_1", "a0", "a1"])
        );
        assert_eq!(
            ids(&["pytest.mark.parametrize('x', [])"]).unwrap(),
            some(&["NOTSET"])
        );
    }

    #[test]
    fn dynamic_values_and_ids() {
        assert!(matches!(
            ids(&["pytest.mark.parametrize('x', make())"]),
            Err(ExpandError::Dynamic(_))
        ));
        assert!(matches!(
            ids(&["pytest.mark.parametrize('x', [1], ids=str)"]),
            Err(ExpandError::Dynamic(_))
        ));
        assert!(matches!(
            ids(&["pytest.mark.parametrize('x', [f()])"]),
            Err(ExpandError::Dynamic(_))
        ));
        // Explicit ids make unknown values irrelevant.
        assert_eq!(
            ids(&["pytest.mark.parametrize('x', [f()], ids=['a'])"]).unwrap(),
            some(&["a"])
        );
    }

    #[test]
    fn hidden_and_long_strings() {
        assert_eq!(
            ids(&["pytest.mark.parametrize('x', [pytest.param(1, id=pytest.HIDDEN_PARAM)])"])
                .unwrap(),
            vec![None]
        );
        let long = format!("pytest.mark.parametrize('x', ['{}'])", "a".repeat(101));
        assert_eq!(ids(&[long.as_str()]).unwrap(), some(&["x0"]));
    }
}
