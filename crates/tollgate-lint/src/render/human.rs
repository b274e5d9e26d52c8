//! ruff-style terminal output:
//!
//! ```text
//! tests/test_x.py:3:1: warning TG104 [*] `premerge` is an alias of `pre_merge`
//!   help: write `pre_merge`
//! ```

use std::fmt::Write;

use crate::finding::{Finding, Severity};
use crate::render::Counts;

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

pub fn human(findings: &[Finding], color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    for f in findings {
        let place = if f.line == 0 {
            f.file.clone()
        } else {
            format!("{}:{}:{}", f.file, f.line, f.column.max(1))
        };
        let (code_color, severity) = match f.severity {
            Severity::Error => (RED, "error"),
            Severity::Warning => (YELLOW, "warning"),
        };
        let fixable = if f.fixable { " [*]" } else { "" };
        let _ = writeln!(
            out,
            "{}: {}{fixable} {}",
            paint(BOLD, &place),
            paint(code_color, &format!("{severity} {}", f.code)),
            f.message
        );
        if let Some(help) = &f.help {
            let _ = writeln!(out, "  {} {help}", paint(CYAN, "help:"));
        }
    }
    let counts = Counts::of(findings);
    if findings.is_empty() {
        out.push_str("All checks passed!\n");
    } else {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = write!(
            out,
            "Found {} ({} {}, {} {})",
            plural(findings.len(), "problem"),
            counts.errors,
            if counts.errors == 1 {
                "error"
            } else {
                "errors"
            },
            counts.warnings,
            if counts.warnings == 1 {
                "warning"
            } else {
                "warnings"
            },
        );
        if counts.fixable > 0 {
            let _ = write!(out, "; {} fixable with `--fix`", counts.fixable);
        }
        out.push_str(".\n");
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
