//! The one place the two SQL dialects meet.
//!
//! Read queries are written once, with SQLite's numbered parameters (`?1`),
//! and run on either backend through [`Sql`]; [`to_postgres`] rewrites the
//! parameters to `$1`. Values cross the boundary as [`Value`], so neither
//! the queries nor their callers know which database answers.

use crate::error::StoreError;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    /// Bytes (a SQLite `BLOB`, a PostgreSQL `BYTEA`): the job rollups.
    Blob(Vec<u8>),
}

impl Value {
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(v) => *v,
            Value::Real(v) => *v as i64,
            Value::Bool(b) => i64::from(*b),
            Value::Text(t) => t.parse().unwrap_or(0),
            Value::Null | Value::Blob(_) => 0,
        }
    }

    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Value::Null => None,
            other => Some(other.int()),
        }
    }

    pub fn real(&self) -> f64 {
        match self {
            Value::Real(v) => *v,
            Value::Int(v) => *v as f64,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Text(t) => t.parse().unwrap_or(0.0),
            Value::Null | Value::Blob(_) => 0.0,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Int(v) => v.to_string(),
            Value::Real(v) => v.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Null => String::new(),
        }
    }

    /// The bytes of a blob (empty for anything else).
    pub fn blob(&self) -> &[u8] {
        match self {
            Value::Blob(b) => b,
            _ => &[],
        }
    }

    pub fn opt_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            other => Some(other.text()),
        }
    }

    /// SQLite has no boolean type: 0/1 integers come back.
    pub fn bool(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            other => other.int() != 0,
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

pub type Row = Vec<Value>;

/// Runs a query written in the shared dialect.
pub trait Sql {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
}

/// `?12` → `$12`, leaving string literals alone.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_literal = !in_literal;
                out.push(c);
            }
            '?' if !in_literal && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_numbered_parameters_only() {
        assert_eq!(
            to_postgres("SELECT '?1' FROM t WHERE a = ?1 AND b = ?12 OR c = ?"),
            "SELECT '?1' FROM t WHERE a = $1 AND b = $12 OR c = ?"
        );
    }

    #[test]
    fn value_accessors_are_lenient() {
        assert!(Value::Int(1).bool());
        assert!(!Value::Null.bool());
        assert_eq!(Value::Int(3).real(), 3.0);
        assert_eq!(Value::Null.opt_text(), None);
        assert_eq!(Value::from(Some(2i64)), Value::Int(2));
    }
}
