//! JUnit XML (pytest, cargo-nextest, generic), read as a stream.
//!
//! `quick-junit` — the crate nextest writes its reports with — has a reader,
//! but it is marked experimental, builds the whole report in memory, requires a
//! `<testsuites>` root (pytest < 5.1 and many tools write a bare `<testsuite>`)
//! and reports errors as element paths rather than positions. So reports are
//! read here directly with `quick-xml` (through [`crate::xml`], which refuses
//! DTDs): one test case at a time, captured output truncated as it is read.
//!
//! Retries: nextest (like Maven surefire) writes earlier failed attempts of a
//! test inside its `<testcase>` as `<flakyFailure>`/`<flakyError>` (the test
//! passed in the end) or `<rerunFailure>`/`<rerunError>` (it kept failing).
//! Each becomes its own [`TestResult`] with attempts numbered from 1, the final
//! outcome last. A test case whose id was already seen in the same report
//! continues that id's attempt count, so producers that repeat the case per
//! retry are understood too.

mod ids;

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;

pub use ids::{generic_id, nextest_id, pytest_node_id, IdStyle, PytestIds};

use crate::error::{parse_non_negative, Error, ErrorKind};
use crate::input::{bounded, Limits};
use crate::model::{Outcome, TestResult};
use crate::xml::{attr, XmlEvent, XmlStream};

/// How to read a JUnit report.
#[derive(Debug, Clone, Default)]
pub struct JunitOptions {
    pub limits: Limits,
    pub id_style: IdStyle,
    pub pytest: PytestIds,
}

/// Parses a whole report.
pub fn parse_junit<R: BufRead>(input: R, options: &JunitOptions) -> Result<Vec<TestResult>, Error> {
    JunitReader::new(input, options.clone()).collect()
}

/// Streams the test results of a JUnit report, one attempt at a time.
///
/// After the first `Err` the iterator is finished.
pub struct JunitReader<R> {
    xml: XmlStream<R>,
    options: JunitOptions,
    /// Style decided from the root element when `IdStyle::Auto`.
    root_style: Option<IdStyle>,
    /// Style of the `<testsuite>` being read.
    suite_style: Option<IdStyle>,
    attempts_seen: HashMap<String, u32>,
    pending: VecDeque<TestResult>,
    done: bool,
}

impl<R: BufRead> JunitReader<R> {
    pub fn new(input: R, options: JunitOptions) -> Self {
        JunitReader {
            xml: XmlStream::new(input),
            options,
            root_style: None,
            suite_style: None,
            attempts_seen: HashMap::new(),
            pending: VecDeque::new(),
            done: false,
        }
    }

    /// Reads until at least one result is pending or the document ends.
    fn advance(&mut self) -> Result<(), Error> {
        while self.pending.is_empty() {
            match self.xml.next()? {
                XmlEvent::Start { name, attrs, empty } => match name.as_str() {
                    "testsuites" if attr(&attrs, "name") == Some("nextest-run") => {
                        self.root_style = Some(IdStyle::Nextest);
                    }
                    "testsuites" => {}
                    "testsuite" => {
                        self.suite_style = match attr(&attrs, "name") {
                            Some("pytest") => Some(IdStyle::Pytest),
                            _ => None,
                        };
                        if self.xml.open_elements().len() == 1
                            && attr(&attrs, "name") == Some("pytest")
                        {
                            self.root_style = Some(IdStyle::Pytest);
                        }
                    }
                    "testcase" => {
                        let offset = self.xml.position();
                        let case = self.read_case(&attrs, empty)?;
                        self.emit(case, offset)?;
                    }
                    // Properties, suite-level output, unknown extensions.
                    _ if !empty => self.xml.skip_element()?,
                    _ => {}
                },
                XmlEvent::Eof => return Ok(()),
                XmlEvent::End { .. } | XmlEvent::Text(_) => {}
            }
        }
        Ok(())
    }

    fn read_case(&mut self, attrs: &[(String, String)], empty: bool) -> Result<RawCase, Error> {
        let max = self.options.limits.max_output_bytes;
        let duration = match attr(attrs, "time") {
            Some(text) => {
                parse_non_negative(text, "testcase time").map_err(|k| self.xml.error(k))?
            }
            None => 0.0,
        };
        let mut case = RawCase {
            classname: attr(attrs, "classname").unwrap_or_default().to_string(),
            name: attr(attrs, "name")
                .ok_or_else(|| {
                    self.xml.error(ErrorKind::Format(
                        "<testcase> without a name attribute".into(),
                    ))
                })?
                .to_string(),
            file: attr(attrs, "file").map(str::to_string),
            duration,
            outcome: Outcome::Passed,
            message: None,
            stdout: None,
            stderr: None,
            others: Vec::new(),
        };
        if empty {
            return Ok(case);
        }
        let depth = self.xml.open_elements().len();
        loop {
            match self.xml.next()? {
                XmlEvent::Start { name, attrs, empty } => {
                    if let Some(outcome) = status_outcome(&name) {
                        let message = self.status_message(&attrs, empty)?;
                        if outcome_rank(outcome) > outcome_rank(case.outcome) {
                            case.outcome = outcome;
                            case.message = message;
                        }
                    } else if let Some((outcome, is_rerun)) = other_attempt_kind(&name) {
                        let attempt = self.read_other_attempt(&attrs, empty, outcome, is_rerun)?;
                        case.others.push(attempt);
                    } else if name == "system-out" && !empty {
                        case.stdout = Some(self.xml.text_until_end(max)?);
                    } else if name == "system-err" && !empty {
                        case.stderr = Some(self.xml.text_until_end(max)?);
                    } else if !empty {
                        self.xml.skip_element()?;
                    }
                }
                XmlEvent::End { .. } if self.xml.open_elements().len() < depth => return Ok(case),
                XmlEvent::End { .. } | XmlEvent::Text(_) => {}
                XmlEvent::Eof => return Ok(case),
            }
        }
    }

    /// The `message` attribute and the element's text (a traceback), joined.
    fn status_message(
        &mut self,
        attrs: &[(String, String)],
        empty: bool,
    ) -> Result<Option<String>, Error> {
        let max = self.options.limits.max_output_bytes;
        let body = if empty {
            String::new()
        } else {
            self.xml.text_until_end(max)?
        };
        let head = attr(attrs, "message").unwrap_or_default();
        let text = match (head.trim().is_empty(), body.trim().is_empty()) {
            (true, true) => return Ok(None),
            (false, true) => head.to_string(),
            (true, false) => body,
            (false, false) => format!("{head}\n\n{body}"),
        };
        Ok(Some(bounded(text, max)))
    }

    fn read_other_attempt(
        &mut self,
        attrs: &[(String, String)],
        empty: bool,
        outcome: Outcome,
        is_rerun: bool,
    ) -> Result<Attempt, Error> {
        let max = self.options.limits.max_output_bytes;
        let duration = match attr(attrs, "time") {
            Some(text) => parse_non_negative(text, "retry time").map_err(|k| self.xml.error(k))?,
            None => 0.0,
        };
        let mut attempt = Attempt {
            is_rerun,
            outcome,
            duration,
            message: None,
            stdout: None,
            stderr: None,
        };
        // The element's own text and `<stackTrace>` (surefire) describe the failure.
        let mut body = String::new();
        if !empty {
            let depth = self.xml.open_elements().len();
            loop {
                match self.xml.next()? {
                    XmlEvent::Start { name, empty, .. } => match (name.as_str(), empty) {
                        ("system-out", false) => {
                            attempt.stdout = Some(self.xml.text_until_end(max)?)
                        }
                        ("system-err", false) => {
                            attempt.stderr = Some(self.xml.text_until_end(max)?)
                        }
                        ("stackTrace", false) => body.push_str(&self.xml.text_until_end(max)?),
                        (_, false) => self.xml.skip_element()?,
                        (_, true) => {}
                    },
                    XmlEvent::End { .. } if self.xml.open_elements().len() < depth => break,
                    XmlEvent::Text(text) if body.len() < max => body.push_str(&text),
                    XmlEvent::End { .. } | XmlEvent::Text(_) => {}
                    XmlEvent::Eof => break,
                }
            }
        }
        let head = attr(attrs, "message").unwrap_or_default();
        attempt.message = match (head.trim().is_empty(), body.trim().is_empty()) {
            (true, true) => None,
            (false, true) => Some(bounded(head.to_string(), max)),
            (true, false) => Some(bounded(body.trim().to_string(), max)),
            (false, false) => Some(bounded(format!("{head}\n\n{}", body.trim()), max)),
        };
        Ok(attempt)
    }

    fn style_for(&self, case: &RawCase) -> IdStyle {
        match self.options.id_style {
            IdStyle::Auto => self
                .suite_style
                .or(self.root_style)
                .or_else(|| {
                    case.file
                        .as_deref()
                        .is_some_and(|f| f.ends_with(".py"))
                        .then_some(IdStyle::Pytest)
                })
                .unwrap_or(IdStyle::Generic),
            explicit => explicit,
        }
    }

    fn emit(&mut self, case: RawCase, offset: u64) -> Result<(), Error> {
        let id = match self.style_for(&case) {
            IdStyle::Pytest => pytest_node_id(
                &case.classname,
                &case.name,
                case.file.as_deref(),
                &self.options.pytest,
            ),
            IdStyle::Nextest => nextest_id(&case.classname, &case.name),
            IdStyle::Generic | IdStyle::Auto => generic_id(&case.classname, &case.name),
        };
        // Surefire's convention, which nextest follows: with `rerun*` the
        // case's own result was the first attempt and the reruns came after;
        // with `flaky*` the failures came first and the case's result last.
        let main = Attempt {
            is_rerun: false,
            outcome: case.outcome,
            duration: case.duration,
            message: case.message,
            stdout: case.stdout,
            stderr: case.stderr,
        };
        let (reruns, flaky): (Vec<Attempt>, Vec<Attempt>) =
            case.others.into_iter().partition(|a| a.is_rerun);
        let ordered: Vec<Attempt> = flaky
            .into_iter()
            .chain(std::iter::once(main))
            .chain(reruns)
            .collect();
        let seen = self.attempts_seen.entry(id.clone()).or_insert(0);
        let first = *seen;
        *seen = u32::try_from(ordered.len())
            .ok()
            .and_then(|n| seen.checked_add(n))
            .ok_or_else(|| {
                Error::at_byte(
                    ErrorKind::Format(format!("too many attempts of test {id:?}")),
                    offset,
                )
            })?;
        for (i, attempt) in ordered.into_iter().enumerate() {
            self.pending.push_back(TestResult {
                id: id.clone(),
                classname: case.classname.clone(),
                name: case.name.clone(),
                outcome: attempt.outcome,
                duration: attempt.duration,
                message: attempt.message,
                stdout: attempt.stdout,
                stderr: attempt.stderr,
                attempt: first + 1 + i as u32,
            });
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for JunitReader<R> {
    type Item = Result<TestResult, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(result) = self.pending.pop_front() {
            return Some(Ok(result));
        }
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(()) => match self.pending.pop_front() {
                Some(result) => Some(Ok(result)),
                None => {
                    self.done = true;
                    None
                }
            },
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A `<testcase>` as read, before ids and attempts are assigned.
struct RawCase {
    classname: String,
    name: String,
    file: Option<String>,
    duration: f64,
    outcome: Outcome,
    message: Option<String>,
    stdout: Option<String>,
    stderr: Option<String>,
    /// Retries recorded inside the case (`flaky*`/`rerun*` elements).
    others: Vec<Attempt>,
}

/// Another, failed attempt of a retried test.
struct Attempt {
    /// `rerun*`: a retry after the case's main result (which was the first
    /// attempt); `flaky*`: a failure before the case's main, final, result.
    is_rerun: bool,
    outcome: Outcome,
    duration: f64,
    message: Option<String>,
    stdout: Option<String>,
    stderr: Option<String>,
}

fn status_outcome(element: &str) -> Option<Outcome> {
    match element {
        "failure" => Some(Outcome::Failed),
        "error" => Some(Outcome::Error),
        "skipped" => Some(Outcome::Skipped),
        _ => None,
    }
}

/// `(outcome, is_rerun)` of a retry element.
fn other_attempt_kind(element: &str) -> Option<(Outcome, bool)> {
    match element {
        "flakyFailure" => Some((Outcome::Failed, false)),
        "flakyError" => Some((Outcome::Error, false)),
        "rerunFailure" => Some((Outcome::Failed, true)),
        "rerunError" => Some((Outcome::Error, true)),
        _ => None,
    }
}

/// When a case has several status elements (pytest: a failed call *and* a
/// teardown error), the most telling one wins.
fn outcome_rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Passed => 0,
        Outcome::Skipped => 1,
        Outcome::Error => 2,
        Outcome::Failed => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<Vec<TestResult>, Error> {
        parse_junit(xml.as_bytes(), &JunitOptions::default())
    }

    #[test]
    fn bare_testsuite_root_and_generic_ids() {
        let results = parse(
            r#"<testsuite name="x"><testcase classname="a.B" name="c" time="0.5"/>
               <testcase name="d"><skipped message="later"/></testcase></testsuite>"#,
        )
        .unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].id, "a.B::c");
        assert_eq!(results[0].outcome, Outcome::Passed);
        assert_eq!(results[0].duration, 0.5);
        assert_eq!(results[1].id, "d");
        assert_eq!(results[1].outcome, Outcome::Skipped);
        assert_eq!(results[1].message.as_deref(), Some("later"));
    }

    #[test]
    fn failure_beats_teardown_error_and_keeps_traceback() {
        let results = parse(
            r#"<testsuites><testsuite name="pytest"><testcase classname="t.test_a" name="test_x" time="1">
               <failure message="assert 1 == 2">trace &lt;here&gt;</failure>
               <error message="teardown"/><system-out>hello</system-out></testcase></testsuite></testsuites>"#,
        )
        .unwrap();
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert_eq!(r.id, "t/test_a.py::test_x");
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.message.as_deref(), Some("assert 1 == 2\n\ntrace <here>"));
        assert_eq!(r.stdout.as_deref(), Some("hello"));
    }

    #[test]
    fn flaky_and_rerun_elements_become_attempts() {
        let results = parse(
            r#"<testsuites name="nextest-run"><testsuite name="crate::bin">
               <testcase classname="crate::bin" name="flaky" time="0.2">
                 <flakyFailure message="boom" type="test failure"><system-out>o1</system-out></flakyFailure>
                 <flakyFailure message="boom2"/>
               </testcase>
               <testcase classname="crate::bin" name="broken" time="0.3">
                 <failure message="still"/><rerunFailure message="again"/>
               </testcase></testsuite></testsuites>"#,
        )
        .unwrap();
        let summary: Vec<_> = results
            .iter()
            .map(|r| (r.id.as_str(), r.attempt, r.outcome))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("crate::bin flaky", 1, Outcome::Failed),
                ("crate::bin flaky", 2, Outcome::Failed),
                ("crate::bin flaky", 3, Outcome::Passed),
                ("crate::bin broken", 1, Outcome::Failed),
                ("crate::bin broken", 2, Outcome::Failed),
            ]
        );
        assert_eq!(results[0].stdout.as_deref(), Some("o1"));
        assert_eq!(results[1].message.as_deref(), Some("boom2"));
        // The case's own <failure> was the first attempt, the rerun the second.
        assert_eq!(results[3].message.as_deref(), Some("still"));
        assert_eq!(results[4].message.as_deref(), Some("again"));
    }

    #[test]
    fn repeated_cases_continue_the_attempt_count() {
        let results = parse(
            r#"<testsuite><testcase name="t"><failure/></testcase><testcase name="t"/></testsuite>"#,
        )
        .unwrap();
        assert_eq!(
            results.iter().map(|r| r.attempt).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn bad_times_name_the_position() {
        for time in ["NaN", "-0.1", "fast"] {
            let xml = format!("<testsuite>\n<testcase name=\"t\" time=\"{time}\"/></testsuite>");
            let err = parse(&xml).unwrap_err();
            assert!(
                matches!(err.kind, ErrorKind::InvalidNumber { .. }),
                "{time}: {err}"
            );
            assert_eq!(err.location, Some(crate::Location::Byte(12)), "{time}");
        }
    }

    #[test]
    fn output_is_bounded() {
        let big = "x".repeat(10_000);
        let xml = format!(
            "<testsuite><testcase name=\"t\"><system-out>{big}</system-out></testcase></testsuite>"
        );
        let options = JunitOptions {
            limits: Limits {
                max_output_bytes: 100,
                ..Limits::default()
            },
            ..JunitOptions::default()
        };
        let results = parse_junit(xml.as_bytes(), &options).unwrap();
        let out = results[0].stdout.as_deref().unwrap_or_default();
        assert!(out.starts_with(&"x".repeat(100)));
        assert!(out.contains("9900 more bytes truncated"), "{out}");
    }

    #[test]
    fn missing_name_is_an_error() {
        let err = parse("<testsuite><testcase classname=\"a\"/></testsuite>").unwrap_err();
        assert!(err.to_string().contains("without a name"), "{err}");
    }
}
