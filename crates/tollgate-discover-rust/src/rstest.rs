//! rstest's test naming (as of rstest 0.26), reproduced without expanding the
//! macro.
//!
//! `#[rstest]` turns `fn f` into a module `f` holding one test per case:
//! `case_1`, `case_2_description` (`#[case::description(..)]`), numbers
//! zero-padded to the width of the case count. `#[values(..)]` arguments add
//! one module level per argument, named `{arg}_{index}_{value}` where the
//! value is its source text with rstest's sanitising. With neither cases nor
//! values the test keeps the function's own name.

/// One generated test: its name below the function (`None` for the plain
/// function) and which `#[case]` it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RstestCase {
    pub suffix: Option<String>,
    pub case_index: Option<usize>,
}

/// Names of the tests rstest generates for `cases` (their descriptions) and
/// `value_lists` (each argument's value source texts).
pub fn expand(cases: &[Option<String>], value_lists: &[(String, Vec<String>)]) -> Vec<RstestCase> {
    let value_paths = value_paths(value_lists);
    if cases.is_empty() {
        if value_lists.is_empty() {
            return vec![RstestCase {
                suffix: None,
                case_index: None,
            }];
        }
        return value_paths
            .into_iter()
            .map(|path| RstestCase {
                suffix: Some(path),
                case_index: None,
            })
            .collect();
    }
    let width = cases.len().to_string().len();
    let mut out = Vec::new();
    for (index, description) in cases.iter().enumerate() {
        let mut case_name = format!("case_{:0width$}", index + 1);
        if let Some(d) = description {
            case_name.push('_');
            case_name.push_str(d);
        }
        if value_lists.is_empty() {
            out.push(RstestCase {
                suffix: Some(case_name),
                case_index: Some(index),
            });
        } else {
            out.extend(value_paths.iter().map(|path| RstestCase {
                suffix: Some(format!("{case_name}::{path}")),
                case_index: Some(index),
            }));
        }
    }
    out
}

/// The cartesian product of the value lists, as `a_1_x::b_2_y` paths.
fn value_paths(value_lists: &[(String, Vec<String>)]) -> Vec<String> {
    let mut paths = vec![String::new()];
    for (arg, values) in value_lists {
        let width = values.len().to_string().len();
        let names: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let description: String = sanitize(v).chars().take(64).collect();
                format!("{arg}_{:0width$}_{description}", i + 1)
            })
            .collect();
        paths = paths
            .iter()
            .flat_map(|prefix| {
                names.iter().map(move |n| {
                    if prefix.is_empty() {
                        n.clone()
                    } else {
                        format!("{prefix}::{n}")
                    }
                })
            })
            .collect();
    }
    paths
}

/// rstest's `sanitize_ident`: drop whitespace, quotes become `__`, common
/// punctuation `_`, then keep identifier characters only.
fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        match c {
            '"' | '\'' => out.push_str("__"),
            ':' | '(' | ')' | '{' | '}' | '[' | ']' | ',' | '.' | '*' | '+' | '/' | '-' | '%'
            | '^' | '!' | '&' | '|' => out.push('_'),
            c if c == '_' || c.is_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(cases: &[Option<&str>], values: &[(&str, &[&str])]) -> Vec<String> {
        let cases: Vec<Option<String>> = cases.iter().map(|c| c.map(str::to_string)).collect();
        let values: Vec<(String, Vec<String>)> = values
            .iter()
            .map(|(a, v)| (a.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        expand(&cases, &values)
            .into_iter()
            .map(|c| c.suffix.unwrap_or_default())
            .collect()
    }

    #[test]
    fn plain_rstest_keeps_the_function_name() {
        assert_eq!(names(&[], &[]), vec![""]);
    }

    #[test]
    fn cases_are_numbered_and_described() {
        assert_eq!(
            names(&[None, None, Some("named")], &[]),
            vec!["case_1", "case_2", "case_3_named"]
        );
    }

    #[test]
    fn ten_or_more_cases_are_zero_padded() {
        let cases = vec![None; 11];
        let got = names(&cases, &[]);
        assert_eq!(got[0], "case_01");
        assert_eq!(got[10], "case_11");
    }

    #[test]
    fn values_make_a_matrix() {
        assert_eq!(
            names(&[], &[("a", &["1", "2"]), ("b", &["\"x\"", "\"y z\""])]),
            vec![
                "a_1_1::b_1___x__",
                "a_1_1::b_2___yz__",
                "a_2_2::b_1___x__",
                "a_2_2::b_2___yz__"
            ]
        );
    }

    #[test]
    fn cases_wrap_values() {
        assert_eq!(
            names(&[None, Some("second")], &[("flag", &["true", "false"])]),
            vec![
                "case_1::flag_1_true",
                "case_1::flag_2_false",
                "case_2_second::flag_1_true",
                "case_2_second::flag_2_false"
            ]
        );
    }

    #[test]
    fn sanitizing_matches_rstest() {
        assert_eq!(sanitize("vec ! [1 , 2]"), "vec__1_2_");
        assert_eq!(sanitize("- 1.5"), "_1_5");
        assert_eq!(sanitize("Some (\"a\")"), "Some___a___");
        assert_eq!(sanitize("x as u8 ; #"), "xasu8");
    }
}
