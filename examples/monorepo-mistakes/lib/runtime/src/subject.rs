//! NATS subjects: validation and wildcard matching.
//!
//! A subject is a `.`-separated list of non-empty tokens. Subscriptions may use
//! `*` (exactly one token) and `>` (one or more trailing tokens). Publishing to a
//! wildcard subject is not allowed by NATS, so [`Subject::parse_concrete`]
//! rejects it before it reaches the wire.

use std::fmt;

/// Why a string is not a valid subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectError {
    Empty,
    EmptyToken { position: usize },
    Whitespace,
    MisplacedFullWildcard,
    WildcardNotAllowed,
}

impl fmt::Display for SubjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectError::Empty => f.write_str("subject is empty"),
            SubjectError::EmptyToken { position } => {
                write!(f, "token {position} of the subject is empty")
            }
            SubjectError::Whitespace => f.write_str("subject contains whitespace"),
            SubjectError::MisplacedFullWildcard => f.write_str("`>` may only be the last token"),
            SubjectError::WildcardNotAllowed => {
                f.write_str("wildcards are not allowed when publishing")
            }
        }
    }
}

impl std::error::Error for SubjectError {}

/// A validated subject (possibly with wildcards).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject(String);

impl Subject {
    /// Parses a subject that may contain wildcards (for subscriptions).
    pub fn parse(raw: &str) -> Result<Subject, SubjectError> {
        if raw.is_empty() {
            return Err(SubjectError::Empty);
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(SubjectError::Whitespace);
        }
        let tokens: Vec<&str> = raw.split('.').collect();
        for (position, token) in tokens.iter().enumerate() {
            if token.is_empty() {
                return Err(SubjectError::EmptyToken { position });
            }
            if *token == ">" && position + 1 != tokens.len() {
                return Err(SubjectError::MisplacedFullWildcard);
            }
        }
        Ok(Subject(raw.to_owned()))
    }

    /// Parses a subject without wildcards (for publishing).
    pub fn parse_concrete(raw: &str) -> Result<Subject, SubjectError> {
        let subject = Subject::parse(raw)?;
        if subject.has_wildcard() {
            return Err(SubjectError::WildcardNotAllowed);
        }
        Ok(subject)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn has_wildcard(&self) -> bool {
        self.0.split('.').any(|t| t == "*" || t == ">")
    }

    /// Whether a concrete `subject` is delivered to a subscription on `self`.
    pub fn matches(&self, subject: &str) -> bool {
        let mut pattern = self.0.split('.');
        let mut tokens = subject.split('.');
        loop {
            match (pattern.next(), tokens.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(p), Some(t)) if p == t => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The subject a component endpoint listens on:
/// `namespace.<ns>.component.<name>.endpoint.<endpoint>`.
pub fn endpoint_subject(
    namespace: &str,
    component: &str,
    endpoint: &str,
) -> Result<Subject, SubjectError> {
    Subject::parse_concrete(&format!(
        "namespace.{namespace}.component.{component}.endpoint.{endpoint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_subject() {
        let s = Subject::parse("dynamo.router.events").unwrap();
        assert_eq!(s.as_str(), "dynamo.router.events");
        assert!(!s.has_wildcard());
    }

    #[test]
    fn rejects_empty_and_blank_tokens() {
        assert_eq!(Subject::parse(""), Err(SubjectError::Empty));
        assert_eq!(
            Subject::parse("a..b"),
            Err(SubjectError::EmptyToken { position: 1 })
        );
        assert_eq!(Subject::parse("a b"), Err(SubjectError::Whitespace));
    }

    #[test]
    fn full_wildcard_must_be_last() {
        assert!(Subject::parse("a.>").is_ok());
        assert_eq!(
            Subject::parse("a.>.b"),
            Err(SubjectError::MisplacedFullWildcard)
        );
    }

    #[test]
    fn publishing_to_wildcard_is_refused() {
        assert_eq!(
            Subject::parse_concrete("a.*"),
            Err(SubjectError::WildcardNotAllowed)
        );
    }

    #[test]
    fn single_token_wildcard_matches_exactly_one_token() {
        let s = Subject::parse("kv.*.stored").unwrap();
        assert!(s.matches("kv.worker1.stored"));
        assert!(!s.matches("kv.stored"));
        assert!(!s.matches("kv.a.b.stored"));
    }

    #[test]
    fn full_wildcard_matches_one_or_more_tokens() {
        let s = Subject::parse("kv.>").unwrap();
        assert!(s.matches("kv.a"));
        assert!(s.matches("kv.a.b.c"));
        assert!(!s.matches("kv"));
        assert!(!s.matches("other.a"));
    }

    #[test]
    fn endpoint_subject_layout() {
        let s = endpoint_subject("dynamo", "backend", "generate").unwrap();
        assert_eq!(
            s.as_str(),
            "namespace.dynamo.component.backend.endpoint.generate"
        );
        assert!(endpoint_subject("dy namo", "b", "g").is_err());
    }
}
