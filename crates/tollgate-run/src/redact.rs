//! Secret redaction: every string tollgate prints, stores or writes passes
//! through [`Redactor::redact`].
//!
//! Secrets come from two places: the *values* of environment variables whose
//! names match configured patterns (`HF_TOKEN`, `*_TOKEN`, ...), and regular
//! expressions from the config. A value is matched in every form a test or a
//! tool commonly prints it in: literally, base64 (standard and URL-safe
//! alphabets, at any alignment inside a longer encoded text), hex (either
//! case), URL-encoded, backslash-escaped (Python `repr`, JSON) — and each of
//! these broken across lines at any point. Forms are tried longest first, so
//! a secret that contains another is removed whole.

use std::borrow::Cow;

use regex::Regex;

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";

/// Environment variable names whose values are secrets unless configured otherwise.
pub const DEFAULT_SECRET_ENV: &[&str] = &["HF_TOKEN", "*_TOKEN", "*_KEY", "*_SECRET", "*PASSWORD*"];

/// Values shorter than this are not treated as secrets: redacting `1` or
/// `on` everywhere would destroy the output and protect nothing.
const MIN_SECRET_LEN: usize = 4;

#[derive(Debug, thiserror::Error)]
#[error("invalid redaction pattern {pattern:?}: {source}")]
pub struct RedactError {
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Literal secret values, longest first.
    values: Vec<String>,
    /// Every form of every value, one alternation (`None`: no values).
    forms: Option<Regex>,
    patterns: Vec<Regex>,
}

/// Encoded forms shorter than this are not redacted (a 4-character base64
/// run matches ordinary words).
const MIN_FORM_LEN: usize = 6;

/// The forms `value` can be printed in (literal first).
fn forms_of(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut forms = vec![value.to_string()];
    for alphabet in [BASE64_STD, BASE64_URL] {
        for offset in 0..3 {
            forms.push(base64_core(bytes, offset, alphabet));
        }
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    forms.push(hex.to_ascii_uppercase());
    forms.push(hex);
    let mut url = String::new();
    let mut url_lower = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            url.push(b as char);
            url_lower.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
            url_lower.push_str(&format!("%{b:02x}"));
        }
    }
    forms.push(url);
    forms.push(url_lower);
    let mut escaped = String::new();
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\'' => escaped.push_str("\\'"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c => escaped.push(c),
        }
    }
    forms.push(escaped);
    let mut seen = std::collections::HashSet::new();
    forms.retain(|f| f.len() >= MIN_FORM_LEN.min(value.len()) && seen.insert(f.clone()));
    forms
}

const BASE64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64 characters that depend only on `bytes` when they follow
/// `offset` (0-2) other bytes in the encoded text.
fn base64_core(bytes: &[u8], offset: usize, alphabet: &[u8; 64]) -> String {
    let mut all = vec![0u8; offset];
    all.extend_from_slice(bytes);
    let mut chars = Vec::with_capacity(all.len() * 4 / 3 + 4);
    for chunk in all.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            chars.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    // Characters made only of the value's bits: from the first whole
    // 6-bit group after the offset to the last whole group inside the value.
    let start = (8 * offset).div_ceil(6);
    let end = (8 * all.len()) / 6;
    String::from_utf8_lossy(&chars[start.min(end)..end]).into_owned()
}

/// A regex matching `form` with a line break allowed between any two of its
/// characters: a real one (with the indentation and a report's line marker
/// after it, as pytest's `E   ` or a diff's `> `), or an escaped `\n` (a
/// Python `repr`, a JSON string).
fn split_pattern(form: &str) -> String {
    let chars: Vec<String> = form
        .chars()
        .map(|c| regex::escape(&c.to_string()))
        .collect();
    chars.join(r"(?:\r?\n[ \t]{0,16}(?:[E>|#+\-][ \t]{1,16})?|\\(?:r\\)?n)?")
}

impl Redactor {
    /// Builds a redactor from name patterns (`*` wildcards), an environment
    /// snapshot and regular expressions.
    pub fn new<'a>(
        name_patterns: &[String],
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
        regexes: &[String],
    ) -> Result<Redactor, RedactError> {
        let mut values: Vec<String> = env
            .into_iter()
            .filter(|(name, value)| {
                value.len() >= MIN_SECRET_LEN
                    && name_patterns.iter().any(|p| wildcard_match(p, name))
            })
            .map(|(_, value)| value.to_string())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        let mut forms: Vec<String> = values.iter().flat_map(|v| forms_of(v)).collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        let forms = if forms.is_empty() {
            None
        } else {
            let alternation: Vec<String> = forms.iter().map(|f| split_pattern(f)).collect();
            let pattern = alternation.join("|");
            Some(
                regex::RegexBuilder::new(&pattern)
                    .size_limit(64 << 20)
                    .build()
                    .map_err(|source| RedactError {
                        pattern: "(the forms of the secret values)".to_string(),
                        source,
                    })?,
            )
        };
        let patterns = regexes
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|source| RedactError {
                    pattern: p.clone(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Redactor {
            values,
            forms,
            patterns,
        })
    }

    /// Default name patterns plus `extra_names`, over the process environment.
    pub fn from_process_env(
        extra_names: &[String],
        regexes: &[String],
    ) -> Result<Redactor, RedactError> {
        let mut names: Vec<String> = DEFAULT_SECRET_ENV.iter().map(|s| s.to_string()).collect();
        names.extend(extra_names.iter().cloned());
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Redactor::new(
            &names,
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            regexes,
        )
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.patterns.is_empty()
    }

    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out: Cow<'t, str> = Cow::Borrowed(text);
        if let Some(forms) = &self.forms {
            if forms.is_match(&out) {
                out = Cow::Owned(forms.replace_all(&out, REDACTED).into_owned());
            }
        }
        for re in &self.patterns {
            if re.is_match(&out) {
                out = Cow::Owned(re.replace_all(&out, REDACTED).into_owned());
            }
        }
        out
    }

    pub fn redact_owned(&self, text: String) -> String {
        match self.redact(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(s) => s,
        }
    }
}

/// `*` matches any run of characters (including none); everything else is literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return text.is_empty(),
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        DEFAULT_SECRET_ENV.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_of_matching_variables_are_redacted() {
        let env = [
            ("HF_TOKEN", "hf_abcdef123"),
            ("DB_PASSWORD_FILE", "pa55word!"),
            ("AWS_SECRET", "s3cr3t-value"),
            ("PATH", "/usr/bin"),
            ("SHORT_KEY", "ab"),
        ];
        let r = Redactor::new(&names(), env, &[]).unwrap();
        let out = r.redact("token=hf_abcdef123 pw=pa55word! aws=s3cr3t-value path=/usr/bin k=ab");
        assert_eq!(
            out,
            "token=[REDACTED] pw=[REDACTED] aws=[REDACTED] path=/usr/bin k=ab"
        );
    }

    #[test]
    fn longer_secrets_win_over_their_prefixes() {
        let env = [("A_TOKEN", "abcd"), ("B_TOKEN", "abcdefgh")];
        let r = Redactor::new(&names(), env, &[]).unwrap();
        assert_eq!(r.redact("x abcdefgh y abcd"), "x [REDACTED] y [REDACTED]");
    }

    #[test]
    fn regexes_are_applied_and_bad_ones_reported() {
        let r = Redactor::new(&[], [], &["ghp_[A-Za-z0-9]{8,}".to_string()]).unwrap();
        assert_eq!(
            r.redact("push ghp_ABCdef123456 done"),
            "push [REDACTED] done"
        );
        assert!(Redactor::new(&[], [], &["(".to_string()]).is_err());
    }

    #[test]
    fn untouched_text_is_borrowed() {
        let r = Redactor::new(&names(), [("HF_TOKEN", "secretvalue")], &[]).unwrap();
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    /// Base64 as Python's `base64.b64encode` prints it (no external crate).
    fn b64(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(BASE64_STD[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn encoded_escaped_and_split_forms_are_redacted() {
        let secret = "hf_Secr3t/Value+42'x";
        let r = Redactor::new(&names(), [("HF_TOKEN", secret)], &[]).unwrap();
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        let url = "hf_Secr3t%2FValue%2B42%27x";
        let mut cases = vec![
            format!("plain {secret} end"),
            format!("b64 {} end", b64(secret.as_bytes())),
            format!("hex {hex} end"),
            format!("HEX {} end", hex.to_ascii_uppercase()),
            format!("url {url} end"),
            "repr 'hf_Secr3t/Value+42\\'x' end".to_string(),
            format!("split {}\n   {} end", &secret[..7], &secret[7..]),
            format!("pytest {}\nE       {} end", &secret[..5], &secret[5..]),
            format!("escaped '{}\\n{}' end", &secret[..5], &secret[5..]),
            format!("hexsplit {}\n{} end", &hex[..11], &hex[11..]),
        ];
        // Inside a longer base64 text, at each of the three alignments.
        for prefix in ["", "a", "ab"] {
            let blob = b64(format!("Authorization: Bearer {prefix}{secret} trailing").as_bytes());
            cases.push(format!("blob {blob} end"));
        }
        for case in &cases {
            let out = r.redact(case);
            assert!(out.contains(REDACTED), "not redacted: {case} -> {out}");
            for piece in [&secret[3..12], &hex[6..24]] {
                assert!(!out.contains(piece), "{case} -> {out}");
            }
        }
        assert_eq!(r.redact("nothing to see"), "nothing to see");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*_TOKEN", "HF_TOKEN"));
        assert!(!wildcard_match("*_TOKEN", "TOKEN"));
        assert!(wildcard_match("*PASSWORD*", "PASSWORD"));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        assert!(!wildcard_match("a*b*c", "aXcYb"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exactly"));
        assert!(!wildcard_match("ab*ba", "aba"));
    }
}
