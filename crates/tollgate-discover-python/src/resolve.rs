//! Follows `from x import Name` to other project files, so that test
//! classes, base classes and mark aliases defined elsewhere are known.
//! Imported modules are modelled once and cached (they are usually shared
//! helpers); resolution depth is bounded to survive import cycles.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::cache::{sha256, DepSet, Deps};
use crate::collect::EntryLookup;
use crate::model::{build_module, module_scope, Entry, ModuleModel};
use crate::value::{ImportLookup, NamedKind, Value};
use crate::walk::{read_source, rel_to};

const MAX_IMPORT_DEPTH: u32 = 5;

type FoundModules = HashMap<(PathBuf, String, u32), Option<PathBuf>>;

/// A modelled module (or `None`: unreadable or unparsable) and what
/// modelling it read.
type Modelled = (Option<Arc<ModuleModel>>, Arc<DepSet>);

pub struct ProjectModules {
    rootdir: PathBuf,
    cache: Mutex<HashMap<PathBuf, Modelled>>,
    /// `find_module` answers per (importer directory, module, level).
    found: Mutex<FoundModules>,
}

impl ProjectModules {
    pub fn new(rootdir: PathBuf) -> Self {
        ProjectModules {
            rootdir,
            cache: Mutex::new(HashMap::new()),
            found: Mutex::new(HashMap::new()),
        }
    }

    /// Where `import module` (with `level` leading dots) from `importer`
    /// would land, under pytest's default `prepend` import mode.
    pub(crate) fn find_module(&self, importer: &Path, module: &str, level: u32) -> Option<PathBuf> {
        let key = (importer.parent()?.to_path_buf(), module.to_string(), level);
        if let Some(hit) = self.found.lock().ok().and_then(|f| f.get(&key).cloned()) {
            return hit;
        }
        let found = self.search_module(importer, module, level);
        if let Ok(mut f) = self.found.lock() {
            f.insert(key, found.clone());
        }
        found
    }

    fn search_module(&self, importer: &Path, module: &str, level: u32) -> Option<PathBuf> {
        let parts: Vec<&str> = module.split('.').filter(|p| !p.is_empty()).collect();
        let roots: Vec<PathBuf> = if level > 0 {
            let mut base = importer.parent()?.to_path_buf();
            for _ in 1..level {
                base = base.parent()?.to_path_buf();
            }
            vec![base]
        } else {
            let mut roots = vec![];
            // The first directory above the importer's package is on sys.path.
            let mut dir = importer.parent()?;
            while dir.join("__init__.py").is_file() {
                match dir.parent() {
                    Some(p) => dir = p,
                    None => break,
                }
            }
            roots.push(dir.to_path_buf());
            roots.push(self.rootdir.clone());
            roots.extend(
                importer
                    .ancestors()
                    .skip(1)
                    .take_while(|a| a.starts_with(&self.rootdir))
                    .map(Path::to_path_buf),
            );
            roots
        };
        for root in roots {
            let mut p = root.clone();
            for part in &parts {
                p.push(part);
            }
            let as_file = p.with_extension("py");
            if !parts.is_empty() && as_file.is_file() {
                return Some(as_file);
            }
            let init = p.join("__init__.py");
            if init.is_file() {
                return Some(init);
            }
        }
        None
    }

    /// The model of the module at `path`, built once; what it read (the
    /// file itself included) is added to `deps`.
    fn model(&self, path: &Path, depth: u32, deps: &Deps) -> Option<Arc<ModuleModel>> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((model, read)) = cache.get(path) {
                deps.merge(read);
                return model.clone();
            }
        }
        let own = Deps::default();
        let model = match read_source(path) {
            Ok(source) => {
                own.file(path, Some(sha256(source.as_bytes())));
                let rel: Arc<str> = Arc::from(
                    rel_to(path, &self.rootdir)
                        .unwrap_or_else(|| path.to_string_lossy().into_owned()),
                );
                let lookup = FileLookup {
                    modules: self,
                    importer: path.to_path_buf(),
                    depth,
                    deps: &own,
                };
                build_module(&source, rel, &lookup, depth, true)
                    .ok()
                    .map(Arc::new)
            }
            Err(_) => {
                own.file(path, None);
                None
            }
        };
        let read = Arc::new(own.take());
        deps.merge(&read);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(path.to_path_buf(), (model.clone(), read));
        }
        model
    }
}

/// Import resolution from one importing file.
pub struct FileLookup<'a> {
    pub modules: &'a ProjectModules,
    pub importer: PathBuf,
    pub depth: u32,
    /// Records what the analysis read, for the cache (see [`crate::cache`]).
    pub deps: &'a Deps,
}

impl FileLookup<'_> {
    /// [`ProjectModules::find_module`] from this importer, recorded.
    fn find(&self, module: &str, level: u32) -> Option<PathBuf> {
        let found = self.modules.find_module(&self.importer, module, level);
        self.deps
            .probe(&self.importer, module, level, found.as_deref());
        found
    }

    fn target(&self, module: &str, level: u32) -> Option<(PathBuf, Arc<ModuleModel>)> {
        if self.depth >= MAX_IMPORT_DEPTH {
            return None;
        }
        let path = self.find(module, level)?;
        if path == self.importer {
            return None;
        }
        let model = self.modules.model(&path, self.depth + 1, self.deps)?;
        Some((path, model))
    }
}

impl ImportLookup for FileLookup<'_> {
    fn is_module(&self, module: &str, level: u32) -> bool {
        self.find(module, level).is_some_and(|p| p != self.importer)
    }

    fn call_function(
        &self,
        module: &str,
        level: u32,
        name: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Option<Value> {
        let (path, model) = self.target(module, level)?;
        let next = FileLookup {
            modules: self.modules,
            importer: path.clone(),
            depth: self.depth + 1,
            deps: self.deps,
        };
        match model.entry(name)? {
            Entry::Function(_) => {}
            // Re-exported (`from .common import helper` in a package `__init__`).
            Entry::Imported {
                module,
                level,
                name,
                ..
            } => return next.call_function(module, *level, name, args, kwargs),
            _ => return None,
        }
        let source = read_source(&path).ok()?;
        let parsed = ruff_python_parser::parse_module(&source).ok()?;
        let scope = module_scope(&source, &parsed.syntax().body, &next, self.depth + 1);
        let f = *scope.functions.get(name)?;
        let rel = rel_to(&path, &self.modules.rootdir)
            .unwrap_or_else(|| path.to_string_lossy().into_owned());
        Some(
            match scope.run_function(f, args.to_vec(), kwargs.to_vec()) {
                Ok(v) => v,
                Err(why) => Value::Unknown {
                    src: format!("{name}(...) (not evaluated: {why} in {rel})"),
                },
            },
        )
    }

    fn star_names(&self, module: &str, level: u32) -> Option<Vec<String>> {
        let (_, model) = self.target(module, level)?;
        if let Some(Value::List(all) | Value::Tuple(all)) = model.exports.get("__all__") {
            let names: Option<Vec<String>> = all
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            if names.is_some() {
                return names;
            }
        }
        Some(
            model
                .entries
                .iter()
                .map(|(n, _)| n)
                .filter(|n| !n.starts_with('_'))
                .cloned()
                .collect(),
        )
    }

    fn lookup_value(&self, module: &str, level: u32, name: &str, _depth: u32) -> Option<Value> {
        if self.depth >= MAX_IMPORT_DEPTH && self.is_module(module, level) {
            return Some(Value::Unknown {
                src: format!(
                    "{name} (imports nest deeper than {MAX_IMPORT_DEPTH} modules: an import cycle?)"
                ),
            });
        }
        let (path, model) = self.target(module, level)?;
        if let Some(v) = model.exports.get(name) {
            return Some(v.clone());
        }
        match model.entry(name)? {
            Entry::Function(_) => Some(Value::Named {
                name: name.to_string(),
                kind: NamedKind::Function,
            }),
            Entry::Class(_) => Some(Value::Named {
                name: name.to_string(),
                kind: NamedKind::Class,
            }),
            Entry::Imported {
                module,
                level,
                name,
                ..
            } => FileLookup {
                modules: self.modules,
                importer: path,
                depth: self.depth + 1,
                deps: self.deps,
            }
            .lookup_value(module, *level, name, 0),
            Entry::Other => None,
        }
    }
}

impl EntryLookup for FileLookup<'_> {
    fn lookup_entry(&self, module: &str, level: u32, name: &str) -> Option<Entry> {
        let (path, model) = self.target(module, level)?;
        match model.entry(name)? {
            e @ (Entry::Function(_) | Entry::Class(_)) => Some(e.clone()),
            Entry::Imported {
                module,
                level,
                name,
                ..
            } => FileLookup {
                modules: self.modules,
                importer: path,
                depth: self.depth + 1,
                deps: self.deps,
            }
            .lookup_entry(module, *level, name),
            Entry::Other => None,
        }
    }
}
