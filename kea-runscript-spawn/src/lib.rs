//! Constant-time process launch from a large multi-threaded process: no `fork`, no
//! copy of the host's memory, a pidfd per run, the script in a process group of its
//! own, and a timeout enforced outside the calling thread. The unsafe part of
//! kea-runscript (a Kea hook library), usable by any Linux (x86_64, aarch64) program
//! that starts processes while it serves requests on many threads.
//!
//! - [`spawn`] / [`spawn_with`] start a [`Program`] under [`Limits`] (timeout, grace
//!   before `SIGKILL`, a [`StopSignal`]) and return a [`Child`] at once;
//! - [`Child::wait`] / [`Child::try_wait`] give its [`Report`] (an [`ExitStatus`], and
//!   whether it timed out or was stopped) or a [`SpawnError`] naming the
//!   [`FailedStep`]; a `Child` is also the keeper's pidfd, to poll or epoll;
//! - [`Stdio`] gives the script other fds 0-2 (pipes) and ties its life to the thread
//!   that started it; [`Program::with_ambient_capabilities`] and
//!   [`grantable_capabilities`] hand it capabilities;
//! - [`KILL_GRACE`]: the usual grace between `SIGTERM` and `SIGKILL`.
//!
//! ```
//! use std::ffi::CString;
//! use std::time::Duration;
//! use kea_runscript_spawn::{spawn, ExitStatus, Limits, Program, KILL_GRACE};
//!
//! // argv = ["/bin/false", "lease4_renew"], and exactly this environment.
//! let program = Program::new(
//!     CString::new("/bin/false").unwrap(),
//!     CString::new("lease4_renew").unwrap(),
//!     vec![CString::new("LEASE4_ADDRESS=192.0.2.1").unwrap()],
//! );
//! let limits = Limits { timeout: Some(Duration::from_secs(5)), grace: KILL_GRACE, stop: None };
//! // Returns once the keeper exists, without waiting for execve.
//! let mut child = spawn(program, limits).expect("keeper started");
//! let report = child.wait().expect("the run ended");
//! assert_eq!(report.status, ExitStatus::Exited(1));
//! assert!(!report.timed_out);
//! ```
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
//!    (posix_spawn semantics), so the script is the keeper's child, not Kea's. First it
//!    resets its own `SIGCHLD` disposition to `SIG_DFL` (its signal table is a copy of
//!    the host's, no `CLONE_SIGHAND`): were `SIGCHLD` ignored in the host (another
//!    library's `signal(SIGCHLD, SIG_IGN)`), the kernel would reap the script itself and
//!    its status would be lost (`ECHILD`). The host's disposition is left as it is.
//! 3. The keeper waits for the script's pidfd to become readable, enforcing the
//!    timeout (`SIGTERM`, then `SIGKILL` after the grace, both to the script's whole
//!    process group) and reacting to the host's stop fd (unload), reaps the script with
//!    `waitid(P_PIDFD)`, writes the result into memory shared with the parent, and exits.
//!
//! Code running in the keeper or in the script before `execve` shares the parent's
//! memory, and its thread pointer is still the parent thread's: it does nothing but
//! raw system calls (the typed wrappers of `sys`; no libc wrapper that could write
//! `errno` or take a lock, no allocation). The parent blocks every signal (including
//! glibc's internal ones) around `clone`; the keeper keeps them all blocked for its
//! whole life, so no host signal handler ever runs on the keeper's stack.
//!
//! The script, before `execve`: leads a new process group (`setpgid(0, 0)`, so that
//! ending a timed-out script ends its children too), resets every signal disposition to `SIG_DFL`, sets
//! `PR_SET_PDEATHSIG(SIGKILL)` (if its keeper is ever killed, the script dies too
//! instead of running unmanaged), closes every fd from 3 up with `close_range` (also
//! fds without `FD_CLOEXEC`), with [`Program::with_ambient_capabilities`] makes the
//! given capabilities its inheritable and ambient sets (raw `capset` and
//! `prctl(PR_CAP_AMBIENT)`: they act on the script's own credentials, never Kea's),
//! with [`Program::with_privileges`] sets its resource limits, supplementary groups, group
//! and user ([`Privileges`]; raw `prlimit64`, `setgroups`, `setresgid`, `setresuid`, in
//! that order, then `PR_SET_PDEATHSIG` again, which a change of credentials clears),
//! unblocks every signal. It inherits fds 0, 1 and 2 of the
//! host as they are (as Kea's own hook does): its output goes where Kea's goes —
//! unless [`spawn_with`] gives it other fds 0-2 ([`Stdio`]: a worker's pipes), which
//! it `dup3`s into place before closing the rest; the keeper closes the host's copies
//! of those fds (it shares the host's fd table) as soon as the script is started.
//! With [`Stdio::die_with_thread`] the keeper sets `PR_SET_PDEATHSIG(SIGKILL)` on
//! itself, towards the thread that created it: a long-lived script cannot outlive a
//! host that dies without unloading.
//!
//! # Rooms
//! - this file: the API ( ([`spawn`], [`Child`], [`Program`], [`Limits`],
//!   [`StopSignal`]) and the parent's side (waiting through `nix`);
//! - `fault` (feature `fault-injection`): the test seam that fails launches on demand;
//! - `keeper`: the keeper and the script before `execve`, and the `keeper::Handoff`
//!   memory they share with the parent;
//! - `sys`: typed, async-signal-safe raw system calls;
//! - `arch`: the `asm!` of each architecture behind typed registers.

#![warn(missing_docs)]

// The README's example runs as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod arch;
#[cfg(feature = "fault-injection")]
pub mod fault;
mod keeper;
mod sys;

use std::any::Any;
use std::ffi::{c_char, c_int, c_void, CString};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::resource::{getrlimit, RLIM_INFINITY};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};

use keeper::Handoff;

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
fn signal_name(sig: i32) -> &'static str {
    Signal::try_from(sig).map_or("other", Signal::as_str)
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
    /// Waiting for the keeper or the script.
    Wait,
    /// Putting the given fds on the script's 0-2 (see [`Stdio`]).
    Stdio,
    /// Raising the script's ambient capabilities ([`Program::with_ambient_capabilities`]).
    Capabilities,
    /// Setting the script's resource limits ([`Privileges::limits`]).
    Limits,
    /// `setgroups`: the script's supplementary groups ([`Ids::groups`]).
    Groups,
    /// `setresgid`: the script's group ([`Ids::gid`]).
    Gid,
    /// `setresuid`: the script's user ([`Ids::uid`]).
    Uid,
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
            FailedStep::Wait => "waiting",
            FailedStep::Stdio => "setting up fds 0-2",
            FailedStep::Capabilities => "raising the ambient capabilities",
            FailedStep::Limits => "setting the resource limits (setrlimit)",
            FailedStep::Groups => "setting the supplementary groups (setgroups)",
            FailedStep::Gid => "switching to the group (setgid)",
            FailedStep::Uid => "switching to the user (setuid)",
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
    /// Kept for `argv[1]`.
    _arg1: CString,
    /// Null-terminated pointer arrays into the strings above and `keep`.
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    _keep: Box<dyn Any + Send + Sync>,
    /// `Some(bits)`: exactly these ambient capabilities (one bit per number); `None`:
    /// the host's ambient set is inherited.
    ambient: Option<u64>,
    /// User, groups and resource limits of the script; `None`: the host's.
    privileges: Option<Arc<Privileges>>,
}

/// A resource whose limit a script gets ([`Privileges::limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `RLIMIT_CPU`: CPU seconds (`SIGXCPU` at the limit, as soft and hard limit alike).
    CpuSeconds,
    /// `RLIMIT_AS`: bytes of address space.
    AddressSpace,
    /// `RLIMIT_NOFILE`: open files (one more than the highest fd number).
    OpenFiles,
    /// `RLIMIT_NPROC`: processes (threads) of the script's real user.
    Processes,
}

impl Resource {
    /// The `RLIMIT_*` number.
    fn raw(self) -> c_int {
        (match self {
            Resource::CpuSeconds => libc::RLIMIT_CPU,
            Resource::AddressSpace => libc::RLIMIT_AS,
            Resource::OpenFiles => libc::RLIMIT_NOFILE,
            Resource::Processes => libc::RLIMIT_NPROC,
        }) as c_int
    }
}

/// The user and groups a script runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ids {
    /// Real, effective and saved user id.
    pub uid: u32,
    /// Real, effective and saved group id.
    pub gid: u32,
    /// Exactly these supplementary groups (`initgroups`-style: the user's groups).
    pub groups: Vec<u32>,
}

/// What a script runs with instead of the host's credentials and limits, applied in
/// the script's own process before `execve` (the host's are untouched), in this order:
/// the resource limits (`prlimit64`, each value as soft and hard limit), `setgroups`,
/// `setresgid`, `setresuid`. Switching ids needs `CAP_SETGID`/`CAP_SETUID` in the host,
/// raising a limit above the host's hard limit `CAP_SYS_RESOURCE`; a refusal fails the
/// start with [`FailedStep::Limits`], [`FailedStep::Groups`], [`FailedStep::Gid`] or
/// [`FailedStep::Uid`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Privileges {
    ids: Option<Ids>,
    limits: Vec<(Resource, u64)>,
    /// `limits` as the kernel takes them, read by the script before `execve`.
    raw_limits: Vec<sys::ResourceLimit>,
}

impl Privileges {
    /// Switch to `ids` (`None`: keep the host's) and set `limits` (applied in this order;
    /// for a resource given twice the later wins).
    pub fn new(ids: Option<Ids>, limits: &[(Resource, u64)]) -> Privileges {
        let raw_limits = limits
            .iter()
            .map(|&(resource, value)| sys::ResourceLimit {
                resource: resource.raw(),
                limit: sys::RawLimit {
                    soft: value,
                    hard: value,
                },
            })
            .collect();
        Privileges {
            ids,
            limits: limits.to_vec(),
            raw_limits,
        }
    }

    /// The ids to switch to; `None`: the host's.
    pub fn ids(&self) -> Option<&Ids> {
        self.ids.as_ref()
    }

    /// The resource limits.
    pub fn limits(&self) -> &[(Resource, u64)] {
        &self.limits
    }
}

// SAFETY: the raw pointers point into `path`, `arg1` and `_keep`, which move with the
// Program and are immutable; nothing is shared mutably.
unsafe impl Send for Program {}
// SAFETY: as for Send: shared access only reads immutable strings.
unsafe impl Sync for Program {}

impl Program {
    /// A program owning all its strings.
    pub fn new(path: CString, arg1: CString, env: Vec<CString>) -> Program {
        let ptrs: Vec<*const c_char> = env.iter().map(|e| e.as_ptr()).collect();
        // SAFETY: the pointers point into the heap buffers of `env`'s strings, which
        // are kept (and never mutated) for the program's life.
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
            _arg1: arg1,
            argv,
            envp,
            _keep: keep,
            ambient: None,
            privileges: None,
        }
    }

    /// Runs the program as the given user and groups and under the given resource limits
    /// (see [`Privileges`]). Shared (`Arc`) so that a script's runs reuse one copy.
    pub fn with_privileges(mut self, privileges: Arc<Privileges>) -> Program {
        self.privileges = Some(privileges);
        self
    }

    /// Runs the program with exactly `caps` (one bit per capability number, as in
    /// `capabilities(7)`) as its inheritable and ambient capabilities, instead of the
    /// host's ambient set. Each must be in the host's permitted set, or the start fails
    /// ([`FailedStep::Capabilities`]).
    pub fn with_ambient_capabilities(mut self, caps: u64) -> Program {
        self.ambient = Some(caps);
        self
    }
}

/// What the host may hand a script as ambient capabilities: its permitted set, less what
/// neither its bounding nor its inheritable set allows into the inheritable set. One bit
/// per capability number.
pub fn grantable_capabilities() -> io::Result<u64> {
    let sets = sys::capabilities().map_err(|e| io::Error::from_raw_os_error(e.0))?;
    let mut grantable = 0;
    for cap in (0..64).filter(|cap| sets.permitted & (1 << cap) != 0) {
        // EINVAL: a number this kernel does not know, so not grantable.
        let bounded = sys::in_bounding_set(cap).unwrap_or(false);
        if bounded || sets.inheritable & (1 << cap) != 0 {
            grantable |= 1 << cap;
        }
    }
    Ok(grantable)
}

/// The host's effective capabilities (the calling thread's), one bit per capability
/// number: what it may do for a script before `execve` (e.g. `CAP_SETUID` to switch ids).
pub fn effective_capabilities() -> io::Result<u64> {
    sys::capabilities()
        .map(|sets| sets.effective)
        .map_err(|e| io::Error::from_raw_os_error(e.0))
}

/// An eventfd that, once triggered, makes every keeper watching it terminate its
/// script (`SIGTERM`, `SIGKILL` after the grace). One per engine, for unload.
#[derive(Debug)]
pub struct StopSignal {
    fd: EventFd,
}

impl StopSignal {
    /// Creates the eventfd.
    pub fn new() -> io::Result<StopSignal> {
        let fd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)?;
        Ok(StopSignal { fd })
    }

    /// Makes the fd readable for good (it is never read).
    pub fn trigger(&self) {
        // Cannot fail short of a counter overflow, which a never-read fd written
        // once per unload does not reach.
        let _ = self.fd.arm();
    }
}

/// The grace between `SIGTERM` and `SIGKILL` that kea-runscript gives every script it
/// ends ([`Limits::grace`]), and what a host waits at most for a stopped script's end.
pub const KILL_GRACE: Duration = Duration::from_millis(500);

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

/// The memory of one run shared with its keeper: the handoff, both stacks, the
/// program's strings (pointed to by `handoff`) and the limits (the stop fd).
struct RunMemory {
    handoff: Handoff,
    _stacks: [Stack; 2],
    program: Program,
    _limits: Limits,
}

/// An uninitialised, 16-byte-aligned stack.
struct Stack(Vec<MaybeUninit<u128>>);

impl Stack {
    fn new() -> Stack {
        let mut v = Vec::with_capacity(STACK_BYTES / 16);
        v.resize_with(STACK_BYTES / 16, MaybeUninit::uninit);
        Stack(v)
    }

    fn top(&mut self) -> *mut c_void {
        // Stacks grow down: the top is one past the end of the allocation.
        self.0.as_mut_ptr_range().end as *mut c_void
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
    block: *mut RunMemory,
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

/// The soft `RLIMIT_NOFILE`, bounding the fallback fd-closing loop.
fn max_fd() -> c_int {
    match getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) if soft != RLIM_INFINITY => soft.min(c_int::MAX as u64) as c_int,
        _ => 65536,
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
    /// The script's fd 0, 1, 2 (`None`: the host's). Typically the script's ends of
    /// pipes; they are closed in the host as soon as the script is started.
    pub fds: [Option<OwnedFd>; 3],
    /// The keeper (and with it the script) gets `SIGKILL` when the thread that called
    /// [`spawn_with`] ends — so a script cannot outlive a host killed without
    /// unload. That thread must then live as long as the script is meant to.
    pub die_with_thread: bool,
}

/// [`spawn`] with the script's fds 0-2 and the keeper's lifetime given by `stdio`.
pub fn spawn_with(program: Program, limits: Limits, stdio: Stdio) -> Result<Child, SpawnError> {
    // The test seam: a launch refused as the kernel would refuse creating the keeper. The
    // fds in `stdio` are closed on return, as on a real failure.
    #[cfg(feature = "fault-injection")]
    if let Some(errno) = fault::next_spawn_failure() {
        return Err(SpawnError {
            step: FailedStep::Keeper,
            error: io::Error::from_raw_os_error(errno),
        });
    }
    let mut raw_stdio = [-1 as c_int; 3];
    for (slot, fd) in raw_stdio.iter_mut().zip(stdio.fds) {
        if let Some(fd) = fd {
            // The script's dup3 onto 0-2 needs sources above 2 (std's try_clone
            // duplicates with F_DUPFD_CLOEXEC from 3 up).
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
    // Owned by the program (an `Arc`), which lives until the keeper is reaped.
    let privileges = program.privileges.as_deref();
    let handoff = Handoff {
        path: program.path.as_ptr(),
        argv: program.argv.as_ptr(),
        envp: program.envp.as_ptr(),
        max_fd: max_fd(),
        timeout_ms: millis(limits.timeout),
        grace_ms: millis(Some(limits.grace)),
        stop_fd: limits.stop.as_ref().map_or(-1, |s| s.fd.as_raw_fd()),
        stdio: raw_stdio,
        die_with_thread: c_int::from(stdio.die_with_thread),
        set_ambient: c_int::from(program.ambient.is_some()),
        ambient_caps: program.ambient.unwrap_or(0),
        set_ids: c_int::from(privileges.is_some_and(|p| p.ids.is_some())),
        uid: privileges
            .and_then(|p| p.ids.as_ref())
            .map_or(0, |ids| ids.uid),
        gid: privileges
            .and_then(|p| p.ids.as_ref())
            .map_or(0, |ids| ids.gid),
        groups: privileges
            .and_then(|p| p.ids.as_ref())
            .map_or(ptr::null(), |ids| ids.groups.as_ptr()),
        groups_len: privileges
            .and_then(|p| p.ids.as_ref())
            .map_or(0, |ids| ids.groups.len()),
        limits: privileges.map_or(ptr::null(), |p| p.raw_limits.as_ptr()),
        limits_len: privileges.map_or(0, |p| p.raw_limits.len()),
        script_stack_top: stacks[1].top(),
        keeper_pid: AtomicI32::new(0),
        failed_step: AtomicI32::new(0),
        failed_errno: AtomicI32::new(0),
        result: AtomicI32::new(keeper::RESULT_PENDING),
        value: AtomicI32::new(0),
        timed_out: AtomicI32::new(0),
        stopped: AtomicI32::new(0),
        stdio_closed: AtomicI32::new(0),
    };
    let keeper_stack_top = stacks[0].top();
    // Everything the keeper touches, in one allocation freed after it is reaped.
    let block = Box::into_raw(Box::new(RunMemory {
        handoff,
        _stacks: stacks,
        program,
        _limits: limits,
    }));
    // SAFETY: `block` is live; taking a field's address reads nothing.
    let handoff = unsafe { ptr::addr_of_mut!((*block).handoff) };
    // SAFETY: the handoff, the stacks and the program it points into live in `block`,
    // which is freed only after the keeper has been reaped (Child's Drop).
    match unsafe { keeper::start(handoff, keeper_stack_top) } {
        Ok(pidfd) => Ok(Child {
            // SAFETY: CLONE_PIDFD succeeded, so `pidfd` is a fresh fd that we own.
            keeper_pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
            block,
            reaped: false,
        }),
        Err(errno) => {
            // SAFETY: no keeper was created; the block is ours alone.
            let block = unsafe { Box::from_raw(block) };
            block.handoff.close_stdio();
            drop(block);
            Err(SpawnError {
                step: FailedStep::Keeper,
                error: io::Error::from_raw_os_error(errno.0),
            })
        }
    }
}

impl Child {
    /// `waitid(P_PIDFD)` on the keeper; `block == false` returns `false` while it runs.
    fn wait_keeper(&mut self, block: bool) -> io::Result<bool> {
        let mut options = WaitPidFlag::WEXITED | WaitPidFlag::__WALL;
        if !block {
            options |= WaitPidFlag::WNOHANG;
        }
        loop {
            match waitid(Id::PIDFd(self.keeper_pidfd.as_fd()), options) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(errno) => return Err(errno.into()),
                Ok(WaitStatus::StillAlive) => return Ok(false),
                Ok(_) => {
                    self.reaped = true;
                    return Ok(true);
                }
            }
        }
    }

    /// The result the keeper recorded (call after it has been reaped).
    fn report(&self) -> Result<Report, SpawnError> {
        // SAFETY: the block lives until Drop; only atomics are read.
        let sh = unsafe { &(*self.block).handoff };
        let value = sh.value.load(Ordering::Relaxed);
        let status = match sh.result.load(Ordering::Relaxed) {
            keeper::RESULT_EXITED => ExitStatus::Exited(value),
            keeper::RESULT_SIGNALED => ExitStatus::Signaled(value),
            keeper::RESULT_FAILED => {
                let step = match sh.failed_step.load(Ordering::Relaxed) {
                    keeper::STEP_CLONE => FailedStep::Clone,
                    keeper::STEP_CLOSE_FDS => FailedStep::CloseFds,
                    keeper::STEP_EXEC => FailedStep::Exec,
                    keeper::STEP_STDIO => FailedStep::Stdio,
                    keeper::STEP_CAPABILITIES => FailedStep::Capabilities,
                    keeper::STEP_LIMITS => FailedStep::Limits,
                    keeper::STEP_GROUPS => FailedStep::Groups,
                    keeper::STEP_GID => FailedStep::Gid,
                    keeper::STEP_UID => FailedStep::Uid,
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
    fn program(&self) -> &Program {
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
            // The script dies with its keeper (PR_SET_PDEATHSIG); the shared memory is
            // freed only after the keeper is reaped below.
            let _ = sys::pidfd_send_signal(self.keeper_pidfd.as_raw_fd(), libc::SIGKILL);
            let _ = self.wait_keeper(true);
        }
        if self.reaped {
            // SAFETY: the keeper is gone; nothing else refers to the block.
            let block = unsafe { Box::from_raw(self.block) };
            // A keeper killed before it started the script left them open.
            block.handoff.close_stdio();
            drop(block);
        }
        // (If even the blocking wait failed, the block is leaked rather than freed
        // under a possibly live keeper.)
    }
}
