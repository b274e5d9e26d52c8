//! The parsed expression tree, its evaluation and its canonical text.

use std::fmt;
use std::ops::Range;

use crate::matcher::MarkMatcher;
use crate::value::KwargValue;

/// One node of a parsed expression.
///
/// `or` and `and` chains are n-ary and flattened (`a or (b or c)` is one
/// `Or` of three): both operators are associative, so this changes nothing
/// about the result, keeps the tree shallow for long chains and gives
/// [`fmt::Display`] a canonical shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Mark(MarkTerm),
}

/// `name` or `name(key=value, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MarkTerm {
    pub(crate) name: String,
    /// Byte range of `name` in the input.
    pub(crate) span: Range<usize>,
    /// Empty for a bare name (`name()` is not valid syntax).
    pub(crate) kwargs: Vec<(String, KwargValue)>,
}

impl Node {
    pub(crate) fn evaluate(&self, matcher: &dyn MarkMatcher) -> bool {
        match self {
            Node::Or(terms) => terms.iter().any(|term| term.evaluate(matcher)),
            Node::And(terms) => terms.iter().all(|term| term.evaluate(matcher)),
            Node::Not(term) => !term.evaluate(matcher),
            Node::Mark(mark) => matcher.matches(&mark.name, &mark.kwargs),
        }
    }

    /// Every mark term, in source order.
    pub(crate) fn marks<'a>(&'a self, out: &mut Vec<&'a MarkTerm>) {
        match self {
            Node::Or(terms) | Node::And(terms) => {
                for term in terms {
                    term.marks(out);
                }
            }
            Node::Not(term) => term.marks(out),
            Node::Mark(mark) => out.push(mark),
        }
    }

    /// Binding strength: `or` < `and` < `not` < a mark term.
    fn precedence(&self) -> u8 {
        match self {
            Node::Or(_) => 0,
            Node::And(_) => 1,
            Node::Not(_) => 2,
            Node::Mark(_) => 3,
        }
    }

    /// Writes `self` as an operand of an operator of precedence `parent`,
    /// parenthesized only when it binds more loosely than the operator.
    fn fmt_operand(&self, parent: u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.precedence() < parent {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }

    fn fmt_chain(&self, terms: &[Node], operator: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in terms.iter().enumerate() {
            if i > 0 {
                write!(f, " {operator} ")?;
            }
            // Only operands that bind strictly tighter go bare; an operand
            // with the chain's own operator cannot occur (chains are flat).
            term.fmt_operand(self.precedence() + 1, f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Or(terms) => self.fmt_chain(terms, "or", f),
            Node::And(terms) => self.fmt_chain(terms, "and", f),
            Node::Not(term) => {
                f.write_str("not ")?;
                term.fmt_operand(self.precedence(), f)
            }
            Node::Mark(mark) => write!(f, "{mark}"),
        }
    }
}

impl fmt::Display for MarkTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.kwargs.is_empty() {
            return Ok(());
        }
        f.write_str("(")?;
        for (i, (key, value)) in self.kwargs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key}={value}")?;
        }
        f.write_str(")")
    }
}
