//! The one error a marker expression can produce.

/// A malformed marker expression, reported like pytest reports it.
///
/// `Display` gives `at column {column}: {message}`;
/// [`ParseError::pytest_message`] gives the whole line pytest prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: {message}")]
pub struct ParseError {
    /// 1-based column, counted in characters (Python code points), like
    /// pytest's `SyntaxError.offset`.
    pub column: usize,
    /// pytest's message, verbatim (e.g. `expected right parenthesis; got end of input`).
    pub message: String,
    stage: Stage,
}

/// Which part of pytest would have raised the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// pytest's own scanner and parser: the `SyntaxError` carries the input.
    Parse,
    /// CPython's compiler, run on the AST pytest built: the `SyntaxError`
    /// carries no source text and no position (column 1).
    Compile,
}

impl ParseError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        ParseError {
            column,
            message: message.into(),
            stage: Stage::Parse,
        }
    }

    /// An error CPython's compiler raises (repeated or `__debug__` keyword).
    pub(crate) fn from_compiler(message: impl Into<String>) -> Self {
        ParseError {
            column: 1,
            message: message.into(),
            stage: Stage::Compile,
        }
    }

    /// True for the errors pytest only learns about when CPython compiles
    /// the expression (a repeated keyword, a `__debug__` keyword); they have
    /// no real position and report column 1.
    pub fn is_compile_error(&self) -> bool {
        self.stage == Stage::Compile
    }

    /// The usage error pytest prints for `-m input`, without its `ERROR: `
    /// prefix: `Wrong expression passed to '-m': {input}: at column {n}:
    /// {message}`. For compile errors pytest prints `None` in place of the
    /// input (the compiler's `SyntaxError.text`), and so does this.
    pub fn pytest_message(&self, input: &str) -> String {
        let text = match self.stage {
            Stage::Parse => input,
            Stage::Compile => "None",
        };
        format!("Wrong expression passed to '-m': {text}: {self}")
    }
}
