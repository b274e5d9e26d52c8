//! The bad-input tree (`tests/fixtures/python-bad/`): files pytest cannot
//! import, plus a symlink loop and an unreadable directory made at test time
//! (git does not keep either well).
//!
//! tollgate must exit 0, print one `file:line:col: error[code]: message`
//! diagnostic per bad file on stderr, still collect every good test exactly as
//! pytest does, and exit 1 with `--strict`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cases::Invocation;
use super::compare;
use super::{from_inventory, from_oracle, oracle, project, tollgate_cli};

/// `bad.toml`: which files are bad (and where), which are odd but fine.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BadTree {
    bad: Vec<BadFile>,
    fine: FineFiles,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BadFile {
    file: String,
    /// The line the diagnostic must point at, when it is well defined.
    #[serde(default)]
    line: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FineFiles {
    files: Vec<String>,
}

const SYMLINK_LOOP: &str = "tests/test_symlink_loop.py";
const LOCKED_DIR: &str = "tests/locked";

/// Restores the permissions of the unreadable directory so the temporary
/// copy can be removed, even when an assertion fails.
struct Unlock(PathBuf);

impl Drop for Unlock {
    fn drop(&mut self) {
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
    }
}

/// Adds the symlink loop and the unreadable directory. Returns whether the
/// directory really is unreadable: as root (or with CAP_DAC_OVERRIDE) it is not.
fn make_unreadable_things(root: &Path) -> (bool, Unlock) {
    std::os::unix::fs::symlink("test_symlink_loop.py", root.join(SYMLINK_LOOP))
        .unwrap_or_else(|e| panic!("creating the symlink loop: {e}"));
    let locked = root.join(LOCKED_DIR);
    fs::create_dir(&locked).unwrap_or_else(|e| panic!("creating {LOCKED_DIR}: {e}"));
    fs::write(
        locked.join("test_locked.py"),
        "def test_locked():\n    pass\n",
    )
    .unwrap_or_else(|e| panic!("writing into {LOCKED_DIR}: {e}"));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000))
        .unwrap_or_else(|e| panic!("chmod 000 {LOCKED_DIR}: {e}"));
    let unlock = Unlock(locked.clone());
    let unreadable = fs::read_dir(&locked).is_err();
    (unreadable, unlock)
}

/// An error diagnostic as printed on stderr: `file:line:col: error[code]: message`,
/// or with fewer position parts (`file:line: ...`, `file: ...`).
#[derive(Debug, PartialEq)]
struct ErrorLine {
    file: String,
    line: Option<u32>,
    column: Option<u32>,
    text: String,
}

/// Splits `file[:line[:col]]`, taking numeric suffixes from the right.
fn split_location(location: &str) -> (&str, Option<u32>, Option<u32>) {
    let mut rest = location;
    let mut numbers = Vec::new();
    while numbers.len() < 2 {
        match rest.rsplit_once(':') {
            Some((head, tail)) if tail.parse::<u32>().is_ok() => {
                numbers.push(tail.parse::<u32>().ok());
                rest = head;
            }
            _ => break,
        }
    }
    match numbers.as_slice() {
        [col, line] => (rest, *line, *col),
        [line] => (rest, *line, None),
        _ => (rest, None, None),
    }
}

/// Every line of `stderr` that is an error diagnostic.
fn error_lines(stderr: &str) -> Vec<ErrorLine> {
    stderr
        .lines()
        .filter_map(|text| {
            let (location, rest) = text.split_once(": error[")?;
            rest.split_once("]: ")?;
            let (file, line, column) = split_location(location);
            Some(ErrorLine {
                file: file.to_owned(),
                line,
                column,
                text: text.to_owned(),
            })
        })
        .collect()
}

/// Whether diagnostic path `reported` names `expected` (relative to the
/// project root, `./` prefix or an absolute path allowed).
fn names_file(reported: &str, expected: &str) -> bool {
    let reported = reported.trim_start_matches("./");
    reported == expected || reported.ends_with(&format!("/{expected}"))
}

/// Every bad file has exactly one error (at the expected line, when one is
/// given); no valid file has any. Returns one sentence per problem.
fn diagnostic_problems(bad: &[BadFile], fine: &[String], errors: &[ErrorLine]) -> Vec<String> {
    let mut problems = Vec::new();
    for b in bad {
        let for_file: Vec<&ErrorLine> = errors
            .iter()
            .filter(|e| names_file(&e.file, &b.file))
            .collect();
        match (for_file.as_slice(), b.line) {
            ([], _) => problems.push(format!("no error diagnostic for {}", b.file)),
            ([one], Some(expected)) => match (one.line, one.column) {
                (Some(line), Some(col)) if line == expected && col > 0 => {}
                (line, col) => problems.push(format!(
                    "{}: expected {}:{expected}:<col>, got line {line:?} column {col:?}: {}",
                    b.file, b.file, one.text
                )),
            },
            ([_], None) => {}
            (many, _) => {
                let texts: Vec<&str> = many.iter().map(|e| e.text.as_str()).collect();
                problems.push(format!(
                    "{} diagnostics for {} (expected one): {texts:?}",
                    many.len(),
                    b.file
                ));
            }
        }
    }
    for file in fine {
        for e in errors.iter().filter(|e| names_file(&e.file, file)) {
            problems.push(format!("error diagnostic for a valid file: {}", e.text));
        }
    }
    problems
}

pub fn check() {
    let Some(python) = super::require_python() else {
        return;
    };
    let source = project::bad_fixture();
    let tree: BadTree = toml::from_str(
        &fs::read_to_string(source.join("bad.toml")).unwrap_or_else(|e| panic!("bad.toml: {e}")),
    )
    .unwrap_or_else(|e| panic!("bad.toml: {e}"));
    let copy = project::ProjectCopy::of(&source).unwrap_or_else(|e| panic!("copy: {e}"));
    let (unreadable, _unlock) = make_unreadable_things(copy.root());

    let mut bad = tree.bad.clone();
    bad.push(BadFile {
        file: SYMLINK_LOOP.to_owned(),
        line: None,
    });
    if unreadable {
        bad.push(BadFile {
            file: LOCKED_DIR.to_owned(),
            line: None,
        });
    } else {
        eprintln!(
            "note: running with privileges that ignore permissions (root?): chmod 000 \
             {LOCKED_DIR} is still readable, so it is expected to be collected like any \
             directory, and no `unreadable` diagnostic is expected for it"
        );
    }

    let invocation = Invocation {
        cwd: ".".to_owned(),
        rootdir: None,
        config: None,
        markexpr: None,
        paths: Vec::new(),
    };
    let oracle_run = oracle::collect(
        python,
        &project::oracle_script(),
        copy.root(),
        &invocation,
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Sanity of the fixture: pytest must fail on the files listed as bad.
    let pytest_failed: BTreeSet<&str> = oracle_run
        .errors
        .iter()
        .map(|e| e.nodeid.as_str())
        .collect();
    for b in &tree.bad {
        assert!(
            pytest_failed.contains(b.file.as_str()),
            "fixture problem: pytest does not fail on {} (errors: {pytest_failed:?})",
            b.file
        );
    }

    let mut report = String::new();
    let run =
        tollgate_cli::collect_json(copy.root(), &invocation, &[]).unwrap_or_else(|e| panic!("{e}"));
    if run.exit_code != Some(0) {
        let _ = writeln!(report, "  exit {:?}, expected 0", run.exit_code);
    }
    for problem in diagnostic_problems(&bad, &tree.fine.files, &error_lines(&run.stderr)) {
        let _ = writeln!(report, "  {problem}");
    }
    match run.inventory.as_ref() {
        None => {
            let _ = writeln!(
                report,
                "  stdout is not an inventory: {}",
                run.stdout.trim()
            );
        }
        Some(inventory) => {
            let diffs =
                compare::compare_exact(&from_oracle(&oracle_run), &from_inventory(inventory));
            for diff in diffs {
                let _ = write!(report, "{diff}");
            }
            if inventory.diagnostics.is_empty() {
                let _ = writeln!(report, "  the JSON inventory carries no diagnostics");
            }
        }
    }

    let strict = tollgate_cli::collect_json(copy.root(), &invocation, &["--strict"])
        .unwrap_or_else(|e| panic!("{e}"));
    if strict.exit_code != Some(1) {
        let _ = writeln!(
            report,
            "  with --strict: exit {:?}, expected 1",
            strict.exit_code
        );
    }
    assert!(
        report.is_empty(),
        "tollgate on the bad-input tree (tests/fixtures/python-bad):\n{report}\nstderr was:\n{}",
        run.stderr
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_diagnostic_lines_with_any_number_of_position_parts() {
        let lines = error_lines(
            "noise\n\
             tests/a.py:4:17: error[parse-error]: invalid: syntax\n\
             tests/b.py:5: error[collection-error]: yield\n\
             tests/c.py: error[unreadable]: loop\n\
             warning: not an error\n",
        );
        let positions: Vec<(&str, Option<u32>, Option<u32>)> = lines
            .iter()
            .map(|l| (l.file.as_str(), l.line, l.column))
            .collect();
        assert_eq!(
            positions,
            vec![
                ("tests/a.py", Some(4), Some(17)),
                ("tests/b.py", Some(5), None),
                ("tests/c.py", None, None),
            ]
        );
    }

    #[test]
    fn diagnostic_problems_are_precise() {
        let bad = vec![
            BadFile {
                file: "a.py".into(),
                line: Some(4),
            },
            BadFile {
                file: "loop.py".into(),
                line: None,
            },
            BadFile {
                file: "twice.py".into(),
                line: None,
            },
        ];
        let errors = error_lines(
            "a.py:3:1: error[parse-error]: x\n\
             twice.py: error[e]: one\n\
             twice.py: error[e]: two\n\
             fine.py:1:1: error[e]: wrong\n",
        );
        assert_eq!(
            diagnostic_problems(&bad, &["fine.py".to_owned()], &errors),
            vec![
                "a.py: expected a.py:4:<col>, got line Some(3) column Some(1): \
                 a.py:3:1: error[parse-error]: x"
                    .to_owned(),
                "no error diagnostic for loop.py".to_owned(),
                "2 diagnostics for twice.py (expected one): \
                 [\"twice.py: error[e]: one\", \"twice.py: error[e]: two\"]"
                    .to_owned(),
                "error diagnostic for a valid file: fine.py:1:1: error[e]: wrong".to_owned(),
            ]
        );
        let good = error_lines("a.py:4:9: error[parse-error]: x\nloop.py: error[loop]: y\n");
        assert!(diagnostic_problems(&bad[..2], &[], &good).is_empty());
    }

    #[test]
    fn matches_relative_and_absolute_paths() {
        assert!(names_file("tests/a.py", "tests/a.py"));
        assert!(names_file("./tests/a.py", "tests/a.py"));
        assert!(names_file("/tmp/x/tests/a.py", "tests/a.py"));
        assert!(!names_file("tests/ba.py", "a.py"));
    }
}
