//! Messages through Kea's logging system: the logger "kea-runscript" and the message
//! dictionary live in `shim/logging.cc`; this side maps severities and ids.

use std::sync::{Arc, OnceLock};

use crate::bridge::ffi;
use kea_runscript_core::log::{LogSink, RateLimiter, Severity};

/// The library was loaded (its configuration, in one line).
pub const LOAD: &str = "KEA_RUNSCRIPT_LOAD";
/// `load` failed: the configuration was rejected (core's message).
pub const LOAD_ERROR: &str = "KEA_RUNSCRIPT_LOAD_ERROR";
/// The library was unloaded.
pub const UNLOAD: &str = "KEA_RUNSCRIPT_UNLOAD";
/// A callout failed (shim exception, conversion error or panic); Kea goes on.
pub const CALLOUT_ERROR: &str = "KEA_RUNSCRIPT_CALLOUT_ERROR";
/// A sync verdict was applied as Kea's next-step status (debug).
pub const VERDICT_APPLIED: &str = "KEA_RUNSCRIPT_VERDICT_APPLIED";
/// A sync verdict came at a hook point where Kea ignores that next step.
pub const VERDICT_NOT_APPLICABLE: &str = "KEA_RUNSCRIPT_VERDICT_NOT_APPLICABLE";
/// A Kea expression could not be evaluated for a packet; its variable is empty.
pub const EXPRESSION_FAILED: &str = "KEA_RUNSCRIPT_EXPRESSION_FAILED";
/// The replay of existing leases started, ended, or could not read the leases.
pub const REPLAY: &str = "KEA_RUNSCRIPT_REPLAY";

/// Used for a message whose id is missing from the shim's dictionary (the text then starts
/// with the original id).
pub const UNREGISTERED_MESSAGE: &str = "KEA_RUNSCRIPT_UNREGISTERED_MESSAGE";

/// Every id the hook itself logs; with core's `MESSAGE_IDS` they make up the shim's dictionary.
pub const MESSAGE_IDS: &[&str] = &[
    LOAD,
    LOAD_ERROR,
    UNLOAD,
    CALLOUT_ERROR,
    VERDICT_APPLIED,
    VERDICT_NOT_APPLICABLE,
    EXPRESSION_FAILED,
    REPLAY,
    UNREGISTERED_MESSAGE,
];

/// Logs through Kea. A failure to log (a C++ exception in Kea's logging) is dropped: there is
/// nowhere else to report it, and a callout must not fail because of it.
pub fn log(severity: Severity, id: &str, text: &str) {
    let level = match severity {
        Severity::Debug => 0,
        Severity::Info => 1,
        Severity::Warn => 2,
        Severity::Error => 3,
    };
    // An unregistered id still gets its text out, under an id that is registered.
    if let Ok(false) = ffi::log_message(level, id, text) {
        let _ = ffi::log_message(level, UNREGISTERED_MESSAGE, &format!("{id}: {text}"));
    }
}

/// Logs a per-event message (callout errors, ignored verdicts) under core's rate limit, so a
/// misconfiguration hit by every packet cannot flood Kea's log; `text` is only built when the
/// line is logged.
pub fn limited(severity: Severity, id: &'static str, text: impl FnOnce() -> String) {
    static LIMITER: OnceLock<RateLimiter> = OnceLock::new();
    LIMITER
        .get_or_init(|| RateLimiter::new(Arc::new(KeaLog)))
        .limited(severity, id, text);
}

/// The [`LogSink`] handed to core: forwards to Kea's logging.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeaLog;

impl LogSink for KeaLog {
    fn log(&self, severity: Severity, id: &'static str, text: &str) {
        log(severity, id, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids registered in `shim/logging.cc` (every `"ID", "%1",` pair).
    fn shim_ids() -> Vec<&'static str> {
        const SHIM: &str = include_str!("../../shim/logging.cc");
        SHIM.lines()
            .filter_map(|line| line.trim().strip_suffix(", \"%1\","))
            .filter_map(|id| id.strip_prefix('"')?.strip_suffix('"'))
            .collect()
    }

    #[test]
    fn every_core_and_hook_message_id_is_in_the_shim_dictionary() {
        let registered = shim_ids();
        for id in kea_runscript_core::log::MESSAGE_IDS
            .iter()
            .chain(MESSAGE_IDS)
        {
            assert!(
                registered.contains(id),
                "{id} is missing from shim/logging.cc"
            );
        }
    }

    #[test]
    fn the_shim_logs_registered_ids_and_reports_unregistered_ones() {
        crate::testing::ffi::init_test_logging().unwrap();
        assert!(ffi::log_message(0, UNLOAD, "registered").unwrap());
        assert!(!ffi::log_message(0, "KEA_RUNSCRIPT_NOT_IN_THE_TABLE", "unregistered").unwrap());
    }

    #[test]
    fn shim_dictionary_has_no_duplicates() {
        let mut ids = shim_ids();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "duplicate id in shim/logging.cc");
    }
}
