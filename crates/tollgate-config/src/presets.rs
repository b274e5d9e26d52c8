//! Ready-made configurations that `tollgate init --preset NAME` writes as-is.

/// The seeds' strategy for Dynamo (seeds 003 and 004, trigger variables from 000).
pub const DYNAMO: &str = include_str!("../presets/dynamo.toml");

/// A small generic taxonomy for any project.
pub const MINIMAL: &str = include_str!("../presets/minimal.toml");

/// Preset names with their text, in the order `tollgate init --help` lists them.
pub const PRESETS: &[(&str, &str)] = &[("dynamo", DYNAMO), ("minimal", MINIMAL)];

/// The text of the preset called `name`.
pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn every_preset_parses_and_validates() {
        for (name, text) in PRESETS {
            if let Err(err) = Config::from_str(text, "tollgate.toml") {
                panic!("preset {name} is invalid:\n{}", err.render());
            }
        }
        assert_eq!(preset("dynamo"), Some(DYNAMO));
        assert_eq!(preset("nope"), None);
    }
}
