//! Tokens, produced one at a time on demand.
//!
//! pytest's scanner is a Python generator: a character it cannot lex is only
//! reported when the parser asks for the token that contains it. A parse error
//! earlier in the input therefore wins over a lexing error later on
//! (`) #` complains about the parenthesis, not the `#`). [`Lexer::next_token`]
//! keeps that order by lexing lazily too.

use std::ops::Range;

use crate::error::ParseError;
use crate::unicode;

/// What a token is; the `Display` strings are pytest's `TokenType` values,
/// which appear verbatim in its error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    LParen,
    RParen,
    Or,
    And,
    Not,
    Ident,
    Eof,
    Equal,
    Str,
    Comma,
}

impl TokenKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            TokenKind::LParen => "left parenthesis",
            TokenKind::RParen => "right parenthesis",
            TokenKind::Or => "or",
            TokenKind::And => "and",
            TokenKind::Not => "not",
            TokenKind::Ident => "identifier",
            TokenKind::Eof => "end of input",
            TokenKind::Equal => "=",
            TokenKind::Str => "string literal",
            TokenKind::Comma => ",",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// Byte range in the input (for slicing and for callers' spans).
    pub(crate) span: Range<usize>,
    /// 1-based column in characters, as pytest reports it.
    pub(crate) column: usize,
}

/// Characters an identifier may contain besides `\w`.
fn is_ident_punct(c: char) -> bool {
    matches!(c, ':' | '+' | '-' | '.' | '[' | ']' | '\\' | '/')
}

fn is_ident_char(c: char) -> bool {
    unicode::is_word(c) || is_ident_punct(c)
}

pub(crate) struct Lexer<'a> {
    input: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
    /// 0-based character index of `pos`.
    char_pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Lexer {
            input,
            pos: 0,
            char_pos: 0,
        }
    }

    /// The next token; at the end of input, [`TokenKind::Eof`] (repeatedly).
    pub(crate) fn next_token(&mut self) -> Result<Token, ParseError> {
        let rest = &self.input[self.pos..];
        let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        // Blanks are ASCII: one byte, one character.
        self.pos += blanks;
        self.char_pos += blanks;

        let start = self.pos;
        let column = self.char_pos + 1;
        let rest = &self.input[start..];
        let Some(first) = rest.chars().next() else {
            return Ok(self.token(TokenKind::Eof, 0, 0));
        };
        let single = match first {
            '(' => Some(TokenKind::LParen),
            ')' => Some(TokenKind::RParen),
            '=' => Some(TokenKind::Equal),
            ',' => Some(TokenKind::Comma),
            _ => None,
        };
        if let Some(kind) = single {
            return Ok(self.token(kind, 1, 1));
        }
        if first == '\'' || first == '"' {
            return self.string(first, column);
        }
        let ident_len: usize = rest
            .chars()
            .take_while(|&c| is_ident_char(c))
            .map(char::len_utf8)
            .sum();
        if ident_len == 0 {
            return Err(ParseError::new(
                column,
                format!("unexpected character \"{first}\""),
            ));
        }
        let text = &rest[..ident_len];
        let kind = match text {
            "or" => TokenKind::Or,
            "and" => TokenKind::And,
            "not" => TokenKind::Not,
            _ => TokenKind::Ident,
        };
        Ok(self.token(kind, ident_len, text.chars().count()))
    }

    /// A string literal opened by `quote` at the current position. Its text
    /// runs to the next `quote`; pytest has no escapes and rejects any `\`.
    fn string(&mut self, quote: char, column: usize) -> Result<Token, ParseError> {
        let body = &self.input[self.pos + 1..];
        let Some(body_len) = body.find(quote) else {
            return Err(ParseError::new(
                column,
                format!("closing quote \"{quote}\" is missing"),
            ));
        };
        let body = &body[..body_len];
        if let Some(backslash) = body.find('\\') {
            // +1 for the opening quote, counted in characters.
            let offset = body[..backslash].chars().count() + 1;
            return Err(ParseError::new(
                column + offset,
                "escaping with \"\\\" not supported in marker expression",
            ));
        }
        let chars = body.chars().count() + 2;
        Ok(self.token(TokenKind::Str, body_len + 2, chars))
    }

    /// Emits a token of `bytes` bytes / `chars` characters at the current
    /// position and moves past it.
    fn token(&mut self, kind: TokenKind, bytes: usize, chars: usize) -> Token {
        let token = Token {
            kind,
            span: self.pos..self.pos + bytes,
            column: self.char_pos + 1,
        };
        self.pos += bytes;
        self.char_pos += chars;
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_all(input: &str) -> Result<Vec<(TokenKind, &str, usize)>, ParseError> {
        let mut lexer = Lexer::new(input);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token()?;
            out.push((token.kind, &input[token.span.clone()], token.column));
            if token.kind == TokenKind::Eof {
                return Ok(out);
            }
        }
    }

    #[test]
    fn tokens_with_columns() {
        use TokenKind::*;
        assert_eq!(
            lex_all("not (a::b or\tx-y) and c(k='v', n=-1)").unwrap(),
            vec![
                (Not, "not", 1),
                (LParen, "(", 5),
                (Ident, "a::b", 6),
                (Or, "or", 11),
                (Ident, "x-y", 14),
                (RParen, ")", 17),
                (And, "and", 19),
                (Ident, "c", 23),
                (LParen, "(", 24),
                (Ident, "k", 25),
                (Equal, "=", 26),
                (Str, "'v'", 27),
                (Comma, ",", 30),
                (Ident, "n", 32),
                (Equal, "=", 33),
                (Ident, "-1", 34),
                (RParen, ")", 36),
                (Eof, "", 37),
            ]
        );
    }

    #[test]
    fn keywords_only_as_whole_words() {
        use TokenKind::*;
        let kinds: Vec<_> = lex_all("order android nota or")
            .unwrap()
            .into_iter()
            .map(|(kind, _, _)| kind)
            .collect();
        assert_eq!(kinds, vec![Ident, Ident, Ident, Or, Eof]);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let tokens = lex_all("été or 中").unwrap();
        assert_eq!(tokens[1], (TokenKind::Or, "or", 5));
        assert_eq!(tokens[2], (TokenKind::Ident, "中", 8));
        let err = lex_all("été #").unwrap_err();
        assert_eq!(err, ParseError::new(5, "unexpected character \"#\""));
    }

    #[test]
    fn strings_keep_the_other_quote() {
        let tokens = lex_all(r#""it's" 'say "hi"'"#).unwrap();
        assert_eq!(tokens[0].1, r#""it's""#);
        assert_eq!(tokens[1].1, r#"'say "hi"'"#);
    }

    #[test]
    fn eof_repeats() {
        let mut lexer = Lexer::new(" ");
        assert_eq!(lexer.next_token().unwrap().kind, TokenKind::Eof);
        assert_eq!(lexer.next_token().unwrap().kind, TokenKind::Eof);
    }
}
