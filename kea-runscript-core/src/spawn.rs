//! Launching a script: the only module with substantial `unsafe`.
//!
//! # Why a keeper process
//! Kea's `ProcessSpawn` reaps with `waitpid(-1, WNOHANG)` from its `SIGCHLD`
//! handler, so any ordinary child of Kea can have its exit status stolen. A "clone
//! child" (exit signal 0) is invisible to `waitpid` without `__WALL` — but only until
//! it calls `execve`, which resets the exit signal to `SIGCHLD` (the kernel's
//! `de_thread`). So the script must not be Kea's child at all.
//!
//! # Technique
//! 1. The calling thread creates a **keeper**: `clone(CLONE_VM | CLONE_FILES |
//!    CLONE_PIDFD)` with exit signal 0, on a stack we allocate. It shares Kea's
//!    memory and fd table (so nothing is copied: the cost does not grow with the host's
//!    memory, and no extra references to Kea's sockets are held), never calls
//!    `execve`, so it stays a clone child: `waitpid(-1, …)` never sees it and Kea
//!    never gets `SIGCHLD` for it. We wait for it through its pidfd
//!    (`waitid(P_PIDFD, …, WEXITED | __WALL)`, or epoll). The calling thread returns
//!    as soon as `clone` does.
//! 2. The keeper starts the script with `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)`
//!    (posix_spawn semantics), so the script is the keeper's child, not Kea's.
//! 3. The keeper waits for the script's pidfd to become readable, enforcing the
//!    timeout (`SIGTERM`, then `SIGKILL` after the grace, both to the script's whole
//!    process group) and reacting to the engine's stop fd (unload), reaps the script with `waitid(P_PIDFD)`, writes the result
//!    into memory shared with the parent, and exits.
//!
//! Code running in the keeper or in the script before `execve` shares the parent's
//! memory, and its thread pointer is still the parent thread's: it does nothing but
//! raw system calls (`raw_syscall*`, `raw_clone`; no libc wrapper that could write
//! `errno` or take a lock, no allocation). The parent blocks every signal (including
//! glibc's internal ones) around `clone`; the keeper keeps them all blocked for its
//! whole life, so no host signal handler ever runs on the keeper's stack.
//!
//! The script, before `execve`: leads a new process group (`setpgid(0, 0)`, so that
//! ending a timed-out script ends its children too), resets every signal disposition to `SIG_DFL`, sets
//! `PR_SET_PDEATHSIG(SIGKILL)` (if its keeper is ever killed, the script dies too
//! instead of running unmanaged), closes every fd from 3 up with `close_range` (also
//! fds without `FD_CLOEXEC`), unblocks every signal. It inherits fds 0, 1 and 2 of the
//! host as they are (as Kea's own hook does): its output goes where Kea's goes.

use std::any::Any;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How a script ended.
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

/// How a run ended: the script's status, and why it was terminated, if it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The script's exit status.
    pub status: ExitStatus,
    /// It outlived its timeout and was sent `SIGTERM` (and `SIGKILL` after the grace).
    pub timed_out: bool,
    /// It was terminated because the engine was stopping (unload).
    pub stopped: bool,
}

/// Which step of starting or watching a script failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailedStep {
    /// Creating the keeper process.
    Keeper,
    /// Creating the script process (in the keeper).
    Clone,
    /// Closing inherited fds in the script before `execve`.
    CloseFds,
    /// `execve` of the script.
    Exec,
    /// Putting the given pipes on fds 0-2 of the script (see [`Stdio`]).
    Stdio,
    /// Waiting for the keeper or the script.
    Wait,
}

/// Error of starting or waiting for a script: the step that failed and the OS error.
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
            FailedStep::Keeper => "creating the keeper process",
            FailedStep::Clone => "clone",
            FailedStep::CloseFds => "closing inherited fds",
            FailedStep::Exec => "execve",
            FailedStep::Stdio => "setting up fds 0-2",
            FailedStep::Wait => "waiting",
        };
        write!(f, "{step} failed: {}", self.error)
    }
}

impl std::error::Error for SpawnError {}

/// What to run: `argv = [path, arg1]` and exactly the environment entries
/// (`NAME=value`). The pointers handed to the keeper stay valid because the
/// [`Child`] owns the program until the keeper has exited.
pub struct Program {
    path: CString,
    arg1: CString,
    /// Null-terminated pointer arrays into the strings above and `keep`.
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    _keep: Box<dyn Any + Send + Sync>,
}

// SAFETY: the raw pointers point into `path`, `arg1` and `_keep`, which move with the
// Program and are immutable; nothing is shared mutably.
unsafe impl Send for Program {}
unsafe impl Sync for Program {}

impl Program {
    /// A program owning all its strings.
    pub fn new(path: CString, arg1: CString, env: Vec<CString>) -> Program {
        let ptrs: Vec<*const c_char> = env.iter().map(|e| e.as_ptr()).collect();
        // SAFETY: the pointers point into `env`, which is kept.
        unsafe { Program::with_shared_env(path, arg1, ptrs, Box::new(env)) }
    }

    /// A program whose environment entries live in `keep` (shared by several
    /// programs, e.g. one rendered event run by several scripts).
    ///
    /// # Safety
    /// Every pointer in `env` must point to a NUL-terminated string owned by `keep`
    /// (heap memory that does not move when `keep` moves) and never mutated.
    pub unsafe fn with_shared_env(
        path: CString,
        arg1: CString,
        env: Vec<*const c_char>,
        keep: Box<dyn Any + Send + Sync>,
    ) -> Program {
        let argv = vec![path.as_ptr(), arg1.as_ptr(), ptr::null()];
        let mut envp = env;
        envp.push(ptr::null());
        Program {
            path,
            arg1,
            argv,
            envp,
            _keep: keep,
        }
    }

    /// The script path.
    pub fn path(&self) -> &CStr {
        &self.path
    }

    /// `argv[1]`.
    pub fn arg1(&self) -> &CStr {
        &self.arg1
    }
}

/// An eventfd that, once triggered, makes every keeper watching it terminate its
/// script (`SIGTERM`, `SIGKILL` after the grace). One per engine, for unload.
#[derive(Debug)]
pub struct StopSignal {
    fd: OwnedFd,
}

impl StopSignal {
    /// Creates the eventfd.
    pub fn new() -> io::Result<StopSignal> {
        // SAFETY: eventfd creates a new fd that we own at once.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh fd.
        Ok(StopSignal {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Makes the fd readable for good (it is never read).
    pub fn trigger(&self) {
        let one: u64 = 1;
        // SAFETY: an 8-byte write to our eventfd.
        unsafe {
            libc::write(self.fd.as_raw_fd(), &one as *const u64 as *const c_void, 8);
        }
    }
}

/// How long the keeper lets a script run, and what stops it.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// `SIGTERM` after this long; `None` = no limit.
    pub timeout: Option<Duration>,
    /// After `SIGTERM`, `SIGKILL` after this long.
    pub grace: Duration,
    /// Terminate the script when this is triggered.
    pub stop: Option<Arc<StopSignal>>,
}

/// Size of each of the two stacks (keeper, script before exec). Both run a few raw
/// system calls in small frames; 64 KiB leaves ample room.
const STACK_BYTES: usize = 64 * 1024;

/// Highest signal number on Linux (`_NSIG - 1`).
const MAX_SIGNAL: c_int = 64;

/// Kernel `sigset_t` size for `rt_sigprocmask`/`rt_sigaction`/`ppoll` (64 signals).
const KERNEL_SIGSET_BYTES: usize = 8;

/// Result codes written by the keeper into [`Shared::result`].
const RESULT_PENDING: i32 = 0;
const RESULT_EXITED: i32 = 1;
const RESULT_SIGNALED: i32 = 2;
const RESULT_FAILED: i32 = 3;

/// Step codes written into `Shared::failed_step` (0: nothing failed), decoded into
/// [`FailedStep`] by the parent.
const STEP_CLONE: i32 = 1;
const STEP_CLOSE_FDS: i32 = 2;
const STEP_EXEC: i32 = 3;
const STEP_WAIT: i32 = 4;
const STEP_STDIO: i32 = 5;

/// Memory shared by the parent, the keeper and the script before exec. Heap-allocated
/// (boxed in the [`Child`]) so its address is stable; freed only after the keeper
/// has been reaped.
#[repr(C)]
struct Shared {
    // Inputs, written before the keeper is created.
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    /// Fallback bound for closing fds one by one when `close_range` is missing.
    max_fd: c_int,
    /// Timeout and grace in ms (`-1` = none), and the stop eventfd (`-1` = none).
    timeout_ms: i64,
    grace_ms: i64,
    stop_fd: c_int,
    /// Fds to put on the script's 0, 1, 2 (`-1`: inherit the host's); closed in the
    /// host by the keeper once the script is started (see [`Stdio`]).
    stdio: [c_int; 3],
    /// Non-zero: the keeper dies (`SIGKILL`) with the thread that created it.
    die_with_thread: c_int,
    script_stack_top: *mut c_void,
    // Written by the keeper (and the script before exec); read after the keeper exited.
    keeper_pid: AtomicI32,
    failed_step: AtomicI32,
    failed_errno: AtomicI32,
    result: AtomicI32,
    value: AtomicI32,
    timed_out: AtomicI32,
    stopped: AtomicI32,
    /// Set by the keeper once it has closed `stdio` in the shared fd table.
    stdio_closed: AtomicI32,
}

/// The memory of one run shared with its keeper: the result block, both stacks, the
/// program's strings (pointed to by `shared`) and the limits (the stop fd).
struct Block {
    shared: Shared,
    _stacks: [Stack; 2],
    program: Program,
    _limits: Limits,
}

/// An uninitialised, 16-byte-aligned stack.
struct Stack(Vec<MaybeUninit<u128>>);

impl Stack {
    fn new() -> Stack {
        let mut v = Vec::with_capacity(STACK_BYTES / 16);
        // SAFETY: MaybeUninit needs no initialisation.
        unsafe { v.set_len(STACK_BYTES / 16) };
        Stack(v)
    }

    fn top(&mut self) -> *mut c_void {
        // SAFETY: one past the end of the allocation; stacks grow down.
        unsafe { self.0.as_mut_ptr().add(self.0.len()) as *mut c_void }
    }
}

/// A started script, owned through its keeper's pidfd.
///
/// Dropping a `Child` whose keeper has not been reaped kills the keeper (the
/// script dies with it through `PR_SET_PDEATHSIG`) and reaps it, so nothing is left
/// unmanaged and the shared memory is freed only when no one uses it.
pub struct Child {
    keeper_pidfd: OwnedFd,
    /// From `Box::into_raw`: a raw pointer, not a `Box`, because the keeper accesses
    /// the block concurrently; freed in `Drop` after the keeper has been reaped.
    block: *mut Block,
    reaped: bool,
}

// SAFETY: `block` is owned by the Child (freed in its Drop); the pointers inside it
// point into the same heap block; the keeper only writes its atomics.
unsafe impl Send for Child {}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("path", &self.program().path)
            .field("keeper_pidfd", &self.keeper_pidfd)
            .field("reaped", &self.reaped)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Raw system calls: return -errno on failure, never touch errno or TLS.
// ---------------------------------------------------------------------------

/// A raw system call with up to five arguments.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn raw_syscall(nr: libc::c_long, a: [usize; 5]) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the arguments are valid for system call `nr`.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// See the x86_64 variant.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn raw_syscall(nr: libc::c_long, a: [usize; 5]) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the arguments are valid for system call `nr`.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            options(nostack)
        );
    }
    ret
}

/// `clone` as a raw system call: the new process starts on `stack_top` by calling
/// `entry(arg)` and exits with its return value. Returns the child's pid (or
/// -errno) in the parent. With `CLONE_PIDFD`, the pidfd is stored at `pidfd`.
#[cfg(target_arch = "x86_64")]
unsafe fn raw_clone(
    flags: c_int,
    stack_top: *mut c_void,
    pidfd: *mut c_int,
    entry: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> isize {
    let ret: isize;
    // SAFETY: the caller provides a valid stack and an entry that never returns to
    // the parent's frames. x86_64 clone(flags, newsp, parent_tid, child_tid, tls).
    // In the child (rax == 0) rsp is the 16-byte-aligned new stack: call entry(arg)
    // from r12/r13 (preserved across the syscall) and exit with its result.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, 60", // exit
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone as isize => ret,
            in("rdi") flags as usize,
            in("rsi") stack_top,
            in("rdx") pidfd,
            in("r10") 0usize,
            in("r8") 0usize,
            in("r12") entry as usize,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

/// See the x86_64 variant. aarch64 clone(flags, newsp, parent_tid, tls, child_tid).
#[cfg(target_arch = "aarch64")]
unsafe fn raw_clone(
    flags: c_int,
    stack_top: *mut c_void,
    pidfd: *mut c_int,
    entry: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> isize {
    let ret: isize;
    // SAFETY: as for x86_64; x21/x22 are preserved across the syscall.
    unsafe {
        std::arch::asm!(
            "svc 0",
            "cbnz x0, 2f",
            "mov x29, xzr",
            "mov x30, xzr",
            "mov x0, x22",
            "blr x21",
            "mov x8, #93", // exit
            "svc 0",
            "brk #0",
            "2:",
            in("x8") libc::SYS_clone,
            inlateout("x0") flags as usize as isize => ret,
            in("x1") stack_top,
            in("x2") pidfd,
            in("x3") 0usize,
            in("x4") 0usize,
            in("x21") entry as usize,
            in("x22") arg,
            lateout("x30") _,
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("kea-runscript-core's spawn supports x86_64 and aarch64 Linux");

/// Exits the calling (keeper or pre-exec script) process.
fn raw_exit(code: c_int) -> ! {
    loop {
        // SAFETY: exit_group ends this process only: it shares memory with the
        // parent but not its thread group.
        unsafe {
            raw_syscall(libc::SYS_exit_group, [code as usize, 0, 0, 0, 0]);
        }
    }
}

/// Monotonic time in ms (raw clock_gettime).
fn raw_now_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime into a valid timespec.
    unsafe {
        raw_syscall(
            libc::SYS_clock_gettime,
            [
                libc::CLOCK_MONOTONIC as usize,
                &mut ts as *mut _ as usize,
                0,
                0,
                0,
            ],
        );
    }
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

fn raw_signal(pidfd: c_int, signal: c_int) {
    // SAFETY: pidfd_send_signal on a pidfd we hold.
    unsafe {
        raw_syscall(
            libc::SYS_pidfd_send_signal,
            [pidfd as usize, signal as usize, 0, 0, 0],
        );
    }
}

/// Signals the script's whole process group (the script leads it: `setpgid(0, 0)`
/// before `execve`), so a timed-out script's own children end with it. The group
/// id cannot be reused while the script is unreaped, and the keeper reaps it only
/// after the last signal. Falls back to the script alone if it has no group.
fn raw_signal_group(pid: isize, pidfd: c_int, signal: c_int) {
    // SAFETY: kill(2) on a process group led by our unreaped child.
    let rc = unsafe { raw_syscall(libc::SYS_kill, [(-pid) as usize, signal as usize, 0, 0, 0]) };
    if rc < 0 {
        raw_signal(pidfd, signal);
    }
}

/// Closes the `stdio` fds in the (shared) fd table, once.
fn raw_close_stdio(sh: &Shared) {
    if sh.stdio_closed.swap(1, Ordering::Relaxed) != 0 {
        return;
    }
    for &fd in &sh.stdio {
        if fd >= 0 {
            // SAFETY: close of an fd handed to this run by `spawn_with`, used by no one else.
            unsafe {
                raw_syscall(libc::SYS_close, [fd as usize, 0, 0, 0, 0]);
            }
        }
    }
}

/// Reaps the keeper's script (`waitid(P_PIDFD, WEXITED)` into `info`) and closes its
/// pidfd. Returns 0 or -errno.
fn raw_reap(pidfd: c_int, info: &mut libc::siginfo_t) -> isize {
    // SAFETY: waitid on the script's pidfd with a valid siginfo pointer, then close of
    // that pidfd, which nothing uses afterwards.
    unsafe {
        let rc = raw_syscall(
            libc::SYS_waitid,
            [
                libc::P_PIDFD as usize,
                pidfd as usize,
                info as *mut _ as usize,
                libc::WEXITED as usize,
                0,
            ],
        );
        raw_syscall(libc::SYS_close, [pidfd as usize, 0, 0, 0, 0]);
        rc
    }
}

// ---------------------------------------------------------------------------
// The keeper and the script before exec.
// ---------------------------------------------------------------------------

/// The script's code before `execve`: the parent's memory, the keeper suspended
/// (vfork), every signal blocked. Only raw system calls.
extern "C" fn script_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Shared block, alive until the keeper has been reaped.
    let sh = unsafe { &*(arg as *const Shared) };
    let fail = |step: i32, rc: isize| -> ! {
        sh.failed_errno.store(-rc as i32, Ordering::Relaxed);
        sh.failed_step.store(step, Ordering::Relaxed);
        raw_exit(127)
    };
    // SAFETY (block): raw system calls with valid pointers prepared by the parent.
    unsafe {
        // Default dispositions for every signal, including ones the host ignores
        // (execve keeps SIG_IGN). A zeroed kernel sigaction is SIG_DFL, no flags,
        // empty mask, whatever the architecture's layout.
        let default_action = [0u64; 4];
        for sig in 1..=MAX_SIGNAL {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                raw_syscall(
                    libc::SYS_rt_sigaction,
                    [
                        sig as usize,
                        default_action.as_ptr() as usize,
                        0,
                        KERNEL_SIGSET_BYTES,
                        0,
                    ],
                );
            }
        }
        // Die with the keeper; if it is already gone, do not run unmanaged.
        raw_syscall(
            libc::SYS_prctl,
            [
                libc::PR_SET_PDEATHSIG as usize,
                libc::SIGKILL as usize,
                0,
                0,
                0,
            ],
        );
        if raw_syscall(libc::SYS_getppid, [0; 5]) as i32 != sh.keeper_pid.load(Ordering::Relaxed) {
            raw_exit(127);
        }
        // Lead a process group of our own, so that a timeout or unload can end the
        // script's children too (best effort: a failure leaves it in Kea's group,
        // and only the script itself is signalled then).
        raw_syscall(libc::SYS_setpgid, [0; 5]);
        // The given pipes become fds 0-2 (dup3 clears FD_CLOEXEC on the copy; the
        // sources are all >= 3, so no copy overwrites a later source).
        for (target, &source) in sh.stdio.iter().enumerate() {
            if source >= 0 {
                let rc = raw_syscall(libc::SYS_dup3, [source as usize, target, 0, 0, 0]);
                if rc < 0 {
                    fail(STEP_STDIO, rc);
                }
            }
        }
        // Close every fd above stderr, with or without FD_CLOEXEC.
        let rc = raw_syscall(libc::SYS_close_range, [3, u32::MAX as usize, 0, 0, 0]);
        if rc == -(libc::ENOSYS as isize) {
            for fd in 3..sh.max_fd {
                raw_syscall(libc::SYS_close, [fd as usize, 0, 0, 0, 0]);
            }
        } else if rc < 0 {
            fail(STEP_CLOSE_FDS, rc);
        }
        // Empty signal mask.
        let empty: u64 = 0;
        raw_syscall(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as usize,
                &empty as *const u64 as usize,
                0,
                KERNEL_SIGSET_BYTES,
                0,
            ],
        );
        let rc = raw_syscall(
            libc::SYS_execve,
            [sh.path as usize, sh.argv as usize, sh.envp as usize, 0, 0],
        );
        fail(STEP_EXEC, rc)
    }
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

/// The keeper: starts the script, watches it (timeout, stop fd), reaps it, records
/// the result, exits. Shares the parent's memory and fd table; every signal stays
/// blocked; only raw system calls.
extern "C" fn keeper_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Shared block, alive until this process has been reaped.
    let sh = unsafe { &*(arg as *const Shared) };
    // SAFETY (block): raw system calls with valid pointers.
    unsafe {
        // Show up as "kea-runscript" rather than as a second Kea in ps.
        let name = b"kea-runscript\0";
        raw_syscall(
            libc::SYS_prctl,
            [libc::PR_SET_NAME as usize, name.as_ptr() as usize, 0, 0, 0],
        );
        sh.keeper_pid.store(
            raw_syscall(libc::SYS_getpid, [0; 5]) as i32,
            Ordering::Relaxed,
        );
        if sh.die_with_thread != 0 {
            // A long-lived script (a worker) must not outlive a host that died without
            // unloading: its keeper dies with the creating thread, the script with it.
            raw_syscall(
                libc::SYS_prctl,
                [
                    libc::PR_SET_PDEATHSIG as usize,
                    libc::SIGKILL as usize,
                    0,
                    0,
                    0,
                ],
            );
        }

        let mut pidfd: c_int = -1;
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
        let pid = raw_clone(flags, sh.script_stack_top, &mut pidfd, script_main, arg);
        // The script has exec'd or failed (vfork): its ends of the pipes are no longer
        // needed in the host's fd table, which the keeper shares.
        raw_close_stdio(sh);
        if pid < 0 {
            sh.failed_errno.store(-pid as i32, Ordering::Relaxed);
            sh.failed_step.store(STEP_CLONE, Ordering::Relaxed);
            sh.result.store(RESULT_FAILED, Ordering::Relaxed);
            raw_exit(0);
        }
        let mut info: libc::siginfo_t = std::mem::zeroed();
        if sh.failed_step.load(Ordering::Relaxed) != 0 {
            raw_reap(pidfd, &mut info);
            sh.result.store(RESULT_FAILED, Ordering::Relaxed);
            raw_exit(0);
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
            due = raw_now_ms() + sh.timeout_ms;
        }
        // SIGTERM now, SIGKILL after the grace.
        let terminate = || {
            raw_signal_group(pid, pidfd, libc::SIGTERM);
            (NextSignal::Kill, raw_now_ms() + sh.grace_ms)
        };
        let all_blocked: u64 = !0;
        loop {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let ts_ptr = if next == NextSignal::None {
                0
            } else {
                let left = (due - raw_now_ms()).max(0);
                ts.tv_sec = (left / 1000) as _;
                ts.tv_nsec = ((left % 1000) * 1_000_000) as _;
                &mut ts as *mut _ as usize
            };
            let n = raw_syscall(
                libc::SYS_ppoll,
                [
                    fds.as_mut_ptr() as usize,
                    2,
                    ts_ptr,
                    &all_blocked as *const u64 as usize,
                    KERNEL_SIGSET_BYTES,
                ],
            );
            if n > 0 && fds[0].revents != 0 {
                break;
            }
            if n > 0 && fds[1].revents != 0 {
                // Unload: terminate now, stop watching the fd (it stays readable).
                fds[1].fd = -1;
                sh.stopped.store(1, Ordering::Relaxed);
                if next != NextSignal::Kill {
                    (next, due) = terminate();
                }
                continue;
            }
            if next != NextSignal::None && raw_now_ms() >= due {
                match next {
                    NextSignal::Term => {
                        sh.timed_out.store(1, Ordering::Relaxed);
                        (next, due) = terminate();
                    }
                    NextSignal::Kill => {
                        raw_signal_group(pid, pidfd, libc::SIGKILL);
                        next = NextSignal::None;
                    }
                    NextSignal::None => {}
                }
            }
        }
        // A script we had to end may leave children that ignored SIGTERM: kill
        // what is left of its group while the (unreaped) script still holds the id.
        if sh.timed_out.load(Ordering::Relaxed) != 0 || sh.stopped.load(Ordering::Relaxed) != 0 {
            raw_signal_group(pid, pidfd, libc::SIGKILL);
        }
        let rc = raw_reap(pidfd, &mut info);
        if rc < 0 {
            sh.failed_errno.store(-rc as i32, Ordering::Relaxed);
            sh.failed_step.store(STEP_WAIT, Ordering::Relaxed);
            sh.result.store(RESULT_FAILED, Ordering::Relaxed);
        } else {
            sh.value.store(info.si_status(), Ordering::Relaxed);
            let kind = if info.si_code == libc::CLD_EXITED {
                RESULT_EXITED
            } else {
                RESULT_SIGNALED
            };
            sh.result.store(kind, Ordering::Relaxed);
        }
        raw_exit(0)
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
        // SAFETY: rt_sigprocmask with valid pointers to 8-byte sets. Raw, because
        // glibc's pthread_sigmask refuses to block its internal signals (SIGCANCEL,
        // SIGSETXID), whose handlers must not run in the keeper either.
        unsafe {
            raw_syscall(
                libc::SYS_rt_sigprocmask,
                [
                    libc::SIG_SETMASK as usize,
                    &all as *const u64 as usize,
                    &mut previous as *mut u64 as usize,
                    KERNEL_SIGSET_BYTES,
                    0,
                ],
            );
        }
        AllSignalsBlocked { previous }
    }
}

impl Drop for AllSignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe {
            raw_syscall(
                libc::SYS_rt_sigprocmask,
                [
                    libc::SIG_SETMASK as usize,
                    &self.previous as *const u64 as usize,
                    0,
                    KERNEL_SIGSET_BYTES,
                    0,
                ],
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

fn millis(d: Option<Duration>) -> i64 {
    d.map_or(-1, |d| d.as_millis().min(i64::MAX as u128) as i64)
}

/// Starts `program` under a keeper that enforces `limits`. Returns as soon as the
/// keeper exists (the calling thread never waits for `execve`); a script that cannot
/// be started is reported by [`Child::wait`]/[`Child::try_wait`]. Thread-safe.
pub fn spawn(program: Program, limits: Limits) -> Result<Child, SpawnError> {
    spawn_with(program, limits, Stdio::default())
}

/// Fds 0-2 of a script other than the host's, and the keeper's lifetime: for a
/// long-lived script (a worker) fed through pipes.
#[derive(Debug, Default)]
pub struct Stdio {
    /// The script's fd 0, 1, 2 (`None`: the host's). The fds are the script's ends of
    /// pipes; they are closed in the host as soon as the script is started.
    pub fds: [Option<OwnedFd>; 3],
    /// The keeper (and with it the script) gets `SIGKILL` when the thread that called
    /// [`spawn_with`] ends — so a script cannot outlive a host killed without unload.
    /// That thread must then live as long as the script is meant to.
    pub die_with_thread: bool,
}

/// [`spawn`] with the script's fds 0-2 and the keeper's lifetime given by `stdio`.
pub fn spawn_with(program: Program, limits: Limits, stdio: Stdio) -> Result<Child, SpawnError> {
    let mut raw_stdio = [-1 as c_int; 3];
    for (slot, fd) in raw_stdio.iter_mut().zip(stdio.fds) {
        if let Some(fd) = fd {
            // The script's dup3 onto 0-2 needs sources above 2.
            let fd = if fd.as_raw_fd() < 3 {
                fd.try_clone().map_err(|error| SpawnError {
                    step: FailedStep::Stdio,
                    error,
                })?
            } else {
                fd
            };
            *slot = std::os::fd::IntoRawFd::into_raw_fd(fd);
        }
    }
    let mut stacks = [Stack::new(), Stack::new()];
    let shared = Shared {
        path: program.path.as_ptr(),
        argv: program.argv.as_ptr(),
        envp: program.envp.as_ptr(),
        max_fd: max_fd(),
        timeout_ms: millis(limits.timeout),
        grace_ms: millis(Some(limits.grace)),
        stop_fd: limits.stop.as_ref().map_or(-1, |s| s.fd.as_raw_fd()),
        stdio: raw_stdio,
        die_with_thread: c_int::from(stdio.die_with_thread),
        script_stack_top: stacks[1].top(),
        keeper_pid: AtomicI32::new(0),
        failed_step: AtomicI32::new(0),
        failed_errno: AtomicI32::new(0),
        result: AtomicI32::new(RESULT_PENDING),
        value: AtomicI32::new(0),
        timed_out: AtomicI32::new(0),
        stopped: AtomicI32::new(0),
        stdio_closed: AtomicI32::new(0),
    };
    let keeper_stack_top = stacks[0].top();
    // Everything the keeper touches, in one allocation freed after it is reaped.
    let block = Box::into_raw(Box::new(Block {
        shared,
        _stacks: stacks,
        program,
        _limits: limits,
    }));
    let mut pidfd: c_int = -1;
    // Exit signal 0: a clone child, invisible to waitpid(-1) and without SIGCHLD.
    let flags = libc::CLONE_VM | libc::CLONE_FILES | libc::CLONE_PIDFD;
    let rc = {
        let _blocked = AllSignalsBlocked::new();
        // SAFETY: keeper_main only uses the Shared block (freed only after the keeper
        // is reaped), its own stack (likewise) and raw system calls.
        unsafe {
            raw_clone(
                flags,
                keeper_stack_top,
                &mut pidfd,
                keeper_main,
                // SAFETY: a field of the live block.
                ptr::addr_of_mut!((*block).shared) as *mut c_void,
            )
        }
    };
    if rc < 0 {
        // SAFETY: no keeper was created; the block is ours alone.
        let block = unsafe { Box::from_raw(block) };
        raw_close_stdio(&block.shared);
        drop(block);
        return Err(SpawnError {
            step: FailedStep::Keeper,
            error: io::Error::from_raw_os_error(-rc as i32),
        });
    }
    Ok(Child {
        // SAFETY: CLONE_PIDFD succeeded, so `pidfd` is a fresh fd that we own.
        keeper_pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        block,
        reaped: false,
    })
}

impl Child {
    /// `waitid(P_PIDFD)` on the keeper; `block == false` returns `None` while it runs.
    fn wait_keeper(&mut self, block: bool) -> io::Result<bool> {
        let mut options = libc::WEXITED | libc::__WALL;
        if !block {
            options |= libc::WNOHANG;
        }
        loop {
            // SAFETY: a zeroed siginfo_t is valid; waitid fills it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid on our pidfd with a valid siginfo pointer.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PIDFD,
                    self.keeper_pidfd.as_raw_fd() as libc::id_t,
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
            // SAFETY: waitid succeeded; si_pid 0 means nothing to report yet.
            if unsafe { info.si_pid() } == 0 {
                return Ok(false);
            }
            self.reaped = true;
            return Ok(true);
        }
    }

    /// The result the keeper recorded (call after it has been reaped).
    fn report(&self) -> Result<Report, SpawnError> {
        // SAFETY: the block lives until Drop; only atomics are read.
        let sh = unsafe { &(*self.block).shared };
        let value = sh.value.load(Ordering::Relaxed);
        let status = match sh.result.load(Ordering::Relaxed) {
            RESULT_EXITED => ExitStatus::Exited(value),
            RESULT_SIGNALED => ExitStatus::Signaled(value),
            RESULT_FAILED => {
                let step = match sh.failed_step.load(Ordering::Relaxed) {
                    STEP_CLONE => FailedStep::Clone,
                    STEP_CLOSE_FDS => FailedStep::CloseFds,
                    STEP_EXEC => FailedStep::Exec,
                    STEP_STDIO => FailedStep::Stdio,
                    _ => FailedStep::Wait,
                };
                return Err(SpawnError {
                    step,
                    error: io::Error::from_raw_os_error(sh.failed_errno.load(Ordering::Relaxed)),
                });
            }
            _ => {
                // The keeper died without recording (killed from outside).
                return Err(SpawnError {
                    step: FailedStep::Wait,
                    error: io::Error::other("the keeper process was killed"),
                });
            }
        };
        Ok(Report {
            status,
            timed_out: sh.timed_out.load(Ordering::Relaxed) != 0,
            stopped: sh.stopped.load(Ordering::Relaxed) != 0,
        })
    }

    /// The result if the run has ended (keeper reaped), `None` while it runs.
    pub fn try_wait(&mut self) -> Option<Result<Report, SpawnError>> {
        if !self.reaped {
            match self.wait_keeper(false) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => {
                    return Some(Err(SpawnError {
                        step: FailedStep::Wait,
                        error,
                    }))
                }
            }
        }
        Some(self.report())
    }

    /// Blocks until the run has ended (bounded by the limits' timeout and grace, if
    /// any) and returns its result.
    pub fn wait(&mut self) -> Result<Report, SpawnError> {
        if !self.reaped {
            self.wait_keeper(true).map_err(|error| SpawnError {
                step: FailedStep::Wait,
                error,
            })?;
        }
        self.report()
    }

    /// The program this child runs.
    pub fn program(&self) -> &Program {
        // SAFETY: the block lives until Drop; the program is immutable.
        unsafe { &(*self.block).program }
    }
}

impl AsFd for Child {
    /// The keeper's pidfd: readable (`POLLIN`) once the run has ended.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.keeper_pidfd.as_fd()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: pidfd_send_signal on our keeper pidfd. The script dies with its
            // keeper (PR_SET_PDEATHSIG); the shared memory is freed only after the
            // keeper is reaped below.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    self.keeper_pidfd.as_raw_fd(),
                    libc::SIGKILL,
                    ptr::null::<libc::siginfo_t>(),
                    0,
                );
            }
            let _ = self.wait_keeper(true);
        }
        if self.reaped {
            // SAFETY: the keeper is gone; nothing else refers to the block.
            let block = unsafe { Box::from_raw(self.block) };
            // A keeper killed before it started the script left them open.
            raw_close_stdio(&block.shared);
            drop(block);
        }
        // (If even the blocking wait failed, the block is leaked rather than freed
        // under a possibly live keeper.)
    }
}
