//! Static truth of the few `if` conditions that guard definitions in test
//! modules and whose value is fixed for the target interpreter:
//! `sys.version_info` comparisons, `sys.platform`, `TYPE_CHECKING`, literals.
//! Anything else is unknown, and both branches are kept.

use std::cmp::Ordering;

use ruff_python_ast::{BoolOp, CmpOp, Expr, Number, UnaryOp};

/// The interpreter pytest runs under (the project's venv).
pub const TARGET_PYTHON: (i64, i64, i64) = (3, 11, 0);
pub const TARGET_PLATFORM: &str = "linux";

fn dotted(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr)),
        _ => None,
    }
}

fn int_tuple(expr: &Expr) -> Option<Vec<i64>> {
    match expr {
        Expr::Tuple(t) => t
            .elts
            .iter()
            .map(|e| match e {
                Expr::NumberLiteral(n) => match &n.value {
                    Number::Int(i) => i.as_i64(),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn compare(ord: Ordering, op: CmpOp) -> Option<bool> {
    Some(match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::NotEq => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::LtE => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::GtE => ord != Ordering::Less,
        _ => return None,
    })
}

/// `Some(value)` when the condition is known for the target interpreter.
pub fn static_truth(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::BooleanLiteral(b) => Some(b.value),
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => i.as_i64().map(|v| v != 0),
            _ => None,
        },
        Expr::UnaryOp(u) if u.op == UnaryOp::Not => static_truth(&u.operand).map(|b| !b),
        Expr::BoolOp(b) => {
            let values: Vec<Option<bool>> = b.values.iter().map(static_truth).collect();
            match b.op {
                BoolOp::And if values.contains(&Some(false)) => Some(false),
                BoolOp::Or if values.contains(&Some(true)) => Some(true),
                _ if values.iter().all(Option::is_some) => Some(matches!(b.op, BoolOp::And)),
                _ => None,
            }
        }
        Expr::Name(_) | Expr::Attribute(_) => match dotted(expr)?.as_str() {
            "TYPE_CHECKING" | "typing.TYPE_CHECKING" => Some(false),
            _ => None,
        },
        Expr::Compare(c) if c.ops.len() == 1 => {
            let op = *c.ops.first()?;
            let right = c.comparators.first()?;
            match dotted(&c.left)?.as_str() {
                "sys.version_info" => {
                    let want = int_tuple(right)?;
                    let have = [TARGET_PYTHON.0, TARGET_PYTHON.1, TARGET_PYTHON.2];
                    let have = have.get(..want.len().min(3))?;
                    let ord = have.iter().cmp(want.iter()).then(if want.len() > 3 {
                        Ordering::Less
                    } else {
                        Ordering::Equal
                    });
                    compare(ord, op)
                }
                "sys.platform" => match right {
                    Expr::StringLiteral(s) => match op {
                        CmpOp::Eq => Some(s.value.to_str() == TARGET_PLATFORM),
                        CmpOp::NotEq => Some(s.value.to_str() != TARGET_PLATFORM),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            }
        }
        Expr::Call(c) => {
            // sys.platform.startswith("...")
            let Expr::Attribute(a) = c.func.as_ref() else {
                return None;
            };
            if a.attr.as_str() != "startswith" || dotted(&a.value)?.as_str() != "sys.platform" {
                return None;
            }
            match c.arguments.args.first()? {
                Expr::StringLiteral(s) => Some(TARGET_PLATFORM.starts_with(s.value.to_str())),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(src: &str) -> Option<bool> {
        let parsed = ruff_python_parser::parse_expression(src).unwrap();
        static_truth(&parsed.syntax().body)
    }

    #[test]
    fn known_conditions() {
        assert_eq!(truth("sys.version_info >= (3, 0)"), Some(true));
        assert_eq!(truth("sys.version_info < (3, 8)"), Some(false));
        assert_eq!(truth("sys.version_info >= (3, 12)"), Some(false));
        assert_eq!(truth("sys.platform == 'win32'"), Some(false));
        assert_eq!(truth("sys.platform.startswith('linux')"), Some(true));
        assert_eq!(truth("not TYPE_CHECKING"), Some(true));
        assert_eq!(truth("HAS_TORCH"), None);
        assert_eq!(truth("HAS_TORCH and False"), Some(false));
    }
}
