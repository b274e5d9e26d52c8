//! Turns a [`ModuleModel`] into test items the way `Module.collect`,
//! `Class.collect` and `UnitTestCase.collect` do: `__dict__` order, base
//! classes first, MRO-aware class marks, `__init__`/`__new__`/abstract
//! classes skipped, unittest method ordering, parametrize expansion.

use std::collections::HashSet;
use std::sync::Arc;

use tollgate_inventory::{Language, MarkOrigin, MarkSource, MarkValue, Marker, Severity, TestItem};

use crate::fixtures::{parametrized_requests, FixtureDecl, FixtureLayer};
use crate::fnmatch::fnmatch;
use crate::model::{BaseRef, ClassDef, Entry, FuncDef, ModelDiagnostic, ModuleModel, PlacedMark};
use crate::parametrize::{expand, ExpandError, IdOptions};
use crate::value::{MarkDeco, Value};

/// `python_classes` / `python_functions`: prefixes or fnmatch globs.
#[derive(Debug, Clone)]
pub struct NameFilters {
    pub classes: Vec<String>,
    pub functions: Vec<String>,
}

impl NameFilters {
    fn matches(patterns: &[String], name: &str) -> bool {
        patterns.iter().any(|p| {
            name.starts_with(p.as_str())
                || ((p.contains('*') || p.contains('?') || p.contains('[')) && fnmatch(name, p))
        })
    }
    pub fn is_test_class(&self, name: &str) -> bool {
        Self::matches(&self.classes, name)
    }
    pub fn is_test_function(&self, name: &str) -> bool {
        Self::matches(&self.functions, name)
    }
}

/// Resolves `from module import name` to a definition in another project file.
pub trait EntryLookup {
    fn lookup_entry(&self, module: &str, level: u32, name: &str) -> Option<Entry>;
}

pub struct ModuleContext<'a> {
    /// Node id of the module (`tests/test_a.py`).
    pub module_id: &'a str,
    /// The module's path relative to rootdir.
    pub file: &'a str,
    pub filters: &'a NameFilters,
    pub ids: &'a IdOptions,
    /// Set when something outside the module (a conftest hook) can change
    /// what is collected here.
    pub external_dynamic: Option<String>,
    pub lookup: &'a dyn EntryLookup,
    /// Fixtures of the conftests in scope, closest first.
    pub conftest_fixtures: &'a [FixtureLayer<'a>],
    /// The active pytest plugins and their settings (`plugins.rs`).
    pub plugins: &'a crate::plugins::PluginSet,
}

/// A test class as seen from its collector, with its resolved MRO.
#[derive(Clone)]
struct ClassFrame {
    marks: Vec<PlacedMark>,
    dynamic: Option<String>,
    /// Fixtures defined in the class, one layer per class of its MRO
    /// (most derived first), with the file each is written in.
    fixtures: Vec<(Arc<str>, Vec<FixtureDecl>)>,
}

enum MroEntry {
    Def(Arc<ClassDef>),
    External(String),
    Unresolved(String),
}

const UNITTEST_BASES: [&str; 8] = [
    "unittest.TestCase",
    "unittest.case.TestCase",
    "unittest.IsolatedAsyncioTestCase",
    "django.test.TestCase",
    "django.test.SimpleTestCase",
    "django.test.TransactionTestCase",
    "absl.testing.absltest.TestCase",
    "twisted.trial.unittest.TestCase",
];

const ABC_BASES: [&str; 2] = ["abc.ABC", "ABC"];

/// Output of collecting one module.
#[derive(Default)]
pub struct ModuleItems {
    pub items: Vec<TestItem>,
    pub diagnostics: Vec<ModelDiagnostic>,
}

struct Collector<'a> {
    ctx: &'a ModuleContext<'a>,
    model: &'a ModuleModel,
    /// Fixtures defined at module level.
    module_fixtures: Vec<FixtureDecl>,
    out: ModuleItems,
}

/// A collector failure pytest would report (the collector yields nothing).
struct CollectorError {
    line: u32,
    column: u32,
    message: String,
}

pub fn collect_module(model: &ModuleModel, ctx: &ModuleContext) -> ModuleItems {
    let mut c = Collector {
        ctx,
        model,
        module_fixtures: fixtures_of(&model.entries),
        out: ModuleItems::default(),
    };
    c.out.diagnostics.extend(model.diagnostics.iter().cloned());
    if model.test_attr == Some(false) {
        return c.out;
    }
    let mut items = Vec::new();
    let mut failed = None;
    for (name, entry) in &model.entries {
        let entry = match entry {
            Entry::Imported {
                module,
                level,
                name: orig,
                line,
            } => {
                let interesting =
                    ctx.filters.is_test_class(name) || ctx.filters.is_test_function(name);
                if !interesting || is_external_module(module, *level) {
                    continue;
                }
                match ctx.lookup.lookup_entry(module, *level, orig) {
                    Some(e) => e,
                    None => {
                        c.warn(
                            *line,
                            "unresolved-import",
                            format!("`{name}` imported from `{}{module}` may be a test but could not be resolved statically", ".".repeat(*level as usize)),
                        );
                        continue;
                    }
                }
            }
            other => other.clone(),
        };
        match &entry {
            Entry::Function(f) if ctx.filters.is_test_function(name) => {
                match c.function_items(f, name, &[], &[]) {
                    Ok(mut v) => items.append(&mut v),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            Entry::Class(cls) => {
                let mut v = c.class_items(cls, name, &[], &[]);
                items.append(&mut v);
            }
            _ => {}
        }
    }
    if let Some(e) = failed {
        c.error(
            e.line,
            e.column,
            format!("{}: collection error: {}", ctx.module_id, e.message),
        );
        items.clear();
    }
    if let Some((line, what)) = &model.generated {
        let reason = format!(
            "{}:{line}: tests are generated at import time ({what}); the module is kept as one entry",
            ctx.file
        );
        c.warn(*line, "dynamic-module", reason.clone());
        items.push(c.module_entry(*line, reason));
    }
    c.out.items = items;
    c.out
}

fn is_external_module(module: &str, level: u32) -> bool {
    level == 0
        && matches!(
            module.split('.').next().unwrap_or(""),
            "unittest"
                | "pytest"
                | "_pytest"
                | "typing"
                | "abc"
                | "enum"
                | "collections"
                | "dataclasses"
        )
}

impl<'a> Collector<'a> {
    /// The whole module as one item (`pytest path/to/test_x.py` runs it),
    /// carrying its `pytestmark` and every mark name written in it: the
    /// marks its generated tests may carry.
    fn module_entry(&self, line: u32, reason: String) -> TestItem {
        let mut markers: Vec<Marker> = self.model.pytestmark.iter().map(to_marker).collect();
        // Classes imported from the project (shared test bases) bring theirs.
        let mut names = self.model.mark_names.clone();
        for (_, entry) in &self.model.entries {
            let Entry::Imported {
                module,
                level,
                name,
                ..
            } = entry
            else {
                continue;
            };
            if is_external_module(module, *level) {
                continue;
            }
            if let Some(Entry::Class(cls)) = self.ctx.lookup.lookup_entry(module, *level, name) {
                class_mark_names(&cls, &mut names, 0);
            }
        }
        for name in &names {
            if !markers.iter().any(|m| &m.name == name) {
                markers.push(Marker::new(
                    name.clone(),
                    MarkOrigin {
                        file: self.ctx.file.to_string(),
                        line,
                        source: MarkSource::FunctionDecorator,
                        learned: None,
                    },
                ));
            }
        }
        TestItem {
            id: self.ctx.module_id.to_string(),
            language: Language::Python,
            file: self.ctx.file.to_string(),
            line,
            function: self.ctx.module_id.to_string(),
            markers,
            dynamic: Some(reason),
            rust: None,
        }
    }

    fn warn(&mut self, line: u32, code: &'static str, message: String) {
        self.out.diagnostics.push(ModelDiagnostic {
            severity: Severity::Warning,
            code,
            line,
            column: 0,
            message,
        });
    }

    fn error(&mut self, line: u32, column: u32, message: String) {
        self.out.diagnostics.push(ModelDiagnostic {
            severity: Severity::Error,
            code: "collection-error",
            line,
            column,
            message,
        });
    }

    /// C3 linearisation over the classes we can see; falls back to a
    /// depth-first order when the hierarchy is inconsistent.
    fn mro(&mut self, cls: &Arc<ClassDef>, depth: u32) -> Vec<MroEntry> {
        let mut seqs: Vec<Vec<MroKey>> = Vec::new();
        let mut keyed: Vec<(MroKey, MroEntry)> = Vec::new();
        let mut base_keys: Vec<MroKey> = Vec::new();
        let me = MroKey::of_def(cls);
        keyed.push((me.clone(), MroEntry::Def(cls.clone())));
        if depth < 16 {
            for base in &cls.bases {
                let sub = match self.resolve_base(base) {
                    MroEntry::Def(d) => self.mro(&d, depth + 1),
                    other => vec![other],
                };
                let keys: Vec<MroKey> = sub.iter().map(MroKey::of).collect();
                for (k, e) in keys.iter().cloned().zip(sub) {
                    if !keyed.iter().any(|(kk, _)| *kk == k) {
                        keyed.push((k, e));
                    }
                }
                base_keys.extend(keys.first().cloned());
                seqs.push(keys);
            }
        }
        seqs.push(base_keys);
        let order =
            c3_merge(me, seqs).unwrap_or_else(|| keyed.iter().map(|(k, _)| k.clone()).collect());
        let mut out = Vec::new();
        for k in order {
            if let Some(pos) = keyed.iter().position(|(kk, _)| *kk == k) {
                out.push(keyed.swap_remove(pos).1);
            }
        }
        out
    }

    fn resolve_base(&mut self, base: &BaseRef) -> MroEntry {
        match base {
            BaseRef::Local(d) => MroEntry::Def(d.clone()),
            BaseRef::External(e) => MroEntry::External(e.clone()),
            BaseRef::Unknown(u) => MroEntry::Unresolved(u.clone()),
            BaseRef::Imported {
                module,
                level,
                name,
            } => {
                let known = format!("{module}.{name}");
                if UNITTEST_BASES.contains(&known.as_str()) || is_external_module(module, *level) {
                    return MroEntry::External(known);
                }
                match self.ctx.lookup.lookup_entry(module, *level, name) {
                    Some(Entry::Class(d)) => MroEntry::Def(d),
                    _ => MroEntry::Unresolved(format!(
                        "{}{module}.{name}",
                        ".".repeat(*level as usize)
                    )),
                }
            }
        }
    }

    fn class_items(
        &mut self,
        cls: &Arc<ClassDef>,
        name: &str,
        parents: &[String],
        parent_frames: &[ClassFrame],
    ) -> Vec<TestItem> {
        let mro = self.mro(cls, 0);
        let is_unittest = mro
            .iter()
            .any(|e| matches!(e, MroEntry::External(x) if UNITTEST_BASES.contains(&x.as_str())));
        // `__test__` is looked up through the MRO.
        let test_attr = mro.iter().find_map(|e| match e {
            MroEntry::Def(d) => d.test_attr,
            _ => None,
        });
        if !(is_unittest || self.ctx.filters.is_test_class(name) || test_attr == Some(true)) {
            return Vec::new();
        }
        if test_attr == Some(false) || self.is_abstract(&mro) {
            return Vec::new();
        }
        let mut unresolved_base = None;
        for e in &mro {
            if let MroEntry::Unresolved(u) = e {
                let line = cls.line;
                self.warn(line, "unresolved-base", format!("base class `{u}` of `{name}` could not be resolved; inherited tests and marks may be missing"));
                unresolved_base.get_or_insert_with(|| {
                    format!("base class `{u}` of `{name}` could not be resolved; inherited tests and marks are unknown")
                });
            }
        }
        // Class marks: bases first (reversed MRO), then the class itself.
        let mut marks = Vec::new();
        let mut dynamic = None;
        for e in mro.iter().rev() {
            if let MroEntry::Def(d) = e {
                let own = Arc::ptr_eq(d, cls);
                marks.extend(d.marks.iter().cloned().map(|mut m| {
                    if !own {
                        m.source = MarkSource::InheritedClass;
                    }
                    m
                }));
                if d.dynamic_marks.is_some() {
                    dynamic = d.dynamic_marks.clone();
                }
            }
        }
        if mro
            .iter()
            .any(|e| matches!(e, MroEntry::Def(d) if d.defines_generate_tests))
        {
            dynamic = Some(format!("class `{name}` defines pytest_generate_tests"));
        }
        let dynamic = dynamic.or(unresolved_base);
        let fixtures = mro
            .iter()
            .filter_map(|e| match e {
                MroEntry::Def(d) => Some((d.file.clone(), fixtures_of(&d.entries))),
                _ => None,
            })
            .filter(|(_, f)| !f.is_empty())
            .collect();
        let frame = ClassFrame {
            marks,
            dynamic,
            fixtures,
        };
        let mut frames: Vec<&ClassFrame> = vec![&frame];
        frames.extend(parent_frames.iter());
        let mut chain = parents.to_vec();
        chain.push(name.to_string());

        let defs: Vec<&Arc<ClassDef>> = mro
            .iter()
            .filter_map(|e| match e {
                MroEntry::Def(d) => Some(d),
                _ => None,
            })
            .collect();

        if is_unittest {
            return self.unittest_items(&defs, &chain, &frames);
        }
        if defs.iter().any(|d| d.defines_init) {
            self.warn(
                cls.line,
                "class-with-init",
                format!("cannot collect test class '{name}' because it has a __init__ constructor"),
            );
            return Vec::new();
        }
        if defs.iter().any(|d| d.defines_new) {
            self.warn(
                cls.line,
                "class-with-new",
                format!("cannot collect test class '{name}' because it has a __new__ constructor"),
            );
            return Vec::new();
        }

        // PyCollector.collect: one group per class in the MRO, names claimed
        // by the most derived definition, groups emitted base-first.
        let mut seen: HashSet<&str> = HashSet::new();
        let mut groups: Vec<Vec<TestItem>> = Vec::new();
        let owned_frames: Vec<ClassFrame> = frames.iter().map(|f| (*f).clone()).collect();
        for d in &defs {
            let mut group = Vec::new();
            for (entry_name, entry) in &d.entries {
                if !seen.insert(entry_name.as_str()) {
                    continue;
                }
                match entry {
                    Entry::Function(f) if self.ctx.filters.is_test_function(entry_name) => {
                        match self.function_items(f, entry_name, &chain, &owned_frames) {
                            Ok(mut v) => group.append(&mut v),
                            Err(e) => {
                                self.error(
                                    e.line,
                                    e.column,
                                    format!(
                                        "{}::{}: collection error: {}",
                                        self.ctx.module_id,
                                        chain.join("::"),
                                        e.message
                                    ),
                                );
                                return Vec::new();
                            }
                        }
                    }
                    Entry::Class(inner) => {
                        let mut v = self.class_items(inner, entry_name, &chain, &owned_frames);
                        group.append(&mut v);
                    }
                    _ => {}
                }
            }
            groups.push(group);
        }
        groups.into_iter().rev().flatten().collect()
    }

    fn is_abstract(&self, mro: &[MroEntry]) -> bool {
        let abc = mro.iter().any(|e| match e {
            MroEntry::Def(d) => d.abc_metaclass,
            MroEntry::External(x) => ABC_BASES.contains(&x.as_str()) || x.ends_with(".ABC"),
            MroEntry::Unresolved(_) => false,
        });
        if !abc {
            return false;
        }
        let mut decided: HashSet<&str> = HashSet::new();
        for e in mro {
            let MroEntry::Def(d) = e else { continue };
            for (n, _) in &d.entries {
                if decided.insert(n.as_str()) && d.abstract_methods.iter().any(|a| a == n) {
                    return true;
                }
            }
        }
        false
    }

    /// `UnitTestCase.collect`: `TestLoader.getTestCaseNames` (sorted `test*`
    /// callables over the MRO), no parametrization.
    fn unittest_items(
        &mut self,
        defs: &[&Arc<ClassDef>],
        chain: &[String],
        frames: &[&ClassFrame],
    ) -> Vec<TestItem> {
        let mut decided: HashSet<&str> = HashSet::new();
        let mut methods: Vec<(String, Arc<FuncDef>)> = Vec::new();
        let mut run_test = None;
        for d in defs {
            for (n, e) in &d.entries {
                if !decided.insert(n.as_str()) {
                    continue;
                }
                if let Entry::Function(f) = e {
                    if n.starts_with("test") && !f.is_property {
                        methods.push((n.clone(), f.clone()));
                    } else if n == "runTest" {
                        run_test = Some(f.clone());
                    }
                }
            }
        }
        methods.sort_by(|a, b| a.0.cmp(&b.0));
        if methods.is_empty() {
            if let Some(f) = run_test {
                methods.push(("runTest".into(), f));
            }
        }
        let owned: Vec<ClassFrame> = frames.iter().map(|f| (*f).clone()).collect();
        let mut out = Vec::new();
        for (n, f) in methods {
            let base = format!("{}::{}::{}", self.ctx.module_id, chain.join("::"), n);
            let markers = self.markers(&f.marks, &[], &owned);
            out.push(self.item(
                base.clone(),
                base,
                &f,
                markers,
                self.dynamic_reason(&f, &owned, None),
            ));
        }
        out
    }

    fn dynamic_reason(
        &self,
        f: &FuncDef,
        frames: &[ClassFrame],
        extra: Option<String>,
    ) -> Option<String> {
        extra
            .or_else(|| self.ctx.external_dynamic.clone())
            .or_else(|| {
                self.model
                    .generate_tests_line
                    .map(|l| format!("module defines pytest_generate_tests (line {l})"))
            })
            .or_else(|| self.model.module_skip.clone())
            .or_else(|| f.dynamic_marks.clone())
            .or_else(|| frames.iter().find_map(|fr| fr.dynamic.clone()))
            .or_else(|| self.model.dynamic_marks.clone())
    }

    /// The fixtures visible to a test in `frames`, closest first: its
    /// classes', the module's, then the conftests'.
    fn fixture_layers<'s>(&'s self, frames: &'s [ClassFrame]) -> Vec<FixtureLayer<'s>> {
        let mut layers: Vec<FixtureLayer> = frames
            .iter()
            .flat_map(|fr| fr.fixtures.iter())
            .map(|(file, fixtures)| FixtureLayer { file, fixtures })
            .collect();
        layers.push(FixtureLayer {
            file: self.ctx.file,
            fixtures: &self.module_fixtures,
        });
        layers.extend(self.ctx.conftest_fixtures.iter().copied());
        layers
    }

    /// The closest mark named `name` (`get_closest_marker`): the function's
    /// own, then its classes' from the innermost out, then the module's.
    fn closest_mark<'s>(
        &'s self,
        f: &'s FuncDef,
        frames: &'s [ClassFrame],
        name: &str,
    ) -> Option<&'s PlacedMark> {
        f.marks
            .iter()
            .chain(frames.iter().flat_map(|fr| fr.marks.iter()))
            .chain(self.model.pytestmark.iter())
            .find(|m| m.mark.name == name)
    }

    /// What the active plugins do to one test function (`plugins.rs`): the
    /// marks they add to it, the fixtures they make it request, the
    /// parametrization they append, or why that is not known here.
    fn plugin_effects(&self, f: &FuncDef, frames: &[ClassFrame], base: &str) -> PluginEffects {
        let mut out = PluginEffects::default();
        let plugins = self.ctx.plugins;
        // anyio: `usefixtures("anyio_backend")` on async tests it runs.
        if f.is_async
            && !plugins.anyio_off
            && (plugins.anyio_auto || self.closest_mark(f, frames, "anyio").is_some())
        {
            out.own_marks.push(PlacedMark {
                mark: MarkDeco {
                    name: "usefixtures".into(),
                    args: vec![Value::Str("anyio_backend".into())],
                    kwargs: Vec::new(),
                },
                file: f.file.clone(),
                line: f.line,
                source: MarkSource::FunctionDecorator,
            });
            out.requests.push("anyio_backend");
            let layers = self.fixture_layers(frames);
            let project_defines = layers
                .iter()
                .any(|l| l.fixtures.iter().any(|fx| fx.name == "anyio_backend"));
            if !project_defines {
                out.dynamic = Some(
                    "async test run by anyio: its own `anyio_backend` fixture parametrizes it \
                     by the event loops installed where pytest runs ([asyncio], [trio])"
                        .to_string(),
                );
            }
        }
        // pytest-repeat: `[i-n]` appended by a trylast pytest_generate_tests.
        let repeat_mark = self.closest_mark(f, frames, "repeat");
        match (plugins.repeat, repeat_mark) {
            (Some(default), mark) => {
                let count = match mark.map(|m| m.mark.args.first()) {
                    None => Some(default),
                    Some(Some(Value::Int(n))) => n.parse::<u64>().ok(),
                    Some(Some(Value::Bool(b))) => Some(u64::from(*b)),
                    Some(_) => None,
                };
                match count {
                    // pytest-repeat parametrizes only from 2 up; each id is
                    // a string of its own, so a huge count is refused here.
                    Some(n) if n > 1 && n <= REPEAT_MAX => {
                        let ids = (1..=n).map(|i| Value::Str(format!("{i}-{n}"))).collect();
                        out.append = Some(PlacedMark {
                            mark: MarkDeco {
                                name: "parametrize".into(),
                                args: vec![
                                    Value::Str("__pytest_repeat_step_number".into()),
                                    Value::List(
                                        (0..n).map(|i| Value::Int(i.to_string())).collect(),
                                    ),
                                ],
                                kwargs: vec![("ids".into(), Value::List(ids))],
                            },
                            file: mark
                                .map(|m| m.file.clone())
                                .unwrap_or_else(|| f.file.clone()),
                            line: mark.map(|m| m.line).unwrap_or(f.line),
                            source: MarkSource::Param,
                        });
                    }
                    Some(n) if n > REPEAT_MAX => {
                        out.dynamic = Some(format!(
                            "{base}: pytest-repeat count {n} is above the {REPEAT_MAX} cases \
                             tollgate expands"
                        ));
                    }
                    Some(_) => {}
                    None => out.dynamic = Some(
                        "the count of its `repeat` mark is not known statically (pytest-repeat)"
                            .to_string(),
                    ),
                }
            }
            (None, Some(m)) => {
                out.dynamic = Some(format!(
                    "marked `repeat` ({}:{}), which pytest-repeat multiplies when installed; \
                     nothing says it is (declare it in [python] plugins)",
                    m.file, m.line
                ));
            }
            (None, None) => {}
        }
        out
    }

    /// The parametrized fixture `f` requests (by argument, `usefixtures` or
    /// `autouse`), if any: expanded like pytest does when its `params=` are
    /// known and it is the only one, else the reason it is not.
    fn parametrized_fixture(
        &self,
        f: &FuncDef,
        frames: &[ClassFrame],
        direct: &[String],
        plugin_requests: &[&str],
    ) -> FixtureParams {
        let mut requests = f.argnames.clone();
        requests.extend(plugin_requests.iter().map(|r| r.to_string()));
        let usefixtures = f
            .marks
            .iter()
            .chain(frames.iter().flat_map(|fr| fr.marks.iter()))
            .chain(self.model.pytestmark.iter())
            .filter(|m| m.mark.name == "usefixtures");
        for m in usefixtures {
            requests.extend(m.mark.args.iter().filter_map(|a| match a {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            }));
        }
        let layers = self.fixture_layers(frames);
        // A test that parametrizes the fixture's name itself overrides its params.
        let found: Vec<(&str, &FixtureDecl)> = parametrized_requests(&requests, &layers)
            .into_iter()
            .filter(|(_, fx)| !direct.contains(&fx.name))
            .collect();
        let reason = |file: &str, fx: &FixtureDecl, why: &str| {
            format!(
                "requests parametrized fixture `{}` ({file}:{}); {why}",
                fx.name, fx.line
            )
        };
        match found.as_slice() {
            [] => FixtureParams::None,
            [(file, fx)] => match &fx.params {
                Some(params @ (Value::List(_) | Value::Tuple(_))) => {
                    let mut kwargs = Vec::new();
                    if let Some(ids) = &fx.ids {
                        kwargs.push(("ids".to_string(), ids.clone()));
                    }
                    FixtureParams::Expand {
                        deco: MarkDeco {
                            name: "parametrize".into(),
                            args: vec![Value::Str(fx.name.clone()), params.clone()],
                            kwargs,
                        },
                        file: Arc::from(*file),
                        line: fx.line,
                    }
                }
                Some(other) => FixtureParams::Dynamic(reason(
                    file,
                    fx,
                    &format!(
                        "its params `{}` are not known statically",
                        other.source_text()
                    ),
                )),
                None => FixtureParams::Dynamic(reason(file, fx, "its params are not known")),
            },
            [(file, fx), ..] => FixtureParams::Dynamic(reason(
                file,
                fx,
                "with other parametrized fixtures; their combined order is not expanded",
            )),
        }
    }

    /// Markers in `iter_markers()` order: the function's own (decorators,
    /// then its case's `pytest.param` marks), enclosing classes from the
    /// innermost out, then the module's `pytestmark`.
    fn markers(
        &self,
        own: &[PlacedMark],
        param: &[(PlacedMark, ())],
        frames: &[ClassFrame],
    ) -> Vec<Marker> {
        let mut out: Vec<Marker> = own.iter().map(to_marker).collect();
        out.extend(param.iter().map(|(m, _)| to_marker(m)));
        for f in frames {
            out.extend(f.marks.iter().map(to_marker));
        }
        out.extend(self.model.pytestmark.iter().map(to_marker));
        out
    }

    fn item(
        &self,
        id: String,
        function: String,
        f: &FuncDef,
        mut markers: Vec<Marker>,
        dynamic: Option<String>,
    ) -> TestItem {
        // pytest-asyncio's auto mode and pytest-trio's trio mode mark every
        // `async def` test.
        let plugins = self.ctx.plugins;
        for (on, name) in [
            (plugins.asyncio_auto, "asyncio"),
            (plugins.trio_mode, "trio"),
        ] {
            if on && f.is_async && !markers.iter().any(|m| m.name == name) {
                markers.push(Marker::new(
                    name,
                    MarkOrigin {
                        file: f.file.to_string(),
                        line: f.line,
                        source: MarkSource::FunctionDecorator,
                        learned: None,
                    },
                ));
            }
        }
        TestItem {
            id,
            language: Language::Python,
            file: if f.file.is_empty() {
                self.ctx.file.to_string()
            } else {
                f.file.to_string()
            },
            line: f.line,
            function,
            markers,
            dynamic,
            rust: None,
        }
    }

    fn function_items(
        &mut self,
        f: &Arc<FuncDef>,
        name: &str,
        chain: &[String],
        frames: &[ClassFrame],
    ) -> Result<Vec<TestItem>, CollectorError> {
        if f.is_fixture || f.is_property {
            return Ok(Vec::new());
        }
        if f.is_generator {
            return Err(CollectorError {
                line: f.line,
                column: f.column,
                message: format!(
                    "'yield' keyword is allowed in fixtures, but not in tests ({name})"
                ),
            });
        }
        let base = if chain.is_empty() {
            format!("{}::{name}", self.ctx.module_id)
        } else {
            format!("{}::{}::{name}", self.ctx.module_id, chain.join("::"))
        };
        // Parametrize marks in iter_markers order.
        let mut parametrize: Vec<&PlacedMark> = f
            .marks
            .iter()
            .filter(|m| m.mark.name == "parametrize")
            .collect();
        for fr in frames {
            parametrize.extend(fr.marks.iter().filter(|m| m.mark.name == "parametrize"));
        }
        parametrize.extend(
            self.model
                .pytestmark
                .iter()
                .filter(|m| m.mark.name == "parametrize"),
        );
        let direct: Vec<String> = parametrize
            .iter()
            .filter_map(|p| p.mark.args.first())
            .flat_map(|names| match names {
                Value::Str(s) => s.split(',').map(|n| n.trim().to_string()).collect(),
                Value::List(v) | Value::Tuple(v) => v
                    .iter()
                    .filter_map(|n| match n {
                        Value::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let effects = self.plugin_effects(f, frames, &base);
        let own: Vec<PlacedMark> = f.marks.iter().chain(&effects.own_marks).cloned().collect();
        let mut fixture_params = effects.dynamic.clone();
        // pytest parametrizes with fixture params before the marks: their
        // ids come first, and their cases are the outer loop.
        let mut fixture_deco: Option<PlacedMark> = None;
        match self.parametrized_fixture(f, frames, &direct, &effects.requests) {
            FixtureParams::None => {}
            FixtureParams::Expand { deco, file, line } => {
                fixture_deco = Some(PlacedMark {
                    mark: deco,
                    file,
                    line,
                    source: MarkSource::Param,
                })
            }
            FixtureParams::Dynamic(reason) => {
                self.warn(
                    f.line,
                    "dynamic-fixture-params",
                    format!("{base}: {reason}; kept as one entry"),
                );
                fixture_params = fixture_params.or(Some(reason));
            }
        }
        // A plugin's parametrization (pytest-repeat's, trylast) comes last.
        let parametrize: Vec<&PlacedMark> = fixture_deco
            .iter()
            .chain(parametrize)
            .chain(effects.append.iter())
            .collect();
        if parametrize.is_empty() {
            let markers = self.markers(&own, &[], frames);
            let dynamic = self.dynamic_reason(f, frames, fixture_params);
            return Ok(vec![self.item(base.clone(), base, f, markers, dynamic)]);
        }
        let decos: Vec<&crate::value::MarkDeco> = parametrize.iter().map(|m| &m.mark).collect();
        match expand(&decos, self.ctx.ids) {
            Ok(cases) => {
                let dynamic = self.dynamic_reason(f, frames, fixture_params);
                Ok(cases
                    .into_iter()
                    .map(|case| {
                        let id = match case.suffix() {
                            Some(s) => format!("{base}[{s}]"),
                            None => base.clone(),
                        };
                        let param: Vec<(PlacedMark, ())> = case
                            .marks
                            .iter()
                            .map(|cm| {
                                let at = parametrize
                                    .get(cm.parametrize)
                                    .map(|p| (p.file.clone(), cm.line.unwrap_or(p.line)));
                                let (file, line) = at.unwrap_or_else(|| (f.file.clone(), f.line));
                                (
                                    PlacedMark {
                                        mark: cm.mark.clone(),
                                        file,
                                        line,
                                        source: MarkSource::Param,
                                    },
                                    (),
                                )
                            })
                            .collect();
                        let markers = self.markers(&own, &param, frames);
                        self.item(id, base.clone(), f, markers, dynamic.clone())
                    })
                    .collect())
            }
            Err(ExpandError::Dynamic(reason)) => {
                self.warn(
                    f.line,
                    "dynamic-parametrize",
                    format!("{base}: {reason}; kept as one entry"),
                );
                // Keep the union of the marks the cases could carry.
                let param: Vec<(PlacedMark, ())> = parametrize
                    .iter()
                    .flat_map(|p| param_marks_of(p))
                    .map(|m| (m, ()))
                    .collect();
                let markers = self.markers(&own, &param, frames);
                Ok(vec![self.item(
                    base.clone(),
                    base,
                    f,
                    markers,
                    Some(reason),
                )])
            }
            Err(ExpandError::CollectionError(message)) => Err(CollectorError {
                line: f.line,
                column: f.column,
                message,
            }),
        }
    }
}

/// Mark names written on a class, its methods and its local bases.
fn class_mark_names(cls: &ClassDef, out: &mut Vec<String>, depth: u32) {
    let mut push = |name: &str| {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    };
    for m in &cls.marks {
        push(&m.mark.name);
    }
    for (_, e) in &cls.entries {
        if let Entry::Function(f) = e {
            for m in &f.marks {
                push(&m.mark.name);
            }
        }
    }
    if depth < 8 {
        for b in &cls.bases {
            if let BaseRef::Local(base) = b {
                class_mark_names(base, out, depth + 1);
            }
        }
    }
}

/// Most cases of one test pytest-repeat's model expands.
const REPEAT_MAX: u64 = 10_000;

/// What the active plugins do to one test function.
#[derive(Default)]
struct PluginEffects {
    /// Marks added to the function itself.
    own_marks: Vec<PlacedMark>,
    /// Fixtures it is made to request.
    requests: Vec<&'static str>,
    /// A parametrization appended after all others.
    append: Option<PlacedMark>,
    /// Why its items are not known statically.
    dynamic: Option<String>,
}

/// What a parametrized fixture does to a test's cases.
enum FixtureParams {
    None,
    /// One more parametrization (synthesized from `params=`/`ids=`).
    Expand {
        deco: MarkDeco,
        file: Arc<str>,
        line: u32,
    },
    Dynamic(String),
}

/// The fixtures defined among `entries`, in definition order.
fn fixtures_of(entries: &[(String, Entry)]) -> Vec<FixtureDecl> {
    entries
        .iter()
        .filter_map(|(_, e)| match e {
            Entry::Function(f) => f.fixture.clone(),
            _ => None,
        })
        .collect()
}

/// The `pytest.param(marks=...)` of a parametrize mark whose values are not
/// all static, as far as they are known.
fn param_marks_of(p: &PlacedMark) -> Vec<PlacedMark> {
    let values = p.mark.args.get(1).or_else(|| p.mark.kwarg("argvalues"));
    let items: Vec<&Value> = match values {
        Some(Value::List(items) | Value::Tuple(items)) => items.iter().collect(),
        Some(Value::Comprehension { element, .. }) => vec![element.as_ref()],
        _ => return Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|v| match v {
            Value::Param(ps) => Some(ps.marks.iter().map(|m| PlacedMark {
                mark: m.clone(),
                file: p.file.clone(),
                line: ps.marks_line.unwrap_or(p.line),
                source: MarkSource::Param,
            })),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Parametrize `argvalues` longer than this are summarised in marker
/// arguments (the ids already carry them; copying them into every case's
/// marker would make memory quadratic).
const MAX_ARGVALUES_IN_MARKER: usize = 32;

fn to_marker(m: &PlacedMark) -> Marker {
    // Every case carries the parametrize mark: a long argvalues list is
    // summarised before it is converted, or n cases cost n² work.
    let args: Vec<MarkValue> = m
        .mark
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| match a {
            Value::List(v) | Value::Tuple(v)
                if i == 1 && m.mark.name == "parametrize" && v.len() > MAX_ARGVALUES_IN_MARKER =>
            {
                MarkValue::Expr {
                    expr: format!("<{} values>", v.len()),
                }
            }
            other => other.to_mark_value(),
        })
        .collect();
    Marker {
        name: m.mark.name.clone(),
        args,
        kwargs: m
            .mark
            .kwargs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_mark_value()))
            .collect(),
        origin: MarkOrigin {
            file: m.file.to_string(),
            line: m.line,
            source: m.source,
            learned: None,
        },
    }
}

/// Identity of a class in an MRO.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MroKey {
    Def(usize),
    Other(String),
}

impl MroKey {
    fn of_def(d: &Arc<ClassDef>) -> MroKey {
        MroKey::Def(Arc::as_ptr(d) as usize)
    }
    fn of(e: &MroEntry) -> MroKey {
        match e {
            MroEntry::Def(d) => MroKey::of_def(d),
            MroEntry::External(x) => MroKey::Other(x.clone()),
            MroEntry::Unresolved(x) => MroKey::Other(format!("?{x}")),
        }
    }
}

fn c3_merge(head: MroKey, mut seqs: Vec<Vec<MroKey>>) -> Option<Vec<MroKey>> {
    let mut out = vec![head];
    loop {
        seqs.retain(|s| !s.is_empty());
        if seqs.is_empty() {
            return Some(out);
        }
        let candidate = seqs.iter().find_map(|s| {
            let c = s.first()?;
            let in_tail = seqs.iter().any(|t| t.iter().skip(1).any(|x| x == c));
            (!in_tail).then(|| c.clone())
        })?;
        for s in seqs.iter_mut() {
            if s.first() == Some(&candidate) {
                s.remove(0);
            }
        }
        out.push(candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::build_module;
    use crate::value::NoImports;

    struct NoLookup;
    impl EntryLookup for NoLookup {
        fn lookup_entry(&self, _: &str, _: u32, _: &str) -> Option<Entry> {
            None
        }
    }

    fn items(src: &str) -> ModuleItems {
        items_with(src, false)
    }

    fn items_with(src: &str, asyncio_auto: bool) -> ModuleItems {
        let plugins = crate::plugins::PluginSet {
            asyncio_auto,
            ..Default::default()
        };
        items_with_plugins(src, &plugins)
    }

    fn items_with_plugins(src: &str, plugins: &crate::plugins::PluginSet) -> ModuleItems {
        let model = build_module(src, Arc::from("t.py"), &NoImports, 0, false).unwrap();
        let filters = NameFilters {
            classes: vec!["Test".into()],
            functions: vec!["test".into()],
        };
        let ctx = ModuleContext {
            module_id: "t.py",
            file: "t.py",
            filters: &filters,
            ids: &IdOptions::default(),
            external_dynamic: None,
            lookup: &NoLookup,
            conftest_fixtures: &[],
            plugins,
        };
        collect_module(&model, &ctx)
    }

    fn names_of(item: &TestItem) -> Vec<&str> {
        item.markers.iter().map(|m| m.name.as_str()).collect()
    }

    /// (id, sorted distinct marker names, flagged dynamic) per item.
    type Row = (String, Vec<String>, bool);

    fn ids_and_marks(out: ModuleItems) -> Vec<Row> {
        out.items
            .iter()
            .map(|t| {
                let mut names: Vec<String> = names_of(t).into_iter().map(String::from).collect();
                names.sort_unstable();
                names.dedup();
                (t.id.clone(), names, t.dynamic.is_some())
            })
            .collect()
    }

    fn row(id: &str, marks: &[&str], dynamic: bool) -> Row {
        (
            id.to_string(),
            marks.iter().map(|m| m.to_string()).collect(),
            dynamic,
        )
    }

    /// Checked against real pytest 9.2 with anyio 4.16 and trio installed:
    /// `test_any[asyncio]`/`[trio]` with marks {anyio, usefixtures}, the
    /// sync one untouched; with the project's own plain `anyio_backend`
    /// fixture, one item and no suffix.
    #[test]
    fn plugin_model_anyio() {
        let plugins = crate::plugins::PluginSet::default();
        let src = "import pytest\n@pytest.mark.anyio\nasync def test_any(): pass\n@pytest.mark.anyio\ndef test_sync(): pass\nasync def test_plain(): pass\n";
        let got = ids_and_marks(items_with_plugins(src, &plugins));
        assert_eq!(
            got,
            [
                row("t.py::test_any", &["anyio", "usefixtures"], true),
                row("t.py::test_sync", &["anyio"], false),
                row("t.py::test_plain", &[], false),
            ]
        );
        let own_backend = "import pytest\npytestmark = pytest.mark.anyio\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\nasync def test_o(): pass\n";
        let got = ids_and_marks(items_with_plugins(own_backend, &plugins));
        assert_eq!(got, [row("t.py::test_o", &["anyio", "usefixtures"], false)]);
        let params = "import pytest\n@pytest.fixture(params=['asyncio', 'trio'])\ndef anyio_backend(request):\n    return request.param\n@pytest.mark.anyio\nasync def test_p(): pass\n";
        let got = ids_and_marks(items_with_plugins(params, &plugins));
        let ids: Vec<&str> = got.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, ["t.py::test_p[asyncio]", "t.py::test_p[trio]"]);
        assert!(got.iter().all(|(_, _, dynamic)| !dynamic));
        let auto = crate::plugins::PluginSet {
            anyio_auto: true,
            ..Default::default()
        };
        let got = ids_and_marks(items_with_plugins(
            own_backend
                .replace("pytestmark = pytest.mark.anyio\n", "")
                .as_str(),
            &auto,
        ));
        assert_eq!(got, [row("t.py::test_o", &["usefixtures"], false)]);
        // `-p no:anyio` (real pytest: three plain items, `anyio` an
        // unknown mark): the model adds nothing, in auto mode neither.
        let off = crate::plugins::PluginSet {
            anyio_off: true,
            anyio_auto: false,
            ..Default::default()
        };
        let got = ids_and_marks(items_with_plugins(src, &off));
        assert_eq!(
            got,
            [
                row("t.py::test_any", &["anyio"], false),
                row("t.py::test_sync", &["anyio"], false),
                row("t.py::test_plain", &[], false),
            ]
        );
    }

    /// Real pytest with pytest-repeat 0.9: `test_rep[1-3]`..`[3-3]`; with
    /// `--count 2` every test gets `[i-2]` after its own parameters.
    #[test]
    fn plugin_model_repeat() {
        let src = "import pytest\n@pytest.mark.repeat(3)\ndef test_rep(): pass\n@pytest.mark.parametrize('x', [1, 2])\ndef test_par(x): pass\n@pytest.mark.repeat(n)\ndef test_unknown(): pass\n";
        let on = crate::plugins::PluginSet {
            repeat: Some(2),
            ..Default::default()
        };
        let got = ids_and_marks(items_with_plugins(src, &on));
        let ids: Vec<(&str, bool)> = got.iter().map(|(id, _, d)| (id.as_str(), *d)).collect();
        assert_eq!(
            ids,
            [
                ("t.py::test_rep[1-3]", false),
                ("t.py::test_rep[2-3]", false),
                ("t.py::test_rep[3-3]", false),
                ("t.py::test_par[1-1-2]", false),
                ("t.py::test_par[1-2-2]", false),
                ("t.py::test_par[2-1-2]", false),
                ("t.py::test_par[2-2-2]", false),
                ("t.py::test_unknown", true),
            ]
        );
        // Without evidence of pytest-repeat, a `repeat` mark is not guessed.
        let off = crate::plugins::PluginSet::default();
        let got = ids_and_marks(items_with_plugins(src, &off));
        assert_eq!(got[0], row("t.py::test_rep", &["repeat"], true));
        assert_eq!(got[1].0, "t.py::test_par[1]");
        assert!(!got[1].2);
    }

    #[test]
    fn plugin_model_trio_mode() {
        let on = crate::plugins::PluginSet {
            trio_mode: true,
            ..Default::default()
        };
        let src = "async def test_t(): pass\nclass TestK:\n    async def test_k(self): pass\ndef test_sync(): pass\n";
        let got = ids_and_marks(items_with_plugins(src, &on));
        let marks: Vec<Vec<String>> = got.into_iter().map(|(_, m, _)| m).collect();
        assert_eq!(marks, [vec!["trio"], vec!["trio"], Vec::<&str>::new()]);
    }

    #[test]
    fn plugin_models_hypothesis_and_asyncio_auto() {
        let src = "import hypothesis\nfrom hypothesis import given, strategies as st\n@given(st.integers())\ndef test_a(x): pass\n@hypothesis.given(x=st.text())\ndef test_b(x): pass\nasync def test_c(): pass\ndef test_d(): pass\n";
        let out = items_with(src, true);
        let names: Vec<Vec<&str>> = out.items.iter().map(names_of).collect();
        assert_eq!(
            names,
            vec![
                vec!["hypothesis"],
                vec!["hypothesis"],
                vec!["asyncio"],
                vec![]
            ]
        );
        // Strict mode (the default) adds nothing to `async def` tests.
        assert!(items_with(src, false).items[2].markers.is_empty());
    }

    #[test]
    fn fixture_params_from_a_helper_expand_with_case_marks() {
        let src = "import pytest\nfrom dataclasses import dataclass\n@dataclass\nclass Cfg:\n    model: str\n    marks: list\nCONFIGS = {'agg': Cfg(model='m/a', marks=[pytest.mark.gpu_1]), 'dis': Cfg(model='m/b', marks=[pytest.mark.gpu_2])}\ndef with_model(configs):\n    out = []\n    for name, cfg in configs.items():\n        marks = list(getattr(cfg, 'marks', []))\n        marks.append(pytest.mark.model(cfg.model))\n        out.append(pytest.param(name, marks=marks))\n    return out\n@pytest.fixture(params=with_model(CONFIGS))\ndef cfg(request):\n    return request.param\n@pytest.mark.parametrize('n', [1, 2])\ndef test_x(cfg, n): pass\n";
        let out = items(src);
        let ids: Vec<&str> = out.items.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "t.py::test_x[agg-1]",
                "t.py::test_x[agg-2]",
                "t.py::test_x[dis-1]",
                "t.py::test_x[dis-2]"
            ]
        );
        assert_eq!(
            names_of(&out.items[2]),
            vec!["parametrize", "gpu_2", "model"]
        );
        assert!(out.items.iter().all(|t| t.dynamic.is_none()));
    }

    #[test]
    fn conditional_helper_code_is_unknown_not_guessed() {
        let src = "import os, pytest\ndef engines():\n    out = []\n    if os.environ.get('X'):\n        out.append('x')\n    return out\n@pytest.mark.parametrize('e', engines())\ndef test_e(e): pass\n";
        let out = items(src);
        assert_eq!(out.items.len(), 1);
        let why = out.items[0].dynamic.as_deref().unwrap_or("");
        assert!(why.contains("condition not known statically"), "{why}");
        assert!(why.contains("line 4"), "{why}");
    }

    #[test]
    fn deep_recursion_in_a_helper_is_a_reasoned_give_up() {
        let src = "import pytest\ndef f(n):\n    return f(n + 1)\n@pytest.mark.parametrize('v', f(0))\ndef test_v(v): pass\n";
        let out = items(src);
        let why = out.items[0].dynamic.as_deref().unwrap_or("");
        assert!(why.contains("nest deeper"), "{why}");
    }

    fn ids(src: &str) -> Vec<String> {
        items(src).items.into_iter().map(|t| t.id).collect()
    }

    #[test]
    fn inherited_methods_come_first_and_overrides_keep_base_position() {
        let src = "class Base:\n    def test_b(self): pass\n    def test_o(self): pass\nclass TestC(Base):\n    def test_o(self): pass\n    def test_c(self): pass\n";
        assert_eq!(
            ids(src),
            vec![
                "t.py::TestC::test_b",
                "t.py::TestC::test_o",
                "t.py::TestC::test_c"
            ]
        );
    }

    #[test]
    fn unittest_methods_are_sorted_and_need_no_test_prefix_on_class() {
        let src = "import unittest\nclass Checks(unittest.TestCase):\n    def test_z(self): pass\n    def test_a(self): pass\n    def helper(self): pass\n";
        assert_eq!(
            ids(src),
            vec!["t.py::Checks::test_a", "t.py::Checks::test_z"]
        );
    }

    #[test]
    fn init_abstract_and_disabled_classes_are_skipped() {
        let src = "import abc\nclass TestI:\n    def __init__(self): pass\n    def test_x(self): pass\nclass TestA(abc.ABC):\n    @abc.abstractmethod\n    def run(self): pass\n    def test_y(self): pass\nclass TestOff:\n    __test__ = False\n    def test_z(self): pass\n";
        let out = items(src);
        assert!(out.items.is_empty(), "{:?}", out.items);
        assert!(out.diagnostics.iter().any(|d| d.code == "class-with-init"));
    }

    #[test]
    fn generator_test_fails_its_collector() {
        let out = items("def test_ok(): pass\ndef test_gen():\n    yield 1\n");
        assert!(out.items.is_empty());
        assert!(out.diagnostics.iter().any(|d| d.code == "collection-error"));
    }

    #[test]
    fn param_marks_point_at_the_line_they_are_written_on() {
        let src = "import pytest\n@pytest.mark.parametrize('x', [\n    1,\n    pytest.param(2,\n        marks=pytest.mark.slow),\n])\ndef test_p(x): pass\n";
        let out = items(src);
        let slow: Vec<u32> = out
            .items
            .iter()
            .flat_map(|t| t.markers.iter())
            .filter(|m| m.name == "slow")
            .map(|m| m.origin.line)
            .collect();
        assert_eq!(slow, vec![5]);
        let param_line = out.items[1].markers[0].origin.line;
        assert_eq!(param_line, 2, "the parametrize mark keeps its own line");
    }

    #[test]
    fn parametrized_fixtures_expand_or_flag_requesting_tests() {
        let src = "import pytest\nfrom elsewhere import load\n@pytest.fixture(params=[1, 2])\ndef p(request): return request.param\nclass TestA:\n    @pytest.fixture(params=['a'])\n    def q(self, request): pass\n    def test_q(self, q): pass\n    def test_self_only(self): pass\n@pytest.fixture(params=load())\ndef r(request): pass\ndef test_p(p): pass\ndef test_r(r): pass\ndef test_both(p, r): pass\ndef test_none(tmp_path): pass\n";
        let out = items(src);
        let flagged: Vec<(&str, bool)> = out
            .items
            .iter()
            .map(|t| (t.id.as_str(), t.dynamic.is_some()))
            .collect();
        assert_eq!(
            flagged,
            vec![
                ("t.py::TestA::test_q[a]", false),
                ("t.py::TestA::test_self_only", false),
                ("t.py::test_p[1]", false),
                ("t.py::test_p[2]", false),
                ("t.py::test_r", true),
                ("t.py::test_both", true),
                ("t.py::test_none", false),
            ]
        );
        assert!(out.items[4]
            .dynamic
            .as_deref()
            .is_some_and(|r| r.contains("`r` (t.py:11)")));
        assert!(out
            .diagnostics
            .iter()
            .any(|d| d.code == "dynamic-fixture-params"));
    }

    #[test]
    fn class_body_mark_aliases_and_mark_factories() {
        let src = "import pytest\ndef dual(n):\n    def deco(f):\n        return pytest.mark.parametrize(n, [lambda: 1])(f)\n    return deco\nclass TestE:\n    kinds = pytest.mark.parametrize('k', ['a', 'b'])\n    @kinds\n    def test_k(self, k): pass\nclass TestLater:\n    kinds = 1\n    def test_l(self): pass\n@dual('v')\ndef test_f(v): pass\n";
        let out = items(src);
        let ids: Vec<&str> = out.items.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "t.py::TestE::test_k[a]",
                "t.py::TestE::test_k[b]",
                "t.py::TestLater::test_l",
                "t.py::test_f",
            ]
        );
        let factory = &out.items[3];
        assert!(factory.dynamic.is_some());
        let names: Vec<&str> = factory.markers.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, vec!["parametrize"]);
    }

    #[test]
    fn project_class_decorators_unresolved_bases_and_call_made_classes_are_reported() {
        let src = "from elsewhere import Base, util\ndef parameterize(cls): return cls\n@parameterize\nclass TestDeco:\n    def test_a(self): pass\nclass TestSub(TestDeco):\n    def test_b(self): pass\nclass TestExt(Base):\n    def test_c(self): pass\nclass TestPlain:\n    def test_d(self): pass\nA_Tests, B_Tests = util.test_both(TestPlain)\n";
        let out = items(src);
        let got: Vec<(&str, bool)> = out
            .items
            .iter()
            .map(|t| (t.id.as_str(), t.dynamic.is_some()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("t.py::TestDeco::test_a", true),
                ("t.py::TestSub::test_a", true),
                ("t.py::TestSub::test_b", true),
                ("t.py::TestExt::test_c", true),
                ("t.py::TestPlain::test_d", false),
                // The classes made by a call: the module as one dynamic entry.
                ("t.py", true),
            ]
        );
        let codes: Vec<(&str, u32)> = out.diagnostics.iter().map(|d| (d.code, d.line)).collect();
        assert!(codes.contains(&("dynamic-class", 4)), "{codes:?}");
        assert!(codes.contains(&("unresolved-base", 8)), "{codes:?}");
        assert_eq!(
            codes
                .iter()
                .filter(|c| **c == ("dynamic-class", 12))
                .count(),
            2
        );
    }

    #[test]
    fn marks_follow_iter_markers_order_with_sources() {
        let src = "import pytest\npytestmark = pytest.mark.mod\nclass Base:\n    pytestmark = [pytest.mark.base]\n@pytest.mark.cls\nclass TestC(Base):\n    @pytest.mark.fn\n    @pytest.mark.parametrize('x', [pytest.param(1, marks=pytest.mark.case)])\n    def test_m(self, x): pass\n";
        let out = items(src);
        let t = &out.items[0];
        let got: Vec<(&str, MarkSource)> = t
            .markers
            .iter()
            .map(|m| (m.name.as_str(), m.origin.source))
            .collect();
        assert_eq!(
            got,
            vec![
                ("parametrize", MarkSource::FunctionDecorator),
                ("fn", MarkSource::FunctionDecorator),
                ("case", MarkSource::Param),
                ("base", MarkSource::InheritedClass),
                ("cls", MarkSource::ClassDecorator),
                ("mod", MarkSource::ModulePytestmark),
            ]
        );
        assert_eq!(t.id, "t.py::TestC::test_m[1]");
        assert_eq!(t.function, "t.py::TestC::test_m");
    }

    #[test]
    fn importorskip_and_dynamic_parametrize_flag_items() {
        let out =
            items("import pytest\ntorch = pytest.importorskip('torch')\ndef test_a(): pass\n");
        assert!(out.items[0]
            .dynamic
            .as_deref()
            .is_some_and(|r| r.contains("importorskip")));
        let out =
            items("import pytest\n@pytest.mark.parametrize('x', load())\ndef test_b(x): pass\n");
        assert_eq!(out.items.len(), 1);
        assert_eq!(out.items[0].id, "t.py::test_b");
        assert!(out.items[0].dynamic.is_some());
    }
}
