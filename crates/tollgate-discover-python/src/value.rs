//! Static evaluation of the Python expressions collection depends on: mark
//! decorators, `pytest.param`, parametrize argument lists and module-level
//! constants. Nothing is executed; whatever is not a literal, a mark or a
//! name we can follow becomes [`Value::Unknown`] carrying its source text.

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
            | Value::Opaque { src }
            | Value::Comprehension { src, .. }
            | Value::Unknown { src } => src.clone(),
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

const BUILTIN_NAMES: [&str; 24] = [
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
}

impl<'a> Scope<'a> {
    pub fn src(&self, node: &impl Ranged) -> String {
        self.source
            .get(node.range().start().to_usize()..node.range().end().to_usize())
            .unwrap_or("")
            .to_string()
    }

    /// 1-based line of `node` in this scope's source.
    fn line_of(&self, node: &impl Ranged) -> u32 {
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

    fn unknown(&self, expr: &Expr) -> Value {
        Value::Unknown {
            src: self.src(expr),
        }
    }

    fn eval_depth(&self, expr: &Expr, depth: u32) -> Value {
        if depth > MAX_DEPTH {
            return self.unknown(expr);
        }
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
            Expr::Dict(_) | Expr::Set(_) => Value::Opaque {
                src: self.src(expr),
            },
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

    fn eval_elements(&self, elts: &[Expr], depth: u32) -> Option<Vec<Value>> {
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

    fn eval_name(&self, expr: &Expr, name: &str, d: u32) -> Value {
        match self.bindings.get(name) {
            Some(Binding::Expr(e)) => self.eval_depth(e, d),
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
            Some(Binding::Module(m)) => Value::Path {
                dotted: m.clone(),
                src: self.src(expr),
            },
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
                    None => Value::Path {
                        dotted,
                        src: self.src(expr),
                    },
                }
            }
            Some(Binding::Opaque) => self.unknown(expr),
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
            None => self.unknown(expr),
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
