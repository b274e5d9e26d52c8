//! Hostile and broken input: a clear error naming the file and position,
//! never a panic, never a partial result.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tollgate_results::coverage::{parse_lcov, relativize, OutsidePolicy};
use tollgate_results::files::{bench_file, coverage_file, junit_file};
use tollgate_results::junit::{JunitOptions, JunitReader};
use tollgate_results::{ErrorKind, LimitedReader, Limits, Location};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

#[test]
fn entity_bombs_and_external_entities_are_refused_quickly() {
    for name in ["bad/entity-bomb.xml", "bad/external-entity.xml"] {
        let started = Instant::now();
        let err = junit_file(&fixture(name), &JunitOptions::default()).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::DocType), "{name}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(name) && text.contains(":2:1: DOCTYPE"),
            "{text}"
        );
        assert!(started.elapsed().as_millis() < 500);
        // Cobertura goes through the same XML layer.
        let err = coverage_file(
            &fixture(name),
            Some(tollgate_results::coverage::CoverageFormat::Cobertura),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err.kind, ErrorKind::DocType), "{err}");
    }
}

#[test]
fn truncated_xml_is_an_error_not_a_short_report() {
    // Cut between elements: every test case so far was complete.
    let err = junit_file(&fixture("bad/truncated.xml"), &JunitOptions::default()).unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Truncated { ref open } if open == "testsuite"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("truncated.xml:18:63: XML ends inside <testsuite>"),
        "{err}"
    );
    // Cut inside a tag.
    let err = junit_file(
        &fixture("bad/truncated-mid-tag.xml"),
        &JunitOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Xml(_)), "{err}");
    assert!(
        err.to_string().contains("not found before end of input"),
        "{err}"
    );
}

#[test]
fn malformed_xml_names_line_and_column() {
    let err = junit_file(&fixture("bad/malformed.xml"), &JunitOptions::default()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Xml(_)), "{err}");
    assert!(
        matches!(err.location, Some(Location::LineCol { line: 4, .. })),
        "{err}"
    );
}

#[test]
fn nan_duration_names_line_and_column() {
    let err = junit_file(&fixture("bad/nan-time.xml"), &JunitOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.ends_with("nan-time.xml:3:3: testcase time: not a number (got \"NaN\")"),
        "{text}"
    );
}

#[test]
fn negative_metric_names_line_and_column() {
    let err = bench_file(&fixture("bad/negative.csv"), None, &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("negative.csv:3:5: itl: negative (got \"-4\")"),
        "{err}"
    );
}

#[test]
fn coverage_outside_the_repo_is_an_error() {
    let report =
        coverage_file(&fixture("bad/outside-repo.json"), None, &Limits::default()).unwrap();
    let err = relativize(
        report.files,
        Path::new("/work/repo"),
        &[],
        OutsidePolicy::Error,
    )
    .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::OutsideRepo { .. }), "{err}");
}

#[test]
fn a_1gb_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.xml");
    // Sparse: the size is real, no disk is used.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let started = Instant::now();
    let err = junit_file(&path, &JunitOptions::default()).unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::TooLarge { size, .. } if size == 1 << 30),
        "{err}"
    );
    assert!(err.to_string().contains("over the limit"), "{err}");
    let err = coverage_file(
        &path,
        Some(tollgate_results::coverage::CoverageFormat::Lcov),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::TooLarge { .. }), "{err}");
    // Sniffing the format must not come first: the file is too large, not
    // of an unknown format.
    let err = coverage_file(&path, None, &Limits::default()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::TooLarge { .. }), "{err}");
    let err = bench_file(&path, None, &Limits::default()).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("huge.xml"), "{err}");
    assert!(started.elapsed().as_secs() < 2);
}

/// An endless JUnit stream: `<testsuite>` then test cases forever.
struct EndlessJunit {
    sent_header: bool,
    n: u64,
}

impl Read for EndlessJunit {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let chunk = if self.sent_header {
            self.n += 1;
            format!("<testcase classname=\"c\" name=\"t{}\" time=\"0.001\"><system-out>{}</system-out></testcase>\n", self.n, "o".repeat(2000))
        } else {
            self.sent_header = true;
            "<testsuite name=\"endless\">\n".to_string()
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk.as_bytes()[..n]);
        Ok(n)
    }
}

#[test]
fn streams_are_bounded_by_the_input_limit() {
    let limit = 8 * 1024 * 1024;
    let input = std::io::BufReader::new(LimitedReader::new(
        EndlessJunit {
            sent_header: false,
            n: 0,
        },
        limit,
    ));
    let mut reader = JunitReader::new(input, JunitOptions::default());
    let mut parsed = 0usize;
    let err = loop {
        match reader.next() {
            Some(Ok(_)) => parsed += 1,
            Some(Err(e)) => break e,
            None => panic!("an endless stream ended"),
        }
    };
    assert!(
        matches!(err.kind, ErrorKind::TooLarge { limit: l, .. } if l == limit),
        "{err}"
    );
    assert!(parsed > 1000, "results streamed before the limit: {parsed}");
    assert!(reader.next().is_none(), "the reader stops after an error");
}

#[test]
fn garbage_never_panics() {
    // Every prefix of real reports, and some noise, through every parser.
    let sources = [
        std::fs::read(fixture("pytest/xunit1.xml")).unwrap(),
        std::fs::read(fixture("nextest/junit-retries.xml")).unwrap(),
        std::fs::read(fixture("coveragepy/coverage.xml")).unwrap(),
        std::fs::read(fixture("coveragepy/coverage.lcov")).unwrap(),
        std::fs::read(fixture("llvm/export.json")).unwrap(),
        b"\x00\xff\xfe<<<&&&;;]]>".to_vec(),
    ];
    let limits = Limits::default();
    for source in &sources {
        for cut in (0..source.len()).step_by(97).chain([source.len()]) {
            let bytes = &source[..cut];
            let _ = tollgate_results::junit::parse_junit(bytes, &JunitOptions::default());
            let _ = parse_lcov(bytes);
            for format in [
                tollgate_results::coverage::CoverageFormat::Cobertura,
                tollgate_results::coverage::CoverageFormat::CoveragePyJson,
                tollgate_results::coverage::CoverageFormat::LlvmJson,
            ] {
                let _ = tollgate_results::coverage::parse_coverage(bytes, format, &limits);
            }
            let _ = tollgate_results::bench::parse_generic_csv(bytes, "x");
            let _ = tollgate_results::bench::parse_pytest_benchmark(bytes);
        }
    }
}
