//! Static evaluation of the Python expressions collection depends on: mark
//! decorators, `pytest.param`, parametrize argument lists and module-level
//! constants. Nothing is executed; whatever is not a literal, a mark or a
//! name we can follow becomes [`Value::Unknown`] carrying its source text.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use ruff_python_ast::{self as ast, Expr, Number, Operator, UnaryOp};
use ruff_text_size::Ranged;
use tollgate_inventory::MarkValue;

use crate::ids::{python_complex_str, python_float_repr};

/// A `pytest.mark.NAME(args, kwargs)` decorator, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkDeco {
    pub name: String,
    pub args: Vec<Value>,
    pub kwargs: Vec<(String, Value)>,
}

impl MarkDeco {
    pub fn kwarg(&self, key: &str) -> Option<&Value> {
        self.kwargs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The `id=` of a `pytest.param`.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamId {
    Auto,
    Explicit(String),
    Hidden,
    Unknown(String),
}

/// `pytest.param(*values, marks=..., id=...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    pub values: Vec<Value>,
    pub marks: Vec<MarkDeco>,
    /// Set when `marks=` could not be resolved.
    pub unknown_marks: Option<String>,
    pub id: ParamId,
    /// Line of the `marks=` value, when written in the module being
    /// collected (not in a module it imports values from).
    pub marks_line: Option<u32>,
}

/// What a name refers to when it has a `__name__`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedKind {
    Function,
    Class,
    EnumClass,
    Builtin,
    Lambda,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    /// Decimal text of an int (Python ints are unbounded).
    Int(String),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// An object with a `__name__`: class, function, builtin, lambda.
    Named {
        name: String,
        kind: NamedKind,
    },
    /// An enum member; `display` is `str(member)`.
    Enum {
        display: String,
        src: String,
    },
    /// `re.compile(pattern)`.
    Pattern {
        pattern: String,
        src: String,
    },
    Mark(MarkDeco),
    Param(Box<ParamSet>),
    HiddenParam,
    /// A dotted reference to something outside the module (`pytest.mark`,
    /// `unittest.TestCase`, `numpy.float32`).
    Path {
        dotted: String,
        src: String,
    },
    /// A module of the project (`import tests.helpers as h`, `from . import
    /// base`): its attributes are looked up in that module.
    Module {
        module: String,
        level: u32,
        src: String,
    },
    /// A dict display or a dict built by helper code, in insertion order.
    Dict {
        items: Vec<(Value, Value)>,
        src: String,
    },
    /// An instance of a project class built with keyword arguments
    /// (`Config(name="x", marks=[...])`): its fields as given. Fields not
    /// given (class defaults) are unknown.
    Record {
        class: String,
        fields: Vec<(String, Value)>,
        src: String,
    },
    /// A method of a known dict or list (`configs.items`), to be called.
    BoundMethod {
        receiver: Box<Value>,
        name: String,
        src: String,
    },
    /// An object known to have no `__name__` and no literal value
    /// (dict/set displays, instances of local classes).
    Opaque {
        src: String,
    },
    /// A list comprehension or generator: its length and values are
    /// unknown, but its element (evaluated with the loop variables unknown)
    /// still tells which `pytest.param` marks the cases carry.
    Comprehension {
        src: String,
        element: Box<Value>,
    },
    Unknown {
        src: String,
    },
}

impl Value {
    /// The value as a marker argument: literals exactly, anything else as source.
    pub fn to_mark_value(&self) -> MarkValue {
        match self {
            Value::None => MarkValue::None,
            Value::Bool(b) => MarkValue::Bool(*b),
            Value::Int(s) => match s.parse::<i64>() {
                Ok(i) => MarkValue::Int(i),
                Err(_) => MarkValue::Expr { expr: s.clone() },
            },
            Value::Float(f) => MarkValue::Float(*f),
            Value::Str(s) => MarkValue::Str(s.clone()),
            Value::Tuple(v) | Value::List(v) => {
                MarkValue::List(v.iter().map(Value::to_mark_value).collect())
            }
            other => MarkValue::Expr {
                expr: other.source_text(),
            },
        }
    }

    /// A best-effort Python spelling of the value (for `MarkValue::Expr`).
    pub fn source_text(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(s) => s.clone(),
            Value::Float(f) => python_float_repr(*f),
            Value::Complex(r, i) => python_complex_str(*r, *i),
            Value::Str(s) => format!("{s:?}"),
            Value::Bytes(b) => format!("b{:?}", crate::ids::ascii_escaped_bytes(b)),
            Value::Tuple(v) => format!(
                "({}{})",
                v.iter()
                    .map(Value::source_text)
                    .collect::<Vec<_>>()
                    .join(", "),
                if v.len() == 1 { "," } else { "" }
            ),
            Value::List(v) => format!(
                "[{}]",
                v.iter()
                    .map(Value::source_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Named { name, .. } => name.clone(),
            Value::Mark(m) => format!("pytest.mark.{}", m.name),
            Value::Param(_) => "pytest.param(...)".into(),
            Value::HiddenParam => "pytest.HIDDEN_PARAM".into(),
            Value::Enum { src, .. }
            | Value::Pattern { src, .. }
            | Value::Path { src, .. }
            | Value::Module { src, .. }
            | Value::Dict { src, .. }
            | Value::BoundMethod { src, .. }
            | Value::Record { src, .. }
            | Value::Opaque { src }
            | Value::Comprehension { src, .. }
            | Value::Unknown { src } => src.clone(),
        }
    }
}

impl Value {
    /// An unknown part that means the module cannot even be imported (a name
    /// that refers to itself, an import cycle), searched through containers.
    pub fn broken_part(&self) -> Option<&str> {
        match self {
            Value::Unknown { src }
                if src.contains("(refers to itself)") || src.contains("an import cycle?") =>
            {
                Some(src)
            }
            Value::List(v) | Value::Tuple(v) => v.iter().find_map(Value::broken_part),
            Value::Param(p) => p.values.iter().find_map(Value::broken_part),
            Value::Dict { items, .. } => items
                .iter()
                .find_map(|(k, v)| k.broken_part().or_else(|| v.broken_part())),
            _ => None,
        }
    }
}

/// How a module-level name is bound.
#[derive(Debug, Clone)]
pub enum Binding<'a> {
    /// `NAME = expr` (the last assignment wins).
    Expr(&'a Expr),
    Function,
    Class {
        enum_kind: Option<EnumKind>,
        members: HashMap<&'a str, &'a Expr>,
    },
    /// `import a.b as NAME` (or `import a`, binding `a`).
    Module(String),
    /// `from module import name` (level = leading dots).
    From {
        module: String,
        level: u32,
        name: String,
    },
    /// Bound by something we do not follow (loops, `with`, augmented assigns).
    Opaque,
    /// `A, B = expr`: item `index` of what `expr` evaluates to.
    Unpack {
        value: &'a Expr,
        index: usize,
        len: usize,
    },
    /// `NAME = expr` followed, unconditionally and at module level, by
    /// `NAME.append(x)` / `NAME.extend(xs)` / `NAME += xs`, in order.
    Mutated {
        base: &'a Expr,
        ops: Vec<(ListOp, &'a Expr)>,
    },
}

/// A list mutation applied to a module-level name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOp {
    Append,
    Extend,
}

/// Which `str()` an enum member has (Python 3.11 rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumKind {
    /// `Enum`, `Flag`, mixed-in `str, Enum`: `Cls.NAME`.
    Qualified,
    /// `IntEnum`, `IntFlag`, `StrEnum`: `str(value)`.
    ValueStr,
}

/// Looks up names imported from other project modules.
pub trait ImportLookup: Sync {
    fn lookup_value(&self, module: &str, level: u32, name: &str, depth: u32) -> Option<Value>;
    /// Whether `module` (with `level` leading dots) is a module of the project.
    fn is_module(&self, _module: &str, _level: u32) -> bool {
        false
    }
    /// The names `from module import *` binds (`__all__`, else the public
    /// names), or `None` when the module is not in the project.
    fn star_names(&self, _module: &str, _level: u32) -> Option<Vec<String>> {
        None
    }
    /// Runs function `name` of a project module on these arguments with
    /// [`crate::interp`]; `None` when it is not a project function.
    fn call_function(
        &self,
        _module: &str,
        _level: u32,
        _name: &str,
        _args: &[Value],
        _kwargs: &[(String, Value)],
    ) -> Option<Value> {
        None
    }
}

/// `module.name` as a dotted module path (`from . import x` has no module).
pub fn join_module(module: &str, name: &str) -> String {
    if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}.{name}")
    }
}

/// Never resolves anything (unit tests, leaf evaluation).
pub struct NoImports;

impl ImportLookup for NoImports {
    fn lookup_value(&self, _: &str, _: u32, _: &str, _: u32) -> Option<Value> {
        None
    }
}

/// Modules whose attributes we interpret ourselves rather than resolving.
const EXTERNAL_ROOTS: [&str; 6] = ["pytest", "_pytest", "re", "enum", "unittest", "typing"];

const BUILTIN_NAMES: [&str; 25] = [
    "getattr",
    "int",
    "str",
    "float",
    "bool",
    "bytes",
    "bytearray",
    "complex",
    "list",
    "dict",
    "tuple",
    "set",
    "frozenset",
    "object",
    "type",
    "len",
    "print",
    "range",
    "repr",
    "sorted",
    "min",
    "max",
    "abs",
    "sum",
    "id",
];

const MAX_DEPTH: u32 = 24;

/// The evaluation environment of one module.
pub struct Scope<'a> {
    pub source: &'a str,
    pub bindings: HashMap<&'a str, Binding<'a>>,
    pub imports: &'a dyn ImportLookup,
    /// Import-resolution depth of this module (guards import cycles).
    pub import_depth: u32,
    /// `from module import *` (module, level), in order: names not bound
    /// otherwise are looked up there, last first.
    pub star_imports: Vec<(String, u32)>,
    /// Module-level functions, for [`crate::interp`] to run when called.
    pub functions: HashMap<&'a str, &'a ast::StmtFunctionDef>,
    /// Local variables of the helper functions being run, innermost last.
    pub frames: RefCell<Vec<HashMap<String, Value>>>,
    /// Statements the helper evaluator may still run for this module.
    pub steps: Cell<u32>,
    /// Guards against self-referencing names and runaway evaluation.
    pub guard: EvalGuard,
}

/// Module-level names being evaluated (a name reached again while it is
/// being evaluated refers to itself: unknown) and the expression
/// evaluations left for this module.
#[derive(Debug)]
pub struct EvalGuard {
    pub evaluating: RefCell<Vec<String>>,
    pub evals: Cell<u32>,
}

impl Default for EvalGuard {
    fn default() -> Self {
        EvalGuard {
            evaluating: RefCell::new(Vec::new()),
            evals: Cell::new(EVAL_BUDGET),
        }
    }
}

/// Expression evaluations per module scope, in all.
pub const EVAL_BUDGET: u32 = 5_000_000;

/// Statements [`crate::interp`] may run per module, in all.
pub const STEP_BUDGET: u32 = 50_000;

impl<'a> Scope<'a> {
    pub fn src(&self, node: &impl Ranged) -> String {
        self.source
            .get(node.range().start().to_usize()..node.range().end().to_usize())
            .unwrap_or("")
            .to_string()
    }

    /// 1-based line of `node` in this scope's source.
    pub(crate) fn line_of(&self, node: &impl Ranged) -> u32 {
        let end = node.range().start().to_usize().min(self.source.len());
        let newlines = self.source.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        u32::try_from(newlines + 1).unwrap_or(u32::MAX)
    }

    pub fn eval(&self, expr: &Expr) -> Value {
        self.eval_depth(expr, 0)
    }

    pub(crate) fn unknown(&self, expr: &Expr) -> Value {
        Value::Unknown {
            src: self.src(expr),
        }
    }

    pub(crate) fn eval_depth(&self, expr: &Expr, depth: u32) -> Value {
        let left = self.guard.evals.get();
        if depth > MAX_DEPTH || left == 0 {
            return self.unknown(expr);
        }
        self.guard.evals.set(left - 1);
        let d = depth + 1;
        match expr {
            Expr::NoneLiteral(_) => Value::None,
            Expr::BooleanLiteral(b) => Value::Bool(b.value),
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => Value::Int(i.to_string()),
                Number::Float(f) => Value::Float(*f),
                Number::Complex { real, imag } => Value::Complex(*real, *imag),
            },
            Expr::StringLiteral(s) => Value::Str(s.value.to_str().to_string()),
            Expr::BytesLiteral(b) => Value::Bytes(
                b.value
                    .iter()
                    .flat_map(|part| part.value.iter().copied())
                    .collect(),
            ),
            Expr::Tuple(t) => match self.eval_elements(&t.elts, d) {
                Some(v) => Value::Tuple(v),
                None => self.unknown(expr),
            },
            Expr::List(l) => match self.eval_elements(&l.elts, d) {
                Some(v) => Value::List(v),
                None => self.unknown(expr),
            },
            Expr::Dict(dict) => self.eval_dict(expr, dict, d),
            Expr::Set(_) => Value::Opaque {
                src: self.src(expr),
            },
            Expr::FString(_)
            | Expr::BoolOp(_)
            | Expr::Compare(_)
            | Expr::If(_)
            | Expr::Subscript(_) => self.eval_more(expr, d),
            Expr::UnaryOp(u) if u.op == UnaryOp::Not => {
                match crate::interp::truth(&self.eval_depth(&u.operand, d)) {
                    Some(b) => Value::Bool(!b),
                    None => self.unknown(expr),
                }
            }
            Expr::Lambda(_) => Value::Named {
                name: "<lambda>".into(),
                kind: NamedKind::Lambda,
            },
            Expr::UnaryOp(u) => {
                let operand = self.eval_depth(&u.operand, d);
                match (u.op, operand) {
                    (UnaryOp::USub, Value::Int(s)) => Value::Int(match s.strip_prefix('-') {
                        Some(pos) => pos.to_string(),
                        None if s == "0" => s,
                        None => format!("-{s}"),
                    }),
                    (UnaryOp::USub, Value::Float(f)) => Value::Float(-f),
                    (UnaryOp::USub, Value::Complex(r, i)) => Value::Complex(-r, -i),
                    (UnaryOp::UAdd, v @ (Value::Int(_) | Value::Float(_) | Value::Complex(..))) => {
                        v
                    }
                    _ => self.unknown(expr),
                }
            }
            Expr::BinOp(b) => self.eval_binop(expr, b, d),
            Expr::Name(n) => self.eval_name(expr, n.id.as_str(), d),
            Expr::Attribute(a) => self.eval_attribute(expr, a, d),
            Expr::Call(c) => self.eval_call(expr, c, d),
            Expr::ListComp(c) => Value::Comprehension {
                src: self.src(expr),
                element: Box::new(self.eval_depth(&c.elt, d)),
            },
            Expr::Generator(c) => Value::Comprehension {
                src: self.src(expr),
                element: Box::new(self.eval_depth(&c.elt, d)),
            },
            _ => self.unknown(expr),
        }
    }

    pub(crate) fn eval_elements(&self, elts: &[Expr], depth: u32) -> Option<Vec<Value>> {
        let mut out = Vec::with_capacity(elts.len());
        for e in elts {
            if let Expr::Starred(s) = e {
                match self.eval_depth(&s.value, depth) {
                    Value::List(v) | Value::Tuple(v) => out.extend(v),
                    Value::Str(s) => out.extend(s.chars().map(|c| Value::Str(c.to_string()))),
                    _ => return None,
                }
            } else {
                out.push(self.eval_depth(e, depth));
            }
        }
        Some(out)
    }

    fn eval_binop(&self, expr: &Expr, b: &ast::ExprBinOp, d: u32) -> Value {
        let left = self.eval_depth(&b.left, d);
        let right = self.eval_depth(&b.right, d);
        match (b.op, left, right) {
            (Operator::Add, Value::List(mut l), Value::List(r)) => {
                l.extend(r);
                Value::List(l)
            }
            (Operator::Add, Value::Tuple(mut l), Value::Tuple(r)) => {
                l.extend(r);
                Value::Tuple(l)
            }
            (Operator::Add, Value::Str(l), Value::Str(r)) => Value::Str(l + &r),
            (Operator::Add, Value::Int(l), Value::Int(r)) => {
                match (l.parse::<i64>(), r.parse::<i64>()) {
                    (Ok(l), Ok(r)) => match l.checked_add(r) {
                        Some(s) => Value::Int(s.to_string()),
                        None => self.unknown(expr),
                    },
                    _ => self.unknown(expr),
                }
            }
            (op @ (Operator::Sub | Operator::Mult), Value::Int(l), Value::Int(r)) => {
                match (l.parse::<i64>(), r.parse::<i64>()) {
                    (Ok(l), Ok(r)) => match if op == Operator::Sub {
                        l.checked_sub(r)
                    } else {
                        l.checked_mul(r)
                    } {
                        Some(v) => Value::Int(v.to_string()),
                        None => self.unknown(expr),
                    },
                    _ => self.unknown(expr),
                }
            }
            (Operator::Mult, Value::Str(l), Value::Int(n))
            | (Operator::Mult, Value::Int(n), Value::Str(l)) => match n.parse::<usize>() {
                Ok(n) if n.saturating_mul(l.len()) <= 1_000_000 => Value::Str(l.repeat(n)),
                _ => self.unknown(expr),
            },
            (Operator::Mult, Value::List(l), Value::Int(n)) => match n.parse::<usize>() {
                Ok(n) if n.saturating_mul(l.len()) <= 100_000 => {
                    Value::List(l.iter().cloned().cycle().take(l.len() * n).collect())
                }
                _ => self.unknown(expr),
            },
            _ => self.unknown(expr),
        }
    }

    /// The value of a module-level name bound by an assignment (plain,
    /// unpacked or mutated afterwards); `None` for other bindings.
    pub fn eval_binding(&self, name: &str, d: u32) -> Option<Value> {
        let binding = self.bindings.get(name)?;
        if self.guard.evaluating.borrow().iter().any(|n| n == name) {
            return Some(Value::Unknown {
                src: format!("{name} (refers to itself)"),
            });
        }
        self.guard.evaluating.borrow_mut().push(name.to_string());
        let v = self.eval_binding_inner(binding, name, d);
        self.guard.evaluating.borrow_mut().pop();
        v
    }

    fn eval_binding_inner(&self, binding: &Binding, name: &str, d: u32) -> Option<Value> {
        Some(match binding {
            Binding::Expr(e) => self.eval_depth(e, d),
            Binding::Unpack { value, index, len } => match self.eval_depth(value, d) {
                Value::Tuple(v) | Value::List(v) if v.len() == *len => v
                    .into_iter()
                    .nth(*index)
                    .unwrap_or_else(|| self.unknown(value)),
                _ => self.unknown(value),
            },
            Binding::Mutated { base, ops } => {
                let mut items = match self.eval_depth(base, d) {
                    Value::List(v) => v,
                    _ => return Some(self.unknown(base)),
                };
                for (op, arg) in ops {
                    match (op, self.eval_depth(arg, d)) {
                        (ListOp::Append, v) => items.push(v),
                        (ListOp::Extend, Value::List(v) | Value::Tuple(v)) => items.extend(v),
                        _ => return Some(self.unknown(base)),
                    }
                    if items.len() > 100_000 {
                        return Some(self.unknown(base));
                    }
                }
                Value::List(items)
            }
            Binding::Opaque => Value::Unknown { src: name.into() },
            _ => return None,
        })
    }

    fn eval_name(&self, expr: &Expr, name: &str, d: u32) -> Value {
        if let Some(v) = self
            .frames
            .borrow()
            .last()
            .and_then(|frame| frame.get(name).cloned())
        {
            return v;
        }
        match self.bindings.get(name) {
            Some(Binding::Expr(_)) => self
                .eval_binding(name, d)
                .unwrap_or_else(|| self.unknown(expr)),
            Some(Binding::Function) => Value::Named {
                name: name.to_string(),
                kind: NamedKind::Function,
            },
            Some(Binding::Class { enum_kind, .. }) => Value::Named {
                name: name.to_string(),
                kind: if enum_kind.is_some() {
                    NamedKind::EnumClass
                } else {
                    NamedKind::Class
                },
            },
            Some(Binding::Module(m)) => {
                let root = m.split('.').next().unwrap_or("");
                if !EXTERNAL_ROOTS.contains(&root) && self.imports.is_module(m, 0) {
                    Value::Module {
                        module: m.clone(),
                        level: 0,
                        src: self.src(expr),
                    }
                } else {
                    Value::Path {
                        dotted: m.clone(),
                        src: self.src(expr),
                    }
                }
            }
            Some(Binding::From {
                module,
                level,
                name: orig,
            }) => {
                let dotted = if module.is_empty() {
                    orig.clone()
                } else {
                    format!("{module}.{orig}")
                };
                let root = module.split('.').next().unwrap_or("");
                if *level == 0 && EXTERNAL_ROOTS.contains(&root) {
                    return Value::Path {
                        dotted: canonical_path(&dotted),
                        src: self.src(expr),
                    };
                }
                match self
                    .imports
                    .lookup_value(module, *level, orig, self.import_depth + 1)
                {
                    Some(v) => v,
                    None if self.imports.is_module(&join_module(module, orig), *level) => {
                        Value::Module {
                            module: join_module(module, orig),
                            level: *level,
                            src: self.src(expr),
                        }
                    }
                    None => Value::Path {
                        dotted,
                        src: self.src(expr),
                    },
                }
            }
            Some(Binding::Opaque) => self.unknown(expr),
            Some(Binding::Unpack { .. } | Binding::Mutated { .. }) => self
                .eval_binding(name, d)
                .unwrap_or_else(|| self.unknown(expr)),
            None if name == "pytest" => Value::Path {
                dotted: "pytest".into(),
                src: name.into(),
            },
            None if BUILTIN_NAMES.contains(&name)
                || name.ends_with("Error")
                || name.ends_with("Exception")
                || name.ends_with("Warning") =>
            {
                Value::Named {
                    name: name.to_string(),
                    kind: NamedKind::Builtin,
                }
            }
            None => self
                .star_imports
                .iter()
                .rev()
                .find_map(|(module, level)| {
                    self.imports
                        .lookup_value(module, *level, name, self.import_depth + 1)
                })
                .unwrap_or_else(|| self.unknown(expr)),
        }
    }

    fn eval_attribute(&self, expr: &Expr, a: &ast::ExprAttribute, d: u32) -> Value {
        let attr = a.attr.as_str();
        // Enum members of a class defined in this module.
        if let Expr::Name(n) = a.value.as_ref() {
            if let Some(Binding::Class {
                enum_kind: Some(kind),
                members,
            }) = self.bindings.get(n.id.as_str())
            {
                let display = match kind {
                    EnumKind::Qualified => Some(format!("{}.{attr}", n.id)),
                    EnumKind::ValueStr => {
                        members.get(attr).and_then(|e| match self.eval_depth(e, d) {
                            Value::Int(s) | Value::Str(s) => Some(s),
                            _ => None,
                        })
                    }
                };
                return match display {
                    Some(display) if members.contains_key(attr) => Value::Enum {
                        display,
                        src: self.src(expr),
                    },
                    _ => self.unknown(expr),
                };
            }
        }
        match self.eval_depth(&a.value, d) {
            receiver @ (Value::Dict { .. } | Value::List(_) | Value::Tuple(_))
                if crate::interp::METHODS.contains(&attr) =>
            {
                Value::BoundMethod {
                    receiver: Box::new(receiver),
                    name: attr.to_string(),
                    src: self.src(expr),
                }
            }
            Value::Record { fields, .. } => fields
                .into_iter()
                .find(|(k, _)| k == attr)
                .map(|(_, v)| v)
                .unwrap_or_else(|| self.unknown(expr)),
            Value::Module { module, level, .. } => {
                let sub = join_module(&module, attr);
                match self
                    .imports
                    .lookup_value(&module, level, attr, self.import_depth + 1)
                {
                    Some(v) => v,
                    None if self.imports.is_module(&sub, level) => Value::Module {
                        module: sub,
                        level,
                        src: self.src(expr),
                    },
                    None => self.unknown(expr),
                }
            }
            Value::Path { dotted, .. } => {
                let dotted = canonical_path(&format!("{dotted}.{attr}"));
                match dotted.strip_prefix("pytest.mark.") {
                    Some(mark) if !mark.contains('.') => Value::Mark(MarkDeco {
                        name: mark.to_string(),
                        args: Vec::new(),
                        kwargs: Vec::new(),
                    }),
                    _ if dotted == "pytest.HIDDEN_PARAM" => Value::HiddenParam,
                    _ => Value::Path {
                        dotted,
                        src: self.src(expr),
                    },
                }
            }
            _ => self.unknown(expr),
        }
    }

    fn eval_call(&self, expr: &Expr, c: &ast::ExprCall, d: u32) -> Value {
        let func = self.eval_depth(&c.func, d);
        if let Some(v) = self.eval_helper_call(expr, c, &func, d) {
            return v;
        }
        let args = &c.arguments;
        let has_star = args.args.iter().any(|a| a.is_starred_expr())
            || args.keywords.iter().any(|k| k.arg.is_none());
        match func {
            Value::Mark(mut m) => {
                if has_star {
                    return self.unknown(expr);
                }
                m.args
                    .extend(args.args.iter().map(|a| self.eval_depth(a, d)));
                for k in args.keywords.iter() {
                    if let Some(name) = &k.arg {
                        let v = self.eval_depth(&k.value, d);
                        m.kwargs.retain(|(n, _)| n != name.as_str());
                        m.kwargs.push((name.to_string(), v));
                    }
                }
                Value::Mark(m)
            }
            Value::Path { dotted, .. } if dotted == "pytest.param" => {
                let Some(values) = self.eval_elements(&args.args, d) else {
                    return self.unknown(expr);
                };
                let mut set = ParamSet {
                    values,
                    marks: Vec::new(),
                    unknown_marks: None,
                    id: ParamId::Auto,
                    marks_line: None,
                };
                for k in args.keywords.iter() {
                    match k.arg.as_ref().map(|a| a.as_str()) {
                        Some("marks") => {
                            // Lines are only meaningful in the collected
                            // module's own source, not in one it imports from.
                            if self.import_depth == 0 {
                                set.marks_line = Some(self.line_of(&k.value));
                            }
                            match self.eval_depth(&k.value, d) {
                                Value::Mark(m) => set.marks.push(m),
                                Value::List(items) | Value::Tuple(items) => {
                                    for item in items {
                                        match item {
                                            Value::Mark(m) => set.marks.push(m),
                                            other => set.unknown_marks = Some(other.source_text()),
                                        }
                                    }
                                }
                                other => set.unknown_marks = Some(other.source_text()),
                            }
                        }
                        Some("id") => {
                            set.id = match self.eval_depth(&k.value, d) {
                                Value::Str(s) => ParamId::Explicit(s),
                                Value::None => ParamId::Auto,
                                Value::HiddenParam => ParamId::Hidden,
                                other => ParamId::Unknown(other.source_text()),
                            }
                        }
                        _ => return self.unknown(expr),
                    }
                }
                Value::Param(Box::new(set))
            }
            Value::Path { dotted, .. } if dotted == "re.compile" => {
                match args.args.first().map(|a| self.eval_depth(a, d)) {
                    Some(Value::Str(pattern)) => Value::Pattern {
                        pattern,
                        src: self.src(expr),
                    },
                    _ => self.unknown(expr),
                }
            }
            Value::Named {
                name,
                kind: NamedKind::Builtin,
            } if (name == "tuple" || name == "list") && !has_star => {
                let inner = match args.args.first() {
                    None => Some(Vec::new()),
                    Some(a) => match self.eval_depth(a, d) {
                        Value::List(v) | Value::Tuple(v) => Some(v),
                        _ => None,
                    },
                };
                match inner {
                    Some(v) if name == "tuple" => Value::Tuple(v),
                    Some(v) => Value::List(v),
                    None => self.unknown(expr),
                }
            }
            Value::Named {
                name,
                kind: NamedKind::Builtin,
            } if name == "range" && !has_star && args.keywords.is_empty() => {
                let ints: Option<Vec<i64>> = args
                    .args
                    .iter()
                    .map(|a| match self.eval_depth(a, d) {
                        Value::Int(s) => s.parse::<i64>().ok(),
                        _ => None,
                    })
                    .collect();
                let (start, stop, step) = match ints.as_deref() {
                    Some([stop]) => (0, *stop, 1),
                    Some([start, stop]) => (*start, *stop, 1),
                    Some([start, stop, step]) if *step != 0 => (*start, *stop, *step),
                    _ => return self.unknown(expr),
                };
                let len = if step > 0 {
                    (stop.saturating_sub(start) + step - 1) / step
                } else {
                    (start.saturating_sub(stop) - step - 1) / -step
                };
                if len > 100_000 {
                    return self.unknown(expr);
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i < stop) || (step < 0 && i > stop) {
                    out.push(Value::Int(i.to_string()));
                    i += step;
                }
                // Iterating a range yields ints; list()/tuple() of it is what tests use.
                Value::Tuple(out)
            }
            Value::Named {
                name,
                kind: NamedKind::Builtin,
            } if matches!(name.as_str(), "dict" | "set" | "frozenset" | "object") => {
                Value::Opaque {
                    src: self.src(expr),
                }
            }
            // An instance of a plain class defined in this module has no
            // `__name__` unless the class sets one; treat it as opaque.
            Value::Named {
                kind: NamedKind::Class,
                ..
            } => Value::Opaque {
                src: self.src(expr),
            },
            _ => self.unknown(expr),
        }
    }
}

/// Normalises the private spellings of pytest's mark generator.
fn canonical_path(dotted: &str) -> String {
    for prefix in ["_pytest.mark.structures.MARK_GEN", "_pytest.mark.MARK_GEN"] {
        if let Some(rest) = dotted.strip_prefix(prefix) {
            return format!("pytest.mark{rest}");
        }
    }
    if let Some(rest) = dotted.strip_prefix("_pytest.mark.structures.") {
        return format!("pytest.{rest}");
    }
    dotted.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruff_python_parser::parse_expression;

    fn eval_with(src: &str, bindings: &[(&'static str, Binding<'static>)]) -> Value {
        let parsed = parse_expression(src).unwrap();
        let scope = Scope {
            source: src,
            bindings: bindings.iter().cloned().collect(),
            imports: &NoImports,
            import_depth: 0,
            star_imports: Vec::new(),
            functions: Default::default(),
            frames: Default::default(),
            steps: std::cell::Cell::new(crate::value::STEP_BUDGET),
            guard: Default::default(),
        };
        scope.eval(&parsed.syntax().body)
    }

    fn eval(src: &str) -> Value {
        eval_with(src, &[])
    }

    #[test]
    fn literals() {
        assert_eq!(eval("-3"), Value::Int("-3".into()));
        assert_eq!(
            eval("(1, 'a', None)"),
            Value::Tuple(vec![
                Value::Int("1".into()),
                Value::Str("a".into()),
                Value::None
            ])
        );
        assert_eq!(
            eval("[1] + [2]"),
            Value::List(vec![Value::Int("1".into()), Value::Int("2".into())])
        );
        assert_eq!(eval("b'x'"), Value::Bytes(b"x".to_vec()));
        assert!(matches!(eval("f(x)"), Value::Unknown { .. }));
        assert!(matches!(
            eval("[i for i in x]"),
            Value::Comprehension { .. }
        ));
    }

    #[test]
    fn marks_with_arguments() {
        let v = eval("pytest.mark.timeout(300, method='thread')");
        let Value::Mark(m) = v else {
            panic!("not a mark: {v:?}")
        };
        assert_eq!(m.name, "timeout");
        assert_eq!(m.args, vec![Value::Int("300".into())]);
        assert_eq!(m.kwarg("method"), Some(&Value::Str("thread".into())));
    }

    #[test]
    fn mark_imported_from_pytest() {
        let b = [(
            "mark",
            Binding::From {
                module: "pytest".into(),
                level: 0,
                name: "mark".into(),
            },
        )];
        assert!(matches!(eval_with("mark.slow", &b), Value::Mark(m) if m.name == "slow"));
    }

    #[test]
    fn param_with_marks_and_id() {
        let v = eval("pytest.param(1, 2, marks=[pytest.mark.slow], id='one')");
        let Value::Param(p) = v else { panic!("{v:?}") };
        assert_eq!(p.values.len(), 2);
        assert_eq!(p.marks[0].name, "slow");
        assert_eq!(p.id, ParamId::Explicit("one".into()));
    }

    #[test]
    fn mark_values() {
        assert_eq!(
            eval("(1, 'a')").to_mark_value(),
            MarkValue::List(vec![MarkValue::Int(1), MarkValue::Str("a".into())])
        );
        assert_eq!(
            eval("x.y").to_mark_value(),
            MarkValue::Expr { expr: "x.y".into() }
        );
    }
}
