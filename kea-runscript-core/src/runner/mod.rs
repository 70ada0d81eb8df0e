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
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use kea_runscript_env::{HookPoint, Vars};
use kea_runscript_spawn::{
    self as spawn, Child, ExitStatus, FailedStep, Limits, Program, Report, SpawnError, Stdio,
    StopSignal, KILL_GRACE,
};

use crate::counters::{bump, drop_one, LiveCounters};
use crate::deferred::DeferredEvent;
use crate::fdio;
use crate::lease_key::{self, LeaseKey};
use crate::log::{self, RateLimiter, Severity};
use crate::verdict::Decision;

/// Receives a decision, exactly once (see [`Runner::deliver_with`]).
pub type OnDecision = Box<dyn FnOnce(Decision) + Send>;

/// A strategy that runs one configured script for events.
pub trait Runner: Send + Sync {
    /// Hands `event` to the script. Returns the script's decision when the strategy
    /// waits for one (sync), `None` otherwise (async: started, queued or dropped).
    fn deliver(&self, event: &Arc<EventEnv>) -> Option<Decision>;

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

    /// Hands `event` to the script and its decision to `on_decision`, exactly once
    /// (`continue` for an async script): for callers that must not block a thread on
    /// the verdict (a parked packet). A worker never blocks here; the default (spawn)
    /// runs [`Runner::deliver`] and calls back before returning.
    fn deliver_with(&self, event: &Arc<EventEnv>, on_decision: OnDecision) {
        on_decision(self.deliver(event).unwrap_or_default());
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
/// the hook point (`argv[1]`) and the rendered variables as `NAME=value` C strings.
///
/// The entries lie back to back in one buffer ([`Vars`]), so preparing an event costs a
/// few allocations, not one per variable. The rendering may be deferred
/// ([`EventEnv::deferred`]): then it runs on the first thread that needs the variables — a
/// worker's writer rather than Kea's packet thread.
pub struct EventEnv {
    hook_point: HookPoint,
    vars: LazyLock<Vars, RenderVars>,
    /// The event's model, when it has one: where its lease key comes from (`merge`).
    model: Option<Arc<DeferredEvent>>,
}

/// Makes an event's variables when they are first needed.
type RenderVars = Box<dyn FnOnce() -> Vars + Send>;

impl fmt::Debug for EventEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventEnv")
            .field("hook_point", &self.hook_point)
            .field("vars", &self.vars)
            .finish()
    }
}

impl EventEnv {
    /// Prepares `vars` (ordered `(NAME, value)` pairs; a value is bytes, such as a rendered
    /// [`Text`](kea_runscript_env::Text) or a `String`, passed as they are) for `hook_point`.
    /// Entries that cannot be passed to `execve` (a NUL byte) are left out and returned by
    /// name.
    pub fn new<V: AsRef<[u8]>>(
        hook_point: HookPoint,
        vars: Vec<(String, V)>,
    ) -> (EventEnv, Vec<String>) {
        EventEnv::from_vars(hook_point, Vars::from_pairs(&vars))
    }

    /// As [`EventEnv::new`], for variables already rendered into [`Vars`].
    pub fn from_vars(hook_point: HookPoint, mut vars: Vars) -> (EventEnv, Vec<String>) {
        let rejected = vars.retain_valid();
        let env = EventEnv::with(hook_point, Box::new(move || vars));
        LazyLock::force(&env.vars);
        (env, rejected)
    }

    /// An environment whose variables `render` makes when they are first needed, on that
    /// thread; `on_rejected` gets the names of the entries left out then (see
    /// [`EventEnv::new`]). A panic while rendering is contained: the event then has no
    /// variables, and `on_rejected` is told `"(rendering failed)"`.
    pub fn deferred(
        hook_point: HookPoint,
        render: impl FnOnce() -> Vars + Send + 'static,
        on_rejected: impl FnOnce(&[String]) + Send + 'static,
    ) -> EventEnv {
        let render = move || {
            let (vars, rejected) = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let mut vars = render();
                let rejected = vars.retain_valid();
                (vars, rejected)
            }))
            .unwrap_or_else(|_| (Vars::default(), vec!["(rendering failed)".into()]));
            if !rejected.is_empty() {
                on_rejected(&rejected);
            }
            vars
        };
        EventEnv::with(hook_point, Box::new(render))
    }

    fn with(hook_point: HookPoint, render: RenderVars) -> EventEnv {
        EventEnv {
            hook_point,
            vars: LazyLock::new(render),
            model: None,
        }
    }

    /// This environment, rendered from `model`, which also gives its lease keys
    /// ([`EventEnv::lease_facts`]).
    pub(crate) fn with_model(mut self, model: Arc<DeferredEvent>) -> EventEnv {
        self.model = Some(model);
        self
    }

    /// Whether the event may be about leases, known without making its model (its hook
    /// point reports lease states, and it has a model).
    pub(crate) fn may_have_lease_key(&self) -> bool {
        self.model.is_some() && lease_key::hook_point_has_key(self.hook_point)
    }

    /// The leases the event is about (none: never merged, never waits for another event)
    /// and its estimated bytes, for the overflow policies. Makes the event's model if it
    /// was not yet (on this thread) when its hook point may have keys; otherwise a fixed
    /// estimate.
    pub(crate) fn lease_facts(&self) -> (Vec<LeaseKey>, usize) {
        match &self.model {
            Some(model) if lease_key::hook_point_has_key(self.hook_point) => {
                let event = model.event();
                (lease_key::lease_keys(event), lease_key::approx_bytes(event))
            }
            _ => (Vec::new(), self.unmade_bytes()),
        }
    }

    /// The estimated bytes of a waiting event whose model is not made (it is never
    /// merged): a typical packet's ([`lease_key::UNMADE_EVENT_BYTES`]), or twice its
    /// copies (they, then the model made from them) when the host told a larger size.
    pub(crate) fn unmade_bytes(&self) -> usize {
        let copied = self.model.as_ref().map_or(0, |m| m.copied_bytes());
        lease_key::UNMADE_EVENT_BYTES.max(copied.saturating_mul(2))
    }

    /// This environment followed by `more` (one script's additions); a name the rendering
    /// already set keeps the rendered value (e.g. `QUERY4_OPTION_82`), entries `execve`
    /// cannot take are left out and returned by name, as in [`EventEnv::new`].
    pub fn with_more<V: AsRef<[u8]>>(&self, more: Vec<(String, V)>) -> (EventEnv, Vec<String>) {
        let mut vars = Vars::clone(&self.vars);
        for (name, value) in &more {
            if !self.vars.has(name.as_bytes()) {
                vars.push(name.as_bytes(), value.as_ref());
            }
        }
        let (mut env, rejected) = EventEnv::from_vars(self.hook_point, vars);
        env.model = self.model.clone();
        (env, rejected)
    }

    /// `argv[1]` of a process started for the event: its hook point's name. Made when a
    /// process is started, not with the event: a worker's events never need it.
    fn arg1(&self) -> CString {
        CString::new(self.hook_point.name()).expect("hook-point names have no NUL")
    }

    /// The event's hook point.
    pub fn hook_point(&self) -> HookPoint {
        self.hook_point
    }

    /// The rendered variables as `(NAME, value)` byte pairs, in rendering order (a
    /// worker's `vars`: exactly what a spawned script gets from the rendering).
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.vars.pairs()
    }

    /// The entries as C string pointers, for `execve` (valid while `self` lives).
    fn pointers(&self) -> impl Iterator<Item = *const c_char> + '_ {
        self.vars
            .entries()
            .map(|entry| entry.as_ptr().cast::<c_char>())
    }

    /// True when a variable `name` is among the rendered ones.
    fn has(&self, name: &[u8]) -> bool {
        self.vars.has(name)
    }
}

/// The strings of one configured script, shared by its running programs.
struct TargetStrings {
    path: CString,
    /// `NAME=value` entries from `env`, with the length of their `NAME=` prefix.
    extra_env: Vec<(CString, usize)>,
    /// `capabilities`: the exact ambient set of its processes (bits), if configured.
    ambient: Option<u64>,
    /// `user`, `group`, `limits`; `None`: Kea's.
    privileges: Option<Arc<kea_runscript_spawn::Privileges>>,
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
            strings: Arc::new(TargetStrings {
                path,
                extra_env,
                ambient: config.capabilities.map(|c| c.bits()),
                privileges: config.privileges(),
            }),
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
        self.spawn_stdio(event, context, false)
            .map(|(child, _)| child)
    }

    /// Like [`ScriptTarget::spawn`], with the script's stdout on a pipe whose
    /// non-blocking read end is returned: a sync script's answer lines.
    pub fn spawn_answering(
        &self,
        event: &Arc<EventEnv>,
        context: &RunnerContext,
    ) -> Result<(Child, OwnedFd), SpawnError> {
        let (child, stdout) = self.spawn_stdio(event, context, true)?;
        let stdout = stdout.ok_or_else(|| SpawnError {
            step: FailedStep::Stdio,
            error: std::io::Error::other("no stdout pipe"),
        })?;
        Ok((child, stdout))
    }

    /// Starts the script; its stdout is returned (`capture_stdout`), goes to the output
    /// collector (`log-output`) or is the host's; so is its stderr (collector or host).
    fn spawn_stdio(
        &self,
        event: &Arc<EventEnv>,
        context: &RunnerContext,
        capture_stdout: bool,
    ) -> Result<(Child, Option<OwnedFd>), SpawnError> {
        let strings = &self.strings;
        let mut env: Vec<*const c_char> =
            Vec::with_capacity(event.vars.len() + strings.extra_env.len() + 1);
        env.extend(event.pointers());
        for (entry, prefix_len) in &strings.extra_env {
            // The prefix is `NAME=`.
            if !event.has(&entry.as_bytes()[..*prefix_len - 1]) {
                env.push(entry.as_ptr());
            }
        }
        let keep: Box<dyn std::any::Any + Send + Sync> =
            Box::new((Arc::clone(event), Arc::clone(strings)));
        // SAFETY: every pointer points at a NUL-terminated entry owned by the event or
        // the target strings, both kept alive by `keep` and never mutated.
        let mut program =
            unsafe { Program::with_shared_env(strings.path.clone(), event.arg1(), env, keep) };
        if let Some(caps) = strings.ambient {
            program = program.with_ambient_capabilities(caps);
        }
        if let Some(privileges) = &strings.privileges {
            program = program.with_privileges(Arc::clone(privileges));
        }
        let limits = Limits {
            timeout: self.timeout,
            grace: KILL_GRACE,
            stop: Some(Arc::clone(&context.stop)),
        };
        if !capture_stdout && self.output.is_none() {
            return spawn::spawn(program, limits).map(|child| (child, None));
        }
        // Read ends non-blocking (the collector's, the answer reader's); the script's
        // write ends not.
        let pipe = || -> Result<(OwnedFd, OwnedFd), SpawnError> {
            let stdio_error = |error| SpawnError {
                step: FailedStep::Stdio,
                error,
            };
            let (read, write) = fdio::pipe().map_err(stdio_error)?;
            fdio::set_nonblocking(read.as_raw_fd()).map_err(stdio_error)?;
            Ok((read, write))
        };
        let (out_read, out_write) = pipe()?;
        let err_pipe = self.output.as_ref().map(|_| pipe()).transpose()?;
        let (err_read, err_write) = match err_pipe {
            Some((read, write)) => (Some(read), Some(write)),
            None => (None, None),
        };
        let stdio = Stdio {
            fds: [None, Some(out_write), err_write],
            die_with_thread: false,
        };
        let child = spawn::spawn_with(program, limits, stdio)?;
        let mut captured = Some(out_read);
        if let Some(collector) = &self.output {
            let label: Arc<str> = Arc::from(self.label.as_str());
            let hook_point = event.hook_point();
            if !capture_stdout {
                if let Some(out_read) = captured.take() {
                    collector.add(
                        out_read,
                        Arc::clone(&label),
                        hook_point,
                        output::Channel::Stdout,
                    );
                }
            }
            if let Some(err_read) = err_read {
                collector.add(err_read, label, hook_point, output::Channel::Stderr);
            }
        }
        Ok((child, captured))
    }

    /// True with `log-output`: lines of a sync script's stdout that are not answers are
    /// logged.
    pub fn logs_output(&self) -> bool {
        self.output.is_some()
    }
}

/// The output collector logs through the engine's rate-limited log.
impl AsRef<RateLimiter> for RunnerContext {
    fn as_ref(&self) -> &RateLimiter {
        &self.log
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
        self.account_end(target, hook_point, result);
        // Last: whoever sees the run no longer in flight (a statistics reader, a test
        // waiting for idle) sees every counter of how it ended.
        drop_one(&self.counters.in_flight);
    }

    fn account_end(
        &self,
        target: &ScriptTarget,
        hook_point: HookPoint,
        result: &Result<Report, SpawnError>,
    ) {
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

    /// Accounts the data of one sync answer of script `label` at `hook_point`: counted
    /// when there is some; each field left out counted, and logged (rate-limited, one
    /// line per answer).
    pub fn answer_read(
        &self,
        label: &str,
        hook_point: HookPoint,
        data: &crate::answer::AnswerData,
        problems: &[crate::answer::Problem],
    ) {
        if !data.is_empty() {
            bump(&self.counters.answers_with_data);
        }
        if problems.is_empty() {
            return;
        }
        self.counters
            .answer_errors
            .fetch_add(problems.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.log.limited(Severity::Warn, log::ANSWER_INVALID, || {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            format!(
                "{label} at {}: {}; left out, the verdict applies",
                hook_point.name(),
                list.join("; ")
            )
        });
    }

    /// Logs a failure of the runner's own waiting machinery.
    pub fn wait_failed(&self, target: &ScriptTarget, err: &std::io::Error) {
        self.log.limited(Severity::Error, log::WAIT_FAILED, || {
            format!("waiting for script {} failed: {err}", target.label)
        });
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    #[test]
    fn an_unmade_event_is_estimated_by_its_copies_when_told() {
        use kea_runscript_env::Event;
        let env = |copied: Option<usize>| {
            let hp = HookPoint::CommandProcessed;
            let (env, _) = EventEnv::new(hp, Vec::<(String, String)>::new());
            match copied {
                None => env,
                Some(bytes) => env.with_model(Arc::new(
                    DeferredEvent::new(hp, move || Event::new(hp)).with_copied_bytes(bytes),
                )),
            }
        };
        let typical = lease_key::UNMADE_EVENT_BYTES;
        assert_eq!(env(None).unmade_bytes(), typical);
        assert_eq!(env(Some(100)).unmade_bytes(), typical);
        assert_eq!(env(Some(1_000_000)).unmade_bytes(), 2_000_000);
        assert_eq!(env(Some(1_000_000)).lease_facts(), (vec![], 2_000_000));
    }

    fn pairs(env: &EventEnv) -> Vec<(String, String)> {
        env.pairs()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    fn own(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_deferred_environment_renders_once_where_first_needed() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        let renders = Arc::new(AtomicUsize::new(0));
        let rejected = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (Arc::clone(&renders), Arc::clone(&rejected));
        let env = EventEnv::deferred(
            HookPoint::Pkt4Receive,
            move || {
                count.fetch_add(1, Ordering::SeqCst);
                Vars::from_pairs(&[("A", "1"), ("B", "x\0y")])
            },
            move |names| seen.lock().unwrap().extend_from_slice(names),
        );
        assert_eq!(renders.load(Ordering::SeqCst), 0, "not rendered when made");
        // First needed on another thread (as by a worker's writer).
        let env = Arc::new(env);
        let on_writer = Arc::clone(&env);
        std::thread::spawn(move || assert_eq!(pairs(&on_writer), own(&[("A", "1")])))
            .join()
            .unwrap();
        assert_eq!(pairs(&env), own(&[("A", "1")]));
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert_eq!(*rejected.lock().unwrap(), ["B"]);
    }

    #[test]
    fn a_panic_while_rendering_leaves_an_empty_environment() {
        let (tx, rx) = std::sync::mpsc::channel();
        let env = EventEnv::deferred(
            HookPoint::Pkt4Receive,
            || panic!("a renderer bug"),
            move |names| tx.send(names.to_vec()).unwrap(),
        );
        assert!(pairs(&env).is_empty());
        assert_eq!(rx.recv().unwrap(), ["(rendering failed)"]);
    }

    #[test]
    fn keeps_the_order_and_leaves_out_what_execve_cannot_take() {
        let vars = own(&[
            ("B", "2"),
            ("", "empty name"),
            ("A", ""),
            ("X=Y", "name with ="),
            ("N\0UL", "name with NUL"),
            ("V", "value with \0 NUL"),
            ("C", "x=y"),
        ]);
        let (env, rejected) = EventEnv::new(HookPoint::Leases4Committed, vars);
        assert_eq!(pairs(&env), own(&[("B", "2"), ("A", ""), ("C", "x=y")]));
        assert_eq!(rejected, ["", "X=Y", "N\0UL", "V"]);
        // What execve gets: each pointer a NUL-terminated NAME=value.
        let entries: Vec<&[u8]> = env
            .pointers()
            // SAFETY: the pointers point into `env`, alive here.
            .map(|p| unsafe { CStr::from_ptr(p) }.to_bytes())
            .collect();
        assert_eq!(entries, [&b"B=2"[..], b"A=", b"C=x=y"]);
        assert!(env.has(b"A") && !env.has(b"X") && !env.has(b"B=2"));
    }

    #[test]
    fn additions_come_after_and_never_replace_a_rendered_variable() {
        let (env, _) = EventEnv::new(HookPoint::Pkt4Receive, own(&[("A", "1"), ("B", "2")]));
        let (both, rejected) = env.with_more(own(&[("B", "added"), ("C", "3"), ("", "x")]));
        assert_eq!(pairs(&both), own(&[("A", "1"), ("B", "2"), ("C", "3")]));
        assert_eq!(rejected, [""]);
        assert_eq!(both.hook_point(), HookPoint::Pkt4Receive);
        assert_eq!(both.arg1().to_bytes(), b"pkt4_receive");
    }
}
