//! Messages through Kea's logging system: the logger "kea-runscript" lives in
//! `shim/logging.cc`; this side defines the hook's message ids, hands them with core's to the
//! shim's dictionary before the first message, and maps severities.

use std::sync::{Arc, Once, OnceLock};

use crate::bridge::ffi;
use kea_runscript_core::log::{LogSink, RateLimiter, Severity};

// Every id the hook itself logs (`MESSAGE_IDS` lists them); with core's they make up the
// dictionary handed to Kea's logging.
kea_runscript_core::message_ids! {
    /// The library was loaded (its configuration, in one line).
    LOAD;
    /// `load` failed: the configuration was rejected (core's message).
    LOAD_ERROR;
    /// The library was unloaded.
    UNLOAD;
    /// A callout failed (shim exception, conversion error or panic); Kea goes on.
    CALLOUT_ERROR;
    /// A sync verdict was applied as Kea's next-step status (debug).
    VERDICT_APPLIED;
    /// A sync verdict came at a hook point where Kea ignores that next step.
    VERDICT_NOT_APPLICABLE;
    /// A Kea expression could not be evaluated for a packet; its variable is empty.
    EXPRESSION_FAILED;
    /// The replay of existing leases started, ended, or could not read the leases.
    REPLAY;
    /// Used for a message whose id is missing from the dictionary (the text then starts with
    /// the original id).
    UNREGISTERED_MESSAGE;
}

/// Every id the library logs: the hook's and core's.
pub fn all_message_ids() -> impl Iterator<Item = &'static str> {
    MESSAGE_IDS
        .iter()
        .chain(kea_runscript_core::log::MESSAGE_IDS)
        .copied()
}

/// Hands every id to the shim's dictionary, once per loaded library, before the first message.
fn register_messages() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        // On failure (a C++ exception) each message reports itself as unregistered instead.
        let _ = ffi::register_messages(all_message_ids().map(String::from).collect());
    });
}

/// Logs through Kea. A failure to log (a C++ exception in Kea's logging) is dropped: there is
/// nowhere else to report it, and a callout must not fail because of it.
pub fn log(severity: Severity, id: &str, text: &str) {
    let level = match severity {
        Severity::Debug => 0,
        Severity::Info => 1,
        Severity::Warn => 2,
        Severity::Error => 3,
    };
    register_messages();
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

    #[test]
    fn every_core_and_hook_message_id_is_in_kea_s_dictionary_once_registered() {
        crate::testing::ffi::init_test_logging().unwrap();
        register_messages();
        let mut count = 0;
        for id in all_message_ids() {
            assert!(ffi::log_message(0, id, "registered").unwrap(), "{id}");
            count += 1;
        }
        assert_eq!(
            count,
            MESSAGE_IDS.len() + kea_runscript_core::log::MESSAGE_IDS.len()
        );
    }

    #[test]
    fn the_shim_logs_registered_ids_and_reports_unregistered_ones() {
        crate::testing::ffi::init_test_logging().unwrap();
        register_messages();
        assert!(ffi::log_message(0, UNLOAD, "registered").unwrap());
        assert!(!ffi::log_message(0, "KEA_RUNSCRIPT_NOT_IN_THE_TABLE", "unregistered").unwrap());
    }

    #[test]
    fn message_ids_are_unique_across_the_hook_and_core() {
        let mut ids: Vec<&str> = all_message_ids().collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "an id is defined twice");
    }
}
