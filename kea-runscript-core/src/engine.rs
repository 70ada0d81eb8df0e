//! The [`Engine`]: one loaded configuration with its runners, fed events by the hook.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kea_runscript_env::{Event, HookPoint};

use crate::config::{self, Config, ConfigError};
use crate::counters::{bump, Counters, LiveCounters};
use crate::log::{self, LogSink, RateLimiter, Severity};
use crate::policy::Policy;
use crate::runner::reaper::Reaper;
use crate::runner::spawn_async::SpawnAsync;
use crate::runner::spawn_sync::SpawnSync;
use crate::runner::{EventEnv, Runner, RunnerContext, ScriptTarget, KILL_GRACE, SHUTDOWN_WAIT};
use crate::spawn::StopSignal;
use crate::verdict::Verdict;

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

/// One loaded configuration: its scripts, runners and counters. `Send + Sync`;
/// one per loaded library (a config reload is `shutdown` + a new engine).
pub struct Engine {
    config: Config,
    policy: Policy,
    runners: Vec<Arc<dyn Runner>>,
    context: Arc<RunnerContext>,
    reaper: Option<Arc<Reaper>>,
    stopped: AtomicBool,
}

impl Engine {
    /// Parses and checks the `parameters` JSON ([`Config::load`]) and starts the engine.
    pub fn from_json(parameters: &str, log: Arc<dyn LogSink>) -> Result<Engine, EngineError> {
        Engine::new(Config::load(parameters)?, log)
    }

    /// Starts an engine for an already loaded configuration. Fails only if the
    /// operating system refuses a resource (an eventfd, the reaper thread).
    pub fn new(config: Config, log: Arc<dyn LogSink>) -> Result<Engine, EngineError> {
        let stop = StopSignal::new().map_err(|source| EngineError::Start {
            what: "the stop eventfd",
            source,
        })?;
        let context = Arc::new(RunnerContext {
            counters: LiveCounters::default(),
            log: RateLimiter::new(log),
            stop: Arc::new(stop),
        });
        let any_async = config
            .scripts
            .iter()
            .any(|s| matches!(s.mode, config::Mode::Async(_)));
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
        let runners = config
            .scripts
            .iter()
            .map(|script| -> Arc<dyn Runner> {
                let target = ScriptTarget::new(script);
                match &script.mode {
                    config::Mode::Async(settings) => SpawnAsync::new(
                        target,
                        settings.clone(),
                        Arc::clone(&context),
                        Arc::clone(reaper.as_ref().expect("started for async scripts")),
                    ),
                    config::Mode::Sync(settings) => Arc::new(SpawnSync::new(
                        target,
                        settings.clone(),
                        Arc::clone(&context),
                    )),
                }
            })
            .collect();
        for script in &config.scripts {
            context
                .log
                .always(Severity::Info, log::SCRIPT_CONFIGURED, &script.summary());
        }
        Ok(Engine {
            policy: Policy::new(&config),
            config,
            runners,
            context,
            reaper,
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

    /// Renders `event` once and runs every script selected for its hook point, in
    /// configuration order. Async scripts contribute `Continue`; several sync
    /// verdicts combine to the most severe.
    pub fn handle(&self, event: &Event) -> Verdict {
        if !self.wants(event.hook_point) {
            return Verdict::Continue;
        }
        self.handle_vars(event.hook_point, kea_runscript_env::render(event))
    }

    /// Like [`Engine::handle`] with already rendered variables (ordered
    /// `(NAME, value)` pairs) — for callers without an `Event` (tests, benchmarks).
    pub fn handle_vars(&self, hook_point: HookPoint, vars: Vec<(String, String)>) -> Verdict {
        let selected = self.policy.scripts(hook_point);
        if selected.is_empty() {
            return Verdict::Continue;
        }
        bump(&self.context.counters.events);
        let (env, rejected) = EventEnv::new(hook_point, vars);
        if !rejected.is_empty() {
            self.context
                .log
                .limited(Severity::Error, log::ENV_INVALID, || {
                    format!(
                        "variables left out at {} (NUL byte or bad name): {}",
                        hook_point.name(),
                        rejected.join(", ")
                    )
                });
        }
        let env = Arc::new(env);
        Verdict::combine(
            selected
                .iter()
                .filter_map(|&index| self.runners[index].deliver(&env)),
        )
    }

    /// For unload: stops accepting events (later ones are counted as dropped) and
    /// discards queued ones; gives the runs in progress [`SHUTDOWN_WAIT`] to end, then
    /// has their keepers terminate them (`SIGTERM`, `SIGKILL` after [`KILL_GRACE`]);
    /// waits for all of them and joins the reaper thread. Bounded (about
    /// `SHUTDOWN_WAIT + KILL_GRACE` plus a margin). Idempotent; also run on drop.
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
