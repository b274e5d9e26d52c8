//! The warm-collect cache of one test module's discovery result: what
//! [`crate::collect_file`] returns (its items and diagnostics, before `::`
//! selections and `--deselect` are applied), keyed so that a stale result is
//! never served.
//!
//! # What a module's result depends on, and how each is covered
//!
//! A module's items are a pure function of:
//!
//! 1. **tollgate itself** — any change to discovery can change results. The
//!    key holds the caller's build id (the CLI passes its version and the
//!    size and modification time of its own executable, so a rebuilt binary
//!    with the same version number does not reuse old entries).
//! 2. **the module's bytes** — the key holds the SHA-256 of the decoded
//!    source.
//! 3. **where it is** — rootdir, absolute path, node id path and
//!    rootdir-relative path are in the key (node ids and `file` fields are
//!    made from them; imports resolve from them).
//! 4. **the ini options discovery reads per module** — `python_classes`,
//!    `python_functions`, the id options (`disable_test_id_escaping...`,
//!    `parametrize_long_str_id_strategy`, `empty_parameter_set_mark`,
//!    `strict_parametrization_ids`/`strict`) and the asyncio mode are in the
//!    key. Options that decide *which* files are modules (`python_files`,
//!    `testpaths`, `norecursedirs`, `--ignore`, `collect_ignore`) or filter
//!    items afterwards (`--deselect`, `::` selections, `-p` plugins) act
//!    outside the cached step and are re-evaluated on every run.
//! 5. **the conftest chain** — the fixtures of every conftest in scope (they
//!    parametrize tests) and the reason a conftest hook makes the directory
//!    dynamic. The key holds a fingerprint of each conftest's analysis, as
//!    computed in this run (conftests are always re-analysed: they are few),
//!    so whatever a conftest's analysis depends on is covered too.
//! 6. **other project modules the static analysis reads** — base classes,
//!    mark aliases and constants, helper functions evaluated for
//!    `parametrize` values, `import *` lists, transitively. These are not
//!    known before the module is analysed, so they cannot be in the key.
//!    Instead the entry records them ([`Deps`]): every module file read
//!    (with the hash of its source, or "unreadable") and every import
//!    resolution asked (`from .x import y` from this directory → which file,
//!    or none — a new `x.py` that shadows a package changes the answer). An
//!    entry is served only after each recorded resolution gives the same
//!    file again and each recorded file still has the same hash. Hashes are
//!    computed once per file per run.
//!
//! Nothing else is read while a module is analysed (the environment,
//! installed packages, the clock are never consulted), so an entry that
//! passes these checks is exactly what a fresh analysis would produce.
//!
//! # Entries
//!
//! An entry is sealed ([`seal`]): a magic, the payload length and the first
//! 16 bytes of the payload's SHA-256, then the payload. A truncated, corrupt
//! or foreign entry fails [`unseal`], is treated as a miss, and is rewritten
//! with the fresh result. The store ([`ResultStore`]) is the caller's: it
//! only maps keys to bytes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tollgate_inventory::codec::{decode_inventory, encode_inventory, Reader, Writer};
use tollgate_inventory::Inventory;

use crate::resolve::ProjectModules;
use crate::walk::read_source;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Where cached results are kept: bytes by key. Implementations decide
/// where (the CLI: files under `.tollgate/cache/`), and must make a `put`
/// atomic for concurrent readers (a reader sees an old entry, the new one,
/// or none). A `get` may return anything, including garbage: entries are
/// checked.
pub trait ResultStore: Send + Sync {
    fn get(&self, key: &Hash) -> Option<Vec<u8>>;
    fn put(&self, key: &Hash, entry: &[u8]);
}

/// The cache as [`crate::collect_cached`] uses it.
pub struct CacheUse<'a> {
    pub store: &'a dyn ResultStore,
    /// Identifies the tollgate build: entries written by another build are
    /// never read.
    pub build_id: &'a str,
}

/// How many test modules were analysed from source and how many were
/// served from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub parsed: usize,
    pub cached: usize,
}

#[derive(Default)]
pub(crate) struct Counters {
    parsed: AtomicUsize,
    cached: AtomicUsize,
}

impl Counters {
    pub(crate) fn parsed(&self) {
        self.parsed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn cached(&self) {
        self.cached.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            parsed: self.parsed.load(Ordering::Relaxed),
            cached: self.cached.load(Ordering::Relaxed),
        }
    }
}

pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// What analysing one module read besides the module itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DepSet {
    /// Module files read, with the hash of their source (`None`: unreadable).
    files: BTreeMap<PathBuf, Option<Hash>>,
    /// Import resolutions asked: (importer, module, level) → file found.
    probes: BTreeMap<(PathBuf, String, u32), Option<PathBuf>>,
}

/// Collects a [`DepSet`] while a module is analysed (shared by the
/// lookups of one analysis).
#[derive(Default)]
pub struct Deps(Mutex<DepSet>);

impl Deps {
    fn with(&self, f: impl FnOnce(&mut DepSet)) {
        match self.0.lock() {
            Ok(mut d) => f(&mut d),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    pub(crate) fn file(&self, path: &Path, hash: Option<Hash>) {
        self.with(|d| {
            d.files.insert(path.to_path_buf(), hash);
        });
    }

    pub(crate) fn probe(&self, importer: &Path, module: &str, level: u32, found: Option<&Path>) {
        self.with(|d| {
            d.probes.insert(
                (importer.to_path_buf(), module.to_string(), level),
                found.map(Path::to_path_buf),
            );
        });
    }

    pub(crate) fn merge(&self, other: &DepSet) {
        self.with(|d| {
            d.files
                .extend(other.files.iter().map(|(k, v)| (k.clone(), *v)));
            d.probes
                .extend(other.probes.iter().map(|(k, v)| (k.clone(), v.clone())));
        });
    }

    pub(crate) fn take(&self) -> DepSet {
        let mut out = DepSet::default();
        self.with(|d| out = std::mem::take(d));
        out
    }
}

/// The hash of a module's source as discovery reads it.
pub(crate) fn source_hash(path: &Path) -> Option<Hash> {
    read_source(path).ok().map(|s| sha256(s.as_bytes()))
}

/// Checks recorded dependencies against the tree as it is now; each file
/// is hashed at most once per run.
pub(crate) struct Validator<'a> {
    modules: &'a ProjectModules,
    hashes: Mutex<HashMap<PathBuf, Option<Hash>>>,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(modules: &'a ProjectModules) -> Self {
        Validator {
            modules,
            hashes: Mutex::new(HashMap::new()),
        }
    }

    fn hash(&self, path: &Path) -> Option<Hash> {
        if let Some(h) = self.hashes.lock().ok().and_then(|m| m.get(path).copied()) {
            return h;
        }
        let h = source_hash(path);
        if let Ok(mut m) = self.hashes.lock() {
            m.insert(path.to_path_buf(), h);
        }
        h
    }

    fn still_holds(&self, deps: &DepSet) -> bool {
        deps.probes
            .iter()
            .all(|((importer, module, level), found)| {
                self.modules.find_module(importer, module, *level).as_ref() == found.as_ref()
            })
            && deps
                .files
                .iter()
                .all(|(path, hash)| self.hash(path) == *hash)
    }
}

/// The part of the key shared by every module of one collection.
pub(crate) fn global_key(build_id: &str, rootdir: &Path, options: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(b"tollgate-discover-python module cache v1\0");
    for part in [build_id, &rootdir.to_string_lossy(), options] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// One module's key: the global part, its place, its conftest chain's
/// fingerprints and its source hash.
pub(crate) fn module_key(
    global: &Hash,
    path: &Path,
    node_path: &str,
    rel: &str,
    conftest_dynamic: Option<&str>,
    conftests: &[(&str, Hash)],
    source: &Hash,
) -> Hash {
    let mut h = Sha256::new();
    h.update(global);
    let mut part = |s: &[u8]| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s);
    };
    part(path.to_string_lossy().as_bytes());
    part(node_path.as_bytes());
    part(rel.as_bytes());
    match conftest_dynamic {
        Some(reason) => part(format!("dynamic:{reason}").as_bytes()),
        None => part(b"static"),
    }
    for (rel, fingerprint) in conftests {
        part(rel.as_bytes());
        part(fingerprint);
    }
    part(source);
    h.finalize().into()
}

const MAGIC: &[u8; 8] = b"TGPYC\x001\n";

/// Frames a payload so that truncation and corruption are detected.
pub fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&sha256(payload)[..16]);
    out.extend_from_slice(payload);
    out
}

/// The payload of a sealed entry, if it is whole.
pub fn unseal(entry: &[u8]) -> Option<&[u8]> {
    let rest = entry.strip_prefix(MAGIC)?;
    let (len, rest) = rest.split_at_checked(8)?;
    let (sum, payload) = rest.split_at_checked(16)?;
    let len = u64::from_le_bytes(len.try_into().ok()?);
    if payload.len() as u64 != len || sha256(payload)[..16] != *sum {
        return None;
    }
    Some(payload)
}

pub(crate) fn encode_entry(deps: &DepSet, inventory: &Inventory) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(deps.files.len() as u64);
    for (path, hash) in &deps.files {
        w.str(&path.to_string_lossy());
        match hash {
            Some(h) => w.bytes(h),
            None => w.bytes(&[]),
        }
    }
    w.u64(deps.probes.len() as u64);
    for ((importer, module, level), found) in &deps.probes {
        w.str(&importer.to_string_lossy());
        w.str(module);
        w.u64((*level).into());
        w.opt_str(found.as_ref().map(|f| f.to_string_lossy()).as_deref());
    }
    encode_inventory(&mut w, inventory);
    seal(&w.buf)
}

fn decode_entry(payload: &[u8]) -> Option<(DepSet, Inventory)> {
    let mut r = Reader::new(payload);
    let mut deps = DepSet::default();
    for _ in 0..r.len().ok()? {
        let path = PathBuf::from(r.str().ok()?);
        let hash = match r.bytes().ok()? {
            [] => None,
            h => Some(Hash::try_from(h).ok()?),
        };
        deps.files.insert(path, hash);
    }
    for _ in 0..r.len().ok()? {
        let importer = PathBuf::from(r.str().ok()?);
        let module = r.str().ok()?;
        let level = r.u32().ok()?;
        let found = r.opt_str().ok()?.map(PathBuf::from);
        deps.probes.insert((importer, module, level), found);
    }
    let inventory = decode_inventory(&mut r).ok()?;
    r.is_empty().then_some((deps, inventory))
}

/// The cached result under `key`, if there is a whole entry whose
/// dependencies still hold.
pub(crate) fn lookup(
    store: &dyn ResultStore,
    key: &Hash,
    validator: &Validator<'_>,
) -> Option<Inventory> {
    let entry = store.get(key)?;
    let (deps, inventory) = decode_entry(unseal(&entry)?)?;
    validator.still_holds(&deps).then_some(inventory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_entries_detect_truncation_and_corruption() {
        let payload = b"some payload bytes".to_vec();
        let sealed = seal(&payload);
        assert_eq!(unseal(&sealed), Some(payload.as_slice()));
        for cut in 0..sealed.len() {
            assert_eq!(unseal(&sealed[..cut]), None, "truncated at {cut}");
        }
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x20;
            assert_eq!(unseal(&bad), None, "byte {i} flipped");
        }
    }

    #[test]
    fn entries_round_trip_with_their_dependencies() {
        let deps = Deps::default();
        deps.file(Path::new("/r/helpers.py"), Some(sha256(b"x = 1")));
        deps.file(Path::new("/r/gone.py"), None);
        deps.probe(
            Path::new("/r/tests/test_a.py"),
            "helpers",
            0,
            Some(Path::new("/r/helpers.py")),
        );
        deps.probe(Path::new("/r/tests/test_a.py"), "missing", 1, None);
        let deps = deps.take();
        let inventory = Inventory::default();
        let entry = encode_entry(&deps, &inventory);
        let (back, inv) = decode_entry(unseal(&entry).unwrap()).unwrap();
        assert_eq!(back, deps);
        assert_eq!(inv, inventory);
    }
}
