//! `tollgate.toml`: the one file that holds a project's test strategy.
//!
//! - [`schema`]: the file's shape as serde types (every table denies unknown keys).
//! - [`Config::from_str`] / [`Config::load`]: parse, then validate the whole
//!   file; every problem becomes a [`Problem`] with line and column, rendered
//!   by [`ConfigError::render`] or any `miette` handler.
//! - [`Config::apply_rules`]: the declarative marker rules, applied to an
//!   inventory.
//! - [`markers`]: the pytest `markers` registration block and drift against it.
//! - [`presets`]: `dynamo` (the seeds' strategy) and `minimal`.
//! - [`quarantine`]: `.tollgate/quarantine.toml`, the tests that run but cannot
//!   fail a run (read by the runner and by lint).
//!
//! Nothing here runs processes or reads anything but the config file itself
//! (in [`Config::load`] and [`Config::discover`]) and the quarantine file.
//!
//! ```
//! use tollgate_config::Config;
//!
//! let src = "[taxonomy.categories.type]\nexclusive = true\nmarkers = { unit = \"u\" }\n\n\
//!            [taxonomy.aliases]\nunit_test = \"unti\"\n";
//! let err = Config::from_str(src, "tollgate.toml").unwrap_err();
//! assert_eq!((err.line(), err.column()), (Some(6), Some(13)));
//! assert!(err.render().starts_with(
//!     "tollgate.toml:6:13: error: alias `unit_test` points at unknown marker `unti`"
//! ));
//!
//! let config = Config::from_str(tollgate_config::presets::DYNAMO, "tollgate.toml").unwrap();
//! assert_eq!(config.taxonomy.resolve_alias("gpus_needed_1"), Some("gpu_1"));
//! ```

mod apply;
mod duration;
mod error;
mod globs;
pub mod markers;
mod ordered;
pub mod presets;
pub mod quarantine;
pub mod schema;
mod spans;
mod suggest;
mod taxonomy;
mod validate;

use std::path::{Path, PathBuf};

use toml::de::DeTable;

pub use apply::compile_globs;
pub use duration::{parse_duration, DurationError, DurationSpec};
pub use error::{ConfigError, InvalidConfig, Problem};
pub use globs::DeclaredGlob;
pub use markers::{marker_drift, marker_listing, pytest_markers_block, pytest_markers_toml, Drift};
pub use ordered::OrderedMap;
pub use schema::*;
pub use suggest::closest;
pub use taxonomy::CanonicalNames;
pub use validate::PLACEHOLDERS;

/// The file name [`Config::discover`] looks for.
pub const CONFIG_FILE: &str = "tollgate.toml";

impl Config {
    /// Parses and validates `src`. `path` is only used in messages and as the
    /// origin file of markers added by rules (its file name: the config lives
    /// at the project root, which is what marker origins are relative to).
    pub fn from_str(src: &str, path: &str) -> Result<Config, ConfigError> {
        let root = DeTable::parse(src).map_err(|err| toml_error(src, path, &err))?;
        let mut config: Config = toml::from_str(src).map_err(|err| toml_error(src, path, &err))?;

        let issues = validate::validate(&config);
        if !issues.is_empty() {
            let problems = issues
                .into_iter()
                .map(|issue| {
                    let span = spans::resolve(&root, src, &issue.location);
                    Problem::new(src, span, issue.message, issue.help)
                })
                .collect();
            return Err(ConfigError::invalid(path, src, problems));
        }

        for (i, rule) in config.rules.iter_mut().enumerate() {
            let location = spans::Location::key(spans::key_path!["rules", i]);
            let span = spans::resolve(&root, src, &location);
            let (line, _) = spans::line_col(src, span.start);
            rule.line = u32::try_from(line).unwrap_or(u32::MAX);
        }
        config.origin_file = Path::new(path)
            .file_name()
            .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
        Ok(config)
    }

    /// Reads and validates the file at `path`.
    /// Only a regular file of at most [`MAX_CONFIG_BYTES`] is read
    /// (`/dev/zero` or a FIFO is refused, not read forever).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = read_config_file(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_str(&src, &path.display().to_string())
    }

    /// The nearest `tollgate.toml` in `start_dir` or one of its ancestors.
    pub fn discover(start_dir: &Path) -> Option<PathBuf> {
        start_dir
            .ancestors()
            .map(|dir| dir.join(CONFIG_FILE))
            .find(|candidate| candidate.is_file())
    }
}

/// The largest `tollgate.toml` read (far beyond any real configuration).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a regular file of at most [`MAX_CONFIG_BYTES`] as UTF-8.
fn read_config_file(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    let not_regular = || {
        Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or directory)",
        )
    };
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let too_large = || {
        Error::new(
            ErrorKind::InvalidInput,
            format!("larger than {} MiB", MAX_CONFIG_BYTES / (1024 * 1024)),
        )
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let mut src = String::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut src)?;
    if src.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    Ok(src)
}

/// A syntax or type error from the `toml` crate, with a did-you-mean for
/// unknown keys and enum values.
fn toml_error(src: &str, path: &str, err: &toml::de::Error) -> ConfigError {
    let span = err.span().unwrap_or(0..0);
    let message = err.message().trim().to_string();
    let help = suggest::for_serde_message(&message);
    ConfigError::invalid(path, src, vec![Problem::new(src, span, message, help)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_walks_up_to_the_nearest_file() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/c");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(Config::discover(&nested), None);
        std::fs::write(dir.path().join("a/tollgate.toml"), "").unwrap();
        assert_eq!(
            Config::discover(&nested),
            Some(dir.path().join("a/tollgate.toml"))
        );
        std::fs::write(dir.path().join("a/b/tollgate.toml"), "").unwrap();
        assert_eq!(
            Config::discover(&nested),
            Some(dir.path().join("a/b/tollgate.toml"))
        );
    }

    #[test]
    fn load_reports_missing_files_without_a_location() {
        let err = Config::load(Path::new("/nonexistent/tollgate.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }));
        assert_eq!(err.line(), None);
        assert!(err.render().contains("/nonexistent/tollgate.toml"));
    }

    #[test]
    fn an_empty_file_is_a_valid_config() {
        let config = Config::from_str("", "tollgate.toml").unwrap();
        assert!(config.taxonomy.categories.is_empty());
        assert_eq!(config.quarantine.file, ".tollgate/quarantine.toml");
        assert!(config.run.fail_fast);
    }
}
