//! A small, safe pull layer over `quick-xml` shared by the JUnit and
//! Cobertura readers.
//!
//! Safety rules live here once: a `DOCTYPE` is refused outright (so no entity
//! can ever be declared, let alone expanded — the "billion laughs" bomb is
//! impossible), only the five predefined entities and character references
//! are resolved, and a document that ends with elements still open is an
//! error (a truncated report must not look like a shorter, valid one).

use std::io::BufRead;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::error::{Error, ErrorKind};
use crate::input::io_error_kind;

/// An owned, simplified XML event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XmlEvent {
    /// `empty` is true for `<x/>`, which gets no matching [`XmlEvent::End`].
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        empty: bool,
    },
    End {
        name: String,
    },
    /// Character data with entities resolved (text, CDATA, references).
    Text(String),
    Eof,
}

pub(crate) struct XmlStream<R> {
    reader: Reader<R>,
    buf: Vec<u8>,
    open: Vec<String>,
    seen_root: bool,
    /// Byte offset where the last returned event began.
    event_start: u64,
}

impl<R: BufRead> XmlStream<R> {
    pub fn new(input: R) -> Self {
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        XmlStream {
            reader,
            buf: Vec::with_capacity(4096),
            open: Vec::new(),
            seen_root: false,
            event_start: 0,
        }
    }

    /// Byte offset where the last event began (for error positions).
    pub fn position(&self) -> u64 {
        self.event_start
    }

    /// Names of the open elements, outermost first.
    pub fn open_elements(&self) -> &[String] {
        &self.open
    }

    pub fn error(&self, kind: ErrorKind) -> Error {
        Error::at_byte(kind, self.event_start)
    }

    pub fn next(&mut self) -> Result<XmlEvent, Error> {
        loop {
            self.buf.clear();
            self.event_start = self.reader.buffer_position();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(quick_xml::Error::Io(io)) => {
                    let io = std::sync::Arc::try_unwrap(io).unwrap_or_else(|shared| {
                        std::io::Error::new(shared.kind(), shared.to_string())
                    });
                    return Err(Error::at_byte(
                        io_error_kind(io),
                        self.reader.error_position(),
                    ));
                }
                Err(e) => {
                    return Err(Error::at_byte(
                        ErrorKind::Xml(e.to_string()),
                        self.reader.error_position(),
                    ))
                }
            };
            let offset = self.event_start;
            let xml_err = |msg: String| Error::at_byte(ErrorKind::Xml(msg), offset);
            return Ok(match event {
                Event::DocType(_) => return Err(Error::at_byte(ErrorKind::DocType, offset)),
                Event::Start(start) => {
                    let (name, attrs) = owned_start(&start, offset)?;
                    self.seen_root = true;
                    self.open.push(name.clone());
                    XmlEvent::Start {
                        name,
                        attrs,
                        empty: false,
                    }
                }
                Event::Empty(start) => {
                    let (name, attrs) = owned_start(&start, offset)?;
                    self.seen_root = true;
                    XmlEvent::Start {
                        name,
                        attrs,
                        empty: true,
                    }
                }
                Event::End(end) => {
                    let name = String::from_utf8_lossy(end.name().as_ref()).into_owned();
                    self.open.pop();
                    XmlEvent::End { name }
                }
                Event::Text(text) => {
                    if self.open.is_empty() {
                        continue; // whitespace between prolog and root
                    }
                    XmlEvent::Text(
                        text.xml10_content()
                            .map_err(|e| xml_err(e.to_string()))?
                            .into_owned(),
                    )
                }
                Event::CData(data) => XmlEvent::Text(
                    data.xml10_content()
                        .map_err(|e| xml_err(e.to_string()))?
                        .into_owned(),
                ),
                Event::GeneralRef(reference) => {
                    if let Some(ch) = reference
                        .resolve_char_ref()
                        .map_err(|e| xml_err(e.to_string()))?
                    {
                        XmlEvent::Text(ch.to_string())
                    } else {
                        let name = reference.decode().map_err(|e| xml_err(e.to_string()))?;
                        match resolve_predefined_entity(&name) {
                            Some(text) => XmlEvent::Text(text.to_string()),
                            None => {
                                return Err(Error::at_byte(
                                    ErrorKind::UnknownEntity(name.into_owned()),
                                    offset,
                                ))
                            }
                        }
                    }
                }
                Event::Eof => {
                    if let Some(open) = self.open.last() {
                        return Err(Error::at_byte(
                            ErrorKind::Truncated { open: open.clone() },
                            self.reader.buffer_position(),
                        ));
                    }
                    if !self.seen_root {
                        return Err(Error::at_byte(
                            ErrorKind::Format(
                                "no XML root element: the file is empty or not XML".into(),
                            ),
                            offset,
                        ));
                    }
                    XmlEvent::Eof
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
            });
        }
    }

    /// Reads the text content of the element just opened, up to its end tag,
    /// keeping at most `max` bytes (nested elements' text is included).
    pub fn text_until_end(&mut self, max: usize) -> Result<String, Error> {
        let depth = self.open.len();
        let mut text = String::new();
        let mut dropped = 0usize;
        loop {
            match self.next()? {
                XmlEvent::Text(chunk) => {
                    let room = max.saturating_sub(text.len());
                    if chunk.len() <= room {
                        text.push_str(&chunk);
                    } else {
                        let mut cut = room;
                        while !chunk.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        text.push_str(&chunk[..cut]);
                        dropped += chunk.len() - cut;
                    }
                }
                XmlEvent::End { .. } if self.open.len() < depth => break,
                XmlEvent::Eof => break, // unreachable: Eof with open elements is an error
                XmlEvent::Start { .. } | XmlEvent::End { .. } => {}
            }
        }
        if dropped > 0 {
            text.push_str(&format!(
                "\n[... {dropped} more bytes truncated by tollgate]"
            ));
        }
        Ok(text)
    }

    /// Skips the element just opened (non-empty), including its children.
    pub fn skip_element(&mut self) -> Result<(), Error> {
        let depth = self.open.len();
        loop {
            match self.next()? {
                XmlEvent::End { .. } if self.open.len() < depth => return Ok(()),
                XmlEvent::Eof => return Ok(()),
                _ => {}
            }
        }
    }
}

fn owned_start(
    start: &BytesStart<'_>,
    offset: u64,
) -> Result<(String, Vec<(String, String)>), Error> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| Error::at_byte(ErrorKind::Xml(e.to_string()), offset))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value =
            attr.normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| match e {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => Error::at_byte(ErrorKind::UnknownEntity(name), offset),
                    other => {
                        Error::at_byte(ErrorKind::Xml(format!("attribute {key}: {other}")), offset)
                    }
                })?
                .into_owned();
        attrs.push((key, value));
    }
    Ok((name, attrs))
}

/// The value of attribute `key`, if present.
pub(crate) fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(xml: &str) -> Result<Vec<XmlEvent>, Error> {
        let mut stream = XmlStream::new(xml.as_bytes());
        let mut out = Vec::new();
        loop {
            let e = stream.next()?;
            if e == XmlEvent::Eof {
                return Ok(out);
            }
            out.push(e);
        }
    }

    #[test]
    fn resolves_predefined_and_char_refs_only() {
        let ev = events(r#"<a x="1 &lt; 2 &#x41;">t &amp; &#66;</a>"#).unwrap();
        assert_eq!(
            ev[0],
            XmlEvent::Start {
                name: "a".into(),
                attrs: vec![("x".into(), "1 < 2 A".into())],
                empty: false
            }
        );
        let text: String = ev
            .iter()
            .filter_map(|e| match e {
                XmlEvent::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "t & B");
    }

    #[test]
    fn refuses_doctype_and_unknown_entities() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>"#;
        let err = events(bomb).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::DocType), "{err}");
        let err = events("<a>&lol;</a>").unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::UnknownEntity(ref n) if n == "lol"),
            "{err}"
        );
        let err = events(r#"<a x="&lol;"/>"#).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::UnknownEntity(_)), "{err}");
    }

    #[test]
    fn truncation_and_mismatch_are_errors() {
        let err = events("<a><b>text").unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::Truncated { ref open } if open == "b"),
            "{err}"
        );
        let err = events("<a></b>").unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Xml(_)), "{err}");
        let err = events("").unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Format(_)), "{err}");
        let err = events("<a x=1/>").unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Xml(_)), "{err}");
    }
}
