//! Reading the watchdog plugin's progress file (JSON lines), incrementally.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
        let Ok(mut file) = File::open(&self.path) else {
            return Vec::new();
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_err() {
            return Vec::new();
        }
        self.offset += bytes.len() as u64;
        self.pending.push_str(&String::from_utf8_lossy(&bytes));
        let (events, consumed) = parse_lines(&self.pending);
        self.pending.drain(..consumed);
        events
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
}
