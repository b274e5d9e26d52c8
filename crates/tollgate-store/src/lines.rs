//! Compact line sets and path classification for coverage rows.

/// `[1, 2, 3, 7]` → `"1-3,7"`. Input must be sorted and unique (as
/// [`tollgate_results::FileCoverage`] guarantees).
pub fn encode_lines(lines: &[u32]) -> String {
    let mut out = String::new();
    let mut iter = lines.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end.wrapping_add(1))) {
            end += 1;
            iter.next();
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
    }
    out
}

/// Inverse of [`encode_lines`]; `None` on anything it would not have written.
pub fn decode_lines(text: &str) -> Option<Vec<u32>> {
    let mut lines = Vec::new();
    if text.is_empty() {
        return Some(lines);
    }
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 10_000_000 {
                    return None;
                }
                lines.extend(a..=b);
            }
            None => lines.push(part.parse().ok()?),
        }
    }
    Some(lines)
}

/// The language of a source file, for per-language coverage roll-ups.
pub fn language_of(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("rs") => "rust",
        Some("py" | "pyi" | "pyx") => "python",
        Some("c" | "h") => "c",
        Some("cc" | "cpp" | "cxx" | "hpp" | "cu" | "cuh") => "cpp",
        Some("go") => "go",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        for lines in [vec![], vec![5], vec![1, 2, 3, 7, 9, 10], vec![1, 3, 5]] {
            let text = encode_lines(&lines);
            assert_eq!(decode_lines(&text), Some(lines.clone()), "{text}");
        }
        assert_eq!(encode_lines(&[1, 2, 3, 7]), "1-3,7");
        assert_eq!(decode_lines("3-1"), None);
        assert_eq!(decode_lines("x"), None);
    }

    #[test]
    fn languages() {
        assert_eq!(language_of("crates/a/src/lib.rs"), "rust");
        assert_eq!(language_of("pkg/mod.py"), "python");
        assert_eq!(language_of("Makefile"), "other");
    }
}

/// Merges a shard's coverage of a file into what another shard stored:
/// a line covered by either is covered; a line is uncovered only if no
/// shard covered it. Returns `(covered, uncovered)`, sorted and unique.
pub fn merge_coverage(
    stored: Option<(Vec<u32>, Vec<u32>)>,
    covered: &[u32],
    uncovered: &[u32],
) -> (Vec<u32>, Vec<u32>) {
    use std::collections::BTreeSet;
    let (mut all_covered, mut all_uncovered): (BTreeSet<u32>, BTreeSet<u32>) = match stored {
        Some((c, u)) => (c.into_iter().collect(), u.into_iter().collect()),
        None => Default::default(),
    };
    all_covered.extend(covered.iter().copied());
    all_uncovered.extend(uncovered.iter().copied());
    let uncovered: Vec<u32> = all_uncovered.difference(&all_covered).copied().collect();
    (all_covered.into_iter().collect(), uncovered)
}

/// PostgreSQL text cannot hold NUL; test output sometimes does.
pub fn clean_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod merge_tests {
    use super::*;

    #[test]
    fn shards_union_their_covered_lines() {
        let (c, u) = merge_coverage(Some((vec![1, 2], vec![3, 4])), &[3], &[1, 5]);
        assert_eq!(c, vec![1, 2, 3]);
        assert_eq!(u, vec![4, 5]);
        assert_eq!(merge_coverage(None, &[2], &[1]), (vec![2], vec![1]));
        assert_eq!(clean_text("a\0b"), "a\u{fffd}b");
    }
}
