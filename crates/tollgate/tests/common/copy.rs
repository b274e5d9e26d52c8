//! A copy of a project tree (the example monorepo) without its local state.
//! Shared by tollgate's CLI tests and, through `#[path]`, by
//! `tollgate-plan`'s tests; it uses nothing but `std`.

use std::path::Path;

/// Build output, caches and local state (a venv, tollgate's history): not
/// part of the example, never copied.
pub const LOCAL_STATE: [&str; 5] = [
    ".venv",
    ".tollgate",
    "target",
    "__pycache__",
    ".pytest_cache",
];

/// Copies `from` into `to` (created if missing) without [`LOCAL_STATE`].
/// Modification times are kept, so a shared target dir stays fresh for
/// unchanged sources.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let name = entry.file_name();
        if LOCAL_STATE.iter().any(|s| name == *s) {
            continue;
        }
        let dest = to.join(&name);
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &dest).expect("copy");
            if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&dest)
                    .and_then(|f| f.set_modified(modified));
            }
        }
    }
}
