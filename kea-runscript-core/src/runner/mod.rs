//! Runners: one interface ([`Runner`]: deliver an event, maybe get a verdict) with
//! interchangeable strategies chosen per script by the configuration.
//!
//! Here: `spawn_async` (a process per event, not waited for, bounded) and
//! `spawn_sync` (a process per event, waited for with a timeout, exit code →
//! verdict). The worker strategy (one long-lived process fed JSON lines) lives in
//! `crate::worker` behind the same trait. [`Runner::deliver_with`] hands a verdict to
//! a callback instead of returning it, for callers that must not block on it (parked
//! packets): a worker never blocks there, the spawn strategies call back at once.

pub(crate) mod output;
pub(crate) mod reaper;
pub(crate) mod spawn_async;
pub(crate) mod spawn_sync;

use std::ffi::{c_char, CString};
use std::sync::Arc;
use std::time::Duration;

use kea_runscript_env::HookPoint;

use crate::counters::{bump, drop_one, LiveCounters};
use crate::log::{self, RateLimiter, Severity};
use crate::spawn::{
    self, Child, ExitStatus, FailedStep, Limits, Program, Report, SpawnError, Stdio, StopSignal,
};
use crate::verdict::Verdict;

/// After `SIGTERM` (timeout or unload), a script gets this long to exit before `SIGKILL`.
pub const KILL_GRACE: Duration = Duration::from_millis(500);

/// At unload, running async scripts get this long to finish before they are terminated
/// (then [`KILL_GRACE`] before `SIGKILL`).
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// Receives a verdict, exactly once (see [`Runner::deliver_with`]).
pub type OnVerdict = Box<dyn FnOnce(Verdict) + Send>;

/// A strategy that runs one configured script for events.
pub trait Runner: Send + Sync {
    /// Hands `event` to the script. Returns the script's verdict when the strategy
    /// waits for one (sync), `None` otherwise (async: started, queued or dropped).
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Verdict>;

    /// True when an event delivered now would start at once, without taking a queue
    /// place that a live event may need (the pacing of replays: they wait for this instead
    /// of being queued or dropped). A runner that waits for its script (sync) always has
    /// room: its `deliver` is the pace.
    fn has_room(&self) -> bool {
        true
    }

    /// Stops accepting events (later ones are counted as dropped) and discards queued
    /// ones. Runs in progress are ended by the engine (stop signal, reaper).
    fn shutdown(&self);

    /// After [`Runner::shutdown`] of every runner: waits (bounded) until this runner's
    /// own threads and processes are gone (a worker's grace, `SIGTERM`, `SIGKILL`).
    fn join(&self) {}

    /// Hands `event` to the script and its verdict to `on_verdict`, exactly once
    /// (`continue` for an async script): for callers that must not block a thread on
    /// the verdict (a parked packet). A worker never blocks here; the default (spawn)
    /// runs [`Runner::deliver`] and calls back before returning.
    fn deliver_with(&self, event: &Arc<EventEnv>, on_verdict: OnVerdict) {
        on_verdict(self.deliver(event).unwrap_or_default());
    }
}

/// State shared by the runners of one engine: counters, the rate-limited log, and
/// the stop signal every keeper watches (triggered at unload).
pub(crate) struct RunnerContext {
    pub counters: LiveCounters,
    pub log: RateLimiter,
    pub stop: Arc<StopSignal>,
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

    /// This environment followed by `more` (one script's additions); a name the rendering
    /// already set keeps the rendered value (e.g. `QUERY4_OPTION_82`), entries `execve`
    /// cannot take are left out and returned by name, as in [`EventEnv::new`].
    pub fn with_more(&self, more: Vec<(String, String)>) -> (EventEnv, Vec<String>) {
        let (tail, rejected) = EventEnv::new(self.hook_point, more);
        let mut vars = Vec::with_capacity(self.vars.len() + tail.vars.len());
        vars.extend(self.vars.iter().cloned());
        for entry in tail.vars {
            let bytes = entry.as_bytes();
            let name_eq = &bytes[..=bytes.iter().position(|&b| b == b'=').unwrap_or(0)];
            if !self.has(name_eq) {
                vars.push(entry);
            }
        }
        (
            EventEnv {
                hook_point: self.hook_point,
                arg1: tail.arg1,
                vars,
            },
            rejected,
        )
    }

    /// The event's hook point.
    pub fn hook_point(&self) -> HookPoint {
        self.hook_point
    }

    /// The rendered variables as `(NAME, value)` byte pairs, in rendering order (a
    /// worker's `vars`: exactly what a spawned script gets from the rendering).
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.vars.iter().map(|entry| {
            let bytes = entry.as_bytes();
            // Names never contain '=' (rejected in `new`): the first one splits.
            let eq = bytes.iter().position(|&b| b == b'=').unwrap_or(bytes.len());
            (&bytes[..eq], bytes.get(eq + 1..).unwrap_or_default())
        })
    }

    /// True when a variable `name` is among the rendered ones (`name_eq` = `"NAME="`).
    fn has(&self, name_eq: &[u8]) -> bool {
        self.vars.iter().any(|v| v.as_bytes().starts_with(name_eq))
    }
}

/// The strings of one configured script, shared by its running programs.
struct TargetStrings {
    path: CString,
    /// `NAME=value` entries from `env`, with the length of their `NAME=` prefix.
    extra_env: Vec<(CString, usize)>,
}

/// The executable side of one configured script: path and extra variables, as C
/// strings, and how long it may run.
#[derive(Clone)]
pub(crate) struct ScriptTarget {
    strings: Arc<TargetStrings>,
    /// Kill after this long (`timeout-ms`), if set.
    pub timeout: Option<Duration>,
    /// The path as shown in logs.
    pub label: String,
    /// With `log-output`: where the script's stdout and stderr lines go.
    output: Option<Arc<output::OutputCollector>>,
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
            strings: Arc::new(TargetStrings { path, extra_env }),
            timeout: config.timeout,
            label: config.path.display().to_string(),
            output: None,
        }
    }

    /// Sends the script's stdout and stderr lines to `collector` (`log-output`).
    pub fn with_output(mut self, collector: Arc<output::OutputCollector>) -> ScriptTarget {
        self.output = Some(collector);
        self
    }

    /// Starts the script for `event`: the rendered variables, then each configured
    /// addition whose name the rendering did not set (rendered variables win).
    pub fn spawn(
        &self,
        event: &Arc<EventEnv>,
        context: &RunnerContext,
    ) -> Result<Child, SpawnError> {
        let strings = &self.strings;
        let mut env: Vec<*const c_char> =
            Vec::with_capacity(event.vars.len() + strings.extra_env.len() + 1);
        env.extend(event.vars.iter().map(|v| v.as_ptr()));
        for (entry, prefix_len) in &strings.extra_env {
            if !event.has(&entry.as_bytes()[..*prefix_len]) {
                env.push(entry.as_ptr());
            }
        }
        let keep: Box<dyn std::any::Any + Send + Sync> =
            Box::new((Arc::clone(event), Arc::clone(strings)));
        // SAFETY: every pointer points into a CString owned by the event or the
        // target strings, both kept alive by `keep` and never mutated.
        let program = unsafe {
            Program::with_shared_env(strings.path.clone(), event.arg1.clone(), env, keep)
        };
        let limits = Limits {
            timeout: self.timeout,
            grace: KILL_GRACE,
            stop: Some(Arc::clone(&context.stop)),
        };
        let Some(collector) = &self.output else {
            return spawn::spawn(program, limits);
        };
        let (out_read, out_write) = output::pipe().map_err(|error| SpawnError {
            step: FailedStep::Stdio,
            error,
        })?;
        let (err_read, err_write) = output::pipe().map_err(|error| SpawnError {
            step: FailedStep::Stdio,
            error,
        })?;
        let stdio = Stdio {
            fds: [None, Some(out_write), Some(err_write)],
            die_with_thread: false,
        };
        let child = spawn::spawn_with(program, limits, stdio)?;
        let label: Arc<str> = Arc::from(self.label.as_str());
        let hook_point = event.hook_point();
        collector.add(
            out_read,
            Arc::clone(&label),
            hook_point,
            output::Channel::Stdout,
        );
        collector.add(err_read, label, hook_point, output::Channel::Stderr);
        Ok(child)
    }
}

impl RunnerContext {
    /// Accounts a launched run.
    pub fn started(&self) {
        bump(&self.counters.started);
        bump(&self.counters.in_flight);
    }

    /// Accounts and logs a failure to create the keeper (nothing runs).
    pub fn launch_failed(&self, target: &ScriptTarget, hook_point: HookPoint, err: &SpawnError) {
        bump(&self.counters.failed_to_start);
        self.log.limited(Severity::Error, log::SPAWN_FAILED, || {
            format!(
                "cannot start script {} at {}: {err}",
                target.label,
                hook_point.name()
            )
        });
    }

    /// Accounts and logs how a launched run ended.
    pub fn ended(
        &self,
        target: &ScriptTarget,
        hook_point: HookPoint,
        result: &Result<Report, SpawnError>,
    ) {
        drop_one(&self.counters.in_flight);
        let report = match result {
            Ok(report) => report,
            Err(err) => {
                self.launch_failed(target, hook_point, err);
                return;
            }
        };
        bump(&self.counters.exited);
        if report.timed_out {
            bump(&self.counters.timed_out);
            self.log.limited(Severity::Warn, log::TIMEOUT, || {
                format!(
                    "script {} at {} ran past its timeout of {} ms: sent SIGTERM (SIGKILL after {} ms); {}",
                    target.label,
                    hook_point.name(),
                    target.timeout.unwrap_or_default().as_millis(),
                    KILL_GRACE.as_millis(),
                    report.status
                )
            });
        }
        match report.status {
            ExitStatus::Exited(0) => {}
            ExitStatus::Exited(_) => bump(&self.counters.non_zero_exits),
            ExitStatus::Signaled(_) => {
                bump(&self.counters.killed_by_signal);
                if !report.timed_out && !report.stopped {
                    self.log.limited(Severity::Warn, log::KILLED_BY_SIGNAL, || {
                        format!(
                            "script {} at {} was {}",
                            target.label,
                            hook_point.name(),
                            report.status
                        )
                    });
                }
            }
        }
    }

    /// Logs a failure of the runner's own waiting machinery.
    pub fn wait_failed(&self, target: &ScriptTarget, err: &std::io::Error) {
        self.log.limited(Severity::Error, log::WAIT_FAILED, || {
            format!("waiting for script {} failed: {err}", target.label)
        });
    }
}
