//! The merged JUnit report of a run (`--junit FILE`).
//!
//! One `<testsuite>` per job, one `<testcase>` per selected test. Retries use
//! the convention nextest and Maven surefire share: earlier failed attempts
//! of a test that passed in the end are `<flakyFailure>`, earlier attempts of
//! one that kept failing are `<rerunFailure>`. A quarantined failure is
//! written as `<skipped>` with the quarantine reason, its attempts as
//! `<rerunFailure>`, so CI dashboards do not count it as a failure.
//!
//! Written with `quick-xml` (already a dependency through the results crate)
//! rather than `quick-junit`, whose report model has no place for per-attempt
//! outcomes of quarantined tests and which would add chrono/uuid to the build.

use std::io;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use crate::outcome::{Attempt, AttemptOutcome, FinalOutcome};
use crate::report::{JobStatus, RunReport, TestReport};

/// `path::Class::test[p]` → (`path::Class`, `test[p]`); `bin name` → (`bin`, `name`).
pub fn split_case(id: &str) -> (&str, &str) {
    let head = &id[..id.find('[').unwrap_or(id.len())];
    if let Some(space) = head.find(' ') {
        return (&id[..space], &id[space + 1..]);
    }
    match head.rfind("::") {
        Some(at) => (&id[..at], &id[at + 2..]),
        None => ("", id),
    }
}

/// Removes characters XML 1.0 cannot carry (ANSI escapes' ESC, NUL, ...).
fn xml_safe(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

pub fn write_junit(report: &RunReport) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let (mut tests, mut failures, mut skipped) = (0usize, 0usize, 0usize);
    for j in &report.jobs {
        tests += j.tests.len();
        failures += j.counts.failed;
        skipped += j.counts.skipped + j.counts.quarantined;
    }
    let name = format!("tollgate-{}", report.pipeline);
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", name.as_str()));
    root.push_attribute(("tests", tests.to_string().as_str()));
    root.push_attribute(("failures", failures.to_string().as_str()));
    root.push_attribute(("errors", "0"));
    root.push_attribute(("skipped", skipped.to_string().as_str()));
    root.push_attribute(("time", format!("{:.3}", report.wall_secs).as_str()));
    w.write_event(Event::Start(root))?;
    for job in &report.jobs {
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", job.name.as_str()));
        suite.push_attribute(("tests", job.tests.len().to_string().as_str()));
        suite.push_attribute(("failures", job.counts.failed.to_string().as_str()));
        suite.push_attribute(("errors", "0"));
        suite.push_attribute((
            "skipped",
            (job.counts.skipped + job.counts.quarantined)
                .to_string()
                .as_str(),
        ));
        suite.push_attribute(("time", format!("{:.3}", job.resources.wall_secs).as_str()));
        w.write_event(Event::Start(suite))?;
        if job.status != JobStatus::Passed || job.reason.is_some() {
            w.write_event(Event::Start(BytesStart::new("properties")))?;
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", "tollgate.job_status"));
            p.push_attribute(("value", job_status_name(job.status)));
            w.write_event(Event::Empty(p))?;
            if let Some(reason) = &job.reason {
                let mut p = BytesStart::new("property");
                p.push_attribute(("name", "tollgate.reason"));
                p.push_attribute(("value", xml_safe(reason).as_str()));
                w.write_event(Event::Empty(p))?;
            }
            w.write_event(Event::End(BytesEnd::new("properties")))?;
        }
        for t in &job.tests {
            write_case(&mut w, t)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn write_case(w: &mut Writer<Vec<u8>>, t: &TestReport) -> io::Result<()> {
    let (classname, name) = split_case(&t.id);
    let time: f64 = t.attempts.iter().map(|a| a.duration).sum();
    let mut case = BytesStart::new("testcase");
    case.push_attribute(("name", name));
    case.push_attribute(("classname", classname));
    case.push_attribute(("time", format!("{time:.3}").as_str()));
    let Some((last, earlier)) = t.attempts.split_last() else {
        // Never reported: a failure with no attempt.
        w.write_event(Event::Start(case))?;
        element(
            w,
            "failure",
            Some("the test was not run or not reported"),
            None,
        )?;
        return w.write_event(Event::End(BytesEnd::new("testcase")));
    };
    w.write_event(Event::Start(case))?;
    match t.outcome {
        FinalOutcome::Passed => {}
        FinalOutcome::Skipped => element(w, "skipped", last.message.as_deref(), None)?,
        FinalOutcome::Flaky => {
            for a in earlier {
                attempt_element(w, "flakyFailure", a)?;
            }
        }
        FinalOutcome::Failed | FinalOutcome::TimedOut => {
            attempt_element(w, "failure", last)?;
            for a in earlier {
                attempt_element(w, "rerunFailure", a)?;
            }
        }
        FinalOutcome::NotRun => {
            element(w, "skipped", Some("not run: the test build failed"), None)?
        }
        FinalOutcome::Quarantined => {
            let reason = format!(
                "quarantined: {}",
                t.quarantine_reason.as_deref().unwrap_or("")
            );
            element(w, "skipped", Some(&reason), None)?;
            for a in t.attempts.iter().filter(|a| a.outcome.is_failure()) {
                attempt_element(w, "rerunFailure", a)?;
            }
        }
    }
    if let Some(out) = &last.output {
        element(w, "system-out", None, Some(out))?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

fn job_status_name(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Passed => "passed",
        JobStatus::Failed => "failed",
        JobStatus::PassedWithFlakes => "passed_with_flakes",
        JobStatus::Skipped => "skipped",
        JobStatus::NotRunnable => "not_runnable",
        JobStatus::InfrastructureError => "infrastructure_error",
        JobStatus::Incomplete => "incomplete",
        JobStatus::Cancelled => "cancelled",
    }
}

/// The `message` attribute: what went wrong in one line (the assertion, the
/// panic message), as CI dashboards show it.
fn attempt_element(w: &mut Writer<Vec<u8>>, tag: &str, a: &Attempt) -> io::Result<()> {
    let headline = a.message.as_deref().and_then(crate::failures::headline);
    let message = match (a.outcome, headline) {
        (AttemptOutcome::Timeout, Some(h)) => format!("timed out: {h}"),
        (AttemptOutcome::Timeout, None) => "timed out".to_string(),
        (_, Some(h)) => h,
        (o, None) => o.as_str().to_string(),
    };
    let body = match (&a.message, &a.output) {
        (Some(m), Some(o)) => Some(format!("{m}\n{o}")),
        (m, o) => m.clone().or_else(|| o.clone()),
    };
    element(w, tag, Some(&message), body.as_deref())
}

fn element(
    w: &mut Writer<Vec<u8>>,
    tag: &str,
    message: Option<&str>,
    body: Option<&str>,
) -> io::Result<()> {
    let mut start = BytesStart::new(tag);
    if let Some(m) = message {
        start.push_attribute(("message", xml_safe(m).as_str()));
    }
    match body {
        None => w.write_event(Event::Empty(start)),
        Some(text) => {
            w.write_event(Event::Start(start))?;
            w.write_event(Event::Text(BytesText::new(&xml_safe(text))))?;
            w.write_event(Event::End(BytesEnd::new(tag)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names() {
        assert_eq!(
            split_case("tests/t.py::TestA::test_b[x::y]"),
            ("tests/t.py::TestA", "test_b[x::y]")
        );
        assert_eq!(
            split_case("pkg::bin/x mod::test"),
            ("pkg::bin/x", "mod::test")
        );
        assert_eq!(split_case("plain"), ("", "plain"));
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(xml_safe("a\u{1b}[31mb\tc\0"), "a[31mb\tc");
    }
}
