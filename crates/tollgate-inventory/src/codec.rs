//! A compact binary encoding of [`Inventory`] for the discovery cache.
//!
//! Why not serde with bincode or postcard: [`MarkValue`] is
//! `#[serde(untagged)]` (its JSON form is the value itself), and untagged
//! enums need a self-describing format. JSON is self-describing but costs
//! several times more to decode than this, and the warm `collect` path
//! decodes every cached test of the tree. So the few types of the model are
//! written by hand: integers as LEB128 varints, strings as length + UTF-8
//! bytes, enums as one tag byte. Decoding never panics: a truncated or
//! malformed buffer is a [`DecodeError`], and the cache treats it as a miss.
//!
//! The encoding has no version of its own: whoever stores it keys the entry
//! on the tollgate build that wrote it.

use std::collections::BTreeMap;

use crate::{
    Diagnostic, Inventory, Language, MarkOrigin, MarkSource, MarkValue, Marker, RustFacts,
    Severity, TestItem,
};

/// A buffer that is not a valid encoding (truncated, corrupt, or from
/// another build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid encoded inventory: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Appends values to a byte buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u64(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
}

/// Reads values back from a byte buffer.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.buf.split_first().ok_or(DecodeError("truncated"))?;
            self.buf = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint too long"))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.u64()?).map_err(|_| DecodeError("u32 out of range"))
    }

    pub fn len(&mut self) -> Result<usize, DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| DecodeError("length out of range"))?;
        // Every element takes at least one byte: a length beyond what is
        // left is corrupt (and must not make us allocate it).
        if n > self.buf.len() {
            return Err(DecodeError("length beyond the end"));
        }
        Ok(n)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&byte, rest) = self.buf.split_first().ok_or(DecodeError("truncated"))?;
        self.buf = rest;
        Ok(byte)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.len()?;
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub fn str(&mut self) -> Result<String, DecodeError> {
        std::str::from_utf8(self.bytes()?)
            .map(str::to_owned)
            .map_err(|_| DecodeError("string is not UTF-8"))
    }

    pub fn opt_str(&mut self) -> Result<Option<String>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(DecodeError("bad option tag")),
        }
    }
}

/// Appends `inventory` to `w`.
pub fn encode_inventory(w: &mut Writer, inventory: &Inventory) {
    w.u64(inventory.tests.len() as u64);
    for t in &inventory.tests {
        encode_test(w, t);
    }
    w.u64(inventory.diagnostics.len() as u64);
    for d in &inventory.diagnostics {
        w.u8(severity_tag(d.severity));
        w.str(&d.code);
        w.str(&d.file);
        w.u64(d.line.into());
        w.u64(d.column.into());
        w.str(&d.message);
    }
}

/// Reads an inventory written by [`encode_inventory`].
pub fn decode_inventory(r: &mut Reader<'_>) -> Result<Inventory, DecodeError> {
    let n = r.len()?;
    let mut tests = Vec::with_capacity(n);
    for _ in 0..n {
        tests.push(decode_test(r)?);
    }
    let n = r.len()?;
    let mut diagnostics = Vec::with_capacity(n);
    for _ in 0..n {
        diagnostics.push(Diagnostic {
            severity: severity_from(r.u8()?)?,
            code: r.str()?,
            file: r.str()?,
            line: r.u32()?,
            column: r.u32()?,
            message: r.str()?,
        });
    }
    Ok(Inventory { tests, diagnostics })
}

fn encode_test(w: &mut Writer, t: &TestItem) {
    w.str(&t.id);
    w.u8(match t.language {
        Language::Python => 0,
        Language::Rust => 1,
    });
    w.str(&t.file);
    w.u64(t.line.into());
    w.str(&t.function);
    w.u64(t.markers.len() as u64);
    for m in &t.markers {
        w.str(&m.name);
        w.u64(m.args.len() as u64);
        for a in &m.args {
            encode_value(w, a);
        }
        w.u64(m.kwargs.len() as u64);
        for (k, v) in &m.kwargs {
            w.str(k);
            encode_value(w, v);
        }
        // Nearly every mark is written in the test's own file: one byte
        // then, not the path again (half the bytes of a cache entry).
        if m.origin.file == t.file {
            w.u8(0);
        } else {
            w.u8(1);
            w.str(&m.origin.file);
        }
        w.u64(m.origin.line.into());
        w.u8(source_tag(m.origin.source));
        w.opt_str(m.origin.learned.as_deref());
    }
    w.opt_str(t.dynamic.as_deref());
    match &t.rust {
        None => w.u8(0),
        Some(r) => {
            w.u8(1);
            for s in [&r.package, &r.target_kind, &r.target_name, &r.binary_id] {
                w.str(s);
            }
            w.u64(r.required_features.len() as u64);
            r.required_features.iter().for_each(|f| w.str(f));
            w.str(&r.test_attribute);
            w.opt_str(r.ignored.as_deref());
            match r.ignore_line {
                None => w.u8(0),
                Some(l) => {
                    w.u8(1);
                    w.u64(l.into());
                }
            }
            w.u8(u8::from(r.should_panic));
            w.u64(r.default_enabled.len() as u64);
            r.default_enabled.iter().for_each(|f| w.str(f));
            w.str(&r.workspace);
        }
    }
}

fn decode_test(r: &mut Reader<'_>) -> Result<TestItem, DecodeError> {
    let id = r.str()?;
    let language = match r.u8()? {
        0 => Language::Python,
        1 => Language::Rust,
        _ => return Err(DecodeError("bad language")),
    };
    let file = r.str()?;
    let line = r.u32()?;
    let function = r.str()?;
    let n = r.len()?;
    let mut markers = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?;
        let nargs = r.len()?;
        let mut args = Vec::with_capacity(nargs);
        for _ in 0..nargs {
            args.push(decode_value(r, 0)?);
        }
        let nkw = r.len()?;
        let mut kwargs = BTreeMap::new();
        for _ in 0..nkw {
            let k = r.str()?;
            kwargs.insert(k, decode_value(r, 0)?);
        }
        let origin = MarkOrigin {
            file: match r.u8()? {
                0 => file.clone(),
                1 => r.str()?,
                _ => return Err(DecodeError("bad origin tag")),
            },
            line: r.u32()?,
            source: source_from(r.u8()?)?,
            learned: r.opt_str()?,
        };
        markers.push(Marker {
            name,
            args,
            kwargs,
            origin,
        });
    }
    let dynamic = r.opt_str()?;
    let rust = match r.u8()? {
        0 => None,
        1 => {
            let (package, target_kind, target_name, binary_id) =
                (r.str()?, r.str()?, r.str()?, r.str()?);
            let n = r.len()?;
            let required_features = (0..n).map(|_| r.str()).collect::<Result<_, _>>()?;
            let test_attribute = r.str()?;
            let ignored = r.opt_str()?;
            let ignore_line = match r.u8()? {
                0 => None,
                1 => Some(r.u32()?),
                _ => return Err(DecodeError("bad option tag")),
            };
            let should_panic = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(DecodeError("bad bool")),
            };
            let n = r.len()?;
            let default_enabled = (0..n).map(|_| r.str()).collect::<Result<_, _>>()?;
            Some(RustFacts {
                package,
                target_kind,
                target_name,
                binary_id,
                required_features,
                test_attribute,
                ignored,
                ignore_line,
                should_panic,
                default_enabled,
                workspace: r.str()?,
            })
        }
        _ => return Err(DecodeError("bad option tag")),
    };
    Ok(TestItem {
        id,
        language,
        file,
        line,
        function,
        markers,
        dynamic,
        rust,
    })
}

/// Nesting deeper than this is corrupt input, not a mark argument anyone wrote.
const MAX_VALUE_DEPTH: u32 = 256;

fn encode_value(w: &mut Writer, v: &MarkValue) {
    match v {
        MarkValue::Str(s) => {
            w.u8(0);
            w.str(s);
        }
        MarkValue::Int(i) => {
            w.u8(1);
            // Zig-zag, so small negative numbers stay short.
            w.u64(((i << 1) ^ (i >> 63)) as u64);
        }
        MarkValue::Float(f) => {
            w.u8(2);
            w.buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        MarkValue::Bool(b) => w.u8(if *b { 4 } else { 3 }),
        MarkValue::None => w.u8(5),
        MarkValue::List(items) => {
            w.u8(6);
            w.u64(items.len() as u64);
            items.iter().for_each(|i| encode_value(w, i));
        }
        MarkValue::Expr { expr } => {
            w.u8(7);
            w.str(expr);
        }
    }
}

fn decode_value(r: &mut Reader<'_>, depth: u32) -> Result<MarkValue, DecodeError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(DecodeError("values nest too deep"));
    }
    Ok(match r.u8()? {
        0 => MarkValue::Str(r.str()?),
        1 => {
            let z = r.u64()?;
            MarkValue::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
        }
        2 => {
            let mut bits = [0u8; 8];
            for b in &mut bits {
                *b = r.u8()?;
            }
            MarkValue::Float(f64::from_bits(u64::from_le_bytes(bits)))
        }
        3 => MarkValue::Bool(false),
        4 => MarkValue::Bool(true),
        5 => MarkValue::None,
        6 => {
            let n = r.len()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(decode_value(r, depth + 1)?);
            }
            MarkValue::List(items)
        }
        7 => MarkValue::Expr { expr: r.str()? },
        _ => return Err(DecodeError("bad value tag")),
    })
}

fn severity_tag(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
    }
}

fn severity_from(tag: u8) -> Result<Severity, DecodeError> {
    Ok(match tag {
        0 => Severity::Info,
        1 => Severity::Warning,
        2 => Severity::Error,
        _ => return Err(DecodeError("bad severity")),
    })
}

const SOURCES: [MarkSource; 10] = [
    MarkSource::FunctionDecorator,
    MarkSource::ClassDecorator,
    MarkSource::InheritedClass,
    MarkSource::ModulePytestmark,
    MarkSource::ClassPytestmark,
    MarkSource::Param,
    MarkSource::RustAttribute,
    MarkSource::Annotation,
    MarkSource::ConfigRule,
    MarkSource::Learned,
];

fn source_tag(s: MarkSource) -> u8 {
    SOURCES
        .iter()
        .position(|x| *x == s)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

fn source_from(tag: u8) -> Result<MarkSource, DecodeError> {
    SOURCES
        .get(usize::from(tag))
        .copied()
        .ok_or(DecodeError("bad mark source"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Inventory {
        let origin = |source| MarkOrigin {
            file: "tests/test_a.py".into(),
            line: 7,
            source,
            learned: None,
        };
        let mut m = Marker::new("gpus", origin(MarkSource::FunctionDecorator));
        m.args = vec![
            MarkValue::Int(-3),
            MarkValue::Int(i64::MIN),
            MarkValue::Float(1.5),
            MarkValue::List(vec![MarkValue::Bool(true), MarkValue::None]),
            MarkValue::Expr { expr: "f()".into() },
        ];
        m.kwargs.insert("n".into(), MarkValue::Str("é".into()));
        let mut learned = Marker::new("slow", origin(MarkSource::Learned));
        learned.origin.learned = Some("run-1".into());
        let py = TestItem {
            id: "tests/test_a.py::test_x[1]".into(),
            language: Language::Python,
            file: "tests/test_a.py".into(),
            line: 9,
            function: "tests/test_a.py::test_x".into(),
            markers: vec![m, learned],
            dynamic: Some("why".into()),
            rust: None,
        };
        let rs = TestItem {
            id: "pkg::t tests::a".into(),
            language: Language::Rust,
            file: "src/lib.rs".into(),
            line: u32::MAX,
            function: "tests::a".into(),
            markers: vec![Marker::new("unit", origin(MarkSource::ConfigRule))],
            dynamic: None,
            rust: Some(RustFacts {
                package: "pkg".into(),
                target_kind: "test".into(),
                target_name: "t".into(),
                binary_id: "pkg::t".into(),
                required_features: vec!["a".into()],
                test_attribute: "tokio::test".into(),
                ignored: Some(String::new()),
                ignore_line: Some(3),
                should_panic: true,
                default_enabled: vec!["a".into()],
                workspace: "sub".into(),
            }),
        };
        Inventory {
            tests: vec![py, rs],
            diagnostics: vec![Diagnostic {
                severity: Severity::Warning,
                code: "dynamic".into(),
                file: "tests/test_a.py".into(),
                line: 1,
                column: 2,
                message: "m".into(),
            }],
        }
    }

    #[test]
    fn round_trips() {
        let inv = sample();
        let mut w = Writer::default();
        encode_inventory(&mut w, &inv);
        let mut r = Reader::new(&w.buf);
        assert_eq!(decode_inventory(&mut r).unwrap(), inv);
        assert!(r.is_empty());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let mut w = Writer::default();
        encode_inventory(&mut w, &sample());
        for cut in 0..w.buf.len() {
            let mut r = Reader::new(&w.buf[..cut]);
            assert!(decode_inventory(&mut r).is_err(), "cut at {cut} decoded");
        }
    }
}
