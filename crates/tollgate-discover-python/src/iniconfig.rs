//! A port of the `iniconfig` parser pytest uses for `pytest.ini`, `tox.ini`
//! and `setup.cfg` (no inline-comment stripping, `=` or `:` separators,
//! indented continuation lines, duplicate sections/keys are errors).

use std::collections::BTreeMap;

/// Parsed sections, each an ordered list of `(key, value)`; multi-line values
/// are joined with `\n`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IniDocument {
    pub sections: Vec<(String, Vec<(String, String)>)>,
}

impl IniDocument {
    pub fn section(&self, name: &str) -> Option<&[(String, String)]> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, kv)| kv.as_slice())
    }
}

/// A syntax error, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    pub line: u32,
    pub message: String,
}

pub fn parse(text: &str) -> Result<IniDocument, IniError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut doc = IniDocument::default();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    // Values collected as line lists, joined at the end (iniconfig drops an
    // empty first line of a value, keeping the continuation lines).
    let mut current: Option<usize> = None;
    let mut values: Vec<Vec<Vec<String>>> = Vec::new();
    for (idx, raw) in text.split_inclusive('\n').enumerate() {
        let lineno = idx as u32 + 1;
        let err = |message: String| IniError {
            line: lineno,
            message,
        };
        let is_comment = matches!(raw.trim_start().chars().next(), Some('#' | ';'));
        let line = if is_comment { "" } else { raw.trim_end() };
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let mut stripped = line;
            for c in ['#', ';'] {
                stripped = stripped.split(c).next().unwrap_or("").trim_end();
            }
            if let Some(name) = stripped.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                if name.is_empty() {
                    return Err(err("empty section name".into()));
                }
                if seen.insert(name.to_string(), ()).is_some() {
                    return Err(err(format!("duplicate section '{name}'")));
                }
                doc.sections.push((name.to_string(), Vec::new()));
                values.push(Vec::new());
                current = Some(doc.sections.len() - 1);
                continue;
            }
            // Not a section header: a continuation of the previous value.
            append_continuation(&mut values, current, line.trim(), lineno)?;
        } else if !line.starts_with(char::is_whitespace) {
            let (name, value) =
                split_key_value(line).ok_or_else(|| err(format!("unexpected line: '{line}'")))?;
            let section = current.ok_or_else(|| err("no section header defined".into()))?;
            let Some((_, kv)) = doc.sections.get_mut(section) else {
                return Err(err("no section header defined".into()));
            };
            if kv.iter().any(|(k, _)| k == name) {
                return Err(err(format!("duplicate name '{name}'")));
            }
            kv.push((name.to_string(), String::new()));
            let first = if value.is_empty() {
                vec![]
            } else {
                vec![value.to_string()]
            };
            if let Some(v) = values.get_mut(section) {
                v.push(first);
            }
        } else {
            append_continuation(&mut values, current, line.trim(), lineno)?;
        }
    }
    for ((_, kv), vals) in doc.sections.iter_mut().zip(values) {
        for ((_, v), lines) in kv.iter_mut().zip(vals) {
            *v = lines.join("\n");
        }
    }
    Ok(doc)
}

fn split_key_value(line: &str) -> Option<(&str, &str)> {
    if let Some((name, value)) = line.split_once('=') {
        if !name.contains(':') {
            return Some((name.trim(), value.trim()));
        }
    }
    line.split_once(':').map(|(n, v)| (n.trim(), v.trim()))
}

fn append_continuation(
    values: &mut [Vec<Vec<String>>],
    current: Option<usize>,
    data: &str,
    lineno: u32,
) -> Result<(), IniError> {
    let last = current
        .and_then(|s| values.get_mut(s))
        .and_then(|v| v.last_mut())
        .ok_or(IniError {
            line: lineno,
            message: "unexpected value continuation".into(),
        })?;
    last.push(data.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_values_and_comments() {
        let doc = parse(
            "# top\n[pytest]\naddopts = -ra  # not a comment for iniconfig\nmarkers =\n    slow: slow tests\n    gpu_1: one gpu\n\n; c\n[other]\nx: 1\n",
        )
        .unwrap();
        let s = doc.section("pytest").unwrap();
        assert_eq!(
            s[0],
            (
                "addopts".into(),
                "-ra  # not a comment for iniconfig".into()
            )
        );
        assert_eq!(
            s[1],
            ("markers".into(), "slow: slow tests\ngpu_1: one gpu".into())
        );
        assert_eq!(doc.section("other").unwrap()[0], ("x".into(), "1".into()));
    }

    #[test]
    fn errors_have_lines() {
        assert_eq!(parse("x = 1\n").unwrap_err().line, 1);
        assert_eq!(parse("[a]\nx=1\nx=2\n").unwrap_err().line, 3);
        assert_eq!(parse("[a]\n[a]\n").unwrap_err().line, 2);
        assert_eq!(parse("[a]\n  cont\n").unwrap_err().line, 2);
        assert_eq!(parse("[a]\nno separator\n").unwrap_err().line, 2);
    }
}
