//! INTERIM stand-in for `kea_runscript_core` (Engine, Verdict, log) until that crate lands,
//! with the same names and signatures as the contract so the switch is a `use` change.
//! Supports only Kea's `{"name": "/abs/script", "sync": bool}` on Kea's 13 hook points.

use std::process::{Command, Stdio};
use std::sync::Arc;

use kea_runscript_env::{Event, HookPoint};

/// Logging interface (mirrors `kea_runscript_core::log`).
pub mod log {
    /// Severity of a log message.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Severity {
        /// Detail for debugging.
        Debug,
        /// Normal operation.
        Info,
        /// One event went wrong.
        Warn,
        /// Something is broken.
        Error,
    }

    /// Receiver of log messages.
    pub trait LogSink: Send + Sync {
        /// Logs `text` with message `id` at `severity`.
        fn log(&self, severity: Severity, id: &'static str, text: &str);
    }

    /// A script could not be started.
    pub const SPAWN_FAILED: &str = "KEA_RUNSCRIPT_SPAWN_FAILED";

    /// Every id this module may log.
    pub const MESSAGE_IDS: &[&str] = &[SPAWN_FAILED];
}

/// What Kea should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on.
    Continue,
    /// Skip the next processing step.
    Skip,
    /// Drop the packet.
    Drop,
}

/// A bad configuration.
#[derive(Debug)]
pub struct ConfigError(String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One script, Kea-compatible subset.
pub struct Engine {
    script: String,
    sync: bool,
    log: Arc<dyn log::LogSink>,
}

impl Engine {
    /// Parses `{"name": ..., "sync": ...}`.
    pub fn from_json(parameters: &str, log: Arc<dyn log::LogSink>) -> Result<Engine, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(parameters)
            .map_err(|e| ConfigError(format!("parameters: {e}")))?;
        let script = value
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ConfigError("parameter \"name\": missing or not a string".into()))?;
        if !script.starts_with('/') {
            return Err(ConfigError(format!(
                "parameter \"name\": {script:?} is not an absolute path"
            )));
        }
        let sync = value.get("sync").and_then(|v| v.as_bool()).unwrap_or(false);
        Ok(Engine {
            script: script.to_string(),
            sync,
            log,
        })
    }

    /// Whether a script runs at `hook_point`.
    pub fn wants(&self, hook_point: HookPoint) -> bool {
        hook_point.kea_default()
    }

    /// Runs the script.
    pub fn handle(&self, event: &Event) -> Verdict {
        let spawned = Command::new(&self.script)
            .arg(event.hook_point.name())
            .env_clear()
            .envs(event.render())
            .stdin(Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                if self.sync {
                    let _ = child.wait();
                } else {
                    std::thread::spawn(move || child.wait());
                }
            }
            Err(e) => self.log.log(
                log::Severity::Error,
                log::SPAWN_FAILED,
                &format!("{}: {e}", self.script),
            ),
        }
        Verdict::Continue
    }

    /// Nothing to clean up.
    pub fn shutdown(&self) {}
}
