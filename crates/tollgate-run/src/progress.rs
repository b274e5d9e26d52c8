//! Reading the watchdog plugin's progress file (JSON lines), incrementally.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::outcome::AttemptOutcome;

/// One line the plugin wrote.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    Start {
        id: String,
    },
    Result {
        id: String,
        when: String,
        outcome: String,
        #[serde(default)]
        duration: f64,
        #[serde(default)]
        message: Option<String>,
    },
}

impl ProgressEvent {
    /// How a `result` event's attempt ended (`None` for a start).
    pub fn attempt_outcome(&self) -> Option<AttemptOutcome> {
        let ProgressEvent::Result { when, outcome, .. } = self else {
            return None;
        };
        Some(match (outcome.as_str(), when.as_str()) {
            ("passed", _) => AttemptOutcome::Passed,
            ("skipped", _) => AttemptOutcome::Skipped,
            (_, "call") => AttemptOutcome::Failed,
            _ => AttemptOutcome::Error,
        })
    }
}

/// Parses complete lines; a trailing partial line is left for later.
/// Returns the events and how many bytes were consumed.
pub fn parse_lines(buf: &str) -> (Vec<ProgressEvent>, usize) {
    let mut events = Vec::new();
    let mut consumed = 0;
    for line in buf.split_inclusive('\n') {
        if !line.ends_with('\n') {
            break;
        }
        consumed += line.len();
        // A line that is not ours (or torn by a kill) is skipped, not fatal.
        if let Ok(event) = serde_json::from_str(line.trim_end()) {
            events.push(event);
        }
    }
    (events, consumed)
}

/// Appends what was written to `path` since `offset` to `pending` and moves
/// `offset` on; a file that does not exist yet (or cannot be read right
/// now) adds nothing.
fn append_new_text(path: &Path, offset: &mut u64, pending: &mut String) {
    let Ok(mut file) = File::open(path) else {
        return;
    };
    if file.seek(SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return;
    }
    *offset += bytes.len() as u64;
    pending.push_str(&String::from_utf8_lossy(&bytes));
}

/// Follows a growing progress file.
#[derive(Debug)]
pub struct ProgressTail {
    path: PathBuf,
    offset: u64,
    pending: String,
}

impl ProgressTail {
    pub fn new(path: &Path) -> Self {
        ProgressTail {
            path: path.to_path_buf(),
            offset: 0,
            pending: String::new(),
        }
    }

    /// New events since the last call (none if the file does not exist yet).
    pub fn poll(&mut self) -> Vec<ProgressEvent> {
        append_new_text(&self.path, &mut self.offset, &mut self.pending);
        let (events, consumed) = parse_lines(&self.pending);
        self.pending.drain(..consumed);
        events
    }
}

/// Follows a growing text file (a runner's log) line by line; the last,
/// unfinished line is kept apart ([`LineTail::partial`]).
#[derive(Debug)]
pub struct LineTail {
    path: PathBuf,
    offset: u64,
    pending: String,
}

impl LineTail {
    pub fn new(path: &Path) -> Self {
        LineTail {
            path: path.to_path_buf(),
            offset: 0,
            pending: String::new(),
        }
    }

    /// Complete lines written since the last call (without their newline).
    pub fn poll(&mut self) -> Vec<String> {
        append_new_text(&self.path, &mut self.offset, &mut self.pending);
        let Some(end) = self.pending.rfind('\n') else {
            return Vec::new();
        };
        let complete: Vec<String> = self.pending[..end].lines().map(str::to_string).collect();
        self.pending.drain(..=end);
        complete
    }

    /// The unfinished last line (what a runner printed before blocking).
    pub fn partial(&self) -> &str {
        &self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lines_only_and_garbage_skipped() {
        let buf = "{\"event\":\"start\",\"id\":\"t.py::a\"}\nnot json\n{\"event\":\"result\",\"id\":\"t.py::a\",\"when\":\"call\",\"outcome\":\"passed\",\"duration\":0.5}\n{\"event\":\"sta";
        let (events, consumed) = parse_lines(buf);
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            ProgressEvent::Start {
                id: "t.py::a".into()
            }
        );
        assert!(matches!(&events[1], ProgressEvent::Result { outcome, .. } if outcome == "passed"));
        assert_eq!(&buf[consumed..], "{\"event\":\"sta");
    }

    #[test]
    fn tail_follows_appends() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        let mut tail = ProgressTail::new(&path);
        assert!(tail.poll().is_empty());
        let mut f = std::fs::File::create(&path).unwrap();
        write!(
            f,
            "{{\"event\":\"start\",\"id\":\"a\"}}\n{{\"event\":\"start\","
        )
        .unwrap();
        assert_eq!(tail.poll().len(), 1);
        writeln!(f, "\"id\":\"b\"}}").unwrap();
        assert_eq!(tail.poll(), vec![ProgressEvent::Start { id: "b".into() }]);
    }

    #[test]
    fn line_tail_keeps_the_unfinished_line_apart() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut tail = LineTail::new(&path);
        assert!(tail.poll().is_empty());
        let mut f = std::fs::File::create(&path).unwrap();
        write!(f, "running 2 tests\ntest a ... ok\ntest b ... ").unwrap();
        assert_eq!(tail.poll(), ["running 2 tests", "test a ... ok"]);
        assert_eq!(tail.partial(), "test b ... ");
        writeln!(f, "FAILED").unwrap();
        assert_eq!(tail.poll(), ["test b ... FAILED"]);
        assert_eq!(tail.partial(), "");
    }

    #[test]
    fn result_events_map_to_attempt_outcomes() {
        let result = |when: &str, outcome: &str| ProgressEvent::Result {
            id: "a".into(),
            when: when.into(),
            outcome: outcome.into(),
            duration: 0.0,
            message: None,
        };
        assert_eq!(
            result("call", "failed").attempt_outcome(),
            Some(AttemptOutcome::Failed)
        );
        assert_eq!(
            result("setup", "failed").attempt_outcome(),
            Some(AttemptOutcome::Error)
        );
        assert_eq!(
            result("call", "passed").attempt_outcome(),
            Some(AttemptOutcome::Passed)
        );
        assert_eq!(
            ProgressEvent::Start { id: "a".into() }.attempt_outcome(),
            None
        );
    }
}
