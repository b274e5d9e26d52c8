//! Changed lines from a unified diff (`git diff -U0 base...HEAD`), for
//! patch coverage. Only hunk headers and file names matter; the content
//! lines are skipped, so a diff with any context size works.

use std::collections::BTreeMap;

use crate::model::LineRange;

/// Lines added or changed on the new side, per new-side path. Deleted files
/// and pure deletions contribute nothing; malformed hunk headers are skipped
/// rather than guessed at.
pub fn changed_lines(diff: &str) -> BTreeMap<String, Vec<LineRange>> {
    let mut out: BTreeMap<String, Vec<LineRange>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            current = new_side_path(path);
        } else if let Some(header) = line.strip_prefix("@@ ") {
            let (Some(path), Some(range)) = (&current, new_side_range(header)) else {
                continue;
            };
            out.entry(path.clone()).or_default().push(range);
        }
    }
    out
}

fn new_side_path(text: &str) -> Option<String> {
    let text = text.split('\t').next().unwrap_or(text).trim_end();
    if text == "/dev/null" {
        return None;
    }
    Some(text.strip_prefix("b/").unwrap_or(text).to_string())
}

/// `-a,b +c,d @@ ...` → lines `c..=c+d-1` (`d` defaults to 1; 0 means none).
fn new_side_range(header: &str) -> Option<LineRange> {
    let new = header
        .split_whitespace()
        .find_map(|w| w.strip_prefix('+'))?;
    let (start, count) = match new.split_once(',') {
        Some((s, c)) => (s.parse::<u32>().ok()?, c.parse::<u32>().ok()?),
        None => (new.parse::<u32>().ok()?, 1),
    };
    if count == 0 {
        return None;
    }
    Some(LineRange {
        first: start,
        last: start.checked_add(count - 1)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_become_new_side_ranges() {
        let diff = "\
diff --git a/src/lib.rs b/src/lib.rs
index 1..2 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -10,0 +11,3 @@ fn main() {
+a
+b
+c
@@ -40 +43 @@
-x
+y
@@ -50,2 +52,0 @@
-gone
-gone
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1,2 +0,0 @@
diff --git a/new.py b/new.py
--- /dev/null
+++ b/new.py\t
@@ -0,0 +1,2 @@
@@ garbage @@
";
        let changed = changed_lines(diff);
        assert_eq!(
            changed.get("src/lib.rs"),
            Some(&vec![
                LineRange {
                    first: 11,
                    last: 13
                },
                LineRange {
                    first: 43,
                    last: 43
                }
            ])
        );
        assert_eq!(
            changed.get("new.py"),
            Some(&vec![LineRange { first: 1, last: 2 }])
        );
        assert_eq!(changed.len(), 2);
    }

    #[test]
    fn empty_and_overflowing_input() {
        assert!(changed_lines("").is_empty());
        assert!(changed_lines("+++ b/x\n@@ -1 +4294967295,2 @@\n").is_empty());
    }
}
