//! Recursive descent over pytest's grammar, with pytest's error messages.
//!
//! ```text
//! expression: expr? EOF
//! expr:       and_expr ('or' and_expr)*
//! and_expr:   not_expr ('and' not_expr)*
//! not_expr:   'not' not_expr | '(' expr ')' | ident kwargs?
//! kwargs:     '(' name '=' value (',' name '=' value)* ')'
//! ```
//!
//! After parsing, [`check_keywords`] reproduces the two errors CPython's
//! compiler raises when pytest compiles the expression to bytecode.

use crate::ast::{MarkTerm, Node};
use crate::error::ParseError;
use crate::lexer::{Lexer, Token, TokenKind};
use crate::unicode;
use crate::value::KwargValue;

/// How deeply `not` and `(` may nest. pytest itself dies with a
/// `RecursionError` at roughly 330 nested parentheses or 900 nested `not`s;
/// no real expression comes near either. The bound keeps our recursive
/// descent well inside a 2 MiB thread stack even in debug builds.
pub const MAX_NESTING: usize = 256;

/// Python's reserved keywords (`keyword.kwlist`, 3.11): a kwarg name may not be one.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Parses a whole expression; `None` for an empty (or all-blank) input.
pub(crate) fn parse(input: &str) -> Result<Option<Node>, ParseError> {
    let mut lexer = Lexer::new(input);
    let current = lexer.next_token()?;
    let mut parser = Parser {
        input,
        lexer,
        current,
        depth: 0,
    };
    if parser.accept(TokenKind::Eof)?.is_some() {
        return Ok(None);
    }
    let root = parser.expr()?;
    parser.expect(TokenKind::Eof)?;
    check_keywords(&root)?;
    Ok(Some(root))
}

struct Parser<'a> {
    input: &'a str,
    lexer: Lexer<'a>,
    /// The one token of lookahead.
    current: Token,
    /// Current nesting of `not` and `(`.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn text(&self, token: &Token) -> &'a str {
        let input: &'a str = self.input;
        &input[token.span.clone()]
    }

    /// Consumes the current token if it is a `kind`. Lexing the token after
    /// it may fail, exactly when pytest's generator would.
    fn accept(&mut self, kind: TokenKind) -> Result<Option<Token>, ParseError> {
        if self.current.kind != kind {
            return Ok(None);
        }
        let token = if kind == TokenKind::Eof {
            self.current.clone()
        } else {
            let next = self.lexer.next_token()?;
            std::mem::replace(&mut self.current, next)
        };
        Ok(Some(token))
    }

    fn expect(&mut self, kind: TokenKind) -> Result<Token, ParseError> {
        match self.accept(kind)? {
            Some(token) => Ok(token),
            None => Err(self.unexpected(&[kind])),
        }
    }

    /// pytest's `Scanner.reject`.
    fn unexpected(&self, expected: &[TokenKind]) -> ParseError {
        let expected: Vec<&str> = expected.iter().map(|kind| kind.describe()).collect();
        ParseError::new(
            self.current.column,
            format!(
                "expected {}; got {}",
                expected.join(" OR "),
                self.current.kind.describe()
            ),
        )
    }

    fn expr(&mut self) -> Result<Node, ParseError> {
        let mut terms = vec![self.and_expr()?];
        while self.accept(TokenKind::Or)?.is_some() {
            terms.push(self.and_expr()?);
        }
        Ok(chain(Chain::Or, terms))
    }

    fn and_expr(&mut self) -> Result<Node, ParseError> {
        let mut terms = vec![self.not_expr()?];
        while self.accept(TokenKind::And)?.is_some() {
            terms.push(self.not_expr()?);
        }
        Ok(chain(Chain::And, terms))
    }

    fn not_expr(&mut self) -> Result<Node, ParseError> {
        if let Some(token) = self.accept(TokenKind::Not)? {
            self.enter(&token)?;
            let operand = self.not_expr()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(operand)));
        }
        if let Some(token) = self.accept(TokenKind::LParen)? {
            self.enter(&token)?;
            let inner = self.expr()?;
            self.expect(TokenKind::RParen)?;
            self.depth -= 1;
            return Ok(inner);
        }
        if let Some(ident) = self.accept(TokenKind::Ident)? {
            let kwargs = if self.accept(TokenKind::LParen)?.is_some() {
                let kwargs = self.kwargs()?;
                self.expect(TokenKind::RParen)?;
                kwargs
            } else {
                Vec::new()
            };
            return Ok(Node::Mark(MarkTerm {
                name: self.text(&ident).to_owned(),
                span: ident.span,
                kwargs,
            }));
        }
        Err(self.unexpected(&[TokenKind::Not, TokenKind::LParen, TokenKind::Ident]))
    }

    /// Counts one level of nesting opened by `token`.
    fn enter(&mut self, token: &Token) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(ParseError::new(
                token.column,
                format!("expression nested too deeply (more than {MAX_NESTING} levels of `not` and parentheses)"),
            ));
        }
        Ok(())
    }

    fn kwargs(&mut self) -> Result<Vec<(String, KwargValue)>, ParseError> {
        let mut kwargs = vec![self.kwarg()?];
        while self.accept(TokenKind::Comma)?.is_some() {
            kwargs.push(self.kwarg()?);
        }
        Ok(kwargs)
    }

    fn kwarg(&mut self) -> Result<(String, KwargValue), ParseError> {
        let name_token = self.expect(TokenKind::Ident)?;
        let name = self.text(&name_token);
        if !unicode::is_identifier(name) {
            return Err(ParseError::new(
                name_token.column,
                format!("not a valid python identifier {name}"),
            ));
        }
        if PYTHON_KEYWORDS.contains(&name) {
            return Err(ParseError::new(
                name_token.column,
                format!("unexpected reserved python keyword `{name}`"),
            ));
        }
        self.expect(TokenKind::Equal)?;
        let value = if let Some(string) = self.accept(TokenKind::Str)? {
            let quoted = self.text(&string);
            // Both quotes are one byte.
            KwargValue::Str(quoted[1..quoted.len() - 1].to_owned())
        } else {
            let token = self.expect(TokenKind::Ident)?;
            value_from_ident(self.text(&token), token.column)?
        };
        Ok((name.to_owned(), value))
    }
}

/// Which n-ary operator a chain of terms is joined with.
#[derive(Clone, Copy)]
enum Chain {
    Or,
    And,
}

/// One term stays itself; several become an n-ary node, absorbing operands
/// that are the same operator (from parentheses) so chains stay flat.
fn chain(operator: Chain, terms: Vec<Node>) -> Node {
    let terms = match <[Node; 1]>::try_from(terms) {
        Ok([only]) => return only,
        Err(terms) => terms,
    };
    let mut flat = Vec::with_capacity(terms.len());
    for term in terms {
        match (operator, term) {
            (Chain::Or, Node::Or(inner)) | (Chain::And, Node::And(inner)) => flat.extend(inner),
            (_, term) => flat.push(term),
        }
    }
    match operator {
        Chain::Or => Node::Or(flat),
        Chain::And => Node::And(flat),
    }
}

/// A kwarg value written without quotes: an integer (`isdigit()`, optionally
/// after `-`), `True`, `False` or `None`.
fn value_from_ident(text: &str, column: usize) -> Result<KwargValue, ParseError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if unicode::is_digits(digits) {
        return integer(text, digits, column);
    }
    match text {
        "True" => Ok(KwargValue::Bool(true)),
        "False" => Ok(KwargValue::Bool(false)),
        "None" => Ok(KwargValue::None),
        _ => Err(ParseError::new(
            column,
            format!("unexpected character/s \"{text}\""),
        )),
    }
}

/// Python's `int(text)` where `digits` is `text` without its sign.
///
/// `isdigit()` also accepts digits `int()` refuses (superscripts, circled
/// digits); pytest then crashes with a `ValueError`. We report that error as
/// a parse error instead.
fn integer(text: &str, digits: &str, column: usize) -> Result<KwargValue, ParseError> {
    let mut ascii = String::with_capacity(digits.len());
    for c in digits.chars() {
        let Some(value) = unicode::decimal_value(c) else {
            return Err(ParseError::new(
                column,
                format!("invalid literal for int() with base 10: '{text}'"),
            ));
        };
        ascii.push(char::from(b'0' + value));
    }
    let magnitude = ascii.trim_start_matches('0');
    if magnitude.is_empty() {
        return Ok(KwargValue::Int(0));
    }
    let ascii = if text.starts_with('-') {
        format!("-{magnitude}")
    } else {
        magnitude.to_owned()
    };
    Ok(match ascii.parse::<i64>() {
        Ok(n) => KwargValue::Int(n),
        Err(_) => KwargValue::BigInt(ascii),
    })
}

/// The checks CPython's compiler applies to each call's keywords, in the order
/// it compiles them (source order): a keyword may not be `__debug__`, and may
/// not repeat. pytest's AST carries no positions, so both report column 1.
fn check_keywords(root: &Node) -> Result<(), ParseError> {
    let mut marks = Vec::new();
    root.marks(&mut marks);
    for mark in marks {
        for (i, (name, _)) in mark.kwargs.iter().enumerate() {
            if name == "__debug__" {
                return Err(ParseError::from_compiler("cannot assign to __debug__"));
            }
            if mark
                .kwargs
                .iter()
                .skip(i + 1)
                .any(|(other, _)| other == name)
            {
                return Err(ParseError::from_compiler(format!(
                    "keyword argument repeated: {name}"
                )));
            }
        }
    }
    Ok(())
}
