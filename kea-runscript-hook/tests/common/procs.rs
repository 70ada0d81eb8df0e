//! Process hygiene probes from /proc: open fds, children, zombies, processes in a netns.

use std::os::unix::fs::MetadataExt;

/// Number of open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| rd.count())
        .unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"))
}

/// A process as /proc/<pid>/stat tells it.
#[derive(Clone, Debug)]
pub struct Proc {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// State letter (R, S, Z, …).
    pub state: char,
    /// Command line, arguments separated by spaces.
    pub cmdline: String,
    /// Start time in clock ticks since boot: with the pid, identifies the process even
    /// when pids are reused (pid_max may be as low as 32768).
    pub start_time: u64,
}

/// Every process on the machine.
pub fn all() -> Vec<Proc> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read)
        .collect()
}

fn read(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    // stat field 22 (starttime); `fields` now stands at field 5.
    let start_time = fields.nth(22 - 5)?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    Some(Proc {
        pid,
        ppid,
        start_time,
        state,
        cmdline,
    })
}

/// Children of `pid` (any state).
pub fn children(pid: u32) -> Vec<Proc> {
    all().into_iter().filter(|p| p.ppid == pid).collect()
}

/// Children of `pid`, their children, and so on (a spawner may put a helper process
/// between Kea and the script).
pub fn descendants(pid: u32) -> Vec<Proc> {
    let everyone = all();
    let mut found: Vec<Proc> = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for p in everyone.iter().filter(|p| p.ppid == parent) {
            parents.push(p.pid);
            found.push(p.clone());
        }
    }
    found
}

/// Zombies among the descendants of `pid`.
pub fn zombies(pid: u32) -> Vec<Proc> {
    descendants(pid)
        .into_iter()
        .filter(|p| p.state == 'Z')
        .collect()
}

/// Zombies among the descendants of `pid` that stay: waits up to `timeout` for there to be
/// none and returns those still there then (empty when they all went). A script that has just
/// ended is a zombie until the reaper collects it, which under heavy load can take a while,
/// so one look would blame a reaper that is merely late.
pub fn lasting_zombies(pid: u32, timeout: std::time::Duration) -> Vec<Proc> {
    super::wait_for(timeout, || zombies(pid).is_empty().then_some(()))
        .map_or_else(|| zombies(pid), |()| Vec::new())
}

/// Processes living in the network namespace with inode `netns`, except `except`.
pub fn in_netns(netns: u64, except: u32) -> Vec<Proc> {
    all()
        .into_iter()
        .filter(|p| p.pid != except)
        .filter(|p| {
            std::fs::metadata(format!("/proc/{}/ns/net", p.pid))
                .map(|m| m.ino() == netns)
                .unwrap_or(false)
        })
        .collect()
}

/// SIGKILLs each process that is still the same process (same pid and start time), so a
/// pid reused meanwhile by someone else's process is never hit.
pub fn kill_all(procs: &[Proc]) {
    for p in procs {
        if read(p.pid).is_some_and(|now| now.start_time == p.start_time) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Number of threads of `pid`.
pub fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|rd| rd.count())
        .unwrap_or_else(|e| panic!("/proc/{pid}/task: {e}"))
}
