//! Reading inputs with a size limit.
//!
//! Every parser streams, but some formats (JSON documents, one huge XML text
//! node) must be held whole; the size limit bounds memory for those and makes
//! "a 1 GB file" a clear, early error instead of an out-of-memory kill.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, ErrorKind};

/// Bounds on what a parser accepts and keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Inputs larger than this are refused (checked up front for files, while
    /// reading for streams).
    pub max_input_bytes: u64,
    /// Captured stdout/stderr and messages are truncated to this many bytes.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 256 * 1024 * 1024,
            max_output_bytes: 64 * 1024,
        }
    }
}

/// Marker carried inside an `io::Error` when [`LimitedReader`] hits its limit,
/// so that parsers can report [`ErrorKind::TooLarge`] instead of a vague I/O error.
#[derive(Debug)]
pub(crate) struct LimitExceeded {
    pub limit: u64,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "input exceeds {} bytes", self.limit)
    }
}

impl std::error::Error for LimitExceeded {}

/// A reader that fails once more than `limit` bytes have been read.
pub struct LimitedReader<R> {
    inner: R,
    remaining: u64,
    limit: u64,
}

impl<R: Read> LimitedReader<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        LimitedReader {
            inner,
            remaining: limit,
            limit,
        }
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Distinguish "exactly at the limit, then EOF" from "more to come".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(LimitExceeded { limit: self.limit })),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Turns an I/O error into [`ErrorKind::TooLarge`] when it came from the limit.
pub(crate) fn io_error_kind(err: io::Error) -> ErrorKind {
    if let Some(limit) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitExceeded>())
        .map(|l| l.limit)
    {
        return ErrorKind::TooLarge {
            size: limit.saturating_add(1),
            limit,
        };
    }
    ErrorKind::Io(err)
}

/// Opens a file for parsing: refuses it up front if it is over the limit, and
/// still limits the read in case it grows while being read.
pub fn open(path: &Path, limits: &Limits) -> Result<impl BufRead, Error> {
    let fail = |kind| Error::new(kind, None).in_file(path);
    let file = open_regular(path).map_err(|e| fail(ErrorKind::Io(e)))?;
    let size = file.metadata().map_err(|e| fail(ErrorKind::Io(e)))?.len();
    if size > limits.max_input_bytes {
        return Err(fail(ErrorKind::TooLarge {
            size,
            limit: limits.max_input_bytes,
        }));
    }
    Ok(BufReader::with_capacity(
        64 * 1024,
        LimitedReader::new(file, limits.max_input_bytes),
    ))
}

/// Opens `path` only if it is a regular file (after symlinks): a FIFO with no
/// writer would block the open forever, a device (`/dev/zero`) would never
/// end. The type is checked before opening and again on the open file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket, device or directory cannot be read as a report)",
        )
    };
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// 1-based line and column of a byte offset in a file (columns count bytes).
pub(crate) fn line_col_of(path: &Path, offset: u64) -> Option<(u64, u64)> {
    let file = File::open(path).ok()?;
    let mut reader = BufReader::new(file.take(offset));
    let (mut line, mut column) = (1u64, 1u64);
    loop {
        let buf = reader.fill_buf().ok()?;
        if buf.is_empty() {
            return Some((line, column));
        }
        for &b in buf {
            if b == b'\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        let n = buf.len();
        reader.consume(n);
    }
}

/// Truncates captured text to `max` bytes on a character boundary, saying so.
pub(crate) fn bounded(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!(
        "\n[... {dropped} more bytes truncated by tollgate]"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_reader_allows_exactly_the_limit() {
        let mut out = Vec::new();
        LimitedReader::new(&b"12345"[..], 5)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"12345");
    }

    #[test]
    fn limited_reader_refuses_more() {
        let mut out = Vec::new();
        let err = LimitedReader::new(&b"123456"[..], 5)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(matches!(
            io_error_kind(err),
            ErrorKind::TooLarge { limit: 5, .. }
        ));
    }

    #[test]
    fn bounded_cuts_on_char_boundary() {
        let s = bounded("ééé".to_string(), 3);
        assert!(s.starts_with("é\n[... 4 more bytes"), "{s}");
        assert_eq!(bounded("abc".into(), 3), "abc");
    }

    #[test]
    fn line_col_counts_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "ab\ncde\nf").unwrap();
        assert_eq!(line_col_of(&p, 0), Some((1, 1)));
        assert_eq!(line_col_of(&p, 5), Some((2, 3)));
        assert_eq!(line_col_of(&p, 7), Some((3, 1)));
    }
}
