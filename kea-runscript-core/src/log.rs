//! Logging interface: core never prints; it hands messages to a [`LogSink`]
//! (Kea's logging in the hook, [`StderrSink`] in tests and benchmarks).
//!
//! Messages that an event flood could repeat (drops, failures, timeouts) go
//! through [`RateLimiter`], so they cannot drown the host's log: per message id,
//! at most [`BURST`] lines per [`WINDOW`], and the next line after a quiet spell
//! says how many were suppressed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Severity of a log message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Detail for debugging.
    Debug,
    /// Normal operation worth noting (load, unload).
    Info,
    /// Something went wrong with one event or script run; service goes on.
    Warn,
    /// Something is broken (a script cannot be started, waiting failed).
    Error,
}

/// Receiver of core's log messages. Must be cheap and thread-safe.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use kea_runscript_core::log::{LogSink, Severity};
///
/// /// Keeps every line, e.g. for a test.
/// #[derive(Default)]
/// struct Lines(Mutex<Vec<String>>);
///
/// impl LogSink for Lines {
///     fn log(&self, severity: Severity, id: &'static str, text: &str) {
///         self.0.lock().unwrap().push(format!("{severity:?} {id} {text}"));
///     }
/// }
///
/// let lines = Arc::new(Lines::default());
/// let engine = kea_runscript_core::Engine::from_json(r#"{"name": "/bin/true"}"#, lines.clone())
///     .unwrap();
/// engine.shutdown();
/// assert!(lines.0.lock().unwrap()[0].starts_with("Info KEA_RUNSCRIPT_SCRIPT_CONFIGURED"));
/// ```
pub trait LogSink: Send + Sync {
    /// Logs `text` with message `id` (one of [`MESSAGE_IDS`]) at `severity`.
    fn log(&self, severity: Severity, id: &'static str, text: &str);
}

/// Defines message ids from one list: a constant `NAME = "KEA_RUNSCRIPT_NAME"` per entry (with
/// the entry's doc comment) and `MESSAGE_IDS`, every one of them in list order.
///
/// Core defines its ids with it; the hook library defines its own the same way and hands
/// both lists to Kea's logging when it starts, so an id is written down once.
///
/// ```
/// mod ids {
///     kea_runscript_core::message_ids! {
///         /// A thing happened.
///         THING_HAPPENED;
///     }
/// }
/// assert_eq!(ids::THING_HAPPENED, "KEA_RUNSCRIPT_THING_HAPPENED");
/// assert_eq!(ids::MESSAGE_IDS, ["KEA_RUNSCRIPT_THING_HAPPENED"]);
/// ```
#[macro_export]
macro_rules! message_ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $(
            $(#[$doc])*
            pub const $name: &str = concat!("KEA_RUNSCRIPT_", stringify!($name));
        )*
        /// Every message id defined here, in definition order.
        pub const MESSAGE_IDS: &[&str] = &[$($name),*];
    };
}

// Every message id core may pass to a [`LogSink`] (`MESSAGE_IDS` lists them).
message_ids! {
    /// One configured script was loaded (its settings, in one line).
    SCRIPT_CONFIGURED;
    /// A script could not be started (names the step and OS error).
    SPAWN_FAILED;
    /// An async event was dropped because in-flight and queue bounds were full.
    EVENT_DROPPED;
    /// A script ran past its timeout and was terminated.
    TIMEOUT;
    /// A script died by a signal.
    KILLED_BY_SIGNAL;
    /// A sync script exited with a code the `exit-codes` map does not list.
    EXIT_CODE_UNMAPPED;
    /// An async script exited with a non-zero code.
    NONZERO_EXIT;
    /// Waiting for or signalling a child failed (should not happen).
    WAIT_FAILED;
    /// A rendered variable could not be passed (contained a NUL byte) and was left out.
    ENV_INVALID;
    /// The background reaper could not be started or failed.
    REAPER_FAILED;
    /// Shutdown: queued events discarded / children killed / final counters.
    SHUTDOWN;
    /// A worker process was started (at load, or again after it ended).
    WORKER_STARTED;
    /// A worker process ended (how, and how many events were unanswered).
    WORKER_EXITED;
    /// A worker wrote something that is not an answer, and was restarted.
    WORKER_PROTOCOL_ERROR;
    /// A worker stopped at unload (events left unanswered).
    WORKER_STOPPED;
    /// One line a script wrote (`log-output`).
    SCRIPT_OUTPUT;
    /// A sync answer's data field was left out (malformed, unknown, or meaningless at the
    /// hook point); the verdict and the other fields applied.
    ANSWER_INVALID;
}

/// A sink printing `SEVERITY ID text` lines to stderr (tests, benchmarks, tools).
#[derive(Clone, Copy, Debug, Default)]
pub struct StderrSink;

impl LogSink for StderrSink {
    fn log(&self, severity: Severity, id: &'static str, text: &str) {
        eprintln!("{severity:?} {id} {text}");
    }
}

/// Length of a rate-limiting window.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Lines per message id let through per [`WINDOW`].
pub const BURST: u32 = 5;

/// Pure per-id rate-limiting state: a fixed window with a burst allowance.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    start: Instant,
    emitted: u32,
    suppressed: u64,
}

/// Decision of [`Window::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Log it; `suppressed` lines were swallowed since the last one that passed.
    Yes {
        /// Count of suppressed lines to mention.
        suppressed: u64,
    },
    /// Swallow it (counted).
    No,
}

impl Window {
    /// A fresh window starting at `now`.
    pub(crate) fn new(now: Instant) -> Window {
        Window {
            start: now,
            emitted: 0,
            suppressed: 0,
        }
    }

    /// Decides whether a line at `now` may pass, given at most `burst` per `window`.
    pub(crate) fn admit(&mut self, now: Instant, burst: u32, window: Duration) -> Admit {
        if now.saturating_duration_since(self.start) >= window {
            self.start = now;
            self.emitted = 0;
        }
        if self.emitted < burst {
            self.emitted += 1;
            let suppressed = std::mem::take(&mut self.suppressed);
            Admit::Yes { suppressed }
        } else {
            self.suppressed += 1;
            Admit::No
        }
    }
}

/// A [`LogSink`] front that rate-limits per message id (see the module doc).
pub struct RateLimiter {
    sink: Arc<dyn LogSink>,
    windows: Mutex<HashMap<&'static str, Window>>,
}

impl RateLimiter {
    /// Wraps `sink`.
    pub fn new(sink: Arc<dyn LogSink>) -> RateLimiter {
        RateLimiter {
            sink,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Logs without rate limiting (load/unload lines).
    pub fn always(&self, severity: Severity, id: &'static str, text: &str) {
        self.sink.log(severity, id, text);
    }

    /// Logs the line built by `text` unless `id` is over its budget; the text is only
    /// built when it will be logged.
    pub fn limited(&self, severity: Severity, id: &'static str, text: impl FnOnce() -> String) {
        let admit = {
            let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            windows
                .entry(id)
                .or_insert_with(|| Window::new(now))
                .admit(now, BURST, WINDOW)
        };
        if let Admit::Yes { suppressed } = admit {
            let mut line = text();
            if suppressed > 0 {
                line.push_str(&format!(
                    " ({suppressed} similar messages suppressed before this one)"
                ));
            }
            self.sink.log(severity, id, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_allows_burst_then_counts_suppressed() {
        let t0 = Instant::now();
        let mut w = Window::new(t0);
        let window = Duration::from_secs(10);
        for _ in 0..3 {
            assert_eq!(w.admit(t0, 3, window), Admit::Yes { suppressed: 0 });
        }
        for _ in 0..7 {
            assert_eq!(w.admit(t0, 3, window), Admit::No);
        }
        let later = t0 + window;
        assert_eq!(w.admit(later, 3, window), Admit::Yes { suppressed: 7 });
        assert_eq!(w.admit(later, 3, window), Admit::Yes { suppressed: 0 });
    }

    #[test]
    fn message_ids_are_prefixed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for id in MESSAGE_IDS {
            assert!(id.starts_with("KEA_RUNSCRIPT_"), "{id}");
            assert!(seen.insert(id), "duplicate {id}");
        }
    }
}
