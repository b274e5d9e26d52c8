//! Keyword-argument literals and Python's `==` between them and mark values.

use std::fmt;

use tollgate_inventory::MarkValue;

/// A literal on the right of `name=` in `marker(name=value)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KwargValue {
    /// `'text'` or `"text"`, without the quotes (pytest has no escapes).
    Str(String),
    /// An integer that fits in an `i64`.
    Int(i64),
    /// An integer that does not fit in an `i64` (Python's ints are unbounded):
    /// its canonical decimal text, `-` and digits without leading zeros.
    BigInt(String),
    /// `True` / `False`.
    Bool(bool),
    /// `None`.
    None,
}

impl fmt::Display for KwargValue {
    /// The literal as it would be written in an expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A literal cannot contain its own quote character, so prefer `'`
            // and fall back to `"` for text that contains `'`.
            KwargValue::Str(s) if s.contains('\'') => write!(f, "\"{s}\""),
            KwargValue::Str(s) => write!(f, "'{s}'"),
            KwargValue::Int(n) => write!(f, "{n}"),
            KwargValue::BigInt(digits) => f.write_str(digits),
            KwargValue::Bool(true) => f.write_str("True"),
            KwargValue::Bool(false) => f.write_str("False"),
            KwargValue::None => f.write_str("None"),
        }
    }
}

/// A number as Python compares it: `bool` is an `int`, and `int == float`
/// compares exact values.
enum Number<'a> {
    Int(i64),
    Float(f64),
    /// Canonical decimal text of an integer outside `i64`.
    Big(&'a str),
}

fn mark_number(value: &MarkValue) -> Option<Number<'_>> {
    match *value {
        MarkValue::Int(n) => Some(Number::Int(n)),
        MarkValue::Bool(b) => Some(Number::Int(i64::from(b))),
        MarkValue::Float(x) => Some(Number::Float(x)),
        _ => None,
    }
}

fn literal_number(value: &KwargValue) -> Option<Number<'_>> {
    match value {
        KwargValue::Int(n) => Some(Number::Int(*n)),
        KwargValue::Bool(b) => Some(Number::Int(i64::from(*b))),
        KwargValue::BigInt(digits) => Some(Number::Big(digits)),
        _ => None,
    }
}

/// Whether an integral float equals an integer exactly, as Python decides it
/// (no rounding: `2**53 + 1 != float(2**53)`).
fn float_equals_int(x: f64, n: i64) -> bool {
    // 2^63 is exactly representable; anything in [-2^63, 2^63) converts
    // without saturation, and an integral float there is an exact i64.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    x.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&x) && x as i64 == n
}

fn numbers_equal(a: &Number<'_>, b: &Number<'_>) -> bool {
    match (a, b) {
        (Number::Int(a), Number::Int(b)) => a == b,
        (Number::Float(x), Number::Int(n)) | (Number::Int(n), Number::Float(x)) => {
            float_equals_int(*x, *n)
        }
        (Number::Float(a), Number::Float(b)) => a == b,
        // `{:.0}` prints an integral float's exact decimal expansion.
        (Number::Float(x), Number::Big(digits)) | (Number::Big(digits), Number::Float(x)) => {
            x.is_finite() && x.fract() == 0.0 && format!("{x:.0}") == *digits
        }
        (Number::Big(a), Number::Big(b)) => a == b,
        // A big integer is outside i64 by construction.
        (Number::Big(_), Number::Int(_)) | (Number::Int(_), Number::Big(_)) => false,
    }
}

/// Python's `mark_value == literal`.
///
/// Lists never equal a literal, and an unevaluated expression
/// ([`MarkValue::Expr`]) is never claimed equal to anything: its runtime value
/// is unknown, and a selection must not pretend to know it.
pub(crate) fn python_eq(mark: &MarkValue, literal: &KwargValue) -> bool {
    match (mark, literal) {
        (MarkValue::Str(a), KwargValue::Str(b)) => a == b,
        (MarkValue::None, KwargValue::None) => true,
        _ => match (mark_number(mark), literal_number(literal)) {
            (Some(a), Some(b)) => numbers_equal(&a, &b),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_equality_table() {
        use KwargValue as K;
        use MarkValue as M;
        let big = || K::BigInt("100000000000000000000".into());
        let cases: Vec<(MarkValue, KwargValue, bool)> = vec![
            (M::Str("a".into()), K::Str("a".into()), true),
            (M::Str("1".into()), K::Int(1), false),
            (M::Int(1), K::Int(1), true),
            (M::Int(1), K::Bool(true), true),
            (M::Int(0), K::Bool(false), true),
            (M::Int(2), K::Bool(true), false),
            (M::Bool(true), K::Int(1), true),
            (M::Bool(true), K::Bool(true), true),
            (M::Bool(false), K::None, false),
            (M::Float(1.0), K::Int(1), true),
            (M::Float(1.0), K::Bool(true), true),
            (M::Float(1.5), K::Int(1), false),
            (M::Float(f64::NAN), K::Int(0), false),
            (
                M::Float(9_007_199_254_740_992.0),
                K::Int(9_007_199_254_740_993),
                false,
            ),
            (
                M::Float(9_223_372_036_854_775_808.0),
                K::Int(i64::MAX),
                false,
            ),
            (
                M::Float(-9_223_372_036_854_775_808.0),
                K::Int(i64::MIN),
                true,
            ),
            (M::Float(1e20), big(), true),
            (M::Float(f64::INFINITY), big(), false),
            (M::Int(i64::MAX), big(), false),
            (M::None, K::None, true),
            (M::None, K::Int(0), false),
            (M::List(vec![M::Int(1)]), K::Int(1), false),
            (M::Expr { expr: "1".into() }, K::Int(1), false),
            (M::Expr { expr: "'a'".into() }, K::Str("'a'".into()), false),
        ];
        for (mark, literal, expected) in cases {
            assert_eq!(
                python_eq(&mark, &literal),
                expected,
                "{mark:?} == {literal:?}"
            );
        }
    }

    #[test]
    fn display_writes_reparsable_literals() {
        assert_eq!(KwargValue::Str("a b".into()).to_string(), "'a b'");
        assert_eq!(KwargValue::Str("it's".into()).to_string(), "\"it's\"");
        assert_eq!(KwargValue::Int(-3).to_string(), "-3");
        assert_eq!(KwargValue::Bool(false).to_string(), "False");
        assert_eq!(KwargValue::None.to_string(), "None");
    }
}
