//! Finding where a key or value was written, so that semantic errors (found
//! on the plain schema types, after deserializing) can point at the source.
//!
//! Validation reports a [`Location`]: a key path such as
//! `jobs.unit.expr` plus what to point at. The loader resolves it against the
//! spanned parse tree `toml` gives us ([`toml::de::DeTable`]). Keeping spans
//! out of the schema types keeps those types plain and easy to build in tests.

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// What part of the entry at a path the error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The key itself (`gpu_1` in `gpu_1 = "..."`).
    Key,
    /// The whole value.
    Value,
    /// A byte range inside a string value's contents (e.g. the column a
    /// marker-expression error points at).
    InString(Range<usize>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: Vec<Seg>,
    pub target: Target,
}

impl Location {
    pub fn key(path: Vec<Seg>) -> Self {
        Location {
            path,
            target: Target::Key,
        }
    }

    pub fn value(path: Vec<Seg>) -> Self {
        Location {
            path,
            target: Target::Value,
        }
    }

    pub fn in_string(path: Vec<Seg>, range: Range<usize>) -> Self {
        Location {
            path,
            target: Target::InString(range),
        }
    }
}

/// Builds a key path: `key_path!["jobs", name, "expr"]`, `key_path!["rules", Seg::Index(2)]`.
macro_rules! key_path {
    ($($seg:expr),* $(,)?) => {
        vec![$($crate::spans::IntoSeg::into_seg($seg)),*]
    };
}
pub(crate) use key_path;

pub trait IntoSeg {
    fn into_seg(self) -> Seg;
}

impl IntoSeg for &str {
    fn into_seg(self) -> Seg {
        Seg::Key(self.to_string())
    }
}

impl IntoSeg for &String {
    fn into_seg(self) -> Seg {
        Seg::Key(self.clone())
    }
}

impl IntoSeg for usize {
    fn into_seg(self) -> Seg {
        Seg::Index(self)
    }
}

impl IntoSeg for Seg {
    fn into_seg(self) -> Seg {
        self
    }
}

/// Byte range of `location` in `src`. Falls back to the deepest entry of the
/// path that exists, and to the start of the file if none does, so an error
/// always has somewhere to point.
pub fn resolve(root: &Spanned<DeTable<'_>>, src: &str, location: &Location) -> Range<usize> {
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    let mut best: Range<usize> = 0..0;
    let last = location.path.len().saturating_sub(1);
    for (i, seg) in location.path.iter().enumerate() {
        let (key_span, value) = match (seg, table, array) {
            (Seg::Key(name), Some(t), _) => match t.iter().find(|(k, _)| k.get_ref() == name) {
                Some((k, v)) => (Some(k.span()), v),
                None => return best,
            },
            (Seg::Index(idx), _, Some(items)) => match items.get(*idx) {
                Some(v) => (None, v),
                None => return best,
            },
            _ => return best,
        };
        best = match (&location.target, key_span) {
            (Target::Key, Some(k)) if i == last => k,
            _ => value.span(),
        };
        if i == last {
            if let Target::InString(inner) = &location.target {
                best = string_content_range(src, value.span(), inner.clone());
            }
        }
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    best
}

/// Maps a range inside a string's contents to the source: skips the opening
/// quote(s) and counts escape sequences (`\"`, `\u00e9`) at their written
/// length, so the range lands on the characters the user typed.
fn string_content_range(src: &str, value: Range<usize>, inner: Range<usize>) -> Range<usize> {
    let raw = src.get(value.clone()).unwrap_or("");
    let (quote, basic) = if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with('"') {
        (1, true)
    } else if raw.starts_with('\'') {
        (1, false)
    } else {
        (0, false)
    };
    let body = raw.get(quote..).unwrap_or("");
    let start = value.start + quote + raw_offset(body, basic, inner.start);
    let end = value.start + quote + raw_offset(body, basic, inner.end);
    let start = floor_char_boundary(src, start.min(value.end));
    let end = floor_char_boundary(src, end.clamp(start, value.end));
    start..end
}

/// Offset in a string literal's raw text of byte `content_offset` of its value.
fn raw_offset(body: &str, basic: bool, content_offset: usize) -> usize {
    let mut raw = 0;
    let mut content = 0;
    let mut chars = body.char_indices().peekable();
    while content < content_offset {
        let Some((i, c)) = chars.next() else {
            break;
        };
        let (raw_len, content_len) = if basic && c == '\\' {
            match chars.peek().map(|(_, e)| *e) {
                Some('u') => (6, decoded_len(body.get(i + 2..i + 6))),
                Some('U') => (10, decoded_len(body.get(i + 2..i + 10))),
                _ => (2, 1),
            }
        } else {
            (c.len_utf8(), c.len_utf8())
        };
        // Skip the rest of an escape sequence.
        while chars.next_if(|(j, _)| *j < i + raw_len).is_some() {}
        raw = i + raw_len;
        content += content_len;
    }
    raw.min(body.len())
}

/// UTF-8 length of the character a `\u`/`\U` escape's hex digits encode.
fn decoded_len(hex: Option<&str>) -> usize {
    hex.and_then(|h| u32::from_str_radix(h, 16).ok())
        .and_then(char::from_u32)
        .map_or(1, char::len_utf8)
}

fn floor_char_boundary(src: &str, mut offset: usize) -> usize {
    offset = offset.min(src.len());
    while offset > 0 && !src.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str =
        "[jobs.unit]\nexpr = \"unit and gpu_x\"\n\n[[rules]]\nmarkers = [\"a\", \"b\"]\n";

    fn at(location: Location) -> (usize, usize, String) {
        let root = DeTable::parse(SRC).unwrap();
        let span = resolve(&root, SRC, &location);
        let (line, col) = line_col(SRC, span.start);
        (line, col, SRC[span].to_string())
    }

    #[test]
    fn finds_values_keys_and_string_ranges() {
        assert_eq!(
            at(Location::value(key_path!["jobs", "unit", "expr"])),
            (2, 8, "\"unit and gpu_x\"".into())
        );
        assert_eq!(
            at(Location::key(key_path!["jobs", "unit", "expr"])),
            (2, 1, "expr".into())
        );
        assert_eq!(
            at(Location::in_string(
                key_path!["jobs", "unit", "expr"],
                9..14
            )),
            (2, 18, "gpu_x".into())
        );
        assert_eq!(
            at(Location::value(key_path![
                "rules", 0usize, "markers", 1usize
            ])),
            (5, 17, "\"b\"".into())
        );
    }

    #[test]
    fn ranges_inside_strings_account_for_escapes() {
        let src = "k = \"a \\\"b\\\" \\u00e9 gpu_x\"\nl = 'lit gpu_y'\n";
        let root = DeTable::parse(src).unwrap();
        // The value of k is `a "b" é gpu_x`; `gpu_x` starts at byte 9.
        let span = resolve(&root, src, &Location::in_string(key_path!["k"], 9..14));
        assert_eq!(&src[span], "gpu_x");
        let span = resolve(&root, src, &Location::in_string(key_path!["l"], 4..9));
        assert_eq!(&src[span], "gpu_y");
    }

    #[test]
    fn missing_paths_fall_back_to_the_deepest_known_entry() {
        let (line, _, text) = at(Location::value(key_path!["jobs", "unit", "nope"]));
        assert_eq!((line, text.as_str()), (1, "[jobs.unit]"));
        assert_eq!(at(Location::value(key_path!["nothing"])).0, 1);
    }
}
