//! Starting one worker process with pipes on its fds 0-2, and the scheduling policy of
//! the threads that feed it. (The fd helpers its threads use live in [`crate::fdio`]; the
//! names `worker/mod.rs` takes from here are re-exported below.)
//!
//! The process is started through the launcher's keeper ([`kea_runscript_spawn`]): the
//! keeper, not Kea, is the worker's parent, so Kea's `waitpid(-1)` can neither steal
//! its exit status nor get a `SIGCHLD` for it; the worker gets fds 0-2 only, default
//! signal dispositions and an empty mask, and leads its own process group (so its
//! children end with it). The keeper dies with the supervisor thread that started it
//! (`die_with_thread`), and the worker with its keeper, so a Kea killed without unload
//! leaves no worker behind.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use kea_runscript_spawn::KILL_GRACE;
use kea_runscript_spawn::{self as spawn, Child, Limits, Program, SpawnError, Stdio, StopSignal};

use super::options::WorkerOptions;
pub(crate) use crate::fdio::{block_async_signals, poll, pollfd, read, write, Read, Wake};
use crate::fdio::{pipe, set_nonblocking};

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
    if let Some(privileges) = &options.privileges {
        program = program.with_privileges(Arc::clone(privileges));
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
