//! Runners: one interface ([`Runner`]: deliver an event, maybe get a verdict) with
//! interchangeable strategies chosen per script by the configuration.
//!
//! Now: [`spawn_async`] (a process per event, not waited for, bounded) and
//! [`spawn_sync`] (a process per event, waited for with a timeout, exit code →
//! verdict). Planned strategies slot in behind the same trait: a persistent worker
//! (one long-lived process fed JSON lines; `deliver` writes a line and, in sync use,
//! reads the answer) and parked verdicts (`deliver` returns at once and resolves the
//! verdict through a callback when the script exits) — the latter would add a
//! completion argument to the trait, which only the engine calls.

pub(crate) mod reaper;
pub(crate) mod spawn_async;
pub(crate) mod spawn_sync;

use std::ffi::{c_char, CString};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kea_runscript_env::HookPoint;

use crate::counters::{bump, drop_one, LiveCounters};
use crate::log::{self, RateLimiter, Severity};
use crate::policy::Verdict;
use crate::spawn::{self, Child, ExitStatus, SpawnError};

/// After `SIGTERM` (timeout or unload), a script gets this long to exit before `SIGKILL`.
pub const KILL_GRACE: Duration = Duration::from_millis(500);

/// At unload, running async scripts get this long to finish before they are terminated
/// (then [`KILL_GRACE`] before `SIGKILL`).
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// A strategy that runs one configured script for events.
pub trait Runner: Send + Sync {
    /// Hands `event` to the script. Returns the script's verdict when the strategy
    /// waits for one (sync), `None` otherwise (async: started, queued or dropped).
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Verdict>;

    /// Stops accepting events and winds down by `deadline` (the engine then stops the
    /// shared reaper, which ends any remaining children).
    fn shutdown(&self, deadline: Instant);
}

/// State shared by the runners of one engine: counters and the rate-limited log.
pub(crate) struct Shared {
    pub counters: LiveCounters,
    pub log: RateLimiter,
}

/// One event's environment, prepared once and shared by every script that runs it:
/// `argv[1]` and the rendered variables as `NAME=value` C strings.
#[derive(Debug)]
pub struct EventEnv {
    hook_point: HookPoint,
    arg1: CString,
    vars: Vec<CString>,
}

impl EventEnv {
    /// Prepares `vars` (ordered `(NAME, value)` pairs) for `hook_point`. Entries that
    /// cannot be passed to `execve` (a NUL byte) are left out and returned by name.
    pub fn new(hook_point: HookPoint, vars: Vec<(String, String)>) -> (EventEnv, Vec<String>) {
        let mut rejected = Vec::new();
        let mut prepared = Vec::with_capacity(vars.len());
        for (name, value) in vars {
            let mut entry = Vec::with_capacity(name.len() + value.len() + 2);
            entry.extend_from_slice(name.as_bytes());
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            match CString::new(entry) {
                Ok(c) if !name.is_empty() && !name.contains('=') => prepared.push(c),
                _ => rejected.push(name),
            }
        }
        let arg1 = CString::new(hook_point.name()).expect("hook-point names have no NUL");
        (
            EventEnv {
                hook_point,
                arg1,
                vars: prepared,
            },
            rejected,
        )
    }

    /// The event's hook point.
    pub fn hook_point(&self) -> HookPoint {
        self.hook_point
    }

    /// True when a variable `name` is among the rendered ones (`name_eq` = `"NAME="`).
    fn has(&self, name_eq: &[u8]) -> bool {
        self.vars.iter().any(|v| v.as_bytes().starts_with(name_eq))
    }
}

/// The executable side of one configured script: path and extra variables, as C strings.
pub(crate) struct ScriptTarget {
    path: CString,
    /// `NAME=value` entries from `env`, with the length of their `NAME=` prefix.
    extra_env: Vec<(CString, usize)>,
    /// The path as shown in logs.
    pub label: String,
}

impl ScriptTarget {
    pub fn new(config: &crate::config::ScriptConfig) -> ScriptTarget {
        use std::os::unix::ffi::OsStrExt;
        // Configuration rejects NUL bytes in paths, names and values.
        let path = CString::new(config.path.as_os_str().as_bytes()).expect("validated path");
        let extra_env = config
            .env
            .iter()
            .map(|(name, value)| {
                let entry = CString::new(format!("{name}={value}")).expect("validated env");
                (entry, name.len() + 1)
            })
            .collect();
        ScriptTarget {
            path,
            extra_env,
            label: config.path.display().to_string(),
        }
    }

    /// Starts the script for `event`: the rendered variables, then each configured
    /// addition whose name the rendering did not set (rendered variables win).
    pub fn spawn(&self, event: &EventEnv) -> Result<Child, SpawnError> {
        let mut env: Vec<*const c_char> =
            Vec::with_capacity(event.vars.len() + self.extra_env.len());
        env.extend(event.vars.iter().map(|v| v.as_ptr()));
        for (entry, prefix_len) in &self.extra_env {
            if !event.has(&entry.as_bytes()[..*prefix_len]) {
                env.push(entry.as_ptr());
            }
        }
        spawn::spawn(&self.path, &event.arg1, &env)
    }
}

impl Shared {
    /// Accounts a started child.
    pub fn started(&self) {
        bump(&self.counters.started);
        bump(&self.counters.in_flight);
    }

    /// Accounts and logs a failed start.
    pub fn spawn_failed(&self, target: &ScriptTarget, event: &EventEnv, err: &SpawnError) {
        bump(&self.counters.failed_to_start);
        self.log.limited(Severity::Error, log::SPAWN_FAILED, || {
            format!(
                "cannot start script {} at {}: {err}",
                target.label,
                event.hook_point.name()
            )
        });
    }

    /// Accounts a reaped child; logs death by a signal unless we killed it for a timeout.
    pub fn exited(
        &self,
        target: &ScriptTarget,
        hook_point: HookPoint,
        status: ExitStatus,
        timed_out: bool,
    ) {
        bump(&self.counters.exited);
        drop_one(&self.counters.in_flight);
        match status {
            ExitStatus::Exited(0) => {}
            ExitStatus::Exited(_) => bump(&self.counters.non_zero_exits),
            ExitStatus::Signaled(_) => {
                bump(&self.counters.killed_by_signal);
                if !timed_out {
                    self.log.limited(Severity::Warn, log::KILLED_BY_SIGNAL, || {
                        format!(
                            "script {} at {} was {status}",
                            target.label,
                            hook_point.name()
                        )
                    });
                }
            }
        }
    }

    /// Accounts and logs a timeout (the caller terminates the child).
    pub fn timed_out(&self, target: &ScriptTarget, hook_point: HookPoint, timeout: Duration) {
        bump(&self.counters.timed_out);
        self.log.limited(Severity::Warn, log::TIMEOUT, || {
            format!(
                "script {} at {} still running after {} ms: sending SIGTERM (SIGKILL after {} ms)",
                target.label,
                hook_point.name(),
                timeout.as_millis(),
                KILL_GRACE.as_millis()
            )
        });
    }

    /// Logs a failure of waitid/poll/pidfd_send_signal.
    pub fn wait_failed(&self, target: &ScriptTarget, err: &std::io::Error) {
        self.log.limited(Severity::Error, log::WAIT_FAILED, || {
            format!("waiting for script {} failed: {err}", target.label)
        });
    }
}
