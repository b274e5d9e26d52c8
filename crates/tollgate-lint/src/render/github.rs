//! GitHub Actions workflow commands: one annotation per finding,
//! `::error file=F,line=L,col=C,title=TG101::message`.

use std::fmt::Write;

use crate::finding::{Finding, Severity};

pub fn github(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut properties = format!("file={}", escape_property(&f.file));
        if f.line > 0 {
            let _ = write!(properties, ",line={}", f.line);
            if f.column > 0 {
                let _ = write!(properties, ",col={}", f.column);
            }
        }
        let _ = write!(properties, ",title={}", escape_property(f.code));
        let mut message = f.message.clone();
        if let Some(help) = &f.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(out, "::{command} {properties}::{}", escape_data(&message));
    }
    out
}

/// The escaping the Actions runner undoes for a command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values additionally escape `:` and `,`, which delimit them.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
