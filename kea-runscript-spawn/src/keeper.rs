//! The keeper and the script before `execve`, and the memory they share with the
//! parent ([`Handoff`]). Everything here after `clone` runs on a stack of ours, in a
//! process that shares the parent's memory and still has the parent thread's thread
//! pointer: only the raw system calls of [`super::sys`], no allocation, no locks, no
//! `errno`, every signal blocked.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicI32, Ordering};

use super::arch::Errno;
use super::sys::{self, KernelSigSet, ResourceLimit};

/// What the keeper recorded in [`Handoff::result`].
pub(super) const RESULT_PENDING: i32 = 0;
pub(super) const RESULT_EXITED: i32 = 1;
pub(super) const RESULT_SIGNALED: i32 = 2;
pub(super) const RESULT_FAILED: i32 = 3;

/// Step codes in [`Handoff::failed_step`] (0: nothing failed), decoded into
/// [`super::FailedStep`] by the parent.
pub(super) const STEP_CLONE: i32 = 1;
pub(super) const STEP_CLOSE_FDS: i32 = 2;
pub(super) const STEP_EXEC: i32 = 3;
pub(super) const STEP_WAIT: i32 = 4;
pub(super) const STEP_STDIO: i32 = 5;
pub(super) const STEP_CAPABILITIES: i32 = 6;
pub(super) const STEP_LIMITS: i32 = 7;
pub(super) const STEP_GROUPS: i32 = 8;
pub(super) const STEP_GID: i32 = 9;
pub(super) const STEP_UID: i32 = 10;

/// The memory the parent hands to the keeper (inputs) and the keeper hands back
/// (results). Heap-allocated so its address is stable; freed only after the keeper
/// has been reaped.
#[repr(C)]
pub(super) struct Handoff {
    // Inputs, written before the keeper is created.
    pub path: *const c_char,
    pub argv: *const *const c_char,
    pub envp: *const *const c_char,
    /// Fallback bound for closing fds one by one when `close_range` is missing.
    pub max_fd: c_int,
    /// Timeout and grace in ms (`-1` = none), and the stop eventfd (`-1` = none).
    pub timeout_ms: i64,
    pub grace_ms: i64,
    pub stop_fd: c_int,
    /// Fds to put on the script's 0, 1, 2 (`-1`: inherit the host's), all above 2;
    /// closed in the host by the keeper once the script is started (see
    /// [`super::Stdio`]).
    pub stdio: [c_int; 3],
    /// Non-zero: the keeper dies (`SIGKILL`) with the thread that created it.
    pub die_with_thread: c_int,
    /// Non-zero: the script's inheritable and ambient capabilities become exactly
    /// `ambient_caps` (one bit per capability number); zero: it keeps the host's.
    pub set_ambient: c_int,
    pub ambient_caps: u64,
    /// Non-zero: switch to `uid`, `gid` and the `groups_len` supplementary groups at
    /// `groups` before `execve`.
    pub set_ids: c_int,
    pub uid: u32,
    pub gid: u32,
    pub groups: *const u32,
    pub groups_len: usize,
    /// `limits_len` resource limits at `limits` to set before `execve` (null: none).
    pub limits: *const ResourceLimit,
    pub limits_len: usize,
    pub script_stack_top: *mut c_void,
    // Written by the keeper (and the script before exec); read after the keeper exited.
    pub keeper_pid: AtomicI32,
    pub failed_step: AtomicI32,
    pub failed_errno: AtomicI32,
    pub result: AtomicI32,
    pub value: AtomicI32,
    pub timed_out: AtomicI32,
    pub stopped: AtomicI32,
    /// Set once `stdio` has been closed in the shared fd table.
    pub stdio_closed: AtomicI32,
}

impl Handoff {
    /// Closes the `stdio` fds in the (shared) fd table, once: by the keeper after
    /// it started the script, or by the parent if no keeper got that far.
    pub(super) fn close_stdio(&self) {
        if self.stdio_closed.swap(1, Ordering::Relaxed) != 0 {
            return;
        }
        for &fd in &self.stdio {
            if fd >= 0 {
                // SAFETY: the run owns these fds (handed over by `spawn_with`) and
                // nothing uses them once the script has its copies.
                unsafe { sys::close(fd) };
            }
        }
    }

    /// Records a failed step and its error number.
    fn fail(&self, step: i32, errno: Errno) {
        self.failed_errno.store(errno.0, Ordering::Relaxed);
        self.failed_step.store(step, Ordering::Relaxed);
    }
}

/// Blocks every signal (glibc-internal ones too) in the calling thread and
/// restores the previous mask when dropped. Raw, because glibc's
/// `pthread_sigmask` refuses to block its internal signals (`SIGCANCEL`,
/// `SIGSETXID`), whose handlers must not run in the keeper either.
pub(super) struct AllSignalsBlocked {
    previous: KernelSigSet,
}

impl AllSignalsBlocked {
    pub(super) fn new() -> AllSignalsBlocked {
        let previous = sys::set_signal_mask(&KernelSigSet::FULL).unwrap_or(KernelSigSet::EMPTY);
        AllSignalsBlocked { previous }
    }
}

impl Drop for AllSignalsBlocked {
    fn drop(&mut self) {
        let _ = sys::set_signal_mask(&self.previous);
    }
}

/// Creates the keeper: `clone(CLONE_VM | CLONE_FILES | CLONE_PIDFD)` with exit
/// signal 0 (a clone child: invisible to `waitpid(-1)`, no `SIGCHLD`), every
/// signal blocked around it. Returns the keeper's pidfd.
///
/// # Safety
/// `handoff` points to a live [`Handoff`] whose pointers are valid, and it and the
/// stack below `stack_top` (and the script stack it names) stay alive until the
/// keeper has been reaped.
pub(super) unsafe fn start(handoff: *mut Handoff, stack_top: *mut c_void) -> Result<c_int, Errno> {
    let mut pidfd: c_int = -1;
    let _blocked = AllSignalsBlocked::new();
    // SAFETY: keeper_main only uses the handoff and its own stack (alive until it is
    // reaped, the caller's promise) and the raw calls of `sys`.
    unsafe {
        sys::clone_pidfd(
            libc::CLONE_VM | libc::CLONE_FILES,
            stack_top,
            &mut pidfd,
            keeper_main,
            handoff.cast(),
        )
    }?;
    Ok(pidfd)
}

/// The script's code before `execve`: the parent's memory, the keeper suspended
/// (vfork), every signal blocked. Only raw system calls.
extern "C" fn script_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Handoff, alive until the keeper has been reaped.
    let sh = unsafe { &*(arg as *const Handoff) };
    let fail = |step: i32, errno: Errno| -> ! {
        sh.fail(step, errno);
        sys::exit(127)
    };
    // Default dispositions for every signal, including ones the host ignores.
    for signal in 1..=sys::MAX_SIGNAL {
        if signal != libc::SIGKILL && signal != libc::SIGSTOP {
            let _ = sys::set_default_action(signal);
        }
    }
    // Die with the keeper; if it is already gone, do not run unmanaged.
    sys::set_parent_death_signal(libc::SIGKILL);
    if sys::getppid() != sh.keeper_pid.load(Ordering::Relaxed) {
        sys::exit(127);
    }
    // Lead a process group of our own, so that a timeout or unload can end the
    // script's children too (best effort: a failure leaves it in Kea's group, and
    // only the script itself is signalled then).
    let _ = sys::lead_new_process_group();
    // The given pipes become fds 0-2 (the sources are all above 2, so no copy
    // overwrites a later source).
    for (target, &source) in (0..).zip(sh.stdio.iter()) {
        if source >= 0 {
            // SAFETY: fd `target` is about to be the script's own stdin/stdout/stderr;
            // the host's copy in this (private, vfork'd) fd table is not used again.
            if let Err(errno) = unsafe { sys::dup_onto(source, target) } {
                fail(STEP_STDIO, errno);
            }
        }
    }
    // Close every fd above stderr, with or without FD_CLOEXEC.
    // SAFETY: this process is about to exec the script; it uses none of those fds.
    match unsafe { sys::close_from(3) } {
        Err(Errno(libc::ENOSYS)) => {
            for fd in 3..sh.max_fd {
                // SAFETY: as above, one fd at a time on kernels without close_range.
                unsafe { sys::close(fd) };
            }
        }
        Err(errno) => fail(STEP_CLOSE_FDS, errno),
        Ok(()) => {}
    }
    // Least privilege: limits, then groups, group and user (this process has credentials
    // and limits of its own: Kea's are untouched). Plain reads of the program's arrays,
    // no allocation.
    if sh.limits_len > 0 {
        // SAFETY: `limits_len` entries at `limits`, owned by the program's privileges,
        // alive and unchanged until the keeper is reaped.
        let limits = unsafe { std::slice::from_raw_parts(sh.limits, sh.limits_len) };
        for entry in limits {
            if let Err(errno) = sys::set_resource_limit(entry.resource, &entry.limit) {
                fail(STEP_LIMITS, errno);
            }
        }
    }
    if sh.set_ids != 0 {
        let groups: &[u32] = if sh.groups_len == 0 {
            &[]
        } else {
            // SAFETY: `groups_len` gids at `groups`, owned by the program's privileges,
            // alive and unchanged until the keeper is reaped.
            unsafe { std::slice::from_raw_parts(sh.groups, sh.groups_len) }
        };
        {
            if let Err(errno) = sys::set_groups(groups) {
                fail(STEP_GROUPS, errno);
            }
            if let Err(errno) = sys::set_gid(sh.gid) {
                fail(STEP_GID, errno);
            }
            // Capabilities to hand over must survive leaving uid 0 (they are raised
            // as ambient ones below).
            if sh.set_ambient != 0 && sh.ambient_caps != 0 {
                if let Err(errno) = sys::keep_capabilities() {
                    fail(STEP_CAPABILITIES, errno);
                }
            }
            if let Err(errno) = sys::set_uid(sh.uid) {
                fail(STEP_UID, errno);
            }
            // A change of credentials clears the parent-death signal: set it again, and
            // do not run unmanaged if the keeper died meanwhile.
            sys::set_parent_death_signal(libc::SIGKILL);
            if sys::getppid() != sh.keeper_pid.load(Ordering::Relaxed) {
                sys::exit(127);
            }
        }
    }
    // The configured capabilities, and only those, survive execve as ambient ones (an
    // unprivileged Kea's script would otherwise get none, or all of Kea's ambient set).
    // This process has credentials of its own: Kea's are untouched.
    if sh.set_ambient != 0 {
        if let Err(errno) = sys::set_ambient_capabilities(sh.ambient_caps) {
            fail(STEP_CAPABILITIES, errno);
        }
    }
    let _ = sys::set_signal_mask(&KernelSigSet::EMPTY);
    // SAFETY: the parent prepared path, argv and envp from a Program, which the
    // handoff's owner keeps alive until the keeper has been reaped.
    let errno = unsafe { sys::execve(sh.path, sh.argv, sh.envp) };
    fail(STEP_EXEC, errno)
}

/// The signal the keeper sends the script's group when its deadline passes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NextSignal {
    /// No deadline: wait for the script (or the stop fd) without a timeout.
    None,
    /// The timeout: `SIGTERM`.
    Term,
    /// The grace after `SIGTERM`: `SIGKILL`.
    Kill,
}

/// Signals the script's whole process group (the script leads it: `setpgid(0, 0)`
/// before `execve`), so a timed-out script's own children end with it. The group
/// id cannot be reused while the script is unreaped, and the keeper reaps it only
/// after the last signal. Falls back to the script alone if it has no group.
fn signal_group(pid: c_int, pidfd: c_int, signal: c_int) {
    if sys::kill_group(pid, signal).is_err() {
        let _ = sys::pidfd_send_signal(pidfd, signal);
    }
}

/// Reaps the script and closes its pidfd.
fn reap(pidfd: c_int) -> Result<sys::ChildEnd, Errno> {
    let end = sys::reap_pidfd(pidfd);
    // SAFETY: the script's pidfd is the keeper's own and nothing uses it after this.
    unsafe { sys::close(pidfd) };
    end
}

/// The keeper: starts the script, watches it (timeout, stop fd), reaps it, records
/// the result, exits. Shares the parent's memory and fd table; every signal stays
/// blocked; only raw system calls.
extern "C" fn keeper_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Handoff, alive until this process has been reaped.
    let sh = unsafe { &*(arg as *const Handoff) };
    // Show up as "kea-runscript" rather than as a second Kea in ps.
    sys::set_process_name(c"kea-runscript");
    sh.keeper_pid.store(sys::getpid(), Ordering::Relaxed);
    if sh.die_with_thread != 0 {
        // A long-lived script (a worker) must not outlive a host that died without
        // unloading: this keeper dies with the thread that created it, the script
        // with its keeper.
        sys::set_parent_death_signal(libc::SIGKILL);
    }

    // The script's exit status must be ours to collect even when the host ignores
    // `SIGCHLD` (another library's `signal(SIGCHLD, SIG_IGN)`, before or after ours):
    // with `SIG_IGN` (or `SA_NOCLDWAIT`) the kernel reaps the script itself and
    // `waitid` fails with `ECHILD`. This keeper's dispositions are a copy of the
    // host's (no `CLONE_SIGHAND`), so resetting its own `SIGCHLD` to `SIG_DFL` leaves
    // the host's as it is; every signal stays blocked here, so no handler runs. (It
    // cannot fail: a valid signal and a valid action.)
    let _ = sys::set_default_action(libc::SIGCHLD);
    let mut pidfd: c_int = -1;
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: script_main runs on the script stack named in the handoff (alive until
    // this keeper is reaped) and only until execve, while this keeper is suspended.
    let cloned =
        unsafe { sys::clone_pidfd(flags, sh.script_stack_top, &mut pidfd, script_main, arg) };
    // The script has exec'd or failed (vfork): its ends of the pipes are no longer
    // needed in the host's fd table, which this keeper shares.
    sh.close_stdio();
    let pid = match cloned {
        Ok(pid) => pid,
        Err(errno) => {
            sh.fail(STEP_CLONE, errno);
            sh.result.store(RESULT_FAILED, Ordering::Relaxed);
            sys::exit(0);
        }
    };
    if sh.failed_step.load(Ordering::Relaxed) != 0 {
        let _ = reap(pidfd);
        sh.result.store(RESULT_FAILED, Ordering::Relaxed);
        sys::exit(0);
    }

    // Watch: the script's pidfd, and the stop fd until it fires.
    let mut fds = [
        libc::pollfd {
            fd: pidfd,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: sh.stop_fd,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // What happens at `due` (ms, monotonic).
    let mut next = NextSignal::None;
    let mut due: i64 = 0;
    if sh.timeout_ms >= 0 {
        next = NextSignal::Term;
        due = sys::monotonic_ms() + sh.timeout_ms;
    }
    // SIGTERM now, SIGKILL after the grace.
    let terminate = || {
        signal_group(pid, pidfd, libc::SIGTERM);
        (NextSignal::Kill, sys::monotonic_ms() + sh.grace_ms)
    };
    loop {
        let timeout = (next != NextSignal::None).then(|| {
            let left = (due - sys::monotonic_ms()).max(0);
            libc::timespec {
                tv_sec: (left / 1000) as _,
                tv_nsec: ((left % 1000) * 1_000_000) as _,
            }
        });
        let ready = sys::ppoll(&mut fds, timeout.as_ref(), &KernelSigSet::FULL).unwrap_or(0);
        if ready > 0 && fds[0].revents != 0 {
            break;
        }
        if ready > 0 && fds[1].revents != 0 {
            // Unload: terminate now, stop watching the fd (it stays readable).
            fds[1].fd = -1;
            sh.stopped.store(1, Ordering::Relaxed);
            if next != NextSignal::Kill {
                (next, due) = terminate();
            }
            continue;
        }
        if next != NextSignal::None && sys::monotonic_ms() >= due {
            match next {
                NextSignal::Term => {
                    sh.timed_out.store(1, Ordering::Relaxed);
                    (next, due) = terminate();
                }
                NextSignal::Kill => {
                    signal_group(pid, pidfd, libc::SIGKILL);
                    next = NextSignal::None;
                }
                NextSignal::None => {}
            }
        }
    }
    // A script we had to end may leave children that ignored SIGTERM: kill what is
    // left of its group while the (unreaped) script still holds the id.
    if sh.timed_out.load(Ordering::Relaxed) != 0 || sh.stopped.load(Ordering::Relaxed) != 0 {
        signal_group(pid, pidfd, libc::SIGKILL);
    }
    match reap(pidfd) {
        Err(errno) => {
            sh.fail(STEP_WAIT, errno);
            sh.result.store(RESULT_FAILED, Ordering::Relaxed);
        }
        Ok(end) => {
            sh.value.store(end.value, Ordering::Relaxed);
            let kind = if end.exited {
                RESULT_EXITED
            } else {
                RESULT_SIGNALED
            };
            sh.result.store(kind, Ordering::Relaxed);
        }
    }
    sys::exit(0)
}
