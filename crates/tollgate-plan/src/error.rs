//! Everything that makes a plan impossible. Each variant is bad input from
//! the user (a flag, a file, the repository state), so the CLI maps all of
//! them to the usage exit status (2); the message says what to fix.

use std::path::PathBuf;

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("unknown pipeline `{name}`{}", hint(suggestion.as_deref(), known))]
    UnknownPipeline {
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },

    #[error("unknown variable `{name}` in --var{}", hint(suggestion.as_deref(), known))]
    UnknownVariable {
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },

    #[error("--var {arg:?} is not of the form NAME=VALUE")]
    MalformedVarFlag { arg: String },

    #[error("variable `{name}` = {value:?} (from {source_name}): {expected}")]
    BadVariableValue {
        name: String,
        value: String,
        /// Where the value came from: `--var`, `environment variable X`, ...
        source_name: String,
        expected: String,
    },

    #[error("{origin}:{line}: malformed changed-files entry {entry:?}: {reason}")]
    MalformedChangedFiles {
        /// The file name, or `<stdin>`.
        origin: String,
        line: usize,
        entry: String,
        reason: String,
    },

    #[error("unknown test `{id}`{}", hint(suggestion.as_deref(), &[]))]
    UnknownTest {
        id: String,
        suggestion: Option<String>,
    },

    #[error("{0}")]
    Git(#[from] crate::git::GitError),

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}: it is {what}, not a regular file; refusing to replace it", path.display())]
    NotARegularFile { path: PathBuf, what: &'static str },
}

fn hint(suggestion: Option<&str>, known: &[String]) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None if !known.is_empty() => format!(" (known: {})", known.join(", ")),
        None => String::new(),
    }
}

/// The closest of `candidates` to `name`, if it is close enough to be a typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_pipeline_suggests_the_closest_name() {
        let err = PlanError::UnknownPipeline {
            name: "nighty".into(),
            suggestion: closest("nighty", ["pr", "push", "nightly"]),
            known: vec!["pr".into(), "push".into(), "nightly".into()],
        };
        assert_eq!(
            err.to_string(),
            "unknown pipeline `nighty` (did you mean `nightly`?)"
        );
        let err = PlanError::UnknownPipeline {
            name: "zzz".into(),
            suggestion: closest("zzz", ["pr", "push"]),
            known: vec!["pr".into(), "push".into()],
        };
        assert_eq!(err.to_string(), "unknown pipeline `zzz` (known: pr, push)");
    }
}
