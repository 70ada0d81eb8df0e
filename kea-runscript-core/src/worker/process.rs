//! Starting one worker process with pipes on its fds 0-2, and the small fd helpers
//! (eventfd wake-up, `poll`, non-blocking reads and writes) its threads use.
//!
//! The process is started through the spawn module's keeper ([`crate::spawn`]): the
//! keeper, not Kea, is the worker's parent, so Kea's `waitpid(-1)` can neither steal
//! its exit status nor get a `SIGCHLD` for it; the worker gets fds 0-2 only, default
//! signal dispositions and an empty mask, and leads its own process group (so its
//! children end with it). The keeper dies with the supervisor thread that started it
//! (`die_with_thread`), and the worker with its keeper, so a Kea killed without unload
//! leaves no worker behind.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::Duration;

use super::options::WorkerOptions;
use crate::runner::KILL_GRACE;
use crate::spawn::{self, Child, Limits, Program, SpawnError, Stdio, StopSignal};

/// Name of the variable that tells a worker the protocol version.
pub const PROTOCOL_VARIABLE: &str = "KEA_RUNSCRIPT_PROTOCOL";

/// A started worker: its keeper-owned process, the host's ends of its pipes, and the
/// signal that terminates it (`SIGTERM` to its group, `SIGKILL` after [`KILL_GRACE`]).
pub struct Running {
    /// The process (through its keeper).
    pub child: Child,
    /// Write end of the worker's stdin (non-blocking).
    pub stdin: OwnedFd,
    /// Read end of the worker's stdout (non-blocking).
    pub stdout: OwnedFd,
    /// Read end of the worker's stderr (non-blocking), when its output is logged.
    pub stderr: Option<OwnedFd>,
    /// Terminates this process (and its group).
    pub stop: Arc<StopSignal>,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A pipe `(read end, write end)`, both close-on-exec.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 writes two fds into the array.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: a fresh fd that nothing else owns.
    let read = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: as above.
    let write = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    Ok((read, write))
}

/// Sets `O_NONBLOCK` on `fd`.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    Ok(())
}

/// The environment of a worker: the configured `env` and the protocol version.
fn environment(options: &WorkerOptions) -> Vec<CString> {
    let mut env: Vec<CString> = options
        .env
        .iter()
        .filter(|(name, _)| name != PROTOCOL_VARIABLE)
        .filter_map(|(name, value)| CString::new(format!("{name}={value}")).ok())
        .collect();
    env.push(
        CString::new(format!("{PROTOCOL_VARIABLE}={}", super::protocol::VERSION)).expect("no NUL"),
    );
    env
}

/// Starts `script worker` with pipes on stdin and stdout (and stderr when
/// `log_output`; otherwise the worker writes to the host's stderr). Must be called
/// from the thread that lives as long as the worker (its supervisor).
pub fn start(options: &WorkerOptions) -> Result<Running, SpawnError> {
    let stdio_error = |error| SpawnError {
        step: spawn::FailedStep::Stdio,
        error,
    };
    let (stdin_r, stdin_w) = pipe().map_err(stdio_error)?;
    let (stdout_r, stdout_w) = pipe().map_err(stdio_error)?;
    let (stderr_r, stderr_w) = if options.log_output {
        let (r, w) = pipe().map_err(stdio_error)?;
        (Some(r), Some(w))
    } else {
        (None, None)
    };
    for fd in [Some(&stdin_w), Some(&stdout_r), stderr_r.as_ref()]
        .into_iter()
        .flatten()
    {
        set_nonblocking(fd.as_raw_fd()).map_err(stdio_error)?;
    }
    let stop = Arc::new(StopSignal::new().map_err(stdio_error)?);
    let path = CString::new(options.path.as_os_str().as_bytes()).expect("validated path");
    let mut program = Program::new(
        path,
        CString::new("worker").expect("no NUL"),
        environment(options),
    );
    if let Some(caps) = options.ambient {
        program = program.with_ambient_capabilities(caps);
    }
    let limits = Limits {
        timeout: None,
        grace: KILL_GRACE,
        stop: Some(Arc::clone(&stop)),
    };
    let child = spawn::spawn_with(
        program,
        limits,
        Stdio {
            fds: [Some(stdin_r), Some(stdout_w), stderr_w],
            die_with_thread: true,
        },
    )?;
    Ok(Running {
        child,
        stdin: stdin_w,
        stdout: stdout_r,
        stderr: stderr_r,
        stop,
    })
}

/// An eventfd that wakes a `poll` for good once [`Wake::trigger`]ed.
#[derive(Debug)]
pub struct Wake {
    fd: OwnedFd,
}

impl Wake {
    /// Creates the eventfd.
    pub fn new() -> io::Result<Wake> {
        // SAFETY: eventfd creates a new fd that we own at once.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Wake { fd })
    }

    /// Makes the fd readable (it is never read, so it stays readable).
    pub fn trigger(&self) {
        let one: u64 = 1;
        // SAFETY: an 8-byte write to our eventfd.
        unsafe {
            libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }

    /// The fd to poll.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// `poll` on `fds` for at most `timeout` (`None`: without limit); retries on `EINTR`
/// with the full timeout (callers re-check their deadlines). Returns the count ready.
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms = timeout.map_or(-1, |t| {
        // Round up so that a deadline a few µs away does not spin with 0.
        let ms = t.as_micros().div_ceil(1000);
        ms.min(i32::MAX as u128) as libc::c_int
    });
    loop {
        // SAFETY: poll on a valid array of pollfd of the given length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A `pollfd` waiting for `events` on `fd` (`-1` is ignored by `poll`).
pub fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Outcome of a non-blocking read.
pub enum Read {
    /// This many bytes.
    Data(usize),
    /// Nothing now.
    WouldBlock,
    /// End of stream (or an error, which ends the stream just as well).
    End,
}

/// One non-blocking `read` into `buf`.
pub fn read(fd: RawFd, buf: &mut [u8]) -> Read {
    loop {
        // SAFETY: read into a valid buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            return Read::Data(n as usize);
        }
        if n == 0 {
            return Read::End;
        }
        match io::Error::last_os_error().kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Read::WouldBlock,
            _ => return Read::End,
        }
    }
}

/// One non-blocking `write` of `buf`: bytes written (0 when the pipe is full).
/// Runs only on the writer thread, where `SIGPIPE` is blocked, so a reader gone
/// away is `EPIPE`, not a signal that would end the host.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: write from a valid buffer of the given length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(0),
            _ => return Err(err),
        }
    }
}

/// Blocks every asynchronous signal in the calling thread (one of ours) for its
/// whole life: the host's signals (Kea's `SIGTERM`, `SIGHUP`) are then handled by
/// its own threads, and a write to a pipe whose reader is gone fails with `EPIPE`
/// instead of raising a `SIGPIPE` that would end the host (see [`write`]). Faults
/// (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`) stay unblocked.
pub fn block_async_signals() {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set it is given.
    unsafe { libc::sigfillset(set.as_mut_ptr()) };
    // SAFETY: initialised just above.
    let mut set = unsafe { set.assume_init() };
    for fault in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL] {
        // SAFETY: removes a valid signal number from an initialised set.
        unsafe { libc::sigdelset(&mut set, fault) };
    }
    // SAFETY: changes the calling thread's mask only; no old mask is asked for.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// A delivery thread's scheduling policy: `SCHED_BATCH`, so that its wake-ups do not
/// preempt the thread running on its CPU (usually Kea's packet thread) once per batch of
/// events; it runs at the next tick or idle moment instead, with an unchanged share of
/// the CPU. Only a thread that Kea started with the normal policy changes: a Kea run
/// under another policy keeps it for everything. Best effort: a refusal changes nothing.
pub struct DeliveryPolicy {
    batch: bool,
}

impl DeliveryPolicy {
    /// Makes the calling thread a batch thread when it has the normal policy.
    pub fn enter() -> DeliveryPolicy {
        // SAFETY: pid 0 is the calling thread.
        let normal = unsafe { libc::sched_getscheduler(0) } == libc::SCHED_OTHER;
        DeliveryPolicy {
            batch: normal && set_policy(libc::SCHED_BATCH),
        }
    }

    /// Runs `f` with the normal policy back, for starting a worker process (which
    /// inherits the policy of the thread that starts it, and must not be a batch process).
    pub fn normal_while<T>(&self, f: impl FnOnce() -> T) -> T {
        if !self.batch {
            return f();
        }
        set_policy(libc::SCHED_OTHER);
        let result = f();
        set_policy(libc::SCHED_BATCH);
        result
    }
}

/// Sets the calling thread's policy (`SCHED_OTHER` or `SCHED_BATCH`; its nice value stays).
fn set_policy(policy: libc::c_int) -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; param is a valid sched_param.
    unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
}

/// A random id for this library load: 16 random bytes in hex.
pub fn random_instance() -> String {
    let mut bytes = [0u8; 16];
    // SAFETY: getrandom writes at most bytes.len() bytes into the buffer.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        // No entropy source: time and pid still make a load unique in practice.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes[..12].copy_from_slice(&now.to_le_bytes()[..12]);
        bytes[12..].copy_from_slice(&std::process::id().to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
