//! Conftest hooks judged by their bodies: a hook flags only what it can
//! change. `pytest_ignore_collect` only leaves files out; a
//! `pytest_collection_modifyitems` that only skips (`add_marker(skip)`),
//! deselects (`items[:] = keep`) or reorders changes no id and no marker;
//! `item.add_marker(pytest.mark.NAME)` with a literal NAME means "may carry
//! NAME"; anything we cannot follow still flags, with the reason.
//!
//! Helpers the hook calls are followed into their bodies when they are
//! defined in the conftest or imported from a project module (to a bounded
//! depth); a helper we cannot read that is handed the items flags.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

/// What a hook can do to collected items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Changes no id and no marker (skips, deselects, reorders, reads).
    NoChange,
    /// Adds these literal marks to some items.
    MayCarry(Vec<String>),
    /// Code we cannot judge (the reason says what).
    Unknown(String),
}

/// Marks that only decide whether a test runs, not what it is.
const SKIP_MARKS: [&str; 3] = ["skip", "skipif", "xfail"];

/// Finds the file of `module` (with `level` dots) imported from `importer`.
pub type ModuleFinder<'a> = dyn Fn(&Path, &str, u32) -> Option<PathBuf> + 'a;

const MAX_HELPER_DEPTH: u32 = 4;

/// Top-level functions and `from x import name` bindings of one file.
struct FileScope<'a> {
    path: PathBuf,
    source: &'a str,
    defs: HashMap<&'a str, &'a ast::StmtFunctionDef>,
    imports: HashMap<String, (String, u32, String)>,
}

fn imports_in(body: &[Stmt], out: &mut HashMap<String, (String, u32, String)>) {
    for stmt in body {
        match stmt {
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map(|m| m.to_string()).unwrap_or_default();
                for a in &i.names {
                    let bound = a.asname.as_ref().unwrap_or(&a.name).to_string();
                    out.insert(bound, (module.clone(), i.level, a.name.to_string()));
                }
            }
            Stmt::If(s) => {
                imports_in(&s.body, out);
                for c in &s.elif_else_clauses {
                    imports_in(&c.body, out);
                }
            }
            Stmt::Try(s) => imports_in(&s.body, out),
            _ => {}
        }
    }
}

impl<'a> FileScope<'a> {
    fn new(path: PathBuf, source: &'a str, body: &'a [Stmt]) -> Self {
        let mut defs = HashMap::new();
        for stmt in body {
            if let Stmt::FunctionDef(f) = stmt {
                defs.insert(f.name.as_str(), f);
            }
        }
        let mut imports = HashMap::new();
        imports_in(body, &mut imports);
        FileScope {
            path,
            source,
            defs,
            imports,
        }
    }
}

/// Judges hook `f`, defined in `path` whose module body is `body`.
pub fn judge(
    f: &ast::StmtFunctionDef,
    path: &Path,
    source: &str,
    body: &[Stmt],
    finder: &ModuleFinder,
) -> Verdict {
    let scope = FileScope::new(path.to_path_buf(), source, body);
    let mut judge = Judge {
        finder,
        marks: Vec::new(),
        unknown: None,
        depth: 0,
        visited: Vec::new(),
    };
    judge.function(f, &scope);
    match (judge.unknown, judge.marks.is_empty()) {
        (Some(why), _) => Verdict::Unknown(why),
        (None, false) => Verdict::MayCarry(judge.marks),
        (None, true) => Verdict::NoChange,
    }
}

struct Judge<'f> {
    finder: &'f ModuleFinder<'f>,
    marks: Vec<String>,
    unknown: Option<String>,
    depth: u32,
    visited: Vec<(PathBuf, String)>,
}

fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr)),
        _ => None,
    }
}

fn line_of(source: &str, at: TextSize) -> usize {
    source
        .get(..at.to_usize())
        .map_or(0, |s| s.bytes().filter(|&b| b == b'\n').count())
        + 1
}

impl Judge<'_> {
    fn unknown(&mut self, scope: &FileScope, at: TextSize, why: String) {
        if self.unknown.is_none() {
            let file = scope
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.unknown = Some(format!("{why} ({file}:{})", line_of(scope.source, at)));
        }
    }

    fn function(&mut self, f: &ast::StmtFunctionDef, scope: &FileScope) {
        let key = (scope.path.clone(), f.name.to_string());
        if self.visited.contains(&key) {
            return;
        }
        self.visited.push(key);
        // Names assigned in the body (`skip = pytest.mark.skip(...)`) and
        // imports made inside it.
        let mut locals: HashMap<&str, &Expr> = HashMap::new();
        let mut local_imports = HashMap::new();
        collect_locals(&f.body, &mut locals, &mut local_imports);
        let items_param = f
            .parameters
            .args
            .iter()
            .map(|a| a.parameter.name.as_str())
            .find(|n| *n == "items");
        let mut v = BodyVisitor {
            judge: self,
            scope,
            locals: &locals,
            local_imports: &local_imports,
            items_param,
        };
        for s in f.body.iter() {
            v.visit_stmt(s);
        }
    }

    /// The mark an `add_marker` argument is, following local names.
    fn mark_name(&self, e: &Expr, locals: &HashMap<&str, &Expr>) -> Option<String> {
        let e = match e {
            Expr::Name(n) => locals.get(n.id.as_str()).copied()?,
            other => other,
        };
        let callee = match e {
            Expr::Call(c) => c.func.as_ref(),
            other => other,
        };
        // `item.add_marker("name")` adds a mark by name.
        if let Expr::StringLiteral(s) = e {
            return Some(s.value.to_str().to_string());
        }
        let d = dotted(callee)?;
        let rest = d
            .strip_prefix("pytest.mark.")
            .or_else(|| d.strip_prefix("mark."))?;
        (!rest.contains('.')).then(|| rest.to_string())
    }

    fn helper(&mut self, name: &str, scope: &FileScope, at: TextSize, passes_items: bool) {
        if self.depth >= MAX_HELPER_DEPTH {
            if passes_items {
                self.unknown(
                    scope,
                    at,
                    format!("helper `{name}` is nested too deep to follow"),
                );
            }
            return;
        }
        if let Some(f) = scope.defs.get(name) {
            self.depth += 1;
            self.function(f, scope);
            self.depth -= 1;
            return;
        }
        let Some((module, level, orig)) = scope.imports.get(name).cloned() else {
            return;
        };
        let resolved = (self.finder)(&scope.path, &module, level).and_then(|path| {
            let source = std::fs::read_to_string(&path).ok()?;
            Some((path, source))
        });
        let Some((path, source)) = resolved else {
            if passes_items {
                self.unknown(
                    scope,
                    at,
                    format!("calls `{name}` (from `{module}`) with the items; its code is not in the project"),
                );
            }
            return;
        };
        let Ok(parsed) = ruff_python_parser::parse_module(&source) else {
            if passes_items {
                self.unknown(
                    scope,
                    at,
                    format!("`{name}` is in a file that does not parse"),
                );
            }
            return;
        };
        let body = &parsed.syntax().body;
        let inner = FileScope::new(path, &source, body);
        match inner.defs.get(orig.as_str()) {
            Some(f) => {
                self.depth += 1;
                self.function(f, &inner);
                self.depth -= 1;
            }
            None if passes_items => {
                self.unknown(scope, at, format!("helper `{name}` could not be found"))
            }
            None => {}
        }
    }
}

fn collect_locals<'a>(
    body: &'a [Stmt],
    locals: &mut HashMap<&'a str, &'a Expr>,
    imports: &mut HashMap<String, (String, u32, String)>,
) {
    struct Locals<'a, 'm> {
        locals: &'m mut HashMap<&'a str, &'a Expr>,
        imports: &'m mut HashMap<String, (String, u32, String)>,
    }
    impl<'a> Visitor<'a> for Locals<'a, '_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            self.locals.insert(n.id.as_str(), &a.value);
                        }
                    }
                }
                Stmt::ImportFrom(_) => {
                    imports_in(std::slice::from_ref(stmt), self.imports);
                }
                _ => walk_stmt(self, stmt),
            }
        }
    }
    let mut v = Locals { locals, imports };
    for s in body {
        v.visit_stmt(s);
    }
}

struct BodyVisitor<'j, 'f, 's, 'a> {
    judge: &'j mut Judge<'f>,
    scope: &'s FileScope<'s>,
    locals: &'j HashMap<&'a str, &'a Expr>,
    local_imports: &'j HashMap<String, (String, u32, String)>,
    items_param: Option<&'j str>,
}

/// Attributes whose writes change an item's id or marks.
const ITEM_STATE: [&str; 6] = [
    "own_markers",
    "keywords",
    "_nodeid",
    "name",
    "callspec",
    "fixturenames",
];

impl<'a> Visitor<'a> for BodyVisitor<'_, '_, '_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
            Stmt::Assign(a) => {
                for t in &a.targets {
                    let written = match t {
                        Expr::Attribute(at) => Some(at.attr.as_str()),
                        Expr::Subscript(s) => match s.value.as_ref() {
                            Expr::Attribute(at) => Some(at.attr.as_str()),
                            _ => None,
                        },
                        _ => None,
                    };
                    if let Some(attr) = written.filter(|a| ITEM_STATE.contains(a)) {
                        self.judge.unknown(
                            self.scope,
                            t.range().start(),
                            format!("writes `.{attr}` of collected items"),
                        );
                    }
                }
            }
            Stmt::AugAssign(a) => {
                if let (Expr::Name(n), Some(items)) = (a.target.as_ref(), self.items_param) {
                    if n.id.as_str() == items {
                        self.judge.unknown(
                            self.scope,
                            stmt.range().start(),
                            "adds to `items`".into(),
                        );
                    }
                }
            }
            _ => {}
        }
        walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(c) = expr {
            let at = expr.range().start();
            match c.func.as_ref() {
                Expr::Attribute(a) if a.attr.as_str() == "add_marker" => {
                    match c
                        .arguments
                        .args
                        .first()
                        .and_then(|m| self.judge.mark_name(m, self.locals))
                    {
                        Some(name) if SKIP_MARKS.contains(&name.as_str()) => {}
                        Some(name) => {
                            if !self.judge.marks.contains(&name) {
                                self.judge.marks.push(name);
                            }
                        }
                        None => self.judge.unknown(
                            self.scope,
                            at,
                            "adds a mark that is not known statically".into(),
                        ),
                    }
                }
                Expr::Attribute(a) if a.attr.as_str() == "from_parent" => {
                    self.judge
                        .unknown(self.scope, at, "creates collection nodes".into())
                }
                Expr::Attribute(a) if matches!(a.attr.as_str(), "append" | "extend" | "insert") => {
                    if let (Expr::Name(n), Some(items)) = (a.value.as_ref(), self.items_param) {
                        if n.id.as_str() == items {
                            self.judge.unknown(self.scope, at, "adds to `items`".into());
                        }
                    }
                    if let Expr::Attribute(inner) = a.value.as_ref() {
                        if ITEM_STATE.contains(&inner.attr.as_str()) {
                            self.judge.unknown(
                                self.scope,
                                at,
                                format!("changes `.{}` of collected items", inner.attr),
                            );
                        }
                    }
                }
                Expr::Name(n) => {
                    let name = n.id.as_str();
                    let passes_items = c
                        .arguments
                        .args
                        .iter()
                        .chain(c.arguments.keywords.iter().map(|k| &k.value))
                        .any(|a| matches!(a, Expr::Name(_)));
                    if let Some(imp) = self.local_imports.get(name) {
                        // Imported inside the hook: resolve like a module import.
                        let mut scope = FileScope {
                            path: self.scope.path.clone(),
                            source: self.scope.source,
                            defs: HashMap::new(),
                            imports: HashMap::new(),
                        };
                        scope.imports.insert(name.to_string(), imp.clone());
                        self.judge.helper(name, &scope, at, passes_items);
                    } else {
                        self.judge.helper(name, self.scope, at, passes_items);
                    }
                }
                _ => {}
            }
        }
        if !matches!(expr, Expr::Lambda(_)) {
            walk_expr(self, expr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(src: &str) -> Verdict {
        let parsed = ruff_python_parser::parse_module(src).unwrap();
        let body = &parsed.syntax().body;
        let f = body
            .iter()
            .find_map(|s| match s {
                Stmt::FunctionDef(f) if f.name.as_str().starts_with("pytest_") => Some(f),
                _ => None,
            })
            .unwrap();
        judge(f, Path::new("/p/conftest.py"), src, body, &|_, _, _| None)
    }

    #[test]
    fn skipping_and_deselecting_change_nothing() {
        let v = verdict(
            "import pytest\ndef _has(item, name):\n    return any(m.name == name for m in item.own_markers)\ndef pytest_collection_modifyitems(config, items):\n    skip = pytest.mark.skip(reason='x')\n    keep = []\n    for item in items:\n        if _has(item, 'gpu'):\n            item.add_marker(skip)\n        else:\n            keep.append(item)\n    items[:] = keep\n    config.hook.pytest_deselected(items=[])\n    items.sort(key=lambda i: i.name)\n",
        );
        assert_eq!(v, Verdict::NoChange);
    }

    #[test]
    fn literal_marks_may_be_carried() {
        let v = verdict("import pytest\ndef pytest_collection_modifyitems(items):\n    for item in items:\n        if 'gpu' in item.nodeid:\n            item.add_marker(pytest.mark.gpu)\n            item.add_marker('slow')\n");
        assert_eq!(v, Verdict::MayCarry(vec!["gpu".into(), "slow".into()]));
    }

    #[test]
    fn unknown_code_still_flags_with_a_reason() {
        let cases = [
            ("def pytest_collection_modifyitems(items):\n    for i in items:\n        i.add_marker(getattr(pytest.mark, i.name))\n", "not known statically"),
            ("def pytest_collection_modifyitems(items):\n    items.append(make())\n", "adds to `items`"),
            ("def pytest_collection_modifyitems(items):\n    for i in items:\n        i._nodeid = 'x'\n", "_nodeid"),
            ("from somewhere import tag\ndef pytest_collection_modifyitems(items):\n    tag(items)\n", "not in the project"),
            ("def pytest_collection_modifyitems(items):\n    for i in items:\n        i.own_markers.append(m)\n", "own_markers"),
        ];
        for (src, why) in cases {
            match verdict(src) {
                Verdict::Unknown(reason) => assert!(reason.contains(why), "{reason}"),
                other => panic!("{src}: {other:?}"),
            }
        }
    }

    #[test]
    fn recursive_helpers_terminate() {
        let v = verdict("def a(items):\n    b(items)\ndef b(items):\n    a(items)\ndef pytest_collection_modifyitems(items):\n    a(items)\n");
        assert_eq!(v, Verdict::NoChange);
    }
}
