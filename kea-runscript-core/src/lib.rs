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
mod engine;
pub mod log;
mod policy;
mod runner;
mod spawn;
mod verdict;

pub use config::{Config, ConfigError};
pub use counters::Counters;
pub use engine::{Engine, EngineError};
pub use verdict::Verdict;
