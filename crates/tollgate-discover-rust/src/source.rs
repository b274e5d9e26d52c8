//! Reading and scanning source files, each at most once per collection.
//!
//! A file reached from several targets (a shared `tests/common/mod.rs`) is
//! scanned once: the scan is feature-independent, so it is kept by path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::scan::{scan_source, FileScan, ParseError};

/// Files larger than this are reported instead of parsed: syn needs seconds
/// for tens of megabytes, and such files are generated data, not tests.
pub const MAX_SOURCE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read file: {0}")]
    Unreadable(String),
    #[error("file is not valid UTF-8")]
    NotUtf8,
    #[error("file is {0} bytes, over the {MAX_SOURCE_BYTES}-byte limit; not parsed")]
    TooLarge(u64),
    #[error("cannot parse: {0}")]
    Parse(ParseError),
}

pub type Loaded = Arc<Result<FileScan, LoadError>>;

#[derive(Default)]
pub struct SourceCache {
    scans: Mutex<HashMap<PathBuf, Loaded>>,
}

impl SourceCache {
    pub fn load(&self, path: &Path) -> Loaded {
        if let Some(hit) = self.lock().get(path) {
            return Arc::clone(hit);
        }
        let loaded = Arc::new(load_uncached(path));
        self.lock().insert(path.to_path_buf(), Arc::clone(&loaded));
        loaded
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Loaded>> {
        // A poisoned lock only means another thread panicked mid-insert; the
        // map itself is still consistent.
        self.scans.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn load_uncached(path: &Path) -> Result<FileScan, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::Unreadable(e.to_string()))?;
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(LoadError::TooLarge(meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| LoadError::Unreadable(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8)?;
    // Without an attribute a file holds no test, no `cfg` and no `#[path]`;
    // without `mod` it declares no module; without `!` it calls no macro.
    // Skip syn for such files.
    if !text.contains("#[") && !text.contains("#![") && !text.contains("mod") && !text.contains('!')
    {
        return Ok(FileScan::default());
    }
    scan_source(&text).map_err(LoadError::Parse)
}
