//! Messages through Kea's logging system (the SDK's [`kea_hook::log`], logger
//! `kea-runscript`): this side defines the hook's message ids, lists them with core's for
//! Kea's dictionary, maps core's severities, and rate-limits per-event messages.

use std::sync::{Arc, OnceLock};

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
    /// The data of sync answers (classes, a host name, …) was handed to Kea (debug).
    ANSWER_APPLIED;
    /// A Kea expression could not be evaluated for a packet; its variable is empty.
    EXPRESSION_FAILED;
    /// The replay of existing leases started, ended, or could not read the leases.
    REPLAY;
    /// HA: the pair and this server's state as read, a state change, a partner's lease
    /// change that could not be read.
    HA;
}

/// The logger's name (Kea shows `kea-dhcp4.kea-runscript`).
pub const LOGGER: &str = "kea-runscript";

/// Every id the library logs: the hook's and core's.
pub fn all_message_ids() -> impl Iterator<Item = &'static str> {
    MESSAGE_IDS
        .iter()
        .chain(kea_runscript_core::log::MESSAGE_IDS)
        .copied()
}

/// Logs through Kea (the SDK drops a failure to log: there is nowhere else to report it).
pub fn log(severity: Severity, id: &str, text: &str) {
    let severity = match severity {
        Severity::Debug => kea_hook::log::Severity::Debug,
        Severity::Info => kea_hook::log::Severity::Info,
        Severity::Warn => kea_hook::log::Severity::Warn,
        Severity::Error => kea_hook::log::Severity::Error,
        // A severity core added after this was written: logged, at the highest level, so
        // that nothing is lost, with the unknown severity named.
        other => {
            let text = format!("{text} (unknown severity {other:?})");
            return kea_hook::log::log(kea_hook::log::Severity::Error, id, &text);
        }
    };
    kea_hook::log::log(severity, id, text);
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
        register();
        let mut count = 0;
        for id in all_message_ids() {
            assert!(kea_hook::log::is_registered(id), "{id}");
            count += 1;
        }
        assert_eq!(
            count,
            MESSAGE_IDS.len() + kea_runscript_core::log::MESSAGE_IDS.len()
        );
    }

    #[test]
    fn an_id_not_in_the_lists_is_not_registered() {
        register();
        assert!(kea_hook::log::is_registered(UNLOAD));
        assert!(!kea_hook::log::is_registered(
            "KEA_RUNSCRIPT_NOT_IN_THE_TABLE"
        ));
    }

    /// Kea's logging as the entry points set it up.
    fn register() {
        kea_hook::testing::ffi::init_test_logging().unwrap();
        let ids: Vec<&str> = all_message_ids().collect();
        kea_hook::log::init(LOGGER, &ids);
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
