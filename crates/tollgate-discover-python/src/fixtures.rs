//! Parametrized fixtures, read statically.
//!
//! A fixture declared `@pytest.fixture(params=[...])` turns every test that
//! requests it — by argument name, through another fixture, or because it is
//! `autouse` — into one item per param (`test_x[asyncio]`, `test_x[trio]`).
//! tollgate does not expand those ids, so such a test must be flagged
//! `dynamic` rather than listed as one plain item that pytest never shows.
//!
//! Fixtures are looked up as pytest does, closest scope first: the test's
//! classes (innermost out, each over its MRO), its module, then the
//! conftests from its directory up. A fixture that overrides a farther one
//! of the same name and requests it (`def env(env): ...`) resolves that
//! request one scope farther out. Fixtures from plugins or
//! `pytest_plugins` modules are not seen.

use ruff_python_ast::{self as ast, Expr};

use crate::value::Value;

/// A fixture definition: what it is registered as and what it requests.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureDecl {
    /// The name tests request it by (`name=` or the function name).
    pub name: String,
    /// Line of the `def`.
    pub line: u32,
    /// Declared with a `params=` argument.
    pub parametrized: bool,
    pub autouse: bool,
    /// Fixtures its own arguments request.
    pub requests: Vec<String>,
    /// The `params=` and `ids=` values, evaluated (see [`crate::interp`]).
    pub params: Option<Value>,
    pub ids: Option<Value>,
}

/// One scope's fixtures, with the file they are written in (for reasons).
#[derive(Debug, Clone, Copy)]
pub struct FixtureLayer<'a> {
    pub file: &'a str,
    pub fixtures: &'a [FixtureDecl],
}

/// The fixture a `@pytest.fixture` / `@pytest.fixture(...)` decorated
/// function declares, or `None` when it is not a fixture.
pub fn fixture_decl(
    f: &ast::StmtFunctionDef,
    line: u32,
    is_method: bool,
    eval: &dyn Fn(&Expr) -> Value,
) -> Option<FixtureDecl> {
    let decorator = f.decorator_list.iter().find_map(|d| {
        let (callee, call) = match &d.expression {
            Expr::Call(call) => (call.func.as_ref(), Some(call)),
            other => (other, None),
        };
        let is_fixture = match callee {
            Expr::Name(n) => matches!(n.id.as_str(), "fixture" | "yield_fixture"),
            Expr::Attribute(a) => matches!(a.attr.as_str(), "fixture" | "yield_fixture"),
            _ => false,
        };
        is_fixture.then_some(call)
    })?;
    let keyword = |name: &str| {
        decorator.and_then(|call| {
            call.arguments
                .keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == name))
        })
    };
    let name = match keyword("name").map(|k| &k.value) {
        Some(Expr::StringLiteral(s)) => s.value.to_str().to_string(),
        _ => f.name.to_string(),
    };
    let autouse = keyword("autouse")
        .is_some_and(|k| !matches!(&k.value, Expr::BooleanLiteral(b) if !b.value));
    // `params=None` is pytest's default: not parametrized.
    let parametrized = keyword("params").is_some_and(|k| !matches!(k.value, Expr::NoneLiteral(_)));
    let value = |key: &str| {
        keyword(key)
            .filter(|k| !matches!(k.value, Expr::NoneLiteral(_)))
            .map(|k| eval(&k.value))
    };
    Some(FixtureDecl {
        name,
        line,
        parametrized,
        autouse,
        requests: argnames(f, is_method),
        params: value("params"),
        ids: value("ids"),
    })
}

/// The names pytest's `getfuncargnames` would request: positional and
/// keyword-only parameters without a default, minus `self`/`cls` of a
/// method (not of a `@staticmethod`).
pub fn argnames(f: &ast::StmtFunctionDef, is_method: bool) -> Vec<String> {
    let p = &f.parameters;
    let is_static = f.decorator_list.iter().any(|d| match &d.expression {
        Expr::Name(n) => n.id.as_str() == "staticmethod",
        _ => false,
    });
    let positional = p.posonlyargs.iter().chain(p.args.iter());
    let skip = usize::from(is_method && !is_static);
    positional
        .skip(skip)
        .chain(p.kwonlyargs.iter())
        .filter(|a| a.default.is_none())
        .map(|a| a.parameter.name.to_string())
        .collect()
}

/// Every parametrized fixture (and the file it is in) that a test with
/// these argument names ends up requesting. `layers` are closest first.
pub fn parametrized_requests<'a>(
    requests: &[String],
    layers: &[FixtureLayer<'a>],
) -> Vec<(&'a str, &'a FixtureDecl)> {
    let mut out: Vec<(&'a str, &'a FixtureDecl)> = Vec::new();
    // (name, first layer to look in)
    let mut queue: Vec<(&str, usize)> = requests.iter().map(|r| (r.as_str(), 0)).collect();
    for layer in layers {
        queue.extend(
            layer
                .fixtures
                .iter()
                .filter(|f| f.autouse)
                .map(|f| (f.name.as_str(), 0)),
        );
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    while let Some((name, from)) = queue.pop() {
        if seen.contains(&(name, from)) {
            continue;
        }
        seen.push((name, from));
        let found = layers.iter().enumerate().skip(from).find_map(|(i, layer)| {
            layer
                .fixtures
                .iter()
                .find(|f| f.name == name)
                .map(|f| (i, layer.file, f))
        });
        let Some((at, file, fixture)) = found else {
            continue;
        };
        if fixture.parametrized && !out.iter().any(|(_, f)| std::ptr::eq(*f, fixture)) {
            out.push((file, fixture));
        }
        for r in &fixture.requests {
            // Requesting its own name reaches the overridden fixture.
            let next = if r == name { at + 1 } else { 0 };
            queue.push((r.as_str(), next));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruff_python_ast::Stmt;

    fn decls(src: &str) -> Vec<FixtureDecl> {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        parsed
            .syntax()
            .body
            .iter()
            .filter_map(|s| match s {
                Stmt::FunctionDef(f) => fixture_decl(f, 1, false, &|_| Value::None),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_name_params_autouse_and_requests() {
        let d = decls(
            "@pytest.fixture(params=[1, 2], name='db')\ndef make_db(tmp_path, *, url, opt=1):\n    pass\n\
             @fixture(autouse=True)\ndef auto(): pass\n@pytest.fixture(params=None)\ndef plain(): pass\n\
             def helper(x): pass\n",
        );
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].name, "db");
        assert!(d[0].parametrized && !d[0].autouse);
        assert_eq!(d[0].requests, vec!["tmp_path", "url"]);
        assert!(d[1].autouse && !d[1].parametrized);
        assert!(!d[2].parametrized);
    }

    #[test]
    fn methods_drop_self_but_staticmethods_do_not() {
        let parsed = ruff_python_parser::parse_module(
            "def m(self, a): pass\n@staticmethod\ndef s(a): pass\n",
        )
        .unwrap();
        let names: Vec<Vec<String>> = parsed
            .syntax()
            .body
            .iter()
            .filter_map(|s| match s {
                Stmt::FunctionDef(f) => Some(argnames(f, true)),
                _ => None,
            })
            .collect();
        assert_eq!(names, vec![vec!["a".to_string()], vec!["a".to_string()]]);
    }

    #[test]
    fn finds_parametrized_fixtures_through_chains_overrides_and_autouse() {
        let conftest = decls(
            "@pytest.fixture(params=['a', 'b'])\ndef backend(): pass\n\
             @pytest.fixture\ndef client(backend): pass\n",
        );
        let module = decls(
            "@pytest.fixture\ndef backend(backend): pass\n@pytest.fixture\ndef local(): pass\n",
        );
        let layers = [
            FixtureLayer {
                file: "tests/test_a.py",
                fixtures: &module,
            },
            FixtureLayer {
                file: "tests/conftest.py",
                fixtures: &conftest,
            },
        ];
        let hit = parametrized_requests(&["client".to_string()], &layers);
        assert_eq!(
            hit.iter()
                .map(|(f, d)| (*f, d.name.as_str()))
                .collect::<Vec<_>>(),
            vec![("tests/conftest.py", "backend")]
        );
        // The module's override requests the conftest's parametrized one.
        assert!(parametrized_requests(&["backend".to_string()], &layers).len() == 1);
        assert!(parametrized_requests(&["local".to_string()], &layers).is_empty());
        assert!(parametrized_requests(&["unknown".to_string()], &layers).is_empty());

        let plain_override = decls("@pytest.fixture\ndef backend(): pass\n");
        let layers = [
            FixtureLayer {
                file: "tests/test_b.py",
                fixtures: &plain_override,
            },
            FixtureLayer {
                file: "tests/conftest.py",
                fixtures: &conftest,
            },
        ];
        assert!(parametrized_requests(&["backend".to_string()], &layers).is_empty());

        let auto = decls("@pytest.fixture(autouse=True)\ndef setup(backend): pass\n");
        let layers = [
            FixtureLayer {
                file: "tests/test_c.py",
                fixtures: &auto,
            },
            FixtureLayer {
                file: "tests/conftest.py",
                fixtures: &conftest,
            },
        ];
        assert!(parametrized_requests(&[], &layers).len() == 1);
    }
}
