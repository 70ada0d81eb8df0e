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
//! use kea_runscript_env::{Event, HookPoint};
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
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kea_runscript_env::{Event, HookPoint};

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
        let any_async = config.scripts.iter().any(|s| {
            matches!(s.mode, config::Mode::Async(_)) && s.runner == config::RunnerKind::Spawn
        });
        let reaper = if any_async {
            Some(Reaper::start(Arc::clone(&shared)).map_err(|e| ConfigError {
                path: String::new(),
                message: format!("cannot start the reaper thread: {e}"),
            })?)
        } else {
            None
        };
        let mut runners: Vec<Arc<dyn Runner>> = Vec::with_capacity(config.scripts.len());
        for script in &config.scripts {
            let target = ScriptTarget::new(script);
            let runner: Arc<dyn Runner> = match (&script.runner, &script.mode) {
                (config::RunnerKind::Worker(settings), mode) => {
                    let options = worker::WorkerOptions {
                        path: script.path.clone(),
                        label: target.label.clone(),
                        env: script.env.clone(),
                        max_queued: settings.max_queued,
                        sync: match mode {
                            config::Mode::Sync(sync) => Some((
                                sync.clone(),
                                script.timeout.unwrap_or(config::DEFAULT_SYNC_TIMEOUT),
                            )),
                            config::Mode::Async(_) => None,
                        },
                        log_output: script.log_output,
                    };
                    match worker::Worker::start(options, Arc::clone(&shared)) {
                        Ok(worker) => Arc::new(worker),
                        Err(e) => {
                            // Stop the workers already started before failing.
                            for runner in &runners {
                                runner.shutdown();
                            }
                            for runner in &runners {
                                runner.join();
                            }
                            return Err(ConfigError {
                                path: String::new(),
                                message: format!(
                                    "cannot start the threads of worker {}: {e}",
                                    target.label
                                ),
                            });
                        }
                    }
                }
                (config::RunnerKind::Spawn, config::Mode::Async(settings)) => SpawnAsync::new(
                    target,
                    settings.clone(),
                    Arc::clone(&shared),
                    Arc::clone(reaper.as_ref().expect("started for async scripts")),
                ),
                (config::RunnerKind::Spawn, config::Mode::Sync(settings)) => Arc::new(
                    SpawnSync::new(target, settings.clone(), Arc::clone(&shared)),
                ),
            };
            runners.push(runner);
        }
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
        bump(&self.shared.counters.events);
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
        // Workers had their grace meanwhile; each ends within its own bound.
        for runner in &self.runners {
            runner.join();
        }
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
