//! Import-time test generation: modules that make tests by running code
//! (`type(name, bases, ns)` in a loop, `globals()[name] = cls`,
//! `setattr(module_or_class, "test_x", fn)`, `exec(...)`, classes or
//! functions defined inside a loop) cannot be enumerated statically. Such a
//! module is reported with a diagnostic and kept as one entry flagged
//! `dynamic` (its node id is the file), so nothing it holds is lost
//! silently: `-m` and plans still run it as a whole.

use std::collections::HashSet;

use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

/// The first import-time generation found: its offset and what it is.
pub struct Generation {
    pub offset: TextSize,
    pub what: String,
}

fn is_testish(name: &str) -> bool {
    name.starts_with("test") || name.starts_with("Test")
}

/// `globals()`, `vars()`, `locals()` (at module level all three are the
/// module namespace).
fn is_namespace_call(e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if c.arguments.args.is_empty()
        && matches!(c.func.as_ref(), Expr::Name(n) if matches!(n.id.as_str(), "globals" | "vars" | "locals")))
}

struct Finder {
    found: Option<Generation>,
    /// Inside a `for`/`while` at module level.
    loops: u32,
}

impl Finder {
    fn hit(&mut self, node: &impl Ranged, what: String) {
        if self.found.is_none() {
            self.found = Some(Generation {
                offset: node.range().start(),
                what,
            });
        }
    }
}

impl<'a> Visitor<'a> for Finder {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            // Bodies of functions run only when called; class bodies are
            // modelled statically (a class statement in a loop is not).
            Stmt::FunctionDef(f) => {
                if self.loops > 0 && is_testish(f.name.as_str()) {
                    self.hit(
                        &f.name,
                        format!("function `{}` is defined in a loop", f.name),
                    );
                }
                for d in &f.decorator_list {
                    self.visit_expr(&d.expression);
                }
            }
            Stmt::ClassDef(c) => {
                if self.loops > 0 && is_testish(c.name.as_str()) {
                    self.hit(&c.name, format!("class `{}` is defined in a loop", c.name));
                }
                for d in &c.decorator_list {
                    self.visit_expr(&d.expression);
                }
                if let Some(args) = &c.arguments {
                    for a in args.args.iter() {
                        self.visit_expr(a);
                    }
                }
            }
            Stmt::For(_) | Stmt::While(_) => {
                self.loops += 1;
                walk_stmt(self, stmt);
                self.loops -= 1;
            }
            Stmt::Assign(a) => {
                for t in &a.targets {
                    match t {
                        Expr::Subscript(s) if is_namespace_call(&s.value) => {
                            self.hit(t, "assigns into `globals()`".into())
                        }
                        // `sys.modules[__name__].test_x = f`, `TestX.test_y = f`
                        Expr::Attribute(at) if is_testish(at.attr.as_str()) => {
                            self.hit(t, format!("assigns attribute `{}` at import time", at.attr))
                        }
                        _ => {}
                    }
                }
                walk_stmt(self, stmt);
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(c) = expr {
            match c.func.as_ref() {
                Expr::Name(n) => match n.id.as_str() {
                    "type" if c.arguments.args.len() == 3 => {
                        self.hit(expr, "calls `type(name, bases, namespace)`".into())
                    }
                    "exec" => self.hit(expr, "calls `exec(...)`".into()),
                    "setattr" => {
                        let attr = c.arguments.args.get(1);
                        let literal_non_test = matches!(attr, Some(Expr::StringLiteral(s))
                            if !is_testish(s.value.to_str()));
                        if !literal_non_test {
                            self.hit(expr, "calls `setattr(...)` with a test-like name".into());
                        }
                    }
                    _ => {}
                },
                Expr::Attribute(a)
                    if a.attr.as_str() == "update" && is_namespace_call(&a.value) =>
                {
                    self.hit(expr, "calls `globals().update(...)`".into())
                }
                _ => {}
            }
        }
        match expr {
            // Their bodies run later, if ever.
            Expr::Lambda(_) => {}
            _ => walk_expr(self, expr),
        }
    }
}

/// Looks for import-time generation in a module's top-level statements and
/// in the bodies of its own functions that those statements call.
pub fn find(body: &[Stmt]) -> Option<Generation> {
    let mut finder = Finder {
        found: None,
        loops: 0,
    };
    for stmt in body {
        finder.visit_stmt(stmt);
    }
    if finder.found.is_some() {
        return finder.found;
    }
    // Functions of this module called at module level run at import.
    let called = called_names(body);
    for stmt in body {
        if let Stmt::FunctionDef(f) = stmt {
            if called.contains(f.name.as_str()) {
                let mut inner = Finder {
                    found: None,
                    loops: 1,
                };
                for s in f.body.iter() {
                    inner.visit_stmt(s);
                }
                if let Some(mut g) = inner.found {
                    g.what = format!("{} (in `{}`, called at import)", g.what, f.name);
                    return Some(g);
                }
            }
        }
    }
    None
}

/// Names called by module-level code (not inside function bodies).
fn called_names(body: &[Stmt]) -> HashSet<String> {
    struct Calls {
        names: HashSet<String>,
    }
    impl<'a> Visitor<'a> for Calls {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(f) => {
                    for d in &f.decorator_list {
                        self.visit_expr(&d.expression);
                    }
                }
                _ => walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(c) = expr {
                if let Expr::Name(n) = c.func.as_ref() {
                    self.names.insert(n.id.to_string());
                }
            }
            if !matches!(expr, Expr::Lambda(_)) {
                walk_expr(self, expr);
            }
        }
    }
    let mut calls = Calls {
        names: HashSet::new(),
    };
    for stmt in body {
        calls.visit_stmt(stmt);
    }
    calls.names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(src: &str) -> Option<String> {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        find(&parsed.syntax().body).map(|g| g.what)
    }

    #[test]
    fn generation_patterns() {
        assert!(what(
            "for n in [1, 2]:\n    globals()[f'Test{n}'] = type(f'Test{n}', (Base,), {})\n"
        )
        .is_some());
        assert!(what("import sys\nsetattr(sys.modules[__name__], name, cls)\n").is_some());
        assert!(what("exec('def test_x(): pass')\n").is_some());
        assert!(what("globals().update(make())\n").is_some());
        assert!(what("for b in BACKENDS:\n    class TestB:\n        pass\n").is_some());
        assert!(what("TestX.test_y = staticmethod(f)\n").is_some());
        assert!(
            what("def _gen():\n    for n in N:\n        globals()[n] = 1\n_gen()\n")
                .is_some_and(|w| w.contains("_gen"))
        );
    }

    #[test]
    fn ordinary_modules_are_not_generation() {
        assert!(what("import os\nsetattr(os, 'environ_flag', 1)\n").is_none());
        assert!(what("def test_a():\n    globals()['x'] = type('A', (), {})\n").is_none());
        assert!(what("for x in range(3):\n    print(x)\nclass TestA:\n    pass\n").is_none());
        assert!(what("def _gen():\n    globals()['x'] = 1\n").is_none());
        assert!(what("f = lambda: exec('x')\n").is_none());
    }
}
