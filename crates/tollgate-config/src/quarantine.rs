//! `.tollgate/quarantine.toml`: tests that run but cannot fail the run.
//!
//! ```toml
//! [[quarantine]]
//! id = "tests/serve/test_router_*.py::*"   # exact id, or `*`/`?` wildcards
//! reason = "times out on shared runners"
//! owner = "alice"
//! issue = "https://github.com/org/repo/issues/12"
//! expires = "2026-12-31"
//! ```
//!
//! Wildcards are only `*` and `?`: test ids contain `[` and `]`
//! (parametrize ids), which a glob would read as a character class.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quarantine {
    #[serde(default, rename = "quarantine")]
    pub entries: Vec<QuarantineEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineEntry {
    /// A test id, or a pattern with `*` / `?`.
    pub id: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// `YYYY-MM-DD`; the entry no longer applies after this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A calendar day, comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.trim().splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Date { year, month, day })
    }

    /// Today in UTC, from the system clock.
    pub fn today_utc() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days_since_epoch((secs / 86_400) as i64)
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`); the
    /// inverse of [`Date::from_days_since_epoch`] for real dates.
    pub fn days_since_epoch(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why pattern `id` is too broad to quarantine, if it is: made only of
/// wildcards (`*`, `?`) and separators (`:`, `/`, `.`, `[`, `]`, blanks) —
/// `*`, `*::*`, `*/*` — it matches every test, or nearly.
pub fn too_broad(id: &str) -> Option<&'static str> {
    let literal = id
        .chars()
        .filter(|c| !matches!(c, '*' | '?' | ':' | '/' | '.' | '[' | ']') && !c.is_whitespace())
        .count();
    (literal == 0).then_some(
        "matches (nearly) every test: it would make every failure pass; name the tests it is for",
    )
}

/// Why an entry needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryProblem {
    /// The expiry date has passed.
    Expired { expires: Date },
    /// The expiry is not a `YYYY-MM-DD` date.
    BadDate { text: String },
}

impl fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryProblem::Expired { expires } => write!(f, "expired on {expires}"),
            EntryProblem::BadDate { text } => {
                write!(f, "has an expiry `{text}` that is not a YYYY-MM-DD date")
            }
        }
    }
}

/// An entry that no longer (or never validly) applies; lint reports these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredEntry {
    /// Index in [`Quarantine::entries`].
    pub index: usize,
    pub id: String,
    pub problem: EntryProblem,
}

/// Entries whose expiry is before `today`, or unreadable.
pub fn expired_entries(quarantine: &Quarantine, today: Date) -> Vec<ExpiredEntry> {
    quarantine
        .entries
        .iter()
        .enumerate()
        .filter_map(|(index, e)| {
            let text = e.expires.as_deref()?;
            let problem = match Date::parse(text) {
                Some(expires) if expires < today => EntryProblem::Expired { expires },
                Some(_) => return None,
                None => EntryProblem::BadDate {
                    text: text.to_string(),
                },
            };
            Some(ExpiredEntry {
                index,
                id: e.id.clone(),
                problem,
            })
        })
        .collect()
}

impl Quarantine {
    /// Parses the file; a pattern that matches (nearly) every test
    /// ([`too_broad`]) is refused with its line: it would make every failure
    /// pass.
    pub fn parse(text: &str, path: &Path) -> Result<Quarantine, QuarantineError> {
        let quarantine: Quarantine = toml::from_str(text).map_err(|e| QuarantineError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let lines = Quarantine::entry_lines(text);
        for (i, entry) in quarantine.entries.iter().enumerate() {
            if let Some(problem) = too_broad(&entry.id) {
                let line = lines.get(i).copied().unwrap_or(1);
                return Err(QuarantineError::Parse {
                    path: path.to_path_buf(),
                    message: format!("line {line}: quarantine entry `{}` {problem}", entry.id),
                });
            }
        }
        Ok(quarantine)
    }

    /// The 1-based line where each entry starts, in file order, for
    /// diagnostics that point into the file (lint's TG701/TG702). An entry
    /// whose position cannot be told (the text does not parse) gets line 1.
    pub fn entry_lines(text: &str) -> Vec<u32> {
        #[derive(Deserialize)]
        struct Positions {
            #[serde(default)]
            quarantine: Vec<toml::Spanned<toml::Table>>,
        }
        let Ok(positions) = toml::from_str::<Positions>(text) else {
            return Vec::new();
        };
        positions
            .quarantine
            .iter()
            .map(|entry| line_of(text, entry.span().start))
            .collect()
    }

    /// Reads the file; a missing file is an empty quarantine.
    pub fn load(path: &Path) -> Result<Quarantine, QuarantineError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Quarantine::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Quarantine::default()),
            Err(source) => Err(QuarantineError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), QuarantineError> {
        let write_err = |source| QuarantineError::Write {
            path: path.to_path_buf(),
            source,
        };
        let body = toml::to_string_pretty(self).map_err(|e| QuarantineError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let text = format!("# Quarantined tests: they run, but cannot fail the run.\n# Edit with `tollgate quarantine add|remove|list`.\n\n{body}");
        std::fs::write(path, text).map_err(write_err)
    }

    /// The entry that quarantines `test_id` today, if any. Expired entries
    /// (and entries with an unreadable date) no longer protect a test.
    pub fn matching(&self, test_id: &str, today: Date) -> Option<&QuarantineEntry> {
        self.entries.iter().find(|e| {
            let live = match e.expires.as_deref() {
                None => true,
                Some(text) => Date::parse(text).is_some_and(|d| d >= today),
            };
            live && id_matches(&e.id, test_id)
        })
    }

    /// Adds or replaces the entry for `entry.id`.
    pub fn add(&mut self, entry: QuarantineEntry) {
        match self.entries.iter_mut().find(|e| e.id == entry.id) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
    }

    /// Removes the entry whose pattern is exactly `id`; true if one was removed.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id);
        self.entries.len() != before
    }
}

/// The 1-based line of byte `offset`; an `[[quarantine]]` entry's span may
/// begin at its header or at its first key, both on the entry's first lines.
fn line_of(text: &str, offset: usize) -> u32 {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// `*` matches any run of characters, `?` exactly one; the rest is literal.
pub fn id_matches(pattern: &str, id: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = id.chars().collect();
    // Iterative matcher with backtracking to the last `*`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, expires: Option<&str>) -> QuarantineEntry {
        QuarantineEntry {
            id: id.to_string(),
            reason: "flaky".to_string(),
            owner: None,
            issue: None,
            expires: expires.map(str::to_string),
        }
    }

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn ids_match_exactly_or_by_wildcard_and_brackets_are_literal() {
        assert!(id_matches(
            "tests/test_a.py::test_x[1]",
            "tests/test_a.py::test_x[1]"
        ));
        assert!(!id_matches(
            "tests/test_a.py::test_x[1]",
            "tests/test_a.py::test_x1"
        ));
        assert!(id_matches(
            "tests/test_a.py::*",
            "tests/test_a.py::TestC::test_y"
        ));
        assert!(id_matches(
            "tests/*/test_?.py::*",
            "tests/serve/test_b.py::t"
        ));
        assert!(!id_matches(
            "tests/*/test_?.py::*",
            "tests/serve/test_bb.py::t"
        ));
        assert!(id_matches("*", ""));
    }

    #[test]
    fn expired_entries_are_reported_and_stop_applying() {
        let q = Quarantine {
            entries: vec![
                entry("a", Some("2026-01-01")),
                entry("b", Some("2026-12-31")),
                entry("c", None),
                entry("d", Some("soon")),
            ],
        };
        let today = day("2026-06-01");
        let expired = expired_entries(&q, today);
        assert_eq!(expired.len(), 2);
        assert_eq!(expired[0].id, "a");
        assert_eq!(
            expired[0].problem,
            EntryProblem::Expired {
                expires: day("2026-01-01")
            }
        );
        assert_eq!(
            expired[1].problem,
            EntryProblem::BadDate {
                text: "soon".into()
            }
        );
        assert!(q.matching("a", today).is_none());
        assert!(q.matching("b", today).is_some());
        assert!(q.matching("c", today).is_some());
        assert!(q.matching("b", day("2027-01-01")).is_none());
    }

    #[test]
    fn file_round_trips_and_add_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".tollgate/quarantine.toml");
        assert_eq!(Quarantine::load(&path).unwrap(), Quarantine::default());
        let mut q = Quarantine::default();
        q.add(entry("t1", Some("2030-01-01")));
        q.add(entry("t2", None));
        q.add(QuarantineEntry {
            owner: Some("bob".into()),
            ..entry("t1", None)
        });
        q.save(&path).unwrap();
        let back = Quarantine::load(&path).unwrap();
        assert_eq!(back, q);
        assert_eq!(back.entries.len(), 2);
        assert_eq!(back.entries[0].owner.as_deref(), Some("bob"));
        let mut back = back;
        assert!(back.remove("t2"));
        assert!(!back.remove("t2"));
    }

    #[test]
    fn patterns_matching_every_test_are_refused() {
        for id in ["*", "**", "*::*", "*/*", " ? "] {
            let text = format!("[[quarantine]]\nid = {id:?}\nreason = \"r\"\n");
            let err = Quarantine::parse(&text, Path::new("q.toml")).unwrap_err();
            assert!(err.to_string().contains("every test"), "{id}: {err}");
            assert!(too_broad(id).is_some());
        }
        assert!(too_broad("tests/test_a.py::*").is_none());
        assert!(too_broad("t1").is_none());
    }

    #[test]
    fn bad_files_are_errors_with_the_path() {
        let err = Quarantine::parse("[[quarantine]]\nid = 3\n", Path::new("q.toml")).unwrap_err();
        assert!(err.to_string().starts_with("q.toml:"), "{err}");
    }

    #[test]
    fn entry_lines_point_at_each_entry() {
        let text = "# header\n\n[[quarantine]]\nid = \"a\"\nreason = \"r\"\n\n[[quarantine]]\nid = \"b\"\nreason = \"r\"\n";
        assert_eq!(Quarantine::entry_lines(text), vec![3, 7]);
        let inline = "quarantine = [\n  { id = \"a\", reason = \"r\" },\n  { id = \"b\", reason = \"r\" },\n]\n";
        assert_eq!(Quarantine::entry_lines(inline), vec![2, 3]);
        assert!(Quarantine::entry_lines("[[quarantine]\n").is_empty());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(
            Date::from_days_since_epoch(20_819).to_string(),
            "2027-01-01"
        );
        assert_eq!(
            Date::from_days_since_epoch(11_016).to_string(),
            "2000-02-29"
        );
        assert!(Date::parse("2026-13-01").is_none());
        for days in [-800_000, -1, 0, 59, 11_016, 20_819, 2_000_000] {
            assert_eq!(Date::from_days_since_epoch(days).days_since_epoch(), days);
        }
    }
}
