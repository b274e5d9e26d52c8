//! Parametrize ids, a port of `IdMaker` in `_pytest/python.py`: value-derived
//! ids, escaping of non-ASCII text, and pytest 9's duplicate-suffix scheme.

use std::collections::HashMap;

/// Python's `repr(float)` (shortest round-trip digits; exponent form below
/// 1e-4 and from 1e16).
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "1.2345e-5".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let s = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if (point as usize) >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{s}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

/// Python's `repr(complex)`-based `str()`: `(1+2j)`, `2j`.
pub fn python_complex_str(real: f64, imag: f64) -> String {
    let part = |f: f64| {
        let r = python_float_repr(f);
        r.strip_suffix(".0").map(String::from).unwrap_or(r)
    };
    if real == 0.0 && !real.is_sign_negative() {
        format!("{}j", part(imag))
    } else {
        let im = part(imag);
        let im = if im.starts_with('-') {
            im
        } else {
            format!("+{im}")
        };
        format!("({}{}j)", part(real), im)
    }
}

/// `_pytest.compat.ascii_escaped` for `str`.
pub fn ascii_escaped_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out
}

/// `_pytest.compat.ascii_escaped` for `bytes`.
pub fn ascii_escaped_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &byte in b {
        match byte {
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            32..=126 => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out
}

/// One parameter set's id before de-duplication; `None` = hidden
/// (`pytest.HIDDEN_PARAM`).
pub type RawId = Option<String>;

/// `IdMaker.make_unique_parameterset_ids`: suffixes duplicates with a
/// counter (`_` first when the id ends in a digit), skipping any id that is
/// present in the (partially rewritten) list at that moment, exactly as
/// pytest's loop does.
pub fn make_unique(ids: Vec<RawId>) -> Vec<RawId> {
    let mut original_counts: HashMap<RawId, usize> = HashMap::new();
    for id in &ids {
        *original_counts.entry(id.clone()).or_default() += 1;
    }
    if original_counts.values().all(|&c| c == 1) {
        return ids;
    }
    // Multiset of the ids currently in the list.
    let mut present: HashMap<String, usize> = HashMap::new();
    for id in ids.iter().flatten() {
        *present.entry(id.clone()).or_default() += 1;
    }
    let mut resolved = ids.clone();
    let mut next_suffix: HashMap<String, usize> = HashMap::new();
    for (index, id) in ids.iter().enumerate() {
        let Some(id_str) = id else { continue };
        if original_counts.get(id).copied().unwrap_or(0) < 2 {
            continue;
        }
        let sep = if id_str.chars().last().is_some_and(|c| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        let counter = next_suffix.entry(id_str.clone()).or_default();
        let mut candidate = format!("{id_str}{sep}{counter}");
        while present.get(&candidate).copied().unwrap_or(0) > 0 {
            *counter += 1;
            candidate = format!("{id_str}{sep}{counter}");
        }
        *counter += 1;
        if let Some(n) = present.get_mut(id_str) {
            *n = n.saturating_sub(1);
        }
        *present.entry(candidate.clone()).or_default() += 1;
        if let Some(slot) = resolved.get_mut(index) {
            *slot = Some(candidate);
        }
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        assert_eq!(python_float_repr(1.0), "1.0");
        assert_eq!(python_float_repr(0.1), "0.1");
        assert_eq!(python_float_repr(-2.5), "-2.5");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(1e15), "1000000000000000.0");
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(0.00001), "1e-05");
        assert_eq!(python_float_repr(1.5e-7), "1.5e-07");
        assert_eq!(python_float_repr(123.456), "123.456");
        assert_eq!(python_float_repr(f64::INFINITY), "inf");
    }

    #[test]
    fn complex_str_matches_python() {
        assert_eq!(python_complex_str(0.0, 2.0), "2j");
        assert_eq!(python_complex_str(1.0, 2.0), "(1+2j)");
        assert_eq!(python_complex_str(1.0, -2.5), "(1-2.5j)");
    }

    #[test]
    fn escaping_matches_pytest() {
        assert_eq!(ascii_escaped_str("héllo"), "h\\xe9llo");
        assert_eq!(ascii_escaped_str("日本"), "\\u65e5\\u672c");
        assert_eq!(ascii_escaped_str("a\tb\\"), "a\\tb\\\\");
        assert_eq!(ascii_escaped_str("😀"), "\\U0001f600");
        assert_eq!(ascii_escaped_bytes(b"a\xc3\x00\\"), "a\\xc3\\x00\\");
    }

    #[test]
    fn duplicate_ids_get_pytest9_suffixes() {
        let s = |v: &[&str]| v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
        assert_eq!(make_unique(s(&["a", "a", "b"])), s(&["a0", "a1", "b"]));
        assert_eq!(make_unique(s(&["1", "1"])), s(&["1_0", "1_1"]));
        // An existing id is never reused: "a0" is taken, so the first dup is a1.
        assert_eq!(make_unique(s(&["a", "a0", "a"])), s(&["a1", "a0", "a2"]));
        assert_eq!(make_unique(s(&["x", "y"])), s(&["x", "y"]));
        // Replaced ids free their spelling, as in pytest's in-place loop.
        assert_eq!(
            make_unique(s(&["a0", "a0", "a", "a"])),
            s(&["a0_0", "a0_1", "a0", "a1"])
        );
    }
}
