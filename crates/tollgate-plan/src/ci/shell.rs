//! What a CI step's shell text runs: `pytest -m EXPR` and `cargo test` /
//! `cargo nextest run` commands, and the scripts it calls. Plain shell
//! only: no variables are expanded, and an expression that needs one is
//! reported rather than guessed.

/// A command of interest found in shell text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// `pytest ... -m EXPR ...`; `expr` is `None` when pytest runs without `-m`.
    Pytest {
        command: String,
        expr: Option<String>,
    },
    /// `cargo test ...` / `cargo nextest run ...`.
    Cargo { command: String },
    /// `./script.sh`, `bash path/x.sh`, `sh x.sh`: a script to read.
    Script { path: String },
}

/// Logical lines: backslash continuations joined, comments dropped.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some(body) = line.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        if !current.trim().is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.clear();
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Splits a command line into words as a POSIX shell would (quotes removed),
/// stopping at `;`, `&&`, `||` and `|` (each starts a new command).
fn commands(line: &str) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            Some(_) => word.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '\\' => {
                    if let Some(next) = chars.next() {
                        word.push(next);
                        in_word = true;
                    }
                }
                ' ' | '\t' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                ';' | '&' | '|' | '(' | ')' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    if !words.is_empty() {
                        all.push(std::mem::take(&mut words));
                    }
                    // `&&`, `||`: skip the second character.
                    if matches!(c, '&' | '|') && chars.peek() == Some(&c) {
                        chars.next();
                    }
                }
                _ => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
    }
    if in_word {
        words.push(word);
    }
    if !words.is_empty() {
        all.push(words);
    }
    all
}

/// Everything of interest in `text`.
pub(crate) fn scan(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    for line in logical_lines(text) {
        for words in commands(&line) {
            // Skip `env`-style prefixes: VAR=value, `uv run`, `python -m`.
            let start = words
                .iter()
                .position(|w| !w.contains('=') || w.starts_with('-'))
                .unwrap_or(words.len());
            let words = &words[start..];
            let Some(first) = words.first() else {
                continue;
            };
            let command = words.join(" ");
            if let Some(i) = words
                .iter()
                .position(|w| w == "pytest" || w.ends_with("/pytest"))
            {
                // `python -m pytest`, `uv run pytest`, `pytest`.
                let args = &words[i + 1..];
                found.push(Found::Pytest {
                    command,
                    expr: marker_option(args),
                });
                continue;
            }
            if first == "cargo" || first.ends_with("/cargo") {
                let sub: Vec<&str> = words[1..]
                    .iter()
                    .filter(|w| !w.starts_with('+'))
                    .map(String::as_str)
                    .collect();
                if sub.first() == Some(&"test")
                    || (sub.first() == Some(&"nextest") && sub.get(1) == Some(&"run"))
                {
                    // `cargo test --no-run` builds only; `--doc` runs doctests.
                    if !words.iter().any(|w| w == "--no-run" || w == "--doc") {
                        found.push(Found::Cargo { command });
                    }
                }
                continue;
            }
            let script = match first.as_str() {
                "bash" | "sh" | "source" | "." => words.get(1).cloned(),
                w if w.ends_with(".sh") => Some(w.to_string()),
                _ => None,
            };
            if let Some(path) = script.filter(|p| p.ends_with(".sh") && !p.contains('$')) {
                found.push(Found::Script {
                    path: path.trim_start_matches("./").to_string(),
                });
            }
        }
    }
    found
}

/// The value of pytest's `-m` option among `args`, if given.
fn marker_option(args: &[String]) -> Option<String> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "-m" {
            return iter.next().cloned();
        }
        if let Some(value) = arg.strip_prefix("-m=") {
            return Some(value.to_string());
        }
        if let Some(value) = arg.strip_prefix("-m") {
            if !value.is_empty() && !value.starts_with('-') {
                return Some(value.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_pytest_cargo_and_scripts() {
        let text = r#"
# comment with pytest -m "nope"
export X=1
python -m pytest -v -m "pre_merge and (gpu_0 or gpu_1)" tests/ \
   --timeout 300
cd lib && cargo test --locked --all-targets
cargo test --locked --no-run
cargo nextest run --workspace
bash ./ci/run_tests.sh
PYTEST_ADDOPTS=-x pytest -m'unit'
"#;
        let found = scan(text);
        assert_eq!(
            found,
            vec![
                Found::Pytest {
                    command:
                        "python -m pytest -v -m pre_merge and (gpu_0 or gpu_1) tests/ --timeout 300"
                            .into(),
                    expr: Some("pre_merge and (gpu_0 or gpu_1)".into()),
                },
                Found::Cargo {
                    command: "cargo test --locked --all-targets".into()
                },
                Found::Cargo {
                    command: "cargo nextest run --workspace".into()
                },
                Found::Script {
                    path: "ci/run_tests.sh".into()
                },
                Found::Pytest {
                    command: "pytest -munit".into(),
                    expr: Some("unit".into()),
                },
            ]
        );
    }
}
