//! Errors that name the file and the position of the problem.
//!
//! Parsers work on readers and know only byte offsets (XML), line/column
//! (LCOV, CSV, JSON syntax) or a JSON path (a bad value in a well-formed
//! document). [`Error::in_file`] attaches the file name and, for byte offsets,
//! re-reads the file to turn the offset into a line and column — only on the
//! error path, so streaming stays cheap.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in the input a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Byte offset from the start of the input (0-based).
    Byte(u64),
    /// 1-based line and column.
    LineCol { line: u64, column: u64 },
    /// A path into a JSON document, e.g. `benchmarks[2].stats.mean`.
    JsonPath(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Byte(offset) => write!(f, "byte {offset}"),
            Location::LineCol { line, column } => write!(f, "{line}:{column}"),
            Location::JsonPath(path) => write!(f, "at {path}"),
        }
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    #[error(
        "input is {size} bytes, over the limit of {limit} bytes (raise the limit to accept it)"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("XML ends inside <{open}>: the file is truncated")]
    Truncated { open: String },
    #[error("DOCTYPE declarations are refused: entities are never expanded (XML entity bomb protection)")]
    DocType,
    #[error("unknown XML entity `&{0};`")]
    UnknownEntity(String),
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Format(String),
    #[error("{field}: {reason} (got {value:?})")]
    InvalidNumber {
        field: String,
        value: String,
        reason: &'static str,
    },
    #[error("coverage path {path:?} lies outside the repository {root:?}")]
    OutsideRepo { path: String, root: PathBuf },
}

/// A parse failure, with the file (once known) and the position.
#[derive(Debug)]
pub struct Error {
    pub file: Option<PathBuf>,
    pub location: Option<Location>,
    pub kind: ErrorKind,
}

impl Error {
    pub fn new(kind: ErrorKind, location: Option<Location>) -> Self {
        Error {
            file: None,
            location,
            kind,
        }
    }

    pub(crate) fn at_byte(kind: ErrorKind, offset: u64) -> Self {
        Error::new(kind, Some(Location::Byte(offset)))
    }

    pub(crate) fn at_line(kind: ErrorKind, line: u64, column: u64) -> Self {
        Error::new(kind, Some(Location::LineCol { line, column }))
    }

    pub(crate) fn at_json(kind: ErrorKind, path: impl Into<String>) -> Self {
        Error::new(kind, Some(Location::JsonPath(path.into())))
    }

    /// Names the file the input came from; a byte offset is turned into a
    /// line and column by re-reading the file (best effort).
    #[must_use]
    pub fn in_file(mut self, path: &Path) -> Self {
        if let Some(Location::Byte(offset)) = self.location {
            if let Some((line, column)) = crate::input::line_col_of(path, offset) {
                self.location = Some(Location::LineCol { line, column });
            }
        }
        self.file = Some(path.to_path_buf());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().map(Path::display);
        match (&file, &self.location) {
            (Some(file), Some(Location::LineCol { line, column })) => {
                write!(f, "{file}:{line}:{column}: ")?
            }
            (Some(file), Some(loc)) => write!(f, "{file}: {loc}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(loc)) => write!(f, "{loc}: ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
    }
}

/// Checks a measured number: finite and not negative.
pub(crate) fn check_non_negative(value: f64, field: &str) -> Result<f64, ErrorKind> {
    let reason = if value.is_nan() {
        "not a number"
    } else if value.is_infinite() {
        "infinite"
    } else if value < 0.0 {
        "negative"
    } else {
        return Ok(value);
    };
    Err(ErrorKind::InvalidNumber {
        field: field.to_string(),
        value: value.to_string(),
        reason,
    })
}

/// Parses a decimal number from text and checks it like [`check_non_negative`].
pub(crate) fn parse_non_negative(text: &str, field: &str) -> Result<f64, ErrorKind> {
    let trimmed = text.trim();
    let value: f64 = trimmed.parse().map_err(|_| ErrorKind::InvalidNumber {
        field: field.to_string(),
        value: trimmed.to_string(),
        reason: "not a number",
    })?;
    check_non_negative(value, field).map_err(|e| match e {
        ErrorKind::InvalidNumber { field, reason, .. } => ErrorKind::InvalidNumber {
            field,
            value: trimmed.to_string(),
            reason,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_position() {
        let e = Error::at_line(ErrorKind::Format("bad".into()), 3, 7);
        assert_eq!(e.to_string(), "3:7: bad");
        let mut e = e;
        e.file = Some(PathBuf::from("r/junit.xml"));
        assert_eq!(e.to_string(), "r/junit.xml:3:7: bad");
        let e = Error::at_json(ErrorKind::Format("x".into()), "a.b");
        assert_eq!(e.to_string(), "at a.b: x");
    }

    #[test]
    fn numbers_must_be_finite_and_non_negative() {
        assert_eq!(parse_non_negative(" 1.5 ", "time").ok(), Some(1.5));
        for (text, reason) in [
            ("NaN", "not a number"),
            ("-1", "negative"),
            ("inf", "infinite"),
            ("x", "not a number"),
        ] {
            match parse_non_negative(text, "time") {
                Err(ErrorKind::InvalidNumber {
                    reason: r, value, ..
                }) => {
                    assert_eq!(r, reason, "{text}");
                    assert_eq!(value, text);
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
