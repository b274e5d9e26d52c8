//! Configuration errors that point at a line and column.
//!
//! Both kinds of problem, syntax/type errors from the TOML deserializer and
//! semantic errors from validation, end up as a [`Problem`] with a byte span.
//! [`ConfigError`] implements [`miette::Diagnostic`] so a CLI can hand it to
//! any miette handler; [`ConfigError::render`] produces the plain
//! `tollgate.toml:LINE:COL: error: ...` form plus a source snippet.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use crate::spans::line_col;

/// One thing wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    /// Short text shown under the caret.
    pub label: String,
    pub help: Option<String>,
    /// Byte range in the source.
    pub span: Range<usize>,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

impl Problem {
    pub(crate) fn new(
        src: &str,
        span: Range<usize>,
        message: String,
        help: Option<String>,
    ) -> Self {
        let (line, column) = line_col(src, span.start);
        Problem {
            label: "here".to_string(),
            message,
            help,
            span,
            line,
            column,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            self.span.clone(),
        ))))
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is malformed or inconsistent. Holds every
    /// problem found (at least one), in file order.
    #[error("{}", .0.problems.first().map_or("invalid configuration", |p| p.message.as_str()))]
    Invalid(Box<InvalidConfig>),
}

#[derive(Debug)]
pub struct InvalidConfig {
    pub path: String,
    pub source: NamedSource<String>,
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub(crate) fn invalid(path: &str, src: &str, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| (p.span.start, p.message.clone()));
        problems.dedup();
        ConfigError::Invalid(Box::new(InvalidConfig {
            path: path.to_string(),
            source: NamedSource::new(path, src.to_string()),
            problems,
        }))
    }

    /// Every problem found; empty for I/O errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Io { .. } => &[],
            ConfigError::Invalid(inv) => &inv.problems,
        }
    }

    /// 1-based line of the first problem; `None` for I/O errors.
    pub fn line(&self) -> Option<usize> {
        self.problems().first().map(|p| p.line)
    }

    /// 1-based column of the first problem; `None` for I/O errors.
    pub fn column(&self) -> Option<usize> {
        self.problems().first().map(|p| p.column)
    }

    /// `path:LINE:COL: error: message`, a source snippet and the help, for
    /// every problem; no colours, so it is stable for logs and snapshots.
    pub fn render(&self) -> String {
        match self {
            ConfigError::Io { .. } => format!("error: {self}\n"),
            ConfigError::Invalid(inv) => {
                let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
                    .with_width(100)
                    .with_context_lines(1);
                let mut out = String::new();
                for problem in &inv.problems {
                    out.push_str(&format!(
                        "{}:{}:{}: error: {}\n",
                        inv.path, problem.line, problem.column, problem.message
                    ));
                    let single = SingleProblem {
                        problem,
                        source: &inv.source,
                    };
                    let mut snippet = String::new();
                    if handler.render_report(&mut snippet, &single).is_ok() {
                        out.push_str(&snippet);
                    }
                    out.push('\n');
                }
                out
            }
        }
    }
}

impl Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("tollgate::config"))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Invalid(inv) => Some(&inv.source),
        }
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problems().first().and_then(|p| p.help())
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.problems().first().and_then(|p| p.labels())
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        let rest = self.problems().get(1..)?;
        if rest.is_empty() {
            return None;
        }
        Some(Box::new(rest.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// One problem with the file's source attached, for rendering on its own.
struct SingleProblem<'a> {
    problem: &'a Problem,
    source: &'a NamedSource<String>,
}

impl fmt::Debug for SingleProblem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.problem, f)
    }
}

impl fmt::Display for SingleProblem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for SingleProblem<'_> {}

impl Diagnostic for SingleProblem<'_> {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.help()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.problem.labels()
    }
}

#[cfg(test)]
mod tests {
    use miette::Diagnostic;

    use crate::Config;

    const TWO_PROBLEMS: &str = "[taxonomy.categories.t]\nmarkers = { a = \"x\", z = \"y\" }\n\n[taxonomy.aliases]\nb = \"c\"\na = \"z\"\n";

    #[test]
    fn the_first_problem_is_primary_and_the_rest_are_related() {
        let err = Config::from_str(TWO_PROBLEMS, "tollgate.toml").unwrap_err();
        assert_eq!(err.problems().len(), 2);
        assert_eq!((err.line(), err.column()), (Some(5), Some(5)));
        assert_eq!(err.to_string(), "alias `b` points at unknown marker `c`");
        let labels: Vec<_> = err.labels().unwrap().collect();
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].offset(), TWO_PROBLEMS.find("\"c\"").unwrap());
        let related: Vec<String> = err.related().unwrap().map(|d| d.to_string()).collect();
        assert_eq!(related, ["alias `a` is also a marker"]);
        assert!(err.source_code().is_some());
    }

    #[test]
    fn a_miette_handler_renders_every_problem() {
        let err = Config::from_str(TWO_PROBLEMS, "tollgate.toml").unwrap_err();
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, &err)
            .unwrap();
        assert!(out.contains("[tollgate.toml:5:5]"), "{out}");
        assert!(out.contains("alias `a` is also a marker"), "{out}");
        let rendered = err.render();
        assert!(rendered.starts_with("tollgate.toml:5:5: error: alias `b`"));
        assert!(rendered.contains("\ntollgate.toml:6:1: error: alias `a` is also a marker\n"));
    }
}
