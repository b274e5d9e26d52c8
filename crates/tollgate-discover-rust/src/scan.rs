//! One Rust source file → the items that matter for test discovery.
//!
//! The scan is independent of features: `cfg` predicates are kept unevaluated
//! (see [`crate::cfg`]) so a file is parsed once, whatever the feature set.
//! Only three kinds of item matter: test functions, `mod` items (inline or
//! declared) and macro invocations that look like they generate tests.

use std::cell::Cell;
use std::collections::HashMap;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, FnArg, Item, Lit, Meta, Pat, Token};

use crate::annotation::{self, Annotation};
use crate::cfg::Cfg;
use crate::macros::{self, MacroDef};

/// A file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileScan {
    /// The file's inner attributes (`#![cfg(...)]`).
    pub inner_attrs: Vec<Attr>,
    pub items: Vec<ScanItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScanItem {
    Test(TestFn),
    Mod(ModItem),
    /// `some_macro! { ... }` at item level whose input mentions `test`: it may
    /// generate tests nobody can see without expanding it.
    TestMacro(MacroCall),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MacroCall {
    pub name: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModItem {
    /// The name as written (`r#try` keeps its `r#`, as the test harness
    /// prints it).
    pub name: String,
    /// The name module files are looked up by (`try` for `r#try`).
    pub file_stem: String,
    pub line: u32,
    pub column: u32,
    pub attrs: Vec<Attr>,
    /// `Some` for `mod x { ... }`, `None` for `mod x;`.
    pub inline: Option<InlineMod>,
    pub annotations: Vec<Annotation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InlineMod {
    pub inner_attrs: Vec<Attr>,
    pub items: Vec<ScanItem>,
}

/// A function carrying a test attribute (possibly only under some `cfg_attr`).
#[derive(Debug, Clone, PartialEq)]
pub struct TestFn {
    /// The name as written; raw identifiers keep `r#` (libtest prints them so).
    pub name: String,
    pub line: u32,
    pub column: u32,
    /// All attributes in source order (rstest's `#[case]` grouping depends on it).
    pub attrs: Vec<Attr>,
    /// rstest `#[values(...)]` lists, in argument order.
    pub value_lists: Vec<ValueList>,
    /// An argument attribute tollgate cannot expand (`#[files]`).
    pub unsupported_arg: Option<String>,
    pub annotations: Vec<Annotation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueList {
    pub arg: String,
    /// Each value's source text, as rstest describes it.
    pub descriptions: Vec<String>,
}

/// An outer or inner attribute, with the `cfg_attr` conditions it sits under.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// All must hold for the attribute to apply (nested `cfg_attr`s).
    pub conditions: Vec<Cfg>,
    pub kind: AttrKind,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrKind {
    Cfg(Cfg),
    /// `#[test]`, `#[tokio::test]`, `#[<crate>::test]`: the path as written.
    Test(String),
    /// `#[rstest]` / `#[rstest::rstest]`.
    Rstest,
    /// rstest `#[case(...)]` / `#[case::description(...)]`.
    Case {
        description: Option<String>,
    },
    /// `Some(reason)`; an empty reason for a bare `#[ignore]`.
    Ignore(String),
    ShouldPanic,
    Path(String),
    /// A test attribute from a crate whose naming tollgate does not model.
    UnsupportedTest(String),
    Other,
}

/// Parses `text` (the contents of `file`) into a [`FileScan`].
pub fn scan_source(text: &str) -> Result<FileScan, ParseError> {
    let file = syn::parse_file(text).map_err(|e| {
        let start = e.span().start();
        ParseError {
            line: start.line as u32,
            column: start.column as u32 + 1,
            message: e.to_string(),
        }
    })?;
    let notes = annotation::find_annotations(text);
    let ctx = ScanContext {
        notes: &notes,
        test_macros: local_test_macros(&file.items),
        depth: Cell::new(0),
    };
    Ok(FileScan {
        inner_attrs: convert_attrs(&file.attrs),
        items: ctx.scan_items(&file.items),
    })
}

struct ScanContext<'a> {
    notes: &'a annotation::SourceNotes,
    /// `macro_rules!` macros in this file whose body mentions `test`
    /// (invoking one may generate tests), with their rules when tollgate can
    /// expand them.
    test_macros: HashMap<String, Option<MacroDef>>,
    /// Nesting of macro expansions, bounded against runaway recursion.
    depth: Cell<u32>,
}

/// How deep macro expansions may nest (rustc's own limit is 128).
const MAX_EXPANSION_DEPTH: u32 = 16;

impl ScanContext<'_> {
    fn scan_items(&self, items: &[Item]) -> Vec<ScanItem> {
        let mut out = Vec::new();
        for item in items {
            match item {
                Item::Fn(f) => {
                    let attrs = convert_attrs(&f.attrs);
                    let is_test = attrs.iter().any(|a| {
                        matches!(
                            a.kind,
                            AttrKind::Test(_) | AttrKind::Rstest | AttrKind::UnsupportedTest(_)
                        )
                    });
                    if !is_test {
                        continue;
                    }
                    let (line, column) = position(f.sig.ident.span());
                    let first = first_line(&f.attrs, line);
                    let (value_lists, unsupported_arg) = value_lists(&f.sig.inputs);
                    out.push(ScanItem::Test(TestFn {
                        name: f.sig.ident.to_string(),
                        line,
                        column,
                        attrs,
                        value_lists,
                        unsupported_arg,
                        annotations: self.notes.for_item(first, line),
                    }));
                }
                Item::Mod(m) => {
                    let (line, column) = position(m.ident.span());
                    let first = first_line(&m.attrs, position(m.mod_token.span).0);
                    let (outer, inner): (Vec<&Attribute>, Vec<&Attribute>) = m
                        .attrs
                        .iter()
                        .partition(|a| matches!(a.style, syn::AttrStyle::Outer));
                    let outer: Vec<Attribute> = outer.into_iter().cloned().collect();
                    let inner: Vec<Attribute> = inner.into_iter().cloned().collect();
                    out.push(ScanItem::Mod(ModItem {
                        name: m.ident.to_string(),
                        file_stem: m.ident.unraw().to_string(),
                        line,
                        column,
                        attrs: convert_attrs(&outer),
                        inline: m.content.as_ref().map(|(_, items)| InlineMod {
                            inner_attrs: convert_attrs(&inner),
                            items: self.scan_items(items),
                        }),
                        annotations: self.notes.for_item(first, line),
                    }));
                }
                Item::Macro(m) => {
                    let name = path_text(&m.mac.path);
                    if name == "macro_rules" {
                        continue;
                    }
                    if name == "proptest" || name == "proptest::proptest" {
                        out.extend(
                            proptest_functions(&m.mac.tokens)
                                .into_iter()
                                .map(|t| ScanItem::Test(self.with_notes(t))),
                        );
                        continue;
                    }
                    if let Some(items) = self.expand_local(&name, &m.mac.tokens) {
                        out.extend(items);
                        continue;
                    }
                    if mentions_test(&m.mac.tokens) || self.test_macros.contains_key(&name) {
                        let (line, column) = position(m.mac.path.span_start());
                        out.push(ScanItem::TestMacro(MacroCall { name, line, column }));
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// `macro_rules! name { .. }` definitions (at any module depth) whose body
/// mentions `test`.
fn local_test_macros(items: &[Item]) -> HashMap<String, Option<MacroDef>> {
    let mut out = HashMap::new();
    for item in items {
        match item {
            Item::Macro(m) if m.mac.path.is_ident("macro_rules") => {
                if let Some(ident) = &m.ident {
                    if mentions_test(&m.mac.tokens) {
                        out.insert(
                            ident.unraw().to_string(),
                            macros::parse_macro_rules(&m.mac.tokens),
                        );
                    }
                }
            }
            Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    out.extend(local_test_macros(items));
                }
            }
            _ => {}
        }
    }
    out
}

impl ScanContext<'_> {
    /// Expands an invocation of a local test-generating `macro_rules!` and
    /// scans the items it produces; `None` when it cannot be expanded.
    fn expand_local(&self, name: &str, tokens: &TokenStream) -> Option<Vec<ScanItem>> {
        let def = self.test_macros.get(name)?.as_ref()?;
        if self.depth.get() >= MAX_EXPANSION_DEPTH {
            return None;
        }
        let expanded = macros::expand(def, tokens)?;
        let file = syn::parse2::<syn::File>(expanded).ok()?;
        self.depth.set(self.depth.get() + 1);
        let items = self.scan_items(&file.items);
        self.depth.set(self.depth.get() - 1);
        Some(items)
    }

    fn with_notes(&self, mut t: TestFn) -> TestFn {
        let first = t.attrs.iter().map(|a| a.line).min().unwrap_or(t.line);
        t.annotations = self.notes.for_item(first, t.line);
        t
    }
}

/// The test functions of a `proptest! { .. }` block: each
/// `#[attrs] fn name(args in strategies) { .. }` at the top level becomes a
/// function `name` carrying the attributes written on it (`#[test]` must be
/// written explicitly inside `proptest!`, so it is seen like anywhere else).
fn proptest_functions(tokens: &TokenStream) -> Vec<TestFn> {
    let mut out = Vec::new();
    let mut attrs: Vec<Attr> = Vec::new();
    let mut iter = tokens.clone().into_iter().peekable();
    while let Some(tt) = iter.next() {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                let (line, column) = position(p.span());
                if let Some(TokenTree::Group(group)) = iter.peek() {
                    if let Ok(meta) = syn::parse2::<Meta>(group.stream()) {
                        convert_meta(&meta, &[], line, column, &mut attrs);
                    }
                    iter.next();
                }
            }
            TokenTree::Ident(ident) if ident == "fn" => {
                if let Some(TokenTree::Ident(name)) = iter.next() {
                    let (line, column) = position(name.span());
                    let taken = std::mem::take(&mut attrs);
                    let is_test = taken.iter().any(|a| matches!(a.kind, AttrKind::Test(_)));
                    if is_test {
                        out.push(TestFn {
                            name: name.to_string(),
                            line,
                            column,
                            attrs: taken,
                            value_lists: Vec::new(),
                            unsupported_arg: None,
                            annotations: Vec::new(),
                        });
                    }
                }
            }
            // The body ends a function; anything else between functions
            // (visibility, `async`) is not an attribute of the next one.
            TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => attrs.clear(),
            _ => {}
        }
    }
    out
}

trait SpanStart {
    fn span_start(&self) -> Span;
}

impl SpanStart for syn::Path {
    fn span_start(&self) -> Span {
        self.segments
            .first()
            .map_or_else(Span::call_site, |s| s.ident.span())
    }
}

fn position(span: Span) -> (u32, u32) {
    let start = span.start();
    (start.line as u32, start.column as u32 + 1)
}

fn first_line(attrs: &[Attribute], fallback: u32) -> u32 {
    attrs
        .iter()
        .map(|a| position(a.pound_token.span).0)
        .chain(std::iter::once(fallback))
        .min()
        .unwrap_or(fallback)
}

fn mentions_test(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == "test",
        TokenTree::Group(group) => mentions_test(&group.stream()),
        _ => false,
    })
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.unraw().to_string())
        .collect::<Vec<_>>()
        .join("::")
}

pub(crate) fn convert_attrs(attrs: &[Attribute]) -> Vec<Attr> {
    let mut out = Vec::new();
    for attr in attrs {
        let (line, column) = position(attr.pound_token.span);
        convert_meta(&attr.meta, &[], line, column, &mut out);
    }
    out
}

fn convert_meta(meta: &Meta, conditions: &[Cfg], line: u32, column: u32, out: &mut Vec<Attr>) {
    let path = path_text(meta.path());
    if path == "cfg_attr" {
        let Meta::List(list) = meta else { return };
        let Ok(parts) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        else {
            return;
        };
        let mut parts = parts.into_iter();
        let Some(predicate) = parts.next() else {
            return;
        };
        let mut nested = conditions.to_vec();
        nested.push(Cfg::from_meta(&predicate));
        for part in parts {
            convert_meta(&part, &nested, line, column, out);
        }
        return;
    }
    let kind = attr_kind(&path, meta);
    out.push(Attr {
        conditions: conditions.to_vec(),
        kind,
        line,
        column,
    });
}

fn attr_kind(path: &str, meta: &Meta) -> AttrKind {
    let last = path.rsplit("::").next().unwrap_or(path);
    match path {
        "cfg" => {
            return match meta {
                Meta::List(list) => match list.parse_args::<Meta>() {
                    Ok(inner) => AttrKind::Cfg(Cfg::from_meta(&inner)),
                    Err(_) => AttrKind::Cfg(Cfg::Invalid(list.tokens.to_string())),
                },
                _ => AttrKind::Cfg(Cfg::Invalid(path.to_string())),
            }
        }
        "rstest" | "rstest::rstest" => return AttrKind::Rstest,
        "ignore" => {
            return AttrKind::Ignore(match meta {
                Meta::NameValue(nv) => str_lit(&nv.value).unwrap_or_default(),
                _ => String::new(),
            })
        }
        "should_panic" => return AttrKind::ShouldPanic,
        "path" => {
            if let Meta::NameValue(nv) = meta {
                if let Some(p) = str_lit(&nv.value) {
                    return AttrKind::Path(p);
                }
            }
            return AttrKind::Other;
        }
        "test_case" | "test_case::test_case" | "test_matrix" | "test_case::test_matrix" => {
            return AttrKind::UnsupportedTest(path.to_string())
        }
        _ => {}
    }
    if path == "case" || path.starts_with("case::") {
        let description = path.strip_prefix("case::").map(str::to_string);
        return AttrKind::Case { description };
    }
    if last == "test" {
        return AttrKind::Test(path.to_string());
    }
    AttrKind::Other
}

fn str_lit(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

fn value_lists(inputs: &Punctuated<FnArg, Token![,]>) -> (Vec<ValueList>, Option<String>) {
    let mut lists = Vec::new();
    let mut unsupported = None;
    for input in inputs {
        let FnArg::Typed(arg) = input else { continue };
        for attr in &arg.attrs {
            let path = path_text(attr.path());
            let arg_name = match arg.pat.as_ref() {
                Pat::Ident(p) => p.ident.unraw().to_string(),
                other => other.to_token_stream().to_string(),
            };
            match path.as_str() {
                "values" => {
                    let values = attr
                        .parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                        .map(|vals| {
                            vals.iter()
                                .map(|v| v.to_token_stream().to_string())
                                .collect()
                        });
                    match values {
                        Ok(descriptions) => lists.push(ValueList {
                            arg: arg_name,
                            descriptions,
                        }),
                        Err(_) => unsupported = Some("values".to_string()),
                    }
                }
                "files" => unsupported = Some(path),
                _ => {}
            }
        }
    }
    (lists, unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tests_of(items: &[ScanItem]) -> Vec<&TestFn> {
        items
            .iter()
            .filter_map(|i| match i {
                ScanItem::Test(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn finds_tests_and_their_attributes() {
        let scan = scan_source(
            r#"
#[test]
#[ignore = "slow"]
fn a() {}

#[tokio::test(flavor = "current_thread")]
#[ignore] // trailing
async fn b() {}

#[test]
#[should_panic(expected = "boom")]
fn r#type() {}

fn helper() {}
"#,
        )
        .unwrap();
        let tests = tests_of(&scan.items);
        assert_eq!(tests.len(), 3);
        assert_eq!(tests[0].name, "a");
        assert_eq!(tests[0].line, 4);
        assert!(tests[0]
            .attrs
            .iter()
            .any(|a| a.kind == AttrKind::Ignore("slow".into())));
        assert!(tests[1]
            .attrs
            .iter()
            .any(|a| a.kind == AttrKind::Test("tokio::test".into())));
        assert!(tests[1]
            .attrs
            .iter()
            .any(|a| a.kind == AttrKind::Ignore(String::new())));
        assert_eq!(tests[2].name, "r#type");
        assert!(tests[2]
            .attrs
            .iter()
            .any(|a| a.kind == AttrKind::ShouldPanic));
    }

    #[test]
    fn cfg_attr_is_flattened_with_its_condition() {
        let scan = scan_source(
            "#[cfg_attr(feature = \"gpu\", ignore = \"no gpu\", should_panic)]\n#[test]\nfn t() {}\n",
        )
        .unwrap();
        let t = tests_of(&scan.items)[0];
        let ignore = t
            .attrs
            .iter()
            .find(|a| matches!(a.kind, AttrKind::Ignore(_)))
            .unwrap();
        assert_eq!(
            ignore.conditions,
            vec![Cfg::KeyValue("feature".into(), "gpu".into())]
        );
        assert_eq!(t.attrs.len(), 3);
    }

    #[test]
    fn modules_inline_and_declared() {
        let scan = scan_source(
            "#![cfg(feature = \"x\")]\n#[path = \"p.rs\"]\nmod a;\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n",
        )
        .unwrap();
        assert_eq!(scan.inner_attrs.len(), 1);
        let ScanItem::Mod(a) = &scan.items[0] else {
            panic!("expected a mod")
        };
        assert!(a.inline.is_none());
        assert_eq!(a.attrs[0].kind, AttrKind::Path("p.rs".into()));
        let ScanItem::Mod(tests) = &scan.items[1] else {
            panic!("expected a mod")
        };
        let inline = tests.inline.as_ref().unwrap();
        assert_eq!(tests_of(&inline.items)[0].name, "t");
    }

    #[test]
    fn rstest_cases_and_values() {
        let scan = scan_source(
            "#[rstest]\n#[case(1)]\n#[case::two(2)]\nfn r(#[case] n: u32, #[values(\"a b\", 3)] v: X) {}\n",
        )
        .unwrap();
        let t = tests_of(&scan.items)[0];
        let cases: Vec<_> = t
            .attrs
            .iter()
            .filter_map(|a| match &a.kind {
                AttrKind::Case { description } => Some(description.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(cases, vec![None, Some("two".to_string())]);
        assert_eq!(t.value_lists[0].arg, "v");
        assert_eq!(t.value_lists[0].descriptions, vec!["\"a b\"", "3"]);
    }

    #[test]
    fn macros_that_mention_test_are_reported() {
        let scan = scan_source(
            "macro_rules! m { () => { #[test] fn x() {} } }\nm!();\ngen_tests! { #[test] fn y() {} }\nlazy_static! { static ref X: u8 = 1; }\n",
        )
        .unwrap();
        let macros: Vec<_> = scan
            .items
            .iter()
            .filter_map(|i| match i {
                ScanItem::TestMacro(m) => Some(m.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(macros, vec!["gen_tests"]);
        assert_eq!(tests_of(&scan.items)[0].name, "x");
    }

    #[test]
    fn proptest_blocks_yield_their_test_functions() {
        let scan = scan_source(
            "proptest! {\n    #![proptest_config(ProptestConfig::with_cases(8))]\n    #[test]\n    fn roundtrip(x in 0..10u32) { prop_assert!(x < 10); }\n\n    #[test]\n    #[ignore]\n    fn slow(v in any::<Vec<u8>>()) {}\n\n    fn helper_strategy() {}\n}\n",
        )
        .unwrap();
        let tests = tests_of(&scan.items);
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["roundtrip", "slow"]);
        assert_eq!(tests[0].line, 4);
        assert!(tests[1]
            .attrs
            .iter()
            .any(|a| a.kind == AttrKind::Ignore(String::new())));
    }

    #[test]
    fn syntax_error_has_position() {
        let err = scan_source("fn ok() {}\nfn broken( {\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        assert!(err.column >= 1);
    }
}
