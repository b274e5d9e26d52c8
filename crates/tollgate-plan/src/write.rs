//! Writing output files so that an error never leaves a partial file: the
//! content goes to a temporary file in the same directory, which is renamed
//! over the target only once it is complete.

use std::io::Write;
use std::path::Path;

use crate::error::PlanError;

/// Writes `contents` to `path` atomically (same-directory temp file + rename).
/// Missing parent directories are created.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), PlanError> {
    let io_err = |source| PlanError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err)?;
    tmp.write_all(contents).map_err(io_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out/plan.json");
        write_atomically(&target, b"one").unwrap();
        write_atomically(&target, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "two");
        let entries: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().collect();
        assert_eq!(entries.len(), 1, "no temporary file left behind");
    }
}
