//! Messages through Kea's logging system, on the hook's own logger (`Hook::LOGGER`, e.g.
//! `kea-dhcp4.my-hook` in Kea's log) with message ids the hook declares
//! (`Hook::message_ids`): Kea's `loggers` configuration (severity, debug level, output)
//! applies to them as to Kea's own messages. Each id's text is its single argument.

use std::sync::Once;

use crate::bridge::ffi;

/// How severe a message is; `Debug` messages show at Kea's debug level 40 and above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something is wrong, the hook goes on.
    Warn,
    /// Something failed.
    Error,
}

/// The SDK's own message ids, registered with every hook's.
pub mod ids {
    /// A message logged under an id the hook did not declare (its text then starts with
    /// that id).
    pub const UNREGISTERED_MESSAGE: &str = "KEA_HOOK_UNREGISTERED_MESSAGE";
    /// An entry point or callout failed (the SDK's default [`crate::Hook::report`]).
    pub const HOOK_FAILED: &str = "KEA_HOOK_FAILED";
    /// Every SDK id.
    pub const ALL: &[&str] = &[UNREGISTERED_MESSAGE, HOOK_FAILED];
}

/// Kea's limit on a logger's name.
const MAX_LOGGER_NAME: usize = 31;

/// Creates the logger and hands every id to Kea's dictionary, once per loaded library,
/// before the first message. The entry points [`crate::export_hook!`] generates call it first;
/// a hook calls it only in its unit tests (with `kea_hook::testing`, feature `testing`).
pub fn init(logger: &str, hook_ids: &[&str]) {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        let name: String = logger.chars().take(MAX_LOGGER_NAME).collect();
        let all = ids::ALL.iter().chain(hook_ids).map(|&id| id.to_owned());
        // On failure (a C++ exception) each message reports itself as unregistered instead.
        let _ = ffi::register_messages(&name, all.collect());
    });
}

/// Logs `text` under message `id` through Kea. An id the hook did not declare is logged
/// under [`ids::UNREGISTERED_MESSAGE`] with the id in front. A failure to log (a C++
/// exception in Kea's logging) is dropped: there is nowhere else to report it, and a callout
/// must not fail because of it.
pub fn log(severity: Severity, id: &str, text: &str) {
    let level = match severity {
        Severity::Debug => 0,
        Severity::Info => 1,
        Severity::Warn => 2,
        Severity::Error => 3,
    };
    if let Ok(false) = ffi::log_message(level, id, text) {
        let _ = ffi::log_message(level, ids::UNREGISTERED_MESSAGE, &format!("{id}: {text}"));
    }
}

/// Whether `id` reaches Kea's log as itself (declared and registered).
pub fn is_registered(id: &str) -> bool {
    ffi::log_message(0, id, "registered").unwrap_or(false)
}
