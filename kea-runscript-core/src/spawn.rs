//! Launching a script: the only module with substantial `unsafe`.
//!
//! # Technique
//! A child is created with glibc's `clone()` and the flags
//! `CLONE_VM | CLONE_VFORK | CLONE_PIDFD` and an exit signal of 0:
//!
//! - `CLONE_VM | CLONE_VFORK` (what `posix_spawn` and `vfork` do): no page tables
//!   are copied, so the cost does not grow with the host's memory. The calling
//!   thread is suspended until the child has called `execve` (or exited).
//! - `CLONE_PIDFD`: the kernel hands back a pidfd. Waiting (`waitid(P_PIDFD, …)`),
//!   polling and signalling (`pidfd_send_signal`) go through it, so a recycled pid
//!   can never be hit.
//! - Exit signal 0 makes it a "clone child": `waitpid(-1, …)` without
//!   `__WALL`/`__WCLONE` never reaps it and the host receives no `SIGCHLD` for it.
//!   Kea's `ProcessSpawn` loops on `waitpid(-1, WNOHANG)` in its `SIGCHLD` handler;
//!   it can neither steal our exit statuses nor see our children. We never touch
//!   the host's `SIGCHLD` disposition.
//!
//! The child runs on a separately allocated stack and, because it shares the
//! parent's memory, does nothing but raw system calls (no libc wrappers that take
//! locks or write `errno`, no allocation): reset every signal disposition to
//! `SIG_DFL`, close every fd from 3 up (`close_range`, which also closes fds without
//! `FD_CLOEXEC`), unblock every signal, `execve`. All strings and pointer arrays are
//! prepared before `clone`. On failure the child stores the step and errno in
//! memory shared with the parent and exits with status 127.
//!
//! The parent blocks every signal (including glibc's internal ones) around `clone`
//! so that no signal handler of the host can run on the child's stack while it
//! shares the parent's memory, then restores its mask.
//!
//! The child inherits fds 0, 1 and 2 of the host as they are (Kea's own hook does
//! the same): a script's output goes wherever Kea's stdout/stderr go.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called `exit` with this code (0..=255).
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Exited(code) => write!(f, "exit code {code}"),
            ExitStatus::Signaled(sig) => {
                write!(f, "killed by signal {sig} ({})", signal_name(*sig))
            }
        }
    }
}

/// A short name for a signal number (`SIGTERM`, …), for log lines.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => "other",
    }
}

/// A started child process, owned through its pidfd.
///
/// Dropping a `Child` that was not waited for kills it (`SIGKILL`) and reaps it,
/// so no zombie and no unmanaged process is ever left behind.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    reaped: bool,
}

/// Which step of the child's start-up failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailedStep {
    /// `clone` itself (in the parent).
    Clone,
    /// Closing inherited fds in the child.
    CloseFds,
    /// `execve` of the script.
    Exec,
}

/// Error of [`spawn`]: the step that failed and the OS error.
#[derive(Debug)]
pub struct SpawnError {
    /// The failed step.
    pub step: FailedStep,
    /// The OS error of that step.
    pub error: io::Error,
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = match self.step {
            FailedStep::Clone => "clone",
            FailedStep::CloseFds => "closing inherited fds",
            FailedStep::Exec => "execve",
        };
        write!(f, "{step} failed: {}", self.error)
    }
}

impl std::error::Error for SpawnError {}

/// Size of the child's stack. The child only runs a few dozen raw system calls in
/// one small frame; 64 KiB leaves ample room.
const CHILD_STACK_BYTES: usize = 64 * 1024;

/// Highest signal number on Linux (`_NSIG - 1`).
const MAX_SIGNAL: c_int = 64;

/// Kernel `sigset_t` size for `rt_sigprocmask`/`rt_sigaction` (64 signals).
const KERNEL_SIGSET_BYTES: usize = 8;

/// Everything the child needs, prepared by the parent before `clone`.
/// It lives on the parent's stack, which stays valid because `CLONE_VFORK`
/// suspends the parent until the child has exec'd or exited.
#[repr(C)]
struct ChildArgs {
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    /// Fallback upper bound for closing fds when `close_range` is unavailable.
    max_fd: c_int,
    /// 0 = success; otherwise the failed step (1 = close fds, 2 = exec).
    failed_step: AtomicI32,
    /// errno of the failed step.
    failed_errno: AtomicI32,
}

/// A raw system call that returns `-errno` on failure and never touches `errno`
/// (the child shares the parent's thread-local storage, so it must not write it).
#[cfg(target_arch = "x86_64")]
unsafe fn raw_syscall4(nr: libc::c_long, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the arguments are valid for system call `nr`.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// See the x86_64 variant.
#[cfg(target_arch = "aarch64")]
unsafe fn raw_syscall4(nr: libc::c_long, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the arguments are valid for system call `nr`.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a1 as isize => ret,
            in("x1") a2,
            in("x2") a3,
            in("x3") a4,
            options(nostack)
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kea-runscript-core's spawn supports x86_64 and aarch64 Linux");

/// The child's code. Runs on its own stack in the parent's address space with
/// every signal blocked; only raw system calls, no allocation, no locks.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` points to the parent's `ChildArgs`, alive until we exec or exit.
    let args = unsafe { &*(arg as *const ChildArgs) };
    // SAFETY (whole block): plain system calls on valid pointers prepared by the parent.
    unsafe {
        // 1. Default dispositions for every signal, including ones the host ignores
        //    (execve keeps SIG_IGN). A zeroed kernel sigaction is SIG_DFL, no flags,
        //    empty mask on every layout. Blocked signals cannot run a handler meanwhile.
        let default_action = [0u64; 4];
        for sig in 1..=MAX_SIGNAL {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            raw_syscall4(
                libc::SYS_rt_sigaction,
                sig as usize,
                default_action.as_ptr() as usize,
                0,
                KERNEL_SIGSET_BYTES,
            );
        }
        // 2. Close every fd above stderr, with or without FD_CLOEXEC.
        let rc = raw_syscall4(libc::SYS_close_range, 3, u32::MAX as usize, 0, 0);
        if rc == -(libc::ENOSYS as isize) {
            // Kernels before 5.9: close one by one up to the fd limit.
            for fd in 3..args.max_fd {
                raw_syscall4(libc::SYS_close, fd as usize, 0, 0, 0);
            }
        } else if rc < 0 {
            fail(args, 1, -rc as i32);
        }
        // 3. Empty signal mask (the parent blocked everything around clone).
        let empty: u64 = 0;
        raw_syscall4(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK as usize,
            &empty as *const u64 as usize,
            0,
            KERNEL_SIGSET_BYTES,
        );
        // 4. Replace this process by the script. Returns only on failure.
        let rc = raw_syscall4(
            libc::SYS_execve,
            args.path as usize,
            args.argv as usize,
            args.envp as usize,
            0,
        );
        fail(args, 2, -rc as i32)
    }
}

/// Records the failure for the parent and exits the child with status 127.
fn fail(args: &ChildArgs, step: i32, errno: i32) -> ! {
    args.failed_errno.store(errno, Ordering::Relaxed);
    args.failed_step.store(step, Ordering::Relaxed);
    loop {
        // SAFETY: exit_group ends this (child) process only: it shares memory but not
        // the thread group with the parent.
        unsafe {
            raw_syscall4(libc::SYS_exit_group, 127, 0, 0, 0);
        }
    }
}

/// Blocks every signal (glibc-internal ones too) in the calling thread and
/// restores the previous mask when dropped.
struct AllSignalsBlocked {
    previous: u64,
}

impl AllSignalsBlocked {
    fn new() -> AllSignalsBlocked {
        let all: u64 = !0;
        let mut previous: u64 = 0;
        // SAFETY: rt_sigprocmask with valid pointers to 8-byte sets. A raw call, because
        // glibc's pthread_sigmask refuses to block its internal signals (SIGCANCEL,
        // SIGSETXID), whose handlers must not run on the child's stack either.
        unsafe {
            raw_syscall4(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK as usize,
                &all as *const u64 as usize,
                &mut previous as *mut u64 as usize,
                KERNEL_SIGSET_BYTES,
            );
        }
        AllSignalsBlocked { previous }
    }
}

impl Drop for AllSignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe {
            raw_syscall4(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK as usize,
                &self.previous as *const u64 as usize,
                0,
                KERNEL_SIGSET_BYTES,
            );
        }
    }
}

/// The soft `RLIMIT_NOFILE`, bounding the fallback fd-closing loop.
fn max_fd() -> c_int {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into a valid struct.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if ok && limit.rlim_cur != libc::RLIM_INFINITY {
        limit.rlim_cur.min(c_int::MAX as u64) as c_int
    } else {
        65536
    }
}

/// Starts `path` with `argv = [path, arg1]` and exactly the environment `env`
/// (each entry `NAME=value`).
///
/// Returns when the child has called `execve` (or failed before it): a missing or
/// non-executable script is reported here, as a [`SpawnError`] naming the step.
/// Thread-safe; the calling thread is blocked only for the child's few system calls.
pub fn spawn(path: &CStr, arg1: &CStr, env: &[*const c_char]) -> Result<Child, SpawnError> {
    let argv: [*const c_char; 3] = [path.as_ptr(), arg1.as_ptr(), ptr::null()];
    let mut envp: Vec<*const c_char> = Vec::with_capacity(env.len() + 1);
    envp.extend_from_slice(env);
    envp.push(ptr::null());

    let args = ChildArgs {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        max_fd: max_fd(),
        failed_step: AtomicI32::new(0),
        failed_errno: AtomicI32::new(0),
    };
    // u128 elements keep the stack 16-byte aligned as both ABIs require.
    let mut stack = vec![0u128; CHILD_STACK_BYTES / 16];
    // SAFETY: one past the end of the allocation; stacks grow down.
    let stack_top = unsafe { stack.as_mut_ptr().add(stack.len()) } as *mut c_void;

    let mut pidfd: c_int = -1;
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD; // exit signal 0
    let (pid, clone_error) = {
        let _blocked = AllSignalsBlocked::new();
        // SAFETY: child_main only uses `args` (alive: the parent is suspended until the
        // child execs or exits, CLONE_VFORK) and raw system calls; the stack is ours and
        // unused by anything else; CLONE_PIDFD stores the pidfd in `pidfd`.
        let pid = unsafe {
            libc::clone(
                child_main,
                stack_top,
                flags,
                &args as *const ChildArgs as *mut c_void,
                &mut pidfd as *mut c_int,
            )
        };
        (pid, io::Error::last_os_error())
    };
    drop(stack);
    if pid < 0 {
        return Err(SpawnError {
            step: FailedStep::Clone,
            error: clone_error,
        });
    }
    // SAFETY: CLONE_PIDFD succeeded, so `pidfd` is a fresh fd that we own.
    let mut child = Child {
        pid,
        pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        reaped: false,
    };
    let step = match args.failed_step.load(Ordering::Relaxed) {
        0 => return Ok(child),
        1 => FailedStep::CloseFds,
        _ => FailedStep::Exec,
    };
    // The child has exited with 127; reap it before reporting.
    let _ = child.wait();
    Err(SpawnError {
        step,
        error: io::Error::from_raw_os_error(args.failed_errno.load(Ordering::Relaxed)),
    })
}

impl Child {
    /// The child's pid (for logs; use the pidfd for anything else).
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Sends `signal` through the pidfd (never hits a recycled pid).
    /// Sending to a child that has exited but is not yet reaped is not an error.
    pub fn signal(&self, signal: c_int) -> io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        // SAFETY: pidfd_send_signal with our own pidfd and no siginfo.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                signal,
                ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// `waitid(P_PIDFD, …)`; with `block == false` returns `None` while it runs.
    fn waitid(&mut self, block: bool) -> io::Result<Option<ExitStatus>> {
        let mut options = libc::WEXITED | libc::__WALL;
        if !block {
            options |= libc::WNOHANG;
        }
        loop {
            // SAFETY: zeroed siginfo_t is valid; waitid fills it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid on our pidfd with a valid siginfo pointer.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PIDFD,
                    self.pidfd.as_raw_fd() as libc::id_t,
                    &mut info,
                    options,
                )
            };
            if rc < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            // SAFETY: waitid succeeded, so the SIGCHLD fields are initialised (si_pid 0 =
            // nothing to report yet under WNOHANG).
            let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
            if pid == 0 {
                return Ok(None);
            }
            self.reaped = true;
            return Ok(Some(if info.si_code == libc::CLD_EXITED {
                ExitStatus::Exited(status)
            } else {
                ExitStatus::Signaled(status)
            }));
        }
    }

    /// Reaps the child if it has ended; `None` while it still runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.waitid(false)
    }

    /// Blocks until the child ends and reaps it.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.waitid(true)
            .map(|status| status.expect("blocking waitid reports a status"))
    }

    /// Waits up to `timeout` for the child to end (polling its pidfd, not any pipe:
    /// a grandchild holding the script's stdout does not delay us). `None` = still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // Round up so we never spin on sub-millisecond remainders.
            let ms = left.as_micros().div_ceil(1000).min(c_int::MAX as u128) as c_int;
            // SAFETY: poll on one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}

impl AsFd for Child {
    /// The pidfd: readable (`POLLIN`) once the child has ended.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.signal(libc::SIGKILL);
            let _ = self.wait();
        }
    }
}
