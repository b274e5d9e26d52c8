//! pytest's `-m` marker expression language: a parser with column-accurate
//! errors and an evaluator, matching pytest 9.2's `_pytest.mark.expression`.
//!
//! ```
//! use tollgate_markexpr::{Expression, NameSet};
//!
//! let expr = Expression::parse("slow and not (db or gpu(count=2))").unwrap();
//! assert!(expr.evaluate(&NameSet(&["slow"])));
//! assert!(!expr.evaluate(&NameSet(&["slow", "db"])));
//!
//! let err = Expression::parse("slow and").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "at column 9: expected not OR left parenthesis OR identifier; got end of input"
//! );
//! ```
//!
//! The grammar:
//!
//! ```text
//! expression: expr? EOF
//! expr:       and_expr ('or' and_expr)*
//! and_expr:   not_expr ('and' not_expr)*
//! not_expr:   'not' not_expr | '(' expr ')' | ident kwargs?
//! ident:      (\w|:|\+|-|\.|\[|\]|\\|/)+
//! kwargs:     '(' name '=' value (',' name '=' value)* ')'
//! value:      'string' | "string" | -?digits | True | False | None
//! ```
//!
//! The core is pure: text in, a tree out, a boolean out of the tree and a
//! [`MarkMatcher`]. Nothing here reads files or the environment.

mod ast;
mod compiled;
mod error;
mod lexer;
mod matcher;
mod parser;
mod unicode;
mod value;

use std::fmt;
use std::ops::Range;

pub use compiled::{CompiledExpression, TermTable};
pub use error::ParseError;
pub use matcher::{MarkMatcher, NameSet};
pub use parser::MAX_NESTING;
pub use value::KwargValue;

/// A parsed marker expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    source: String,
    /// `None` for an empty or all-blank expression.
    root: Option<ast::Node>,
}

impl Expression {
    /// Parses `input` exactly as pytest's `Expression.compile` does, with the
    /// same error columns and messages.
    ///
    /// Two deliberate differences, both where pytest crashes instead of
    /// reporting a usage error: an integer value such as `²` that
    /// `str.isdigit()` accepts but `int()` rejects is a [`ParseError`] with
    /// Python's `ValueError` message, and nesting deeper than [`MAX_NESTING`]
    /// is a [`ParseError`] rather than a `RecursionError`.
    pub fn parse(input: &str) -> Result<Expression, ParseError> {
        Ok(Expression {
            source: input.to_owned(),
            root: parser::parse(input)?,
        })
    }

    /// The text this expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the expression has no terms (the input was empty or only
    /// blanks). Such an expression evaluates to false for everything.
    ///
    /// Note how pytest's `deselect_by_mark` treats the option: `-m ''` skips
    /// mark selection entirely (everything stays selected), but `-m ' '` is
    /// compiled and deselects everything. [`Expression::skips_selection`]
    /// tells the two apart.
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// True when pytest would not filter by marks at all for this `-m` value:
    /// exactly when the option is the empty string (`if not matchexpr: return`).
    pub fn skips_selection(&self) -> bool {
        self.source.is_empty()
    }

    /// Evaluates the expression: a bare `name` asks `matcher` about `name`
    /// with no kwargs; `name(k=v, ...)` passes the kwargs in source order.
    pub fn evaluate(&self, matcher: &dyn MarkMatcher) -> bool {
        self.root
            .as_ref()
            .is_some_and(|root| root.evaluate(matcher))
    }

    /// Every mark term as `(name, compares keyword arguments)`, in source
    /// order (repeats included): what an evaluation can ask of a subject.
    pub fn mark_terms(&self) -> Vec<(&str, bool)> {
        let mut marks = Vec::new();
        if let Some(root) = &self.root {
            root.marks(&mut marks);
        }
        marks
            .into_iter()
            .map(|mark| (mark.name.as_str(), !mark.kwargs.is_empty()))
            .collect()
    }

    /// Every marker name the expression mentions, in source order (repeats
    /// included), with its byte range in [`Expression::source`]. pytest's
    /// strict-markers check uses the same names (`Expression.idents()`).
    pub fn marker_names(&self) -> Vec<(&str, Range<usize>)> {
        let mut marks = Vec::new();
        if let Some(root) = &self.root {
            root.marks(&mut marks);
        }
        marks
            .into_iter()
            .map(|mark| (mark.name.as_str(), mark.span.clone()))
            .collect()
    }
}

/// A canonical form: single spaces, `or`/`and` chains flattened, parentheses
/// only where precedence needs them, integers in ASCII decimal. It parses back
/// to an expression that evaluates identically. An empty expression prints
/// as the empty string.
impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Some(root) => write!(f, "{root}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
