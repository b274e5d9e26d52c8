//! `.tollgate/cache/`: where the warm-collect cache keeps each test module's
//! discovery result, one file per entry (`python/<2 hex>/<64 hex>`).
//!
//! What an entry is keyed on, and why that is enough for it never to be
//! stale, is discovery's business: see `tollgate_discover_python::cache`.
//! This module only stores bytes by key, safely:
//!
//! - **Concurrent writers**: an entry is written to a temporary file in the
//!   same directory and renamed over the final name, so a reader (another
//!   `tollgate` on the same checkout, a CI shard) sees the old entry, the
//!   new one or none, never half of one. Two writers of one key write the
//!   same bytes (the key fixes the content), so the last rename winning is
//!   fine.
//! - **Truncated or corrupt entries** (a full disk, a killed process before
//!   rename on a file system without atomic rename, bit rot): every entry is
//!   sealed with its length and checksum and checked on read; a bad one is a
//!   miss, and the fresh result is written over it.
//! - **Bounded size**: after a run that wrote entries, if the cache holds
//!   more than its limit (256 MiB, or `TOLLGATE_CACHE_MAX_BYTES`), entries
//!   not used by this run are deleted, oldest first, until it holds at most
//!   three quarters of the limit. Leftover temporary files of killed
//!   processes older than an hour go too.
//! - **Failures never fail the command**: a cache directory that cannot be
//!   created or written only means the next run parses again.
//! - **No secret on disk**: an entry holding any form of a configured secret
//!   (`[run.redact]` and the default token variables, as `tollgate run`
//!   redacts them; a token in a parametrize id, say) is not written: that
//!   module is parsed again next time instead.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tollgate_discover_python::cache::{Hash, ResultStore};

/// The cache directory under a project root.
pub const CACHE_DIR: &str = ".tollgate/cache";

/// Default size limit of the cache directory.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The byte store of the cache under one project root.
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
    /// Entry file names read or written by this run: eviction keeps them.
    used: Mutex<HashSet<String>>,
    /// Subdirectories known to exist.
    made: Mutex<HashSet<PathBuf>>,
    wrote: AtomicBool,
    counter: AtomicU64,
    build_id: String,
    /// Entries holding any form of these secrets are never written.
    secrets: Option<tollgate_run::Redactor>,
}

impl DiskCache {
    /// The cache of the project at `root` (nothing is created until an
    /// entry is written).
    pub fn open(root: &Path) -> Self {
        let max_bytes = std::env::var("TOLLGATE_CACHE_MAX_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_BYTES);
        DiskCache {
            dir: root.join(CACHE_DIR).join("python"),
            max_bytes,
            used: Mutex::new(HashSet::new()),
            made: Mutex::new(HashSet::new()),
            wrote: AtomicBool::new(false),
            counter: AtomicU64::new(0),
            build_id: build_id(),
            secrets: None,
        }
    }

    /// Refuses to write entries that hold any form of `secrets`' values.
    pub fn with_secrets(mut self, secrets: tollgate_run::Redactor) -> Self {
        self.secrets = (!secrets.is_empty()).then_some(secrets);
        self
    }

    fn holds_secret(&self, entry: &[u8]) -> bool {
        self.secrets.as_ref().is_some_and(|r| {
            matches!(
                r.redact(&String::from_utf8_lossy(entry)),
                std::borrow::Cow::Owned(_)
            )
        })
    }

    /// Identifies this tollgate build for cache keys.
    pub fn build_id(&self) -> &str {
        &self.build_id
    }

    fn path(&self, key: &Hash) -> (PathBuf, String) {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        (self.dir.join(&hex[..2]).join(&hex), hex)
    }

    fn mark_used(&self, name: String) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(name);
        }
    }

    /// Ends the run: enforces the size limit if this run wrote anything.
    pub fn finish(&self) {
        if self.wrote.load(Ordering::Relaxed) {
            let used = self.used.lock().map(|u| u.clone()).unwrap_or_default();
            evict(&self.dir, self.max_bytes, &used, SystemTime::now());
        }
    }
}

impl ResultStore for DiskCache {
    fn get(&self, key: &Hash) -> Option<Vec<u8>> {
        let (path, name) = self.path(key);
        self.mark_used(name);
        std::fs::read(path).ok()
    }

    fn put(&self, key: &Hash, entry: &[u8]) {
        let (path, name) = self.path(key);
        self.mark_used(name);
        if self.holds_secret(entry) {
            return;
        }
        let Some(dir) = path.parent() else {
            return;
        };
        let known = self.made.lock().is_ok_and(|m| m.contains(dir));
        if !known {
            if std::fs::create_dir_all(dir).is_err() {
                return;
            }
            if let Ok(mut made) = self.made.lock() {
                made.insert(dir.to_path_buf());
            }
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
        if std::fs::write(&tmp, entry).is_ok() && std::fs::rename(&tmp, &path).is_ok() {
            self.wrote.store(true, Ordering::Relaxed);
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// This build: the version, and the size and modification time of the
/// executable (a rebuilt binary keeps its version number but not these).
fn build_id() -> String {
    let stamp = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} {modified}", m.len())
        })
        .unwrap_or_else(|_| "unknown".into());
    format!("tollgate {} {stamp}", env!("CARGO_PKG_VERSION"))
}

/// Temporary files older than this belong to a process that died.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// Deletes entries not in `used`, oldest first, until the cache under
/// `dir` holds at most three quarters of `max_bytes` (when it holds more
/// than `max_bytes`), and stale temporary files.
fn evict(dir: &Path, max_bytes: u64, used: &HashSet<String>, now: SystemTime) {
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
    let mut total = 0u64;
    let Ok(subdirs) = std::fs::read_dir(dir) else {
        return;
    };
    for sub in subdirs.flatten() {
        let Ok(files) = std::fs::read_dir(sub.path()) else {
            continue;
        };
        for file in files.flatten() {
            let Ok(meta) = file.metadata() else {
                continue;
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") {
                if now
                    .duration_since(modified)
                    .is_ok_and(|age| age > STALE_TMP)
                {
                    let _ = std::fs::remove_file(file.path());
                }
                continue;
            }
            total += meta.len();
            if !used.contains(&name) {
                entries.push((modified, meta.len(), file.path()));
            }
        }
    }
    if total <= max_bytes {
        return;
    }
    let target = max_bytes / 4 * 3;
    entries.sort();
    for (_, len, path) in entries {
        if total <= target {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Hash {
        [n; 32]
    }

    #[test]
    fn put_then_get_and_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(tmp.path());
        assert_eq!(cache.get(&key(1)), None);
        cache.put(&key(1), b"one");
        assert_eq!(cache.get(&key(1)).as_deref(), Some(&b"one"[..]));
        cache.put(&key(1), b"uno");
        assert_eq!(cache.get(&key(1)).as_deref(), Some(&b"uno"[..]));
        // No temporary file is left behind.
        let (path, _) = cache.path(&key(1));
        let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn entries_holding_a_secret_are_never_written() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = "hf_CacheSecret0123456789abcdef";
        let redactor =
            tollgate_run::Redactor::new(&["HF_TOKEN".to_string()], [("HF_TOKEN", secret)], &[])
                .unwrap();
        let cache = DiskCache::open(tmp.path()).with_secrets(redactor);
        cache.put(
            &key(1),
            format!("\u{1}t.py::test[{secret}]\u{0}").as_bytes(),
        );
        assert_eq!(
            cache.get(&key(1)),
            None,
            "an entry with the secret was written"
        );
        cache.put(&key(2), b"t.py::test[public]");
        assert_eq!(
            cache.get(&key(2)).as_deref(),
            Some(&b"t.py::test[public]"[..])
        );
    }

    #[test]
    fn eviction_keeps_what_this_run_used_and_drops_the_oldest() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(tmp.path());
        for n in 0..8 {
            cache.put(&key(n), &[0u8; 100]);
        }
        let t0 = SystemTime::now() - Duration::from_secs(1000);
        for n in 0..8 {
            let (path, _) = cache.path(&key(n));
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(t0 + Duration::from_secs(u64::from(n)))
                .unwrap();
        }
        let (_, used) = cache.path(&key(0));
        let used: HashSet<String> = [used].into();
        // 800 bytes over a 600-byte limit: down to 450, i.e. 4 entries.
        evict(&cache.dir, 600, &used, SystemTime::now());
        let left: Vec<u8> = (0..8).filter(|n| cache.path(&key(*n)).0.exists()).collect();
        assert_eq!(left, vec![0, 5, 6, 7]);
        // Under the limit: nothing goes.
        evict(&cache.dir, 600, &HashSet::new(), SystemTime::now());
        assert_eq!(
            (0..8).filter(|n| cache.path(&key(*n)).0.exists()).count(),
            4
        );
    }
}
