//! Process supervision: each runner in its own process group, watched until
//! it exits, killed as a group when told to stop.
//!
//! The decision *when* to stop is the caller's (a closure polled while the
//! child runs: deadline, per-test timeout, interrupt); this module only does
//! the OS part: `process_group(0)`, `wait4` for CPU time and peak RSS, and the
//! SIGTERM → grace → SIGKILL sequence sent to the whole group so that no
//! grandchild (pytest-xdist workers, a server a test started) survives.

use std::io;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long a group gets between SIGTERM and SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// Why tollgate stopped a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The job's wall-clock deadline passed.
    Deadline,
    /// The named test ran past its timeout.
    TestTimeout(String),
    /// tollgate itself got SIGINT/SIGTERM.
    Interrupted,
}

/// How a supervised process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }
}

/// `exit code 1`, `killed by signal 9`: how a person reads it.
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// Resources one process (and the descendants it waited for) used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Resources {
    pub wall_secs: f64,
    pub user_secs: f64,
    pub system_secs: f64,
    /// Peak resident set size in KiB (Linux reports `ru_maxrss` in KiB).
    pub max_rss_kib: u64,
}

impl Resources {
    /// Combines sequential processes: times add up, the peak is the larger one.
    pub fn add(&mut self, other: Resources) {
        self.wall_secs += other.wall_secs;
        self.user_secs += other.user_secs;
        self.system_secs += other.system_secs;
        self.max_rss_kib = self.max_rss_kib.max(other.max_rss_kib);
    }
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub exit: Exit,
    pub resources: Resources,
    /// Set when tollgate killed the group.
    pub stopped: Option<StopReason>,
}

/// Spawns `command` as the leader of a new process group.
pub fn spawn_in_group(command: &mut Command) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let child = command.process_group(0).spawn()?;
    crate::reaper::watch_process(child.id());
    Ok(child)
}

/// Waits for `child`, asking `should_stop` between polls; when it answers,
/// the whole group is terminated. Whatever happens, the group is gone when
/// this returns.
pub fn supervise(
    child: Child,
    grace: Duration,
    mut should_stop: impl FnMut(Instant) -> Option<StopReason>,
) -> io::Result<Finished> {
    let id = child.id();
    let finished = supervise_group(child, grace, &mut should_stop);
    // Whatever happened, the group is gone now.
    crate::reaper::forget_process(id);
    finished
}

fn supervise_group(
    child: Child,
    grace: Duration,
    should_stop: &mut impl FnMut(Instant) -> Option<StopReason>,
) -> io::Result<Finished> {
    let started = Instant::now();
    let pid = child.id() as libc::pid_t;
    // Poll quickly at first (short runs pay little), then back off.
    let mut pause = Duration::from_millis(2);
    loop {
        if let Some((exit, mut resources)) = try_wait4(pid, false)? {
            // The leader is gone; stray members of its group are not ours to keep.
            kill_group(pid, libc::SIGKILL);
            resources.wall_secs = started.elapsed().as_secs_f64();
            return Ok(Finished {
                exit,
                resources,
                stopped: None,
            });
        }
        if let Some(reason) = should_stop(Instant::now()) {
            let (exit, mut resources) = terminate(pid, grace)?;
            resources.wall_secs = started.elapsed().as_secs_f64();
            return Ok(Finished {
                exit,
                resources,
                stopped: Some(reason),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// SIGTERM to the group, up to `grace` for the leader to exit, then SIGKILL.
fn terminate(pid: libc::pid_t, grace: Duration) -> io::Result<(Exit, Resources)> {
    kill_group(pid, libc::SIGTERM);
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Some(done) = try_wait4(pid, false)? {
            kill_group(pid, libc::SIGKILL);
            return Ok(done);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_group(pid, libc::SIGKILL);
    match try_wait4(pid, true)? {
        Some(done) => Ok(done),
        None => Err(io::Error::other("wait4 returned without a status")),
    }
}

fn kill_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no
    // memory-safety preconditions. ESRCH (group already gone) is expected.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// `wait4` on one child; `None` while it is still running (when not blocking).
fn try_wait4(pid: libc::pid_t, block: bool) -> io::Result<Option<(Exit, Resources)>> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: status and usage are valid for writes for the duration of the call.
        let ret = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if ret == 0 {
            return Ok(None);
        }
        if ret < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        let exit = if libc::WIFEXITED(status) {
            Exit::Code(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            // Stopped/continued are not reported without WUNTRACED/WCONTINUED.
            Exit::Code(-1)
        };
        let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        let resources = Resources {
            wall_secs: 0.0,
            user_secs: secs(usage.ru_utime),
            system_secs: secs(usage.ru_stime),
            max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        };
        return Ok(Some((exit, resources)));
    }
}

/// Makes tollgate the reaper of its descendants' orphans (Linux): a process
/// whose parent dies is re-parented to tollgate instead of init, so that
/// [`kill_adopted_orphans`] can find it. nextest runs each test in a process
/// group of its own, out of reach of the kill of nextest's group; a test's
/// child that outlives it (or ignores SIGTERM when nextest is stopped) would
/// otherwise survive tollgate.
pub fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Kills (with their process groups) and reaps every child of tollgate's:
/// call when no runner is running, so that every child left is an orphan a
/// runner left behind.
pub fn kill_adopted_orphans() {
    let me = std::process::id() as libc::pid_t;
    // SAFETY: getpgrp has no preconditions.
    let own_group = unsafe { libc::getpgrp() };
    for _ in 0..100 {
        let orphans = children_of(me);
        if orphans.is_empty() {
            return;
        }
        for (pid, pgid) in orphans {
            // SAFETY: kill(2) has no memory-safety preconditions; tollgate's
            // own group and init are never targeted.
            unsafe {
                if pgid > 1 && pgid != own_group {
                    libc::kill(-pgid, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
        // SAFETY: a null status pointer is allowed; WNOHANG never blocks.
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
    }
}

/// `(pid, process group)` of the processes whose parent is `parent`.
fn children_of(parent: libc::pid_t) -> Vec<(libc::pid_t, libc::pid_t)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: libc::pid_t = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            let mut fields = rest.split_whitespace().skip(1);
            let ppid: libc::pid_t = fields.next()?.parse().ok()?;
            let pgid: libc::pid_t = fields.next()?.parse().ok()?;
            (ppid == parent && pid > 1).then_some((pid, pgid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    /// Running (a zombie waiting for a reaper counts as dead).
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.split_whitespace().next() != Some("Z"))
        })
    }

    #[test]
    fn exit_code_and_cpu_time_are_reported() {
        let child = spawn_in_group(&mut sh(
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3",
        ))
        .unwrap();
        let done = supervise(child, DEFAULT_GRACE, |_| None).unwrap();
        assert_eq!(done.exit, Exit::Code(3));
        assert!(done.stopped.is_none());
        assert!(done.resources.user_secs + done.resources.system_secs > 0.0);
        assert!(done.resources.max_rss_kib > 0);
        assert!(done.resources.wall_secs > 0.0);
    }

    #[test]
    fn stopping_kills_the_whole_group_including_grandchildren() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        // The grandchild ignores SIGTERM: only the SIGKILL after the grace gets it.
        let script = format!(
            "sh -c 'trap \"\" TERM; sleep 60' & echo $! > {}; wait",
            pidfile.display()
        );
        let child = spawn_in_group(&mut sh(&script)).unwrap();
        let start = Instant::now();
        let done = supervise(child, Duration::from_millis(300), |now| {
            (pidfile.exists() && now.duration_since(start) > Duration::from_millis(200))
                .then_some(StopReason::Deadline)
        })
        .unwrap();
        assert_eq!(done.stopped, Some(StopReason::Deadline));
        assert!(start.elapsed() < Duration::from_secs(10));
        let grandchild: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Give init a moment to reap the killed grandchild.
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(grandchild) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(grandchild), "grandchild {grandchild} survived");
    }
}
