//! Walking one target's module tree from its crate root, as rustc resolves
//! it, and turning the test functions found into [`TestItem`]s.
//!
//! Module files follow rustc's rules: in a "mod-rs" file (a crate root,
//! `mod.rs`, or a file loaded through `#[path]`) `mod x;` is `x.rs` or
//! `x/mod.rs` next to it; in any other file `a/b.rs` it is below `a/b/`.
//! Inline `mod m { .. }` adds `m/` to that directory. `#[path = ".."]` is
//! relative to the current file's directory, or — inside inline modules — to
//! the directory those modules stand for.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use proc_macro2::{TokenStream, TokenTree};

use tollgate_inventory::{
    Diagnostic, Language, MarkOrigin, MarkSource, Marker, RustFacts, Severity, TestItem,
};

use crate::cfg::{Cfg, CfgContext};
use crate::macros::{self, MacroDef};
use crate::rstest;
use crate::scan::{self, Attr, AttrKind, MacroCallItem, MacroRulesItem, ScanItem, TestFn};
use crate::source::{LoadError, SourceCache};

/// Everything needed to collect one test binary.
pub struct TargetJob<'a> {
    pub package: &'a str,
    pub binary_id: String,
    pub target_kind: &'static str,
    pub target_name: &'a str,
    pub root: &'a Path,
    pub features: &'a BTreeSet<String>,
    /// The features the package gets with default features (workspace-wide
    /// unification included), as `cargo nextest run --workspace` builds it.
    pub default_features: &'a BTreeSet<String>,
    /// The workspace root, relative to `display_root`.
    pub workspace: &'a str,
    pub required_features: &'a [String],
    pub proc_macro: bool,
    /// Paths in the output are relative to this directory.
    pub display_root: &'a Path,
    /// test-case names its tests `test_case_{n}_{name}` (3.4 and later, as
    /// locked in the workspace's `Cargo.lock`).
    pub test_case_numbered: bool,
}

#[derive(Debug, Default)]
pub struct TargetOutput {
    pub tests: Vec<TestItem>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn collect_target(job: &TargetJob<'_>, cache: &SourceCache) -> TargetOutput {
    let mut walker = Walker {
        job,
        cache,
        out: TargetOutput::default(),
        chain: Vec::new(),
        macros: MacroState::default(),
        on_test: false,
    };
    let root_dir = job.root.parent().map(Path::to_path_buf).unwrap_or_default();
    let ctx = ModCtx {
        module_path: Vec::new(),
        file: job.root.to_path_buf(),
        file_dir: root_dir.clone(),
        dir: root_dir,
        in_inline: false,
        required: job.required_features.to_vec(),
        markers: Vec::new(),
        expansion_depth: 0,
    };
    walker.walk_file(ctx, None);
    // `crate::name!` and `use`d `#[macro_export]` macros are in scope
    // everywhere in the crate, before their definition too.
    for (ctx, call) in std::mem::take(&mut walker.macros.pending) {
        walker.expand_call(&call, &ctx, false);
    }
    if walker.macros.unexpanded > 0 {
        let tests = walker.out.tests.len();
        let calls = walker.macros.unexpanded;
        let (file, line) = walker.macros.first_unexpanded.clone().unwrap_or_default();
        let root = job.root.to_path_buf();
        walker.diagnose(
            Severity::Warning,
            "incomplete-binary",
            &root,
            0,
            0,
            format!(
                "`{}` is incomplete: {calls} macro call(s) that may generate tests were not expanded (first at {file}:{line}); {tests} test(s) listed",
                job.binary_id
            ),
        );
    }
    walker.out
}

/// How deep macro calls may nest (rustc's default `recursion_limit`).
pub const MAX_EXPANSION_DEPTH: u32 = 128;
/// Macro expansions per test binary.
pub const MAX_EXPANSION_STEPS: usize = 10_000;
/// Tokens all expansions of one test binary may produce.
pub const MAX_EXPANSION_TOKENS: usize = 4_000_000;

/// The `macro_rules!` macros in scope during the walk (textual order).
#[derive(Default)]
struct MacroState {
    /// Textual scope: definitions seen so far on the path from the crate
    /// root, innermost last; a module's own are dropped when it ends unless
    /// it is `#[macro_use]`.
    scope: Vec<Rc<ScopedMacro>>,
    /// `#[macro_export]` macros, by name (path-based scope: whole crate).
    exported: HashMap<String, Rc<ScopedMacro>>,
    /// rstest_reuse templates, by name.
    templates: HashMap<String, TestFn>,
    /// Calls of names not (yet) defined: retried after the walk.
    pending: Vec<(ModCtx, MacroCallItem)>,
    steps: usize,
    tokens: usize,
    budget_reported: bool,
    unexpanded: usize,
    first_unexpanded: Option<(String, u32)>,
}

struct ScopedMacro {
    name: String,
    def: Result<MacroDef, String>,
    /// The body has a `test` or `mod` identifier or calls a macro: a call
    /// may generate tests, so it is expanded and a failure is reported.
    may_make_tests: bool,
}

impl ScopedMacro {
    fn parse(item: &MacroRulesItem) -> Self {
        let parsed: Result<TokenStream, String> = item
            .body
            .parse()
            .map_err(|e: proc_macro2::LexError| e.to_string());
        let (def, may_make_tests) = match parsed {
            Ok(tokens) => {
                let may = token_mentions(&tokens, |tt| match tt {
                    TokenTree::Ident(i) => i == "test" || i == "mod",
                    TokenTree::Punct(p) => p.as_char() == '!',
                    _ => false,
                });
                let def = macros::parse_macro_rules(&tokens)
                    .ok_or_else(|| "its definition is not understood".to_string());
                (def, may)
            }
            Err(e) => (Err(e), true),
        };
        ScopedMacro {
            name: item.name.clone(),
            def,
            may_make_tests,
        }
    }
}

/// Whether any token (at any depth) satisfies `pred`; iterative.
fn token_mentions(tokens: &TokenStream, pred: impl Fn(&TokenTree) -> bool) -> bool {
    let mut stack = vec![tokens.clone().into_iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(TokenTree::Group(g)) => stack.push(g.stream().into_iter()),
            Some(tt) => {
                if pred(&tt) {
                    return true;
                }
            }
            None => {
                stack.pop();
            }
        }
    }
    false
}

fn token_count(tokens: &TokenStream) -> usize {
    let mut count = 0;
    let mut stack = vec![tokens.clone().into_iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(TokenTree::Group(g)) => {
                count += 2;
                stack.push(g.stream().into_iter());
            }
            Some(_) => count += 1,
            None => {
                stack.pop();
            }
        }
    }
    count
}

struct Walker<'a> {
    job: &'a TargetJob<'a>,
    cache: &'a SourceCache,
    out: TargetOutput,
    /// Files on the current `mod` chain, to stop `#[path]` cycles.
    chain: Vec<PathBuf>,
    macros: MacroState,
    /// Evaluating the attributes of a test function (an unknown cfg there
    /// decides whether a test exists).
    on_test: bool,
}

/// Where we are: the module path and how `mod x;` resolves from here.
#[derive(Clone)]
struct ModCtx {
    module_path: Vec<String>,
    file: PathBuf,
    file_dir: PathBuf,
    dir: PathBuf,
    in_inline: bool,
    /// Features required by enclosing `cfg`s and the target.
    required: Vec<String>,
    /// Annotation markers of enclosing modules.
    markers: Vec<Marker>,
    /// How many macro expansions produced the items being walked.
    expansion_depth: u32,
}

impl Walker<'_> {
    fn rel(&self, path: &Path) -> String {
        let rel = path.strip_prefix(self.job.display_root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    fn diagnose(
        &mut self,
        severity: Severity,
        code: &str,
        file: &Path,
        line: u32,
        column: u32,
        message: String,
    ) {
        let file = self.rel(file);
        self.out.diagnostics.push(Diagnostic {
            severity,
            code: code.to_string(),
            file,
            line,
            column,
            message,
        });
    }

    /// Walks a module file. `declared_at` is the `mod` item that loaded it
    /// (file, line, column), for cycle reports.
    fn walk_file(&mut self, ctx: ModCtx, declared_at: Option<(&Path, u32, u32)>) {
        let key = std::fs::canonicalize(&ctx.file).unwrap_or_else(|_| ctx.file.clone());
        if self.chain.contains(&key) {
            let (file, line, column) = declared_at.unwrap_or((&ctx.file, 0, 0));
            let file = file.to_path_buf();
            self.diagnose(
                Severity::Error,
                "module-cycle",
                &file,
                line,
                column,
                format!("module file {} includes itself", self.rel(&ctx.file)),
            );
            return;
        }
        let loaded = self.cache.load(&ctx.file);
        let scan = match loaded.as_ref() {
            Ok(scan) => scan,
            Err(err) => {
                let (code, line, column) = match err {
                    LoadError::Parse(p) if p.too_deep => ("too-deep", p.line, p.column),
                    LoadError::Parse(p) => ("parse-error", p.line, p.column),
                    LoadError::NotUtf8 => ("not-utf8", 0, 0),
                    LoadError::TooLarge(_) => ("file-too-large", 0, 0),
                    LoadError::Unreadable(_) => ("unreadable", 0, 0),
                };
                let file = ctx.file.clone();
                self.diagnose(Severity::Error, code, &file, line, column, err.to_string());
                return;
            }
        };
        let mut ctx = ctx;
        if !self.cfg_holds(&scan.inner_attrs, &ctx.file, &mut ctx.required) {
            return;
        }
        self.chain.push(key);
        self.walk_items(&scan.items, &ctx);
        self.chain.pop();
    }

    fn walk_items(&mut self, items: &[ScanItem], ctx: &ModCtx) {
        for item in items {
            match item {
                ScanItem::Mod(m) => {
                    let mut child = ctx.clone();
                    if !self.cfg_holds(&m.attrs, &ctx.file, &mut child.required) {
                        continue;
                    }
                    let scope_mark = self.macros.scope.len();
                    let macro_use = self
                        .active(&m.attrs, &ctx.file)
                        .iter()
                        .any(|a| a.kind == AttrKind::MacroUse);
                    self.walk_mod(m, ctx, child);
                    if !macro_use {
                        self.macros.scope.truncate(scope_mark);
                    }
                }
                ScanItem::Test(t) => self.add_test(t, ctx),
                ScanItem::MacroRules(def) => {
                    let mut required = Vec::new();
                    if !self.cfg_holds(&def.attrs, &ctx.file, &mut required) {
                        continue;
                    }
                    let exported = self
                        .active(&def.attrs, &ctx.file)
                        .iter()
                        .any(|a| a.kind == AttrKind::MacroExport);
                    let scoped = Rc::new(ScopedMacro::parse(def));
                    if exported {
                        self.macros
                            .exported
                            .insert(def.name.clone(), Rc::clone(&scoped));
                    }
                    self.macros.scope.push(scoped);
                }
                ScanItem::CfgIf(cfg_if) => {
                    let mut child = ctx.clone();
                    if !self.cfg_holds(&cfg_if.attrs, &ctx.file, &mut child.required) {
                        continue;
                    }
                    // The first branch whose cfg holds; the others are off.
                    for branch in &cfg_if.branches {
                        let mut inner = child.clone();
                        if self.cfg_holds(&branch.cfg, &ctx.file, &mut inner.required) {
                            self.walk_items(&branch.items, &inner);
                            break;
                        }
                    }
                }
                ScanItem::MacroCall(call) => {
                    let mut child = ctx.clone();
                    if !self.cfg_holds(&call.attrs, &ctx.file, &mut child.required) {
                        continue;
                    }
                    self.expand_call(call, &child, true);
                }
            }
        }
    }

    fn walk_mod(&mut self, m: &scan::ModItem, ctx: &ModCtx, mut child: ModCtx) {
        child.module_path.push(m.name.clone());
        child
            .markers
            .extend(annotation_markers(&m.annotations, &self.rel(&ctx.file)));
        let path_attr = self
            .active(&m.attrs, &ctx.file)
            .into_iter()
            .rev()
            .find_map(|a| match &a.kind {
                AttrKind::Path(p) => Some(p.clone()),
                _ => None,
            });
        match &m.inline {
            Some(inline) => {
                child.dir = match &path_attr {
                    Some(p) => self.path_base(ctx).join(p),
                    None => ctx.dir.join(&m.file_stem),
                };
                child.in_inline = true;
                if self.cfg_holds(&inline.inner_attrs, &ctx.file, &mut child.required) {
                    self.walk_items(&inline.items, &child);
                }
            }
            None => {
                let file = match &path_attr {
                    Some(p) => {
                        let file = self.path_base(ctx).join(p);
                        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
                        child.dir = dir.clone();
                        child.file_dir = dir;
                        Some(file)
                    }
                    None => {
                        let flat = ctx.dir.join(format!("{}.rs", m.file_stem));
                        let nested = ctx.dir.join(&m.file_stem).join("mod.rs");
                        child.dir = ctx.dir.join(&m.file_stem);
                        if is_file_or_broken(&flat) {
                            child.file_dir = ctx.dir.clone();
                            Some(flat)
                        } else if is_file_or_broken(&nested) {
                            child.file_dir = child.dir.clone();
                            Some(nested)
                        } else {
                            None
                        }
                    }
                };
                let Some(file) = file else {
                    let (name, dir) = (m.file_stem.clone(), self.rel(&ctx.dir));
                    self.diagnose(
                                    Severity::Error,
                                    "missing-module",
                                    &ctx.file.clone(),
                                    m.line,
                                    m.column,
                                    format!("file not found for module `{name}` (looked for {dir}/{name}.rs and {dir}/{name}/mod.rs)"),
                                );
                    return;
                };
                child.file = file;
                child.in_inline = false;
                self.walk_file(child, Some((&ctx.file, m.line, m.column)));
            }
        }
    }

    /// Which definition a macro path means here.
    fn resolve(&self, path: &str) -> Option<Rc<ScopedMacro>> {
        let segments: Vec<&str> = path.split("::").collect();
        match segments.as_slice() {
            [name] => self
                .macros
                .scope
                .iter()
                .rev()
                .find(|m| m.name == *name)
                .or_else(|| self.macros.exported.get(*name))
                .cloned(),
            ["crate" | "$crate", name] => self.macros.exported.get(*name).cloned(),
            _ => None,
        }
    }

    /// Counts a place where tests may be missing (for `incomplete-binary`).
    fn count_unexpanded(&mut self, file: &Path, line: u32) {
        self.macros.unexpanded += 1;
        if self.macros.first_unexpanded.is_none() {
            self.macros.first_unexpanded = Some((self.rel(file), line));
        }
    }

    fn unexpanded(&mut self, call: &MacroCallItem, ctx: &ModCtx, code: &str, why: String) {
        let file = ctx.file.clone();
        self.count_unexpanded(&file, call.line);
        let name = &call.name;
        self.diagnose(
            Severity::Warning,
            code,
            &file,
            call.line,
            call.column,
            format!("`{name}!` was not expanded ({why}); tests it generates are not listed"),
        );
    }

    /// Expands an item-level macro call and walks what it produces.
    /// `defer`: an unknown name is retried after the whole crate is walked
    /// (a `#[macro_export]` macro defined later).
    fn expand_call(&mut self, call: &MacroCallItem, ctx: &ModCtx, defer: bool) {
        let Some(mac) = self.resolve(&call.name) else {
            if defer {
                self.macros.pending.push((ctx.clone(), call.clone()));
            } else if call.mentions_test || call.name.to_ascii_lowercase().contains("test") {
                let why = "no `macro_rules!` of this name is in scope here; macros from other crates are not expanded".to_string();
                self.unexpanded(call, ctx, "macro-tests", why);
            }
            return;
        };
        // A macro whose body has no `test`, `mod` or macro call, called
        // without `test` in its input, cannot make a test: not expanded
        // (library code is full of `impl_ops!(u8);`).
        if !mac.may_make_tests && !call.mentions_test {
            return;
        }
        if ctx.expansion_depth >= MAX_EXPANSION_DEPTH {
            let why = format!("recursion deeper than {MAX_EXPANSION_DEPTH} levels");
            self.unexpanded(call, ctx, "macro-recursion", why);
            return;
        }
        if self.macros.steps >= MAX_EXPANSION_STEPS || self.macros.tokens >= MAX_EXPANSION_TOKENS {
            if !self.macros.budget_reported {
                self.macros.budget_reported = true;
                let why = format!(
                    "this binary's macros need more than {MAX_EXPANSION_STEPS} expansions or {MAX_EXPANSION_TOKENS} tokens"
                );
                self.unexpanded(call, ctx, "macro-recursion", why);
            } else {
                self.macros.unexpanded += 1;
            }
            return;
        }
        self.macros.steps += 1;
        let def = match &mac.def {
            Ok(def) => def,
            Err(why) => {
                self.unexpanded(call, ctx, "macro-unexpanded", why.clone());
                return;
            }
        };
        let input: TokenStream = match call.input.parse() {
            Ok(tokens) => tokens,
            Err(e) => {
                let why = format!("its input does not lex: {e}");
                self.unexpanded(call, ctx, "macro-unexpanded", why);
                return;
            }
        };
        let output = match macros::expand(def, &input) {
            Ok(output) => output,
            Err(e) => {
                self.unexpanded(call, ctx, "macro-unexpanded", e.to_string());
                return;
            }
        };
        self.macros.tokens += token_count(&output);
        match scan::scan_expansion(output, call.line, call.column) {
            Ok(items) => {
                let mut child = ctx.clone();
                child.expansion_depth += 1;
                self.walk_items(&items, &child);
            }
            Err(e) => {
                let why = format!("its expansion is not a list of items: {e}");
                self.unexpanded(call, ctx, "macro-unexpanded", why);
            }
        }
    }

    fn path_base(&self, ctx: &ModCtx) -> PathBuf {
        if ctx.in_inline {
            ctx.dir.clone()
        } else {
            ctx.file_dir.clone()
        }
    }

    fn eval(&mut self, cfg: &Cfg, file: &Path, line: u32, column: u32) -> bool {
        let outcome = cfg.evaluate(&CfgContext {
            features: self.job.features,
            test: true,
            proc_macro: self.job.proc_macro,
        });
        // Off is what `cargo nextest list` does too (no RUSTFLAGS); it can
        // only differ when a build script sets the cfg, and only matters
        // for the cfgs of a test function itself.
        let severity = if self.on_test {
            Severity::Warning
        } else {
            Severity::Info
        };
        for unknown in outcome.unknown {
            self.diagnose(
                severity,
                "unknown-cfg",
                file,
                line,
                column,
                format!("cfg `{unknown}` is not set for x86_64-unknown-linux-gnu without RUSTFLAGS; assumed false"),
            );
        }
        outcome.value
    }

    /// The attributes whose `cfg_attr` conditions hold.
    fn active<'s>(&mut self, attrs: &'s [Attr], file: &Path) -> Vec<&'s Attr> {
        attrs
            .iter()
            .filter(|a| {
                a.conditions
                    .iter()
                    .all(|c| self.eval(c, file, a.line, a.column))
            })
            .collect()
    }

    /// Whether every active `cfg` holds; adds the features they require.
    fn cfg_holds(&mut self, attrs: &[Attr], file: &Path, required: &mut Vec<String>) -> bool {
        for attr in self.active(attrs, file) {
            if let AttrKind::Cfg(cfg) = &attr.kind {
                if !self.eval(cfg, file, attr.line, attr.column) {
                    return false;
                }
                cfg.required_features(required);
            }
        }
        true
    }

    fn add_test(&mut self, t: &TestFn, ctx: &ModCtx) {
        let outer = std::mem::replace(&mut self.on_test, true);
        self.add_test_inner(t, ctx);
        self.on_test = outer;
    }

    fn add_test_inner(&mut self, t: &TestFn, ctx: &ModCtx) {
        let mut required = ctx.required.clone();
        if !self.cfg_holds(&t.attrs, &ctx.file, &mut required) {
            return;
        }
        let active = self.active(&t.attrs, &ctx.file);
        // rstest_reuse: a template lists nothing; each `#[apply]` gets the
        // template's attributes (its cases first), then its own.
        if active.iter().any(|a| a.kind == AttrKind::Template) {
            self.macros.templates.insert(t.name.clone(), t.clone());
            return;
        }
        let applied = active.iter().find_map(|a| match &a.kind {
            AttrKind::Apply(name) => Some((name.clone(), a.line, a.column)),
            _ => None,
        });
        if let Some((name, line, column)) = applied {
            let last = name.rsplit("::").next().unwrap_or(&name).to_string();
            let Some(template) = self.macros.templates.get(&last).cloned() else {
                let file = ctx.file.clone();
                self.count_unexpanded(&file, line);
                self.diagnose(
                    Severity::Warning,
                    "macro-tests",
                    &file,
                    line,
                    column,
                    format!("`#[apply({name})]`: no `#[template]` of that name was seen before it; `{}` skipped", t.name),
                );
                return;
            };
            let mut merged = t.clone();
            merged.attrs = template
                .attrs
                .iter()
                .filter(|a| a.kind != AttrKind::Template)
                .chain(
                    t.attrs
                        .iter()
                        .filter(|a| !matches!(a.kind, AttrKind::Apply(_))),
                )
                .cloned()
                .collect();
            if merged.value_lists.is_empty() {
                merged.value_lists = template.value_lists.clone();
            }
            let mut outer = ctx.clone();
            outer.required = required;
            self.add_test_inner(&merged, &outer);
            return;
        }
        if let Some(attr) = active.iter().find_map(|a| match &a.kind {
            AttrKind::UnsupportedTest(p) => Some((p.clone(), a.line, a.column)),
            _ => None,
        }) {
            let (path, line, column) = attr;
            self.count_unexpanded(&ctx.file, line);
            self.diagnose(
                Severity::Warning,
                "unsupported-test-attribute",
                &ctx.file.clone(),
                line,
                column,
                format!("tests generated by `#[{path}]` are not expanded statically"),
            );
            return;
        }
        let is_rstest = active.iter().any(|a| a.kind == AttrKind::Rstest);
        let is_test_case = !is_rstest
            && active
                .iter()
                .any(|a| matches!(a.kind, AttrKind::TestCase(_)));
        let test_path = active.iter().find_map(|a| match &a.kind {
            AttrKind::Test(p) => Some(p.clone()),
            _ => None,
        });
        let test_attribute = match (is_rstest, is_test_case, test_path) {
            (true, _, _) => "rstest".to_string(),
            (false, true, _) => "test_case".to_string(),
            (false, false, Some(p)) => p,
            (false, false, None) => return,
        };
        let file_rel = self.rel(&ctx.file);
        let mut markers = ctx.markers.clone();
        markers.extend(annotation_markers(&t.annotations, &file_rel));
        let base_name = ctx
            .module_path
            .iter()
            .chain(std::iter::once(&t.name))
            .cloned()
            .collect::<Vec<_>>()
            .join("::");

        // rstest: attributes before a `#[case]` belong to that case only; the
        // ones after the last case apply to all.
        let mut case_attrs: Vec<(Option<String>, Vec<&Attr>)> = Vec::new();
        let mut buffer: Vec<&Attr> = Vec::new();
        // test-case: every case with what its `=> ..` adds.
        let mut test_cases: Vec<crate::test_case::CaseSpec> = Vec::new();
        if is_rstest {
            for attr in &active {
                match &attr.kind {
                    AttrKind::Rstest => {}
                    AttrKind::Case { description, .. } => {
                        case_attrs.push((description.clone(), std::mem::take(&mut buffer)))
                    }
                    _ => buffer.push(attr),
                }
            }
            if let Some(arg) = &t.unsupported_arg {
                self.count_unexpanded(&ctx.file, t.line);
                self.diagnose(
                    Severity::Warning,
                    "unsupported-rstest",
                    &ctx.file.clone(),
                    t.line,
                    t.column,
                    format!("rstest `#[{arg}]` arguments are not expanded statically; `{base_name}` skipped"),
                );
                return;
            }
        } else if is_test_case {
            for attr in &active {
                let cases = match &attr.kind {
                    AttrKind::TestCase(cases)
                    | AttrKind::Case {
                        test_case: Some(cases),
                        ..
                    } => cases,
                    _ => {
                        buffer.push(attr);
                        continue;
                    }
                };
                match cases {
                    Ok(cases) => test_cases.extend(cases.iter().cloned()),
                    Err(why) => {
                        let (line, column) = (attr.line, attr.column);
                        self.count_unexpanded(&ctx.file, line);
                        self.diagnose(
                            Severity::Warning,
                            "unsupported-test-attribute",
                            &ctx.file.clone(),
                            line,
                            column,
                            format!("the cases of `{base_name}` (test-case) cannot be named statically ({why}); skipped"),
                        );
                        return;
                    }
                }
            }
        } else {
            buffer = active.clone();
        }
        let shared = buffer;
        let expansions = if is_rstest {
            let descriptions: Vec<Option<String>> =
                case_attrs.iter().map(|(d, _)| d.clone()).collect();
            let lists: Vec<(String, Vec<String>)> = t
                .value_lists
                .iter()
                .map(|v| (v.arg.clone(), v.descriptions.clone()))
                .collect();
            rstest::expand(&descriptions, &lists)
        } else if is_test_case {
            test_cases
                .iter()
                .enumerate()
                .map(|(i, c)| rstest::RstestCase {
                    suffix: Some(if self.job.test_case_numbered {
                        crate::test_case::numbered_name(i + 1, &c.name)
                    } else {
                        c.name.clone()
                    }),
                    case_index: None,
                })
                .collect()
        } else {
            vec![rstest::RstestCase {
                suffix: None,
                case_index: None,
            }]
        };
        for (index, expansion) in expansions.into_iter().enumerate() {
            let mut attrs: Vec<&Attr> = Vec::new();
            if let Some((_, own)) = expansion.case_index.and_then(|i| case_attrs.get(i)) {
                attrs.extend(own.iter().copied());
            }
            attrs.extend(shared.iter().copied());
            let mut found_ignore = attrs.iter().find_map(|a| match &a.kind {
                AttrKind::Ignore(reason) => Some((Some(reason.clone()), Some(a.line))),
                _ => None,
            });
            let mut should_panic = attrs.iter().any(|a| a.kind == AttrKind::ShouldPanic);
            if let Some(case) = test_cases.get(index).filter(|_| is_test_case) {
                // The case's own `=> ignore`/`=> panics` come first.
                if let Some(reason) = &case.ignore {
                    found_ignore = Some((Some(reason.clone()), Some(t.line)));
                }
                should_panic |= case.should_panic;
            }
            let (ignored, ignore_line) = found_ignore.unwrap_or_default();
            let name = match &expansion.suffix {
                Some(s) => format!("{base_name}::{s}"),
                None => base_name.clone(),
            };
            self.out.tests.push(TestItem {
                id: format!("{} {name}", self.job.binary_id),
                language: Language::Rust,
                file: file_rel.clone(),
                line: t.line,
                function: name,
                markers: markers.clone(),
                dynamic: None,
                rust: Some(RustFacts {
                    package: self.job.package.to_string(),
                    target_kind: self.job.target_kind.to_string(),
                    target_name: self.job.target_name.to_string(),
                    binary_id: self.job.binary_id.clone(),
                    required_features: required.clone(),
                    test_attribute: test_attribute.clone(),
                    ignored,
                    ignore_line,
                    should_panic,
                    default_enabled: required
                        .iter()
                        .filter(|f| self.job.default_features.contains(f.as_str()))
                        .cloned()
                        .collect(),
                    workspace: self.job.workspace.to_string(),
                }),
            });
        }
    }
}

/// A path that exists as a file, or as a link that cannot be followed (so
/// that reading it reports the broken link or loop).
fn is_file_or_broken(path: &Path) -> bool {
    path.is_file() || (path.symlink_metadata().is_ok() && std::fs::metadata(path).is_err())
}

fn annotation_markers(annotations: &[crate::annotation::Annotation], file: &str) -> Vec<Marker> {
    annotations
        .iter()
        .flat_map(|a| {
            a.markers.iter().map(move |name| {
                Marker::new(
                    name.clone(),
                    MarkOrigin {
                        file: file.to_string(),
                        line: a.line,
                        source: MarkSource::Annotation,
                        learned: None,
                    },
                )
            })
        })
        .collect()
}
