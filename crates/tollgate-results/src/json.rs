//! Shared JSON reading: typed, so unknown (possibly huge) fields are skipped
//! without being kept, and errors carry line and column.

use std::io::Read;

use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};
use crate::input::io_error_kind;

pub(crate) fn read_json<T: DeserializeOwned, R: Read>(input: R) -> Result<T, Error> {
    serde_json::from_reader(input).map_err(|e| {
        let (line, column) = (e.line() as u64, e.column() as u64);
        let kind = match e.classify() {
            serde_json::error::Category::Io => io_error_kind(std::io::Error::from(e)),
            serde_json::error::Category::Eof => {
                ErrorKind::Json(format!("{e} (the file is truncated)"))
            }
            _ => ErrorKind::Json(strip_position(&e.to_string())),
        };
        Error::at_line(kind, line.max(1), column.max(1))
    })
}

/// serde_json appends " at line L column C"; the location is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_positions() {
        let err = read_json::<serde_json::Value, _>("{\n  \"a\": NaN\n}".as_bytes()).unwrap_err();
        assert_eq!(
            err.location,
            Some(crate::Location::LineCol { line: 2, column: 8 })
        );
        assert!(!err.to_string().contains("at line"), "{err}");
        let err = read_json::<serde_json::Value, _>("{\"a\": [1,".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
