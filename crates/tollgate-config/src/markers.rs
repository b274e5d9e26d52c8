//! Keeping pytest's marker registrations and the taxonomy in agreement, so
//! that `pytest --strict-markers` accepts exactly what tollgate accepts.

use crate::schema::Config;

/// Markers pytest registers itself; never reported as drift and never
/// written into the ini block.
pub const PYTEST_BUILTIN_MARKERS: &[&str] = &[
    "filterwarnings",
    "parametrize",
    "skip",
    "skipif",
    "tryfirst",
    "trylast",
    "usefixtures",
    "xfail",
];

/// Every name pytest should know, with its description: the taxonomy's
/// markers in file order, then the aliases (registered too, so a test still
/// using an old spelling collects under `--strict-markers`; lint reports it).
fn registrations(config: &Config) -> Vec<(String, String)> {
    let taxonomy = &config.taxonomy;
    let mut out: Vec<(String, String)> = taxonomy
        .all_markers()
        .into_iter()
        .filter(|(name, _, _)| !PYTEST_BUILTIN_MARKERS.contains(name))
        .map(|(name, _, def)| (name.to_string(), one_line(&def.description)))
        .collect();
    for (alias, _) in taxonomy.aliases.iter() {
        if let Some(target) = taxonomy.resolve_alias(alias) {
            out.push((
                alias.to_string(),
                format!("alias of {target} (deprecated spelling)"),
            ));
        }
    }
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `markers =` block for `pytest.ini` / `tox.ini` / `setup.cfg`, to
/// paste under `[pytest]` (or `[tool:pytest]`).
pub fn pytest_markers_block(config: &Config) -> String {
    let mut out = String::from("markers =\n");
    for (name, description) in registrations(config) {
        if description.is_empty() {
            out.push_str(&format!("    {name}\n"));
        } else {
            out.push_str(&format!("    {name}: {description}\n"));
        }
    }
    out
}

/// The same registrations as a TOML array, for `pyproject.toml`'s
/// `[tool.pytest.ini_options]` (or pytest 9's `[tool.pytest]`).
pub fn pytest_markers_toml(config: &Config) -> String {
    let mut out = String::from("markers = [\n");
    for (name, description) in registrations(config) {
        let line = if description.is_empty() {
            name
        } else {
            format!("{name}: {description}")
        };
        out.push_str(&format!("    {},\n", toml::Value::String(line)));
    }
    out.push_str("]\n");
    out
}

/// The taxonomy as `pytest --markers` prints registered markers.
pub fn marker_listing(config: &Config) -> String {
    let mut out = String::new();
    for (name, description) in registrations(config) {
        out.push_str(&format!("@pytest.mark.{name}: {description}\n\n"));
    }
    out
}

/// One disagreement between pytest's registrations and the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Registered with pytest but neither a marker nor an alias in the taxonomy.
    NotInTaxonomy { name: String, description: String },
    /// In the taxonomy (marker or alias) but not registered with pytest:
    /// `--strict-markers` would reject tests that use it.
    NotRegistered { name: String, description: String },
}

impl Drift {
    pub fn name(&self) -> &str {
        match self {
            Drift::NotInTaxonomy { name, .. } | Drift::NotRegistered { name, .. } => name,
        }
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::NotInTaxonomy { name, .. } => {
                write!(f, "`{name}` is registered with pytest but not in the taxonomy")
            }
            Drift::NotRegistered { name, .. } => write!(
                f,
                "`{name}` is in the taxonomy but not registered with pytest (--strict-markers would reject it)"
            ),
        }
    }
}

/// Compares pytest's registrations (`(name, description)`, as read from the
/// ini or from `pytest --markers`) with the taxonomy. A registered name may
/// carry an argument list (`timeout(seconds)`); only the name counts.
pub fn marker_drift(config: &Config, registered: &[(String, String)]) -> Vec<Drift> {
    let registered_names: Vec<&str> = registered.iter().map(|(name, _)| bare_name(name)).collect();
    let expected = registrations(config);
    let mut drift = Vec::new();
    for (name, description) in registered {
        let bare = bare_name(name);
        let known = expected.iter().any(|(n, _)| n == bare)
            || PYTEST_BUILTIN_MARKERS.contains(&bare)
            || config.taxonomy.is_marker(bare);
        if !known && !drift.iter().any(|d: &Drift| d.name() == bare) {
            drift.push(Drift::NotInTaxonomy {
                name: bare.to_string(),
                description: description.clone(),
            });
        }
    }
    for (name, description) in expected {
        if !registered_names.contains(&name.as_str()) {
            drift.push(Drift::NotRegistered { name, description });
        }
    }
    drift
}

fn bare_name(name: &str) -> &str {
    name.split('(').next().unwrap_or(name).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
[taxonomy.categories.type]
markers = { unit = "marks tests as unit tests", e2e = "marks   end-to-end\n tests" }

[taxonomy.categories.other]
markers = { slow = "known to be slow", xfail = "expected to fail" }

[taxonomy.aliases]
premerge = "unit"
"#;

    fn config() -> Config {
        Config::from_str(SRC, "tollgate.toml").unwrap()
    }

    #[test]
    fn ini_block_lists_markers_then_aliases_without_builtins() {
        insta::assert_snapshot!(pytest_markers_block(&config()), @r"
        markers =
            unit: marks tests as unit tests
            e2e: marks end-to-end tests
            slow: known to be slow
            premerge: alias of unit (deprecated spelling)
        ");
    }

    #[test]
    fn toml_block_is_valid_toml_with_the_same_entries() {
        let block = pytest_markers_toml(&config());
        let parsed: toml::Table = toml::from_str(&block).unwrap();
        let entries = parsed["markers"].as_array().unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[1].as_str(), Some("e2e: marks end-to-end tests"));
    }

    #[test]
    fn listing_looks_like_pytest_markers() {
        let listing = marker_listing(&config());
        assert!(listing.starts_with("@pytest.mark.unit: marks tests as unit tests\n\n"));
        assert!(listing.contains("@pytest.mark.premerge: alias of unit"));
    }

    #[test]
    fn drift_both_ways_ignoring_builtins_and_arguments() {
        let registered: Vec<(String, String)> = [
            ("unit", "x"),
            ("e2e", "y"),
            ("timeout(seconds)", "pytest-timeout"),
            ("skipif(condition)", "builtin"),
            ("premerge", "alias"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let drift = marker_drift(&config(), &registered);
        assert_eq!(
            drift,
            vec![
                Drift::NotInTaxonomy {
                    name: "timeout".into(),
                    description: "pytest-timeout".into()
                },
                Drift::NotRegistered {
                    name: "slow".into(),
                    description: "known to be slow".into()
                },
            ]
        );
        assert!(drift[1].to_string().contains("--strict-markers"));
    }

    #[test]
    fn no_drift_when_registrations_come_from_the_block() {
        let config = config();
        let registered: Vec<(String, String)> = pytest_markers_block(&config)
            .lines()
            .skip(1)
            .filter_map(|l| l.trim().split_once(": "))
            .map(|(n, d)| (n.to_string(), d.to_string()))
            .collect();
        assert_eq!(marker_drift(&config, &registered), vec![]);
    }
}
