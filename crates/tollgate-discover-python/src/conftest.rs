//! What a `conftest.py` contributes to collection, read statically: literal
//! `collect_ignore` / `collect_ignore_glob`, and the hooks that make
//! collection unknowable without running it.

use ruff_python_ast::{Expr, Operator, Stmt};
use ruff_text_size::Ranged;
use tollgate_inventory::Severity;

use std::path::Path;

use crate::fixtures::{fixture_decl, FixtureDecl};
use crate::hooks::{self, ModuleFinder, Verdict};
use crate::model::{
    apply_mutations, collect_bindings, flatten_body_marked, LineIndex, ModelDiagnostic,
};
use crate::value::{NoImports, Scope, Value};

/// Hooks whose effect on collected ids or marks cannot be known statically.
pub const DYNAMIC_HOOKS: [&str; 8] = [
    "pytest_collection_modifyitems",
    "pytest_generate_tests",
    "pytest_collect_file",
    "pytest_pycollect_makeitem",
    "pytest_pycollect_makemodule",
    "pytest_make_parametrize_id",
    "pytest_collect_directory",
    "pytest_ignore_collect",
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConftestInfo {
    /// `collect_ignore`, relative to the conftest's directory (None = unset).
    pub collect_ignore: Option<Vec<String>>,
    pub collect_ignore_glob: Option<Vec<String>>,
    /// `(hook name, line, what it may do)` of hooks in [`DYNAMIC_HOOKS`]
    /// whose bodies may change ids or marks (see [`crate::hooks`]).
    pub dynamic_hooks: Vec<(String, u32, String)>,
    /// Fixtures defined here (see [`crate::fixtures`]).
    pub fixtures: Vec<FixtureDecl>,
    pub diagnostics: Vec<ModelDiagnostic>,
}

impl ConftestInfo {
    /// Why items under this conftest are dynamic, if they are.
    pub fn dynamic_reason(&self, rel: &str) -> Option<String> {
        let (hook, line, why) = self.dynamic_hooks.first()?;
        Some(format!("{rel}:{line}: {hook} {why}"))
    }
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::List(items) | Value::Tuple(items) => items
            .iter()
            .map(|i| match i {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Value::Str(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

#[cfg(test)]
pub fn analyze(source: &str) -> Result<ConftestInfo, (u32, u32, String)> {
    analyze_with(source, Path::new("conftest.py"), &|_, _, _| None)
}

/// Reads a conftest; `path` is where it is, `finder` locates the project
/// modules its hooks import helpers from.
pub fn analyze_with(
    source: &str,
    path: &Path,
    finder: &ModuleFinder,
) -> Result<ConftestInfo, (u32, u32, String)> {
    let lines = LineIndex::new(source);
    let parsed = ruff_python_parser::parse_module(source).map_err(|e| {
        let (l, c) = lines.line_col(source, e.location.start());
        (l, c, e.error.to_string())
    })?;
    let mut marked = Vec::new();
    flatten_body_marked(&parsed.syntax().body, false, &mut marked);
    let stmts: Vec<&Stmt> = marked.iter().map(|(stmt, _)| *stmt).collect();
    let scope = Scope {
        source,
        bindings: {
            let mut b = collect_bindings(&stmts);
            apply_mutations(&marked, &mut b);
            b
        },
        imports: &NoImports,
        import_depth: 0,
        star_imports: Vec::new(),
        functions: Default::default(),
        frames: Default::default(),
        steps: std::cell::Cell::new(crate::value::STEP_BUDGET),
        guard: Default::default(),
    };
    let mut info = ConftestInfo::default();
    for &(stmt, uncertain) in &marked {
        let line = lines.line(stmt.range().start());
        let apply = |name: &str, op: ListOp, value: &Expr, info: &mut ConftestInfo| {
            let slot = match name {
                "collect_ignore" => &mut info.collect_ignore,
                "collect_ignore_glob" => &mut info.collect_ignore_glob,
                _ => return,
            };
            if uncertain {
                // Under an `if` we cannot evaluate (`if not PY_3_10_PLUS:`):
                // applying it could drop tests pytest collects.
                info.diagnostics.push(ModelDiagnostic {
                    severity: Severity::Warning,
                    code: "dynamic-collection",
                    line,
                    column: 0,
                    message: format!(
                        "`{name}` is changed under a condition not known statically; the change is not applied"
                    ),
                });
                return;
            }
            let evaluated = match op {
                ListOp::Append => match scope.eval(value) {
                    Value::Str(s) => Some(vec![s]),
                    _ => None,
                },
                _ => string_list(&scope.eval(value)),
            };
            match evaluated {
                Some(list) => match op {
                    ListOp::Set => *slot = Some(list),
                    ListOp::Append | ListOp::Extend => {
                        slot.get_or_insert_with(Vec::new).extend(list)
                    }
                },
                None => info.diagnostics.push(ModelDiagnostic {
                    severity: Severity::Warning,
                    code: "dynamic-collection",
                    line,
                    column: 0,
                    message: format!("`{name}` is computed at import time; it is not applied"),
                }),
            }
        };
        match stmt {
            Stmt::FunctionDef(f) => {
                let def_line = lines.line(f.name.range().start());
                if DYNAMIC_HOOKS.contains(&f.name.as_str()) {
                    let why = match f.name.as_str() {
                        // It can only leave files out, never change a test.
                        "pytest_ignore_collect" => None,
                        "pytest_collection_modifyitems" => {
                            match hooks::judge(f, path, source, &parsed.syntax().body, finder) {
                                Verdict::NoChange => None,
                                Verdict::MayCarry(marks) => Some(format!(
                                    "may add mark{} {}",
                                    if marks.len() == 1 { "" } else { "s" },
                                    marks
                                        .iter()
                                        .map(|m| format!("`{m}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )),
                                Verdict::Unknown(why) => Some(format!("may change tests: {why}")),
                            }
                        }
                        _ => Some("can change collected tests and marks".to_string()),
                    };
                    if let Some(why) = why {
                        info.dynamic_hooks.push((f.name.to_string(), def_line, why));
                    }
                }
                info.fixtures
                    .extend(fixture_decl(f, def_line, false, &|e| scope.eval(e)));
            }
            Stmt::Assign(a) => {
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        apply(n.id.as_str(), ListOp::Set, &a.value, &mut info);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(v)) = (a.target.as_ref(), &a.value) {
                    apply(n.id.as_str(), ListOp::Set, v, &mut info);
                }
            }
            Stmt::AugAssign(a) if a.op == Operator::Add => {
                if let Expr::Name(n) = a.target.as_ref() {
                    apply(n.id.as_str(), ListOp::Extend, &a.value, &mut info);
                }
            }
            Stmt::Expr(e) => {
                if let Expr::Call(c) = e.value.as_ref() {
                    if let (Expr::Attribute(attr), Some(arg)) =
                        (c.func.as_ref(), c.arguments.args.first())
                    {
                        if let Expr::Name(n) = attr.value.as_ref() {
                            let op = match attr.attr.as_str() {
                                "append" => Some(ListOp::Append),
                                "extend" => Some(ListOp::Extend),
                                _ => None,
                            };
                            if let Some(op) = op {
                                apply(n.id.as_str(), op, arg, &mut info);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

#[derive(Clone, Copy)]
enum ListOp {
    Set,
    Append,
    Extend,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_ignores_and_hooks() {
        let info = analyze(
            "IGN = ['a.py']\ncollect_ignore = IGN + ['b']\ncollect_ignore.append('c.py')\ncollect_ignore_glob = ['*_x.py']\ndef pytest_collection_modifyitems(items):\n    pass\n",
        )
        .unwrap();
        assert_eq!(
            info.collect_ignore,
            Some(vec!["a.py".into(), "b".into(), "c.py".into()])
        );
        assert_eq!(info.collect_ignore_glob, Some(vec!["*_x.py".into()]));
        // A hook that does nothing changes nothing.
        assert!(info.dynamic_hooks.is_empty());
        let info = analyze(
            "import pytest\ndef pytest_ignore_collect(collection_path):\n    return True\ndef pytest_collection_modifyitems(items):\n    for i in items:\n        i.add_marker(pytest.mark.gpu)\ndef pytest_generate_tests(metafunc):\n    pass\n",
        )
        .unwrap();
        let hooks: Vec<&str> = info.dynamic_hooks.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(
            hooks,
            vec!["pytest_collection_modifyitems", "pytest_generate_tests"]
        );
        assert_eq!(
            info.dynamic_reason("conftest.py").unwrap(),
            "conftest.py:4: pytest_collection_modifyitems may add mark `gpu`"
        );
    }

    #[test]
    fn conditional_ignore_is_not_applied_but_reported() {
        let info = analyze(
            "from x import PY_3_10_PLUS\ncollect_ignore = ['a.py']\nif not PY_3_10_PLUS:\n    collect_ignore.extend(['b.py'])\nif True:\n    collect_ignore.append('c.py')\n",
        )
        .unwrap();
        assert_eq!(
            info.collect_ignore,
            Some(vec!["a.py".into(), "c.py".into()])
        );
        assert_eq!(info.diagnostics.len(), 1);
        assert_eq!(info.diagnostics[0].line, 4);
        assert_eq!(info.diagnostics[0].code, "dynamic-collection");
    }

    #[test]
    fn parametrized_fixtures_are_recorded() {
        let info = analyze(
            "import pytest\n@pytest.fixture(name='slots', params=(True, False))\ndef _slots(request):\n    return request.param\n",
        )
        .unwrap();
        assert_eq!(info.fixtures.len(), 1);
        assert_eq!(info.fixtures[0].name, "slots");
        assert!(info.fixtures[0].parametrized);
        assert_eq!(info.fixtures[0].line, 3);
    }

    #[test]
    fn computed_ignore_is_a_diagnostic() {
        let info = analyze("import glob\ncollect_ignore = glob.glob('x*')\n").unwrap();
        assert_eq!(info.collect_ignore, None);
        assert_eq!(info.diagnostics[0].code, "dynamic-collection");
    }
}
