//! One Rust source file → the items that matter for test discovery.
//!
//! The scan is independent of features: `cfg` predicates are kept unevaluated
//! (see [`crate::cfg`]) so a file is parsed once, whatever the feature set.
//! Only three kinds of item matter: test functions, `mod` items (inline or
//! declared) and macro invocations that look like they generate tests.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, FnArg, Item, Lit, Meta, Pat, Token};

use crate::annotation::{self, Annotation};
use crate::cfg::Cfg;
use crate::models;

/// A file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub line: u32,
    pub column: u32,
    pub message: String,
    /// Refused for nesting deeper than [`MAX_GROUP_DEPTH`], not a syntax error.
    pub too_deep: bool,
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
    /// `macro_rules! name { .. }`: enters the textual macro scope.
    MacroRules(MacroRulesItem),
    /// `some_macro! { .. }` at item level (other than the modelled external
    /// macros): expanded during the walk, where the macro scope is known.
    MacroCall(MacroCallItem),
    /// `cfg_if! { if #[cfg(..)] { .. } else if .. else { .. } }` (the
    /// cfg-if crate): the items of the first branch whose `cfg` holds.
    CfgIf(CfgIfItem),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CfgIfItem {
    /// Attributes on the call (`#[cfg]` applies to every branch).
    pub attrs: Vec<Attr>,
    pub branches: Vec<CfgIfBranch>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CfgIfBranch {
    /// The branch's `#[cfg(..)]` (none for the final `else`).
    pub cfg: Vec<Attr>,
    pub items: Vec<ScanItem>,
}

/// A `macro_rules!` definition. The body is kept as text: token streams
/// cannot cross threads, and the scan is shared between them.
#[derive(Debug, Clone, PartialEq)]
pub struct MacroRulesItem {
    pub name: String,
    /// `#[cfg]`, `#[macro_export]`, ...
    pub attrs: Vec<Attr>,
    pub body: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MacroCallItem {
    /// The path as written (`name`, `crate::name`).
    pub name: String,
    pub attrs: Vec<Attr>,
    pub input: String,
    /// Whether the input has a `test` identifier (`#[test]` inside).
    pub mentions_test: bool,
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

/// The tests one test-case attribute makes, or why they cannot be named.
pub type TestCases = Result<Vec<crate::test_case::CaseSpec>, String>;

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
        /// The same arguments read as a test-case `#[case(..)]` (an alias
        /// of `#[test_case]`), used when the function has a `#[test_case]`.
        test_case: Option<TestCases>,
    },
    /// test-case `#[test_case(..)]`/`#[test_matrix(..)]`: the tests it
    /// makes, or why they cannot be named.
    TestCase(TestCases),
    /// `Some(reason)`; an empty reason for a bare `#[ignore]`.
    Ignore(String),
    ShouldPanic,
    Path(String),
    /// A test attribute from a crate whose naming tollgate does not model.
    UnsupportedTest(String),
    /// `#[macro_use]` (on a module: its macros stay in scope after it).
    MacroUse,
    /// `#[macro_export]`.
    MacroExport,
    /// rstest_reuse `#[template]`: the function is a template, not a test.
    Template,
    /// rstest_reuse `#[apply(name)]`: the template's attributes apply here.
    Apply(String),
    Other,
}

/// Deepest nesting of delimited groups (`{`, `(`, `[`) a file may have.
/// syn parses and drops recursively; beyond this a file is reported as
/// `too-deep` instead of parsed. rustc itself accepts deeper files, but no
/// test file comes near.
pub const MAX_GROUP_DEPTH: usize = 1000;

/// Parses `text` (the contents of `file`) into a [`FileScan`].
///
/// Deep nesting: callers run this on a thread with a large stack (see
/// [`crate::STACK_BYTES`]); nesting beyond [`MAX_GROUP_DEPTH`] is an error.
pub fn scan_source(text: &str) -> Result<FileScan, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A shebang line (not an inner attribute) is not Rust tokens; keep the
    // line so positions stay right.
    let owned;
    let text =
        if text.starts_with("#!") && !text.trim_start_matches("#!").trim_start().starts_with('[') {
            let end = text.find('\n').unwrap_or(text.len());
            owned = format!("{}{}", " ".repeat(end), &text[end..]);
            owned.as_str()
        } else {
            text
        };
    let tokens: TokenStream = text.parse().map_err(|e: proc_macro2::LexError| {
        let start = e.span().start();
        ParseError {
            line: start.line as u32,
            column: start.column as u32 + 1,
            message: e.to_string(),
            too_deep: false,
        }
    })?;
    check_depth(&tokens)?;
    let tokens = strip_fn_bodies(tokens);
    let file = syn::parse2::<syn::File>(tokens).map_err(|e| {
        let start = e.span().start();
        ParseError {
            line: start.line as u32,
            column: start.column as u32 + 1,
            message: e.to_string(),
            too_deep: false,
        }
    })?;
    let notes = annotation::find_annotations(text);
    let ctx = ScanContext { notes: &notes };
    Ok(FileScan {
        inner_attrs: convert_attrs(&file.attrs),
        items: ctx.scan_items(&file.items),
    })
}

/// Empties the body of every function at item level (the file, and the
/// bodies of inline `mod`s, `impl`s and `trait`s, recursively): nothing in a
/// function body is a test the harness lists, and parsing bodies is most of
/// syn's work. Macro invocations and definitions (`name! { .. }`,
/// `macro_rules! name { .. }`) are left whole: their tokens are matched
/// literally later. Spans are kept, so positions do not change.
///
/// Hand-written on tokens because syn has no mode that skips blocks.
pub fn strip_fn_bodies(tokens: TokenStream) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    // Since the last item boundary: a `fn` keyword, a container keyword,
    // and whether a `!` (macro call, `macro_rules!`, `-> !`) came last.
    let mut saw_fn = false;
    let mut container = false;
    let mut bang = false;
    for tt in tokens {
        match &tt {
            TokenTree::Ident(ident) => {
                if !bang {
                    if ident == "fn" {
                        saw_fn = true;
                    } else if ident == "mod" || ident == "impl" || ident == "trait" {
                        container = true;
                    }
                }
                out.push(tt);
            }
            TokenTree::Punct(p) => {
                match p.as_char() {
                    ';' => {
                        saw_fn = false;
                        container = false;
                        bang = false;
                    }
                    '!' => bang = true,
                    _ => {}
                }
                out.push(tt);
            }
            TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                let replaced = if bang {
                    tt.clone()
                } else if saw_fn {
                    let mut empty = proc_macro2::Group::new(g.delimiter(), TokenStream::new());
                    empty.set_span(g.span());
                    TokenTree::Group(empty)
                } else if container {
                    let mut inner =
                        proc_macro2::Group::new(g.delimiter(), strip_fn_bodies(g.stream()));
                    inner.set_span(g.span());
                    TokenTree::Group(inner)
                } else {
                    tt.clone()
                };
                out.push(replaced);
                saw_fn = false;
                container = false;
                bang = false;
            }
            TokenTree::Group(_) => {
                // `name!(..)`/`name![..]` calls end with their group; `#![..]`
                // and `#[..]` attributes too (`#` resets nothing).
                bang = false;
                out.push(tt);
            }
            TokenTree::Literal(_) => out.push(tt),
        }
    }
    out.into_iter().collect()
}

/// Deepest nesting of generic angle brackets (`Option<Option<..>>`) or
/// longest run of prefix operators (`- - - x`) in one bracket level; syn
/// parses both recursively.
pub const MAX_OPERATOR_DEPTH: usize = 5000;

/// Fails with "too deep" at the first group nested deeper than
/// [`MAX_GROUP_DEPTH`] (or angle brackets / operator runs beyond
/// [`MAX_OPERATOR_DEPTH`]). Iterative: it must not itself need a deep stack.
pub fn check_depth(tokens: &TokenStream) -> Result<(), ParseError> {
    struct Level {
        iter: proc_macro2::token_stream::IntoIter,
        angles: usize,
        operators: usize,
    }
    let too_deep = |span: Span, what: String| {
        let (line, column) = position(span);
        Err(ParseError {
            line,
            column,
            message: format!("too deep: {what}; not parsed"),
            too_deep: true,
        })
    };
    let mut stack = vec![Level {
        iter: tokens.clone().into_iter(),
        angles: 0,
        operators: 0,
    }];
    while let Some(top) = stack.last_mut() {
        match top.iter.next() {
            Some(TokenTree::Group(g)) => {
                top.operators = 0;
                if stack.len() >= MAX_GROUP_DEPTH {
                    return too_deep(
                        g.span_open(),
                        format!("brackets nested more than {MAX_GROUP_DEPTH} levels"),
                    );
                }
                stack.push(Level {
                    iter: g.stream().into_iter(),
                    angles: 0,
                    operators: 0,
                });
            }
            Some(TokenTree::Punct(p)) => {
                match p.as_char() {
                    '<' => top.angles += 1,
                    '>' => top.angles = top.angles.saturating_sub(1),
                    _ => {}
                }
                if matches!(p.as_char(), '-' | '!' | '*' | '&') {
                    top.operators += 1;
                } else {
                    top.operators = 0;
                }
                if top.angles > MAX_OPERATOR_DEPTH || top.operators > MAX_OPERATOR_DEPTH {
                    return too_deep(
                        p.span(),
                        format!("operators or `<` nested more than {MAX_OPERATOR_DEPTH} levels"),
                    );
                }
            }
            Some(_) => top.operators = 0,
            None => {
                stack.pop();
            }
        }
    }
    Ok(())
}

/// Scans the items a macro expansion produced. Every position is the call
/// site's (`line`, `column`): the tokens come from several files.
pub fn scan_expansion(
    tokens: TokenStream,
    line: u32,
    column: u32,
) -> Result<Vec<ScanItem>, String> {
    check_depth(&tokens).map_err(|e| e.message)?;
    let file = syn::parse2::<syn::File>(tokens).map_err(|e| e.to_string())?;
    let notes = annotation::SourceNotes::default();
    let ctx = ScanContext { notes: &notes };
    let mut items = ctx.scan_items(&file.items);
    relocate(&mut items, line, column);
    Ok(items)
}

fn relocate(items: &mut [ScanItem], line: u32, column: u32) {
    fn attrs(list: &mut [Attr], line: u32, column: u32) {
        for a in list {
            a.line = line;
            a.column = column;
        }
    }
    for item in items {
        match item {
            ScanItem::Test(t) => {
                t.line = line;
                t.column = column;
                attrs(&mut t.attrs, line, column);
                t.annotations.clear();
            }
            ScanItem::Mod(m) => {
                m.line = line;
                m.column = column;
                attrs(&mut m.attrs, line, column);
                m.annotations.clear();
                if let Some(inline) = &mut m.inline {
                    attrs(&mut inline.inner_attrs, line, column);
                    relocate(&mut inline.items, line, column);
                }
            }
            ScanItem::MacroRules(r) => {
                r.line = line;
                r.column = column;
                attrs(&mut r.attrs, line, column);
            }
            ScanItem::MacroCall(c) => {
                c.line = line;
                c.column = column;
                attrs(&mut c.attrs, line, column);
            }
            ScanItem::CfgIf(c) => {
                attrs(&mut c.attrs, line, column);
                for branch in &mut c.branches {
                    attrs(&mut branch.cfg, line, column);
                    relocate(&mut branch.items, line, column);
                }
            }
        }
    }
}

struct ScanContext<'a> {
    notes: &'a annotation::SourceNotes,
}

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
                            AttrKind::Test(_)
                                | AttrKind::Rstest
                                | AttrKind::UnsupportedTest(_)
                                | AttrKind::TestCase(_)
                                | AttrKind::Apply(_)
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
                    let (line, column) = position(m.mac.path.span_start());
                    let attrs = convert_attrs(&m.attrs);
                    if name == "macro_rules" {
                        if let Some(ident) = &m.ident {
                            out.push(ScanItem::MacroRules(MacroRulesItem {
                                name: ident.unraw().to_string(),
                                attrs,
                                body: m.mac.tokens.to_string(),
                                line,
                                column,
                            }));
                        }
                        continue;
                    }
                    let model = models::item_macro(&name);
                    if model == Some(models::ItemMacro::CfgIf) {
                        if let Some(branches) = self.cfg_if_branches(&m.mac.tokens) {
                            out.push(ScanItem::CfgIf(CfgIfItem { attrs, branches }));
                            continue;
                        }
                    }
                    if let Some(model) = model.filter(|m| *m != models::ItemMacro::CfgIf) {
                        let tests = match model {
                            models::ItemMacro::TestFns => proptest_functions(&m.mac.tokens, false),
                            models::ItemMacro::EveryFn | models::ItemMacro::CfgIf => {
                                proptest_functions(&m.mac.tokens, true)
                            }
                        };
                        out.extend(tests.into_iter().map(|mut t| {
                            // `#[cfg]` on the call applies to what it makes.
                            let mut all = attrs.clone();
                            all.append(&mut t.attrs);
                            t.attrs = all;
                            ScanItem::Test(self.with_notes(t))
                        }));
                        continue;
                    }
                    out.push(ScanItem::MacroCall(MacroCallItem {
                        name,
                        attrs,
                        input: m.mac.tokens.to_string(),
                        mentions_test: mentions_test(&m.mac.tokens),
                        line,
                        column,
                    }));
                }
                _ => {}
            }
        }
        out
    }

    /// `if #[cfg(p)] { items } (else if #[cfg(p)] { items })* (else { items })?`;
    /// `None` when the input has another shape (then it is an ordinary
    /// macro call, reported if it may hold tests).
    fn cfg_if_branches(&self, tokens: &TokenStream) -> Option<Vec<CfgIfBranch>> {
        let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
        let mut branches = Vec::new();
        let mut i = 0;
        let is_ident = |tt: Option<&TokenTree>, word: &str| matches!(tt, Some(TokenTree::Ident(x)) if x == word);
        loop {
            let mut cfg = Vec::new();
            if branches.is_empty() || is_ident(tokens.get(i), "if") {
                if !is_ident(tokens.get(i), "if") {
                    return None;
                }
                let (Some(TokenTree::Punct(pound)), Some(TokenTree::Group(attr))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                else {
                    return None;
                };
                if pound.as_char() != '#' || attr.delimiter() != proc_macro2::Delimiter::Bracket {
                    return None;
                }
                let meta = syn::parse2::<Meta>(attr.stream()).ok()?;
                if path_text(meta.path()) != "cfg" {
                    return None;
                }
                let (line, column) = position(pound.span());
                convert_meta(&meta, &[], line, column, &mut cfg);
                i += 3;
            }
            let Some(TokenTree::Group(body)) = tokens.get(i) else {
                return None;
            };
            if body.delimiter() != proc_macro2::Delimiter::Brace {
                return None;
            }
            let file = syn::parse2::<syn::File>(body.stream()).ok()?;
            let last = cfg.is_empty();
            branches.push(CfgIfBranch {
                cfg,
                items: self.scan_items(&file.items),
            });
            i += 1;
            if i == tokens.len() {
                return Some(branches);
            }
            if last || !is_ident(tokens.get(i), "else") {
                return None;
            }
            i += 1;
        }
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
fn proptest_functions(tokens: &TokenStream, every_fn: bool) -> Vec<TestFn> {
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
                    let mut taken = std::mem::take(&mut attrs);
                    if every_fn {
                        taken.insert(
                            0,
                            Attr {
                                conditions: Vec::new(),
                                kind: AttrKind::Test("quickcheck".to_string()),
                                line,
                                column,
                            },
                        );
                    }
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
        "macro_use" => return AttrKind::MacroUse,
        "macro_export" => return AttrKind::MacroExport,
        "template" | "rstest_reuse::template" => return AttrKind::Template,
        "apply" | "rstest_reuse::apply" => {
            if let Meta::List(list) = meta {
                if let Ok(p) = list.parse_args::<syn::Path>() {
                    return AttrKind::Apply(path_text(&p));
                }
            }
            return AttrKind::Other;
        }
        _ => {}
    }
    match models::test_attribute(path) {
        Some(models::TestAttribute::Test) => return AttrKind::Test(path.to_string()),
        Some(models::TestAttribute::TestCase) => {
            return AttrKind::TestCase(match meta {
                Meta::List(list) => {
                    crate::test_case::parse_test_case(list.tokens.clone()).map(|c| vec![c])
                }
                _ => Err("no arguments".to_string()),
            })
        }
        Some(models::TestAttribute::TestMatrix) => {
            return AttrKind::TestCase(match meta {
                Meta::List(list) => crate::test_case::parse_test_matrix(list.tokens.clone()),
                _ => Err("no arguments".to_string()),
            })
        }
        Some(models::TestAttribute::Unsupported) => {
            return AttrKind::UnsupportedTest(path.to_string())
        }
        None => {}
    }
    if path == "case" || path.starts_with("case::") {
        let description = path.strip_prefix("case::").map(str::to_string);
        let test_case = match (meta, &description) {
            (Meta::List(list), None) => {
                Some(crate::test_case::parse_test_case(list.tokens.clone()).map(|c| vec![c]))
            }
            _ => None,
        };
        return AttrKind::Case {
            description,
            test_case,
        };
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
                AttrKind::Case { description, .. } => Some(description.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(cases, vec![None, Some("two".to_string())]);
        assert_eq!(t.value_lists[0].arg, "v");
        assert_eq!(t.value_lists[0].descriptions, vec!["\"a b\"", "3"]);
    }

    #[test]
    fn macro_definitions_and_calls_are_kept_for_the_walk() {
        let scan = scan_source(
            "#[macro_export]\nmacro_rules! m { () => { #[test] fn x() {} } }\nm!();\ngen_tests! { #[test] fn y() {} }\n#[cfg(unix)]\nlazy_static! { static ref X: u8 = 1; }\n",
        )
        .unwrap();
        let ScanItem::MacroRules(def) = &scan.items[0] else {
            panic!("expected a macro_rules")
        };
        assert_eq!(def.name, "m");
        assert_eq!(def.attrs[0].kind, AttrKind::MacroExport);
        let calls: Vec<(&str, bool, u32)> = scan
            .items
            .iter()
            .filter_map(|i| match i {
                ScanItem::MacroCall(m) => Some((m.name.as_str(), m.mentions_test, m.line)),
                _ => None,
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                ("m", false, 3),
                ("gen_tests", true, 4),
                ("lazy_static", false, 6)
            ]
        );
        assert!(tests_of(&scan.items).is_empty());
    }

    #[test]
    fn expansions_are_placed_at_the_call() {
        let tokens: TokenStream = "#[test] fn a() {} mod inner { #[test] fn b() {} }"
            .parse()
            .unwrap();
        let items = scan_expansion(tokens, 42, 5).unwrap();
        assert_eq!(tests_of(&items)[0].line, 42);
        let ScanItem::Mod(m) = &items[1] else {
            panic!("expected a mod")
        };
        assert_eq!((m.line, m.column), (42, 5));
        assert_eq!(tests_of(&m.inline.as_ref().unwrap().items)[0].line, 42);
    }

    #[test]
    fn quickcheck_blocks_make_every_function_a_test() {
        let scan = scan_source(
            "quickcheck! {\n    fn prop_a(x: u8) -> bool { x == x }\n    #[ignore]\n    fn prop_b(x: u8) -> bool { true }\n}\n",
        )
        .unwrap();
        let tests = tests_of(&scan.items);
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["prop_a", "prop_b"]);
        assert!(tests[1]
            .attrs
            .iter()
            .any(|a| a.kind == AttrKind::Ignore(String::new())));
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused_before_parsing() {
        let deep = format!(
            "fn f() {{ {}{} }}",
            "(".repeat(MAX_GROUP_DEPTH + 1),
            ")".repeat(MAX_GROUP_DEPTH + 1)
        );
        let err = scan_source(&deep).unwrap_err();
        assert!(err.too_deep, "{err:?}");
        assert_eq!(err.line, 1);
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
    fn function_bodies_are_emptied_but_macros_and_modules_kept() {
        let tokens: TokenStream = "fn a() { let x = { 1 }; }\nmod m { fn b() -> impl Fn() { || () } #[test] fn t() { x } }\nimpl S { fn c(&self) { 2 } }\nm! { fn d() { 3 } }\nmacro_rules! r { (fn $n:ident { $b:tt }) => { fn $n() { $b } } }\nstruct P { f: fn() }\nfn e() -> ! { loop {} }\n"
            .parse()
            .unwrap();
        let out = strip_fn_bodies(tokens).to_string();
        assert_eq!(
            out,
            "fn a () { } mod m { fn b () -> impl Fn () { } # [test] fn t () { } } impl S { fn c (& self) { } } m ! { fn d () { 3 } } macro_rules ! r { (fn $ n : ident { $ b : tt }) => { fn $ n () { $ b } } } struct P { f : fn () } fn e () -> ! { loop { } }"
        );
    }

    #[test]
    fn syntax_error_has_position() {
        let err = scan_source("fn ok() {}\nfn broken( {\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        assert!(err.column >= 1);
    }
}
