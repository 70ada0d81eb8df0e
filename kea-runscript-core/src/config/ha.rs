//! A script's `"ha"` settings: how it follows a Kea HA pair (see `docs/configuration.md`,
//! "HA pairs"). Given at all, the script gets the HA variables (`KEA_EVENT_ORIGIN`,
//! `KEA_HA_PARTNER`, `…_CHANGE_ID`); each behaviour below is on unless set to false.

use super::raw::{Bool, RawHa};

/// How a script follows an HA pair (`"ha": {…}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HaSettings {
    /// `partner-events`: the lease changes this server applies from its partner (and from
    /// lease commands) reach the script at `leases4_committed` / `lease4_release` (v6:
    /// `leases6_committed` / `lease6_release`), with `KEA_EVENT_ORIGIN=partner`.
    pub partner_events: bool,
    /// `expire-once`: `lease4_expire` / `lease4_recover` (and v6) reach the script only on
    /// the server of the pair responsible for the lease in the pair's current HA state.
    pub expire_once: bool,
    /// `sync-replay`: after this server synced its leases from the partner, a script with
    /// `"replay-leases": true` gets every active lease once, as after a reload.
    pub sync_replay: bool,
}

impl Default for HaSettings {
    fn default() -> Self {
        HaSettings {
            partner_events: true,
            expire_once: true,
            sync_replay: true,
        }
    }
}

/// The settings `"ha"` gives, each defaulting to on.
pub(super) fn settings(raw: RawHa) -> HaSettings {
    let on = |b: Option<Bool>| b.is_none_or(|b| b.0);
    HaSettings {
        partner_events: on(raw.partner_events),
        expire_once: on(raw.expire_once),
        sync_replay: on(raw.sync_replay),
    }
}
