//! POSIX `shlex.split`, which pytest applies to `args`-typed ini values
//! (`addopts`, `testpaths`, `python_files`, `norecursedirs`, ...).

/// Splits like Python's `shlex.split(s)` (POSIX mode, `#` not a comment).
/// An unterminated quote takes the rest of the string, where Python would
/// raise; the caller treats the result as best effort.
pub fn split(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&n @ ('\\' | '"' | '$' | '`' | '\n')) => {
                                cur.push(n);
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_words_and_quotes() {
        assert_eq!(
            split("  -p  no:cacheprovider "),
            vec!["-p", "no:cacheprovider"]
        );
        assert_eq!(split(r#"--a "b c" 'd e'"#), vec!["--a", "b c", "d e"]);
        assert_eq!(split(r"a\ b"), vec!["a b"]);
        assert_eq!(split("x\n  y"), vec!["x", "y"]);
        assert_eq!(split("''"), vec![""]);
        assert!(split("").is_empty());
    }
}
