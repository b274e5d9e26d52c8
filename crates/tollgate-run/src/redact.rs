//! Secret redaction: every string tollgate prints, stores or writes passes
//! through [`Redactor::redact`].
//!
//! Secrets come from two places: the *values* of environment variables whose
//! names match configured patterns (`HF_TOKEN`, `*_TOKEN`, ...), and regular
//! expressions from the config. Values are matched literally, longest first,
//! so a secret that contains another is removed whole.

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
    patterns: Vec<Regex>,
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
        let patterns = regexes
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|source| RedactError {
                    pattern: p.clone(),
                    source,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Redactor { values, patterns })
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
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), REDACTED));
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
