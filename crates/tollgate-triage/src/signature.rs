//! Failure signatures: the line that says what went wrong (plus the
//! innermost frame), with everything that varies from run to run —
//! numbers, hex, UUIDs, paths, timestamps, addresses — replaced, so that
//! one root cause gives one signature however many tests it breaks.

use std::sync::LazyLock;

use regex::Regex;

struct Norm {
    re: Regex,
    with: &'static str,
}

static NORMALISE: LazyLock<Vec<Norm>> = LazyLock::new(|| {
    let n = |re: &str, with: &'static str| Norm {
        re: Regex::new(re).expect("built-in pattern"),
        with,
    };
    vec![
        n(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "<uuid>",
        ),
        n(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?",
            "<ts>",
        ),
        n(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "<ts>"),
        n(r"\b0x[0-9a-fA-F]+\b", "<addr>"),
        n(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<ip>"),
        n(r"\[?::1\]?:\d+|localhost:\d+", "<host>"),
        // Absolute paths (and Windows ones) of two or more components, where
        // a word starts; relative source paths (`src/a.rs`) are kept.
        n(
            r#"(^|[\s'"(=\[,:])(?:[A-Za-z]:\\|/)(?:[^\s/\\:'"`,;()\[\]]+[/\\])+[^\s/\\:'"`,;()\[\]]*"#,
            "${1}<path>",
        ),
        n(r"\d+(?:\.\d+)?", "<n>"),
        n(r"\s+", " "),
    ]
});

/// Index in [`NORMALISE`] before which hex words are replaced.
const HEX_AT: usize = 7;

static HEX_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[0-9a-fA-F]{6,}\b").expect("built-in pattern"));

/// Hashes and ids: hex words of six or more characters with a digit and a letter.
fn replace_hex(text: &str) -> String {
    HEX_WORD
        .replace_all(text, |c: &regex::Captures<'_>| {
            let w = &c[0];
            if w.bytes().any(|b| b.is_ascii_digit()) && w.bytes().any(|b| b.is_ascii_alphabetic()) {
                "<hex>".to_string()
            } else {
                w.to_string()
            }
        })
        .into_owned()
}

/// Replaces what varies between occurrences of one error.
pub fn normalise(line: &str) -> String {
    let mut text = line.trim().to_string();
    for (i, norm) in NORMALISE.iter().enumerate() {
        if i == HEX_AT {
            text = replace_hex(&text);
        }
        if let std::borrow::Cow::Owned(s) = norm.re.replace_all(&text, norm.with) {
            text = s;
        }
    }
    let mut out: String = text.chars().take(240).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

static PY_EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Failure|Interrupt|Warning|Failed)\b(?::.*)?$")
        .expect("built-in pattern")
});
static PY_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:File "[^"]+", line \d+, in (\w+))|(?:^\S+\.py:\d+: in (\w+))"#)
        .expect("built-in pattern")
});
static PY_FIXTURE_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:E\s+)?fixture '(\w+)' not found").expect("built-in pattern"));

/// The line that says what went wrong, and the innermost frame's function
/// when the text has a traceback. `structured` is the error part of a
/// structured log line, used when nothing better is found.
pub fn error_line<'a>(text: &'a str, structured: Option<&'a str>) -> (String, Option<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let frame = lines
        .iter()
        .rev()
        .find_map(|l| PY_FRAME.captures(l.trim()))
        .and_then(|c| c.get(1).or_else(|| c.get(2)))
        .map(|m| m.as_str().to_string());

    // Rust: `thread 'x' panicked at src/a.rs:3:5:` then the message, or
    // the older `panicked at 'message', src/a.rs:3:5`.
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        let line = lines[i];
        let after = &line[line
            .find("panicked at")
            .map_or(0, |p| p + "panicked at".len())..];
        let location = after
            .trim()
            .trim_end_matches(':')
            .split(':')
            .next()
            .unwrap_or("")
            .to_string();
        if after.trim_start().starts_with('\'') {
            return (after.trim().to_string(), None);
        }
        let message = lines[i + 1..]
            .iter()
            .take_while(|l| !l.starts_with("note:") && !l.starts_with("stack backtrace"))
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        return (message, Some(location));
    }
    if let Some(l) = lines.iter().find(|l| PY_FIXTURE_ERROR.is_match(l.trim())) {
        return (l.trim().trim_start_matches('E').trim().to_string(), frame);
    }
    // pytest's `E   ExcType: message` lines: the first is the exception.
    if let Some(l) = lines.iter().find(|l| l.starts_with("E ")) {
        return (l[1..].trim().to_string(), frame);
    }
    if let Some(l) = lines.iter().rev().find(|l| PY_EXCEPTION.is_match(l)) {
        return (l.trim().to_string(), frame);
    }
    if let Some(s) = structured {
        return (s.trim().to_string(), frame);
    }
    let keyword = lines.iter().find(|l| {
        let lower = l.to_ascii_lowercase();
        [
            "error",
            "fail",
            "timeout",
            "timed out",
            "killed",
            "refused",
            "signal",
        ]
        .iter()
        .any(|k| lower.contains(k))
    });
    if let Some(l) = keyword {
        return (l.trim().to_string(), frame);
    }
    (
        lines
            .iter()
            .find(|l| !l.trim().is_empty())
            .map_or(String::new(), |l| l.trim().to_string()),
        frame,
    )
}

/// The normalised signature: `error line` or `frame: error line`.
pub fn signature(text: &str, structured: Option<&str>) -> String {
    let (line, frame) = error_line(text, structured);
    let line = normalise(&line);
    match frame {
        Some(f) => format!("{}: {line}", normalise(&f)),
        None => line,
    }
}

/// A stable 64-bit FNV-1a hash as 16 hex digits: the same text gives the
/// same fingerprint on every machine and in every version.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash ^= 0x1f;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Lines around the error line (`context` either side), at most `max_chars`.
pub fn excerpt(text: &str, context: usize, max_chars: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let (line, _) = error_line(text, None);
    let at = lines
        .iter()
        .position(|l| !line.is_empty() && l.contains(line.as_str()))
        .unwrap_or(0);
    let from = at.saturating_sub(context);
    let to = (at + context + 1).min(lines.len());
    let mut out = lines[from..to].join("\n");
    if out.len() > max_chars {
        let mut cut = max_chars;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_replaces_what_varies() {
        assert_eq!(
            normalise("conn 3f2b1c4d-1111-4a2b-9c3d-0123456789ab to 10.0.0.7:8080 failed after 3.5s at 0x7ffe12ab in /tmp/pytest-of-ci/pytest-12/test_a0/data.json (2024-05-01T10:22:33Z)"),
            "conn <uuid> to <ip> failed after <n>s at <addr> in <path> (<ts>)"
        );
        assert_eq!(
            normalise("commit deadbeef12 missing"),
            "commit <hex> missing"
        );
        assert_eq!(normalise("assert 5 == 6"), "assert <n> == <n>");
        // Words are kept.
        assert_eq!(
            normalise("KeyError: 'model_name'"),
            "KeyError: 'model_name'"
        );
    }

    #[test]
    fn python_traceback_gives_exception_and_innermost_frame() {
        let text = "tests/test_a.py:12: in test_x\n    value = load()\nsrc/lib.py:40: in load\n    raise KeyError('model')\nE   KeyError: 'model'\n";
        assert_eq!(signature(text, None), "load: KeyError: 'model'");
    }

    #[test]
    fn rust_panic_message_and_location() {
        let text = "thread 'kv::tests::evict' panicked at lib/llm/src/kv.rs:88:9:\nassertion `left == right` failed\n  left: 3\n right: 4\nnote: run with `RUST_BACKTRACE=1`";
        assert_eq!(
            signature(text, None),
            "lib/llm/src/kv.rs: assertion `left == right` failed left: <n> right: <n>"
        );
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(fingerprint(&["a"]), "af63dc4c8601ec8c");
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }

    #[test]
    fn excerpt_is_around_the_error() {
        let text = (0..20)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\nE   ValueError: bad\n"
            + "after";
        let e = excerpt(&text, 1, 1000);
        assert_eq!(e, "line 19\nE   ValueError: bad\nafter");
    }
}
