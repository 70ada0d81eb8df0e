//! The engine of kea-runscript: configuration, which script runs at which hook point,
//! running the scripts, and their verdicts. No Kea here: the hook library (or any other
//! host) feeds [`Engine::handle`] with [`kea_runscript_env::Event`]s and applies the
//! [`Verdict`] it returns.
//!
//! - [`Engine`]: one loaded configuration; [`EngineError`] when it cannot start.
//! - [`Config`] / [`ConfigError`] (module [`config`]): the `parameters` JSON, parsed
//!   purely ([`Config::parse`]) and with the script files checked ([`Config::load`]).
//! - [`Verdict`]: continue, skip or drop; several combine to the most severe.
//! - [`Decision`]: a verdict and the data a sync answer carried ([`answer`]: client
//!   classes, a DNS name, an offered address in use, a flexible identifier).
//! - [`Counters`]: what the engine did (events, runs, timeouts, drops).
//! - [`log`]: the [`log::LogSink`] the host implements and the message ids it receives.
//!
//! How scripts are started (a keeper process per run, sharing the host's memory, that
//! starts the script posix_spawn-style and reaps it) is the launcher crate
//! [`kea_runscript_spawn`]'s; see the README. A
//! script in worker mode (`"mode": "worker"`) is one long-lived process fed one JSON
//! line per event (protocol v1, see `docs/configuration.md`); [`Engine::handle_with`]
//! hands the combined verdict to a callback, so a host can wait for workers without
//! blocking a thread.
//!
//! ```
//! use std::sync::Arc;
//! use kea_runscript_core::{log::StderrSink, Engine, Verdict};
//! use kea_runscript_env::{Event, HookPoint};
//!
//! // /bin/true as a sync script: exit code 0, which maps to "continue".
//! let engine = Engine::from_json(
//!     r#"{"name": "/bin/true", "sync": true, "hook-points": ["lease4_renew"]}"#,
//!     Arc::new(StderrSink),
//! )
//! .expect("valid configuration");
//! assert!(!engine.wants(HookPoint::Lease4Expire));
//! let verdict = engine.handle(Event::new(HookPoint::Lease4Renew));
//! assert_eq!(verdict, Verdict::Continue);
//! assert_eq!(engine.counters().exited, 1);
//! engine.shutdown();
//! ```

#![warn(missing_docs)]

// The README's example runs as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod answer;
mod block_wait;
pub mod config;
mod counters;
mod deferred;
mod engine;
mod fdio;
pub mod ha;
mod lease_key;
pub mod log;
mod policy;
mod runner;
/// The launcher's test seam (feature `fault-injection`): see
/// [`kea_runscript_spawn::fault`].
#[cfg(feature = "fault-injection")]
pub use kea_runscript_spawn::fault;
mod verdict;
mod worker;

pub use answer::AnswerData;
pub use config::{Config, ConfigError};
pub use counters::Counters;
pub use deferred::DeferredEvent;
pub use engine::{Engine, EngineError, OnVerdict};
pub use verdict::{Decision, Verdict};

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the worker-protocol
/// reader. Not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::fdio::{LineSplitter, Piece};
    pub use crate::worker::protocol::{decode_answer, excerpt};
}
