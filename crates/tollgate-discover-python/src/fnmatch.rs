//! Python's `fnmatch.fnmatch` on POSIX (case-sensitive).
//!
//! pytest matches `python_files`, `norecursedirs`, `collect_ignore_glob` and
//! glob-style `python_classes`/`python_functions` with `fnmatch`, where `*`
//! also crosses `/`. Reimplementing it (instead of using a path-aware glob
//! library) keeps that quirk exact.

/// Does `name` match the shell-style `pattern` (`*`, `?`, `[seq]`, `[!seq]`)?
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    match_from(&name, &pattern)
}

fn match_from(name: &[char], pattern: &[char]) -> bool {
    // Iterative matcher with single-star backtracking (linear in practice).
    let (mut n, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => {
                n += 1;
                p += 1;
                continue;
            }
            Some('[') => {
                if let Some((matched, next_p)) = match_class(name[n], pattern, p) {
                    if matched {
                        n += 1;
                        p = next_p;
                        continue;
                    }
                } else if name[n] == '[' {
                    // An unterminated `[` is a literal, as in Python.
                    n += 1;
                    p += 1;
                    continue;
                }
            }
            Some(&c) if c == name[n] => {
                n += 1;
                p += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `pattern[start] == '['`.
/// Returns `None` when the class is unterminated (then `[` is literal).
fn match_class(c: char, pattern: &[char], start: usize) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some('!'));
    if negate {
        i += 1;
    }
    // A `]` right after `[` or `[!` is a member, not the end.
    let first = i;
    let mut matched = false;
    loop {
        let pc = *pattern.get(i)?;
        if pc == ']' && i > first {
            return Some((matched != negate, i + 1));
        }
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            let end = *pattern.get(i + 2)?;
            if pc <= c && c <= end {
                matched = true;
            }
            i += 3;
        } else {
            if pc == c {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn star_crosses_slashes_like_python() {
        assert!(fnmatch("test_a.py", "test_*.py"));
        assert!(fnmatch("a/b/test_a.py", "*test_*.py"));
        assert!(fnmatch("a_test.py", "*_test.py"));
        assert!(!fnmatch("atest.py", "test_*.py"));
        assert!(fnmatch(".git", ".*"));
        assert!(fnmatch("{arch}", "{arch}"));
        assert!(fnmatch("x.egg", "*.egg"));
    }

    #[test]
    fn classes_and_question_marks() {
        assert!(fnmatch("test1", "test[0-9]"));
        assert!(!fnmatch("testa", "test[0-9]"));
        assert!(fnmatch("testa", "test[!0-9]"));
        assert!(fnmatch("t]", "t[]]"));
        assert!(fnmatch("ab", "a?"));
        assert!(!fnmatch("a", "a?"));
        assert!(fnmatch("a[", "a["));
    }

    #[test]
    fn backtracking() {
        assert!(fnmatch("aaab", "*a*b"));
        assert!(!fnmatch("aaac", "*a*b"));
        assert!(fnmatch("", "*"));
        assert!(!fnmatch("", "?"));
    }
}
