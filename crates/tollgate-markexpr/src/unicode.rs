//! Python's view of Unicode, as far as marker expressions need it.
//!
//! pytest lexes identifiers with `re`'s Unicode `\w`, validates keyword names
//! with `str.isidentifier()` and converts integers with `str.isdigit()` and
//! `int()`. Rust's `char::is_alphanumeric` is a different property (it accepts
//! combining vowel signs and circled letters that `\w` rejects), so the exact
//! classes are taken from Python by `tools/gen_unicode_table.py`.

#[path = "unicode_table.rs"]
mod table;

/// `str.isidentifier()` accepts the character as the first of a name.
const XID_START: u8 = 1;
/// `str.isidentifier()` accepts the character after the first.
const XID_CONTINUE: u8 = 2;
/// `str.isdigit()`.
const DIGIT: u8 = 4;
/// `str.isdecimal()`: `int()` accepts it as a digit.
const DECIMAL: u8 = 8;

/// The table row for `c`, if `c` matches `\w`.
fn row(c: char) -> Option<&'static (u32, u32, u8, u32)> {
    let cp = u32::from(c);
    let ranges = &table::WORD_RANGES;
    let index = ranges.partition_point(|&(_, last, _, _)| last < cp);
    ranges.get(index).filter(|&&(first, _, _, _)| first <= cp)
}

fn has(c: char, flag: u8) -> bool {
    row(c).is_some_and(|&(_, _, flags, _)| flags & flag != 0)
}

/// Python's `re.match(r"\w", c)` for a `str` pattern.
pub(crate) fn is_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    row(c).is_some()
}

/// Python's `s.isidentifier()`.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|first| has(first, XID_START)) && chars.all(|c| has(c, XID_CONTINUE))
}

/// Python's `s.isdigit()`: non-empty and every character a digit.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| has(c, DIGIT))
}

/// The value `int()` gives the decimal digit `c`, or `None` when `int()`
/// rejects it (e.g. `'²'`, which `isdigit()` accepts nonetheless).
pub(crate) fn decimal_value(c: char) -> Option<u8> {
    let &(_, _, flags, zero) = row(c)?;
    if flags & DECIMAL == 0 {
        return None;
    }
    u8::try_from(u32::from(c).checked_sub(zero)?)
        .ok()
        .filter(|&d| d < 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_follows_python_not_rust() {
        for c in ['a', 'Z', '0', '_', 'é', 'ß', 'Ж', '中', '½', '²', '١'] {
            assert!(is_word(c), "{c:?} is \\w in Python");
        }
        // Combining acute accent and circled A: alphabetic to Rust, not `\w`.
        for c in ['\u{301}', 'Ⓐ', '-', ':', ' ', '#', '$'] {
            assert!(!is_word(c), "{c:?} is not \\w in Python");
        }
    }

    #[test]
    fn identifiers_follow_isidentifier() {
        for s in ["x", "_", "_x1", "ﬁ", "été", "中文"] {
            assert!(is_identifier(s), "{s:?}");
        }
        for s in ["", "1x", "x-y", "a.b", "½", "x²"] {
            assert!(!is_identifier(s), "{s:?}");
        }
    }

    #[test]
    fn digits_and_decimal_values() {
        assert!(is_digits("0123") && is_digits("²") && is_digits("١٢"));
        assert!(!is_digits("") && !is_digits("1a") && !is_digits("½"));
        assert_eq!(decimal_value('7'), Some(7));
        assert_eq!(decimal_value('٣'), Some(3));
        assert_eq!(decimal_value('²'), None);
        assert_eq!(decimal_value('a'), None);
    }

    #[test]
    fn table_rows_are_sorted_and_disjoint() {
        let rows = &table::WORD_RANGES;
        assert!(rows.iter().all(|&(first, last, _, _)| first <= last));
        assert!(rows.windows(2).all(|w| w[0].1 < w[1].0));
    }
}
