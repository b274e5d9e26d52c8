//! A bounded evaluator for the helper code that builds test parameters and
//! marks: dict displays, f-strings, comparisons, `and`/`or`, subscripts,
//! `dict.items()`, `getattr(obj, "x", default)`, instances of project
//! classes (keyword records), and calls to project functions whose bodies
//! are straight-line code, `for` loops over known values, `if` on known
//! conditions, `list.append/extend`, `dict[k] = v` and `return`.
//!
//! Nothing is guessed: a condition or a loop over a value not known
//! statically, or a statement we do not follow, makes the call's result
//! unknown, with the reason and line. Call depth, loop iterations and the
//! statements run per module are bounded, so no input can make it slow.

use std::collections::HashMap;

use ruff_python_ast::{self as ast, BoolOp, CmpOp, Expr, InterpolatedStringElement, Stmt};
use ruff_text_size::Ranged;

use crate::ids::python_float_repr;
use crate::value::{Binding, NamedKind, Scope, Value};

const MAX_CALL_DEPTH: usize = 12;
const MAX_ITERATIONS: usize = 10_000;
const MAX_ITEMS: usize = 100_000;

/// Python truthiness, when the value is known.
pub fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::None => Some(false),
        Value::Bool(b) => Some(*b),
        Value::Int(s) => Some(s != "0"),
        Value::Float(f) => Some(*f != 0.0),
        Value::Str(s) => Some(!s.is_empty()),
        Value::Bytes(b) => Some(!b.is_empty()),
        Value::Tuple(v) | Value::List(v) => Some(!v.is_empty()),
        Value::Dict { items, .. } => Some(!items.is_empty()),
        Value::Named { .. }
        | Value::Mark(_)
        | Value::Param(_)
        | Value::Record { .. }
        | Value::Module { .. }
        | Value::Enum { .. }
        | Value::Pattern { .. } => Some(true),
        _ => None,
    }
}

/// A value with a literal equality we can decide.
fn literal(v: &Value) -> bool {
    match v {
        Value::None | Value::Bool(_) | Value::Int(_) | Value::Str(_) | Value::Bytes(_) => true,
        Value::Tuple(v) | Value::List(v) => v.iter().all(literal),
        _ => false,
    }
}

/// `str(v)` for the values whose text we know.
fn text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) => s.clone(),
        Value::Int(s) => s.clone(),
        Value::Float(f) => python_float_repr(*f),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::None => "None".into(),
        Value::Enum { display, .. } => display.clone(),
        _ => return None,
    })
}

/// The items `for x in v` yields, when known.
fn iterate(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::List(v) | Value::Tuple(v) => Some(v),
        Value::Dict { items, .. } => Some(items.into_iter().map(|(k, _)| k).collect()),
        Value::Str(s) => Some(s.chars().map(|c| Value::Str(c.to_string())).collect()),
        _ => None,
    }
}

/// How a block of statements ended.
enum Flow {
    Next,
    Return(Value),
    Break,
    Continue,
}

/// Why evaluation gave up.
type GiveUp = String;

impl Scope<'_> {
    pub(crate) fn eval_dict(&self, expr: &Expr, dict: &ast::ExprDict, d: u32) -> Value {
        let mut items: Vec<(Value, Value)> = Vec::new();
        for item in &dict.items {
            match &item.key {
                Some(k) => {
                    let k = self.eval_depth(k, d);
                    let v = self.eval_depth(&item.value, d);
                    insert(&mut items, k, v);
                }
                None => match self.eval_depth(&item.value, d) {
                    Value::Dict { items: more, .. } => {
                        for (k, v) in more {
                            insert(&mut items, k, v);
                        }
                    }
                    _ => return self.unknown(expr),
                },
            }
        }
        Value::Dict {
            items,
            src: self.src(expr),
        }
    }

    /// f-strings, `and`/`or`, comparisons, conditional expressions, subscripts.
    pub(crate) fn eval_more(&self, expr: &Expr, d: u32) -> Value {
        let value = match expr {
            Expr::FString(f) => self.eval_fstring(f, d).map(Value::Str),
            Expr::BoolOp(b) => self.eval_boolop(b, d),
            Expr::Compare(c) => self.eval_compare(c, d).map(Value::Bool),
            Expr::If(i) => match truth(&self.eval_depth(&i.test, d)) {
                Some(true) => Some(self.eval_depth(&i.body, d)),
                Some(false) => Some(self.eval_depth(&i.orelse, d)),
                None => None,
            },
            Expr::Subscript(s) => {
                let container = self.eval_depth(&s.value, d);
                let key = self.eval_depth(&s.slice, d);
                subscript(container, &key)
            }
            _ => None,
        };
        value.unwrap_or_else(|| self.unknown(expr))
    }

    fn eval_fstring(&self, f: &ast::ExprFString, d: u32) -> Option<String> {
        let mut out = String::new();
        for part in f.value.as_slice() {
            match part {
                ast::FStringPart::Literal(l) => out.push_str(&l.value),
                ast::FStringPart::FString(fs) => {
                    for element in fs.elements.iter() {
                        match element {
                            InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                            InterpolatedStringElement::Interpolation(i) => {
                                if i.format_spec.is_some()
                                    || i.debug_text.is_some()
                                    || i.conversion != ast::ConversionFlag::None
                                {
                                    return None;
                                }
                                out.push_str(&text(&self.eval_depth(&i.expression, d))?);
                            }
                        }
                    }
                }
            }
            if out.len() > 1_000_000 {
                return None;
            }
        }
        Some(out)
    }

    fn eval_boolop(&self, b: &ast::ExprBoolOp, d: u32) -> Option<Value> {
        let mut last = None;
        for v in &b.values {
            let value = self.eval_depth(v, d);
            let t = truth(&value)?;
            let decides = match b.op {
                BoolOp::Or => t,
                BoolOp::And => !t,
            };
            if decides {
                return Some(value);
            }
            last = Some(value);
        }
        last
    }

    fn eval_compare(&self, c: &ast::ExprCompare, d: u32) -> Option<bool> {
        let mut left = self.eval_depth(&c.left, d);
        for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
            let right = self.eval_depth(right, d);
            let ok = match op {
                CmpOp::Is | CmpOp::IsNot => {
                    // Only `is None` / `is not None` on known values.
                    let is = match (&left, &right) {
                        (Value::None, Value::None) => true,
                        (l, Value::None) | (Value::None, l) if truth(l).is_some() => false,
                        _ => return None,
                    };
                    is == (*op == CmpOp::Is)
                }
                CmpOp::Eq | CmpOp::NotEq => {
                    if !literal(&left) || !literal(&right) {
                        return None;
                    }
                    (left == right) == (*op == CmpOp::Eq)
                }
                CmpOp::In | CmpOp::NotIn => {
                    let found = match (&left, &right) {
                        (Value::Str(needle), Value::Str(hay)) => hay.contains(needle.as_str()),
                        (l, Value::List(v) | Value::Tuple(v))
                            if literal(l) && v.iter().all(literal) =>
                        {
                            v.contains(l)
                        }
                        (l, Value::Dict { items, .. })
                            if literal(l) && items.iter().all(|(k, _)| literal(k)) =>
                        {
                            items.iter().any(|(k, _)| k == l)
                        }
                        _ => return None,
                    };
                    found == (*op == CmpOp::In)
                }
                _ => return None,
            };
            if !ok {
                return Some(false);
            }
            left = right;
        }
        Some(true)
    }

    /// Calls the evaluator understands beyond marks and `pytest.param`:
    /// builtins on known values, dict methods, project functions (run) and
    /// project classes (keyword records). `None` leaves the call to the
    /// caller.
    pub(crate) fn eval_helper_call(
        &self,
        expr: &Expr,
        c: &ast::ExprCall,
        func: &Value,
        d: u32,
    ) -> Option<Value> {
        let a = &c.arguments;
        if a.args.iter().any(|x| x.is_starred_expr()) || a.keywords.iter().any(|k| k.arg.is_none())
        {
            return None;
        }
        let args = || -> Vec<Value> { a.args.iter().map(|x| self.eval_depth(x, d)).collect() };
        let kwargs = || -> Vec<(String, Value)> {
            a.keywords
                .iter()
                .filter_map(|k| Some((k.arg.as_ref()?.to_string(), self.eval_depth(&k.value, d))))
                .collect()
        };
        match func {
            Value::BoundMethod { receiver, name, .. } => {
                let args = args();
                Some(method(receiver, name, &args).unwrap_or_else(|| self.unknown(expr)))
            }
            Value::Named {
                name,
                kind: NamedKind::Builtin,
            } => {
                let args = args();
                let out = match (name.as_str(), args.as_slice()) {
                    ("getattr", [obj, Value::Str(attr), rest @ ..]) if rest.len() <= 1 => match obj
                    {
                        Value::Path { dotted, .. } if dotted == "pytest.mark" => {
                            Some(Value::Mark(crate::value::MarkDeco {
                                name: attr.clone(),
                                args: Vec::new(),
                                kwargs: Vec::new(),
                            }))
                        }
                        Value::Record { fields, .. } => fields
                            .iter()
                            .find(|(k, _)| k == attr)
                            .map(|(_, v)| v.clone()),
                        _ => None,
                    },
                    ("str", [v]) => text(v).map(Value::Str),
                    ("len", [Value::List(v) | Value::Tuple(v)]) => {
                        Some(Value::Int(v.len().to_string()))
                    }
                    ("len", [Value::Dict { items, .. }]) => {
                        Some(Value::Int(items.len().to_string()))
                    }
                    ("len", [Value::Str(s)]) => Some(Value::Int(s.chars().count().to_string())),
                    ("list", [v @ Value::Dict { .. }]) => iterate(v.clone()).map(Value::List),
                    ("tuple", [v @ Value::Dict { .. }]) => iterate(v.clone()).map(Value::Tuple),
                    ("bool", [v]) => truth(v).map(Value::Bool),
                    _ => return None,
                };
                Some(out.unwrap_or_else(|| self.unknown(expr)))
            }
            Value::Named {
                name,
                kind: NamedKind::Function,
            } => {
                let Expr::Name(n) = c.func.as_ref() else {
                    return None;
                };
                match self.bindings.get(n.id.as_str()) {
                    Some(Binding::Function) => {
                        let f = *self.functions.get(n.id.as_str())?;
                        Some(match self.run_function(f, args(), kwargs()) {
                            Ok(v) => v,
                            Err(why) => Value::Unknown {
                                src: format!("{} (not evaluated: {why})", self.src(expr)),
                            },
                        })
                    }
                    Some(Binding::From {
                        module,
                        level,
                        name: orig,
                    }) => {
                        let (args, kwargs) = (args(), kwargs());
                        let v = self
                            .imports
                            .call_function(module, *level, orig, &args, &kwargs)
                            .unwrap_or_else(|| Value::Unknown {
                                src: format!("{} (`{name}` could not be run)", self.src(expr)),
                            });
                        Some(v)
                    }
                    _ => None,
                }
            }
            Value::Named {
                name,
                kind: NamedKind::Class,
            } => {
                // Keyword records; positional fields are not known by name.
                let _ = args();
                Some(Value::Record {
                    class: name.clone(),
                    fields: kwargs(),
                    src: self.src(expr),
                })
            }
            _ => None,
        }
    }

    /// Runs project function `f` on bound arguments.
    pub(crate) fn run_function(
        &self,
        f: &ast::StmtFunctionDef,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
    ) -> Result<Value, GiveUp> {
        if self.frames.borrow().len() >= MAX_CALL_DEPTH {
            return Err(format!(
                "helper calls nest deeper than {MAX_CALL_DEPTH} (line {})",
                self.line_of(f)
            ));
        }
        if f.is_async || !f.decorator_list.is_empty() {
            return Err(format!(
                "`{}` is decorated or async (line {})",
                f.name,
                self.line_of(f)
            ));
        }
        // Defaults are evaluated in the module's scope, not the caller's.
        self.frames.borrow_mut().push(HashMap::new());
        let p = &f.parameters;
        let mut frame: HashMap<String, Value> = HashMap::new();
        let mut args = args.into_iter();
        let mut kwargs = kwargs;
        let mut bind = |param: &ast::ParameterWithDefault,
                        positional: Option<Value>,
                        kwargs: &mut Vec<(String, Value)>|
         -> Result<(), GiveUp> {
            let name = param.parameter.name.as_str();
            let by_name = kwargs
                .iter()
                .position(|(k, _)| k == name)
                .map(|i| kwargs.remove(i).1);
            let v = match (positional, by_name) {
                (Some(v), None) | (None, Some(v)) => v,
                (Some(_), Some(_)) => return Err(format!("`{name}` given twice")),
                (None, None) => match &param.default {
                    Some(e) => self.eval_depth(e, 0),
                    None => return Err(format!("missing argument `{name}`")),
                },
            };
            frame.insert(name.to_string(), v);
            Ok(())
        };
        let mut bound: Result<(), GiveUp> = Ok(());
        for param in p.posonlyargs.iter().chain(p.args.iter()) {
            let positional = args.next();
            bound = bound.and_then(|_| bind(param, positional, &mut kwargs));
        }
        for param in p.kwonlyargs.iter() {
            bound = bound.and_then(|_| bind(param, None, &mut kwargs));
        }
        let rest: Vec<Value> = args.collect();
        if let Some(va) = &p.vararg {
            frame.insert(va.name.to_string(), Value::Tuple(rest));
        } else if !rest.is_empty() {
            bound = bound.and(Err("too many positional arguments".to_string()));
        }
        if let Some(kw) = &p.kwarg {
            let items = kwargs.drain(..).map(|(k, v)| (Value::Str(k), v)).collect();
            frame.insert(
                kw.name.to_string(),
                Value::Dict {
                    items,
                    src: format!("**{}", kw.name),
                },
            );
        } else if !kwargs.is_empty() {
            bound = bound.and(Err("unexpected keyword arguments".to_string()));
        }
        if let Err(why) = bound {
            self.frames.borrow_mut().pop();
            return Err(format!("{why} for `{}` (line {})", f.name, self.line_of(f)));
        }
        if let Some(top) = self.frames.borrow_mut().last_mut() {
            *top = frame;
        }
        let flow = self.exec_block(&f.body);
        self.frames.borrow_mut().pop();
        match flow? {
            Flow::Return(v) => Ok(v),
            _ => Ok(Value::None),
        }
    }

    fn set_local(&self, name: &str, v: Value) {
        if let Some(frame) = self.frames.borrow_mut().last_mut() {
            frame.insert(name.to_string(), v);
        }
    }

    fn local(&self, name: &str) -> Option<Value> {
        self.frames
            .borrow()
            .last()
            .and_then(|f| f.get(name).cloned())
    }

    fn give_up(&self, node: &impl Ranged, what: &str) -> GiveUp {
        let src = self.src(node);
        let first = src.lines().next().unwrap_or("");
        format!("{what} `{first}` (line {})", self.line_of(node))
    }

    fn exec_block(&self, body: &[Stmt]) -> Result<Flow, GiveUp> {
        for stmt in body {
            let left = self.steps.get();
            if left == 0 {
                return Err(format!("step limit reached (line {})", self.line_of(stmt)));
            }
            self.steps.set(left - 1);
            match self.exec(stmt)? {
                Flow::Next => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Next)
    }

    fn assign(&self, target: &Expr, v: Value) -> Result<(), GiveUp> {
        match target {
            Expr::Name(n) => {
                self.set_local(n.id.as_str(), v);
                Ok(())
            }
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                if elts.iter().any(|e| e.is_starred_expr()) {
                    return Err(self.give_up(target, "starred unpacking"));
                }
                match v {
                    Value::Tuple(vs) | Value::List(vs) if vs.len() == elts.len() => {
                        for (e, v) in elts.iter().zip(vs) {
                            self.assign(e, v)?;
                        }
                        Ok(())
                    }
                    Value::Unknown { src } => {
                        for e in elts {
                            self.assign(e, Value::Unknown { src: src.clone() })?;
                        }
                        Ok(())
                    }
                    _ => Err(self.give_up(target, "cannot unpack into")),
                }
            }
            Expr::Subscript(s) => {
                let Expr::Name(n) = s.value.as_ref() else {
                    return Err(self.give_up(target, "assigns into"));
                };
                let key = self.eval_depth(&s.slice, 0);
                match self.local(n.id.as_str()) {
                    Some(Value::Dict { mut items, src }) if literal(&key) => {
                        insert(&mut items, key, v);
                        self.set_local(n.id.as_str(), Value::Dict { items, src });
                        Ok(())
                    }
                    _ => Err(self.give_up(target, "assigns into")),
                }
            }
            _ => Err(self.give_up(target, "assigns to")),
        }
    }

    fn exec(&self, stmt: &Stmt) -> Result<Flow, GiveUp> {
        match stmt {
            Stmt::Pass(_) => Ok(Flow::Next),
            Stmt::Break(_) => Ok(Flow::Break),
            Stmt::Continue(_) => Ok(Flow::Continue),
            Stmt::Return(r) => Ok(Flow::Return(match &r.value {
                Some(v) => self.eval_depth(v, 0),
                None => Value::None,
            })),
            Stmt::Assign(a) => {
                let v = self.eval_depth(&a.value, 0);
                for t in &a.targets {
                    self.assign(t, v.clone())?;
                }
                Ok(Flow::Next)
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.eval_depth(value, 0);
                    self.assign(&a.target, v)?;
                }
                Ok(Flow::Next)
            }
            Stmt::AugAssign(a) => {
                let Expr::Name(n) = a.target.as_ref() else {
                    return Err(self.give_up(stmt, "augmented assignment"));
                };
                let current = self
                    .local(n.id.as_str())
                    .ok_or_else(|| self.give_up(stmt, "augments a name that is not local:"))?;
                let rhs = self.eval_depth(&a.value, 0);
                let v = match (a.op, current, rhs) {
                    (ast::Operator::Add, Value::List(mut l), Value::List(r) | Value::Tuple(r)) => {
                        l.extend(r);
                        Value::List(l)
                    }
                    (ast::Operator::Add, Value::Str(l), Value::Str(r)) => Value::Str(l + &r),
                    _ => return Err(self.give_up(stmt, "augmented assignment")),
                };
                self.assign(&a.target, v)?;
                Ok(Flow::Next)
            }
            Stmt::Expr(e) => {
                self.exec_expr_stmt(stmt, &e.value)?;
                Ok(Flow::Next)
            }
            Stmt::If(s) => {
                let branches = std::iter::once((Some(&*s.test), &s.body)).chain(
                    s.elif_else_clauses
                        .iter()
                        .map(|c| (c.test.as_ref(), &c.body)),
                );
                for (test, body) in branches {
                    let taken = match test {
                        None => true,
                        Some(t) => truth(&self.eval_depth(t, 0))
                            .ok_or_else(|| self.give_up(t, "condition not known statically:"))?,
                    };
                    if taken {
                        return self.exec_block(body);
                    }
                }
                Ok(Flow::Next)
            }
            Stmt::For(f) => {
                if f.is_async {
                    return Err(self.give_up(stmt, "async for"));
                }
                let items = iterate(self.eval_depth(&f.iter, 0)).ok_or_else(|| {
                    self.give_up(&*f.iter, "loops over a value not known statically:")
                })?;
                if items.len() > MAX_ITERATIONS {
                    return Err(self.give_up(&*f.iter, "too many iterations over"));
                }
                for item in items {
                    self.assign(&f.target, item)?;
                    match self.exec_block(&f.body)? {
                        Flow::Next | Flow::Continue => {}
                        Flow::Break => return Ok(Flow::Next),
                        ret @ Flow::Return(_) => return Ok(ret),
                    }
                }
                self.exec_block(&f.orelse)
            }
            _ => Err(self.give_up(stmt, "statement not followed:")),
        }
    }

    /// An expression statement: docstrings and calls whose only effect we
    /// follow (`xs.append(x)`, `xs.extend(ys)`, `d.update(e)`); any other
    /// call handed a local list or dict might change it.
    fn exec_expr_stmt(&self, stmt: &Stmt, e: &Expr) -> Result<(), GiveUp> {
        let Expr::Call(c) = e else { return Ok(()) };
        if let Expr::Attribute(a) = c.func.as_ref() {
            if let Expr::Name(n) = a.value.as_ref() {
                if let Some(receiver) = self.local(n.id.as_str()) {
                    let arg = match c.arguments.args.as_ref() {
                        [one] if c.arguments.keywords.is_empty() => self.eval_depth(one, 0),
                        _ => return Err(self.give_up(stmt, "call not followed:")),
                    };
                    let updated = match (receiver, a.attr.as_str(), arg) {
                        (Value::List(mut l), "append", v) => {
                            l.push(v);
                            Value::List(l)
                        }
                        (Value::List(mut l), "extend", Value::List(r) | Value::Tuple(r)) => {
                            l.extend(r);
                            Value::List(l)
                        }
                        (
                            Value::Dict { mut items, src },
                            "update",
                            Value::Dict { items: more, .. },
                        ) => {
                            for (k, v) in more {
                                insert(&mut items, k, v);
                            }
                            Value::Dict { items, src }
                        }
                        _ => return Err(self.give_up(stmt, "call not followed:")),
                    };
                    if let Value::List(l) = &updated {
                        if l.len() > MAX_ITEMS {
                            return Err(self.give_up(stmt, "list grows too large:"));
                        }
                    }
                    self.set_local(n.id.as_str(), updated);
                    return Ok(());
                }
            }
        }
        let hands_local = c
            .arguments
            .args
            .iter()
            .chain(c.arguments.keywords.iter().map(|k| &k.value))
            .any(|x| matches!(x, Expr::Name(n) if matches!(self.local(n.id.as_str()), Some(Value::List(_) | Value::Dict { .. } | Value::Record { .. }))));
        if hands_local {
            return Err(self.give_up(stmt, "call may change a local value:"));
        }
        Ok(())
    }
}

fn insert(items: &mut Vec<(Value, Value)>, k: Value, v: Value) {
    match items.iter_mut().find(|(key, _)| *key == k) {
        Some(slot) => slot.1 = v,
        None => items.push((k, v)),
    }
}

fn subscript(container: Value, key: &Value) -> Option<Value> {
    match (container, key) {
        (Value::Dict { items, .. }, k) if literal(k) => {
            items.into_iter().find(|(key, _)| key == k).map(|(_, v)| v)
        }
        (Value::List(v) | Value::Tuple(v), Value::Int(i)) => {
            let i: i64 = i.parse().ok()?;
            let len = i64::try_from(v.len()).ok()?;
            let at = if i < 0 { len + i } else { i };
            usize::try_from(at)
                .ok()
                .and_then(|at| v.into_iter().nth(at))
        }
        _ => None,
    }
}

/// `dict.items()/keys()/values()/get()/copy()`, `list.copy()/index()`.
fn method(receiver: &Value, name: &str, args: &[Value]) -> Option<Value> {
    match (receiver, name, args) {
        (Value::Dict { items, .. }, "items", []) => Some(Value::List(
            items
                .iter()
                .map(|(k, v)| Value::Tuple(vec![k.clone(), v.clone()]))
                .collect(),
        )),
        (Value::Dict { items, .. }, "keys", []) => {
            Some(Value::List(items.iter().map(|(k, _)| k.clone()).collect()))
        }
        (Value::Dict { items, .. }, "values", []) => {
            Some(Value::List(items.iter().map(|(_, v)| v.clone()).collect()))
        }
        (Value::Dict { items, .. }, "get", [k, rest @ ..]) if literal(k) && rest.len() <= 1 => {
            Some(
                items
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| rest.first().cloned().unwrap_or(Value::None)),
            )
        }
        (d @ Value::Dict { .. }, "copy", []) => Some(d.clone()),
        (l @ (Value::List(_) | Value::Tuple(_)), "copy", []) => Some(l.clone()),
        _ => None,
    }
}

/// Methods [`method`] knows, for `BoundMethod` values.
pub const METHODS: [&str; 5] = ["items", "keys", "values", "get", "copy"];
