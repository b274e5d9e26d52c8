//! Many expressions against many subjects, each mark term asked once per
//! subject.
//!
//! The planner checks, for every job instance, whether pytest's `-m` would
//! select exactly the planned tests: some sixty expressions of twenty to
//! forty terms each (every spelling of every marker, the lifecycle stages,
//! the framework filter) against a few thousand kinds of tests. Evaluated
//! one by one, the same terms are asked of the same test again and again;
//! here every distinct term gets an index in a [`TermTable`], a subject's
//! answers to all terms are computed once ([`TermTable::answers`]), and a
//! [`CompiledExpression`] is then evaluated over those answers only. The
//! result is the one [`crate::Expression::evaluate`] gives: the same tree,
//! the same matcher answers, only looked up instead of asked.

use std::collections::HashMap;

use crate::ast::Node;
use crate::matcher::MarkMatcher;
use crate::value::KwargValue;
use crate::Expression;

/// The distinct mark terms of the expressions compiled against it.
#[derive(Debug, Default)]
pub struct TermTable {
    terms: Vec<(String, Vec<(String, KwargValue)>)>,
    /// Bare names already in `terms` (terms with kwargs are never shared:
    /// rare, and their values have no total equality).
    bare: HashMap<String, usize>,
}

/// An expression whose terms are indices into a [`TermTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledExpression {
    root: Option<Compiled>,
}

#[derive(Debug, Clone, PartialEq)]
enum Compiled {
    Or(Vec<Compiled>),
    And(Vec<Compiled>),
    Not(Box<Compiled>),
    Term(usize),
}

impl TermTable {
    /// Adds `expr`'s terms to the table; the result is evaluated over
    /// answers from this table (including terms added later).
    pub fn compile(&mut self, expr: &Expression) -> CompiledExpression {
        CompiledExpression {
            root: expr.root.as_ref().map(|node| self.node(node)),
        }
    }

    fn node(&mut self, node: &Node) -> Compiled {
        match node {
            Node::Or(terms) => Compiled::Or(terms.iter().map(|t| self.node(t)).collect()),
            Node::And(terms) => Compiled::And(terms.iter().map(|t| self.node(t)).collect()),
            Node::Not(term) => Compiled::Not(Box::new(self.node(term))),
            Node::Mark(mark) if mark.kwargs.is_empty() => {
                if let Some(&index) = self.bare.get(&mark.name) {
                    return Compiled::Term(index);
                }
                let index = self.terms.len();
                self.terms.push((mark.name.clone(), Vec::new()));
                self.bare.insert(mark.name.clone(), index);
                Compiled::Term(index)
            }
            Node::Mark(mark) => {
                self.terms.push((mark.name.clone(), mark.kwargs.clone()));
                Compiled::Term(self.terms.len() - 1)
            }
        }
    }

    /// How many distinct terms the table holds.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// `matcher`'s answer to every term, by index.
    pub fn answers(&self, matcher: &dyn MarkMatcher) -> Vec<bool> {
        self.terms
            .iter()
            .map(|(name, kwargs)| matcher.matches(name, kwargs))
            .collect()
    }
}

impl CompiledExpression {
    /// The expression's value for a subject whose [`TermTable::answers`]
    /// are `answers` (a term without an answer counts as false). An empty
    /// expression is false, as [`crate::Expression::evaluate`] says.
    pub fn evaluate(&self, answers: &[bool]) -> bool {
        self.root
            .as_ref()
            .is_some_and(|root| root.evaluate(answers))
    }
}

impl Compiled {
    fn evaluate(&self, answers: &[bool]) -> bool {
        match self {
            Compiled::Or(terms) => terms.iter().any(|t| t.evaluate(answers)),
            Compiled::And(terms) => terms.iter().all(|t| t.evaluate(answers)),
            Compiled::Not(term) => !term.evaluate(answers),
            Compiled::Term(index) => answers.get(*index).copied().unwrap_or(false),
        }
    }
}
