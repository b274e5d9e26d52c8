//! Writing output files so that an error never leaves a partial file: the
//! content goes to a temporary file in the same directory, which is renamed
//! over the target only once it is complete.

use std::io::Write;
use std::path::Path;

use crate::error::PlanError;

/// Refuses an output path that exists and is not a regular file: a
/// directory, a symlink (it may point anywhere), a FIFO, a socket or a
/// device (`/dev/full`) must never be replaced by a report. Call it before
/// any work whose result would then be lost.
pub fn check_output_target(path: &Path) -> Result<(), PlanError> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a file"
    };
    Err(PlanError::NotARegularFile {
        path: path.to_path_buf(),
        what,
    })
}

/// Writes `contents` to `path` atomically (same-directory temp file + rename).
/// Missing parent directories are created. A target that is not a regular
/// file is refused ([`check_output_target`]).
///
/// Atomic, not durable: a reader sees the old file or the new one, never
/// half of one, but the data is not forced to disk (no `fsync`). Everything
/// written here (plans, argument files, result reports) is derived and is
/// made again by rerunning the command, and a CI machine that loses power
/// loses its job anyway; forcing 6 MB of plan to disk cost 30 ms of a
/// 0.45 s `plan`. What must survive a crash lives in the history store,
/// which has its own transactions.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), PlanError> {
    check_output_target(path)?;
    let io_err = |source| PlanError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let mut tmp = new_temp_file(dir).map_err(io_err)?;
    tmp.write_all(contents).map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

/// A temporary file in `dir` created with mode 0666 less the umask, as any
/// file the user's shell would create (tempfile's own default is 0600,
/// which would make plan files unreadable to a CI's other users).
pub fn new_temp_file(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tollgate-tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
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

    #[test]
    fn special_files_and_links_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let fifo = dir.path().join("fifo.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        for target in [&link, &fifo, &dir.path().to_path_buf(), &"/dev/full".into()] {
            let err = write_atomically(target, b"x").unwrap_err();
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(check_output_target(&dir.path().join("new.json")).is_ok());
        assert!(check_output_target(&victim).is_ok());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn files_get_the_mode_the_umask_allows() {
        use std::os::unix::fs::PermissionsExt;
        // The process umask, read without changing it.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .expect("Umask line in /proc/self/status");
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("plan.json");
        write_atomically(&target, b"{}").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask, "umask {umask:o}");
    }
}
