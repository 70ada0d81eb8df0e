//! Kea HA pairs (`libdhcp_ha.so`), as the library follows them for scripts with `"ha"`:
//! the lease changes a partner sends ([`partner`]), and which server of the pair reports
//! an expiry ([`view`], with RFC 3074's load-balancing hash, `rfc3074.rs`). Pure: Kea's JSON in,
//! events and decisions out; the hook reads the JSON in-process and applies them.

pub mod partner;
mod rfc3074;
pub mod view;

use crate::config::ScriptConfig;

/// Whether `script` gets the partner's lease changes.
pub fn wants_partner_events(script: &ScriptConfig) -> bool {
    script.ha.is_some_and(|ha| ha.partner_events)
}

/// Whether `script` gets an expiry (or recovery) this server reports, `responsible` or
/// not for the lease in the pair's current state.
pub fn wants_expiry(script: &ScriptConfig, responsible: bool) -> bool {
    responsible || !script.ha.is_some_and(|ha| ha.expire_once)
}

/// Whether `script` gets an expiry held back (not this server's to report then) and
/// reported later, once this server took over the lease's scope: the `expire-once`
/// scripts, which did not get it.
pub fn reports_held_expiry(script: &ScriptConfig) -> bool {
    script.ha.is_some_and(|ha| ha.expire_once)
}

/// Whether `script` gets the replay after an HA sync.
pub fn wants_sync_replay(script: &ScriptConfig) -> bool {
    script.replay_leases && script.ha.is_some_and(|ha| ha.sync_replay)
}
