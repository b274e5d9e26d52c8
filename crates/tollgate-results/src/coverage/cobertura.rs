//! Cobertura XML (`coverage xml`, `cargo llvm-cov --cobertura`, gcovr).
//!
//! Line hits are read from each `<class>`'s own `<lines>`; the per-method
//! `<lines>` repeat the same lines and are skipped. Several classes may share
//! a file (Java inner classes; coverage.py writes one class per file) — their
//! lines are merged. `filename` is relative to one of the `<source>` roots,
//! which are returned so that [`super::relativize`] can resolve it.

use std::collections::BTreeMap;
use std::io::BufRead;

use crate::error::{Error, ErrorKind};
use crate::input::Limits;
use crate::model::FileCoverage;
use crate::xml::{attr, XmlEvent, XmlStream};

use super::CoverageReport;

pub fn parse_cobertura<R: BufRead>(input: R, limits: &Limits) -> Result<CoverageReport, Error> {
    let mut xml = XmlStream::new(input);
    let mut files: BTreeMap<String, Vec<(u32, u64)>> = BTreeMap::new();
    let mut sources = Vec::new();
    let mut current_file: Option<String> = None;
    let mut saw_root = false;
    loop {
        match xml.next()? {
            XmlEvent::Start { name, attrs, empty } => match name.as_str() {
                "coverage" => saw_root = true,
                _ if !saw_root => {
                    return Err(xml.error(ErrorKind::Format(format!(
                        "root element is <{name}>, expected Cobertura's <coverage>"
                    ))))
                }
                "source" if !empty => {
                    let root = xml.text_until_end(limits.max_output_bytes)?;
                    let root = root.trim();
                    if !root.is_empty() {
                        sources.push(root.to_string());
                    }
                }
                "class" => {
                    let filename = attr(&attrs, "filename").ok_or_else(|| {
                        xml.error(ErrorKind::Format(
                            "<class> without a filename attribute".into(),
                        ))
                    })?;
                    files.entry(filename.to_string()).or_default();
                    current_file = (!empty).then(|| filename.to_string());
                }
                "methods" if !empty => xml.skip_element()?,
                "line" => {
                    let Some(file) = &current_file else {
                        if !empty {
                            xml.skip_element()?;
                        }
                        continue;
                    };
                    let number = attr(&attrs, "number")
                        .and_then(|n| n.trim().parse::<u32>().ok())
                        .filter(|&n| n > 0)
                        .ok_or_else(|| {
                            xml.error(ErrorKind::InvalidNumber {
                                field: "line number".into(),
                                value: attr(&attrs, "number").unwrap_or_default().to_string(),
                                reason: "not a positive integer",
                            })
                        })?;
                    let hits_text = attr(&attrs, "hits").unwrap_or("0");
                    let hits = crate::error::parse_non_negative(hits_text, "line hits")
                        .map_err(|k| xml.error(k))?;
                    if let Some(lines) = files.get_mut(file) {
                        lines.push((number, hits as u64));
                    }
                    if !empty {
                        xml.skip_element()?;
                    }
                }
                _ => {}
            },
            XmlEvent::End { name } if name == "class" => current_file = None,
            XmlEvent::Eof => break,
            XmlEvent::End { .. } | XmlEvent::Text(_) => {}
        }
    }
    Ok(CoverageReport {
        files: files
            .into_iter()
            .map(|(path, hits)| FileCoverage::from_line_hits(path, hits))
            .collect(),
        source_roots: sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" ?>
<coverage version="7.6" line-rate="0.5">
  <sources><source>/repo/src</source></sources>
  <packages><package name="pkg"><classes>
    <class name="a.py" filename="pkg/a.py">
      <methods><method name="f"><lines><line number="1" hits="9"/></lines></method></methods>
      <lines><line number="1" hits="1"/><line number="2" hits="0"/><line number="3" hits="2" branch="true"/></lines>
    </class>
    <class name="a2" filename="pkg/a.py"><lines><line number="2" hits="1"/></lines></class>
  </classes></package></packages>
</coverage>"#;

    #[test]
    fn merges_classes_and_skips_method_lines() {
        let report = parse_cobertura(DOC.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(report.source_roots, vec!["/repo/src".to_string()]);
        assert_eq!(report.files.len(), 1);
        let file = &report.files[0];
        assert_eq!(file.path, "pkg/a.py");
        assert_eq!(file.covered_lines, vec![1, 2, 3]);
        assert_eq!(file.lines_total, 3);
    }

    #[test]
    fn bad_hits_and_wrong_root_are_errors() {
        let doc = DOC.replace(r#"hits="2""#, r#"hits="-2""#);
        let err = parse_cobertura(doc.as_bytes(), &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
        let err = parse_cobertura("<testsuite/>".as_bytes(), &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("expected Cobertura"), "{err}");
        let truncated = &DOC[..DOC.len() / 2];
        let err = parse_cobertura(truncated.as_bytes(), &Limits::default()).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::Truncated { .. } | ErrorKind::Xml(_)),
            "{err}"
        );
    }
}
