//! Configuration, hook-point policy and process runners of kea-runscript. No Kea here:
//! the hook library feeds [`Engine::handle`] with `kea_runscript_env` events.
//!
//! - [`config`]: the `parameters` JSON → [`Config`] (pure parsing, then file checks).
//! - [`policy`]: which scripts run at which hook point; [`Verdict`] combination. Pure.
//! - [`runner`]: the [`runner::Runner`] interface and its strategies
//!   (spawn-async, spawn-sync).
//! - [`spawn`]: the process launcher (a keeper process sharing the host's memory
//!   starts the script posix_spawn-style and reaps it) — the only module with
//!   substantial `unsafe`.
//! - [`log`]: the [`log::LogSink`] interface and message ids.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kea_runscript_core::{log::StderrSink, Engine, Verdict};
//! use kea_runscript_env::{Event, HookPoint, Profile};
//!
//! let engine = Engine::from_json(
//!     r#"{"name": "/usr/local/bin/dhcp-event", "sync": true, "exit-codes": {"3": "drop"}}"#,
//!     Arc::new(StderrSink),
//! ).expect("valid configuration");
//! if engine.wants(HookPoint::Lease4Renew) {
//!     let verdict = engine.handle(&Event::new(HookPoint::Lease4Renew));
//!     assert!(matches!(verdict, Verdict::Continue | Verdict::Skip | Verdict::Drop));
//! }
//! engine.shutdown();
//! ```

#![warn(missing_docs)]

pub mod config;
mod counters;
pub mod log;
pub mod policy;
pub mod runner;
pub mod spawn;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kea_runscript_env::{Event, HookPoint, Profile};

pub use config::{Config, ConfigError};
pub use counters::Counters;
use counters::{bump, LiveCounters};
use log::{LogSink, RateLimiter, Severity};
use policy::Policy;
pub use policy::Verdict;
use runner::reaper::Reaper;
use runner::spawn_async::SpawnAsync;
use runner::spawn_sync::SpawnSync;
use runner::{EventEnv, Runner, ScriptTarget, Shared, KILL_GRACE, SHUTDOWN_WAIT};
use spawn::StopSignal;

/// Past the kill grace, how long unload still waits for keepers before killing them.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// One loaded configuration: its scripts, runners and counters. `Send + Sync`;
/// one per loaded library (a config reload is `shutdown` + a new engine).
pub struct Engine {
    config: Config,
    policy: Policy,
    runners: Vec<Arc<dyn Runner>>,
    shared: Arc<Shared>,
    reaper: Option<Arc<Reaper>>,
    stopped: AtomicBool,
}

impl Engine {
    /// Parses and checks the `parameters` JSON ([`Config::load`]) and starts the engine.
    pub fn from_json(parameters: &str, log: Arc<dyn LogSink>) -> Result<Engine, ConfigError> {
        Engine::new(Config::load(parameters)?, log)
    }

    /// Starts an engine for an already loaded configuration. Fails only if the
    /// reaper thread cannot be started (the error has an empty path).
    pub fn new(config: Config, log: Arc<dyn LogSink>) -> Result<Engine, ConfigError> {
        let stop = StopSignal::new().map_err(|e| ConfigError {
            path: String::new(),
            message: format!("cannot create the stop eventfd: {e}"),
        })?;
        let shared = Arc::new(Shared {
            counters: LiveCounters::default(),
            log: RateLimiter::new(log),
            stop: Arc::new(stop),
        });
        let any_async = config
            .scripts
            .iter()
            .any(|s| matches!(s.mode, config::Mode::Async(_)));
        let reaper = if any_async {
            Some(Reaper::start(Arc::clone(&shared)).map_err(|e| ConfigError {
                path: String::new(),
                message: format!("cannot start the reaper thread: {e}"),
            })?)
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
                        Arc::clone(&shared),
                        Arc::clone(reaper.as_ref().expect("started for async scripts")),
                    ),
                    config::Mode::Sync(settings) => Arc::new(SpawnSync::new(
                        target,
                        settings.clone(),
                        Arc::clone(&shared),
                    )),
                }
            })
            .collect();
        for script in &config.scripts {
            shared
                .log
                .always(Severity::Info, log::SCRIPT_CONFIGURED, &script.summary());
        }
        Ok(Engine {
            policy: Policy::new(&config),
            config,
            runners,
            shared,
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

    /// Renders `event` once per variable profile in use there and runs every script
    /// selected for its hook point, in configuration order, each with its profile's
    /// variables. Async scripts contribute `Continue`; several sync verdicts combine to the
    /// most severe.
    pub fn handle(&self, event: &Event) -> Verdict {
        let selected = self.policy.scripts(event.hook_point);
        if selected.is_empty() {
            return Verdict::Continue;
        }
        bump(&self.shared.counters.events);
        // Rendered on first use, once per profile; `Profile::ALL` is in declaration order
        // (tested in kea-runscript-env), so the discriminant indexes it.
        let mut envs: [Option<Arc<EventEnv>>; Profile::ALL.len()] = Default::default();
        Verdict::combine(selected.iter().filter_map(|&index| {
            let profile = self.config.scripts[index].variables;
            let env = envs[profile as usize]
                .get_or_insert_with(|| self.prepare(event.hook_point, profile.render(event)));
            self.runners[index].deliver(env)
        }))
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
    /// callers without an `Event` (tests, benchmarks).
    pub fn handle_vars(&self, hook_point: HookPoint, vars: Vec<(String, String)>) -> Verdict {
        let selected = self.policy.scripts(hook_point);
        if selected.is_empty() {
            return Verdict::Continue;
        }
        bump(&self.shared.counters.events);
        let env = self.prepare(hook_point, vars);
        Verdict::combine(
            selected
                .iter()
                .filter_map(|&index| self.runners[index].deliver(&env)),
        )
    }

    /// One event's variables made ready for the runners; entries `execve` cannot take are
    /// left out and logged.
    fn prepare(&self, hook_point: HookPoint, vars: Vec<(String, String)>) -> Arc<EventEnv> {
        let (env, rejected) = EventEnv::new(hook_point, vars);
        if !rejected.is_empty() {
            self.shared
                .log
                .limited(Severity::Error, log::ENV_INVALID, || {
                    format!(
                        "variables left out at {} (NUL byte or bad name): {}",
                        hook_point.name(),
                        rejected.join(", ")
                    )
                });
        }
        Arc::new(env)
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
        let in_flight = || self.shared.counters.in_flight.load(Ordering::Acquire);
        let wait_until = |deadline: Instant| {
            while in_flight() > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        wait_until(Instant::now() + SHUTDOWN_WAIT);
        let still_running = in_flight();
        if still_running > 0 {
            self.shared.log.always(
                Severity::Warn,
                log::SHUTDOWN,
                &format!("unload: terminating {still_running} scripts still running"),
            );
            self.shared.stop.trigger();
        }
        let bound = KILL_GRACE + SHUTDOWN_MARGIN;
        if let Some(reaper) = &self.reaper {
            reaper.shutdown(bound);
        }
        // Sync deliveries end with their keepers, which the stop signal bounds too.
        wait_until(Instant::now() + bound);
        self.shared.log.always(
            Severity::Info,
            log::SHUTDOWN,
            &format!("unload: counters {}", self.counters()),
        );
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.shared.counters.snapshot()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}
