//! The [`Engine`]: one loaded configuration with its runners, fed events by the hook.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kea_runscript_env::{HookPoint, Profile, Text};

use crate::config::{self, Config, ConfigError, ScriptConfig};
use crate::counters::{bump, Counters, LiveCounters};
use crate::deferred::DeferredEvent;
use crate::lease_key;
use crate::log::{self, LogSink, RateLimiter, Severity};
use crate::policy::Policy;
use crate::runner::output::OutputCollector;
use crate::runner::reaper::Reaper;
use crate::runner::spawn_async::SpawnAsync;
use crate::runner::spawn_sync::SpawnSync;
use crate::runner::{EventEnv, OnDecision, Runner, RunnerContext, ScriptTarget};
use crate::verdict::{Decision, Verdict};
use crate::worker::{Worker, WorkerOptions};
use kea_runscript_spawn::{StopSignal, KILL_GRACE};

/// At unload, running async scripts get this long to finish before they are terminated
/// (then [`KILL_GRACE`] before `SIGKILL`).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);
/// Past the kill grace, how long unload still waits for keepers before killing them.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// Why an engine could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// The configuration is invalid ([`Config::load`]'s error).
    Config(ConfigError),
    /// An operating-system resource the engine needs could not be created.
    Start {
        /// What was being created (`"the stop eventfd"`, `"the reaper thread"`).
        what: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Config(err) => err.fmt(f),
            EngineError::Start { what, source } => write!(f, "cannot create {what}: {source}"),
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EngineError::Config(err) => Some(err),
            EngineError::Start { source, .. } => Some(source),
        }
    }
}

impl From<ConfigError> for EngineError {
    fn from(err: ConfigError) -> EngineError {
        EngineError::Config(err)
    }
}

/// Receives the combined verdict of an event's sync scripts, exactly once.
pub type OnVerdict = Box<dyn FnOnce(Verdict) + Send>;

/// The decisions of one event's scripts as they arrive, in any order: each in its
/// place, combined in configuration order (the first script's host name wins) once all
/// are in, for whoever gets the result.
struct Combined {
    state: Mutex<Combining>,
}

struct Combining {
    missing: usize,
    decisions: Vec<Option<Decision>>,
    on_decision: Option<OnDecision>,
}

impl Combined {
    fn new(count: usize, on_decision: OnDecision) -> Arc<Combined> {
        Arc::new(Combined {
            state: Mutex::new(Combining {
                missing: count,
                decisions: vec![None; count],
                on_decision: Some(on_decision),
            }),
        })
    }

    /// The decision of the `place`-th script.
    fn add(&self, place: usize, decision: Decision) {
        let done = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.missing -= 1;
            if let Some(slot) = state.decisions.get_mut(place) {
                *slot = Some(decision);
            }
            (state.missing == 0).then(|| {
                let decisions = std::mem::take(&mut state.decisions);
                (
                    Decision::combine(decisions.into_iter().flatten()),
                    state.on_decision.take(),
                )
            })
        };
        if let Some((decision, Some(on_decision))) = done {
            on_decision(decision);
        }
    }
}

/// One loaded configuration: its scripts, runners and counters. `Send + Sync`;
/// one per loaded library (a config reload is `shutdown` + a new engine).
pub struct Engine {
    config: Config,
    policy: Policy,
    runners: Vec<Arc<dyn Runner>>,
    context: Arc<RunnerContext>,
    reaper: Option<Arc<Reaper>>,
    /// Collects spawned scripts' output (`log-output`), if any script asks for it.
    output: Option<Arc<OutputCollector>>,
    stopped: AtomicBool,
    /// Whether an async script's overflow policy needs events' lease keys (`merge`,
    /// `block`).
    keys_leases: bool,
}

impl Engine {
    /// Parses and checks the `parameters` JSON ([`Config::load`]) and starts the engine.
    pub fn from_json(parameters: &str, log: Arc<dyn LogSink>) -> Result<Engine, EngineError> {
        Engine::new(Config::load(parameters)?, log)
    }

    /// Starts an engine for an already loaded configuration. Fails only if the
    /// operating system refuses a resource (an eventfd, the reaper thread).
    pub fn new(mut config: Config, log: Arc<dyn LogSink>) -> Result<Engine, EngineError> {
        // A parsed but not loaded configuration must not run a script as Kea when it
        // names a user (a no-op when loaded).
        config.resolve_accounts()?;
        let stop = StopSignal::new().map_err(|source| EngineError::Start {
            what: "the stop eventfd",
            source,
        })?;
        let context = Arc::new(RunnerContext {
            counters: LiveCounters::default(),
            log: RateLimiter::new(log),
            stop: Arc::new(stop),
        });
        let any_async = config.scripts.iter().any(|s| {
            matches!(s.mode, config::Mode::Async(_)) && s.runner == config::RunnerKind::Spawn
        });
        let reaper = if any_async {
            Some(
                Reaper::start(Arc::clone(&context)).map_err(|source| EngineError::Start {
                    what: "the reaper thread",
                    source,
                })?,
            )
        } else {
            None
        };
        let any_spawn_output = config
            .scripts
            .iter()
            .any(|s| s.log_output && s.runner == config::RunnerKind::Spawn);
        let output = if any_spawn_output {
            Some(
                OutputCollector::start(Arc::<RunnerContext>::clone(&context)).map_err(
                    |source| EngineError::Start {
                        what: "the output thread",
                        source,
                    },
                )?,
            )
        } else {
            None
        };
        let mut runners: Vec<Arc<dyn Runner>> = Vec::with_capacity(config.scripts.len());
        for script in &config.scripts {
            let mut target = ScriptTarget::new(script);
            if let (true, Some(collector)) = (script.log_output, &output) {
                target = target.with_output(Arc::clone(collector));
            }
            let runner: Arc<dyn Runner> = match (&script.runner, &script.mode) {
                (config::RunnerKind::Worker(settings), mode) => {
                    let options = WorkerOptions {
                        path: script.path.clone(),
                        label: target.label.clone(),
                        env: script.env.clone(),
                        max_queued: settings.max_queued,
                        overflow: script.overflow.clone(),
                        sync: match mode {
                            config::Mode::Sync(sync) => Some((
                                sync.clone(),
                                script.timeout.unwrap_or(config::DEFAULT_SYNC_TIMEOUT),
                            )),
                            config::Mode::Async(_) => None,
                        },
                        log_output: script.log_output,
                        ambient: script.capabilities.map(|c| c.bits()),
                        privileges: script.privileges(),
                    };
                    match Worker::start(options, Arc::clone(&context)) {
                        Ok(worker) => Arc::new(worker),
                        Err(source) => {
                            // Stop the workers already started before failing.
                            for runner in &runners {
                                runner.shutdown();
                            }
                            for runner in &runners {
                                runner.join();
                            }
                            return Err(EngineError::Start {
                                what: "the threads of a worker",
                                source,
                            });
                        }
                    }
                }
                (config::RunnerKind::Spawn, config::Mode::Async(settings)) => SpawnAsync::new(
                    target,
                    settings.clone(),
                    script.overflow.clone(),
                    Arc::clone(&context),
                    Arc::clone(reaper.as_ref().expect("started for async scripts")),
                ),
                (config::RunnerKind::Spawn, config::Mode::Sync(settings)) => Arc::new(
                    SpawnSync::new(target, settings.clone(), Arc::clone(&context)),
                ),
            };
            runners.push(runner);
        }
        for script in &config.scripts {
            context
                .log
                .always(Severity::Info, log::SCRIPT_CONFIGURED, &script.summary());
        }
        let keys_leases = config.scripts.iter().any(|s| {
            matches!(s.mode, config::Mode::Async(_)) && s.overflow.policy != config::Overflow::Drop
        });
        Ok(Engine {
            keys_leases,
            policy: Policy::new(&config),
            config,
            runners,
            context,
            reaper,
            output,
            stopped: AtomicBool::new(false),
        })
    }

    /// The configuration this engine runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// True when at least one script runs at `hook_point` (O(1); lets the hook skip
    /// extracting Kea's objects).
    pub fn wants(&self, hook_point: HookPoint) -> bool {
        self.policy.wants(hook_point)
    }

    /// Renders `event` once per variable profile in use there and runs every script
    /// selected for its hook point, in configuration order, each with its profile's
    /// variables. Async scripts contribute `Continue`; several sync verdicts combine to the
    /// most severe.
    pub fn handle(&self, event: impl Into<DeferredEvent>) -> Verdict {
        self.handle_adding(event, &|_| Vec::new())
    }

    /// Like [`Engine::handle`], with each script's own additions: for a script that has
    /// some ([`ScriptConfig::has_additions`](config::ScriptConfig::has_additions)),
    /// `additions(index)` gives the variables appended after its profile's (e.g. the values
    /// of its Kea expressions, which only the hook can compute). Called only for such
    /// scripts, so a configuration without them costs nothing more.
    pub fn handle_adding(
        &self,
        event: impl Into<DeferredEvent>,
        additions: &dyn Fn(usize) -> Vec<(String, String)>,
    ) -> Verdict {
        self.handle_where(event, additions, &|_| true)
    }

    /// Like [`Engine::handle_adding`], for the scripts selected there that `keep` keeps
    /// (e.g. [`crate::ha::wants_partner_events`]); without one, nothing is counted.
    pub fn handle_where(
        &self,
        event: impl Into<DeferredEvent>,
        additions: &dyn Fn(usize) -> Vec<(String, String)>,
        keep: &dyn Fn(&ScriptConfig) -> bool,
    ) -> Verdict {
        self.decide_where(event, additions, keep).verdict
    }

    /// Like [`Engine::handle_where`], with the data the sync scripts' answers carried
    /// (classes, a host name, …: [`AnswerData`](crate::answer::AnswerData)), combined in
    /// configuration order.
    pub fn decide_where(
        &self,
        event: impl Into<DeferredEvent>,
        additions: &dyn Fn(usize) -> Vec<(String, String)>,
        keep: &dyn Fn(&ScriptConfig) -> bool,
    ) -> Decision {
        let event = &Arc::new(event.into());
        let selected = self.policy.scripts(event.hook_point());
        let mut kept = selected
            .iter()
            .copied()
            .filter(|&index| keep(&self.config.scripts[index]))
            .peekable();
        if kept.peek().is_none() {
            return Decision::default();
        }
        bump(&self.context.counters.events);
        let mut envs: [Option<Arc<EventEnv>>; Profile::ALL.len()] = Default::default();
        Decision::combine(kept.filter_map(|index| {
            let env = self.script_env(&mut envs, event, index, additions);
            self.runners[index].deliver(&env)
        }))
    }

    /// Whether a script selected at `hook_point` is kept by `keep`.
    pub fn wants_where(&self, hook_point: HookPoint, keep: &dyn Fn(&ScriptConfig) -> bool) -> bool {
        self.policy
            .scripts(hook_point)
            .iter()
            .any(|&index| keep(&self.config.scripts[index]))
    }

    /// The environment of script `index` for `event`: its profile's rendering (made once
    /// per profile in `envs`; `Profile::ALL` is in declaration order, tested in
    /// kea-runscript-env, so the discriminant indexes it), followed by the script's own
    /// additions when it has any.
    fn script_env(
        &self,
        envs: &mut [Option<Arc<EventEnv>>; Profile::ALL.len()],
        event: &Arc<DeferredEvent>,
        index: usize,
        additions: &dyn Fn(usize) -> Vec<(String, String)>,
    ) -> Arc<EventEnv> {
        let script = &self.config.scripts[index];
        let profile = script.variables;
        let env = envs[profile as usize].get_or_insert_with(|| {
            // Rendered where first needed: by a worker's writer, not on Kea's thread.
            let hook_point = event.hook_point();
            let context = Arc::clone(&self.context);
            let event = Arc::clone(event);
            // Only where a script may merge (or order runs by lease) does the environment
            // keep the model: otherwise it is freed once rendered, as before.
            let model = (self.keys_leases && lease_key::hook_point_has_key(hook_point))
                .then(|| Arc::clone(&event));
            let env = EventEnv::deferred(
                hook_point,
                move || profile.render_vars(event.event()),
                move |rejected| report_rejected(&context, hook_point, rejected),
            );
            Arc::new(match model {
                Some(model) => env.with_model(model),
                None => env,
            })
        });
        if !script.has_additions() {
            return Arc::clone(env);
        }
        let mut more = kea_runscript_env::render_options(event.event(), &script.options);
        more.extend(kea_runscript_env::render_extras(
            event.event(),
            script.extras(),
        ));
        more.extend(additions(index).into_iter().map(|(n, v)| (n, v.into())));
        let (own, rejected) = env.with_more(more);
        report_rejected(&self.context, event.hook_point(), &rejected);
        Arc::new(own)
    }

    /// Delivers a replayed event (`lease4_replay` / `lease6_replay`) to every script
    /// selected there, each when it has room (its runner's `has_room`): an async script
    /// gets it once a process slot is free and nothing waits in its queue, so a replay
    /// never drops an event nor takes the places of live ones; a sync script is waited
    /// for (its verdict is meaningless here and ignored). Blocks the calling thread (the
    /// hook's replay thread, never Kea's) while it waits. Returns false when the engine was
    /// shut down meanwhile (the replay should stop).
    ///
    /// Scripts with expressions get them empty: a replay has no packet.
    pub fn replay(&self, event: impl Into<DeferredEvent>) -> bool {
        self.replay_where(event, &|_| true)
    }

    /// Like [`Engine::replay`], to the scripts selected there that `keep` keeps (e.g.
    /// [`crate::ha::wants_sync_replay`]).
    pub fn replay_where(
        &self,
        event: impl Into<DeferredEvent>,
        keep: &dyn Fn(&ScriptConfig) -> bool,
    ) -> bool {
        let event = &Arc::new(event.into());
        let selected: Vec<usize> = self
            .policy
            .scripts(event.hook_point())
            .iter()
            .copied()
            .filter(|&index| keep(&self.config.scripts[index]))
            .collect();
        if selected.is_empty() {
            return !self.is_stopped();
        }
        bump(&self.context.counters.events);
        let mut envs: [Option<Arc<EventEnv>>; Profile::ALL.len()] = Default::default();
        // A replay has no packet: expressions have nothing to evaluate.
        let empty_expressions = |index: usize| -> Vec<(String, String)> {
            self.config.scripts[index]
                .expressions
                .iter()
                .map(|(name, _)| (name.clone(), String::new()))
                .collect()
        };
        for index in selected {
            let runner = &self.runners[index];
            let mut pause = Duration::from_micros(200);
            while !runner.has_room() {
                if self.is_stopped() {
                    return false;
                }
                // Slots free as scripts end (milliseconds); a short, growing sleep keeps
                // this thread cheap without a wake-up channel from every runner.
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            if self.is_stopped() {
                return false;
            }
            let env = self.script_env(&mut envs, event, index, &empty_expressions);
            runner.deliver(&env);
        }
        !self.is_stopped()
    }

    /// True once [`Engine::shutdown`] has begun.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// True when at least one sync script runs at `hook_point`: its verdict matters, so
    /// the hook may park the packet there and resolve it through [`Engine::handle_with`].
    pub fn waits_for_verdict(&self, hook_point: HookPoint) -> bool {
        self.policy
            .scripts(hook_point)
            .iter()
            .any(|&index| matches!(self.config.scripts[index].mode, config::Mode::Sync(_)))
    }

    /// True when a script with `"host-reservation": true` runs at `hook_point` (lets the hook
    /// look the client's reservation up only then).
    pub fn wants_host_reservation(&self, hook_point: HookPoint) -> bool {
        self.policy
            .scripts(hook_point)
            .iter()
            .any(|&index| self.config.scripts[index].host_reservation)
    }

    /// True when a script with `profile`'s variables runs at `hook_point` (lets the hook
    /// read from Kea what only that profile renders).
    pub fn wants_profile(&self, hook_point: HookPoint, profile: Profile) -> bool {
        self.policy
            .scripts(hook_point)
            .iter()
            .any(|&index| self.config.scripts[index].variables == profile)
    }

    /// Like [`Engine::handle`] with already rendered variables (ordered
    /// `(NAME, value)` pairs), given to every selected script whatever its profile — for
    /// callers without an `Event`: this crate's tests. Hidden, not a stable API.
    #[doc(hidden)]
    pub fn handle_vars(&self, hook_point: HookPoint, vars: Vec<(String, Text)>) -> Verdict {
        self.decide_vars(hook_point, vars).verdict
    }

    /// [`Engine::handle_vars`] with the answers' data: this crate's tests. Hidden, not a
    /// stable API.
    #[doc(hidden)]
    pub fn decide_vars(&self, hook_point: HookPoint, vars: Vec<(String, Text)>) -> Decision {
        let selected = self.policy.scripts(hook_point);
        if selected.is_empty() {
            return Decision::default();
        }
        bump(&self.context.counters.events);
        let env = self.prepare(hook_point, vars);
        Decision::combine(
            selected
                .iter()
                .filter_map(|&index| self.runners[index].deliver(&env)),
        )
    }

    /// Like [`Engine::handle`], but the combined verdict goes to `on_verdict`,
    /// exactly once, instead of being returned: for a caller that must not block a
    /// thread while scripts decide (a parked packet). Workers never block here;
    /// spawned sync scripts still run on the calling thread (in configuration
    /// order). `on_verdict` may run on this thread before `handle_with` returns, or
    /// later on one of the engine's threads.
    pub fn handle_with(&self, event: impl Into<DeferredEvent>, on_verdict: OnVerdict) {
        self.handle_adding_with(event, &|_| Vec::new(), on_verdict)
    }

    /// [`Engine::handle_with`] with each script's own additions, as in
    /// [`Engine::handle_adding`].
    pub fn handle_adding_with(
        &self,
        event: impl Into<DeferredEvent>,
        additions: &dyn Fn(usize) -> Vec<(String, String)>,
        on_verdict: OnVerdict,
    ) {
        self.decide_adding_with(event, additions, Box::new(move |d| on_verdict(d.verdict)));
    }

    /// [`Engine::handle_adding_with`] with the data the sync scripts' answers carried,
    /// as in [`Engine::decide_where`].
    pub fn decide_adding_with(
        &self,
        event: impl Into<DeferredEvent>,
        additions: &dyn Fn(usize) -> Vec<(String, String)>,
        on_decision: OnDecision,
    ) {
        let event = &Arc::new(event.into());
        let selected = self.policy.scripts(event.hook_point());
        if selected.is_empty() {
            return on_decision(Decision::default());
        }
        bump(&self.context.counters.events);
        let combined = Combined::new(selected.len(), on_decision);
        let mut envs: [Option<Arc<EventEnv>>; Profile::ALL.len()] = Default::default();
        for (place, &index) in selected.iter().enumerate() {
            let env = self.script_env(&mut envs, event, index, additions);
            let combined = Arc::clone(&combined);
            self.runners[index].deliver_with(&env, Box::new(move |d| combined.add(place, d)));
        }
    }

    /// [`Engine::handle_with`] with already rendered variables, given to every
    /// selected script whatever its profile: this crate's tests. Hidden, not a stable API.
    #[doc(hidden)]
    pub fn handle_vars_with(
        &self,
        hook_point: HookPoint,
        vars: Vec<(String, Text)>,
        on_verdict: OnVerdict,
    ) {
        let selected = self.policy.scripts(hook_point);
        if selected.is_empty() {
            return on_verdict(Verdict::Continue);
        }
        bump(&self.context.counters.events);
        let env = self.prepare(hook_point, vars);
        let combined = Combined::new(selected.len(), Box::new(move |d| on_verdict(d.verdict)));
        for (place, &index) in selected.iter().enumerate() {
            let combined = Arc::clone(&combined);
            self.runners[index].deliver_with(&env, Box::new(move |d| combined.add(place, d)));
        }
    }

    /// One event's variables made ready for the runners; entries `execve` cannot take are
    /// left out and logged.
    fn prepare<V: AsRef<[u8]>>(
        &self,
        hook_point: HookPoint,
        vars: Vec<(String, V)>,
    ) -> Arc<EventEnv> {
        let (env, rejected) = EventEnv::new(hook_point, vars);
        report_rejected(&self.context, hook_point, &rejected);
        Arc::new(env)
    }

    /// For unload: stops accepting events (later ones are counted as dropped) and
    /// discards queued ones; gives the runs in progress 1 s to end, then has their
    /// keepers terminate them (`SIGTERM`, `SIGKILL` after
    /// [`KILL_GRACE`](kea_runscript_spawn::KILL_GRACE), 500 ms); waits for all of them and
    /// joins the reaper thread. Bounded (about 1.5 s plus a margin). Idempotent; also run
    /// on drop.
    pub fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        for runner in &self.runners {
            runner.shutdown();
        }
        let in_flight = || self.context.counters.in_flight.load(Ordering::Acquire);
        let wait_until = |deadline: Instant| {
            while in_flight() > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        wait_until(Instant::now() + SHUTDOWN_WAIT);
        let still_running = in_flight();
        if still_running > 0 {
            self.context.log.always(
                Severity::Warn,
                log::SHUTDOWN,
                &format!("unload: terminating {still_running} scripts still running"),
            );
            self.context.stop.trigger();
        }
        let bound = KILL_GRACE + SHUTDOWN_MARGIN;
        if let Some(reaper) = &self.reaper {
            reaper.shutdown(bound);
        }
        // Sync deliveries end with their keepers, which the stop signal bounds too.
        wait_until(Instant::now() + bound);
        // Workers had their grace meanwhile; each ends within its own bound.
        for runner in &self.runners {
            runner.join();
        }
        if let Some(output) = &self.output {
            output.shutdown();
        }
        self.context.log.always(
            Severity::Info,
            log::SHUTDOWN,
            &format!("unload: counters {}", self.counters()),
        );
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.context.counters.snapshot()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Logs the variables left out of an event (NUL byte or bad name), if any.
fn report_rejected(context: &RunnerContext, hook_point: HookPoint, rejected: &[String]) {
    if !rejected.is_empty() {
        context.log.limited(Severity::Error, log::ENV_INVALID, || {
            format!(
                "variables left out at {} (NUL byte or bad name): {}",
                hook_point.name(),
                rejected.join(", ")
            )
        });
    }
}
