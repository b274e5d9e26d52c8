//! The reaper: a small process that outlives tollgate to clean up after it.
//!
//! `tollgate run` may be killed with SIGKILL (a CI runner cancelling a job,
//! the OOM killer); no handler runs then, and the runners it started —
//! pytest, nextest and the test processes nextest puts in process groups of
//! their own — would keep running, orphaned, with the job's scratch
//! directory (raw logs) left behind. So `tollgate run` starts a copy of
//! itself as a reaper ([`start`], in a process group of its own so that a
//! group kill of tollgate does not reach it either) and tells it over a pipe
//! which runner processes and scratch directories exist at each moment.
//! When the pipe closes (tollgate exited, however it died), the reaper stops
//! every registered process and all its descendants (SIGSTOP first, so that
//! none can fork away while the tree is walked), kills them, removes the
//! registered directories, and exits. On a normal exit nothing is
//! registered any more and the reaper just exits.
//!
//! Without [`start`] (library use, unit tests) registering is a no-op.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The first argument that turns the `tollgate` binary into the reaper.
pub const ARG: &str = "__tollgate-reaper";

static PIPE: OnceLock<Mutex<ChildStdin>> = OnceLock::new();

/// Starts the reaper: `program ARG` with its stdin a pipe from this process.
/// Returns false (and changes nothing) when it cannot be started.
pub fn start(program: &Path) -> bool {
    use std::os::unix::process::CommandExt;
    if PIPE.get().is_some() {
        return true;
    }
    let child = Command::new(program)
        .arg(ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    let Some(stdin) = child.stdin.take() else {
        return false;
    };
    // The reaper is never waited for: it exits after tollgate does.
    std::mem::forget(child);
    PIPE.set(Mutex::new(stdin)).is_ok()
}

fn send(kind: u8, payload: &[u8]) {
    let Some(pipe) = PIPE.get() else { return };
    let mut record = Vec::with_capacity(payload.len() + 2);
    record.push(kind);
    record.extend_from_slice(payload);
    record.push(0);
    if let Ok(mut pipe) = pipe.lock() {
        let _ = pipe.write_all(&record);
        let _ = pipe.flush();
    }
}

/// A runner process (leader of its own process group) now exists.
pub fn watch_process(pid: u32) {
    send(b'P', pid.to_string().as_bytes());
}

/// The runner and its group are gone.
pub fn forget_process(pid: u32) {
    send(b'p', pid.to_string().as_bytes());
}

/// A scratch directory to remove if tollgate dies.
pub fn watch_dir(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    send(b'D', path.as_os_str().as_bytes());
}

/// The directory was removed (or handed over).
pub fn forget_dir(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    send(b'd', path.as_os_str().as_bytes());
}

/// The reaper's main: reads records until end of input, then cleans up.
pub fn main() -> ! {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: setting a signal's disposition to SIG_IGN has no
        // memory-safety preconditions.
        unsafe {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
    let mut input = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut input);
    let (pids, dirs) = registered(&input);
    kill_trees(&pids);
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    std::process::exit(0)
}

/// What is still registered after `input` (pure).
pub fn registered(input: &[u8]) -> (Vec<i32>, Vec<PathBuf>) {
    use std::os::unix::ffi::OsStrExt;
    let mut pids: Vec<i32> = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    // A record cut short by tollgate's death is incomplete: ignored.
    let complete = match input.iter().rposition(|&b| b == 0) {
        Some(end) => &input[..end],
        None => &[][..],
    };
    for record in complete.split(|&b| b == 0) {
        let Some((&kind, payload)) = record.split_first() else {
            continue;
        };
        let pid = || {
            std::str::from_utf8(payload)
                .ok()
                .and_then(|s| s.parse::<i32>().ok())
                .filter(|&p| p > 1)
        };
        let path = || PathBuf::from(std::ffi::OsStr::from_bytes(payload));
        match kind {
            b'P' => pids.extend(pid()),
            b'p' => {
                if let Some(p) = pid() {
                    pids.retain(|&x| x != p);
                }
            }
            b'D' => dirs.push(path()),
            b'd' => {
                let p = path();
                dirs.retain(|x| *x != p);
            }
            _ => {}
        }
    }
    (pids, dirs)
}

/// A live (not zombie) process: `(ppid, pgid)`.
fn snapshot() -> HashMap<i32, (i32, i32)> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let ppid = fields.next().and_then(|s| s.parse().ok());
        let pgid = fields.next().and_then(|s| s.parse().ok());
        if let (Some(state), Some(ppid), Some(pgid)) = (state, ppid, pgid) {
            if state != "Z" && state != "X" {
                out.insert(pid, (ppid, pgid));
            }
        }
    }
    out
}

/// `roots`, the members of their process groups and every descendant of
/// those (pure over a snapshot).
pub fn tree(roots: &[i32], procs: &HashMap<i32, (i32, i32)>, me: i32) -> HashSet<i32> {
    let groups: HashSet<i32> = roots.iter().copied().collect();
    let mut set: HashSet<i32> = roots
        .iter()
        .copied()
        .filter(|p| procs.contains_key(p))
        .collect();
    set.extend(
        procs
            .iter()
            .filter(|(_, (_, pgid))| groups.contains(pgid))
            .map(|(pid, _)| *pid),
    );
    loop {
        let before = set.len();
        for (pid, (ppid, _)) in procs {
            if set.contains(ppid) {
                set.insert(*pid);
            }
        }
        if set.len() == before {
            break;
        }
    }
    set.retain(|&p| p > 1 && p != me);
    set
}

/// Stops the trees (until no new member appears), then kills them, until
/// none of their processes is alive (or 5 s have passed).
fn kill_trees(roots: &[i32]) {
    if roots.is_empty() {
        return;
    }
    let me = std::process::id() as i32;
    let until = Instant::now() + Duration::from_secs(5);
    let mut known: HashSet<i32> = HashSet::new();
    while Instant::now() < until {
        let procs = snapshot();
        // Members seen before stay members while alive, even once their
        // parent is gone (they were re-parented away from the tree).
        let mut roots_now: Vec<i32> = roots.to_vec();
        roots_now.extend(known.iter().copied().filter(|p| procs.contains_key(p)));
        let set = tree(&roots_now, &procs, me);
        if set.is_empty() {
            return;
        }
        let new = set.difference(&known).count();
        for &pid in &set {
            // SAFETY: kill(2) has no memory-safety preconditions; pid 1 and
            // the reaper itself are never in the set.
            unsafe {
                libc::kill(pid, libc::SIGSTOP);
            }
        }
        known.extend(set.iter().copied());
        if new > 0 {
            // Someone may have forked before the stop: look again.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        for &pid in &set {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_register_and_forget() {
        let input = b"P100\0D/tmp/a\0P200\0p100\0D/tmp/b\0d/tmp/a\0P3";
        let (pids, dirs) = registered(input);
        assert_eq!(pids, [200]);
        assert_eq!(dirs, [PathBuf::from("/tmp/b")]);
        assert_eq!(registered(b"").0, Vec::<i32>::new());
        // pid 1 is never a target.
        assert!(registered(b"P1\0").0.is_empty());
    }

    #[test]
    fn the_tree_holds_group_members_and_descendants() {
        // pid: (ppid, pgid)
        let procs: HashMap<i32, (i32, i32)> = [
            (10, (1, 10)),  // runner
            (11, (10, 10)), // its child
            (12, (11, 12)), // a test in its own group, grandchild
            (13, (1, 10)),  // group member re-parented to init
            (14, (13, 14)), // its child
            (20, (1, 20)),  // unrelated
            (99, (1, 99)),  // the reaper
        ]
        .into_iter()
        .collect();
        let mut set: Vec<i32> = tree(&[10], &procs, 99).into_iter().collect();
        set.sort();
        assert_eq!(set, [10, 11, 12, 13, 14]);
        assert!(tree(&[30], &procs, 99).is_empty());
    }
}
