//! The markers registered with pytest (its ini `markers` option), with the
//! line each registration is written on so findings can point at it.
//!
//! Discovery reports the registrations without lines; [`PytestMarkers::locate`]
//! adds them from the ini file's text. It is the one place this crate reads
//! a file for linting, and it sits at the edge: [`crate::lint`] itself only
//! sees the resulting plain data.

use std::path::Path;

use serde::Serialize;

/// pytest's registered markers for one project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PytestMarkers {
    /// The ini file, relative to the project root (`pyproject.toml`).
    pub file: String,
    /// `--strict-markers` (or `strict`) is in effect: an unregistered mark is
    /// a collection error rather than a warning.
    pub strict: bool,
    pub markers: Vec<RegisteredMarker>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredMarker {
    /// As written, possibly with an argument list (`timeout(seconds)`).
    pub name: String,
    pub description: String,
    /// 1-based line in [`PytestMarkers::file`]; 0 when not found.
    pub line: u32,
}

impl RegisteredMarker {
    /// The name without an argument list: what a mark must be called.
    pub fn bare_name(&self) -> &str {
        bare_name(&self.name)
    }
}

fn bare_name(name: &str) -> &str {
    name.split('(').next().unwrap_or(name).trim()
}

impl PytestMarkers {
    /// Builds the registrations from what discovery found (`registered` in
    /// ini order) and the ini file's text, finding the line of each entry.
    ///
    /// A registration is found on the first line, after the previous
    /// registration's line, where the bare name appears followed by `:`, `(`
    /// or the end of the entry; ini files and TOML arrays both write one
    /// registration per line.
    pub fn locate(
        file: &str,
        ini_text: &str,
        strict: bool,
        registered: &[(String, String)],
    ) -> Self {
        let lines: Vec<&str> = ini_text.lines().collect();
        let mut from = 0usize;
        let markers = registered
            .iter()
            .map(|(name, description)| {
                let bare = bare_name(name);
                let found = lines
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, line)| registers(line, bare))
                    .map(|(index, _)| index);
                if let Some(index) = found {
                    from = index + 1;
                }
                RegisteredMarker {
                    name: name.clone(),
                    description: description.clone(),
                    line: found.map_or(0, |i| u32::try_from(i + 1).unwrap_or(u32::MAX)),
                }
            })
            .collect();
        PytestMarkers {
            file: file.to_string(),
            strict,
            markers,
        }
    }

    /// [`PytestMarkers::locate`] reading the ini file at `root/file`. An
    /// unreadable file leaves every line unknown (0) rather than failing lint.
    pub fn read(root: &Path, file: &str, strict: bool, registered: &[(String, String)]) -> Self {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        PytestMarkers::locate(file, &text, strict, registered)
    }
}

/// Whether `line` holds the registration of `name`: the name starts the
/// entry (after indentation, an opening quote or `markers =`) and is followed
/// by `:`, `(`, a quote or the end of the line.
fn registers(line: &str, name: &str) -> bool {
    let entry = line
        .trim_start()
        .trim_start_matches("markers")
        .trim_start()
        .trim_start_matches('=')
        .trim_start()
        .trim_start_matches(['"', '\''])
        .trim_start();
    entry
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '(', '"', '\'', ' ', ',']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), String::new()))
            .collect()
    }

    #[test]
    fn lines_are_found_in_a_toml_array() {
        let text = "[tool.pytest.ini_options]\nmarkers = [\n    # unit first\n    \"unit: fast\",\n    \"unit_slow: not unit\",\n    'timeout(seconds): limit',\n]\n";
        let p = PytestMarkers::locate(
            "pyproject.toml",
            text,
            true,
            &reg(&["unit", "unit_slow", "timeout(seconds)"]),
        );
        let lines: Vec<u32> = p.markers.iter().map(|m| m.line).collect();
        assert_eq!(lines, [4, 5, 6]);
        assert_eq!(p.markers[2].bare_name(), "timeout");
    }

    #[test]
    fn lines_are_found_in_an_ini_block() {
        let text = "[pytest]\nmarkers =\n    slow: takes long\n    gpu_1\n";
        let p = PytestMarkers::locate(
            "pytest.ini",
            text,
            false,
            &reg(&["slow", "gpu_1", "missing"]),
        );
        let lines: Vec<u32> = p.markers.iter().map(|m| m.line).collect();
        assert_eq!(lines, [3, 4, 0]);
    }

    #[test]
    fn a_first_entry_on_the_markers_line_is_found() {
        let text = "[pytest]\nmarkers = slow: takes long\n    gpu_1\n";
        let p = PytestMarkers::locate("pytest.ini", text, false, &reg(&["slow", "gpu_1"]));
        assert_eq!(p.markers[0].line, 2);
        assert_eq!(p.markers[1].line, 3);
    }
}
