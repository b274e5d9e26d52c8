//! One Python module reduced to what collection needs: its top-level names
//! in `__dict__` order (functions, classes, imports), each with the marks
//! written on it, and its `pytestmark`. Built from the AST in one pass; the
//! AST is dropped afterwards so memory stays per-file.

use std::collections::HashMap;
use std::sync::Arc;

use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{self as ast, Expr, Operator, Stmt};
use ruff_text_size::{Ranged, TextSize};
use tollgate_inventory::{MarkSource, Severity};

use crate::condition::static_truth;
use crate::fixtures::{argnames, fixture_decl, FixtureDecl};
use crate::value::{Binding, EnumKind, ImportLookup, MarkDeco, NamedKind, Scope, Value};

/// Maps byte offsets to 1-based lines and columns.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    pub fn line(&self, offset: TextSize) -> u32 {
        let off = offset.to_usize();
        self.starts.partition_point(|&s| s <= off) as u32
    }

    pub fn line_col(&self, source: &str, offset: TextSize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts.get(line as usize - 1).copied().unwrap_or(0);
        let col = source
            .get(start..offset.to_usize())
            .map(|s| s.chars().count() as u32 + 1)
            .unwrap_or(1);
        (line, col)
    }
}

/// A mark attached to a function or class, where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedMark {
    pub mark: MarkDeco,
    pub file: Arc<str>,
    pub line: u32,
    pub source: MarkSource,
}

/// A problem found while modelling a module.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FuncDef {
    pub name: String,
    pub line: u32,
    /// 1-based column of the name (of the lambda for `test_x = lambda: ...`).
    pub column: u32,
    pub file: Arc<str>,
    /// Decorated with `@pytest.fixture` (never a test).
    pub is_fixture: bool,
    /// Decorated with `@property` and the like (not callable).
    pub is_property: bool,
    /// Contains `yield`: pytest refuses it as a test.
    pub is_generator: bool,
    /// `async def` (pytest-asyncio's auto mode marks these `asyncio`).
    pub is_async: bool,
    /// `func.__test__ = ...` is not tracked; `None` means unset.
    pub marks: Vec<PlacedMark>,
    /// Why some decorator marks could not be resolved.
    pub dynamic_marks: Option<String>,
    /// The fixtures its arguments request (`self` dropped for methods).
    pub argnames: Vec<String>,
    /// What it declares when it is a `@pytest.fixture`.
    pub fixture: Option<FixtureDecl>,
}

/// A base class as written.
#[derive(Debug, Clone, PartialEq)]
pub enum BaseRef {
    Local(Arc<ClassDef>),
    Imported {
        module: String,
        level: u32,
        name: String,
    },
    /// A dotted path outside the project (`unittest.TestCase`, `object`).
    External(String),
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassDef {
    pub name: String,
    pub line: u32,
    pub file: Arc<str>,
    pub bases: Vec<BaseRef>,
    pub entries: Vec<(String, Entry)>,
    /// Body `pytestmark` first, then decorators bottom-up (as `store_mark` does).
    pub marks: Vec<PlacedMark>,
    pub dynamic_marks: Option<String>,
    pub defines_init: bool,
    pub defines_new: bool,
    /// `__test__ = True/False` in the body.
    pub test_attr: Option<bool>,
    pub defines_generate_tests: bool,
    /// Methods decorated `@abstractmethod` in this body.
    pub abstract_methods: Vec<String>,
    /// `metaclass=ABCMeta` given explicitly.
    pub abc_metaclass: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Function(Arc<FuncDef>),
    Class(Arc<ClassDef>),
    /// `from module import name` of something we may have to resolve.
    Imported {
        module: String,
        level: u32,
        name: String,
        line: u32,
    },
    Other,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModuleModel {
    pub entries: Vec<(String, Entry)>,
    pub pytestmark: Vec<PlacedMark>,
    pub dynamic_marks: Option<String>,
    pub test_attr: Option<bool>,
    pub generate_tests_line: Option<u32>,
    /// A module-level `pytest.importorskip(...)` or module-level skip: the
    /// whole module may be skipped at import, depending on the environment.
    pub module_skip: Option<String>,
    pub diagnostics: Vec<ModelDiagnostic>,
    /// Module-level constants, evaluated (only for modules loaded to resolve
    /// an import).
    pub exports: HashMap<String, Value>,
    /// Tests made by code at import time (line, why): the module is kept as
    /// one `dynamic` entry besides what is collected statically.
    pub generated: Option<(u32, String)>,
    /// Every `mark.NAME` written in the module (set when `generated` is):
    /// the marks generated tests may carry.
    pub mark_names: Vec<String>,
}

impl ModuleModel {
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, e)| e)
    }
}

/// Insertion-ordered names with "first position, last value" semantics,
/// like a Python `__dict__`.
#[derive(Default)]
struct OrderedNames {
    entries: Vec<(String, Entry)>,
    index: HashMap<String, usize>,
}

impl OrderedNames {
    fn set(&mut self, name: &str, entry: Entry) {
        match self.index.get(name) {
            Some(&i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    slot.1 = entry;
                }
            }
            None => {
                self.index.insert(name.to_string(), self.entries.len());
                self.entries.push((name.to_string(), entry));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&Entry> {
        self.index
            .get(name)
            .and_then(|&i| self.entries.get(i))
            .map(|(_, e)| e)
    }
}

/// Statements executed at the level of a module or class body, looking
/// through `if`/`try`/`with` (both branches of an `if` we cannot evaluate:
/// definitions under `if TYPE_CHECKING`/`try: import` are overwhelmingly
/// meant to exist).
pub(crate) fn flatten_body<'a>(body: &'a [Stmt], out: &mut Vec<&'a Stmt>) {
    let mut marked = Vec::new();
    flatten_body_marked(body, false, &mut marked);
    out.extend(marked.into_iter().map(|(stmt, _)| stmt));
}

/// [`flatten_body`], telling for each statement whether it sits under an
/// `if` whose condition is not known statically (it may never run).
pub(crate) fn flatten_body_marked<'a>(
    body: &'a [Stmt],
    uncertain: bool,
    out: &mut Vec<(&'a Stmt, bool)>,
) {
    for stmt in body {
        match stmt {
            Stmt::If(s) => {
                // Branches whose condition is known for the target
                // interpreter are taken exactly; unknown ones are all kept.
                let mut conditions = std::iter::once(Some(&*s.test))
                    .chain(s.elif_else_clauses.iter().map(|c| c.test.as_ref()));
                let mut bodies =
                    std::iter::once(&s.body).chain(s.elif_else_clauses.iter().map(|c| &c.body));
                let mut all_known = true;
                for (cond, body) in conditions.by_ref().zip(bodies.by_ref()) {
                    match cond.map(static_truth) {
                        // `else:`
                        None => {
                            flatten_body_marked(body, uncertain || !all_known, out);
                            break;
                        }
                        Some(Some(true)) if all_known => {
                            flatten_body_marked(body, uncertain, out);
                            break;
                        }
                        Some(Some(false)) => {}
                        Some(_) => {
                            all_known = false;
                            flatten_body_marked(body, true, out);
                        }
                    }
                }
            }
            Stmt::Try(s) => {
                // Assume the `try` body succeeds (imports available): the
                // `except` branches are the fallback pytest's run would skip.
                flatten_body_marked(&s.body, uncertain, out);
                flatten_body_marked(&s.orelse, uncertain, out);
                flatten_body_marked(&s.finalbody, uncertain, out);
            }
            Stmt::With(s) => flatten_body_marked(&s.body, uncertain, out),
            other => out.push((other, uncertain)),
        }
    }
}

fn dotted_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted_name(&a.value)?, a.attr)),
        _ => None,
    }
}

fn last_segment(expr: &Expr) -> Option<String> {
    let target = match expr {
        Expr::Call(c) => c.func.as_ref(),
        other => other,
    };
    dotted_name(target).map(|d| d.rsplit('.').next().unwrap_or("").to_string())
}

const ENUM_BASES: [&str; 5] = ["Enum", "Flag", "IntEnum", "IntFlag", "StrEnum"];

/// Collects module-level bindings for the evaluator.
pub(crate) fn collect_bindings<'a>(stmts: &[&'a Stmt]) -> HashMap<&'a str, Binding<'a>> {
    let mut bindings: HashMap<&'a str, Binding<'a>> = HashMap::new();
    for stmt in stmts {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    match t {
                        Expr::Name(n) => {
                            bindings.insert(n.id.as_str(), Binding::Expr(&a.value));
                        }
                        Expr::Tuple(ast::ExprTuple { elts, .. })
                        | Expr::List(ast::ExprList { elts, .. }) => {
                            let plain = elts.iter().all(|e| matches!(e, Expr::Name(_)));
                            for (index, e) in elts.iter().enumerate() {
                                if let Expr::Name(n) = e {
                                    bindings.insert(
                                        n.id.as_str(),
                                        if plain {
                                            Binding::Unpack {
                                                value: &a.value,
                                                index,
                                                len: elts.len(),
                                            }
                                        } else {
                                            Binding::Opaque
                                        },
                                    );
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(v)) = (a.target.as_ref(), &a.value) {
                    bindings.insert(n.id.as_str(), Binding::Expr(v));
                }
            }
            // `NAME += ...` is applied by `apply_mutations`.
            Stmt::FunctionDef(f) => {
                bindings.insert(f.name.as_str(), Binding::Function);
            }
            Stmt::ClassDef(c) => {
                let enum_kind = enum_kind_of(c, &bindings);
                let mut members = HashMap::new();
                if enum_kind.is_some() {
                    for s in c.body.iter() {
                        if let Stmt::Assign(a) = s {
                            for t in &a.targets {
                                if let Expr::Name(n) = t {
                                    members.insert(n.id.as_str(), a.value.as_ref());
                                }
                            }
                        }
                    }
                }
                bindings.insert(c.name.as_str(), Binding::Class { enum_kind, members });
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let full = alias.name.to_string();
                    match &alias.asname {
                        Some(as_) => {
                            bindings.insert(as_.as_str(), Binding::Module(full));
                        }
                        None => {
                            let first = alias.name.as_str().split('.').next().unwrap_or("");
                            bindings.insert(first, Binding::Module(first.to_string()));
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map(|m| m.to_string()).unwrap_or_default();
                for alias in &i.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    bindings.insert(
                        bound.as_str(),
                        Binding::From {
                            module: module.clone(),
                            level: i.level,
                            name: alias.name.to_string(),
                        },
                    );
                }
            }
            Stmt::For(f) => {
                if let Expr::Name(n) = f.target.as_ref() {
                    bindings.insert(n.id.as_str(), Binding::Opaque);
                }
            }
            _ => {}
        }
    }
    bindings
}

/// Applies module-level mutations of names to their bindings: a name
/// changed by `.append`/`.extend`/`+=` only in straight-line module code
/// gets those changes applied in order; a name changed any other way, in a
/// loop or under a condition not known statically (`X = []` then
/// `if HAS_VLLM: X.append("vllm")`) becomes unknown — never guessed.
pub(crate) fn apply_mutations<'a>(
    marked: &[(&'a Stmt, bool)],
    bindings: &mut HashMap<&'a str, Binding<'a>>,
) {
    use crate::value::ListOp;
    /// (name, the op and its argument when it can be followed, where)
    type Mutation<'a> = (&'a str, Option<(ListOp, &'a Expr)>, TextSize);
    struct Mutations<'a> {
        /// (name, op with its argument, or None when it cannot be followed)
        found: Vec<Mutation<'a>>,
        in_loop: bool,
    }
    impl<'a> Mutations<'a> {
        fn call(&mut self, e: &'a Expr, at: TextSize) {
            let Expr::Call(c) = e else { return };
            let Expr::Attribute(a) = c.func.as_ref() else {
                return;
            };
            let Expr::Name(n) = a.value.as_ref() else {
                return;
            };
            const MUTATORS: [&str; 11] = [
                "append",
                "extend",
                "insert",
                "update",
                "add",
                "pop",
                "remove",
                "clear",
                "setdefault",
                "sort",
                "reverse",
            ];
            if !MUTATORS.contains(&a.attr.as_str()) {
                return;
            }
            let op = match (a.attr.as_str(), c.arguments.args.first()) {
                (_, _) if self.in_loop || c.arguments.args.len() != 1 => None,
                ("append", Some(x)) => Some((ListOp::Append, x)),
                ("extend", Some(x)) => Some((ListOp::Extend, x)),
                _ => None,
            };
            self.found.push((n.id.as_str(), op, at));
        }
    }
    impl<'a> Visitor<'a> for Mutations<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                Stmt::For(_) | Stmt::While(_) => {
                    let was = self.in_loop;
                    self.in_loop = true;
                    walk_stmt(self, stmt);
                    self.in_loop = was;
                }
                Stmt::AugAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        let op = (!self.in_loop && a.op == Operator::Add)
                            .then_some((ListOp::Extend, &*a.value));
                        self.found.push((n.id.as_str(), op, stmt.range().start()));
                    }
                    walk_stmt(self, stmt);
                }
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let Expr::Subscript(sub) = t {
                            if let Expr::Name(n) = sub.value.as_ref() {
                                self.found.push((n.id.as_str(), None, stmt.range().start()));
                            }
                        }
                    }
                    walk_stmt(self, stmt);
                }
                Stmt::Expr(e) => {
                    self.call(&e.value, stmt.range().start());
                    walk_stmt(self, stmt);
                }
                _ => walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if !matches!(expr, Expr::Lambda(_)) {
                walk_expr(self, expr);
            }
        }
    }
    let mut ops: HashMap<&'a str, Option<Vec<(ListOp, &'a Expr)>>> = HashMap::new();
    for &(stmt, uncertain) in marked {
        let mut m = Mutations {
            found: Vec::new(),
            in_loop: false,
        };
        m.visit_stmt(stmt);
        for (name, op, at) in m.found {
            if name == "pytestmark" {
                continue;
            }
            // Only changes after the binding's (last) assignment count.
            if let Some(Binding::Expr(e)) = bindings.get(name) {
                if e.range().start() > at {
                    continue;
                }
            }
            let slot = ops.entry(name).or_insert_with(|| Some(Vec::new()));
            match (op, uncertain, slot.as_mut()) {
                (Some(op), false, Some(list)) => list.push(op),
                _ => *slot = None,
            }
        }
    }
    for (name, changes) in ops {
        let Some(binding) = bindings.get_mut(name) else {
            continue;
        };
        *binding = match (&*binding, changes) {
            (Binding::Expr(base), Some(changes)) => Binding::Mutated { base, ops: changes },
            (Binding::Expr(_) | Binding::Opaque, _) => Binding::Opaque,
            (other, _) => other.clone(),
        };
    }
}

fn enum_kind_of(c: &ast::StmtClassDef, bindings: &HashMap<&str, Binding>) -> Option<EnumKind> {
    let args = c.arguments.as_ref()?;
    let mut kind = None;
    // `class C(str, Enum)`: ids use the str value (pytest checks `isinstance(v, str)` first).
    let str_mixin = args
        .args
        .iter()
        .any(|b| last_segment(b).as_deref() == Some("str"));
    for base in args.args.iter() {
        let Some(seg) = last_segment(base) else {
            continue;
        };
        if ENUM_BASES.contains(&seg.as_str()) {
            let k = if str_mixin || matches!(seg.as_str(), "IntEnum" | "IntFlag" | "StrEnum") {
                EnumKind::ValueStr
            } else {
                EnumKind::Qualified
            };
            kind = Some(kind.unwrap_or(k));
        } else if let Some(Binding::Class {
            enum_kind: Some(k), ..
        }) = bindings.get(seg.as_str())
        {
            kind = Some(*k);
        }
    }
    kind
}

struct YieldFinder {
    found: bool,
}

impl<'a> Visitor<'a> for YieldFinder {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            walk_stmt(self, stmt);
        }
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Yield(_) | Expr::YieldFrom(_) => self.found = true,
            Expr::Lambda(_) => {}
            _ => walk_expr(self, expr),
        }
    }
}

/// Module-level functions that build marks, with the mark names they use
/// (`def dual(p): ... return pytest.mark.parametrize(p, [...])(f)` →
/// `dual: [parametrize]`). Fixtures are not decorators and are left out.
fn mark_factories<'a>(stmts: &[&'a Stmt]) -> HashMap<&'a str, Vec<String>> {
    let mut out = HashMap::new();
    for stmt in stmts {
        let Stmt::FunctionDef(f) = stmt else { continue };
        let mut finder = MarkNameFinder { names: Vec::new() };
        for s in f.body.iter() {
            finder.visit_stmt(s);
        }
        if !finder.names.is_empty() {
            out.insert(f.name.as_str(), finder.names);
        }
    }
    out
}

/// Collects `NAME` of every `mark.NAME` / `pytest.mark.NAME` expression.
struct MarkNameFinder {
    names: Vec<String>,
}

impl<'a> Visitor<'a> for MarkNameFinder {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Attribute(a) = expr {
            let on_mark = match a.value.as_ref() {
                Expr::Name(n) => n.id.as_str() == "mark",
                Expr::Attribute(inner) => inner.attr.as_str() == "mark",
                _ => false,
            };
            if on_mark && !self.names.iter().any(|n| n == a.attr.as_str()) {
                self.names.push(a.attr.to_string());
            }
        }
        walk_expr(self, expr);
    }
}

/// Every `mark.NAME` written anywhere in `source`, strings included (code
/// run by `exec` is a string), in order of first appearance.
fn mark_names_in_text(source: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let bytes = source.as_bytes();
    for (i, _) in source.match_indices("mark.") {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let rest = &source[i + 5..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Builds [`ModuleModel`]s; one per file, borrowing the file's source.
pub struct ModelBuilder<'a> {
    scope: Scope<'a>,
    lines: LineIndex,
    file: Arc<str>,
    diagnostics: Vec<ModelDiagnostic>,
    /// Module-level functions whose body builds marks (`pytest.mark.x(...)`):
    /// used as decorators, they apply marks we cannot know statically.
    mark_factories: HashMap<&'a str, Vec<String>>,
    /// Local classes seen so far (for base resolution).
    classes: HashMap<String, Arc<ClassDef>>,
    /// Classes defined so far in each enclosing class body, innermost last
    /// (a nested class's bases are evaluated in that scope).
    class_scopes: Vec<HashMap<String, Arc<ClassDef>>>,
    /// Test-like names bound to the result of a call (line, name).
    call_created: Vec<(u32, String)>,
}

/// The evaluation scope of a module: its top-level bindings (with list
/// mutations applied), star imports and functions.
pub(crate) fn module_scope<'a>(
    source: &'a str,
    body: &'a [Stmt],
    imports: &'a dyn ImportLookup,
    import_depth: u32,
) -> Scope<'a> {
    let mut marked = Vec::new();
    flatten_body_marked(body, false, &mut marked);
    let stmts: Vec<&Stmt> = marked.iter().map(|(s, _)| *s).collect();
    let mut bindings = collect_bindings(&stmts);
    apply_mutations(&marked, &mut bindings);
    let star_imports = stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::ImportFrom(i) if i.names.iter().any(|a| a.name.as_str() == "*") => Some((
                i.module.as_ref().map(|m| m.to_string()).unwrap_or_default(),
                i.level,
            )),
            _ => None,
        })
        .collect();
    Scope {
        source,
        bindings,
        imports,
        import_depth,
        star_imports,
        functions: stmts
            .iter()
            .filter_map(|s| match s {
                Stmt::FunctionDef(f) => Some((f.name.as_str(), f)),
                _ => None,
            })
            .collect(),
        frames: Default::default(),
        steps: std::cell::Cell::new(crate::value::STEP_BUDGET),
        guard: Default::default(),
    }
}

/// Parses and models `source`. Returns the parse error (line, column,
/// message) when the file is not valid Python.
pub fn build_module(
    source: &str,
    file: Arc<str>,
    imports: &dyn ImportLookup,
    import_depth: u32,
    with_exports: bool,
) -> Result<ModuleModel, (u32, u32, String)> {
    let parsed = ruff_python_parser::parse_module(source).map_err(|e| {
        let lines = LineIndex::new(source);
        let (line, col) = lines.line_col(source, e.location.start());
        (line, col, e.error.to_string())
    })?;
    let module = parsed.syntax();
    let mut stmts = Vec::new();
    flatten_body(&module.body, &mut stmts);
    let mut builder = ModelBuilder {
        scope: module_scope(source, &module.body, imports, import_depth),
        lines: LineIndex::new(source),
        file,
        diagnostics: Vec::new(),
        mark_factories: mark_factories(&stmts),
        classes: HashMap::new(),
        class_scopes: Vec::new(),
        call_created: Vec::new(),
    };
    let mut model = builder.module(&stmts);
    if let Some(g) = crate::generation::find(&module.body) {
        model.generated = Some((builder.lines.line(g.offset), g.what));
    } else if let Some((line, name)) = builder.call_created.first() {
        model.generated = Some((
            *line,
            format!("`{name}` is created by a call at import time"),
        ));
    }
    if model.generated.is_some() {
        model.mark_names = mark_names_in_text(source);
    }
    if with_exports {
        for name in builder.scope.bindings.keys() {
            if let Some(v) = builder.scope.eval_binding(name, 0) {
                model.exports.insert(name.to_string(), v);
            }
        }
    }
    model.diagnostics = builder.diagnostics;
    Ok(model)
}

impl<'a> ModelBuilder<'a> {
    fn line(&self, node: &impl Ranged) -> u32 {
        self.lines.line(node.range().start())
    }

    fn column(&self, node: &impl Ranged) -> u32 {
        self.lines
            .line_col(self.scope.source, node.range().start())
            .1
    }

    fn diag(&mut self, node: &impl Ranged, code: &'static str, message: String) {
        let (line, column) = self.lines.line_col(self.scope.source, node.range().start());
        self.diagnostics.push(ModelDiagnostic {
            severity: Severity::Warning,
            code,
            line,
            column,
            message,
        });
    }

    fn module(&mut self, stmts: &[&'a Stmt]) -> ModuleModel {
        let mut names = OrderedNames::default();
        let mut model = ModuleModel::default();
        let mut pytestmark: Option<(Vec<PlacedMark>, Option<String>)> = None;
        for stmt in stmts {
            match stmt {
                Stmt::FunctionDef(f) => {
                    if f.name.as_str() == "pytest_generate_tests" {
                        model.generate_tests_line = Some(self.line(&f.name));
                    }
                    let def = self.function(f);
                    names.set(f.name.as_str(), Entry::Function(Arc::new(def)));
                }
                Stmt::ClassDef(c) => {
                    let def = Arc::new(self.class(c));
                    self.classes.insert(c.name.to_string(), def.clone());
                    names.set(c.name.as_str(), Entry::Class(def));
                }
                Stmt::ImportFrom(i) => {
                    let module = i.module.as_ref().map(|m| m.to_string()).unwrap_or_default();
                    for alias in &i.names {
                        if alias.name.as_str() == "*" {
                            self.star_import(&module, i.level, stmt, &mut names);
                            continue;
                        }
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                        names.set(
                            bound.as_str(),
                            Entry::Imported {
                                module: module.clone(),
                                level: i.level,
                                name: alias.name.to_string(),
                                line: self.line(*stmt),
                            },
                        );
                    }
                }
                Stmt::Import(i) => {
                    for alias in &i.names {
                        let bound =
                            alias
                                .asname
                                .as_ref()
                                .map(|a| a.to_string())
                                .unwrap_or_else(|| {
                                    alias
                                        .name
                                        .as_str()
                                        .split('.')
                                        .next()
                                        .unwrap_or("")
                                        .to_string()
                                });
                        names.set(&bound, Entry::Other);
                    }
                }
                Stmt::Assign(a) => {
                    self.note_module_skip(&a.value, &mut model);
                    self.note_call_created_classes(a);
                    for target in &a.targets {
                        let Expr::Name(n) = target else { continue };
                        let name = n.id.as_str();
                        match name {
                            "pytestmark" => {
                                pytestmark =
                                    Some(self.marks_value(&a.value, MarkSource::ModulePytestmark));
                            }
                            "__test__" => model.test_attr = self.bool_literal(&a.value),
                            _ => {}
                        }
                        // `TestAlias = TestFoo` binds the same object again.
                        let entry = self.assigned_entry(name, &a.value, &names);
                        names.set(name, entry);
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        if let (Some(v), "pytestmark") = (&a.value, n.id.as_str()) {
                            pytestmark = Some(self.marks_value(v, MarkSource::ModulePytestmark));
                        }
                        names.set(n.id.as_str(), Entry::Other);
                    }
                }
                Stmt::AugAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        if n.id.as_str() == "pytestmark" && a.op == Operator::Add {
                            let (more, dynamic) =
                                self.marks_value(&a.value, MarkSource::ModulePytestmark);
                            let (marks, d) = pytestmark.get_or_insert_with(Default::default);
                            marks.extend(more);
                            if dynamic.is_some() {
                                *d = dynamic;
                            }
                        }
                    }
                }
                Stmt::Expr(e) => {
                    self.note_module_skip(&e.value, &mut model);
                    // `pytestmark.append(mark)` / `.extend([...])`
                    if let Expr::Call(c) = e.value.as_ref() {
                        if let Expr::Attribute(attr) = c.func.as_ref() {
                            if matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "pytestmark")
                                && matches!(attr.attr.as_str(), "append" | "extend")
                            {
                                if let Some(arg) = c.arguments.args.first() {
                                    let (more, dynamic) =
                                        self.marks_value(arg, MarkSource::ModulePytestmark);
                                    let (marks, d) =
                                        pytestmark.get_or_insert_with(Default::default);
                                    marks.extend(more);
                                    if dynamic.is_some() {
                                        *d = dynamic;
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some((marks, dynamic)) = pytestmark {
            model.pytestmark = marks;
            model.dynamic_marks = dynamic;
        }
        model.entries = names.entries;
        model
    }

    /// `from module import *`: every name it binds becomes an import entry
    /// (test classes and functions among them are collected here, as
    /// pytest does). A relative star import we cannot resolve is reported.
    fn star_import(&mut self, module: &str, level: u32, stmt: &Stmt, names: &mut OrderedNames) {
        match self.scope.imports.star_names(module, level) {
            Some(list) => {
                let line = self.line(stmt);
                for name in list {
                    names.set(
                        &name,
                        Entry::Imported {
                            module: module.to_string(),
                            level,
                            name: name.clone(),
                            line,
                        },
                    );
                }
            }
            None if level > 0 => {
                let src = self.scope.src(stmt);
                self.diag(
                    stmt,
                    "unresolved-import",
                    format!("`{src}` could not be resolved statically; tests or marks it brings are not known"),
                );
            }
            None => {}
        }
    }

    /// What `name = value` binds: the same function/class for an alias, a
    /// function for a lambda, otherwise a non-test attribute.
    fn assigned_entry(&self, name: &str, value: &Expr, names: &OrderedNames) -> Entry {
        match value {
            Expr::Name(v) => names.get(v.id.as_str()).cloned().unwrap_or(Entry::Other),
            Expr::Lambda(l) => Entry::Function(Arc::new(FuncDef {
                name: name.to_string(),
                line: self.line(l),
                column: self.column(l),
                file: self.file.clone(),
                is_fixture: false,
                is_property: false,
                is_generator: false,
                is_async: false,
                marks: Vec::new(),
                dynamic_marks: None,
                argnames: Vec::new(),
                fixture: None,
            })),
            _ => Entry::Other,
        }
    }

    /// Records `pytest.importorskip(...)` / `pytest.skip(..., allow_module_level=True)`.
    fn note_module_skip(&self, value: &Expr, model: &mut ModuleModel) {
        let Expr::Call(call) = value else { return };
        let Some(func) = dotted_name(&call.func) else {
            return;
        };
        let last = func.rsplit('.').next().unwrap_or("");
        let allow_module_level = call.arguments.keywords.iter().any(|k| {
            k.arg
                .as_ref()
                .is_some_and(|a| a.as_str() == "allow_module_level")
        });
        if last == "importorskip" || (last == "skip" && allow_module_level) {
            model.module_skip.get_or_insert_with(|| {
                format!(
                    "module may be skipped at import by `{}` (line {})",
                    self.scope.src(value),
                    self.line(value)
                )
            });
        }
    }

    fn bool_literal(&self, e: &Expr) -> Option<bool> {
        match self.scope.eval(e) {
            Value::Bool(b) => Some(b),
            Value::Int(s) => Some(s != "0"),
            Value::None => Some(false),
            _ => None,
        }
    }

    /// Evaluates a `pytestmark`-style value: one mark or a list/tuple of marks.
    fn marks_value(&mut self, e: &Expr, source: MarkSource) -> (Vec<PlacedMark>, Option<String>) {
        let line = self.line(e);
        let mut out = Vec::new();
        let mut dynamic = None;
        let push = |v: Value, out: &mut Vec<PlacedMark>, dynamic: &mut Option<String>| match v {
            Value::Mark(mark) => out.push(PlacedMark {
                mark,
                file: self.file.clone(),
                line,
                source,
            }),
            other => {
                *dynamic = Some(format!(
                    "pytestmark entry `{}` is not a mark known statically",
                    other.source_text()
                ))
            }
        };
        match self.scope.eval(e) {
            Value::List(items) | Value::Tuple(items) => {
                for item in items {
                    push(item, &mut out, &mut dynamic);
                }
            }
            other => push(other, &mut out, &mut dynamic),
        }
        if let Some(reason) = &dynamic {
            let reason = reason.clone();
            self.diag(e, "dynamic-marks", reason);
        }
        (out, dynamic)
    }

    /// Marks from decorators, in application order (bottom-most first).
    fn decorator_marks(
        &mut self,
        decorators: &[ast::Decorator],
        source: MarkSource,
    ) -> (Vec<PlacedMark>, Option<String>) {
        let mut marks = Vec::new();
        let mut dynamic = None;
        for dec in decorators.iter().rev() {
            match self.scope.eval(&dec.expression) {
                Value::Mark(mark) => marks.push(PlacedMark {
                    mark,
                    file: self.file.clone(),
                    line: self.line(dec),
                    source,
                }),
                Value::Unknown { src } if src.contains("mark.") => {
                    let reason = format!("decorator `{src}` looks like a mark but is not static");
                    self.diag(dec, "dynamic-marks", reason.clone());
                    dynamic = Some(reason);
                }
                _ if self.mark_factory(&dec.expression).is_some() => {
                    let src = self.scope.src(&dec.expression);
                    let names = self
                        .mark_factory(&dec.expression)
                        .cloned()
                        .unwrap_or_default();
                    // The names it builds are known; their arguments are not
                    // (an unknown `argnames` keeps a parametrize unexpanded).
                    marks.extend(names.into_iter().map(|name| PlacedMark {
                        mark: MarkDeco {
                            args: if name == "parametrize" {
                                vec![Value::Unknown { src: src.clone() }; 2]
                            } else {
                                Vec::new()
                            },
                            name,
                            kwargs: Vec::new(),
                        },
                        file: self.file.clone(),
                        line: self.line(dec),
                        source,
                    }));
                    let reason = format!(
                        "decorator `{src}` is a function of this module that applies marks; their arguments are not known statically"
                    );
                    self.diag(dec, "dynamic-marks", reason.clone());
                    dynamic = Some(reason);
                }
                _ => {}
            }
        }
        (marks, dynamic)
    }

    /// `Frozen_Tests, Source_Tests = util.test_both(...)`: classes made by
    /// a call cannot be collected statically; say so instead of losing them.
    fn note_call_created_classes(&mut self, a: &ast::StmtAssign) {
        if !matches!(a.value.as_ref(), Expr::Call(_)) {
            return;
        }
        let mut names: Vec<&ast::ExprName> = Vec::new();
        for target in &a.targets {
            match target {
                Expr::Name(n) => names.push(n),
                Expr::Tuple(ast::ExprTuple { elts, .. })
                | Expr::List(ast::ExprList { elts, .. }) => {
                    names.extend(elts.iter().filter_map(|e| match e {
                        Expr::Name(n) => Some(n),
                        _ => None,
                    }))
                }
                _ => {}
            }
        }
        let call = self.scope.src(a.value.as_ref());
        for n in names {
            let name = n.id.as_str();
            let class_like = name.starts_with(|c: char| c.is_ascii_uppercase())
                && name.to_ascii_lowercase().contains("test");
            if class_like {
                self.diag(
                    n,
                    "dynamic-class",
                    format!("`{name}` is created by a call at import time (`{call}`); the module is kept as one dynamic entry"),
                );
                let line = self.line(n);
                self.call_created.push((line, name.to_string()));
            }
        }
    }

    /// A class decorator that is a function of the project (defined here or
    /// imported from a project module) and not a mark: it may add, rename or
    /// replace tests (`@parameterize` generating methods).
    fn project_class_decorator(&self, decorators: &[ast::Decorator]) -> Option<String> {
        decorators.iter().find_map(|d| {
            let callee = match &d.expression {
                Expr::Call(call) => call.func.as_ref(),
                other => other,
            };
            matches!(
                self.scope.eval(callee),
                Value::Named {
                    kind: NamedKind::Function,
                    ..
                }
            )
            .then(|| self.scope.src(&d.expression))
        })
    }

    /// The mark names `@factory` / `@factory(...)` applies, where `factory`
    /// is one of the module's [`mark_factories`].
    fn mark_factory(&self, decorator: &Expr) -> Option<&Vec<String>> {
        let callee = match decorator {
            Expr::Call(call) => call.func.as_ref(),
            other => other,
        };
        let Expr::Name(n) = callee else { return None };
        if !matches!(
            self.scope.bindings.get(n.id.as_str()),
            Some(Binding::Function)
        ) {
            return None;
        }
        self.mark_factories.get(n.id.as_str())
    }

    /// `@given(...)` from hypothesis: its pytest plugin marks the test
    /// `hypothesis` (the plugin loads whenever hypothesis is installed,
    /// which a module importing it needs).
    fn hypothesis_given(&self, decorators: &[ast::Decorator]) -> Option<u32> {
        decorators.iter().find_map(|d| {
            let callee = match &d.expression {
                Expr::Call(c) => c.func.as_ref(),
                other => other,
            };
            let from_hypothesis = match callee {
                Expr::Name(n) => matches!(
                    self.scope.bindings.get(n.id.as_str()),
                    Some(Binding::From { module, name, .. })
                        if module.split('.').next() == Some("hypothesis") && name == "given"
                ),
                Expr::Attribute(a) if a.attr.as_str() == "given" => matches!(
                    a.value.as_ref(),
                    Expr::Name(n) if matches!(
                        self.scope.bindings.get(n.id.as_str()),
                        Some(Binding::Module(m)) if m == "hypothesis"
                    )
                ),
                _ => false,
            };
            from_hypothesis.then(|| self.line(d))
        })
    }

    fn function(&mut self, f: &'a ast::StmtFunctionDef) -> FuncDef {
        let (mut marks, dynamic_marks) =
            self.decorator_marks(&f.decorator_list, MarkSource::FunctionDecorator);
        if let Some(line) = self.hypothesis_given(&f.decorator_list) {
            marks.push(PlacedMark {
                mark: MarkDeco {
                    name: "hypothesis".into(),
                    args: Vec::new(),
                    kwargs: Vec::new(),
                },
                file: self.file.clone(),
                line,
                source: MarkSource::FunctionDecorator,
            });
        }
        let mut is_fixture = false;
        let mut is_property = false;
        for dec in f.decorator_list.iter() {
            match last_segment(&dec.expression).as_deref() {
                Some("fixture" | "yield_fixture") => is_fixture = true,
                Some("property" | "cached_property") => is_property = true,
                _ => {}
            }
        }
        let is_method = !self.class_scopes.is_empty();
        let mut finder = YieldFinder { found: false };
        if !f.is_async {
            for s in f.body.iter() {
                finder.visit_stmt(s);
            }
        }
        FuncDef {
            name: f.name.to_string(),
            line: self.line(&f.name),
            column: self.column(&f.name),
            file: self.file.clone(),
            is_fixture,
            is_property,
            is_generator: finder.found,
            is_async: f.is_async,
            marks,
            dynamic_marks,
            argnames: argnames(f, is_method),
            fixture: fixture_decl(f, self.line(&f.name), is_method, &|e| self.scope.eval(e)),
        }
    }

    fn base_ref(&self, base: &Expr) -> BaseRef {
        if let Expr::Name(n) = base {
            if let Some(c) = self
                .class_scopes
                .last()
                .and_then(|scope| scope.get(n.id.as_str()))
                .or_else(|| self.classes.get(n.id.as_str()))
            {
                return BaseRef::Local(c.clone());
            }
            if n.id.as_str() == "object" {
                return BaseRef::External("object".into());
            }
            if let Some(Binding::From {
                module,
                level,
                name,
            }) = self.scope.bindings.get(n.id.as_str())
            {
                let root = module.split('.').next().unwrap_or("");
                if *level == 0 && matches!(root, "unittest" | "abc" | "enum" | "typing") {
                    return BaseRef::External(format!("{module}.{name}"));
                }
                return BaseRef::Imported {
                    module: module.clone(),
                    level: *level,
                    name: name.clone(),
                };
            }
        }
        // `base.SharedTests` where `base` is a module of the project.
        if let Expr::Attribute(a) = base {
            if let Value::Module { module, level, .. } = self.scope.eval(&a.value) {
                return BaseRef::Imported {
                    module,
                    level,
                    name: a.attr.to_string(),
                };
            }
        }
        match self.scope.eval(base) {
            Value::Path { dotted, .. } => BaseRef::External(dotted),
            other => BaseRef::Unknown(other.source_text()),
        }
    }

    fn class(&mut self, c: &'a ast::StmtClassDef) -> ClassDef {
        let mut bases = Vec::new();
        let mut abc_metaclass = false;
        if let Some(args) = &c.arguments {
            for b in args.args.iter() {
                bases.push(self.base_ref(b));
            }
            for k in args.keywords.iter() {
                if k.arg.as_ref().is_some_and(|a| a.as_str() == "metaclass")
                    && last_segment(&k.value).as_deref() == Some("ABCMeta")
                {
                    abc_metaclass = true;
                }
            }
        }
        let mut body = Vec::new();
        flatten_body(&c.body, &mut body);
        let mut names = OrderedNames::default();
        let mut def = ClassDef {
            name: c.name.to_string(),
            line: self.line(&c.name),
            file: self.file.clone(),
            bases,
            entries: Vec::new(),
            marks: Vec::new(),
            dynamic_marks: None,
            defines_init: false,
            defines_new: false,
            test_attr: None,
            defines_generate_tests: false,
            abstract_methods: Vec::new(),
            abc_metaclass,
        };
        let mut body_marks: Vec<PlacedMark> = Vec::new();
        // `@dataclass` (and attrs) generate an `__init__`.
        def.defines_init = c.decorator_list.iter().any(|d| {
            let generated = matches!(
                dotted_name(match &d.expression {
                    Expr::Call(call) => call.func.as_ref(),
                    other => other,
                })
                .as_deref(),
                Some("dataclass" | "dataclasses.dataclass" | "attr.s" | "attr.attrs" | "attr.define" | "attrs.define" | "attr.frozen" | "attrs.frozen")
            );
            let init_disabled = matches!(&d.expression, Expr::Call(call) if call.arguments.keywords.iter().any(|k| {
                k.arg.as_ref().is_some_and(|a| a.as_str() == "init") && matches!(k.value, Expr::BooleanLiteral(ref b) if !b.value)
            }));
            generated && !init_disabled
        });
        self.class_scopes.push(HashMap::new());
        // Decorators in the body see the class's own names first
        // (`known_types = pytest.mark.parametrize(...)` then `@known_types`).
        let shadowed: Vec<(&'a str, Option<Binding<'a>>)> = collect_bindings(&body)
            .into_iter()
            .map(|(name, binding)| (name, self.scope.bindings.insert(name, binding)))
            .collect();
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => {
                    match f.name.as_str() {
                        "__init__" => def.defines_init = true,
                        "__new__" => def.defines_new = true,
                        "pytest_generate_tests" => def.defines_generate_tests = true,
                        _ => {}
                    }
                    if f.decorator_list
                        .iter()
                        .any(|d| last_segment(&d.expression).as_deref() == Some("abstractmethod"))
                    {
                        def.abstract_methods.push(f.name.to_string());
                    }
                    let func = self.function(f);
                    names.set(f.name.as_str(), Entry::Function(Arc::new(func)));
                }
                Stmt::ClassDef(inner) => {
                    let inner_def = Arc::new(self.class(inner));
                    if let Some(scope) = self.class_scopes.last_mut() {
                        scope.insert(inner.name.to_string(), inner_def.clone());
                    }
                    names.set(inner.name.as_str(), Entry::Class(inner_def));
                }
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        let Expr::Name(n) = t else { continue };
                        match n.id.as_str() {
                            "pytestmark" => {
                                let (marks, dynamic) =
                                    self.marks_value(&a.value, MarkSource::ClassPytestmark);
                                body_marks = marks;
                                if dynamic.is_some() {
                                    def.dynamic_marks = dynamic;
                                }
                            }
                            "__test__" => def.test_attr = self.bool_literal(&a.value),
                            "__init__" => def.defines_init = true,
                            "__new__" => def.defines_new = true,
                            _ => {}
                        }
                        let entry = self.assigned_entry(n.id.as_str(), &a.value, &names);
                        names.set(n.id.as_str(), entry);
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let Expr::Name(n) = a.target.as_ref() {
                        names.set(n.id.as_str(), Entry::Other);
                    }
                }
                _ => {}
            }
        }
        // The class scope ends with its body: later classes and functions
        // must not resolve names in it.
        self.class_scopes.pop();
        for (name, previous) in shadowed {
            match previous {
                Some(binding) => self.scope.bindings.insert(name, binding),
                None => self.scope.bindings.remove(name),
            };
        }
        let (decorator_marks, dynamic) =
            self.decorator_marks(&c.decorator_list, MarkSource::ClassDecorator);
        if dynamic.is_some() {
            def.dynamic_marks = dynamic;
        } else if let Some(src) = self.project_class_decorator(&c.decorator_list) {
            let reason = format!(
                "class decorator `@{src}` is a project function, not a mark: it may add or change tests"
            );
            self.diag(&c.name, "dynamic-class", reason.clone());
            def.dynamic_marks = Some(reason);
        }
        def.marks = body_marks;
        def.marks.extend(decorator_marks);
        def.entries = names.entries;
        def
    }
}

/// Names of entries that could be tests, for tests of this module.
#[cfg(test)]
pub fn entry_names(model: &ModuleModel) -> Vec<&str> {
    model.entries.iter().map(|(n, _)| n.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::NoImports;

    fn model(src: &str) -> ModuleModel {
        build_module(src, Arc::from("t.py"), &NoImports, 0, false).unwrap()
    }

    #[test]
    fn dict_order_keeps_first_position_last_value() {
        let m =
            model("def test_b(): pass\ndef test_a(): pass\n@pytest.mark.x\ndef test_b(): pass\n");
        assert_eq!(entry_names(&m), vec!["test_b", "test_a"]);
        let Some(Entry::Function(f)) = m.entry("test_b") else {
            panic!()
        };
        assert_eq!(f.line, 4);
        assert_eq!(f.marks[0].mark.name, "x");
    }

    #[test]
    fn decorator_marks_bottom_first_and_aliases() {
        let m = model(
            "import pytest\nfrom pytest import mark\nslow = pytest.mark.slow\n@mark.a\n@slow\n@pytest.mark.timeout(3)\ndef test_x(): pass\n",
        );
        let Some(Entry::Function(f)) = m.entry("test_x") else {
            panic!()
        };
        let names: Vec<&str> = f.marks.iter().map(|m| m.mark.name.as_str()).collect();
        assert_eq!(names, vec!["timeout", "slow", "a"]);
        assert_eq!(f.marks[0].line, 6);
    }

    #[test]
    fn module_pytestmark_lists_and_augmented() {
        let m = model("import pytest\ngpu = [pytest.mark.gpu_1, pytest.mark.vllm]\npytestmark = [*gpu, pytest.mark.e2e]\npytestmark += [pytest.mark.nightly]\n");
        let names: Vec<&str> = m.pytestmark.iter().map(|m| m.mark.name.as_str()).collect();
        assert_eq!(names, vec!["gpu_1", "vllm", "e2e", "nightly"]);
        assert!(m.dynamic_marks.is_none());
    }

    #[test]
    fn dynamic_pytestmark_is_reported() {
        let m = model("pytestmark = make_marks()\n");
        assert!(m.dynamic_marks.is_some());
        assert_eq!(m.diagnostics[0].code, "dynamic-marks");
    }

    #[test]
    fn class_facts() {
        let m = model(
            "import pytest\nclass Base:\n    def test_base(self): pass\n@pytest.mark.cls\nclass TestX(Base):\n    pytestmark = pytest.mark.body\n    def __init__(self): pass\n    @pytest.fixture\n    def test_fix(self): pass\n    def test_gen(self):\n        yield 1\n",
        );
        let Some(Entry::Class(c)) = m.entry("TestX") else {
            panic!()
        };
        assert!(c.defines_init);
        assert!(matches!(&c.bases[0], BaseRef::Local(b) if b.name == "Base"));
        let names: Vec<&str> = c.marks.iter().map(|m| m.mark.name.as_str()).collect();
        assert_eq!(names, vec!["body", "cls"]);
        let Some((_, Entry::Function(fix))) = c.entries.iter().find(|(n, _)| n == "test_fix")
        else {
            panic!()
        };
        assert!(fix.is_fixture);
        let Some((_, Entry::Function(g))) = c.entries.iter().find(|(n, _)| n == "test_gen") else {
            panic!()
        };
        assert!(g.is_generator);
    }

    #[test]
    fn static_conditions_lambdas_and_dataclasses() {
        let m = model(
            "import sys, dataclasses\nif sys.version_info < (3, 0):\n    def test_old(): pass\nelse:\n    def test_new(): pass\ntry:\n    def test_try(): pass\nexcept ImportError:\n    def test_except(): pass\ntest_l = lambda: None\n@dataclasses.dataclass\nclass TestD:\n    x: int = 0\n",
        );
        assert_eq!(
            entry_names(&m),
            vec![
                "sys",
                "dataclasses",
                "test_new",
                "test_try",
                "test_l",
                "TestD"
            ]
        );
        assert!(matches!(m.entry("test_l"), Some(Entry::Function(f)) if f.line == 10));
        assert!(matches!(m.entry("TestD"), Some(Entry::Class(c)) if c.defines_init));
    }

    #[test]
    fn nested_class_bases_resolve_in_class_scope() {
        let m = model("class TestOuter:\n    class Inner:\n        pass\n    class TestChild(Inner):\n        pass\n");
        let Some(Entry::Class(outer)) = m.entry("TestOuter") else {
            panic!()
        };
        let Some((_, Entry::Class(child))) = outer.entries.iter().find(|(n, _)| n == "TestChild")
        else {
            panic!()
        };
        assert!(matches!(&child.bases[0], BaseRef::Local(b) if b.name == "Inner"));
    }

    #[test]
    fn list_mutations_apply_only_when_unconditional() {
        let m = build_module(
            "import pytest\nX = []\nif HAS_VLLM:\n    X.append('vllm')\nY = [1]\nY.append(2)\nY += [3]\nZ = []\nfor i in R:\n    Z.append(i)\nW = [1]\nW.append(9)\nW = [2]\nV = [1]\nV[0] = 2\n",
            Arc::from("t.py"),
            &NoImports,
            0,
            true,
        )
        .unwrap();
        let int = |i: &str| Value::Int(i.into());
        assert!(matches!(m.exports["X"], Value::Unknown { .. }));
        assert_eq!(
            m.exports["Y"],
            Value::List(vec![int("1"), int("2"), int("3")])
        );
        assert!(matches!(m.exports["Z"], Value::Unknown { .. }));
        assert_eq!(m.exports["W"], Value::List(vec![int("2")]));
        assert!(matches!(m.exports["V"], Value::Unknown { .. }));
    }

    #[test]
    fn import_time_generation_keeps_module_marks() {
        let m = model("import pytest\nfor b in ['a']:\n    globals()['Test' + b] = type('Test' + b, (), {'pytestmark': pytest.mark.gpu})\n");
        assert!(m.generated.as_ref().is_some_and(|(line, _)| *line == 3));
        assert_eq!(m.mark_names, vec!["gpu".to_string()]);
        let m = model("import pytest\nTestX = make_suite('x')\n");
        assert!(m
            .generated
            .as_ref()
            .is_some_and(|(_, w)| w.contains("TestX")));
        assert!(model("def test_a(): pass\n").generated.is_none());
    }

    #[test]
    fn syntax_error_has_position() {
        let err = build_module("def f(:\n", Arc::from("t.py"), &NoImports, 0, false).unwrap_err();
        assert_eq!(err.0, 1);
    }
}
